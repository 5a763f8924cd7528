//! A race-free program as WAT: the main thread's initialization and each thread's body.

use super::{
    Access, Cell, Combine, Operand, Part, Publish, RaceFree, Region, Shape, Statement, Step, Width,
};
use crate::threads::wat::{ModuleParts, SharedGlobal};
use std::fmt::Write;

impl RaceFree {
    /// The module's parts.
    pub fn parts(&self) -> ModuleParts {
        let bodies = self
            .threads
            .iter()
            .map(|steps| {
                let mut body = String::new();
                for (index, step) in steps.iter().enumerate() {
                    self.emit_step(&mut body, step, index);
                }
                body
            })
            .collect();
        ModuleParts {
            init: self.init(),
            bodies,
            globals: self.globals(),
            barrier: self.barrier,
            lock_kinds: self.locks.iter().map(|lock| lock.kind).collect(),
        }
    }

    /// The shared globals, in index order.
    pub fn globals(&self) -> Vec<SharedGlobal> {
        let mut globals: Vec<(usize, SharedGlobal)> = self
            .accumulators
            .iter()
            .filter_map(|accumulator| match accumulator.cell {
                Cell::Global { index, wide } => Some((
                    index,
                    SharedGlobal {
                        wide,
                        initial: accumulator.initial,
                    },
                )),
                Cell::Memory { .. } => None,
            })
            .collect();
        globals.sort_by_key(|(index, _)| *index);
        globals.into_iter().map(|(_, global)| global).collect()
    }

    /// Plain stores of every initial value the memory holds.
    fn init(&self) -> String {
        let mut init = String::new();
        for accumulator in &self.accumulators {
            if let Cell::Memory { address, width, .. } = accumulator.cell {
                let (store, value) = match width {
                    Width::Byte => (
                        "i32.store8",
                        format!("(i32.const {})", accumulator.initial as i32),
                    ),
                    Width::Half => (
                        "i32.store16",
                        format!("(i32.const {})", accumulator.initial as i32),
                    ),
                    Width::Word => (
                        "i32.store",
                        format!("(i32.const {})", accumulator.initial as u32 as i32),
                    ),
                    Width::Double => (
                        "i64.store",
                        format!("(i64.const {})", accumulator.initial as i64),
                    ),
                };
                let _ = writeln!(init, "    ({store} (i32.const {address}) {value})");
            }
        }
        for region in &self.regions {
            for (word, &value) in region.initial.iter().enumerate() {
                let address = region.base + 4 * word as u32;
                let _ = writeln!(
                    init,
                    "    (i32.store (i32.const {address}) (i32.const {}))",
                    value as i32
                );
            }
        }
        for lock in &self.locks {
            for &(address, initial, _) in &lock.guarded {
                let _ = writeln!(
                    init,
                    "    (i32.store (i32.const {address}) (i32.const {}))",
                    initial as i32
                );
            }
        }
        init
    }

    /// Step `index` of a thread's body.
    fn emit_step(&self, body: &mut String, step: &Step, index: usize) {
        match step {
            Step::Accumulate {
                accumulator,
                iterations,
                combine,
                operand,
                compare_exchange_loop,
            } => {
                let cell = self.accumulators[*accumulator].cell;
                let update = if *compare_exchange_loop {
                    combining_loop(cell, *combine, operand, index)
                } else {
                    format!(
                        "(drop ({} {}))",
                        instruction(cell, combine.mnemonic()),
                        operand_wat(operand, cell)
                    )
                };
                counted_loop(body, index, *iterations, &update);
            }
            Step::Compute {
                region,
                iterations,
                statements,
            } => {
                let region = &self.regions[*region];
                let computed: Vec<String> = statements
                    .iter()
                    .map(|statement| compute(region, statement))
                    .collect();
                counted_loop(body, index, *iterations, &computed.join("\n      "));
            }
            Step::Produce {
                channel,
                values,
                publish,
                wake,
            } => {
                let channel = &self.channels[*channel];
                for (word, (&address, value)) in channel.data.iter().zip(values).enumerate() {
                    let _ = writeln!(
                        body,
                        "    (local.set $i (i32.const {word}))\n    \
                         (i32.store (i32.const {address}) {})",
                        value.wat()
                    );
                }
                let flag = channel.flag;
                let published = match publish {
                    Publish::Store => {
                        format!("(i32.atomic.store (i32.const {flag}) (i32.const 1))")
                    }
                    Publish::Exchange => {
                        format!("(drop (i32.atomic.rmw.xchg (i32.const {flag}) (i32.const 1)))")
                    }
                    Publish::Add => {
                        format!("(drop (i32.atomic.rmw.add (i32.const {flag}) (i32.const 1)))")
                    }
                };
                let _ = writeln!(
                    body,
                    "    {published}\n    (call $notify (i32.const {flag}) (i32.const {wake}))"
                );
            }
            Step::Consume { channel, results } => {
                let channel = &self.channels[*channel];
                let _ = writeln!(
                    body,
                    "    (call $await_nonzero (i32.const {}))",
                    channel.flag
                );
                for (word, (&data, (address, value))) in
                    channel.data.iter().zip(results).enumerate()
                {
                    let _ = writeln!(
                        body,
                        "    (local.set $i (i32.const {word}))\n    \
                         (local.set $in0 (i32.load (i32.const {data})))\n    \
                         (i32.store (i32.const {address}) {})",
                        value.wat()
                    );
                }
            }
            Step::Locked {
                lock,
                iterations,
                updates,
            } => {
                let lock = &self.locks[*lock];
                let mut section = vec![lock.kind.lock(lock.address)];
                for (guarded, operand) in updates {
                    let (address, _, combine) = lock.guarded[*guarded];
                    section.push(format!(
                        "(local.set $in0 (i32.load (i32.const {address})))\n      \
                         (atomic.fence)\n      \
                         (i32.store (i32.const {address}) (i32.{} (local.get $in0) {}))",
                        combine.mnemonic(),
                        operand.wat()
                    ));
                }
                section.push(lock.kind.unlock(lock.address));
                counted_loop(body, index, *iterations, &section.join("\n      "));
            }
        }
    }
}

/// `update` run `iterations` times with `$i` counting from 0; `index` makes its labels
/// unique in the body.
fn counted_loop(body: &mut String, index: usize, iterations: u32, update: &str) {
    let _ = writeln!(
        body,
        "    (local.set $i (i32.const 0))
    (block $end{index}
      (loop $next{index}
      (br_if $end{index} (i32.ge_u (local.get $i) (i32.const {iterations})))
      {update}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next{index})))"
    );
}

/// The operand as WAT, in the cell's instruction type.
fn operand_wat(operand: &Operand, cell: Cell) -> String {
    let value = operand.expr.wat();
    if cell.is_wide() {
        let spread = format!(
            "(i64.mul (i64.extend_i32_u {value}) (i64.const {}))",
            operand.spread as i64
        );
        match operand.shape {
            Shape::None => spread,
            Shape::Or(bits) => format!("(i64.or {spread} (i64.const {}))", bits as i64),
            Shape::And(bits) => format!("(i64.and {spread} (i64.const {}))", bits as i64),
        }
    } else {
        let shaped = match operand.shape {
            Shape::None => value,
            Shape::Or(bits) => format!("(i32.or {value} (i32.const {}))", bits as u32 as i32),
            Shape::And(bits) => format!("(i32.and {value} (i32.const {}))", bits as u32 as i32),
        };
        if cell.in_i64() {
            format!("(i64.extend_i32_u {shaped})")
        } else {
            shaped
        }
    }
}

/// The cell's atomic instruction for `operation` (`load`, or a read-modify-write: `add`,
/// `cmpxchg`, ...) with what names the cell (an address or a global), without the
/// operands that follow.
fn instruction(cell: Cell, operation: &str) -> String {
    match cell {
        Cell::Memory {
            address,
            width,
            through_i64,
        } => {
            let ty = if width == Width::Double || through_i64 {
                "i64"
            } else {
                "i32"
            };
            let narrow = match (width, ty) {
                (Width::Byte, _) => "8",
                (Width::Half, _) => "16",
                (Width::Word, "i64") => "32",
                _ => "",
            };
            let suffix = if narrow.is_empty() { "" } else { "_u" };
            let name = if operation == "load" {
                format!("{ty}.atomic.load{narrow}{suffix}")
            } else {
                format!("{ty}.atomic.rmw{narrow}.{operation}{suffix}")
            };
            format!("{name} (i32.const {address})")
        }
        Cell::Global { index, .. } => {
            if operation == "load" {
                format!("global.atomic.get seqcst $g{index}")
            } else {
                format!("global.atomic.rmw.{operation} seqcst $g{index}")
            }
        }
    }
}

/// A compare-exchange loop that combines the operand into the cell.
fn combining_loop(cell: Cell, combine: Combine, operand: &Operand, index: usize) -> String {
    let (ty, old, seen) = if cell.in_i64() {
        ("i64", "$old64", "$seen64")
    } else {
        ("i32", "$old", "$seen")
    };
    let load = instruction(cell, "load");
    let cmpxchg = instruction(cell, "cmpxchg");
    let combined = format!(
        "({ty}.{} (local.get {old}) {})",
        combine.mnemonic(),
        operand_wat(operand, cell)
    );
    format!(
        "(local.set {old} ({load}))
      (block $swapped{index}
        (loop $retry{index}
          (local.set {seen} ({cmpxchg} (local.get {old}) {combined}))
          (br_if $swapped{index} ({ty}.eq (local.get {seen}) (local.get {old})))
          (local.set {old} (local.get {seen}))
          (br $retry{index})))"
    )
}

/// One statement on a region, as WAT.
fn compute(region: &Region, statement: &Statement) -> String {
    let mut text = String::new();
    for (input, &access) in statement.loads.iter().enumerate() {
        let (load, offset) = match access.part {
            Part::Word => ("i32.load".to_string(), 0),
            Part::Byte { offset, signed } => (
                format!("i32.load8_{}", if signed { 's' } else { 'u' }),
                offset,
            ),
            Part::Half { offset, signed } => (
                format!("i32.load16_{}", if signed { 's' } else { 'u' }),
                offset,
            ),
        };
        let _ = write!(
            text,
            "(local.set $in{input} ({load} offset={offset} {}))\n      ",
            word_address(region, access)
        );
    }
    let (store, offset) = match statement.store.part {
        Part::Word => ("i32.store", 0),
        Part::Byte { offset, .. } => ("i32.store8", offset),
        Part::Half { offset, .. } => ("i32.store16", offset),
    };
    let _ = write!(
        text,
        "({store} offset={offset} {} {})",
        word_address(region, statement.store),
        statement.value.wat()
    );
    text
}

/// The address of the region word `access` touches at `$i`.
fn word_address(region: &Region, access: Access) -> String {
    format!(
        "(i32.add (i32.const {}) (i32.shl (i32.rem_u (i32.add (i32.mul (local.get $i) \
         (i32.const {})) (i32.const {})) (i32.const {})) (i32.const 2)))",
        region.base, access.slot.multiplier, access.slot.offset, region.words
    )
}
