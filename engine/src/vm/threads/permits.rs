//! Thread limits: the slots a live thread holds in its store's and its engine's budgets, and
//! why a thread could not start or attach.

use std::sync::Arc;
use weft_threads::{BudgetPermit, ThreadBudget};

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

/// The two slots a live thread (spawned or attached) holds, given back when dropped.
pub(crate) struct ThreadPermits {
    _store: BudgetPermit,
    _engine: BudgetPermit,
}

/// A store's thread limit and its engine's, which every spawned and attached thread counts
/// against.
pub(crate) struct ThreadBudgets {
    /// Live threads of this store, spawned and attached.
    store: Arc<ThreadBudget>,
    /// Live threads of every store of the engine.
    engine: Arc<ThreadBudget>,
}

impl ThreadBudgets {
    pub fn new(store_limit: u32, engine: Arc<ThreadBudget>) -> ThreadBudgets {
        ThreadBudgets {
            store: Arc::new(ThreadBudget::new(store_limit)),
            engine,
        }
    }

    /// Slots for one more live thread, or why there is none.
    pub fn permits(&self) -> Result<ThreadPermits, Refusal> {
        let store = self
            .store
            .try_acquire()
            .ok_or(Refusal::StoreLimit(self.store.limit()))?;
        let engine = self
            .engine
            .try_acquire()
            .ok_or(Refusal::EngineLimit(self.engine.limit()))?;
        Ok(ThreadPermits {
            _store: store,
            _engine: engine,
        })
    }

    /// The most live threads the budgets allow: the lower of the two limits.
    pub fn limit(&self) -> u32 {
        self.store.limit().min(self.engine.limit())
    }
}
