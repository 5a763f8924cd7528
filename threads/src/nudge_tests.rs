//! Nudging with real threads: the courier's own thread keeps nudging a target until it
//! answers, and forgets it then, or once it retires.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Courier, NudgeTarget};

/// Polls `condition` for up to ten seconds.
fn eventually(condition: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    false
}

fn counting_target() -> (Arc<NudgeTarget>, Arc<AtomicU64>) {
    let nudges = Arc::new(AtomicU64::new(0));
    let counter = nudges.clone();
    let target = Arc::new(NudgeTarget::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    (target, nudges)
}

fn serving_courier() -> &'static Courier {
    let courier: &'static Courier = Box::leak(Box::new(Courier::new()));
    thread::spawn(|| courier.serve());
    courier
}

#[test]
fn a_request_nudges_at_once_and_again_until_answered() {
    let courier = serving_courier();
    let (target, nudges) = counting_target();
    courier.request(&target);
    assert!(
        nudges.load(Ordering::SeqCst) >= 1,
        "no nudge at the request"
    );
    assert!(
        eventually(|| nudges.load(Ordering::SeqCst) >= 3),
        "no repeated nudges"
    );
    target.answer(target.requests());
    assert!(
        eventually(|| courier.round() == 0),
        "an answered target stays pending"
    );
    let settled = nudges.load(Ordering::SeqCst);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        nudges.load(Ordering::SeqCst),
        settled,
        "nudged after it answered"
    );
}

#[test]
fn a_stale_answer_does_not_settle_a_newer_request() {
    let courier = Courier::new();
    let (target, _nudges) = counting_target();
    courier.request(&target);
    let before_second = target.requests();
    courier.request(&target);
    target.answer(before_second);
    assert_eq!(courier.round(), 1);
    target.answer(target.requests());
    assert_eq!(courier.round(), 0);
}

#[test]
fn a_retired_target_is_never_nudged() {
    let courier = Courier::new();
    let (target, nudges) = counting_target();
    target.retire();
    courier.request(&target);
    assert_eq!(courier.round(), 0);
    assert_eq!(nudges.load(Ordering::SeqCst), 0);
}
