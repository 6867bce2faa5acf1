//! Values stored on an awaitable for its callbacks to read back.

use std::fmt;

use smallvec::SmallVec;

/// An index outside the stored values.
///
/// ```
/// use pyawaitable_core::IndexOutOfRange;
/// let e = IndexOutOfRange { index: 3, len: 1 };
/// assert_eq!(e.to_string(), "value index 3 out of range (1 stored)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexOutOfRange {
    /// The index asked for (may be negative, from C).
    pub index: isize,
    /// How many values are stored.
    pub len: usize,
}

impl fmt::Display for IndexOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value index {} out of range ({} stored)",
            self.index, self.len
        )
    }
}

impl std::error::Error for IndexOutOfRange {}

/// An append-only list of values with checked access by index.
///
/// ```
/// use pyawaitable_core::ValueStore;
/// let mut store = ValueStore::default();
/// assert!(store.save([10, 20]).is_ok());
/// assert_eq!(store.get(1), Ok(&20));
/// assert_eq!(store.replace(0, 11), Ok(10));
/// assert!(store.get(2).is_err());
/// ```
#[derive(Debug)]
pub struct ValueStore<T> {
    /// The first two values live inline: most awaitables store one or two,
    /// and then storing them allocates nothing beyond the awaitable's own
    /// extra block.
    items: SmallVec<[T; 2]>,
}

impl<T> Default for ValueStore<T> {
    fn default() -> Self {
        ValueStore {
            items: SmallVec::new(),
        }
    }
}

impl<T> ValueStore<T> {
    /// Appends values after those already stored, or gives them back,
    /// untouched, if room for them cannot be allocated.
    ///
    /// ```
    /// use pyawaitable_core::ValueStore;
    /// let mut store = ValueStore::default();
    /// assert!(store.save(["a"]).is_ok());
    /// assert!(store.save(["b"]).is_ok());
    /// assert_eq!(store.as_slice(), &["a", "b"]);
    /// ```
    pub fn save<I>(&mut self, values: I) -> Result<(), I::IntoIter>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let values = values.into_iter();
        if self.items.try_reserve(values.len()).is_err() {
            return Err(values);
        }
        self.items.extend(values);
        Ok(())
    }

    /// The value at `index`.
    ///
    /// ```
    /// use pyawaitable_core::ValueStore;
    /// let mut store = ValueStore::default();
    /// assert!(store.save([1]).is_ok());
    /// assert_eq!(store.get(-1).unwrap_err().index, -1);
    /// ```
    pub fn get(&self, index: isize) -> Result<&T, IndexOutOfRange> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.items.get(i))
            .ok_or(IndexOutOfRange {
                index,
                len: self.items.len(),
            })
    }

    /// Replaces the value at `index` and returns the old one; on a bad index
    /// gives `value` back with the error.
    ///
    /// ```
    /// use pyawaitable_core::ValueStore;
    /// let mut store = ValueStore::default();
    /// assert!(store.save([1]).is_ok());
    /// assert_eq!(store.replace(5, 9).unwrap_err().1, 9);
    /// ```
    pub fn replace(&mut self, index: isize, value: T) -> Result<T, (IndexOutOfRange, T)> {
        let len = self.items.len();
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.items.get_mut(i))
        {
            Some(slot) => Ok(std::mem::replace(slot, value)),
            None => Err((IndexOutOfRange { index, len }, value)),
        }
    }

    /// All stored values, in the order saved.
    ///
    /// ```
    /// use pyawaitable_core::ValueStore;
    /// let store: ValueStore<u8> = ValueStore::default();
    /// assert!(store.as_slice().is_empty());
    /// ```
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}
