//! An engine-wide limit on live threads, shared by every store: each thread holds a permit from
//! the budget while it lives, on top of its store's own [`ThreadGroup`](crate::ThreadGroup)
//! limit.
//!
//! Taking a slot is one compare-and-swap loop that checks the limit and counts the new thread in
//! the same atomic step, so the limit bounds the live threads however many acquire at once
//! (`loom_budget.rs`). The count guards no other memory, so every access is `Relaxed`: the
//! read-modify-writes of one atomic are totally ordered, which is all the limit needs.

use std::fmt;
// The budget is std's `Arc` in loom builds too: a method can take only std's as its receiver, and
// the count of references to a budget is no part of the protocol.
use std::sync::Arc;

use crate::flaw::BudgetFlaw;
use crate::sync::{AtomicU64, Ordering};

/// A counter of live threads with a limit.
pub struct ThreadBudget {
    /// Permits held now; never above `limit`. A `u64` only because that is the width the sync
    /// shim offers.
    live: AtomicU64,
    limit: u32,
    #[cfg(loom)]
    flaw: Option<BudgetFlaw>,
}

impl ThreadBudget {
    /// A budget that lets `limit` permits be held at once.
    pub fn new(limit: u32) -> Self {
        Self {
            live: AtomicU64::new(0),
            limit,
            #[cfg(loom)]
            flaw: None,
        }
    }

    /// A budget whose protocol has `flaw`, for showing that a loom model catches it.
    #[cfg(all(loom, test))]
    pub(crate) fn with_flaw(limit: u32, flaw: BudgetFlaw) -> Self {
        Self {
            flaw: Some(flaw),
            ..Self::new(limit)
        }
    }

    #[cfg(loom)]
    fn flawed(&self, flaw: BudgetFlaw) -> bool {
        self.flaw == Some(flaw)
    }

    #[cfg(not(loom))]
    fn flawed(&self, _flaw: BudgetFlaw) -> bool {
        false
    }

    /// Takes a slot for a new thread, or `None` if `limit` permits are held already. The slot
    /// comes back when the permit is dropped.
    pub fn try_acquire(self: &Arc<Self>) -> Option<BudgetPermit> {
        self.try_take().then(|| BudgetPermit {
            budget: Arc::clone(self),
        })
    }

    /// [`try_acquire`](Self::try_acquire) without the permit: whether a slot was taken. For
    /// a holder that keeps the budget at hand anyway and gives the slot back itself, with
    /// [`give_back`](Self::give_back), exactly once.
    pub fn try_take(&self) -> bool {
        let limit = u64::from(self.limit);
        if self.flawed(BudgetFlaw::LoadThenStore) {
            let live = self.live.load(Ordering::Relaxed);
            let free = live < limit;
            if free {
                self.live.store(live + 1, Ordering::Relaxed);
            }
            free
        } else {
            self.live
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
                    (live < limit).then_some(live + 1)
                })
                .is_ok()
        }
    }

    /// Gives back a slot [`try_take`](Self::try_take) took.
    pub fn give_back(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Permits held now.
    pub fn live(&self) -> u32 {
        // Lossless: the count never passes `limit`.
        self.live.load(Ordering::Relaxed) as u32
    }

    /// The most permits held at once.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

impl fmt::Debug for ThreadBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadBudget")
            .field("live", &self.live())
            .field("limit", &self.limit)
            .finish()
    }
}

/// One live thread's slot in a [`ThreadBudget`], given back when dropped, on whichever thread.
#[must_use = "dropping the permit gives its slot back at once"]
pub struct BudgetPermit {
    budget: Arc<ThreadBudget>,
}

impl Drop for BudgetPermit {
    fn drop(&mut self) {
        self.budget.give_back();
    }
}

impl fmt::Debug for BudgetPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetPermit")
            .field("budget", &self.budget)
            .finish()
    }
}
