//! The valid inputs a case starts from: the repository's WASI programs and spec scripts,
//! this target's own small modules and scripts (`modules/`), and a wasm-smith module per
//! seed; and what each module offers a command line: its exports with their parameters, and
//! whether it could print to standard error or choose its exit status itself.

pub use crate::outcome::Param;
use anyhow::{Context, Result};
use arbitrary::Unstructured;
use rand::Rng;
use std::path::Path;

/// One export: its name, and its parameters if it is a function.
#[derive(Clone, Debug)]
pub struct Export {
    /// The export's name.
    pub name: String,
    /// A function's parameters; `None` for a memory, table, global or tag.
    pub params: Option<Vec<Param>>,
}

/// What a module can do that matters to checking weft's output.
#[derive(Clone, Debug, Default)]
pub struct Info {
    /// Every export, in order.
    pub exports: Vec<Export>,
    /// It imports a WASI function that writes to a descriptor, which may be standard error.
    pub writes: bool,
    /// It imports `proc_exit`, so it may end the process with a status of its choice.
    pub exits: bool,
    /// It imports `args_get` or `args_sizes_get`: weft lets it have arguments.
    pub reads_args: bool,
}

impl Info {
    /// The exported functions.
    pub fn functions(&self) -> impl Iterator<Item = (&str, &[Param])> {
        self.exports
            .iter()
            .filter_map(|export| Some((export.name.as_str(), export.params.as_deref()?)))
    }
}

/// The module of WASI functions from which a call can print: a guest importing one of these
/// may write to standard error, where weft writes its own error line.
const WASI: &str = "wasi_snapshot_preview1";
const WRITERS: [&str; 3] = ["fd_write", "fd_pwrite", "sock_send"];

/// Reads `bytes`, binary or text as weft tells them apart (by the binary magic), or `None`
/// when they are not a module.
pub fn info(bytes: &[u8]) -> Option<Info> {
    let binary = if bytes.starts_with(b"\0asm") {
        std::borrow::Cow::Borrowed(bytes)
    } else {
        wat::parse_bytes(bytes).ok()?
    };
    binary_info(&binary).ok()
}

fn binary_info(wasm: &[u8]) -> wasmparser::Result<Info> {
    let signatures = crate::signatures::read(wasm)?;
    let mut info = Info::default();
    for (module, name) in &signatures.function_imports {
        if module == WASI {
            info.writes |= WRITERS.contains(&name.as_str());
            info.exits |= name == "proc_exit";
            info.reads_args |= matches!(name.as_str(), "args_get" | "args_sizes_get");
        }
    }
    info.exports = signatures
        .exports
        .into_iter()
        .map(|export| Export {
            name: export.name,
            params: export
                .params
                .map(|params| params.iter().map(crate::exports::param).collect()),
        })
        .collect();
    Ok(info)
}

/// A file of the corpus.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its file name, whose extension says what it is.
    pub name: String,
    /// Its contents, binary or text.
    pub bytes: Vec<u8>,
    /// What it offers, if it is a module.
    pub info: Option<Info>,
    /// Whether `_start` returns soon however it is run (for `weft bench`, which has no
    /// time limit).
    pub terminates: bool,
}

impl Source {
    fn new(name: &str, bytes: Vec<u8>, terminates: bool) -> Source {
        let info = if name.ends_with(".wast") {
            None
        } else {
            info(&bytes)
        };
        Source {
            name: name.to_string(),
            bytes,
            info,
            terminates,
        }
    }

    /// Whether it is a spec script.
    pub fn is_script(&self) -> bool {
        self.name.ends_with(".wast")
    }
}

/// This target's own inputs, each `(name, text, terminates)`.
const OWN: [(&str, &str, bool); 14] = [
    ("calls.wat", include_str!("modules/calls.wat"), true),
    ("exit.wat", include_str!("modules/exit.wat"), true),
    ("stderr.wat", include_str!("modules/stderr.wat"), true),
    ("sandbox.wat", include_str!("modules/sandbox.wat"), true),
    ("threads.wat", include_str!("modules/threads.wat"), false),
    (
        "start_trap.wat",
        include_str!("modules/start_trap.wat"),
        true,
    ),
    (
        "entry_params.wat",
        include_str!("modules/entry_params.wat"),
        true,
    ),
    ("idle.wat", include_str!("modules/idle.wat"), true),
    ("reactor.wat", include_str!("modules/reactor.wat"), true),
    ("preload.wat", include_str!("modules/preload.wat"), true),
    (
        "uses_preload.wat",
        include_str!("modules/uses_preload.wat"),
        true,
    ),
    (
        "bench_user.wat",
        include_str!("modules/bench_user.wat"),
        true,
    ),
    ("basic.wast", include_str!("modules/basic.wast"), true),
    ("failing.wast", include_str!("modules/failing.wast"), false),
];

/// The corpus programs of the repository that may run long or never end on their own
/// (spinning or deadlocking by design), which `weft bench` must not be given unmutated
/// as a bounded case.
const UNENDING: [&str; 2] = ["broken_spinlock.wasm", "lost_wakeup.wasm"];

/// Every input, read once.
pub struct Corpus {
    /// Modules: the repository's programs and `.wat` files, then this target's.
    pub modules: Vec<Source>,
    /// Spec scripts.
    pub scripts: Vec<Source>,
    /// The module of WASI functions wasm-smith may import (those that cannot print, fill the
    /// disk or block the process beyond a timeout).
    wasi_imports: Vec<u8>,
}

impl Corpus {
    /// Reads the repository's inputs under `repo` and this target's own.
    pub fn load(repo: &Path) -> Result<Corpus> {
        let mut sources = Vec::new();
        let programs = repo.join("wasi/tests/programs");
        for (dir, extensions) in [
            (programs.as_path(), &["wasm"][..]),
            (&repo.join("cli/tests"), &["wat", "wast"][..]),
        ] {
            let entries =
                std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
            let mut paths: Vec<_> = entries
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<std::io::Result<_>>()?;
            // Directory order is the file system's; a case must not depend on it.
            paths.sort();
            for path in paths {
                let extension = path.extension().and_then(|ext| ext.to_str());
                if !extension.is_some_and(|ext| extensions.contains(&ext)) {
                    continue;
                }
                let name = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .context("a corpus file name is not UTF-8")?
                    .to_string();
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let terminates = !UNENDING.contains(&name.as_str());
                sources.push(Source::new(&name, bytes, terminates));
            }
        }
        for (name, text, terminates) in OWN {
            sources.push(Source::new(name, text.as_bytes().to_vec(), terminates));
        }
        let (scripts, modules) = sources.into_iter().partition(Source::is_script);
        let wasi_imports =
            wat::parse_str(WASI_IMPORTS).context("the WASI imports module does not parse")?;
        Ok(Corpus {
            modules,
            scripts,
            wasi_imports,
        })
    }

    /// A module by name (one of this target's own).
    pub fn module(&self, name: &str) -> &Source {
        self.modules
            .iter()
            .find(|source| source.name == name)
            .expect("the corpus holds every module of this target")
    }

    /// A wasm-smith module drawn from `rng`, or `None` when the generator gave up.
    pub fn smith(&self, rng: &mut impl Rng) -> Option<Source> {
        let mut entropy = vec![0; 16 * 1024];
        rng.fill_bytes(&mut entropy);
        let imports = rng.gen_bool(0.5);
        let config = wasm_smith::Config {
            export_everything: true,
            // Imports from the WASI module below, called with whatever arguments wasm-smith
            // passes: bad pointers, lengths and descriptors.
            available_imports: imports.then(|| self.wasi_imports.clone()),
            max_imports: if imports { 8 } else { 0 },
            min_funcs: 1,
            max_funcs: 12,
            max_instructions: 100,
            max_memories: 2,
            max_tables: 2,
            // Memories stay small, so that no case grows the process by gigabytes.
            max_memory32_bytes: 8 << 16,
            max_memory64_bytes: 8 << 16,
            memory_max_size_required: true,
            max_table_elements: 1_000,
            table_max_size_required: true,
            // Sometimes function bodies that do not validate, for the validator's errors.
            allow_invalid_funcs: rng.gen_bool(0.1),
            threads_enabled: true,
            shared_everything_threads_enabled: rng.gen_bool(0.2),
            custom_page_sizes_enabled: rng.gen_bool(0.1),
            wide_arithmetic_enabled: rng.gen_bool(0.1),
            // Over-long LEB128s are valid; weft must read them.
            min_uleb_size: if rng.gen_bool(0.1) { 5 } else { 1 },
            ..wasm_smith::Config::default()
        };
        let mut module = wasm_smith::Module::new(config, &mut Unstructured::new(&entropy)).ok()?;
        // Every call ends: wasm-smith's fuel guard traps with `unreachable` instead.
        module.ensure_termination(1_000).ok()?;
        Some(Source::new("smith.wasm", module.to_bytes(), true))
    }
}

/// The WASI functions wasm-smith may import: none that prints (so that a generated module
/// stays silent on standard error), allocates disk space or sleeps past a time limit.
const WASI_IMPORTS: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink"
    (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))))"#;
