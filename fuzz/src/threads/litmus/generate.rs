//! Random litmus programs: a classic shape, varied, or random operations; every write
//! with a value of its own, so that a result tells which write it read.

use super::{Litmus, Location, MAX_OPERATIONS, Op, Rmw};
use crate::threads::wat::{DATA_START, Flavor};
use rand::Rng;

/// A shape: each thread's operations over locations 0, 1, 2 with store values, from which
/// a program starts before it is varied.
type Shape = (&'static str, &'static [&'static [Op]]);

/// The classic shapes, with the outcome each is known for forbidden under SC: SB (both
/// loads 0), MP (flag seen, data not), LB (each load sees the other's later store), IRIW
/// (readers disagree on the order of independent writes), 2+2W (both first stores last),
/// WRC (causality), R and S.
const SHAPES: [Shape; 8] = [
    (
        "SB",
        &[
            &[Op::Store(0, 1), Op::Load(1)],
            &[Op::Store(1, 1), Op::Load(0)],
        ],
    ),
    (
        "MP",
        &[
            &[Op::Store(0, 1), Op::Store(1, 1)],
            &[Op::Load(1), Op::Load(0)],
        ],
    ),
    (
        "LB",
        &[
            &[Op::Load(0), Op::Store(1, 1)],
            &[Op::Load(1), Op::Store(0, 1)],
        ],
    ),
    (
        "IRIW",
        &[
            &[Op::Store(0, 1)],
            &[Op::Store(1, 1)],
            &[Op::Load(0), Op::Load(1)],
            &[Op::Load(1), Op::Load(0)],
        ],
    ),
    (
        "2+2W",
        &[
            &[Op::Store(0, 1), Op::Store(1, 2)],
            &[Op::Store(1, 1), Op::Store(0, 2)],
        ],
    ),
    (
        "WRC",
        &[
            &[Op::Store(0, 1)],
            &[Op::Load(0), Op::Store(1, 1)],
            &[Op::Load(1), Op::Load(0)],
        ],
    ),
    (
        "R",
        &[
            &[Op::Store(0, 1), Op::Store(1, 1)],
            &[Op::Store(1, 2), Op::Load(0)],
        ],
    ),
    (
        "S",
        &[
            &[Op::Store(0, 2), Op::Store(1, 1)],
            &[Op::Load(1), Op::Store(0, 1)],
        ],
    ),
];

impl Litmus {
    /// A random program for `flavor` (shared globals only with guest threads): half the
    /// time a classic shape with some operations varied, otherwise random operations.
    pub fn generate(rng: &mut impl Rng, flavor: Flavor) -> Litmus {
        let mut litmus = if rng.gen_bool(0.5) {
            let (shape, threads) = SHAPES[rng.gen_range(0..SHAPES.len())];
            let threads = threads.iter().map(|ops| ops.to_vec()).collect();
            let mut litmus = Litmus::with_locations(rng, flavor, shape, threads, 2);
            litmus.vary(rng);
            litmus
        } else {
            let locations = rng.gen_range(2..=3);
            let threads = random_threads(rng, locations);
            Litmus::with_locations(rng, flavor, "random", threads, locations)
        };
        litmus.drop_notifies_of_globals();
        litmus.renumber_values(rng);
        litmus.barrier = rng.gen_bool(0.75);
        litmus
    }

    /// The program `threads` over `count` locations placed at random: memory words spaced
    /// by 4, 8 or 64 bytes (in one cache line or not), or shared globals.
    fn with_locations(
        rng: &mut impl Rng,
        flavor: Flavor,
        shape: &'static str,
        threads: Vec<Vec<Op>>,
        count: usize,
    ) -> Litmus {
        let stride = [4, 8, 64][rng.gen_range(0..3)];
        let mut globals = 0;
        let locations = (0..count)
            .map(|index| {
                if flavor == Flavor::Guest && rng.gen_bool(0.3) {
                    globals += 1;
                    Location::Global(globals - 1)
                } else {
                    Location::Memory(DATA_START + stride * index as u32)
                }
            })
            .collect();
        let initial = (0..count)
            .map(|_| if rng.gen_bool(0.8) { 0 } else { 100 })
            .collect();
        Litmus {
            shape,
            locations,
            initial,
            threads,
            barrier: false,
        }
    }

    /// The test programs' classic shape `name` over memory words 4 bytes apart, unvaried:
    /// for checking the checker against outcomes known to be forbidden.
    #[cfg(test)]
    pub fn shape(name: &str) -> Option<Litmus> {
        let (shape, threads) = SHAPES.iter().find(|(shape, _)| *shape == name)?;
        Some(Litmus {
            shape,
            locations: vec![
                Location::Memory(DATA_START),
                Location::Memory(DATA_START + 4),
            ],
            initial: vec![0, 0],
            threads: threads.iter().map(|ops| ops.to_vec()).collect(),
            barrier: true,
        })
    }

    /// Varies a shape: replaces some stores by read-modify-writes and some loads by
    /// compare-exchanges or adds of 0, and adds fences and notifies, within
    /// [`MAX_OPERATIONS`].
    fn vary(&mut self, rng: &mut impl Rng) {
        for thread in &mut self.threads {
            for op in thread.iter_mut() {
                if rng.gen_bool(0.3) {
                    *op = match *op {
                        Op::Store(location, value) => {
                            Op::Rmw(location, Rmw::ALL[rng.gen_range(0..Rmw::ALL.len())], value)
                        }
                        Op::Load(location) if rng.gen_bool(0.5) => Op::Rmw(location, Rmw::Add, 0),
                        Op::Load(location) => Op::CompareExchange {
                            location,
                            expected: 0,
                            replacement: 0,
                        },
                        other => other,
                    };
                }
            }
        }
        let locations = self.locations.len();
        while self.operations() < MAX_OPERATIONS && rng.gen_bool(0.3) {
            let thread = rng.gen_range(0..self.threads.len());
            let at = rng.gen_range(0..=self.threads[thread].len());
            let op = if rng.gen_bool(0.5) {
                Op::Fence
            } else {
                Op::Notify(rng.gen_range(0..locations))
            };
            self.threads[thread].insert(at, op);
        }
    }

    /// Notifies need a memory location: a notify of a global becomes a fence.
    fn drop_notifies_of_globals(&mut self) {
        for op in self.threads.iter_mut().flatten() {
            if let Op::Notify(location) = *op
                && matches!(self.locations[location], Location::Global(_))
            {
                *op = Op::Fence;
            }
        }
    }

    /// Gives every store and read-modify-write an operand of its own, so that a result
    /// tells which write it read, and every compare-exchange an expected value that some
    /// interleaving may meet (the initial value or one written to its location) and a
    /// replacement of its own.
    fn renumber_values(&mut self, rng: &mut impl Rng) {
        let mut next = 1;
        let mut fresh = || {
            let value = next;
            next += 1;
            value
        };
        let mut written: Vec<Vec<u32>> = self.initial.iter().map(|&value| vec![value]).collect();
        for op in self.threads.iter_mut().flatten() {
            match op {
                Op::Store(location, value) => {
                    *value = fresh();
                    written[*location].push(*value);
                }
                // An add of 0 is a load that writes; keep it so.
                Op::Rmw(_, Rmw::Add, 0) => {}
                Op::Rmw(location, _, operand) => {
                    *operand = fresh();
                    written[*location].push(*operand);
                }
                Op::CompareExchange { replacement, .. } => *replacement = fresh(),
                Op::Load(_) | Op::Fence | Op::Notify(_) => {}
            }
        }
        for op in self.threads.iter_mut().flatten() {
            if let Op::CompareExchange {
                location, expected, ..
            } = op
            {
                let candidates = &written[*location];
                *expected = candidates[rng.gen_range(0..candidates.len())];
            }
        }
    }
}

/// Random threads over `locations` locations: 2 to 4 threads, 4 to [`MAX_OPERATIONS`]
/// operations in all, at least one in each thread.
fn random_threads(rng: &mut impl Rng, locations: usize) -> Vec<Vec<Op>> {
    let count = rng.gen_range(2..=4);
    let total = rng.gen_range(count.max(4)..=MAX_OPERATIONS);
    let mut threads: Vec<Vec<Op>> = vec![Vec::new(); count];
    for index in 0..total {
        // The first operations give every thread one.
        let thread = if index < count {
            index
        } else {
            rng.gen_range(0..count)
        };
        let location = rng.gen_range(0..locations);
        let op = match rng.gen_range(0..12) {
            0..=3 => Op::Load(location),
            4..=6 => Op::Store(location, 0),
            // Any operand but 0, which would make an add a load that writes; numbered later.
            7..=8 => Op::Rmw(location, Rmw::ALL[rng.gen_range(0..Rmw::ALL.len())], 1),
            9..=10 => Op::CompareExchange {
                location,
                expected: 0,
                replacement: 0,
            },
            _ if rng.gen_bool(0.5) => Op::Fence,
            _ => Op::Notify(location),
        };
        threads[thread].push(op);
    }
    threads
}
