//! Telling profilers where the JIT code is: `perf`'s map files.
//!
//! `perf report` cannot name code that no file on disk holds. A JIT may list its code in
//! `/tmp/perf-PID.map`, one `START SIZE NAME` line (hexadecimal, no `0x`) per function, and
//! perf reads it when it reports on process PID. weft appends each module's functions as it
//! compiles them, named as in trap backtraces (`module!function`, or `<wasm function N>`).

use super::error::Error;
use crate::vm::ModuleRuntime;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::sync::Mutex;

/// How weft tells profilers about the code it compiles ([`Config::profiler`]).
///
/// [`Config::profiler`]: crate::Config::profiler
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// Nothing is written.
    #[default]
    None,
    /// Every compiled function is listed in `/tmp/perf-PID.map`, for `perf report`.
    PerfMap,
}

/// The process's map file, opened on first use; one lock, so that lines of modules compiled
/// on different threads do not interleave.
static PERF_MAP: Mutex<Option<File>> = Mutex::new(None);

/// The path of this process's perf map file.
pub fn perf_map_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("perf-{}.map", std::process::id()))
}

/// Opens the perf map, once per process, so that an engine configured to write it fails to
/// build when it cannot ([`Error::Io`]).
pub(crate) fn open_perf_map() -> Result<(), Error> {
    let mut file = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if file.is_none() {
        let path = perf_map_path();
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| Error::Io { path, error })?;
        *file = Some(opened);
    }
    Ok(())
}

/// Appends the functions of `module` and its array-call trampolines to the perf map that
/// [`open_perf_map`] opened. A write that fails (a full disk) loses those names only: a
/// profiler's aid does not fail a compilation.
pub(crate) fn register_module(module: &ModuleRuntime) {
    let mut lines = String::new();
    for defined in 0..module.info.function_bodies.len() as u32 {
        let code = module.code.function(defined);
        let index = module.info.num_imported_functions + defined;
        let name = module.info.names.function_label(index);
        let _ = writeln!(lines, "{:x} {:x} {name}", code.start, code.len);
    }
    for type_index in 0..module.info.types.len() as u32 {
        let code = module.code.array_trampoline(type_index);
        if code.len > 0 {
            let _ = writeln!(
                lines,
                "{:x} {:x} array-call trampoline of type {type_index}",
                code.start, code.len
            );
        }
    }
    let mut file = PERF_MAP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = &mut *file {
        let _ = file.write_all(lines.as_bytes());
    }
}
