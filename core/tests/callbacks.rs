//! Result, error and deferred callbacks: their return codes, the errors they
//! raise or fail to set, and what they do to the queue.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{Action, Callback, Exc, MockHost, Obj, Script, Trace};
use pyawaitable_core::{drive, Outcome};

fn exc(class: &str) -> Exc {
    Exc::new(class)
}

fn stop_iteration_as_runtime_error() -> Exc {
    Exc {
        class: "RuntimeError".into(),
        cause: Some(Box::new(exc("StopIteration"))),
    }
}

/// Script `id` returning `id * 10` at once.
fn inner(id: u32) -> Obj {
    Obj::script(Script::yields(0).id(id).returning(i64::from(id) * 10))
}

/// Runs [`run_program`] on script 1, which returns 10 at once.
fn run_await(
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> (Outcome<Obj, Exc>, Vec<Trace>) {
    run_program(
        Obj::script(Script::yields(0).id(1).returning(10)),
        on_result,
        on_error,
    )
}

/// Runs a program awaiting `awaitable` with the given callbacks, then
/// script 2; gives the outcome of the first `send` and the trace.
fn run_program(
    awaitable: Obj,
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> (Outcome<Obj, Exc>, Vec<Trace>) {
    let mut host = MockHost::new();
    host.machine
        .add_await(awaitable, on_result, on_error)
        .ok()
        .unwrap();
    host.machine.add_await(inner(2), None, None).ok().unwrap();
    let outcome = drive::send(&mut host, Obj::None);
    (outcome, host.trace)
}

fn on_result(name: &str, value: i64) -> Trace {
    Trace::OnResult(name.into(), Obj::int(value))
}

fn on_error(name: &str, class: &str) -> Trace {
    Trace::OnError(name.into(), exc(class))
}

/// The trace of script 1 returning 10, before any callback runs.
const FIRST: [Trace; 2] = [Trace::Iterate(1), Trace::Send(1, Obj::None)];

/// The trace of script 2 being awaited.
const SECOND: [Trace; 2] = [Trace::Iterate(2), Trace::Send(2, Obj::None)];

fn trace(parts: &[&[Trace]]) -> Vec<Trace> {
    parts.concat()
}

// --- result callback codes ---

#[test]
fn a_result_callback_returning_0_gets_the_awaited_value_and_the_program_goes_on() {
    let (outcome, seen) = run_await(Some(Callback::named("r")), Some(Callback::named("h")));
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(seen, trace(&[&FIRST, &[on_result("r", 10)], &SECOND]));
}

#[test]
fn a_result_callback_returning_minus_1_sends_its_error_to_the_error_callback() {
    let r = Callback::named("r").returning(-1, Some(exc("E")));
    let (outcome, seen) = run_await(Some(r), Some(Callback::named("h")));
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_result("r", 10), on_error("h", "E")], &SECOND])
    );
}

#[test]
fn a_result_callback_returning_minus_1_without_an_error_callback_raises() {
    let r = Callback::named("r").returning(-1, Some(exc("E")));
    let (outcome, seen) = run_await(Some(r), None);
    assert_eq!(outcome, Outcome::Raise(exc("E")));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_result("r", 10), Trace::Discard(2)]])
    );
}

#[test]
fn a_result_callback_returning_minus_2_raises_past_the_error_callback() {
    let r = Callback::named("r").returning(-2, Some(exc("E")));
    let (outcome, seen) = run_await(Some(r), Some(Callback::named("h")));
    assert_eq!(outcome, Outcome::Raise(exc("E")));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_result("r", 10), Trace::Discard(2)]])
    );
}

#[test]
fn a_result_callback_reporting_an_error_it_did_not_set_gives_system_error_past_the_error_callback()
{
    let r = Callback::named("r").returning(-1, None);
    let (outcome, seen) = run_await(Some(r), Some(Callback::named("h")));
    assert_eq!(outcome, Outcome::Raise(exc("SystemError")));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_result("r", 10), Trace::Discard(2)]])
    );

    let r = Callback::named("r").returning(-2, None);
    assert_eq!(
        run_await(Some(r), None).0,
        Outcome::Raise(exc("SystemError"))
    );
}

// --- error callback codes ---

#[test]
fn an_error_callback_returning_0_handles_the_error_and_the_program_goes_on() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let (outcome, seen) = run_program(
        failing,
        Some(Callback::named("r")),
        Some(Callback::named("h")),
    );
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(seen, trace(&[&FIRST, &[on_error("h", "E")], &SECOND]));
}

#[test]
fn an_error_callback_returning_minus_1_reraises_the_original_error() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let h = Callback::named("h").returning(-1, Some(exc("Ignored")));
    let (outcome, seen) = run_program(failing, None, Some(h));
    assert_eq!(outcome, Outcome::Raise(exc("E")));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_error("h", "E"), Trace::Discard(2)]])
    );
}

#[test]
fn an_error_callback_returning_minus_2_raises_its_new_error() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let h = Callback::named("h").returning(-2, Some(exc("New")));
    assert_eq!(
        run_program(failing, None, Some(h)).0,
        Outcome::Raise(exc("New"))
    );
}

#[test]
fn an_error_callback_reporting_a_new_error_it_did_not_set_gives_system_error() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let h = Callback::named("h").returning(-2, None);
    assert_eq!(
        run_program(failing, None, Some(h)).0,
        Outcome::Raise(exc("SystemError"))
    );
}

#[test]
fn an_error_with_no_error_callback_propagates_without_running_the_result_callback() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let (outcome, seen) = run_program(failing, Some(Callback::named("r")), None);
    assert_eq!(outcome, Outcome::Raise(exc("E")));
    assert_eq!(seen, trace(&[&FIRST, &[Trace::Discard(2)]]));
}

#[test]
fn an_object_that_is_not_awaitable_sends_its_type_error_to_the_error_callback() {
    for awaitable in [
        Obj::int(5),
        Obj::script(Script::yields(0).id(1).not_awaitable()),
    ] {
        let (outcome, seen) = run_program(
            awaitable,
            Some(Callback::named("r")),
            Some(Callback::named("h")),
        );
        assert_eq!(outcome, Outcome::Return(Obj::None));
        assert_eq!(seen, trace(&[&[on_error("h", "TypeError")], &SECOND]));
    }
}

// --- deferred callbacks ---

#[test]
fn deferred_callbacks_run_at_their_place_between_awaits() {
    let mut host = MockHost::new();
    host.machine.add_defer(Callback::named("d1")).ok().unwrap();
    host.machine.add_await(inner(1), None, None).ok().unwrap();
    host.machine.add_defer(Callback::named("d2")).ok().unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    assert_eq!(
        host.trace,
        trace(&[
            &[Trace::Defer("d1".into())],
            &FIRST,
            &[Trace::Defer("d2".into())]
        ])
    );
}

#[test]
fn a_deferred_callback_returning_minus_1_raises_its_error_and_ends_the_program() {
    let mut host = MockHost::new();
    host.machine
        .add_defer(Callback::named("d").returning(-1, Some(exc("E"))))
        .ok()
        .unwrap();
    host.machine
        .add_await(inner(1), None, Some(Callback::named("h")))
        .ok()
        .unwrap();
    assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(exc("E")));
    assert_eq!(
        host.trace,
        vec![Trace::Defer("d".into()), Trace::Discard(1)]
    );
}

#[test]
fn a_deferred_callback_failing_without_an_error_gives_system_error() {
    let mut host = MockHost::new();
    host.machine
        .add_defer(Callback::named("d").returning(-1, None))
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(exc("SystemError"))
    );
}

// --- PEP 479 ---

#[test]
fn stop_iteration_leaving_the_awaitable_becomes_runtime_error_caused_by_it() {
    let stop = Some(exc("StopIteration"));
    let (outcome, _) = run_await(Some(Callback::named("r").returning(-2, stop.clone())), None);
    assert_eq!(outcome, Outcome::Raise(stop_iteration_as_runtime_error()));

    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let (outcome, _) = run_program(
        failing,
        None,
        Some(Callback::named("h").returning(-2, stop.clone())),
    );
    assert_eq!(outcome, Outcome::Raise(stop_iteration_as_runtime_error()));

    let mut host = MockHost::new();
    host.machine
        .add_defer(Callback::named("d").returning(-1, stop))
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(stop_iteration_as_runtime_error())
    );
}

#[test]
fn stop_iteration_inside_the_awaitable_reaches_the_error_callback_unchanged() {
    let r = Callback::named("r").returning(-1, Some(exc("StopIteration")));
    let (outcome, seen) = run_await(Some(r), Some(Callback::named("h").returning(-1, None)));
    assert_eq!(seen[3], on_error("h", "StopIteration"));
    assert_eq!(outcome, Outcome::Raise(stop_iteration_as_runtime_error()));
}

// --- results ---

#[test]
fn set_result_replaces_the_previous_result() {
    let mut host = MockHost::new();
    let first = Callback::named("first").then(Action::SetResult(Obj::int(1)));
    let second = Callback::named("second").then_set_result_to_arg();
    host.machine
        .add_await(inner(1), Some(first), None)
        .ok()
        .unwrap();
    host.machine
        .add_await(inner(2), Some(second), None)
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(20))
    );
}

#[test]
fn an_exception_set_as_the_result_is_returned_not_raised() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let (outcome, _) = run_program(
        failing,
        None,
        Some(Callback::named("h").then_set_result_to_arg()),
    );
    assert_eq!(outcome, Outcome::Return(Obj::Exc(exc("E"))));
}

// --- adding entries while running ---

#[test]
fn awaits_added_by_callbacks_run_after_those_already_queued_like_a_loop() {
    let mut host = MockHost::new();
    let third = Callback::named("third").then_set_result_to_arg();
    let add_third = Callback::named("add").then(Action::AddAwait(
        Script::yields(0).id(3).returning(30),
        Some(third),
        None,
    ));
    host.machine
        .add_await(inner(1), Some(add_third), None)
        .ok()
        .unwrap();
    host.machine.add_await(inner(2), None, None).ok().unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(30))
    );
    let expected = trace(&[
        &FIRST,
        &[on_result("add", 10)],
        &SECOND,
        &[
            Trace::Iterate(3),
            Trace::Send(3, Obj::None),
            on_result("third", 30),
        ],
    ]);
    assert_eq!(host.trace, expected);
}

#[test]
fn cancel_from_a_callback_discards_the_queue_and_awaits_added_afterwards_run() {
    let mut host = MockHost::new();
    let restart = Callback::named("restart")
        .then(Action::Cancel)
        .then(Action::AddAwait(Script::yields(1).id(9), None, None))
        .then(Action::AddDefer(Callback::named("d")));
    host.machine
        .add_await(inner(1), Some(restart), None)
        .ok()
        .unwrap();
    host.machine.add_await(inner(2), None, None).ok().unwrap();
    host.machine
        .add_defer(Callback::named("cancelled"))
        .ok()
        .unwrap();
    host.machine.add_await(inner(3), None, None).ok().unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    let expected = trace(&[
        &FIRST,
        &[
            on_result("restart", 10),
            Trace::Discard(2),
            Trace::Discard(3),
        ],
        &[
            Trace::Iterate(9),
            Trace::Send(9, Obj::None),
            Trace::Send(9, Obj::None),
            Trace::Defer("d".into()),
        ],
    ]);
    assert_eq!(host.trace, expected);
}

#[test]
fn cancel_from_an_error_callback_discards_the_queue_and_the_error_is_still_handled() {
    let failing = Obj::script(Script::yields(0).id(1).raising("E"));
    let (outcome, seen) = run_program(
        failing,
        None,
        Some(Callback::named("h").then(Action::Cancel)),
    );
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert_eq!(
        seen,
        trace(&[&FIRST, &[on_error("h", "E"), Trace::Discard(2)]])
    );
}

/// Awaits a script that suspends once and then returns (or raises), with
/// both callbacks; gives how many inner iterators each callback saw alive.
fn alive_at_callbacks_after_a_suspension(script: Script) -> Vec<u32> {
    let mut host = MockHost::new();
    host.machine
        .add_await(
            Obj::script(script),
            Some(Callback::named("r")),
            Some(Callback::named("e")),
        )
        .ok()
        .unwrap();
    assert!(matches!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(_)
    ));
    assert_eq!(host.iterators_alive.get(), 1);
    drive::send(&mut host, Obj::None);
    host.alive_at_callbacks
}

#[test]
fn a_finished_inner_iterator_is_released_before_its_result_callback_runs() {
    let script = Script::yields(1).id(1).returning(10);
    assert_eq!(alive_at_callbacks_after_a_suspension(script), vec![0]);
}

#[test]
fn a_failed_inner_iterator_is_released_before_its_error_callback_runs() {
    let script = Script::yields(1).id(1).raising("KeyError");
    assert_eq!(alive_at_callbacks_after_a_suspension(script), vec![0]);
}
