//! A shared-everything program calls WASI from many guest threads at once, through one
//! context: every write of every thread arrives whole, and the context sees the program's
//! shared memory from each thread.

use weft::{Config, Engine, Linker, Module, Store, WasmFeatures};
use weft_wasi::{ExitStatus, OutputPipe, Program, WasiCtx};

const THREADS: i32 = 4;
const LINES: usize = 200;

/// `_start` spawns four guest threads; thread `t` writes the line "thread t\n" 200 times with
/// `fd_write`, from its own iovec and bytes in the shared memory, then counts itself done at
/// address 0; `_start` waits until all four are.
const PROGRAM: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $void (shared (func)))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $write_t (shared (func (param i32 i32 i32 i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $write_t)))
  (memory (export "memory") 1 1 shared)
  (elem declare func $writer)
  (func $writer (type $entry) (param $t i32)
    (local $base i32) (local $i i32)
    ;; Thread t's area at 1024 + 64 t: the text "thread t\n" at +16, its iovec at +0.
    (local.set $base (i32.add (i32.const 1024) (i32.mul (local.get $t) (i32.const 64))))
    (i64.store (i32.add (local.get $base) (i32.const 16)) (i64.const 0x3020646165726874))
    (i32.store8 (i32.add (local.get $base) (i32.const 23))
      (i32.add (i32.const 48) (local.get $t)))
    (i32.store8 (i32.add (local.get $base) (i32.const 24)) (i32.const 10))
    (i32.store (local.get $base) (i32.add (local.get $base) (i32.const 16)))
    (i32.store (i32.add (local.get $base) (i32.const 4)) (i32.const 9))
    (loop $lines
      (if (call $fd_write (i32.const 1) (local.get $base) (i32.const 1)
            (i32.add (local.get $base) (i32.const 8)))
        (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 200))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start") (type $void)
    (local $t i32) (local $done i32)
    (loop $spawning
      (if (i32.lt_s (call $spawn (ref.func $writer) (local.get $t)) (i32.const 1))
        (then unreachable))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $spawning (i32.lt_u (local.get $t) (i32.const 4))))
    (loop $waiting
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (i32.const 4))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $waiting)))))
)
"#;

#[test]
fn guest_threads_write_through_one_context_and_lose_nothing() {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let stdout = OutputPipe::new();
    let ctx = WasiCtx::builder().stdout(stdout.clone()).build().unwrap();
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx).unwrap();
    let mut store = Store::new(&engine, ());
    let program = Program::instantiate(linker, &mut store, &module, &ctx).unwrap();
    let start = program
        .instance()
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let ran = start.call(&mut store, ());
    assert_eq!(program.finish(&mut store, ran).unwrap(), ExitStatus(0));
    let output = String::from_utf8(stdout.contents()).unwrap();
    for t in 0..THREADS {
        let line = format!("thread {t}");
        let count = output.lines().filter(|l| *l == line).count();
        assert_eq!(count, LINES, "{line}");
    }
    assert_eq!(output.lines().count(), THREADS as usize * LINES);
}
