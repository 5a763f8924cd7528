//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    reason = "each integration test crate uses a subset of the helpers"
)]

use weft::{Config, Engine, Error, Instance, Module, Store, Val, WasmFeatures};

/// An engine that validates the shared-everything-threads proposal.
pub fn shared_everything_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    Engine::new(&config).expect("the host is a supported target")
}

/// Compiles and instantiates `wat`, which imports nothing.
pub fn instantiate_with(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).expect("module compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// Calls the export `name`, which returns one value.
pub fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    params: &[Val],
) -> Result<Val, Error> {
    let func = instance.get_func(&mut *store, name).expect("export exists");
    let mut results = [Val::I32(0)];
    func.call(&mut *store, params, &mut results)?;
    Ok(results[0].clone())
}

/// The i32 a successful call returned.
pub fn i32_of(result: Result<Val, Error>) -> i32 {
    result.expect("call succeeds").i32().expect("an i32")
}

/// The `run` export of a counter module: spawns `$worker` twice (through the `$spawn`
/// intrinsic), waits until both have added 1 to the count at address 0 and notified, and
/// returns the counter at 16.
pub const RUN_TWO_WORKERS: &str = r#"(func (export "run") (result i32)
  (local $done i32)
  (drop (call $spawn (ref.func $worker) (i32.const 0)))
  (drop (call $spawn (ref.func $worker) (i32.const 1)))
  (loop $wait
    (local.set $done (i32.atomic.load (i32.const 0)))
    (if (i32.lt_u (local.get $done) (i32.const 2))
      (then
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
        (br $wait))))
  (i32.atomic.load (i32.const 16)))"#;
