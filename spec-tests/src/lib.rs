//! Runs WebAssembly `.wast` spec scripts against weft.
//!
//! [`run_path`] runs one script and tallies its directives in a [`FileReport`]. The `weft wast`
//! command and the `spec` test (which ratchets the counts against [`Expectations`]) are built
//! on it.
//!
//! Multi-threaded scripts (the threads proposal's `(thread $T ...)` and `(wait $T)`) run each
//! thread's directives on an OS thread of its own, in a session with its own store, spectest
//! module and registry; `(shared (module $M))` passes the shared memories that `$M` exports.
//! Every directive counts, those inside threads included.

mod checks;
mod engines;
mod expectations;
mod features;
mod files;
mod report;
mod script;
mod session;
mod shared_module;
mod spectest;
mod suite;
mod tally;
mod values;

pub use engines::Engines;
pub use expectations::{Expectations, Ratchet};
pub use features::{parse_features, suite_features};
pub use files::{Recurse, wast_files};
pub use report::{Failure, FileReport};
pub use suite::{Suite, SuiteLayout, SuiteScript};
pub use values::{default_results, display_val};

use anyhow::{Context, Result};
use spectest::Spectest;
use std::fs;
use std::path::Path;
use std::time::Duration;
use weft::Engine;

/// How long a script may run by default before its remaining directives count as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run scripts.
#[derive(Clone)]
pub struct RunOptions {
    /// The engine every module is compiled with; its configuration decides which proposals
    /// the scripts may use.
    pub engine: Engine,
    /// How long one script may run. A script still running then (a deadlocked multi-threaded
    /// script, say) is abandoned: what has not finished counts as failed, and its threads are
    /// left running in the background, since nothing can stop a thread inside wasm code.
    pub timeout: Duration,
    /// Which `spectest` module the scripts see; adaptive for the shared-everything folder.
    pub(crate) spectest: Spectest,
    /// Run each script's threads under this schedule
    /// ([`Engine::explore`](weft::Engine::explore), whose engine needs
    /// [`Config::explore`](weft::Config::explore)), the script's own thread its root.
    pub schedule: Option<weft::Schedule>,
}

impl RunOptions {
    /// Runs with `engine` and the [`DEFAULT_TIMEOUT`].
    pub fn new(engine: Engine) -> RunOptions {
        RunOptions {
            engine,
            timeout: DEFAULT_TIMEOUT,
            spectest: Spectest::Standard,
            schedule: None,
        }
    }
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions::new(Engine::default())
    }
}

/// Reads and runs the script at `path`. Errors only when the file cannot be read (or the runner
/// itself breaks); everything that goes wrong inside the script is a failed directive in the
/// report.
pub fn run_path(path: &Path, options: &RunOptions) -> Result<FileReport> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if in_shared_everything_folder(path) {
        let options = RunOptions {
            spectest: Spectest::Adaptive,
            ..options.clone()
        };
        return run_text(&modern_orderings(&text), &options);
    }
    run_text(&text, options)
}

fn in_shared_everything_folder(path: &Path) -> bool {
    path.ancestors().any(|dir| {
        dir.file_name()
            .is_some_and(|name| name == "shared-everything-threads")
    })
}

/// The shared-everything-threads scripts spell memory orderings `seq_cst` and `acq_rel`, but
/// the wast crate (≥ 260) only accepts the proposal Overview's current `seqcst` and `acqrel`;
/// `../shared/testsuite/SOURCES.md` documents this in-memory rewrite as the fix.
fn modern_orderings(text: &str) -> String {
    text.replace("seq_cst", "seqcst")
        .replace("acq_rel", "acqrel")
}

/// Runs the script `text` (see [`RunOptions::timeout`] for scripts that do not finish).
pub fn run_text(text: &str, options: &RunOptions) -> Result<FileReport> {
    script::run(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_everything_scripts_get_the_current_ordering_keywords() {
        let folder = Path::new("../shared/testsuite/shared-everything-threads/proposal");
        assert!(in_shared_everything_folder(&folder.join("global.wast")));
        assert!(!in_shared_everything_folder(Path::new("core/atomic.wast")));
        assert_eq!(
            modern_orderings("(i32.atomic.load seq_cst) (global.atomic.get acq_rel 0)"),
            "(i32.atomic.load seqcst) (global.atomic.get acqrel 0)"
        );
    }
}
