//! The command lines: a grammar over weft's subcommands (`run`, `explore`, `bench`, `wast`,
//! and none or a wrong one) and their options, with valid values, edge cases and garbage;
//! the files and folders each names; and what the checks may expect of the run.

mod commands;
mod inputs;
mod options;

use super::corpus::Corpus;
use super::scratch::Entry;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ffi::OsString;
use std::path::PathBuf;

/// Which of weft's commands a case runs, as far as the checks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `weft run`.
    Run,
    /// `weft explore`.
    Explore,
    /// `weft bench`.
    Bench,
    /// `weft wast`.
    Wast,
    /// No subcommand, help, the version, or a subcommand that does not exist.
    Other,
}

/// What the guest may change in the case's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Writable {
    /// These folders (relative to the case's directory, normalized), and nothing else.
    Dirs(Vec<PathBuf>),
    /// Anything: the case's directory itself is preopened.
    Everything,
}

/// What a case's run may do, beyond what weft's rules allow any run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The subcommand.
    pub kind: Kind,
    /// Guest code may write to weft's standard error (so weft's line may follow its text).
    pub guest_writes: bool,
    /// Guest code may choose weft's exit status (`proc_exit` under `weft run`), so a
    /// non-zero status with nothing on standard error may be the program's own.
    pub guest_exits: bool,
    /// The command line bounds how long the run takes: being killed is then a hang.
    pub bounded: bool,
    /// What the guest may change (the sandbox rule).
    pub writable: Writable,
    /// `--race` was given: data races are reported (`weft: ...` lines, status 66).
    pub race: bool,
    /// The options before FILE (up to a `--`), none of which weft may take for FILE.
    pub options: Vec<OsString>,
}

/// One case: the command line, the directory it runs in, and what to expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The subcommand, for the report (`none` and `other` for the rest).
    pub command: &'static str,
    /// The arguments after `weft`.
    pub args: Vec<OsString>,
    /// What the case's directory holds, made in order.
    pub entries: Vec<Entry>,
    /// The mutations applied to its inputs, by kind.
    pub mutations: Vec<&'static str>,
    /// What the run may do.
    pub expect: Expect,
    /// `--profile perfmap` may have been given: weft writes `/tmp/perf-PID.map`.
    pub perfmap: bool,
    /// weft's standard output is `/dev/full`, where every write fails.
    pub full_stdout: bool,
}

/// Case `seed`, over `corpus`.
pub fn case(seed: u64, corpus: &Corpus) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut builder = Builder {
        // Odd values in every option at once would leave few cases past the options' own
        // checks: a bit more than half of the cases get only valid options.
        odd: rng.gen_bool(0.45),
        first: Vec::new(),
        options: Vec::new(),
        rng,
        corpus,
        entries: inputs::layout(),
        mutations: Vec::new(),
        writes: false,
        exits: false,
        mutated: false,
        unending: false,
        writable: Writable::Dirs(Vec::new()),
        race: false,
        perfmap: false,
        files: 0,
    };
    let line = match builder.rng.gen_range(0..100) {
        0..50 => builder.run(),
        50..65 => builder.explore(),
        65..75 => builder.bench(),
        75..92 => builder.wast(),
        _ => builder.other(),
    };
    // Now and then output that cannot be written, for the paths that report it.
    let full_stdout = builder.rng.gen_bool(0.03);
    Case {
        full_stdout,
        command: line.command,
        args: line.args,
        expect: Expect {
            kind: line.kind,
            guest_writes: builder.writes && line.guest_output,
            guest_exits: builder.exits && line.guest_status,
            bounded: line.bounded,
            writable: builder.writable,
            race: builder.race,
            options: builder.options,
        },
        entries: builder.entries,
        mutations: builder.mutations,
        perfmap: builder.perfmap,
    }
}

/// A subcommand's command line, and what it lets the guest do.
struct Line {
    command: &'static str,
    kind: Kind,
    args: Vec<OsString>,
    bounded: bool,
    /// The guest's standard error is weft's (not discarded).
    guest_output: bool,
    /// The guest's exit status is weft's.
    guest_status: bool,
}

/// A command line's option groups: each a flag and its values, kept together when shuffled.
type Groups = Vec<Vec<OsString>>;

/// An argument from text.
fn os(text: &str) -> OsString {
    text.into()
}

/// Builds one case from its generator.
struct Builder<'a> {
    rng: ChaCha8Rng,
    /// Whether option values and paths may be odd (else only the modules are).
    odd: bool,
    /// The options that bound a run's time (`-W timeout`, `--schedules`): first, so that no
    /// option missing its value takes one of them for it, and never moved after FILE.
    first: Vec<OsString>,
    /// The options before FILE, once assembled.
    options: Vec<OsString>,
    corpus: &'a Corpus,
    entries: Vec<Entry>,
    mutations: Vec<&'static str>,
    /// Some module of the case may write to a descriptor / call `proc_exit`.
    writes: bool,
    exits: bool,
    /// Some input was mutated (and so may run any time).
    mutated: bool,
    /// Some input may run long unmutated.
    unending: bool,
    writable: Writable,
    race: bool,
    perfmap: bool,
    /// Files written so far, for unique names.
    files: usize,
}

/// Whether a numeric option's value keeps a case bounded: at most `limit`, or not an
/// unsigned number at all (then a usage error ends the run before anything runs).
fn at_most(value: &OsString, limit: u64) -> bool {
    value
        .to_str()
        .and_then(|text| text.parse::<u64>().ok())
        .is_none_or(|number| number <= limit)
}
