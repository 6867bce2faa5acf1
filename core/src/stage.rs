//! The lifecycle of an awaitable: where it is, and how it moves.
//!
//! ```text
//!            start                     suspend
//!  Created ─────────────► Running ──────────────────────────────► Suspended
//!                          │   ▲                                      │
//!                          │   └───────────────── resume ─────────────┘
//!                          ▼ finish
//!                       Finished
//! ```
//!
//! Every change of stage is one of these four named transitions
//! ([`Stage::start`], [`Stage::resume`], [`Stage::suspend`],
//! [`Stage::finish`]), each asserting where it starts from. `send`, `throw`
//! and `close` start a created awaitable or resume a suspended one; a
//! `close` or `throw` before the first send starts it and finishes it at once.
//!
//! This mirrors the frame states of `Objects/genobject.c` (`FRAME_CREATED`,
//! `FRAME_EXECUTING`, `FRAME_SUSPENDED`, `FRAME_COMPLETED`).

/// Where an awaitable is in its life.
///
/// ```
/// use pyawaitable_core::Stage;
/// assert!(Stage::Created.never_started());
/// assert!(!Stage::Suspended.never_started());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Built, possibly holding entries, never resumed. Dropping it here is the
    /// "never awaited" case; `send` of anything but `None` is refused here.
    Created,
    /// Inside `send`, `throw` or `close`: an inner awaitable or a callback is
    /// executing. Any re-entry is refused ("already executing").
    Running,
    /// Paused at an inner awaitable's yield; the value it yielded went out.
    Suspended,
    /// Returned, raised or closed. Any further `send` or `throw` is refused
    /// ("cannot reuse"); `close` is a no-op.
    Finished,
}

impl Stage {
    /// True only before the first `send`, `throw` or `close`: the state in
    /// which dropping the awaitable means it was never awaited.
    ///
    /// ```
    /// use pyawaitable_core::Stage;
    /// assert!(Stage::Created.never_started());
    /// assert!(!Stage::Finished.never_started());
    /// ```
    pub fn never_started(self) -> bool {
        self == Stage::Created
    }

    /// True while a transition is executing (`cr_running`).
    ///
    /// ```
    /// use pyawaitable_core::Stage;
    /// assert!(Stage::Running.is_running());
    /// assert!(!Stage::Suspended.is_running());
    /// ```
    pub fn is_running(self) -> bool {
        self == Stage::Running
    }

    /// True once returned, raised or closed; entries can no longer be added.
    ///
    /// ```
    /// use pyawaitable_core::Stage;
    /// assert!(Stage::Finished.is_finished());
    /// assert!(!Stage::Created.is_finished());
    /// ```
    pub fn is_finished(self) -> bool {
        self == Stage::Finished
    }

    /// `Created → Running`: the first `send`, `throw` or `close`.
    #[inline(always)]
    pub(crate) fn start(&mut self) {
        debug_assert_eq!(*self, Stage::Created, "only a created awaitable starts");
        *self = Stage::Running;
    }

    /// `Suspended → Running`: `send`, `throw` or `close` at the await in
    /// progress.
    #[inline(always)]
    pub(crate) fn resume(&mut self) {
        debug_assert_eq!(
            *self,
            Stage::Suspended,
            "only a suspended awaitable resumes"
        );
        *self = Stage::Running;
    }

    /// `Running → Suspended`: the inner awaitable yielded.
    #[inline(always)]
    pub(crate) fn suspend(&mut self) {
        debug_assert_eq!(*self, Stage::Running, "only a running awaitable suspends");
        *self = Stage::Suspended;
    }

    /// `Running → Finished`: returned, raised or closed.
    #[inline(always)]
    pub(crate) fn finish(&mut self) {
        debug_assert_eq!(*self, Stage::Running, "only a running awaitable finishes");
        *self = Stage::Finished;
    }
}
