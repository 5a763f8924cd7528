//! What a thread the runtime starts carries for the concurrency tools: its race-detector
//! thread (`vm::race`) and its place in a schedule being explored (`vm::explore`). Every
//! thread runtime (guest threads, wasi-threads, an embedder's own threads through the API)
//! starts, enters, finishes and joins threads through this one hand-off.

use super::explore::{TurnHandoff, TurnScope};
use super::race::{RaceScope, RaceTracker};
use std::sync::Arc;
use weft_threads::RaceThread;

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
