//! Loom models of the blocking-call protocol (`blocking.rs`). As in `loom_tests.rs`, whose
//! harness these share, each model `loom_blocking_<scenario>` has twins
//! `loom_blocking_<scenario>_catches_<flaw>` that run it with a deliberate protocol bug
//! ([`BlockingFlaw`]) and assert that loom finds the failure.
//!
//! The main thread is the one in the blocking call; another thread interrupts it once.

use crate::blocking::begin_blocking_with_flaw;
use crate::flaw::BlockingFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicU64, Condvar, Mutex, Ordering, thread};
use crate::{BlockingGuard, Interrupted, Waiter, begin_blocking};

fn begin(
    flaw: Option<BlockingFlaw>,
    hook: impl FnOnce() + Send + 'static,
) -> Result<BlockingGuard, Interrupted> {
    match flaw {
        Some(flaw) => begin_blocking_with_flaw(flaw, hook),
        None => begin_blocking(hook),
    }
}

/// Interrupts the calling thread from a new one.
fn spawn_interrupter() -> thread::JoinHandle<()> {
    let me = Waiter::current();
    thread::spawn(move || me.interrupt())
}

/// How far a hook has got.
const UNRUN: u64 = 0;
const RUNNING: u64 = 1;
const RETURNED: u64 = 2;

/// An interrupt races a blocking call that begins and at once ends: the hook runs only if
/// begin succeeded, never after the guard's end returned (so that end finds it unrun or
/// returned, never running), and a call whose hook ran ends `Interrupted`.
fn interrupt_races_guard(flaw: Option<BlockingFlaw>) -> Model {
    Box::new(move || {
        let progress = Arc::new(AtomicU64::new(UNRUN));
        let interrupter = spawn_interrupter();
        let hook = {
            let progress = progress.clone();
            move || {
                progress.store(RUNNING, Ordering::SeqCst);
                progress.store(RETURNED, Ordering::SeqCst);
            }
        };
        let (began, ended) = match begin(flaw, hook) {
            Ok(guard) => (true, guard.end()),
            Err(interrupted) => (false, Err(interrupted)),
        };
        let at_end = progress.load(Ordering::SeqCst);
        interrupter.join().unwrap();
        let ran = progress.load(Ordering::SeqCst);
        assert_eq!(ran, at_end, "the hook ran after its guard ended");
        assert_ne!(at_end, RUNNING, "the guard ended while its hook ran");
        assert!(began || ran == UNRUN, "begin failed, yet its hook ran");
        assert!(ran == UNRUN || ended == Err(Interrupted));
    })
}

#[test]
fn loom_blocking_interrupt_races_guard() {
    check(interrupt_races_guard(None));
}

#[test]
fn loom_blocking_interrupt_races_guard_catches_end_ignores_running_hook() {
    assert_caught(
        "loom_blocking_interrupt_races_guard_catches_end_ignores_running_hook",
        interrupt_races_guard(Some(BlockingFlaw::EndIgnoresRunningHook)),
    );
}

/// A host call that blocks until its hook cancels it: a stand-in for a socket read or a channel
/// receive, which weft cannot interrupt itself.
struct Call {
    cancelled: Mutex<bool>,
    cancel: Condvar,
}

impl Call {
    fn new() -> Self {
        Self {
            cancelled: Mutex::new(false),
            cancel: Condvar::new(),
        }
    }

    fn block(&self) {
        let mut cancelled = self.cancelled.lock();
        while !*cancelled {
            cancelled = self.cancel.wait(cancelled);
        }
    }

    fn cancel(&self) {
        *self.cancelled.lock() = true;
        self.cancel.notify_one();
    }
}

/// An interrupt races a blocking call that only its hook ends: begin fails, or the hook ends the
/// call (it never blocks on forever), which then ends `Interrupted` either way.
fn interrupt_cancels_call(flaw: Option<BlockingFlaw>) -> Model {
    Box::new(move || {
        let call = Arc::new(Call::new());
        let interrupter = spawn_interrupter();
        let hook = {
            let call = call.clone();
            move || call.cancel()
        };
        let outcome = begin(flaw, hook).and_then(|guard| {
            call.block();
            guard.end()
        });
        assert_eq!(outcome, Err(Interrupted));
        interrupter.join().unwrap();
    })
}

#[test]
fn loom_blocking_interrupt_cancels_call() {
    check(interrupt_cancels_call(None));
}

#[test]
fn loom_blocking_interrupt_cancels_call_catches_begin_in_two_steps() {
    assert_caught(
        "loom_blocking_interrupt_cancels_call_catches_begin_in_two_steps",
        interrupt_cancels_call(Some(BlockingFlaw::BeginInTwoSteps)),
    );
}
