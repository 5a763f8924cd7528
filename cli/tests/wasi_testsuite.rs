//! The official WASI test suite, one trial per test, run through the `weft` binary the way
//! the suite's own runner runs a runtime (`specification.md` beside the tests).
//!
//! - The suite is `../shared/wasi-testsuite` from the workspace root, or
//!   `$WEFT_WASI_TESTSUITE` (a checkout of WebAssembly/wasi-testsuite's `prod/testsuite-all`
//!   branch, or any folder with its `tests/` layout). The preview 1 tests are the `*.wasm` of
//!   `tests/{c,rust,assemblyscript}/testsuite/wasm32-wasip1/`; the wasi-threads tests are
//!   `tests/proposals/wasi-threads/`: its `*.wasm` where prebuilt, else its `*.wat` (weft runs
//!   text), and its C test, built here with clang-19 and the sysroot in `../shared/toolchain`
//!   (or `$WEFT_TOOLCHAIN`).
//! - A test passes when the exit status, stdout and stderr are the ones its `NAME.json` gives
//!   (status 0 and no output check by default). Each test runs in a fresh copy of the
//!   directories it names, with `*.cleanup` files removed, its standard input an open pipe,
//!   and a timeout.
//! - `wasi-testsuite-known-failures.txt` lists tests known to fail. Such a test's trial
//!   passes only while it still fails, so a fix is noticed; every other test must pass. The
//!   default suite must hold exactly the tests it is known to hold, so that a layout weft does
//!   not read fails loudly instead of running nothing.

use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where each kind of test lives in the suite, and how many the default suite has there.
const SUITES: [(&str, usize); 4] = [
    ("tests/c/testsuite/wasm32-wasip1", 14),
    ("tests/rust/testsuite/wasm32-wasip1", 46),
    ("tests/assemblyscript/testsuite/wasm32-wasip1", 12),
    ("tests/proposals/wasi-threads", 15),
];

/// How long one test may run; the official runner gives 5 seconds, and these machines are
/// shared.
const TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (suite, overridden) = match env::var_os("WEFT_WASI_TESTSUITE") {
        Some(path) => (PathBuf::from(path), true),
        None => (manifest_dir.join("../../shared/wasi-testsuite"), false),
    };
    let known_failures_path = manifest_dir.join("tests/wasi-testsuite-known-failures.txt");
    let trials = match collect(&suite, overridden, &known_failures_path) {
        Ok(trials) => trials,
        Err(message) => {
            let message = format!(
                "{message} (set WEFT_WASI_TESTSUITE to a checkout of WebAssembly/wasi-testsuite, \
                 branch prod/testsuite-all)"
            );
            vec![Trial::test("wasi-testsuite", move || Err(message.into()))]
        }
    };
    libtest_mimic::run(&args, trials).exit_code()
}

/// One trial per test of the suite at `suite`.
fn collect(suite: &Path, overridden: bool, known_failures: &Path) -> Result<Vec<Trial>, String> {
    let known = fs::read_to_string(known_failures)
        .map_err(|error| format!("cannot read {}: {error}", known_failures.display()))?;
    let known: BTreeSet<String> = known
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect();
    let toolchain = env::var_os("WEFT_TOOLCHAIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/toolchain"),
        PathBuf::from,
    );
    let built = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasi-testsuite");
    let mut trials = Vec::new();
    let mut names = BTreeSet::new();
    for (folder, expected) in SUITES {
        let dir = suite.join(folder);
        let tests = tests_in(&dir)?;
        if !overridden && tests.len() != expected {
            return Err(format!(
                "{} holds {} tests, but the suite has {expected} there: is it the suite's layout?",
                dir.display(),
                tests.len()
            ));
        }
        for test in tests {
            // The wasi-threads tests run under both thread models.
            let models: &[(&str, &[&'static str])] = match short_suite_name(folder) {
                "wasi-threads" => &[
                    ("wasi-threads", &[]),
                    ("wasi-threads-shared", &["--wasi-threads=shared"]),
                ],
                suite => &[(suite, &[])],
            };
            for &(suite, options) in models {
                let name = format!("{suite}/{}", test.name);
                names.insert(name.clone());
                let test = Arc::new(Test {
                    known_failure: known.contains(&name),
                    built: built.clone(),
                    toolchain: toolchain.clone(),
                    options,
                    name: name.clone(),
                    ..test.clone()
                });
                trials.push(Trial::test(name, move || test.check()));
            }
        }
    }
    if let Some(stale) = known.iter().find(|name| !names.contains(*name)) {
        return Err(format!(
            "{stale} is listed as a known failure but is not in the suite"
        ));
    }
    Ok(trials)
}

fn short_suite_name(folder: &str) -> &str {
    match folder.split('/').nth(1) {
        Some("proposals") => "wasi-threads",
        Some(language) => language,
        None => folder,
    }
}

/// How a test's module is obtained.
#[derive(Clone)]
enum Source {
    /// A module weft runs as it is, binary or text.
    Module(PathBuf),
    /// A C test to build first, with the assembly files of its folder.
    C(PathBuf),
}

#[derive(Clone)]
struct Test {
    /// The trial's name: the suite, then the test's file name without its extension.
    name: String,
    /// `weft run` options of the trial, before the module.
    options: &'static [&'static str],
    dir: PathBuf,
    source: Source,
    spec: Spec,
    known_failure: bool,
    built: PathBuf,
    toolchain: PathBuf,
}

/// The parts of a test's `NAME.json` that preview 1 tests use.
#[derive(Clone, Default)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    dirs: Vec<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

/// The tests of one folder: each `*.wasm`, each `*.wat` without one, and each `*.c`.
fn tests_in(dir: &Path) -> Result<Vec<Test>, String> {
    let entries =
        fs::read_dir(dir).map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    let mut tests = Vec::new();
    for path in &paths {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let prebuilt = path.with_extension("wasm");
        let source = match extension {
            "wasm" => Source::Module(path.clone()),
            "wat" if !paths.contains(&prebuilt) => Source::Module(path.clone()),
            "c" if !paths.contains(&prebuilt) => Source::C(path.clone()),
            _ => continue,
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("odd test file name {}", path.display()))?
            .to_string();
        let spec = Spec::load(&path.with_extension("json"))?;
        tests.push(Test {
            name,
            dir: dir.to_path_buf(),
            source,
            spec,
            options: &[],
            known_failure: false,
            built: PathBuf::new(),
            toolchain: PathBuf::new(),
        });
    }
    Ok(tests)
}

impl Spec {
    fn load(path: &Path) -> Result<Spec, String> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Spec::default());
            }
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
        let strings = |key: &str| -> Vec<String> {
            json[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let env = json["env"]
            .as_object()
            .map(|vars| {
                vars.iter()
                    .map(|(name, value)| (name.clone(), value.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if json.get("operations").is_some() {
            return Err(format!(
                "{}: operation-based specifications are not read by this runner",
                path.display()
            ));
        }
        Ok(Spec {
            args: strings("args"),
            env,
            dirs: strings("dirs"),
            exit_code: json["exit_code"].as_i64().unwrap_or(0) as i32,
            stdout: json["stdout"].as_str().map(String::from),
            stderr: json["stderr"].as_str().map(String::from),
        })
    }
}

impl Test {
    /// The trial: passes when the outcome matches the spec, or for a known failure, when it
    /// still does not.
    fn check(&self) -> Result<(), Failed> {
        let outcome = self.run();
        match (outcome, self.known_failure) {
            (Ok(()), false) | (Err(_), true) => Ok(()),
            (Err(message), false) => Err(message.into()),
            (Ok(()), true) => Err(format!(
                "{} now passes: remove it from wasi-testsuite-known-failures.txt",
                self.name
            )
            .into()),
        }
    }

    fn run(&self) -> Result<(), String> {
        let module = match &self.source {
            Source::Module(path) => path.clone(),
            Source::C(source) => self.build_c(source)?,
        };
        let scratch = self.built.join("runs").join(&self.name);
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).map_err(|e| format!("scratch dir: {e}"))?;
        for dir in &self.spec.dirs {
            copy_tree(&self.dir.join(dir), &scratch.join(dir))
                .map_err(|e| format!("copying {dir}: {e}"))?;
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
        command.arg("run").current_dir(&scratch);
        for dir in &self.spec.dirs {
            command.arg("--dir").arg(format!("{dir}::{dir}"));
        }
        for (name, value) in &self.spec.env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command
            .args(self.options)
            .arg(&module)
            .args(&self.spec.args);
        let (status, stdout, stderr) = run_with_open_stdin(command)?;
        let _ = fs::remove_dir_all(&scratch);
        let mut problems = Vec::new();
        if status != Some(self.spec.exit_code) {
            problems.push(format!(
                "exit status {status:?}, expected {}",
                self.spec.exit_code
            ));
        }
        for (stream, actual, expected) in [
            ("stdout", &stdout, &self.spec.stdout),
            ("stderr", &stderr, &self.spec.stderr),
        ] {
            if let Some(expected) = expected
                && actual != expected
            {
                problems.push(format!("{stream} was {actual:?}, expected {expected:?}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{}; stderr: {stderr}", problems.join("; ")))
        }
    }

    /// Builds a C test of the wasi-threads folder as the suite's scripts do, with clang-19.
    fn build_c(&self, source: &Path) -> Result<PathBuf, String> {
        let output = self.built.join(format!("{}.wasm", self.name));
        let folder = output.parent().expect("a file in the build folder");
        fs::create_dir_all(folder).map_err(|e| e.to_string())?;
        let assembly: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map_err(|e| e.to_string())?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "S"))
            .collect();
        let built = Command::new("clang-19")
            .arg("--target=wasm32-wasip1-threads")
            .arg(format!(
                "--sysroot={}",
                self.toolchain.join("wasi-sysroot").display()
            ))
            .arg(format!(
                "-resource-dir={}",
                self.toolchain.join("clang-resource").display()
            ))
            .args([
                "-pthread",
                "-O2",
                "-Wl,--import-memory",
                "-Wl,--export-memory",
            ])
            .args(&assembly)
            .arg(source)
            .arg("-o")
            .arg(&output)
            .output()
            .map_err(|error| {
                format!(
                    "cannot run clang-19 to build {} ({error}); install clang-19 and lld-19 \
                     (apt-get install clang-19 lld-19)",
                    source.display()
                )
            })?;
        if !built.status.success() {
            return Err(format!(
                "building {} failed: {}",
                source.display(),
                String::from_utf8_lossy(&built.stderr)
            ));
        }
        Ok(output)
    }
}

/// Runs `command` with its standard input a pipe kept open until it exits, as a terminal
/// would; returns its status and output. A run past [`TIMEOUT`] is killed and fails.
fn run_with_open_stdin(mut command: Command) -> Result<(Option<i32>, String, String), String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start weft: {e}"))?;
    let stdin = child.stdin.take();
    let readers = [
        child.stdout.take().map(drain),
        child.stderr.take().map(drain),
    ];
    let status = wait_or_kill(&mut child)?;
    drop(stdin);
    let [stdout, stderr] =
        readers.map(|reader| reader.map_or_else(String::new, |r| r.join().unwrap_or_default()));
    Ok((status, stdout, stderr))
}

fn drain(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn wait_or_kill(child: &mut Child) -> Result<Option<i32>, String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status.code());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {TIMEOUT:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Copies a test directory, symbolic links as links, leaving out `*.cleanup` entries that
/// an earlier run left behind.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if Path::new(&name).extension().is_some_and(|e| e == "cleanup") {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}
