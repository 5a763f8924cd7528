//! The race detector on hand-made event sequences: each ordering the runtime reports, and
//! the races it must and must not find.

use crate::race::{Access, RaceDetector};

const READ: bool = false;
const WRITE: bool = true;

#[test]
fn unordered_writes_race_once_per_pair_of_sites() {
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let a = detector.start_thread(Some(main));
    let b = detector.start_thread(Some(main));
    // A racy counter: both threads load and store the same word, twice.
    for _ in 0..2 {
        detector.access(a, 64, 4, READ, (0, 1));
        detector.access(a, 64, 4, WRITE, (0, 2));
        detector.access(b, 64, 4, READ, (0, 1));
        detector.access(b, 64, 4, WRITE, (0, 2));
    }
    let races = detector.races();
    let pairs: Vec<_> = races
        .iter()
        .map(|race| (race.earlier.site.1, race.later.site.1))
        .collect();
    // b's read against a's write (sites 2 and 1), b's write against a's write (2 and 2);
    // the second round finds the same pairs of sites again, which are not reported twice.
    assert_eq!(pairs, vec![(2, 1), (2, 2)]);
    assert_eq!(races[0].address, 64);
    assert_eq!(
        races[0].later,
        Access {
            thread: b,
            site: (0, 1),
            write: READ
        }
    );
}

#[test]
fn atomics_order_the_accesses_around_them() {
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let producer = detector.start_thread(Some(main));
    let consumer = detector.start_thread(Some(main));
    // Message passing: data, then a flag with release; the flag with acquire, then data.
    detector.access(producer, 0, 8, WRITE, (0, 10));
    detector.release(producer, 100);
    detector.acquire(producer, 100);
    detector.release(consumer, 100);
    detector.acquire(consumer, 100);
    detector.access(consumer, 0, 8, READ, (0, 11));
    assert!(detector.races().is_empty());
    // Without the flag, the same accesses race.
    detector.access(producer, 8, 8, WRITE, (0, 12));
    detector.access(consumer, 8, 8, READ, (0, 13));
    assert_eq!(detector.races().len(), 1);
}

#[test]
fn an_acquire_before_the_release_it_needs_orders_nothing() {
    // The consumer's access to the flag comes first, so it cannot see the producer's data.
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let producer = detector.start_thread(Some(main));
    let consumer = detector.start_thread(Some(main));
    detector.access(producer, 0, 4, WRITE, (0, 1));
    detector.release(consumer, 100);
    detector.acquire(consumer, 100);
    detector.release(producer, 100);
    detector.acquire(producer, 100);
    detector.access(consumer, 0, 4, READ, (0, 2));
    assert_eq!(detector.races().len(), 1);
}

#[test]
fn a_fence_acquires_every_release_before_it() {
    // Published with an atomic store elsewhere, read after a fence and a plain load of the
    // flag (musl's thread exit and join): ordered.
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let exiting = detector.start_thread(Some(main));
    detector.access(exiting, 0, 4, WRITE, (0, 1));
    detector.release(exiting, 100);
    detector.acquire(exiting, 100);
    detector.fence(main);
    detector.access(main, 0, 4, READ, (0, 2));
    assert!(detector.races().is_empty());
}

#[test]
fn a_plain_load_of_an_atomic_word_acquires_like_an_atomic_load() {
    // musl's join: the exiting thread stores its state atomically, the joiner polls it with
    // a plain load, then reads the thread's work.
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let worker = detector.start_thread(Some(main));
    detector.access(worker, 0, 4, WRITE, (0, 1));
    detector.release(worker, 64);
    detector.acquire(worker, 64);
    detector.access(main, 64, 4, READ, (0, 2));
    detector.access(main, 0, 4, READ, (0, 3));
    assert!(detector.races().is_empty());
    // A plain load of a word no atomic touched orders nothing.
    detector.access(worker, 8, 4, WRITE, (0, 4));
    detector.access(worker, 72, 4, WRITE, (0, 5));
    detector.access(main, 72, 4, READ, (0, 6));
    detector.access(main, 8, 4, READ, (0, 7));
    assert_eq!(detector.races().len(), 2);
}

#[test]
fn spawn_and_join_order_a_thread_with_its_parent() {
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    detector.access(main, 0, 4, WRITE, (0, 1));
    let child = detector.start_thread(Some(main));
    detector.access(child, 0, 4, WRITE, (0, 2));
    detector.join_thread(main, child);
    detector.access(main, 0, 4, READ, (0, 3));
    assert!(detector.races().is_empty());
    // What the parent does after the spawn is unordered with the child.
    let other = detector.start_thread(Some(main));
    detector.access(main, 32, 4, WRITE, (0, 4));
    detector.access(other, 32, 4, READ, (0, 5));
    assert_eq!(detector.races().len(), 1);
}

#[test]
fn neighbouring_bytes_and_reads_alone_never_race() {
    let detector = RaceDetector::new();
    let main = detector.start_thread(None);
    let a = detector.start_thread(Some(main));
    let b = detector.start_thread(Some(main));
    detector.access(a, 0, 1, WRITE, (0, 1));
    detector.access(b, 1, 1, WRITE, (0, 2));
    detector.access(a, 16, 4, READ, (0, 3));
    detector.access(b, 16, 4, READ, (0, 4));
    detector.access(a, 16, 4, READ, (0, 3));
    assert!(detector.races().is_empty());
    // A write after both reads races with each.
    detector.access(main, 18, 1, WRITE, (0, 5));
    assert_eq!(detector.races().len(), 2);
}
