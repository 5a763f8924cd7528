//! Loom models of the thread-group protocol (`thread_group.rs`), one per guarantee the engine
//! relies on. As in `loom_tests.rs`, whose harness these share, each model `loom_group_<scenario>`
//! has twins `loom_group_<scenario>_catches_<flaw>` that run it on a group with a deliberate
//! protocol bug ([`GroupFlaw`], or a [`WaiterFlaw`] in the waiter the group interrupts) and
//! assert that loom finds the failure.
//!
//! A guest thread here is a loom thread that calls `start`, runs "guest code" (nothing, a poll
//! of its interrupt flag, or a wait that only an interrupt ends) and calls `finish`; errors are
//! plain numbers.

use loom::sync::atomic::AtomicU32;

use crate::flaw::{GroupFlaw, WaiterFlaw};
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{Arc, Ordering, thread};
use crate::{Interrupt, Outcome, ThreadGroup, ThreadId, WaitOutcome, WaitQueue, Waiter};

const KEY: u64 = 0x1000;

fn group(limit: u32, flaw: Option<GroupFlaw>) -> Arc<ThreadGroup<u32>> {
    Arc::new(match flaw {
        Some(flaw) => ThreadGroup::with_flaw(limit, flaw),
        None => ThreadGroup::new(limit),
    })
}

/// The calling thread's waiter as its interrupter, as the engine's would be: an interrupt ends
/// the thread's current or next wait.
fn waiter() -> std::sync::Arc<dyn Interrupt> {
    std::sync::Arc::new(Waiter::current())
}

/// A waiter whose interrupt has a deliberate bug.
struct FlawedWaiter(Waiter, WaiterFlaw);

impl Interrupt for FlawedWaiter {
    fn interrupt(&self) {
        self.0.interrupt_with_flaw(self.1);
    }
}

/// As [`waiter`], with `flaw` in the waiter's interrupt.
fn flawed_waiter(flaw: Option<WaiterFlaw>) -> std::sync::Arc<dyn Interrupt> {
    match flaw {
        Some(flaw) => std::sync::Arc::new(FlawedWaiter(Waiter::current(), flaw)),
        None => waiter(),
    }
}

/// An interrupter that counts its calls.
#[derive(Default)]
struct Count(AtomicU32);

impl Count {
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Interrupt for Count {
    fn interrupt(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// With a limit of 1, a thread that runs and one whose spawn fails (and is cancelled) reserve
/// at once: whoever holds a slot is alone in the group, the ids differ, at least one gets a
/// slot, and both slots come back.
fn limit(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(1, flaw);
        let runner = thread::spawn({
            let group = group.clone();
            move || {
                let id = group.reserve()?;
                assert_eq!(group.live(), 1);
                assert!(group.start(id, waiter()));
                group.finish(id, Ok(()));
                Some(id)
            }
        });
        let cancelled = group.reserve();
        if let Some(id) = cancelled {
            assert_eq!(group.live(), 1);
            group.cancel(id);
        }
        let ran = runner.join().unwrap();
        assert!(ran.is_some() || cancelled.is_some());
        assert_ne!(ran, cancelled);
        assert_eq!(group.live(), 0);
        if let Some(id) = ran {
            assert_eq!(group.join(id), Some(Outcome::Finished));
        }
        if let Some(id) = cancelled {
            assert_eq!(group.join(id), None);
        }
        assert_eq!(group.join_all(), Ok(()));
    })
}

#[test]
fn loom_group_limit() {
    check(limit(None));
}

#[test]
fn loom_group_limit_catches_reserve_in_two_steps() {
    assert_caught(
        "loom_group_limit_catches_reserve_in_two_steps",
        limit(Some(GroupFlaw::ReserveInTwoSteps)),
    );
}

/// With a limit of 1 and the slot held by a running thread, another thread reserves with
/// patience while the first finishes: it gets the freed slot (no deadline passes in this
/// model), however the finish and its wait interleave.
fn reserve_waits_for_finish(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(1, flaw);
        let first = group.reserve().expect("the group is empty");
        assert!(group.start(first, waiter()));
        let reserver = thread::spawn({
            let group = group.clone();
            move || group.reserve_within(std::time::Duration::from_secs(60))
        });
        group.finish(first, Ok(()));
        let second = reserver.join().unwrap().expect("the freed slot");
        assert_ne!(second, first);
        assert_eq!(group.live(), 1);
        group.cancel(second);
    })
}

#[test]
fn loom_group_reserve_waits_for_finish() {
    check(reserve_waits_for_finish(None));
}

#[test]
fn loom_group_reserve_waits_for_finish_catches_check_then_wait() {
    assert_caught(
        "loom_group_reserve_waits_for_finish_catches_check_then_wait",
        reserve_waits_for_finish(Some(GroupFlaw::CheckThenWait)),
    );
}

/// Two joiners of one thread, which traps: exactly one gets the outcome `finish` recorded, the
/// other `None`, and neither sleeps through the finish.
fn join(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(1, flaw);
        let id = group.reserve().unwrap();
        let guest = thread::spawn({
            let group = group.clone();
            move || {
                assert!(group.start(id, waiter()));
                group.finish(id, Err(7));
            }
        });
        let joiner = thread::spawn({
            let group = group.clone();
            move || group.join(id)
        });
        let mine = group.join(id);
        let theirs = joiner.join().unwrap();
        guest.join().unwrap();
        assert!(matches!(
            (mine, theirs),
            (Some(Outcome::Trapped(7)), None) | (None, Some(Outcome::Trapped(7)))
        ));
        assert!(group.is_aborted());
        assert_eq!(group.join_all(), Err(7));
    })
}

#[test]
fn loom_group_join() {
    check(join(None));
}

#[test]
fn loom_group_join_catches_notify_before_record() {
    assert_caught(
        "loom_group_join_catches_notify_before_record",
        join(Some(GroupFlaw::NotifyBeforeRecord)),
    );
}

#[test]
fn loom_group_join_catches_wake_one_joiner() {
    assert_caught(
        "loom_group_join_catches_wake_one_joiner",
        join(Some(GroupFlaw::WakeOneJoiner)),
    );
}

/// Runs thread `id` as a guest whose code heads into `memory.atomic.wait` and blocks there, with
/// a value check that stays true, until an interrupt (of its waiter, with `flaw`) ends the wait;
/// it reports the interrupt as an error of its own, as the engine reports it as a trap. Refused
/// by `start`, it runs nothing.
fn spawn_sleeper(
    group: &Arc<ThreadGroup<u32>>,
    id: ThreadId,
    flaw: Option<WaiterFlaw>,
) -> thread::JoinHandle<()> {
    let group = group.clone();
    thread::spawn(move || {
        let result = if group.start(id, flawed_waiter(flaw)) {
            let queue = WaitQueue::new();
            assert_eq!(queue.wait(KEY, || true, None), WaitOutcome::Interrupted);
            Err(2)
        } else {
            Ok(())
        };
        group.finish(id, result);
    })
}

/// One thread traps while another starts and then blocks in a wait that only an interrupt
/// ends. The second either is refused by `start` or gets interrupted: never runs on after the
/// group aborted (here: never sleeps forever). It ends `Aborted` even though it reports the
/// interrupt as an error of its own; the trap is the group's error.
fn trap_stops_starting_thread(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(2, flaw);
        let trapper = group.reserve().unwrap();
        let sleeper = group.reserve().unwrap();
        let trapping = thread::spawn({
            let group = group.clone();
            move || {
                assert!(group.start(trapper, waiter()));
                group.finish(trapper, Err(1));
            }
        });
        let sleeping = spawn_sleeper(&group, sleeper, None);
        trapping.join().unwrap();
        sleeping.join().unwrap();
        assert_eq!(group.join(trapper), Some(Outcome::Trapped(1)));
        assert_eq!(group.join(sleeper), Some(Outcome::Aborted));
        assert_eq!(group.join_all(), Err(1));
    })
}

#[test]
fn loom_group_trap_stops_starting_thread() {
    check(trap_stops_starting_thread(None));
}

#[test]
fn loom_group_trap_stops_starting_thread_catches_start_in_two_steps() {
    assert_caught(
        "loom_group_trap_stops_starting_thread_catches_start_in_two_steps",
        trap_stops_starting_thread(Some(GroupFlaw::StartInTwoSteps)),
    );
}

/// A trap and an embedder's abort race while a third thread runs: that thread is interrupted
/// exactly once, the trapping one at most once (by the abort, if it came first), and the trap is
/// the group's error only if it came before the abort.
fn interrupts_once(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(2, flaw);
        let trapper = group.reserve().unwrap();
        let runner = group.reserve().unwrap();
        let runner_count = std::sync::Arc::new(Count::default());
        assert!(group.start(runner, runner_count.clone()));
        let trapping = thread::spawn({
            let group = group.clone();
            move || {
                let count = std::sync::Arc::new(Count::default());
                // Refused if the abort came first; it then runs nothing, and its error is moot.
                group.start(trapper, count.clone());
                group.finish(trapper, Err(1));
                count
            }
        });
        let aborter = thread::spawn({
            let group = group.clone();
            move || group.abort()
        });
        let trapper_count = trapping.join().unwrap();
        aborter.join().unwrap();
        assert_eq!(runner_count.get(), 1);
        assert!(trapper_count.get() <= 1);
        group.finish(runner, Err(2));
        assert_eq!(group.join(runner), Some(Outcome::Aborted));
        let trapped = match group.join(trapper) {
            Some(Outcome::Trapped(1)) => true,
            Some(Outcome::Aborted) => false,
            other => panic!("the trapping thread ended {other:?}"),
        };
        assert_eq!(group.join_all(), if trapped { Err(1) } else { Ok(()) });
    })
}

/// The engine terminates a store with `abort` while a guest thread starts and heads into a wait:
/// wherever the interrupt lands on the thread's way to sleep, the thread is refused or woken,
/// never sleeps forever, and ends `Aborted`; an abort is no error.
fn abort_races_wait(flaw: Option<GroupFlaw>, waiter_flaw: Option<WaiterFlaw>) -> Model {
    Box::new(move || {
        let group = group(1, flaw);
        let id = group.reserve().unwrap();
        let sleeping = spawn_sleeper(&group, id, waiter_flaw);
        group.abort();
        sleeping.join().unwrap();
        assert_eq!(group.join(id), Some(Outcome::Aborted));
        assert_eq!(group.join_all(), Ok(()));
    })
}

#[test]
fn loom_group_abort_races_wait() {
    check(abort_races_wait(None, None));
}

#[test]
fn loom_group_abort_races_wait_catches_start_in_two_steps() {
    assert_caught(
        "loom_group_abort_races_wait_catches_start_in_two_steps",
        abort_races_wait(Some(GroupFlaw::StartInTwoSteps), None),
    );
}

#[test]
fn loom_group_abort_races_wait_catches_interrupt_outside_lock() {
    assert_caught(
        "loom_group_abort_races_wait_catches_interrupt_outside_lock",
        abort_races_wait(None, Some(WaiterFlaw::InterruptOutsideLock)),
    );
}

#[test]
fn loom_group_interrupts_once() {
    check(interrupts_once(None));
}

#[test]
fn loom_group_interrupts_once_catches_interrupt_repeatedly() {
    assert_caught(
        "loom_group_interrupts_once_catches_interrupt_repeatedly",
        interrupts_once(Some(GroupFlaw::InterruptRepeatedly)),
    );
}

/// The embedder terminates one thread while it starts, polls its interrupt flag once (as
/// compiled code does at a safepoint) and finishes, and another thread runs on. If `terminate`
/// returns true, the target is refused or interrupted, never runs on unhindered; if false, it
/// had finished. It ends `Aborted` if it was refused or saw the interrupt (and reported it as
/// an error), else `Finished`; either way its end is its own, so the other thread is never
/// interrupted and the group is not aborted.
fn terminate_one(flaw: Option<GroupFlaw>) -> Model {
    Box::new(move || {
        let group = group(2, flaw);
        let target = group.reserve().unwrap();
        let bystander = group.reserve().unwrap();
        let bystander_count = std::sync::Arc::new(Count::default());
        assert!(group.start(bystander, bystander_count.clone()));
        let running = thread::spawn({
            let group = group.clone();
            move || {
                let me = Waiter::current();
                let started = group.start(target, waiter());
                let saw_interrupt = started && me.is_interrupted();
                group.finish(target, if saw_interrupt { Err(2) } else { Ok(()) });
                (started, saw_interrupt, me)
            }
        });
        let terminated = group.terminate(target);
        let (started, saw_interrupt, target_waiter) = running.join().unwrap();
        if terminated {
            assert!(!started || target_waiter.is_interrupted(), "it ran on");
        }
        let outcome = if !started || saw_interrupt {
            assert!(terminated);
            Outcome::Aborted
        } else {
            Outcome::Finished
        };
        assert_eq!(group.join(target), Some(outcome));
        assert_eq!(bystander_count.get(), 0, "the bystander was interrupted");
        assert!(!group.is_aborted());
        group.finish(bystander, Ok(()));
        assert_eq!(group.join(bystander), Some(Outcome::Finished));
        assert_eq!(group.join_all(), Ok(()));
    })
}

#[test]
fn loom_group_terminate_one() {
    check(terminate_one(None));
}

#[test]
fn loom_group_terminate_one_catches_terminated_error_traps() {
    assert_caught(
        "loom_group_terminate_one_catches_terminated_error_traps",
        terminate_one(Some(GroupFlaw::TerminatedErrorTraps)),
    );
}

#[test]
fn loom_group_terminate_one_catches_terminate_forgets_reserved() {
    assert_caught(
        "loom_group_terminate_one_catches_terminate_forgets_reserved",
        terminate_one(Some(GroupFlaw::TerminateForgetsReserved)),
    );
}
