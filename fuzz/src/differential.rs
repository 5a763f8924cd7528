//! The differential target: every case is a seed, from which wasm-smith makes a module that
//! weft runs in three configurations and the reference engine, wasmi (an interpreter that
//! shares no code with weft), runs too; each export is called in order and the results,
//! traps and exported globals and memories after every call are compared.

use crate::exports::{self, Export};
use crate::families::{Families, tally};
use crate::generate::{self, Proposals};
use crate::outcome::{Outcome, compare};
use crate::target::{Failure, Target};
use crate::{panics, shrink, wasmi_run, weft_run};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use weft::{BoundsChecks, OptLevel};

/// Mixed into a case's seed for its arguments' generator, so that they are not the module's
/// bytes again.
const ARGUMENTS: u64 = 0x9e37_79b9_7f4a_7c15;

/// The weft engines one process compares, made once: three configurations, the first the
/// default one. The reference engine is made anew for every module (`wasmi_run::run`).
pub struct Engines {
    weft: [(&'static str, weft::Engine); 3],
}

impl Default for Engines {
    fn default() -> Self {
        let weft = |bounds_checks, opt_level| weft_run::engine(bounds_checks, opt_level);
        // Optimized code is compared with and without inlining: small functions are
        // inlined by default.
        let mut not_inlined = weft_run::config(BoundsChecks::Explicit, OptLevel::Speed);
        not_inlined.cranelift_inlining(false);
        Engines {
            weft: [
                (
                    "guard pages, optimized",
                    weft(BoundsChecks::GuardPages, OptLevel::Speed),
                ),
                (
                    "explicit bounds checks, optimized, nothing inlined",
                    weft::Engine::new(&not_inlined).expect("the host is a supported target"),
                ),
                (
                    "explicit bounds checks, unoptimized",
                    weft(BoundsChecks::Explicit, OptLevel::None),
                ),
            ],
        }
    }
}

impl Engines {
    /// Weft configurations of a test's choosing.
    #[cfg(test)]
    pub fn with_weft(weft: [(&'static str, weft::Engine); 3]) -> Engines {
        Engines { weft }
    }

    /// weft's configurations, each with its name; the first is the default one.
    pub fn weft_configurations(&self) -> &[(&'static str, weft::Engine)] {
        &self.weft
    }
}

/// What one case did.
pub enum Verdict {
    /// The generator gave up on the seed's bytes.
    NoModule,
    /// Every engine did the same: instantiated the module (or trapped doing so) and made
    /// `calls` calls, `traps` of which trapped; `trap_messages` are the reference engine's,
    /// for the report. When wasmi went wrong on the module (`reference_bug` says how: it
    /// panicked, or its answer changed with the thread it ran on), weft's configurations
    /// were compared among themselves instead.
    Agreed {
        wasm: Vec<u8>,
        instantiated: bool,
        calls: usize,
        traps: usize,
        trap_messages: Vec<String>,
        reference_bug: Option<String>,
    },
    /// The engines differ; `which` says how and where, and `culprit` is the weft
    /// configuration that differs (an index into [`Engines`]' list), or `None` when the
    /// module itself is at fault (it does not parse, or the reference engine refused it).
    Diverged {
        wasm: Vec<u8>,
        which: String,
        culprit: Option<usize>,
    },
}

/// Runs case `seed` with `proposals` everywhere and compares: with the shared proposals,
/// every weft configuration against wasmi; with weft's own, the others against the default
/// configuration.
pub fn run_case(engines: &Engines, seed: u64, proposals: Proposals) -> Verdict {
    match generate::module(seed, proposals) {
        Some(wasm) => compare_module(engines, wasm, seed, proposals),
        None => Verdict::NoModule,
    }
}

/// Runs `wasm` everywhere `proposals` says and compares, with the arguments case `seed`
/// draws for its exports.
pub fn compare_module(
    engines: &Engines,
    wasm: Vec<u8>,
    seed: u64,
    proposals: Proposals,
) -> Verdict {
    // The arguments come from the seed too, from a stream of their own.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ARGUMENTS);
    let exports = match exports::exports(&wasm, &mut rng) {
        Ok(exports) => exports,
        Err(error) => {
            return Verdict::Diverged {
                which: format!("the module does not parse: {error}"),
                culprit: None,
                wasm,
            };
        }
    };
    // weft configuration `index`'s outcome; a panic of weft's is a divergence of its own.
    let run_weft = |index: usize| {
        let (name, engine) = &engines.weft[index];
        panics::catch(|| weft_run::run(engine, &wasm, &exports))
            .map_err(|panic| (format!("weft ({name}) panicked: {panic}"), index))
    };
    // The first configuration from `first` on that differs from `reference`, and how.
    let first_difference = |reference_name: &str, reference: &Outcome, first: usize| {
        (first..engines.weft.len()).find_map(|index| match run_weft(index) {
            Ok(ours) => compare(&ours, reference).map(|difference| {
                let name = engines.weft[index].0;
                let which = format!("weft ({name}) and {reference_name} differ: {difference}");
                (which, index)
            }),
            Err(panicked) => Some(panicked),
        })
    };
    // What went wrong in wasmi, when it did: its own bug, not weft's.
    let mut reference_bug = None;
    let wasmi = match proposals {
        Proposals::Shared => match panics::catch(|| wasmi_run::run(&wasm, &exports)) {
            Ok(outcome) => Some(outcome),
            Err(panic) => {
                reference_bug = Some(format!("panicked: {panic}"));
                None
            }
        },
        Proposals::Weft => None,
    };
    if let Some(Outcome::Rejected(why)) = &wasmi {
        // A module the generator made was refused: a generator bug, or a proposal wasmi
        // lacks; not a divergence of weft's, but not a pass either.
        return Verdict::Diverged {
            which: format!("wasmi refused the module: {why}"),
            culprit: None,
            wasm,
        };
    }
    let mut difference = None;
    if let Some(outcome) = &wasmi {
        difference = first_difference("wasmi", outcome, 0);
        if difference.is_some() && wasmi_changes_its_answer(&wasm, &exports, outcome) {
            reference_bug = Some("gave another answer on a thread of its own".to_string());
        }
    }
    // Where wasmi is no reference, the default configuration is one for the others.
    let reference = match wasmi {
        Some(outcome) if reference_bug.is_none() => outcome,
        _ => {
            let outcome = match run_weft(0) {
                Ok(outcome) => outcome,
                Err((which, culprit)) => {
                    return Verdict::Diverged {
                        which,
                        culprit: Some(culprit),
                        wasm,
                    };
                }
            };
            if let Outcome::Rejected(why) = &outcome {
                return Verdict::Diverged {
                    which: format!("weft refused the module: {why}"),
                    culprit: None,
                    wasm,
                };
            }
            difference = first_difference(engines.weft[0].0, &outcome, 1);
            outcome
        }
    };
    if let Some((which, culprit)) = difference {
        return Verdict::Diverged {
            which,
            culprit: Some(culprit),
            wasm,
        };
    }
    let (calls, traps) = reference.calls();
    Verdict::Agreed {
        instantiated: matches!(reference, Outcome::Ran(_)),
        trap_messages: reference.traps().into_iter().map(str::to_string).collect(),
        reference_bug,
        wasm,
        calls,
        traps,
    }
}

/// Whether wasmi, run again on a new thread, gives another answer than `first`. wasmi 2.0.0
/// sometimes reads a value it never wrote (found in place of a local the function never
/// set: `regressions/stale_local_in_wasmi.wast`), and what it reads depends on what ran on
/// the thread before; a weft bug shows the same difference on any thread.
fn wasmi_changes_its_answer(wasm: &[u8], exports: &[Export], first: &Outcome) -> bool {
    let again = crate::on_case_thread(|| panics::catch(|| wasmi_run::run(wasm, exports)));
    again.is_ok_and(|again| compare(&again, first).is_some())
}

/// The differential target: each case runs both of its modules (the shared proposals
/// against wasmi, weft's own among weft's configurations) and keeps the campaign's counts.
#[derive(Default)]
pub struct Differential {
    engines: Engines,
    families: Families,
    modules: u64,
    instantiated: u64,
    calls: usize,
    traps: usize,
    trap_kinds: BTreeMap<String, u64>,
    /// How many modules wasmi went wrong on, and the first of them: its case and how.
    reference_bugs: u64,
    first_reference_bug: Option<(u64, String)>,
}

impl Target for Differential {
    fn run(&mut self, seed: u64) -> Result<(), Failure> {
        for proposals in [Proposals::Shared, Proposals::Weft] {
            match run_case(&self.engines, seed, proposals) {
                Verdict::NoModule => {}
                Verdict::Agreed {
                    wasm,
                    instantiated,
                    calls,
                    traps,
                    trap_messages,
                    reference_bug,
                } => {
                    if let Some(bug) = reference_bug {
                        self.reference_bugs += 1;
                        self.first_reference_bug.get_or_insert((seed, bug));
                    }
                    for message in trap_messages {
                        *self.trap_kinds.entry(trap_kind(&message)).or_default() += 1;
                    }
                    self.modules += 1;
                    self.instantiated += u64::from(instantiated);
                    self.calls += calls;
                    self.traps += traps;
                    self.families.add(&wasm);
                }
                Verdict::Diverged {
                    wasm,
                    which,
                    culprit,
                } => return Err(self.divergence(seed, proposals, wasm, which, culprit)),
            }
        }
        Ok(())
    }

    fn report(&self) -> Vec<String> {
        vec![
            format!(
                "{} modules run ({} instantiated), {} calls ({} trapped)",
                self.modules, self.instantiated, self.calls, self.traps
            ),
            format!("instruction families: {}", self.families.summary()),
            format!(
                "traps, as the reference engines name them: {}",
                tally(self.trap_kinds.clone())
            ),
            match &self.first_reference_bug {
                None => "wasmi went wrong on no module".to_string(),
                Some((seed, bug)) => format!(
                    "wasmi went wrong on {} modules (panicked, or answered differently on \
                     another thread), where weft's configurations were compared among \
                     themselves; the first: case {seed}, which {bug}",
                    self.reference_bugs
                ),
            },
        ]
    }
}

impl Differential {
    /// A target comparing `engines`.
    #[cfg(test)]
    pub fn with_engines(engines: Engines) -> Differential {
        Differential {
            engines,
            ..Differential::default()
        }
    }

    /// The failure of case `seed`: the module, and when a weft configuration is the one
    /// that differs, the smallest module found that still makes it differ, in binary and
    /// text.
    fn divergence(
        &self,
        seed: u64,
        proposals: Proposals,
        wasm: Vec<u8>,
        which: String,
        culprit: Option<usize>,
    ) -> Failure {
        let stem = format!("case-{seed}-{proposals:?}");
        let failure = Failure::new(format!("{proposals:?} proposals: {which}"))
            .with_artifact(format!("{stem}.wasm"), wasm.clone());
        let Some(culprit) = culprit else {
            return failure;
        };
        let still_diverges = |candidate: &[u8]| {
            matches!(
                compare_module(&self.engines, candidate.to_vec(), seed, proposals),
                Verdict::Diverged { culprit: Some(now), .. } if now == culprit
            )
        };
        match shrink::shrink(wasm, still_diverges) {
            Ok(shrunk) => failure
                .with_artifact(format!("{stem}.shrunk.wat"), shrunk.text)
                .with_artifact(format!("{stem}.shrunk.wasm"), shrunk.wasm),
            Err(why) => failure.with_artifact(format!("{stem}.shrink-failed.txt"), why.to_string()),
        }
    }
}

/// A trap message without the details that make each one different (wasmi names the table
/// and the offset; weft prefixes `wasm trap: `), so that the report counts kinds.
fn trap_kind(message: &str) -> String {
    let message = message.strip_prefix("wasm trap: ").unwrap_or(message);
    let kind = message.split(':').next().unwrap_or(message);
    kind.split_whitespace()
        .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}
