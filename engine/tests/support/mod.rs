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
