//! FIFO wait queues keyed by address: the host side of `memory.atomic.wait*` and
//! `memory.atomic.notify`.
//!
//! Each key's waiters follow the wait protocol in `parking.rs`, under the lock of the shard the
//! key hashes to. On top of it, whoever empties a key's queue removes the key in the same
//! critical section, so the maps hold only keys with waiters, and a waiter never joins a queue
//! that is being removed. The loom models in `loom_tests.rs` pin each step down.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::flaw::Flaw;
use crate::parking::{self, Parked, WaitList};
use crate::sync::{Deadline, Mutex, MutexGuard};
use crate::waiter::Waiter;

/// Outcome of a wait.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// A notify chose this waiter (and counted it).
    Woken,
    /// The value check failed, so the wait never blocked.
    Mismatch,
    /// The timeout elapsed first.
    TimedOut,
    /// The thread's [`Waiter`] was interrupted.
    Interrupted,
}

/// Independent locks, so waits and notifies on unrelated addresses do not contend. Loom models
/// use one or two keys, and every lock is state for loom to track.
pub(crate) const SHARDS: usize = if cfg!(loom) { 2 } else { 64 };
const _: () = assert!(SHARDS.is_power_of_two() && SHARDS > 1);

/// Emptied queues a shard keeps, buffers and all, for the next key that gets a waiter.
pub(crate) const SPARE_QUEUES: usize = 4;

/// FIFO wait queues keyed by `u64` (the engine uses the host address of the waited-on word,
/// which is unique across memories).
pub struct WaitQueue {
    shards: Box<[Shard]>,
    #[cfg(loom)]
    flaw: Option<Flaw>,
}

/// A shard's lock on its own pair of cache lines (128 bytes covers adjacent-line prefetch), so
/// threads on different shards do not contend through false sharing.
#[repr(align(128))]
struct Shard(Mutex<Queues>);

#[derive(Default)]
struct Queues {
    /// Only keys that have waiters.
    by_key: HashMap<u64, Parked>,
    spare: Vec<Parked>,
}

impl Queues {
    fn push(&mut self, key: u64, waiter: Waiter) {
        let spare = &mut self.spare;
        self.by_key
            .entry(key)
            .or_insert_with(|| spare.pop().unwrap_or_default())
            .push(waiter);
    }

    /// Removes `key`'s queue, which the caller has just emptied, keeping its buffer for reuse.
    fn prune(&mut self, key: u64) {
        if let Some(queue) = self.by_key.remove(&key)
            && self.spare.len() < SPARE_QUEUES
        {
            self.spare.push(queue);
        }
    }
}

impl WaitQueue {
    pub fn new() -> WaitQueue {
        WaitQueue {
            shards: (0..SHARDS)
                .map(|_| Shard(Mutex::new(Queues::default())))
                .collect(),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A queue whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(flaw: Flaw) -> WaitQueue {
        WaitQueue {
            flaw: Some(flaw),
            ..WaitQueue::new()
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: Flaw) -> bool {
        false
    }

    fn shard(&self, key: u64) -> &Mutex<Queues> {
        // Fibonacci hashing: keys are addresses whose low bits are mostly alignment, and the
        // multiply spreads every bit into the top ones, which pick the shard.
        let index =
            key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (u64::BITS - SHARDS.trailing_zeros());
        &self.shards[index as usize].0
    }

    /// One key's queue, as the wait protocol sees it.
    fn key(&self, key: u64) -> KeyQueue<'_> {
        KeyQueue { queue: self, key }
    }

    /// Blocks the calling thread on `key` until notified, timed out or interrupted.
    ///
    /// `validate` runs while the key's shard lock is held, so a notify cannot slip between the
    /// value check and the enqueue; if it returns false, returns [`WaitOutcome::Mismatch`]
    /// without blocking. It must not use this queue. `timeout: None` waits forever; a timeout
    /// is a deadline on the monotonic clock, so spurious wakeups do not extend it. Uses
    /// [`Waiter::current`], whose interrupt is checked first: an interrupted thread gets
    /// `Interrupted` without validating.
    pub fn wait(
        &self,
        key: u64,
        validate: impl FnOnce() -> bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        parking::wait(&self.key(key), validate, timeout.and_then(Deadline::after))
    }

    /// Wakes up to `count` waiters of `key`, oldest first; returns how many it woke. A waiter
    /// that already timed out or was interrupted has left the queue and is never counted.
    pub fn notify(&self, key: u64, count: u32) -> u32 {
        let list = self.key(key);
        let mut queues = list.lock();
        let Some(parked) = queues.by_key.get_mut(&key) else {
            return 0;
        };
        let woken = parking::notify(&list, parked, count);
        if parked.is_empty() {
            queues.prune(key);
        }
        woken
    }

    /// Number of threads currently queued on `key`.
    pub fn waiters(&self, key: u64) -> usize {
        self.shard(key)
            .lock()
            .by_key
            .get(&key)
            .map_or(0, Parked::len)
    }

    /// Whether no key has a queue: every emptied queue was pruned.
    #[cfg(test)]
    pub(crate) fn is_pruned(&self) -> bool {
        self.shards
            .iter()
            .all(|shard| shard.0.lock().by_key.is_empty())
    }

    /// Emptied queues kept for reuse, over all shards.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn spare_queues(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.0.lock().spare.len())
            .sum()
    }
}

/// The queue of one key: the wait protocol's list, guarded by the key's shard lock.
struct KeyQueue<'q> {
    queue: &'q WaitQueue,
    key: u64,
}

impl WaitList for KeyQueue<'_> {
    type Guard<'a>
        = MutexGuard<'a, Queues>
    where
        Self: 'a;

    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queue.shard(self.key).lock()
    }

    fn join(&self, queues: &mut MutexGuard<'_, Queues>, me: Waiter) {
        queues.push(self.key, me);
    }

    fn leave(&self, mut queues: MutexGuard<'_, Queues>, me: &Waiter) {
        let parked = queues
            .by_key
            .get_mut(&self.key)
            .expect("an unchosen waiter is still queued");
        parked.remove(me);
        if parked.is_empty() {
            if self.flawed(Flaw::PruneWithoutRecheck) {
                drop(queues);
                self.lock().by_key.remove(&self.key);
            } else {
                queues.prune(self.key);
            }
        }
    }

    fn flawed(&self, flaw: Flaw) -> bool {
        self.queue.flawed(flaw)
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitQueue")
            .field("shards", &SHARDS)
            .finish_non_exhaustive()
    }
}
