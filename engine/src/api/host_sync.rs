//! Host synchronization primitives as guest imports: a few lines wire a
//! [`weft_threads`] semaphore, mutex or condition variable into a [`Linker`], and guest code
//! on any thread blocks on it directly, with no polling.
//!
//! Every import is a shared function, so shared code (guest threads, attached host threads,
//! and the store's own thread) may call it. Timeouts are in nanoseconds, and a negative
//! timeout waits forever, as in `memory.atomic.wait`. A thread that is terminated while it
//! waits wakes at once and traps with [`Trap::Interrupted`].
//!
//! A mutex's `lock` and `unlock` take a fast path: JIT code compiled once per engine does
//! the uncontended compare-exchange on the mutex's lock word itself, with the calling
//! thread's token, and calls the host function only when that does not settle it.

use super::error::{Error, Trap};
use super::linker::Linker;
use super::typed::IntoSharedFunc;
use crate::environ::MutexFastPath;
use crate::vm::wasm_timeout;
use std::sync::Arc;
use weft_threads::{Acquire, CondvarWait, HostCondvar, HostMutex, Semaphore};

/// The guest's view of a blocking acquisition: 1 if it got it, 0 if it timed out.
fn acquired(outcome: Acquire) -> Result<i32, Error> {
    match outcome {
        Acquire::Acquired => Ok(1),
        Acquire::TimedOut => Ok(0),
        Acquire::Interrupted => Err(Error::from(Trap::Interrupted)),
    }
}

impl<T: 'static> Linker<T> {
    /// Defines, in `module`, the imports through which guests use `semaphore`:
    ///
    /// | import | type | does |
    /// |---|---|---|
    /// | `{name}.acquire` | `(shared (func (param i64) (result i32)))` | takes a permit, waiting up to the timeout: 1, or 0 if it timed out |
    /// | `{name}.try_acquire` | `(shared (func (result i32)))` | takes a permit if one is free: 1, else 0 |
    /// | `{name}.release` | `(shared (func (param i32)))` | returns that many permits, waking as many waiters |
    pub fn define_semaphore(
        &mut self,
        module: &str,
        name: &str,
        semaphore: &Arc<Semaphore>,
    ) -> Result<&mut Self, Error> {
        let acquire = Arc::clone(semaphore);
        self.func_wrap_shared(module, &format!("{name}.acquire"), move |nanos: i64| {
            acquired(acquire.acquire(wasm_timeout(nanos)))
        })?;
        let try_acquire = Arc::clone(semaphore);
        self.func_wrap_shared(module, &format!("{name}.try_acquire"), move || {
            i32::from(try_acquire.try_acquire())
        })?;
        let release = Arc::clone(semaphore);
        self.func_wrap_shared(module, &format!("{name}.release"), move |count: u32| {
            release.try_release(count).map_err(Error::msg)
        })
    }

    /// Defines, in `module`, the imports through which guests use `mutex`:
    ///
    /// | import | type | does |
    /// |---|---|---|
    /// | `{name}.lock` | `(shared (func (param i64) (result i32)))` | locks, waiting up to the timeout: 1, or 0 if it timed out |
    /// | `{name}.try_lock` | `(shared (func (result i32)))` | locks if the mutex is free: 1, else 0 |
    /// | `{name}.unlock` | `(shared (func))` | unlocks |
    ///
    /// Locking a mutex the thread already holds, and unlocking one it does not hold, fail the
    /// call with an error rather than deadlock or corrupt the lock.
    pub fn define_mutex(
        &mut self,
        module: &str,
        name: &str,
        mutex: &Arc<HostMutex>,
    ) -> Result<&mut Self, Error> {
        let lock = Arc::clone(mutex);
        let mut lock =
            (move |nanos: i64| acquired(lock.lock(wasm_timeout(nanos)).map_err(Error::msg)?))
                .into_shared_func_def();
        lock.fast = Some((MutexFastPath::Lock, Arc::clone(mutex)));
        self.define_host_func(module, &format!("{name}.lock"), lock)?;
        let try_lock = Arc::clone(mutex);
        self.func_wrap_shared(module, &format!("{name}.try_lock"), move || {
            i32::from(try_lock.try_lock())
        })?;
        let unlock = Arc::clone(mutex);
        let mut unlock = (move || unlock.unlock().map_err(Error::msg)).into_shared_func_def();
        unlock.fast = Some((MutexFastPath::Unlock, Arc::clone(mutex)));
        self.define_host_func(module, &format!("{name}.unlock"), unlock)
    }

    /// Defines, in `module`, the imports through which guests use `condvar`, always with
    /// `mutex`, which the waiting thread must hold:
    ///
    /// | import | type | does |
    /// |---|---|---|
    /// | `{name}.wait` | `(shared (func (param i64) (result i32)))` | unlocks the mutex, waits up to the timeout for a notify, and locks it again: 1 if notified, 0 if it timed out |
    /// | `{name}.notify_one` | `(shared (func (result i32)))` | wakes one waiter: 1, or 0 if none waited |
    /// | `{name}.notify_all` | `(shared (func (result i32)))` | wakes every waiter; returns how many |
    ///
    /// A waiter that is terminated traps without holding the mutex again.
    pub fn define_condvar(
        &mut self,
        module: &str,
        name: &str,
        condvar: &Arc<HostCondvar>,
        mutex: &Arc<HostMutex>,
    ) -> Result<&mut Self, Error> {
        let (wait, locked) = (Arc::clone(condvar), Arc::clone(mutex));
        self.func_wrap_shared(
            module,
            &format!("{name}.wait"),
            move |nanos: i64| match wait
                .wait(&locked, wasm_timeout(nanos))
                .map_err(Error::msg)?
            {
                CondvarWait::Notified => Ok(1),
                CondvarWait::TimedOut => Ok(0),
                CondvarWait::Interrupted => Err(Error::from(Trap::Interrupted)),
            },
        )?;
        let notify_one = Arc::clone(condvar);
        self.func_wrap_shared(module, &format!("{name}.notify_one"), move || {
            i32::from(notify_one.notify_one())
        })?;
        let notify_all = Arc::clone(condvar);
        self.func_wrap_shared(module, &format!("{name}.notify_all"), move || {
            notify_all.notify_all()
        })
    }
}
