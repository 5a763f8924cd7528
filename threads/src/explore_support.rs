//! What the scheduler's unit tests and loom models share: starting a thread of a schedule,
//! waiting on an address and waking it.

use crate::sync::thread::{self, JoinHandle};
use crate::{Operation, ScheduledThread, Scheduler, WaitKey, Wakeup};

/// Starts a thread of `scheduler` on an OS thread of its own: it enters, runs `body`, and
/// finishes, failed if `body` says so. Returns the thread and its OS thread's handle.
pub(crate) fn start<R: Send + 'static>(
    scheduler: &Scheduler,
    body: impl FnOnce(&Scheduler, ScheduledThread) -> (R, bool) + Send + 'static,
) -> (ScheduledThread, JoinHandle<R>) {
    let thread = scheduler.start_thread();
    let scheduler = scheduler.clone();
    let handle = thread::spawn(move || {
        scheduler.enter(thread);
        let (result, failed) = body(&scheduler, thread);
        scheduler.finish(thread, failed);
        result
    });
    (thread, handle)
}

/// `thread` waits on `address`, with no timeout, at a step of site (0, 0).
pub(crate) fn wait_on(scheduler: &Scheduler, thread: ScheduledThread, address: u64) -> Wakeup {
    let step = (Operation::Wait, (0, 0), address);
    scheduler.block(thread, WaitKey::Address(address), false, step)
}

/// `thread` wakes one waiter of `address`, passing a point between tries until there was
/// one: the waiter may not have blocked yet.
pub(crate) fn wake_until_woken(scheduler: &Scheduler, thread: ScheduledThread, address: u64) {
    while scheduler.wake(WaitKey::Address(address), 1) == 0 {
        scheduler.point(thread, Operation::Notify, (0, 0), address);
    }
}
