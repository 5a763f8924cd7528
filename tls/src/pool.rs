//! Reuse of per-thread context blocks after their thread exits.
//!
//! The protocol, whose steps the loom models pin down (`loom_tests.rs`):
//! - **release** resets the block while the releasing thread still owns it exclusively, and
//!   only then makes it idle, in one critical section that also enforces `max_idle`. An
//!   acquirer can only ever see a block that has been reset.
//! - **acquire** takes an idle block off the list in the same critical section that finds it,
//!   so a block is handed to exactly one acquirer; it is moved out, so ownership keeps it
//!   exclusive until it is released again. With no idle block, `create` runs outside the lock.
//! - No caller code (`create`, `reset`, a block's `Drop`) runs under the lock: a block over
//!   `max_idle` is dropped after the lock is released.
//!
//! The lock is taken only when a thread starts or exits executing an instance's code, never on
//! the hot path, so a plain mutex is the right tool: its cost is noise next to thread creation.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::flaw::Flaw;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering};

/// What the [`Flaw::CountThenPop`] acquire panics with when the block it counted is gone.
pub(crate) const VANISHED: &str = "the idle block counted by acquire was taken before its pop";

/// A pool of reusable per-thread blocks.
///
/// A block is owned by exactly one thread from [`acquire`](Self::acquire) to
/// [`release`](Self::release); in between it sits on the pool's idle list, already reset.
/// The pool keeps at most `max_idle` idle blocks and drops any extra released block.
pub struct BlockPool<B> {
    /// Released blocks, already reset, newest last.
    idle: Mutex<Vec<B>>,
    max_idle: usize,
    /// Blocks ever created by `acquire`. Only a statistic (tests and benchmarks show reuse
    /// with it), so relaxed; a reader that has joined every acquiring thread sees it exactly.
    created: AtomicUsize,
    #[cfg(loom)]
    flaw: Option<Flaw>,
}

impl<B: Send> BlockPool<B> {
    /// An empty pool that keeps at most `max_idle` released blocks (`0` keeps none, so every
    /// release drops its block).
    pub fn new(max_idle: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            max_idle,
            created: AtomicUsize::new(0),
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A pool whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(max_idle: usize, flaw: Flaw) -> Self {
        Self {
            flaw: Some(flaw),
            ..Self::new(max_idle)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: Flaw) -> bool {
        false
    }

    /// Takes an idle block (the most recently released, whose memory is likeliest to be
    /// cached), or, if there is none, returns `create()`, run without the pool's lock held.
    /// The block is the caller's alone until it is released.
    pub fn acquire(&self, create: impl FnOnce() -> B) -> B {
        let reused = if self.flawed(Flaw::CountThenPop) {
            let counted = self.idle.lock().len();
            (counted > 0).then(|| self.idle.lock().pop().expect(VANISHED))
        } else {
            self.idle.lock().pop()
        };
        reused.unwrap_or_else(|| {
            let block = create();
            self.created.fetch_add(1, Ordering::Relaxed);
            block
        })
    }

    /// Gives `block` back: runs `reset` on it first (while the caller still owns it, so no
    /// acquirer can see it half-reset), then makes it idle, or drops it, outside the lock, if
    /// `max_idle` blocks are idle already. If `reset` panics, the block is dropped, not reused.
    pub fn release(&self, mut block: B, reset: impl FnOnce(&mut B)) {
        if self.flawed(Flaw::PublishBeforeReset) {
            let extra = self.publish(block);
            if extra.is_none()
                && let Some(newest) = self.idle.lock().last_mut()
            {
                reset(newest);
            }
            drop(extra);
            return;
        }
        reset(&mut block);
        drop(self.publish(block));
    }

    /// Makes `block` idle, or hands it back if the pool is full.
    fn publish(&self, block: B) -> Option<B> {
        let mut idle = self.idle.lock();
        if idle.len() < self.max_idle {
            idle.push(block);
            None
        } else {
            Some(block)
        }
    }

    /// Blocks now idle. Racy under concurrent acquires and releases: for tests and statistics.
    pub fn idle(&self) -> usize {
        self.idle.lock().len()
    }

    /// Blocks ever created by [`acquire`](Self::acquire). While `max_idle` is at least the
    /// peak number of threads holding a block at once, this stays at that peak.
    pub fn created(&self) -> usize {
        self.created.load(Ordering::Relaxed)
    }

    /// The most idle blocks this pool keeps.
    pub fn max_idle(&self) -> usize {
        self.max_idle
    }
}

impl<B: Send> fmt::Debug for BlockPool<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockPool")
            .field("idle", &self.idle())
            .field("max_idle", &self.max_idle)
            .field("created", &self.created())
            .finish_non_exhaustive()
    }
}

/// A block acquired from a shared [`BlockPool`] that goes back to it, reset, when dropped:
/// the engine keeps one in each thread's state, so the block is released however the thread
/// leaves the instance's code, unwinding included. `reset` is a plain `fn` because it is the
/// engine's one block-reset routine, and storing it costs no allocation.
pub struct Lease<B: Send> {
    /// `Some` until `drop` or `into_inner` takes it.
    block: Option<B>,
    pool: Arc<BlockPool<B>>,
    reset: fn(&mut B),
}

impl<B: Send> Lease<B> {
    /// [`BlockPool::acquire`] from `pool`, as a lease that releases the block to `pool`, with
    /// `reset`, when dropped (also when its thread unwinds).
    pub fn acquire(
        pool: &Arc<BlockPool<B>>,
        create: impl FnOnce() -> B,
        reset: fn(&mut B),
    ) -> Self {
        Self {
            block: Some(pool.acquire(create)),
            pool: Arc::clone(pool),
            reset,
        }
    }

    /// Takes the block out of the lease, which then releases nothing; the caller releases it
    /// (or drops it) itself.
    pub fn into_inner(mut self) -> B {
        self.block.take().expect("a live lease holds its block")
    }

    /// The pool the block goes back to.
    pub fn pool(&self) -> &Arc<BlockPool<B>> {
        &self.pool
    }
}

impl<B: Send> Deref for Lease<B> {
    type Target = B;

    fn deref(&self) -> &B {
        self.block.as_ref().expect("a live lease holds its block")
    }
}

impl<B: Send> DerefMut for Lease<B> {
    fn deref_mut(&mut self) -> &mut B {
        self.block.as_mut().expect("a live lease holds its block")
    }
}

impl<B: Send> Drop for Lease<B> {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            self.pool.release(block, self.reset);
        }
    }
}

impl<B: Send + fmt::Debug> fmt::Debug for Lease<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}
