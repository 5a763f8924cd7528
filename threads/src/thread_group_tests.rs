//! The thread group with real threads. The races are loom models (`loom_thread_group.rs`);
//! these check the bookkeeping, misuse, and the whole trap-stops-everyone path with threads
//! that really block.

use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::{Duration, Instant};

use crate::sync::{Arc, Ordering, thread};
use crate::{Interrupt, Outcome, ThreadGroup, WaitOutcome, WaitQueue, Waiter};

const KEY: u64 = 0x1000;

/// Long enough that a correct run never gets near it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(20);

type Group = ThreadGroup<&'static str>;

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

fn counter() -> Arc<Count> {
    Arc::new(Count::default())
}

/// Runs `id` as the engine would on a new OS thread: guest code blocks on `queue` until
/// notified or interrupted, and the engine reports an interrupt as a trap. Returns how the wait
/// ended, or `None` if `start` refused the thread.
fn spawn_blocked_guest(
    group: &Arc<Group>,
    queue: &Arc<WaitQueue>,
    id: u32,
) -> thread::JoinHandle<Option<WaitOutcome>> {
    let (group, queue) = (group.clone(), queue.clone());
    thread::spawn(move || {
        let outcome = group
            .start(id, Arc::new(Waiter::current()))
            .then(|| queue.wait(KEY, || true, None));
        let result = match outcome {
            Some(WaitOutcome::Interrupted) => Err("interrupted"),
            _ => Ok(()),
        };
        group.finish(id, result);
        outcome
    })
}

fn await_waiters(queue: &WaitQueue, n: usize) {
    let start = Instant::now();
    while queue.waiters(KEY) != n {
        assert!(start.elapsed() < PATIENCE, "waiters never reached {n}");
        thread::yield_now();
    }
}

#[test]
fn reserve_within_waits_for_a_finish_at_the_limit_and_gives_up_without_one() {
    let group = Arc::new(Group::new(1));
    let first = group.reserve().unwrap();
    assert!(group.start(first, counter()));
    // Nobody finishes: the reserver gives up once its patience is spent.
    let started = Instant::now();
    assert_eq!(group.reserve_within(Duration::from_millis(20)), None);
    assert!(started.elapsed() >= Duration::from_millis(20));
    // A thread finishing while the reserver waits frees the slot for it.
    let finisher = thread::spawn({
        let group = group.clone();
        move || {
            thread::sleep(Duration::from_millis(20));
            group.finish(first, Ok(()));
        }
    });
    let second = group
        .reserve_within(PATIENCE)
        .expect("the finished thread's slot");
    finisher.join().unwrap();
    assert_ne!(second, first);
    group.cancel(second);
    // An aborted group refuses at once.
    group.abort();
    assert_eq!(group.reserve_within(PATIENCE), None);
}

#[test]
fn reserve_stops_at_the_limit_and_never_reuses_ids() {
    let group = Group::new(2);
    assert_eq!(group.reserve(), Some(1));
    assert_eq!(group.reserve(), Some(2));
    assert_eq!(group.reserve(), None, "at the limit");
    assert_eq!(group.live(), 2);
    assert!(group.start(1, counter()));
    group.finish(1, Ok(()));
    assert_eq!(group.live(), 1);
    group.cancel(2);
    assert_eq!(group.live(), 0);
    assert_eq!(group.reserve(), Some(3));
    assert_eq!(group.reserve(), Some(4));
    assert_eq!(group.reserve(), None);

    assert_eq!(Group::new(0).reserve(), None);
}

#[test]
fn join_returns_each_outcome_once() {
    let group = Group::new(4);
    let (finished, trapped, aborted) = (
        group.reserve().unwrap(),
        group.reserve().unwrap(),
        group.reserve().unwrap(),
    );
    for id in [finished, trapped, aborted] {
        assert!(group.start(id, counter()));
    }
    group.finish(finished, Ok(()));
    group.finish(trapped, Err("trap"));
    group.finish(aborted, Err("interrupted"));
    assert_eq!(group.join(finished), Some(Outcome::Finished));
    assert_eq!(group.join(trapped), Some(Outcome::Trapped("trap")));
    assert_eq!(group.join(aborted), Some(Outcome::Aborted));
    assert_eq!(group.join(trapped), None, "already joined");
    assert_eq!(group.join(99), None, "never reserved");
    assert_eq!(group.join_all(), Err("trap"));
    assert_eq!(group.join_all(), Err("trap"), "the group's error stays");
}

#[test]
fn the_first_error_wins_and_later_ones_become_aborted() {
    let group = Group::new(4);
    let ids: Vec<_> = (0..4).map(|_| group.reserve().unwrap()).collect();
    for &id in &ids[..3] {
        assert!(group.start(id, counter()));
    }
    group.finish(ids[0], Err("first"));
    assert!(group.is_aborted());
    assert_eq!(group.reserve(), None, "aborted");
    group.finish(ids[1], Err("second"));
    group.finish(ids[2], Ok(()));
    assert!(!group.start(ids[3], counter()), "aborted");
    group.finish(ids[3], Ok(()));
    let outcomes: Vec<_> = ids.iter().map(|&id| group.join(id).unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Trapped("first"),
            Outcome::Aborted,
            Outcome::Finished,
            Outcome::Aborted
        ]
    );
    assert_eq!(group.join_all(), Err("first"));
}

#[test]
fn join_all_consumes_unjoined_outcomes_and_abort_is_no_error() {
    let group = Group::new(2);
    let id = group.reserve().unwrap();
    assert!(group.start(id, counter()));
    group.finish(id, Ok(()));
    group.abort();
    assert!(group.is_aborted());
    assert_eq!(group.join_all(), Ok(()));
    assert_eq!(group.join(id), None);
}

#[test]
fn cancel_releases_the_slot_and_forgets_the_id() {
    let group = Arc::new(Group::new(1));
    let id = group.reserve().unwrap();
    let joiner = thread::spawn({
        let group = group.clone();
        move || group.join(id)
    });
    let all = thread::spawn({
        let group = group.clone();
        move || group.join_all()
    });
    group.cancel(id);
    assert_eq!(joiner.join().unwrap(), None);
    assert_eq!(all.join().unwrap(), Ok(()));
    assert_eq!(group.live(), 0);
    assert_eq!(group.reserve(), Some(id + 1));
}

#[test]
#[should_panic = "thread 1 is not reserved"]
fn cancel_after_start_panics() {
    let group = Group::new(1);
    let id = group.reserve().unwrap();
    group.start(id, counter());
    group.cancel(id);
}

#[test]
#[should_panic = "thread 1 is not reserved"]
fn starting_twice_panics() {
    let group = Group::new(1);
    let id = group.reserve().unwrap();
    group.start(id, counter());
    group.start(id, counter());
}

#[test]
#[should_panic = "thread 1 is not live"]
fn finishing_twice_panics() {
    let group = Group::new(1);
    let id = group.reserve().unwrap();
    group.start(id, counter());
    group.finish(id, Ok(()));
    group.finish(id, Ok(()));
}

#[test]
fn a_trap_interrupts_every_blocked_thread() {
    const N: u32 = 6;
    let group = Arc::new(Group::new(N + 1));
    let queue = Arc::new(WaitQueue::new());
    let ids: Vec<_> = (0..N).map(|_| group.reserve().unwrap()).collect();
    let guests: Vec<_> = ids
        .iter()
        .map(|&id| spawn_blocked_guest(&group, &queue, id))
        .collect();
    await_waiters(&queue, N as usize);
    let trapper = group.reserve().unwrap();
    let joiner = thread::spawn({
        let group = group.clone();
        move || group.join(trapper)
    });
    assert!(group.start(trapper, counter()));
    group.finish(trapper, Err("trap"));
    assert_eq!(joiner.join().unwrap(), Some(Outcome::Trapped("trap")));
    for &id in &ids {
        assert_eq!(group.join(id), Some(Outcome::Aborted));
    }
    for guest in guests {
        assert_eq!(guest.join().unwrap(), Some(WaitOutcome::Interrupted));
    }
    assert_eq!(group.join_all(), Err("trap"));
    assert_eq!(queue.waiters(KEY), 0);
}

#[test]
fn abort_interrupts_running_threads_and_refuses_new_ones() {
    let group = Arc::new(Group::new(3));
    let queue = Arc::new(WaitQueue::new());
    let blocked = group.reserve().unwrap();
    let guest = spawn_blocked_guest(&group, &queue, blocked);
    await_waiters(&queue, 1);
    let late = group.reserve().unwrap();
    group.abort();
    let refused = spawn_blocked_guest(&group, &queue, late);
    assert_eq!(refused.join().unwrap(), None);
    assert_eq!(guest.join().unwrap(), Some(WaitOutcome::Interrupted));
    assert_eq!(group.join(blocked), Some(Outcome::Aborted));
    assert_eq!(group.join(late), Some(Outcome::Aborted));
    assert_eq!(group.join_all(), Ok(()));
}

#[test]
fn each_thread_is_interrupted_once() {
    let group = Group::new(3);
    let (running, trapper, finished) = (
        group.reserve().unwrap(),
        group.reserve().unwrap(),
        group.reserve().unwrap(),
    );
    let (running_count, trapper_count, finished_count) = (counter(), counter(), counter());
    assert!(group.start(running, running_count.clone()));
    assert!(group.start(trapper, trapper_count.clone()));
    assert!(group.start(finished, finished_count.clone()));
    group.finish(finished, Ok(()));
    group.finish(trapper, Err("trap"));
    group.abort();
    group.abort();
    group.finish(running, Err("interrupted"));
    assert_eq!(running_count.get(), 1);
    assert_eq!(trapper_count.get(), 0, "it is the one that trapped");
    assert_eq!(finished_count.get(), 0, "it had finished");
    assert_eq!(group.join_all(), Err("trap"));
}

#[test]
fn terminate_stops_one_blocked_thread_and_spares_the_rest() {
    let group = Arc::new(Group::new(2));
    let queue = Arc::new(WaitQueue::new());
    let (target, bystander) = (group.reserve().unwrap(), group.reserve().unwrap());
    let target_guest = spawn_blocked_guest(&group, &queue, target);
    let bystander_guest = spawn_blocked_guest(&group, &queue, bystander);
    await_waiters(&queue, 2);
    assert!(group.terminate(target));
    assert_eq!(target_guest.join().unwrap(), Some(WaitOutcome::Interrupted));
    assert_eq!(group.join(target), Some(Outcome::Aborted));
    assert!(
        !group.is_aborted(),
        "a terminated thread's error is its own"
    );
    assert_eq!(queue.waiters(KEY), 1, "the bystander still waits");
    assert!(!group.terminate(target), "it has finished");
    assert_eq!(queue.notify(KEY, 1), 1);
    assert_eq!(bystander_guest.join().unwrap(), Some(WaitOutcome::Woken));
    assert_eq!(group.join(bystander), Some(Outcome::Finished));
    assert_eq!(group.join_all(), Ok(()));
}

#[test]
fn a_thread_terminated_while_reserved_is_refused() {
    let group = Group::new(2);
    let id = group.reserve().unwrap();
    assert!(group.terminate(id));
    assert!(!group.terminate(id), "already terminated");
    assert!(!group.start(id, counter()));
    assert!(!group.terminate(id), "refused");
    group.finish(id, Ok(()));
    assert_eq!(group.join(id), Some(Outcome::Aborted));
    assert!(!group.is_aborted());
    let next = group.reserve().unwrap();
    assert!(group.start(next, counter()));
    group.finish(next, Ok(()));
    assert_eq!(group.join(next), Some(Outcome::Finished));
    assert_eq!(group.join_all(), Ok(()));
}

#[test]
fn terminate_leaves_threads_that_are_gone_or_already_stopped_alone() {
    let group = Group::new(4);
    assert!(!group.terminate(99), "never reserved");
    let finished = group.reserve().unwrap();
    assert!(group.start(finished, counter()));
    group.finish(finished, Ok(()));
    assert!(!group.terminate(finished));
    assert_eq!(group.join(finished), Some(Outcome::Finished));
    let cancelled = group.reserve().unwrap();
    group.cancel(cancelled);
    assert!(!group.terminate(cancelled));
    let (reserved, running) = (group.reserve().unwrap(), group.reserve().unwrap());
    let count = counter();
    assert!(group.start(running, count.clone()));
    group.abort();
    assert!(!group.terminate(reserved), "the abort stops it");
    assert!(!group.terminate(running), "the abort interrupted it");
    assert_eq!(count.get(), 1);
    assert!(!group.start(reserved, counter()));
    group.finish(reserved, Ok(()));
    group.finish(running, Err("interrupted"));
    assert_eq!(group.join_all(), Ok(()));
}

#[test]
fn terminated_threads_end_on_their_own_and_a_later_trap_still_counts() {
    let group = Group::new(3);
    let (returns, fails, traps) = (
        group.reserve().unwrap(),
        group.reserve().unwrap(),
        group.reserve().unwrap(),
    );
    let (returns_count, fails_count, traps_count) = (counter(), counter(), counter());
    assert!(group.start(returns, returns_count.clone()));
    assert!(group.start(fails, fails_count.clone()));
    assert!(group.start(traps, traps_count.clone()));
    assert!(group.terminate(returns));
    assert!(group.terminate(fails));
    group.finish(fails, Err("interrupted"));
    assert!(!group.is_aborted());
    assert_eq!(traps_count.get(), 0, "no other thread is interrupted");
    group.finish(traps, Err("trap"));
    assert!(group.is_aborted());
    group.finish(returns, Ok(()));
    assert_eq!(
        returns_count.get(),
        1,
        "the trap does not interrupt it again"
    );
    assert_eq!(fails_count.get(), 1);
    assert_eq!(group.join(returns), Some(Outcome::Finished));
    assert_eq!(group.join(fails), Some(Outcome::Aborted));
    assert_eq!(group.join(traps), Some(Outcome::Trapped("trap")));
    assert_eq!(group.join_all(), Err("trap"));
}

/// An interrupter slow to return: it marks when it is done.
struct Slow(AtomicBool);

impl Interrupt for Slow {
    fn interrupt(&self) {
        thread::sleep(Duration::from_millis(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn join_all_waits_for_the_interrupts_a_trap_sends() {
    let group = Arc::new(Group::new(2));
    let (running, trapper) = (group.reserve().unwrap(), group.reserve().unwrap());
    let slow = Arc::new(Slow(AtomicBool::new(false)));
    assert!(group.start(running, slow.clone()));
    let trapping = thread::spawn({
        let group = group.clone();
        move || {
            assert!(group.start(trapper, counter()));
            group.finish(trapper, Err("trap"));
        }
    });
    let start = Instant::now();
    while !group.is_aborted() {
        assert!(
            start.elapsed() < PATIENCE,
            "the trap never aborted the group"
        );
        thread::yield_now();
    }
    // Finish without waiting for the interrupt, as a thread on its way out would.
    group.finish(running, Ok(()));
    assert_eq!(group.join_all(), Err("trap"));
    assert!(slow.0.load(Ordering::SeqCst));
    trapping.join().unwrap();
}

#[test]
fn groups_are_shareable_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Group>();
    shareable::<Arc<dyn Interrupt>>();
}
