//! End-to-end tests of the embedding API: compile, link, call, trap, recover.

use weft::*;

fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

#[test]
fn typed_call_returns_results() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "add") (param i32 i32) (result i32)
              local.get 0 local.get 1 i32.add))"#,
    );
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    assert_eq!(add.call(&mut store, (2, 40)).unwrap(), 42);
}

#[test]
fn recursion_and_multi_value() {
    let (mut store, instance) = instantiate(
        r#"(module
             (func $fib (export "fib") (param i32) (result i32)
               (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                                (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
             (func (export "swap") (param i64 f64) (result f64 i64)
               local.get 1 local.get 0))"#,
    );
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib").unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
    let swap = instance
        .get_typed_func::<(i64, f64), (f64, i64)>(&mut store, "swap")
        .unwrap();
    assert_eq!(swap.call(&mut store, (7, 1.5)).unwrap(), (1.5, 7));
}

#[test]
fn traps_are_typed_and_the_store_stays_usable() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1)
             (func (export "load") (param i32) (result i32) local.get 0 i32.load)
             (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
             (func (export "boom") unreachable)
             (func $rec (export "rec") call $rec))"#,
    );
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let div = instance.get_typed_func::<(i32, i32), i32>(&mut store, "div").unwrap();
    let boom = instance.get_typed_func::<(), ()>(&mut store, "boom").unwrap();
    let rec = instance.get_typed_func::<(), ()>(&mut store, "rec").unwrap();
    for _ in 0..3 {
        assert_eq!(load.call(&mut store, 65536).unwrap_err().trap(), Some(Trap::MemoryOutOfBounds));
        assert_eq!(div.call(&mut store, (1, 0)).unwrap_err().trap(), Some(Trap::IntegerDivisionByZero));
        assert_eq!(div.call(&mut store, (i32::MIN, -1)).unwrap_err().trap(), Some(Trap::IntegerOverflow));
        assert_eq!(boom.call(&mut store, ()).unwrap_err().trap(), Some(Trap::Unreachable));
        assert_eq!(rec.call(&mut store, ()).unwrap_err().trap(), Some(Trap::StackOverflow));
        assert_eq!(load.call(&mut store, 0).unwrap(), 0);
    }
}

#[test]
fn host_functions_see_the_store_and_can_fail() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "add" (func $add (param i32) (result i32)))
             (import "host" "fail" (func $fail))
             (func (export "run") (param i32) (result i32) local.get 0 call $add)
             (func (export "fail") call $fail))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 100_i32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "add", |caller: Caller<'_, i32>, x: i32| x + *caller.data())
        .unwrap()
        .func_wrap("host", "fail", || -> Result<(), Error> { Err(Error::msg("nope")) })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 105);
    *store.data_mut() = 1;
    assert_eq!(run.call(&mut store, 5).unwrap(), 6);
    let fail = instance.get_typed_func::<(), ()>(&mut store, "fail").unwrap();
    let error = fail.call(&mut store, ()).unwrap_err();
    assert_eq!(error.to_string(), "nope");
    assert_eq!(run.call(&mut store, 1).unwrap(), 2);
}
