//! weft's fuzzing, on stable Rust: every case is a seed, from which
//! [wasm-smith](https://docs.rs/wasm-smith) makes a module that weft runs under both
//! bounds-check strategies and the reference engine, wasmi (an interpreter that shares no
//! code with weft), runs too; each export is called in order and the results, traps and
//! exported globals and memories after every call are compared. A seed replays its case
//! exactly.

mod drive;
mod exports;
mod families;
mod generate;
mod outcome;
#[cfg(test)]
mod tests;
mod wasmi_run;
mod weft_run;

pub use families::{Families, tally};
pub use generate::{FUEL, Proposals};

/// Runs `work` on a thread whose stack holds the deepest recursion a case may reach in
/// weft ([`weft_run::THREAD_STACK`]); every case must run on one.
pub fn on_case_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("fuzz-cases".to_string())
            .stack_size(weft_run::THREAD_STACK)
            .spawn_scoped(scope, work)
            .expect("the OS starts a thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

use outcome::{Outcome, compare};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Mixed into a case's seed for its arguments' generator, so that they are not the module's
/// bytes again.
const ARGUMENTS: u64 = 0x9e37_79b9_7f4a_7c15;
use weft::{BoundsChecks, OptLevel};

/// The engines one process compares, made once: weft in three configurations (the first is
/// the default one) and the reference engine.
pub struct Engines {
    weft: [(&'static str, weft::Engine); 3],
    reference: wasmi::Engine,
}

impl Default for Engines {
    fn default() -> Self {
        let weft = |bounds_checks, opt_level| weft_run::engine(bounds_checks, opt_level);
        Engines {
            weft: [
                (
                    "guard pages, optimized",
                    weft(BoundsChecks::GuardPages, OptLevel::Speed),
                ),
                (
                    "explicit bounds checks, optimized",
                    weft(BoundsChecks::Explicit, OptLevel::Speed),
                ),
                (
                    "explicit bounds checks, unoptimized",
                    weft(BoundsChecks::Explicit, OptLevel::None),
                ),
            ],
            reference: wasmi_run::engine(),
        }
    }
}

/// What one case did.
pub enum Verdict {
    /// The generator gave up on the seed's bytes.
    NoModule,
    /// Every engine did the same: instantiated the module (or trapped doing so) and made
    /// `calls` calls, `traps` of which trapped; `trap_messages` are the reference engine's,
    /// for the report.
    Agreed {
        wasm: Vec<u8>,
        instantiated: bool,
        calls: usize,
        traps: usize,
        trap_messages: Vec<String>,
    },
    /// The engines differ; `which` says how and where.
    Diverged { wasm: Vec<u8>, which: String },
}

/// Runs case `seed` with `proposals` everywhere and compares: with the shared proposals,
/// every weft configuration against wasmi; with weft's own, the others against the default
/// configuration.
pub fn run_case(engines: &Engines, seed: u64, proposals: Proposals) -> Verdict {
    let Some(wasm) = generate::module(seed, proposals) else {
        return Verdict::NoModule;
    };
    // The arguments come from the seed too, from a stream of their own.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ARGUMENTS);
    let exports = match exports::exports(&wasm, &mut rng) {
        Ok(exports) => exports,
        Err(error) => {
            return Verdict::Diverged {
                which: format!("the generated module does not parse: {error}"),
                wasm,
            };
        }
    };
    let (reference_name, reference, compared) = match proposals {
        Proposals::Shared => (
            "wasmi",
            wasmi_run::run(&engines.reference, &wasm, &exports),
            &engines.weft[..],
        ),
        Proposals::Weft => {
            let (name, engine) = &engines.weft[0];
            (
                *name,
                weft_run::run(engine, &wasm, &exports),
                &engines.weft[1..],
            )
        }
    };
    if let Outcome::Rejected(why) = &reference {
        // A module the generator made was refused: a generator bug, or a proposal the
        // engine lacks; not a divergence of weft's, but not a pass either.
        return Verdict::Diverged {
            which: format!("{reference_name} refused the module: {why}"),
            wasm,
        };
    }
    for (name, engine) in compared {
        let ours = weft_run::run(engine, &wasm, &exports);
        if let Some(difference) = compare(&ours, &reference) {
            return Verdict::Diverged {
                which: format!("weft ({name}) and {reference_name} differ: {difference}"),
                wasm,
            };
        }
    }
    let (calls, traps) = reference.calls();
    Verdict::Agreed {
        instantiated: matches!(reference, Outcome::Ran(_)),
        trap_messages: reference.traps().into_iter().map(str::to_string).collect(),
        wasm,
        calls,
        traps,
    }
}
