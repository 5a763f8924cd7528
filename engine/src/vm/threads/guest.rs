//! Guest threads: shared functions running on their own OS threads, started by the
//! `"wasm:thread"` intrinsics or by the embedder.
//!
//! A spawned thread leases one block from the instance it starts in (more if it calls into
//! other instances) and nothing else: no re-instantiation, no copying. Its bookkeeping (the
//! thread limit, ids, outcomes, and aborting every thread when one traps) is
//! `weft_threads::ThreadGroup`, which is model-checked on its own.
//!
//! Lifetimes: spawned threads hold raw pointers into the store (instances, code, contexts).
//! The store never frees anything while a guest thread may run: dropping it aborts the group
//! and joins every OS thread first.

use super::super::block::BlockSource;
use super::super::handoff::{Handoff, JoinHandoffs};
use super::super::instance::Instance;
use super::super::traphandlers::{HostError, UnwindReason};
use super::super::vmcontext::{VMContext, VMFuncRef, VMThreadContext, VMVal};
use super::attach::{Attachments, HostThread, InstanceRef};
use super::os::OsThreads;
use super::permits::{Refusal, ThreadBudgets, ThreadPermits};
use super::record::{ThreadRecord, call_on_block};
use crate::environ::HOST_FUNC_MAGIC;
use crate::environ::TrapKind;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use weft_threads::{Interrupt, Outcome, ThreadBudget, ThreadGroup, ThreadId};

/// Why a guest thread failed, in a form every joiner can have a copy of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ThreadFailure {
    Trap(TrapKind),
    /// A host function failed on the thread; its error, as text.
    Host(String),
    /// An exception left the thread's function uncaught (the exnref's word): the thread
    /// ends as a trap would end it.
    Exception(u64),
}

impl ThreadFailure {
    fn from_unwind(reason: UnwindReason) -> ThreadFailure {
        match reason {
            UnwindReason::Trap { kind, .. } => ThreadFailure::Trap(kind),
            UnwindReason::Host(payload) if payload.is::<TrapKind>() => ThreadFailure::Trap(
                *payload
                    .downcast::<TrapKind>()
                    .expect("checked the payload's type"),
            ),
            UnwindReason::Host(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .or_else(|| payload.downcast_ref::<HostError>().map(|e| e.to_string()))
                    .unwrap_or_else(|| "a host function failed".to_string());
                ThreadFailure::Host(message)
            }
            UnwindReason::Exception(word) => ThreadFailure::Exception(word),
        }
    }

    /// Whether the thread was stopped (terminated, or aborted by another's failure) rather
    /// than failing itself.
    fn is_interrupted(&self) -> bool {
        *self == ThreadFailure::Trap(TrapKind::Interrupted)
    }
}

impl ThreadFailure {
    /// The failure as the home thread reports it.
    pub fn into_unwind(self) -> UnwindReason {
        match self {
            ThreadFailure::Trap(kind) => UnwindReason::Trap {
                kind,
                pcs: Vec::new(),
            },
            ThreadFailure::Host(message) => UnwindReason::Host(Box::new(message)),
            ThreadFailure::Exception(word) => UnwindReason::Exception(word),
        }
    }
}

/// How a joined guest thread ended.
pub(crate) type ThreadOutcome = Outcome<ThreadFailure>;

/// Why a spawn failed: the guest traps, or sees -1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SpawnError {
    Trap(TrapKind),
    Refused(Refusal),
}

/// The group's own limit: the store's [`ThreadBudget`] is the one that binds.
const UNLIMITED: u32 = u32::MAX;

/// A store's guest threads.
pub(crate) struct GuestThreads {
    group: Mutex<Arc<ThreadGroup<ThreadFailure>>>,
    os_threads: OsThreads,
    /// The store's and the engine's thread limits, shared with the attachments.
    budgets: Arc<ThreadBudgets>,
    max_wasm_stack: usize,
    /// The store's home thread record, interrupted when a guest thread traps so that wasm
    /// running on the home thread stops too.
    home: NonNull<ThreadRecord>,
    /// Whether `home` is still alive, for [`GuestThreads::terminate`], which other threads
    /// may call after the store is gone. Held while `home` is used from such a thread.
    home_alive: Mutex<bool>,
    /// Host threads attached to the store's instances: stopped with the guest threads.
    attachments: Arc<Attachments>,
    /// With race detection or in a schedule being explored, the hand-off of each thread not
    /// joined yet.
    handoffs: JoinHandoffs,
}

// SAFETY: `home` points at the store's boxed home record, which outlives every guest thread
// (the store joins them before it is freed) and is itself `Sync`.
unsafe impl Send for GuestThreads {}
// SAFETY: as above; everything else is behind mutexes.
unsafe impl Sync for GuestThreads {}

/// What a new thread runs: a shared function with the array-call convention.
struct Job {
    vmctx: *mut VMContext,
    wasm_call: *const u8,
    trampoline: *const u8,
    source: NonNull<BlockSource>,
    arg: u32,
    /// What the concurrency tools know of the new thread.
    handoff: Handoff,
}

// SAFETY: the pointers are to code and instance state the store keeps alive until it has
// joined the thread that runs the job.
unsafe impl Send for Job {}

/// Interrupts a guest thread: its blocks' flags and, if it is blocked, its wait.
struct RecordInterrupter(Arc<ThreadRecord>);

impl Interrupt for RecordInterrupter {
    fn interrupt(&self) {
        self.0.interrupt();
    }
}

impl GuestThreads {
    pub fn new(
        store: u64,
        limit: u32,
        engine_budget: Arc<ThreadBudget>,
        max_wasm_stack: usize,
        home: NonNull<ThreadRecord>,
    ) -> GuestThreads {
        let budgets = Arc::new(ThreadBudgets::new(limit, engine_budget));
        GuestThreads {
            group: Mutex::new(Arc::new(ThreadGroup::new(UNLIMITED))),
            os_threads: OsThreads::new("weft-guest", max_wasm_stack),
            attachments: Arc::new(Attachments::new(
                store,
                max_wasm_stack,
                Arc::clone(&budgets),
            )),
            budgets,
            max_wasm_stack,
            home,
            home_alive: Mutex::new(true),
            handoffs: JoinHandoffs::default(),
        }
    }

    /// Attaches the calling host thread to `instance`; see [`Attachments::attach`].
    pub fn attach(&self, instance: InstanceRef) -> Result<HostThread, Refusal> {
        self.attachments.attach(instance)
    }

    /// Slots for a host thread that attaches later; see [`Attachments::reserve`].
    pub fn reserve_attachment(&self) -> Result<ThreadPermits, Refusal> {
        self.attachments.reserve()
    }

    /// Attaches the calling host thread in slots reserved before; see
    /// [`Attachments::attach_with`].
    pub fn attach_with(
        &self,
        instance: InstanceRef,
        permits: ThreadPermits,
    ) -> Result<HostThread, Refusal> {
        self.attachments.attach_with(instance, permits)
    }

    /// Host threads attached now.
    pub fn attached(&self) -> usize {
        self.attachments.count()
    }

    fn group(&self) -> Arc<ThreadGroup<ThreadFailure>> {
        Arc::clone(&self.group.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// What `available-parallelism` reports: the hardware's parallelism, capped by the
    /// thread limit. It does not change while the store lives.
    pub fn available_parallelism(&self) -> u32 {
        let hardware = std::thread::available_parallelism().map_or(1, |n| n.get());
        u32::try_from(hardware)
            .unwrap_or(u32::MAX)
            .min(self.budgets.limit())
    }

    /// Starts `funcref(arg)` on a new thread and returns its id. Fails with a trap for a null
    /// or unsuitable function, or with a refusal at a thread limit, after a trap or terminate
    /// (until the threads are joined), or when the OS cannot start a thread.
    ///
    /// # Safety
    ///
    /// `funcref` must be null or a funcref of this store's code.
    pub unsafe fn spawn(
        self: &Arc<Self>,
        funcref: *const VMFuncRef,
        arg: u32,
    ) -> Result<ThreadId, SpawnError> {
        if funcref.is_null() {
            return Err(SpawnError::Trap(TrapKind::NullSpawnFunction));
        }
        // SAFETY: per the contract, a non-null funcref of this store.
        let VMFuncRef {
            wasm_call,
            vmctx,
            type_index,
        } = unsafe { *funcref };
        // SAFETY: a funcref's context is a VMContext or a host function context; both start
        // with their magic number.
        if unsafe { vmctx.cast::<u32>().read() } == HOST_FUNC_MAGIC {
            // Only wasm functions have the shared code a new thread can run.
            return Err(SpawnError::Trap(TrapKind::IndirectCallTypeMismatch));
        }
        // SAFETY: a wasm funcref's context belongs to a live instance of this store.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        let module = instance.module();
        let spawnable = module.type_index_of(type_index).filter(|&ty| {
            let func_type = module.info.func_type(ty);
            module.info.is_shared_type(ty)
                && func_type.params() == [wasmparser::ValType::I32]
                && func_type.results().is_empty()
        });
        let Some(ty) = spawnable else {
            return Err(SpawnError::Trap(TrapKind::IndirectCallTypeMismatch));
        };
        let permits = self.budgets.permits().map_err(SpawnError::Refused)?;
        let group = self.group();
        let Some(id) = group.reserve() else {
            return Err(SpawnError::Refused(Refusal::Stopped));
        };
        // Last: a thread in a schedule is expected to run from here on.
        let job = Job {
            vmctx,
            wasm_call,
            trampoline: module.code.array_trampoline(ty).start as *const u8,
            source: instance.block_source(),
            arg,
            handoff: Handoff::fork(instance.race_tracker()),
        };
        let handoff = job.handoff.clone();
        self.handoffs.record(id, &handoff);
        let threads = Arc::clone(self);
        let thread_group = Arc::clone(&group);
        let spawned = self
            .os_threads
            .start(move || threads.run(&thread_group, id, job, permits));
        match spawned {
            Ok(()) => {
                handoff.started();
                Ok(id)
            }
            Err(error) => {
                handoff.cancel();
                self.handoffs.forget(id);
                group.cancel(id);
                Err(SpawnError::Refused(Refusal::Os(error.to_string())))
            }
        }
    }

    fn run(
        &self,
        group: &ThreadGroup<ThreadFailure>,
        id: ThreadId,
        job: Job,
        permits: ThreadPermits,
    ) {
        let entered = job.handoff.enter();
        let record = Arc::new(ThreadRecord::new());
        record.run_here();
        let interrupter = Arc::new(RecordInterrupter(Arc::clone(&record)));
        let result = if group.start(id, interrupter) {
            let block = record.block_for(job.vmctx, job.source).as_ptr();
            let failure = self.call(&job, block).err();
            if let Some(ThreadFailure::Trap(kind)) = &failure
                && *kind != TrapKind::Interrupted
            {
                // SAFETY: the home record outlives every guest thread (see the type's docs).
                unsafe { self.home.as_ref() }.interrupt();
                self.attachments.interrupt_all();
            }
            failure.map_or(Ok(()), Err)
        } else {
            Err(ThreadFailure::Trap(TrapKind::Interrupted))
        };
        let failed = matches!(&result, Err(failure) if !failure.is_interrupted());
        record.release_blocks();
        // Before `finish`: a joiner that sees the thread finished may spawn in its place.
        drop(permits);
        group.finish(id, result);
        // After `finish` has recorded a failure: ending the schedule wakes the other
        // threads' waits as interrupted, which must not pass for the program's error.
        entered.finish(failed);
    }

    fn call(&self, job: &Job, block: *mut VMThreadContext) -> Result<(), ThreadFailure> {
        let mut values = [VMVal::from_u32(job.arg)];
        // SAFETY: the trampoline is the array-call trampoline of the function's type,
        // `(param i32)`, and its module outlives the thread; the block was leased to this
        // thread for the job's instance.
        unsafe {
            call_on_block(
                job.vmctx,
                block,
                job.trampoline,
                job.wasm_call,
                values.as_mut_ptr(),
                self.max_wasm_stack,
            )
        }
        .map_err(ThreadFailure::from_unwind)
    }

    /// Stops thread `id` alone; see [`ThreadGroup::terminate`]. Returns whether this call
    /// stopped it.
    pub fn terminate_thread(&self, id: ThreadId) -> bool {
        self.group().terminate(id)
    }

    /// Waits for thread `id`; `None` for an unknown or already joined id.
    pub fn join(&self, id: ThreadId) -> Option<ThreadOutcome> {
        self.handoffs.join(id, || self.group().join(id))
    }

    /// Waits for every guest thread and returns the first failure, if any. Afterwards the
    /// store can spawn again, even after a trap aborted the threads.
    pub fn join_all(&self) -> Result<(), ThreadFailure> {
        let result = self.handoffs.join_all(|| self.group().join_all());
        self.os_threads.wait_idle();
        let mut group = self.group.lock().unwrap_or_else(|e| e.into_inner());
        if group.is_aborted() {
            *group = Arc::new(ThreadGroup::new(UNLIMITED));
            // SAFETY: the home record outlives the store's guest threads (see the type's
            // docs). The trap that aborted the group also interrupted the home thread, which
            // is not running wasm now: its caller holds the store.
            unsafe { self.home.as_ref() }.clear_interrupt();
        }
        result
    }

    /// Whether a guest thread trapped (or the threads were aborted) since the last join.
    pub fn aborted(&self) -> bool {
        self.group().is_aborted()
    }

    /// Stops everything the store is running, from any thread: every guest thread, and the
    /// current (or, if there is none, next) call into wasm of the home thread and of every
    /// attached host thread. Running code traps
    /// with [`TrapKind::Interrupted`] at its next safepoint; blocked waits wake at once. The
    /// threads finish on their own; [`GuestThreads::join_all`] collects them and lets the
    /// store run again.
    pub fn terminate(&self) {
        self.group().abort();
        self.attachments.interrupt_all();
        let home_alive = self.home_alive.lock().unwrap_or_else(|e| e.into_inner());
        if *home_alive {
            // SAFETY: the store clears `home_alive`, under this lock, before it frees the home
            // record.
            unsafe { self.home.as_ref() }.interrupt();
        }
    }

    /// Stops every guest thread and attached host thread's call and waits for them: running
    /// code traps at its next safepoint and blocked waits wake. Called by the dropping store.
    pub fn shutdown(&self) {
        *self.home_alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.attachments.close();
        self.group().abort();
        let _ = self.group().join_all();
        self.os_threads.join_all();
    }
}
