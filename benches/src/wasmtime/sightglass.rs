//! Wasmtime as a [`Runtime`] of the sightglass-compatible runner, with its WASI preview 1:
//! the same workloads timed by the same code as weft's.

use anyhow::{Result, anyhow, bail};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};
use weft_bench_runner::{Marks, Runtime, Workload};

/// Wasmtime with its default configuration (parallel compilation included), as its CLI runs
/// a module.
pub struct WasmtimeRuntime;

/// A workload compiled by Wasmtime, with its engine.
pub struct WasmtimeModule {
    engine: Engine,
    module: Module,
}

fn wasmtime_error(error: wasmtime::Error) -> anyhow::Error {
    anyhow!("wasmtime: {error:#}")
}

impl Runtime for WasmtimeRuntime {
    type Module = WasmtimeModule;

    fn name(&self) -> &str {
        "wasmtime"
    }

    fn compile(&self, workload: &Workload) -> Result<WasmtimeModule> {
        let mut config = Config::new();
        config.wasm_threads(true).shared_memory(true);
        let engine = Engine::new(&config).map_err(wasmtime_error)?;
        let module = Module::new(&engine, &workload.bytes).map_err(wasmtime_error)?;
        Ok(WasmtimeModule { engine, module })
    }

    fn run(&self, compiled: &WasmtimeModule, workload: &Workload, marks: &Marks) -> Result<()> {
        let mut builder = WasiCtxBuilder::new();
        let name = workload
            .file
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        builder.arg(name);
        if workload.guest_output {
            builder.inherit_stdout().inherit_stderr();
        }
        for (host, guest) in &workload.dirs {
            builder
                .preopened_dir(host, guest, FsPerms::ReadWrite)
                .map_err(wasmtime_error)?;
        }
        let mut linker: Linker<WasiP1Ctx> = Linker::new(&compiled.engine);
        p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(wasmtime_error)?;
        let (start, end) = (marks.clone(), marks.clone());
        linker
            .func_wrap("bench", "start", move || start.bench_start())
            .map_err(wasmtime_error)?
            .func_wrap("bench", "end", move || end.bench_end())
            .map_err(wasmtime_error)?;
        let mut store = Store::new(&compiled.engine, builder.build_p1());
        let instance = linker
            .instantiate(&mut store, &compiled.module)
            .map_err(wasmtime_error)?;
        marks.instantiated();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(wasmtime_error)?;
        match start.call(&mut store, ()) {
            Ok(()) => Ok(()),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                Some(I32Exit(0)) => Ok(()),
                Some(I32Exit(status)) => bail!(
                    "`{}` exited with status {status} on wasmtime",
                    workload.file.display()
                ),
                None => Err(wasmtime_error(error)),
            },
        }
    }
}
