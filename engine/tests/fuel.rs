//! Fuel: `Config::consume_fuel`, `Store::set_fuel`/`get_fuel`, the `OutOfFuel` trap, a store
//! that goes on after more fuel, and threads that run unmetered.

mod support;

use support::{call, i32_of};
use weft::{Config, Engine, Error, Instance, Module, Store, Trap, UsageError, Val, WasmFeatures};

const PROGRAM: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (memory 1 1 shared)
  (func (export "three") (result i32)
    i32.const 1
    i32.const 2
    i32.add)
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "spin") (result i32)
    (loop $forever (br $forever))
    (i32.const 0))
  (func (export "busy") (type $entry)
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get 0))))
    (i32.atomic.store (i32.const 0) (local.get $i)))
  (func (export "done") (result i32) (i32.atomic.load (i32.const 0)))
)
"#;

fn engine(consume_fuel: bool) -> Engine {
    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        .consume_fuel(consume_fuel);
    Engine::new(&config).expect("the host is a supported target")
}

fn instantiate(engine: &Engine) -> (Store<()>, Instance) {
    let module = Module::new(engine, PROGRAM).expect("module compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// Runs the export `count` up to `n`.
fn count(store: &mut Store<()>, instance: &Instance, n: i32) -> Result<Val, Error> {
    call(store, instance, "count", &[Val::I32(n)])
}

#[test]
fn fuel_is_refused_unless_the_engine_consumes_it() {
    let (mut store, instance) = instantiate(&engine(false));
    assert!(matches!(
        store.set_fuel(10),
        Err(Error::Usage(UsageError::FuelNotEnabled))
    ));
    assert!(matches!(
        store.get_fuel(),
        Err(Error::Usage(UsageError::FuelNotEnabled))
    ));
    // Without metering nothing runs out.
    assert_eq!(i32_of(count(&mut store, &instance, 100_000)), 100_000);
}

#[test]
fn a_fresh_store_has_no_fuel() {
    let (mut store, instance) = instantiate(&engine(true));
    assert_eq!(store.get_fuel().unwrap(), 0);
    let error = call(&mut store, &instance, "three", &[]).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::OutOfFuel), "{error}");
}

#[test]
fn straight_line_code_costs_one_per_operator() {
    let (mut store, instance) = instantiate(&engine(true));
    store.set_fuel(100).unwrap();
    assert_eq!(i32_of(call(&mut store, &instance, "three", &[])), 3);
    // i32.const, i32.const, i32.add; `end` is free.
    assert_eq!(store.get_fuel().unwrap(), 97);
}

#[test]
fn fuel_grows_with_the_work_done() {
    let (mut store, instance) = instantiate(&engine(true));
    let mut used = Vec::new();
    for n in [10, 20] {
        store.set_fuel(1_000_000).unwrap();
        assert_eq!(i32_of(count(&mut store, &instance, n)), n);
        used.push(1_000_000 - store.get_fuel().unwrap());
    }
    // Each turn of the loop runs the same eight counted operators.
    assert_eq!((used[1] - used[0]) % 10, 0, "{used:?}");
    let per_turn = (used[1] - used[0]) / 10;
    assert_eq!(per_turn, 8, "{used:?}");
}

#[test]
fn a_runaway_loop_runs_out_and_the_store_goes_on() {
    let (mut store, instance) = instantiate(&engine(true));
    store.set_fuel(10_000).unwrap();
    let error = call(&mut store, &instance, "spin", &[]).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::OutOfFuel), "{error}");
    assert_eq!(store.get_fuel().unwrap(), 0);
    // Too little for a long count: it stops part way.
    store.set_fuel(100).unwrap();
    let error = count(&mut store, &instance, 1_000).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::OutOfFuel), "{error}");
    // Enough fuel and the same store runs to the end.
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(i32_of(count(&mut store, &instance, 1_000)), 1_000);
}

#[test]
fn spawned_threads_run_unmetered() {
    let (mut store, instance) = instantiate(&engine(true));
    store.set_fuel(1_000).unwrap();
    let busy = instance.get_func(&mut store, "busy").unwrap();
    // A hundred thousand turns would need far more than the store's fuel.
    let id = store.spawn(&busy, 100_000).expect("below the limit");
    assert!(matches!(
        store.join_thread(id),
        Some(weft::ThreadOutcome::Finished)
    ));
    assert_eq!(i32_of(call(&mut store, &instance, "done", &[])), 100_000);
    // The store's own thread paid only for its call to `done`.
    assert!(store.get_fuel().unwrap() >= 990);
}
