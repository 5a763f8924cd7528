//! Per-thread blocks: the VMThreadContext each thread running an instance's code gets next to
//! the instance's VMContext, with the thread's copies of the thread-local globals, and the
//! pool an instance leases them from.
//!
//! The store's thread (the *home* thread) gets each instance's home block at instantiation;
//! any other thread leases a block from the instance's pool when it first enters that
//! instance and hands it back, reset, when it is done (see `threads::ThreadRecord`).

use super::vmcontext::{VMContext, VMThreadContext};
use crate::environ::{VM_THREAD_CONTEXT_MAGIC, VMOffsets};
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use weft_tls::BlockPool;

/// Blocks kept for reuse per instance; more than this many threads exiting at once frees the
/// rest.
const MAX_IDLE_BLOCKS: usize = 64;

/// One thread's block for one instance: a `VMThreadContext` followed by the thread's copies
/// of the module's thread-local globals.
pub(crate) struct ThreadBlock {
    context: NonNull<VMThreadContext>,
    layout: Layout,
}

// SAFETY: a block is plain memory that only the thread it is bound to reads and writes, apart
// from the atomic interrupt flag; moving ownership between threads (through a pool) is fine.
unsafe impl Send for ThreadBlock {}

impl ThreadBlock {
    /// A fresh block for an instance whose VMContext is `vmctx`. Every thread-local global
    /// starts at its type's default value, whose bits are all zero (0, +0.0 or null), so
    /// zeroed memory is already initialized.
    pub fn new(offsets: &VMOffsets, vmctx: *mut VMContext) -> ThreadBlock {
        let layout = Layout::from_size_align(offsets.size_of_thread_context() as usize, 16)
            .expect("thread blocks are small");
        // SAFETY: the layout has a non-zero size (the static prefix alone is 32 bytes).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let context = NonNull::new(raw.cast::<VMThreadContext>())
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        // SAFETY: the allocation is large and aligned enough for the header, which is written
        // before anyone else can see the block.
        unsafe {
            context.write(VMThreadContext {
                magic: VM_THREAD_CONTEXT_MAGIC,
                interrupt: Default::default(),
                stack_limit: usize::MAX,
                vmctx,
                record: std::ptr::null(),
            })
        };
        ThreadBlock { context, layout }
    }

    pub fn as_ptr(&self) -> NonNull<VMThreadContext> {
        self.context
    }

    /// Restores a released block to the state of a new one, so its next thread sees default
    /// thread-locals and no stale interrupt.
    fn reset(&mut self) {
        let header = size_of::<VMThreadContext>();
        // SAFETY: the block is owned here and nobody else uses it: the slots after the header
        // lie inside the allocation.
        unsafe {
            let context = self.context.as_ptr();
            (*context).interrupt.store(0, Ordering::Relaxed);
            (*context).stack_limit = usize::MAX;
            (*context).record = std::ptr::null();
            context
                .cast::<u8>()
                .add(header)
                .write_bytes(0, self.layout.size() - header);
        }
    }
}

impl Drop for ThreadBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout and freed only here.
        unsafe { std::alloc::dealloc(self.context.as_ptr().cast(), self.layout) };
    }
}

/// The blocks spawned threads lease from one instance.
pub(crate) struct BlockSource {
    offsets: VMOffsets,
    vmctx: *mut VMContext,
    pool: BlockPool<ThreadBlock>,
}

impl BlockSource {
    pub fn new(offsets: VMOffsets, vmctx: *mut VMContext) -> BlockSource {
        BlockSource {
            offsets,
            vmctx,
            pool: BlockPool::new(MAX_IDLE_BLOCKS),
        }
    }

    pub fn acquire(&self) -> ThreadBlock {
        self.pool
            .acquire(|| ThreadBlock::new(&self.offsets, self.vmctx))
    }

    pub fn release(&self, block: ThreadBlock) {
        self.pool.release(block, ThreadBlock::reset);
    }

    /// Blocks ever created for threads other than the home thread.
    pub fn created(&self) -> usize {
        self.pool.created()
    }
}
