//! The guest threads one store spawns: ids, the live-thread limit, outcomes for joiners,
//! stopping every thread once one traps, and stopping one thread alone.
//!
//! The engine drives each thread through `reserve` (in the spawn intrinsic), then, on the new OS
//! thread, `start`, guest code, and `finish`; if the OS thread cannot be spawned it calls
//! `cancel` instead. The embedder collects outcomes with `join` and `join_all`, stops one thread
//! with `terminate`, and a dropped store calls `abort` and then `join_all`.
//!
//! The protocol, whose steps the loom models pin down (`loom_thread_group.rs`):
//! - **reserve** checks the limit and takes a slot in one critical section, so the limit bounds
//!   the live threads however many spawn at once.
//! - **start** checks whether the group is aborted and registers the thread's interrupter in one
//!   critical section. An abort takes the same lock, so it either comes first (and `start`
//!   refuses) or finds the interrupter (and interrupts it): no thread runs on un-interrupted.
//! - **abort**, and the first **finish** with an error, mark the group aborted and take the
//!   interrupter of every running thread under the lock, then call them after releasing it:
//!   an interrupter may take other locks (a wait queue's, a waiter's), and none of them is ever
//!   held while this one is taken. Taking the interrupter is what makes each thread interrupted
//!   at most once.
//! - **terminate** stops one thread under the same lock. A reserved thread is marked, and its
//!   `start` refuses it; a running one has its interrupter taken (so no abort calls it again,
//!   and after an abort there is none left to take) and called after releasing the lock. The
//!   thread is marked terminated in the same critical section, so the error it then finishes
//!   with is the end it was asked for, not a trap: it aborts nothing, and no other thread is
//!   interrupted.
//! - **finish** records the outcome under the lock and only then wakes every sleeper, so a
//!   joiner that looked and found nothing is asleep before the wakeup comes. A trapping thread
//!   counts as finished only once it has interrupted the others, so when `join_all` returns, no
//!   interrupt a trap caused is still on its way.

use std::collections::HashMap;
use std::fmt;
// The interrupter is std's `Arc` in loom builds too: loom's cannot hold a `dyn Interrupt`, and
// the count of references to an interrupter is no part of the protocol.
use std::sync::Arc;

use crate::Waiter;
use crate::flaw::GroupFlaw;
use crate::sync::{Condvar, Deadline, Mutex};
use std::time::Duration;

/// A guest thread's id within its group: the first is 1, and each `reserve` gets the next one,
/// so an id is never reused, even after its thread is joined.
pub type ThreadId = u32;

/// The engine's way to stop a running guest thread: set the thread's interrupt flag, which its
/// compiled code polls, and wake it if it is blocked (for a thread blocked in a
/// [`WaitQueue`](crate::WaitQueue), that is [`Waiter::interrupt`]).
///
/// A group calls it at most once per thread, without holding its own lock. The call can race
/// the thread's own `finish`, so it can land after the thread has stopped running guest code,
/// and must be harmless then.
pub trait Interrupt: Send + Sync {
    fn interrupt(&self);
}

impl Interrupt for Waiter {
    fn interrupt(&self) {
        Waiter::interrupt(self);
    }
}

/// How a guest thread ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<E> {
    /// It returned normally; possibly after an interrupt, if it returned before noticing.
    Finished,
    /// It trapped first: the group's error, which stopped every other thread.
    Trapped(E),
    /// The group stopped it before it finished: another thread trapped first, or the embedder
    /// called [`ThreadGroup::abort`] or [`ThreadGroup::terminate`]. Any error it ended with is
    /// dropped, because it is only the consequence (the engine reports an interrupt as a trap)
    /// or too late to matter.
    Aborted,
}

/// Host-side bookkeeping for the guest threads of one store. See the module documentation for
/// the protocol.
///
/// `E` is the engine's trap. It must be `Clone` because the first error is kept twice: as the
/// trapping thread's outcome, which goes to one joiner, and as the group's error, which every
/// `join_all` returns.
pub struct ThreadGroup<E> {
    state: Mutex<State<E>>,
    /// Signalled (to everyone) whenever a thread leaves `State::live`.
    finished: Condvar,
    /// The most threads live at once.
    limit: usize,
    #[cfg(loom)]
    flaw: Option<GroupFlaw>,
}

struct State<E> {
    /// Threads reserved and not yet finished (or cancelled).
    live: HashMap<ThreadId, Live>,
    /// Outcomes of finished threads nobody has joined yet.
    done: HashMap<ThreadId, Outcome<E>>,
    /// The id the next `reserve` hands out.
    next_id: ThreadId,
    /// Set for good by `abort` or the first error.
    aborted: bool,
    /// The first error any thread finished with, before the group was aborted.
    first_error: Option<E>,
}

/// Where a live thread is in its life.
enum Live {
    /// Reserved; its OS thread has not called `start` yet. `terminated` once `terminate` has
    /// come: `start` then refuses it.
    Reserved { terminated: bool },
    /// Running guest code. Holds the thread's interrupter until the group interrupts it, or the
    /// thread starts finishing, so the group never interrupts a thread twice.
    Running(Option<Arc<dyn Interrupt>>),
    /// Running guest code, and `terminate` has interrupted it: an error it finishes with is its
    /// own end, not the group's.
    Terminated,
    /// `start` found the group aborted or the thread terminated: it runs no guest code and ends
    /// `Aborted`.
    Refused,
}

impl<E> State<E> {
    /// The interrupters of every running thread the group has not interrupted yet, taken so
    /// that no later abort calls them again (unless `repeat`, the flaw).
    fn take_interrupters(&mut self, repeat: bool) -> Vec<Arc<dyn Interrupt>> {
        self.live
            .values_mut()
            .filter_map(|live| match live {
                Live::Running(interrupter) if repeat => interrupter.clone(),
                Live::Running(interrupter) => interrupter.take(),
                Live::Reserved { .. } | Live::Terminated | Live::Refused => None,
            })
            .collect()
    }
}

impl<E: Clone> ThreadGroup<E> {
    /// A group that allows `limit` threads live at once: reserved, and not yet finished or
    /// cancelled.
    pub fn new(limit: u32) -> Self {
        Self {
            state: Mutex::new(State {
                live: HashMap::new(),
                done: HashMap::new(),
                next_id: 1,
                aborted: false,
                first_error: None,
            }),
            finished: Condvar::new(),
            limit: limit as usize,
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A group whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(limit: u32, flaw: GroupFlaw) -> Self {
        Self {
            flaw: Some(flaw),
            ..Self::new(limit)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: GroupFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: GroupFlaw) -> bool {
        false
    }

    /// Takes a slot for a new thread and returns its id, or `None` if the group already has
    /// `limit` live threads, is aborted, or has used up its ids (after `u32::MAX - 1`).
    ///
    /// The slot stays taken until the thread's [`finish`](Self::finish), or
    /// [`cancel`](Self::cancel) if its OS thread cannot be spawned.
    pub fn reserve(&self) -> Option<ThreadId> {
        let mut state = self.state.lock();
        if state.aborted || state.live.len() >= self.limit {
            return None;
        }
        if self.flawed(GroupFlaw::ReserveInTwoSteps) {
            drop(state);
            state = self.state.lock();
        }
        Self::take_slot(&mut state)
    }

    /// As [`reserve`](Self::reserve), but while the group is at its limit, waits up to
    /// `patience` for a thread to finish. A guest learns that a thread has ended from the
    /// thread itself, a moment before the thread's `finish`, so a guest that joins a thread and
    /// spawns another in its place would otherwise be refused now and then.
    pub fn reserve_within(&self, patience: Duration) -> Option<ThreadId> {
        let deadline = Deadline::after(patience);
        let mut state = self.state.lock();
        while !state.aborted && state.live.len() >= self.limit {
            if self.flawed(GroupFlaw::CheckThenWait) {
                drop(state);
                state = self.state.lock();
            }
            let expired;
            (state, expired) = match deadline {
                Some(deadline) => self.finished.wait_until(state, deadline),
                None => (self.finished.wait(state), false),
            };
            if expired {
                break;
            }
        }
        if state.aborted || state.live.len() >= self.limit {
            return None;
        }
        Self::take_slot(&mut state)
    }

    /// Reserves the next id in a group known to have room.
    fn take_slot(state: &mut State<E>) -> Option<ThreadId> {
        let id = state.next_id;
        state.next_id = id.checked_add(1)?;
        state.live.insert(id, Live::Reserved { terminated: false });
        Some(id)
    }

    /// Called by thread `id`'s OS thread before it runs guest code: registers the interrupter
    /// the group calls to stop it. Returns false if the group is already aborted, or the thread
    /// has been [`terminate`](Self::terminate)d; the thread must then run no guest code, and
    /// still call [`finish`](Self::finish), which records [`Outcome::Aborted`] whatever it is
    /// passed.
    ///
    /// # Panics
    ///
    /// If `id` is not reserved, or has already started.
    pub fn start(&self, id: ThreadId, interrupter: Arc<dyn Interrupt>) -> bool {
        let mut state = self.state.lock();
        let aborted = state.aborted;
        if self.flawed(GroupFlaw::StartInTwoSteps) {
            drop(state);
            state = self.state.lock();
        }
        let Some(&Live::Reserved { terminated }) = state.live.get(&id) else {
            panic!("thread {id} is not reserved");
        };
        let refused = aborted || terminated;
        state.live.insert(
            id,
            if refused {
                Live::Refused
            } else {
                Live::Running(Some(interrupter))
            },
        );
        !refused
    }

    /// Called by thread `id`'s OS thread once it has stopped running guest code (or, if it never
    /// got to `start`, instead of it), with how the guest code ended. Frees the thread's slot,
    /// records its [`Outcome`] and wakes its joiners.
    ///
    /// The first error, while the group is not aborted, is the group's error: the thread is
    /// `Trapped`, the group is aborted, and every other running thread is interrupted before this
    /// thread counts as finished. An error after that (typically the interrupt's own trap) makes
    /// the thread `Aborted`, as does an error from a [`terminate`](Self::terminate)d thread (which
    /// aborts nothing), and any result from a thread whose `start` returned false. `Ok` from a
    /// thread that ran is `Finished`, even after an abort or its termination.
    ///
    /// # Panics
    ///
    /// If `id` is not live: never reserved, cancelled, or already finished.
    pub fn finish(&self, id: ThreadId, result: Result<(), E>) {
        if self.flawed(GroupFlaw::NotifyBeforeRecord) {
            self.finished.notify_all();
        }
        let mut state = self.state.lock();
        let Some(live) = state.live.get_mut(&id) else {
            panic!("thread {id} is not live");
        };
        // Nobody interrupts a thread that is finishing: it is no longer running guest code.
        let before = std::mem::replace(live, Live::Running(None));
        let refused = matches!(before, Live::Refused | Live::Reserved { terminated: true });
        let terminated =
            matches!(before, Live::Terminated) && !self.flawed(GroupFlaw::TerminatedErrorTraps);
        let outcome = match result {
            _ if refused => Outcome::Aborted,
            Ok(()) => Outcome::Finished,
            Err(_) if state.aborted || terminated => Outcome::Aborted,
            Err(error) => {
                state.aborted = true;
                state.first_error = Some(error.clone());
                let interrupters =
                    state.take_interrupters(self.flawed(GroupFlaw::InterruptRepeatedly));
                drop(state);
                interrupt_all(interrupters);
                state = self.state.lock();
                Outcome::Trapped(error)
            }
        };
        state.live.remove(&id);
        state.done.insert(id, outcome);
        drop(state);
        if !self.flawed(GroupFlaw::NotifyBeforeRecord) {
            self.wake_sleepers();
        }
    }

    /// Releases the slot of a reserved thread whose OS thread could not be spawned. The id is
    /// forgotten, as if never reserved: joining it returns `None`.
    ///
    /// # Panics
    ///
    /// If `id` is not reserved, or has already started.
    pub fn cancel(&self, id: ThreadId) {
        let mut state = self.state.lock();
        assert!(
            matches!(state.live.get(&id), Some(Live::Reserved { .. })),
            "thread {id} is not reserved"
        );
        state.live.remove(&id);
        drop(state);
        self.wake_sleepers();
    }

    /// Stops the group, as the embedder's decision rather than a thread's error: no thread
    /// reserves or starts from now on, and every running thread is interrupted (once; a thread
    /// already interrupted is not interrupted again). Returns once those interrupts are
    /// delivered, without waiting for the threads to finish: that is [`join_all`](Self::join_all).
    pub fn abort(&self) {
        let mut state = self.state.lock();
        state.aborted = true;
        let interrupters = state.take_interrupters(self.flawed(GroupFlaw::InterruptRepeatedly));
        drop(state);
        interrupt_all(interrupters);
    }

    /// Stops thread `id` alone, as the embedder's decision: a running thread is interrupted, and
    /// a reserved one is refused by its `start`. Unlike a trap it aborts nothing: an error the
    /// thread then finishes with (typically the interrupt's own trap) makes it
    /// [`Outcome::Aborted`], is not the group's error, and interrupts no other thread; `Ok` still
    /// makes it `Finished`. Like [`abort`](Self::abort), it returns once the interrupt is
    /// delivered, without waiting for the thread to finish.
    ///
    /// Returns whether this call stopped the thread: false, doing nothing, if the thread is not
    /// live (finished, cancelled or never reserved), is finishing, or was already stopped, by
    /// an earlier `terminate` or by the group's abort (each thread is interrupted at most once).
    pub fn terminate(&self, id: ThreadId) -> bool {
        let mut state = self.state.lock();
        let aborted = state.aborted;
        let forget_reserved = self.flawed(GroupFlaw::TerminateForgetsReserved);
        let Some(live) = state.live.get_mut(&id) else {
            return false;
        };
        let interrupter = match live {
            Live::Reserved { terminated } => {
                let stopped = !(aborted || *terminated);
                if !forget_reserved {
                    *terminated = true;
                }
                return stopped;
            }
            Live::Running(interrupter) => interrupter.take(),
            Live::Terminated | Live::Refused => None,
        };
        let Some(interrupter) = interrupter else {
            return false;
        };
        *live = Live::Terminated;
        drop(state);
        interrupter.interrupt();
        true
    }

    /// Blocks until thread `id` has finished and returns its outcome, which only the first
    /// joiner gets. `None` if `id` was never reserved, was cancelled, or was already joined
    /// (by `join` or `join_all`).
    pub fn join(&self, id: ThreadId) -> Option<Outcome<E>> {
        let mut state = self.state.lock();
        loop {
            if let Some(outcome) = state.done.remove(&id) {
                return Some(outcome);
            }
            if !state.live.contains_key(&id) {
                return None;
            }
            state = self.finished.wait(state);
        }
    }

    /// Blocks until no thread is live, then discards every outcome not yet joined. Returns the
    /// group's error, the first error any thread finished with, if there was one (every call
    /// does, from then on); an [`abort`](Self::abort) alone is not an error.
    ///
    /// Threads reserved while it waits are waited for too, so a group that keeps spawning
    /// keeps it waiting; a dropped store calls `abort` first.
    pub fn join_all(&self) -> Result<(), E> {
        let mut state = self.state.lock();
        while !state.live.is_empty() {
            state = self.finished.wait(state);
        }
        state.done.clear();
        match &state.first_error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Whether the group is aborted: by [`abort`](Self::abort), or because a thread trapped.
    pub fn is_aborted(&self) -> bool {
        self.state.lock().aborted
    }

    /// The threads live now: reserved, and not yet finished or cancelled.
    pub fn live(&self) -> usize {
        self.state.lock().live.len()
    }

    /// Wakes every joiner: they may wait for different threads, or all for `join_all`.
    fn wake_sleepers(&self) {
        if self.flawed(GroupFlaw::WakeOneJoiner) {
            self.finished.notify_one();
        } else {
            self.finished.notify_all();
        }
    }
}

fn interrupt_all(interrupters: Vec<Arc<dyn Interrupt>>) {
    for interrupter in interrupters {
        interrupter.interrupt();
    }
}

impl<E> fmt::Debug for ThreadGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("ThreadGroup")
            .field("limit", &self.limit)
            .field("live", &state.live.len())
            .field("aborted", &state.aborted)
            .finish_non_exhaustive()
    }
}
