//! A deterministic scheduler for exploring how a program's threads interleave.
//!
//! Under a [`Scheduler`] the threads it knows run one at a time. The running thread goes on
//! until it reaches a schedule point (the runtime calls [`Scheduler::point`] at each atomic
//! access, `wait`, `notify`, spawn, join and host primitive), where the scheduler picks the
//! thread that runs next with its [`Strategy`]. Every choice comes from the seeded generator
//! and the sequence of points so far, so a seed replays its schedule exactly, as long as the
//! program does the same thing under the same schedule.
//!
//! Blocking is the scheduler's own business: a thread that would block (a `wait`, a join, a
//! contended lock) is parked here on a [`WaitKey`], and a wake of that key makes it runnable
//! again. When no thread can run, time passes: a thread blocked with a timeout times out.
//! With none, the schedule is deadlocked, and the blocked threads are the report.
//!
//! A schedule ends when it is abandoned ([`Scheduler::abandon`]): a thread failed, the root
//! thread finished, the threads deadlocked, or a thread waiting for its turn was interrupted
//! (how the engine terminates threads). From then on every thread runs freely, and blocked
//! threads return [`Wakeup::Abandoned`], so that whatever ends the program can.
//!
//! The hand-over protocol (one runner; a blocked thread runs again only after a wake; a wake
//! is never lost) is model-checked in `loom_explore.rs`.

use std::collections::VecDeque;
use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Site;
use crate::blocking::begin_blocking;
use crate::flaw::ExploreFlaw;
use crate::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How many of the last steps a schedule keeps for its report.
pub const TRACE_STEPS: usize = 32;

/// A thread of one schedule, numbered in the order the threads were started; the root (the
/// thread that made the scheduler) is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScheduledThread(u32);

impl ScheduledThread {
    /// The thread's number: 0 for the root, then in the order threads were started.
    pub fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ScheduledThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread {}", self.0)
    }
}

/// How the scheduler picks the next thread at a schedule point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Any runnable thread, uniformly at random, at every point.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): every thread gets a
    /// random priority, the highest-priority runnable thread runs, and at `depth - 1`
    /// decisions chosen at random among the first `length` the thread that was running drops
    /// below every other. A bug that needs `depth` ordering constraints among `n` threads is
    /// found by one schedule with probability at least `1 / (n * length^(depth - 1))`.
    /// Only decisions count: points where more than one thread could run, since a change
    /// anywhere else changes nothing. After `2 * length` decisions the choice becomes random,
    /// so that a high-priority thread spinning on a low-priority one cannot starve it for
    /// ever.
    Pct {
        /// The bug depth: how many ordering constraints the bug sought needs.
        depth: u32,
        /// The decisions the change points are spread over, about a schedule's count
        /// ([`ScheduleSummary::decisions`]).
        length: u64,
    },
}

/// What a thread does at a schedule point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// An atomic load.
    AtomicLoad,
    /// An atomic store.
    AtomicStore,
    /// An atomic read-modify-write.
    AtomicRmw,
    /// An atomic compare-exchange.
    AtomicCmpxchg,
    /// An atomic fence.
    Fence,
    /// `memory.atomic.wait`.
    Wait,
    /// `memory.atomic.notify`.
    Notify,
    /// Starting a thread.
    Spawn,
    /// Waiting for a thread to finish.
    Join,
    /// The thread's end.
    Exit,
    /// Locking a host mutex.
    Lock,
    /// Unlocking a host mutex.
    Unlock,
    /// Taking a host semaphore permit, or waiting on a host condition variable.
    Acquire,
    /// Returning host semaphore permits, or notifying a host condition variable.
    Release,
    /// A loop back edge: a preemption point in code that may spin without synchronizing.
    Loop,
}

impl Operation {
    const ALL: [Operation; 15] = [
        Operation::AtomicLoad,
        Operation::AtomicStore,
        Operation::AtomicRmw,
        Operation::AtomicCmpxchg,
        Operation::Fence,
        Operation::Wait,
        Operation::Notify,
        Operation::Spawn,
        Operation::Join,
        Operation::Exit,
        Operation::Lock,
        Operation::Unlock,
        Operation::Acquire,
        Operation::Release,
        Operation::Loop,
    ];

    /// The operation's number, as compiled code passes it to the runtime.
    pub fn code(self) -> u32 {
        Self::ALL
            .iter()
            .position(|&operation| operation == self)
            .expect("every operation is listed") as u32
    }

    /// The operation numbered `code` by [`Operation::code`].
    pub fn from_code(code: u32) -> Option<Operation> {
        Self::ALL.get(code as usize).copied()
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::AtomicLoad => "atomic load",
            Operation::AtomicStore => "atomic store",
            Operation::AtomicRmw => "atomic read-modify-write",
            Operation::AtomicCmpxchg => "atomic compare-exchange",
            Operation::Fence => "fence",
            Operation::Wait => "wait",
            Operation::Notify => "notify",
            Operation::Spawn => "spawn",
            Operation::Join => "join",
            Operation::Exit => "exit",
            Operation::Lock => "lock",
            Operation::Unlock => "unlock",
            Operation::Acquire => "acquire",
            Operation::Release => "release",
            Operation::Loop => "loop back edge",
        })
    }
}

/// One schedule point a thread passed: what it did, where (a [`Site`] of the runtime's), and
/// at which address (0 where there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The step's number in the schedule, from 0.
    pub index: u64,
    /// The thread that took it.
    pub thread: ScheduledThread,
    /// What it did.
    pub operation: Operation,
    /// Where in the program.
    pub site: Site,
    /// The address of the memory or object it synchronized on; 0 for none.
    pub address: u64,
}

/// What a blocked thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitKey {
    /// A wake of an address: a `notify`, or an unlock or release of the host primitive there.
    Address(u64),
    /// The end of a thread.
    Thread(ScheduledThread),
}

/// How a blocked thread came to run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wakeup {
    /// A wake of its key.
    Woken,
    /// Its timeout passed: nothing else could run.
    TimedOut,
    /// The schedule was abandoned; the thread runs freely and should end its wait as if
    /// interrupted.
    Abandoned,
}

/// A thread that could not go on when the schedule deadlocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockedThread {
    /// The thread.
    pub thread: ScheduledThread,
    /// Where it blocked: its last step.
    pub step: Step,
    /// What it waited for.
    pub key: WaitKey,
}

/// What one schedule did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleSummary {
    /// Schedule points passed.
    pub steps: u64,
    /// Decisions: points where more than one thread could run.
    pub decisions: u64,
    /// Threads that took part, the root included.
    pub threads: u32,
    /// With every thread blocked and none able to time out: who waited for what.
    pub deadlock: Option<Vec<BlockedThread>>,
    /// The last [`TRACE_STEPS`] steps, oldest first.
    pub trace: Vec<Step>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Runnable,
    Blocked {
        key: WaitKey,
        timed: bool,
        /// When it blocked, for waking in FIFO order.
        since: u64,
    },
    /// Runnable again, with how it was woken, until it next runs.
    Woken(Wakeup),
    Finished,
}

struct Thread {
    status: Status,
    /// Signalled when the turn comes to this thread, or the schedule is abandoned: one per
    /// thread, so that passing the turn wakes only the thread that gets it.
    turn: Arc<Condvar>,
    /// Under PCT, higher runs first.
    priority: u64,
    /// The thread's last step, for the deadlock report.
    last: Option<Step>,
}

struct State {
    threads: Vec<Thread>,
    /// The thread whose turn it is; `None` once every thread has finished.
    running: Option<ScheduledThread>,
    /// Abandoned: every thread runs freely.
    free: bool,
    strategy: Strategy,
    rng: ChaCha8Rng,
    /// Under PCT, the decisions at which the running thread's priority drops, in order.
    change_points: Vec<u64>,
    steps: u64,
    decisions: u64,
    trace: VecDeque<Step>,
    deadlock: Option<Vec<BlockedThread>>,
}

/// Runs the threads of one schedule one at a time; see the module docs. Cheap to clone:
/// every thread of the schedule holds one.
#[derive(Clone)]
pub struct Scheduler {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    #[cfg(loom)]
    flaw: Option<ExploreFlaw>,
}

impl Scheduler {
    /// A schedule whose root (thread 0) is the calling thread, running; `seed` fixes every
    /// choice.
    pub fn new(strategy: Strategy, seed: u64) -> Scheduler {
        Self::build(strategy, seed, None)
    }

    /// [`Scheduler::new`] with a deliberate protocol bug, for the loom models.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(strategy: Strategy, seed: u64, flaw: ExploreFlaw) -> Scheduler {
        Self::build(strategy, seed, Some(flaw))
    }

    fn build(strategy: Strategy, seed: u64, flaw: Option<ExploreFlaw>) -> Scheduler {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let change_points = match strategy {
            Strategy::Pct { depth, length } => {
                // More change points than decisions change nothing more: the rest would
                // repeat decisions already drawn.
                let change_count = u64::from(depth.max(1) - 1).min(length.max(1));
                let mut points: Vec<u64> = (0..change_count)
                    .map(|_| rng.gen_range(1..=length.max(1)))
                    .collect();
                points.sort_unstable();
                points
            }
            Strategy::Random => Vec::new(),
        };
        let mut state = State {
            threads: Vec::new(),
            running: None,
            free: false,
            strategy,
            rng,
            change_points,
            steps: 0,
            decisions: 0,
            trace: VecDeque::with_capacity(TRACE_STEPS),
            deadlock: None,
        };
        let root = state.add_thread();
        state.running = Some(root);
        // Only loom builds keep the flaw.
        #[cfg(not(loom))]
        let _ = flaw;
        Scheduler {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                #[cfg(loom)]
                flaw,
            }),
        }
    }

    /// The root thread, which made the scheduler.
    pub fn root(&self) -> ScheduledThread {
        ScheduledThread(0)
    }

    /// Registers a thread that `parent` (whose turn it is) is starting, runnable from now on.
    /// The new thread's OS thread calls [`Scheduler::enter`] before it does anything else,
    /// and [`Scheduler::finish`] at its end; the parent then passes a [`Operation::Spawn`]
    /// point, where the new thread may be chosen.
    pub fn start_thread(&self) -> ScheduledThread {
        self.shared.state.lock().add_thread()
    }

    /// On a started thread's own OS thread: waits for its first turn.
    pub fn enter(&self, thread: ScheduledThread) {
        let state = self.shared.state.lock();
        drop(self.wait_turn(state, thread));
    }

    /// A schedule point of `thread`, whose turn it is: records the step, lets the strategy
    /// pick the next thread, and returns when it is `thread`'s turn again.
    pub fn point(&self, thread: ScheduledThread, operation: Operation, site: Site, address: u64) {
        let mut state = self.shared.state.lock();
        if state.free {
            return;
        }
        state.record(thread, operation, site, address);
        self.pass_turn(&mut state);
        drop(self.wait_turn(state, thread));
    }

    /// Blocks `thread` on `key` (at a step it records) until a wake of the key, its timeout
    /// if `timed` (only when nothing else can run), or the schedule's end. The caller has
    /// checked, in its turn, that it must block: nothing can change in between.
    pub fn block(
        &self,
        thread: ScheduledThread,
        key: WaitKey,
        timed: bool,
        (operation, site, address): (Operation, Site, u64),
    ) -> Wakeup {
        let mut state = self.shared.state.lock();
        if state.free {
            return Wakeup::Abandoned;
        }
        state.record(thread, operation, site, address);
        let since = state.steps;
        state.threads[thread.0 as usize].status = Status::Blocked { key, timed, since };
        self.pass_turn(&mut state);
        let mut state = self.wait_turn(state, thread);
        if state.free {
            return Wakeup::Abandoned;
        }
        let me = &mut state.threads[thread.0 as usize];
        match me.status {
            Status::Woken(wakeup) => {
                me.status = Status::Runnable;
                wakeup
            }
            other => unreachable!("a blocked thread ran while {other:?}"),
        }
    }

    /// Makes up to `count` threads blocked on `key` runnable, the longest-waiting first, and
    /// returns how many. The caller, whose turn it is, passes its own point after.
    pub fn wake(&self, key: WaitKey, count: u32) -> u32 {
        self.shared.state.lock().wake(key, count)
    }

    /// `thread` joins `joined`: returns at once if it has finished, else blocks until it
    /// does. Returns whether the join completed inside the schedule; `false` once the schedule is
    /// abandoned, when the caller joins by its own means.
    pub fn join(&self, thread: ScheduledThread, joined: ScheduledThread, site: Site) -> bool {
        let finished = {
            let state = self.shared.state.lock();
            if state.free {
                return false;
            }
            state.threads[joined.0 as usize].status == Status::Finished
        };
        if finished {
            self.point(thread, Operation::Join, site, 0);
            return true;
        }
        let step = (Operation::Join, site, 0);
        self.block(thread, WaitKey::Thread(joined), false, step) == Wakeup::Woken
    }

    /// `thread` has ended (`failed`: by a trap or exit that ends the program). Its joiners
    /// become runnable and the turn passes; the root's end, or a failure, ends the schedule.
    pub fn finish(&self, thread: ScheduledThread, failed: bool) {
        let mut state = self.shared.state.lock();
        if state.free {
            return;
        }
        state.record(thread, Operation::Exit, (0, 0), 0);
        state.threads[thread.0 as usize].status = Status::Finished;
        state.wake(WaitKey::Thread(thread), u32::MAX);
        if failed || thread == self.root() {
            state.free = true;
            Self::signal_all(&state);
        } else {
            self.pass_turn(&mut state);
        }
    }

    /// Ends the schedule: every thread runs freely from now on.
    pub fn abandon(&self) {
        let mut state = self.shared.state.lock();
        state.free = true;
        Self::signal_all(&state);
    }

    /// Whether the schedule has ended, so that threads run freely.
    pub fn is_abandoned(&self) -> bool {
        self.shared.state.lock().free
    }

    /// What the schedule did so far.
    pub fn summary(&self) -> ScheduleSummary {
        let state = self.shared.state.lock();
        ScheduleSummary {
            steps: state.steps,
            decisions: state.decisions,
            threads: state.threads.len() as u32,
            deadlock: state.deadlock.clone(),
            trace: state.trace.iter().copied().collect(),
        }
    }

    /// Gives the turn to the thread the strategy picks, waking a timed waiter if nothing can
    /// run, or abandoning the schedule as deadlocked if nothing can even time out.
    fn pass_turn(&self, state: &mut State) {
        let passing = state.running;
        state.decide(passing);
        state.running = state.pick();
        if self.flawed(ExploreFlaw::PassWithoutSignal) {
            return;
        }
        match state.running {
            // Still the passing thread's turn: nobody to wake.
            Some(next) if Some(next) == passing => {}
            Some(next) => state.threads[next.0 as usize].turn.notify_one(),
            None if !state.all_finished() => {
                state.deadlock = Some(state.blocked_threads());
                state.free = true;
                Self::signal_all(state);
            }
            None => {}
        }
    }

    /// Wakes every thread waiting for its turn: the schedule is over.
    fn signal_all(state: &State) {
        for thread in &state.threads {
            thread.turn.notify_one();
        }
    }

    /// Waits until it is `thread`'s turn or the schedule is abandoned. An interrupt (the
    /// engine terminating the thread) abandons the schedule, so that the thread can end.
    fn wait_turn<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        thread: ScheduledThread,
    ) -> MutexGuard<'a, State> {
        if self.has_turn(&state, thread) {
            return state;
        }
        let scheduler = self.clone();
        let Ok(guard) = begin_blocking(move || scheduler.abandon()) else {
            state.free = true;
            Self::signal_all(&state);
            return state;
        };
        let turn = Arc::clone(&state.threads[thread.0 as usize].turn);
        while !self.has_turn(&state, thread) {
            state = turn.wait(state);
        }
        drop(state);
        // Ended outside the lock: a hook that is running takes it to abandon the schedule.
        drop(guard);
        self.shared.state.lock()
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: ExploreFlaw) -> bool {
        self.shared.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: ExploreFlaw) -> bool {
        false
    }

    fn has_turn(&self, state: &State, thread: ScheduledThread) -> bool {
        if self.flawed(ExploreFlaw::RunWithoutTurn) {
            return true;
        }
        state.free || state.running == Some(thread)
    }
}

impl State {
    fn add_thread(&mut self) -> ScheduledThread {
        let priority = match self.strategy {
            // Above every priority a change point gives.
            Strategy::Pct { depth, .. } => self.rng.gen_range(u64::from(depth)..u64::MAX),
            Strategy::Random => 0,
        };
        self.threads.push(Thread {
            status: Status::Runnable,
            turn: Arc::new(Condvar::new()),
            priority,
            last: None,
        });
        ScheduledThread(self.threads.len() as u32 - 1)
    }

    fn record(&mut self, thread: ScheduledThread, operation: Operation, site: Site, address: u64) {
        let step = Step {
            index: self.steps,
            thread,
            operation,
            site,
            address,
        };
        self.steps += 1;
        if self.trace.len() == TRACE_STEPS {
            self.trace.pop_front();
        }
        self.trace.push_back(step);
        self.threads[thread.0 as usize].last = Some(step);
    }

    /// Counts a decision of the thread that was running, `thread`, if there is one to make;
    /// at a PCT change point it drops below every other, the later change points lower
    /// still.
    fn decide(&mut self, thread: Option<ScheduledThread>) {
        let runnable = self
            .threads
            .iter()
            .filter(|t| matches!(t.status, Status::Runnable | Status::Woken(_)))
            .count();
        if runnable < 2 {
            return;
        }
        self.decisions += 1;
        let Some(thread) = thread else {
            return;
        };
        if let Some(position) = self
            .change_points
            .iter()
            .position(|&at| at == self.decisions)
        {
            let remaining = self.change_points.len() - position;
            self.threads[thread.0 as usize].priority = remaining as u64;
            self.change_points[position] = 0;
        }
    }

    fn wake(&mut self, key: WaitKey, count: u32) -> u32 {
        let mut waiting: Vec<(u64, usize)> = self
            .threads
            .iter()
            .enumerate()
            .filter_map(|(index, thread)| match thread.status {
                Status::Blocked { key: k, since, .. } if k == key => Some((since, index)),
                _ => None,
            })
            .collect();
        waiting.sort_unstable();
        let woken = waiting.len().min(count as usize);
        for &(_, index) in &waiting[..woken] {
            self.threads[index].status = Status::Woken(Wakeup::Woken);
        }
        woken as u32
    }

    fn all_finished(&self) -> bool {
        self.threads.iter().all(|t| t.status == Status::Finished)
    }

    /// The next thread to run, by the strategy, among the runnable ones; if there are none,
    /// a timed waiter, which times out.
    fn pick(&mut self) -> Option<ScheduledThread> {
        let runnable = |t: &Thread| matches!(t.status, Status::Runnable | Status::Woken(_));
        if let Some(index) = self.choose(runnable) {
            return Some(ScheduledThread(index as u32));
        }
        let timed = |t: &Thread| matches!(t.status, Status::Blocked { timed: true, .. });
        let index = self.choose(timed)?;
        self.threads[index].status = Status::Woken(Wakeup::TimedOut);
        Some(ScheduledThread(index as u32))
    }

    /// The strategy's pick among the threads `candidate` accepts. Called at every point, so
    /// it allocates nothing.
    fn choose(&mut self, candidate: impl Fn(&Thread) -> bool) -> Option<usize> {
        let mut candidates = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, thread)| candidate(thread));
        let prioritized = match self.strategy {
            Strategy::Pct { length, .. } => self.decisions <= length.saturating_mul(2),
            Strategy::Random => false,
        };
        if prioritized {
            // Ties (vanishingly rare) go to the older thread.
            candidates
                .max_by_key(|&(index, thread)| (thread.priority, usize::MAX - index))
                .map(|(index, _)| index)
        } else {
            let count = candidates.clone().count();
            if count == 0 {
                return None;
            }
            let chosen = self.rng.gen_range(0..count);
            candidates.nth(chosen).map(|(index, _)| index)
        }
    }

    fn blocked_threads(&self) -> Vec<BlockedThread> {
        self.threads
            .iter()
            .enumerate()
            .filter_map(|(index, thread)| match thread.status {
                Status::Blocked { key, .. } => Some(BlockedThread {
                    thread: ScheduledThread(index as u32),
                    step: thread.last?,
                    key,
                }),
                _ => None,
            })
            .collect()
    }
}
