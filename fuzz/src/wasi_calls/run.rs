//! Runs one module in weft with WASI over the sandbox, as `weft run` would: standard input
//! empty, standard output and error captured, a time limit enforced with the store's
//! terminator (as `weft run -W timeout=...` does), and a panic anywhere in weft caught and
//! reported instead of ending the campaign. What the checks need is read back: the errnos,
//! the memory, the output.

use super::program::Preopen;
use crate::panics;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;
use weft::{Engine, Linker, Module, Store, Terminator, Val};
use weft_wasi::{InputPipe, OutputPipe, Program, WasiCtx};

/// A preopen and the host directory it gives.
pub struct HostPreopen {
    /// The host directory.
    pub host: PathBuf,
    /// How the guest sees it.
    pub preopen: Preopen,
}

/// Arguments and environment the guest reads with `args_get` and `environ_get`: few and
/// short, so that the generator's buffers hold them.
const ARGS: &[&str] = &["wasi-calls", "two words", ""];
const ENV: &[(&str, &str)] = &[("HOME", "/sandbox"), ("EMPTY", "")];

/// How a case ended.
#[derive(Debug)]
pub enum Ending {
    /// `_start` returned.
    Returned,
    /// The guest called `proc_exit` with this status.
    Exited(i32),
    /// An error unwound the guest: a host error (a bad pointer, an undefined flag) or a
    /// trap, as its message.
    Trapped(String),
    /// The time limit stopped it.
    TimedOut,
    /// weft panicked, with this message.
    Panicked(String),
}

/// What a case did.
pub struct CaseRun {
    /// How it ended.
    pub ending: Ending,
    /// The errnos of the calls that returned, in order.
    pub errnos: Vec<i32>,
    /// The guest memory at the end (empty if weft panicked).
    pub memory: Vec<u8>,
    /// Everything the guest wrote to standard output, then to standard error.
    pub output: Vec<u8>,
}

/// Runs `wat` with `preopens` for at most `limit`. An error is a module or context that
/// could not be set up, which no generated case should have.
pub fn run_case(
    engine: &Engine,
    wat: &str,
    preopens: &[HostPreopen],
    limit: Duration,
) -> Result<CaseRun, String> {
    let module = Module::new(engine, wat)
        .map_err(|error| format!("the module does not compile: {error}"))?;
    let (stdout, stderr) = (OutputPipe::new(), OutputPipe::new());
    let ctx = context(preopens, &stdout, &stderr)?;
    let mut store = Store::new(engine, ());
    let watchdog = Watchdog::start(limit, store.terminator());
    let attempt = panics::catch(|| execute(engine, &mut store, &module, &ctx));
    let timed_out = watchdog.disarm();
    let (ending, errnos, memory) = match attempt {
        Err(panic) => (Ending::Panicked(panic), Vec::new(), Vec::new()),
        Ok(executed) => {
            let executed = executed?;
            let ending = match executed.status {
                Ok(_) => ctx.exit_code().map_or(Ending::Returned, Ending::Exited),
                Err(_) if timed_out => Ending::TimedOut,
                Err(error) => Ending::Trapped(error.to_string()),
            };
            (ending, executed.errnos, executed.memory)
        }
    };
    let output = [stdout.contents(), stderr.contents()].concat();
    Ok(CaseRun {
        ending,
        errnos,
        memory,
        output,
    })
}

fn context(
    preopens: &[HostPreopen],
    stdout: &OutputPipe,
    stderr: &OutputPipe,
) -> Result<WasiCtx, String> {
    let mut builder = WasiCtx::builder();
    builder
        .args(ARGS.iter().copied())
        .envs(ENV.iter().copied())
        .stdin(InputPipe::new(Vec::new()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for HostPreopen { host, preopen } in preopens {
        builder.preopened_dir(
            host,
            preopen.guest_name,
            preopen.dir_perms,
            preopen.file_perms,
        );
    }
    builder
        .build()
        .map_err(|error| format!("the WASI context cannot be built: {error}"))
}

/// What running `_start` gave, read back from the instance.
struct Executed {
    status: Result<weft_wasi::ExitStatus, weft::Error>,
    errnos: Vec<i32>,
    memory: Vec<u8>,
}

fn execute(
    engine: &Engine,
    store: &mut Store<()>,
    module: &Module,
    ctx: &WasiCtx,
) -> Result<Executed, String> {
    let mut linker = Linker::new(engine);
    weft_wasi::add_to_linker(&mut linker, ctx)
        .map_err(|error| format!("the WASI functions cannot be defined: {error}"))?;
    let program = Program::instantiate(linker, store, module, ctx)
        .map_err(|error| format!("the module does not instantiate: {error}"))?;
    let instance = program.instance();
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|error| format!("no `_start`: {error}"))?;
    let ran = start.call(&mut *store, ());
    let status = program.finish(store, ran);
    let mut global = |name: &str| match instance
        .get_global(&mut *store, name)
        .map(|global| global.get(&mut *store))
    {
        Some(Val::I32(value)) => Ok(value),
        _ => Err(format!("no i32 global `{name}`")),
    };
    let returned = global("returned")?;
    let errnos = (0..returned)
        .map(|index| global(&format!("errno{index}")))
        .collect::<Result<Vec<_>, _>>()?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or("no memory")?;
    let mut bytes = vec![0; memory.data_size(&*store)];
    memory
        .read(&*store, 0, &mut bytes)
        .map_err(|error| format!("the memory cannot be read: {error}"))?;
    Ok(Executed {
        status,
        errnos,
        memory: bytes,
    })
}

/// Stops a store when its case has run too long: a thread that waits for the case to end
/// or the limit to pass, whichever comes first.
struct Watchdog {
    disarm: Sender<()>,
    thread: JoinHandle<bool>,
}

impl Watchdog {
    fn start(limit: Duration, terminator: Terminator) -> Watchdog {
        let (disarm, disarmed) = mpsc::channel::<()>();
        let thread = thread::spawn(move || match disarmed.recv_timeout(limit) {
            Err(RecvTimeoutError::Timeout) => {
                terminator.terminate();
                true
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
        });
        Watchdog { disarm, thread }
    }

    /// Ends the watch; returns whether the limit passed first and the store was stopped.
    fn disarm(self) -> bool {
        // The thread may have fired and ended already, dropping its end.
        let _ = self.disarm.send(());
        self.thread.join().unwrap_or(true)
    }
}
