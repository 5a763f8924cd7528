//! Loom models of nudging (`nudge.rs`), each with a twin that runs it on a target with a
//! deliberate bug ([`NudgeFlaw`]) and asserts that loom finds the failure.
//!
//! A signal cannot be model-checked, so the models stand in for it: a nudge marks a signal
//! pending on the target, and the target thread runs the handler at the points where it lets
//! a pending signal in. The handler does what the engine's does: it reads the request count,
//! looks at the interrupt flag, stops the thread if it is in JIT code, answers unless it saw an
//! interrupt it could not act on (the thread in host code).

use crate::Courier;
use crate::NudgeTarget;
use crate::flaw::NudgeFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicBool, Ordering, thread};

/// The nudged thread as its handler sees it.
#[derive(Default)]
struct Runner {
    /// The engine's interrupt flag of the thread's blocks.
    interrupted: AtomicBool,
    /// A signal was sent and its handler has not run yet (signals of one kind coalesce).
    signal_pending: AtomicBool,
    /// Whether the thread is at JIT code, where the handler can stop it, or in host code.
    in_jit: AtomicBool,
    stopped: AtomicBool,
}

impl Runner {
    /// Lets a pending signal in: runs the handler if one is pending.
    fn let_signal_in(&self, target: &NudgeTarget) {
        if !self.signal_pending.swap(false, Ordering::SeqCst) {
            return;
        }
        let requests = target.requests();
        if !self.interrupted.load(Ordering::SeqCst) {
            target.answer(requests);
        } else if self.in_jit.load(Ordering::SeqCst) {
            self.stopped.store(true, Ordering::SeqCst);
            target.answer(requests);
        }
    }
}

fn target(runner: &Arc<Runner>, flaw: Option<NudgeFlaw>) -> Arc<NudgeTarget> {
    let runner = Arc::clone(runner);
    let nudge = move || runner.signal_pending.store(true, Ordering::SeqCst);
    Arc::new(match flaw {
        Some(flaw) => NudgeTarget::with_flaw(nudge, flaw),
        None => NudgeTarget::new(nudge),
    })
}

/// A thread in host code, with a stray signal pending from before (a nudge meant for the
/// previous wasm this OS thread ran), is interrupted; it lets signals in twice while still in
/// host code, then returns to a loop of JIT code that only signals can stop. Once it is in
/// that loop, the interrupter runs the courier's rounds, letting each round's signal in (the
/// looping thread does nothing else), until they find nothing pending: by then the thread has
/// stopped.
fn interrupt_reaches_a_loop(flaw: Option<NudgeFlaw>) -> Model {
    Box::new(move || {
        let runner = Arc::new(Runner::default());
        runner.signal_pending.store(true, Ordering::SeqCst);
        let target = target(&runner, flaw);
        let thread = {
            let (runner, target) = (runner.clone(), target.clone());
            thread::spawn(move || {
                runner.let_signal_in(&target);
                runner.let_signal_in(&target);
                runner.in_jit.store(true, Ordering::SeqCst);
                runner.let_signal_in(&target);
            })
        };
        let courier = Courier::new();
        runner.interrupted.store(true, Ordering::SeqCst);
        courier.request(&target);
        thread.join().unwrap();
        loop {
            let pending = courier.round();
            runner.let_signal_in(&target);
            if pending == 0 {
                break;
            }
        }
        assert!(
            runner.stopped.load(Ordering::SeqCst),
            "the courier stopped nudging a thread that runs on in its loop"
        );
    })
}

/// A thread retires while an interrupter nudges it: no nudge is sent after `retire` returned.
fn no_nudge_after_retire(flaw: Option<NudgeFlaw>) -> Model {
    Box::new(move || {
        let retired = Arc::new(AtomicBool::new(false));
        let nudge = {
            let retired = retired.clone();
            move || {
                assert!(
                    !retired.load(Ordering::SeqCst),
                    "a nudge reached a thread that had ended"
                );
            }
        };
        let target = Arc::new(match flaw {
            Some(flaw) => NudgeTarget::with_flaw(nudge, flaw),
            None => NudgeTarget::new(nudge),
        });
        let thread = {
            let (target, retired) = (target.clone(), retired.clone());
            thread::spawn(move || {
                target.retire();
                retired.store(true, Ordering::SeqCst);
            })
        };
        let courier = Courier::new();
        courier.request(&target);
        courier.round();
        thread.join().unwrap();
        assert_eq!(courier.round(), 0, "a retired target stays pending");
    })
}

#[test]
fn loom_nudge_interrupt_reaches_a_loop() {
    check(interrupt_reaches_a_loop(None));
}

#[test]
fn loom_nudge_interrupt_reaches_a_loop_catches_answer_latest() {
    assert_caught(
        "loom_nudge_interrupt_reaches_a_loop_catches_answer_latest",
        interrupt_reaches_a_loop(Some(NudgeFlaw::AnswerLatest)),
    );
}

#[test]
fn loom_nudge_no_nudge_after_retire() {
    check(no_nudge_after_retire(None));
}

#[test]
fn loom_nudge_no_nudge_after_retire_catches_nudge_outside_lock() {
    assert_caught(
        "loom_nudge_no_nudge_after_retire_catches_nudge_outside_lock",
        no_nudge_after_retire(Some(NudgeFlaw::NudgeOutsideLock)),
    );
}
