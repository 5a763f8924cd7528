//! Per-thread blocks: the VMThreadContext each thread running an instance's code gets next to
//! the instance's VMContext, with the thread's copies of the thread-local globals, and the
//! pool an instance leases them from.
//!
//! The store's thread (the *home* thread) gets each instance's home block at instantiation;
//! any other thread leases a block from the instance's pool when it first enters that
//! instance and hands it back, reset, when it is done (see `threads::ThreadRecord`).

use super::vmcontext::{STOPPING_STACK_LIMIT, VMContext, VMThreadContext};
use crate::environ::{VM_THREAD_CONTEXT_MAGIC, VMOffsets};
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// A fresh block for an instance whose VMContext is `vmctx`, its thread-local globals
    /// zeroed: each type's default value (0, +0.0 or null).
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
                stack_limit: AtomicUsize::new(STOPPING_STACK_LIMIT),
                vmctx,
                record: std::ptr::null(),
            })
        };
        ThreadBlock { context, layout }
    }

    pub fn as_ptr(&self) -> NonNull<VMThreadContext> {
        self.context
    }

    /// Bytes of the thread-local globals, which follow the header.
    fn thread_locals_len(&self) -> usize {
        self.layout.size() - size_of::<VMThreadContext>()
    }

    fn thread_locals_ptr(&self) -> *mut u8 {
        // SAFETY: the header's end lies inside the allocation.
        unsafe {
            self.context
                .as_ptr()
                .cast::<u8>()
                .add(size_of::<VMThreadContext>())
        }
    }

    /// A copy of the block's thread-local globals.
    fn thread_locals(&self) -> Box<[u8]> {
        let mut copy = vec![0; self.thread_locals_len()].into_boxed_slice();
        // SAFETY: the slots lie inside the allocation, and only the block's own thread (the
        // caller) writes them.
        unsafe {
            self.thread_locals_ptr()
                .copy_to_nonoverlapping(copy.as_mut_ptr(), copy.len())
        };
        copy
    }

    /// Sets the thread-local globals to `image` (zero without one).
    fn set_thread_locals(&mut self, image: Option<&[u8]>) {
        let len = self.thread_locals_len();
        let target = self.thread_locals_ptr();
        // SAFETY: the block is owned here and nobody else uses it; the slots lie inside the
        // allocation, and an image is a copy of another block of the same instance, so of the
        // same length.
        unsafe {
            match image {
                Some(image) => {
                    assert_eq!(image.len(), len, "an image of this instance's blocks");
                    target.copy_from_nonoverlapping(image.as_ptr(), len);
                }
                None => target.write_bytes(0, len),
            }
        }
    }

    /// Restores a released block to the state of a new one, so its next thread sees the
    /// starting thread-locals and no stale interrupt.
    fn reset(&mut self, image: Option<&[u8]>) {
        // SAFETY: the block is owned here and nobody else uses it.
        unsafe {
            let context = self.context.as_ptr();
            (*context).interrupt.store(0, Ordering::Relaxed);
            (*context)
                .stack_limit
                .store(STOPPING_STACK_LIMIT, Ordering::Relaxed);
            (*context).record = std::ptr::null();
        }
        self.set_thread_locals(image);
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
    /// The thread-local globals every new thread starts with: their initializers' values,
    /// recorded once the instance has evaluated them. Until then, zeros.
    initial: OnceLock<Box<[u8]>>,
}

impl BlockSource {
    pub fn new(offsets: VMOffsets, vmctx: *mut VMContext) -> BlockSource {
        BlockSource {
            offsets,
            vmctx,
            pool: BlockPool::new(MAX_IDLE_BLOCKS),
            initial: OnceLock::new(),
        }
    }

    /// Records the home block's thread-local globals, just initialized, as every other
    /// thread's starting values. Called once per instance, before any thread can lease a
    /// block.
    pub fn record_initial(&self, home: &ThreadBlock) {
        let recorded = self.initial.set(home.thread_locals());
        debug_assert!(recorded.is_ok(), "an instance initializes its globals once");
    }

    /// Whether the instance has thread-local globals, which a restarted block sets back to
    /// their starting values.
    pub fn has_thread_locals(&self) -> bool {
        self.initial.get().is_some_and(|image| !image.is_empty())
    }

    pub fn acquire(&self) -> ThreadBlock {
        self.pool.acquire(|| {
            let mut block = ThreadBlock::new(&self.offsets, self.vmctx);
            if let Some(image) = self.initial.get() {
                block.set_thread_locals(Some(image));
            }
            block
        })
    }

    /// Gives a block its thread-local globals' starting values again, for a new thread
    /// that takes over a block another left bound (an attached host thread attaching again).
    pub fn restart(&self, block: &mut ThreadBlock) {
        block.set_thread_locals(self.initial.get().map(|image| &image[..]));
    }

    pub fn release(&self, block: ThreadBlock) {
        let image = self.initial.get().map(|image| &image[..]);
        self.pool.release(block, |block| block.reset(image));
    }

    /// Blocks ever created for threads other than the home thread.
    pub fn created(&self) -> usize {
        self.pool.created()
    }
}
