//! The lifecycle of an awaitable: where it is, and how it moves.
//!
//! ```text
//!            start_running                suspend_running
//!  Created ─────────────────► Running ─────────────────────► Suspended
//!                              │   ▲                            │
//!                              │   └────── resume_running ──────┘
//!                              ▼ finish_running
//!                           Finished ◄── take_all (the teardown, from any stage)
//! ```
//!
//! The stage is a private field of [`Machine`](crate::Machine), and every
//! change of it is one of these four named transitions
//! ([`Machine::start_running`](crate::Machine::start_running),
//! [`Machine::resume_running`](crate::Machine::resume_running),
//! [`Machine::suspend_running`](crate::Machine::suspend_running),
//! [`Machine::finish_running`](crate::Machine::finish_running)), each
//! asserting in debug builds where it starts from. `send`, `throw` and
//! `close` start a created awaitable or resume a suspended one; a `close` or
//! `throw` before the first send starts it and finishes it at once. Outside
//! the program, [`Machine::take_all`](crate::Machine::take_all) (the
//! teardown) leaves a machine `Finished` from any stage.
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
}
