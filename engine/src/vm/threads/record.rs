//! A thread of execution as the runtime tracks it: the record that ties together the blocks
//! one thread leased (one per instance it entered), interrupts them, and gives them back;
//! and the call that runs wasm code on a block.

use super::super::block::{BlockSource, ThreadBlock};
use super::super::nudge;
use super::super::traphandlers::{UnwindReason, catch_traps};
use super::super::vmcontext::{VMContext, VMThreadContext, VMThreadRecord, VMVal};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use weft_threads::{HostMutex, NudgeTarget, Waiter};

/// The fuel of a thread that is not metered: more operators than it can run.
pub(crate) const UNMETERED: i64 = i64::MAX;

/// A block a thread entered, and the source to return it to if it was leased.
struct Binding {
    vmctx: *mut VMContext,
    block: NonNull<VMThreadContext>,
    leased: Option<(ThreadBlock, NonNull<BlockSource>)>,
}

/// One thread of execution's blocks, one per instance it has entered. Every block it hands
/// out points back at it, so a cross-instance call can find the thread's block for the
/// callee, and JIT code its fuel.
#[repr(C)]
pub(crate) struct ThreadRecord {
    /// What JIT code reads, first, so that a block's `record` pointer is also a pointer to it.
    head: VMThreadRecord,
    bindings: Mutex<Vec<Binding>>,
    /// Set by [`ThreadRecord::interrupt`] and copied into blocks created afterwards.
    interrupted: AtomicBool,
    /// Whether a leased block has thread-local globals, which
    /// [`restart_blocks`](ThreadRecord::restart_blocks) would set back.
    leased_thread_locals: AtomicBool,
    /// The OS thread that runs this record's wasm, so an interrupt also ends its waits and
    /// stops its loops.
    runner: Mutex<Option<Runner>>,
}

/// How an interrupt reaches the OS thread running a record's wasm.
#[derive(Clone)]
struct Runner {
    /// Its parking handle: an interrupt ends a wait.
    waiter: Waiter,
    /// Its nudge target (`vm::nudge`): an interrupt stops JIT code that reaches no safepoint.
    nudge: Option<Arc<NudgeTarget>>,
}

// SAFETY: the raw pointers in the bindings point at blocks and block sources that outlive the
// record (the store joins every spawned thread before it frees instances), and the bindings
// are only touched under the mutex.
unsafe impl Send for ThreadRecord {}
// SAFETY: as above; shared access goes through the mutexes and atomics.
unsafe impl Sync for ThreadRecord {}

impl ThreadRecord {
    pub fn new() -> ThreadRecord {
        ThreadRecord {
            head: VMThreadRecord {
                fuel: AtomicI64::new(UNMETERED),
                lock_token: AtomicU64::new(0),
            },
            bindings: Mutex::new(Vec::new()),
            interrupted: AtomicBool::new(false),
            leased_thread_locals: AtomicBool::new(false),
            runner: Mutex::new(None),
        }
    }

    /// Operators the thread may still run; negative once it ran out (see
    /// `VMThreadRecord::fuel`).
    pub fn fuel(&self) -> i64 {
        self.head.fuel.load(Ordering::Relaxed)
    }

    /// Gives the thread `fuel` operators to run. Called while the thread runs no wasm: the
    /// thread's JIT code counts the fuel down with plain loads and stores.
    pub fn set_fuel(&self, fuel: i64) {
        self.head.fuel.store(fuel, Ordering::Relaxed);
    }

    fn bindings(&self) -> std::sync::MutexGuard<'_, Vec<Binding>> {
        self.bindings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `block` this thread's block for its instance (the root block, whose instance is
    /// null, only gets its record). The record must stay at its address for as long as the
    /// block is bound.
    pub fn bind_home(&self, block: &ThreadBlock) {
        self.bind(&mut self.bindings(), block.as_ptr(), None);
    }

    /// This thread's block for the instance whose VMContext is `vmctx`, leasing one from
    /// `source` on the thread's first entry there.
    pub fn block_for(
        &self,
        vmctx: *mut VMContext,
        source: NonNull<BlockSource>,
    ) -> NonNull<VMThreadContext> {
        let mut bindings = self.bindings();
        if let Some(binding) = bindings.iter().find(|b| b.vmctx == vmctx) {
            return binding.block;
        }
        // SAFETY: block sources live as long as their instances, which outlive every thread
        // that runs their code.
        let source_ref = unsafe { source.as_ref() };
        let block = source_ref.acquire();
        if source_ref.has_thread_locals() {
            self.leased_thread_locals.store(true, Ordering::Relaxed);
        }
        let context = block.as_ptr();
        self.bind(&mut bindings, context, Some((block, source)));
        context
    }

    /// Points `context` at this record, gives it the record's interrupt state and adds it to
    /// `bindings`, which is this record's locked list.
    fn bind(
        &self,
        bindings: &mut Vec<Binding>,
        context: NonNull<VMThreadContext>,
        leased: Option<(ThreadBlock, NonNull<BlockSource>)>,
    ) {
        // SAFETY: the block is live and not yet bound, so only this thread (holding the
        // bindings lock) writes its `record` and `interrupt` fields.
        let vmctx = unsafe {
            let header = context.as_ptr();
            (*header).record = (self as *const ThreadRecord).cast();
            (*header).set_interrupt(self.interrupted.load(Ordering::Relaxed));
            (*header).vmctx
        };
        bindings.push(Binding {
            vmctx,
            block: context,
            leased,
        });
    }

    /// Makes the calling OS thread the one that runs this record's wasm from now on, and gives
    /// its parking handle this record's interrupt state. An OS thread keeps one parking handle
    /// for its whole life, while it may run the home calls of many stores one after another:
    /// an interrupt left on the handle by a store that is gone must not stop the next store's
    /// waits, and an interrupt pending on this record must stop them. Under the slot's lock,
    /// so an interrupt or clear racing this (which sets the flag first, then takes the lock to
    /// reach the runner) is never undone by it.
    pub fn run_here(&self) {
        let waiter = Waiter::current();
        let mut slot = self.runner.lock().unwrap_or_else(|e| e.into_inner());
        self.head
            .lock_token
            .store(HostMutex::thread_token(), Ordering::Relaxed);
        // No blocking call of this thread is under way here, so no cancellation hook runs.
        if self.interrupted.load(Ordering::Relaxed) {
            waiter.interrupt();
        } else {
            waiter.clear_interrupt();
        }
        let same_thread = slot
            .as_ref()
            .is_some_and(|runner| runner.waiter.is(&waiter));
        if !same_thread {
            *slot = Some(Runner {
                waiter,
                nudge: nudge::current_target(),
            });
        }
    }

    /// Whether the thread is interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Makes every block of this thread trap at its next safepoint and wakes a blocked wait.
    pub fn interrupt(&self) {
        self.set_interrupted(true);
    }

    /// Undoes [`ThreadRecord::interrupt`], for the home thread once the embedder has seen
    /// the trap that caused it.
    pub fn clear_interrupt(&self) {
        self.set_interrupted(false);
    }

    fn set_interrupted(&self, interrupted: bool) {
        {
            let bindings = self.bindings();
            self.interrupted.store(interrupted, Ordering::Relaxed);
            for binding in bindings.iter() {
                // SAFETY: bound blocks are live while bound; the flag is atomic because the
                // running thread reads it concurrently.
                unsafe { (*binding.block.as_ptr()).set_interrupt(interrupted) };
            }
        }
        // Cloned out of the lock: an interrupt runs the thread's cancellation hook, which may
        // call back into the engine (even to interrupt this thread again).
        let runner = self
            .runner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(runner) = runner else { return };
        if interrupted {
            runner.waiter.interrupt();
            if let Some(target) = &runner.nudge {
                nudge::request(target);
            }
        } else {
            runner.waiter.clear_interrupt();
        }
    }
}

impl ThreadRecord {
    /// Hands the blocks this thread leased back to their instances' pools, reset; done when a
    /// spawned thread ends, before it reports that it finished.
    pub fn release_blocks(&self) {
        let bindings = std::mem::take(&mut *self.bindings());
        self.leased_thread_locals.store(false, Ordering::Relaxed);
        for binding in bindings {
            if let Some((block, source)) = binding.leased {
                // SAFETY: as in `block_for`: the source outlives the threads using it.
                unsafe { source.as_ref() }.release(block);
            }
        }
    }

    /// Whether [`restart_blocks`](Self::restart_blocks) has anything to do: a leased block
    /// has thread-local globals.
    pub fn has_thread_locals(&self) -> bool {
        self.leased_thread_locals.load(Ordering::Relaxed)
    }

    /// Restarts the thread-local globals of every block this thread leased, for a new
    /// thread of execution that takes the record over with its blocks.
    pub fn restart_blocks(&self) {
        for binding in self.bindings().iter_mut() {
            if let Some((block, source)) = &mut binding.leased {
                // SAFETY: as in `block_for`: the source outlives the threads using it.
                unsafe { source.as_ref() }.restart(block);
            }
        }
    }

    /// Blocks bound to this record now: one per instance its thread has entered.
    pub fn bound_blocks(&self) -> usize {
        self.bindings().len()
    }

    /// Whether `block` was handed out by this record.
    pub fn owns(&self, block: *const VMThreadContext) -> bool {
        // SAFETY: callers pass a live block; only its `record` field is read.
        std::ptr::eq(unsafe { Self::of_block(block) }, self)
    }

    /// The record a bound block points at (null for a block no thread has bound).
    ///
    /// # Safety
    ///
    /// `block` must be a live block.
    pub unsafe fn of_block(block: *const VMThreadContext) -> *const ThreadRecord {
        // SAFETY: per the contract; `bind` stores a `ThreadRecord` there, and nothing else.
        unsafe { (*block).record.cast() }
    }
}

impl Drop for ThreadRecord {
    fn drop(&mut self) {
        self.release_blocks();
    }
}

/// Calls wasm code through its array-call trampoline on `block`, the running thread's block
/// for the callee's instance, catching traps. The block's stack limit is the one the activation
/// maintains.
///
/// # Safety
///
/// `array_call` must be the array-call trampoline for the signature of `wasm_call`, whose
/// context is `vmctx`; `block` must be the running thread's live block for that context (or a
/// root block, for host functions); `values` must have a slot for every parameter and result.
/// The code, contexts and block must stay alive for the call. The other requirements of
/// [`catch_traps`] hold: nothing here owns anything a trap could leak.
pub(crate) unsafe fn call_on_block(
    vmctx: *mut VMContext,
    block: *mut VMThreadContext,
    array_call: *const u8,
    wasm_call: *const u8,
    values: *mut VMVal,
    max_wasm_stack: usize,
) -> Result<(), UnwindReason> {
    type ArrayCall =
        unsafe extern "C" fn(*mut VMContext, *mut VMThreadContext, *const u8, *mut VMVal);
    // SAFETY: the caller passes an array-call trampoline, which has exactly this signature.
    let trampoline: ArrayCall = unsafe { std::mem::transmute(array_call) };
    // SAFETY: the stack limit is a field of the caller's live block; the rest is the caller's
    // contract.
    unsafe {
        catch_traps(block, max_wasm_stack, || {
            trampoline(vmctx, block, wasm_call, values)
        })
    }
}
