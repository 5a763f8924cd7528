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

pub use families::Families;
pub use generate::FUEL;

use outcome::{Outcome, compare};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Mixed into a case's seed for its arguments' generator, so that they are not the module's
/// bytes again.
const ARGUMENTS: u64 = 0x9e37_79b9_7f4a_7c15;
use weft::BoundsChecks;

/// The engines one process compares, made once.
pub struct Engines {
    guard_pages: weft::Engine,
    explicit: weft::Engine,
    reference: wasmi::Engine,
}

impl Default for Engines {
    fn default() -> Self {
        Engines {
            guard_pages: weft_run::engine(BoundsChecks::GuardPages),
            explicit: weft_run::engine(BoundsChecks::Explicit),
            reference: wasmi_run::engine(),
        }
    }
}

/// What one case did.
pub enum Verdict {
    /// The generator gave up on the seed's bytes.
    NoModule,
    /// Every engine did the same: instantiated the module (or trapped doing so) and made
    /// `calls` calls, `traps` of which trapped.
    Agreed {
        wasm: Vec<u8>,
        instantiated: bool,
        calls: usize,
        traps: usize,
    },
    /// The engines differ; `which` says how and where.
    Diverged { wasm: Vec<u8>, which: String },
}

/// Runs case `seed` everywhere and compares.
pub fn run_case(engines: &Engines, seed: u64) -> Verdict {
    let Some(wasm) = generate::module(seed) else {
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
    let reference = wasmi_run::run(&engines.reference, &wasm, &exports);
    let runs = [
        ("guard pages", &engines.guard_pages),
        ("explicit bounds checks", &engines.explicit),
    ];
    for (strategy, engine) in runs {
        let ours = weft_run::run(engine, &wasm, &exports);
        if let Some(difference) = compare(&ours, &reference) {
            return Verdict::Diverged {
                which: format!("weft ({strategy}) and wasmi differ: {difference}"),
                wasm,
            };
        }
    }
    let (calls, traps) = reference.calls();
    if let Outcome::Rejected(why) = &reference {
        // Both refused a module the generator made: a generator bug, or a proposal neither
        // implements; not weft's divergence, but not a pass either.
        return Verdict::Diverged {
            which: format!("both engines refused the module: {why}"),
            wasm,
        };
    }
    Verdict::Agreed {
        instantiated: matches!(reference, Outcome::Ran(_)),
        wasm,
        calls,
        traps,
    }
}
