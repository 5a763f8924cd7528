//! What a thread the runtime starts carries for the concurrency tools: its race-detector
//! thread (`vm::race`) and its place in a schedule being explored (`vm::explore`). Every
//! thread runtime (guest threads, wasi-threads, an embedder's own threads through the API)
//! starts, enters, finishes and joins threads through this one hand-off.

use super::explore::{TurnHandoff, TurnScope};
use super::race::{RaceScope, RaceTracker};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use weft_threads::{RaceThread, ThreadId};

/// Made on the starting thread by [`Handoff::fork`]; see the steps on each method.
#[derive(Clone)]
pub(crate) struct Handoff {
    race: Option<(Arc<RaceTracker>, RaceThread)>,
    turn: Option<TurnHandoff>,
}

/// The new thread runs as its hand-off's thread until this is finished or dropped.
#[must_use = "the thread leaves the tools' view when this is dropped"]
pub(crate) struct Entered {
    _race: Option<RaceScope>,
    turn: Option<TurnScope>,
}

impl Handoff {
    /// On the starting thread, before the new one exists: with race detection (`race`), the
    /// new thread's detector thread, forked from the caller's; in a schedule, its place there.
    pub fn fork(race: Option<&Arc<RaceTracker>>) -> Handoff {
        Handoff {
            race: race.map(|tracker| (Arc::clone(tracker), tracker.fork())),
            turn: TurnHandoff::fork(),
        }
    }

    /// Whether neither tool is watching: nothing needs the hand-off kept for a join.
    pub fn is_empty(&self) -> bool {
        self.race.is_none() && self.turn.is_none()
    }

    /// On the starting thread, once the new OS thread exists.
    pub fn started(&self) {
        if let Some(turn) = &self.turn {
            turn.started();
        }
    }

    /// On the starting thread, if the new OS thread could not be made.
    pub fn cancel(&self) {
        if let Some(turn) = &self.turn {
            turn.cancel();
        }
    }

    /// On the new thread, before it runs anything.
    pub fn enter(&self) -> Entered {
        Entered {
            _race: self
                .race
                .as_ref()
                .map(|(tracker, thread)| tracker.enter(*thread)),
            turn: self.turn.as_ref().map(TurnHandoff::enter),
        }
    }

    /// On a thread about to wait for this one by other means: in a schedule, waits there
    /// until it has finished, so that the other wait does not hold the turn.
    pub fn before_join(&self) {
        if let Some(turn) = &self.turn {
            turn.join();
        }
    }

    /// On a thread whose wait for this one has returned: what this one did happens before
    /// what the caller does next.
    pub fn after_join(&self) {
        if let Some((tracker, thread)) = &self.race {
            tracker.join(*thread);
        }
    }
}

impl Entered {
    /// At the thread's end: `failed` if it trapped or exited in a way that ends the program,
    /// which ends a schedule.
    pub fn finish(self, failed: bool) {
        if let Some(turn) = self.turn {
            turn.finish(failed);
        }
    }
}

/// The hand-offs of a runtime's threads that a join must see, by thread id: the runtime
/// records one when it starts a thread the tools watch, and its joins go through here, so
/// that a join in a schedule gives up the turn and a join orders the race detector.
#[derive(Default)]
pub(crate) struct JoinHandoffs {
    pending: Mutex<HashMap<ThreadId, Handoff>>,
}

impl JoinHandoffs {
    /// Keeps thread `id`'s hand-off for its join, unless no tool watches it.
    pub fn record(&self, id: ThreadId, handoff: &Handoff) {
        if !handoff.is_empty() {
            self.pending().insert(id, handoff.clone());
        }
    }

    /// Forgets thread `id`, which did not start.
    pub fn forget(&self, id: ThreadId) {
        self.pending().remove(&id);
    }

    /// `wait` for thread `id`, inside its hand-off's join steps.
    pub fn join<R>(&self, id: ThreadId, wait: impl FnOnce() -> R) -> R {
        let handoff = self.pending().remove(&id);
        if let Some(handoff) = &handoff {
            handoff.before_join();
        }
        let outcome = wait();
        if let Some(handoff) = &handoff {
            handoff.after_join();
        }
        outcome
    }

    /// `wait` for every thread, inside the join steps of every recorded hand-off, in the
    /// order the threads were started (a schedule replays only if its joins do), including
    /// those that the threads joined here start meanwhile.
    pub fn join_all<R>(&self, wait: impl FnOnce() -> R) -> R {
        let mut joined = Vec::new();
        loop {
            let mut batch: Vec<(ThreadId, Handoff)> = self.pending().drain().collect();
            if batch.is_empty() {
                break;
            }
            batch.sort_unstable_by_key(|(id, _)| *id);
            for (_, handoff) in batch {
                handoff.before_join();
                joined.push(handoff);
            }
        }
        let outcome = wait();
        joined.iter().for_each(Handoff::after_join);
        outcome
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<ThreadId, Handoff>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
