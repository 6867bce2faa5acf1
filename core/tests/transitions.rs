//! `send`, `throw`, `close` and `cancel` from every stage, and the three
//! outcomes, following `Objects/genobject.c`.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{
    Action, Callback, Exc, MockHost, Obj, OnClose, OnThrow, Script, Trace,
};
use pyawaitable_core::{drive, Entry, Outcome, Refused, Stage};

/// A host whose program awaits `scripts` in order, without callbacks.
fn awaiting(scripts: impl IntoIterator<Item = Script>) -> MockHost {
    let mut host = MockHost::new();
    for script in scripts {
        host.machine
            .add_await(Obj::script(script), None, None)
            .ok()
            .unwrap();
    }
    host
}

/// A host suspended at the first yield of script 1, with script 2 queued.
fn suspended(first: Script) -> MockHost {
    let mut host = awaiting([first.id(1), Script::yields(0).id(2)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    host.trace.clear();
    host
}

/// A host whose program has returned.
fn finished() -> MockHost {
    let mut host = awaiting([Script::yields(0).id(1)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    host.trace.clear();
    host
}

fn exc(class: &str) -> Exc {
    Exc::new(class)
}

// --- Created ---

#[test]
fn send_none_from_created_runs_until_the_first_yield() {
    let mut host = awaiting([Script::yields(2).id(1)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(
        host.trace,
        vec![Trace::Iterate(1), Trace::Send(1, Obj::None)]
    );
}

#[test]
fn send_of_a_value_to_a_created_awaitable_is_a_type_error_and_starts_nothing() {
    let mut host = awaiting([Script::yields(1).id(1)]);
    assert_eq!(
        drive::send(&mut host, Obj::int(1)),
        Outcome::Raise(exc("TypeError"))
    );
    assert_eq!(host.machine.stage(), Stage::Created);
    assert!(host.trace.is_empty());
    assert_eq!(host.machine.pending(), 1);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
}

#[test]
fn throw_into_a_created_awaitable_raises_it_and_discards_the_program() {
    let mut host = awaiting([Script::yields(1).id(1), Script::yields(1).id(2)]);
    assert_eq!(drive::throw(&mut host, exc("E")), Outcome::Raise(exc("E")));
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert_eq!(host.trace, vec![Trace::Discard(1), Trace::Discard(2)]);
}

#[test]
fn close_of_a_created_awaitable_finishes_it_quietly_and_discards_the_program() {
    let mut host = awaiting([Script::yields(1).id(1)]);
    assert_eq!(drive::close(&mut host), Ok(None));
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert_eq!(host.trace, vec![Trace::Discard(1)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(exc("RuntimeError"))
    );
}

#[test]
fn cancel_of_a_created_awaitable_discards_the_program_which_then_returns_its_result() {
    let mut host = awaiting([Script::yields(1).id(1), Script::yields(1).id(2)]);
    host.machine.set_result(Obj::int(4));
    assert_eq!(drive::cancel(&mut host), Ok(()));
    assert_eq!(host.machine.stage(), Stage::Created);
    assert_eq!(host.trace, vec![Trace::Discard(1), Trace::Discard(2)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(4))
    );
}

#[test]
fn an_empty_program_returns_none_at_once() {
    let mut host = MockHost::new();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert!(host.trace.is_empty());
}

// --- Running: a callback re-enters the awaitable that is running it ---

/// Runs a program whose only await has a result callback doing `action`.
fn reentering(action: Action) -> (Outcome<Obj, Exc>, Vec<Trace>) {
    let mut host = MockHost::new();
    let callback = Callback::named("r").then(action);
    host.machine
        .add_await(
            Obj::script(Script::yields(0).id(1).returning(3)),
            Some(callback),
            None,
        )
        .ok()
        .unwrap();
    let outcome = drive::send(&mut host, Obj::None);
    (outcome, host.trace)
}

#[test]
fn send_while_running_is_refused_as_already_executing_and_changes_nothing() {
    let (outcome, trace) = reentering(Action::Reenter);
    assert_eq!(outcome, Outcome::Return(Obj::None));
    let seen = vec![
        Trace::Iterate(1),
        Trace::Send(1, Obj::None),
        Trace::OnResult("r".into(), Obj::int(3)),
        Trace::Reentry(Outcome::Raise(exc("ValueError"))),
    ];
    assert_eq!(trace, seen);
}

/// Resumes `suspended(yields(2))` once, with `inside` run by script 1 while
/// that send is in flight; then sends until the program ends.
fn resumed_with(inside: Action) -> (Vec<Outcome<Obj, Exc>>, MockHost) {
    let mut host = suspended(Script::yields(2).returning(5));
    host.on_resume = Some((1, Callback::named("inside").then(inside)));
    let mut outcomes = vec![drive::send(&mut host, Obj::int(7))];
    host.on_resume = None;
    while let Outcome::Yield(_) = outcomes.last().unwrap() {
        outcomes.push(drive::send(&mut host, Obj::None));
    }
    (outcomes, host)
}

#[test]
fn cancel_from_inside_the_await_in_flight_drops_the_queue_and_that_await_runs_on() {
    let (outcomes, host) = resumed_with(Action::Cancel);
    let expected = [Outcome::Yield(Obj::int(1)), Outcome::Return(Obj::None)];
    assert_eq!(outcomes, expected);
    let seen = vec![
        Trace::Send(1, Obj::int(7)),
        Trace::Discard(2),
        Trace::Send(1, Obj::None),
    ];
    assert_eq!(host.trace, seen);
}

#[test]
fn send_from_inside_the_await_in_flight_is_refused_and_that_await_runs_on() {
    let (outcomes, host) = resumed_with(Action::Reenter);
    assert_eq!(outcomes[0], Outcome::Yield(Obj::int(1)));
    assert_eq!(
        host.trace[..2],
        [
            Trace::Send(1, Obj::int(7)),
            Trace::Reentry(Outcome::Raise(exc("ValueError"))),
        ]
    );
    assert_eq!(outcomes.last(), Some(&Outcome::Return(Obj::None)));
    assert!(host.trace.contains(&Trace::Iterate(2)));
}

#[test]
fn throw_while_running_is_refused_as_already_executing_and_changes_nothing() {
    let (outcome, trace) = reentering(Action::ReenterThrow(exc("E")));
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(
        trace.last(),
        Some(&Trace::Reentry(Outcome::Raise(exc("ValueError"))))
    );
}

#[test]
fn close_while_running_is_refused_as_already_executing_and_changes_nothing() {
    let (outcome, trace) = reentering(Action::ReenterClose);
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(
        trace.last(),
        Some(&Trace::ReentryClose(Err(exc("ValueError"))))
    );
}

#[test]
fn cancel_while_running_discards_what_is_queued_and_the_program_returns() {
    let mut host = MockHost::new();
    let cancel = Callback::named("cancel").then(Action::Cancel);
    host.machine
        .add_await(Obj::script(Script::yields(0).id(1)), Some(cancel), None)
        .ok()
        .unwrap();
    host.machine
        .add_await(Obj::script(Script::yields(0).id(2)), None, None)
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    let seen = vec![
        Trace::Iterate(1),
        Trace::Send(1, Obj::None),
        Trace::OnResult("cancel".into(), Obj::None),
        Trace::Discard(2),
    ];
    assert_eq!(host.trace, seen);
}

// --- Suspended ---

#[test]
fn send_forwards_the_value_into_the_inner_awaitable_and_its_yields_out_unchanged() {
    let mut host = suspended(Script::yields(2));
    assert_eq!(
        drive::send(&mut host, Obj::int(7)),
        Outcome::Yield(Obj::int(1))
    );
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(
        drive::send(&mut host, Obj::Exc(exc("V"))),
        Outcome::Return(Obj::None)
    );
    let seen = vec![
        Trace::Send(1, Obj::int(7)),
        Trace::Send(1, Obj::Exc(exc("V"))),
        Trace::Iterate(2),
        Trace::Send(2, Obj::None),
    ];
    assert_eq!(host.trace, seen);
}

#[test]
fn the_awaitable_returns_when_its_last_inner_awaitable_returns() {
    let mut host = suspended(Script::yields(1));
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert_eq!(host.machine.awaiting().map(|iter| iter.id()), None);
}

#[test]
fn an_exception_from_the_inner_awaitable_propagates_and_discards_the_rest() {
    let mut host = suspended(Script::yields(1).raising("E"));
    assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(exc("E")));
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert_eq!(
        host.trace,
        vec![Trace::Send(1, Obj::None), Trace::Discard(2)]
    );
}

#[test]
fn throw_goes_into_the_inner_awaitable_and_a_value_it_returns_is_the_awaited_value() {
    let mut host = MockHost::new();
    let keep = Callback::named("keep").then_set_result_to_arg();
    let inner = Script::yields(1)
        .id(1)
        .on_throw(OnThrow::Catch(Obj::int(7)));
    host.machine
        .add_await(Obj::script(inner), Some(keep), None)
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::throw(&mut host, exc("E")),
        Outcome::Return(Obj::int(7))
    );
    assert_eq!(
        host.trace[2..],
        [
            Trace::Throw(1, exc("E")),
            Trace::OnResult("keep".into(), Obj::int(7))
        ]
    );
}

#[test]
fn throw_that_the_inner_awaitable_lets_through_is_raised_at_the_await() {
    let mut host = suspended(Script::yields(1));
    assert_eq!(drive::throw(&mut host, exc("E")), Outcome::Raise(exc("E")));
    assert_eq!(
        host.trace,
        vec![Trace::Throw(1, exc("E")), Trace::Discard(2)]
    );
}

#[test]
fn throw_that_the_inner_awaitable_survives_suspends_again_at_its_next_yield() {
    let mut host = suspended(Script::yields(2).on_throw(OnThrow::Resume));
    assert_eq!(
        drive::throw(&mut host, exc("E")),
        Outcome::Yield(Obj::int(1))
    );
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(host.trace, vec![Trace::Throw(1, exc("E"))]);
}

#[test]
fn throw_into_an_inner_awaitable_without_throw_is_raised_at_the_await_point() {
    let mut host = MockHost::new();
    let handler = Callback::named("h");
    let inner = Script::yields(1).id(1).on_throw(OnThrow::NoThrowMethod);
    host.machine
        .add_await(Obj::script(inner), None, Some(handler))
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::throw(&mut host, exc("E")),
        Outcome::Return(Obj::None)
    );
    assert_eq!(host.trace[2..], [Trace::OnError("h".into(), exc("E"))]);
}

#[test]
fn throw_of_generator_exit_closes_the_inner_awaitable_instead_of_throwing_into_it() {
    let mut host = suspended(Script::yields(1));
    assert_eq!(
        drive::throw(&mut host, exc("GeneratorExit")),
        Outcome::Raise(exc("GeneratorExit"))
    );
    assert_eq!(host.trace, vec![Trace::Close(1), Trace::Discard(2)]);
}

#[test]
fn throw_of_generator_exit_raises_what_closing_the_inner_awaitable_raised() {
    let mut host = suspended(Script::yields(1).on_close(OnClose::Raise(exc("E"))));
    assert_eq!(
        drive::throw(&mut host, exc("GeneratorExit")),
        Outcome::Raise(exc("E"))
    );
}

#[test]
fn close_closes_the_inner_awaitable_then_finishes() {
    let mut host = suspended(Script::yields(1));
    assert_eq!(drive::close(&mut host), Ok(None));
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert_eq!(host.trace, vec![Trace::Close(1), Trace::Discard(2)]);
}

#[test]
fn close_raises_at_the_await_point_and_an_error_callback_sees_generator_exit() {
    let mut host = MockHost::new();
    let handler = Callback::named("h").returning(-1, None);
    host.machine
        .add_await(Obj::script(Script::yields(1).id(1)), None, Some(handler))
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Ok(None));
    assert_eq!(
        host.trace[2..],
        [
            Trace::Close(1),
            Trace::OnError("h".into(), exc("GeneratorExit"))
        ]
    );
}

#[test]
fn close_of_an_inner_awaitable_that_ignores_generator_exit_raises_runtime_error() {
    let mut host = suspended(Script::yields(1).on_close(OnClose::IgnoreGeneratorExit));
    assert_eq!(drive::close(&mut host), Err(exc("RuntimeError")));
    assert_eq!(host.machine.stage(), Stage::Finished);
}

#[test]
fn the_runtime_error_of_an_inner_awaitable_ignoring_generator_exit_is_raised_at_the_await_point() {
    let mut host = MockHost::new();
    let handler = Callback::named("h");
    let inner = Script::yields(1)
        .id(1)
        .on_close(OnClose::IgnoreGeneratorExit);
    host.machine
        .add_await(Obj::script(inner), None, Some(handler))
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Ok(Some(Obj::None)));
    assert_eq!(
        host.trace[2..],
        [
            Trace::Close(1),
            Trace::OnError("h".into(), exc("RuntimeError"))
        ]
    );
}

#[test]
fn close_when_an_error_callback_swallows_generator_exit_and_the_program_yields_again_is_an_error() {
    let mut host = MockHost::new();
    host.machine
        .add_await(
            Obj::script(Script::yields(1).id(1)),
            None,
            Some(Callback::named("h")),
        )
        .ok()
        .unwrap();
    host.machine
        .add_await(Obj::script(Script::yields(2).id(2)), None, None)
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Err(exc("RuntimeError")));
    // genobject.c: the coroutine stays suspended at its new yield.
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(host.machine.awaiting().map(|iter| iter.id()), Some(2));
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(1))
    );
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
}

#[test]
fn close_when_the_program_returns_after_catching_generator_exit_succeeds() {
    let mut host = MockHost::new();
    host.machine
        .add_await(
            Obj::script(Script::yields(1).id(1)),
            None,
            Some(Callback::named("h")),
        )
        .ok()
        .unwrap();
    host.machine
        .add_await(Obj::script(Script::yields(0).id(2)), None, None)
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Ok(Some(Obj::None)));
    assert_eq!(host.machine.stage(), Stage::Finished);
}

#[test]
fn close_when_an_error_callback_raises_something_else_raises_that() {
    let mut host = MockHost::new();
    let handler = Callback::named("h").returning(-2, Some(exc("E")));
    host.machine
        .add_await(Obj::script(Script::yields(1).id(1)), None, Some(handler))
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Err(exc("E")));
    assert_eq!(host.machine.stage(), Stage::Finished);
}

#[test]
fn cancel_while_suspended_closes_the_inner_awaitable_and_drops_the_queue_and_its_callbacks() {
    let mut host = MockHost::new();
    let never = Callback::named("never");
    host.machine
        .add_await(
            Obj::script(Script::yields(1).id(1)),
            Some(never.clone()),
            Some(never),
        )
        .ok()
        .unwrap();
    host.machine
        .add_await(Obj::script(Script::yields(0).id(2)), None, None)
        .ok()
        .unwrap();
    drive::send(&mut host, Obj::None);
    host.trace.clear();
    assert_eq!(drive::cancel(&mut host), Ok(()));
    assert_eq!(host.trace, vec![Trace::Discard(2), Trace::Close(1)]);
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(host.machine.pending(), 0);
    assert!(host.machine.awaiting().is_none());
    // The cancelled await's callbacks never run.
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    assert_eq!(host.trace, vec![Trace::Discard(2), Trace::Close(1)]);
}

#[test]
fn cancel_while_suspended_reports_what_closing_the_inner_awaitable_raised() {
    let mut host = suspended(Script::yields(1).on_close(OnClose::Raise(exc("E"))));
    assert_eq!(drive::cancel(&mut host), Err(exc("E")));
}

#[test]
fn awaiting_an_awaitable_that_an_await_is_suspended_in_is_refused() {
    let mut host = awaiting([Script::yields(1).id(1)]);
    assert_eq!(drive::begin_await(&mut host), Ok(()));
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::begin_await(&mut host), Err(exc("RuntimeError")));
    drive::send(&mut host, Obj::None);
    assert_eq!(host.machine.stage(), Stage::Finished);
    // Awaiting a finished awaitable is allowed; its first send then refuses.
    assert_eq!(drive::begin_await(&mut host), Ok(()));
}

// --- Finished ---

#[test]
fn send_after_finishing_cannot_reuse_the_awaitable() {
    let mut host = finished();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(exc("RuntimeError"))
    );
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert!(host.trace.is_empty());
}

#[test]
fn throw_after_finishing_cannot_reuse_the_awaitable() {
    let mut host = finished();
    assert_eq!(
        drive::throw(&mut host, exc("E")),
        Outcome::Raise(exc("RuntimeError"))
    );
    assert!(host.trace.is_empty());
}

#[test]
fn throw_after_raising_cannot_reuse_the_awaitable_either() {
    let mut host = awaiting([Script::yields(0).raising("E")]);
    assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(exc("E")));
    assert_eq!(
        drive::throw(&mut host, exc("E")),
        Outcome::Raise(exc("RuntimeError"))
    );
}

#[test]
fn close_after_finishing_does_nothing() {
    let mut host = finished();
    assert_eq!(drive::close(&mut host), Ok(None));
    assert_eq!(host.machine.stage(), Stage::Finished);
    assert!(host.trace.is_empty());
}

#[test]
fn cancel_after_finishing_does_nothing() {
    let mut host = finished();
    assert_eq!(drive::cancel(&mut host), Ok(()));
    assert!(host.trace.is_empty());
}

#[test]
fn an_entry_added_after_finishing_is_given_back() {
    let mut host = finished();
    let refused = host.machine.add_await(Obj::int(1), None, None);
    assert!(matches!(
        refused,
        Err(Refused::Finished(Entry::Await {
            awaitable: Obj::Int(1),
            ..
        }))
    ));
    assert_eq!(host.machine.pending(), 0);
}

// --- Outcomes ---

#[test]
fn the_result_comes_back_intact_whatever_it_is() {
    for result in [
        Obj::None,
        Obj::int(-1),
        Obj::Exc(exc("StopIteration")),
        Obj::script(Script::yields(0)),
    ] {
        let mut host = MockHost::new();
        host.machine.set_result(result.clone());
        assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(result));
    }
}

#[test]
fn every_value_the_inner_awaitable_yields_goes_out_in_order() {
    let mut host = awaiting([Script::yields(3).id(1)]);
    let yielded: Vec<_> = (0..4).map(|_| drive::send(&mut host, Obj::None)).collect();
    let expected = [0, 1, 2].map(|n| Outcome::Yield(Obj::int(n)));
    assert_eq!(yielded[..3], expected);
    assert_eq!(yielded[3], Outcome::Return(Obj::None));
}
