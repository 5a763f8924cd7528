//! A litmus program as WAT: each operation one atomic instruction, its result stored in
//! the thread's next result slot.

use super::{Litmus, Location, Op};
use crate::threads::wat::ModuleParts;
use std::fmt::Write;

impl Litmus {
    /// The module's parts.
    pub fn parts(&self) -> ModuleParts {
        let mut init = String::new();
        for (location, &initial) in self.locations.iter().zip(&self.initial) {
            if let Location::Memory(address) = location {
                let _ = writeln!(
                    init,
                    "    (i32.store (i32.const {address}) (i32.const {}))",
                    initial as i32
                );
            }
        }
        let bodies = self
            .threads
            .iter()
            .enumerate()
            .map(|(thread, ops)| {
                let mut body = String::new();
                let mut slot = 0;
                for &op in ops {
                    let access = self.access(op);
                    if op.has_result() {
                        let address = Litmus::result_address(thread, slot);
                        slot += 1;
                        let _ = writeln!(body, "    (i32.store (i32.const {address}) {access})");
                    } else {
                        let _ = writeln!(body, "    {access}");
                    }
                }
                body
            })
            .collect();
        ModuleParts {
            init,
            bodies,
            globals: self.globals(),
            barrier: self.barrier,
            lock_kinds: Vec::new(),
        }
    }

    /// The instruction, folded, for one operation.
    fn access(&self, op: Op) -> String {
        let constant = |value: u32| format!("(i32.const {})", value as i32);
        let Some(location) = op.location() else {
            return "(atomic.fence)".to_string();
        };
        match self.locations[location] {
            Location::Memory(address) => {
                let at = constant(address);
                match op {
                    Op::Load(_) => format!("(i32.atomic.load {at})"),
                    Op::Store(_, value) => format!("(i32.atomic.store {at} {})", constant(value)),
                    Op::Rmw(_, rmw, operand) => format!(
                        "(i32.atomic.rmw.{} {at} {})",
                        rmw.mnemonic(),
                        constant(operand)
                    ),
                    Op::CompareExchange {
                        expected,
                        replacement,
                        ..
                    } => format!(
                        "(i32.atomic.rmw.cmpxchg {at} {} {})",
                        constant(expected),
                        constant(replacement)
                    ),
                    Op::Notify(_) => format!("(memory.atomic.notify {at} (i32.const 1))"),
                    Op::Fence => "(atomic.fence)".to_string(),
                }
            }
            Location::Global(index) => match op {
                Op::Load(_) => format!("(global.atomic.get seqcst $g{index})"),
                Op::Store(_, value) => {
                    format!("(global.atomic.set seqcst $g{index} {})", constant(value))
                }
                Op::Rmw(_, rmw, operand) => format!(
                    "(global.atomic.rmw.{} seqcst $g{index} {})",
                    rmw.mnemonic(),
                    constant(operand)
                ),
                Op::CompareExchange {
                    expected,
                    replacement,
                    ..
                } => format!(
                    "(global.atomic.rmw.cmpxchg seqcst $g{index} {} {})",
                    constant(expected),
                    constant(replacement)
                ),
                // Never generated: a notify of a global became a fence.
                Op::Notify(_) | Op::Fence => "(atomic.fence)".to_string(),
            },
        }
    }
}
