//! Long-running concurrency suites for weft: litmus tests, wait/notify storms and spawn
//! churn, each checking exact invariants, with a bounded mode for CI.
//!
//! The engine foundation has no concurrency to stress yet; the threads issue fills it in.
