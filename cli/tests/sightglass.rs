//! The sightglass workloads, one trial per benchmark: each runs under
//! `weft run --preload bench=sightglass-bench.wat --dir .::. BENCHMARK.wasm` in its own
//! folder, and its stdout and stderr must match the expected files line by line, as
//! sightglass compares them.
//!
//! The workloads are `../shared/benchmarks/sightglass` from the workspace root, or
//! `$WEFT_SIGHTGLASS` (a folder laid out like sightglass's `benchmarks/`: one folder per
//! benchmark holding `*.wasm` and `*.{stdout,stderr}.expected`). The default folder must
//! hold all 27 workloads it is known to hold, so that an unreadable layout fails loudly.

use libtest_mimic::{Arguments, Trial};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Benchmarks in the default folder.
const EXPECTED_BENCHMARKS: usize = 27;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (root, overridden) = match env::var_os("WEFT_SIGHTGLASS") {
        Some(path) => (PathBuf::from(path), true),
        None => (
            manifest_dir.join("../../shared/benchmarks/sightglass"),
            false,
        ),
    };
    let bench = manifest_dir.join("tests/sightglass-bench.wat");
    let trials = match benchmarks(&root) {
        Ok(found) if overridden || found.len() == EXPECTED_BENCHMARKS => found
            .into_iter()
            .map(|wasm| {
                let bench = bench.clone();
                let name = wasm
                    .strip_prefix(&root)
                    .unwrap_or(&wasm)
                    .with_extension("")
                    .display()
                    .to_string();
                Trial::test(name, move || run(&wasm, &bench).map_err(Into::into))
            })
            .collect(),
        Ok(found) => vec![failure(format!(
            "{} holds {} benchmarks, expected {EXPECTED_BENCHMARKS}",
            root.display(),
            found.len()
        ))],
        Err(error) => vec![failure(format!(
            "cannot read {}: {error} (set WEFT_SIGHTGLASS to sightglass's benchmarks folder)",
            root.display()
        ))],
    };
    libtest_mimic::run(&args, trials).exit_code()
}

fn failure(message: String) -> Trial {
    Trial::test("sightglass", move || Err(message.into()))
}

/// Every `*.wasm` one folder below `root`, sorted.
fn benchmarks(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for folder in fs::read_dir(root)? {
        let folder = folder?.path();
        if !folder.is_dir() {
            continue;
        }
        for file in fs::read_dir(&folder)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "wasm") {
                found.push(file);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn run(wasm: &Path, bench: &Path) -> Result<(), String> {
    let folder = wasm.parent().expect("a benchmark is inside a folder");
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .current_dir(folder)
        .arg("run")
        .arg("--preload")
        .arg(format!("bench={}", bench.display()))
        .args(["--dir", ".::."])
        .arg(wasm)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot start weft: {error}"))?;
    let mut problems = Vec::new();
    if !output.status.success() {
        problems.push(format!("exit status {:?}", output.status.code()));
    }
    for (stream, actual) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let expected_path = wasm.with_extension(format!("{stream}.expected"));
        // Sightglass checks only the streams it has expectations for.
        let Ok(expected) = fs::read_to_string(&expected_path) else {
            continue;
        };
        let actual = String::from_utf8_lossy(actual);
        let (actual, expected): (Vec<&str>, Vec<&str>) =
            (actual.lines().collect(), expected.lines().collect());
        if actual != expected {
            let line = actual
                .iter()
                .zip(&expected)
                .position(|(a, e)| a != e)
                .unwrap_or(actual.len().min(expected.len()));
            problems.push(format!(
                "{stream} differs from {} at line {}: got {:?}, expected {:?} ({} lines, expected {})",
                expected_path.display(),
                line + 1,
                actual.get(line),
                expected.get(line),
                actual.len(),
                expected.len()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
