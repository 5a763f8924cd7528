//! Loom model of the thread budget (`budget.rs`). As in `loom_tests.rs`, whose harness it
//! shares, the model `loom_budget_limit` has a twin `loom_budget_limit_catches_<flaw>` that runs
//! it on a budget with a deliberate bug ([`BudgetFlaw`]) and asserts that loom finds the failure.

// Std's `Arc`, as the budget's receiver needs (see `budget.rs`).
use std::sync::Arc;

use crate::ThreadBudget;
use crate::flaw::BudgetFlaw;
use crate::loom_tests::{Model, assert_caught, check};
use crate::sync::{AtomicU64, Ordering, thread};

const LIMIT: u32 = 2;

/// Three threads take a slot from a budget of two at once, hold it, and give it back: no more
/// than two hold one at any moment, at least two get one (a thread is turned away only while
/// two others hold slots), and every slot comes back.
fn limit(flaw: Option<BudgetFlaw>) -> Model {
    Box::new(move || {
        let budget = Arc::new(match flaw {
            Some(flaw) => ThreadBudget::with_flaw(LIMIT, flaw),
            None => ThreadBudget::new(LIMIT),
        });
        // Threads holding a permit, counted apart from the budget's own count.
        let holders = std::sync::Arc::new(AtomicU64::new(0));
        let acquire = {
            let (budget, holders) = (budget.clone(), holders.clone());
            move || {
                let permit = budget.try_acquire()?;
                let holding = holders.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(holding <= u64::from(LIMIT), "{holding} threads hold a slot");
                holders.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
                Some(())
            }
        };
        let others: Vec<_> = (0..2).map(|_| thread::spawn(acquire.clone())).collect();
        let mut acquired = u32::from(acquire().is_some());
        for other in others {
            acquired += u32::from(other.join().unwrap().is_some());
        }
        assert!(acquired >= LIMIT, "only {acquired} got a slot");
        assert_eq!(budget.live(), 0, "a slot did not come back");
    })
}

#[test]
fn loom_budget_limit() {
    check(limit(None));
}

#[test]
fn loom_budget_limit_catches_load_then_store() {
    assert_caught(
        "loom_budget_limit_catches_load_then_store",
        limit(Some(BudgetFlaw::LoadThenStore)),
    );
}
