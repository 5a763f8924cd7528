//! The one switch between `std` and loom. The pool is written once against these names;
//! `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions.
//!
//! Locks never report poisoning: the pool runs no caller code (`create`, `reset`, a block's
//! `Drop`) while holding its lock, so a panic cannot leave the idle list half-updated, and
//! there is nothing to recover.

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

use std::sync::PoisonError;

pub(crate) use imp::Arc;
pub(crate) use imp::MutexGuard;
pub(crate) use imp::atomic::{AtomicUsize, Ordering};

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::AtomicU32;

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

/// A condition variable whose waits may end spuriously: callers re-check in a loop.
#[derive(Default)]
pub(crate) struct Condvar(imp::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}
