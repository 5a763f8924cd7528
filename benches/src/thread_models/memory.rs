//! Memory per live thread: the growth of the process's resident set while blocked threads
//! are alive, per thread. A measurement, not a time, so it is not a criterion benchmark: the
//! `thread_memory` binary measures each side in a process of its own ([`measure_in_processes`]
//! starts it once per side) and writes the report as JSON next to criterion's estimates for
//! the `ratios` tool.

use super::{GuestThreads, ModuleSize, NATIVE_ID, Runtime, ThreadArg, thread_models_engine};
use crate::host::NativeBlocked;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use weft::Error;

/// Threads per batch, and the batches measured (on top of a first, uncounted one; the median
/// is reported).
pub const BLOCKED_THREADS: u32 = 64;
pub const MEMORY_REPETITIONS: usize = 5;

/// The argument that makes the `thread_memory` binary measure one side (its report id) and
/// print that side's entry as JSON.
pub const SIDE_ARG: &str = "--side";

/// How long threads get, once all have announced themselves, to be inside their wait; the
/// pages their wait touches are then resident.
const SETTLE: Duration = Duration::from_millis(20);

/// Threads that can be started blocked and released, for measuring what each costs.
pub trait BlockedThreads {
    /// Starts `count` more threads and returns once each is blocked (or about to block).
    fn block(&mut self, count: u32) -> Result<(), Error>;
    /// Wakes every blocked thread and joins them all.
    fn release(&mut self) -> Result<(), Error>;
}

/// Guest threads blocked in `memory.atomic.wait32` until the main instance notifies them.
pub struct GuestBlocked<'a> {
    guest: &'a mut dyn GuestThreads,
    blocked: u32,
}

impl<'a> GuestBlocked<'a> {
    /// Blocks threads of `guest`, which must have no other threads running.
    pub fn new(guest: &'a mut dyn GuestThreads) -> Result<GuestBlocked<'a>, Error> {
        guest.reset()?;
        Ok(GuestBlocked { guest, blocked: 0 })
    }

    /// Threads that have announced themselves blocked.
    pub fn announced(&mut self) -> Result<u32, Error> {
        self.guest.announced()
    }
}

impl BlockedThreads for GuestBlocked<'_> {
    fn block(&mut self, count: u32) -> Result<(), Error> {
        for _ in 0..count {
            self.guest.spawn(ThreadArg::block())?;
        }
        self.blocked += count;
        while self.guest.announced()? < self.blocked {
            std::thread::yield_now();
        }
        Ok(())
    }

    fn release(&mut self) -> Result<(), Error> {
        self.guest.unblock()?;
        self.guest.join_all()?;
        self.blocked = 0;
        self.guest.reset()
    }
}

/// Native threads blocked on a `Condvar` ([`NativeBlocked`], also the terminate benchmark's
/// baseline).
#[derive(Default)]
pub struct NativeBlockedThreads(Vec<NativeBlocked>);

impl BlockedThreads for NativeBlockedThreads {
    fn block(&mut self, count: u32) -> Result<(), Error> {
        self.0.push(NativeBlocked::block(count));
        Ok(())
    }

    fn release(&mut self) -> Result<(), Error> {
        for blocked in self.0.drain(..) {
            blocked.stop_and_join();
        }
        Ok(())
    }
}

/// The process's resident set in bytes: `VmRSS` of `/proc/self/status`, which is the resident
/// page count of `/proc/self/statm` times the page size, read without asking libc for the
/// page size. `None` off Linux or if the file cannot be read.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resident-set growth per thread as `count` more threads block, in `repetitions` batches on
/// top of each other: nothing is freed between batches, so no batch reuses what an earlier
/// one left to the allocator. A first batch, not counted, lets one-time costs (allocator
/// arenas, lazily created pools) happen first, and draws first on the free memory that
/// setting up the side (compiling, instantiating) left to the allocator, which a counted
/// batch would reuse without it showing. `None` where the resident set cannot be read.
pub fn bytes_per_thread(
    threads: &mut dyn BlockedThreads,
    count: u32,
    repetitions: usize,
) -> Result<Option<ThreadMemory>, Error> {
    if resident_bytes().is_none() || count == 0 {
        return Ok(None);
    }
    let measured = grow_in_batches(threads, count, repetitions);
    // Released whatever happened, so that no thread outlives the measurement.
    let released = threads.release();
    let measured = measured?;
    released?;
    Ok(ThreadMemory::of(measured))
}

/// The growth per thread of each batch but the first.
fn grow_in_batches(
    threads: &mut dyn BlockedThreads,
    count: u32,
    repetitions: usize,
) -> Result<Vec<f64>, Error> {
    threads.block(count)?;
    let mut samples = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let before = resident_bytes();
        threads.block(count)?;
        std::thread::sleep(SETTLE);
        if let (Some(before), Some(during)) = (before, resident_bytes()) {
            samples.push((during as f64 - before as f64) / f64::from(count));
        }
    }
    Ok(samples)
}

/// A side of the memory report: native threads, or the module of one size on one runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemorySide {
    Native,
    Guest(Runtime, ModuleSize),
}

impl MemorySide {
    /// Native, then every runtime for each module size.
    pub fn all() -> Vec<MemorySide> {
        let guests = ModuleSize::ALL.into_iter().flat_map(|size| {
            Runtime::ALL
                .iter()
                .map(move |&runtime| MemorySide::Guest(runtime, size))
        });
        std::iter::once(MemorySide::Native).chain(guests).collect()
    }

    /// Its id in the report: `native`, or `<runtime>/<module size>`.
    pub fn id(self) -> String {
        match self {
            MemorySide::Native => NATIVE_ID.into(),
            MemorySide::Guest(runtime, size) => format!("{}/{}", runtime.id(), size.id()),
        }
    }

    /// The side whose [`MemorySide::id`] is `id`, if this build has it (wasmtime's only
    /// with the `wasmtime` feature).
    pub fn from_id(id: &str) -> Option<MemorySide> {
        MemorySide::all().into_iter().find(|side| side.id() == id)
    }

    /// Measures this side in the calling process, which should have done nothing else: what
    /// earlier work left to the allocator would be reused by the threads, uncounted.
    pub fn measure(self) -> Result<MemoryEntry, Error> {
        let measured = match self {
            MemorySide::Native => bytes_per_thread(
                &mut NativeBlockedThreads::default(),
                BLOCKED_THREADS,
                MEMORY_REPETITIONS,
            )?,
            MemorySide::Guest(runtime, size) => {
                let mut guest = runtime.guest(&thread_models_engine()?, size)?;
                let mut blocked = GuestBlocked::new(guest.as_mut())?;
                bytes_per_thread(&mut blocked, BLOCKED_THREADS, MEMORY_REPETITIONS)?
            }
        };
        let bytes_per_thread = measured
            .ok_or_else(|| Error::msg("the resident set size cannot be read in this process"))?;
        Ok(MemoryEntry {
            id: self.id(),
            bytes_per_thread,
        })
    }
}

/// Measures each of the sides `ids` names in a new process, `program --side <id>`, which must
/// print the side's [`MemoryEntry`] as JSON on stdout (the `thread_memory` binary; its stderr is
/// passed through). A fresh process for each side, because memory one side freed would be
/// reused, uncounted, by the next one's threads. Where the resident set cannot be read, the
/// report says so instead and no process is started.
pub fn measure_in_processes(program: &Path, ids: &[String]) -> Result<MemoryReport, String> {
    let mut report = MemoryReport {
        threads: BLOCKED_THREADS,
        repetitions: MEMORY_REPETITIONS,
        entries: Vec::new(),
        skipped: None,
    };
    if resident_bytes().is_none() {
        report.skipped = Some(
            "the resident set size is read from /proc/self/status, which only Linux has".into(),
        );
        return Ok(report);
    }
    for id in ids {
        let failed = |why: String| format!("measuring {id} with {}: {why}", program.display());
        let output = Command::new(program)
            .args([SIDE_ARG, id])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|error| failed(error.to_string()))?;
        if !output.status.success() {
            return Err(failed(output.status.to_string()));
        }
        let json = serde_json::from_slice(&output.stdout)
            .map_err(|error| failed(format!("its output is not JSON: {error}")))?;
        let entry = MemoryEntry::from_json(&json).map_err(failed)?;
        if entry.id != *id {
            return Err(failed(format!("it measured `{}`", entry.id)));
        }
        report.entries.push(entry);
    }
    Ok(report)
}

/// The median and range of a side's samples, in bytes per thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThreadMemory {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl ThreadMemory {
    /// The median and range of `samples`; `None` without any.
    pub fn of(samples: Vec<f64>) -> Option<ThreadMemory> {
        let min = samples.iter().copied().reduce(f64::min)?;
        let max = samples.iter().copied().reduce(f64::max)?;
        Some(ThreadMemory {
            median: median(samples)?,
            min,
            max,
        })
    }
}

fn median(mut samples: Vec<f64>) -> Option<f64> {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    match samples.len() {
        0 => None,
        len if len % 2 == 1 => Some(samples[middle]),
        _ => Some((samples[middle - 1] + samples[middle]) / 2.0),
    }
}

/// One side's memory per live thread.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEntry {
    /// `native`, or `<side>/<module>` (`shared_everything/10k_functions`, ...).
    pub id: String,
    pub bytes_per_thread: ThreadMemory,
}

/// Every side's memory per thread, as `thread_memory` writes it for `ratios`.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryReport {
    /// Threads alive at once while measuring.
    pub threads: u32,
    pub repetitions: usize,
    pub entries: Vec<MemoryEntry>,
    /// Why nothing was measured (the resident set is not readable here).
    pub skipped: Option<String>,
}

impl MemoryEntry {
    pub fn to_json(&self) -> serde_json::Value {
        let bytes = self.bytes_per_thread;
        serde_json::json!({
            "id": self.id,
            "bytes_per_thread": bytes.median,
            "min": bytes.min,
            "max": bytes.max,
        })
    }

    pub fn from_json(json: &serde_json::Value) -> Result<MemoryEntry, String> {
        let bytes = |key: &str| {
            json[key]
                .as_f64()
                .ok_or_else(|| format!("an entry has no `{key}`"))
        };
        Ok(MemoryEntry {
            id: json["id"].as_str().ok_or("an entry has no `id`")?.into(),
            bytes_per_thread: ThreadMemory {
                median: bytes("bytes_per_thread")?,
                min: bytes("min")?,
                max: bytes("max")?,
            },
        })
    }
}

impl MemoryReport {
    pub fn to_json(&self) -> serde_json::Value {
        let entries: Vec<_> = self.entries.iter().map(MemoryEntry::to_json).collect();
        serde_json::json!({
            "threads": self.threads,
            "repetitions": self.repetitions,
            "entries": entries,
            "skipped": self.skipped,
        })
    }

    pub fn from_json(json: &serde_json::Value) -> Result<MemoryReport, String> {
        let number = |key: &str| {
            json[key]
                .as_u64()
                .ok_or_else(|| format!("`{key}` is not a count"))
        };
        let entries = json["entries"]
            .as_array()
            .ok_or("`entries` is not a list")?
            .iter()
            .map(MemoryEntry::from_json)
            .collect::<Result<_, String>>()?;
        Ok(MemoryReport {
            threads: u32::try_from(number("threads")?).map_err(|error| error.to_string())?,
            repetitions: usize::try_from(number("repetitions")?)
                .map_err(|error| error.to_string())?,
            entries,
            skipped: json["skipped"].as_str().map(String::from),
        })
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }

    /// The report at `path`; `Ok(None)` if there is no file.
    pub fn read(path: &Path) -> Result<Option<MemoryReport>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot read {} ({error})", path.display())),
        };
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| format!("{} is not valid JSON: {error}", path.display()))?;
        MemoryReport::from_json(&json)
            .map(Some)
            .map_err(|error| format!("{}: {error}", path.display()))
    }
}
