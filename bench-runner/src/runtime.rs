//! What a runtime must do to be timed, and what it is given.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One benchmark: a WASI command module and the world it runs in.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The module's file.
    pub file: PathBuf,
    /// What reports call it: the file as named on the command line, unless changed.
    pub name: String,
    /// The module's bytes, read once: reading the file is not compile time.
    pub bytes: Vec<u8>,
    /// Directories the program gets: host path and guest name.
    pub dirs: Vec<(PathBuf, String)>,
    /// Whether the program's standard output and error reach weft's; otherwise discarded.
    pub guest_output: bool,
}

impl Workload {
    /// Reads `file`, giving the program `dirs`, or, when there are none, the module's own
    /// folder as `.`, where sightglass workloads find their inputs.
    pub fn from_file(
        file: PathBuf,
        dirs: Vec<(PathBuf, String)>,
        guest_output: bool,
    ) -> anyhow::Result<Workload> {
        let bytes = std::fs::read(&file)
            .map_err(|error| anyhow::anyhow!("cannot read `{}`: {error}", file.display()))?;
        let dirs = if dirs.is_empty() {
            let folder = match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            vec![(folder, ".".to_string())]
        } else {
            dirs
        };
        Ok(Workload {
            name: file.display().to_string(),
            file,
            bytes,
            dirs,
            guest_output,
        })
    }
}

/// When the phases of one iteration ended, as the runtime and the program report them.
/// Cloning shares the marks: the runtime's `bench.start`/`bench.end` functions, called from
/// guest code, keep a clone.
#[derive(Clone, Default, Debug)]
pub struct Marks(Arc<Mutex<MarkTimes>>);

#[derive(Default, Debug)]
pub(crate) struct MarkTimes {
    pub instantiated: Option<Instant>,
    pub bench_start: Option<Instant>,
    pub bench_end: Option<Instant>,
}

impl Marks {
    fn times(&self) -> std::sync::MutexGuard<'_, MarkTimes> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The runtime has instantiated the module and is about to call `_start`.
    pub fn instantiated(&self) {
        self.times().instantiated = Some(Instant::now());
    }

    /// The program called `bench.start`.
    pub fn bench_start(&self) {
        self.times().bench_start = Some(Instant::now());
    }

    /// The program called `bench.end`.
    pub fn bench_end(&self) {
        self.times().bench_end = Some(Instant::now());
    }

    pub(crate) fn take(&self) -> MarkTimes {
        std::mem::take(&mut *self.times())
    }
}

/// A WebAssembly runtime the runner can time.
pub trait Runtime {
    /// A compiled module, ready to instantiate.
    type Module;

    /// The runtime's name in reports.
    fn name(&self) -> &str;

    /// Compiles the workload's module with a new engine: nothing may be cached from an
    /// earlier iteration.
    fn compile(&self, workload: &Workload) -> anyhow::Result<Self::Module>;

    /// Instantiates `module` with WASI preview 1 and the `bench` functions (which call
    /// `marks.bench_start()`/`bench_end()`), calls `marks.instantiated()`, runs `_start`, and
    /// fails unless the program ended with status 0.
    fn run(&self, module: &Self::Module, workload: &Workload, marks: &Marks) -> anyhow::Result<()>;
}
