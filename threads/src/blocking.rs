//! Blocking calls weft does not control. A host function that blocks on a socket, a channel or
//! another library's lock registers a hook that cancels that call, so that interrupting the
//! thread (how the engine terminates it) ends the call as it ends weft's own waits.
//!
//! Each thread's [`Waiter`] has one hook slot. The protocol, whose steps the loom models pin down
//! (`loom_blocking.rs`):
//! - **begin** checks the thread's interrupt flag and registers the hook in one critical section
//!   of the slot. [`Waiter::interrupt`] sets the flag before it takes the slot's lock, so either
//!   begin sees the flag (and fails, dropping the hook unrun) or the interrupt finds the hook: no
//!   interrupt slips between the check and the registration.
//! - **interrupt** takes the hook out of the slot, marking it running, and calls it after
//!   releasing the lock, on the interrupting thread: the hook may run any code, even code that
//!   interrupts this thread again. Taking the hook is what makes it run at most once.
//! - **end** (dropping the guard) takes an unrun hook back out, or, if an interrupt is running it,
//!   waits until it has returned: no hook runs after its guard is gone.

use std::fmt;
use std::mem;

use crate::Waiter;
use crate::flaw::BlockingFlaw;
use crate::sync::{Condvar, Mutex};

/// The thread was interrupted: a blocking call could not begin, or was ended by its hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the thread was interrupted")
    }
}

impl std::error::Error for Interrupted {}

type Hook = Box<dyn FnOnce() + Send>;

/// A waiter's slot for the cancellation hook of the blocking call its thread is in.
pub(crate) struct HookSlot {
    state: Mutex<Slot>,
    /// Signalled when a running hook returns, for the guard waiting to end.
    returned: Condvar,
}

enum Slot {
    /// No guard lives.
    Idle,
    /// A guard lives, and no interrupt has come since it began.
    Armed(Hook),
    /// An interrupt took the hook and is running it.
    Running,
    /// The hook has run; its guard still lives.
    Spent,
}

impl HookSlot {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(Slot::Idle),
            returned: Condvar::new(),
        }
    }

    /// Runs the armed hook, if any, on the calling thread. [`Waiter::interrupt`] calls it once it
    /// has set the interrupt flag.
    pub(crate) fn fire(&self) {
        let mut state = self.state.lock();
        let hook = match mem::replace(&mut *state, Slot::Running) {
            Slot::Armed(hook) => hook,
            other => {
                *state = other;
                return;
            }
        };
        drop(state);
        let _returned = Returned(self);
        hook();
    }
}

/// Marks the running hook as returned when dropped, so that even a hook that panics lets its
/// guard end.
struct Returned<'a>(&'a HookSlot);

impl Drop for Returned<'_> {
    fn drop(&mut self) {
        *self.0.state.lock() = Slot::Spent;
        self.0.returned.notify_all();
    }
}

/// Begins a blocking call on the calling thread: until the returned guard is dropped (or
/// [`end`](BlockingGuard::end)ed), an interrupt of this thread's [`Waiter`] runs `hook`, which
/// should make the call return (close the socket, send on the channel, release the lock).
///
/// The hook runs at most once, on the interrupting thread, after the interrupt flag is set: a
/// call it ended finds the thread interrupted. It never runs if no interrupt comes while the
/// guard lives, and never after the guard's drop has returned, which waits for a hook already
/// running. It should be quick, since the interrupting thread (an abort interrupting a whole
/// group, say) waits for it, and it must not end its own guard, which would wait for it forever.
///
/// Returns [`Interrupted`], dropping `hook` unrun, if the thread is already interrupted.
///
/// # Panics
///
/// If the thread is already in a blocking call: guards do not nest. One guard per thread keeps
/// the slot a single hook; a host function that blocks in several steps begins one call per
/// step.
pub fn begin_blocking(hook: impl FnOnce() + Send + 'static) -> Result<BlockingGuard, Interrupted> {
    begin(Box::new(hook), None)
}

/// [`begin_blocking`] with `flaw` in its protocol, for showing that a loom model catches it.
#[cfg(all(loom, test))]
pub(crate) fn begin_blocking_with_flaw(
    flaw: BlockingFlaw,
    hook: impl FnOnce() + Send + 'static,
) -> Result<BlockingGuard, Interrupted> {
    begin(Box::new(hook), Some(flaw))
}

fn begin(hook: Hook, flaw: Option<BlockingFlaw>) -> Result<BlockingGuard, Interrupted> {
    let waiter = Waiter::current();
    let slot = waiter.hook_slot();
    let mut state = slot.state.lock();
    let interrupted = waiter.is_interrupted();
    if flawed(flaw, BlockingFlaw::BeginInTwoSteps) {
        drop(state);
        state = slot.state.lock();
    }
    if interrupted {
        drop(state);
        // Dropped outside the lock: dropping it may run any code.
        drop(hook);
        return Err(Interrupted);
    }
    assert!(
        matches!(*state, Slot::Idle),
        "this thread is already in a blocking call"
    );
    *state = Slot::Armed(hook);
    drop(state);
    Ok(BlockingGuard { waiter, flaw })
}

/// Whether `flaw`, a loom test's deliberate bug, is `which`; constant-false in real builds.
fn flawed(flaw: Option<BlockingFlaw>, which: BlockingFlaw) -> bool {
    cfg!(loom) && flaw == Some(which)
}

/// A thread's blocking call, begun by [`begin_blocking`]; dropping it ends the call.
#[must_use = "dropping the guard ends the blocking call at once"]
pub struct BlockingGuard {
    waiter: Waiter,
    flaw: Option<BlockingFlaw>,
}

impl BlockingGuard {
    /// Ends the blocking call, as dropping the guard does, and returns [`Interrupted`] if the
    /// thread is interrupted: by an interrupt that ran the hook, or one that came too late to.
    /// Either way the host function should stop and return.
    pub fn end(self) -> Result<(), Interrupted> {
        let waiter = self.waiter.clone();
        // Dropped first, so that a hook that ran has returned, and set the flag, before we look.
        drop(self);
        if waiter.is_interrupted() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        let slot = self.waiter.hook_slot();
        let mut state = slot.state.lock();
        while matches!(*state, Slot::Running)
            && !flawed(self.flaw, BlockingFlaw::EndIgnoresRunningHook)
        {
            state = slot.returned.wait(state);
        }
        let unrun = mem::replace(&mut *state, Slot::Idle);
        drop(state);
        // Dropped outside the lock: dropping the hook may run any code.
        drop(unrun);
    }
}

impl fmt::Debug for BlockingGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingGuard")
            .field("waiter", &self.waiter)
            .finish_non_exhaustive()
    }
}
