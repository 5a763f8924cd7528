//! The latch without loom: actions run once, at the set or at once if it came first, and the
//! first value stays.

use crate::Latch;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

#[test]
fn actions_run_once_when_the_value_is_set_or_at_once_after() {
    let latch = Latch::new();
    let seen = Arc::new(AtomicU32::new(0));
    let before = Arc::clone(&seen);
    latch.on_set(move |value: u32| {
        before.fetch_add(value, Ordering::SeqCst);
    });
    assert!(!latch.is_set());
    assert_eq!(latch.get(), None);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "nothing runs before the set"
    );
    assert_eq!(latch.set(5), 5);
    assert_eq!(seen.load(Ordering::SeqCst), 5);
    let after = Arc::clone(&seen);
    latch.on_set(move |value| {
        after.fetch_add(value * 10, Ordering::SeqCst);
    });
    assert_eq!(
        seen.load(Ordering::SeqCst),
        55,
        "a late action runs at once"
    );
    assert_eq!(latch.set(9), 5, "the first value stays");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        55,
        "a second set runs nothing again"
    );
    assert_eq!(latch.get(), Some(5));
}
