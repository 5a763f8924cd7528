//! Schedule exploration (`weft_threads::Scheduler`) in the runtime: which thread of which
//! schedule the running OS thread is, the schedule points compiled code passes, the waits
//! and notifies the scheduler takes over, and the hand-off through which the thread runtimes
//! put the threads they start into the schedule.
//!
//! Code compiled with exploration calls the `explore_point` builtin before every atomic
//! access, fence, `wait` and `notify`, and at every loop header; outside a schedule the call
//! returns at once. Inside one, it is where the scheduler may switch threads (a loop header
//! only every `loop_period`-th time). `memory.atomic.wait` and `notify` on a thread in a
//! schedule block and wake through the scheduler instead of the memory's wait queue, so that
//! who wakes is decided by the schedule, not by the OS.

use super::module::ModuleRuntime;
use super::sites::SiteModules;
use std::cell::RefCell;
use std::sync::Arc;
use weft_threads::{
    Operation, ScheduleSummary, ScheduledThread, Scheduler, Site, Strategy, WaitKey, WaitOutcome,
    Wakeup,
};

/// The site of a step the runtime takes for a thread, in no module's code: a spawn, a join,
/// a host primitive.
const RUNTIME: Site = (0, 0);

thread_local! {
    /// The schedule the calling OS thread takes part in, and as which thread.
    static TURN: RefCell<Option<Turn>> = const { RefCell::new(None) };
}

/// One schedule being explored: its scheduler, and the modules its steps name.
pub(crate) struct Exploration {
    scheduler: Scheduler,
    sites: SiteModules,
    /// A loop header is a schedule point every this many times a thread reaches one.
    loop_period: u32,
}

#[derive(Clone)]
struct Turn {
    run: Arc<Exploration>,
    thread: ScheduledThread,
    /// Loop headers reached since the last one that was a point.
    loops: u32,
    /// Where the thread's last point was, for the wait that may follow it.
    site: Site,
    /// The key of the module whose code passed the thread's last point, registered: most
    /// points come from the same module as the one before.
    module: u64,
}

/// The calling thread's turn, if it is in a schedule that is still running.
fn current() -> Option<Turn> {
    TURN.with_borrow(|turn| {
        turn.as_ref()
            .filter(|turn| !turn.run.scheduler.is_abandoned())
            .cloned()
    })
}

impl Exploration {
    /// Starts a schedule whose root is the calling thread, until the returned scope ends.
    pub fn start(strategy: Strategy, seed: u64, loop_period: u32) -> TurnScope {
        let run = Arc::new(Exploration {
            scheduler: Scheduler::new(strategy, seed),
            sites: SiteModules::default(),
            loop_period: loop_period.max(1),
        });
        let root = run.scheduler.root();
        TurnScope::enter(run, root)
    }

    /// What the schedule did.
    pub fn summary(&self) -> ScheduleSummary {
        self.scheduler.summary()
    }

    /// The module a step's site names.
    pub fn module(&self, key: u64) -> Option<Arc<ModuleRuntime>> {
        self.sites.module(key)
    }
}

/// The calling OS thread runs as a thread of a schedule until this is finished or dropped;
/// then the thread has ended for the scheduler, and the thread's previous turn, if any, is
/// back.
#[must_use = "the thread leaves the schedule when this is dropped"]
pub(crate) struct TurnScope {
    run: Arc<Exploration>,
    thread: ScheduledThread,
    previous: Option<Turn>,
    finished: bool,
}

impl TurnScope {
    fn enter(run: Arc<Exploration>, thread: ScheduledThread) -> TurnScope {
        let turn = Turn {
            run: Arc::clone(&run),
            thread,
            loops: 0,
            site: (0, 0),
            module: 0,
        };
        let previous = TURN.replace(Some(turn));
        TurnScope {
            run,
            thread,
            previous,
            finished: false,
        }
    }

    /// The schedule.
    pub fn exploration(&self) -> &Arc<Exploration> {
        &self.run
    }

    /// Ends the thread for the scheduler: `failed` if it trapped or exited in a way that
    /// ends the program, which ends the schedule.
    pub fn finish(mut self, failed: bool) {
        self.end(failed);
    }

    fn end(&mut self, failed: bool) {
        if !std::mem::replace(&mut self.finished, true) {
            self.run.scheduler.finish(self.thread, failed);
            TURN.set(self.previous.take());
        }
    }
}

impl Drop for TurnScope {
    fn drop(&mut self) {
        self.end(std::thread::panicking());
    }
}

/// A thread that a thread of a schedule is starting: made by [`TurnHandoff::fork`] on the
/// starting thread, [`enter`](TurnHandoff::enter)ed first thing on the new one.
#[derive(Clone)]
pub(crate) struct TurnHandoff {
    run: Arc<Exploration>,
    thread: ScheduledThread,
}

impl TurnHandoff {
    /// The hand-off for a thread the calling thread starts now, if it is in a schedule.
    /// Once the new OS thread exists, the starter calls [`started`](TurnHandoff::started),
    /// or [`cancel`](TurnHandoff::cancel) if it could not be made.
    pub fn fork() -> Option<TurnHandoff> {
        let turn = current()?;
        Some(TurnHandoff {
            thread: turn.run.scheduler.start_thread(),
            run: turn.run,
        })
    }

    /// On the starting thread, once the new OS thread exists: a spawn point, where the new
    /// thread may be chosen to run.
    pub fn started(&self) {
        if let Some(turn) = current() {
            let scheduler = &turn.run.scheduler;
            scheduler.point(turn.thread, Operation::Spawn, RUNTIME, 0);
        }
    }

    /// On the starting thread, when the new OS thread could not be made.
    pub fn cancel(&self) {
        self.run.scheduler.finish(self.thread, false);
    }

    /// On the new thread, before anything else: waits for its first turn.
    pub fn enter(&self) -> TurnScope {
        let scope = TurnScope::enter(Arc::clone(&self.run), self.thread);
        self.run.scheduler.enter(self.thread);
        scope
    }

    /// On a thread about to wait for this one by other means (an OS join): waits inside the
    /// schedule until the thread has finished there, so that the other wait does not hold
    /// the turn.
    pub fn join(&self) {
        if let Some(turn) = current() {
            let scheduler = &turn.run.scheduler;
            scheduler.join(turn.thread, self.thread, RUNTIME);
        }
    }
}

/// `explore_point`: a schedule point of `module`'s code at `location`, before the
/// operation numbered `operation` at native `address`.
pub(crate) fn point(module: &Arc<ModuleRuntime>, operation: u32, address: u64, location: u64) {
    let operation = Operation::from_code(operation).expect("compiled code passes valid codes");
    let Some((run, thread, site)) = TURN.with_borrow_mut(|turn| {
        let turn = turn.as_mut()?;
        if operation == Operation::Loop {
            turn.loops += 1;
            if turn.loops < turn.run.loop_period {
                return None;
            }
            turn.loops = 0;
        }
        if turn.module != Arc::as_ptr(module) as u64 {
            turn.module = turn.run.sites.key(module);
        }
        turn.site = (turn.module, location);
        Some((Arc::clone(&turn.run), turn.thread, turn.site))
    }) else {
        return;
    };
    run.scheduler.point(thread, operation, site, address);
}

/// `memory.atomic.wait` at native `address` by a thread in a schedule: `matches` (the
/// value check) runs in the thread's turn, and the thread blocks in the scheduler. `None`
/// outside a schedule, for the memory's own wait queue. A schedule that ends while the
/// thread waits interrupts the wait.
pub(crate) fn wait(
    address: u64,
    timed: bool,
    matches: impl FnOnce() -> bool,
) -> Option<WaitOutcome> {
    current()?;
    if !matches() {
        return Some(WaitOutcome::Mismatch);
    }
    Some(match block(address, timed, Operation::Wait)? {
        Wakeup::Woken => WaitOutcome::Woken,
        Wakeup::TimedOut => WaitOutcome::TimedOut,
        Wakeup::Abandoned => WaitOutcome::Interrupted,
    })
}

/// Blocks a thread in a schedule, in its turn, until a [`wake`] of `address` (or, if
/// `timed`, until nothing else can run), at a step of `operation` where its last point
/// was; `None` outside a schedule.
pub(crate) fn block(address: u64, timed: bool, operation: Operation) -> Option<Wakeup> {
    let turn = current()?;
    let key = WaitKey::Address(address);
    let step = (operation, turn.site, address);
    Some(turn.run.scheduler.block(turn.thread, key, timed, step))
}

/// Makes up to `count` of the schedule's threads blocked on `address` runnable, and returns
/// how many; `None` outside a schedule. A `notify`, or a host primitive's release.
pub(crate) fn wake(address: u64, count: u32) -> Option<u32> {
    let turn = current()?;
    Some(turn.run.scheduler.wake(WaitKey::Address(address), count))
}

/// A schedule point of a thread in a schedule before a host primitive's `operation` on the
/// primitive at `address`; returns whether the thread is in a schedule. The step names no
/// code site (the runtime's), nor does a [`block`] that follows it.
pub(crate) fn host_point(operation: Operation, address: u64) -> bool {
    let Some(turn) = current() else {
        return false;
    };
    TURN.with_borrow_mut(|turn| {
        if let Some(turn) = turn {
            turn.site = RUNTIME;
        }
    });
    turn.run
        .scheduler
        .point(turn.thread, operation, RUNTIME, address);
    true
}
