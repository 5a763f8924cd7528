//! The same kernels on wasmtime, for comparison (feature `wasmtime`, off by default): the
//! compute kernels, and the thread-models module under the instance-per-thread model with
//! `thread-spawn` implemented here ([`WasmtimeGuest`]), and WASI workloads for the sightglass
//! runner ([`WasmtimeRuntime`]). Wasmtime runs with its default
//! configuration plus shared memories, as an embedder would get it.

mod compute;
mod sightglass;
mod wasi_threads;

pub use compute::{WasmtimeFib, WasmtimeHistogram, WasmtimeMatmul};
pub use sightglass::WasmtimeRuntime;
pub use wasi_threads::WasmtimeGuest;

use wasmtime::{Config, Engine, Instance, Module, Store, TypedFunc, WasmParams, WasmResults};
use weft::Error;

/// Wasmtime's errors as the benches' error type.
fn wasmtime_error(error: wasmtime::Error) -> Error {
    Error::msg(format!("wasmtime: {error:#}"))
}

/// An engine with wasmtime's defaults, plus shared memories, which wasmtime leaves off by
/// default.
pub fn engine() -> Result<Engine, Error> {
    let mut config = Config::new();
    config.wasm_threads(true).shared_memory(true);
    Engine::new(&config).map_err(wasmtime_error)
}

/// Compiles module text, turned into binary by the parser weft uses.
fn compile(engine: &Engine, text: &str) -> Result<Module, Error> {
    let binary = wat::parse_str(text).map_err(|error| Error::msg(error.to_string()))?;
    Module::new(engine, binary).map_err(wasmtime_error)
}

/// A module without imports, instantiated in a store of its own.
fn instantiate(engine: &Engine, text: &str) -> Result<(Store<()>, Instance), Error> {
    let module = compile(engine, text)?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).map_err(wasmtime_error)?;
    Ok((store, instance))
}

/// Export `name` of `instance`, with its type checked once.
fn typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
) -> Result<TypedFunc<P, R>, Error> {
    instance.get_typed_func(store, name).map_err(wasmtime_error)
}
