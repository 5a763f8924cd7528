//! FIFO wait queues keyed by address: the host side of `memory.atomic.wait*` and
//! `memory.atomic.notify`.
//!
//! The protocol, whose steps each loom model pins down (`loom_tests.rs`):
//! - **wait** takes the key's shard lock, runs the caller's value check, and enqueues itself
//!   only if it passes, all under that lock. A notify needs the same lock, so it cannot fall
//!   between the check and the enqueue.
//! - **notify** dequeues up to `count` waiters, oldest first, and marks each as chosen, under the
//!   shard lock. Being dequeued is being counted.
//! - A parked waiter returns `Woken` only when it finds its mark set, never for a bare wakeup:
//!   a spurious one, or a notify's signal arriving late, after the wait it was meant for.
//! - A waiter that gives up (deadline or interrupt) retakes the shard lock. If a notify chose it
//!   meanwhile, it returns `Woken`, since that notify counted it; otherwise it leaves the queue
//!   and returns why it gave up. So each wait has exactly one outcome, and a notify's count is
//!   exactly the waits it made return `Woken`.
//! - Whoever empties a key's queue removes the key in the same critical section, so the maps
//!   hold only keys with waiters, and an enqueue never lands in a queue that is being removed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::flaw::Flaw;
use crate::sync::{Deadline, Mutex};
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
    by_key: HashMap<u64, VecDeque<Waiter>>,
    spare: Vec<VecDeque<Waiter>>,
}

impl Queues {
    fn push(&mut self, key: u64, waiter: Waiter) {
        let spare = &mut self.spare;
        self.by_key
            .entry(key)
            .or_insert_with(|| spare.pop().unwrap_or_default())
            .push_back(waiter);
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
        let me = Waiter::current();
        if me.is_interrupted() {
            return WaitOutcome::Interrupted;
        }
        let deadline = timeout.and_then(Deadline::after);
        let shard = self.shard(key);
        let (mut queues, valid) = if self.flawed(Flaw::ValidateOutsideLock) {
            let valid = validate();
            (shard.lock(), valid)
        } else {
            let queues = shard.lock();
            (queues, validate())
        };
        if !valid {
            return WaitOutcome::Mismatch;
        }
        queues.push(key, me.clone());
        drop(queues);
        match self.park(&me, deadline) {
            WaitOutcome::Woken => WaitOutcome::Woken,
            gave_up => self.leave(key, &me, gave_up),
        }
    }

    /// Sleeps until a notify chooses `me` (`Woken`), an interrupt arrives (`Interrupted`) or
    /// `deadline` passes (`TimedOut`). Any other wakeup goes back to sleep: a spurious one, or
    /// a notify's signal arriving after an earlier wait already took its mark. Only `Woken` is
    /// final: a waiter that gives up may have been chosen since, which `leave` settles.
    fn park(&self, me: &Waiter, deadline: Option<Deadline>) -> WaitOutcome {
        let mut notified = me.lock_mark();
        let mut expired = false;
        loop {
            if *notified {
                *notified = false;
                return WaitOutcome::Woken;
            }
            if me.is_interrupted() {
                return WaitOutcome::Interrupted;
            }
            if expired {
                return WaitOutcome::TimedOut;
            }
            (notified, expired) = me.sleep(notified, deadline);
            if self.flawed(Flaw::WakeupMeansNotified) && !expired && !me.is_interrupted() {
                *notified = true;
            }
        }
    }

    /// Settles a wait that gave up (`TimedOut` or `Interrupted`) against a racing notify.
    fn leave(&self, key: u64, me: &Waiter, gave_up: WaitOutcome) -> WaitOutcome {
        if self.flawed(Flaw::TimeoutKeepsQueued) && gave_up == WaitOutcome::TimedOut
            || self.flawed(Flaw::InterruptKeepsQueued) && gave_up == WaitOutcome::Interrupted
        {
            return gave_up;
        }
        let mut queues = self.shard(key).lock();
        if me.take_notified() {
            // A notify dequeued and counted us before we got the lock.
            let ignore =
                self.flawed(Flaw::TimeoutIgnoresNotify) && gave_up == WaitOutcome::TimedOut;
            return if ignore { gave_up } else { WaitOutcome::Woken };
        }
        let queue = queues
            .by_key
            .get_mut(&key)
            .expect("an unchosen waiter is still queued");
        let at = queue
            .iter()
            .position(|waiter| waiter.is(me))
            .expect("an unchosen waiter is still queued");
        queue.remove(at);
        if queue.is_empty() {
            if self.flawed(Flaw::PruneWithoutRecheck) {
                drop(queues);
                self.shard(key).lock().by_key.remove(&key);
            } else {
                queues.prune(key);
            }
        }
        gave_up
    }

    /// Wakes up to `count` waiters of `key`, oldest first; returns how many it woke. A waiter
    /// that already timed out or was interrupted has left the queue and is never counted.
    pub fn notify(&self, key: u64, count: u32) -> u32 {
        let mut queues = self.shard(key).lock();
        let Some(queue) = queues.by_key.get_mut(&key) else {
            return 0;
        };
        let mut woken = 0;
        while woken < count {
            let next = if self.flawed(Flaw::NotifyNewestFirst) {
                queue.pop_back()
            } else {
                queue.pop_front()
            };
            let Some(waiter) = next else { break };
            waiter.notify();
            woken += 1;
        }
        if queue.is_empty() {
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
            .map_or(0, VecDeque::len)
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
