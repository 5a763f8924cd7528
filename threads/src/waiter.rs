//! A thread's parking handle: the node that wait queues link in, made once per thread and
//! reused by every wait it makes, and what interrupts the thread, in a wait or in a blocking
//! call (`blocking.rs`).

use std::cell::RefCell;
use std::fmt;

use crate::blocking::HookSlot;
use crate::flaw::WaiterFlaw;
use crate::sync::{Arc, AtomicBool, Condvar, Deadline, Mutex, MutexGuard, Ordering, thread_local};

/// A thread's parking handle; cheap to clone (an `Arc` inside).
///
/// Other threads use it to [`interrupt`](Waiter::interrupt) the owner's waits; wait queues hold
/// clones of it while the owner is queued.
#[derive(Clone)]
pub struct Waiter(Arc<Inner>);

struct Inner {
    /// Whether a notify has chosen this waiter since it last enqueued. Only a notifier holding
    /// the key's shard lock sets it (while dequeuing the waiter), so whoever holds that lock
    /// knows whether a queued waiter has been chosen.
    notified: Mutex<bool>,
    /// Where the owner sleeps; signalled after `notified`, `interrupted` or (under loom) the
    /// model's clock changes, each changed with `notified` locked.
    wake: Condvar,
    /// The sticky interrupt request. Stored with `notified` locked, so a waiter that checked it
    /// under that lock is asleep before the store and gets the signal; loaded without the lock
    /// when a wait starts.
    interrupted: AtomicBool,
    /// The hook of the blocking call the owner is in, which an interrupt runs.
    hook: HookSlot,
}

thread_local! {
    static CURRENT: RefCell<Waiter> = RefCell::new(Waiter::new());
}

impl Waiter {
    fn new() -> Self {
        Self(Arc::new(Inner {
            notified: Mutex::new(false),
            wake: Condvar::new(),
            interrupted: AtomicBool::new(false),
            hook: HookSlot::new(),
        }))
    }

    /// This OS thread's waiter, created on first use and reused for every later wait.
    pub fn current() -> Waiter {
        // While the thread's locals are being torn down there is no stored waiter; a fresh one
        // still waits correctly, it just cannot be interrupted from outside.
        CURRENT
            .try_with(|current| current.borrow().clone())
            .unwrap_or_else(|_| Waiter::new())
    }

    /// Whether this is the calling OS thread's waiter now (a thread's waiter changes when it
    /// [`renew`](Waiter::renew)s it).
    pub fn is_current(&self) -> bool {
        CURRENT
            .try_with(|current| current.borrow().is(self))
            .unwrap_or(false)
    }

    /// Gives this OS thread a new waiter, for a thread reused for unrelated work (a
    /// [`ThreadCache`](crate::ThreadCache) job): interrupts meant for the work it did before,
    /// from whoever still holds the old waiter, no longer reach it. Call it between two pieces
    /// of work, never during a wait.
    pub fn renew() {
        // During teardown there is nothing left to renew.
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = Waiter::new());
    }

    /// Wakes this thread's current or next wait with [`Interrupted`]. Sticky: every wait
    /// returns `Interrupted` at once until [`clear_interrupt`](Waiter::clear_interrupt). A
    /// notify that chose the waiter before the interrupt arrived still wins: that wait returns
    /// `Woken`, because the notify counted it.
    ///
    /// If the thread is in a blocking call ([`begin_blocking`](crate::begin_blocking)), runs that
    /// call's hook, here, before returning.
    ///
    /// [`Interrupted`]: crate::WaitOutcome::Interrupted
    pub fn interrupt(&self) {
        self.raise_interrupt(None);
    }

    /// [`interrupt`](Waiter::interrupt) with `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn interrupt_with_flaw(&self, flaw: WaiterFlaw) {
        self.raise_interrupt(Some(flaw));
    }

    fn raise_interrupt(&self, flaw: Option<WaiterFlaw>) {
        if cfg!(loom) && flaw == Some(WaiterFlaw::InterruptOutsideLock) {
            self.0.interrupted.store(true, Ordering::Release);
        } else {
            let notified = self.0.notified.lock();
            self.0.interrupted.store(true, Ordering::Release);
            drop(notified);
        }
        self.0.wake.notify_one();
        // After the flag, so that a blocking call begun from now on sees it instead.
        self.0.hook.fire();
    }

    /// Lets this thread's waits block again.
    pub fn clear_interrupt(&self) {
        self.0.interrupted.store(false, Ordering::Release);
    }

    /// Whether an interrupt is pending (set and not cleared).
    pub fn is_interrupted(&self) -> bool {
        self.0.interrupted.load(Ordering::Acquire)
    }

    pub(crate) fn hook_slot(&self) -> &HookSlot {
        &self.0.hook
    }

    /// Whether `self` and `other` are the same handle (clones of one thread's waiter).
    pub fn is(&self, other: &Waiter) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Marks a waiter that a notify just dequeued as chosen, and wakes it. The caller holds the
    /// shard lock of the queue it took the waiter from.
    pub(crate) fn notify(&self) {
        *self.0.notified.lock() = true;
        self.0.wake.notify_one();
    }

    /// Whether a notify dequeued this waiter, clearing the mark for its next wait. The caller
    /// holds the shard lock of the key it waited on, so the answer cannot change under it.
    pub(crate) fn take_notified(&self) -> bool {
        std::mem::take(&mut *self.0.notified.lock())
    }

    /// The notified mark, locked: the lock a parked owner sleeps under.
    pub(crate) fn lock_mark(&self) -> MutexGuard<'_, bool> {
        self.0.notified.lock()
    }

    /// Sleeps, as the owning thread, until signalled (or spuriously woken) or `deadline`;
    /// returns whether the deadline has passed.
    pub(crate) fn sleep<'a>(
        &'a self,
        notified: MutexGuard<'a, bool>,
        deadline: Option<Deadline>,
    ) -> (MutexGuard<'a, bool>, bool) {
        match deadline {
            None => (self.0.wake.wait(notified), false),
            Some(deadline) => self.0.wake.wait_until(notified, deadline),
        }
    }

    /// The loom model's clock: the owner's current or next timed wait reaches its deadline.
    #[cfg(all(loom, test))]
    pub(crate) fn expire(&self) {
        let _notified = self.0.notified.lock();
        self.0.wake.expire();
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("interrupted", &self.is_interrupted())
            .finish_non_exhaustive()
    }
}
