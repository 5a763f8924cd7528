//! Deliberate bugs in the block-reuse protocol. Each loom model is also run on a pool built
//! with the flaw it exists to catch (`BlockPool::with_flaw`, loom test builds only), and must
//! fail there: a model that cannot fail proves nothing. Real builds cannot select a flaw, so
//! every check for one is constant-false.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flaw {
    /// `release` makes the block idle first and resets it in a second critical section (the
    /// newest idle block, by then possibly another one or none), so an acquirer can take the
    /// block in between and see the previous thread's slots and interrupt flag.
    PublishBeforeReset,
    /// `acquire` counts the idle blocks in one critical section and pops in another, so two
    /// acquirers can both count the same block and one finds it gone.
    CountThenPop,
}

/// Deliberate bugs in [`CallGate`](crate::CallGate), one per model of the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GateFlaw {
    /// `enter` checks for `CLOSED` and counts the call in two steps, so a close in between
    /// finds no call, returns, and the store is freed under the call that enters anyway.
    CheckThenCount,
    /// The last call out of a closed gate signals without the gate's lock, so the signal can
    /// fall between the closer's check and its sleep, and the closer sleeps forever.
    SignalWithoutLock,
}
