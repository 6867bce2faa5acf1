//! A FIFO queue that holds its first element inline.
//!
//! Most awaitables queue a single await; keeping it inline saves the heap
//! block a `VecDeque` would allocate for it.

use std::collections::VecDeque;

/// First in, first out; no allocation until a second element is queued.
///
/// ```
/// use pyawaitable_core::Queue;
/// let mut q = Queue::default();
/// q.push_back(1).unwrap();
/// q.push_back(2).unwrap();
/// assert_eq!(q.len(), 2);
/// assert_eq!(q.pop_front(), Some(1));
/// assert_eq!(q.pop_front(), Some(2));
/// assert_eq!(q.pop_front(), None);
/// ```
#[derive(Debug, Default)]
pub enum Queue<T> {
    /// Nothing queued, nothing allocated.
    #[default]
    Empty,
    /// Exactly one element, held inline.
    One(T),
    /// Any number of elements; the allocation is kept once made.
    Many(VecDeque<T>),
}

impl<T> Queue<T> {
    /// Appends an element at the back, or gives it back if memory for it
    /// cannot be allocated.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q = Queue::default();
    /// q.push_back("a").unwrap();
    /// assert!(matches!(q, Queue::One("a")));
    /// ```
    // Inlined into the caller, so the element is built where it is stored.
    #[inline(always)]
    pub fn push_back(&mut self, item: T) -> Result<(), T> {
        match self {
            Queue::Empty => {
                *self = Queue::One(item);
                Ok(())
            }
            _ => self.push_back_more(item),
        }
    }

    /// [`Queue::push_back`] onto a non-empty queue.
    fn push_back_more(&mut self, item: T) -> Result<(), T> {
        match self {
            Queue::Many(items) => {
                if items.try_reserve(1).is_err() {
                    return Err(item);
                }
                items.push_back(item);
            }
            Queue::Empty => *self = Queue::One(item),
            Queue::One(_) => {
                let mut items = VecDeque::new();
                if items.try_reserve_exact(4).is_err() {
                    return Err(item);
                }
                let Queue::One(first) = std::mem::take(self) else {
                    unreachable!()
                };
                items.push_back(first);
                items.push_back(item);
                *self = Queue::Many(items);
            }
        }
        Ok(())
    }

    /// Removes the element at the front.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q: Queue<u8> = Queue::default();
    /// assert_eq!(q.pop_front(), None);
    /// ```
    #[inline]
    pub fn pop_front(&mut self) -> Option<T> {
        match self {
            Queue::Many(items) => items.pop_front(),
            Queue::Empty => None,
            Queue::One(_) => match std::mem::take(self) {
                Queue::One(item) => Some(item),
                _ => unreachable!(),
            },
        }
    }

    /// How many elements are queued.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q = Queue::default();
    /// q.push_back(()).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Queue::Empty => 0,
            Queue::One(_) => 1,
            Queue::Many(items) => items.len(),
        }
    }

    /// True when nothing is queued.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// assert!(Queue::<u8>::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queued elements, front first.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q = Queue::default();
    /// q.push_back(1).unwrap();
    /// q.push_back(2).unwrap();
    /// assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            Queue::Empty => (None, None),
            Queue::One(item) => (Some(item), None),
            Queue::Many(items) => (None, Some(items.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Removes every element, front first, leaving the queue empty.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q = Queue::default();
    /// q.push_back(1).unwrap();
    /// assert_eq!(q.drain().collect::<Vec<_>>(), vec![1]);
    /// assert!(q.is_empty());
    /// ```
    pub fn drain(&mut self) -> impl Iterator<Item = T> {
        let (one, many) = match std::mem::take(self) {
            Queue::Empty => (None, None),
            Queue::One(item) => (Some(item), None),
            Queue::Many(items) => (None, Some(items.into_iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}
