//! Keeping a store's code and blocks alive while a host thread runs them.
//!
//! A host thread attached to an instance calls into the store's code on its own block, while
//! the thread that owns the store may drop it at any moment. Each attached thread has a
//! [`CallGate`]: a call passes through it, and the dropping store closes every gate before it
//! frees anything. Closing waits for the call in progress (which the engine interrupts first,
//! so the wait is short) and turns every later call away.
//!
//! The protocol, whose steps the loom models pin down (`loom_tests.rs`):
//! - **enter** checks for `CLOSED` and counts the call in one compare-and-swap, so a call
//!   either is counted before `close` looks, or sees the gate closed.
//! - **leave** uncounts the call; the last one out of a closed gate takes the gate's lock
//!   before it signals, so a closer that counted calls under that lock is already asleep.
//! - **close** sets `CLOSED` and then, under the lock, waits until no call is counted.
//!
//! A gate belongs to one attached thread, so its word is touched by that thread and by a
//! closing store only: entering costs one uncontended compare-and-swap.

use crate::flaw::GateFlaw;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};

/// Set once the store is going away.
const CLOSED: usize = 1;
/// One call in progress (nested calls on the gate's thread count once each).
const CALL: usize = 2;

/// Lets calls through until it is closed; see the module documentation.
pub struct CallGate {
    /// Calls in progress, times [`CALL`], plus [`CLOSED`].
    state: AtomicUsize,
    /// Taken by a closer while it waits and by the last caller out while it signals.
    lock: Mutex<()>,
    idle: Condvar,
    #[cfg(loom)]
    flaw: Option<GateFlaw>,
}

/// A call in progress; leaving the gate when dropped, unwinding included.
#[must_use = "the call leaves the gate when this is dropped"]
pub struct Entered<'a>(&'a CallGate);

impl CallGate {
    pub fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            lock: Mutex::new(()),
            idle: Condvar::new(),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A gate whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(flaw: GateFlaw) -> Self {
        Self {
            flaw: Some(flaw),
            ..Self::new()
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: GateFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: GateFlaw) -> bool {
        false
    }

    /// Starts a call: `None` once the gate is closed.
    pub fn enter(&self) -> Option<Entered<'_>> {
        if self.flawed(GateFlaw::CheckThenCount) {
            if self.state.load(Ordering::Acquire) & CLOSED != 0 {
                return None;
            }
            self.state.fetch_add(CALL, Ordering::AcqRel);
            return Some(Entered(self));
        }
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & CLOSED != 0 {
                return None;
            }
            let counted = state.checked_add(CALL).expect("call nesting overflow");
            match self.state.compare_exchange_weak(
                state,
                counted,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Entered(self)),
                Err(now) => state = now,
            }
        }
    }

    fn leave(&self) {
        let before = self.state.fetch_sub(CALL, Ordering::AcqRel);
        if before == CALL | CLOSED {
            if self.flawed(GateFlaw::SignalWithoutLock) {
                self.idle.notify_all();
                return;
            }
            let _lock = self.lock.lock();
            self.idle.notify_all();
        }
    }

    /// Turns every later call away and waits until no call is in progress. Must not be called
    /// from inside a call through this gate, which would wait for itself.
    pub fn close(&self) {
        let before = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if before < CALL {
            return;
        }
        let mut lock = self.lock.lock();
        while self.state.load(Ordering::Acquire) >= CALL {
            lock = self.idle.wait(lock);
        }
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }
}

impl Default for CallGate {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl std::fmt::Debug for CallGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("CallGate")
            .field("calls", &(state / CALL))
            .field("closed", &(state & CLOSED != 0))
            .finish()
    }
}
