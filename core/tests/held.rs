//! What the machine holds: `traverse` (the GC's view) and `take_all`.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{Action, Callback, Exc, MockHost, Obj, Script};
use pyawaitable_core::{drive, Held, Machine, Outcome, Stage, With};

/// One thing `traverse` visited, by script id where it is a script.
#[derive(Debug, PartialEq)]
enum Seen {
    Script(u32),
    Object(Obj),
    Iter(u32),
    Error(Exc),
}

fn held(machine: &Machine<MockHost>) -> Vec<Seen> {
    let mut seen = Vec::new();
    let visited = machine.traverse(|held| {
        seen.push(match held {
            Held::Object(Obj::Script(script)) => Seen::Script(script.id),
            Held::Object(object) => Seen::Object(object.clone()),
            Held::Iter(iter) => Seen::Iter(iter.id()),
            Held::Error(exc) => Seen::Error(exc.clone()),
        });
        Ok::<(), ()>(())
    });
    assert_eq!(visited, Ok(()));
    seen
}

fn script(id: u32, yields: u32) -> Obj {
    Obj::script(Script::yields(yields).id(id))
}

fn block(enter: Script, exit: Script, body: Callback) -> With<MockHost> {
    With {
        enter: Obj::script(enter),
        exit: Obj::script(exit),
        body,
        on_error: None,
    }
}

#[test]
fn traverse_of_a_created_awaitable_visits_queued_awaitables_blocks_result_and_values() {
    let mut host = MockHost::new();
    host.machine
        .add_await(script(1, 0), None, None)
        .ok()
        .unwrap();
    host.machine.add_defer(Callback::named("d")).ok().unwrap();
    host.machine
        .add_with(block(
            Script::yields(0).id(10),
            Script::yields(0).id(11),
            Callback::named("b"),
        ))
        .ok()
        .unwrap();
    host.machine.set_result(Obj::int(7));
    assert!(host.machine.save_values([Obj::int(1), Obj::int(2)]).is_ok());
    assert!(host.machine.save_arb_values([5]).is_ok());
    let expected = vec![
        Seen::Script(1),
        Seen::Script(10),
        Seen::Script(11),
        Seen::Object(Obj::int(7)),
        Seen::Object(Obj::int(1)),
        Seen::Object(Obj::int(2)),
    ];
    assert_eq!(held(&host.machine), expected);
}

#[test]
fn traverse_inside_a_block_visits_the_current_iterator_and_the_block_queue_and_exit() {
    let mut host = MockHost::new();
    let body = Callback::named("b")
        .then(Action::AddAwait(Script::yields(1).id(20), None, None))
        .then(Action::AddAwait(Script::yields(0).id(21), None, None));
    host.machine
        .add_with(block(
            Script::yields(0).id(10),
            Script::yields(0).id(11),
            body,
        ))
        .ok()
        .unwrap();
    host.machine
        .add_await(script(30, 0), None, None)
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        held(&host.machine),
        vec![
            Seen::Script(30),
            Seen::Iter(20),
            Seen::Script(21),
            Seen::Script(11)
        ]
    );
}

#[test]
fn traverse_while_in_aenter_visits_the_exit_waiting_for_it() {
    let mut host = MockHost::new();
    host.machine
        .add_with(block(
            Script::yields(1).id(10),
            Script::yields(0).id(11),
            Callback::named("b"),
        ))
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(held(&host.machine), vec![Seen::Iter(10), Seen::Script(11)]);
}

#[test]
fn traverse_while_in_aexit_visits_the_exception_it_was_given() {
    let mut host = MockHost::new();
    let body = Callback::named("b").returning(-1, Some(Exc::new("E")));
    host.machine
        .add_with(block(
            Script::yields(0).id(10),
            Script::yields(1).id(11),
            body,
        ))
        .ok()
        .unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );
    assert_eq!(
        held(&host.machine),
        vec![Seen::Iter(11), Seen::Error(Exc::new("E"))]
    );
}

#[test]
fn traverse_stops_at_the_first_visit_that_fails() {
    let mut machine: Machine<MockHost> = Machine::new();
    assert!(machine
        .save_values([Obj::int(1), Obj::int(2), Obj::int(3)])
        .is_ok());
    let mut visits = 0;
    let visited = machine.traverse(|_| {
        visits += 1;
        if visits == 2 {
            Err("stop")
        } else {
            Ok(())
        }
    });
    assert_eq!(visited, Err("stop"));
    assert_eq!(visits, 2);
}

#[test]
fn traverse_of_a_finished_awaitable_visits_only_its_values() {
    let mut host = MockHost::new();
    host.machine
        .add_await(script(1, 0), None, None)
        .ok()
        .unwrap();
    host.machine.set_result(Obj::int(7));
    assert!(host.machine.save_values([Obj::int(1)]).is_ok());
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::int(7))
    );
    assert_eq!(held(&host.machine), vec![Seen::Object(Obj::int(1))]);
}

#[test]
fn take_all_hands_back_everything_held_and_leaves_an_empty_finished_machine() {
    let mut host = MockHost::new();
    host.machine
        .add_await(script(1, 1), None, None)
        .ok()
        .unwrap();
    host.machine
        .add_await(script(2, 0), None, None)
        .ok()
        .unwrap();
    host.machine.set_result(Obj::int(7));
    assert!(host.machine.save_values([Obj::int(1)]).is_ok());
    assert!(host.machine.save_arb_values([5]).is_ok());
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Yield(Obj::int(0))
    );

    let taken = host.machine.take_all();
    assert_eq!(
        held(&taken),
        vec![
            Seen::Script(2),
            Seen::Iter(1),
            Seen::Object(Obj::int(7)),
            Seen::Object(Obj::int(1))
        ]
    );
    assert_eq!(taken.arb_values(), &[5]);

    assert_eq!(host.machine.stage(), Stage::Finished);
    assert!(held(&host.machine).is_empty());
    assert!(host.machine.arb_values().is_empty());
    assert!(host.machine.add_await(script(3, 0), None, None).is_err());
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Raise(Exc::new("RuntimeError"))
    );
}
