//! What the cases did, for the report: the numbers that show whether the fuzzer had teeth
//! (calls that reached the host, by function; how the cases ended; the errnos; how many
//! paths tried to leave the sandbox, and what the host answered).

use super::calls::FUNCTIONS;
use super::check::trap_kind;
use super::paths::PathClass;
use super::program::Program;
use super::run::{CaseRun, Ending};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The errno `perm`, which the sandbox answers a way out with.
const PERM: i32 = 63;

/// Preview 1's errno names, by number.
const ERRNO_NAMES: [&str; 77] = [
    "success",
    "2big",
    "acces",
    "addrinuse",
    "addrnotavail",
    "afnosupport",
    "again",
    "already",
    "badf",
    "badmsg",
    "busy",
    "canceled",
    "child",
    "connaborted",
    "connrefused",
    "connreset",
    "deadlk",
    "destaddrreq",
    "dom",
    "dquot",
    "exist",
    "fault",
    "fbig",
    "hostunreach",
    "idrm",
    "ilseq",
    "inprogress",
    "intr",
    "inval",
    "io",
    "isconn",
    "isdir",
    "loop",
    "mfile",
    "mlink",
    "msgsize",
    "multihop",
    "nametoolong",
    "netdown",
    "netreset",
    "netunreach",
    "nfile",
    "nobufs",
    "nodev",
    "noent",
    "noexec",
    "nolck",
    "nolink",
    "nomem",
    "nomsg",
    "noprotoopt",
    "nospc",
    "nosys",
    "notconn",
    "notdir",
    "notempty",
    "notrecoverable",
    "notsock",
    "notsup",
    "notty",
    "nxio",
    "overflow",
    "ownerdead",
    "perm",
    "pipe",
    "proto",
    "protonosupport",
    "prototype",
    "range",
    "rofs",
    "spipe",
    "srch",
    "stale",
    "timedout",
    "txtbsy",
    "xdev",
    "notcapable",
];

/// What the calls with paths of one class got.
#[derive(Default)]
struct ClassTally {
    calls: u64,
    cases: u64,
    refused: u64,
    perm: u64,
    succeeded: u64,
}

/// The campaign's tallies.
#[derive(Default)]
pub struct Stats {
    /// Cases run.
    pub cases: u64,
    /// Time spent in cases, generation and sandbox rebuilding included.
    pub busy: Duration,
    modules: u64,
    returned_by_function: BTreeMap<&'static str, u64>,
    errnos: BTreeMap<i32, u64>,
    returned: u64,
    exited: u64,
    timed_out: u64,
    panicked: u64,
    traps: BTreeMap<&'static str, u64>,
    classes: BTreeMap<PathClass, ClassTally>,
    /// `path_open`s of paths that try to leave, which succeeded (through links the case
    /// had changed, or back into the sandbox).
    escaping_opens: u64,
}

impl Stats {
    /// Counts a case that ran.
    pub fn record(&mut self, program: &Program, run: &CaseRun) {
        self.modules += 1;
        match &run.ending {
            Ending::Returned => self.returned += 1,
            Ending::Exited(_) => self.exited += 1,
            Ending::TimedOut => self.timed_out += 1,
            Ending::Panicked(_) => self.panicked += 1,
            Ending::Trapped(message) => {
                *self
                    .traps
                    .entry(trap_kind(message).unwrap_or("unexpected"))
                    .or_default() += 1;
            }
        }
        let mut classes_seen = BTreeSet::new();
        for (call, &errno) in program.calls.iter().zip(&run.errnos) {
            *self.returned_by_function.entry(call.function).or_default() += 1;
            *self.errnos.entry(errno).or_default() += 1;
            for path in call.paths.iter().filter(|path| path.resolved && path.exact) {
                classes_seen.insert(path.class);
                let tally = self.classes.entry(path.class).or_default();
                tally.calls += 1;
                match errno {
                    0 => tally.succeeded += 1,
                    PERM => {
                        tally.refused += 1;
                        tally.perm += 1;
                    }
                    _ => tally.refused += 1,
                }
                if errno == 0 && call.function == "path_open" && path.class.tries_escape() {
                    self.escaping_opens += 1;
                }
            }
        }
        for class in classes_seen {
            self.classes.entry(class).or_default().cases += 1;
        }
    }

    /// Says so when cases hit the time limit so often (more than one in 50) that it hides
    /// what they do.
    pub fn frequent_timeouts(&self) -> Option<String> {
        (self.timed_out > 10 && self.timed_out * 50 > self.cases).then(|| {
            format!(
                "cases hit the time limit too often: {} of {}",
                self.timed_out, self.cases
            )
        })
    }

    /// The report, one fact a line.
    pub fn lines(&self, limit: Duration) -> Vec<String> {
        let calls: u64 = self.returned_by_function.values().sum();
        let rate = self.cases as f64 / self.busy.as_secs_f64().max(1e-9);
        let mut lines = vec![
            format!(
                "wasi_calls: {} cases, {} modules run, {calls} calls returned, {rate:.0} cases/s",
                self.cases, self.modules
            ),
            format!(
                "wasi_calls endings: {} returned, {} proc_exit, {} unwound by host errors, {} \
                 timed out (limit {} s), {} panicked",
                self.returned,
                self.exited,
                self.traps.values().sum::<u64>(),
                self.timed_out,
                limit.as_secs_f64(),
                self.panicked
            ),
            format!("wasi_calls host errors: {}", tally(&self.traps)),
        ];
        let mut by_function: Vec<(&str, u64)> = FUNCTIONS
            .iter()
            .filter(|function| function.returns_errno())
            .map(|function| {
                let count = self.returned_by_function.get(function.name).copied();
                (function.name, count.unwrap_or(0))
            })
            .collect();
        by_function.sort_by_key(|&(name, count)| (std::cmp::Reverse(count), name));
        lines.push(format!(
            "wasi_calls calls returned by function: {}",
            by_function
                .iter()
                .map(|(name, count)| format!("{name} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let mut errnos: Vec<(i32, u64)> = self.errnos.iter().map(|(&e, &n)| (e, n)).collect();
        errnos.sort_by_key(|&(errno, count)| (std::cmp::Reverse(count), errno));
        lines.push(format!(
            "wasi_calls errnos, top 10: {}",
            errnos
                .iter()
                .take(10)
                .map(|&(errno, count)| format!(
                    "{} {:.1}%",
                    errno_name(errno),
                    100.0 * count as f64 / calls.max(1) as f64
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for class in PathClass::ALL {
            let Some(tally) = self.classes.get(&class) else {
                continue;
            };
            lines.push(format!(
                "wasi_calls paths {}: {} calls in {} cases, {} refused ({} with perm), {} \
                 succeeded",
                class.describe(),
                tally.calls,
                tally.cases,
                tally.refused,
                tally.perm,
                tally.succeeded
            ));
        }
        lines.push(format!(
            "wasi_calls path_open of paths that try to leave, which succeeded (back inside, \
             or through links the case had changed): {}",
            self.escaping_opens
        ));
        lines
    }
}

fn errno_name(errno: i32) -> String {
    usize::try_from(errno)
        .ok()
        .and_then(|index| ERRNO_NAMES.get(index))
        .map_or_else(|| errno.to_string(), |name| (*name).to_string())
}

fn tally(counts: &BTreeMap<&'static str, u64>) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    counts
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}
