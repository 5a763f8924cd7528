//! Random race-free programs: tasks of four kinds (atomic accumulation, private
//! computation, message passing, locked updates), each spread over some of the threads, the
//! threads' steps shuffled.

use super::{
    Access, Accumulator, Cell, Channel, Combine, Lock, Operand, Part, Publish, RaceFree, Region,
    Shape, Slot, Statement, Step, Width,
};
use crate::threads::expr::{BinaryOp, Expr, interesting_constant};
use crate::threads::wat::{DATA_START, Flavor, LockKind};
use rand::Rng;

/// Schedule points a program may pass in one run, roughly: each costs a hand-over between
/// threads under a schedule, which bounds how long a case takes.
const POINTS: u32 = 240;
/// Tasks in a program at most.
const MAX_TASKS: usize = 4;
/// Iterations of one loop at most.
const MAX_ITERATIONS: u32 = 200;

const COMBINES: [Combine; 6] = [
    Combine::Add,
    Combine::Sub,
    Combine::And,
    Combine::Or,
    Combine::Xor,
    Combine::Mul,
];

impl RaceFree {
    /// A random program for `flavor` (shared globals only with guest threads).
    pub fn generate(rng: &mut impl Rng, flavor: Flavor) -> RaceFree {
        let threads = rng.gen_range(2..=4);
        let mut ranks: Vec<usize> = (0..threads).collect();
        shuffle(rng, &mut ranks);
        let mut builder = Builder {
            flavor,
            points: POINTS,
            next_address: DATA_START,
            narrow_word: None,
            globals: 0,
            program: RaceFree {
                threads: vec![Vec::new(); threads],
                ranks,
                accumulators: Vec::new(),
                regions: Vec::new(),
                channels: Vec::new(),
                locks: Vec::new(),
                barrier: rng.gen_bool(0.5),
                extent: DATA_START,
                labels: Vec::new(),
            },
        };
        for _ in 0..rng.gen_range(1..=MAX_TASKS) {
            match rng.gen_range(0..4) {
                0 => builder.accumulate(rng),
                1 => builder.compute(rng),
                2 => builder.channel(rng),
                _ => builder.locked(rng),
            }
        }
        if builder.program.threads.iter().all(Vec::is_empty) {
            // Out of points before any task: computing passes none.
            builder.compute(rng);
        }
        for steps in &mut builder.program.threads {
            shuffle(rng, steps);
        }
        builder.program.extent = builder.next_address;
        builder.program
    }
}

/// A program being built, and what is left to build it with.
struct Builder {
    flavor: Flavor,
    /// Schedule points left.
    points: u32,
    next_address: u32,
    /// The word narrow cells are packed into, and the bytes of it already taken.
    narrow_word: Option<(u32, u32)>,
    globals: usize,
    program: RaceFree,
}

impl Builder {
    /// `bytes` of memory aligned to `align`, labeled. The layout stays far below the end of
    /// the page: [`MAX_TASKS`] tasks of at most 4 regions of 16 words or a few words of
    /// channel or lock take a few KiB at most.
    fn take(&mut self, bytes: u32, align: u32, label: String) -> u32 {
        let address = self.next_address.next_multiple_of(align);
        self.next_address = address + bytes;
        self.program.labels.push((address, bytes, label));
        address
    }

    /// A narrow memory cell, packed beside the previous narrow cells while their word has
    /// room, so that atomics of different threads meet in one word.
    fn take_narrow(&mut self, width: Width, label: String) -> u32 {
        let bytes = width.bytes();
        if let Some((word, used)) = self.narrow_word {
            let offset = used.next_multiple_of(bytes);
            if offset + bytes <= 4 {
                self.narrow_word = Some((word, offset + bytes));
                self.program.labels.push((word + offset, bytes, label));
                return word + offset;
            }
        }
        let word = self.take(bytes, 4, label);
        self.narrow_word = Some((word, bytes));
        word
    }

    /// Iterations for a loop whose every iteration passes `cost` points, within what is
    /// left: at least 1, if one fits.
    fn iterations(&mut self, rng: &mut impl Rng, cost: u32, wanted: u32) -> Option<u32> {
        let affordable = self.points / cost.max(1);
        if affordable == 0 {
            return None;
        }
        let iterations = rng.gen_range(1..=wanted.min(affordable).max(1));
        self.points -= iterations * cost;
        Some(iterations)
    }

    /// Threads taking part in a task: each with probability 3/4, at least `least` of them.
    fn participants(&self, rng: &mut impl Rng, least: usize) -> Vec<usize> {
        let threads = self.program.threads.len();
        let mut chosen: Vec<usize> = (0..threads).filter(|_| rng.gen_bool(0.75)).collect();
        while chosen.len() < least.min(threads) {
            let thread = rng.gen_range(0..threads);
            if !chosen.contains(&thread) {
                chosen.push(thread);
            }
        }
        chosen.sort_unstable();
        chosen
    }

    /// Threads combine operands into one new cell, by atomic read-modify-writes or
    /// compare-exchange loops.
    fn accumulate(&mut self, rng: &mut impl Rng) {
        let index = self.program.accumulators.len();
        let first = COMBINES[rng.gen_range(0..COMBINES.len())];
        let family = first.family();
        let label = format!("accumulator {index} ({})", first.mnemonic());
        let cell = if self.flavor == Flavor::Guest && rng.gen_bool(0.25) {
            self.globals += 1;
            Cell::Global {
                index: self.globals - 1,
                wide: rng.gen_bool(0.5),
            }
        } else {
            let width = [Width::Byte, Width::Half, Width::Word, Width::Double][rng.gen_range(0..4)];
            let address = match width {
                Width::Byte | Width::Half => self.take_narrow(width, label),
                Width::Word => self.take(4, 4, label),
                Width::Double => self.take(8, 8, label),
            };
            Cell::Memory {
                address,
                width,
                through_i64: width != Width::Double && rng.gen_bool(0.3),
            }
        };
        let initial = wide_constant(rng) & cell.mask();
        self.program
            .accumulators
            .push(Accumulator { cell, initial });
        for thread in self.participants(rng, 2) {
            for _ in 0..rng.gen_range(1..=2) {
                let combine = family[rng.gen_range(0..family.len())];
                // There is no atomic multiply.
                let compare_exchange_loop = combine == Combine::Mul || rng.gen_bool(0.3);
                let cost = if compare_exchange_loop { 2 } else { 1 };
                let wanted = loop_length(rng);
                let Some(iterations) = self.iterations(rng, cost, wanted) else {
                    return;
                };
                self.program.threads[thread].push(Step::Accumulate {
                    accumulator: index,
                    iterations,
                    combine,
                    operand: operand(rng, combine),
                    compare_exchange_loop,
                });
            }
        }
    }

    /// Some threads compute on regions of their own with plain accesses.
    fn compute(&mut self, rng: &mut impl Rng) {
        for thread in self.participants(rng, 1) {
            let index = self.program.regions.len();
            let words = rng.gen_range(2..=16);
            let base = self.take(4 * words, 4, format!("region {index} of thread {thread}"));
            let initial = (0..words).map(|_| interesting_constant(rng)).collect();
            self.program.regions.push(Region {
                base,
                words,
                initial,
            });
            let statements = (0..rng.gen_range(1..=3))
                .map(|_| {
                    let loads: Vec<Access> = (0..rng.gen_range(0..=2))
                        .map(|_| access(rng, words))
                        .collect();
                    Statement {
                        value: Expr::random(rng, loads.len()),
                        loads,
                        store: access(rng, words),
                    }
                })
                .collect();
            self.program.threads[thread].push(Step::Compute {
                region: index,
                iterations: rng.gen_range(1..=MAX_ITERATIONS),
                statements,
            });
        }
    }

    /// A producer publishes data behind a flag; one or two consumers of higher rank wait
    /// for it and compute from the data into words of their own.
    fn channel(&mut self, rng: &mut impl Rng) {
        let threads = self.program.threads.len();
        let consumers_wanted = rng.gen_range(1..=2usize);
        // Both the producer and each consumer pass a few points.
        let cost = 3 + 2 * consumers_wanted as u32;
        if self.points < cost {
            return;
        }
        self.points -= cost;
        let producer_rank = rng.gen_range(0..threads - 1);
        let thread_of_rank = |rank: usize| {
            self.program
                .ranks
                .iter()
                .position(|&of| of == rank)
                .unwrap_or(0)
        };
        let producer = thread_of_rank(producer_rank);
        let mut consumers: Vec<usize> = Vec::new();
        for _ in 0..consumers_wanted {
            let consumer = thread_of_rank(rng.gen_range(producer_rank + 1..threads));
            if !consumers.contains(&consumer) {
                consumers.push(consumer);
            }
        }
        let index = self.program.channels.len();
        let flag = self.take(4, 4, format!("channel {index}'s flag"));
        let words = rng.gen_range(1..=4);
        let data = (0..words)
            .map(|word| self.take(4, 4, format!("channel {index}'s data word {word}")))
            .collect();
        self.program.channels.push(Channel { flag, data });
        let wake = if rng.gen_bool(0.5) {
            -1
        } else {
            consumers.len() as i32
        };
        let publish = [Publish::Store, Publish::Exchange, Publish::Add][rng.gen_range(0..3)];
        self.program.threads[producer].push(Step::Produce {
            channel: index,
            values: (0..words).map(|_| Expr::random(rng, 0)).collect(),
            publish,
            wake,
        });
        for consumer in consumers {
            let results = (0..words)
                .map(|word| {
                    let address = self.take(
                        4,
                        4,
                        format!("thread {consumer}'s result {word} from channel {index}"),
                    );
                    // Always from the data word, so that a stale read shows.
                    let op = [BinaryOp::Add, BinaryOp::Xor, BinaryOp::Mul, BinaryOp::Sub]
                        [rng.gen_range(0..4)];
                    let value =
                        Expr::Binary(op, Box::new(Expr::Input(0)), Box::new(Expr::random(rng, 1)));
                    (address, value)
                })
                .collect();
            self.program.threads[consumer].push(Step::Consume {
                channel: index,
                results,
            });
        }
    }

    /// Two threads or more update plain words under a lock.
    fn locked(&mut self, rng: &mut impl Rng) {
        let index = self.program.locks.len();
        let address = self.take(4, 4, format!("lock {index}"));
        let guarded = (0..rng.gen_range(1..=2))
            .map(|word| {
                let combine = COMBINES[rng.gen_range(0..COMBINES.len())];
                let address = self.take(
                    4,
                    4,
                    format!("lock {index}'s word {word} ({})", combine.mnemonic()),
                );
                (address, interesting_constant(rng), combine)
            })
            .collect::<Vec<_>>();
        for thread in self.participants(rng, 2) {
            let mut words: Vec<usize> = (0..guarded.len()).filter(|_| rng.gen_bool(0.7)).collect();
            if words.is_empty() {
                words.push(0);
            }
            let updates: Vec<(usize, Expr)> = words
                .into_iter()
                .map(|word| (word, locked_operand(rng, guarded[word].2)))
                .collect();
            // A take, a release and a fence per update; a contended take waits too.
            let cost = 3 + updates.len() as u32;
            let Some(iterations) = self.iterations(rng, cost, 16) else {
                break;
            };
            self.program.threads[thread].push(Step::Locked {
                lock: index,
                iterations,
                updates,
            });
        }
        let kind = LockKind::CORRECT[rng.gen_range(0..LockKind::CORRECT.len())];
        self.program.locks.push(Lock {
            address,
            kind,
            guarded,
        });
    }
}

/// A loop's length: mostly short, now and then up to [`MAX_ITERATIONS`].
fn loop_length(rng: &mut impl Rng) -> u32 {
    if rng.gen_bool(0.1) {
        MAX_ITERATIONS
    } else {
        rng.gen_range(1..=32)
    }
}

/// An operand for `combine` that keeps information as it repeats: ands clear few bits, ors
/// set few, multipliers are odd.
fn operand(rng: &mut impl Rng, combine: Combine) -> Operand {
    let shape = match combine {
        Combine::And => Shape::Or(dense_bits(rng)),
        Combine::Or => Shape::And(sparse_bits(rng)),
        Combine::Mul => Shape::Or(1),
        Combine::Add | Combine::Sub | Combine::Xor => Shape::None,
    };
    Operand {
        expr: Expr::random(rng, 0),
        spread: wide_constant(rng) | 1,
        shape,
    }
}

/// The same for a locked update of an i32 word.
fn locked_operand(rng: &mut impl Rng, combine: Combine) -> Expr {
    let expr = Expr::random(rng, 0);
    match combine {
        Combine::And => expr.with(BinaryOp::Or, dense_bits(rng) as u32),
        Combine::Or => expr.with(BinaryOp::And, sparse_bits(rng) as u32),
        Combine::Mul => expr.with(BinaryOp::Or, 1),
        Combine::Add | Combine::Sub | Combine::Xor => expr,
    }
}

/// All bits but two (in both halves of a 64-bit value).
fn dense_bits(rng: &mut impl Rng) -> u64 {
    !((1 << rng.gen_range(0..32)) | (1 << rng.gen_range(32..64)) | (1 << rng.gen_range(0..8)))
}

/// Two bits or three.
fn sparse_bits(rng: &mut impl Rng) -> u64 {
    (1 << rng.gen_range(0..64)) | (1 << rng.gen_range(0..32)) | (1 << rng.gen_range(0..8))
}

/// A 64-bit constant that tends to matter.
fn wide_constant(rng: &mut impl Rng) -> u64 {
    match rng.gen_range(0..3) {
        0 => u64::from(interesting_constant(rng)),
        1 => u64::from(interesting_constant(rng)) << 32 | u64::from(interesting_constant(rng)),
        _ => rng.r#gen(),
    }
}

/// A random plain access to a region of `words` words.
fn access(rng: &mut impl Rng, words: u32) -> Access {
    let part = match rng.gen_range(0..4) {
        0 => Part::Byte {
            offset: rng.gen_range(0..4),
            signed: rng.gen_bool(0.5),
        },
        1 => Part::Half {
            offset: 2 * rng.gen_range(0..2),
            signed: rng.gen_bool(0.5),
        },
        _ => Part::Word,
    };
    Access {
        slot: Slot {
            multiplier: rng.gen_range(0..8),
            offset: rng.gen_range(0..words),
        },
        part,
    }
}

/// Shuffles `items` (Fisher–Yates).
pub fn shuffle<T>(rng: &mut impl Rng, items: &mut [T]) {
    for last in (1..items.len()).rev() {
        items.swap(last, rng.gen_range(0..=last));
    }
}
