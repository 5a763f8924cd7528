//! Making a thread notice an interrupt while it runs code that never looks for one.
//!
//! Compiled wasm checks for an interrupt where it calls (every function entry), but a loop
//! without calls never does, and checking at every loop header costs tight loops 5 to 10%. So
//! the engine interrupts such a thread by *nudging* it: a signal whose handler, on that thread,
//! stops the wasm code if the thread is at an instruction of it. If the signal lands in host
//! code (a libcall, a host function, the runtime between calls), the handler cannot unwind
//! from there, and the thread may go back to a loop afterwards. So nudges are repeated until
//! the handler reports that nothing is left to stop. This module is that repetition; what a
//! nudge is and what its handler does are the engine's.
//!
//! The protocol, whose steps `loom_nudge.rs` pins down:
//! - **request**: the interrupter first sets its own flag (the engine's interrupt flag of the
//!   thread's blocks), then counts a request on the target ([`Courier::request`]), nudges it at
//!   once, and hands it to the courier.
//! - **answer**: the handler reads the request count ([`NudgeTarget::requests`]) *before* it
//!   looks at the flags, then, if it stopped the code or found nothing to stop, answers with
//!   that count ([`NudgeTarget::answer`]). If it found an interrupted thread it could not stop
//!   (in host code), it does not answer.
//! - **courier**: nudges every target whose answers lag its requests again, with growing
//!   pauses between rounds ([`Courier::serve`]), and forgets it once it has answered the latest
//!   request or its thread has ended ([`NudgeTarget::retire`]).
//!
//! Answering with the count read before the look is what makes a stale answer harmless: a
//! handler that had already looked when a request came in answers only the requests before
//! it, so the courier goes on nudging for the new one.

use std::fmt;
use std::time::Duration;

use crate::flaw::NudgeFlaw;
use crate::sync::{Arc, AtomicU64, Condvar, Deadline, Mutex, Ordering};

/// The courier's first pause after a request; each round doubles it up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two rounds: how late, at worst, a thread that went back from
/// host code to a loop is stopped.
const LONGEST_PAUSE: Duration = Duration::from_millis(32);

type Nudge = Box<dyn Fn() + Send + Sync>;

/// A thread that can be nudged: how to nudge it, and the requests and answers of the protocol.
pub struct NudgeTarget {
    /// Requests so far.
    requested: AtomicU64,
    /// The highest request count a handler has answered.
    answered: AtomicU64,
    /// Whether the thread still exists. Nudges are sent under this lock, so none is sent once
    /// [`NudgeTarget::retire`] has returned.
    alive: Mutex<bool>,
    nudge: Nudge,
    #[cfg(loom)]
    flaw: Option<NudgeFlaw>,
}

impl NudgeTarget {
    /// A target that `nudge` nudges; called with the target's lock held, from any thread.
    pub fn new(nudge: impl Fn() + Send + Sync + 'static) -> Self {
        NudgeTarget {
            requested: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            alive: Mutex::new(true),
            nudge: Box::new(nudge),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A target whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(nudge: impl Fn() + Send + Sync + 'static, flaw: NudgeFlaw) -> Self {
        NudgeTarget {
            flaw: Some(flaw),
            ..Self::new(nudge)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: NudgeFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: NudgeFlaw) -> bool {
        false
    }

    /// The requests a handler's answer will cover: read at the start of the handler, before it
    /// looks at anything. Lock-free, so a signal handler may call it.
    pub fn requests(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    /// The handler stopped the code, or found nothing to stop, having read `requests` before it
    /// looked. Lock-free, so a signal handler may call it.
    pub fn answer(&self, requests: u64) {
        let requests = if self.flawed(NudgeFlaw::AnswerLatest) {
            self.requested.load(Ordering::SeqCst)
        } else {
            requests
        };
        self.answered.fetch_max(requests, Ordering::SeqCst);
    }

    /// The thread is ending: no nudge reaches it from now on.
    pub fn retire(&self) {
        *self.alive.lock() = false;
    }

    /// Whether the courier is done with this target: the latest request is answered, or the
    /// thread has ended.
    fn settled(&self) -> bool {
        self.answered.load(Ordering::SeqCst) >= self.requested.load(Ordering::SeqCst)
            || !*self.alive.lock()
    }

    fn nudge_if_alive(&self) {
        let alive = self.alive.lock();
        if self.flawed(NudgeFlaw::NudgeOutsideLock) {
            let was_alive = *alive;
            drop(alive);
            if was_alive {
                (self.nudge)();
            }
        } else if *alive {
            (self.nudge)();
        }
    }
}

impl fmt::Debug for NudgeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NudgeTarget")
            .field("requested", &self.requested.load(Ordering::Relaxed))
            .field("answered", &self.answered.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Nudges targets again until they answer; one serves a whole process, from a thread of its
/// own running [`Courier::serve`].
pub struct Courier {
    state: Mutex<Round>,
    /// Signalled when a request comes in.
    wake: Condvar,
}

struct Round {
    pending: Vec<Arc<NudgeTarget>>,
    pause: Duration,
}

impl Default for Courier {
    fn default() -> Self {
        Self::new()
    }
}

impl Courier {
    pub fn new() -> Self {
        Courier {
            state: Mutex::new(Round {
                pending: Vec::new(),
                pause: FIRST_PAUSE,
            }),
            wake: Condvar::new(),
        }
    }

    /// Counts a request on `target`, nudges it once now, and keeps nudging it from the courier's
    /// thread until it answers. The caller has already set whatever the handler looks at.
    pub fn request(&self, target: &Arc<NudgeTarget>) {
        target.requested.fetch_add(1, Ordering::SeqCst);
        target.nudge_if_alive();
        let mut round = self.state.lock();
        if !round.pending.iter().any(|t| Arc::ptr_eq(t, target)) {
            round.pending.push(Arc::clone(target));
        }
        round.pause = FIRST_PAUSE;
        drop(round);
        self.wake.notify_one();
    }

    /// One round: forgets the settled targets and nudges the others again; returns how many
    /// are still pending.
    pub fn round(&self) -> usize {
        let pending = {
            let mut round = self.state.lock();
            round.pending.retain(|target| !target.settled());
            round.pending.clone()
        };
        // Outside the courier's lock: a nudge takes the target's lock, which a request holds
        // while it nudges, and a request must never wait for a round.
        for target in &pending {
            target.nudge_if_alive();
        }
        pending.len()
    }

    /// The courier thread's body: sleeps while nothing is pending, otherwise runs rounds with a
    /// pause before each that doubles from 1 ms to 32 ms and starts over at each request.
    pub fn serve(&self) -> ! {
        loop {
            let mut round = self.state.lock();
            while round.pending.is_empty() {
                round = self.wake.wait(round);
            }
            let pause = round.pause;
            round.pause = (pause * 2).min(LONGEST_PAUSE);
            if let Some(deadline) = Deadline::after(pause) {
                round = self.wake.wait_until(round, deadline).0;
            }
            drop(round);
            self.round();
        }
    }
}

impl fmt::Debug for Courier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Courier")
            .field("pending", &self.state.lock().pending.len())
            .finish()
    }
}
