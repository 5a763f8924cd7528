//! How an embedder's own threads take part in what weft's concurrency tools see, as weft's
//! own thread runtimes' threads do.

use crate::vm::{Entered, Handoff};

/// A thread the calling thread is about to start to run wasm, as the engine's concurrency
/// tools need to know it: with race detection
/// ([`Config::detect_races`](crate::Config::detect_races)) the new thread is ordered after
/// what its starter did so far and before what its joiner does next; in a schedule being
/// explored ([`Engine::explore`](crate::Engine::explore)) it is one of the schedule's
/// threads, run one at a time with the others.
///
/// The steps, each on the thread named:
/// 1. the starter makes it with [`Engine::thread_handoff`](crate::Engine::thread_handoff),
///    before the new thread exists;
/// 2. the starter calls [`started`](ThreadHandoff::started) once the OS thread exists, or
///    [`cancel`](ThreadHandoff::cancel) if it could not be made;
/// 3. the new thread calls [`enter`](ThreadHandoff::enter) before it does anything else, and
///    [`finish`](ThreadEntered::finish)es (or drops) the guard at its end;
/// 4. a thread that waits for it does so inside [`join`](ThreadHandoff::join).
///
/// With neither tool on, every step does nothing. Cheap to clone.
#[derive(Clone)]
pub struct ThreadHandoff(pub(crate) Handoff);

/// The calling thread runs as a [`ThreadHandoff`]'s thread until this is finished or
/// dropped.
#[must_use = "the thread runs as the handed-off thread only until this is dropped"]
pub struct ThreadEntered(Entered);

impl ThreadHandoff {
    /// On the starting thread, once the new OS thread exists: in a schedule, a point where
    /// the new thread may be chosen to run.
    pub fn started(&self) {
        self.0.started();
    }

    /// On the starting thread, when the new OS thread could not be made.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// On the new thread, before it runs anything: in a schedule, waits for the thread's
    /// first turn.
    pub fn enter(&self) -> ThreadEntered {
        ThreadEntered(self.0.enter())
    }

    /// Waits for the thread with `wait` (an OS join, say), on the waiting thread. In a
    /// schedule, the caller first waits inside it for the thread to finish, so that `wait`
    /// does not hold the turn; afterwards, everything the thread did happens before what
    /// the caller does next.
    pub fn join<R>(&self, wait: impl FnOnce() -> R) -> R {
        self.0.before_join();
        let waited = wait();
        self.0.after_join();
        waited
    }
}

impl ThreadEntered {
    /// At the thread's end: `failed` if it failed in a way that ends the program (a trap
    /// that stops every thread), which ends a schedule. Dropping the guard finishes as
    /// failed only while panicking.
    pub fn finish(self, failed: bool) {
        self.0.finish(failed);
    }
}
