//! Guest threads from the embedder's side: spawning a shared function on its own thread,
//! joining threads and reading how each ended.
//!
//! Guest code spawns with the `"wasm:thread"` intrinsics, which every `Linker` provides; the
//! crate docs give their types and an example. A trap in any guest thread interrupts every
//! other thread of the store (running code and blocked waits at once) and is reported by the next [`Store::join_threads`], or by the embedder's call that
//! was running when it happened.
//!
//! Only shared functions run on guest threads, and validation keeps shared code away from
//! unshared state, so everything unshared stays with the thread that owns the store.

use super::error::{Error, ThreadError, UsageError};
use super::func::{Func, unwind_to_error};
use super::store::{AsContextMut, Store};
use crate::vm::{GuestThreads, Refusal, SpawnError, ThreadFailure, ThreadOutcome as VmOutcome};
use std::sync::{Arc, Weak};

pub use weft_threads::ThreadId;

/// How a joined guest thread ended.
#[derive(Debug)]
pub enum ThreadOutcome {
    /// Its function returned.
    Finished,
    /// It trapped (or a host function it called failed), which aborted the other threads.
    Trapped(Error),
    /// It was stopped because another thread trapped, or by [`Terminator::terminate`].
    Aborted,
}

/// Stops a store's threads, or a wasi-threads process's, from any thread, for example a
/// watchdog's: see [`Terminator::terminate`]. It may outlive what it stops, and then does
/// nothing.
#[derive(Clone)]
pub struct Terminator(Stops);

#[derive(Clone)]
enum Stops {
    Store(Arc<GuestThreads>),
    /// Weak, so that a terminator kept by the embedder does not keep a process's threads
    /// from being joined when it is dropped.
    Process(Weak<dyn StopProcess>),
}

/// What a [`Terminator`] does to a wasi-threads process.
pub(crate) trait StopProcess: Send + Sync {
    fn terminate(&self);
    fn terminate_thread(&self, id: ThreadId) -> bool;
}

impl Terminator {
    pub(crate) fn of_process(process: Weak<dyn StopProcess>) -> Terminator {
        Terminator(Stops::Process(process))
    }

    /// Stops every guest thread of the store, and the store's own call into wasm that is
    /// running (or, if none is, the next one). Running code stops at once (at its next function
    /// entry, or by a signal in a loop without calls); threads blocked in `memory.atomic.wait`, or in a host function waiting
    /// on one of `weft_threads`' primitives, wake at once. Each unwinds with
    /// [`Trap::Interrupted`](crate::Trap::Interrupted), and the spawned threads end
    /// [`ThreadOutcome::Aborted`]. Returns without waiting: [`Store::join_threads`] waits for
    /// the spawned threads, and makes the store ready to spawn again.
    pub fn terminate(&self) {
        match &self.0 {
            Stops::Store(threads) => threads.terminate(),
            Stops::Process(process) => {
                if let Some(process) = process.upgrade() {
                    process.terminate();
                }
            }
        }
    }

    /// Stops guest thread `id` alone, the same way: its running code traps at once, a
    /// blocked wait wakes at once, and it ends [`ThreadOutcome::Aborted`]. The
    /// other threads run on, and the store needs no join to spawn again. Returns whether this
    /// call stopped the thread: false if it already finished or was already stopped.
    pub fn terminate_thread(&self, id: ThreadId) -> bool {
        match &self.0 {
            Stops::Store(threads) => threads.terminate_thread(id),
            Stops::Process(process) => process
                .upgrade()
                .is_some_and(|process| process.terminate_thread(id)),
        }
    }
}

impl std::fmt::Debug for Terminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Terminator")
    }
}

/// The embedder's view of a thread that could not start or attach.
pub(crate) fn refusal_to_error(refusal: Refusal) -> Error {
    match refusal {
        Refusal::StoreLimit(limit) => ThreadError::StoreLimit(limit).into(),
        Refusal::EngineLimit(limit) => ThreadError::EngineLimit(limit).into(),
        Refusal::Stopped => ThreadError::Stopped.into(),
        Refusal::Os(message) => ThreadError::Os(message).into(),
        Refusal::StoreGone => UsageError::StoreGone.into(),
    }
}

pub(crate) fn failure_to_error(failure: ThreadFailure) -> Error {
    unwind_to_error(failure.into_unwind())
}

/// How a joined thread ended, as the API reports it under either thread model.
pub(crate) fn outcome_to_api(outcome: VmOutcome) -> ThreadOutcome {
    match outcome {
        VmOutcome::Finished => ThreadOutcome::Finished,
        VmOutcome::Trapped(failure) => ThreadOutcome::Trapped(failure_to_error(failure)),
        VmOutcome::Aborted => ThreadOutcome::Aborted,
    }
}

impl<T: 'static> Store<T> {
    /// Runs `func(arg)` on a new guest thread and returns its id. `func` must be a shared
    /// function of type `[i32] -> []`. Fails with a [`ThreadError`] at [`Config::max_threads`]
    /// or [`Config::max_total_threads`], after a trap or terminate stopped the threads (until
    /// they are joined), or if the OS cannot start a thread.
    ///
    /// [`Config::max_threads`]: crate::Config::max_threads
    /// [`Config::max_total_threads`]: crate::Config::max_total_threads
    pub fn spawn(&mut self, func: &Func, arg: i32) -> Result<ThreadId, Error> {
        let ty = func.ty(&*self);
        if !ty.is_shared() || ty.params() != [super::ValType::I32] || !ty.results().is_empty() {
            return Err(UsageError::NotSpawnable {
                actual: ty.to_string(),
            }
            .into());
        }
        let cx = self.as_context_mut();
        func.store.check(&cx.inner.opaque)?;
        cx.inner
            .opaque
            .spawn(func.index, arg as u32)
            .map_err(|error| match error {
                SpawnError::Trap(kind) => kind.into(),
                SpawnError::Refused(refusal) => refusal_to_error(refusal),
            })
    }

    /// A handle that stops this store's threads from any thread.
    pub fn terminator(&mut self) -> Terminator {
        Terminator(Stops::Store(Arc::clone(
            self.as_context_mut().opaque().threads(),
        )))
    }

    /// Waits for guest thread `id` and returns how it ended; `None` if there is no such
    /// thread or it was already joined.
    pub fn join_thread(&mut self, id: ThreadId) -> Option<ThreadOutcome> {
        let threads = self.as_context_mut().opaque().threads().clone();
        threads.join(id).map(outcome_to_api)
    }

    /// Waits for every guest thread. Returns the first trap any of them hit since the last
    /// join; afterwards the store can spawn again.
    pub fn join_threads(&mut self) -> Result<(), Error> {
        let threads = self.as_context_mut().opaque().threads().clone();
        threads.join_all().map_err(failure_to_error)
    }
}
