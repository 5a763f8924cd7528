//! The instance-per-thread model (wasi-threads ABI): each spawned thread is a new instance
//! sharing only the imported memory; ids follow the ABI; a trap anywhere ends the process;
//! limits, termination and ABI violations give typed errors.

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

impl Program {
    fn process(&self) -> Result<WasiThreads<()>, Error> {
        let mut linker = Linker::new(&self.engine);
        linker.define("env", "memory", self.memory.clone())?;
        WasiThreads::new(linker, &self.module)
    }
}

fn run(store: &mut Store<()>, instance: &Instance, name: &str, arg: i32) -> i32 {
    instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap()
        .call(&mut *store, arg)
        .unwrap()
}

fn read_u32(memory: &SharedMemory, offset: usize) -> u32 {
    let mut bytes = [0; 4];
    memory.read(offset, &mut bytes).unwrap();
    u32::from_le_bytes(bytes)
}

#[test]
fn each_thread_is_a_new_instance_sharing_only_the_memory() {
    let program = program_with(&Config::new(), PROGRAM);
    let process = program.process().unwrap();
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

#[test]
fn threads_spawn_threads_and_join_waits_for_them() {
    let program = program_with(&Config::new(), PROGRAM);
    let process = program.process().unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    let parent = run(&mut store, &main, "spawn", 50);
    process.join().unwrap();
    assert_eq!(read_u32(&program.memory, 0), 2);
    let child = read_u32(&program.memory, 64 + 4 * 51) / 10;
    assert!(child as i32 > parent, "the child got the next id");
}

#[test]
fn a_trap_in_one_thread_ends_the_process() {
    let program = program_with(&Config::new(), PROGRAM);
    let process = program.process().unwrap();
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

#[test]
fn limits_refuse_with_minus_one_and_terminate_wakes_blocked_threads() {
    let mut config = Config::new();
    config.max_threads(2);
    let program = program_with(&config, PROGRAM);
    let process = program.process().unwrap();
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

#[test]
fn the_process_terminator_stops_it_from_another_thread_until_it_is_dropped() {
    let program = program_with(&Config::new(), PROGRAM);
    let process = program.process().unwrap();
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

#[test]
fn dropping_the_process_stops_and_joins_its_threads() {
    let program = program_with(&Config::new(), PROGRAM);
    let process = program.process().unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    for _ in 0..4 {
        assert!(run(&mut store, &main, "spawn", 98) > 0);
    }
    drop(process);
    store.join_threads().unwrap();
    assert_eq!(read_u32(&program.memory, 0), 0, "no blocked thread went on");
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
        let error = program.process().err().expect("refused");
        assert!(
            matches!(&error, Error::Usage(UsageError::NotWasiThreads { .. })),
            "{error}"
        );
        assert!(
            error.to_string().contains(reason),
            "{error} lacks {reason:?}"
        );
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
    let process = program.process().unwrap();
    let mut store = Store::new(&program.engine, ());
    let main = process.instantiate(&mut store).unwrap();
    assert!(run(&mut store, &main, "spawn", 0) > 0);
    assert_eq!(process.join().unwrap_err().trap(), Some(Trap::Unreachable));
}
