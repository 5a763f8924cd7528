//! Loom models of the wait-queue protocol, one per requirement a peer has shipped a bug in.
//! Each model `loom_<scenario>` has twins `loom_<scenario>_catches_<flaw>` that run it on a
//! queue with a deliberate protocol bug ([`Flaw`]) and assert that loom finds the failure.
//! The harness for both (`check`, `assert_caught`) is shared with `loom_thread_group.rs`.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p weft-threads --release --lib -- loom_
//! ```
//!
//! loom has no clock, so a timed wait here times out when another thread calls
//! [`Waiter::expire`] (the model's clock), at any point loom chooses.

use std::env;
use std::panic::Location;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use loom::model::Builder;
use loom::sync::atomic::AtomicU32;

use crate::flaw::Flaw;
use crate::sync::{Arc, Ordering, thread};
use crate::{WaitOutcome, WaitQueue, Waiter};

const KEY: u64 = 0x1000;

/// Loom explores every interleaving with at most this many preemptions unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise; an unbounded search of these models takes far longer.
/// Every flaw is caught within this bound (the pruning race needs both preemptions).
const PREEMPTIONS: usize = 2;

pub(crate) type Model = Box<dyn Fn() + Send + Sync>;

fn builder() -> Builder {
    let mut builder = Builder::new();
    builder.preemption_bound.get_or_insert(PREEMPTIONS);
    builder
}

pub(crate) fn check(model: Model) {
    builder().check(model);
}

/// Set in the child process that runs a flawed model.
const RUN_FLAWED: &str = "WEFT_LOOM_RUN_FLAWED";

/// Asserts that loom finds a failure in `model`, a model run on a flawed queue or group by the
/// test named `test`, which is in the caller's file (a module of its own at the crate root). The
/// model runs in a child process (this test binary, filtered to `test`): a failing loom model
/// can abort rather than unwind, because loom drops thread-locals holding its primitives after
/// the execution is gone.
#[track_caller]
pub(crate) fn assert_caught(test: &str, model: Model) {
    if env::var_os(RUN_FLAWED).is_some() {
        // A quick run with fewer preemptions checks less, but must not hide a flaw.
        let mut builder = builder();
        builder.preemption_bound = builder.preemption_bound.map(|n| n.max(PREEMPTIONS));
        builder.check(model);
        return;
    }
    let file = Location::caller().file();
    let module = Path::new(file).file_stem().unwrap().to_str().unwrap();
    let child = Command::new(env::current_exe().unwrap())
        .args([&format!("{module}::{test}"), "--exact", "--nocapture"])
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
    // The failure must be the model's: one of its assertions, or loom's deadlock detection.
    let assertion = format!("panicked at {file}");
    assert!(
        stderr.contains(&assertion) || stderr.contains("deadlock; threads"),
        "the flawed model failed for another reason:\n{stderr}"
    );
}

fn queue(flaw: Option<Flaw>) -> Arc<WaitQueue> {
    Arc::new(flaw.map_or_else(WaitQueue::new, WaitQueue::with_flaw))
}

fn woken(outcome: WaitOutcome) -> u32 {
    u32::from(outcome == WaitOutcome::Woken)
}

/// The waiter checks a word the notifier changes before notifying, while the waiter may be
/// anywhere between its check and its sleep: the wait must see the change (`Mismatch`) or be
/// woken, never sleep through the notify.
fn no_lost_wakeup(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let queue = queue(flaw);
        let word = Arc::new(AtomicU32::new(0));
        let waiter = thread::spawn({
            let (queue, word) = (queue.clone(), word.clone());
            move || queue.wait(KEY, || word.load(Ordering::SeqCst) == 0, None)
        });
        word.store(1, Ordering::SeqCst);
        let count = queue.notify(KEY, 1);
        let outcome = waiter.join().unwrap();
        assert!(matches!(
            outcome,
            WaitOutcome::Woken | WaitOutcome::Mismatch
        ));
        assert_eq!(count, woken(outcome));
        assert!(queue.is_pruned());
    })
}

#[test]
fn loom_no_lost_wakeup() {
    check(no_lost_wakeup(None));
}

#[test]
fn loom_no_lost_wakeup_catches_validate_outside_lock() {
    assert_caught(
        "loom_no_lost_wakeup_catches_validate_outside_lock",
        no_lost_wakeup(Some(Flaw::ValidateOutsideLock)),
    );
}

fn spawn_waiter(queue: &Arc<WaitQueue>) -> thread::JoinHandle<WaitOutcome> {
    let queue = queue.clone();
    thread::spawn(move || queue.wait(KEY, || true, None))
}

fn await_waiters(queue: &WaitQueue, n: usize) {
    while queue.waiters(KEY) < n {
        thread::yield_now();
    }
}

/// Two waiters queue in a known order; `notify(1)` wakes exactly the older one, and a notify
/// for more than are queued wakes (and counts) just the one left.
fn notify_wakes_oldest_first(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let queue = queue(flaw);
        let older = spawn_waiter(&queue);
        await_waiters(&queue, 1);
        let newer = spawn_waiter(&queue);
        await_waiters(&queue, 2);
        assert_eq!(queue.notify(KEY, 1), 1);
        assert_eq!(older.join().unwrap(), WaitOutcome::Woken);
        assert_eq!(queue.waiters(KEY), 1);
        assert_eq!(queue.notify(KEY, 3), 1);
        assert_eq!(newer.join().unwrap(), WaitOutcome::Woken);
        assert!(queue.is_pruned());
    })
}

#[test]
fn loom_notify_wakes_oldest_first() {
    check(notify_wakes_oldest_first(None));
}

#[test]
fn loom_notify_wakes_oldest_first_catches_notify_newest_first() {
    assert_caught(
        "loom_notify_wakes_oldest_first_catches_notify_newest_first",
        notify_wakes_oldest_first(Some(Flaw::NotifyNewestFirst)),
    );
}

/// A notify marks its waiter and signals it after unlocking the mark, so the signal can arrive
/// after that wait has returned, while the thread sleeps in its next wait (here on another
/// queue, since on the same one the notifier's shard lock keeps it out until the signal is
/// sent). That wakeup is stale: the second wait must not return `Woken`, only time out.
fn stale_signal_is_not_a_wakeup(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let queue = queue(flaw);
        let notifier = thread::spawn({
            let queue = queue.clone();
            move || {
                while queue.notify(KEY, 1) == 0 {
                    thread::yield_now();
                }
            }
        });
        assert_eq!(queue.wait(KEY, || true, None), WaitOutcome::Woken);
        let clock = thread::spawn({
            let me = Waiter::current();
            move || me.expire()
        });
        let other = flaw.map_or_else(WaitQueue::new, WaitQueue::with_flaw);
        let outcome = other.wait(KEY, || true, Some(Duration::ZERO));
        assert_eq!(outcome, WaitOutcome::TimedOut);
        notifier.join().unwrap();
        clock.join().unwrap();
        assert!(queue.is_pruned() && other.is_pruned());
    })
}

#[test]
fn loom_stale_signal_is_not_a_wakeup() {
    check(stale_signal_is_not_a_wakeup(None));
}

#[test]
fn loom_stale_signal_is_not_a_wakeup_catches_wakeup_means_notified() {
    assert_caught(
        "loom_stale_signal_is_not_a_wakeup_catches_wakeup_means_notified",
        stale_signal_is_not_a_wakeup(Some(Flaw::WakeupMeansNotified)),
    );
}

/// A wait that may give up (by timeout or interrupt, as `give_up` does to its waiter) races a
/// notify: exactly one outcome, and the notify counts the waiter iff the wait returns `Woken`.
fn give_up_races_notify(
    flaw: Option<Flaw>,
    give_up: fn(&Waiter),
    timeout: Option<Duration>,
    gave_up: WaitOutcome,
) -> impl Fn() + Send + Sync {
    move || {
        let queue = queue(flaw);
        let me = Waiter::current();
        let canceller = thread::spawn(move || give_up(&me));
        let notifier = thread::spawn({
            let queue = queue.clone();
            move || queue.notify(KEY, 1)
        });
        let outcome = queue.wait(KEY, || true, timeout);
        let count = notifier.join().unwrap();
        canceller.join().unwrap();
        assert!(outcome == WaitOutcome::Woken || outcome == gave_up);
        assert_eq!(count, woken(outcome));
        assert!(queue.is_pruned());
    }
}

fn timeout_races_notify(flaw: Option<Flaw>) -> Model {
    Box::new(give_up_races_notify(
        flaw,
        Waiter::expire,
        Some(Duration::ZERO),
        WaitOutcome::TimedOut,
    ))
}

#[test]
fn loom_timeout_races_notify() {
    check(timeout_races_notify(None));
}

#[test]
fn loom_timeout_races_notify_catches_timeout_keeps_queued() {
    assert_caught(
        "loom_timeout_races_notify_catches_timeout_keeps_queued",
        timeout_races_notify(Some(Flaw::TimeoutKeepsQueued)),
    );
}

#[test]
fn loom_timeout_races_notify_catches_timeout_ignores_notify() {
    assert_caught(
        "loom_timeout_races_notify_catches_timeout_ignores_notify",
        timeout_races_notify(Some(Flaw::TimeoutIgnoresNotify)),
    );
}

/// As [`timeout_races_notify`], with an interrupt; afterwards the interrupt is still set and
/// turns the next wait away at once.
fn interrupt_races_notify(flaw: Option<Flaw>) -> Model {
    let model = give_up_races_notify(flaw, Waiter::interrupt, None, WaitOutcome::Interrupted);
    Box::new(move || {
        model();
        assert!(Waiter::current().is_interrupted());
        let queue = WaitQueue::new();
        assert_eq!(queue.wait(KEY, || true, None), WaitOutcome::Interrupted);
    })
}

#[test]
fn loom_interrupt_races_notify() {
    check(interrupt_races_notify(None));
}

#[test]
fn loom_interrupt_races_notify_catches_interrupt_keeps_queued() {
    assert_caught(
        "loom_interrupt_races_notify_catches_interrupt_keeps_queued",
        interrupt_races_notify(Some(Flaw::InterruptKeepsQueued)),
    );
}

/// A timed-out waiter empties the key's queue and prunes it while a second waiter enqueues on
/// the same key; then the word changes and everyone is notified. The second waiter must be
/// woken (or see the change), never left in a queue that no longer exists.
fn prune_races_enqueue(flaw: Option<Flaw>) -> Model {
    Box::new(move || {
        let queue = queue(flaw);
        let word = Arc::new(AtomicU32::new(0));
        let other = thread::spawn({
            let (queue, word) = (queue.clone(), word.clone());
            move || queue.wait(KEY, || word.load(Ordering::SeqCst) == 0, None)
        });
        let notifier = thread::spawn({
            let (queue, word, me) = (queue.clone(), word.clone(), Waiter::current());
            move || {
                me.expire();
                word.store(1, Ordering::SeqCst);
                queue.notify(KEY, u32::MAX)
            }
        });
        let outcome = queue.wait(KEY, || true, Some(Duration::ZERO));
        let other_outcome = other.join().unwrap();
        let count = notifier.join().unwrap();
        assert!(matches!(
            outcome,
            WaitOutcome::Woken | WaitOutcome::TimedOut
        ));
        assert!(matches!(
            other_outcome,
            WaitOutcome::Woken | WaitOutcome::Mismatch
        ));
        assert_eq!(count, woken(outcome) + woken(other_outcome));
        assert!(queue.is_pruned());
    })
}

#[test]
fn loom_prune_races_enqueue() {
    check(prune_races_enqueue(None));
}

#[test]
fn loom_prune_races_enqueue_catches_prune_without_recheck() {
    assert_caught(
        "loom_prune_races_enqueue_catches_prune_without_recheck",
        prune_races_enqueue(Some(Flaw::PruneWithoutRecheck)),
    );
}
