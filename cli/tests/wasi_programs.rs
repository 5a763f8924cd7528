//! Real C programs, built with clang and wasi-libc (`wasi/tests/programs/`), run end to end
//! through the `weft` binary: their output, exit status, errors, the files they leave behind,
//! and that a program whose threads are blocked still ends promptly.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Both ways `weft run` runs a wasi-threads program: every threaded program is checked under
/// each, with the same expectations.
const MODELS: [&str; 2] = ["--wasi-threads=instance", "--wasi-threads=shared"];

/// A run that takes longer has hung: the child is killed and the test fails.
const HANG: Duration = Duration::from_secs(60);

/// The committed programs, `NAME.c` and `NAME.wasm`.
fn program(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wasi/tests/programs")
        .join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing", path.display());
    path.to_str().unwrap().to_string()
}

/// How one run of `weft` ended.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    /// Asserts the program exited by itself with `code`, printing `stdout` and nothing on
    /// stderr.
    fn assert_exit(&self, code: i32, stdout: &str) {
        assert_eq!(self.status.code(), Some(code), "{self}");
        assert_eq!(self.stdout, stdout, "{self}");
        assert_eq!(self.stderr, "", "{self}");
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} after {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// What `WEFT_GREETING` is in weft's own environment: programs see it only when asked.
const HOST_GREETING: &str = "from the host";

/// Runs `weft` with `args` in the folder `cwd` (this process's when `None`). Its stdin is a
/// pipe that stays open, and silent, until it exits.
fn weft_in(cwd: Option<&Path>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .env("WEFT_GREETING", HOST_GREETING)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let start = Instant::now();
    let mut child = command.spawn().unwrap();
    let stdin = child.stdin.take();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, args);
    let elapsed = start.elapsed();
    drop(stdin);
    Run {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed,
    }
}

fn weft(args: &[&str]) -> Run {
    weft_in(None, args)
}

/// Reads a pipe to its end on a thread of its own, so a chatty child never stalls.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    })
}

fn wait_or_kill(child: &mut Child, args: &[&str]) -> ExitStatus {
    let deadline = Instant::now() + HANG;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`weft {}` still runs after {HANG:?}", args.join(" "));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// A folder unique to this test process and test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("weft-wasi-programs-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What a folder holds, recursively: each file's contents, each folder as `NAME/`.
fn contents(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            for (inner, text) in contents(&entry.path()) {
                found.insert(format!("{name}/{inner}"), text);
            }
            found.insert(format!("{name}/"), String::new());
        } else {
            found.insert(name, fs::read_to_string(entry.path()).unwrap());
        }
    }
    found
}

fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect()
}

#[test]
fn hello_prints_its_arguments_and_environment() {
    let hello = program("hello");
    weft(&[
        "run",
        "--env",
        "WEFT_GREETING=hi",
        &hello,
        "one",
        "two words",
    ])
    .assert_exit(
        0,
        "hello, world\nargc=3\nargv[0]=hello.wasm\nargv[1]=one\nargv[2]=two words\n\
         WEFT_GREETING=hi\n",
    );
    // Nothing of the host's environment leaks in unasked.
    weft(&["run", &hello]).assert_exit(
        0,
        "hello, world\nargc=1\nargv[0]=hello.wasm\nWEFT_GREETING=(unset)\n",
    );
    // `--env NAME` passes the host's value on.
    weft(&["run", "--env", "WEFT_GREETING", &hello]).assert_exit(
        0,
        &format!("hello, world\nargc=1\nargv[0]=hello.wasm\nWEFT_GREETING={HOST_GREETING}\n"),
    );
    // Options after FILE are the program's.
    weft(&["run", &hello, "--env", "X=1"]).assert_exit(
        0,
        "hello, world\nargc=3\nargv[0]=hello.wasm\nargv[1]=--env\nargv[2]=X=1\n\
         WEFT_GREETING=(unset)\n",
    );
}

const FILES_OUTPUT: &str = r#"chdir /sandbox: ok
create notes.txt: ok
write "hello\n": 6
fsync: ok
lseek 0 SEEK_SET: 0
read 64: "hello\n"
lseek 1 SEEK_SET: 1
read 3: "ell"
lseek 0 SEEK_END: 6
close: ok
open O_APPEND, write "world\n": 6
stat notes.txt: size 12, regular file
read notes.txt: "hello\nworld\n"
rename notes.txt renamed.txt: ok
stat notes.txt: ENOENT
mkdir sub: ok
mkdir sub again: EEXIST
create sub/inner.txt, a.txt, b.txt: ok
list .: a.txt b.txt renamed.txt sub/
list sub: inner.txt
rmdir sub: ENOTEMPTY
unlink sub/inner.txt: ok
rmdir sub: ok
unlink b.txt: ok
list .: a.txt renamed.txt
posix_fallocate a.txt 4096, ftruncate 2: ok
open ../outside.txt: EPERM
mkdir ../outside-dir: EPERM
open /etc/passwd: ENOENT
done
"#;

#[test]
fn files_work_inside_a_preopened_directory_and_nowhere_else() {
    // root/sandbox is the program's /sandbox; root/cwd is weft's working directory. The
    // program's `../outside.txt` would be root/outside.txt.
    let root = TempDir::new("files");
    let sandbox = root.0.join("sandbox");
    let cwd = root.0.join("cwd");
    fs::create_dir(&sandbox).unwrap();
    fs::create_dir(&cwd).unwrap();
    let preopen = format!("{}::/sandbox", sandbox.to_str().unwrap());
    let run = weft_in(
        Some(&cwd),
        &["run", "--dir", &preopen, &program("files"), "/sandbox"],
    );
    run.assert_exit(0, FILES_OUTPUT);
    assert_eq!(
        contents(&root.0),
        entries(&[
            ("cwd/", ""),
            ("sandbox/", ""),
            ("sandbox/a.txt", "a\n"),
            ("sandbox/renamed.txt", "hello\nworld\n"),
        ]),
        "{run}"
    );
}

#[test]
fn files_without_a_preopened_directory_fail_cleanly() {
    let root = TempDir::new("files-no-dir");
    let run = weft_in(Some(&root.0), &["run", &program("files"), "/sandbox"]);
    // chdir fails: /sandbox is no preopened directory.
    assert_eq!(run.status.code(), Some(10), "{run}");
    assert_eq!(run.stdout, "", "{run}");
    assert!(run.stderr.starts_with("files: check failed"), "{run}");
    assert!(contents(&root.0).is_empty(), "{run}");
}

/// Four threads writing records through one descriptor, at its position: none lands on
/// another (each moves the position past its own bytes), so all 8000 are there once.
#[test]
fn threads_writing_one_descriptor_lose_nothing() {
    for model in MODELS {
        let root = TempDir::new("shared-fd");
        let preopen = format!("{}::/data", root.0.to_str().unwrap());
        for _ in 0..3 {
            weft(&[
                "run",
                model,
                "--dir",
                &preopen,
                &program("shared_fd"),
                "/data",
            ])
            .assert_exit(0, "8000 records of 32 bytes, each exactly once\n");
        }
    }
}

#[test]
fn pthread_mutex_counts_exactly() {
    for model in MODELS {
        weft(&["run", model, &program("pthread_mutex")])
            .assert_exit(0, "4 threads x 100000 increments: counter = 400000\n");
    }
}

#[test]
fn pthread_condvar_queue_delivers_every_item_once() {
    for model in MODELS {
        weft(&["run", model, &program("pthread_condvar")])
            .assert_exit(0, "consumed 10000 items, sum 50005000\n");
    }
}

#[test]
fn thread_locals_are_per_thread() {
    for model in MODELS {
        weft(&["run", model, &program("thread_local")]).assert_exit(
            0,
            "thread 0: OK\nthread 1: OK\nthread 2: OK\nthread 3: OK\nmain: OK\naddresses: distinct\n",
        );
    }
}

#[test]
fn pthread_many_runs_200_threads_in_batches() {
    for model in MODELS {
        weft(&["run", model, &program("pthread_many")])
            .assert_exit(0, "200 threads in 10 batches of 20: total 20100\n");
    }
}

#[test]
fn pthread_create_past_the_thread_limit_fails_with_eagain() {
    for model in MODELS {
        // `Config::max_threads` is 64: the 65th live thread cannot start, and the program hears
        // EAGAIN from pthread_create rather than being killed.
        let run = weft(&["run", model, &program("pthread_many"), "65", "1"]);
        assert_eq!(run.status.code(), Some(1), "{run}");
        assert_eq!(run.stdout, "", "{run}");
        assert_eq!(
            run.stderr, "pthread_create of thread 64 (batch 0) failed: EAGAIN\n",
            "{run}"
        );
    }
}

/// Joined threads must give their places back: batches of exactly the limit, 64 threads,
/// each started after the previous batch was joined.
#[test]
fn pthread_many_reuses_the_places_of_joined_threads() {
    for model in MODELS {
        for _ in 0..5 {
            weft(&["run", model, &program("pthread_many"), "64", "20"])
                .assert_exit(0, "1280 threads in 20 batches of 64: total 819840\n");
        }
    }
}

/// A program whose other threads are blocked ends promptly: this bounds a hang, it is no
/// benchmark (the program itself sleeps about 50 ms).
const PROMPTLY: Duration = Duration::from_secs(2);

#[test]
fn exit_in_a_worker_ends_the_program_while_threads_block() {
    for model in MODELS {
        let run = weft(&["run", model, &program("exit_from_worker")]);
        run.assert_exit(7, "worker: exit(7)\n");
        assert!(run.elapsed < PROMPTLY, "{run}");
    }
}

#[test]
fn exit_in_main_ends_the_program_while_threads_block() {
    for model in MODELS {
        let run = weft(&["run", model, &program("exit_from_worker"), "main"]);
        run.assert_exit(9, "main: exit(9)\n");
        assert!(run.elapsed < PROMPTLY, "{run}");
    }
}

#[test]
fn trap_in_a_worker_ends_the_program_as_a_trap() {
    for model in MODELS {
        let run = weft(&["run", model, &program("trap_in_worker")]);
        assert_eq!(run.status.code(), Some(134), "{run}");
        assert_eq!(
            run.stdout, "main: joining the worker\nworker: trapping\n",
            "{run}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains("unreachable"),
            "{run}"
        );
        assert!(run.elapsed < PROMPTLY, "{run}");
    }
}

#[test]
fn race_detection_reports_a_racy_counter_with_its_function() {
    for model in MODELS {
        let run = weft(&["run", "--race", model, &program("data_race")]);
        assert_eq!(run.status.code(), Some(66), "{run}");
        assert!(run.stdout.starts_with("counter = "), "{run}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        let (summary, races) = lines.split_last().expect("races and a summary");
        assert!(
            races
                .iter()
                .all(|race| race.starts_with("weft: data race: ")),
            "{run}"
        );
        // The counter's load and store in `bump`, named from the name section, race with
        // each other.
        let in_bump = races
            .iter()
            .filter(|race| race.matches("data_race.wasm!bump").count() == 2)
            .count();
        assert!(in_bump >= 2, "{run}");
        assert_eq!(*summary, format!("weft: {} data races found", races.len()));
    }
}

#[test]
fn race_detection_finds_nothing_in_programs_that_synchronize() {
    for model in MODELS {
        weft(&["run", "--race", model, &program("pthread_mutex")])
            .assert_exit(0, "4 threads x 100000 increments: counter = 400000\n");
        weft(&["run", "--race", model, &program("pthread_condvar")])
            .assert_exit(0, "consumed 10000 items, sum 50005000\n");
    }
}

/// A failed schedule's report as `weft explore` prints it, from the failure line to the
/// replay command, without the schedule's number (a replay's is 0) and with native
/// addresses, which differ between runs, masked.
fn failure_report(stdout: &str) -> String {
    let start = stdout.find("failed: ").expect("a failed schedule");
    let end = stdout.find("\nreplay: ").expect("a replay command");
    let mut report = String::new();
    for word in stdout[start..end].split(' ') {
        if word.starts_with("0x7") {
            report.push_str("ADDRESS");
        } else {
            report.push_str(word);
        }
        report.push(' ');
    }
    report
}

#[test]
fn explore_finds_a_broken_spinlock_and_a_lost_wakeup_and_replays_them() {
    let bugs = [
        ("broken_spinlock", "wasm trap: unreachable"),
        ("lost_wakeup", "deadlock: every thread is blocked"),
    ];
    for model in MODELS {
        for (name, failure) in bugs {
            let path = program(name);
            let run = weft(&[
                "explore",
                "--seed",
                "1",
                "--schedules",
                "1000",
                model,
                &path,
            ]);
            assert_eq!(run.status.code(), Some(1), "{run}");
            assert!(run.stdout.contains(&format!("failed: {failure}")), "{run}");
            // The interleaving names the program's functions.
            assert!(run.stdout.contains(&format!("in {name}.wasm!")), "{run}");
            let replay = run
                .stdout
                .lines()
                .find_map(|line| line.strip_prefix("replay: weft "))
                .expect("a replay command");
            let replay: Vec<&str> = replay.split(' ').collect();
            assert!(replay.contains(&"--length"), "{run}");
            for _ in 0..10 {
                let again = weft(&replay);
                assert_eq!(again.status.code(), Some(1), "{again}");
                assert_eq!(failure_report(&again.stdout), failure_report(&run.stdout));
            }
        }
    }
}

#[test]
fn explore_passes_programs_that_synchronize() {
    for model in MODELS {
        for name in ["pthread_many", "thread_local"] {
            let run = weft(&[
                "explore",
                "--seed",
                "5",
                "--schedules",
                "20",
                model,
                &program(name),
            ]);
            assert_eq!(run.status.code(), Some(0), "{run}");
            assert!(run.stdout.starts_with("20 schedules, 0 failed"), "{run}");
        }
    }
    // A status other than the one expected is a failure; with no --seed, one is chosen
    // and printed.
    let exits = weft(&[
        "explore",
        "--schedules",
        "2",
        "--expect-exit",
        "3",
        &program("hello"),
    ]);
    assert_eq!(exits.status.code(), Some(1), "{exits}");
    assert!(
        exits.stdout.starts_with("exploring with --seed "),
        "{exits}"
    );
    assert!(
        exits.stdout.contains("failed: exited with 0, expected 3"),
        "{exits}"
    );
    assert!(exits.stdout.contains("1 schedules, 1 failed"), "{exits}");
}
