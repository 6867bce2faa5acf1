//! Stored object values, stored opaque values and the result slot.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{MockHost, Obj};
use pyawaitable_core::{IndexOutOfRange, Machine};

fn machine() -> Machine<MockHost> {
    Machine::new()
}

#[test]
fn saved_values_read_back_in_order_across_saves() {
    let mut machine = machine();
    assert!(machine.save_values([Obj::int(1), Obj::int(2)]).is_ok());
    assert!(machine.save_values([Obj::None]).is_ok());
    assert_eq!(machine.values(), &[Obj::int(1), Obj::int(2), Obj::None]);
    assert_eq!(machine.value(0), Ok(&Obj::int(1)));
    assert_eq!(machine.value(2), Ok(&Obj::None));
}

#[test]
fn reading_a_value_outside_the_stored_ones_reports_the_index_and_count() {
    let mut machine = machine();
    assert_eq!(machine.value(0), Err(IndexOutOfRange { index: 0, len: 0 }));
    assert!(machine.save_values([Obj::int(1)]).is_ok());
    assert_eq!(machine.value(1), Err(IndexOutOfRange { index: 1, len: 1 }));
    assert_eq!(
        machine.value(-1),
        Err(IndexOutOfRange { index: -1, len: 1 })
    );
    assert_eq!(
        machine.value(isize::MIN),
        Err(IndexOutOfRange {
            index: isize::MIN,
            len: 1
        })
    );
}

#[test]
fn replacing_a_value_returns_the_old_one_and_a_bad_index_gives_the_new_one_back() {
    let mut machine = machine();
    assert_eq!(
        machine.replace_value(0, Obj::int(9)),
        Err((IndexOutOfRange { index: 0, len: 0 }, Obj::int(9)))
    );
    assert!(machine.save_values([Obj::int(1), Obj::int(2)]).is_ok());
    assert_eq!(machine.replace_value(1, Obj::int(3)), Ok(Obj::int(2)));
    assert_eq!(machine.values(), &[Obj::int(1), Obj::int(3)]);
    assert_eq!(
        machine.replace_value(-1, Obj::int(4)),
        Err((IndexOutOfRange { index: -1, len: 2 }, Obj::int(4)))
    );
    assert_eq!(
        machine.replace_value(2, Obj::int(5)),
        Err((IndexOutOfRange { index: 2, len: 2 }, Obj::int(5)))
    );
    assert_eq!(machine.values(), &[Obj::int(1), Obj::int(3)]);
}

#[test]
fn opaque_values_are_stored_apart_from_object_values() {
    let mut machine = machine();
    assert_eq!(
        machine.arb_value(0),
        Err(IndexOutOfRange { index: 0, len: 0 })
    );
    assert!(machine.save_arb_values([10, 20]).is_ok());
    assert!(machine.save_values([Obj::int(1)]).is_ok());
    assert!(machine.save_arb_values([30]).is_ok());
    assert_eq!(machine.arb_values(), &[10, 20, 30]);
    assert_eq!(machine.values(), &[Obj::int(1)]);
    assert_eq!(machine.arb_value(2), Ok(&30));
    assert_eq!(
        machine.arb_value(3),
        Err(IndexOutOfRange { index: 3, len: 3 })
    );
}

#[test]
fn replacing_an_opaque_value_returns_the_old_one_and_a_bad_index_gives_the_new_one_back() {
    let mut machine = machine();
    assert_eq!(
        machine.replace_arb_value(0, 1),
        Err((IndexOutOfRange { index: 0, len: 0 }, 1))
    );
    assert!(machine.save_arb_values([10]).is_ok());
    assert_eq!(machine.replace_arb_value(0, 11), Ok(10));
    assert_eq!(
        machine.replace_arb_value(-2, 12),
        Err((IndexOutOfRange { index: -2, len: 1 }, 12))
    );
    assert_eq!(machine.arb_values(), &[11]);
}

#[test]
fn the_result_is_none_until_set_and_each_set_hands_back_the_previous_one() {
    let mut machine = machine();
    assert_eq!(machine.result(), None);
    assert_eq!(machine.set_result(Obj::int(1)), None);
    assert_eq!(machine.set_result(Obj::None), Some(Obj::int(1)));
    assert_eq!(machine.result(), Some(&Obj::None));
}
