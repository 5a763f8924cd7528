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
//!
//! With race detection ([`Config::detect_races`](crate::Config::detect_races)) every
//! primitive is a synchronization point: what hands something to another thread (an unlock,
//! a release, a notify) releases at the primitive, and what takes it (a lock, an acquire, a
//! wait that returns) acquires there. A mutex then takes no fast path, so that every lock
//! and unlock reaches the detector.

use super::error::{Error, Trap};
use super::linker::Linker;
use super::typed::IntoSharedFunc;
use crate::environ::MutexFastPath;
use crate::vm::{RaceTracker, wasm_timeout};
use std::sync::Arc;
use weft_threads::{Acquire, CondvarWait, HostCondvar, HostMutex, Semaphore};

/// What the race detector hears of one primitive: releases and acquires at its address.
#[derive(Clone)]
struct RaceSync(Option<(Arc<RaceTracker>, u64)>);

impl RaceSync {
    fn new<T: 'static, P>(linker: &Linker<T>, primitive: &Arc<P>) -> RaceSync {
        let key = Arc::as_ptr(primitive) as u64;
        RaceSync(
            linker
                .engine()
                .race_tracker()
                .map(|tracker| (Arc::clone(tracker), key)),
        )
    }

    fn detects(&self) -> bool {
        self.0.is_some()
    }

    /// Before handing something to another thread.
    fn release(&self) {
        if let Some((tracker, key)) = &self.0 {
            tracker.release(*key);
        }
    }

    /// After taking what another thread handed over.
    fn acquire(&self) {
        if let Some((tracker, key)) = &self.0 {
            tracker.acquire(*key);
        }
    }
}

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
        let race = RaceSync::new(self, semaphore);
        let (acquire, sync) = (Arc::clone(semaphore), race.clone());
        self.func_wrap_shared(module, &format!("{name}.acquire"), move |nanos: i64| {
            let outcome = acquired(acquire.acquire(wasm_timeout(nanos)));
            sync.acquire();
            outcome
        })?;
        let (try_acquire, sync) = (Arc::clone(semaphore), race.clone());
        self.func_wrap_shared(module, &format!("{name}.try_acquire"), move || {
            let taken = try_acquire.try_acquire();
            sync.acquire();
            i32::from(taken)
        })?;
        let release = Arc::clone(semaphore);
        self.func_wrap_shared(module, &format!("{name}.release"), move |count: u32| {
            race.release();
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
        let race = RaceSync::new(self, mutex);
        // Every lock and unlock must reach the detector, so none may settle in JIT code.
        let fast = |path| (!race.detects()).then(|| (path, Arc::clone(mutex)));
        let (lock, sync) = (Arc::clone(mutex), race.clone());
        let mut lock = (move |nanos: i64| {
            let outcome = acquired(lock.lock(wasm_timeout(nanos)).map_err(Error::msg)?);
            sync.acquire();
            outcome
        })
        .into_shared_func_def();
        lock.fast = fast(MutexFastPath::Lock);
        self.define_host_func(module, &format!("{name}.lock"), lock)?;
        let (try_lock, sync) = (Arc::clone(mutex), race.clone());
        self.func_wrap_shared(module, &format!("{name}.try_lock"), move || {
            let locked = try_lock.try_lock();
            sync.acquire();
            i32::from(locked)
        })?;
        let (unlock, sync) = (Arc::clone(mutex), race.clone());
        let mut unlock = (move || {
            sync.release();
            unlock.unlock().map_err(Error::msg)
        })
        .into_shared_func_def();
        unlock.fast = fast(MutexFastPath::Unlock);
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
        // Waiting unlocks the mutex and locks it again; a notify hands over at the condvar.
        let (race, mutex_race) = (RaceSync::new(self, condvar), RaceSync::new(self, mutex));
        let (wait, locked, sync) = (Arc::clone(condvar), Arc::clone(mutex), race.clone());
        self.func_wrap_shared(module, &format!("{name}.wait"), move |nanos: i64| {
            mutex_race.release();
            let outcome = wait.wait(&locked, wasm_timeout(nanos));
            mutex_race.acquire();
            sync.acquire();
            match outcome.map_err(Error::msg)? {
                CondvarWait::Notified => Ok(1),
                CondvarWait::TimedOut => Ok(0),
                CondvarWait::Interrupted => Err(Error::from(Trap::Interrupted)),
            }
        })?;
        let (notify_one, sync) = (Arc::clone(condvar), race.clone());
        self.func_wrap_shared(module, &format!("{name}.notify_one"), move || {
            sync.release();
            i32::from(notify_one.notify_one())
        })?;
        let notify_all = Arc::clone(condvar);
        self.func_wrap_shared(module, &format!("{name}.notify_all"), move || {
            race.release();
            notify_all.notify_all()
        })
    }
}
