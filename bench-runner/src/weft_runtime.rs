//! weft as a [`Runtime`].

use crate::runtime::{Marks, Runtime, Workload};
use anyhow::{Context, Result, bail};
use weft::{Config, Engine, Linker, Module, Store, WasiThreadsModel};
use weft_wasi::{DirPerms, FilePerms, Program, WasiCtx};

/// weft, with the engine configuration the runner's user chose.
pub struct WeftRuntime {
    config: Config,
    model: WasiThreadsModel,
    preloads: Vec<(String, Vec<u8>)>,
}

/// A workload compiled by weft, with its own engine and the modules preloaded for it.
pub struct WeftModule {
    engine: Engine,
    module: Module,
    preloads: Vec<(String, Module)>,
}

impl WeftRuntime {
    /// weft with `config`, running wasi-threads programs in `model`.
    pub fn new(config: Config, model: WasiThreadsModel) -> WeftRuntime {
        WeftRuntime {
            config,
            model,
            preloads: Vec::new(),
        }
    }

    /// Instantiates `bytes` before each workload and links its exports as the imports of
    /// module `name` (`--preload`). It is compiled with the workload, in its compile time.
    pub fn preload(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.preloads.push((name.into(), bytes));
    }
}

impl Runtime for WeftRuntime {
    type Module = WeftModule;

    fn name(&self) -> &str {
        "weft"
    }

    fn compile(&self, workload: &Workload) -> Result<WeftModule> {
        let engine = Engine::new(&self.config)?;
        let module = Module::new_with_model(&engine, &workload.bytes, self.model)
            .with_context(|| format!("cannot compile `{}`", workload.file.display()))?;
        let preloads = self
            .preloads
            .iter()
            .map(|(name, bytes)| {
                let module = Module::new(&engine, bytes)
                    .with_context(|| format!("cannot compile the preload `{name}`"))?;
                Ok((name.clone(), module))
            })
            .collect::<Result<_>>()?;
        Ok(WeftModule {
            engine,
            module,
            preloads,
        })
    }

    fn run(&self, compiled: &WeftModule, workload: &Workload, marks: &Marks) -> Result<()> {
        let ctx = wasi_ctx(workload)?;
        let mut linker = Linker::new(&compiled.engine);
        weft_wasi::add_to_linker(&mut linker, &ctx)?;
        let mut store = Store::new(&compiled.engine, ());
        for (name, module) in &compiled.preloads {
            let instance = linker.instantiate(&mut store, module)?;
            linker.instance(&mut store, name, instance)?;
        }
        if !linker.is_defined("bench", "start") {
            let start = marks.clone();
            let end = marks.clone();
            linker
                .func_wrap_shared("bench", "start", move || start.bench_start())?
                .func_wrap_shared("bench", "end", move || end.bench_end())?;
        }
        let program =
            Program::instantiate_with_model(linker, &mut store, &compiled.module, &ctx, self.model);
        let program = match program {
            Ok(program) => program,
            Err(error) => return check_exit(workload, ctx.exit_status(Err(error))),
        };
        marks.instantiated();
        let ran = match program.instance().get_func(&mut store, "_start") {
            Some(start) => start
                .typed::<(), ()>(&store)
                .with_context(|| {
                    format!(
                        "`{}`'s `_start` is not a program's entry point (no parameters, \
                         no results)",
                        workload.file.display()
                    )
                })?
                .call(&mut store, ()),
            None => bail!("`{}` exports no `_start`", workload.file.display()),
        };
        check_exit(workload, program.finish(&mut store, ran))
    }
}

/// Fails unless the program ended with status 0.
fn check_exit(
    workload: &Workload,
    status: Result<weft_wasi::ExitStatus, weft::Error>,
) -> Result<()> {
    let status = status.with_context(|| format!("`{}` failed", workload.file.display()))?;
    if !status.success() {
        bail!(
            "`{}` exited with status {}",
            workload.file.display(),
            status.code()
        );
    }
    Ok(())
}

/// The program's WASI context: its file name as its one argument, its directories, and its
/// output inherited or discarded.
fn wasi_ctx(workload: &Workload) -> Result<WasiCtx> {
    let name = workload
        .file
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let mut builder = WasiCtx::builder();
    builder.arg(name);
    if workload.guest_output {
        builder.inherit_stdout().inherit_stderr();
    }
    for (host, guest) in &workload.dirs {
        builder.preopened_dir(host, guest, DirPerms::ALL, FilePerms::ALL);
    }
    Ok(builder.build()?)
}
