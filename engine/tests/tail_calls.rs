//! Tail calls (`return_call`, `return_call_indirect`, `return_call_ref`): a C program whose
//! `musttail` calls clang turns into them (`programs/tail_calls.c`), and the cases no
//! compiler isolates: tail calls between instances, into host functions, and between
//! functions with different numbers of stack arguments. Every loop below runs far deeper than
//! the stack could hold frames for, so it only finishes in constant stack.

use std::path::Path;
use weft::*;

const PROGRAM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/programs/tail_calls.wasm"
);

/// Tail calls per test loop: each would need a frame of its own without tail calls, far more
/// than a thread's stack holds.
const DEPTH: u64 = 10_000_000;

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiates");
    (store, instance)
}

/// `interpret(seed, rounds)` of the C program, computed here.
fn interpret(seed: u64, rounds: u64) -> u64 {
    let mut acc = seed;
    for _ in 0..rounds {
        acc = acc.wrapping_add(3);
        acc ^= acc >> 7;
        acc = acc.rotate_left(13);
        acc = acc.wrapping_add(5);
    }
    acc
}

#[test]
fn a_compiled_interpreter_and_mutual_recursion_run_in_constant_stack() {
    let engine = Engine::default();
    let module = Module::from_file(&engine, Path::new(PROGRAM)).expect("the program compiles");
    let (mut store, instance) = instantiate(&engine, &module);
    let parity = instance
        .get_typed_func::<u64, u32>(&mut store, "parity")
        .unwrap();
    assert_eq!(parity.call(&mut store, DEPTH).unwrap(), DEPTH as u32);
    assert_eq!(
        parity.call(&mut store, DEPTH + 1).unwrap(),
        (DEPTH as u32 + 1) | 0x8000_0000
    );
    let run = instance
        .get_typed_func::<(u64, u64), u64>(&mut store, "interpret")
        .unwrap();
    // Five handlers a round, each reached by `return_call_indirect`.
    let rounds = DEPTH / 5;
    for seed in [0, 1, 0xdead_beef] {
        assert_eq!(
            run.call(&mut store, (seed, rounds)).unwrap(),
            interpret(seed, rounds)
        );
    }
}

#[test]
fn tail_calls_between_instances_run_in_constant_stack() {
    let engine = Engine::default();
    // `ping` passes the count to whatever is in its table's slot 0: `pong`, in another
    // instance, which passes it back through its import.
    let ping = Module::new(
        &engine,
        r#"(module
             (type $step (func (param i64) (result i64)))
             (table (export "table") 1 funcref)
             (func (export "ping") (type $step)
               (if (result i64) (i64.eqz (local.get 0))
                 (then (i64.const 0))
                 (else
                   (return_call_indirect (type $step)
                     (i64.sub (local.get 0) (i64.const 1)) (i32.const 0))))))"#,
    )
    .unwrap();
    let pong = Module::new(
        &engine,
        r#"(module
             (type $step (func (param i64) (result i64)))
             (import "ping" "ping" (func $ping (type $step)))
             (import "ping" "table" (table 1 funcref))
             (elem (i32.const 0) func $pong)
             (global $pongs (mut i64) (i64.const 0))
             (func $pong (type $step)
               (global.set $pongs (i64.add (global.get $pongs) (i64.const 1)))
               (return_call $ping (local.get 0)))
             (func (export "pongs") (result i64) (global.get $pongs)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let ping = linker.instantiate(&mut store, &ping).unwrap();
    linker.instance(&mut store, "ping", ping).unwrap();
    let pong = linker.instantiate(&mut store, &pong).unwrap();
    let run = ping.get_typed_func::<u64, u64>(&mut store, "ping").unwrap();
    assert_eq!(run.call(&mut store, DEPTH).unwrap(), 0);
    let pongs = pong.get_typed_func::<(), u64>(&mut store, "pongs").unwrap();
    assert_eq!(pongs.call(&mut store, ()).unwrap(), DEPTH);
}

#[test]
fn tail_calls_into_host_functions_return_to_the_callers_caller() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $unary (func (param i32) (result i32)))
             (import "host" "double" (func $double (type $unary)))
             (import "host" "fail" (func $fail (type $unary)))
             (elem declare func $double)
             (func (export "direct") (type $unary)
               (return_call $double (i32.add (local.get 0) (i32.const 1))))
             (func (export "by_ref") (type $unary)
               (return_call_ref $unary (local.get 0) (ref.func $double)))
             (func (export "failing") (type $unary) (return_call $fail (local.get 0)))
             (func (export "outer") (type $unary)
               (i32.add (call $middle (local.get 0)) (i32.const 1000)))
             (func $middle (type $unary) (return_call $double (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "double", |x: i32| x * 2).unwrap();
    linker
        .func_wrap("host", "fail", |x: i32| -> Result<i32, Error> {
            Err(Error::msg(format!("host refused {x}")))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call = |store: &mut Store<()>, name: &str, arg: i32| {
        instance
            .get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap()
            .call(store, arg)
    };
    assert_eq!(call(&mut store, "direct", 20).unwrap(), 42);
    assert_eq!(call(&mut store, "by_ref", 21).unwrap(), 42);
    assert_eq!(call(&mut store, "outer", 4).unwrap(), 1008);
    let error = call(&mut store, "failing", 7).unwrap_err();
    assert!(error.to_string().contains("host refused 7"), "{error}");
    // The store is usable after the host's error.
    assert_eq!(call(&mut store, "direct", 0).unwrap(), 2);
}

#[test]
fn tail_calls_change_the_number_of_stack_arguments() {
    // `few` has one argument, `many` sixteen (most of them on the stack): each tail-calls the
    // other, so every call grows or shrinks the incoming argument area it replaces.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $few (export "few") (param $n i64) (result i64)
               (if (result i64) (i64.eqz (local.get $n))
                 (then (i64.const 0))
                 (else
                   (return_call $many
                     (i64.sub (local.get $n) (i64.const 1))
                     (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5)
                     (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10)
                     (i64.const 11) (i64.const 12) (i64.const 13) (i64.const 14)
                     (local.get $n)))))
             (func $many (param $n i64)
                   (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
                   (param $check i64) (result i64)
               ;; The last argument, from the deepest stack slot, must be what `few` passed.
               (if (i64.ne (local.get $check) (i64.add (local.get $n) (i64.const 1)))
                 (then unreachable))
               (if (i64.ne (i64.add (local.get 1) (local.get 14)) (i64.const 15))
                 (then unreachable))
               (return_call $few (local.get $n))))"#,
    )
    .unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let few = instance
        .get_typed_func::<u64, u64>(&mut store, "few")
        .unwrap();
    assert_eq!(few.call(&mut store, DEPTH).unwrap(), 0);
}

#[test]
fn a_tail_call_with_the_wrong_signature_traps_and_the_store_runs_on() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (type $i2i (func (param i32) (result i32)))
             (type $v2i (func (result i32)))
             (table 2 funcref)
             (elem (i32.const 0) func $inc $seven)
             (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
             (func $seven (type $v2i) (i32.const 7))
             (func (export "dispatch") (param i32 i32) (result i32)
               (return_call_indirect (type $i2i) (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let (mut store, instance) = instantiate(&engine, &module);
    let dispatch = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "dispatch")
        .unwrap();
    assert_eq!(dispatch.call(&mut store, (41, 0)).unwrap(), 42);
    assert_eq!(
        dispatch.call(&mut store, (41, 1)).unwrap_err().trap(),
        Some(Trap::IndirectCallTypeMismatch)
    );
    assert_eq!(
        dispatch.call(&mut store, (41, 2)).unwrap_err().trap(),
        Some(Trap::UndefinedElement)
    );
    assert_eq!(dispatch.call(&mut store, (1, 0)).unwrap(), 2);
}
