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
//!
//! In a schedule being explored ([`Engine::explore`](crate::Engine::explore), whose engine
//! also takes no fast path) every call is a schedule point, and blocking is the scheduler's:
//! a lock or acquire that cannot be had parks the thread in the schedule until an unlock or
//! release of the primitive, then tries again; a condition variable's wait unlocks, parks
//! until a notify and locks again. A timed one times out only when no thread can run.

use super::error::{Error, Trap};
use super::explore::ScheduleOperation;
use super::linker::Linker;
use super::typed::IntoSharedFunc;
use crate::environ::MutexFastPath as FastPath;
use crate::vm::{RaceTracker, explore, wasm_timeout};
use std::sync::Arc;
use std::time::Duration;
use weft_threads::{
    Acquire, AlreadyHeld, CondvarWait, HostCondvar, HostMutex, Semaphore, UnlockError, Wakeup,
};

/// What the concurrency tools hear of one primitive, at its address: the race detector its
/// releases and acquires, and a schedule being explored its points, blocks and wakes.
#[derive(Clone)]
struct PrimitiveSync {
    key: u64,
    race: Option<Arc<RaceTracker>>,
    /// Whether the engine's code may run in a schedule.
    explores: bool,
}

impl PrimitiveSync {
    fn new<T: 'static, P>(linker: &Linker<T>, primitive: &Arc<P>) -> PrimitiveSync {
        let engine = linker.engine();
        PrimitiveSync {
            key: Arc::as_ptr(primitive) as u64,
            race: engine.race_tracker().cloned(),
            explores: engine.config().tunables.explore,
        }
    }

    /// Whether every operation must reach the host functions, none settling in JIT code.
    fn watched(&self) -> bool {
        self.race.is_some() || self.explores
    }

    /// Before handing something to another thread.
    fn release(&self) {
        if let Some(tracker) = &self.race {
            tracker.release(self.key);
        }
    }

    /// After taking what another thread handed over.
    fn acquire(&self) {
        if let Some(tracker) = &self.race {
            tracker.acquire(self.key);
        }
    }

    /// Takes the primitive. In a schedule: a schedule point, then `try_take` until it
    /// succeeds, the thread blocked in the schedule on the primitive between tries (so the
    /// schedule decides who gets it), timing out only when nothing else can run. Outside a
    /// schedule, or once it has ended, `take` blocks as usual.
    fn take<E>(
        &self,
        operation: ScheduleOperation,
        timeout: Option<Duration>,
        try_take: impl Fn() -> Result<bool, E>,
        take: impl FnOnce(Option<Duration>) -> Result<Acquire, E>,
    ) -> Result<Acquire, E> {
        if self.explores && explore::host_point(operation, self.key) {
            loop {
                if try_take()? {
                    return Ok(Acquire::Acquired);
                }
                match explore::block(self.key, timeout.is_some(), operation) {
                    Some(Wakeup::Woken) => {}
                    Some(Wakeup::TimedOut) => return Ok(Acquire::TimedOut),
                    Some(Wakeup::Abandoned) | None => break,
                }
            }
        }
        take(timeout)
    }

    /// Gives the primitive back with `give`: in a schedule, after a schedule point, and then
    /// up to `wakes` of the schedule's threads blocked on it run again (a taker tries again).
    /// Returns what `give` did and how many threads of the schedule it woke.
    fn give<R>(
        &self,
        operation: ScheduleOperation,
        wakes: u32,
        give: impl FnOnce() -> R,
    ) -> (R, u32) {
        let scheduled = self.explores && explore::host_point(operation, self.key);
        let given = give();
        let woken = if scheduled {
            explore::wake(self.key, wakes).unwrap_or(0)
        } else {
            0
        };
        (given, woken)
    }

    /// In a schedule, a wait on the condition variable this is of, whose `mutex` the thread
    /// holds: unlocks it, blocks in the schedule until a notify (or, with a timeout, until
    /// nothing else can run), and locks it again. `None` outside a schedule.
    fn wait_scheduled(
        &self,
        mutex: (&HostMutex, &PrimitiveSync),
        timeout: Option<Duration>,
    ) -> Option<Result<CondvarWait, UnlockError>> {
        if !(self.explores && explore::host_point(ScheduleOperation::Acquire, self.key)) {
            return None;
        }
        let (locked, mutex_sync) = mutex;
        if let (Err(error), _) =
            mutex_sync.give(ScheduleOperation::Unlock, u32::MAX, || locked.unlock())
        {
            return Some(Err(error));
        }
        let outcome = match explore::block(self.key, timeout.is_some(), ScheduleOperation::Acquire)
        {
            Some(Wakeup::Woken) => CondvarWait::Notified,
            Some(Wakeup::TimedOut) => CondvarWait::TimedOut,
            Some(Wakeup::Abandoned) | None => CondvarWait::Interrupted,
        };
        // Locked again whatever the outcome, as the condition variable's own wait does; the
        // thread held it before, so it cannot hold it now.
        let relocked = mutex_sync.take(
            ScheduleOperation::Lock,
            None,
            || Ok::<_, AlreadyHeld>(locked.try_lock()),
            |timeout| locked.lock(timeout),
        );
        Some(Ok(match relocked {
            Ok(Acquire::Acquired) => outcome,
            _ => CondvarWait::Interrupted,
        }))
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
        let race = PrimitiveSync::new(self, semaphore);
        let (acquire, sync) = (Arc::clone(semaphore), race.clone());
        self.func_wrap_shared(module, &format!("{name}.acquire"), move |nanos: i64| {
            let taken = sync.take(
                ScheduleOperation::Acquire,
                wasm_timeout(nanos),
                || Ok::<_, Error>(acquire.try_acquire()),
                |timeout| Ok(acquire.acquire(timeout)),
            );
            let outcome = acquired(taken?);
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
            let (released, _) = race.give(ScheduleOperation::Release, u32::MAX, || {
                release.try_release(count)
            });
            released.map_err(Error::msg)
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
        let race = PrimitiveSync::new(self, mutex);
        // Every lock and unlock must reach the detector and the scheduler, so none may
        // settle in JIT code.
        let fast = |path| (!race.watched()).then(|| (path, Arc::clone(mutex)));
        let (lock, sync) = (Arc::clone(mutex), race.clone());
        let mut lock = (move |nanos: i64| {
            let taken = sync.take(
                ScheduleOperation::Lock,
                wasm_timeout(nanos),
                // A zero timeout tries once, and fails for a mutex the thread holds.
                || {
                    lock.lock(Some(Duration::ZERO))
                        .map(|outcome| outcome == Acquire::Acquired)
                },
                |timeout| lock.lock(timeout),
            );
            let outcome = acquired(taken.map_err(Error::msg)?);
            sync.acquire();
            outcome
        })
        .into_shared_func_def();
        lock.fast = fast(FastPath::Lock);
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
            let (unlocked, _) = sync.give(ScheduleOperation::Unlock, u32::MAX, || unlock.unlock());
            unlocked.map_err(Error::msg)
        })
        .into_shared_func_def();
        unlock.fast = fast(FastPath::Unlock);
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
        let (race, mutex_race) = (
            PrimitiveSync::new(self, condvar),
            PrimitiveSync::new(self, mutex),
        );
        let (wait, locked, sync) = (Arc::clone(condvar), Arc::clone(mutex), race.clone());
        self.func_wrap_shared(module, &format!("{name}.wait"), move |nanos: i64| {
            mutex_race.release();
            let timeout = wasm_timeout(nanos);
            let outcome = sync
                .wait_scheduled((&locked, &mutex_race), timeout)
                .unwrap_or_else(|| wait.wait(&locked, timeout));
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
            let (notified, woken) =
                sync.give(ScheduleOperation::Release, 1, || notify_one.notify_one());
            i32::from(notified || woken > 0)
        })?;
        let notify_all = Arc::clone(condvar);
        self.func_wrap_shared(module, &format!("{name}.notify_all"), move || {
            race.release();
            let (notified, woken) = race.give(ScheduleOperation::Release, u32::MAX, || {
                notify_all.notify_all()
            });
            notified + woken
        })
    }
}
