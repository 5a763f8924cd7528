//! A condition variable for guests, used with a [`HostMutex`]: the host primitive behind
//! wait-until-something-changes across guest threads.
//!
//! The protocol, whose steps the loom models pin down (`loom_condvar.rs`):
//! - Every notify bumps a sequence number, then wakes waiters from the condvar's
//!   [`ParkingList`].
//! - **wait** reads the sequence number *before* it releases the mutex, and sleeps only if the
//!   number, checked under the list's lock, is unchanged. A notify that comes after the release
//!   (as any notify does whose caller changed the condition under the mutex) bumped the number
//!   after that read: if the check comes later, it fails and the wait returns at once; if not,
//!   the list's lock orders the notify's wakeup after the waiter joined. No wakeup is lost.
//! - A waiter returns holding the mutex again, unless it is interrupted. A waiter that a notify
//!   chose (and counted) but that is interrupted while it retakes the mutex passes the wakeup on
//!   to the next waiter, so a thread being terminated swallows no notify.
//!
//! [`ParkingList`]: crate::parking_list::ParkingList

use std::fmt;
use std::time::Duration;

use crate::flaw::CondvarFlaw;
use crate::mutex::{HostMutex, UnlockError};
use crate::parking_list::ParkingList;
use crate::semaphore::Acquire;
use crate::sync::{AtomicU64, Deadline, Ordering};
use crate::wait_queue::WaitOutcome;

/// How a [`wait`](HostCondvar::wait) ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CondvarWait {
    /// A notify came after the wait began (the caller holds the mutex again). Possibly one meant
    /// for another waiter, so callers re-check their condition, as with any condition variable.
    Notified,
    /// The timeout passed first (the caller holds the mutex again).
    TimedOut,
    /// The calling thread's [`Waiter`](crate::Waiter) was interrupted, while waiting or while
    /// retaking the mutex. The caller does **not** hold the mutex.
    Interrupted,
}

/// A condition variable whose waits can time out and be interrupted.
pub struct HostCondvar {
    /// Bumped by every notify, so a waiter can tell whether one came since it read the number.
    sequence: AtomicU64,
    waiting: ParkingList,
    #[cfg(loom)]
    flaw: Option<CondvarFlaw>,
}

impl HostCondvar {
    pub fn new() -> HostCondvar {
        HostCondvar {
            sequence: AtomicU64::new(0),
            waiting: ParkingList::new(),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A condition variable whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(flaw: CondvarFlaw) -> HostCondvar {
        HostCondvar {
            flaw: Some(flaw),
            ..HostCondvar::new()
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: CondvarFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: CondvarFlaw) -> bool {
        false
    }

    /// Releases `mutex`, which the calling thread must hold, and sleeps until notified,
    /// `timeout` passes (`None` waits forever) or the thread is interrupted; then retakes the
    /// mutex, unless interrupted. Releasing and starting to sleep are atomic with respect to
    /// notifies: a notify made after the release wakes this wait.
    ///
    /// The timeout bounds the sleep, not the retaking of the mutex, which only an interrupt
    /// cuts short. On `Ok(Interrupted)` the caller no longer holds the mutex. If the caller does
    /// not hold it, returns the error `mutex.unlock()` gives, without waiting.
    pub fn wait(
        &self,
        mutex: &HostMutex,
        timeout: Option<Duration>,
    ) -> Result<CondvarWait, UnlockError> {
        let deadline = timeout.and_then(Deadline::after);
        let seen = if self.flawed(CondvarFlaw::ReadSequenceAfterUnlock) {
            mutex.unlock()?;
            self.sequence.load(Ordering::SeqCst)
        } else {
            let seen = self.sequence.load(Ordering::SeqCst);
            mutex.unlock()?;
            seen
        };
        let no_notify_since = || self.sequence.load(Ordering::SeqCst) == seen;
        let outcome = self.waiting.wait(no_notify_since, deadline);
        let ended = match outcome {
            WaitOutcome::Woken | WaitOutcome::Mismatch => CondvarWait::Notified,
            WaitOutcome::TimedOut => CondvarWait::TimedOut,
            WaitOutcome::Interrupted => return Ok(CondvarWait::Interrupted),
        };
        if mutex.relock() == Acquire::Acquired {
            return Ok(ended);
        }
        // Interrupted while retaking the mutex. The notify that chose us counted us as woken,
        // so another waiter gets the wakeup we cannot act on.
        if outcome == WaitOutcome::Woken && !self.flawed(CondvarFlaw::InterruptSwallowsNotify) {
            self.waiting.notify(1);
        }
        Ok(CondvarWait::Interrupted)
    }

    /// Wakes the longest-waiting thread; returns whether there was one. A thread that released
    /// the mutex but is not asleep yet returns too, uncounted.
    pub fn notify_one(&self) -> bool {
        self.notify(1) == 1
    }

    /// Wakes every waiting thread; returns how many were asleep. Threads that released the mutex
    /// but are not asleep yet return too, uncounted.
    pub fn notify_all(&self) -> u32 {
        self.notify(u32::MAX)
    }

    fn notify(&self, count: u32) -> u32 {
        self.sequence.fetch_add(1, Ordering::SeqCst);
        self.waiting.notify(count)
    }

    /// Threads asleep in `wait`.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn waiters(&self) -> usize {
        self.waiting.waiters()
    }
}

impl Default for HostCondvar {
    fn default() -> Self {
        HostCondvar::new()
    }
}

impl fmt::Debug for HostCondvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCondvar").finish_non_exhaustive()
    }
}
