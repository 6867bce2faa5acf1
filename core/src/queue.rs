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
        match self.with_room() {
            Some(items) => items.push_back(item),
            None => return Err(item),
        }
        Ok(())
    }

    /// Puts an element at the front, or gives it back if memory for it
    /// cannot be allocated.
    ///
    /// ```
    /// use pyawaitable_core::Queue;
    /// let mut q = Queue::default();
    /// q.push_back(2).unwrap();
    /// q.push_front(1).unwrap();
    /// assert_eq!(q.pop_front(), Some(1));
    /// assert_eq!(q.pop_front(), Some(2));
    /// ```
    pub fn push_front(&mut self, item: T) -> Result<(), T> {
        if matches!(self, Queue::Empty) {
            *self = Queue::One(item);
            return Ok(());
        }
        match self.with_room() {
            Some(items) => items.push_front(item),
            None => return Err(item),
        }
        Ok(())
    }

    /// The elements as a `VecDeque` with room for one more (an inline one
    /// moved into it), or `None` if memory for that cannot be allocated.
    fn with_room(&mut self) -> Option<&mut VecDeque<T>> {
        if !matches!(self, Queue::Many(_)) {
            let mut items = VecDeque::new();
            items.try_reserve_exact(4).ok()?;
            if let Queue::One(first) = std::mem::take(self) {
                items.push_back(first);
            }
            *self = Queue::Many(items);
        }
        match self {
            Queue::Many(items) => items.try_reserve(1).ok().map(|()| items),
            _ => unreachable!("made a `Many` above"),
        }
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
