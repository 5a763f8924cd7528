//! The relaxed SIMD proposal's operators, each lowered to one of the results the proposal
//! allows, the same on every host (never a choice that depends on the CPU):
//!
//! - `i8x16.relaxed_swizzle` is `i8x16.swizzle`: an index of 16 or more selects 0.
//! - `i32x4.relaxed_trunc_*` are the saturating `i32x4.trunc_sat_*`: NaN gives 0, and a value
//!   out of range the nearest bound.
//! - `*.relaxed_laneselect` is `v128.bitselect`: each bit from the mask, not each lane from
//!   the mask's top bit.
//! - `f32x4/f64x2.relaxed_min/max` are `f32x4.min` and so on: NaN-propagating, with -0 below
//!   +0.
//! - `i16x8.relaxed_q15mulr_s` is `i16x8.q15mulr_sat_s`: `-0x8000 * -0x8000` saturates to
//!   `0x7fff`.
//! - `f32x4/f64x2.relaxed_madd/nmadd` round twice: `a * b` is rounded, then added to `c` (for
//!   `nmadd`, its negation is), as on hardware without fused multiply-add.
//! - `i16x8.relaxed_dot_i8x16_i7x16_s` and `i32x4.relaxed_dot_i8x16_i7x16_add_s` read both
//!   operands' bytes as signed, and sum the i16 products pairwise (wrapping) or in fours into
//!   i32 lanes (exactly).

use super::simd::{Half, Signedness, widening_mul};
use super::translate::{Lowered, Translator};
use crate::environ::WasmError;
use cranelift_codegen::ir::types::{F32X4, F64X2, I8X16, I32X4};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use wasmparser::Operator;

impl Translator<'_, '_, '_, '_> {
    /// The entry point of the relaxed SIMD proposal's operators; every other operator goes
    /// back to the caller.
    pub(super) fn relaxed_simd_operator<'a>(
        &mut self,
        op: Operator<'a>,
        offset: u64,
    ) -> Result<Lowered<'a>, WasmError> {
        use Operator as O;
        // The deterministic SIMD operator each relaxed one behaves as.
        let same_as = match op {
            O::I8x16RelaxedSwizzle => O::I8x16Swizzle,
            O::I32x4RelaxedTruncF32x4S => O::I32x4TruncSatF32x4S,
            O::I32x4RelaxedTruncF32x4U => O::I32x4TruncSatF32x4U,
            O::I32x4RelaxedTruncF64x2SZero => O::I32x4TruncSatF64x2SZero,
            O::I32x4RelaxedTruncF64x2UZero => O::I32x4TruncSatF64x2UZero,
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => O::V128Bitselect,
            O::F32x4RelaxedMin => O::F32x4Min,
            O::F32x4RelaxedMax => O::F32x4Max,
            O::F64x2RelaxedMin => O::F64x2Min,
            O::F64x2RelaxedMax => O::F64x2Max,
            O::I16x8RelaxedQ15mulrS => O::I16x8Q15MulrSatS,
            O::F32x4RelaxedMadd => return Ok(self.multiply_add(F32X4, false)),
            O::F32x4RelaxedNmadd => return Ok(self.multiply_add(F32X4, true)),
            O::F64x2RelaxedMadd => return Ok(self.multiply_add(F64X2, false)),
            O::F64x2RelaxedNmadd => return Ok(self.multiply_add(F64X2, true)),
            O::I16x8RelaxedDotI8x16I7x16S => return Ok(self.dot_i8x16_pairs()),
            O::I32x4RelaxedDotI8x16I7x16AddS => return Ok(self.dot_i8x16_quads_add()),
            other => return Ok(Lowered::NotMine(other)),
        };
        self.simd_operator(same_as, offset)
    }

    /// `relaxed_madd` (`a * b + c`) or, with `negate`, `relaxed_nmadd` (`-(a * b) + c`) on
    /// lanes of `shape`, unfused.
    fn multiply_add<'a>(&mut self, shape: Type, negate: bool) -> Lowered<'a> {
        let c = self.pop_vector(shape);
        let b = self.pop_vector(shape);
        let a = self.pop_vector(shape);
        let mut product = self.b.ins().fmul(a, b);
        if negate {
            product = self.b.ins().fneg(product);
        }
        let result = self.b.ins().fadd(product, c);
        self.push_vector(result);
        Lowered::Done
    }

    /// The 16 products of the signed bytes of the two vectors on top of the stack, as the
    /// i16x8 vectors of the low and the high eight.
    fn signed_byte_products(&mut self) -> (Value, Value) {
        let y = self.pop_vector(I8X16);
        let x = self.pop_vector(I8X16);
        let low = widening_mul(self.b, x, y, Half::Low, Signedness::Signed);
        let high = widening_mul(self.b, x, y, Half::High, Signedness::Signed);
        (low, high)
    }

    /// `i16x8.relaxed_dot_i8x16_i7x16_s`: the sum of each pair of adjacent products.
    fn dot_i8x16_pairs<'a>(&mut self) -> Lowered<'a> {
        let (low, high) = self.signed_byte_products();
        let sums = self.b.ins().iadd_pairwise(low, high);
        self.push_vector(sums);
        Lowered::Done
    }

    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s`: the sum of each four adjacent products, in
    /// 32 bits, plus the i32x4 on top of the stack.
    fn dot_i8x16_quads_add<'a>(&mut self) -> Lowered<'a> {
        let addend = self.pop_vector(I32X4);
        let (low, high) = self.signed_byte_products();
        let b = &mut *self.b;
        let words = [
            b.ins().swiden_low(low),
            b.ins().swiden_high(low),
            b.ins().swiden_low(high),
            b.ins().swiden_high(high),
        ];
        let first_pairs = b.ins().iadd_pairwise(words[0], words[1]);
        let second_pairs = b.ins().iadd_pairwise(words[2], words[3]);
        let quads = b.ins().iadd_pairwise(first_pairs, second_pairs);
        let result = b.ins().iadd(quads, addend);
        debug_assert_eq!(b.func.dfg.value_type(result), I32X4);
        self.push_vector(result);
        Lowered::Done
    }
}
