//! Loom models of the latch (`latch.rs`), each with a twin that runs it on a latch with a
//! deliberate bug ([`LatchFlaw`]) and asserts that loom finds the failure.

use crate::Latch;
use crate::flaw::LatchFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicU64, Ordering, thread};

fn latch(flaw: Option<LatchFlaw>) -> Arc<Latch<u32>> {
    Arc::new(match flaw {
        Some(flaw) => Latch::with_flaw(flaw),
        None => Latch::new(),
    })
}

/// One thread sets the value while another registers an action: the action runs exactly
/// once, with the value, however the two interleave.
fn action_runs_once(flaw: Option<LatchFlaw>) -> Model {
    Box::new(move || {
        let latch = latch(flaw);
        let runs = Arc::new(AtomicU64::new(0));
        let setter = {
            let latch = latch.clone();
            thread::spawn(move || latch.set(7))
        };
        let counter = runs.clone();
        latch.on_set(move |value| {
            assert_eq!(value, 7);
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(setter.join().unwrap(), 7);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the action ran the wrong number of times"
        );
        assert_eq!(latch.get(), Some(7));
    })
}

/// Two threads set different values at once: both learn the same value, the first one set,
/// and that is the value the latch keeps.
fn first_set_wins(flaw: Option<LatchFlaw>) -> Model {
    Box::new(move || {
        let latch = latch(flaw);
        let other = {
            let latch = latch.clone();
            thread::spawn(move || latch.set(1))
        };
        let mine = latch.set(2);
        let theirs = other.join().unwrap();
        assert_eq!(mine, theirs, "the two setters disagree on the value");
        assert_eq!(latch.get(), Some(mine));
    })
}

#[test]
fn loom_latch_action_runs_once() {
    check(action_runs_once(None));
}

#[test]
fn loom_latch_action_runs_once_catches_check_then_register() {
    assert_caught(
        "loom_latch_action_runs_once_catches_check_then_register",
        action_runs_once(Some(LatchFlaw::CheckThenRegister)),
    );
}

#[test]
fn loom_latch_first_set_wins() {
    check(first_set_wins(None));
}

#[test]
fn loom_latch_first_set_wins_catches_last_set_wins() {
    assert_caught(
        "loom_latch_first_set_wins_catches_last_set_wins",
        first_set_wins(Some(LatchFlaw::LastSetWins)),
    );
}
