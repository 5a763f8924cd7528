//! The generator is deterministic and covers preview 1, the first seeds pass, and every
//! check fires on a case that breaks it: hand-written modules (the one place hand-written
//! WAT is right), some run with the sandbox misconfigured so that `outside` is reachable.

use super::calls::FUNCTIONS;
use super::check::{self, LAST_ERRNO};
use super::generate::program as generate;
use super::paths::{PathClass, classify};
use super::program::{PathArg, PlannedCall, Preopen, Program};
use super::run::{CaseRun, Ending};
use super::sandbox::CANARY;
use super::{WasiCalls, memory::wat_string};
use crate::target::Target;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::{Duration, Instant};
use weft_wasi::{DirPerms, FilePerms};

#[test]
fn a_seed_makes_the_same_module_every_time() {
    for seed in 0..20 {
        assert_eq!(generate(seed).wat, generate(seed).wat, "seed {seed}");
    }
    assert_ne!(generate(1).wat, generate(2).wat);
}

#[test]
fn the_table_holds_every_function_of_preview1() {
    let ours: BTreeSet<&str> = FUNCTIONS.iter().map(|function| function.name).collect();
    let weft: BTreeSet<&str> = weft_wasi::FUNCTIONS.iter().copied().collect();
    assert_eq!(ours, weft);
}

#[test]
fn the_modules_call_every_function_and_try_every_way_out() {
    let mut called = BTreeSet::new();
    let mut classes = BTreeSet::new();
    for seed in 0..400 {
        let program = generate(seed);
        called.extend(program.calls.iter().map(|call| call.function));
        if program.exit.is_some() {
            called.insert("proc_exit");
        }
        for call in &program.calls {
            classes.extend(call.paths.iter().map(|path| path.class));
        }
    }
    let all: BTreeSet<&str> = FUNCTIONS.iter().map(|function| function.name).collect();
    assert_eq!(called, all, "functions no module calls");
    assert_eq!(classes, PathClass::ALL.into_iter().collect());
}

#[test]
fn paths_are_classified_by_what_they_try() {
    let cases: &[(&[u8], bool, PathClass)] = &[
        (b"file", false, PathClass::Inside),
        (b"sub/../file", false, PathClass::Inside),
        (b"/etc/passwd", false, PathClass::Absolute),
        (b"//", false, PathClass::Absolute),
        (b"..", false, PathClass::ClimbsOut),
        (b"./../outside/canary", false, PathClass::ClimbsOut),
        (b".//../x", false, PathClass::ClimbsOut),
        (b"sub/../../outside", false, PathClass::ClimbsLater),
        (b"sub/up/../outside", false, PathClass::ClimbsLater),
        (b"escape/canary", false, PathClass::EscapeLink),
        // A link is followed in its last component only when the call asks.
        (b"escape", false, PathClass::Inside),
        (b"escape", true, PathClass::EscapeLink),
        (b"dir_link/up2/outside", false, PathClass::EscapeLink),
    ];
    for &(path, follow, class) in cases {
        assert_eq!(
            classify(path, follow),
            class,
            "{}",
            String::from_utf8_lossy(path)
        );
    }
    assert!(PathClass::ClimbsOut.always_escapes() && PathClass::Absolute.always_escapes());
    assert!(!PathClass::EscapeLink.always_escapes());
}

#[test]
fn the_first_seeds_pass_and_reach_the_host() {
    let mut target = WasiCalls::new().expect("the target starts");
    for seed in 0..30 {
        if let Err(failure) = target.run(seed) {
            panic!("{}", failure.what);
        }
    }
    assert_eq!(target.stats.cases, 30);
    let report = target.report();
    // Calls reached the host, and ways out were tried and refused with `perm`.
    let calls = number_before(&report[0], " calls returned");
    assert!(calls > 200, "{report:#?}");
    for class in [
        PathClass::Absolute,
        PathClass::ClimbsOut,
        PathClass::EscapeLink,
    ] {
        let prefix = format!("wasi_calls paths {}:", class.describe());
        let line = report
            .iter()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {prefix} in {report:#?}"));
        assert!(number_before(line, " with perm") > 5, "{line}");
    }
}

/// The number that `line` has just before `marker`.
fn number_before(line: &str, marker: &str) -> u64 {
    line.split(marker)
        .next()
        .and_then(|head| head.rsplit([' ', '(']).next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no number before {marker:?} in {line}"))
}

/// A hand-written case: `calls` are WAT expressions that give an errno, each recorded as
/// call `i` of `function` as generated cases record theirs (a function of "" is an
/// instruction that is no call); `data` is put at address 1024.
fn hand_written(imports: &[&str], data: &[u8], calls: &[(&'static str, &str)]) -> Program {
    let recorded: Vec<&'static str> = calls
        .iter()
        .map(|&(function, _)| function)
        .filter(|function| !function.is_empty())
        .collect();
    let mut wat = String::from("(module\n");
    for import in imports {
        let _ = writeln!(wat, "  {import}");
    }
    wat.push_str("  (memory (export \"memory\") 1)\n");
    wat.push_str("  (global $returned (export \"returned\") (mut i32) (i32.const 0))\n");
    for index in 0..recorded.len() {
        let _ = writeln!(
            wat,
            "  (global $e{index} (export \"errno{index}\") (mut i32) (i32.const -1))"
        );
    }
    let _ = writeln!(wat, "  (data (i32.const 1024) \"{}\")", wat_string(data));
    wat.push_str("  (func (export \"_start\")\n");
    let mut index = 0;
    for (function, expression) in calls {
        if function.is_empty() {
            let _ = writeln!(wat, "    {expression}");
        } else {
            let _ = writeln!(
                wat,
                "    (global.set $e{index} {expression})\n    (global.set $returned (i32.const {}))",
                index + 1
            );
            index += 1;
        }
    }
    wat.push_str("  )\n)\n");
    Program {
        wat,
        preopens: vec![Preopen {
            guest_name: ".",
            dir_perms: DirPerms::ALL,
            file_perms: FilePerms::ALL,
        }],
        calls: recorded
            .into_iter()
            .map(|function| PlannedCall {
                function,
                paths: Vec::new(),
            })
            .collect(),
        exit: None,
    }
}

const PATH_OPEN: &str = r#"(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#;
const FD_WRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
const FD_READ: &str = r#"(import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))"#;
const FD_READDIR: &str = r#"(import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))"#;
const POLL_ONEOFF: &str = r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))"#;

/// `path_open` under fd 3 of the path at 1024 (`len` bytes) with `rights`, the new fd
/// stored at 0.
fn open_call(len: usize, oflags: u32, rights: u64) -> String {
    format!(
        "(call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const {len}) \
         (i32.const {oflags}) (i64.const {rights}) (i64.const 0) (i32.const 0) (i32.const 0))"
    )
}

/// One iovec at 16 for `len` bytes at `buf`, staged by the module before use.
fn iovec(buf: u32, len: u32) -> String {
    format!(
        "(i32.store (i32.const 16) (i32.const {buf})) (i32.store (i32.const 20) (i32.const {len}))"
    )
}

#[test]
fn a_write_outside_the_preopen_is_an_escape() {
    let mut target = WasiCalls::new().expect("the target starts");
    let path = b"outside/canary";
    let program = hand_written(
        &[PATH_OPEN, FD_WRITE],
        path,
        &[
            ("path_open", &open_call(path.len(), 0, 1 << 6)),
            ("", &iovec(1024, 4)),
            (
                "fd_write",
                "(call $fd_write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 8))",
            ),
        ],
    );
    // Correctly configured, the sandbox is all the guest reaches: `outside` is not there.
    let sandbox = target.sandbox.preopen_dir();
    target.run_program(&program, &sandbox).expect("no escape");
    // With `root` preopened by mistake, the guest overwrites the canary.
    let root = target.sandbox.root();
    let error = target.run_program(&program, &root).expect_err("an escape");
    assert!(
        error.starts_with("escape: outside the preopen, `root/outside/canary` changed"),
        "{error}"
    );
    // The tree was rebuilt: the next correct case passes.
    target.run_program(&program, &sandbox).expect("no escape");
}

#[test]
fn a_file_created_outside_the_preopen_is_an_escape() {
    let mut target = WasiCalls::new().expect("the target starts");
    let path = b"made-outside";
    let program = hand_written(
        &[PATH_OPEN],
        path,
        &[("path_open", &open_call(path.len(), 1, 1 << 6))],
    );
    let root = target.sandbox.root();
    let error = target.run_program(&program, &root).expect_err("an escape");
    assert!(error.contains("`root/made-outside` was created"), "{error}");
}

#[test]
fn a_read_of_the_canary_into_memory_is_an_escape() {
    let mut target = WasiCalls::new().expect("the target starts");
    let path = format!("outside/{CANARY}");
    let program = hand_written(
        &[PATH_OPEN, FD_READ],
        path.as_bytes(),
        &[
            ("path_open", &open_call(path.len(), 0, 1 << 1)),
            ("", &iovec(4096, 256)),
            (
                "fd_read",
                "(call $fd_read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 8))",
            ),
        ],
    );
    let root = target.sandbox.root();
    let error = target.run_program(&program, &root).expect_err("an escape");
    assert!(
        error.starts_with("escape: the guest's memory holds the secret `canary-content-"),
        "{error}"
    );
}

#[test]
fn a_listing_of_outside_is_an_escape() {
    let mut target = WasiCalls::new().expect("the target starts");
    let path = b"outside";
    let program = hand_written(
        &[PATH_OPEN, FD_READDIR],
        path,
        &[
            ("path_open", &open_call(path.len(), 2, (1 << 1) | (1 << 14))),
            (
                "fd_readdir",
                "(call $fd_readdir (i32.load (i32.const 0)) (i32.const 4096) (i32.const 4096) \
                 (i64.const 0) (i32.const 8))",
            ),
        ],
    );
    let root = target.sandbox.root();
    let error = target.run_program(&program, &root).expect_err("an escape");
    assert!(error.contains("holds the secret `canary-name-"), "{error}");
}

#[test]
fn the_secret_in_memory_or_output_is_caught() {
    let mut target = WasiCalls::new().expect("the target starts");
    let secret = target.sandbox.secrets()[0].to_string();
    let sandbox = target.sandbox.preopen_dir();
    let in_memory = hand_written(&[], secret.as_bytes(), &[]);
    let error = target
        .run_program(&in_memory, &sandbox)
        .expect_err("caught");
    assert!(error.contains("memory holds the secret"), "{error}");
    // Written to standard output, then wiped from memory.
    let len = secret.len();
    let in_output = hand_written(
        &[FD_WRITE],
        secret.as_bytes(),
        &[
            ("", &iovec(1024, len as u32)),
            (
                "fd_write",
                "(call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8))",
            ),
            (
                "",
                &format!("(memory.fill (i32.const 1024) (i32.const 0) (i32.const {len}))"),
            ),
        ],
    );
    let error = target
        .run_program(&in_output, &sandbox)
        .expect_err("caught");
    assert!(error.contains("wrote the secret"), "{error}");
}

#[test]
fn a_success_of_a_path_that_always_leaves_is_an_escape() {
    let mut program = hand_written(&[], b"", &[]);
    program.calls.push(PlannedCall {
        function: "path_open",
        paths: vec![PathArg {
            text: "\"../outside/canary\"".to_string(),
            class: PathClass::ClimbsOut,
            resolved: true,
            exact: true,
        }],
    });
    let error = check::resolved_escapes(&program, &[0]).expect_err("an escape");
    assert!(
        error.contains("path_open of the path \"../outside/canary\""),
        "{error}"
    );
    check::resolved_escapes(&program, &[63]).expect("refused with perm");
    // A link target is stored, not resolved: making a link to `..` is no escape.
    program.calls[0].paths[0].resolved = false;
    check::resolved_escapes(&program, &[0]).expect("not resolved");
}

#[test]
fn an_errno_outside_preview1_is_caught() {
    let mut program = hand_written(&[], b"", &[]);
    for function in ["fd_close", "sched_yield"] {
        program.calls.push(PlannedCall {
            function,
            paths: Vec::new(),
        });
    }
    let run = |errnos: Vec<i32>| CaseRun {
        ending: Ending::Returned,
        errnos,
        memory: Vec::new(),
        output: Vec::new(),
    };
    check::case(&program, &run(vec![8, LAST_ERRNO]), Ok(()), ["a", "b"]).expect("valid");
    let error = check::case(&program, &run(vec![8, LAST_ERRNO + 1]), Ok(()), ["a", "b"])
        .expect_err("invalid");
    assert!(
        error.starts_with("call 1 (sched_yield) returned 77"),
        "{error}"
    );
    // A case that returned before its last call did is caught too.
    let error = check::case(&program, &run(vec![8]), Ok(()), ["a", "b"]).expect_err("short");
    assert!(error.contains("after 1 of its 2 calls returned"), "{error}");
    let panicked = CaseRun {
        ending: Ending::Panicked("boom".to_string()),
        ..run(Vec::new())
    };
    let error = check::case(&program, &panicked, Ok(()), ["a", "b"]).expect_err("panic");
    assert_eq!(error, "weft panicked: boom");
}

#[test]
fn a_case_that_waits_forever_is_stopped_and_counted() {
    let mut target = WasiCalls::new().expect("the target starts");
    target.time_limit = Duration::from_millis(200);
    // One relative clock subscription of u64::MAX nanoseconds at 1024.
    let mut subscription = [0u8; 48];
    subscription[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let program = hand_written(
        &[POLL_ONEOFF],
        &subscription,
        &[(
            "poll_oneoff",
            "(call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 8))",
        )],
    );
    let sandbox = target.sandbox.preopen_dir();
    let started = Instant::now();
    target
        .run_program(&program, &sandbox)
        .expect("a timeout is no failure");
    assert!(started.elapsed() < Duration::from_secs(5));
    let report = target.report().join("\n");
    assert!(report.contains("1 timed out"), "{report}");
}

#[test]
fn every_case_starts_from_the_same_sandbox() {
    let target = WasiCalls::new().expect("the target starts");
    let sandbox = target.sandbox.preopen_dir();
    std::fs::remove_file(sandbox.join("file")).expect("the file is there");
    std::fs::remove_dir_all(sandbox.join("sub")).expect("the directory is there");
    std::fs::write(sandbox.join("new0"), "made by a case").expect("written");
    target.sandbox.reset().expect("rebuilt");
    assert_eq!(
        std::fs::read(sandbox.join("file")).expect("back"),
        b"the sandbox's own file\n"
    );
    assert!(sandbox.join("sub/up2").symlink_metadata().is_ok());
    assert!(sandbox.join("new0").symlink_metadata().is_err());
    target
        .sandbox
        .check_outside()
        .expect("the outside is untouched");
}
