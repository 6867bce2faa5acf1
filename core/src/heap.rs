//! One value on the heap, allocated without aborting on failure.

use std::ops::{Deref, DerefMut};

/// A `Box<T>` made by [`Heap::try_new`], which hands the value back when
/// memory runs out instead of aborting the process (stable Rust has no
/// `Box::try_new`; this is a one-element boxed array).
///
/// ```
/// use pyawaitable_core::Heap;
/// let mut heap = Heap::try_new(41).unwrap();
/// *heap += 1;
/// assert_eq!(heap.into_inner(), 42);
/// ```
pub struct Heap<T>(Box<[T; 1]>);

impl<T> Heap<T> {
    /// Moves `value` to the heap, or gives it back if that cannot be
    /// allocated.
    pub fn try_new(value: T) -> Result<Self, T> {
        let mut one = Vec::new();
        if one.try_reserve_exact(1).is_err() {
            return Err(value);
        }
        one.push(value);
        // Length and capacity are both one: no second allocation.
        match Box::<[T; 1]>::try_from(one.into_boxed_slice()) {
            Ok(boxed) => Ok(Heap(boxed)),
            Err(_) => unreachable!("a vector of one element"),
        }
    }

    /// Moves the value back out.
    pub fn into_inner(self) -> T {
        let [value] = *self.0;
        value
    }
}

impl<T> Deref for Heap<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0[0]
    }
}

impl<T> DerefMut for Heap<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0[0]
    }
}
