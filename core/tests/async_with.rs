//! `async with` blocks (`Machine::add_with`): enter, body, exit exactly once,
//! suppression, the statement's error callback, nesting.
//!
//! Script ids: 10/11 are the outer block's `__aenter__`/`__aexit__`
//! awaitables, 12/13 the inner block's, 20-29 awaits inside the blocks and 30
//! an await queued after the outer block.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{Action, Callback, Exc, MockHost, Obj, OnThrow, Script, Trace};
use pyawaitable_core::{drive, Outcome, Stage, With};

fn exc(class: &str) -> Exc {
    Exc::new(class)
}

fn add_await(script: Script) -> Action {
    Action::AddAwait(script, None, None)
}

/// The `__aenter__` awaitable: yields once, then returns 5.
fn enter() -> Script {
    Script::yields(1).id(10).returning(5)
}

/// The `__aexit__` awaitable, returning 1 when it suppresses the exception.
fn exit(suppress: bool) -> Script {
    Script::yields(0).id(11).returning(i64::from(suppress))
}

/// A program of one `async with` block, then an await of script 30.
fn program(enter: Script, exit: Script, body: Callback, on_error: Option<Callback>) -> MockHost {
    let mut host = MockHost::new();
    let block = With {
        enter: Obj::script(enter),
        exit: Obj::script(exit),
        body,
        on_error,
    };
    host.machine.add_with(block).ok().unwrap();
    host.machine
        .add_await(Obj::script(Script::yields(0).id(30)), None, None)
        .ok()
        .unwrap();
    host
}

/// Drives the program with `send(None)` until it finishes.
fn run(host: &mut MockHost) -> Outcome<Obj, Exc> {
    loop {
        match drive::send(host, Obj::None) {
            Outcome::Yield(_) => continue,
            done => return done,
        }
    }
}

/// The trace of awaiting script `id`, which returns at once.
fn awaited(id: u32) -> [Trace; 2] {
    [Trace::Iterate(id), Trace::Send(id, Obj::None)]
}

/// The trace of entering the outer block and running its body callback.
fn entered() -> Vec<Trace> {
    vec![
        Trace::Iterate(10),
        Trace::Send(10, Obj::None),
        Trace::Send(10, Obj::None),
        Trace::OnResult("body".into(), Obj::int(5)),
    ]
}

fn exits(trace: &[Trace]) -> usize {
    trace
        .iter()
        .filter(|event| matches!(event, Trace::Exit(_)))
        .count()
}

#[test]
fn enter_is_awaited_the_body_gets_its_value_and_the_body_awaits_run_before_exit() {
    let body = Callback::named("body").then(add_await(Script::yields(0).id(20)));
    let mut host = program(enter(), exit(false), body, None);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    let expected = [
        entered(),
        awaited(20).into(),
        vec![Trace::Exit(None)],
        awaited(11).into(),
        awaited(30).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn awaits_added_by_callbacks_of_body_awaits_still_run_inside_the_block() {
    let again = Callback::named("again").then(add_await(Script::yields(1).id(21)));
    let body = Callback::named("body").then(Action::AddAwait(
        Script::yields(0).id(20),
        Some(again),
        None,
    ));
    let mut host = program(enter(), exit(false), body, None);
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let expected = [
        entered(),
        awaited(20).into(),
        vec![Trace::OnResult("again".into(), Obj::None)],
        vec![
            Trace::Iterate(21),
            Trace::Send(21, Obj::None),
            Trace::Send(21, Obj::None),
        ],
        vec![Trace::Exit(None)],
        awaited(11).into(),
        awaited(30).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn an_error_in_the_body_goes_to_exit_once_and_is_reraised_when_exit_returns_false() {
    let body = Callback::named("body")
        .then(add_await(Script::yields(0).id(20).raising("E")))
        .then(add_await(Script::yields(0).id(21)));
    let mut host = program(enter(), exit(false), body, None);
    assert_eq!(run(&mut host), Outcome::Raise(exc("E")));
    let expected = [
        entered(),
        awaited(20).into(),
        vec![Trace::Discard(21), Trace::Exit(Some(exc("E")))],
        awaited(11).into(),
        vec![Trace::Discard(30)],
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn an_exit_returning_true_suppresses_the_error_and_the_program_goes_on() {
    let body = Callback::named("body").then(add_await(Script::yields(0).id(20).raising("E")));
    let mut host = program(enter(), exit(true), body, None);
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let expected = [
        entered(),
        awaited(20).into(),
        vec![Trace::Exit(Some(exc("E")))],
        awaited(11).into(),
        awaited(30).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn the_statement_error_callback_handles_an_error_leaving_the_block() {
    let body = Callback::named("body").then(add_await(Script::yields(0).id(20).raising("E")));
    let mut host = program(enter(), exit(false), body, Some(Callback::named("h")));
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let tail = [
        vec![Trace::Exit(Some(exc("E")))],
        awaited(11).into(),
        vec![Trace::OnError("h".into(), exc("E"))],
        awaited(30).into(),
    ];
    assert!(host.trace.ends_with(&tail.concat()));
}

#[test]
fn an_await_in_the_body_handles_its_own_error_without_leaving_the_block() {
    let failing = Action::AddAwait(
        Script::yields(0).id(20).raising("E"),
        None,
        Some(Callback::named("inner")),
    );
    let mut host = program(
        enter(),
        exit(false),
        Callback::named("body").then(failing),
        Some(Callback::named("h")),
    );
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    assert!(host
        .trace
        .contains(&Trace::OnError("inner".into(), exc("E"))));
    assert!(host.trace.contains(&Trace::Exit(None)));
    assert!(!host.trace.contains(&Trace::OnError("h".into(), exc("E"))));
}

#[test]
fn an_error_from_aenter_skips_the_body_and_exit() {
    let failing_enter = Script::yields(0).id(10).raising("E");
    let mut host = program(
        failing_enter,
        exit(false),
        Callback::named("body"),
        Some(Callback::named("h")),
    );
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let expected = [
        awaited(10).into(),
        vec![Trace::OnError("h".into(), exc("E"))],
        awaited(30).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);

    let failing_enter = Script::yields(0).id(10).raising("E");
    let mut host = program(failing_enter, exit(false), Callback::named("body"), None);
    assert_eq!(run(&mut host), Outcome::Raise(exc("E")));
    assert_eq!(exits(&host.trace), 0);
}

#[test]
fn an_error_raised_by_the_body_callback_discards_its_awaits_and_goes_to_exit() {
    for code in [-1, -2] {
        let body = Callback::named("body")
            .then(add_await(Script::yields(0).id(20)))
            .returning(code, Some(exc("B")));
        let mut host = program(enter(), exit(false), body, None);
        assert_eq!(run(&mut host), Outcome::Raise(exc("B")));
        let expected = [
            entered(),
            vec![Trace::Discard(20), Trace::Exit(Some(exc("B")))],
            awaited(11).into(),
            vec![Trace::Discard(30)],
        ]
        .concat();
        assert_eq!(host.trace, expected);
    }
}

#[test]
fn a_body_callback_reporting_an_error_it_did_not_set_sends_system_error_to_exit() {
    let body = Callback::named("body").returning(-1, None);
    let mut host = program(enter(), exit(true), body, None);
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    assert!(host.trace.contains(&Trace::Exit(Some(exc("SystemError")))));
}

#[test]
fn an_error_from_awaiting_exit_replaces_the_body_error_and_exit_is_not_called_again() {
    let body = Callback::named("body").then(add_await(Script::yields(0).id(20).raising("E")));
    let failing_exit = Script::yields(0).id(11).raising("X");
    let mut host = program(enter(), failing_exit, body, Some(Callback::named("h")));
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    assert!(host.trace.contains(&Trace::OnError("h".into(), exc("X"))));
    assert_eq!(exits(&host.trace), 1);
}

#[test]
fn an_exit_that_cannot_be_called_raises_type_error_to_the_statement_error_callback() {
    let mut host = MockHost::new();
    let block = With {
        enter: Obj::script(enter()),
        exit: Obj::int(0),
        body: Callback::named("body"),
        on_error: Some(Callback::named("h")),
    };
    host.machine.add_with(block).ok().unwrap();
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    assert_eq!(
        host.trace[4..],
        [
            Trace::Exit(None),
            Trace::OnError("h".into(), exc("TypeError"))
        ]
    );
}

#[test]
fn an_exception_thrown_while_in_aenter_skips_the_body_and_exit() {
    let inner_enter = enter().on_throw(OnThrow::Propagate);
    let mut host = program(
        inner_enter,
        exit(false),
        Callback::named("body"),
        Some(Callback::named("h")),
    );
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        drive::throw(&mut host, exc("X")),
        Outcome::Return(Obj::None)
    );
    assert_eq!(
        host.trace[2..4],
        [
            Trace::Throw(10, exc("X")),
            Trace::OnError("h".into(), exc("X"))
        ]
    );
    assert_eq!(exits(&host.trace), 0);
}

#[test]
fn an_exception_thrown_while_in_aexit_goes_to_the_statement_error_callback_without_a_second_exit() {
    let body = Callback::named("body").then(add_await(Script::yields(0).id(20).raising("E")));
    let slow_exit = Script::yields(1).id(11);
    let mut host = program(enter(), slow_exit, body, Some(Callback::named("h")));
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        drive::throw(&mut host, exc("X")),
        Outcome::Return(Obj::None)
    );
    assert!(host.trace.contains(&Trace::OnError("h".into(), exc("X"))));
    assert_eq!(exits(&host.trace), 1);
}

#[test]
fn close_in_the_body_runs_exit_with_generator_exit() {
    let body = Callback::named("body").then(add_await(Script::yields(1).id(20)));
    let mut host = program(enter(), exit(false), body, None);
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    host.trace.clear();
    assert_eq!(drive::close(&mut host), Ok(None));
    let expected = [
        vec![Trace::Close(20), Trace::Exit(Some(exc("GeneratorExit")))],
        awaited(11).into(),
        vec![Trace::Discard(30)],
    ]
    .concat();
    assert_eq!(host.trace, expected);
    assert_eq!(host.machine.stage(), Stage::Finished);
}

#[test]
fn close_in_the_body_when_exit_yields_is_an_error_and_leaves_the_awaitable_suspended_in_exit() {
    let body = Callback::named("body").then(add_await(Script::yields(1).id(20)));
    let mut host = program(enter(), Script::yields(1).id(11), body, None);
    drive::send(&mut host, Obj::None);
    drive::send(&mut host, Obj::None);
    assert_eq!(drive::close(&mut host), Err(exc("RuntimeError")));
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(host.machine.awaiting().map(|iter| iter.id()), Some(11));
    // __aexit__ returns None: GeneratorExit is re-raised.
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(exc("GeneratorExit"))
    );
    assert_eq!(exits(&host.trace), 1);
}

#[test]
fn cancel_in_the_body_discards_everything_queued_but_the_block_still_exits() {
    let restart = Callback::named("c")
        .then(Action::Cancel)
        .then(add_await(Script::yields(0).id(22)));
    let body = Callback::named("body")
        .then(Action::AddAwait(
            Script::yields(0).id(20),
            Some(restart),
            None,
        ))
        .then(add_await(Script::yields(0).id(21)));
    let mut host = program(enter(), exit(false), body, None);
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let expected = [
        entered(),
        awaited(20).into(),
        vec![
            Trace::OnResult("c".into(), Obj::None),
            Trace::Discard(30),
            Trace::Discard(21),
        ],
        awaited(22).into(),
        vec![Trace::Exit(None)],
        awaited(11).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn cancel_while_suspended_in_the_body_closes_the_await_and_the_block_exits_on_the_next_send() {
    let body = Callback::named("body")
        .then(add_await(Script::yields(1).id(20)))
        .then(add_await(Script::yields(0).id(21)));
    let mut host = program(enter(), exit(false), body, None);
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    host.trace.clear();
    assert_eq!(drive::cancel(&mut host), Ok(()));
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    let expected = [
        vec![
            Trace::Discard(30),
            Trace::Discard(21),
            Trace::Close(20),
            Trace::Exit(None),
        ],
        awaited(11).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

/// An outer block whose body opens an inner block (enter 12 returning 6,
/// exit 13) around an await of 20 raising `E`, then awaits 21.
fn nested(inner_suppresses: bool) -> MockHost {
    let inner = Action::AddWith {
        enter: Script::yields(0).id(12).returning(6),
        exit: Script::yields(0)
            .id(13)
            .returning(i64::from(inner_suppresses)),
        body: Callback::named("inner").then(add_await(Script::yields(0).id(20).raising("E"))),
        on_error: None,
    };
    let body = Callback::named("body")
        .then(inner)
        .then(add_await(Script::yields(0).id(21)));
    program(enter(), exit(false), body, None)
}

#[test]
fn nested_blocks_exit_innermost_first_and_a_suppressed_error_stays_inside() {
    let mut host = nested(true);
    assert_eq!(run(&mut host), Outcome::Return(Obj::None));
    let expected = [
        entered(),
        awaited(12).into(),
        vec![Trace::OnResult("inner".into(), Obj::int(6))],
        awaited(20).into(),
        vec![Trace::Exit(Some(exc("E")))],
        awaited(13).into(),
        awaited(21).into(),
        vec![Trace::Exit(None)],
        awaited(11).into(),
        awaited(30).into(),
    ]
    .concat();
    assert_eq!(host.trace, expected);
}

#[test]
fn nested_blocks_pass_an_unsuppressed_error_to_the_outer_exit() {
    let mut host = nested(false);
    assert_eq!(run(&mut host), Outcome::Raise(exc("E")));
    let expected = [
        entered(),
        awaited(12).into(),
        vec![Trace::OnResult("inner".into(), Obj::int(6))],
        awaited(20).into(),
        vec![Trace::Exit(Some(exc("E")))],
        awaited(13).into(),
        vec![Trace::Discard(21), Trace::Exit(Some(exc("E")))],
        awaited(11).into(),
        vec![Trace::Discard(30)],
    ]
    .concat();
    assert_eq!(host.trace, expected);
}
