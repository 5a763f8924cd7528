//! The waiters of one primitive (a semaphore, a mutex, a condition variable): a FIFO behind one
//! lock, with the same protocol as a [`WaitQueue`](crate::WaitQueue) key (`parking.rs`) but no
//! key to hash and no map to look it up in. A warm list does not allocate: the buffer keeps its
//! capacity, and joining it clones the thread's [`Waiter`], an `Arc`.

use crate::parking::{self, Parked, WaitList};
use crate::sync::{Deadline, Mutex, MutexGuard};
use crate::wait_queue::WaitOutcome;
use crate::waiter::Waiter;

pub(crate) struct ParkingList(Mutex<Parked>);

impl ParkingList {
    pub(crate) fn new() -> ParkingList {
        ParkingList(Mutex::new(Parked::default()))
    }

    /// Blocks the calling thread until notified, `deadline` (`None`: never) or interrupted.
    /// `validate` runs under the list's lock, so a notify cannot slip between the check and the
    /// sleep; if it fails, returns [`WaitOutcome::Mismatch`] at once. It must not use this list.
    pub(crate) fn wait(
        &self,
        validate: impl FnOnce() -> bool,
        deadline: Option<Deadline>,
    ) -> WaitOutcome {
        parking::wait(self, validate, deadline)
    }

    /// Wakes up to `count` waiters, oldest first; returns how many it woke.
    pub(crate) fn notify(&self, count: u32) -> u32 {
        parking::notify(self, &mut self.0.lock(), count)
    }

    /// Threads parked here now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn waiters(&self) -> usize {
        self.0.lock().len()
    }
}

impl WaitList for ParkingList {
    type Guard<'a> = MutexGuard<'a, Parked>;

    fn lock(&self) -> MutexGuard<'_, Parked> {
        self.0.lock()
    }

    fn join(&self, parked: &mut MutexGuard<'_, Parked>, me: Waiter) {
        parked.push(me);
    }

    fn leave(&self, mut parked: MutexGuard<'_, Parked>, me: &Waiter) {
        parked.remove(me);
    }
}
