//! Task entries: a Rust future awaiting one awaitable at a time, driven by
//! the same transitions as every other entry.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{
    Exc, MockHost, Obj, OnClose, OnThrow, Script, Task, TaskAction, Trace,
};
use pyawaitable_core::{drive, Outcome, Stage};

/// A host whose program is one task taking `actions`; also the task's
/// dropped flag.
fn with_task(actions: Vec<TaskAction>) -> (MockHost, std::rc::Rc<std::cell::Cell<bool>>) {
    let mut host = MockHost::new();
    let task = Task::new("t", actions);
    let dropped = task.dropped.clone();
    host.machine.add_task(task).ok().unwrap();
    (host, dropped)
}

/// A task suspended on an awaitable whose `close()` raises `ValueError`;
/// resumed, it does `then`.
fn suspended_on_a_failing_close(
    then: TaskAction,
) -> (MockHost, std::rc::Rc<std::cell::Cell<bool>>) {
    let inner = Script::yields(3)
        .id(1)
        .on_close(OnClose::Raise(Exc::new("ValueError")));
    let (mut host, dropped) = with_task(vec![TaskAction::Await(Obj::script(inner)), then]);
    drive::send(&mut host, Obj::None);
    (host, dropped)
}

fn polls(host: &MockHost) -> Vec<Option<Result<Obj, Exc>>> {
    host.trace
        .iter()
        .filter_map(|trace| match trace {
            Trace::Poll(_, resumed) => Some(resumed.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_task_awaits_in_turn_and_returns_its_value() {
    let (mut host, dropped) = with_task(vec![
        TaskAction::Await(Obj::script(Script::yields(1).returning(5).id(1))),
        TaskAction::Await(Obj::script(Script::yields(0).returning(7).id(2))),
        TaskAction::ReturnResumed,
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        drive::send(&mut host, Obj::int(9)),
        Outcome::Return(Obj::int(7))
    );
    assert_eq!(
        polls(&host),
        vec![None, Some(Ok(Obj::int(5))), Some(Ok(Obj::int(7)))]
    );
    assert!(host.trace.contains(&Trace::Send(1, Obj::int(9))));
    assert!(dropped.get());
    assert_eq!(host.machine.stage(), Stage::Finished);
}

#[test]
fn an_exception_at_the_await_resumes_the_task_which_may_carry_on() {
    let (mut host, _) = with_task(vec![
        TaskAction::Await(Obj::script(Script::yields(0).raising("KeyError"))),
        TaskAction::Return(Obj::int(1)),
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(1))
    );
    assert_eq!(polls(&host)[1], Some(Err(Exc::new("KeyError"))));
}

#[test]
fn a_failing_task_raises_from_the_awaitable() {
    let (mut host, dropped) = with_task(vec![TaskAction::Raise(Exc::new("ValueError"))]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(Exc::new("ValueError"))
    );
    assert!(dropped.get());
}

/// The two ways a task waits on an awaitable: handed to the machine, or
/// started by the task itself.
const WAITS: [fn(Obj) -> TaskAction; 2] = [TaskAction::Await, TaskAction::Start];

#[test]
fn a_thrown_exception_reaches_the_inner_awaitable_then_the_task() {
    for wait in WAITS {
        let inner = Script::yields(3).id(1).on_throw(OnThrow::Propagate);
        let (mut host, _) = with_task(vec![wait(Obj::script(inner)), TaskAction::ReturnResumed]);
        drive::send(&mut host, Obj::None);
        let cancelled = Exc::new("CancelledError");
        assert_eq!(
            drive::throw(&mut host, cancelled.clone()),
            Outcome::Raise(cancelled.clone())
        );
        assert!(host.trace.contains(&Trace::Throw(1, cancelled.clone())));
        assert_eq!(polls(&host)[1], Some(Err(cancelled)));
    }
}

#[test]
fn close_closes_the_inner_awaitable_and_drops_the_task_unpolled() {
    for wait in WAITS {
        let (mut host, dropped) = with_task(vec![
            wait(Obj::script(Script::yields(3).id(1))),
            TaskAction::Return(Obj::int(1)),
        ]);
        drive::send(&mut host, Obj::None);
        assert!(!dropped.get());
        assert!(drive::close(&mut host).is_ok());
        assert!(host.trace.contains(&Trace::Close(1)));
        assert_eq!(polls(&host).len(), 1);
        assert!(dropped.get());
    }
}

#[test]
fn close_resumes_the_task_with_what_the_inner_close_raised() {
    // gen_close: an error from closing the inner awaitable is raised at the
    // await; a coroutine that catches it and returns closes cleanly.
    let (mut host, dropped) = suspended_on_a_failing_close(TaskAction::Return(Obj::int(1)));
    assert!(drive::close(&mut host).is_ok());
    assert_eq!(polls(&host)[1], Some(Err(Exc::new("ValueError"))));
    assert!(dropped.get());
}

#[test]
fn close_raises_what_the_inner_close_raised_when_the_task_passes_it_on() {
    let (mut host, _) = suspended_on_a_failing_close(TaskAction::ReturnResumed);
    assert_eq!(drive::close(&mut host).unwrap_err(), Exc::new("ValueError"));
}

#[test]
fn entries_after_a_task_run_after_it() {
    let (mut host, _) = with_task(vec![TaskAction::Return(Obj::int(1))]);
    host.machine
        .add_await(Obj::script(Script::yields(0).id(2)), None, None)
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(1))
    );
    assert!(host.trace.contains(&Trace::Iterate(2)));
}

#[test]
fn a_queued_task_is_dropped_when_the_awaitable_is_closed_unstarted() {
    let (mut host, dropped) = with_task(vec![TaskAction::Return(Obj::int(1))]);
    assert!(drive::close(&mut host).is_ok());
    assert!(dropped.get());
    assert!(polls(&host).is_empty());
}

#[test]
fn a_generator_exit_raised_by_the_inner_awaitable_reaches_the_task() {
    let (mut host, _) = with_task(vec![
        TaskAction::Await(Obj::script(Script::yields(0).raising("GeneratorExit"))),
        TaskAction::ReturnResumed,
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(Exc::new("GeneratorExit"))
    );
    assert_eq!(polls(&host)[1], Some(Err(Exc::new("GeneratorExit"))));
}

#[test]
fn a_thrown_generator_exit_closes_the_inner_awaitable_and_resumes_the_task() {
    // throw(GeneratorExit), unlike close(), is an exception the coroutine's
    // code sees at its await, after the inner awaitable is closed.
    let (mut host, dropped) = with_task(vec![
        TaskAction::Await(Obj::script(Script::yields(3).id(1))),
        TaskAction::Return(Obj::int(5)),
    ]);
    drive::send(&mut host, Obj::None);
    assert_eq!(
        drive::throw(&mut host, Exc::new("GeneratorExit")),
        Outcome::Return(Obj::int(5))
    );
    assert!(host.trace.contains(&Trace::Close(1)));
    assert_eq!(polls(&host)[1], Some(Err(Exc::new("GeneratorExit"))));
    assert!(dropped.get());
}

#[test]
fn an_await_the_task_starts_that_finishes_at_once_needs_no_second_poll() {
    let (mut host, _) = with_task(vec![
        TaskAction::Start(Obj::script(Script::yields(0).returning(5).id(1))),
        TaskAction::Start(Obj::script(Script::yields(0).raising("KeyError").id(2))),
        TaskAction::ReturnResumed,
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(Exc::new("KeyError"))
    );
    assert!(host.trace.contains(&Trace::Send(1, Obj::None)));
    assert!(host.trace.contains(&Trace::Send(2, Obj::None)));
    assert_eq!(polls(&host), vec![None]);
}

#[test]
fn an_await_the_task_starts_that_yields_is_the_await_in_progress() {
    let (mut host, dropped) = with_task(vec![
        TaskAction::Start(Obj::script(Script::yields(2).returning(5).id(1))),
        TaskAction::ReturnResumed,
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(host.machine.stage(), Stage::Suspended);
    assert_eq!(
        drive::send(&mut host, Obj::int(9)),
        Outcome::Yield(Obj::int(1))
    );
    assert!(host.trace.contains(&Trace::Send(1, Obj::int(9))));
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(5))
    );
    assert_eq!(polls(&host), vec![None, Some(Ok(Obj::int(5)))]);
    assert!(dropped.get());
}

#[test]
fn an_await_added_while_another_starts_runs_after_it_in_order_added() {
    // The task adds an await (the front takes it), then suspends on another:
    // the added one moves behind the await in progress and runs after the task.
    let first = Obj::script(Script::yields(1).id(1).returning(10));
    let added = Obj::script(Script::yields(1).id(2).returning(20));
    let (mut host, _) = with_task(vec![
        TaskAction::AddAwait(added),
        TaskAction::Await(first),
        TaskAction::Return(Obj::int(5)),
    ]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(host.machine.awaiting().map(|iter| iter.id()), Some(1));
    assert_eq!(host.machine.pending(), 1);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(host.machine.awaiting().map(|iter| iter.id()), Some(2));
    assert_eq!(host.machine.pending(), 0);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(5))
    );
}

#[test]
fn an_await_added_while_another_starts_is_discarded_by_a_cancel_with_the_rest() {
    let first = Obj::script(Script::yields(2).id(1));
    let added = Obj::script(Script::yields(1).id(2));
    let (mut host, dropped) =
        with_task(vec![TaskAction::AddAwait(added), TaskAction::Await(first)]);
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(host.machine.pending(), 1);
    drive::cancel(&mut host).unwrap();
    assert_eq!(host.machine.pending(), 0);
    assert!(host.machine.awaiting().is_none());
    assert!(
        dropped.get(),
        "the task goes with the await it was suspended on"
    );
}
