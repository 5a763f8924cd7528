//! What running one script produced.

/// The tally of one `.wast` script, with enough detail to explain every directive that did not
/// pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Directives whose outcome matched the script's expectation.
    pub passed: usize,
    /// Directives that did not match, including everything weft cannot do yet.
    pub failed: usize,
    /// Directives that do not apply to a core wasm runtime at all. Each has a reason in `skips`.
    pub skipped: usize,
    /// One entry per failed directive, in script order.
    pub failures: Vec<Failure>,
    /// `(line, reason)` for each skipped directive, in script order.
    pub skips: Vec<(usize, String)>,
    /// With [`RunOptions::schedule`](crate::RunOptions::schedule), what the schedule did.
    pub schedule: Option<weft::ScheduleReport>,
}

/// Why one directive failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the directive in its script.
    pub line: usize,
    /// The directive's keyword, e.g. `assert_return`.
    pub kind: &'static str,
    /// What went wrong, on one line.
    pub message: String,
}

/// How one directive ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

impl FileReport {
    pub(crate) fn record(&mut self, line: usize, kind: &'static str, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed(message) => {
                self.failed += 1;
                self.failures.push(Failure {
                    line,
                    kind,
                    message,
                });
            }
            Outcome::Skipped(reason) => {
                self.skipped += 1;
                self.skips.push((line, reason));
            }
        }
    }

    /// Adds another report's counts to this one (used for totals; the details stay per file).
    pub fn add_counts(&mut self, other: &FileReport) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    /// The `N passed, M failed, K skipped` summary.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keeps_counts_and_details_in_step() {
        let mut report = FileReport::default();
        report.record(1, "module", Outcome::Passed);
        report.record(2, "assert_return", Outcome::Failed("boom".into()));
        report.record(3, "module", Outcome::Skipped("component".into()));
        assert_eq!(report.summary(), "1 passed, 1 failed, 1 skipped");
        assert_eq!(
            report.failures,
            [Failure {
                line: 2,
                kind: "assert_return",
                message: "boom".into()
            }]
        );
        assert_eq!(report.skips, [(3, "component".to_string())]);

        let mut total = FileReport::default();
        total.add_counts(&report);
        total.add_counts(&report);
        assert_eq!(total.summary(), "2 passed, 2 failed, 2 skipped");
        assert!(total.failures.is_empty());
    }
}
