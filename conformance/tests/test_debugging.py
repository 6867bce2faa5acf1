"""What debugging tools read from an awaitable: `inspect.getcoroutinestate`,
`cr_suspended`, `cr_frame`, `cr_code`, `cr_origin`, the `cr_await` chain, and
asyncio's task stack and repr.

A native coroutine's frame runs its code; an awaitable of this library runs no
bytecode, so its frame is a synthetic one (docs/DESIGN.md). The tests assert
what both give: a frame while created or suspended and none once finished,
the frame's code being the object's `cr_code`, named after the object, and a
task's stack being that one frame."""

import asyncio
import inspect
import io
import sys

import pytest

import helpers
from helpers import Reply, bare_checkpoint, bare_reply, drive


def _suspended(mod, value="v"):
    """An awaitable suspended in a bare checkpoint, and the token it yielded."""
    aw = mod.trampoline(helpers.ret_after(value, bare_checkpoint))
    token = aw.send(None)
    return aw, token


def _finish(aw, token):
    with pytest.raises(StopIteration) as stop:
        aw.send(Reply(token))
    return stop.value.value


def _lacks_native_only_attribute(obj, name, since):
    """True where ``obj`` is a native coroutine of a version before ``since``,
    which lacks ``name``; an awaitable of this library has it on every version."""
    if hasattr(obj, name):
        return False
    assert helpers.TARGET == "reference" and sys.version_info < since, name
    return True


# --- inspect.getcoroutinestate -----------------------------------------------------


def test_a_new_awaitable_is_in_the_created_state(mod):
    aw = mod.trampoline(helpers.plain(1))
    try:
        assert inspect.getcoroutinestate(aw) == inspect.CORO_CREATED
    finally:
        aw.close()


def test_an_executing_awaitable_is_in_the_running_state(mod):
    holder = []
    seen = []

    async def inner():
        seen.append(inspect.getcoroutinestate(holder[0]))
        await bare_checkpoint()
        seen.append(inspect.getcoroutinestate(holder[0]))
        return "done"

    aw = mod.trampoline(inner())
    holder.append(aw)
    assert drive(aw, bare_reply) == "done"
    assert seen == [inspect.CORO_RUNNING, inspect.CORO_RUNNING]


def test_an_awaitable_paused_at_an_await_is_in_the_suspended_state(mod):
    aw, token = _suspended(mod)
    assert inspect.getcoroutinestate(aw) == inspect.CORO_SUSPENDED
    assert _finish(aw, token) == "v"


def test_a_returned_awaitable_is_in_the_closed_state(mod):
    aw, token = _suspended(mod)
    _finish(aw, token)
    assert inspect.getcoroutinestate(aw) == inspect.CORO_CLOSED


def test_an_awaitable_that_raised_is_in_the_closed_state(mod):
    aw = mod.trampoline(helpers.raise_after(KeyError("k"), bare_checkpoint))
    with pytest.raises(KeyError):
        drive(aw, bare_reply)
    assert inspect.getcoroutinestate(aw) == inspect.CORO_CLOSED


def test_a_closed_awaitable_is_in_the_closed_state_whether_started_or_not(mod):
    created = mod.trampoline(helpers.plain(1))
    created.close()
    assert inspect.getcoroutinestate(created) == inspect.CORO_CLOSED

    suspended, _ = _suspended(mod)
    suspended.close()
    assert inspect.getcoroutinestate(suspended) == inspect.CORO_CLOSED


# --- cr_suspended, cr_running, cr_frame --------------------------------------------


def test_cr_suspended_is_true_only_while_paused_at_an_await(mod):
    holder = []
    during = []

    async def inner():
        during.append(getattr(holder[0], "cr_suspended", None))
        await bare_checkpoint()
        return "done"

    aw = mod.trampoline(inner())
    holder.append(aw)
    if _lacks_native_only_attribute(aw, "cr_suspended", (3, 11)):
        drive(aw, bare_reply)
        return
    states = [aw.cr_suspended]
    token = aw.send(None)
    states.append(aw.cr_suspended)
    _finish(aw, token)
    states.append(aw.cr_suspended)
    assert states == [False, True, False]
    assert during == [False]


def test_cr_frame_is_a_frame_until_the_awaitable_finishes(mod):
    holder = []
    during = []

    async def inner():
        during.append(inspect.isframe(holder[0].cr_frame))
        await bare_checkpoint()
        return "done"

    aw = mod.trampoline(inner())
    holder.append(aw)
    assert inspect.isframe(aw.cr_frame)
    token = aw.send(None)
    assert inspect.isframe(aw.cr_frame)
    _finish(aw, token)
    assert aw.cr_frame is None
    assert during == [True]


def test_a_suspended_awaitable_has_one_frame_and_no_caller(mod):
    aw, token = _suspended(mod)
    frame = aw.cr_frame
    assert frame is aw.cr_frame
    assert frame.f_back is None
    assert frame.f_lasti != -1
    assert isinstance(frame.f_lineno, int)
    _finish(aw, token)


def test_the_frame_runs_cr_code_named_after_the_awaitable(mod):
    aw, token = _suspended(mod)
    code = aw.cr_code
    assert inspect.iscode(code)
    assert code.co_flags & inspect.CO_COROUTINE
    assert code.co_name == aw.__name__
    assert aw.cr_frame.f_code is code
    assert isinstance(code.co_filename, str) and code.co_filename
    assert isinstance(code.co_firstlineno, int)
    _finish(aw, token)
    # The code object stays after the frame is gone.
    assert aw.cr_code is code


def test_cr_origin_is_none_without_origin_tracking(mod):
    assert sys.get_coroutine_origin_tracking_depth() == 0
    aw = mod.trampoline(helpers.plain(1))
    try:
        assert aw.cr_origin is None
    finally:
        aw.close()


def test_cr_state_is_the_inspect_constant_of_each_state_from_3_15(mod):
    aw, token = _suspended(mod)
    if sys.version_info < (3, 15):
        # Neither a native coroutine nor an awaitable has it before.
        assert not hasattr(aw, "cr_state")
        _finish(aw, token)
        return
    assert aw.cr_state is inspect.CORO_SUSPENDED
    _finish(aw, token)
    assert aw.cr_state is inspect.CORO_CLOSED


# --- the cr_await chain ------------------------------------------------------------


def _await_chain(obj):
    """Each object a suspended coroutine awaits, outermost first."""
    chain = [obj]
    while True:
        obj = chain[-1]
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        if nxt is None:
            return chain
        chain.append(nxt)


def test_the_cr_await_chain_leads_from_a_task_coroutine_to_the_innermost_suspension(mod):
    async def leaf():
        await bare_checkpoint()
        return "leaf"

    async def outer(aw):
        return await aw

    inner = leaf()
    aw = mod.trampoline(inner)
    top = outer(aw)
    token = top.send(None)

    chain = _await_chain(top)
    assert chain[:3] == [top, aw, inner]
    assert len(chain) == 4
    assert chain[3].gi_code is bare_checkpoint.__code__
    # Every link but the generator at the bottom is suspended, with a frame.
    for link in chain[:3]:
        assert inspect.getcoroutinestate(link) == inspect.CORO_SUSPENDED
        assert inspect.isframe(link.cr_frame)

    assert _finish(top, token) == "leaf"
    assert aw.cr_await is None


# --- asyncio ------------------------------------------------------------------------


def _task_suspended_in_a_sleep(mod, check):
    """Run ``check(task, aw)`` while a task whose coroutine is an awaitable of
    the target sleeps; return what it returned and the finished task."""

    async def main():
        sleeper = asyncio.sleep(3600)
        aw = mod.trampoline(sleeper)
        task = asyncio.ensure_future(aw)
        await asyncio.sleep(0)
        assert task.get_coro() is aw
        try:
            return check(task, aw, sleeper)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    return asyncio.run(main())


def test_a_suspended_task_stack_is_the_frame_of_its_awaitable(mod):
    def check(task, aw, sleeper):
        stack = task.get_stack()
        assert stack == [aw.cr_frame]
        assert stack[0].f_code is aw.cr_code
        assert task.get_stack(limit=1) == stack
        return True

    assert _task_suspended_in_a_sleep(mod, check)


def test_print_stack_of_a_suspended_task_names_its_awaitable(mod):
    def check(task, aw, sleeper):
        out = io.StringIO()
        task.print_stack(file=out)
        return out.getvalue(), aw.cr_code

    text, code = _task_suspended_in_a_sleep(mod, check)
    assert text.startswith("Stack for ")
    assert 'File "%s", line ' % code.co_filename in text
    assert "in %s" % code.co_name in text


def test_the_repr_of_a_task_tells_where_its_awaitable_is(mod):
    def check(task, aw, sleeper):
        where = "%s() running at %s:%d" % (
            aw.__qualname__,
            aw.cr_code.co_filename,
            aw.cr_frame.f_lineno,
        )
        return repr(task), where, aw

    text, where, aw = _task_suspended_in_a_sleep(mod, check)
    assert "coro=<%s>" % where in text
    assert aw.cr_frame is None


def test_the_repr_of_a_finished_task_tells_where_its_awaitable_was_defined(mod):
    async def main():
        aw = mod.trampoline(asyncio.sleep(0, "slept"))
        task = asyncio.ensure_future(aw)
        assert await task == "slept"
        return repr(task), aw

    text, aw = asyncio.run(main())
    code = aw.cr_code
    where = "%s() done, defined at %s:%d" % (aw.__qualname__, code.co_filename, code.co_firstlineno)
    assert "coro=<%s>" % where in text


def test_the_asyncio_call_graph_of_a_task_shows_its_awaitable_from_3_14(mod):
    if not hasattr(asyncio, "capture_call_graph"):
        assert sys.version_info < (3, 14)
        return

    def check(task, aw, sleeper):
        graph = asyncio.capture_call_graph(task)
        frames = [entry.frame for entry in graph.call_stack]
        text = asyncio.format_call_graph(task)
        return frames, aw.cr_frame, sleeper.cr_frame, text

    frames, aw_frame, sleeper_frame, text = _task_suspended_in_a_sleep(mod, check)
    assert frames == [sleeper_frame, aw_frame]
    assert "Call stack:" in text
    assert aw_frame.f_code.co_qualname in text
