//! `weft wast`: run spec scripts and report how many directives pass.

use crate::usage::UsageError;
use crate::wasm_options::WasmOptions;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{Write, stdout};
use std::path::PathBuf;
use std::time::Duration;
use weft::{Config, Engine, WasmFeatures};
use weft_spec_tests::{
    DEFAULT_TIMEOUT, FileReport, Recurse, RunOptions, parse_features, run_path, suite_features,
    wast_files,
};

/// Run `.wast` spec scripts and report how many directives of each pass.
///
/// Prints `FILE: N passed, M failed, K skipped` per script (with the reason for every skip) and
/// the totals on the last line. The exit status is 0 when every directive passed, 1 when any
/// failed (as Wasmtime's `wast` command does) or a path is missing or unreadable, and 2 when the
/// options are wrong.
///
/// Without --features, scripts get the feature set the shared test suite's SOURCES.md prescribes
/// for their folder: `wasm1,threads` inside a folder named `testsuite-proposal`, `wasm2,threads`
/// inside `upstream-core`, `default,shared-everything-threads` inside
/// `shared-everything-threads`, and `default` everywhere else.
#[derive(clap::Args)]
pub(crate) struct WastArgs {
    /// Scripts, or directories searched recursively for `*.wast` (run in sorted order).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also print each failure as `FILE:LINE: DIRECTIVE: REASON`.
    #[arg(short, long)]
    verbose: bool,
    /// The proposals every script may use, comma-separated: the sets `default`, `mvp`, `wasm1`,
    /// `wasm2`, `wasm3`, `lime1` and single proposals in kebab case such as `threads`,
    /// `shared-everything-threads`, `reference-types`, `simd`. Example: `wasm1,threads`.
    #[arg(long, value_name = "LIST")]
    features: Option<String>,
    /// Turn one proposal on (`-W threads`, `=y`) or off (`=n`), on top of the set the script
    /// gets from --features or its folder.
    #[arg(short = 'W', long = "wasm", value_name = "NAME[=y|n]")]
    wasm: Vec<String>,
    /// How long one script may run before its unfinished directives count as failed (a
    /// deadlocked multi-threaded script, say); its threads are then left running until weft
    /// exits.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs())]
    timeout: u64,
    /// Look for data races between each script's threads: plain loads and stores of a shared
    /// memory that no atomic, wait/notify, spawn or join orders. Each script runs on an
    /// engine of its own (the detector knows memory by native address, which a later
    /// script's memory may reuse); its races are printed after its summary line as
    /// `FILE: data race: ...`, and races make the exit status 1 as failures do.
    #[arg(long)]
    race: bool,
}

pub(crate) fn run(args: &WastArgs) -> Result<()> {
    let features = match &args.features {
        Some(list) => Some(parse_features(list).map_err(UsageError)?),
        None => None,
    };
    let options = WasmOptions::parse(&args.wasm, false)?;
    // Resolve every path first, so a typo fails before minutes of running.
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(wast_files(path, Recurse::Yes)?);
    }

    let timeout = Duration::from_secs(args.timeout);
    // One engine per feature set the scripts need.
    let mut engines: HashMap<WasmFeatures, RunOptions> = HashMap::new();
    let mut races_found = 0;
    let mut total = FileReport::default();
    let mut out = stdout().lock();
    for file in &files {
        let features = options.features(
            features
                .or_else(|| suite_features(file))
                .unwrap_or_default(),
        );
        if args.race {
            engines.clear();
        }
        let options = match engines.entry(features) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                let engine = Engine::new(
                    Config::new()
                        .wasm_features(features)
                        .detect_races(args.race),
                )
                .context("cannot configure the engine")?;
                let mut options = RunOptions::new(engine);
                options.timeout = timeout;
                new.insert(options)
            }
        };
        let report = run_path(file, options)?;
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
        let races = options.engine.data_races();
        for race in &races {
            writeln!(out, "{file}: {race}")?;
        }
        races_found += races.len();
        total.add_counts(&report);
    }
    writeln!(out, "{}", total.summary())?;
    // The report is printed; the status says whether anything failed.
    if total.failed > 0 {
        bail!("{} directives failed", total.failed);
    }
    if races_found > 0 {
        bail!("{races_found} data races found");
    }
    Ok(())
}
