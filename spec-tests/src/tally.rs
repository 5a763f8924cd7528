//! The outcome of every directive of a script, filled in by whichever thread runs it.
//!
//! Directives are numbered in script order, those inside `(thread ...)` included: a thread is
//! numbered before its body, and its body before the directives that follow it. The numbering
//! is fixed before anything runs, so a directive that never gets to run (its thread hung, or
//! never started) is still known and counted as failed.

use crate::report::{FileReport, Outcome};
use std::sync::{Mutex, MutexGuard, PoisonError};
use wast::WastDirective;

#[derive(Default)]
pub(crate) struct Tally {
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    line: usize,
    kind: &'static str,
    outcome: Option<Outcome>,
}

impl Tally {
    /// Lists `directives` (recursively) with the line and keyword of each, all outcomes unknown.
    pub(crate) fn plan(
        &self,
        directives: &[WastDirective<'_>],
        line_of: &impl Fn(&WastDirective<'_>) -> usize,
    ) {
        list(directives, line_of, &mut self.entries());
    }

    /// Records a lone directive that is not part of the script's plan (the script itself,
    /// when it does not parse).
    pub(crate) fn add(&self, line: usize, kind: &'static str, outcome: Outcome) {
        self.entries().push(Entry {
            line,
            kind,
            outcome: Some(outcome),
        });
    }

    /// Records how directive number `index` ended.
    pub(crate) fn record(&self, index: usize, outcome: Outcome) {
        self.entries()[index].outcome = Some(outcome);
    }

    /// Whether nothing was planned or recorded yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The report so far. Directives without an outcome count as failed, with `unfinished`
    /// as the reason.
    pub(crate) fn report(&self, unfinished: &str) -> FileReport {
        let mut report = FileReport::default();
        for entry in self.entries().iter() {
            let outcome = entry
                .outcome
                .clone()
                .unwrap_or_else(|| Outcome::Failed(unfinished.to_string()));
            report.record(entry.line, entry.kind, outcome);
        }
        report
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        // A panicking thread never leaves an entry half-written, so the data stays usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn list(
    directives: &[WastDirective<'_>],
    line_of: &impl Fn(&WastDirective<'_>) -> usize,
    entries: &mut Vec<Entry>,
) {
    for directive in directives {
        entries.push(Entry {
            line: line_of(directive),
            kind: kind(directive),
            outcome: None,
        });
        if let WastDirective::Thread(thread) = directive {
            list(&thread.directives, line_of, entries);
        }
    }
}

/// How many directives `directives` hold, counting those inside threads.
pub(crate) fn count(directives: &[WastDirective<'_>]) -> usize {
    directives
        .iter()
        .map(|directive| match directive {
            WastDirective::Thread(thread) => 1 + count(&thread.directives),
            _ => 1,
        })
        .sum()
}

/// The directive's keyword, for reports.
fn kind(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}
