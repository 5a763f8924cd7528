//! OS threads kept for reuse. Starting an OS thread costs a `clone`, a stack and its guard,
//! an alternate signal stack and their teardown; a guest that starts and joins threads in a
//! loop (a thread per task, as pthread programs often do) pays that on every spawn. A
//! finished thread instead waits, idle, for the next job, and a spawn hands its job to an
//! idle thread when there is one.
//!
//! The protocol (checked by `loom_thread_cache.rs`):
//!
//! - [`ThreadCache::run`] counts the job as running, then takes an idle thread's slot off the
//!   idle list and puts the job in it, or, with no idle thread, gives the caller a [`Worker`]
//!   to start a new thread with. Counting first means that [`ThreadCache::wait_idle`] never
//!   returns while a handed-out job has yet to start.
//! - A worker runs its job, then counts it done and, unless the cache is closed or already has
//!   its most idle threads, puts its slot on the idle list and sleeps on the slot.
//! - A slot taken off the idle list always gets a job or a close. So a worker whose idle time
//!   runs out leaves only if its slot is still on the list, which it checks and removes under
//!   the cache's lock; if a `run` took it first, the job is on its way and the worker waits for
//!   it.
//! - [`ThreadCache::close`] marks the cache closed and wakes every idle thread to leave; busy
//!   ones leave after their job. The owner then joins the threads it started.
//!
//! Each job starts with a fresh [`Waiter`] for its thread: interrupts meant for the thread's
//! previous job, which may still be on their way through a record holding the old one, cannot
//! reach the next job.

use std::time::Duration;

use crate::Waiter;
use crate::flaw::CacheFlaw;
use crate::sync::{Arc, Condvar, Deadline, Mutex};

/// Work for a thread of the cache.
pub type Job = Box<dyn FnOnce() + Send>;

/// Where an idle thread waits for its next job.
struct Slot {
    next: Mutex<Next>,
    ready: Condvar,
}

enum Next {
    Nothing,
    Job(Job),
    Leave,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            next: Mutex::new(Next::Nothing),
            ready: Condvar::new(),
        }
    }

    fn give(&self, next: Next) {
        *self.next.lock() = next;
        self.ready.notify_one();
    }
}

struct State {
    idle: Vec<Arc<Slot>>,
    /// Jobs handed out and not yet returned.
    running: usize,
    closed: bool,
}

/// OS threads that finished a job, waiting for the next one.
pub struct ThreadCache {
    state: Mutex<State>,
    /// Signalled when `running` drops to zero.
    all_done: Condvar,
    max_idle: usize,
    idle_timeout: Duration,
    #[cfg(loom)]
    flaw: Option<CacheFlaw>,
}

/// What a new thread of the cache runs: its first job, then whatever the cache hands it, until
/// it has been idle for the cache's timeout, or the cache has enough idle threads, or closes.
/// Dropped without running (no thread could be started for it), it forgets its job.
#[must_use = "a worker runs its job only when a thread runs it"]
pub struct Worker {
    cache: Arc<ThreadCache>,
    /// `None` once a thread runs it.
    first: Option<Job>,
}

impl ThreadCache {
    /// A cache that keeps at most `max_idle` idle threads, each for at most `idle_timeout`.
    pub fn new(max_idle: usize, idle_timeout: Duration) -> ThreadCache {
        ThreadCache {
            state: Mutex::new(State {
                idle: Vec::new(),
                running: 0,
                closed: false,
            }),
            all_done: Condvar::new(),
            max_idle,
            idle_timeout,
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A cache whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(max_idle: usize, flaw: CacheFlaw) -> ThreadCache {
        ThreadCache {
            flaw: Some(flaw),
            ..ThreadCache::new(max_idle, Duration::ZERO)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: CacheFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: CacheFlaw) -> bool {
        false
    }

    /// Runs `job` on an idle thread, or returns the [`Worker`] a new thread must run, if no
    /// thread is idle.
    /// (An associated function, as loom's `Arc` cannot be a receiver.)
    pub fn run(cache: &Arc<ThreadCache>, job: Job) -> Option<Worker> {
        let mut state = cache.state.lock();
        if !cache.flawed(CacheFlaw::CountWhenStarted) {
            state.running += 1;
        }
        let Some(slot) = state.idle.pop() else {
            return Some(Worker {
                cache: Arc::clone(cache),
                first: Some(job),
            });
        };
        drop(state);
        slot.give(Next::Job(job));
        None
    }

    /// Waits until every job handed out so far has returned.
    pub fn wait_idle(&self) {
        let mut state = self.state.lock();
        while state.running > 0 {
            state = self.all_done.wait(state);
        }
    }

    /// Makes every idle thread leave now and every busy one after its job. Jobs run later
    /// get threads of their own, which leave when done.
    pub fn close(&self) {
        let idle = {
            let mut state = self.state.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        if self.flawed(CacheFlaw::CloseForgetsIdle) {
            return;
        }
        for slot in idle {
            slot.give(Next::Leave);
        }
    }

    /// Idle threads now.
    pub fn idle(&self) -> usize {
        self.state.lock().idle.len()
    }

    fn started(&self) {
        if self.flawed(CacheFlaw::CountWhenStarted) {
            self.state.lock().running += 1;
        }
    }

    fn finished(&self) {
        let mut state = self.state.lock();
        state.running -= 1;
        if state.running == 0 {
            self.all_done.notify_all();
        }
    }

    /// Puts `slot` on the idle list; false if the thread should leave instead.
    fn park(&self, slot: &Arc<Slot>) -> bool {
        let mut state = self.state.lock();
        if state.closed || state.idle.len() >= self.max_idle {
            return false;
        }
        state.idle.push(Arc::clone(slot));
        true
    }

    /// Takes `slot` off the idle list if it is still there; false if a `run` took it first.
    fn unpark(&self, slot: &Arc<Slot>) -> bool {
        if self.flawed(CacheFlaw::LeaveWithoutRecheck) {
            return true;
        }
        let mut state = self.state.lock();
        match state.idle.iter().position(|idle| Arc::ptr_eq(idle, slot)) {
            Some(index) => {
                state.idle.swap_remove(index);
                true
            }
            None => false,
        }
    }

    /// Waits on `slot`, put on the idle list, for the next job; `None` when the thread should
    /// leave.
    fn next_job(&self, slot: &Arc<Slot>) -> Option<Job> {
        let mut deadline = Deadline::after(self.idle_timeout);
        let mut next = slot.next.lock();
        loop {
            match std::mem::replace(&mut *next, Next::Nothing) {
                Next::Job(job) => return Some(job),
                Next::Leave => return None,
                Next::Nothing => {}
            }
            let Some(until) = deadline else {
                next = slot.ready.wait(next);
                continue;
            };
            let (guard, expired) = slot.ready.wait_until(next, until);
            next = guard;
            if expired && matches!(*next, Next::Nothing) {
                drop(next);
                if self.unpark(slot) {
                    return None;
                }
                // A `run` took the slot: its job (or a close) is coming; wait for it.
                deadline = None;
                next = slot.next.lock();
            }
        }
    }

    /// The model's clock: every idle thread's idle time runs out.
    #[cfg(all(loom, test))]
    pub(crate) fn expire_idle(&self) {
        for slot in self.state.lock().idle.iter() {
            let _next = slot.next.lock();
            slot.ready.expire();
        }
    }
}

impl Worker {
    /// Runs the first job, then later ones, on the calling thread, until it should leave.
    pub fn run(mut self) {
        let Some(mut job) = self.first.take() else {
            return;
        };
        let cache = Arc::clone(&self.cache);
        drop(self);
        let slot = Arc::new(Slot::new());
        loop {
            Waiter::renew();
            cache.started();
            job();
            cache.finished();
            if !cache.park(&slot) {
                return;
            }
            match cache.next_job(&slot) {
                Some(next) => job = next,
                None => return,
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.first.take().is_some() {
            self.cache.finished();
        }
    }
}
