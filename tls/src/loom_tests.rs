//! Loom models of the block-reuse protocol. Each model `loom_pool_<scenario>` has a twin
//! `loom_pool_<scenario>_catches_<flaw>` that runs it on a pool with a deliberate protocol bug
//! ([`Flaw`]) and asserts that loom finds the failure.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p weft-tls --release --lib -- loom_
//! ```
//!
//! The model's block stands in for the engine's: an `owner` word a thread claims while it uses
//! the block, and a `dirty` word for its thread-local slots and interrupt flag, which using the
//! block sets and the reset clears. Both are relaxed atomics, so the model sees a stale value
//! unless the pool itself orders the hand-over from releaser to acquirer.

use std::env;
use std::process::Command;

use loom::model::Builder;

use crate::flaw::{Flaw, GateFlaw};
use crate::pool::VANISHED;
use crate::sync::{Arc, AtomicU32, AtomicUsize, Ordering, thread};
use crate::{BlockPool, CallGate, Lease};

/// Loom explores every interleaving with at most this many preemptions unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise. Every flaw is caught within this bound.
const PREEMPTIONS: usize = 2;

type Model = Box<dyn Fn() + Send + Sync>;

fn builder() -> Builder {
    let mut builder = Builder::new();
    builder.preemption_bound.get_or_insert(PREEMPTIONS);
    builder
}

fn check(model: Model) {
    builder().check(model);
}

/// Set in the child process that runs a flawed model.
const RUN_FLAWED: &str = "WEFT_LOOM_RUN_FLAWED";

/// Asserts that loom finds a failure in `model`, a model run on a flawed pool by the test named
/// `test`, and that the failure is the expected one: a panic whose message contains `failure`.
/// The model runs in a child process (this test binary, filtered to `test`): a failing loom
/// model can abort rather than unwind.
fn assert_caught(test: &str, failure: &str, model: Model) {
    if env::var_os(RUN_FLAWED).is_some() {
        // A quick run with fewer preemptions checks less, but must not hide a flaw.
        let mut builder = builder();
        builder.preemption_bound = builder.preemption_bound.map(|n| n.max(PREEMPTIONS));
        builder.check(model);
        return;
    }
    let child = Command::new(env::current_exe().unwrap())
        .args([&format!("loom_tests::{test}"), "--exact", "--nocapture"])
        .env(RUN_FLAWED, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(stdout.contains("running 1 test"), "no test named {test}");
    assert!(
        !child.status.success(),
        "loom found no failure in a deliberately broken protocol"
    );
    assert!(
        stderr.contains("panicked at") && stderr.contains(failure),
        "the flawed model failed for another reason (expected {failure:?}):\n{stderr}"
    );
}

const FREE: usize = 0;
const NOT_RESET: &str = "acquired a block that was not reset";
const SHARED: &str = "a block was handed to two threads at once";

/// The model's per-thread block.
struct Block {
    owner: AtomicUsize,
    dirty: AtomicU32,
}

impl Block {
    fn new() -> Self {
        Self {
            owner: AtomicUsize::new(FREE),
            dirty: AtomicU32::new(0),
        }
    }
}

/// The engine's reset: slots back to their defaults, interrupt flag cleared.
fn reset(block: &mut Block) {
    block.dirty.store(0, Ordering::Relaxed);
}

/// What a thread does with its block: it must find it clean and unowned, claims it, dirties
/// it, and gives up the claim.
fn run_on(block: &Block, me: usize) {
    assert_eq!(block.dirty.load(Ordering::Relaxed), 0, "{NOT_RESET}");
    assert_eq!(block.owner.swap(me, Ordering::Relaxed), FREE, "{SHARED}");
    block.dirty.store(1, Ordering::Relaxed);
    assert_eq!(block.owner.swap(FREE, Ordering::Relaxed), me, "{SHARED}");
}

fn pool(max_idle: usize, flaw: Option<Flaw>) -> Arc<BlockPool<Block>> {
    Arc::new(match flaw {
        Some(flaw) => BlockPool::with_flaw(max_idle, flaw),
        None => BlockPool::new(max_idle),
    })
}

/// Two threads (one through a [`Lease`]) acquire, use and release concurrently, with one block
/// idle beforehand: each gets a block of its own, clean, and afterwards every block created is
/// idle again. The pool moves blocks out of its idle list, so safe code cannot hand one block
/// to two threads; the owner check guards that anyway, and the race that does threaten this
/// protocol, counting and popping in separate critical sections, shows up as the pool's
/// [`VANISHED`] panic.
fn exclusive(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let pool = pool(2, flaw);
        let block = pool.acquire(Block::new);
        pool.release(block, reset);
        let other = thread::spawn({
            let pool = pool.clone();
            move || {
                let lease: Lease<Block> = Lease::acquire(&pool, Block::new, reset);
                run_on(&lease, 2);
            }
        });
        let block = pool.acquire(Block::new);
        run_on(&block, 1);
        pool.release(block, reset);
        other.join().unwrap();
        assert!(pool.created() <= 2);
        assert_eq!(pool.idle(), pool.created());
    })
}

#[test]
fn loom_pool_exclusive() {
    check(exclusive(None));
}

#[test]
fn loom_pool_exclusive_catches_count_then_pop() {
    assert_caught(
        "loom_pool_exclusive_catches_count_then_pop",
        VANISHED,
        exclusive(Some(Flaw::CountThenPop)),
    );
}

/// A thread releases its dirtied block while another acquires: the acquirer gets either that
/// block or a new one, clean either way, and the block left idle is clean too.
fn reset_before_reuse(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let pool = pool(1, flaw);
        let releaser = thread::spawn({
            let pool = pool.clone();
            move || {
                let block = pool.acquire(Block::new);
                run_on(&block, 2);
                pool.release(block, reset);
            }
        });
        let block = pool.acquire(Block::new);
        run_on(&block, 1);
        pool.release(block, reset);
        releaser.join().unwrap();
        assert_eq!(pool.idle(), 1);
        let block = pool.acquire(|| panic!("the idle block is gone"));
        run_on(&block, 1);
    })
}

#[test]
fn loom_pool_reset_before_reuse() {
    check(reset_before_reuse(None));
}

#[test]
fn loom_pool_reset_before_reuse_catches_publish_before_reset() {
    assert_caught(
        "loom_pool_reset_before_reuse_catches_publish_before_reset",
        NOT_RESET,
        reset_before_reuse(Some(Flaw::PublishBeforeReset)),
    );
}

const FREED_UNDER_CALL: &str = "a call ran after the gate's close returned";

/// An attached thread calls through its gate while the store closes it and then frees what
/// calls use (the `freed` word): a call that got in finds nothing freed, however the close
/// interleaves, and the close returns (a lost signal would leave it asleep: loom reports the
/// deadlock).
fn gate_keeps_store_alive(flaw: Option<GateFlaw>) -> Model {
    Box::new(move || {
        let gate = Arc::new(match flaw {
            Some(flaw) => CallGate::with_flaw(flaw),
            None => CallGate::new(),
        });
        let freed = Arc::new(AtomicU32::new(0));
        let caller = thread::spawn({
            let (gate, freed) = (gate.clone(), freed.clone());
            move || {
                if let Some(_call) = gate.enter() {
                    assert_eq!(freed.load(Ordering::Relaxed), 0, "{FREED_UNDER_CALL}");
                }
            }
        });
        gate.close();
        freed.store(1, Ordering::Relaxed);
        assert!(gate.enter().is_none());
        caller.join().unwrap();
    })
}

#[test]
fn loom_gate_keeps_store_alive() {
    check(gate_keeps_store_alive(None));
}

#[test]
fn loom_gate_keeps_store_alive_catches_check_then_count() {
    assert_caught(
        "loom_gate_keeps_store_alive_catches_check_then_count",
        FREED_UNDER_CALL,
        gate_keeps_store_alive(Some(GateFlaw::CheckThenCount)),
    );
}

/// A call is in progress when another thread closes the gate: the close waits for it, and
/// returns once it leaves (a lost signal would leave the closer asleep, which loom reports as
/// a deadlock).
fn close_waits_for_call(flaw: Option<GateFlaw>) -> Model {
    Box::new(move || {
        let gate = Arc::new(match flaw {
            Some(flaw) => CallGate::with_flaw(flaw),
            None => CallGate::new(),
        });
        let in_call = Arc::new(AtomicU32::new(1));
        let call = gate.enter().expect("the gate is open");
        let closer = thread::spawn({
            let (gate, in_call) = (gate.clone(), in_call.clone());
            move || {
                gate.close();
                assert_eq!(in_call.load(Ordering::Relaxed), 0, "{FREED_UNDER_CALL}");
            }
        });
        in_call.store(0, Ordering::Relaxed);
        drop(call);
        closer.join().unwrap();
    })
}

#[test]
fn loom_gate_close_waits_for_call() {
    check(close_waits_for_call(None));
}

#[test]
fn loom_gate_close_waits_for_call_catches_signal_without_lock() {
    assert_caught(
        "loom_gate_close_waits_for_call_catches_signal_without_lock",
        "deadlock",
        close_waits_for_call(Some(GateFlaw::SignalWithoutLock)),
    );
}
