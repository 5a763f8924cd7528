//! The WASI context: what one program sees (arguments, environment, descriptors) and how it
//! ended. One context serves every thread of the program at once.

use crate::descriptor::{
    Descriptor, DirDescriptor, DirPerms, FilePerms, InputPipe, Output, OutputPipe, Stdin,
};
use crate::state::{ProcessExit, Shared};
use crate::table::FdTable;
use cap_std::ambient_authority;
use std::path::Path;
use std::sync::Arc;
use weft::Terminator;

/// Why a context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WasiCtxError {
    #[error("cannot preopen `{}`: {error}", path.display())]
    Preopen {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("{what} may not contain a NUL byte: {text:?}")]
    Nul { what: &'static str, text: String },
    #[error("an environment variable's name may not contain `=`: {0:?}")]
    EnvName(String),
}

/// Builds a [`WasiCtx`]. By default a program gets no arguments, an empty environment, an
/// empty standard input, standard output and error that go nowhere, and no directories.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Stdin,
    stdout: Output,
    stderr: Output,
    preopens: Vec<DirDescriptor>,
    error: Option<WasiCtxError>,
}

impl WasiCtxBuilder {
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// Appends one argument; the first is the program's name, by convention.
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        let arg = arg.into();
        if arg.contains('\0') {
            self.fail(WasiCtxError::Nul {
                what: "an argument",
                text: arg,
            });
        } else {
            self.args.push(arg);
        }
        self
    }

    pub fn args(&mut self, args: impl IntoIterator<Item = impl Into<String>>) -> &mut Self {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    /// Sets one environment variable.
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let (name, value) = (name.into(), value.into());
        if name.contains('=') {
            self.fail(WasiCtxError::EnvName(name));
        } else if name.contains('\0') || value.contains('\0') {
            self.fail(WasiCtxError::Nul {
                what: "an environment variable",
                text: format!("{name}={value}"),
            });
        } else {
            self.env.push((name, value));
        }
        self
    }

    pub fn envs(
        &mut self,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> &mut Self {
        for (name, value) in vars {
            self.env(name, value);
        }
        self
    }

    /// The host's own environment (variables that are not UTF-8 are left out).
    pub fn inherit_env(&mut self) -> &mut Self {
        self.envs(std::env::vars())
    }

    /// Reads standard input from the host's.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = Stdin::Inherited;
        self
    }

    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout = Output::HostStdout;
        self
    }

    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr = Output::HostStderr;
        self
    }

    /// The host's standard input, output and error.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    pub fn stdin(&mut self, pipe: InputPipe) -> &mut Self {
        self.stdin = Stdin::Pipe(pipe);
        self
    }

    /// Reads standard input from a host file, pipe or terminal: a read waits for data as
    /// the host's own standard input would (and a terminated thread stops waiting).
    pub fn stdin_host(&mut self, fd: impl Into<std::os::fd::OwnedFd>) -> &mut Self {
        self.stdin = Stdin::Host(fd.into());
        self
    }

    pub fn stdout(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stdout = Output::Pipe(pipe);
        self
    }

    pub fn stderr(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stderr = Output::Pipe(pipe);
        self
    }

    /// Gives the program the host directory `host_path` under the name `guest_path`. The
    /// program reaches nothing outside it: paths are resolved inside the directory by
    /// `cap-std`, which refuses `..`, absolute paths and symbolic links that lead out.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl Into<String>,
        dir_perms: DirPerms,
        file_perms: FilePerms,
    ) -> &mut Self {
        let host_path = host_path.as_ref();
        match cap_std::fs::Dir::open_ambient_dir(host_path, ambient_authority()) {
            Ok(dir) => self.preopens.push(DirDescriptor::new(
                dir,
                Some(guest_path.into()),
                dir_perms,
                file_perms,
            )),
            Err(error) => self.fail(WasiCtxError::Preopen {
                path: host_path.to_path_buf(),
                error,
            }),
        }
        self
    }

    fn fail(&mut self, error: WasiCtxError) {
        self.error.get_or_insert(error);
    }

    /// The context, or the first thing that was wrong with it.
    pub fn build(&mut self) -> Result<WasiCtx, WasiCtxError> {
        let builder = std::mem::take(self);
        if let Some(error) = builder.error {
            return Err(error);
        }
        let mut descriptors = vec![
            Descriptor::Stdin(builder.stdin),
            Descriptor::Output(builder.stdout),
            Descriptor::Output(builder.stderr),
        ];
        descriptors.extend(builder.preopens.into_iter().map(Descriptor::Dir));
        Ok(WasiCtx(Arc::new(Shared {
            args: builder.args,
            env: builder
                .env
                .into_iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
            table: FdTable::new(descriptors),
            exit: ProcessExit::default(),
            monotonic_epoch: crate::clock::host_monotonic(),
        })))
    }
}

/// A program's WASI state, shared by all its threads: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct WasiCtx(pub(crate) Arc<Shared>);

impl WasiCtx {
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The status the program passed to `proc_exit`, from whichever thread called it first;
    /// `None` while no thread has.
    pub fn exit_code(&self) -> Option<i32> {
        self.0.exit.code()
    }

    /// Makes `proc_exit` stop what `terminator` stops (a store's threads, or a wasi-threads
    /// process), so that an exit from any thread ends the whole program: running code traps
    /// at once, and threads blocked in `memory.atomic.wait` or in a WASI call
    /// wake at once. If the program has exited already, it is stopped now.
    pub fn stop_on_exit(&self, terminator: Terminator) {
        self.on_exit(move |_| terminator.terminate());
    }

    /// Runs `action` with the exit status when the program calls `proc_exit`, on the thread
    /// that calls it (before that thread unwinds), or now if it has exited already. Each
    /// action runs once.
    pub fn on_exit(&self, action: impl FnOnce(i32) + Send + 'static) {
        self.0.exit.on_exit(action);
    }

    /// How a program ended, given the result of the call that ran it (its `_start`, after
    /// joining its threads): the status it passed to `proc_exit` if any thread exited,
    /// whatever the call returned (the exit stopped the other threads); status 0 if the call
    /// returned; otherwise the call's error, a trap.
    pub fn exit_status(&self, ran: Result<(), weft::Error>) -> Result<ExitStatus, weft::Error> {
        match (self.exit_code(), ran) {
            (Some(code), _) => Ok(ExitStatus(code)),
            (None, Ok(())) => Ok(ExitStatus(0)),
            (None, Err(error)) => Err(error),
        }
    }
}

/// How a WASI program ended without a trap: the status it gave `proc_exit`, or 0 when its
/// entry point returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus(pub i32);

impl ExitStatus {
    pub fn code(self) -> i32 {
        self.0
    }

    pub fn success(self) -> bool {
        self.0 == 0
    }
}

/// The error with which `proc_exit` unwinds the thread that called it. An embedder that calls
/// the entry point itself finds it inside [`weft::Error::Host`]; [`WasiCtx::exit_status`]
/// turns it into the status.
#[derive(Debug, thiserror::Error)]
#[error("the program exited with status {0}")]
pub struct I32Exit(pub i32);
