//! Runs WebAssembly `.wast` spec scripts against weft.
//!
//! [`run_path`] runs one script and tallies its directives in a [`FileReport`]. The `weft wast`
//! command and the `spec` test (which ratchets the counts against [`Expectations`]) are built
//! on it.

mod expectations;
mod files;
mod report;
mod script;
mod spectest;
mod values;

pub use expectations::{Expectations, Ratchet};
pub use files::{Recurse, wast_files};
pub use report::{Failure, FileReport};
pub use values::{default_results, display_val};

use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::{fs, thread};
use weft::Engine;

/// `assert_exhaustion` recurses until weft's stack limit, and weft code runs on the calling
/// thread's stack; 64 MiB leaves ample room above any limit the engine sets.
const SCRIPT_STACK_SIZE: usize = 64 << 20;

/// How to run scripts.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The engine every module is compiled with; its configuration decides which proposals
    /// the scripts may use.
    pub engine: Engine,
}

/// Reads and runs the script at `path`. Errors only when the file cannot be read; everything
/// that goes wrong inside the script is a failed directive in the report.
pub fn run_path(path: &Path, options: &RunOptions) -> Result<FileReport> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    run_text(&text, options)
}

/// Runs the script `text` on a fresh thread with a large stack.
pub fn run_text(text: &str, options: &RunOptions) -> Result<FileReport> {
    thread::scope(|scope| {
        let runner = thread::Builder::new()
            .name("wast-script".to_string())
            .stack_size(SCRIPT_STACK_SIZE)
            .spawn_scoped(scope, || script::run(text, &options.engine))
            .context("cannot start a thread to run the script")?;
        // Panics inside directives are caught and reported per directive; one escaping to here
        // is a bug in the runner itself.
        runner
            .join()
            .map_err(|_| anyhow!("the script runner panicked"))
    })
}
