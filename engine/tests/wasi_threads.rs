//! The wasi-threads ABI in both models: each spawned thread a new instance sharing only the
//! imported memory, or a block of one instance with its own copy of each mutable global.
//! Either way ids follow the ABI, a trap anywhere ends the process, and limits, termination
//! and ABI violations give typed errors; one instance also refuses modules whose threads
//! could tell the difference.

use std::thread;
use std::time::Duration;
use weft::*;

/// Memory layout: 0 finished-thread counter, 8 a word nobody writes (the main instance
/// waits on it forever), 64.. one record per spawn argument: `tid * 10 + its global`.
const PROGRAM: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (global $instance_local (mut i32) (i32.const 0))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (if (i32.eq (local.get $arg) (i32.const 99)) (then unreachable))
    (if (i32.eq (local.get $arg) (i32.const 98))
      (then (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))))
    ;; Argument 50 spawns argument 51 from inside a thread.
    (if (i32.eq (local.get $arg) (i32.const 50))
      (then (drop (call $spawn (i32.const 51)))))
    ;; A fresh instance starts its global at 0, whatever other threads did to theirs.
    (global.set $instance_local (i32.add (global.get $instance_local) (i32.const 1)))
    (i32.atomic.store
      (i32.add (i32.const 64) (i32.shl (local.get $arg) (i32.const 2)))
      (i32.add (i32.mul (local.get $tid) (i32.const 10)) (global.get $instance_local)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))
  (func (export "spawn") (param i32) (result i32) (call $spawn (local.get 0)))
  (func (export "record") (param i32) (result i32)
    (i32.atomic.load (i32.add (i32.const 64) (i32.shl (local.get 0) (i32.const 2)))))
  (func (export "wait_forever") (result i32)
    (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
  ;; Spawns a thread and waits forever in the same call, so that a trap of the thread lands
  ;; while this call runs.
  (func (export "spawn_and_wait") (param i32) (result i32)
    (drop (call $spawn (local.get 0)))
    (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
)
"#;

struct Program {
    engine: Engine,
    module: Module,
    memory: SharedMemory,
}

fn program_with(config: &Config, wat: &str) -> Program {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1)).unwrap();
    Program {
        engine,
        module,
        memory,
    }
}

/// Every behaviour the two models share is checked under each.
const MODELS: [WasiThreadsModel; 2] = [
    WasiThreadsModel::InstancePerThread,
    WasiThreadsModel::OneInstance,
];

impl Program {
    fn process(&self, model: WasiThreadsModel) -> Result<WasiThreads<()>, Error> {
        let mut linker = Linker::new(&self.engine);
        linker.define("env", "memory", self.memory.clone())?;
        WasiThreads::with_model(linker, &self.module, model)
    }
}

fn run(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> i32 {
    instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap()
        .call(&mut *store, arg)
        .unwrap()
}

/// Asserts `error` is of the kind `is_kind` accepts and its message gives `reason`.
fn assert_refused(error: &Error, reason: &str, is_kind: impl Fn(&Error) -> bool) {
    assert!(is_kind(error), "{error}");
    assert!(
        error.to_string().contains(reason),
        "{error} lacks {reason:?}"
    );
}

fn is_not_one_instance(error: &Error) -> bool {
    matches!(error, Error::Compile(CompileError::NotOneInstance { .. }))
}

fn read_u32(memory: &SharedMemory, offset: usize) -> u32 {
    let mut bytes = [0; 4];
    memory.read(offset, &mut bytes).unwrap();
    u32::from_le_bytes(bytes)
}

#[test]
fn each_thread_has_its_own_globals_and_shares_the_memory() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let mut tids: Vec<i32> = (0..8)
            .map(|arg| run(&mut store, &main, "spawn", arg))
            .collect();
        process.join().unwrap();
        assert_eq!(read_u32(&program.memory, 0), 8);
        for (arg, &tid) in tids.iter().enumerate() {
            // Every thread saw its own global at 0 before adding 1, and the id it was given.
            assert_eq!(read_u32(&program.memory, 64 + 4 * arg), tid as u32 * 10 + 1);
        }
        tids.sort_unstable();
        assert_eq!(
            tids,
            (1..=8).collect::<Vec<_>>(),
            "ids start at 1, one each"
        );
        assert_eq!(process.live_threads(), 0);
    }
}

#[test]
fn threads_spawn_threads_and_join_waits_for_them() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let parent = run(&mut store, &main, "spawn", 50);
        process.join().unwrap();
        assert_eq!(read_u32(&program.memory, 0), 2);
        let child = read_u32(&program.memory, 64 + 4 * 51) / 10;
        assert!(child as i32 > parent, "the child got the next id");
    }
}

#[test]
fn a_trap_in_one_thread_ends_the_process() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let waiter = run(&mut store, &main, "spawn", 98);
        assert!(waiter > 0);
        // The main instance's call in progress, blocked, is interrupted too.
        let spawn_and_wait = main
            .get_typed_func::<i32, i32>(&mut store, "spawn_and_wait")
            .unwrap();
        assert_eq!(
            spawn_and_wait.call(&mut store, 99).unwrap_err().trap(),
            Some(Trap::Interrupted)
        );
        assert!(matches!(
            process.join_thread(waiter as u32),
            Some(ThreadOutcome::Aborted)
        ));
        assert_eq!(process.join().unwrap_err().trap(), Some(Trap::Unreachable));
        // The process is over: the guest sees -1, the embedder a typed error.
        store.join_threads().unwrap();
        assert_eq!(run(&mut store, &main, "spawn", 1), -1);
        assert!(matches!(
            process.spawn((), 1),
            Err(Error::Thread(ThreadError::Stopped))
        ));
    }
}

#[test]
fn limits_refuse_with_minus_one_and_terminate_wakes_blocked_threads() {
    for model in MODELS {
        let mut config = Config::new();
        config.max_threads(2);
        let program = program_with(&config, PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let blocked = [98, 98].map(|arg| run(&mut store, &main, "spawn", arg));
        assert!(blocked.iter().all(|&tid| tid > 0));
        assert_eq!(
            run(&mut store, &main, "spawn", 1),
            -1,
            "a third thread is over the limit"
        );
        assert!(matches!(
            process.spawn((), 1),
            Err(Error::Thread(ThreadError::StoreLimit(2)))
        ));
        assert!(process.terminate_thread(blocked[0] as u32));
        assert!(matches!(
            process.join_thread(blocked[0] as u32),
            Some(ThreadOutcome::Aborted)
        ));
        // One slot is free again; the other thread still waits.
        let finishing = run(&mut store, &main, "spawn", 2);
        assert!(finishing > blocked[1]);
        assert!(matches!(
            process.join_thread(finishing as u32),
            Some(ThreadOutcome::Finished)
        ));
        assert_eq!(process.live_threads(), 1);
        // A watchdog stops the rest, the main instance's blocked call included.
        let wait = main
            .get_typed_func::<(), i32>(&mut store, "wait_forever")
            .unwrap();
        thread::scope(|scope| {
            scope.spawn(|| {
                thread::sleep(Duration::from_millis(50));
                process.terminate();
            });
            assert_eq!(
                wait.call(&mut store, ()).unwrap_err().trap(),
                Some(Trap::Interrupted)
            );
        });
        assert!(matches!(
            process.join_thread(blocked[1] as u32),
            Some(ThreadOutcome::Aborted)
        ));
        assert!(process.join().is_ok(), "a terminate alone is not a failure");
        assert_eq!(process.live_threads(), 0);
    }
}

#[test]
fn the_process_terminator_stops_it_from_another_thread_until_it_is_dropped() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let terminator = process.terminator();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        let blocked = run(&mut store, &main, "spawn", 98);
        let other = run(&mut store, &main, "spawn", 98);
        assert!(terminator.terminate_thread(blocked as u32));
        assert!(matches!(
            process.join_thread(blocked as u32),
            Some(ThreadOutcome::Aborted)
        ));
        let wait = main
            .get_typed_func::<(), i32>(&mut store, "wait_forever")
            .unwrap();
        thread::scope(|scope| {
            let terminator = terminator.clone();
            scope.spawn(move || {
                thread::sleep(Duration::from_millis(50));
                terminator.terminate();
            });
            assert_eq!(
                wait.call(&mut store, ()).unwrap_err().trap(),
                Some(Trap::Interrupted)
            );
        });
        assert!(matches!(
            process.join_thread(other as u32),
            Some(ThreadOutcome::Aborted)
        ));
        drop(process);
        // Outliving the process, it stops nothing and reports nothing stopped.
        terminator.terminate();
        assert!(!terminator.terminate_thread(other as u32));
    }
}

#[test]
fn dropping_the_process_stops_and_joins_its_threads() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        for _ in 0..4 {
            assert!(run(&mut store, &main, "spawn", 98) > 0);
        }
        drop(process);
        store.join_threads().unwrap();
        assert_eq!(read_u32(&program.memory, 0), 0, "no blocked thread went on");
    }
}

#[test]
fn modules_outside_the_abi_are_refused_with_the_reason() {
    let cases = [
        (
            r#"(module (import "env" "memory" (memory 1 1 shared)))"#,
            "does not export `wasi_thread_start`",
        ),
        (
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (func (export "wasi_thread_start") (param i32)))"#,
            "must be a function",
        ),
        (
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasi" "thread-spawn" (func (param i32)))
                 (func (export "wasi_thread_start") (param i32 i32)))"#,
            "must be imported as",
        ),
        (
            r#"(module (import "env" "memory" (memory 1 1))
                 (func (export "wasi_thread_start") (param i32 i32)))"#,
            "is not shared",
        ),
        (
            r#"(module (memory 1 1 shared) (func (export "wasi_thread_start") (param i32 i32)))"#,
            "defines its own memory",
        ),
        (
            r#"(module (func (export "wasi_thread_start") (param i32 i32)))"#,
            "imports no shared memory",
        ),
    ];
    for (wat, reason) in cases {
        let program = program_with(&Config::new(), wat);
        let error = program
            .process(WasiThreadsModel::InstancePerThread)
            .err()
            .expect("refused");
        assert_refused(&error, reason, |error| {
            matches!(error, Error::Usage(UsageError::NotWasiThreads { .. }))
        });
    }
}

#[test]
fn a_failing_instantiation_is_the_threads_failure() {
    // The start function traps in every instance but the first.
    let program = program_with(
        &Config::new(),
        r#"(module
             (import "env" "memory" (memory 1 1 shared))
             (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
             (func $start
               (if (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (then unreachable)))
             (start $start)
             (func (export "spawn") (param i32) (result i32) (call $spawn (local.get 0)))
             (func (export "wasi_thread_start") (param i32 i32)))"#,
    );
    let process = program
        .process(WasiThreadsModel::InstancePerThread)
        .unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    assert!(run(&mut store, &main, "spawn", 0) > 0);
    assert_eq!(process.join().unwrap_err().trap(), Some(Trap::Unreachable));
    // Run once, it would not trap: one instance refuses a start function that is not
    // once-only.
    let error = program
        .process(WasiThreadsModel::OneInstance)
        .err()
        .expect("refused");
    assert_refused(
        &error,
        "not begin with a once-only guard",
        is_not_one_instance,
    );
}

/// Memory layout: 0 the once-only flag, 4 how many times the guarded branch ran, 64.. one
/// record of two words per spawn argument: the thread's `$counter` and `$wide` as it found
/// them. The start function is wasm-ld's once-only shape: its branch sets `$counter` (for
/// the instance that runs it first) and counts itself.
const GLOBALS_PROGRAM: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (global $counter (mut i32) (i32.const 42))
  (global $wide (mut i64) (i64.const -7))
  (global $fixed i32 (i32.const 5))
  (func $init
    block block block
      (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1))
      br_table 0 1 2
    end
      (global.set $counter (i32.const 1000))
      (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
      (i32.atomic.store (i32.const 0) (i32.const 2))
      (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
      br 1
    end
      (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
    end)
  (start $init)
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $record i32)
    (local.set $record (i32.add (i32.const 64) (i32.shl (local.get $arg) (i32.const 3))))
    (i32.store (local.get $record) (global.get $counter))
    (i32.store (i32.add (local.get $record) (i32.const 4))
      (i32.wrap_i64 (global.get $wide)))
    ;; Each thread's writes stay its own.
    (global.set $counter (local.get $tid))
    (global.set $wide (i64.extend_i32_u (local.get $tid))))
  (func (export "spawn") (param i32) (result i32) (call $spawn (local.get 0)))
  (func (export "counter") (result i32) (global.get $counter))
  (func (export "fixed") (result i32) (global.get $fixed))
)
"#;

#[test]
fn a_new_threads_globals_start_from_their_initializers() {
    for model in MODELS {
        let program = program_with(&Config::new(), GLOBALS_PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        for arg in 0..4 {
            assert!(run(&mut store, &main, "spawn", arg) > 0);
        }
        process.join().unwrap();
        for arg in 0..4 {
            let record = 64 + 8 * arg;
            assert_eq!(read_u32(&program.memory, record), 42, "{model:?}");
            assert_eq!(
                read_u32(&program.memory, record + 4) as i32,
                -7,
                "{model:?}"
            );
        }
        // The guarded branch ran once, in the main instance, whose copy it set.
        assert_eq!(read_u32(&program.memory, 4), 1, "{model:?}");
        let counter = main
            .get_typed_func::<(), i32>(&mut store, "counter")
            .unwrap();
        assert_eq!(counter.call(&mut store, ()).unwrap(), 1000, "{model:?}");
        let fixed = main.get_typed_func::<(), i32>(&mut store, "fixed").unwrap();
        assert_eq!(fixed.call(&mut store, ()).unwrap(), 5, "{model:?}");
    }
}

#[test]
fn one_instances_threads_lease_blocks_of_the_main_instance() {
    let program = program_with(&Config::new(), GLOBALS_PROGRAM);
    let process = program.process(WasiThreadsModel::OneInstance).unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    for round in 0..3 {
        for arg in 0..4 {
            assert!(run(&mut store, &main, "spawn", arg) > 0, "round {round}");
        }
        process.join().unwrap();
    }
    // Twelve threads in batches of at most four ran on blocks the instance handed out and
    // took back: no new instance, and blocks reused across batches. A block stays with the
    // OS thread that ran it (an idle attachment), so it is reused by whichever thread that OS
    // thread runs next; on a busy machine the thread cache may start a fifth worker or more
    // before one of the first four is back, and each new worker takes a block of its own.
    let blocks = main.thread_blocks_created(&store);
    assert!((1..12).contains(&blocks), "{blocks} blocks for 12 threads");
    // The program has its one instance.
    assert!(matches!(
        process.instantiate(&mut store),
        Err(Error::Usage(UsageError::SecondInstance))
    ));
}

#[test]
fn one_instance_refuses_modules_whose_threads_could_tell() {
    let memory = r#"(import "env" "memory" (memory 1 1 shared))"#;
    let start = r#"(func (export "wasi_thread_start") (param i32 i32))"#;
    let cases = [
        (
            "(table 1 funcref) (func (export \"f\") (table.set (i32.const 0) (ref.null func)))",
            "uses `table.set`",
        ),
        (
            "(table 1 funcref) (func (export \"f\") (drop (table.grow (ref.null func) (i32.const 1))))",
            "uses `table.grow`",
        ),
        (
            "(data \"x\") (func (export \"f\") (data.drop 0))",
            "uses `data.drop`",
        ),
        ("(data (i32.const 16) \"x\")", "data segment 0 is active"),
        (
            "(func $s (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))) (start $s)",
            "does not begin with a once-only guard",
        ),
        (
            "(func $s (export \"s\")) (start $s)",
            "is also exported as `s`",
        ),
        (
            "(import \"env\" \"g\" (global (mut i32)))",
            "imported mutable global that is not shared",
        ),
        (
            "(global (mut externref) (ref.null extern))",
            "cannot have a copy per thread",
        ),
    ];
    for (fields, reason) in cases {
        let wat = format!("(module {memory} {fields} {start})");
        let program = program_with(&Config::new(), &wat);
        let error = program
            .process(WasiThreadsModel::OneInstance)
            .err()
            .expect("refused");
        assert_refused(&error, reason, is_not_one_instance);
        // An instance per thread runs it as the ABI says.
        assert!(
            program.process(WasiThreadsModel::InstancePerThread).is_ok(),
            "{wat}"
        );
    }
}

#[test]
fn a_store_bound_import_fails_cleanly_on_a_thread_of_one_instance() {
    let program = program_with(
        &Config::new(),
        r#"(module
             (import "env" "memory" (memory 1 1 shared))
             (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
             (import "env" "bound" (func $bound))
             (func (export "spawn") (param i32) (result i32) (call $spawn (local.get 0)))
             (func (export "wasi_thread_start") (param i32 i32) (call $bound)))"#,
    );
    let mut linker = Linker::new(&program.engine);
    linker
        .define("env", "memory", program.memory.clone())
        .unwrap();
    linker
        .func_wrap("env", "bound", |_: Caller<'_, ()>| {})
        .unwrap();
    let process =
        WasiThreads::with_model(linker, &program.module, WasiThreadsModel::OneInstance).unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    assert!(run(&mut store, &main, "spawn", 0) > 0);
    let error = process.join().unwrap_err();
    assert!(
        error.to_string().contains("store"),
        "the failure names the store-bound call: {error}"
    );
}

/// The OS threads of finished threads serve the next spawns, each job with a fresh parking
/// handle; under one instance they also take up the attachment they left idle. Terminate must
/// still reach the waits of threads that run this way.
#[test]
fn terminate_wakes_threads_that_run_on_reused_os_threads() {
    for model in MODELS {
        let program = program_with(&Config::new(), PROGRAM);
        let process = program.process(model).unwrap();
        let mut store = Store::new(&program.engine, ());
        let main = process.instantiate(&mut store).unwrap();
        // A first round that finishes leaves its OS threads idle for the second.
        let finished: Vec<i32> = (0..4)
            .map(|arg| run(&mut store, &main, "spawn", arg))
            .collect();
        for tid in finished {
            assert!(matches!(
                process.join_thread(tid as u32),
                Some(ThreadOutcome::Finished)
            ));
        }
        let blocked: Vec<i32> = (0..4)
            .map(|_| run(&mut store, &main, "spawn", 98))
            .collect();
        // Once they wait, a terminate must wake every one.
        while read_u32(&program.memory, 0) < 4 {
            thread::yield_now();
        }
        thread::sleep(Duration::from_millis(20));
        process.terminate();
        for tid in blocked {
            assert!(
                matches!(
                    process.join_thread(tid as u32),
                    Some(ThreadOutcome::Aborted)
                ),
                "{model:?}: thread {tid}"
            );
        }
    }
}
