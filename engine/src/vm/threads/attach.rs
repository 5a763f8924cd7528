//! Host threads attached to a store's instances: the embedder's own OS threads calling shared
//! functions concurrently with the store's thread and its guest threads.
//!
//! An attached thread is a [`ThreadRecord`] like a guest thread's: it leases one block per
//! instance it enters and hands them back when it detaches. Unlike a guest thread it is not
//! joined by the store, which may be dropped while the host thread still holds its
//! attachment, or is even inside a call. Each attachment therefore has a [`CallGate`]: every
//! call passes through it, and the dropping store interrupts the attached threads, closes
//! every gate (which waits for the call in progress to unwind) and takes their blocks back
//! before it frees anything. Later calls fail cleanly.

use super::super::instance::Instance;
use super::super::traphandlers::UnwindReason;
use super::super::vmcontext::{VMContext, VMThreadContext, VMVal};
use super::permits::{Refusal, Slots, ThreadBudgets, ThreadPermits};
use super::record::{ThreadRecord, call_on_block};
use crate::environ::TrapKind;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use weft_threads::Waiter;
use weft_tls::CallGate;

/// An instance of a store, as any thread may name it: its context, which hands calling threads
/// their blocks, and the store's id, so it is only used with that store's attachments.
#[derive(Copy, Clone, Debug)]
pub(crate) struct InstanceRef {
    store: u64,
    vmctx: *mut VMContext,
}

// SAFETY: the context is only dereferenced during a call (or attach, or detach) that passed a
// gate of the instance's store, which the store closes before it frees the instance.
unsafe impl Send for InstanceRef {}
// SAFETY: as above; the reference is never written after it is made.
unsafe impl Sync for InstanceRef {}

impl InstanceRef {
    /// # Safety
    ///
    /// `vmctx` must be the context of a live instance of the store whose id is `store`.
    pub unsafe fn new(store: u64, vmctx: *mut VMContext) -> Self {
        InstanceRef { store, vmctx }
    }

    /// The calling thread's block for this instance, leased on its first entry.
    ///
    /// # Safety
    ///
    /// The instance must be live.
    unsafe fn block_for(self, record: &ThreadRecord) -> NonNull<VMThreadContext> {
        // SAFETY: per the contract.
        let source = unsafe { Instance::from_vmctx(self.vmctx) }.block_source();
        record.block_for(self.vmctx, source)
    }
}

/// A wasm function of a store, in the form any thread can call.
#[derive(Copy, Clone, Debug)]
pub(crate) struct SharedEntry {
    instance: InstanceRef,
    wasm_call: *const u8,
    array_call: *const u8,
    /// Value slots a call needs: the longer of the parameter and result lists.
    slots: usize,
}

// SAFETY: the code pointers are to code the store keeps alive; as for `InstanceRef`, they are
// only used during a call that passed a gate of the store.
unsafe impl Send for SharedEntry {}
// SAFETY: as above; an entry is never written after it is made.
unsafe impl Sync for SharedEntry {}

impl SharedEntry {
    /// # Safety
    ///
    /// `wasm_call` must be the code of a function of `instance`, `array_call` the array-call
    /// trampoline of its signature, and `slots` the longer of its parameter and result lists.
    pub unsafe fn new(
        instance: InstanceRef,
        wasm_call: *const u8,
        array_call: *const u8,
        slots: usize,
    ) -> Self {
        SharedEntry {
            instance,
            wasm_call,
            array_call,
            slots,
        }
    }
}

/// Why a call from an attached thread did not run or did not finish.
#[derive(Debug)]
pub(crate) enum AttachedCallError {
    /// The store was dropped, or is being dropped.
    StoreGone,
    /// The function belongs to another store.
    WrongStore,
    Unwind(UnwindReason),
}

/// One attached host thread, as the store sees it.
pub(crate) struct Attachment {
    record: ThreadRecord,
    gate: CallGate,
    /// Set while its thread has detached but keeps it for attaching again (see
    /// [`IdleAttachment`]): not an attached thread then.
    idle: AtomicBool,
}

/// The attachment a host thread detached from last, kept bound with its blocks, so that the
/// thread's next attach to the same store takes it back without allocating, leasing blocks
/// or taking the store's lock (attach, call, detach in a loop is a common way to use a
/// store from a pool of host threads). Detached for good when another replaces it, when its
/// thread exits, or when the store closes.
struct IdleAttachment(Option<Box<Held>>);

impl Drop for IdleAttachment {
    fn drop(&mut self) {
        if let Some(held) = self.0.take() {
            held.attachments.detach(&held.attachment);
        }
    }
}

/// The block of the instance an attached thread called last, by that instance's context.
type LastBlock = Option<(*mut VMContext, NonNull<VMThreadContext>)>;

/// What an attached thread holds, and parks in its idle slot when it detaches: moved, not
/// cloned, between the two, so attaching again touches no reference count, and boxed once,
/// so each move is a pointer's (moving the whole of it through the calls of an attach and a
/// detach cost more than a third of the attach, in store-forwarding stalls).
struct Held {
    attachment: Arc<Attachment>,
    attachments: Arc<Attachments>,
    /// The parking handle the record's interrupts reach, which a thread reused for other
    /// work (`weft_threads::ThreadCache`) replaces: checked at each attach.
    waiter: Waiter,
    /// The block of the instance this thread called last, so repeated calls into one
    /// instance skip the record's lock. Blocks stay bound until the thread detaches for good
    /// or the store closes its gate, after which no call gets this far.
    last_block: Cell<LastBlock>,
}

thread_local! {
    /// This thread's idle attachment, if any.
    static IDLE: RefCell<Option<IdleAttachment>> = const { RefCell::new(None) };
}

impl Attachment {
    /// Stops this thread's current call (or its next one, if it is between calls), like a
    /// terminate does to every thread.
    pub fn interrupt(&self) {
        self.record.interrupt();
    }
}

/// The calling host thread's attachment to a store, as the thread holds it. It stays on the
/// thread that attached (it is not `Send`), so its blocks are only ever used by that thread,
/// and interrupts wake that thread's waits. Detaches when dropped.
pub(crate) struct HostThread {
    /// Taken out only by `drop`.
    held: ManuallyDrop<Box<Held>>,
    /// The thread's slots in its store's budgets, which `drop` gives back.
    slots: Option<Slots>,
    _bound_to_thread: PhantomData<*const ()>,
}

impl HostThread {
    /// Calls `entry` with the array-call convention on this thread's block for its instance.
    /// `values` holds the parameters and receives the results.
    ///
    /// # Panics
    ///
    /// If `values` is shorter than the function's parameter or result list.
    pub fn call(&self, entry: &SharedEntry, values: &mut [VMVal]) -> Result<(), AttachedCallError> {
        if entry.instance.store != self.held.attachments.store {
            return Err(AttachedCallError::WrongStore);
        }
        assert!(
            values.len() >= entry.slots,
            "too few value slots for the call"
        );
        let held = &*self.held;
        let Some(_call) = held.attachment.gate.enter() else {
            return Err(AttachedCallError::StoreGone);
        };
        let record = &held.attachment.record;
        let vmctx = entry.instance.vmctx;
        let block = match held.last_block.get() {
            Some((last, block)) if last == vmctx => block,
            _ => {
                // SAFETY: the entry is of this store (checked above), whose instances the
                // gate keeps alive.
                let block = unsafe { entry.instance.block_for(record) };
                held.last_block.set(Some((vmctx, block)));
                block
            }
        };
        // SAFETY: the gate keeps the store, and so the code and context, alive for the call;
        // the entry's trampoline matches its code (`SharedEntry::new`'s contract); the block
        // was leased to this thread for the entry's instance, and only this thread uses it;
        // `values` has room for every parameter and result (checked above).
        let result = unsafe {
            call_on_block(
                vmctx,
                block.as_ptr(),
                entry.array_call,
                entry.wasm_call,
                values.as_mut_ptr(),
                held.attachments.max_wasm_stack,
            )
        };
        if let Err(UnwindReason::Trap {
            kind: TrapKind::Interrupted,
            ..
        }) = result
        {
            // The interrupt was for this call, which has now stopped: the next call runs.
            record.clear_interrupt();
        }
        result.map_err(AttachedCallError::Unwind)
    }

    /// This thread's attachment, for stopping its calls from other threads.
    pub fn attachment(&self) -> &Arc<Attachment> {
        &self.held.attachment
    }

    /// Blocks this thread holds now, one per instance it has entered.
    pub fn blocks(&self) -> usize {
        self.held.attachment.record.bound_blocks()
    }
}

impl Drop for HostThread {
    /// Parks the attachment in the thread's idle slot, detaching the one parked there
    /// before; a thread that is exiting detaches at once.
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and nothing uses `held` after this.
        let held = unsafe { ManuallyDrop::take(&mut self.held) };
        held.attachment.idle.store(true, Ordering::Release);
        // Idle, the attachment is no thread: its slots are free for others from now on.
        if let Some(slots) = self.slots.take() {
            held.attachments.budgets.give_back(slots);
        }
        let idle = IdleAttachment(Some(held));
        // When the slot is gone (the thread's locals are being destroyed), the closure is
        // dropped unrun, and with it `idle`, which detaches.
        let replaced = IDLE.try_with(move |slot| slot.replace(Some(idle)));
        drop(replaced);
    }
}

/// The host threads attached to one store.
pub(crate) struct Attachments {
    /// The store's id: attachments only ever enter its instances.
    store: u64,
    max_wasm_stack: usize,
    /// The thread limits every attached thread counts against, with the guest threads.
    budgets: Arc<ThreadBudgets>,
    state: Mutex<AttachmentsState>,
}

struct AttachmentsState {
    live: Vec<Arc<Attachment>>,
    /// Set for good when the store starts dropping.
    closed: bool,
}

impl Attachments {
    pub fn new(store: u64, max_wasm_stack: usize, budgets: Arc<ThreadBudgets>) -> Attachments {
        Attachments {
            store,
            max_wasm_stack,
            budgets,
            state: Mutex::new(AttachmentsState {
                live: Vec::new(),
                closed: false,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, AttachmentsState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Slots for one more attached thread, taken now for a thread that attaches later with
    /// [`attach_with`](Self::attach_with).
    pub fn reserve(self: &Arc<Self>) -> Result<ThreadPermits, Refusal> {
        self.budgets.permits()
    }

    /// Attaches the calling OS thread to `instance`, leasing the thread's block there. Fails
    /// at a thread limit, or if the store is gone (or `instance` is another store's).
    pub fn attach(self: &Arc<Self>, instance: InstanceRef) -> Result<HostThread, Refusal> {
        self.attach_holding(instance, self.budgets.take()?)
    }

    /// Attaches the calling OS thread as [`attach`](Self::attach) does, in the slots
    /// `permits` hold.
    pub fn attach_with(
        self: &Arc<Self>,
        instance: InstanceRef,
        permits: ThreadPermits,
    ) -> Result<HostThread, Refusal> {
        self.attach_holding(instance, permits.into_slots())
    }

    /// Attaches the calling OS thread in `slots`, which the returned thread gives back (or
    /// this, if it fails).
    fn attach_holding(
        self: &Arc<Self>,
        instance: InstanceRef,
        slots: Slots,
    ) -> Result<HostThread, Refusal> {
        if instance.store != self.store {
            self.budgets.give_back(slots);
            return Err(Refusal::StoreGone);
        }
        let idle = self.take_idle();
        let reused = idle.is_some();
        let held = match idle {
            Some(mut held) => {
                if !held.waiter.is_current() {
                    // The OS thread has taken up other work since, with a new parking handle,
                    // which interrupts must reach from now on.
                    held.attachment.record.run_here();
                    held.waiter = Waiter::current();
                }
                held
            }
            None => match self.register() {
                Ok(attachment) => Box::new(Held {
                    attachment,
                    attachments: Arc::clone(self),
                    waiter: Waiter::current(),
                    last_block: Cell::new(None),
                }),
                Err(refusal) => {
                    self.budgets.give_back(slots);
                    return Err(refusal);
                }
            },
        };
        // From here on, dropping `thread` gives the slots back and parks or forgets the
        // attachment.
        let thread = HostThread {
            held: ManuallyDrop::new(held),
            slots: Some(slots),
            _bound_to_thread: PhantomData,
        };
        let held = &*thread.held;
        let record = &held.attachment.record;
        if reused {
            // A new thread of execution: no interrupt left from a terminate that came while
            // the attachment was idle. (Clearing touches only blocks still bound, which a
            // closing store unbinds under the same lock.)
            if record.is_interrupted() {
                record.clear_interrupt();
            }
            held.attachment.idle.store(false, Ordering::Release);
        }
        let restart = reused && record.has_thread_locals();
        let new_instance = held
            .last_block
            .get()
            .is_none_or(|(vmctx, _)| vmctx != instance.vmctx);
        if !restart && !new_instance {
            // Nothing of the store to touch: the common reattach is a check of the gate,
            // which a closed store leaves closed for good.
            if held.attachment.gate.is_closed() {
                return Err(Refusal::StoreGone);
            }
            return Ok(thread);
        }
        // Registered first, so a store that starts dropping now closes this gate too and waits
        // for the lease below. If it already closed it, dropping `thread` forgets it.
        let lease = held.attachment.gate.enter().ok_or(Refusal::StoreGone)?;
        if restart {
            // Thread-local globals at their starting values.
            record.restart_blocks();
        }
        if new_instance {
            // SAFETY: the instance is this store's (checked above), which the gate keeps
            // alive.
            let block = unsafe { instance.block_for(record) };
            held.last_block.set(Some((instance.vmctx, block)));
        }
        drop(lease);
        Ok(thread)
    }

    /// A new attachment for the calling thread, in the live list.
    fn register(&self) -> Result<Arc<Attachment>, Refusal> {
        let attachment = Arc::new(Attachment {
            record: ThreadRecord::new(),
            gate: CallGate::new(),
            idle: AtomicBool::new(false),
        });
        attachment.record.run_here();
        let mut state = self.state();
        if state.closed {
            return Err(Refusal::StoreGone);
        }
        state.live.push(Arc::clone(&attachment));
        Ok(attachment)
    }

    /// The calling thread's idle attachment to this store, if it has one.
    fn take_idle(self: &Arc<Self>) -> Option<Box<Held>> {
        IDLE.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            let ours = slot
                .as_ref()
                .and_then(|idle| idle.0.as_ref())
                .is_some_and(|held| Arc::ptr_eq(&held.attachments, self));
            if ours {
                slot.take().and_then(|mut idle| idle.0.take())
            } else {
                None
            }
        })
        .ok()
        .flatten()
    }

    /// Hands `attachment`'s blocks back to their instances and forgets it. If the store is
    /// already gone, it took the blocks back itself.
    fn detach(&self, attachment: &Arc<Attachment>) {
        if let Some(_call) = attachment.gate.enter() {
            attachment.record.release_blocks();
        }
        self.state()
            .live
            .retain(|live| !Arc::ptr_eq(live, attachment));
    }

    /// Threads attached now (not counting idle attachments).
    pub fn count(&self) -> usize {
        self.state()
            .live
            .iter()
            .filter(|attachment| !attachment.idle.load(Ordering::Acquire))
            .count()
    }

    /// Interrupts every attached thread's current (or next) call.
    pub fn interrupt_all(&self) {
        // Outside the lock: an interrupt runs the thread's cancellation hook, which may attach
        // or detach.
        let live = self.state().live.clone();
        for attachment in live {
            attachment.interrupt();
        }
    }

    /// Called by the dropping store before it frees anything: no attachment may call in from
    /// now on, calls in progress are interrupted and waited for, and every leased block goes
    /// back to its instance.
    pub fn close(&self) {
        let attachments = {
            let mut state = self.state();
            state.closed = true;
            state.live.clone()
        };
        for attachment in &attachments {
            attachment.interrupt();
        }
        for attachment in &attachments {
            attachment.gate.close();
            attachment.record.release_blocks();
        }
    }
}
