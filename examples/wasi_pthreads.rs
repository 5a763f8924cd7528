//! A C program built for `wasm32-wasip1-threads` (pthreads on wasi-libc), run through the
//! `weft-wasi` embedding API in both wasi-threads models: each pthread an instance of its
//! own, then every pthread a block of the program's one instance. Either way the threads
//! share the imported memory and one WASI context; the output is captured and checked.
//!
//! ```text
//! cargo run --release -p weft-examples --example wasi_pthreads
//! ```

use anyhow::{Context, Result, bail};
use std::path::Path;
use weft::{Engine, Linker, Module, Store, WasiThreadsModel};
use weft_wasi::{ExitStatus, OutputPipe, Program, WasiCtx};

/// Two producers and two consumers share a bounded queue guarded by a pthread mutex and two
/// condition variables (`wasi/tests/programs/pthread_condvar.c`).
const PROGRAM: &str = "wasi/tests/programs/pthread_condvar.wasm";

fn main() -> Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(PROGRAM);
    let engine = Engine::default();
    for model in [
        WasiThreadsModel::InstancePerThread,
        WasiThreadsModel::OneInstance,
    ] {
        // Compiled for the model: in one instance, every mutable global the module defines
        // (`__stack_pointer`, `__tls_base`) gets a copy per thread.
        let module =
            Module::from_file_with_model(&engine, &path, model).context("loading the program")?;
        let status = run(&engine, &module, model)?;
        println!("{model:?}: the program's threads finished; exit status {status}");
    }
    Ok(())
}

fn run(engine: &Engine, module: &Module, model: WasiThreadsModel) -> Result<i32> {
    // One WASI context for the whole program: every thread writes through it.
    let stdout = OutputPipe::new();
    let ctx = WasiCtx::builder()
        .arg("pthread_condvar.wasm")
        .stdout(stdout.clone())
        .inherit_stderr()
        .build()?;
    let mut linker = Linker::new(engine);
    weft_wasi::add_to_linker(&mut linker, &ctx)?;

    // The module imports `wasi::thread-spawn`, so it runs as a wasi-threads program in
    // `model`; the shared memory it imports is created with its declared limits.
    let mut store = Store::new(engine, ());
    let program = Program::instantiate_with_model(linker, &mut store, module, &ctx, model)?;
    let start = program
        .instance()
        .get_typed_func::<(), ()>(&mut store, "_start")?;
    let ran = start.call(&mut store, ());
    let status = program.finish(&mut store, ran)?;

    let printed = String::from_utf8(stdout.contents())?;
    print!("{printed}");
    if status != ExitStatus(0) || printed != "consumed 10000 items, sum 50005000\n" {
        bail!("{model:?}: the program ended with {status:?} after printing {printed:?}");
    }
    Ok(status.code())
}
