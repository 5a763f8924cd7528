//! A case's module, as WAT text: it imports the WASI functions it calls, exports `memory` and
//! `_start`, and `_start` is a sequence of calls whose arguments were drawn from the seed
//! (see `args` for single arguments, `recipes` for calls that build on each other). Each
//! call's errno goes to an exported global, `errno<i>`, and `returned` counts the calls
//! that returned: globals, because a wild pointer given to one call may make the host write
//! anywhere in memory, but never into a global.

use super::calls::{Function, function};
use super::memory::{MEMORY_BYTES, PAGES, SEQUENCE_AT_MOST, Staging, wat_string};
use super::paths::{PathClass, classify};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::fmt::Write;
use weft_wasi::{DirPerms, FilePerms};

/// A case's module and what it was made to do.
pub struct Program {
    /// The module's text: the case's reproducer.
    pub wat: String,
    /// The preopens, as fds 3, 4, ...: all of them the sandbox.
    pub preopens: Vec<Preopen>,
    /// The calls that return an errno, in order: call `i` stores its errno in `errno<i>`.
    pub calls: Vec<PlannedCall>,
    /// The status `_start` ends with by calling `proc_exit`, if it does.
    pub exit: Option<i32>,
}

/// A preopened directory as the guest sees it.
#[derive(Copy, Clone, Debug)]
pub struct Preopen {
    /// The name `fd_prestat_dir_name` gives.
    pub guest_name: &'static str,
    /// What the guest may do to the directory.
    pub dir_perms: DirPerms,
    /// What the guest may do to files under it.
    pub file_perms: FilePerms,
}

/// A call of the module, for the report and the checks.
pub struct PlannedCall {
    /// The WASI function called.
    pub function: &'static str,
    /// Its path arguments, in order.
    pub paths: Vec<PathArg>,
}

/// A path argument of a call.
pub struct PathArg {
    /// The path, printable (for messages).
    pub text: String,
    /// What the path tries.
    pub class: PathClass,
    /// Whether the host resolves it (a link target is stored instead).
    pub resolved: bool,
    /// Whether the host reads exactly these bytes: false when the pointer or length was
    /// made wild, so that the host reads something else or traps.
    pub exact: bool,
}

/// A wasm operand of a call.
#[derive(Copy, Clone, Debug)]
pub enum Operand {
    /// An `i32` constant.
    I32(i32),
    /// An `i64` constant.
    I64(i64),
    /// The `i32` stored at this address when the call runs: a descriptor an earlier call
    /// wrote there.
    Load(u32),
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::I32(value) => write!(f, "(i32.const {value})"),
            Operand::I64(value) => write!(f, "(i64.const {value})"),
            Operand::Load(at) => write!(f, "(i32.load (i32.const {at}))"),
        }
    }
}

/// A descriptor a call can use: a number, or what an earlier call stored.
#[derive(Copy, Clone, Debug)]
pub enum FdSource {
    /// A descriptor number known when the module is made.
    Number(i32),
    /// The descriptor stored at this address by an earlier call.
    Slot(u32),
}

impl FdSource {
    /// The operand that passes this descriptor.
    pub fn operand(self) -> Operand {
        match self {
            FdSource::Number(fd) => Operand::I32(fd),
            FdSource::Slot(at) => Operand::Load(at),
        }
    }
}

/// One call being put together.
pub struct Call {
    /// The function called.
    pub function: &'static Function,
    /// Its wasm arguments so far.
    pub operands: Vec<Operand>,
    /// Instructions run just before the call (stores of loaded descriptors into staged
    /// structures).
    pub prelude: Vec<String>,
    /// What the arguments are, for the comment above the call.
    pub notes: Vec<String>,
    /// Its path arguments so far.
    pub paths: Vec<PathArg>,
    /// Whether the call follows a link in the last component of its next path (set by its
    /// `lookupflags`).
    pub follow: bool,
}

impl Call {
    fn new(function: &'static Function) -> Call {
        Call {
            function,
            operands: Vec::new(),
            prelude: Vec::new(),
            notes: Vec::new(),
            paths: Vec::new(),
            follow: false,
        }
    }

    /// Adds the next wasm argument.
    pub fn push(&mut self, operand: Operand) {
        self.operands.push(operand);
    }
}

/// The state of the generator while it writes one module.
pub struct Generator {
    /// Every choice comes from here, so that the seed decides the module.
    pub rng: ChaCha8Rng,
    /// The module's memory as laid out so far.
    pub staging: Staging,
    /// The chance that a pointer, length or flags argument gets an edge value (out of
    /// bounds, misaligned, undefined bits), which mostly makes the host trap the case.
    pub hostility: f64,
    /// How many preopens there are (fds 3, 4, ...).
    pub preopens: i32,
    /// Descriptors earlier calls opened or renumbered.
    pub opened: Vec<FdSource>,
    body: String,
    imports: BTreeSet<&'static str>,
    calls: Vec<PlannedCall>,
}

impl Generator {
    /// A generator for a module with `preopens` preopened directories, drawing from `rng`,
    /// with `hostility` the share of wild arguments.
    pub fn new(rng: ChaCha8Rng, hostility: f64, preopens: i32) -> Generator {
        Generator {
            rng,
            staging: Staging::default(),
            hostility,
            preopens,
            opened: Vec::new(),
            body: String::new(),
            imports: BTreeSet::new(),
            calls: Vec::new(),
        }
    }

    /// How many calls the module makes so far.
    pub fn planned_calls(&self) -> usize {
        self.calls.len()
    }

    /// Whether the staging area still holds the longest sequence of calls.
    pub fn has_room(&self) -> bool {
        self.staging.remaining() > SEQUENCE_AT_MOST
    }

    /// Whether this argument gets an edge value.
    pub fn edge(&mut self) -> bool {
        self.hostility > 0.0 && self.rng.gen_bool(self.hostility)
    }

    /// Adds a call of `name`: each parameter is made by `pin` if it returns true for it
    /// (given the call so far, the parameter's index among the function's kinds, and its
    /// kind), else drawn at random.
    pub fn call_with(
        &mut self,
        name: &str,
        mut pin: impl FnMut(&mut Generator, &mut Call, (usize, super::calls::Kind)) -> bool,
    ) {
        let function = function(name);
        let mut call = Call::new(function);
        for (index, &kind) in function.kinds.iter().enumerate() {
            if !pin(self, &mut call, (index, kind)) {
                self.arg(kind, &mut call);
            }
        }
        self.emit(call);
    }

    /// Appends `call` to `_start`.
    fn emit(&mut self, call: Call) {
        let index = self.calls.len();
        let name = call.function.name;
        self.imports.insert(name);
        let _ = writeln!(
            self.body,
            "    ;; {index}: {name} {}",
            call.notes.join(", ")
        );
        for instruction in &call.prelude {
            let _ = writeln!(self.body, "    {instruction}");
        }
        let operands: Vec<String> = call.operands.iter().map(Operand::to_string).collect();
        let _ = writeln!(
            self.body,
            "    (global.set $e{index} (call ${name} {}))\n    (global.set $returned (i32.const {}))",
            operands.join(" "),
            index + 1
        );
        self.calls.push(PlannedCall {
            function: name,
            paths: call.paths,
        });
    }

    /// The module text.
    pub fn finish(mut self, preopens: Vec<Preopen>, exit: Option<i32>) -> Program {
        if exit.is_some() {
            self.imports.insert("proc_exit");
        }
        let mut wat = String::from("(module\n");
        for name in &self.imports {
            let function = function(name);
            let params: Vec<&str> = function.params().map(|ty| ty.name()).collect();
            let result = if function.returns_errno() {
                " (result i32)"
            } else {
                ""
            };
            let _ = writeln!(
                wat,
                "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}){result}))",
                params.join(" ")
            );
        }
        let _ = writeln!(wat, "  (memory (export \"memory\") {PAGES} {PAGES})");
        let _ = writeln!(
            wat,
            "  (global $returned (export \"returned\") (mut i32) (i32.const 0))"
        );
        for index in 0..self.calls.len() {
            let _ = writeln!(
                wat,
                "  (global $e{index} (export \"errno{index}\") (mut i32) (i32.const -1))"
            );
        }
        wat.push_str(&self.staging.data_segments());
        wat.push_str("  (func (export \"_start\")\n");
        wat.push_str(&self.body);
        if let Some(status) = exit {
            let _ = writeln!(wat, "    (call $proc_exit (i32.const {status}))");
        }
        wat.push_str("  )\n)\n");
        Program {
            wat,
            preopens,
            calls: self.calls,
            exit,
        }
    }

    /// Stages `path` and passes it (pointer, length); `resolved` unless it is a link's
    /// target. An edge makes the pointer or length wild.
    pub fn path(&mut self, call: &mut Call, path: Vec<u8>, resolved: bool) {
        let at = self.staging.stage(&path, 1);
        let len = path.len() as u32;
        let follows = resolved && call.follow;
        // What the host reads: the path, a part of it, or (with `exact` false) bytes the
        // generator does not know or none at all.
        let (pointer, length, read, exact) = if self.edge() {
            match self.rng.gen_range(0..6) {
                0 => (at, 0, &path[..0], true),
                1 => {
                    let cut = len.saturating_sub(1);
                    (at, cut, &path[..cut as usize], true)
                }
                2 => (at, len + 8, &path[..], false),
                3 => (MEMORY_BYTES - 1, len, &path[..], false),
                4 => (at, u32::MAX, &path[..], false),
                _ => (u32::MAX, len, &path[..], false),
            }
        } else {
            (at, len, &path[..], true)
        };
        let class = classify(read, follows);
        let text = printable(read);
        call.notes.push(if exact {
            format!("{text} ({})", class.describe())
        } else {
            format!("{text} at {pointer:#x}, {length} bytes (wild)")
        });
        call.paths.push(PathArg {
            text,
            class,
            resolved,
            exact,
        });
        call.push(Operand::I32(pointer as i32));
        call.push(Operand::I32(length as i32));
        if resolved {
            call.follow = false;
        }
    }
}

/// `bytes` as a quoted string for messages and comments: escaped, and cut when long.
pub fn printable(bytes: &[u8]) -> String {
    const SHOWN: usize = 96;
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut text = format!("\"{}\"", wat_string(shown));
    if bytes.len() > SHOWN {
        let _ = write!(text, "... ({} bytes)", bytes.len());
    }
    text
}
