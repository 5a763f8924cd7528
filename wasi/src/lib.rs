//! WASI preview 1 (`wasi_snapshot_preview1`) for weft's guests: the interface that C, C++,
//! Rust, Zig and AssemblyScript programs built for `wasm32-wasip1` and
//! `wasm32-wasip1-threads` call.
//!
//! ```
//! use weft::{Engine, Linker, Module, Store};
//! use weft_wasi::{DirPerms, ExitStatus, FilePerms, OutputPipe, Program, WasiCtx};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::default();
//! // A C program built for wasm32-wasip1 with wasi-libc.
//! let module = Module::from_file(&engine, "tests/programs/hello.wasm")?;
//! let stdout = OutputPipe::new();
//! let ctx = WasiCtx::builder()
//!     .args(["hello.wasm", "one"])
//!     .env("WEFT_GREETING", "hi")
//!     .stdout(stdout.clone())
//!     .preopened_dir(".", ".", DirPerms::READ, FilePerms::READ)
//!     .build()?;
//! let mut linker = Linker::new(&engine);
//! weft_wasi::add_to_linker(&mut linker, &ctx)?;
//! let mut store = Store::new(&engine, ());
//! // One instance, or one per thread for a wasi-threads program.
//! let program = Program::instantiate(linker, &mut store, &module, &ctx)?;
//! let start = program.instance().get_typed_func::<(), ()>(&mut store, "_start")?;
//! let ran = start.call(&mut store, ());
//! // `proc_exit(n)` is a status, not an error; a trap is an error.
//! assert_eq!(program.finish(&mut store, ran)?, ExitStatus(0));
//! let printed = String::from_utf8(stdout.contents())?;
//! assert!(printed.starts_with("hello, world\nargc=2\n"));
//! # Ok(())
//! # }
//! ```
//!
//! Every function is a store-free host function (`Linker::func_wrap_shared`): one context
//! serves every thread of the program, whichever thread model runs it, and the functions
//! reach the caller's exported `memory` by copying.

pub mod abi;
mod args;
mod blocking;
mod clock;
mod ctx;
mod descriptor;
mod error;
mod fd;
mod guest;
mod io;
mod path;
mod poll;
mod proc;
mod program;
mod sock;
mod stat;
mod state;
mod table;

pub use ctx::{ExitStatus, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxError};
pub use descriptor::{DirPerms, FilePerms, InputPipe, OutputPipe};
pub use program::{Program, ProgramTerminator, REACTOR_INITIALIZE};

use abi::MODULE;
use error::{WasiError, WasiResult};
use guest::Guest;
use state::Shared;
use std::sync::Arc;
use weft::{Linker, SharedCaller};

/// Runs one WASI call: a thread of a program that has exited unwinds instead (it is being
/// stopped); otherwise the call's error number, or its trap.
fn dispatch(
    cx: &Shared,
    caller: SharedCaller<'_>,
    call: impl FnOnce(&Shared, &Guest<'_>) -> WasiResult<()>,
) -> Result<i32, weft::Error> {
    if cx.exit.has_exited() {
        return Err(weft::Trap::Interrupted.into());
    }
    match call(cx, &Guest::new(caller)) {
        Ok(()) => Ok(0),
        Err(WasiError::Errno(errno)) => Ok(i32::from(errno as u16)),
        Err(WasiError::Trap(error)) => Err(error),
    }
}

macro_rules! preview1 {
    ($($module:ident :: $name:ident ( $($arg:ident : $ty:ty),* );)*) => {
        /// The names of the functions [`add_to_linker`] defines (all of preview 1).
        pub const FUNCTIONS: &[&str] = &["proc_exit", $(stringify!($name)),*];

        /// Defines every function of `wasi_snapshot_preview1` in `linker`, serving `ctx`.
        /// They are store-free, so shared and unshared imports alike link to them, and any
        /// thread of the program may call them.
        pub fn add_to_linker<T: 'static>(
            linker: &mut Linker<T>,
            ctx: &WasiCtx,
        ) -> Result<(), weft::Error> {
            let state = Arc::clone(&ctx.0);
            linker.func_wrap_shared(MODULE, "proc_exit", move |code: i32| {
                proc::proc_exit(&state, code)
            })?;
            $(
                let state = Arc::clone(&ctx.0);
                linker.func_wrap_shared(
                    MODULE,
                    stringify!($name),
                    move |caller: SharedCaller<'_>, $($arg: $ty),*| -> Result<i32, weft::Error> {
                        dispatch(&state, caller, |cx, guest| $module::$name(cx, guest, $($arg),*))
                    },
                )?;
            )*
            Ok(())
        }
    };
}

preview1! {
    args::args_get(argv: u32, argv_buf: u32);
    args::args_sizes_get(argc: u32, argv_buf_size: u32);
    args::environ_get(environ: u32, environ_buf: u32);
    args::environ_sizes_get(count: u32, buf_size: u32);
    clock::clock_res_get(id: u32, resolution: u32);
    clock::clock_time_get(id: u32, precision: u64, time: u32);
    fd::fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
    fd::fd_allocate(fd: u32, offset: u64, len: u64);
    fd::fd_close(fd: u32);
    fd::fd_datasync(fd: u32);
    fd::fd_fdstat_get(fd: u32, stat: u32);
    fd::fd_fdstat_set_flags(fd: u32, flags: u32);
    fd::fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
    fd::fd_filestat_get(fd: u32, stat: u32);
    fd::fd_filestat_set_size(fd: u32, size: u64);
    fd::fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32);
    io::fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32);
    fd::fd_prestat_get(fd: u32, prestat: u32);
    fd::fd_prestat_dir_name(fd: u32, path: u32, path_len: u32);
    io::fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32);
    io::fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32);
    fd::fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32);
    fd::fd_renumber(fd: u32, to: u32);
    fd::fd_seek(fd: u32, offset: i64, whence: u32, new_offset: u32);
    fd::fd_sync(fd: u32);
    fd::fd_tell(fd: u32, offset: u32);
    io::fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32);
    path::path_create_directory(fd: u32, path: u32, path_len: u32);
    path::path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, stat: u32);
    path::path_filestat_set_times(
        fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32
    );
    path::path_link(
        old_fd: u32, old_flags: u32, old_path: u32, old_path_len: u32,
        new_fd: u32, new_path: u32, new_path_len: u32
    );
    path::path_open(
        fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32,
        rights_base: u64, rights_inheriting: u64, fdflags: u32, opened: u32
    );
    path::path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, bufused: u32);
    path::path_remove_directory(fd: u32, path: u32, path_len: u32);
    path::path_rename(
        fd: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32
    );
    path::path_symlink(old_path: u32, old_path_len: u32, fd: u32, new_path: u32, new_path_len: u32);
    path::path_unlink_file(fd: u32, path: u32, path_len: u32);
    poll::poll_oneoff(subscriptions: u32, events: u32, count: u32, nevents: u32);
    proc::proc_raise(signal: u32);
    proc::sched_yield();
    proc::random_get(buf: u32, buf_len: u32);
    sock::sock_accept(fd: u32, flags: u32, accepted: u32);
    sock::sock_recv(
        fd: u32, ri_data: u32, ri_data_len: u32, ri_flags: u32, ro_datalen: u32, ro_flags: u32
    );
    sock::sock_send(fd: u32, si_data: u32, si_data_len: u32, si_flags: u32, so_datalen: u32);
    sock::sock_shutdown(fd: u32, how: u32);
}

#[cfg(test)]
mod tests {
    use super::FUNCTIONS;
    use std::collections::BTreeSet;

    #[test]
    fn every_preview1_function_is_defined_once() {
        let names: BTreeSet<_> = FUNCTIONS.iter().collect();
        assert_eq!(names.len(), FUNCTIONS.len(), "a name is defined twice");
        assert_eq!(FUNCTIONS.len(), 46, "preview 1 has 46 functions");
    }
}
