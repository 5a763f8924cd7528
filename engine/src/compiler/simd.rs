//! Lowering of the fixed-width SIMD proposal's `0xFD` operators (relaxed SIMD is not
//! supported).
//!
//! Every v128 is an `I8X16` outside these methods (see [`V128`]). An operator bitcasts its
//! operands to the lane shape it works on, with little-endian lane numbering as wasm
//! requires, and bitcasts its result back. On x86-64 these bitcasts cost nothing: every
//! shape lives in the same kind of register.
//!
//! Most operators map to one Cranelift instruction whose semantics are wasm's: shifts mask
//! their count to the lane width, `swizzle` zeroes lanes of out-of-range indices, `fmin` and
//! `fmax` propagate NaNs and order -0 below +0, and the saturating conversions turn NaN
//! into 0. The rest are built from a few instructions in shapes that the x86-64 backend
//! recognizes and lowers to a single machine instruction where one exists (`pmaddwd` for
//! `dot`, `pmaddubsw` for `extadd_pairwise`, `minps` for `pmin`, `cvttpd2dq` for
//! `trunc_sat_f64x2_s_zero`). Memory accesses take the same bounds-checked path as scalar
//! loads and stores, with the access's own width.

use super::abi::{LITTLE_ENDIAN, V128};
use super::translate::{Lowered, Translator};
use crate::environ::WasmError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8X16, I16X8, I32, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

/// `value` viewed as a vector of `shape`.
fn as_shape(b: &mut FunctionBuilder<'_>, value: Value, shape: Type) -> Value {
    if b.func.dfg.value_type(value) == shape {
        value
    } else {
        b.ins().bitcast(shape, LITTLE_ENDIAN, value)
    }
}

/// `value`, a vector of any shape, as the canonical v128 type.
fn as_v128(b: &mut FunctionBuilder<'_>, value: Value) -> Value {
    as_shape(b, value, V128)
}

/// A wasm scalar operand as one lane of `shape`: i8 and i16 lanes take the low bits of an
/// i32.
fn lane_value(b: &mut FunctionBuilder<'_>, value: Value, shape: Type) -> Value {
    let lane = shape.lane_type();
    if b.func.dfg.value_type(value) == lane {
        value
    } else {
        b.ins().ireduce(lane, value)
    }
}

/// An all-zero vector of `shape`, built in that shape because the backend matches the
/// narrowing of a conversion against a zero constant of the conversion's own type.
fn zero_vector(b: &mut FunctionBuilder<'_>, shape: Type) -> Value {
    let constant = b.func.dfg.constants.insert(vec![0; 16].into());
    b.ins().vconst(shape, constant)
}

/// Which half of a vector's lanes a widening operator reads.
#[derive(Copy, Clone)]
pub(super) enum Half {
    Low,
    High,
}

/// How a widening operator extends its lanes.
#[derive(Copy, Clone)]
pub(super) enum Signedness {
    Signed,
    Unsigned,
}

/// The lanes of `half` of `narrow`, each extended to twice its width.
fn widen(b: &mut FunctionBuilder<'_>, narrow: Value, half: Half, sign: Signedness) -> Value {
    match (half, sign) {
        (Half::Low, Signedness::Signed) => b.ins().swiden_low(narrow),
        (Half::High, Signedness::Signed) => b.ins().swiden_high(narrow),
        (Half::Low, Signedness::Unsigned) => b.ins().uwiden_low(narrow),
        (Half::High, Signedness::Unsigned) => b.ins().uwiden_high(narrow),
    }
}

/// The full products of the lanes of `half` of `x` and `y`.
pub(super) fn widening_mul(
    b: &mut FunctionBuilder<'_>,
    x: Value,
    y: Value,
    half: Half,
    sign: Signedness,
) -> Value {
    let x = widen(b, x, half, sign);
    let y = widen(b, y, half, sign);
    b.ins().imul(x, y)
}

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the SIMD proposal's operators; every other operator goes back to
    /// the caller.
    pub(super) fn simd_operator<'a>(
        &mut self,
        op: Operator<'a>,
        offset: u64,
    ) -> Result<Lowered<'a>, WasmError> {
        use Half::{High, Low};
        use Operator as O;
        use Signedness::{Signed, Unsigned};
        match op {
            // --- memory ---
            O::V128Load { memarg } => self.load(&memarg, 16, offset, |b, f, p, o| {
                b.ins().load(V128, f, p, o)
            })?,
            O::V128Store { memarg } => self.store(&memarg, 16, offset, |b, f, v, p, o| {
                b.ins().store(f, v, p, o);
            })?,
            O::V128Load8x8S { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().sload8x8(f, p, o))?
            }
            O::V128Load8x8U { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().uload8x8(f, p, o))?
            }
            O::V128Load16x4S { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().sload16x4(f, p, o))?
            }
            O::V128Load16x4U { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().uload16x4(f, p, o))?
            }
            O::V128Load32x2S { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().sload32x2(f, p, o))?
            }
            O::V128Load32x2U { memarg } => {
                self.load_extend(&memarg, offset, |b, f, p, o| b.ins().uload32x2(f, p, o))?
            }
            O::V128Load8Splat { memarg } => self.load_one_lane(&memarg, I8X16, offset, splat)?,
            O::V128Load16Splat { memarg } => self.load_one_lane(&memarg, I16X8, offset, splat)?,
            O::V128Load32Splat { memarg } => self.load_one_lane(&memarg, I32X4, offset, splat)?,
            O::V128Load64Splat { memarg } => self.load_one_lane(&memarg, I64X2, offset, splat)?,
            O::V128Load32Zero { memarg } => {
                self.load_one_lane(&memarg, I32X4, offset, in_lane_zero)?
            }
            O::V128Load64Zero { memarg } => {
                self.load_one_lane(&memarg, I64X2, offset, in_lane_zero)?
            }
            O::V128Load8Lane { memarg, lane } => self.load_lane(&memarg, I8X16, lane, offset)?,
            O::V128Load16Lane { memarg, lane } => self.load_lane(&memarg, I16X8, lane, offset)?,
            O::V128Load32Lane { memarg, lane } => self.load_lane(&memarg, I32X4, lane, offset)?,
            O::V128Load64Lane { memarg, lane } => self.load_lane(&memarg, I64X2, lane, offset)?,
            O::V128Store8Lane { memarg, lane } => self.store_lane(&memarg, I8X16, lane, offset)?,
            O::V128Store16Lane { memarg, lane } => self.store_lane(&memarg, I16X8, lane, offset)?,
            O::V128Store32Lane { memarg, lane } => self.store_lane(&memarg, I32X4, lane, offset)?,
            O::V128Store64Lane { memarg, lane } => self.store_lane(&memarg, I64X2, lane, offset)?,

            // --- lanes ---
            O::I8x16Splat => self.splat(I8X16),
            O::I16x8Splat => self.splat(I16X8),
            O::I32x4Splat => self.splat(I32X4),
            O::I64x2Splat => self.splat(I64X2),
            O::F32x4Splat => self.splat(F32X4),
            O::F64x2Splat => self.splat(F64X2),
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, lane, Some(Signed)),
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, lane, Some(Unsigned)),
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, Some(Signed)),
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, Some(Unsigned)),
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, None),
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, None),
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, None),
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, None),
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, lane),
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane),
            O::I8x16Shuffle { lanes } => {
                let mask = self.b.func.dfg.immediates.push(lanes.to_vec().into());
                self.lanewise_binary(I8X16, |b, x, y| b.ins().shuffle(x, y, mask))
            }
            O::I8x16Swizzle => self.lanewise_binary(I8X16, |b, x, y| b.ins().swizzle(x, y)),

            // --- bitwise ---
            O::V128Not => self.lanewise_unary(V128, |b, x| b.ins().bnot(x)),
            O::V128And => self.lanewise_binary(V128, |b, x, y| b.ins().band(x, y)),
            O::V128AndNot => self.lanewise_binary(V128, |b, x, y| {
                let not_y = b.ins().bnot(y);
                b.ins().band(x, not_y)
            }),
            O::V128Or => self.lanewise_binary(V128, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.lanewise_binary(V128, |b, x, y| b.ins().bxor(x, y)),
            O::V128Bitselect => {
                let mask = self.pop();
                self.lanewise_binary(V128, |b, x, y| b.ins().bitselect(mask, x, y))
            }
            O::V128AnyTrue => self.reduce(V128, |b, x| b.ins().vany_true(x)),
            O::I8x16AllTrue => self.reduce(I8X16, |b, x| b.ins().vall_true(x)),
            O::I16x8AllTrue => self.reduce(I16X8, |b, x| b.ins().vall_true(x)),
            O::I32x4AllTrue => self.reduce(I32X4, |b, x| b.ins().vall_true(x)),
            O::I64x2AllTrue => self.reduce(I64X2, |b, x| b.ins().vall_true(x)),
            O::I8x16Bitmask => self.reduce(I8X16, |b, x| b.ins().vhigh_bits(I32, x)),
            O::I16x8Bitmask => self.reduce(I16X8, |b, x| b.ins().vhigh_bits(I32, x)),
            O::I32x4Bitmask => self.reduce(I32X4, |b, x| b.ins().vhigh_bits(I32, x)),
            O::I64x2Bitmask => self.reduce(I64X2, |b, x| b.ins().vhigh_bits(I32, x)),

            // --- integer comparisons ---
            O::I8x16Eq => self.icmp_lanes(I8X16, IntCC::Equal),
            O::I8x16Ne => self.icmp_lanes(I8X16, IntCC::NotEqual),
            O::I8x16LtS => self.icmp_lanes(I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => self.icmp_lanes(I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => self.icmp_lanes(I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => self.icmp_lanes(I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => self.icmp_lanes(I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => self.icmp_lanes(I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => self.icmp_lanes(I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => self.icmp_lanes(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.icmp_lanes(I16X8, IntCC::Equal),
            O::I16x8Ne => self.icmp_lanes(I16X8, IntCC::NotEqual),
            O::I16x8LtS => self.icmp_lanes(I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => self.icmp_lanes(I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => self.icmp_lanes(I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => self.icmp_lanes(I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => self.icmp_lanes(I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => self.icmp_lanes(I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => self.icmp_lanes(I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => self.icmp_lanes(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.icmp_lanes(I32X4, IntCC::Equal),
            O::I32x4Ne => self.icmp_lanes(I32X4, IntCC::NotEqual),
            O::I32x4LtS => self.icmp_lanes(I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => self.icmp_lanes(I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => self.icmp_lanes(I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => self.icmp_lanes(I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => self.icmp_lanes(I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => self.icmp_lanes(I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => self.icmp_lanes(I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => self.icmp_lanes(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.icmp_lanes(I64X2, IntCC::Equal),
            O::I64x2Ne => self.icmp_lanes(I64X2, IntCC::NotEqual),
            O::I64x2LtS => self.icmp_lanes(I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => self.icmp_lanes(I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => self.icmp_lanes(I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => self.icmp_lanes(I64X2, IntCC::SignedGreaterThanOrEqual),

            // --- float comparisons ---
            O::F32x4Eq => self.fcmp_lanes(F32X4, FloatCC::Equal),
            O::F32x4Ne => self.fcmp_lanes(F32X4, FloatCC::NotEqual),
            O::F32x4Lt => self.fcmp_lanes(F32X4, FloatCC::LessThan),
            O::F32x4Gt => self.fcmp_lanes(F32X4, FloatCC::GreaterThan),
            O::F32x4Le => self.fcmp_lanes(F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => self.fcmp_lanes(F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => self.fcmp_lanes(F64X2, FloatCC::Equal),
            O::F64x2Ne => self.fcmp_lanes(F64X2, FloatCC::NotEqual),
            O::F64x2Lt => self.fcmp_lanes(F64X2, FloatCC::LessThan),
            O::F64x2Gt => self.fcmp_lanes(F64X2, FloatCC::GreaterThan),
            O::F64x2Le => self.fcmp_lanes(F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => self.fcmp_lanes(F64X2, FloatCC::GreaterThanOrEqual),

            // --- integer arithmetic ---
            O::I8x16Abs => self.lanewise_unary(I8X16, |b, x| b.ins().iabs(x)),
            O::I16x8Abs => self.lanewise_unary(I16X8, |b, x| b.ins().iabs(x)),
            O::I32x4Abs => self.lanewise_unary(I32X4, |b, x| b.ins().iabs(x)),
            O::I64x2Abs => self.lanewise_unary(I64X2, |b, x| b.ins().iabs(x)),
            O::I8x16Neg => self.lanewise_unary(I8X16, |b, x| b.ins().ineg(x)),
            O::I16x8Neg => self.lanewise_unary(I16X8, |b, x| b.ins().ineg(x)),
            O::I32x4Neg => self.lanewise_unary(I32X4, |b, x| b.ins().ineg(x)),
            O::I64x2Neg => self.lanewise_unary(I64X2, |b, x| b.ins().ineg(x)),
            O::I8x16Popcnt => self.lanewise_unary(I8X16, |b, x| b.ins().popcnt(x)),
            O::I8x16Shl => self.shift(I8X16, |b, x, count| b.ins().ishl(x, count)),
            O::I16x8Shl => self.shift(I16X8, |b, x, count| b.ins().ishl(x, count)),
            O::I32x4Shl => self.shift(I32X4, |b, x, count| b.ins().ishl(x, count)),
            O::I64x2Shl => self.shift(I64X2, |b, x, count| b.ins().ishl(x, count)),
            O::I8x16ShrS => self.shift(I8X16, |b, x, count| b.ins().sshr(x, count)),
            O::I16x8ShrS => self.shift(I16X8, |b, x, count| b.ins().sshr(x, count)),
            O::I32x4ShrS => self.shift(I32X4, |b, x, count| b.ins().sshr(x, count)),
            O::I64x2ShrS => self.shift(I64X2, |b, x, count| b.ins().sshr(x, count)),
            O::I8x16ShrU => self.shift(I8X16, |b, x, count| b.ins().ushr(x, count)),
            O::I16x8ShrU => self.shift(I16X8, |b, x, count| b.ins().ushr(x, count)),
            O::I32x4ShrU => self.shift(I32X4, |b, x, count| b.ins().ushr(x, count)),
            O::I64x2ShrU => self.shift(I64X2, |b, x, count| b.ins().ushr(x, count)),
            O::I8x16Add => self.lanewise_binary(I8X16, |b, x, y| b.ins().iadd(x, y)),
            O::I16x8Add => self.lanewise_binary(I16X8, |b, x, y| b.ins().iadd(x, y)),
            O::I32x4Add => self.lanewise_binary(I32X4, |b, x, y| b.ins().iadd(x, y)),
            O::I64x2Add => self.lanewise_binary(I64X2, |b, x, y| b.ins().iadd(x, y)),
            O::I8x16Sub => self.lanewise_binary(I8X16, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Sub => self.lanewise_binary(I16X8, |b, x, y| b.ins().isub(x, y)),
            O::I32x4Sub => self.lanewise_binary(I32X4, |b, x, y| b.ins().isub(x, y)),
            O::I64x2Sub => self.lanewise_binary(I64X2, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Mul => self.lanewise_binary(I16X8, |b, x, y| b.ins().imul(x, y)),
            O::I32x4Mul => self.lanewise_binary(I32X4, |b, x, y| b.ins().imul(x, y)),
            O::I64x2Mul => self.lanewise_binary(I64X2, |b, x, y| b.ins().imul(x, y)),
            O::I8x16AddSatS => self.lanewise_binary(I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I16x8AddSatS => self.lanewise_binary(I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU => self.lanewise_binary(I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I16x8AddSatU => self.lanewise_binary(I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS => self.lanewise_binary(I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I16x8SubSatS => self.lanewise_binary(I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU => self.lanewise_binary(I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            O::I16x8SubSatU => self.lanewise_binary(I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS => self.lanewise_binary(I8X16, |b, x, y| b.ins().smin(x, y)),
            O::I16x8MinS => self.lanewise_binary(I16X8, |b, x, y| b.ins().smin(x, y)),
            O::I32x4MinS => self.lanewise_binary(I32X4, |b, x, y| b.ins().smin(x, y)),
            O::I8x16MinU => self.lanewise_binary(I8X16, |b, x, y| b.ins().umin(x, y)),
            O::I16x8MinU => self.lanewise_binary(I16X8, |b, x, y| b.ins().umin(x, y)),
            O::I32x4MinU => self.lanewise_binary(I32X4, |b, x, y| b.ins().umin(x, y)),
            O::I8x16MaxS => self.lanewise_binary(I8X16, |b, x, y| b.ins().smax(x, y)),
            O::I16x8MaxS => self.lanewise_binary(I16X8, |b, x, y| b.ins().smax(x, y)),
            O::I32x4MaxS => self.lanewise_binary(I32X4, |b, x, y| b.ins().smax(x, y)),
            O::I8x16MaxU => self.lanewise_binary(I8X16, |b, x, y| b.ins().umax(x, y)),
            O::I16x8MaxU => self.lanewise_binary(I16X8, |b, x, y| b.ins().umax(x, y)),
            O::I32x4MaxU => self.lanewise_binary(I32X4, |b, x, y| b.ins().umax(x, y)),
            O::I8x16AvgrU => self.lanewise_binary(I8X16, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8AvgrU => self.lanewise_binary(I16X8, |b, x, y| b.ins().avg_round(x, y)),
            // `sqmul_round_sat` on 16-bit lanes is exactly Q15 rounding multiplication:
            // `(x * y + 0x4000) >> 15`, saturated.
            O::I16x8Q15MulrSatS => {
                self.lanewise_binary(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
            }
            O::I16x8ExtMulLowI8x16S => self.extmul(I8X16, Low, Signed),
            O::I16x8ExtMulHighI8x16S => self.extmul(I8X16, High, Signed),
            O::I16x8ExtMulLowI8x16U => self.extmul(I8X16, Low, Unsigned),
            O::I16x8ExtMulHighI8x16U => self.extmul(I8X16, High, Unsigned),
            O::I32x4ExtMulLowI16x8S => self.extmul(I16X8, Low, Signed),
            O::I32x4ExtMulHighI16x8S => self.extmul(I16X8, High, Signed),
            O::I32x4ExtMulLowI16x8U => self.extmul(I16X8, Low, Unsigned),
            O::I32x4ExtMulHighI16x8U => self.extmul(I16X8, High, Unsigned),
            O::I64x2ExtMulLowI32x4S => self.extmul(I32X4, Low, Signed),
            O::I64x2ExtMulHighI32x4S => self.extmul(I32X4, High, Signed),
            O::I64x2ExtMulLowI32x4U => self.extmul(I32X4, Low, Unsigned),
            O::I64x2ExtMulHighI32x4U => self.extmul(I32X4, High, Unsigned),
            O::I16x8ExtAddPairwiseI8x16S => self.extadd_pairwise(I8X16, Signed),
            O::I16x8ExtAddPairwiseI8x16U => self.extadd_pairwise(I8X16, Unsigned),
            O::I32x4ExtAddPairwiseI16x8S => self.extadd_pairwise(I16X8, Signed),
            O::I32x4ExtAddPairwiseI16x8U => self.extadd_pairwise(I16X8, Unsigned),
            // The sum of each pair of 32-bit products: pairwise addition of the low and the
            // high products is the shape the backend lowers to `pmaddwd`.
            O::I32x4DotI16x8S => self.lanewise_binary(I16X8, |b, x, y| {
                let low = widening_mul(b, x, y, Low, Signed);
                let high = widening_mul(b, x, y, High, Signed);
                b.ins().iadd_pairwise(low, high)
            }),

            // --- float arithmetic ---
            O::F32x4Abs => self.lanewise_unary(F32X4, |b, x| b.ins().fabs(x)),
            O::F64x2Abs => self.lanewise_unary(F64X2, |b, x| b.ins().fabs(x)),
            O::F32x4Neg => self.lanewise_unary(F32X4, |b, x| b.ins().fneg(x)),
            O::F64x2Neg => self.lanewise_unary(F64X2, |b, x| b.ins().fneg(x)),
            O::F32x4Sqrt => self.lanewise_unary(F32X4, |b, x| b.ins().sqrt(x)),
            O::F64x2Sqrt => self.lanewise_unary(F64X2, |b, x| b.ins().sqrt(x)),
            O::F32x4Ceil => self.lanewise_unary(F32X4, |b, x| b.ins().ceil(x)),
            O::F64x2Ceil => self.lanewise_unary(F64X2, |b, x| b.ins().ceil(x)),
            O::F32x4Floor => self.lanewise_unary(F32X4, |b, x| b.ins().floor(x)),
            O::F64x2Floor => self.lanewise_unary(F64X2, |b, x| b.ins().floor(x)),
            O::F32x4Trunc => self.lanewise_unary(F32X4, |b, x| b.ins().trunc(x)),
            O::F64x2Trunc => self.lanewise_unary(F64X2, |b, x| b.ins().trunc(x)),
            O::F32x4Nearest => self.lanewise_unary(F32X4, |b, x| b.ins().nearest(x)),
            O::F64x2Nearest => self.lanewise_unary(F64X2, |b, x| b.ins().nearest(x)),
            O::F32x4Add => self.lanewise_binary(F32X4, |b, x, y| b.ins().fadd(x, y)),
            O::F64x2Add => self.lanewise_binary(F64X2, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub => self.lanewise_binary(F32X4, |b, x, y| b.ins().fsub(x, y)),
            O::F64x2Sub => self.lanewise_binary(F64X2, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul => self.lanewise_binary(F32X4, |b, x, y| b.ins().fmul(x, y)),
            O::F64x2Mul => self.lanewise_binary(F64X2, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div => self.lanewise_binary(F32X4, |b, x, y| b.ins().fdiv(x, y)),
            O::F64x2Div => self.lanewise_binary(F64X2, |b, x, y| b.ins().fdiv(x, y)),
            // Cranelift's vector fmin and fmax follow wasm's NaN and signed-zero rules, unlike
            // the x86 instructions of the same names.
            O::F32x4Min => self.lanewise_binary(F32X4, |b, x, y| b.ins().fmin(x, y)),
            O::F64x2Min => self.lanewise_binary(F64X2, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max => self.lanewise_binary(F32X4, |b, x, y| b.ins().fmax(x, y)),
            O::F64x2Max => self.lanewise_binary(F64X2, |b, x, y| b.ins().fmax(x, y)),
            // `pmin(x, y)` is `y < x ? y : x` and `pmax(x, y)` is `x < y ? y : x`: the first
            // operand wins every comparison with a NaN and every tie between zeros.
            O::F32x4PMin => self.pseudo_min_max(F32X4, true),
            O::F64x2PMin => self.pseudo_min_max(F64X2, true),
            O::F32x4PMax => self.pseudo_min_max(F32X4, false),
            O::F64x2PMax => self.pseudo_min_max(F64X2, false),

            // --- conversions ---
            O::I8x16NarrowI16x8S => self.lanewise_binary(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            O::I16x8NarrowI32x4S => self.lanewise_binary(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            // `unarrow` reads its lanes as signed, as wasm's unsigned narrowing does.
            O::I8x16NarrowI16x8U => self.lanewise_binary(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8NarrowI32x4U => self.lanewise_binary(I32X4, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8ExtendLowI8x16S => self.extend(I8X16, Low, Signed),
            O::I16x8ExtendHighI8x16S => self.extend(I8X16, High, Signed),
            O::I16x8ExtendLowI8x16U => self.extend(I8X16, Low, Unsigned),
            O::I16x8ExtendHighI8x16U => self.extend(I8X16, High, Unsigned),
            O::I32x4ExtendLowI16x8S => self.extend(I16X8, Low, Signed),
            O::I32x4ExtendHighI16x8S => self.extend(I16X8, High, Signed),
            O::I32x4ExtendLowI16x8U => self.extend(I16X8, Low, Unsigned),
            O::I32x4ExtendHighI16x8U => self.extend(I16X8, High, Unsigned),
            O::I64x2ExtendLowI32x4S => self.extend(I32X4, Low, Signed),
            O::I64x2ExtendHighI32x4S => self.extend(I32X4, High, Signed),
            O::I64x2ExtendLowI32x4U => self.extend(I32X4, Low, Unsigned),
            O::I64x2ExtendHighI32x4U => self.extend(I32X4, High, Unsigned),
            O::I32x4TruncSatF32x4S => {
                self.lanewise_unary(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
            }
            O::I32x4TruncSatF32x4U => {
                self.lanewise_unary(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
            }
            // Both halves of each 64-bit result are narrowed into one 32-bit lane, next to
            // the zero lanes wasm asks for; the backend lowers either tree as a whole.
            O::I32x4TruncSatF64x2SZero => self.lanewise_unary(F64X2, |b, x| {
                let wide = b.ins().fcvt_to_sint_sat(I64X2, x);
                let zero = zero_vector(b, I64X2);
                b.ins().snarrow(wide, zero)
            }),
            O::I32x4TruncSatF64x2UZero => self.lanewise_unary(F64X2, |b, x| {
                let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
                let zero = zero_vector(b, I64X2);
                b.ins().uunarrow(wide, zero)
            }),
            O::F32x4ConvertI32x4S => {
                self.lanewise_unary(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x))
            }
            O::F32x4ConvertI32x4U => {
                self.lanewise_unary(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x))
            }
            O::F64x2ConvertLowI32x4S => self.lanewise_unary(I32X4, |b, x| {
                let wide = b.ins().swiden_low(x);
                b.ins().fcvt_from_sint(F64X2, wide)
            }),
            O::F64x2ConvertLowI32x4U => self.lanewise_unary(I32X4, |b, x| {
                let wide = b.ins().uwiden_low(x);
                b.ins().fcvt_from_uint(F64X2, wide)
            }),
            O::F32x4DemoteF64x2Zero => self.lanewise_unary(F64X2, |b, x| b.ins().fvdemote(x)),
            O::F64x2PromoteLowF32x4 => self.lanewise_unary(F32X4, |b, x| b.ins().fvpromote_low(x)),

            other => return Ok(Lowered::NotMine(other)),
        }
        Ok(Lowered::Done)
    }

    // --- operand shapes ---

    /// Pops a v128 and views it as `shape`.
    pub(super) fn pop_vector(&mut self, shape: Type) -> Value {
        let value = self.pop();
        as_shape(self.b, value, shape)
    }

    /// Pushes a vector of any shape as a v128.
    pub(super) fn push_vector(&mut self, value: Value) {
        let value = as_v128(self.b, value);
        self.stack.push(value);
    }

    /// An operator on one v128 read as `shape`, producing a vector of any shape.
    fn lanewise_unary(
        &mut self,
        shape: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let x = self.pop_vector(shape);
        let result = op(self.b, x);
        self.push_vector(result);
    }

    /// An operator on two v128s read as `shape`, producing a vector of any shape.
    fn lanewise_binary(
        &mut self,
        shape: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let y = self.pop_vector(shape);
        let x = self.pop_vector(shape);
        let result = op(self.b, x, y);
        self.push_vector(result);
    }

    /// A reduction of a v128 read as `shape` to an i32; `op` may give a narrower integer,
    /// which is zero-extended.
    fn reduce(&mut self, shape: Type, op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let x = self.pop_vector(shape);
        let mut result = op(self.b, x);
        if self.b.func.dfg.value_type(result) != I32 {
            result = self.b.ins().uextend(I32, result);
        }
        self.stack.push(result);
    }

    /// A shift of each lane of `shape` by an i32 count, which Cranelift takes modulo the
    /// lane width as wasm requires.
    fn shift(
        &mut self,
        shape: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let count = self.pop();
        let x = self.pop_vector(shape);
        let result = op(self.b, x, count);
        self.push_vector(result);
    }

    /// Vector comparisons give a lane of all ones where true and zeros where false, which is
    /// wasm's result as is.
    fn icmp_lanes(&mut self, shape: Type, cc: IntCC) {
        self.lanewise_binary(shape, |b, x, y| b.ins().icmp(cc, x, y));
    }

    /// Float comparisons likewise; `NotEqual` is the one condition that holds for NaN
    /// operands, as `ne` does in wasm.
    fn fcmp_lanes(&mut self, shape: Type, cc: FloatCC) {
        self.lanewise_binary(shape, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    // --- lanes ---

    /// `splat`: an i8 or i16 lane takes the low bits of its i32 operand.
    fn splat(&mut self, shape: Type) {
        let scalar = self.pop();
        let lane = lane_value(self.b, scalar, shape);
        let vector = self.b.ins().splat(shape, lane);
        self.push_vector(vector);
    }

    /// `extract_lane`, with the extension of an i8 or i16 lane to i32 (`None` for lanes that
    /// are already a wasm type).
    fn extract_lane(&mut self, shape: Type, lane: u8, extension: Option<Signedness>) {
        let vector = self.pop_vector(shape);
        let value = self.b.ins().extractlane(vector, lane);
        let value = match extension {
            None => value,
            Some(Signedness::Signed) => self.b.ins().sextend(I32, value),
            Some(Signedness::Unsigned) => self.b.ins().uextend(I32, value),
        };
        self.stack.push(value);
    }

    fn replace_lane(&mut self, shape: Type, lane: u8) {
        let scalar = self.pop();
        let vector = self.pop_vector(shape);
        let value = lane_value(self.b, scalar, shape);
        let vector = self.b.ins().insertlane(vector, value, lane);
        self.push_vector(vector);
    }

    // --- arithmetic ---

    /// `extend_{low,high}`: the lanes of one half of a `narrow` vector at twice the width.
    fn extend(&mut self, narrow: Type, half: Half, sign: Signedness) {
        self.lanewise_unary(narrow, |b, x| widen(b, x, half, sign));
    }

    /// `extmul_{low,high}`: the full products of the lanes of one half of two `narrow`
    /// vectors.
    fn extmul(&mut self, narrow: Type, half: Half, sign: Signedness) {
        self.lanewise_binary(narrow, |b, x, y| widening_mul(b, x, y, half, sign));
    }

    /// `extadd_pairwise`: the sum of each pair of adjacent `narrow` lanes at twice the
    /// width. Widening both halves and adding pairwise gives the sums in lane order.
    fn extadd_pairwise(&mut self, narrow: Type, sign: Signedness) {
        self.lanewise_unary(narrow, |b, x| {
            let low = widen(b, x, Half::Low, sign);
            let high = widen(b, x, Half::High, sign);
            b.ins().iadd_pairwise(low, high)
        });
    }

    /// `pmin` (`min` true) or `pmax`: a select on the one comparison that defines them,
    /// which the backend lowers to `minps`/`maxps` and their double forms.
    fn pseudo_min_max(&mut self, shape: Type, min: bool) {
        self.lanewise_binary(shape, |b, x, y| {
            let (smaller, larger) = if min { (y, x) } else { (x, y) };
            let y_wins = b.ins().fcmp(FloatCC::LessThan, smaller, larger);
            let y_wins = as_shape(b, y_wins, shape);
            b.ins().bitselect(y_wins, y, x)
        });
    }

    // --- memory ---

    /// `v128.load{8x8,16x4,32x2}_{s,u}`: eight bytes, each lane extended by `emit`.
    fn load_extend(
        &mut self,
        memarg: &MemArg,
        offset: u64,
        emit: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value, i32) -> Value,
    ) -> Result<(), WasmError> {
        self.load(memarg, 8, offset, |b, flags, address, imm| {
            let vector = emit(b, flags, address, imm);
            as_v128(b, vector)
        })
    }

    /// `v128.load{N}_splat` and `v128.load{32,64}_zero`: one lane of `shape` from memory,
    /// which `spread` turns into a vector (in every lane, or in lane 0 with the rest zero).
    fn load_one_lane(
        &mut self,
        memarg: &MemArg,
        shape: Type,
        offset: u64,
        spread: impl FnOnce(&mut FunctionBuilder<'_>, Type, Value) -> Value,
    ) -> Result<(), WasmError> {
        let lane = shape.lane_type();
        self.load(memarg, lane.bytes(), offset, |b, flags, address, imm| {
            let scalar = b.ins().load(lane, flags, address, imm);
            let vector = spread(b, shape, scalar);
            as_v128(b, vector)
        })
    }

    /// `v128.load{N}_lane`: replaces lane `lane` of the v128 operand with memory.
    fn load_lane(
        &mut self,
        memarg: &MemArg,
        shape: Type,
        lane: u8,
        offset: u64,
    ) -> Result<(), WasmError> {
        let vector = self.pop_vector(shape);
        let access = shape.lane_type();
        self.load(memarg, access.bytes(), offset, |b, flags, address, imm| {
            let scalar = b.ins().load(access, flags, address, imm);
            let vector = b.ins().insertlane(vector, scalar, lane);
            as_v128(b, vector)
        })
    }

    /// `v128.store{N}_lane`: stores lane `lane` of the v128 operand.
    fn store_lane(
        &mut self,
        memarg: &MemArg,
        shape: Type,
        lane: u8,
        offset: u64,
    ) -> Result<(), WasmError> {
        let size = shape.lane_type().bytes();
        self.store(memarg, size, offset, |b, flags, vector, address, imm| {
            let vector = as_shape(b, vector, shape);
            let scalar = b.ins().extractlane(vector, lane);
            b.ins().store(flags, scalar, address, imm);
        })
    }
}

/// `scalar` in every lane of a `shape` vector.
fn splat(b: &mut FunctionBuilder<'_>, shape: Type, scalar: Value) -> Value {
    b.ins().splat(shape, scalar)
}

/// `scalar` in lane 0 of a `shape` vector, the other lanes zero.
fn in_lane_zero(b: &mut FunctionBuilder<'_>, shape: Type, scalar: Value) -> Value {
    b.ins().scalar_to_vector(shape, scalar)
}
