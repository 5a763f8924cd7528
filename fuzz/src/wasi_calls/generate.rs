//! A case's module from its seed: the preopens, how hostile its arguments are, and the
//! calls, single ones (`args`) and sequences that build on each other (`recipes`), until the
//! module has as many as it wanted or no room left to stage their data.

use super::calls::FUNCTIONS;
use super::program::{Generator, Preopen, Program};
use super::recipes;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use weft_wasi::{DirPerms, FilePerms};

/// The most calls one case makes on purpose; a sequence started near the end may add a few.
const MOST_CALLS: usize = 40;

/// The guest names a preopen of the sandbox is given.
const PREOPEN_NAMES: &[&str] = &["/sandbox", ".", "/"];

/// The module of case `seed`.
pub fn program(seed: u64) -> Program {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let preopens = choose_preopens(&mut rng);
    // Most cases have no wild arguments or few, so that they run deep; some have many.
    let hostility = *[0.0, 0.0, 0.0, 0.01, 0.01, 0.01, 0.01, 0.04, 0.04, 0.15]
        .choose(&mut rng)
        .expect("not empty");
    let wanted = rng.gen_range(5..=MOST_CALLS);
    let mut generator = Generator::new(rng, hostility, preopens.len() as i32);
    while generator.planned_calls() < wanted && generator.has_room() {
        if generator.rng.gen_bool(0.45) {
            recipes::any(&mut generator);
        } else {
            let function = loop {
                let function = FUNCTIONS.choose(&mut generator.rng).expect("not empty");
                if function.returns_errno() {
                    break function;
                }
            };
            generator.call_with(function.name, |_, _, _| false);
        }
    }
    let exit = generator
        .rng
        .gen_ratio(1, 10)
        .then(|| generator.exit_code());
    generator.finish(preopens, exit)
}

/// One preopen of the sandbox, or two (under the same or another name, with the same or
/// other permissions).
fn choose_preopens(rng: &mut ChaCha8Rng) -> Vec<Preopen> {
    let count = if rng.gen_ratio(1, 4) { 2 } else { 1 };
    (0..count)
        .map(|_| {
            let (dir_perms, file_perms) = match rng.gen_range(0..10) {
                0 => (DirPerms::READ, FilePerms::READ),
                1 => (DirPerms::ALL, FilePerms::READ),
                _ => (DirPerms::ALL, FilePerms::ALL),
            };
            Preopen {
                guest_name: PREOPEN_NAMES.choose(rng).expect("not empty"),
                dir_perms,
                file_perms,
            }
        })
        .collect()
}
