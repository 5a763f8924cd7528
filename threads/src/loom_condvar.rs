//! Loom models of the host condition variable protocol (`condvar.rs`). As in `loom_tests.rs`,
//! whose harness these share, each model `loom_condvar_<scenario>` has twins
//! `loom_condvar_<scenario>_catches_<flaw>` that run it on a condition variable with a
//! deliberate protocol bug ([`CondvarFlaw`]) and assert that loom finds the failure.
//!
//! The shared state is a relaxed atomic that only the mutex orders. A waiter that sleeps through
//! the notify meant for it never returns, which loom reports as a deadlock.

use crate::flaw::CondvarFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, AtomicU64, Ordering, thread};
use crate::{Acquire, CondvarWait, HostCondvar, HostMutex, Waiter};

/// Items waiting to be taken, guarded by `mutex`, with `changed` notified when one is added.
struct Buffer {
    mutex: HostMutex,
    changed: HostCondvar,
    items: AtomicU64,
}

fn buffer(flaw: Option<CondvarFlaw>) -> Arc<Buffer> {
    Arc::new(Buffer {
        mutex: HostMutex::new(),
        changed: flaw.map_or_else(HostCondvar::new, HostCondvar::with_flaw),
        items: AtomicU64::new(0),
    })
}

impl Buffer {
    /// Changes the item count by `delta`; the caller holds the mutex.
    fn add(&self, delta: i64) {
        let items = self.items.load(Ordering::Relaxed);
        let items = items.checked_add_signed(delta).unwrap();
        self.items.store(items, Ordering::Relaxed);
    }

    /// Adds an item and wakes a waiter, notifying before the unlock or after it.
    fn produce(&self, notify_under_lock: bool) {
        assert_eq!(self.mutex.lock(None), Ok(Acquire::Acquired));
        self.add(1);
        if notify_under_lock {
            self.changed.notify_one();
        }
        assert_eq!(self.mutex.unlock(), Ok(()));
        if !notify_under_lock {
            self.changed.notify_one();
        }
    }

    /// Takes an item, waiting for one; false if interrupted first (then the caller holds
    /// nothing, the mutex included).
    fn consume(&self) -> bool {
        if self.mutex.lock(None) != Ok(Acquire::Acquired) {
            return false;
        }
        while self.items.load(Ordering::Relaxed) == 0 {
            match self.changed.wait(&self.mutex, None) {
                Ok(CondvarWait::Notified) => {}
                Ok(CondvarWait::Interrupted) => return false,
                outcome => panic!("an untimed wait by the owner ended {outcome:?}"),
            }
        }
        self.add(-1);
        assert_eq!(self.mutex.unlock(), Ok(()));
        true
    }
}

/// A consumer checks the buffer, finds it empty, and waits, while a producer adds an item and
/// notifies after unlocking, at any point of the consumer's release-and-sleep: the consumer
/// never sleeps through it.
fn wait_races_notify(flaw: Option<CondvarFlaw>) -> Model {
    Box::new(move || {
        let buffer = buffer(flaw);
        let producer = thread::spawn({
            let buffer = buffer.clone();
            move || buffer.produce(false)
        });
        assert!(buffer.consume());
        producer.join().unwrap();
        assert_eq!(buffer.items.load(Ordering::Relaxed), 0);
        assert!(!buffer.mutex.is_locked());
    })
}

#[test]
fn loom_condvar_wait_races_notify() {
    check(wait_races_notify(None));
}

#[test]
fn loom_condvar_wait_races_notify_catches_read_sequence_after_unlock() {
    assert_caught(
        "loom_condvar_wait_races_notify_catches_read_sequence_after_unlock",
        wait_races_notify(Some(CondvarFlaw::ReadSequenceAfterUnlock)),
    );
}

/// Two consumers wait for one item. The producer interrupts the first while it adds the item
/// and notifies (under the mutex, so a chosen waiter may be interrupted while retaking it). The
/// first takes the item or is interrupted; either way the notify is not lost, so the second
/// gets the item (or, if the first took it, the one added afterwards).
fn interrupt_races_notify(flaw: Option<CondvarFlaw>) -> Model {
    Box::new(move || {
        let buffer = buffer(flaw);
        let second = thread::spawn({
            let buffer = buffer.clone();
            move || buffer.consume()
        });
        let producer = thread::spawn({
            let (buffer, first) = (buffer.clone(), Waiter::current());
            move || {
                assert_eq!(buffer.mutex.lock(None), Ok(Acquire::Acquired));
                buffer.add(1);
                first.interrupt();
                buffer.changed.notify_one();
                assert_eq!(buffer.mutex.unlock(), Ok(()));
            }
        });
        let took = buffer.consume();
        producer.join().unwrap();
        Waiter::current().clear_interrupt();
        if took {
            buffer.produce(true);
        }
        assert!(second.join().unwrap());
        assert_eq!(buffer.items.load(Ordering::Relaxed), 0);
        assert!(!buffer.mutex.is_locked());
    })
}

#[test]
fn loom_condvar_interrupt_races_notify() {
    check(interrupt_races_notify(None));
}

#[test]
fn loom_condvar_interrupt_races_notify_catches_interrupt_swallows_notify() {
    assert_caught(
        "loom_condvar_interrupt_races_notify_catches_interrupt_swallows_notify",
        interrupt_races_notify(Some(CondvarFlaw::InterruptSwallowsNotify)),
    );
}
