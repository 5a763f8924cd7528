//! The `weft` binary end to end: output, exit status, and one-line errors.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

const MODULE: &str = r#"
(module
  (memory 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param f32 f64) (result f32 f64) (local.get 0) (local.get 1))
  (func (export "oob") (result i32) (i32.load (i32.const 70000)))
  (func (export "main") (result i32) (i32.const 42))
)
"#;

const SCRIPT: &str = r#"
(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke "one") (i32.const 2))
(assert_trap (module (func $f unreachable) (start $f)) "unreachable")
"#;

/// A file unique to this test process, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn file(name: &str, contents: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("weft-cli-{}-{name}", std::process::id()));
    fs::write(&path, contents).unwrap();
    TempFile(path)
}

fn weft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Asserts the command failed with exactly one `error: ...` line containing `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
}

#[test]
fn run_prints_results_one_per_line() {
    let file = file("results.wat", MODULE);
    let module = file.path();

    let output = weft(&["run", module, "--invoke", "add", "-3", "0x10"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "13\n");

    let output = weft(&["run", module, "--invoke", "pair", "1.5", "-inf"]);
    assert_eq!(stdout(&output), "1.5\n-inf\n");

    // Without --invoke, `main` is the entry point.
    assert_eq!(stdout(&weft(&["run", module])), "42\n");
}

#[test]
fn run_reports_bad_input_on_one_line() {
    let errors = file("errors.wat", MODULE);
    let module = errors.path();
    let invalid = file("invalid.wat", "(module (func (result i32) (i64.const 1)))");

    assert_one_line_error(
        &weft(&["run", module, "--invoke", "oob"]),
        "wasm trap: out of bounds memory access",
    );
    assert_one_line_error(
        &weft(&["run", module, "--invoke", "nope"]),
        "unknown export",
    );
    assert_one_line_error(&weft(&["run", module, "--invoke", "add", "1"]), "takes 2");
    assert_one_line_error(&weft(&["run", module, "--invoke", "add", "1", "x"]), "i32");
    assert_one_line_error(&weft(&["run", invalid.path()]), "invalid module");
    assert_one_line_error(
        &weft(&["run", "/nonexistent/m.wasm"]),
        "/nonexistent/m.wasm",
    );
}

#[test]
fn wast_reports_and_exits_zero_despite_failures() {
    let file = file("script.wast", SCRIPT);
    let script = file.path();
    let output = weft(&["wast", "-v", script]);
    assert!(output.status.success());
    let stdout = stdout(&output);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{script}:4: assert_return: result 0: expected i32 2, got i32 1"),
            format!("{script}: 3 passed, 1 failed, 0 skipped"),
            "3 passed, 1 failed, 0 skipped".to_string(),
        ]
    );
}

#[test]
fn wast_fails_on_a_missing_path() {
    assert_one_line_error(&weft(&["wast", "/nonexistent/dir"]), "/nonexistent/dir");
}
