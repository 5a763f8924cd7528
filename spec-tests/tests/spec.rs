//! One test per spec script, ratcheted against `expectations.txt`.
//!
//! - The suite is `../shared/testsuite` from the workspace root, or `$WEFT_TESTSUITE`: a
//!   checkout of WebAssembly/testsuite (core scripts at the top level) or of WebAssembly/spec
//!   (core scripts in `test/core` and its sub-folders), read as `weft_spec_tests::Suite`
//!   describes; core scripts are named `core/<file>` in every layout. A folder in none of
//!   these layouts fails the run, and so does a checkout lacking more than a tenth of the
//!   recorded core scripts.
//! - The threads scripts are every `*.wast` under `threads/` and `shared-everything-threads/`,
//!   if the suite has those folders, named by their path in the suite
//!   (`threads/upstream/atomic.wast`). Each runs with the feature set
//!   `suite_features` picks for its folder, as the suite's SOURCES.md prescribes; the core
//!   scripts run with the default set.
//! - A test fails when its script passes fewer directives than `expectations.txt` records, or
//!   when a recorded script is missing from the default suite (with `$WEFT_TESTSUITE`, missing
//!   scripts are reported as ignored tests instead, since other checkouts differ).
//! - Each script runs twice: with guard-page bounds checks and, as `[explicit-bounds]`, with
//!   explicit checks. Both runs are held to the same recorded count. A script that runs longer
//!   than `weft_spec_tests::DEFAULT_TIMEOUT` (a deadlock) fails its unfinished directives, and
//!   its threads run on in the background until the test process exits.
//! - `WEFT_BLESS=1` records the current counts of the scripts that ran instead of checking them.

use anyhow::{Context, Result, bail};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use weft::BoundsChecks;
use weft_spec_tests::{Engines, Expectations, Ratchet, Suite, SuiteLayout, SuiteScript, run_path};

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

    let scripts = match suite_scripts(&suite, overridden, &expectations) {
        Ok(scripts) => scripts,
        Err(err) => {
            let message = format!(
                "{err:#} (set WEFT_TESTSUITE to a checkout of WebAssembly/testsuite or \
                 WebAssembly/spec)"
            );
            let trial = Trial::test("testsuite", move || Err(message.into()));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };

    // Every script runs under both bounds-checking strategies and must reach the recorded
    // count under each; only the default (guard pages) run is recorded by WEFT_BLESS.
    let modes = [
        (None, BoundsChecks::GuardPages),
        (Some("explicit-bounds"), BoundsChecks::Explicit),
    ];
    let mut engines = Engines::default();
    let passed = Arc::new(Mutex::new(BTreeMap::new()));
    let mut trials: Vec<Trial> = Vec::new();
    for (kind, bounds_checks) in modes {
        for (name, script) in &scripts {
            let options = match engines.options(bounds_checks, script.features) {
                Ok(options) => options,
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let (name, path) = (name.clone(), script.path.clone());
            let (expectations, passed) = (expectations.clone(), passed.clone());
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

/// The most recorded core scripts another checkout may lack (it may be older or newer)
/// before the run fails as pointed at the wrong folder.
const MISSING_CORE_TOLERANCE: f64 = 0.1;

/// The suite's scripts, keyed by their ratchet name. The default suite must be in weft's
/// shared layout; another checkout may be in any layout `Suite` reads, but must hold most of
/// the recorded core scripts.
fn suite_scripts(
    root: &Path,
    overridden: bool,
    expectations: &Expectations,
) -> Result<BTreeMap<String, SuiteScript>> {
    let suite = Suite::read(root)?;
    if !overridden && suite.layout != SuiteLayout::Shared {
        bail!(
            "{} is {}, not {}",
            root.display(),
            suite.layout,
            SuiteLayout::Shared
        );
    }
    let recorded_core: Vec<&str> = expectations
        .scripts()
        .filter(|name| name.starts_with("core/"))
        .collect();
    let missing = recorded_core
        .iter()
        .filter(|name| !suite.scripts.contains_key(**name))
        .count();
    if missing as f64 > MISSING_CORE_TOLERANCE * recorded_core.len() as f64 {
        bail!(
            "{} read as {} lacks {missing} of the {} core scripts expectations.txt records",
            root.display(),
            suite.layout,
            recorded_core.len()
        );
    }
    println!(
        "spec scripts: {} read as {}: {} scripts",
        root.display(),
        suite.layout,
        suite.scripts.len()
    );
    Ok(suite.scripts)
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
