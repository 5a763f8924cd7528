//! One test per core spec script, ratcheted against `expectations.txt`.
//!
//! - The suite is `../shared/testsuite` from the workspace root, or `$WEFT_TESTSUITE` (any
//!   checkout of WebAssembly/testsuite). Its core scripts are `core/*.wast`, or the top-level
//!   `*.wast` of a checkout that has no `core/` folder; either way they are named `core/<file>`.
//! - A test fails when its script passes fewer directives than `expectations.txt` records, or
//!   when a recorded script is missing from the default suite (with `$WEFT_TESTSUITE`, missing
//!   scripts are reported as ignored tests instead, since other checkouts differ).
//! - Each script runs twice: with guard-page bounds checks and, as `[explicit-bounds]`, with
//!   explicit checks. Both runs are held to the same recorded count.
//! - `WEFT_BLESS=1` records the current counts of the scripts that ran instead of checking them.

use anyhow::{Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use weft::{BoundsChecks, Config, Engine};
use weft_spec_tests::{Expectations, Ratchet, Recurse, RunOptions, run_path, wast_files};

/// How many failures a regressed test lists.
const SHOWN_FAILURES: usize = 20;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let bless = env::var_os("WEFT_BLESS").is_some_and(|value| value == "1");
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expectations_path = manifest_dir.join("expectations.txt");
    let expectations = match Expectations::load(&expectations_path) {
        Ok(expectations) => Arc::new(expectations),
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let (suite, overridden) = match env::var_os("WEFT_TESTSUITE") {
        Some(path) => (PathBuf::from(path), true),
        None => (manifest_dir.join("../../shared/testsuite"), false),
    };

    let scripts = match core_scripts(&suite) {
        Ok(scripts) => scripts,
        Err(err) => {
            let message =
                format!("{err:#} (set WEFT_TESTSUITE to a WebAssembly/testsuite checkout)");
            let trial = Trial::test("testsuite", move || Err(message.into()));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };

    let mut explicit_bounds = Config::new();
    explicit_bounds.bounds_checks(BoundsChecks::Explicit);
    let explicit_bounds = match Engine::new(&explicit_bounds) {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Every script runs under both bounds-checking strategies and must reach the recorded
    // count under each; only the default (guard pages) run is recorded by WEFT_BLESS.
    let modes = [
        (None, Arc::new(RunOptions::default())),
        (
            Some("explicit-bounds"),
            Arc::new(RunOptions {
                engine: explicit_bounds,
            }),
        ),
    ];
    let passed = Arc::new(Mutex::new(BTreeMap::new()));
    let mut trials: Vec<Trial> = Vec::new();
    for (kind, options) in &modes {
        for (name, path) in &scripts {
            let (name, path, kind) = (name.clone(), path.clone(), *kind);
            let (options, expectations, passed) =
                (options.clone(), expectations.clone(), passed.clone());
            let trial = Trial::test(name.clone(), move || {
                let report = run_path(&path, &options).map_err(|err| format!("{err:#}"))?;
                if kind.is_none() {
                    passed
                        .lock()
                        .expect("a test panicked while recording")
                        .insert(name.clone(), report.passed);
                }
                if bless {
                    return Ok(());
                }
                check(&name, &expectations, &report)
            });
            trials.push(match kind {
                Some(kind) => trial.with_kind(kind),
                None => trial,
            });
        }
    }
    let present: BTreeSet<&str> = scripts.keys().map(String::as_str).collect();
    for missing in expectations
        .scripts()
        .filter(|name| !present.contains(name))
    {
        let message = format!("{missing} is listed in expectations.txt but missing from the suite");
        trials
            .push(Trial::test(missing, move || Err(message.into())).with_ignored_flag(overridden));
    }

    let conclusion = libtest_mimic::run(&args, trials);
    if bless {
        let passed = passed.lock().expect("a test panicked while recording");
        if let Err(err) = bless_expectations(
            &expectations_path,
            &expectations,
            &passed,
            &present,
            overridden,
        ) {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    }
    conclusion.exit_code()
}

/// The suite's core scripts, keyed by their `core/<file>` name.
fn core_scripts(suite: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let core = suite.join("core");
    let dir = if core.is_dir() {
        core
    } else {
        suite.to_path_buf()
    };
    wast_files(&dir, Recurse::No)?
        .into_iter()
        .map(|path| {
            let file = path
                .file_name()
                .and_then(|name| name.to_str())
                .with_context(|| format!("{} has no UTF-8 file name", path.display()))?;
            Ok((format!("core/{file}"), path))
        })
        .collect()
}

/// Holds the script to its recorded count.
fn check(
    name: &str,
    expectations: &Expectations,
    report: &weft_spec_tests::FileReport,
) -> Result<(), Failed> {
    match expectations.ratchet(name, report.passed) {
        Ratchet::Untracked | Ratchet::Held => Ok(()),
        Ratchet::Improved { recorded } => {
            println!(
                "note: {name} now passes {} directives ({recorded} recorded); \
                 record it with WEFT_BLESS=1 cargo test -p weft-spec-tests --test spec",
                report.passed
            );
            Ok(())
        }
        Ratchet::Regressed { recorded } => {
            let mut message = format!(
                "{name} passes {} directives, {recorded} expected ({})",
                report.passed,
                report.summary()
            );
            for failure in report.failures.iter().take(SHOWN_FAILURES) {
                message.push_str(&format!(
                    "\n  {name}:{}: {}: {}",
                    failure.line, failure.kind, failure.message
                ));
            }
            if report.failures.len() > SHOWN_FAILURES {
                message.push_str(&format!(
                    "\n  ... and {} more",
                    report.failures.len() - SHOWN_FAILURES
                ));
            }
            Err(message.into())
        }
    }
}

/// Rewrites the expectations with the counts of the scripts that ran. Scripts filtered out of
/// this run keep their record; scripts gone from the default suite lose it.
fn bless_expectations(
    path: &Path,
    old: &Expectations,
    passed: &BTreeMap<String, usize>,
    present: &BTreeSet<&str>,
    overridden: bool,
) -> Result<()> {
    let mut blessed = old.clone();
    if !overridden {
        blessed.retain(|name| present.contains(name));
    }
    for (name, count) in passed {
        blessed.set(name, *count);
    }
    std::fs::write(path, blessed.to_text())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "blessed {} ({} scripts recorded)",
        path.display(),
        blessed.scripts().count()
    );
    Ok(())
}
