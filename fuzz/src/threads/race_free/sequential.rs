//! The answer a race-free program must reach: its threads run one after another, in the
//! order of their ranks (so that every producer runs before its consumers), on a model of
//! memory and globals.

use super::{Access, Cell, Part, RaceFree, Step};
use crate::threads::wat::{BARRIER, DONE, MEMORY_BYTES};

/// The final state every run must reach, and what the model counted on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The whole memory.
    pub memory: Vec<u8>,
    /// Each shared global's value.
    pub globals: Vec<u64>,
    /// Atomic operations executed by one run, at least (compare-exchange loops that retry
    /// and waits do more).
    pub atomic_operations: u64,
}

/// Memory and globals as the program sees them.
struct Machine {
    memory: Vec<u8>,
    globals: Vec<u64>,
    atomic_operations: u64,
}

impl Machine {
    fn read(&self, address: u32, bytes: u32) -> u64 {
        let start = address as usize;
        self.memory[start..start + bytes as usize]
            .iter()
            .rev()
            .fold(0, |value, &byte| (value << 8) | u64::from(byte))
    }

    fn write(&mut self, address: u32, bytes: u32, value: u64) {
        let start = address as usize;
        for (index, byte) in self.memory[start..start + bytes as usize]
            .iter_mut()
            .enumerate()
        {
            *byte = (value >> (8 * index)) as u8;
        }
    }

    fn read_cell(&self, cell: Cell) -> u64 {
        match cell {
            Cell::Memory { address, width, .. } => self.read(address, width.bytes()),
            Cell::Global { index, .. } => self.globals[index],
        }
    }

    fn write_cell(&mut self, cell: Cell, value: u64) {
        let value = value & cell.mask();
        match cell {
            Cell::Memory { address, width, .. } => self.write(address, width.bytes(), value),
            Cell::Global { index, .. } => self.globals[index] = value,
        }
    }

    /// A plain load of `access` in the region at `base` of `words` words, as the guest
    /// gives it: sign- or zero-extended to 32 bits.
    fn load(&self, base: u32, words: u32, access: Access, iteration: u32) -> u32 {
        let word = base + 4 * access.slot.index(iteration, words);
        match access.part {
            Part::Word => self.read(word, 4) as u32,
            Part::Byte { offset, signed } => {
                let byte = self.read(word + offset, 1) as u8;
                if signed {
                    byte as i8 as i32 as u32
                } else {
                    u32::from(byte)
                }
            }
            Part::Half { offset, signed } => {
                let half = self.read(word + offset, 2) as u16;
                if signed {
                    half as i16 as i32 as u32
                } else {
                    u32::from(half)
                }
            }
        }
    }

    fn store(&mut self, base: u32, words: u32, access: Access, iteration: u32, value: u32) {
        let word = base + 4 * access.slot.index(iteration, words);
        let value = u64::from(value);
        match access.part {
            Part::Word => self.write(word, 4, value),
            Part::Byte { offset, .. } => self.write(word + offset, 1, value),
            Part::Half { offset, .. } => self.write(word + offset, 2, value),
        }
    }
}

impl RaceFree {
    /// Runs the program sequentially: the final state every run must reach.
    pub fn expected(&self) -> Expected {
        let mut machine = Machine {
            memory: vec![0; MEMORY_BYTES as usize],
            globals: Vec::new(),
            atomic_operations: 0,
        };
        self.initialize(&mut machine);
        if self.barrier {
            machine.write(BARRIER, 4, self.threads.len() as u64);
            // The arrivals' adds and loads.
            machine.atomic_operations += 2 * self.threads.len() as u64;
        }
        let others = self.threads.len().saturating_sub(1) as u64;
        machine.write(DONE, 4, others);
        // Each other thread's count and notify, and the main thread's load of the count.
        machine.atomic_operations += 2 * others + 1;
        let mut order: Vec<usize> = (0..self.threads.len()).collect();
        order.sort_by_key(|&thread| self.ranks[thread]);
        for thread in order {
            for step in &self.threads[thread] {
                self.execute(&mut machine, step);
            }
        }
        Expected {
            memory: machine.memory,
            globals: machine.globals,
            atomic_operations: machine.atomic_operations,
        }
    }

    /// What the main thread stores before it starts the others, and the globals'
    /// initializers.
    fn initialize(&self, machine: &mut Machine) {
        for accumulator in &self.accumulators {
            if let Cell::Global { index, .. } = accumulator.cell
                && machine.globals.len() <= index
            {
                machine.globals.resize(index + 1, 0);
            }
            machine.write_cell(accumulator.cell, accumulator.initial);
        }
        for region in &self.regions {
            for (word, &value) in region.initial.iter().enumerate() {
                machine.write(region.base + 4 * word as u32, 4, u64::from(value));
            }
        }
        for lock in &self.locks {
            for &(address, initial, _) in &lock.guarded {
                machine.write(address, 4, u64::from(initial));
            }
        }
    }

    fn execute(&self, machine: &mut Machine, step: &Step) {
        match step {
            Step::Accumulate {
                accumulator,
                iterations,
                combine,
                operand,
                compare_exchange_loop,
            } => {
                let cell = self.accumulators[*accumulator].cell;
                for iteration in 0..*iterations {
                    let old = machine.read_cell(cell);
                    machine.write_cell(cell, combine.apply(old, operand.value(iteration, cell)));
                }
                // A loop loads, then compare-exchanges at least once.
                let per_iteration = if *compare_exchange_loop { 2 } else { 1 };
                machine.atomic_operations += per_iteration * u64::from(*iterations);
            }
            Step::Compute {
                region,
                iterations,
                statements,
            } => {
                let region = &self.regions[*region];
                for iteration in 0..*iterations {
                    for statement in statements {
                        let inputs: Vec<u32> = statement
                            .loads
                            .iter()
                            .map(|&access| {
                                machine.load(region.base, region.words, access, iteration)
                            })
                            .collect();
                        let value = statement.value.eval(iteration, &inputs);
                        machine.store(region.base, region.words, statement.store, iteration, value);
                    }
                }
            }
            Step::Produce {
                channel, values, ..
            } => {
                let channel = &self.channels[*channel];
                for (index, (&address, value)) in channel.data.iter().zip(values).enumerate() {
                    machine.write(address, 4, u64::from(value.eval(index as u32, &[])));
                }
                machine.write(channel.flag, 4, 1);
                // The publication, the notify and its count.
                machine.atomic_operations += 3;
            }
            Step::Consume { channel, results } => {
                let channel = &self.channels[*channel];
                for (index, (&data, (address, value))) in
                    channel.data.iter().zip(results).enumerate()
                {
                    let input = machine.read(data, 4) as u32;
                    let result = value.eval(index as u32, &[input]);
                    machine.write(*address, 4, u64::from(result));
                }
                // The flag's load.
                machine.atomic_operations += 1;
            }
            Step::Locked {
                lock,
                iterations,
                updates,
            } => {
                let lock = &self.locks[*lock];
                for iteration in 0..*iterations {
                    for (guarded, operand) in updates {
                        let (address, _, combine) = lock.guarded[*guarded];
                        let old = machine.read(address, 4);
                        let operand = u64::from(operand.eval(iteration, &[]));
                        machine.write(address, 4, combine.apply(old, operand));
                    }
                }
                // A take and a release, at least, and a fence per update.
                machine.atomic_operations += u64::from(*iterations) * (2 + updates.len() as u64);
            }
        }
    }
}
