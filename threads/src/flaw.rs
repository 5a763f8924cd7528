//! Deliberate bugs in the wait-queue protocol. Each loom model is also run on a queue built
//! with the flaw it exists to catch (`WaitQueue::with_flaw`, loom test builds only), and
//! must fail there: a model that cannot fail proves nothing. Real builds cannot select a
//! flaw, so every check for one is constant-false.

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
