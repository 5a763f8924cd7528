//! One test per spec script, ratcheted against `expectations.txt`.
//!
//! - The suite is `../shared/testsuite` from the workspace root, or `$WEFT_TESTSUITE` (any
//!   checkout of WebAssembly/testsuite). Its core scripts are `core/*.wast`, or the top-level
//!   `*.wast` of a checkout that has no `core/` folder; either way they are named `core/<file>`.
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

use anyhow::{Context, Result};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use weft::{BoundsChecks, WasmFeatures};
use weft_spec_tests::{
    Engines, Expectations, Ratchet, Recurse, run_path, suite_features, wast_files,
};

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

    let scripts = match suite_scripts(&suite) {
        Ok(scripts) => scripts,
        Err(err) => {
            let message =
                format!("{err:#} (set WEFT_TESTSUITE to a WebAssembly/testsuite checkout)");
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

/// A script of the suite and the proposals it is written for.
struct Script {
    path: PathBuf,
    features: WasmFeatures,
}

/// The suite's core, threads and shared-everything-threads scripts, keyed by their ratchet
/// name.
fn suite_scripts(suite: &Path) -> Result<BTreeMap<String, Script>> {
    let mut scripts = BTreeMap::new();
    let core = suite.join("core");
    let core = if core.is_dir() {
        core
    } else {
        suite.to_path_buf()
    };
    for path in wast_files(&core, Recurse::No)? {
        let name = format!("core/{}", suite_relative_name(&core, &path)?);
        let features = WasmFeatures::default();
        scripts.insert(name, Script { path, features });
    }
    for folder in ["threads", "shared-everything-threads"] {
        let dir = suite.join(folder);
        if !dir.is_dir() {
            continue;
        }
        for path in wast_files(&dir, Recurse::Yes)? {
            let name = format!("{folder}/{}", suite_relative_name(&dir, &path)?);
            // Judged by the name, so that folders above the suite do not count.
            let features = suite_features(Path::new(&name)).unwrap_or_default();
            scripts.insert(name, Script { path, features });
        }
    }
    Ok(scripts)
}

/// `path` relative to `dir`, with `/` between folders whatever the platform.
fn suite_relative_name(dir: &Path, path: &Path) -> Result<String> {
    let relative = path.strip_prefix(dir)?;
    let parts = relative
        .iter()
        .map(|part| {
            part.to_str()
                .with_context(|| format!("{} has no UTF-8 name", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.join("/"))
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
