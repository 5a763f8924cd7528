//! The pool with real threads. Races that need every interleaving covered are loom models
//! (`loom_tests.rs`); these check reuse, the idle limit and exact accounting, the last at scale.

use std::panic;

use crate::sync::{Arc, AtomicUsize, Ordering, thread};
use crate::{BlockPool, CallGate, Lease};

/// A block that counts its uses and, when dropped, reports them and its own drop.
struct Block {
    dirty: bool,
    uses: usize,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    drops: AtomicUsize,
    uses: AtomicUsize,
}

impl Stats {
    fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

impl Block {
    fn new(stats: &Arc<Stats>) -> Self {
        Self {
            dirty: false,
            uses: 0,
            stats: Arc::clone(stats),
        }
    }

    /// Uses the block as a thread would: it must be clean.
    fn run(&mut self) {
        assert!(!self.dirty, "acquired a block that was not reset");
        self.dirty = true;
        self.uses += 1;
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.stats.uses.fetch_add(self.uses, Ordering::SeqCst);
        self.stats.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn reset(block: &mut Block) {
    block.dirty = false;
}

#[test]
fn sequential_acquires_reuse_one_block() {
    let stats = Arc::new(Stats::default());
    let pool = BlockPool::new(4);
    for _ in 0..10 {
        let mut block = pool.acquire(|| Block::new(&stats));
        block.run();
        pool.release(block, reset);
        assert_eq!(pool.created(), 1);
        assert_eq!(pool.idle(), 1);
    }
    let block = pool.acquire(|| unreachable!("an idle block is there"));
    assert_eq!(block.uses, 10);
    assert_eq!(stats.drops(), 0);
}

#[test]
fn release_resets_before_the_block_is_reused() {
    let stats = Arc::new(Stats::default());
    let pool = BlockPool::new(1);
    let mut block = pool.acquire(|| Block::new(&stats));
    block.run();
    pool.release(block, |block| {
        assert!(block.dirty);
        reset(block);
    });
    let block = pool.acquire(|| unreachable!());
    assert!(!block.dirty);
}

#[test]
fn acquire_takes_the_newest_idle_block() {
    let pool = BlockPool::new(2);
    let (first, second) = (pool.acquire(|| 1), pool.acquire(|| 2));
    pool.release(first, |_| {});
    pool.release(second, |_| {});
    assert_eq!(pool.acquire(|| 0), 2);
    assert_eq!(pool.acquire(|| 0), 1);
    assert_eq!(pool.acquire(|| 3), 3);
    assert_eq!(pool.created(), 3);
}

#[test]
fn max_idle_is_respected_and_extras_dropped() {
    let stats = Arc::new(Stats::default());
    let pool = BlockPool::new(2);
    let blocks: Vec<_> = (0..5)
        .map(|_| pool.acquire(|| Block::new(&stats)))
        .collect();
    assert_eq!(pool.created(), 5);
    for (i, block) in blocks.into_iter().enumerate() {
        pool.release(block, reset);
        assert_eq!(pool.idle(), (i + 1).min(2));
        assert_eq!(stats.drops(), (i + 1).saturating_sub(2));
    }
    drop(pool);
    assert_eq!(stats.drops(), 5);
}

#[test]
fn max_idle_zero_keeps_nothing() {
    let stats = Arc::new(Stats::default());
    let pool = BlockPool::new(0);
    for i in 1..=3 {
        let block = pool.acquire(|| Block::new(&stats));
        pool.release(block, reset);
        assert_eq!((pool.idle(), pool.created(), stats.drops()), (0, i, i));
    }
}

#[test]
fn reset_that_panics_drops_the_block() {
    let stats = Arc::new(Stats::default());
    let pool = BlockPool::new(1);
    let block = pool.acquire(|| Block::new(&stats));
    let result = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        pool.release(block, |_| panic!("reset failed"));
    }));
    assert!(result.is_err());
    assert_eq!((pool.idle(), stats.drops()), (0, 1));
    // The pool is still usable.
    let block = pool.acquire(|| Block::new(&stats));
    pool.release(block, reset);
    assert_eq!((pool.idle(), pool.created()), (1, 2));
}

#[test]
fn lease_releases_with_reset_on_drop() {
    let stats = Arc::new(Stats::default());
    let pool = Arc::new(BlockPool::new(1));
    {
        let mut lease: Lease<Block> = Lease::acquire(&pool, || Block::new(&stats), reset);
        lease.run();
        assert_eq!(pool.idle(), 0);
        assert!(Arc::ptr_eq(lease.pool(), &pool));
    }
    assert_eq!(pool.idle(), 1);
    let mut lease = Lease::acquire(&pool, || unreachable!(), reset);
    lease.run();
    let block = lease.into_inner();
    assert_eq!(pool.idle(), 0, "into_inner detaches the block");
    assert!(block.dirty);
    assert_eq!(pool.created(), 1);
}

#[test]
fn lease_releases_when_its_thread_unwinds() {
    let stats = Arc::new(Stats::default());
    let pool = Arc::new(BlockPool::new(1));
    let thread = thread::spawn({
        let (pool, stats) = (Arc::clone(&pool), Arc::clone(&stats));
        move || {
            let mut lease = Lease::acquire(&pool, || Block::new(&stats), reset);
            lease.run();
            panic!("trap");
        }
    });
    assert!(thread.join().is_err());
    assert_eq!(pool.idle(), 1);
    assert!(!pool.acquire(|| unreachable!()).dirty);
}

#[test]
fn concurrent_acquire_release_accounts_exactly() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 2_000;
    for max_idle in [0, THREADS / 2, THREADS] {
        let stats = Arc::new(Stats::default());
        let pool = Arc::new(BlockPool::new(max_idle));
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (pool, stats) = (Arc::clone(&pool), Arc::clone(&stats));
                thread::spawn(move || {
                    for round in 0..ROUNDS {
                        let mut block = if (i + round) % 2 == 0 {
                            pool.acquire(|| Block::new(&stats))
                        } else {
                            Lease::acquire(&pool, || Block::new(&stats), reset).into_inner()
                        };
                        block.run();
                        if round % 7 == 0 {
                            thread::yield_now();
                        }
                        pool.release(block, reset);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let created = pool.created();
        // A block is created only when none is idle, so while none is dropped there are never
        // more blocks than threads holding one.
        if max_idle >= THREADS {
            assert!(created <= THREADS, "created {created}");
            assert_eq!(stats.drops(), 0);
        }
        if max_idle == 0 {
            assert_eq!(created, THREADS * ROUNDS);
        }
        assert!(pool.idle() <= max_idle);
        assert_eq!(pool.idle() + stats.drops(), created);
        drop(pool);
        assert_eq!(stats.drops(), created);
        assert_eq!(stats.uses.load(Ordering::SeqCst), THREADS * ROUNDS);
    }
}

#[test]
fn closed_gate_turns_calls_away() {
    let gate = CallGate::new();
    {
        let _outer = gate.enter().expect("an open gate lets calls in");
        let _nested = gate.enter().expect("a call may nest");
    }
    assert!(!gate.is_closed());
    gate.close();
    assert!(gate.is_closed());
    assert!(gate.enter().is_none());
    gate.close();
}

#[test]
fn close_waits_for_the_call_in_progress() {
    let gate = Arc::new(CallGate::new());
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let freed = Arc::new(AtomicUsize::new(0));
    let caller = thread::spawn({
        let (gate, freed) = (gate.clone(), freed.clone());
        move || {
            let call = gate.enter().expect("the gate is open");
            entered_tx.send(()).unwrap();
            finish_rx.recv().unwrap();
            // The closer frees only after `close` returns, which waits for this call.
            assert_eq!(freed.load(Ordering::SeqCst), 0);
            drop(call);
        }
    });
    entered_rx.recv().unwrap();
    let closer = thread::spawn({
        let (gate, freed) = (gate.clone(), freed.clone());
        move || {
            gate.close();
            freed.store(1, Ordering::SeqCst);
        }
    });
    while !gate.is_closed() {
        thread::yield_now();
    }
    assert!(gate.enter().is_none(), "a closing gate lets no new call in");
    finish_tx.send(()).unwrap();
    caller.join().unwrap();
    closer.join().unwrap();
    assert_eq!(freed.load(Ordering::SeqCst), 1);
}
