//! The wait protocol, written once for both kinds of wait list: a [`ParkingList`] holds the
//! waiters of one primitive, a [`WaitQueue`] holds a list per key. Each kind says only which lock
//! guards a list and how a waiter joins and leaves it ([`WaitList`]).
//!
//! The protocol, whose steps each loom model pins down (`loom_tests.rs`):
//! - **wait** takes the list's lock, runs the caller's check, and joins the list only if it
//!   passes, all under that lock. A notify needs the same lock, so it cannot fall between the
//!   check and the join.
//! - **notify** dequeues up to `count` waiters, oldest first, and marks each as chosen, under the
//!   lock. Being dequeued is being counted.
//! - A parked waiter returns `Woken` only when it finds its mark set, never for a bare wakeup:
//!   a spurious one, or a notify's signal arriving late, after the wait it was meant for.
//! - A waiter that gives up (deadline or interrupt) retakes the lock. If a notify chose it
//!   meanwhile, it returns `Woken`, since that notify counted it; otherwise it leaves the list
//!   and returns why it gave up. So each wait has exactly one outcome, and a notify's count is
//!   exactly the waits it made return `Woken`.
//!
//! [`ParkingList`]: crate::parking_list::ParkingList
//! [`WaitQueue`]: crate::WaitQueue

use std::collections::VecDeque;

use crate::flaw::Flaw;
use crate::sync::Deadline;
use crate::wait_queue::WaitOutcome;
use crate::waiter::Waiter;

/// Parked waiters, oldest first. The buffer stays when they leave, so a warm list does not
/// allocate.
#[derive(Default)]
pub(crate) struct Parked(VecDeque<Waiter>);

impl Parked {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, waiter: Waiter) {
        self.0.push_back(waiter);
    }

    /// Takes out `me`, which no notify has chosen, so it is still here.
    pub(crate) fn remove(&mut self, me: &Waiter) {
        let at = self
            .0
            .iter()
            .position(|waiter| waiter.is(me))
            .expect("an unchosen waiter is still queued");
        self.0.remove(at);
    }
}

/// A list of parked waiters behind a lock: what [`wait`] and [`notify`] need to know of it.
pub(crate) trait WaitList {
    /// The list's lock, held.
    type Guard<'a>
    where
        Self: 'a;

    fn lock(&self) -> Self::Guard<'_>;

    /// Appends `me` to the list, whose lock the caller holds.
    fn join(&self, guard: &mut Self::Guard<'_>, me: Waiter);

    /// Takes `me`, which no notify chose, out of the list; `guard` is its lock.
    fn leave(&self, guard: Self::Guard<'_>, me: &Waiter);

    /// Whether this list's protocol has `flaw` (loom test builds only).
    fn flawed(&self, _flaw: Flaw) -> bool {
        false
    }
}

/// Blocks the calling thread on `list` until notified, `deadline` (`None`: never) or
/// interrupted.
///
/// `validate` runs while the list's lock is held, so a notify cannot slip between the check and
/// the join; if it returns false, returns [`WaitOutcome::Mismatch`] without blocking. It must
/// not use `list`. Uses [`Waiter::current`], whose interrupt is checked first: an interrupted
/// thread gets `Interrupted` without validating.
pub(crate) fn wait(
    list: &impl WaitList,
    validate: impl FnOnce() -> bool,
    deadline: Option<Deadline>,
) -> WaitOutcome {
    let me = Waiter::current();
    if me.is_interrupted() {
        return WaitOutcome::Interrupted;
    }
    let (mut guard, valid) = if list.flawed(Flaw::ValidateOutsideLock) {
        let valid = validate();
        (list.lock(), valid)
    } else {
        let guard = list.lock();
        (guard, validate())
    };
    if !valid {
        return WaitOutcome::Mismatch;
    }
    list.join(&mut guard, me.clone());
    drop(guard);
    match park(list, &me, deadline) {
        WaitOutcome::Woken => WaitOutcome::Woken,
        gave_up => leave(list, &me, gave_up),
    }
}

/// Sleeps until a notify chooses `me` (`Woken`), an interrupt arrives (`Interrupted`) or
/// `deadline` passes (`TimedOut`). Any other wakeup goes back to sleep: a spurious one, or
/// a notify's signal arriving after an earlier wait already took its mark. Only `Woken` is
/// final: a waiter that gives up may have been chosen since, which `leave` settles.
fn park(list: &impl WaitList, me: &Waiter, deadline: Option<Deadline>) -> WaitOutcome {
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
        if list.flawed(Flaw::WakeupMeansNotified) && !expired && !me.is_interrupted() {
            *notified = true;
        }
    }
}

/// Settles a wait that gave up (`TimedOut` or `Interrupted`) against a racing notify.
fn leave(list: &impl WaitList, me: &Waiter, gave_up: WaitOutcome) -> WaitOutcome {
    if list.flawed(Flaw::TimeoutKeepsQueued) && gave_up == WaitOutcome::TimedOut
        || list.flawed(Flaw::InterruptKeepsQueued) && gave_up == WaitOutcome::Interrupted
    {
        return gave_up;
    }
    let guard = list.lock();
    if me.take_notified() {
        // A notify dequeued and counted us before we got the lock.
        let ignore = list.flawed(Flaw::TimeoutIgnoresNotify) && gave_up == WaitOutcome::TimedOut;
        return if ignore { gave_up } else { WaitOutcome::Woken };
    }
    list.leave(guard, me);
    gave_up
}

/// Wakes up to `count` of `parked`, the waiters of `list` (whose lock the caller holds), oldest
/// first; returns how many it woke. A waiter that already timed out or was interrupted has left
/// and is never counted.
pub(crate) fn notify(list: &impl WaitList, parked: &mut Parked, count: u32) -> u32 {
    let mut woken = 0;
    while woken < count {
        let next = if list.flawed(Flaw::NotifyNewestFirst) {
            parked.0.pop_back()
        } else {
            parked.0.pop_front()
        };
        let Some(waiter) = next else { break };
        waiter.notify();
        woken += 1;
    }
    woken
}
