//! What a suite reports: the figures it measured and the invariants that did not hold.

use crate::suites::Suite;
use std::fmt;
use std::time::Duration;

/// One invariant that did not hold, with the numbers that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A suite's collected results: what to print, and the pure check of its invariants.
pub trait Findings {
    /// The figures checked, for the report: the first line is the summary, any further
    /// lines are details (histograms).
    fn figures(&self) -> Vec<String>;

    /// Every invariant that did not hold; empty when the run was correct.
    fn check(&self) -> Vec<Violation>;
}

/// Collects violations while a checker walks the results.
#[derive(Default)]
pub(crate) struct Checks(Vec<Violation>);

impl Checks {
    pub fn expect(&mut self, holds: bool, describe: impl FnOnce() -> String) {
        if !holds {
            self.0.push(Violation(describe()));
        }
    }

    pub fn equal<T: PartialEq + fmt::Display>(&mut self, what: &str, actual: T, expected: T) {
        self.expect(actual == expected, || {
            format!("{what}: {actual}, expected {expected}")
        });
    }

    pub fn zero(&mut self, what: &str, actual: u64) {
        self.equal(what, actual, 0);
    }

    pub fn done(self) -> Vec<Violation> {
        self.0
    }
}

/// One suite run, checked.
#[derive(Debug)]
pub struct Report {
    pub suite: Suite,
    pub seed: u64,
    pub elapsed: Duration,
    pub figures: Vec<String>,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn new(suite: Suite, seed: u64, elapsed: Duration, findings: &dyn Findings) -> Report {
        Report {
            suite,
            seed,
            elapsed,
            figures: findings.figures(),
            violations: findings.check(),
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// `label:count` pairs separated by spaces, for histograms.
pub(crate) fn histogram<L: fmt::Display>(buckets: impl IntoIterator<Item = (L, u64)>) -> String {
    buckets
        .into_iter()
        .map(|(label, count)| format!("{label}:{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}
