use super::args::{self, Expect, Kind, Writable};
use super::check::{check, kind};
use super::corpus::Corpus;
use super::process::{Ended, Output};
use super::{CliArgs, mutate, scratch};
use crate::target::Target;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus() -> Corpus {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Corpus::load(repo).unwrap()
}

/// The release `weft` beside this test's executable (`target/release/deps/..` →
/// `target/release/weft`); it belongs to another package, so cargo does not build it for
/// these tests.
fn weft() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let release = exe
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "release"))
        .expect("the tests run from target/release (cargo test --release)");
    let weft = release.join("weft");
    assert!(
        weft.is_file(),
        "{} is missing: run `cargo build --release -p weft-cli` first",
        weft.display()
    );
    weft
}

#[test]
fn a_seed_makes_the_same_command_line_and_files() {
    let corpus = corpus();
    for seed in (0..200).chain([5557]) {
        let (a, b) = (args::case(seed, &corpus), args::case(seed, &corpus));
        assert_eq!(a, b, "seed {seed}");
        // An argument with a NUL cannot be passed to a process at all.
        for arg in &a.args {
            assert!(!arg.as_bytes().contains(&0), "seed {seed}: {arg:?}");
        }
    }
    // And different seeds make different cases.
    assert_ne!(args::case(1, &corpus).args, args::case(2, &corpus).args);
}

/// Case 867199922319306849 (a commit's CI seed, run longer) gave two file arguments the same
/// dangling link, and the second link could not be made: no case makes a link twice.
#[test]
fn no_case_makes_a_link_twice() {
    let corpus = corpus();
    for seed in (0..2000).chain([867_199_922_319_306_849]) {
        let case = args::case(seed, &corpus);
        let links: Vec<&PathBuf> = case
            .entries
            .iter()
            .filter_map(|entry| match entry {
                scratch::Entry::Symlink { path, .. } => Some(path),
                _ => None,
            })
            .collect();
        let distinct: std::collections::HashSet<_> = links.iter().collect();
        assert_eq!(distinct.len(), links.len(), "seed {seed}: {links:?}");
    }
}

#[test]
fn the_first_seeds_pass() {
    let mut target = CliArgs::new(weft()).unwrap();
    for seed in 0..20 {
        if let Err(failure) = target.run(seed) {
            panic!("{}", failure.what);
        }
    }
    let report = target.report();
    assert!(report[0].starts_with("cli_args: 20 cases"), "{report:?}");
}

/// A quiet guest's `weft run`: every byte on stderr is weft's.
fn quiet() -> Expect {
    Expect {
        kind: Kind::Run,
        guest_writes: false,
        guest_exits: false,
        bounded: true,
        writable: Writable::Dirs(Vec::new()),
        race: false,
        options: vec!["-Wsimd".into(), "--env".into()],
    }
}

fn output(ended: Ended, stderr: &str) -> Output {
    Output {
        ended,
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
        pid: 1,
        elapsed: Duration::from_millis(1),
    }
}

#[test]
fn the_checker_accepts_clean_errors() {
    let clean = [
        (
            1,
            "error: cannot read `m.wasm`: No such file or directory (os error 2)\n",
        ),
        (
            2,
            "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a value, \
             use '-- --bogus'\n\nUsage: weft run [OPTIONS] <FILE [ARGS]>...\n\nFor more \
             information, try '--help'.\n",
        ),
        (
            134,
            "error: wasm trap: unreachable executed\nwasm backtrace:\n   0: 0x2a - m!f\n",
        ),
        (0, ""),
        (0, "some output of the program\n"),
    ];
    for (code, stderr) in clean {
        assert_eq!(
            check(&quiet(), &output(Ended::Code(code), stderr)),
            Ok(()),
            "{stderr}"
        );
    }
    // Races reported before the status they cause.
    let race = Expect {
        race: true,
        ..quiet()
    };
    let raced = output(
        Ended::Code(66),
        "weft: data race: ...\nweft: 1 data races found\n",
    );
    assert_eq!(check(&race, &raced), Ok(()));
    // A status the program chose.
    let exits = Expect {
        guest_exits: true,
        ..quiet()
    };
    assert_eq!(check(&exits, &output(Ended::Code(37), "")), Ok(()));
    // `weft explore` reporting a failed schedule on stdout, but not one reporting none.
    let explore = Expect {
        kind: Kind::Explore,
        ..quiet()
    };
    let failed = Output {
        stdout: b"schedule 0 (seed 7) failed: deadlock\n1 schedules, 1 failed\n".to_vec(),
        ..output(Ended::Code(1), "")
    };
    assert_eq!(check(&explore, &failed), Ok(()));
    let passed = Output {
        stdout: b"1 schedules, 0 failed\n".to_vec(),
        ..output(Ended::Code(1), "")
    };
    assert!(check(&explore, &passed).is_err());
    // An unbounded case stopped at the time limit.
    let unbounded = Expect {
        bounded: false,
        ..quiet()
    };
    assert_eq!(check(&unbounded, &output(Ended::TimedOut, "")), Ok(()));
}

#[test]
fn the_checker_rejects_panics_signals_and_unclear_errors() {
    let broken = [
        (
            Ended::Code(101),
            "thread 'main' panicked at cli/src/run.rs:1:1:\nboom\nnote: run with \
             `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        ),
        (Ended::Code(101), ""),
        (Ended::Code(1), "thread 'main' panicked at src/x.rs:1:1:\n"),
        (
            Ended::Code(134),
            "memory allocation of 34359738352 bytes failed\n",
        ),
        (Ended::Signal(11), ""),
        (Ended::Signal(6), "error: fine so far\n"),
        (Ended::Code(1), "cannot read m.wasm\n"),
        (
            Ended::Code(2),
            "A WebAssembly JIT runtime\n\nUsage: weft <COMMAND>\n",
        ),
        (
            Ended::Code(1),
            "Error: something\n\nCaused by:\n    other\n",
        ),
        (Ended::Code(1), "error: first\nerror: second\n"),
        (Ended::Code(1), "error: unknown export `a\nb`\n"),
        (Ended::Code(1), "error: \n"),
        (Ended::Code(1), ""),
        (Ended::Code(134), ""),
        (
            Ended::Code(1),
            "error: cannot read `-Wsimd`: No such file or directory (os error 2)\n",
        ),
        (Ended::TimedOut, ""),
        (Ended::TooBig(3 << 30), ""),
    ];
    for (ended, stderr) in broken {
        assert!(
            check(&quiet(), &output(ended, stderr)).is_err(),
            "{ended:?} {stderr:?} passed"
        );
    }
    // A guest that may print still cannot trap without weft's line, nor panic weft.
    let noisy = Expect {
        guest_writes: true,
        ..quiet()
    };
    assert!(check(&noisy, &output(Ended::Code(134), "guest: oh no!\n")).is_err());
    assert!(check(&noisy, &output(Ended::Code(101), "guest: oh no!\n")).is_err());
    assert_eq!(
        check(
            &noisy,
            &output(Ended::Code(134), "guest: oh no!\nerror: wasm trap: x\n")
        ),
        Ok(())
    );
    assert_eq!(
        check(&noisy, &output(Ended::Code(3), "guest: oh no!\n")),
        Ok(())
    );
}

#[test]
fn first_lines_are_counted_by_kind() {
    assert_eq!(
        kind(b"error: cannot read `a.wasm`: os error 2\nmore\n"),
        "error: cannot read `…`: os error N"
    );
    assert_eq!(kind(b""), "(nothing)");
}

#[test]
fn the_sandbox_check_sees_changes_outside_the_preopens() {
    let dir = std::env::temp_dir().join(format!("weft-fuzz-cli-test-{}", std::process::id()));
    let entries = [
        scratch::Entry::Dir("sandbox".into()),
        scratch::Entry::File {
            path: "outside.txt".into(),
            bytes: b"x".to_vec(),
            mode: 0o644,
        },
    ];
    scratch::build(&dir, &entries).unwrap();
    let skipped = [PathBuf::from("sandbox")];
    let before = scratch::snapshot(&dir, &skipped);
    std::fs::write(dir.join("sandbox/new.txt"), "fine").unwrap();
    assert_eq!(
        scratch::difference(&before, &scratch::snapshot(&dir, &skipped)),
        None
    );
    std::fs::write(dir.join("outside.txt"), "y").unwrap();
    let change = scratch::difference(&before, &scratch::snapshot(&dir, &skipped));
    assert_eq!(change.as_deref(), Some("outside.txt was changed"));
    scratch::remove(&dir).unwrap();
}

#[test]
fn leb128_round_trips_at_any_length() {
    for value in [0, 1, 127, 128, 0xffff_ffff, u64::MAX >> 1] {
        for min_len in [1, 5, 7] {
            let bytes = mutate::leb(value, min_len);
            assert!(bytes.len() >= min_len);
            assert_eq!(mutate::read_leb(&bytes), Some((value, bytes.len())));
        }
    }
}

#[test]
fn arguments_are_quoted_for_bash() {
    assert_eq!(scratch::quote(b"run"), "run");
    assert_eq!(scratch::quote(b""), "''");
    assert_eq!(scratch::quote(b"two words"), "'two words'");
    assert_eq!(scratch::quote(b"it's\n"), "$'it\\x27s\\x0a'");
    assert_eq!(scratch::quote(b"m\xff.wasm"), "$'m\\xff.wasm'");
}
