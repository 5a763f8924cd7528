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
