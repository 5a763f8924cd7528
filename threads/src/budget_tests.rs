//! The thread budget with real threads. The race for the last slot is a loom model
//! (`loom_budget.rs`); these check the counting, and the limit under contention at scale.

use std::sync::atomic::AtomicU32;

use crate::sync::{Arc, Ordering, thread};
use crate::{BudgetPermit, ThreadBudget};

#[test]
fn permits_stop_at_the_limit_and_come_back_when_dropped() {
    let budget = Arc::new(ThreadBudget::new(2));
    assert_eq!(budget.limit(), 2);
    let first = budget.try_acquire().unwrap();
    let second = budget.try_acquire().unwrap();
    assert!(budget.try_acquire().is_none(), "at the limit");
    assert_eq!(budget.live(), 2);
    drop(first);
    assert_eq!(budget.live(), 1);
    let third = budget.try_acquire().unwrap();
    assert!(budget.try_acquire().is_none());
    drop((second, third));
    assert_eq!(budget.live(), 0);

    assert!(Arc::new(ThreadBudget::new(0)).try_acquire().is_none());
}

#[test]
fn a_permit_dropped_on_another_thread_frees_its_slot() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ThreadBudget>();
    shareable::<BudgetPermit>();

    let budget = Arc::new(ThreadBudget::new(1));
    let permit = budget.try_acquire().unwrap();
    thread::spawn(move || drop(permit)).join().unwrap();
    assert_eq!(budget.live(), 0);
    assert!(budget.try_acquire().is_some());
}

/// Many threads take and give back slots of one budget as fast as they can: no more than
/// `LIMIT` ever hold one, at least `LIMIT` acquisitions succeed (a thread is turned away only
/// while `LIMIT` others hold slots), and every slot comes back.
#[test]
fn contended_permits_never_exceed_the_limit() {
    const LIMIT: u32 = 3;
    const THREADS: u32 = 8;
    const ROUNDS: u32 = 2_000;
    let budget = Arc::new(ThreadBudget::new(LIMIT));
    let holders = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (budget, holders) = (budget.clone(), holders.clone());
            thread::spawn(move || {
                let mut acquired = 0;
                for _ in 0..ROUNDS {
                    let Some(permit) = budget.try_acquire() else {
                        continue;
                    };
                    let holding = holders.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(holding <= LIMIT, "{holding} threads hold a slot");
                    thread::yield_now();
                    holders.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                    acquired += 1;
                }
                acquired
            })
        })
        .collect();
    let acquired: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(acquired >= LIMIT, "only {acquired} acquisitions succeeded");
    assert_eq!(budget.live(), 0);
}
