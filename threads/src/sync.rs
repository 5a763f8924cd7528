//! The one switch between `std` and loom. The algorithms in this crate are written once against
//! these names; `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions.
//!
//! Both sides share one API shape: locks never report poisoning (a panic in another thread's
//! critical section leaves our data structures consistent, so there is nothing to recover), and
//! condition variables wait until a [`Deadline`]. Time is the only place the two sides differ:
//! loom has no clock, so under loom a deadline passes when the model says so
//! (`Condvar::expire`), which lets a model race a timeout against anything else.

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

use std::sync::PoisonError;

pub(crate) use imp::Arc;
pub(crate) use imp::MutexGuard;
pub(crate) use imp::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::thread_local;
#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(all(test, loom))]
pub(crate) use loom::thread;
#[cfg(all(test, not(loom)))]
pub(crate) use std::thread;

/// A mutex whose `lock` ignores poisoning.
pub(crate) struct Mutex<T>(imp::Mutex<T>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(imp::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A condition variable whose waits may end early or spuriously, as std's may: callers re-check
/// their condition in a loop.
#[derive(Default)]
pub(crate) struct Condvar {
    inner: imp::Condvar,
    /// Set by `Condvar::expire` (loom tests only): the pending or next timed wait has reached
    /// its deadline.
    #[cfg(loom)]
    expired: AtomicBool,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// When a timed wait gives up: an instant on the monotonic clock, so a wait woken early (or
/// spuriously) goes back to sleep for the time that is left, not for its whole timeout again.
#[cfg(not(loom))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(std::time::Instant);

#[cfg(not(loom))]
impl Deadline {
    /// The deadline `timeout` from now, or `None` (wait forever) if that is beyond what the
    /// clock can represent.
    pub(crate) fn after(timeout: std::time::Duration) -> Option<Self> {
        std::time::Instant::now().checked_add(timeout).map(Self)
    }
}

#[cfg(not(loom))]
impl Condvar {
    /// Waits until notified, woken spuriously, or `deadline`; returns whether the deadline has
    /// passed.
    pub(crate) fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Deadline,
    ) -> (MutexGuard<'a, T>, bool) {
        let now = std::time::Instant::now();
        if now >= deadline.0 {
            return (guard, true);
        }
        let (guard, _) = self
            .inner
            .wait_timeout(guard, deadline.0 - now)
            .unwrap_or_else(PoisonError::into_inner);
        // `wait_timeout`'s own verdict is not trusted: it may have been a spurious wakeup just
        // short of the deadline, and the clock is what the caller asked about.
        (guard, std::time::Instant::now() >= deadline.0)
    }
}

/// Under loom a deadline carries no time: the model decides when it passes, with
/// `Condvar::expire`.
#[cfg(loom)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline;

#[cfg(loom)]
impl Deadline {
    pub(crate) fn after(_timeout: std::time::Duration) -> Option<Self> {
        Some(Self)
    }
}

#[cfg(loom)]
impl Condvar {
    /// Waits until notified or expired; returns whether this wait expired, consuming the
    /// expiry so that it ends exactly one timed wait.
    pub(crate) fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        _deadline: Deadline,
    ) -> (MutexGuard<'a, T>, bool) {
        if self.expired.swap(false, Ordering::Relaxed) {
            return (guard, true);
        }
        let guard = self.wait(guard);
        (guard, self.expired.swap(false, Ordering::Relaxed))
    }

    /// The model's clock: ends the pending timed wait on this condvar, or the next one if none
    /// is pending. Call it with the mutex the waits use held, as with any condition change, so
    /// the expiry cannot slip between a waiter's check and its sleep. Relaxed is enough
    /// because that mutex orders every access.
    #[cfg(test)]
    pub(crate) fn expire(&self) {
        self.expired.store(true, Ordering::Relaxed);
        self.inner.notify_one();
    }
}
