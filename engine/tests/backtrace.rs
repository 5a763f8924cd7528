//! A trap's wasm backtrace: the frames it passed through, innermost first, named from the
//! module's `name` section (or by index without one), each at the byte offset of its
//! instruction; under both bounds-checking strategies, and the same whether small functions
//! were inlined or not; empty for errors raised by the host.

use weft::*;

/// `outer` calls `middle` calls `inner`, which stores past the end of memory (or, with
/// `unreachable`, traps by itself).
const DEEP: &str = r#"
(module $deep
  (memory 1)
  (func $inner (param i32)
    (if (i32.eqz (local.get 0)) (then unreachable))
    (i32.store (local.get 0) (i32.const 1)))
  (func $middle (param i32)
    (call $inner (local.get 0)))
  (func $outer (export "outer") (param i32)
    (call $middle (local.get 0))))
"#;

fn trap_of(engine: &Engine, wat: &str, arg: i32) -> Error {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let outer = instance
        .get_typed_func::<i32, ()>(&mut store, "outer")
        .unwrap();
    let error = outer.call(&mut store, arg).unwrap_err();
    // The store runs on after the trap.
    assert!(outer.call(&mut store, 8).is_ok());
    error
}

fn names(backtrace: &WasmBacktrace) -> Vec<String> {
    backtrace.frames().iter().map(ToString::to_string).collect()
}

#[test]
fn a_fault_three_calls_deep_names_the_three_functions() {
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let mut config = Config::new();
        config.bounds_checks(checks);
        let engine = Engine::new(&config).unwrap();
        let error = trap_of(&engine, DEEP, 65536);
        assert_eq!(error.trap(), Some(Trap::MemoryOutOfBounds));
        let backtrace = error.backtrace().expect("a backtrace");
        assert_eq!(
            names(backtrace),
            ["deep!inner", "deep!middle", "deep!outer"],
            "{checks:?}"
        );
        let frames = backtrace.frames();
        assert_eq!(
            frames.iter().map(FrameInfo::func_index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        // Each frame is at an instruction of its own function: the functions follow one
        // another in the binary, so the offsets grow outwards.
        let offsets: Vec<u32> = frames.iter().map(|f| f.module_offset().unwrap()).collect();
        assert!(
            offsets.windows(2).all(|pair| pair[0] < pair[1]),
            "{offsets:?}"
        );
    }
}

#[test]
fn an_explicit_trap_has_a_backtrace_and_unnamed_functions_their_indices() {
    let unnamed = r#"(module
      (memory 1)
      (func (param i32) (if (i32.eqz (local.get 0)) (then unreachable)))
      (func (param i32) (call 0 (local.get 0)))
      (func (export "outer") (param i32) (call 1 (local.get 0))))"#;
    let error = trap_of(&Engine::default(), unnamed, 0);
    assert_eq!(error.trap(), Some(Trap::Unreachable));
    let backtrace = error.backtrace().expect("a backtrace");
    assert_eq!(
        names(backtrace),
        [
            "<wasm function 0>",
            "<wasm function 1>",
            "<wasm function 2>"
        ]
    );
    let shown = backtrace.to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
    assert!(
        shown.lines().next().unwrap().starts_with("   0: 0x"),
        "{shown}"
    );
}

#[test]
fn errors_raised_by_the_host_have_no_backtrace() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "fail" (func $fail))
             (func (export "outer") (param i32) (call $fail)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "fail", || -> Result<(), Error> {
            Err(Trap::Interrupted.into())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let outer = instance
        .get_typed_func::<i32, ()>(&mut store, "outer")
        .unwrap();
    let error = outer.call(&mut store, 0).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::Interrupted));
    assert!(error.backtrace().is_none());
}

/// Three small functions, each inlined into its caller by default: a division (whose
/// checks trap out of line), a load and a recursion that ends in `unreachable`.
const INLINED: &str = r#"
(module $inlined
  (memory 1)
  (func $divide (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func $count_down (param i32)
    (if (i32.eqz (local.get 0)) (then unreachable))
    (call $count_down (i32.sub (local.get 0) (i32.const 1))))
  (func $pick (param i32) (result i32)
    (if (result i32) (i32.eq (local.get 0) (i32.const 1))
      (then (call $divide (i32.const 7) (i32.const 0)))
      (else (if (result i32) (i32.eq (local.get 0) (i32.const 2))
        (then (call $divide (i32.const 0x80000000) (i32.const -1)))
        (else (if (result i32) (i32.eq (local.get 0) (i32.const 3))
          (then (call $load (i32.const 65536)))
          (else
            (if (i32.lt_u (local.get 0) (i32.const 8)) (then (call $count_down (local.get 0))))
            (i32.const 0))))))))
  (func $outer (export "outer") (param i32) (drop (call $pick (local.get 0)))))
"#;

#[test]
fn inlined_functions_keep_their_frames() {
    let engine_with = |inline: bool| {
        let mut config = Config::new();
        config.cranelift_inlining(inline);
        Engine::new(&config).unwrap()
    };
    let (inlined, called) = (engine_with(true), engine_with(false));
    for (arg, trap, depth) in [
        (1, Trap::IntegerDivisionByZero, 3),
        (2, Trap::IntegerOverflow, 3),
        (3, Trap::MemoryOutOfBounds, 3),
        (5, Trap::Unreachable, 8),
    ] {
        let [with, without] = [&inlined, &called].map(|engine| trap_of(engine, INLINED, arg));
        assert_eq!(with.trap(), Some(trap), "argument {arg}");
        let frames = with.backtrace().expect("a backtrace").frames();
        assert_eq!(frames.len(), depth, "argument {arg}: {frames:?}");
        assert_eq!(
            frames,
            without.backtrace().expect("a backtrace").frames(),
            "argument {arg}"
        );
    }
}
