//! One case: a program of either family made from the seed, the runs it gets (free and
//! under schedules, in every host its flavor allows), and the checks of each run.

use super::litmus::{Litmus, Outcome};
use super::race_free::{Expected, RaceFree};
use super::run::{Host, Mode, Observation, Program, Runner, Scheduling};
use super::sc;
use super::wat::{
    self, BARRIER, DONE, Flavor, NOTIFIED, SharedGlobal, WAITS_NOT_EQUAL, WAITS_TIMED_OUT,
    WAITS_WOKEN,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::fmt::Write;
use weft::Schedule;

/// Outcomes listed in a reproducer's header at most.
const LISTED_OUTCOMES: usize = 200;

/// A program of one of the two families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Family {
    /// Checked against the outcomes sequential consistency allows.
    Litmus(Litmus),
    /// Checked against the answer of a sequential run.
    RaceFree(RaceFree),
}

impl Family {
    /// A name for reports and failures.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Litmus(_) => "litmus",
            Family::RaceFree(_) => "race-free",
        }
    }
}

/// A case: its program and the runs it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The seed it was made from.
    pub seed: u64,
    /// How its threads start.
    pub flavor: Flavor,
    /// The program.
    pub family: Family,
    /// The runs, in order.
    pub runs: Vec<Mode>,
}

/// A case's program with what its check needs, computed once per case.
enum Answer<'a> {
    /// A litmus program and the outcomes sequential consistency allows it.
    Allowed(&'a Litmus, BTreeSet<Outcome>),
    /// A race-free program and the final state of its sequential run.
    Expected(&'a RaceFree, Expected),
}

impl Case {
    /// Case `seed`: the same program and runs every time.
    pub fn generate(seed: u64) -> Case {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let flavor = if rng.gen_bool(0.6) {
            Flavor::Guest
        } else {
            Flavor::Wasi
        };
        let family = if rng.gen_bool(0.5) {
            Family::Litmus(Litmus::generate(&mut rng, flavor))
        } else {
            Family::RaceFree(RaceFree::generate(&mut rng, flavor))
        };
        let runs = plan(&mut rng, flavor, &family);
        Case {
            seed,
            flavor,
            family,
            runs,
        }
    }

    /// The module's text, without a header.
    pub fn module(&self) -> String {
        let parts = match &self.family {
            Family::Litmus(litmus) => litmus.parts(),
            Family::RaceFree(program) => program.parts(),
        };
        wat::module(self.flavor, &parts, "")
    }

    /// Runs every run of the case and checks each, telling `on_run` of each run (its mode,
    /// what it left, the atomic operations it ran); the first failure as one line. For a
    /// litmus program, returns how many distinct outcomes the runs showed and how many the
    /// memory model allows.
    pub fn run(
        &self,
        runner: &Runner,
        on_run: &mut dyn FnMut(Mode, &Observation, u64),
    ) -> Result<Option<(usize, usize)>, CaseFailure> {
        let module = self.module();
        let answer = match &self.family {
            Family::Litmus(litmus) => Answer::Allowed(litmus, sc::allowed_outcomes(litmus)),
            Family::RaceFree(program) => Answer::Expected(program, program.expected()),
        };
        let (extent, globals) = self.memory_and_globals();
        let mut program = Program::new(runner, &module, extent, &globals);
        let mut observed: BTreeSet<Outcome> = BTreeSet::new();
        let fail = |mode: Mode, what: String| CaseFailure {
            what: format!(
                "case {}: {} program, {}: {what}",
                self.seed,
                self.family.name(),
                mode.describe()
            ),
            reproducer: format!("{}{module}", self.header(&answer, &what)),
        };
        for &mode in &self.runs {
            let observation = program.run(mode).map_err(|what| fail(mode, what))?;
            on_run(mode, &observation, atomic_operations(&answer));
            self.check_counters(&observation)
                .map_err(|what| fail(mode, what))?;
            match &answer {
                Answer::Allowed(litmus, allowed) => {
                    let outcome = check_litmus(litmus, allowed, &observation)
                        .map_err(|what| fail(mode, what))?;
                    observed.insert(outcome);
                }
                Answer::Expected(program, expected) => program
                    .check(expected, &observation.memory, &observation.globals)
                    .map_err(|what| fail(mode, what))?,
            }
        }
        Ok(match &answer {
            Answer::Allowed(_, allowed) => Some((observed.len(), allowed.len())),
            Answer::Expected(..) => None,
        })
    }

    /// The bytes of memory each run reads back, and the shared globals.
    fn memory_and_globals(&self) -> (u32, Vec<SharedGlobal>) {
        match &self.family {
            Family::Litmus(litmus) => (litmus.memory_extent(), litmus.globals()),
            Family::RaceFree(program) => (program.extent, program.globals()),
        }
    }

    /// The checks every run of either family must pass: no wait timed out (none can, by
    /// construction), every waiter woken was woken by a notify that counted it, and the
    /// barrier and the count of threads done counted every thread.
    pub fn check_counters(&self, observation: &Observation) -> Result<(), String> {
        let word = |address: u32| {
            observation
                .word(address)
                .ok_or_else(|| format!("the memory read ends before {address}"))
        };
        let timed_out = word(WAITS_TIMED_OUT)?;
        if timed_out != 0 {
            return Err(format!(
                "{timed_out} waits timed out, in a program where every wait is woken"
            ));
        }
        let (woken, notified) = (word(WAITS_WOKEN)?, word(NOTIFIED)?);
        if woken != notified {
            return Err(format!(
                "{woken} waits returned \"ok\" but the notifies woke {notified} waiters"
            ));
        }
        let barrier = match &self.family {
            Family::Litmus(litmus) => litmus.barrier,
            Family::RaceFree(program) => program.barrier,
        };
        let threads = self.threads() as u32;
        let arrived = word(BARRIER)?;
        if barrier && arrived != threads {
            return Err(format!(
                "{arrived} threads arrived at the barrier of {threads}"
            ));
        }
        let done = word(DONE)?;
        if done != threads - 1 {
            return Err(format!(
                "{done} threads counted themselves done of the {} started",
                threads - 1
            ));
        }
        Ok(())
    }

    /// The program's threads, the main thread included.
    pub fn threads(&self) -> usize {
        match &self.family {
            Family::Litmus(litmus) => litmus.threads.len(),
            Family::RaceFree(program) => program.threads.len(),
        }
    }

    /// The reproducer's header: the case, how to run it, the answer, and the failure.
    fn header(&self, answer: &Answer, failure: &str) -> String {
        let mut text = format!(
            "weft-fuzz threads, case {}: a {} program of {} threads, run as {}.\n\
             Run: call \"run\" with the barrier's spin limit (0 under a schedule); it returns \
             once every thread is done; then join them.\n\
             After every run: the word at {WAITS_TIMED_OUT} (timed-out waits) is 0, the words \
             at {WAITS_WOKEN} (waits woken) and {NOTIFIED} (waiters notified) are equal, and \
             the word at {DONE} (threads done) is {}.\n",
            self.seed,
            self.family.name(),
            self.threads(),
            self.flavor.name(),
            self.threads() - 1,
        );
        let _ = writeln!(text, "Failure: {failure}");
        match answer {
            Answer::Allowed(litmus, allowed) => {
                let _ = writeln!(text, "Shape: {}\n{}", litmus.shape, litmus.listing());
                let _ = writeln!(
                    text,
                    "Allowed outcomes under sequential consistency ({}):",
                    allowed.len()
                );
                for outcome in allowed.iter().take(LISTED_OUTCOMES) {
                    let _ = writeln!(text, "  {}", litmus.describe(outcome));
                }
            }
            Answer::Expected(program, expected) => {
                let _ = writeln!(
                    text,
                    "Expected: the words below; every other byte from 64 to {} is 0; the \
                     barrier's count at {BARRIER} is {}; the word at {WAITS_NOT_EQUAL} varies.",
                    program.extent,
                    if program.barrier { self.threads() } else { 0 },
                );
                text.push_str(&program.describe_expected(expected));
            }
        }
        text.lines().map(|line| format!(";; {line}\n")).collect()
    }
}

/// Atomic operations one run of the case executes, at least.
fn atomic_operations(answer: &Answer) -> u64 {
    match answer {
        Answer::Allowed(litmus, _) => {
            let threads = litmus.threads.len();
            let barrier = if litmus.barrier { 2 * threads } else { 0 };
            // The other threads' counts and notifies when done, the main thread's load.
            let done = 2 * (threads - 1) + 1;
            (litmus.operations() + barrier + done) as u64
        }
        Answer::Expected(_, expected) => expected.atomic_operations,
    }
}

/// Checks a litmus run: its outcome, if sequential consistency allows it.
pub fn check_litmus(
    litmus: &Litmus,
    allowed: &BTreeSet<Outcome>,
    observation: &Observation,
) -> Result<Outcome, String> {
    let outcome = litmus.outcome(&observation.memory, &observation.globals)?;
    if allowed.contains(&outcome) {
        Ok(outcome)
    } else {
        Err(format!(
            "outcome {} is not sequentially consistent ({} outcomes are)",
            litmus.describe(&outcome),
            allowed.len()
        ))
    }
}

/// A failed case: the line that says what failed, and the program with its answer as a
/// reproducer.
#[derive(Debug)]
pub struct CaseFailure {
    /// One line: the case, the family, the run and what went wrong.
    pub what: String,
    /// The module's text, its header giving the case, the answer and the failure.
    pub reproducer: String,
}

/// The runs of a case: in every host of its flavor, free runs and runs under schedules of
/// both strategies. Litmus programs are short, so they get more runs to see more of their
/// outcomes.
fn plan(rng: &mut impl Rng, flavor: Flavor, family: &Family) -> Vec<Mode> {
    let hosts = Host::all_for(flavor);
    let (free, explored) = match (family, hosts.len()) {
        (Family::Litmus(_), 1) => (3, 12),
        (Family::Litmus(_), _) => (2, 6),
        (Family::RaceFree(_), 1) => (2, 3),
        (Family::RaceFree(_), _) => (1, 2),
    };
    // PCT spreads its priority changes over the steps it expects; a litmus program passes
    // a handful, a race-free one a few hundred.
    let length = match family {
        Family::Litmus(litmus) => litmus.operations() as u64 + 8,
        Family::RaceFree(_) => 200,
    };
    let mut runs = Vec::new();
    for &host in hosts {
        for _ in 0..free {
            runs.push(Mode {
                host,
                scheduling: Scheduling::Free,
            });
        }
        for index in 0..explored {
            let seed = rng.r#gen();
            let mut schedule = if index % 2 == 0 {
                Schedule::pct(rng.gen_range(1..=3), length, seed)
            } else {
                Schedule::random(seed)
            };
            // Now and then every loop header is a point, so that loops interleave finely.
            if rng.gen_bool(0.2) {
                schedule.loop_period = 1;
            }
            runs.push(Mode {
                host,
                scheduling: Scheduling::Explored(schedule),
            });
        }
    }
    runs
}
