//! Thread limits: the slots a live thread holds in its store's and its engine's budgets, and
//! why a thread could not start or attach.

use std::sync::Arc;
use weft_threads::ThreadBudget;

/// Why a thread could not start (or attach).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The store already has its most live threads.
    StoreLimit(u32),
    /// The engine already has its most live threads, across its stores.
    EngineLimit(u32),
    /// A trap or a terminate stopped the store's threads, and they have not been joined yet.
    Stopped,
    /// The operating system could not start a thread.
    Os(String),
    /// The store has been dropped.
    StoreGone,
}

/// The two slots a live thread holds (its store's and its engine's), without a handle to the
/// budgets: given back with [`ThreadBudgets::give_back`], once, by a holder that keeps the
/// budgets at hand anyway (an attached thread, through its store's `Attachments`), which
/// saves two reference counts per attach.
#[must_use = "slots are given back only by ThreadBudgets::give_back"]
pub(crate) struct Slots(());

/// The two slots a live thread (spawned, or attached later) holds, given back when dropped.
pub(crate) struct ThreadPermits {
    budgets: Arc<ThreadBudgets>,
    /// `None` once handed to a holder that gives them back itself.
    slots: Option<Slots>,
}

impl ThreadPermits {
    /// The slots, for a holder that gives them back itself.
    pub fn into_slots(mut self) -> Slots {
        self.slots
            .take()
            .expect("only `into_slots` and `drop` take the slots")
    }
}

impl Drop for ThreadPermits {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            self.budgets.give_back(slots);
        }
    }
}

/// A store's thread limit and its engine's, which every spawned and attached thread counts
/// against.
pub(crate) struct ThreadBudgets {
    /// Live threads of this store, spawned and attached.
    store: ThreadBudget,
    /// Live threads of every store of the engine.
    engine: Arc<ThreadBudget>,
}

impl ThreadBudgets {
    pub fn new(store_limit: u32, engine: Arc<ThreadBudget>) -> ThreadBudgets {
        ThreadBudgets {
            store: ThreadBudget::new(store_limit),
            engine,
        }
    }

    /// Slots for one more live thread, or why there is none.
    pub fn take(&self) -> Result<Slots, Refusal> {
        if !self.store.try_take() {
            return Err(Refusal::StoreLimit(self.store.limit()));
        }
        if !self.engine.try_take() {
            self.store.give_back();
            return Err(Refusal::EngineLimit(self.engine.limit()));
        }
        Ok(Slots(()))
    }

    /// [`take`](Self::take), with a handle that gives the slots back when dropped.
    pub fn permits(self: &Arc<Self>) -> Result<ThreadPermits, Refusal> {
        Ok(ThreadPermits {
            slots: Some(self.take()?),
            budgets: Arc::clone(self),
        })
    }

    /// Gives back the slots [`take`](Self::take) took.
    pub fn give_back(&self, Slots(()): Slots) {
        self.store.give_back();
        self.engine.give_back();
    }

    /// The most live threads the budgets allow: the lower of the two limits.
    pub fn limit(&self) -> u32 {
        self.store.limit().min(self.engine.limit())
    }
}
