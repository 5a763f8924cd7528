//! `proc_exit` from any thread ends the whole program: every other thread, running or
//! blocked (in `memory.atomic.wait`, in `poll_oneoff`, in a read of an open, silent stdin),
//! is stopped within 100 ms, the status is the one passed, and no OS thread is left behind.
//! Both thread models: wasi-threads (a C program built with wasi-libc, one instance per
//! thread) and shared-everything threads (a hand-written module, since no toolchain emits
//! shared functions yet).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft::{Config, Engine, Linker, Module, Store, WasmFeatures};
use weft_wasi::{ExitStatus, OutputPipe, Program, WasiCtx};

/// How long the other threads may take to stop once a thread has exited.
const STOP_WITHIN: Duration = Duration::from_millis(100);

/// The OS threads of this process (Linux).
fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Records when the program called `proc_exit`: the first exit action, run on the exiting
/// thread before the program's stores and processes are stopped.
struct ExitWatch(Arc<Mutex<Option<Instant>>>);

impl ExitWatch {
    /// Registered before anything else, so it runs first.
    fn new(ctx: &WasiCtx) -> ExitWatch {
        let exited_at = Arc::new(Mutex::new(None));
        let record = Arc::clone(&exited_at);
        ctx.on_exit(move |_| *record.lock().unwrap() = Some(Instant::now()));
        ExitWatch(exited_at)
    }

    /// How long after the exit everything had stopped (now).
    fn stop_latency(self) -> Duration {
        let exited = self.0.lock().unwrap().expect("the program exited");
        exited.elapsed()
    }
}

/// Runs a wasi-threads program with `args` and a stdin pipe nobody writes to; returns its
/// status, its stdout and how long its threads took to stop after the exit.
fn run_wasi_threads(path: &Path, args: &[&str]) -> (ExitStatus, String, Duration) {
    let engine = Engine::default();
    let module = Module::from_file(&engine, path).unwrap();
    let (stdin, writer) = std::io::pipe().unwrap();
    let stdout = OutputPipe::new();
    let ctx = WasiCtx::builder()
        .arg("program.wasm")
        .args(args.iter().copied())
        .stdin_host(stdin)
        .stdout(stdout.clone())
        .build()
        .unwrap();
    let watch = ExitWatch::new(&ctx);
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx).unwrap();
    let mut store = Store::new(&engine, ());
    let program = Program::instantiate(linker, &mut store, &module, &ctx).unwrap();
    let start = program
        .instance()
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let ran = start.call(&mut store, ());
    let status = program.finish(&mut store, ran).unwrap();
    let latency = watch.stop_latency();
    drop(writer);
    let output = String::from_utf8(stdout.contents()).unwrap();
    (status, output, latency)
}

fn program(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

/// One test, so that no other test's threads come and go while the OS threads are counted.
#[test]
fn an_exit_from_any_thread_stops_every_other_thread_at_once() {
    // Compiling starts the process's compilation workers, which outlive every program: start
    // them before counting.
    Module::new(&Engine::default(), "(module (func) (func))").unwrap();
    let before = os_threads();
    exit_from_a_wasi_thread();
    exit_from_a_shared_everything_thread();
    assert_eq!(
        os_threads(),
        before,
        "every thread of the programs has ended"
    );
}

/// The C program `exit_from_worker`: a worker (or, with `main`, the main thread) calls
/// `exit` while other threads wait in `pthread_cond_wait`, in `read(0)` and in `usleep`.
fn exit_from_a_wasi_thread() {
    for (args, status, printed) in [
        (&["worker"][..], 7, "worker: exit(7)\n"),
        (&["main"][..], 9, "main: exit(9)\n"),
    ] {
        let (exit, stdout, latency) = run_wasi_threads(&program("exit_from_worker.wasm"), args);
        assert_eq!(exit, ExitStatus(status), "{args:?}");
        assert_eq!(stdout, printed);
        println!("wasi-threads {args:?}: every thread stopped {latency:?} after the exit");
        assert!(
            latency < STOP_WITHIN,
            "{args:?}: threads stopped {latency:?} after the exit"
        );
    }
}

/// A shared-everything program: `_start` spawns three guest threads with `spawn-ref`. One
/// waits forever on address 0, one reads stdin, and one waits until the other two have
/// announced themselves (address 4), then calls `proc_exit(7)`. `_start` itself waits
/// forever on address 0 too.
const SHARED_EVERYTHING: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $read_t (shared (func (param i32 i32 i32 i32) (result i32))))
  (type $exit_t (shared (func (param i32))))
  (type $void (shared (func)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (type $read_t)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (type $exit_t)))
  (memory (export "memory") 1 1 shared)
  (elem declare func $waiter $reader $exiter)
  (func $announce (type $entry) (param i32)
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1))))
  (func $waiter (type $entry) (param i32)
    (call $announce (i32.const 0))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    unreachable)
  (func $reader (type $entry) (param i32)
    ;; One iovec at 16: 1 byte at 64; the count goes to 32.
    (i32.store (i32.const 16) (i32.const 64))
    (i32.store (i32.const 20) (i32.const 1))
    (call $announce (i32.const 0))
    (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 32)))
    unreachable)
  (func $exiter (type $entry) (param i32)
    ;; Until both others have started, plus 50 ms for them to block.
    (loop $starting
      (if (i32.lt_u (i32.atomic.load (i32.const 4)) (i32.const 2))
        (then
          (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const 1000000)))
          (br $starting))))
    (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const 50000000)))
    (call $proc_exit (i32.const 7))
    unreachable)
  (func (export "_start") (type $void)
    (drop (call $spawn (ref.func $waiter) (i32.const 0)))
    (drop (call $spawn (ref.func $reader) (i32.const 0)))
    (drop (call $spawn (ref.func $exiter) (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    unreachable)
)
"#;

fn exit_from_a_shared_everything_thread() {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, SHARED_EVERYTHING).unwrap();
    let (stdin, writer) = std::io::pipe().unwrap();
    let ctx = WasiCtx::builder().stdin_host(stdin).build().unwrap();
    let watch = ExitWatch::new(&ctx);
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx).unwrap();
    let mut store = Store::new(&engine, ());
    ctx.stop_on_exit(store.terminator());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let ran = start.call(&mut store, ());
    let joined = store.join_threads();
    let latency = watch.stop_latency();
    println!("shared everything: every thread stopped {latency:?} after the exit");
    assert!(
        latency < STOP_WITHIN,
        "threads stopped {latency:?} after the exit"
    );
    assert!(ran.is_err(), "the exit interrupted `_start`");
    assert_eq!(ctx.exit_status(joined.and(ran)).unwrap(), ExitStatus(7));
    drop((store, writer));
}
