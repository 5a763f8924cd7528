//! Lowering of the threads proposal's `0xFE` operators: atomic loads, stores, read-modify-
//! writes and compare-exchanges, `memory.atomic.wait32/64` and `notify`, and `atomic.fence`.
//!
//! Every memory access follows the proposal's order of checks (see
//! [`FuncEnv::atomic_heap_address`](super::func_env::FuncEnv::atomic_heap_address)): the
//! effective address is computed without wrapping, then checked for natural alignment, then
//! for bounds, explicitly in both bounds-checking modes. The access itself is a Cranelift
//! atomic instruction on the access width, which is sequentially consistent; narrow results
//! are zero-extended and narrow operands wrapped. `atomic_operator` is the proposal's entry
//! point, to which `translate.rs` routes every operator it does not know.
//!
//! The shared-everything-threads proposal adds `global.atomic.*` and `table.atomic.*`.
//! Globals and tables are VM storage rather than linear memory: globals need no address
//! check, table elements only the usual table bounds check. Both orderings are emitted as
//! sequentially consistent, which the proposal allows for acquire-release.

use super::abi::value_type;
use super::translate::{Lowered, Translator};
use super::traps::trap_code;
use crate::environ::{TrapKind, WasmError, unsupported};
use cranelift_codegen::ir::types::{I8, I16, I32, I64};
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, Type, Value};
use wasmparser::{MemArg, MemArgOrdering, Operator, Ordering};
use weft_threads::Operation;

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the threads proposal's operators and of the shared-everything
    /// threads proposal's atomic accesses to globals and tables (those to struct fields and
    /// array elements are GC operators); every other operator goes back to the caller.
    pub(super) fn atomic_operator<'a>(
        &mut self,
        op: Operator<'a>,
        offset: u64,
    ) -> Result<Lowered<'a>, WasmError> {
        use Operator as O;
        match op {
            O::MemoryAtomicNotify { memarg } => self.atomic_notify(&memarg, offset)?,
            O::MemoryAtomicWait32 { memarg } => self.atomic_wait(&memarg, I32, offset)?,
            O::MemoryAtomicWait64 { memarg } => self.atomic_wait(&memarg, I64, offset)?,
            O::AtomicFence { ordering } => self.atomic_fence(ordering, offset)?,
            O::GlobalAtomicGet { global_index, .. } => {
                self.global_atomic_get(global_index, offset)?
            }
            O::GlobalAtomicSet { global_index, .. } => {
                self.global_atomic_set(global_index, offset)?
            }
            O::GlobalAtomicRmwAdd { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::Add, offset)?
            }
            O::GlobalAtomicRmwSub { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::Sub, offset)?
            }
            O::GlobalAtomicRmwAnd { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::And, offset)?
            }
            O::GlobalAtomicRmwOr { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::Or, offset)?
            }
            O::GlobalAtomicRmwXor { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::Xor, offset)?
            }
            O::GlobalAtomicRmwXchg { global_index, .. } => {
                self.global_atomic_rmw(global_index, AtomicRmwOp::Xchg, offset)?
            }
            O::GlobalAtomicRmwCmpxchg { global_index, .. } => {
                self.global_atomic_cmpxchg(global_index, offset)?
            }
            O::TableAtomicGet { table_index, .. } => self.table_atomic_get(table_index),
            O::TableAtomicSet { table_index, .. } => self.table_atomic_set(table_index),
            O::TableAtomicRmwXchg { table_index, .. } => self.table_atomic_xchg(table_index),
            O::TableAtomicRmwCmpxchg { table_index, .. } => self.table_atomic_cmpxchg(table_index),
            O::I32AtomicLoad { memarg } => self.atomic_load(&memarg, I32, I32, offset)?,
            O::I64AtomicLoad { memarg } => self.atomic_load(&memarg, I64, I64, offset)?,
            O::I32AtomicLoad8U { memarg } => self.atomic_load(&memarg, I32, I8, offset)?,
            O::I32AtomicLoad16U { memarg } => self.atomic_load(&memarg, I32, I16, offset)?,
            O::I64AtomicLoad8U { memarg } => self.atomic_load(&memarg, I64, I8, offset)?,
            O::I64AtomicLoad16U { memarg } => self.atomic_load(&memarg, I64, I16, offset)?,
            O::I64AtomicLoad32U { memarg } => self.atomic_load(&memarg, I64, I32, offset)?,
            O::I32AtomicStore { memarg } => self.atomic_store(&memarg, I32, offset)?,
            O::I64AtomicStore { memarg } => self.atomic_store(&memarg, I64, offset)?,
            O::I32AtomicStore8 { memarg } | O::I64AtomicStore8 { memarg } => {
                self.atomic_store(&memarg, I8, offset)?
            }
            O::I32AtomicStore16 { memarg } | O::I64AtomicStore16 { memarg } => {
                self.atomic_store(&memarg, I16, offset)?
            }
            O::I64AtomicStore32 { memarg } => self.atomic_store(&memarg, I32, offset)?,
            O::I32AtomicRmwAdd { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::Add, offset)?
            }
            O::I64AtomicRmwAdd { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::Add, offset)?
            }
            O::I32AtomicRmw8AddU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::Add, offset)?
            }
            O::I32AtomicRmw16AddU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::Add, offset)?
            }
            O::I64AtomicRmw8AddU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::Add, offset)?
            }
            O::I64AtomicRmw16AddU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::Add, offset)?
            }
            O::I64AtomicRmw32AddU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::Add, offset)?
            }
            O::I32AtomicRmwSub { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::Sub, offset)?
            }
            O::I64AtomicRmwSub { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::Sub, offset)?
            }
            O::I32AtomicRmw8SubU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::Sub, offset)?
            }
            O::I32AtomicRmw16SubU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::Sub, offset)?
            }
            O::I64AtomicRmw8SubU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::Sub, offset)?
            }
            O::I64AtomicRmw16SubU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::Sub, offset)?
            }
            O::I64AtomicRmw32SubU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::Sub, offset)?
            }
            O::I32AtomicRmwAnd { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::And, offset)?
            }
            O::I64AtomicRmwAnd { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::And, offset)?
            }
            O::I32AtomicRmw8AndU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::And, offset)?
            }
            O::I32AtomicRmw16AndU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::And, offset)?
            }
            O::I64AtomicRmw8AndU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::And, offset)?
            }
            O::I64AtomicRmw16AndU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::And, offset)?
            }
            O::I64AtomicRmw32AndU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::And, offset)?
            }
            O::I32AtomicRmwOr { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::Or, offset)?
            }
            O::I64AtomicRmwOr { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::Or, offset)?
            }
            O::I32AtomicRmw8OrU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::Or, offset)?
            }
            O::I32AtomicRmw16OrU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::Or, offset)?
            }
            O::I64AtomicRmw8OrU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::Or, offset)?
            }
            O::I64AtomicRmw16OrU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::Or, offset)?
            }
            O::I64AtomicRmw32OrU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::Or, offset)?
            }
            O::I32AtomicRmwXor { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::Xor, offset)?
            }
            O::I64AtomicRmwXor { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::Xor, offset)?
            }
            O::I32AtomicRmw8XorU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::Xor, offset)?
            }
            O::I32AtomicRmw16XorU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::Xor, offset)?
            }
            O::I64AtomicRmw8XorU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::Xor, offset)?
            }
            O::I64AtomicRmw16XorU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::Xor, offset)?
            }
            O::I64AtomicRmw32XorU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::Xor, offset)?
            }
            O::I32AtomicRmwXchg { memarg } => {
                self.atomic_rmw(&memarg, I32, I32, AtomicRmwOp::Xchg, offset)?
            }
            O::I64AtomicRmwXchg { memarg } => {
                self.atomic_rmw(&memarg, I64, I64, AtomicRmwOp::Xchg, offset)?
            }
            O::I32AtomicRmw8XchgU { memarg } => {
                self.atomic_rmw(&memarg, I32, I8, AtomicRmwOp::Xchg, offset)?
            }
            O::I32AtomicRmw16XchgU { memarg } => {
                self.atomic_rmw(&memarg, I32, I16, AtomicRmwOp::Xchg, offset)?
            }
            O::I64AtomicRmw8XchgU { memarg } => {
                self.atomic_rmw(&memarg, I64, I8, AtomicRmwOp::Xchg, offset)?
            }
            O::I64AtomicRmw16XchgU { memarg } => {
                self.atomic_rmw(&memarg, I64, I16, AtomicRmwOp::Xchg, offset)?
            }
            O::I64AtomicRmw32XchgU { memarg } => {
                self.atomic_rmw(&memarg, I64, I32, AtomicRmwOp::Xchg, offset)?
            }
            O::I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(&memarg, I32, I32, offset)?,
            O::I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(&memarg, I64, I64, offset)?,
            O::I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, I32, I8, offset)?,
            O::I32AtomicRmw16CmpxchgU { memarg } => {
                self.atomic_cmpxchg(&memarg, I32, I16, offset)?
            }
            O::I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, I64, I8, offset)?,
            O::I64AtomicRmw16CmpxchgU { memarg } => {
                self.atomic_cmpxchg(&memarg, I64, I16, offset)?
            }
            O::I64AtomicRmw32CmpxchgU { memarg } => {
                self.atomic_cmpxchg(&memarg, I64, I32, offset)?
            }
            other => return Ok(Lowered::NotMine(other)),
        }
        Ok(Lowered::Done)
    }

    /// The memory of an atomic access. Orderings other than sequential consistency belong to
    /// the acquire-release atomics proposal, which weft does not implement.
    fn atomic_memory(memarg: &MemArg, offset: u64) -> Result<u32, WasmError> {
        match memarg.ordering {
            None
            | Some(MemArgOrdering::Op(Ordering::SeqCst))
            | Some(MemArgOrdering::Rmw(Ordering::SeqCst)) => Self::memory_index(memarg, offset),
            Some(_) => unsupported("acquire-release atomics", offset),
        }
    }

    /// Pops the index operand of an access of `access` (an integer type) for `operation` and
    /// returns the checked native address, after the schedule point before the operation.
    fn pop_atomic_address(
        &mut self,
        memarg: &MemArg,
        (access, operation): (Type, Operation),
        offset: u64,
    ) -> Result<(u32, Value, Value), WasmError> {
        let memory = Self::atomic_memory(memarg, offset)?;
        let index = self.pop();
        let (address, effective) =
            self.env
                .atomic_heap_address(self.b, memory, index, memarg.offset, access.bytes());
        self.explore_point(operation, Some(address));
        if self.env.detects_races(memory) {
            self.env.race_release(self.b, address);
        }
        Ok((memory, address, effective))
    }

    /// With race detection, tells the detector an atomic access at `address` is done (the
    /// release before it is in [`pop_atomic_address`](Self::pop_atomic_address)).
    fn after_atomic(&mut self, memory: u32, address: Value) {
        if self.env.detects_races(memory) {
            self.env.race_acquire(self.b, address);
        }
    }

    /// Wraps `value` to the access type `access`.
    fn wrap(&mut self, value: Value, access: Type) -> Value {
        if self.b.func.dfg.value_type(value) == access {
            value
        } else {
            self.b.ins().ireduce(access, value)
        }
    }

    /// Zero-extends `value`, loaded with an access of its own type, to the wasm type `ty`.
    fn zero_extend(&mut self, value: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(value) == ty {
            value
        } else {
            self.b.ins().uextend(ty, value)
        }
    }

    /// `ty.atomic.load{N}_u`: `access` is the type of the `N`-bit access.
    pub(super) fn atomic_load(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        access: Type,
        offset: u64,
    ) -> Result<(), WasmError> {
        let (memory, address, _) =
            self.pop_atomic_address(memarg, (access, Operation::AtomicLoad), offset)?;
        let flags = self.env.atomic_heap_flags();
        let loaded = self.b.ins().atomic_load(access, flags, address);
        self.after_atomic(memory, address);
        let value = self.zero_extend(loaded, ty);
        self.stack.push(value);
        Ok(())
    }

    /// `ty.atomic.store{N}`: stores the operand wrapped to `access`.
    pub(super) fn atomic_store(
        &mut self,
        memarg: &MemArg,
        access: Type,
        offset: u64,
    ) -> Result<(), WasmError> {
        let value = self.pop();
        let (memory, address, _) =
            self.pop_atomic_address(memarg, (access, Operation::AtomicStore), offset)?;
        let value = self.wrap(value, access);
        let flags = self.env.atomic_heap_flags();
        self.b.ins().atomic_store(flags, value, address);
        self.after_atomic(memory, address);
        Ok(())
    }

    /// `ty.atomic.rmw{N}.op_u`: applies `op` with the wrapped operand and pushes the old
    /// value, zero-extended to `ty`.
    pub(super) fn atomic_rmw(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        access: Type,
        op: AtomicRmwOp,
        offset: u64,
    ) -> Result<(), WasmError> {
        let operand = self.pop();
        let (memory, address, _) =
            self.pop_atomic_address(memarg, (access, Operation::AtomicRmw), offset)?;
        let operand = self.wrap(operand, access);
        let flags = self.env.atomic_heap_flags();
        let old = self.b.ins().atomic_rmw(access, flags, op, address, operand);
        self.after_atomic(memory, address);
        let value = self.zero_extend(old, ty);
        self.stack.push(value);
        Ok(())
    }

    /// `ty.atomic.rmw{N}.cmpxchg_u`: both the expected and the replacement value are wrapped
    /// to the access width, so a narrow compare ignores the expected value's upper bits.
    pub(super) fn atomic_cmpxchg(
        &mut self,
        memarg: &MemArg,
        ty: Type,
        access: Type,
        offset: u64,
    ) -> Result<(), WasmError> {
        let replacement = self.pop();
        let expected = self.pop();
        let (memory, address, _) =
            self.pop_atomic_address(memarg, (access, Operation::AtomicCmpxchg), offset)?;
        let expected = self.wrap(expected, access);
        let replacement = self.wrap(replacement, access);
        let flags = self.env.atomic_heap_flags();
        let loaded = self
            .b
            .ins()
            .atomic_cas(flags, address, expected, replacement);
        self.after_atomic(memory, address);
        let value = self.zero_extend(loaded, ty);
        self.stack.push(value);
        Ok(())
    }

    /// `memory.atomic.notify`: wakes waiters of a shared memory through the runtime. An
    /// unshared memory has no waiters, so after the address checks the result is 0.
    pub(super) fn atomic_notify(&mut self, memarg: &MemArg, offset: u64) -> Result<(), WasmError> {
        let count = self.pop();
        let (memory, _, effective) =
            self.pop_atomic_address(memarg, (I32, Operation::Notify), offset)?;
        let woken = if self.env.is_shared_memory(memory) {
            self.env
                .memory_atomic_notify(self.b, memory, effective, count)
        } else {
            self.b.ins().iconst(I32, 0)
        };
        self.stack.push(woken);
        Ok(())
    }

    /// `memory.atomic.wait32` (`expected` of type `access` = i32) or `wait64` (i64). Waiting
    /// on an unshared memory traps once the address checks have passed.
    pub(super) fn atomic_wait(
        &mut self,
        memarg: &MemArg,
        access: Type,
        offset: u64,
    ) -> Result<(), WasmError> {
        let timeout = self.pop();
        let expected = self.pop();
        let (memory, address, effective) =
            self.pop_atomic_address(memarg, (access, Operation::Wait), offset)?;
        if self.env.is_shared_memory(memory) {
            let outcome = self
                .env
                .memory_atomic_wait(self.b, memory, effective, expected, timeout);
            // A woken wait acquires what the `notify` that woke it released.
            self.after_atomic(memory, address);
            self.stack.push(outcome);
        } else {
            self.b.ins().trap(trap_code(TrapKind::ExpectedSharedMemory));
            self.reachable = false;
        }
        Ok(())
    }

    /// `atomic.fence`: a full barrier.
    pub(super) fn atomic_fence(
        &mut self,
        ordering: Ordering,
        offset: u64,
    ) -> Result<(), WasmError> {
        match ordering {
            Ordering::SeqCst => {
                self.explore_point(Operation::Fence, None);
                self.b.ins().fence();
                if self.env.detects_vm_races() {
                    self.env.race_fence(self.b);
                }
                Ok(())
            }
            Ordering::AcqRel => unsupported("acquire-release atomics", offset),
        }
    }
}

impl Translator<'_, '_, '_, '_> {
    /// The Cranelift type of global `global`'s value, and the address of its storage.
    fn global_slot(
        &mut self,
        global: u32,
        operation: Operation,
        offset: u64,
    ) -> Result<(Type, Value), WasmError> {
        let content = self.env.module().globals[global as usize].content_type;
        let ty = value_type(content, offset)?;
        let address = self.env.global_address(self.b, global);
        self.before_vm_atomic(address, operation);
        Ok((ty, address))
    }

    /// With race detection, an atomic access to a global or table element at `address`
    /// orders threads as one to memory does: a release before it...
    pub(super) fn before_vm_atomic(&mut self, address: Value, operation: Operation) {
        self.explore_point(operation, Some(address));
        if self.env.detects_vm_races() {
            self.env.race_release(self.b, address);
        }
    }

    /// ...and an acquire after it.
    pub(super) fn after_vm_atomic(&mut self, address: Value) {
        if self.env.detects_vm_races() {
            self.env.race_acquire(self.b, address);
        }
    }

    /// `global.atomic.get`.
    pub(super) fn global_atomic_get(&mut self, global: u32, offset: u64) -> Result<(), WasmError> {
        let (ty, address) = self.global_slot(global, Operation::AtomicLoad, offset)?;
        let flags = self.env.atomic_vm_flags();
        let value = self.b.ins().atomic_load(ty, flags, address);
        self.after_vm_atomic(address);
        self.stack.push(value);
        Ok(())
    }

    /// `global.atomic.set`.
    pub(super) fn global_atomic_set(&mut self, global: u32, offset: u64) -> Result<(), WasmError> {
        let value = self.pop();
        let (_, address) = self.global_slot(global, Operation::AtomicStore, offset)?;
        let flags = self.env.atomic_vm_flags();
        self.b.ins().atomic_store(flags, value, address);
        self.after_vm_atomic(address);
        Ok(())
    }

    /// `global.atomic.rmw.{add,sub,and,or,xor,xchg}`: pushes the old value.
    pub(super) fn global_atomic_rmw(
        &mut self,
        global: u32,
        op: AtomicRmwOp,
        offset: u64,
    ) -> Result<(), WasmError> {
        let operand = self.pop();
        let (ty, address) = self.global_slot(global, Operation::AtomicRmw, offset)?;
        let flags = self.env.atomic_vm_flags();
        let old = self.b.ins().atomic_rmw(ty, flags, op, address, operand);
        self.after_vm_atomic(address);
        self.stack.push(old);
        Ok(())
    }

    /// `global.atomic.rmw.cmpxchg`: pushes the value found, whether or not it was replaced.
    pub(super) fn global_atomic_cmpxchg(
        &mut self,
        global: u32,
        offset: u64,
    ) -> Result<(), WasmError> {
        let replacement = self.pop();
        let expected = self.pop();
        let (_, address) = self.global_slot(global, Operation::AtomicCmpxchg, offset)?;
        let flags = self.env.atomic_vm_flags();
        let found = self
            .b
            .ins()
            .atomic_cas(flags, address, expected, replacement);
        self.after_vm_atomic(address);
        self.stack.push(found);
        Ok(())
    }
}

impl Translator<'_, '_, '_, '_> {
    /// Pops an element index of `table` and returns the element's checked address.
    fn pop_table_slot(&mut self, table: u32, operation: Operation) -> Value {
        let index = self.pop();
        let address = self.env.table_atomic_address(self.b, table, index);
        self.before_vm_atomic(address, operation);
        address
    }

    /// `table.atomic.get`.
    pub(super) fn table_atomic_get(&mut self, table: u32) {
        let address = self.pop_table_slot(table, Operation::AtomicLoad);
        let flags = self.env.atomic_vm_flags();
        let value = self.b.ins().atomic_load(I64, flags, address);
        self.after_vm_atomic(address);
        self.stack.push(value);
    }

    /// `table.atomic.set`.
    pub(super) fn table_atomic_set(&mut self, table: u32) {
        let value = self.pop();
        let address = self.pop_table_slot(table, Operation::AtomicStore);
        let flags = self.env.atomic_vm_flags();
        self.b.ins().atomic_store(flags, value, address);
        self.after_vm_atomic(address);
    }

    /// `table.atomic.rmw.xchg`: pushes the old element.
    pub(super) fn table_atomic_xchg(&mut self, table: u32) {
        let value = self.pop();
        let address = self.pop_table_slot(table, Operation::AtomicRmw);
        let flags = self.env.atomic_vm_flags();
        let old = self
            .b
            .ins()
            .atomic_rmw(I64, flags, AtomicRmwOp::Xchg, address, value);
        self.after_vm_atomic(address);
        self.stack.push(old);
    }

    /// `table.atomic.rmw.cmpxchg`: pushes the element found. References compare as words,
    /// which is `ref.eq` for the eqref types the instruction allows.
    pub(super) fn table_atomic_cmpxchg(&mut self, table: u32) {
        let replacement = self.pop();
        let expected = self.pop();
        let address = self.pop_table_slot(table, Operation::AtomicCmpxchg);
        let flags = self.env.atomic_vm_flags();
        let found = self
            .b
            .ins()
            .atomic_cas(flags, address, expected, replacement);
        self.after_vm_atomic(address);
        self.stack.push(found);
    }
}
