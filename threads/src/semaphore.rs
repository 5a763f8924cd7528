//! A counting semaphore that guest code blocks on through host functions, and that the engine
//! can interrupt: the host primitive behind bounded work queues and host-side locks.
//!
//! The protocol, whose steps the loom models pin down (`loom_semaphore.rs`):
//! - **acquire** takes a permit with a compare-and-swap when one is free: no lock, no lookup,
//!   no allocation.
//! - Otherwise it announces itself as a sleeper, then sleeps in its own [`ParkingList`] only if
//!   the permit count, checked under the list's lock, is still zero; after every wakeup it tries
//!   to take a permit again. The list has no key to hash and, once warm, allocates nothing.
//! - **release** adds its permits and learns whether anyone may be asleep in one atomic step,
//!   and notifies if so. Permits and sleepers share one word, so the announcement and the
//!   release are ordered one way or the other: either the releaser sees the sleeper (and
//!   notifies, which the list's lock orders after the sleeper's check or makes the check fail),
//!   or the sleeper's check comes after the release and sees the permit. No wakeup is lost,
//!   and no store-load fence is needed (loom could not check one: it models `SeqCst` as
//!   acquire-release).
//! - A sleeper that times out or is interrupted leaves as the list says: a notify that already
//!   chose it wins, so it tries for the permit it was woken for before giving up.
//!
//! [`ParkingList`]: crate::parking_list::ParkingList

use std::time::Duration;

use crate::flaw::SemaphoreFlaw;
use crate::parking_list::ParkingList;
use crate::sync::{AtomicU64, Deadline, Ordering};
use crate::wait_queue::WaitOutcome;

/// How an [`acquire`](Semaphore::acquire) ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Acquire {
    /// The caller holds one more permit.
    Acquired,
    /// The timeout passed with no permit free.
    TimedOut,
    /// The calling thread's [`Waiter`](crate::Waiter) was interrupted (the engine does that to
    /// terminate the thread).
    Interrupted,
}

/// A release that would have made more than `u32::MAX` permits free.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PermitOverflow;

impl std::fmt::Display for PermitOverflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a semaphore cannot have more than 4294967295 free permits")
    }
}

impl std::error::Error for PermitOverflow {}

/// One sleeper in [`Semaphore::state`]'s high half.
const SLEEPER: u64 = 1 << 32;

fn permits(state: u64) -> u32 {
    state as u32
}

fn sleepers(state: u64) -> u32 {
    (state >> 32) as u32
}

/// A counting semaphore whose waits can time out and be interrupted.
pub struct Semaphore {
    /// Free permits in the low half; in the high half, threads in the slow path of `acquire`
    /// (about to sleep, asleep, or just woken).
    state: AtomicU64,
    sleeping: ParkingList,
    #[cfg(loom)]
    flaw: Option<SemaphoreFlaw>,
}

impl Semaphore {
    pub fn new(permits: u32) -> Semaphore {
        Semaphore {
            state: AtomicU64::new(u64::from(permits)),
            sleeping: ParkingList::new(),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A semaphore whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(permits: u32, flaw: SemaphoreFlaw) -> Semaphore {
        Semaphore {
            flaw: Some(flaw),
            ..Semaphore::new(permits)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: SemaphoreFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: SemaphoreFlaw) -> bool {
        false
    }

    /// Permits free right now.
    pub fn available(&self) -> u32 {
        permits(self.state.load(Ordering::SeqCst))
    }

    /// Takes a permit if one is free, without blocking.
    pub fn try_acquire(&self) -> bool {
        let mut state = self.state.load(Ordering::SeqCst);
        while permits(state) > 0 {
            match self.state.compare_exchange_weak(
                state,
                state - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
        false
    }

    /// Takes a permit, blocking until one is free, `timeout` passes (`None` waits forever) or
    /// the calling thread is interrupted. An interrupted thread that finds a permit free
    /// still takes it without blocking.
    pub fn acquire(&self, timeout: Option<Duration>) -> Acquire {
        if self.try_acquire() {
            return Acquire::Acquired;
        }
        // A timeout too long to be a point in time is no timeout. One deadline serves every
        // wait below: once it has passed, the next wait ends at once.
        let deadline = timeout.and_then(Deadline::after);
        self.state.fetch_add(SLEEPER, Ordering::SeqCst);
        let outcome = loop {
            if self.try_acquire() {
                break Acquire::Acquired;
            }
            let none_free = || self.available() == 0;
            match self.sleeping.wait(none_free, deadline) {
                WaitOutcome::Woken if self.flawed(SemaphoreFlaw::WakeupMeansPermit) => {
                    break Acquire::Acquired;
                }
                WaitOutcome::Woken | WaitOutcome::Mismatch => continue,
                WaitOutcome::TimedOut if self.try_acquire() => break Acquire::Acquired,
                WaitOutcome::TimedOut => break Acquire::TimedOut,
                WaitOutcome::Interrupted => break Acquire::Interrupted,
            }
        };
        self.state.fetch_sub(SLEEPER, Ordering::SeqCst);
        outcome
    }

    /// Returns `count` permits and wakes up to `count` sleepers to take them.
    ///
    /// # Panics
    ///
    /// If the count of free permits would pass `u32::MAX`; [`try_release`](Self::try_release)
    /// reports that instead, for counts that come from untrusted code.
    pub fn release(&self, count: u32) {
        self.try_release(count)
            .expect("semaphore permit count overflow");
    }

    /// [`release`](Self::release), unless the count of free permits would pass `u32::MAX`:
    /// then nothing changes.
    pub fn try_release(&self, count: u32) -> Result<(), PermitOverflow> {
        let sleepers_seen = if self.flawed(SemaphoreFlaw::ReadSleepersFirst) {
            let seen = sleepers(self.state.load(Ordering::SeqCst));
            self.add_permits(count)?;
            seen
        } else {
            sleepers(self.add_permits(count)?)
        };
        if sleepers_seen > 0 {
            self.sleeping.notify(count);
        }
        Ok(())
    }

    /// Threads in the slow path of `acquire`; zero once every acquire has returned.
    #[cfg(all(loom, test))]
    pub(crate) fn sleepers(&self) -> u32 {
        sleepers(self.state.load(Ordering::SeqCst))
    }

    /// Adds `count` free permits; returns the state before.
    fn add_permits(&self, count: u32) -> Result<u64, PermitOverflow> {
        self.state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                permits(state)
                    .checked_add(count)
                    .map(|_| state + u64::from(count))
            })
            .map_err(|_| PermitOverflow)
    }
}

impl Default for Semaphore {
    fn default() -> Self {
        Semaphore::new(0)
    }
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}
