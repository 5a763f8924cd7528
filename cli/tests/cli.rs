//! The `weft` binary end to end: output, exit status, and one-line errors.

use std::fs;
use std::path::{Path, PathBuf};
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

/// A file unique to this test process, removed on drop (with the folders `file` made for it).
struct TempFile {
    path: PathBuf,
    root: PathBuf,
}

impl TempFile {
    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = if self.root.is_dir() {
            fs::remove_dir_all(&self.root)
        } else {
            fs::remove_file(&self.root)
        };
    }
}

/// Writes `contents` to `name` under the temp dir; `name` may have folders (`a/b/c.wast`).
fn file(name: &str, contents: &str) -> TempFile {
    let (top, below) = name.split_once('/').unwrap_or((name, ""));
    let root = std::env::temp_dir().join(format!("weft-cli-{}-{top}", std::process::id()));
    let path = if below.is_empty() {
        root.clone()
    } else {
        root.join(below)
    };
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    TempFile { path, root }
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

/// The status of a run whose wasm code trapped, as Wasmtime's: 128 + SIGABRT.
const TRAPPED: i32 = 134;

/// Asserts the command failed with exactly one `error: ...` line containing `needle`, and
/// status 1: weft could not run the module.
fn assert_one_line_error(output: &Output, needle: &str) {
    assert_one_line_failure(output, 1, needle);
}

/// Asserts the command exited with `status` and exactly one `error: ...` line containing
/// `needle`.
/// A trap's line may be followed by its wasm backtrace, one frame per line.
fn assert_one_line_failure(output: &Output, status: i32, needle: &str) {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(output.status.code(), Some(status), "{stderr}");
    let mut lines = stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains(needle),
        "{stderr}"
    );
    if status != TRAPPED {
        assert_eq!(lines.next(), None, "{stderr}");
    } else if let Some(heading) = lines.next() {
        assert_eq!(heading, "wasm backtrace:", "{stderr}");
        assert!(lines.all(is_frame_line), "{stderr}");
    }
}

/// `   0: 0x2a - module!function`.
fn is_frame_line(line: &str) -> bool {
    line.trim_start()
        .split_once(": ")
        .is_some_and(|(depth, _)| depth.parse::<u32>().is_ok())
}

#[test]
fn run_prints_results_one_per_line() {
    let file = file("results.wat", MODULE);
    let module = file.path();

    let output = weft(&["run", "--invoke", "add", module, "-3", "0x10"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "13\n");

    let output = weft(&["run", "--invoke", "pair", module, "1.5", "-inf"]);
    assert_eq!(stdout(&output), "1.5\n-inf\n");

    // Without --invoke, `main` is the entry point.
    assert_eq!(stdout(&weft(&["run", module])), "42\n");
}

#[test]
fn run_reports_bad_input_on_one_line() {
    let errors = file("errors.wat", MODULE);
    let module = errors.path();
    let invalid = file("invalid.wat", "(module (func (result i32) (i64.const 1)))");

    assert_one_line_failure(
        &weft(&["run", "--invoke", "oob", module]),
        TRAPPED,
        "wasm trap: out of bounds memory access",
    );
    assert_one_line_error(
        &weft(&["run", "--invoke", "nope", module]),
        "unknown export",
    );
    assert_one_line_error(&weft(&["run", "--invoke", "add", module, "1"]), "takes 2");
    assert_one_line_error(&weft(&["run", "--invoke", "add", module, "1", "x"]), "i32");
    assert_one_line_error(&weft(&["run", invalid.path()]), "invalid module");
    let malformed = file("malformed.wat", "(module\n  (func (i32.const)))");
    assert_one_line_error(
        &weft(&["run", malformed.path()]),
        &format!("(at {}:2:", malformed.path()),
    );
    assert_one_line_error(
        &weft(&["run", "/nonexistent/m.wasm"]),
        "/nonexistent/m.wasm",
    );
}

/// `main` spawns threads 0..n and returns the sum of their arguments once every thread has
/// added its own; `crash` spawns a thread that traps and waits forever.
const WASI_THREADS_PROGRAM: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (if (i32.lt_s (local.get $arg) (i32.const 0)) (then unreachable))
    (drop (i32.atomic.rmw.add (i32.const 0) (local.get $arg)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "main") (param $n i32) (result i32)
    (local $i i32) (local $seen i32)
    (loop $spawning
      (if (i32.lt_s (call $spawn (local.get $i)) (i32.const 1)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawning (i32.lt_u (local.get $i) (local.get $n))))
    (loop $waiting
      (local.set $seen (i32.atomic.load (i32.const 0)))
      (if (i32.ne (local.get $seen)
            (i32.shr_u (i32.mul (local.get $n) (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $seen) (i64.const 1000000)))
          (br $waiting))))
    (local.get $seen))
  (func (export "crash") (result i32)
    (drop (call $spawn (i32.const -1)))
    (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
)
"#;

#[test]
fn run_executes_wasi_threads_programs() {
    let program = file("wasi-threads.wat", WASI_THREADS_PROGRAM);
    let output = weft(&["run", "--invoke", "main", program.path(), "40"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "780\n");
    // The thread's trap stops the waiting main call; the trap is what is reported.
    assert_one_line_failure(
        &weft(&["run", "--invoke", "crash", program.path()]),
        TRAPPED,
        "wasm trap: unreachable",
    );
}

#[test]
fn wast_reports_every_failure_and_exits_1() {
    let file = file("script.wast", SCRIPT);
    let script = file.path();
    let output = weft(&["wast", "-v", script]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr.clone()).unwrap(),
        "error: 1 directives failed\n"
    );
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

/// Valid only with threads (shared memory), and invalid only without sign extension, which
/// `wasm1` lacks: both directives pass only under `wasm1,threads`.
const WASM1_THREADS_SCRIPT: &str = r#"
(module (memory 1 1 shared))
(assert_invalid (module (func (result i32) (i32.extend8_s (i32.const 0)))) "unknown operator")
"#;

#[test]
fn wast_features_choose_the_proposals() {
    let file = file("features.wast", WASM1_THREADS_SCRIPT);
    let script = file.path();
    let summary = |args: &[&str]| {
        let output = weft(args);
        let summary = stdout(&output).lines().last().unwrap().to_string();
        let all_passed = summary.contains(" 0 failed");
        assert_eq!(output.status.success(), all_passed, "{summary}");
        summary
    };
    assert_eq!(summary(&["wast", script]), "1 passed, 1 failed, 0 skipped");
    assert_eq!(
        summary(&["wast", "--features", "wasm1,threads", script]),
        "2 passed, 0 failed, 0 skipped"
    );
    assert_eq!(
        summary(&["wast", "--features", "wasm1", script]),
        "1 passed, 1 failed, 0 skipped"
    );
}

#[test]
fn wast_picks_the_features_of_a_suite_folder() {
    let file = file("suite/testsuite-proposal/script.wast", WASM1_THREADS_SCRIPT);
    let output = weft(&["wast", file.path()]);
    assert_eq!(
        stdout(&output).lines().last(),
        Some("2 passed, 0 failed, 0 skipped")
    );
    // An explicit list wins over the folder's.
    let output = weft(&["wast", "--features", "default", file.path()]);
    assert_eq!(
        stdout(&output).lines().last(),
        Some("1 passed, 1 failed, 0 skipped")
    );
}

#[test]
fn wast_rejects_unknown_features_with_status_2() {
    let output = weft(&["wast", "--features", "wasm1,nope", "/nonexistent/dir"]);
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: unknown feature `nope` in `wasm1,nope`; known: default,"),
        "{stderr}"
    );
}

#[test]
fn wast_gives_up_on_a_deadlocked_script() {
    // The thread waits for a notify that never comes, so `wait $T` never returns.
    let file = file(
        "deadlock.wast",
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(thread $T (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "block") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (invoke "block"))
(wait $T)
"#,
    );
    let output = weft(&["wast", "-v", "--timeout", "1", file.path()]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = stdout(&output);
    let timed_out = "did not finish within the script's time limit of 1s";
    assert!(
        stdout.contains(&format!(":8: invoke: {timed_out}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(":9: wait: {timed_out}")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n4 passed, 2 failed, 0 skipped\n"),
        "{stdout}"
    );
}

/// A WASI command that writes `hi\n` with one `fd_write`, then exits with the status in its
/// data (or, for `bad_pointer`, passes `fd_write` an iovec past the end of memory).
fn wasi_command(status: i32, bad_pointer: bool) -> String {
    let iovec = if bad_pointer { 70000 } else { 0 };
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\03\00\00\00")
  (data (i32.const 16) "hi\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const {iovec}) (i32.const 1) (i32.const 32)))
    (call $proc_exit (i32.const {status}))))"#
    )
}

#[test]
fn run_gives_the_programs_exit_status() {
    let program = file("exit.wat", &wasi_command(42, false));
    let output = weft(&["run", program.path()]);
    assert_eq!(output.status.code(), Some(42));
    assert_eq!(stdout(&output), "hi\n");
    assert!(output.stderr.is_empty());
}

#[test]
fn run_reports_bad_wasi_setup_and_bad_calls_on_one_line() {
    let program = file("bad-setup.wat", &wasi_command(0, false));
    let module = program.path();
    assert_one_line_error(
        &weft(&["run", "--dir", "/nonexistent/weft-dir", module]),
        "/nonexistent/weft-dir",
    );
    assert_one_line_failure(
        &weft(&["run", "--preload", "no-equals-sign", module]),
        2,
        "expected NAME=MODULE",
    );
    assert_one_line_error(
        &weft(&["run", "--preload", "bench=/nonexistent/bench.wat", module]),
        "/nonexistent/bench.wat",
    );
    assert_one_line_failure(
        &weft(&["run", "--env", "WEFT_TEST_SURELY_UNSET_VARIABLE", module]),
        2,
        "WEFT_TEST_SURELY_UNSET_VARIABLE",
    );
    // As in Wasmtime: an exit status of 126 or more, and a pointer out of bounds, are host
    // errors (status 1), not traps.
    let too_high = file("exit-200.wat", &wasi_command(200, false));
    assert_one_line_error(&weft(&["run", too_high.path()]), "invalid status 200");
    let bad_pointer = file("bad-pointer.wat", &wasi_command(0, true));
    assert_one_line_error(
        &weft(&["run", bad_pointer.path()]),
        "out of bounds of memory",
    );
}

/// A shared-everything module: `main` spawns a guest thread that adds 5 at address 0 and
/// waits for it; `runaway` spawns four spinning threads and spins itself; `_start`-less.
const SHARED_EVERYTHING: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $to_i32 (shared (func (result i32))))
  (type $void (shared (func)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory (export "memory") 1 1 shared)
  (elem declare func $worker $spin)
  (func $worker (type $entry) (param $n i32)
    (drop (i32.atomic.rmw.add (i32.const 0) (local.get $n)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func $spin (type $entry) (param i32) (loop $l (br $l)))
  (func (export "main") (type $to_i32)
    (drop (call $spawn (ref.func $worker) (i32.const 5)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    (i32.atomic.load (i32.const 0)))
  (func (export "runaway") (type $void)
    (drop (call $spawn (ref.func $spin) (i32.const 0)))
    (drop (call $spawn (ref.func $spin) (i32.const 0)))
    (drop (call $spawn (ref.func $spin) (i32.const 0)))
    (drop (call $spawn (ref.func $spin) (i32.const 0)))
    (loop $l (br $l))))
"#;

#[test]
fn run_takes_shared_everything_modules_unless_told_not_to() {
    let module = file("shared-everything.wat", SHARED_EVERYTHING);
    let output = weft(&["run", module.path()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "5\n");
    assert_one_line_error(
        &weft(&["run", "-W", "shared-everything-threads=n", module.path()]),
        "shared-everything-threads",
    );
    assert_one_line_failure(
        &weft(&["run", "-W", "threads=maybe", module.path()]),
        2,
        "-W threads=maybe",
    );
}

#[test]
fn a_timeout_stops_every_thread_of_a_runaway_program() {
    let module = file("runaway.wat", SHARED_EVERYTHING);
    let started = std::time::Instant::now();
    let output = weft(&[
        "run",
        "-W",
        "timeout=200ms",
        "--invoke",
        "runaway",
        module.path(),
    ]);
    // A hang check, not a benchmark: the run is stopped after 200 ms.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_one_line_failure(&output, TRAPPED, "ran longer than its timeout of 200ms");
}

#[test]
fn fuel_stops_a_runaway_loop_and_lets_a_short_run_finish() {
    let module = file(
        "counting.wat",
        r#"(module
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))"#,
    );
    let count =
        |fuel: &str, n: &str| weft(&["run", "-W", fuel, "--invoke", "count", module.path(), n]);
    let output = count("fuel=100000", "1000");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "1000\n");
    assert_one_line_failure(
        &count("fuel=1000", "1000"),
        TRAPPED,
        "all fuel consumed by WebAssembly",
    );
    assert_one_line_failure(&count("fuel=lots", "1"), 2, "-W fuel=lots");
}

#[test]
fn run_refuses_what_it_cannot_do() {
    let module = file("misplaced.wat", SHARED_EVERYTHING);
    // weft's own options after the module would reach the program, which cannot read them.
    assert_one_line_failure(
        &weft(&["run", module.path(), "--invoke", "main"]),
        2,
        "weft's own options go before the module",
    );
    let takes_params = file(
        "takes-params.wat",
        r#"(module (func (export "_start") (param i32)))"#,
    );
    assert_one_line_error(
        &weft(&["run", takes_params.path()]),
        "the entry point `_start` takes parameters (i32)",
    );
    let idle = file("idle.wat", r#"(module (func (export "f")))"#);
    assert_one_line_error(&weft(&["run", idle.path()]), "nothing to run");
    // A start function is something to run.
    let started = file("started.wat", "(module (func $f) (start $f))");
    assert!(weft(&["run", started.path()]).status.success());
}

/// `outer` calls `middle` calls `store_past_the_end`, which stores past the end of memory.
const DEEP_TRAP: &str = r#"
(module $deep
  (memory 1)
  (func $store_past_the_end (param i32)
    (i32.store (local.get 0) (i32.const 1)))
  (func $middle (param i32)
    (call $store_past_the_end (i32.add (local.get 0) (i32.const 65536))))
  (func $outer (export "outer")
    (call $middle (i32.const 8))))
"#;

#[test]
fn a_trap_prints_its_wasm_backtrace() {
    let module = file("deep.wat", DEEP_TRAP);
    let output = weft(&["run", "--invoke", "outer", module.path()]);
    assert_one_line_failure(&output, TRAPPED, "wasm trap: out of bounds memory access");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let frames: Vec<&str> = stderr
        .lines()
        .skip(2)
        .map(|line| line.rsplit(" - ").next().unwrap())
        .collect();
    assert_eq!(
        frames,
        ["deep!store_past_the_end", "deep!middle", "deep!outer"]
    );
}

/// A sightglass-style workload: prints `hi`, then counts to `$n` between `bench.start` and
/// `bench.end`, then exits with the status in the global `$status`.
fn bench_workload(name: &str, status: i32) -> TempFile {
    file(
        name,
        &format!(
            r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "_start")
    (local $i i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $start)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $end)
    (if (i32.ne (i32.const {status}) (i32.const 0))
      (then (call $proc_exit (i32.const {status}))))))"#
        ),
    )
}

#[test]
fn bench_reports_each_phase_as_json_or_a_table() {
    let workload = bench_workload("bench-ok.wat", 0);
    let output = weft(&["bench", "--iterations", "3", "--json", workload.path()]);
    assert!(output.status.success(), "{output:?}");
    // The program's own output is discarded: stdout is the report alone.
    let lines: Vec<String> = stdout(&output).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let record: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(record["file"], workload.path());
    assert_eq!(record["iterations"], 3);
    for phase in ["compile", "instantiate", "execute"] {
        let median = record[format!("{phase}_s")].as_f64().unwrap();
        let min = record[format!("{phase}_min_s")].as_f64().unwrap();
        let max = record[format!("{phase}_max_s")].as_f64().unwrap();
        assert!(min <= median && median <= max && min > 0.0, "{record}");
    }

    let output = weft(&[
        "bench",
        "--iterations",
        "1",
        "--guest-output",
        workload.path(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let table = stdout(&output);
    assert!(table.starts_with("hi\n"), "{table}");
    assert!(
        table.contains("compile") && table.contains(workload.path()),
        "{table}"
    );
}

#[test]
fn bench_fails_on_a_failing_program_and_on_a_regression() {
    let failing = bench_workload("bench-exit.wat", 3);
    assert_one_line_error(
        &weft(&["bench", "--iterations", "1", failing.path()]),
        "exited with status 3",
    );
    let returns = file(
        "bench-returns.wat",
        r#"(module (func (export "_start") (result i32) (i32.const 0)))"#,
    );
    assert_one_line_error(
        &weft(&["bench", "--iterations", "1", returns.path()]),
        "`_start` is not a program's entry point (no parameters, no results)",
    );
    let workload = bench_workload("bench-compare.wat", 0);
    let earlier = |execute_s: f64| {
        format!(
            "{{\"file\":{:?},\"runtime\":\"weft\",\"compile_s\":1000.0,\
             \"instantiate_s\":1000.0,\"execute_s\":{execute_s}}}\n",
            workload.path()
        )
    };
    let fast = file("bench-fast.json", &earlier(1e-12));
    let output = weft(&[
        "bench",
        "--iterations",
        "1",
        "--json",
        "--compare",
        fast.path(),
        workload.path(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("slower: ") && stderr.contains("execute"),
        "{stderr}"
    );
    let slow = file("bench-slow.json", &earlier(1000.0));
    let output = weft(&[
        "bench",
        "--iterations",
        "1",
        "--compare",
        slow.path(),
        workload.path(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let output = weft(&["bench", "--iterations", "0", workload.path()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn profile_perfmap_names_each_wasm_function_for_perf() {
    let module = file(
        "profiled.wat",
        r#"(module $profiled
  (func $helper (result i32) (i32.const 7))
  (func (export "main") (result i32) (call $helper)))"#,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "run",
            "--profile",
            "perfmap",
            "--invoke",
            "main",
            module.path(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let map = std::env::temp_dir().join(format!("perf-{}.map", child.id()));
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = fs::read_to_string(&map).unwrap();
    let _ = fs::remove_file(&map);
    let names: Vec<&str> = text
        .lines()
        .map(|line| {
            let mut fields = line.splitn(3, ' ');
            let start = fields.next().unwrap();
            let size = fields.next().unwrap();
            assert!(u64::from_str_radix(start, 16).unwrap() > 0, "{line}");
            assert!(u64::from_str_radix(size, 16).unwrap() > 0, "{line}");
            fields.next().unwrap()
        })
        .collect();
    assert!(names.contains(&"profiled!helper"), "{text}");
    // The export has no name in the name section: it is named by its index.
    assert!(names.contains(&"profiled!<wasm function 1>"), "{text}");
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("array-call trampoline")),
        "{text}"
    );
}

#[test]
fn wast_race_reports_the_litmus_tests_without_atomics_only() {
    let litmus = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!(
                "../../shared/testsuite/threads/upstream/{name}.wast"
            ))
            .to_str()
            .unwrap()
            .to_string()
    };
    for racy in ["MP", "SB", "LB"] {
        let output = weft(&["wast", "--race", &litmus(racy)]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(stdout(&output).contains(": data race: "), "{output:?}");
    }
    let clean = ["MP_atomic", "SB_atomic", "LB_atomic"].map(litmus);
    let mut args = vec!["wast", "--race"];
    args.extend(clean.iter().map(String::as_str));
    let output = weft(&args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(!stdout(&output).contains("data race"), "{output:?}");
}

#[test]
fn explore_finds_the_lost_wakeup_of_a_script_as_a_deadlock() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lost_wakeup.wast");
    let script = script.to_str().unwrap();
    let output = weft(&["explore", "--seed", "1", "--schedules", "1000", script]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("failed: deadlock: every thread is blocked"),
        "{text}"
    );
    // Each thread's blocking site: the main thread joins $T, which waits in `run`.
    assert!(
        text.contains("  thread 0 waits for thread 1 to finish"),
        "{text}"
    );
    assert!(
        text.contains("  thread 1 waits for a notify of 0x"),
        "{text}"
    );
    assert!(text.contains(" wait at 0x"), "{text}");
    assert!(text.contains(" in run on 0x"), "{text}");
    assert!(text.contains("replay: weft explore --seed "), "{text}");
}

#[test]
fn explore_passes_the_litmus_scripts_under_every_schedule() {
    for name in [
        "MP",
        "SB",
        "LB",
        "MP_atomic",
        "SB_atomic",
        "LB_atomic",
        "wait_notify",
    ] {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../shared/testsuite/threads/upstream/{name}.wast"
        ));
        for strategy in ["pct", "random"] {
            let output = weft(&[
                "explore",
                "--seed",
                "3",
                "--schedules",
                "100",
                "--strategy",
                strategy,
                script.to_str().unwrap(),
            ]);
            assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
            assert!(
                stdout(&output).starts_with("100 schedules, 0 failed"),
                "{output:?}"
            );
        }
    }
}

/// Found by the CLI fuzzer: options before FILE are options (an attached short value, an
/// unknown flag) and never the module's name; after FILE everything is the program's.
#[test]
fn options_before_the_module_are_parsed_as_options() {
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasi/tests/programs/hello.wasm");
    let ran = weft(&[
        "run",
        "-Wtimeout=2s",
        hello.to_str().unwrap(),
        "--help",
        "-x",
    ]);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    assert!(
        stdout(&ran).contains("argv[1]=--help\nargv[2]=-x\n"),
        "{ran:?}"
    );
    let module = file("options.wat", r#"(module (func (export "_start")))"#);
    let path = module.path.to_str().unwrap();
    let unknown = weft(&["run", "--bogus", path]);
    let stderr = String::from_utf8(unknown.stderr).unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: unexpected argument '--bogus'"),
        "{stderr}"
    );
    let nothing = weft(&[]);
    let stderr = String::from_utf8(nothing.stderr).unwrap();
    assert_eq!(nothing.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

/// Found by the CLI fuzzer: a huge PCT depth was an allocation abort; a component's header
/// and an argument's newline made errors span lines.
#[test]
fn odd_values_get_one_clear_line() {
    let module = file("odd.wat", r#"(module (func (export "_start")))"#);
    let path = module.path.to_str().unwrap();
    let deep = weft(&["explore", "--depth", "4294967295", "--schedules", "1", path]);
    let stderr = String::from_utf8(deep.stderr).unwrap();
    assert_eq!(deep.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: invalid value '4294967295'"),
        "{stderr}"
    );
    let component = file("component.wasm", "\0asm\x0d\0\x01\0");
    let output = weft(&["run", component.path.to_str().unwrap()]);
    assert_one_line_error(&output, "components");
    let newline = weft(&["run", "--invoke", "a\nb", path]);
    assert_one_line_error(&newline, "a b");
}

/// Output that cannot be written (here to a full disk) is a failure with one line, for the
/// results of `--invoke` as for the help text, which clap's own exit would call a success.
#[test]
#[cfg(target_os = "linux")]
fn output_that_cannot_be_written_is_a_failure() {
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("Linux's always-full device");
    let module = file(
        "full.wat",
        r#"(module (func (export "answer") (result i32) (i32.const 42)))"#,
    );
    let to_full = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap()
    };
    let results = to_full(&["run", "--invoke", "answer", module.path.to_str().unwrap()]);
    assert_one_line_error(
        &results,
        "cannot write the results of `answer` to standard output",
    );
    assert_one_line_error(&to_full(&["--help"]), "cannot write to standard output");
    assert_one_line_error(
        &to_full(&["run", "--help"]),
        "cannot write to standard output",
    );
}
