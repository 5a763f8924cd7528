//! The parts of the shared-everything-threads proposal that run today: atomic operations on
//! globals, and the validation rules wasmparser leaves to engines.

use weft::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    Engine::new(&config).unwrap()
}

#[test]
fn global_atomics_read_modify_write_and_return_the_old_value() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
             (global $s (shared mut i32) (i32.const 10))
             (global $u (mut i64) (i64.const 7))
             (func (export "add") (param i32) (result i32) (global.atomic.rmw.add seqcst $s (local.get 0)))
             (func (export "sub") (param i32) (result i32) (global.atomic.rmw.sub acqrel $s (local.get 0)))
             (func (export "and") (param i64) (result i64) (global.atomic.rmw.and seqcst $u (local.get 0)))
             (func (export "or") (param i64) (result i64) (global.atomic.rmw.or seqcst $u (local.get 0)))
             (func (export "xor") (param i64) (result i64) (global.atomic.rmw.xor acqrel $u (local.get 0)))
             (func (export "xchg") (param i32) (result i32) (global.atomic.rmw.xchg seqcst $s (local.get 0)))
             (func (export "cmpxchg") (param i32 i32) (result i32)
               (global.atomic.rmw.cmpxchg seqcst $s (local.get 0) (local.get 1)))
             (func (export "get_s") (result i32) (global.atomic.get seqcst $s))
             (func (export "set_u") (param i64) (global.atomic.set acqrel $u (local.get 0)))
             (func (export "get_u") (result i64) (global.atomic.get acqrel $u)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let i32_op = |store: &mut Store<()>, name: &str, x: i32| {
        instance
            .get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap()
            .call(store, x)
            .unwrap()
    };
    let i64_op = |store: &mut Store<()>, name: &str, x: i64| {
        instance
            .get_typed_func::<i64, i64>(&mut *store, name)
            .unwrap()
            .call(store, x)
            .unwrap()
    };
    assert_eq!(i32_op(&mut store, "add", 5), 10);
    assert_eq!(i32_op(&mut store, "sub", 3), 15);
    assert_eq!(i32_op(&mut store, "xchg", 100), 12);
    let cmpxchg = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "cmpxchg")
        .unwrap();
    assert_eq!(
        cmpxchg.call(&mut store, (1, 2)).unwrap(),
        100,
        "mismatch leaves the value"
    );
    assert_eq!(
        cmpxchg.call(&mut store, (100, 2)).unwrap(),
        100,
        "match replaces it"
    );
    let get_s = instance
        .get_typed_func::<(), i32>(&mut store, "get_s")
        .unwrap();
    assert_eq!(get_s.call(&mut store, ()).unwrap(), 2);

    assert_eq!(i64_op(&mut store, "and", 0b110), 7);
    assert_eq!(i64_op(&mut store, "or", 0b1000), 0b110);
    assert_eq!(i64_op(&mut store, "xor", -1), 0b1110);
    let set_u = instance
        .get_typed_func::<i64, ()>(&mut store, "set_u")
        .unwrap();
    set_u.call(&mut store, i64::MIN).unwrap();
    let get_u = instance
        .get_typed_func::<(), i64>(&mut store, "get_u")
        .unwrap();
    assert_eq!(get_u.call(&mut store, ()).unwrap(), i64::MIN);
}

#[test]
fn a_shared_global_may_only_be_initialized_from_shared_globals() {
    let engine = engine();
    Module::new(
        &engine,
        "(module (global $a (shared i32) (i32.const 1)) (global (shared i32) (global.get $a)))",
    )
    .unwrap();
    let error = Module::new(
        &engine,
        "(module (global $a i32 (i32.const 1)) (global (shared i32) (global.get $a)))",
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Compile(CompileError::Invalid { message, .. }) if message.contains("not shared")),
        "{error}"
    );
}
