//! Deliberate bugs in the wait-queue and thread-group protocols. Each loom model is also run
//! on a queue or group built with the flaw it exists to catch (`WaitQueue::with_flaw`,
//! `ThreadGroup::with_flaw`, loom test builds only), and must fail there: a model that cannot
//! fail proves nothing. Real builds cannot select a flaw, so every check for one is
//! constant-false.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flaw {
    /// The value check runs before the shard lock is taken, so a store and notify can land
    /// between the check and the enqueue: a lost wakeup.
    ValidateOutsideLock,
    /// Notify wakes the newest waiter first.
    NotifyNewestFirst,
    /// A parked waiter takes any wakeup that is not its deadline or an interrupt for a
    /// notify, including a notify's late signal meant for its previous wait.
    WakeupMeansNotified,
    /// A timed-out waiter returns without leaving the queue, so a later notify counts it.
    TimeoutKeepsQueued,
    /// A timed-out waiter returns `TimedOut` even though a notify already chose (and counted) it.
    TimeoutIgnoresNotify,
    /// An interrupted waiter returns without leaving the queue, so a later notify counts it.
    InterruptKeepsQueued,
    /// A waiter that emptied its key's queue removes the entry in a second critical section,
    /// without checking it is still empty, dropping anyone who enqueued in between.
    PruneWithoutRecheck,
}

/// Deliberate bugs in [`ThreadGroup`](crate::ThreadGroup), one per loom model in
/// `loom_thread_group.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupFlaw {
    /// `reserve` checks the limit in one critical section and takes the slot in another, so two
    /// reservers can both pass the check.
    ReserveInTwoSteps,
    /// `finish` wakes joiners before it records the outcome, so a joiner can look, find nothing,
    /// and sleep through the only wakeup.
    NotifyBeforeRecord,
    /// `finish` wakes one sleeper, though several may wait: joiners of the same thread, or of
    /// different ones.
    WakeOneJoiner,
    /// `start` checks whether the group is aborted in one critical section and registers the
    /// interrupter in another, so an abort in between interrupts everyone but this thread,
    /// which then runs on.
    StartInTwoSteps,
    /// An abort interrupts every running thread, even one an earlier abort already interrupted.
    InterruptRepeatedly,
    /// A terminated thread's error is taken for a trap: it becomes the group's error, aborts the
    /// group and interrupts every other thread.
    TerminatedErrorTraps,
    /// Terminating a thread that is only reserved is forgotten, so its `start` succeeds and it
    /// runs on uninterrupted.
    TerminateForgetsReserved,
    /// `reserve_within` finds the group full in one critical section and waits in another, so
    /// a thread that finishes in between wakes nobody, and the reserver sleeps on beside a free
    /// slot.
    CheckThenWait,
}

/// Deliberate bugs in [`Semaphore`](crate::Semaphore), for `loom_semaphore.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SemaphoreFlaw {
    /// `release` reads the sleeper count in one step and adds the permit in another, so a
    /// sleeper that announced itself in between, and then saw no permit yet, sleeps through the
    /// release.
    ReadSleepersFirst,
    /// A woken sleeper counts the wakeup as its permit instead of taking one, so the permit
    /// it was woken for stays free and is handed out twice.
    WakeupMeansPermit,
}

/// Deliberate bugs in [`Waiter`](crate::Waiter), for the models of an interrupt racing a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaiterFlaw {
    /// `interrupt` sets the flag without holding the waiter's mark lock, so it can land between
    /// a parking waiter's check of the flag and its sleep: the wakeup comes before anyone sleeps,
    /// and the waiter sleeps on.
    InterruptOutsideLock,
}

/// Deliberate bugs in [`begin_blocking`](crate::begin_blocking), for `loom_blocking.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockingFlaw {
    /// Begin checks the interrupt flag in one critical section and registers the hook in
    /// another, so an interrupt in between finds no hook, and the call blocks on uncancelled.
    BeginInTwoSteps,
    /// Ending the blocking call does not wait for a hook an interrupt is running, so the hook
    /// runs on after its guard is gone.
    EndIgnoresRunningHook,
}

/// Deliberate bugs in [`ThreadBudget`](crate::ThreadBudget), for `loom_budget.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BudgetFlaw {
    /// `try_acquire` loads the count and stores it plus one in two steps, so two acquirers can
    /// both take the last slot.
    LoadThenStore,
}

/// Deliberate bugs in [`HostMutex`](crate::HostMutex), for `loom_mutex.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MutexFlaw {
    /// `unlock` reads the contended bit in one step and frees the mutex in another, so a locker
    /// that marks the mutex contended in between, and then finds it still held, sleeps through
    /// the unlock.
    ReadContentionFirst,
    /// A woken locker takes the wakeup for the mutex and stores itself as the owner, though
    /// another locker may have taken the free mutex first: two owners.
    WakeupMeansLock,
    /// A locker that times out or is interrupted clears the contended bit, as if it were the
    /// last sleeper, so the owner's unlock takes the fast path and wakes nobody.
    GiveUpClearsContention,
    /// A locker that an unlock's wakeup chose, but that was interrupted meanwhile, gives up
    /// without trying the mutex again. That unlock cleared the contended bit for the wakeup to
    /// carry on, so another sleeper sleeps on beside a free mutex.
    ChosenLockerGivesUp,
}

/// Deliberate bugs in [`HostCondvar`](crate::HostCondvar), for `loom_condvar.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CondvarFlaw {
    /// `wait` reads the notify sequence after releasing the mutex, so a notify in between looks
    /// older than the wait, which sleeps through it.
    ReadSequenceAfterUnlock,
    /// A waiter that a notify chose, but that is interrupted while it retakes the mutex, does
    /// not pass the wakeup on, so another waiter sleeps through the notify.
    InterruptSwallowsNotify,
}

/// Deliberate bugs in [`ThreadCache`](crate::ThreadCache), for `loom_thread_cache.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheFlaw {
    /// A worker whose idle time ran out leaves without checking that its slot is still on the
    /// idle list, though a `run` may just have taken it and handed it a job: the job never
    /// runs.
    LeaveWithoutRecheck,
    /// A job counts as running only once its thread starts it, so `wait_idle` can return
    /// between a `run` and the start of its job.
    CountWhenStarted,
    /// `close` marks the cache closed but does not wake the idle threads, which sleep on.
    CloseForgetsIdle,
}

/// Deliberate bugs in [`Latch`](crate::Latch), for `loom_latch.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LatchFlaw {
    /// `on_set` checks for the value in one critical section and registers the action in
    /// another, so a set in between runs the waiting actions before this one is among them,
    /// and it never runs.
    CheckThenRegister,
    /// `set` overwrites a value already set, so two setters report different values.
    LastSetWins,
}

/// Deliberate bugs in nudging ([`NudgeTarget`](crate::NudgeTarget)), for `loom_nudge.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NudgeFlaw {
    /// A handler answers with the request count at the time it answers rather than the one it
    /// read before it looked, so a request that came in after its look counts as answered and
    /// the courier stops nudging a thread it never stopped.
    AnswerLatest,
    /// A nudge checks that the thread is alive, releases the lock, then nudges, so a thread
    /// that retires in between is nudged after it ended.
    NudgeOutsideLock,
}

/// Deliberate bugs in the exploration scheduler (`explore.rs`), for `loom_explore.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExploreFlaw {
    /// A thread that waits for its turn goes on without it, so two threads run at once.
    RunWithoutTurn,
    /// Passing the turn (or waking a thread) changes the state but signals nobody, so the
    /// thread whose turn it is sleeps on.
    PassWithoutSignal,
}
