"""Re-entry: Python code that runs while an API call is in progress on an
awaitable (an attribute lookup, the `__del__` of what the call releases)
may call the API on the same awaitable again, and sees its state whole."""

import helpers
from helpers import drive


def test_async_with_sees_calls_made_while_it_looks_up_the_context_manager(mod):
    aw = mod.new()
    seen = []

    class Ctx(object):
        @property
        def __aenter__(self):
            # Runs inside async_with's lookup, on the same awaitable.
            mod.save_values(aw, "from the lookup")

            async def enter():
                seen.append("entered")
                return self

            return enter

        async def __aexit__(self, *exc):
            seen.append("exited")
            return False

    mod.async_with(aw, Ctx(), False, False)
    assert mod.get_value(aw, 0) == "from the lookup"
    drive(aw)
    assert seen == ["entered", "exited"]


class _Reentering(object):
    """Calls `on_release()` from its `__del__`."""

    def __init__(self, on_release):
        self.on_release = on_release

    def __del__(self):
        self.on_release()


def test_a_replaced_value_released_by_set_value_may_read_the_awaitable(mod):
    aw = mod.new()
    seen = []
    mod.save_values(aw, _Reentering(lambda: seen.append(mod.get_value(aw, 0))))
    mod.set_value(aw, 0, "new")
    assert seen == ["new"]
    aw.close()


def test_a_replaced_result_released_by_set_result_may_change_the_awaitable(mod):
    aw = mod.new()
    mod.set_result(aw, _Reentering(lambda: mod.save_values(aw, "from __del__")))
    mod.set_result(aw, 42)
    assert mod.get_value(aw, 0) == "from __del__"
    assert drive(aw) == 42


def test_an_expression_that_calls_the_api_on_the_awaitable_is_queued_after_it(mod):
    aw = mod.new()

    def factory():
        mod.save_values(aw, "from the expression")
        return helpers.ret(7)

    mod.add_expr(aw, factory, False, False)
    assert mod.get_value(aw, 0) == "from the expression"
    drive(aw)
