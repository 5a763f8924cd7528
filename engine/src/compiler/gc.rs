//! Lowering of GC operators: struct and array allocation and access (plain and, from the
//! shared-everything-threads proposal, atomic), casts, and the conversions between the
//! extern and any hierarchies.
//!
//! Objects follow the layout in `environ::gc`. Allocation and bulk array operations are
//! libcalls; field and element accesses are inline: a null check, a bounds check for
//! arrays, and one load or store (an atomic instruction for the atomic forms, which are all
//! emitted sequentially consistent, as the proposal allows for acquire-release). Casts read
//! the reference word first, so i31s and host handles are never dereferenced, then the
//! object's runtime type descriptor (`environ::types`).

use super::abi::{LITTLE_ENDIAN, V128, value_type};
use super::translate::{Lowered, Translator, block_args};
use super::traps::trap_code;
use crate::environ::gc::{
    ARRAY_ELEMENTS_OFFSET, ARRAY_LENGTH_OFFSET, HOST_HANDLE_TAG, OBJECT_RTT_OFFSET, storage_size,
};
use crate::environ::{
    BuiltinIndex, RTT_ANCESTORS, RTT_DEPTH, RTT_KIND, TrapKind, TypeKind, WasmError,
};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I8, I16, I32, I64, I64X2};
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{
    AbstractHeapType, CompositeInnerType, FieldType, HeapType, Operator, RefType, StorageType,
};
use weft_threads::Operation;

fn field(ty: u32, field: u32) -> Place {
    Place::Field { ty, field }
}

fn element(ty: u32) -> Place {
    Place::Element { ty }
}

/// The reference type a cast names; every heap type of valid code forms one.
fn ref_type(nullable: bool, heap: HeapType) -> RefType {
    RefType::new(nullable, heap).expect("validated heap types fit a reference type")
}

/// Accesses to objects and descriptors: objects are never freed while code can reach them
/// and every field is naturally aligned, so no access can fault.
const OBJECT: MemFlagsData = MemFlagsData::trusted();

/// A struct field or an array element, the target of a get, set or atomic access. An
/// element's index is popped together with its array.
#[derive(Copy, Clone)]
pub(super) enum Place {
    Field { ty: u32, field: u32 },
    Element { ty: u32 },
}

/// How a field or element is accessed, as the concurrency tools see it: a plain read or
/// write (checked for races on a shared type's mutable fields), or an atomic operation (a
/// schedule point, and a synchronization for the race detector).
#[derive(Copy, Clone)]
enum Access {
    Read,
    Write,
    Atomic(Operation),
}

/// How a field or element is read: its width, and how a packed one widens to i32.
#[derive(Copy, Clone)]
pub(super) enum Extension {
    None,
    Signed,
    Unsigned,
}

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the GC proposal's operators (i31s, structs, arrays, casts and the
    /// conversions between hierarchies), including the shared-everything threads proposal's
    /// atomic accesses to fields and elements; every other operator goes back to the caller.
    pub(super) fn gc_operator<'a>(
        &mut self,
        op: Operator<'a>,
        offset: u64,
    ) -> Result<Lowered<'a>, WasmError> {
        use Extension as Ext;
        use Operator as O;
        match op {
            // i31s are tagged words (`environ::i31`), and every other reference is a pointer
            // or handle that is never odd, so references are equal exactly when their words are.
            O::RefI31 | O::RefI31Shared => self.unary(|b, x| {
                let shifted = b.ins().ishl_imm_u(x, 1);
                let tagged = b.ins().bor_imm_u(shifted, 1);
                b.ins().uextend(I64, tagged)
            }),
            O::I31GetS => self.i31_get(|b, x| b.ins().sshr_imm_u(x, 1)),
            O::I31GetU => self.i31_get(|b, x| b.ins().ushr_imm_u(x, 1)),
            O::RefEq => self.icmp(IntCC::Equal),

            O::StructNew { struct_type_index } => {
                self.struct_new(struct_type_index, false, offset)?
            }
            O::StructNewDefault { struct_type_index } => {
                self.struct_new(struct_type_index, true, offset)?
            }
            O::StructGet {
                struct_type_index,
                field_index,
            } => self.get(
                field(struct_type_index, field_index),
                Ext::None,
                false,
                offset,
            )?,
            O::StructGetS {
                struct_type_index,
                field_index,
            } => self.get(
                field(struct_type_index, field_index),
                Ext::Signed,
                false,
                offset,
            )?,
            O::StructGetU {
                struct_type_index,
                field_index,
            } => self.get(
                field(struct_type_index, field_index),
                Ext::Unsigned,
                false,
                offset,
            )?,
            O::StructSet {
                struct_type_index,
                field_index,
            } => self.set(field(struct_type_index, field_index), false, offset)?,
            O::StructAtomicGet {
                struct_type_index,
                field_index,
                ..
            } => self.get(
                field(struct_type_index, field_index),
                Ext::None,
                true,
                offset,
            )?,
            O::StructAtomicGetS {
                struct_type_index,
                field_index,
                ..
            } => self.get(
                field(struct_type_index, field_index),
                Ext::Signed,
                true,
                offset,
            )?,
            O::StructAtomicGetU {
                struct_type_index,
                field_index,
                ..
            } => self.get(
                field(struct_type_index, field_index),
                Ext::Unsigned,
                true,
                offset,
            )?,
            O::StructAtomicSet {
                struct_type_index,
                field_index,
                ..
            } => self.set(field(struct_type_index, field_index), true, offset)?,
            O::StructAtomicRmwAdd {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::Add),
            O::StructAtomicRmwSub {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::Sub),
            O::StructAtomicRmwAnd {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::And),
            O::StructAtomicRmwOr {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::Or),
            O::StructAtomicRmwXor {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::Xor),
            O::StructAtomicRmwXchg {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_rmw_at(field(struct_type_index, field_index), AtomicRmwOp::Xchg),
            O::StructAtomicRmwCmpxchg {
                struct_type_index,
                field_index,
                ..
            } => self.atomic_cmpxchg_at(field(struct_type_index, field_index)),
            O::ArrayNew { array_type_index } => self.array_new(array_type_index, false),
            O::ArrayNewDefault { array_type_index } => self.array_new(array_type_index, true),
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => self.array_new_fixed(array_type_index, array_size, offset)?,
            O::ArrayNewData {
                array_type_index,
                array_data_index,
            } => self.array_new_segment(
                array_type_index,
                array_data_index,
                BuiltinIndex::array_new_data,
                TrapKind::MemoryOutOfBounds,
            ),
            O::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => self.array_new_segment(
                array_type_index,
                array_elem_index,
                BuiltinIndex::array_new_elem,
                TrapKind::TableOutOfBounds,
            ),
            O::ArrayGet { array_type_index } => {
                self.get(element(array_type_index), Ext::None, false, offset)?
            }
            O::ArrayGetS { array_type_index } => {
                self.get(element(array_type_index), Ext::Signed, false, offset)?
            }
            O::ArrayGetU { array_type_index } => {
                self.get(element(array_type_index), Ext::Unsigned, false, offset)?
            }
            O::ArraySet { array_type_index } => {
                self.set(element(array_type_index), false, offset)?
            }
            O::ArrayAtomicGet {
                array_type_index, ..
            } => self.get(element(array_type_index), Ext::None, true, offset)?,
            O::ArrayAtomicGetS {
                array_type_index, ..
            } => self.get(element(array_type_index), Ext::Signed, true, offset)?,
            O::ArrayAtomicGetU {
                array_type_index, ..
            } => self.get(element(array_type_index), Ext::Unsigned, true, offset)?,
            O::ArrayAtomicSet {
                array_type_index, ..
            } => self.set(element(array_type_index), true, offset)?,
            O::ArrayAtomicRmwAdd {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::Add),
            O::ArrayAtomicRmwSub {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::Sub),
            O::ArrayAtomicRmwAnd {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::And),
            O::ArrayAtomicRmwOr {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::Or),
            O::ArrayAtomicRmwXor {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::Xor),
            O::ArrayAtomicRmwXchg {
                array_type_index, ..
            } => self.atomic_rmw_at(element(array_type_index), AtomicRmwOp::Xchg),
            O::ArrayAtomicRmwCmpxchg {
                array_type_index, ..
            } => self.atomic_cmpxchg_at(element(array_type_index)),
            O::ArrayLen => self.array_len(),
            O::ArrayFill { array_type_index } => self.array_fill(array_type_index),
            O::ArrayCopy {
                array_type_index_dst,
                ..
            } => self.array_copy(array_type_index_dst),
            O::ArrayInitData {
                array_type_index,
                array_data_index,
            } => self.array_init(
                array_type_index,
                array_data_index,
                BuiltinIndex::array_init_data,
                TrapKind::MemoryOutOfBounds,
            ),
            O::ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => self.array_init(
                array_type_index,
                array_elem_index,
                BuiltinIndex::array_init_elem,
                TrapKind::TableOutOfBounds,
            ),
            O::RefTestNonNull { hty } => self.ref_test(ref_type(false, hty)),
            O::RefTestNullable { hty } => self.ref_test(ref_type(true, hty)),
            O::RefCastNonNull { hty } => self.ref_cast(ref_type(false, hty)),
            O::RefCastNullable { hty } => self.ref_cast(ref_type(true, hty)),
            O::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => self.br_on_cast(relative_depth, to_ref_type, true),
            O::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.br_on_cast(relative_depth, to_ref_type, false),
            // A reference's word is the same in both hierarchies (`environ::gc`).
            O::AnyConvertExtern | O::ExternConvertAny => {}
            other => return Ok(Lowered::NotMine(other)),
        }
        Ok(Lowered::Done)
    }

    /// `i31.get_s`/`i31.get_u`: traps on null, then `shift` drops the tag bit from the low
    /// 32 bits of the word.
    fn i31_get(&mut self, shift: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let word = self.pop();
        self.b
            .ins()
            .trapz(word, trap_code(TrapKind::NullI31Reference));
        let low = self.b.ins().ireduce(I32, word);
        let value = shift(self.b, low);
        self.stack.push(value);
    }

    // --- helpers ---

    /// The Cranelift type a field of `storage` is accessed with.
    fn storage_type(storage: StorageType, offset: u64) -> Result<Type, WasmError> {
        match storage {
            StorageType::I8 => Ok(I8),
            StorageType::I16 => Ok(I16),
            StorageType::Val(ty) => value_type(ty, offset),
        }
    }

    /// Traps with `kind` if `reference` is null.
    fn null_check(&mut self, reference: Value, kind: TrapKind) {
        self.b.ins().trapz(reference, trap_code(kind));
    }

    /// Loads a field of `storage` at `address`, widening packed fields to i32.
    fn load_field(
        &mut self,
        storage: StorageType,
        extension: Extension,
        address: Value,
        atomic: bool,
        offset: u64,
    ) -> Result<Value, WasmError> {
        let ty = Self::storage_type(storage, offset)?;
        let value = if atomic {
            self.b.ins().atomic_load(ty, OBJECT, address)
        } else {
            self.b.ins().load(ty, OBJECT, address, 0)
        };
        Ok(match (ty, extension) {
            (I8 | I16, Extension::Signed) => self.b.ins().sextend(I32, value),
            (I8 | I16, _) => self.b.ins().uextend(I32, value),
            _ => value,
        })
    }

    /// Stores `value` (an i32 for packed fields) into a field of `storage` at `address`.
    fn store_field(
        &mut self,
        storage: StorageType,
        address: Value,
        value: Value,
        atomic: bool,
        offset: u64,
    ) -> Result<(), WasmError> {
        let ty = Self::storage_type(storage, offset)?;
        let value = if matches!(ty, I8 | I16) {
            self.b.ins().ireduce(ty, value)
        } else {
            value
        };
        if atomic {
            self.b.ins().atomic_store(OBJECT, value, address);
        } else {
            self.b.ins().store(OBJECT, value, address, 0);
        }
        Ok(())
    }

    /// A value's raw bits as the two i64 halves the bulk-array libcalls take.
    fn raw_halves(&mut self, value: Value) -> [Value; 2] {
        let low = match self.b.func.dfg.value_type(value) {
            F32 => {
                let bits = self.b.ins().bitcast(I32, MemFlagsData::new(), value);
                self.b.ins().uextend(I64, bits)
            }
            F64 => self.b.ins().bitcast(I64, MemFlagsData::new(), value),
            I32 => self.b.ins().uextend(I64, value),
            V128 => {
                let lanes = self.b.ins().bitcast(I64X2, LITTLE_ENDIAN, value);
                let low = self.b.ins().extractlane(lanes, 0);
                let high = self.b.ins().extractlane(lanes, 1);
                return [low, high];
            }
            _ => value,
        };
        [low, self.b.ins().iconst(I64, 0)]
    }

    fn iconst32(&mut self, value: u32) -> Value {
        self.b.ins().iconst(I32, i64::from(value))
    }

    /// Allocates a zeroed object of type `ty` (with `length` elements for an array),
    /// trapping when the heap has no room.
    fn allocate(&mut self, ty: u32, length: Value) -> Value {
        let ty = self.iconst32(ty);
        let object = self
            .env
            .call_builtin(self.b, BuiltinIndex::gc_alloc, &[ty, length])
            .expect("gc_alloc returns the object");
        self.null_check(object, TrapKind::AllocationTooLarge);
        object
    }

    // --- structs ---

    /// The storage type and byte offset of field `field` of struct type `ty`.
    fn struct_field(&self, ty: u32, field: u32) -> (StorageType, u32) {
        let module = self.env.module();
        (
            module.struct_type(ty).fields[field as usize].element_type,
            module.struct_layout(ty).field_offsets[field as usize],
        )
    }

    /// Pops a struct reference, traps if it is null, and returns field `field`'s address.
    fn pop_field_address(&mut self, ty: u32, field: u32) -> (StorageType, Value) {
        let object = self.pop();
        self.null_check(object, TrapKind::NullStructReference);
        let (storage, offset) = self.struct_field(ty, field);
        let address = self.b.ins().iadd_imm_u(object, i64::from(offset));
        (storage, address)
    }

    /// `struct.new` (fields from the stack) and `struct.new_default`.
    pub(super) fn struct_new(
        &mut self,
        ty: u32,
        default: bool,
        offset: u64,
    ) -> Result<(), WasmError> {
        let module = self.env.module();
        let (fields, layout) = (&module.struct_type(ty).fields, module.struct_layout(ty));
        let values = if default {
            Vec::new()
        } else {
            self.pop_n(fields.len())
        };
        let zero = self.iconst32(0);
        let object = self.allocate(ty, zero);
        for ((field, &field_offset), value) in fields.iter().zip(&layout.field_offsets).zip(values)
        {
            let address = self.b.ins().iadd_imm_u(object, i64::from(field_offset));
            self.store_field(field.element_type, address, value, false, offset)?;
        }
        self.stack.push(object);
        Ok(())
    }

    // --- field and element accesses ---

    /// `struct.get*`, `array.get*` and their atomic forms.
    pub(super) fn get(
        &mut self,
        place: Place,
        extension: Extension,
        atomic: bool,
        offset: u64,
    ) -> Result<(), WasmError> {
        let access = if atomic {
            Access::Atomic(Operation::AtomicLoad)
        } else {
            Access::Read
        };
        let (storage, address) = self.pop_place(place, access);
        let value = self.load_field(storage, extension, address, atomic, offset)?;
        if atomic {
            self.after_vm_atomic(address);
        }
        self.stack.push(value);
        Ok(())
    }

    /// `struct.set`, `array.set` and their atomic forms.
    pub(super) fn set(&mut self, place: Place, atomic: bool, offset: u64) -> Result<(), WasmError> {
        let value = self.pop();
        let access = if atomic {
            Access::Atomic(Operation::AtomicStore)
        } else {
            Access::Write
        };
        let (storage, address) = self.pop_place(place, access);
        self.store_field(storage, address, value, atomic, offset)?;
        if atomic {
            self.after_vm_atomic(address);
        }
        Ok(())
    }

    /// `struct.atomic.rmw.*` and `array.atomic.rmw.*` except cmpxchg: pushes the old value.
    pub(super) fn atomic_rmw_at(&mut self, place: Place, op: AtomicRmwOp) {
        let operand = self.pop();
        let (_, address) = self.pop_place(place, Access::Atomic(Operation::AtomicRmw));
        let access = self.b.func.dfg.value_type(operand);
        let old = self
            .b
            .ins()
            .atomic_rmw(access, OBJECT, op, address, operand);
        self.after_vm_atomic(address);
        self.stack.push(old);
    }

    /// `struct.atomic.rmw.cmpxchg` and `array.atomic.rmw.cmpxchg`: pushes the value found.
    /// References compare as words, which is `ref.eq` for the eqref types the instructions
    /// allow.
    pub(super) fn atomic_cmpxchg_at(&mut self, place: Place) {
        let replacement = self.pop();
        let expected = self.pop();
        let (_, address) = self.pop_place(place, Access::Atomic(Operation::AtomicCmpxchg));
        let found = self
            .b
            .ins()
            .atomic_cas(OBJECT, address, expected, replacement);
        self.after_vm_atomic(address);
        self.stack.push(found);
    }

    /// Pops the operands that locate `place` and returns its storage type and checked
    /// address, after telling the concurrency tools of the `access` to come.
    fn pop_place(&mut self, place: Place, access: Access) -> (StorageType, Value) {
        let (storage, address) = match place {
            Place::Field { ty, field } => self.pop_field_address(ty, field),
            Place::Element { ty } => self.pop_element_address(ty),
        };
        match access {
            Access::Atomic(operation) => self.before_vm_atomic(address, operation),
            Access::Read | Access::Write => {
                if self.env.detects_vm_races() && self.is_contended(place) {
                    let location = self.current_location();
                    let write = matches!(access, Access::Write);
                    let size = storage_size(storage);
                    self.env
                        .race_access(self.b, (address, 0), size, write, location);
                }
            }
        }
        (storage, address)
    }

    /// Whether other threads may write `place` while this one accesses it: a mutable field
    /// or element of a shared type.
    fn is_contended(&self, place: Place) -> bool {
        let module = self.env.module();
        match place {
            Place::Field { ty, field } => {
                module.is_shared_type(ty) && module.struct_type(ty).fields[field as usize].mutable
            }
            Place::Element { ty } => module.is_shared_type(ty) && module.array_element(ty).mutable,
        }
    }

    // --- arrays ---

    fn array_element(&self, ty: u32) -> FieldType {
        self.env.module().array_element(ty)
    }

    fn array_length(&mut self, array: Value) -> Value {
        self.b
            .ins()
            .load(I32, OBJECT, array, ARRAY_LENGTH_OFFSET as i32)
    }

    /// Pops an index and an array reference, traps on null and out of bounds, and returns
    /// the element's address.
    fn pop_element_address(&mut self, ty: u32) -> (StorageType, Value) {
        let index = self.pop();
        let array = self.pop();
        self.null_check(array, TrapKind::NullArrayReference);
        let length = self.array_length(array);
        let out_of_bounds = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.b
            .ins()
            .trapnz(out_of_bounds, trap_code(TrapKind::ArrayOutOfBounds));
        let storage = self.array_element(ty).element_type;
        let index = self.b.ins().uextend(I64, index);
        let scaled = self
            .b
            .ins()
            .imul_imm_u(index, i64::from(storage_size(storage)));
        let base = self
            .b
            .ins()
            .iadd_imm_u(array, i64::from(ARRAY_ELEMENTS_OFFSET));
        (storage, self.b.ins().iadd(base, scaled))
    }

    /// `array.new` (one value repeated) and `array.new_default`.
    pub(super) fn array_new(&mut self, ty: u32, default: bool) {
        let length = self.pop();
        let array = self.allocate(ty, length);
        if !default {
            let value = self.pop();
            let [low, high] = self.raw_halves(value);
            let (ty, zero) = (self.iconst32(ty), self.iconst32(0));
            self.env.call_builtin(
                self.b,
                BuiltinIndex::array_fill,
                &[ty, array, zero, low, high, length],
            );
        }
        self.stack.push(array);
    }

    /// `array.new_fixed`: `count` elements from the stack.
    pub(super) fn array_new_fixed(
        &mut self,
        ty: u32,
        count: u32,
        offset: u64,
    ) -> Result<(), WasmError> {
        let values = self.pop_n(count as usize);
        let length = self.iconst32(count);
        let array = self.allocate(ty, length);
        let storage = self.array_element(ty).element_type;
        let size = storage_size(storage);
        for (index, value) in values.into_iter().enumerate() {
            let element_offset = ARRAY_ELEMENTS_OFFSET as usize + index * size as usize;
            let address = self.b.ins().iadd_imm_u(array, element_offset as i64);
            self.store_field(storage, address, value, false, offset)?;
        }
        self.stack.push(array);
        Ok(())
    }

    /// `array.new_data` and `array.new_elem`: the libcall returns the array, 0 when the
    /// heap is full, or 1 when the segment is too short (`segment_trap`).
    pub(super) fn array_new_segment(
        &mut self,
        ty: u32,
        segment: u32,
        builtin: BuiltinIndex,
        segment_trap: TrapKind,
    ) {
        let length = self.pop();
        let start = self.pop();
        let (ty, segment) = (self.iconst32(ty), self.iconst32(segment));
        let array = self
            .env
            .call_builtin(self.b, builtin, &[ty, segment, start, length])
            .expect("array.new_* returns the array");
        self.null_check(array, TrapKind::AllocationTooLarge);
        let short = self.b.ins().icmp_imm_u(IntCC::Equal, array, 1);
        self.b.ins().trapnz(short, trap_code(segment_trap));
        self.stack.push(array);
    }

    pub(super) fn array_len(&mut self) {
        let array = self.pop();
        self.null_check(array, TrapKind::NullArrayReference);
        let length = self.array_length(array);
        self.stack.push(length);
    }

    /// `array.fill`.
    pub(super) fn array_fill(&mut self, ty: u32) {
        let length = self.pop();
        let value = self.pop();
        let dst = self.pop();
        let array = self.pop();
        self.null_check(array, TrapKind::NullArrayReference);
        let [low, high] = self.raw_halves(value);
        let ty = self.iconst32(ty);
        self.env.call_trapping_builtin(
            self.b,
            BuiltinIndex::array_fill,
            &[ty, array, dst, low, high, length],
            TrapKind::ArrayOutOfBounds,
        );
    }

    /// `array.copy`; both element types have the same size, as validation requires.
    pub(super) fn array_copy(&mut self, dst_ty: u32) {
        let length = self.pop();
        let src = self.pop();
        let src_array = self.pop();
        let dst = self.pop();
        let dst_array = self.pop();
        self.null_check(dst_array, TrapKind::NullArrayReference);
        self.null_check(src_array, TrapKind::NullArrayReference);
        let ty = self.iconst32(dst_ty);
        self.env.call_trapping_builtin(
            self.b,
            BuiltinIndex::array_copy,
            &[ty, dst_array, dst, src_array, src, length],
            TrapKind::ArrayOutOfBounds,
        );
    }

    /// `array.init_data` and `array.init_elem`: the libcall reports 1 for an array out of
    /// bounds and 2 for a segment out of bounds (`segment_trap`).
    pub(super) fn array_init(
        &mut self,
        ty: u32,
        segment: u32,
        builtin: BuiltinIndex,
        segment_trap: TrapKind,
    ) {
        let length = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let array = self.pop();
        self.null_check(array, TrapKind::NullArrayReference);
        let (ty, segment) = (self.iconst32(ty), self.iconst32(segment));
        let status = self
            .env
            .call_builtin(self.b, builtin, &[ty, array, dst, segment, src, length])
            .expect("array.init_* returns a status");
        let array_trap = self.b.ins().icmp_imm_u(IntCC::Equal, status, 1);
        self.b
            .ins()
            .trapnz(array_trap, trap_code(TrapKind::ArrayOutOfBounds));
        self.b.ins().trapnz(status, trap_code(segment_trap));
    }

    // --- casts ---

    /// An i32 that is 1 when `reference` has type `target` and 0 otherwise.
    fn ref_matches(&mut self, reference: Value, target: RefType) -> Value {
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, I32);
        let non_null = self.b.create_block();
        let null_result = self.iconst32(u32::from(target.is_nullable()));
        self.b
            .ins()
            .brif(reference, non_null, &[], done, &[null_result.into()]);
        self.b.seal_block(non_null);
        self.b.switch_to_block(non_null);
        let matches = self.non_null_matches(reference, target.heap_type());
        self.b.ins().jump(done, &[matches.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// Whether the non-null `reference` belongs to `heap`; emitted in the current block,
    /// possibly ending in a new one.
    fn non_null_matches(&mut self, reference: Value, heap: HeapType) -> Value {
        use AbstractHeapType as A;
        let tag = self.b.ins().band_imm_u(reference, 0b11);
        match heap {
            HeapType::Abstract { ty, .. } => match ty {
                A::Any | A::Func | A::Extern | A::Exn => self.iconst32(1),
                A::None | A::NoFunc | A::NoExtern | A::NoExn => self.iconst32(0),
                // Everything in the any hierarchy but an internalized host value.
                A::Eq => {
                    let is_host =
                        self.b
                            .ins()
                            .icmp_imm_u(IntCC::NotEqual, tag, HOST_HANDLE_TAG as i64);
                    self.b.ins().uextend(I32, is_host)
                }
                A::I31 => {
                    let low = self.b.ins().band_imm_u(reference, 1);
                    self.b.ins().ireduce(I32, low)
                }
                A::Struct => self.object_kind_is(reference, tag, TypeKind::Struct),
                A::Array => self.object_kind_is(reference, tag, TypeKind::Array),
                _ => self.iconst32(0),
            },
            HeapType::Concrete(index) | HeapType::Exact(index) => {
                let index = index
                    .as_module_index()
                    .expect("validated code names module types");
                match self.env.module().types[index as usize].composite_type.inner {
                    CompositeInnerType::Func(_) => self.func_matches(reference, index),
                    _ => self.object_matches(reference, tag, index),
                }
            }
        }
    }

    /// Runs `on_object` with the reference known to be an object, and yields 0 for i31s and
    /// host handles without touching them.
    fn if_object(&mut self, tag: Value, on_object: impl FnOnce(&mut Self) -> Value) -> Value {
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, I32);
        let object = self.b.create_block();
        let zero = self.iconst32(0);
        self.b.ins().brif(tag, done, &[zero.into()], object, &[]);
        self.b.seal_block(object);
        self.b.switch_to_block(object);
        let matches = on_object(self);
        self.b.ins().jump(done, &[matches.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    fn load_rtt(&mut self, object: Value) -> Value {
        self.b
            .ins()
            .load(I64, OBJECT, object, OBJECT_RTT_OFFSET as i32)
    }

    fn object_kind_is(&mut self, reference: Value, tag: Value, kind: TypeKind) -> Value {
        self.if_object(tag, |this| {
            let rtt = this.load_rtt(reference);
            let actual = this.b.ins().load(I32, OBJECT, rtt, (RTT_KIND * 4) as i32);
            let equal = this.b.ins().icmp_imm_u(IntCC::Equal, actual, kind as i64);
            this.b.ins().uextend(I32, equal)
        })
    }

    /// The display check against concrete struct or array type `index`: the object's type
    /// is at least as deep and has `index`'s id at that depth.
    fn object_matches(&mut self, reference: Value, tag: Value, index: u32) -> Value {
        let depth = self.env.type_depth(index);
        let id = self.env.type_id(index);
        self.if_object(tag, |this| {
            let rtt = this.load_rtt(reference);
            let ancestor_offset = ((RTT_ANCESTORS + depth as usize) * 4) as i32;
            if depth == 0 {
                let ancestor = this.b.ins().load(I32, OBJECT, rtt, ancestor_offset);
                let equal = this
                    .b
                    .ins()
                    .icmp_imm_u(IntCC::Equal, ancestor, i64::from(id));
                return this.b.ins().uextend(I32, equal);
            }
            // Deep enough first: a shallower descriptor has no word at that offset.
            let done = this.b.create_block();
            let result = this.b.append_block_param(done, I32);
            let deep = this.b.create_block();
            let actual_depth = this.b.ins().load(I32, OBJECT, rtt, (RTT_DEPTH * 4) as i32);
            let shallow =
                this.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, actual_depth, i64::from(depth));
            let zero = this.iconst32(0);
            this.b.ins().brif(shallow, done, &[zero.into()], deep, &[]);
            this.b.seal_block(deep);
            this.b.switch_to_block(deep);
            let ancestor = this.b.ins().load(I32, OBJECT, rtt, ancestor_offset);
            let equal = this
                .b
                .ins()
                .icmp_imm_u(IntCC::Equal, ancestor, i64::from(id));
            let equal = this.b.ins().uextend(I32, equal);
            this.b.ins().jump(done, &[equal.into()]);
            this.b.seal_block(done);
            this.b.switch_to_block(done);
            result
        })
    }

    /// Whether the non-null funcref `reference` has function type `index` or a subtype.
    fn func_matches(&mut self, reference: Value, index: u32) -> Value {
        let expected = self.env.type_id(index);
        let actual = self.env.funcref_type_id(self.b, reference);
        let equal = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, actual, i64::from(expected));
        let equal = self.b.ins().uextend(I32, equal);
        if self.env.module().types[index as usize].is_final {
            return equal;
        }
        let done = self.b.create_block();
        let result = self.b.append_block_param(done, I32);
        let slow = self.b.create_block();
        self.b.ins().brif(equal, done, &[equal.into()], slow, &[]);
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        let expected = self.iconst32(expected);
        let subtype = self
            .env
            .call_builtin(self.b, BuiltinIndex::is_subtype, &[actual, expected])
            .expect("is_subtype returns a flag");
        self.b.ins().jump(done, &[subtype.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        result
    }

    /// `ref.test`.
    pub(super) fn ref_test(&mut self, target: RefType) {
        let reference = self.pop();
        let matches = self.ref_matches(reference, target);
        self.stack.push(matches);
    }

    /// `ref.cast`: traps unless the reference has the target type.
    pub(super) fn ref_cast(&mut self, target: RefType) {
        let reference = self.pop();
        let matches = self.ref_matches(reference, target);
        self.b
            .ins()
            .trapz(matches, trap_code(TrapKind::CastFailure));
        self.stack.push(reference);
    }

    /// `br_on_cast` (`on_match`) and `br_on_cast_fail`: the reference stays on the stack
    /// for both the branch and the fallthrough.
    pub(super) fn br_on_cast(&mut self, relative_depth: u32, target: RefType, on_match: bool) {
        let reference = self.pop();
        let matches = self.ref_matches(reference, target);
        self.stack.push(reference);
        let (branch, arity) = self.branch_target(relative_depth);
        let args = block_args(self.peek_n(arity));
        let fallthrough = self.b.create_block();
        if on_match {
            self.b.ins().brif(matches, branch, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(matches, fallthrough, &[], branch, &args);
        }
        self.b.seal_block(fallthrough);
        self.b.switch_to_block(fallthrough);
    }
}
