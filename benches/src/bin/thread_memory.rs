//! Measures the memory per live thread of every thread-model side, each in a process of its
//! own, and writes `thread_models_memory.json` to criterion's directory for `ratios`.
//!
//! ```text
//! thread_memory              # every side; prints the table and writes the report
//! thread_memory --side ID    # one side, in this process; prints its entry as JSON
//! ```
//!
//! Without arguments it runs itself with `--side` once per side (`native`,
//! `shared_everything/small_module`, ..., wasmtime's with the `wasmtime` feature, then the
//! wasi-threads program's: `program/native`, `program/one_instance/small_program`, ...), so
//! that no side runs in a process where another allocated and freed memory first.

use std::process::ExitCode;
use weft_benches::estimates::criterion_dir;
use weft_benches::programs::ProgramMemorySide;
use weft_benches::thread_models::{
    MEMORY_REPORT_FILE, MemoryEntry, MemoryReport, MemorySide, SIDE_ARG, measure_in_processes,
};

/// Every side: the thread-model module's, then the wasi-threads program's.
fn side_ids() -> Vec<String> {
    let modules = MemorySide::all().into_iter().map(MemorySide::id);
    let programs = ProgramMemorySide::all()
        .into_iter()
        .map(ProgramMemorySide::id);
    modules.chain(programs).collect()
}

fn usage() -> String {
    format!(
        "usage: thread_memory [{SIDE_ARG} ID]\nsides: {}",
        side_ids().join(", ")
    )
}

/// The child's part: measures one side and prints its entry.
fn measure_side(id: &str) -> Result<(), String> {
    let entry = match (MemorySide::from_id(id), ProgramMemorySide::from_id(id)) {
        (Some(side), _) => side.measure(),
        (None, Some(side)) => side.measure(),
        (None, None) => return Err(format!("unknown side `{id}`\n{}", usage())),
    };
    let entry = entry.map_err(|error| format!("{id}: {error}"))?;
    println!("{}", entry.to_json());
    Ok(())
}

fn print_report(report: &MemoryReport) {
    if let Some(reason) = &report.skipped {
        println!("memory per thread: skipped ({reason})");
        return;
    }
    println!(
        "memory per thread: {} batches of {} blocked threads, a process per side, \
         KiB per thread, median (range)",
        report.repetitions, report.threads
    );
    for MemoryEntry {
        id,
        bytes_per_thread,
    } in &report.entries
    {
        let [median, min, max] = [
            bytes_per_thread.median,
            bytes_per_thread.min,
            bytes_per_thread.max,
        ]
        .map(|bytes| bytes / 1024.0);
        println!("  {id:<36}{median:>8.1} ({min:.1}-{max:.1})");
    }
}

/// The parent's part: every side in a child process, then the report.
fn measure_all() -> Result<(), String> {
    let program = std::env::current_exe()
        .map_err(|error| format!("cannot find this program to run it per side: {error}"))?;
    let report = measure_in_processes(&program, &side_ids())?;
    print_report(&report);
    let path = criterion_dir().join(MEMORY_REPORT_FILE);
    report
        .write(&path)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    println!("written to {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => measure_all(),
        [flag, id] if flag == SIDE_ARG => measure_side(id),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("thread_memory: {message}");
            ExitCode::FAILURE
        }
    }
}
