//! weft's own executable suite: every `.wast` script under `spec-tests/suite/`.
//!
//! Unlike the upstream spec scripts (held to a ratchet by the `spec` test), these scripts are
//! written for weft and must pass 100%: a test fails if any directive of its script fails, or if
//! the script has no directives at all. They exercise what the upstream scripts cannot, such as
//! guest threads spawned with the `wasm:thread` intrinsics running on real OS threads.
//!
//! - Each script runs with the feature set `suite_features` picks for its folder (scripts in
//!   `shared-everything-threads/` get the shared-everything-threads proposal), or the default
//!   set outside such folders.
//! - Each script runs twice: with guard-page bounds checks and, as `[explicit-bounds]`, with
//!   explicit checks.
//! - A script that runs longer than `weft_spec_tests::DEFAULT_TIMEOUT` (a deadlock) fails its
//!   unfinished directives.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weft::BoundsChecks;
use weft_spec_tests::{Engines, FileReport, Recurse, run_path, suite_features, wast_files};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("suite");
    let scripts = match wast_files(&suite, Recurse::Yes) {
        Ok(scripts) if !scripts.is_empty() => scripts,
        Ok(_) => return fail_all(&args, format!("no .wast scripts in {}", suite.display())),
        Err(err) => return fail_all(&args, format!("{err:#}")),
    };

    let modes = [
        (None, BoundsChecks::GuardPages),
        (Some("explicit-bounds"), BoundsChecks::Explicit),
    ];
    let mut engines = Engines::default();
    let mut trials = Vec::new();
    for (kind, bounds_checks) in modes {
        for path in &scripts {
            let name = match path.strip_prefix(&suite) {
                Ok(relative) => relative
                    .iter()
                    .map(|part| part.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
                Err(_) => path.display().to_string(),
            };
            let features = suite_features(path).unwrap_or_default();
            let options = match engines.options(bounds_checks, features) {
                Ok(options) => options,
                Err(err) => {
                    eprintln!("error: cannot create an engine for {name}: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let path: PathBuf = path.clone();
            let trial_name = name.clone();
            let trial = Trial::test(trial_name, move || {
                let report = run_path(&path, &options).map_err(|err| format!("{err:#}"))?;
                check(&name, &report)
            });
            trials.push(match kind {
                Some(kind) => trial.with_kind(kind),
                None => trial,
            });
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Runs a single failing test that explains why the suite could not be found.
fn fail_all(args: &Arguments, message: String) -> ExitCode {
    let trial = Trial::test("suite", move || Err(message.into()));
    libtest_mimic::run(args, vec![trial]).exit_code()
}

/// Passes only a script whose directives all passed, of which there is at least one.
fn check(name: &str, report: &FileReport) -> Result<(), Failed> {
    if report.failed == 0 && report.passed > 0 {
        return Ok(());
    }
    let mut message = if report.failed == 0 {
        format!("{name} ran no directives ({})", report.summary())
    } else {
        format!("{name}: {}", report.summary())
    };
    for failure in &report.failures {
        message.push_str(&format!(
            "\n  {name}:{}: {}: {}",
            failure.line, failure.kind, failure.message
        ));
    }
    Err(message.into())
}
