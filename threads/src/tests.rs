//! The wait queue with real threads and the real clock. Races that need every interleaving
//! covered are loom models (`loom_tests.rs`); these check the same properties at scale, plus
//! what loom cannot see: time.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::sync::{Arc, Ordering, thread};
use crate::wait_queue::{SHARDS, SPARE_QUEUES};
use crate::{WaitOutcome, WaitQueue, Waiter};

const KEY: u64 = 0x1000;

/// Long enough that a correct run never gets near it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `n` threads are queued on `key`.
fn await_waiters(queue: &WaitQueue, key: u64, n: usize) {
    let start = Instant::now();
    while queue.waiters(key) != n {
        assert!(start.elapsed() < PATIENCE, "waiters never reached {n}");
        thread::yield_now();
    }
}

/// Spawns a thread that waits on `key` forever (unless notified) and returns its outcome.
fn spawn_waiter(queue: &Arc<WaitQueue>, key: u64) -> thread::JoinHandle<WaitOutcome> {
    let queue = queue.clone();
    thread::spawn(move || queue.wait(key, || true, None))
}

#[test]
fn notify_wakes_in_fifo_order() {
    const N: usize = 5;
    let queue = Arc::new(WaitQueue::new());
    let (woke, order) = mpsc::channel();
    let waiters: Vec<_> = (0..N)
        .map(|i| {
            let waiter = thread::spawn({
                let (queue, woke) = (queue.clone(), woke.clone());
                move || {
                    let outcome = queue.wait(KEY, || true, None);
                    woke.send(i).unwrap();
                    outcome
                }
            });
            // Queue them in index order.
            await_waiters(&queue, KEY, i + 1);
            waiter
        })
        .collect();
    for i in 0..N {
        assert_eq!(queue.notify(KEY, 1), 1);
        assert_eq!(order.recv_timeout(PATIENCE).unwrap(), i);
        assert_eq!(queue.waiters(KEY), N - i - 1);
    }
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitOutcome::Woken);
    }
    assert!(queue.is_pruned());
}

#[test]
fn notify_counts_only_the_waiters_it_wakes() {
    let queue = Arc::new(WaitQueue::new());
    assert_eq!(queue.notify(KEY, 3), 0, "nobody waits yet");
    let waiters: Vec<_> = (0..5).map(|_| spawn_waiter(&queue, KEY)).collect();
    await_waiters(&queue, KEY, 5);
    assert_eq!(queue.notify(KEY, 0), 0);
    assert_eq!(queue.notify(KEY + 4, 3), 0, "another key");
    assert_eq!(queue.notify(KEY, 2), 2);
    assert_eq!(queue.waiters(KEY), 3);
    assert_eq!(queue.notify(KEY, u32::MAX), 3);
    assert_eq!(queue.waiters(KEY), 0);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitOutcome::Woken);
    }
    assert!(queue.is_pruned());
}

#[test]
fn mismatch_returns_without_queueing() {
    let queue = WaitQueue::new();
    assert_eq!(
        queue.wait(KEY, || false, None),
        WaitOutcome::Mismatch,
        "a forever wait that blocked would hang here"
    );
    assert_eq!(queue.waiters(KEY), 0);
    assert!(queue.is_pruned());
}

#[test]
fn zero_timeout_times_out() {
    let queue = WaitQueue::new();
    assert_eq!(
        queue.wait(KEY, || true, Some(Duration::ZERO)),
        WaitOutcome::TimedOut
    );
    assert!(queue.is_pruned());
}

#[test]
fn timeout_never_ends_a_wait_early() {
    let queue = WaitQueue::new();
    let timeout = Duration::from_millis(50);
    let start = Instant::now();
    assert_eq!(
        queue.wait(KEY, || true, Some(timeout)),
        WaitOutcome::TimedOut
    );
    let waited = start.elapsed();
    assert!(waited >= timeout, "returned after {waited:?}");
    assert!(waited < PATIENCE);
    assert!(queue.is_pruned());
}

#[test]
fn unrepresentable_timeout_waits_until_notified() {
    let queue = Arc::new(WaitQueue::new());
    let waiter = {
        let queue = queue.clone();
        thread::spawn(move || queue.wait(KEY, || true, Some(Duration::MAX)))
    };
    await_waiters(&queue, KEY, 1);
    assert_eq!(queue.notify(KEY, 1), 1);
    assert_eq!(waiter.join().unwrap(), WaitOutcome::Woken);
}

/// Notifies on other keys (some sharing the waiters' shards) signal nothing to them: every
/// timed wait here ends `TimedOut`, none `Woken`.
#[test]
fn notifies_on_other_keys_never_wake() {
    let queue = Arc::new(WaitQueue::new());
    let done = Arc::new(AtomicU32::new(0));
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let (queue, done) = (queue.clone(), done.clone());
            thread::spawn(move || {
                let outcome = queue.wait(KEY + 8 * i, || true, Some(Duration::from_millis(100)));
                done.fetch_add(1, Ordering::SeqCst);
                outcome
            })
        })
        .collect();
    // 256 keys span all 64 shards, so every waiter's shard is being notified too.
    while done.load(Ordering::SeqCst) < 4 {
        for key in 0..256 {
            assert_eq!(queue.notify(0x10_0000 + 8 * key, u32::MAX), 0);
        }
    }
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitOutcome::TimedOut);
    }
    assert!(queue.is_pruned());
}

#[test]
fn interrupt_wakes_a_blocked_waiter_promptly_and_sticks() {
    let queue = Arc::new(WaitQueue::new());
    let (handle, waiter_of) = mpsc::channel();
    let thread = {
        let queue = queue.clone();
        thread::spawn(move || {
            handle.send(Waiter::current()).unwrap();
            let first = queue.wait(KEY, || true, None);
            let validated = std::cell::Cell::new(false);
            let again = queue.wait(KEY, || validated.replace(true), None);
            assert!(!validated.get(), "an interrupted thread must not validate");
            let me = Waiter::current();
            assert!(me.is_interrupted());
            me.clear_interrupt();
            assert!(!me.is_interrupted());
            let after_clear = queue.wait(KEY, || true, Some(Duration::ZERO));
            (first, again, after_clear)
        })
    };
    let waiter = waiter_of.recv().unwrap();
    await_waiters(&queue, KEY, 1);
    let start = Instant::now();
    waiter.interrupt();
    let outcomes = thread.join().unwrap();
    // A termination must not wait for a polling interval (WAMR polls every second).
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        outcomes,
        (
            WaitOutcome::Interrupted,
            WaitOutcome::Interrupted,
            WaitOutcome::TimedOut
        )
    );
    assert_eq!(
        queue.notify(KEY, 1),
        0,
        "the interrupted waiter left the queue"
    );
    assert!(queue.is_pruned());
}

#[test]
fn handles_are_shareable_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Waiter>();
    shareable::<WaitQueue>();
    let _: WaitQueue = Default::default();
}

#[test]
fn waiter_is_made_once_per_thread() {
    let queue = WaitQueue::new();
    let me = Waiter::current();
    assert!(me.is(&Waiter::current()));
    assert_eq!(
        queue.wait(KEY, || true, Some(Duration::ZERO)),
        WaitOutcome::TimedOut
    );
    assert!(me.is(&Waiter::current()));
    let other = thread::spawn(Waiter::current).join().unwrap();
    assert!(!me.is(&other));
}

#[test]
fn emptied_queues_are_pruned_and_their_buffers_reused() {
    let queue = Arc::new(WaitQueue::new());
    for key in (0..1000).map(|i| 8 * i) {
        assert_eq!(
            queue.wait(key, || true, Some(Duration::ZERO)),
            WaitOutcome::TimedOut
        );
    }
    assert!(queue.is_pruned(), "a key with no waiters keeps no entry");
    let spare = queue.spare_queues();
    assert!(spare > 0 && spare <= SHARDS * SPARE_QUEUES, "{spare}");

    // Every queue a key needs now comes from the spares, and goes back when emptied.
    let waiters: Vec<_> = (0..4).map(|i| spawn_waiter(&queue, 8 * i)).collect();
    for i in 0..4 {
        await_waiters(&queue, 8 * i, 1);
    }
    assert_eq!(queue.spare_queues(), spare - 4);
    for i in 0..4 {
        assert_eq!(queue.notify(8 * i, 1), 1);
    }
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), WaitOutcome::Woken);
    }
    assert_eq!(queue.spare_queues(), spare);
    assert!(queue.is_pruned());
}

/// Timeouts and interrupts racing notifies, many times over: each wait has one outcome and the
/// notifies' counts add up to exactly the `Woken` outcomes.
#[test]
fn giving_up_races_notify_with_exact_counts() {
    const ROUNDS: u32 = 10_000;
    let queue = Arc::new(WaitQueue::new());
    let (handle, waiter_of) = mpsc::channel();
    let waiter = {
        let queue = queue.clone();
        thread::spawn(move || {
            let me = Waiter::current();
            handle.send(me.clone()).unwrap();
            let mut woken = 0;
            for round in 0..ROUNDS {
                // Even rounds give up by timeout, odd ones by interrupt.
                let timeout = (round % 2 == 0).then(|| Duration::from_micros(50));
                match queue.wait(KEY, || true, timeout) {
                    WaitOutcome::Woken => woken += 1,
                    WaitOutcome::TimedOut => assert!(timeout.is_some()),
                    WaitOutcome::Interrupted => me.clear_interrupt(),
                    WaitOutcome::Mismatch => unreachable!(),
                }
            }
            woken
        })
    };
    let stop = Arc::new(AtomicBool::new(false));
    let interrupter = {
        let (me, stop) = (waiter_of.recv().unwrap(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                me.interrupt();
                thread::sleep(Duration::from_micros(100));
            }
        })
    };
    let mut counted = 0;
    while !waiter.is_finished() {
        counted += queue.notify(KEY, 1);
        thread::yield_now();
    }
    stop.store(true, Ordering::SeqCst);
    interrupter.join().unwrap();
    assert_eq!(counted, waiter.join().unwrap());
    assert!(queue.is_pruned());
}

/// Two threads hand a turn back and forth through one word: each store-and-notify races the
/// other thread's check-and-sleep, and a lost wakeup leaves a thread asleep until its timeout.
#[test]
fn ping_pong_loses_no_wakeup() {
    const TURNS: u32 = 20_000;
    let queue = Arc::new(WaitQueue::new());
    let turn = Arc::new(AtomicU32::new(0));
    let players: Vec<_> = (0..2)
        .map(|me| {
            let (queue, turn) = (queue.clone(), turn.clone());
            thread::spawn(move || {
                for _ in 0..TURNS {
                    while turn.load(Ordering::SeqCst) != me {
                        let outcome =
                            queue.wait(KEY, || turn.load(Ordering::SeqCst) != me, Some(PATIENCE));
                        assert_ne!(outcome, WaitOutcome::TimedOut, "lost wakeup");
                    }
                    turn.store(1 - me, Ordering::SeqCst);
                    queue.notify(KEY, 1);
                }
            })
        })
        .collect();
    for player in players {
        player.join().unwrap();
    }
    assert!(queue.is_pruned());
}

/// A small deterministic generator, so a failing stress run can be replayed.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Many threads waiting on many keys, with value checks, timeouts and notifies of every size
/// racing: every wait ends, and the notifies' counts add up to exactly the `Woken` outcomes.
#[test]
fn many_threads_many_keys_exact_counts() {
    const WAITERS: u64 = 8;
    const NOTIFIERS: usize = 2;
    const KEYS: usize = 16;
    const WAITS: usize = 2000;
    let queue = Arc::new(WaitQueue::new());
    let words: Arc<[AtomicU32]> = (0..KEYS).map(|_| AtomicU32::new(0)).collect();
    let finished = Arc::new(AtomicUsize::new(0));
    let key = |k: usize| 0x4000 + 4 * k as u64;
    let waiters: Vec<_> = (0..WAITERS)
        .map(|seed| {
            let (queue, words, finished) = (queue.clone(), words.clone(), finished.clone());
            thread::spawn(move || {
                let mut rng = seed + 1;
                let mut woken = 0;
                for _ in 0..WAITS {
                    let k = xorshift(&mut rng) as usize % KEYS;
                    let seen = words[k].load(Ordering::SeqCst);
                    let r = xorshift(&mut rng);
                    let timeout = r.is_multiple_of(4).then(|| Duration::from_micros(r % 200));
                    match queue.wait(key(k), || words[k].load(Ordering::SeqCst) == seen, timeout) {
                        WaitOutcome::Woken => woken += 1,
                        WaitOutcome::Mismatch => {}
                        WaitOutcome::TimedOut => assert!(timeout.is_some()),
                        WaitOutcome::Interrupted => unreachable!(),
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
                woken
            })
        })
        .collect();
    let notifiers: Vec<_> = (0..NOTIFIERS)
        .map(|n| {
            let (queue, words, finished) = (queue.clone(), words.clone(), finished.clone());
            thread::spawn(move || {
                let mut counted = 0;
                // Round-robin over the keys, so every queued waiter is reached again soon.
                let mut k = n;
                while finished.load(Ordering::SeqCst) < WAITERS as usize {
                    words[k].fetch_add(1, Ordering::SeqCst);
                    counted += queue.notify(key(k), k as u32 % 3 + 1);
                    k = (k + 1) % KEYS;
                }
                counted
            })
        })
        .collect();
    let woken: u32 = waiters.into_iter().map(|w| w.join().unwrap()).sum();
    let counted: u32 = notifiers.into_iter().map(|n| n.join().unwrap()).sum();
    assert_eq!(counted, woken);
    assert!(woken > 0);
    assert!(queue.is_pruned());
}
