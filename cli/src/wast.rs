//! `weft wast`: run spec scripts and report how many directives pass.

use anyhow::Result;
use std::io::{Write, stdout};
use std::path::PathBuf;
use weft_spec_tests::{FileReport, Recurse, RunOptions, run_path, wast_files};

/// Run `.wast` spec scripts and report how many directives of each pass.
///
/// Prints `FILE: N passed, M failed, K skipped` per script (with the reason for every skip) and
/// the totals on the last line. The exit status is 0 even when directives fail, since the output
/// is a report; it is non-zero only when a path is missing or unreadable.
#[derive(clap::Args)]
pub(crate) struct WastArgs {
    /// Scripts, or directories searched recursively for `*.wast` (run in sorted order).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also print each failure as `FILE:LINE: DIRECTIVE: REASON`.
    #[arg(short, long)]
    verbose: bool,
}

pub(crate) fn run(args: &WastArgs) -> Result<()> {
    // Resolve every path first, so a typo fails before minutes of running.
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(wast_files(path, Recurse::Yes)?);
    }

    let options = RunOptions::default();
    let mut total = FileReport::default();
    let mut out = stdout().lock();
    for file in &files {
        let report = run_path(file, &options)?;
        let file = file.display();
        if args.verbose {
            for failure in &report.failures {
                let (line, kind, message) = (failure.line, failure.kind, &failure.message);
                writeln!(out, "{file}:{line}: {kind}: {message}")?;
            }
        }
        for (line, reason) in &report.skips {
            writeln!(out, "{file}:{line}: skipped: {reason}")?;
        }
        writeln!(out, "{file}: {}", report.summary())?;
        total.add_counts(&report);
    }
    writeln!(out, "{}", total.summary())?;
    Ok(())
}
