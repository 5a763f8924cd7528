//! Tests of the SIMD operators: every `0xFD` operator compiled with the IR verifier on in
//! both bounds-checking modes, and the results of the operators whose wasm semantics differ
//! from the nearest x86 instruction, run through the embedding API (which owns the signal
//! handler that out-of-bounds accesses with guard pages need).

use super::tests::compile_with;
use crate::environ::{BoundsChecks, TrapKind};
use crate::{Config, Engine, Instance, Module, Store, WasmParams, WasmResults};

const BOTH_MODES: [BoundsChecks; 2] = [BoundsChecks::GuardPages, BoundsChecks::Explicit];

// --- lane packing, lane 0 in the low bits as wasm numbers them ---

fn pack(lanes: impl DoubleEndedIterator<Item = u128>, bits: u32) -> u128 {
    lanes.rev().fold(0, |packed, lane| packed << bits | lane)
}

fn i8x16(lanes: [i8; 16]) -> u128 {
    pack(lanes.into_iter().map(|lane| u128::from(lane as u8)), 8)
}

fn i16x8(lanes: [i16; 8]) -> u128 {
    pack(lanes.into_iter().map(|lane| u128::from(lane as u16)), 16)
}

fn i32x4(lanes: [i32; 4]) -> u128 {
    pack(lanes.into_iter().map(|lane| u128::from(lane as u32)), 32)
}

fn u32x4(lanes: [u32; 4]) -> u128 {
    pack(lanes.into_iter().map(u128::from), 32)
}

fn i64x2(lanes: [i64; 2]) -> u128 {
    pack(lanes.into_iter().map(|lane| u128::from(lane as u64)), 64)
}

fn u64x2(lanes: [u64; 2]) -> u128 {
    pack(lanes.into_iter().map(u128::from), 64)
}

fn f32x4(lanes: [f32; 4]) -> u128 {
    u32x4(lanes.map(f32::to_bits))
}

fn f64x2(lanes: [f64; 2]) -> u128 {
    u64x2(lanes.map(f64::to_bits))
}

fn f32_lanes(bits: u128) -> [f32; 4] {
    std::array::from_fn(|lane| f32::from_bits((bits >> (32 * lane)) as u32))
}

fn f64_lanes(bits: u128) -> [f64; 2] {
    std::array::from_fn(|lane| f64::from_bits((bits >> (64 * lane)) as u64))
}

/// Whether `actual` has the bits of `expected`, or is any NaN where `expected` is one.
fn same_f32(actual: f32, expected: f32) -> bool {
    actual.to_bits() == expected.to_bits() || (actual.is_nan() && expected.is_nan())
}

fn same_f64(actual: f64, expected: f64) -> bool {
    actual.to_bits() == expected.to_bits() || (actual.is_nan() && expected.is_nan())
}

// --- running ---

/// Calls export `f` of `wat`, compiled in `mode` with the IR verifier on.
fn call<P: WasmParams, R: WasmResults>(
    mode: BoundsChecks,
    wat: &str,
    params: P,
) -> Result<R, TrapKind> {
    let mut config = Config::new();
    config.bounds_checks(mode).verify_ir(true);
    let engine = Engine::new(&config).expect("engine");
    let module = Module::new(&engine, wat).expect("module compiles");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    let f = instance.get_typed_func::<P, R>(&mut store, "f").expect("f");
    f.call(&mut store, params)
        .map_err(|error| error.trap().expect("a trap"))
}

/// `op` applied to the v128 `x`.
fn unary(op: &str, x: u128) -> u128 {
    let wat =
        format!(r#"(module (func (export "f") (param v128) (result v128) local.get 0 {op}))"#);
    call(BoundsChecks::GuardPages, &wat, x).expect("no trap")
}

/// `op` applied to the v128s `x` and `y`.
fn binary(op: &str, x: u128, y: u128) -> u128 {
    let wat = format!(
        r#"(module (func (export "f") (param v128 v128) (result v128)
            local.get 0 local.get 1 {op}))"#
    );
    call(BoundsChecks::GuardPages, &wat, (x, y)).expect("no trap")
}

/// `op` of a v128 reduced to an i32.
fn reduce(op: &str, x: u128) -> i32 {
    let wat = format!(r#"(module (func (export "f") (param v128) (result i32) local.get 0 {op}))"#);
    call(BoundsChecks::GuardPages, &wat, x).expect("no trap")
}

/// The shift `op` of `x` by `count`, both as an operand and as a constant, which the
/// backend lowers differently; both must agree.
fn shift(op: &str, x: u128, count: i32) -> u128 {
    let dynamic = format!(
        r#"(module (func (export "f") (param v128 i32) (result v128)
            local.get 0 local.get 1 {op}))"#
    );
    let constant = format!(
        r#"(module (func (export "f") (param v128) (result v128)
            local.get 0 i32.const {count} {op}))"#
    );
    let by_operand = call(BoundsChecks::GuardPages, &dynamic, (x, count)).expect("no trap");
    let by_constant = call(BoundsChecks::GuardPages, &constant, x).expect("no trap");
    assert_eq!(by_operand, by_constant, "{op} by {count}");
    by_operand
}

// --- results ---

#[test]
fn shifts_take_the_count_modulo_the_lane_width() {
    let bytes = i8x16([-127, 0x7f, -128, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1]);
    let shifted = i8x16([2, -2, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, -2]);
    assert_eq!(shift("i8x16.shl", bytes, 9), shifted);
    assert_eq!(shift("i8x16.shl", bytes, 8), bytes);
    let signs = i8x16([-1, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1]);
    assert_eq!(shift("i8x16.shr_s", bytes, -1), signs);
    let tops = i8x16([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(shift("i8x16.shr_u", bytes, 15), tops);
    let halves = i16x8([-4, 4, i16::MIN, -1, 0, 1, 2, 3]);
    let halved = i16x8([-2, 2, i16::MIN / 2, -1, 0, 0, 1, 1]);
    assert_eq!(shift("i16x8.shr_s", halves, 17), halved);
    assert_eq!(
        shift("i32x4.shr_u", i32x4([-1, 8, 0, 1]), 35),
        i32x4([0x1fff_ffff, 1, 0, 0])
    );
    let quads = i64x2([-4, i64::MAX]);
    assert_eq!(shift("i64x2.shr_s", quads, 65), i64x2([-2, i64::MAX / 2]));
    assert_eq!(shift("i64x2.shl", quads, 64), quads);
    assert_eq!(
        shift("i64x2.shr_u", quads, -63),
        i64x2([i64::MAX - 1, i64::MAX / 2])
    );
}

#[test]
fn swizzle_gives_zero_for_out_of_range_indices_and_shuffle_reads_both_operands() {
    let x = i8x16(std::array::from_fn(|lane| 0x10 + lane as i8));
    let indices = i8x16([0, 15, 16, -128, -1, 3, 31, 1, 2, 4, 5, 6, 7, 8, 9, 17]);
    let expected = i8x16([
        0x10, 0x1f, 0, 0, 0, 0x13, 0, 0x11, 0x12, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0,
    ]);
    assert_eq!(binary("i8x16.swizzle", x, indices), expected);

    let y = i8x16(std::array::from_fn(|lane| 0x20 + lane as i8));
    let interleaved = binary("i8x16.shuffle 31 0 30 1 16 15 0 0 17 17 2 3 4 5 6 7", x, y);
    let expected = i8x16([
        0x2f, 0x10, 0x2e, 0x11, 0x20, 0x1f, 0x10, 0x10, 0x21, 0x21, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17,
    ]);
    assert_eq!(interleaved, expected);
}

#[test]
fn float_min_and_max_propagate_nans_and_order_zeros() {
    let payload_nan = f32::from_bits(0x7fc0_1234);
    let x = f32x4([-0.0, payload_nan, 1.0, 3.0]);
    let y = f32x4([0.0, 1.0, f32::NAN, 2.0]);
    let cases = [
        ("f32x4.min", [-0.0, f32::NAN, f32::NAN, 2.0]),
        ("f32x4.max", [0.0, f32::NAN, f32::NAN, 3.0]),
        // The first operand wins every comparison with a NaN and every tie, bit for bit.
        ("f32x4.pmin", [-0.0, payload_nan, 1.0, 2.0]),
        ("f32x4.pmax", [-0.0, payload_nan, 1.0, 3.0]),
    ];
    for (op, expected) in cases {
        let actual = f32_lanes(binary(op, x, y));
        let pseudo = op.contains(".p");
        for (lane, (actual, expected)) in actual.into_iter().zip(expected).enumerate() {
            let matches = if pseudo {
                actual.to_bits() == expected.to_bits()
            } else {
                same_f32(actual, expected)
            };
            assert!(
                matches,
                "{op} lane {lane}: {actual:?}, expected {expected:?}"
            );
        }
    }
    for (x, y, min, max) in [
        ([0.0, -0.0], [-0.0, 0.0], [-0.0, -0.0], [0.0, 0.0]),
        (
            [f64::NAN, 1.0],
            [1.0, f64::NAN],
            [f64::NAN; 2],
            [f64::NAN; 2],
        ),
        (
            [f64::INFINITY, -1.0],
            [2.0, f64::NEG_INFINITY],
            [2.0, f64::NEG_INFINITY],
            [f64::INFINITY, -1.0],
        ),
    ] {
        for (op, expected) in [("f64x2.min", min), ("f64x2.max", max)] {
            let actual = f64_lanes(binary(op, f64x2(x), f64x2(y)));
            for (actual, expected) in actual.into_iter().zip(expected) {
                assert!(same_f64(actual, expected), "{op} {x:?} {y:?}: {actual:?}");
            }
        }
    }
    let x = f64x2([-0.0, 5.0]);
    let y = f64x2([0.0, f64::NAN]);
    assert_eq!(binary("f64x2.pmin", x, y), x);
    assert_eq!(binary("f64x2.pmax", y, x), y);
}

#[test]
fn rounding_follows_ieee_ties_to_even() {
    let x = f32x4([2.5, -2.5, 0.5, -0.4]);
    let rounded = [
        ("f32x4.nearest", [2.0, -2.0, 0.0, -0.0]),
        ("f32x4.ceil", [3.0, -2.0, 1.0, -0.0]),
        ("f32x4.floor", [2.0, -3.0, 0.0, -1.0]),
        ("f32x4.trunc", [2.0, -2.0, 0.0, -0.0]),
    ];
    for (op, expected) in rounded {
        assert_eq!(unary(op, x), f32x4(expected), "{op}");
    }
    assert_eq!(
        unary("f64x2.nearest", f64x2([3.5, -0.5])),
        f64x2([4.0, -0.0])
    );
}

#[test]
fn saturating_truncations_clamp_and_zero_nans() {
    let x = f32x4([f32::NAN, 3e9, -3e9, -2.5]);
    assert_eq!(
        unary("i32x4.trunc_sat_f32x4_s", x),
        i32x4([0, i32::MAX, i32::MIN, -2])
    );
    let x = f32x4([-1.0, f32::NAN, 4.3e9, 2.5]);
    assert_eq!(
        unary("i32x4.trunc_sat_f32x4_u", x),
        u32x4([0, 0, u32::MAX, 2])
    );
    let cases = [
        (
            "i32x4.trunc_sat_f64x2_s_zero",
            [f64::NAN, f64::NEG_INFINITY],
            [0, i32::MIN as u32],
        ),
        (
            "i32x4.trunc_sat_f64x2_s_zero",
            [1e10, -1.9],
            [i32::MAX as u32, -1i32 as u32],
        ),
        ("i32x4.trunc_sat_f64x2_u_zero", [-1.5, 5e9], [0, u32::MAX]),
        (
            "i32x4.trunc_sat_f64x2_u_zero",
            [f64::NAN, 4294967295.9],
            [0, u32::MAX],
        ),
        ("i32x4.trunc_sat_f64x2_u_zero", [3.9, -0.9], [3, 0]),
    ];
    for (op, x, [low, high]) in cases {
        assert_eq!(unary(op, f64x2(x)), u32x4([low, high, 0, 0]), "{op} {x:?}");
    }
}

#[test]
fn conversions_between_shapes() {
    let x = u32x4([u32::MAX, 0x8000_0001, 1, 0]);
    assert_eq!(
        unary("f32x4.convert_i32x4_u", x),
        f32x4([4294967296.0, 2147483648.0, 1.0, 0.0])
    );
    assert_eq!(
        unary("f32x4.convert_i32x4_s", x),
        f32x4([-1.0, -2147483647.0, 1.0, 0.0])
    );
    let x = u32x4([u32::MAX, 7, 0xdead, 0xbeef]);
    assert_eq!(
        unary("f64x2.convert_low_i32x4_u", x),
        f64x2([4294967295.0, 7.0])
    );
    assert_eq!(unary("f64x2.convert_low_i32x4_s", x), f64x2([-1.0, 7.0]));
    let x = f32x4([1.5, -0.0, 9.0, 9.0]);
    assert_eq!(unary("f64x2.promote_low_f32x4", x), f64x2([1.5, -0.0]));
    let x = f64x2([1.5, 1e300]);
    assert_eq!(
        unary("f32x4.demote_f64x2_zero", x),
        f32x4([1.5, f32::INFINITY, 0.0, 0.0])
    );
    let x = i16x8([-1, 256, 255, 128, -200, 200, i16::MIN, i16::MAX]);
    let y = i16x8([0; 8]);
    assert_eq!(
        binary("i8x16.narrow_i16x8_u", x, y),
        i8x16([
            0,
            -1,
            -1,
            -128,
            0,
            200u8 as i8,
            0,
            -1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0
        ])
    );
    assert_eq!(
        binary("i8x16.narrow_i16x8_s", y, x),
        i8x16([
            0, 0, 0, 0, 0, 0, 0, 0, -1, 127, 127, 127, -128, 127, -128, 127
        ])
    );
    let x = i32x4([-1, 70000, 65535, -70000]);
    assert_eq!(
        binary("i16x8.narrow_i32x4_u", x, x),
        i16x8([0, -1, -1, 0, 0, -1, -1, 0])
    );
    let bytes = i8x16([
        -1, 2, -3, 4, -5, 6, -7, 8, -9, 10, -11, 12, -13, 14, -15, 16,
    ]);
    assert_eq!(
        unary("i16x8.extend_high_i8x16_s", bytes),
        i16x8([-9, 10, -11, 12, -13, 14, -15, 16])
    );
    assert_eq!(
        unary("i16x8.extend_low_i8x16_u", bytes),
        i16x8([255, 2, 253, 4, 251, 6, 249, 8])
    );
    assert_eq!(
        unary("i64x2.extend_high_i32x4_u", i32x4([0, 0, -1, 5])),
        u64x2([u64::from(u32::MAX), 5])
    );
}

#[test]
fn widening_and_fixed_point_arithmetic() {
    let q15 = i16x8([i16::MIN, 0x4000, -1, i16::MAX, i16::MIN, 3, 0, -0x4000]);
    let by = i16x8([i16::MIN, 0x4000, 1, i16::MAX, i16::MAX, -1, 5, 0x4000]);
    assert_eq!(
        binary("i16x8.q15mulr_sat_s", q15, by),
        i16x8([i16::MAX, 0x2000, 0, 0x7ffe, -0x7fff, 0, 0, -0x2000])
    );
    let minimums = i16x8([i16::MIN; 8]);
    assert_eq!(
        binary("i32x4.dot_i16x8_s", minimums, minimums),
        i32x4([i32::MIN; 4])
    );
    let counting = i16x8([1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(
        binary(
            "i32x4.dot_i16x8_s",
            counting,
            i16x8([1, 1, 1, 1, 1, 1, -1, -1])
        ),
        i32x4([3, 7, 11, -15])
    );
    let ones = u128::MAX;
    assert_eq!(
        unary("i16x8.extadd_pairwise_i8x16_u", ones),
        i16x8([0x1fe; 8])
    );
    assert_eq!(unary("i16x8.extadd_pairwise_i8x16_s", ones), i16x8([-2; 8]));
    assert_eq!(
        unary("i32x4.extadd_pairwise_i16x8_u", ones),
        i32x4([0x1fffe; 4])
    );
    assert_eq!(unary("i32x4.extadd_pairwise_i16x8_s", ones), i32x4([-2; 4]));
    let x = u32x4([1, 2, u32::MAX, 2]);
    let y = u32x4([3, 4, u32::MAX, 3]);
    assert_eq!(
        binary("i64x2.extmul_high_i32x4_u", x, y),
        u64x2([0xffff_fffe_0000_0001, 6])
    );
    assert_eq!(binary("i64x2.extmul_high_i32x4_s", x, y), i64x2([1, 6]));
    assert_eq!(binary("i64x2.extmul_low_i32x4_s", x, y), i64x2([3, 8]));
    let bytes = i8x16([-128, 127, -1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        binary("i16x8.extmul_low_i8x16_s", bytes, bytes),
        i16x8([16384, 16129, 1, 1, 0, 0, 0, 0])
    );
    assert_eq!(
        binary("i16x8.extmul_low_i8x16_u", bytes, bytes),
        i16x8([16384, 16129, -511, 1, 0, 0, 0, 0])
    );
}

#[test]
fn integer_lanewise_edge_cases() {
    assert_eq!(
        unary("i64x2.abs", i64x2([i64::MIN, -5])),
        i64x2([i64::MIN, 5])
    );
    let bytes = i8x16([-1, -2, 0, 127, -128, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let others = i8x16([-2, -1, 1, 127, -128, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
    assert_eq!(
        binary("i8x16.avgr_u", bytes, others),
        i8x16([-1, -1, 1, 127, -128, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12])
    );
    assert_eq!(
        binary("i8x16.add_sat_u", bytes, others),
        i8x16([-1, -1, 1, -2, -1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23])
    );
    assert_eq!(
        binary("i8x16.sub_sat_s", i8x16([-128; 16]), i8x16([1; 16])),
        i8x16([-128; 16])
    );
    assert_eq!(
        unary("i8x16.popcnt", bytes),
        i8x16([8, 7, 0, 7, 1, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3])
    );
    assert_eq!(
        binary("i32x4.min_u", i32x4([-1, 0, 5, -7]), i32x4([0, -1, 6, -8])),
        i32x4([0, 0, 5, -8])
    );
    assert_eq!(
        binary("i64x2.gt_s", i64x2([-1, i64::MAX]), i64x2([i64::MIN, -1])),
        u128::MAX
    );
    assert_eq!(
        binary(
            "i16x8.le_u",
            i16x8([-1, 0, 1, 2, 3, 4, 5, 6]),
            i16x8([0; 8])
        ),
        i16x8([0, -1, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(
        binary(
            "f32x4.ne",
            f32x4([f32::NAN, 1.0, 2.0, 0.0]),
            f32x4([f32::NAN, 1.0, 3.0, -0.0])
        ),
        i32x4([-1, 0, -1, 0])
    );
}

#[test]
fn reductions_to_i32() {
    let alternating = i8x16(std::array::from_fn(
        |lane| if lane % 2 == 0 { -1 } else { 1 },
    ));
    assert_eq!(reduce("i8x16.bitmask", alternating), 0x5555);
    assert_eq!(
        reduce("i16x8.bitmask", i16x8([0, -1, 0, 0, 0, 0, 0, i16::MIN])),
        0x82
    );
    assert_eq!(reduce("i32x4.bitmask", i32x4([-1, 1, -1, 1])), 0b0101);
    assert_eq!(reduce("i64x2.bitmask", i64x2([-1, 0])), 1);
    assert_eq!(reduce("i8x16.all_true", alternating), 1);
    assert_eq!(reduce("i16x8.all_true", alternating), 1);
    assert_eq!(reduce("i8x16.all_true", 1 << 120), 0);
    assert_eq!(reduce("i64x2.all_true", 1 << 64 | 1), 1);
    assert_eq!(reduce("i64x2.all_true", 1 << 127), 0);
    assert_eq!(reduce("v128.any_true", 1 << 127), 1);
    assert_eq!(reduce("v128.any_true", 0), 0);
}

#[test]
fn lanes_are_extracted_replaced_and_splatted_with_wasm_widths() {
    let wat = r#"(module (func (export "f") (param v128) (result i32 i32 i32 i32 i64 f32)
        local.get 0 i8x16.extract_lane_s 15
        local.get 0 i8x16.extract_lane_u 15
        local.get 0 i16x8.extract_lane_s 6
        local.get 0 i16x8.extract_lane_u 6
        local.get 0 i64x2.extract_lane 1
        local.get 0 f32x4.extract_lane 2))"#;
    // Byte 15 is 0x80, i16 lane 6 is 0x8000 and f32 lane 2 is 1.5.
    let x = u32x4([0x1111_1111, 0x2222_2222, 1.5f32.to_bits(), 0x8000_8000]);
    let (signed_byte, unsigned_byte, signed_half, unsigned_half, high, float): (
        i32,
        i32,
        i32,
        i32,
        i64,
        f32,
    ) = call(BoundsChecks::GuardPages, wat, x).expect("no trap");
    assert_eq!((signed_byte, unsigned_byte), (-128, 128));
    assert_eq!((signed_half, unsigned_half), (-32768, 32768));
    assert_eq!(high, (x >> 64) as i64);
    assert_eq!(float, 1.5);

    let wat = r#"(module (func (export "f") (param v128 i32) (result v128)
        local.get 0 local.get 1 i8x16.replace_lane 15
        local.get 1 i16x8.replace_lane 0
        f64.const -2 f64x2.replace_lane 1))"#;
    let replaced: u128 = call(BoundsChecks::GuardPages, wat, (0u128, 0x12345)).expect("no trap");
    assert_eq!(replaced, f64x2([f64::from_bits(0x2345), -2.0]));

    let wat = r#"(module (func (export "f") (param i32) (result v128)
        local.get 0 i8x16.splat local.get 0 i16x8.splat i8x16.add))"#;
    let splatted: u128 = call(BoundsChecks::GuardPages, wat, 0x1ff).expect("no trap");
    assert_eq!(splatted, i16x8([0x00fe; 8]));
}

#[test]
fn memory_accesses_read_and_write_their_own_width() {
    let wat = r#"(module (memory 1)
        (data (i32.const 0) "\80\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\f0")
        (func (export "f") (param i32) (result v128 v128 v128 v128 v128 v128)
            local.get 0 v128.load8x8_s offset=1
            local.get 0 v128.load16x4_u
            local.get 0 v128.load16_splat offset=1
            local.get 0 v128.load32_zero offset=13
            (v128.load64_lane 1 (local.get 0) (v128.const i64x2 -1 -1))
            local.get 0 i32.const 32 i32.add
            (v128.const i32x4 0x11223344 0x55667788 0x99aabbcc 0xddeeff00)
            v128.store16_lane offset=2 5
            local.get 0 v128.load offset=32))"#;
    let results: (u128, u128, u128, u128, u128, u128) =
        call(BoundsChecks::Explicit, wat, 0).expect("no trap");
    let (widened, zero_extended, splatted, zero_padded, lane, stored) = results;
    assert_eq!(widened, i16x8([1, 2, 3, 4, 5, 6, 7, 8]));
    assert_eq!(zero_extended, i32x4([0x0180, 0x0302, 0x0504, 0x0706]));
    assert_eq!(splatted, i16x8([0x0201; 8]));
    assert_eq!(zero_padded, u32x4([0xf00f_0e0d, 0, 0, 0]));
    assert_eq!(lane, i64x2([-1, 0x0706_0504_0302_0180]));
    assert_eq!(stored, 0x99aa << 16);
}

#[test]
fn accesses_past_the_end_of_memory_trap_in_both_modes() {
    const OOB: Result<u128, TrapKind> = Err(TrapKind::MemoryOutOfBounds);
    // (operands after the index, the access, what follows it, the access size)
    let accesses = [
        ("", "v128.load", "", 16),
        ("", "v128.load8x8_u", "", 8),
        ("", "v128.load32_splat", "", 4),
        ("", "v128.load64_zero", "", 8),
        (
            "v128.const i64x2 0 0",
            "v128.load16_lane offset=16 7",
            "",
            2,
        ),
        (
            "v128.const i64x2 0 0",
            "v128.store",
            "v128.const i64x2 0 0",
            16,
        ),
        (
            "v128.const i64x2 0 0",
            "v128.store8_lane offset=16 15",
            "v128.const i64x2 0 0",
            1,
        ),
        (
            "v128.const i64x2 0 0",
            "v128.store64_lane offset=16 1",
            "v128.const i64x2 0 0",
            8,
        ),
    ];
    for mode in BOTH_MODES {
        for (operands, access, rest, size) in accesses {
            let access = if access.contains("offset") {
                access.to_string()
            } else {
                format!("{access} offset=16")
            };
            let wat = format!(
                r#"(module (memory 1)
                    (func (export "f") (param i32) (result v128)
                        local.get 0 {operands} {access} {rest}))"#
            );
            let last = 65536 - 16 - size;
            assert!(
                call::<i32, u128>(mode, &wat, last).is_ok(),
                "{access} {mode:?}"
            );
            assert_eq!(call(mode, &wat, last + 1), OOB, "{access} {mode:?}");
            assert_eq!(call(mode, &wat, -16), OOB, "{access} {mode:?}");
        }
    }
}

// --- compilation only ---

/// Every operator of the SIMD proposal as `(text, result type)`, applied to operands built
/// from the locals `$v`, `$w`, `$m` (v128), `$i` (i32), `$l` (i64), `$f` (f32) and `$d`
/// (f64), with `MEMARG` standing for the memory immediates of an access.
fn every_simd_operator() -> Vec<(String, &'static str)> {
    let mut ops = Vec::new();
    // `names` is a comma-separated list of operators that take the same operands.
    let mut add = |operands: &str, names: &str, result: &'static str| {
        for name in names.split(',').map(str::trim) {
            ops.push((format!("{operands} {name}"), result));
        }
    };
    add(
        "local.get $i",
        "v128.load MEMARG, v128.load8x8_s MEMARG, v128.load8x8_u MEMARG,
         v128.load16x4_s MEMARG, v128.load16x4_u MEMARG, v128.load32x2_s MEMARG,
         v128.load32x2_u MEMARG, v128.load8_splat MEMARG, v128.load16_splat MEMARG,
         v128.load32_splat MEMARG, v128.load64_splat MEMARG, v128.load32_zero MEMARG,
         v128.load64_zero MEMARG",
        "v128",
    );
    add(
        "local.get $i local.get $v",
        "v128.load8_lane MEMARG 15, v128.load16_lane MEMARG 7, v128.load32_lane MEMARG 3,
         v128.load64_lane MEMARG 1",
        "v128",
    );
    add(
        "local.get $i local.get $v",
        "v128.store MEMARG, v128.store8_lane MEMARG 15, v128.store16_lane MEMARG 7,
         v128.store32_lane MEMARG 3, v128.store64_lane MEMARG 1",
        "",
    );
    add("", "v128.const i64x2 1 -1", "v128");
    add(
        "local.get $v local.get $w",
        "i8x16.shuffle 0 31 1 30 2 29 3 28 4 27 5 26 6 25 7 24",
        "v128",
    );
    add(
        "local.get $v",
        "i8x16.extract_lane_s 15, i8x16.extract_lane_u 0, i16x8.extract_lane_s 7,
         i16x8.extract_lane_u 0, i32x4.extract_lane 3",
        "i32",
    );
    add("local.get $v", "i64x2.extract_lane 1", "i64");
    add("local.get $v", "f32x4.extract_lane 3", "f32");
    add("local.get $v", "f64x2.extract_lane 1", "f64");
    add(
        "local.get $v local.get $i",
        "i8x16.replace_lane 15, i16x8.replace_lane 7, i32x4.replace_lane 3",
        "v128",
    );
    add("local.get $v local.get $l", "i64x2.replace_lane 1", "v128");
    add("local.get $v local.get $f", "f32x4.replace_lane 0", "v128");
    add("local.get $v local.get $d", "f64x2.replace_lane 1", "v128");
    add(
        "local.get $i",
        "i8x16.splat, i16x8.splat, i32x4.splat",
        "v128",
    );
    add("local.get $l", "i64x2.splat", "v128");
    add("local.get $f", "f32x4.splat", "v128");
    add("local.get $d", "f64x2.splat", "v128");
    add(
        "local.get $v local.get $w local.get $m",
        "v128.bitselect",
        "v128",
    );
    add(
        "local.get $v",
        "v128.any_true, i8x16.all_true, i8x16.bitmask, i16x8.all_true, i16x8.bitmask,
         i32x4.all_true, i32x4.bitmask, i64x2.all_true, i64x2.bitmask",
        "i32",
    );
    let mut shifts = Vec::new();
    let mut comparisons = Vec::new();
    for shape in ["i8x16", "i16x8", "i32x4", "i64x2"] {
        for shift in ["shl", "shr_s", "shr_u"] {
            shifts.push(format!("{shape}.{shift}"));
        }
        let conditions = if shape == "i64x2" {
            "eq ne lt_s gt_s le_s ge_s"
        } else {
            "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"
        };
        for condition in conditions.split(' ') {
            comparisons.push(format!("{shape}.{condition}"));
        }
    }
    for shape in ["f32x4", "f64x2"] {
        for condition in ["eq", "ne", "lt", "gt", "le", "ge"] {
            comparisons.push(format!("{shape}.{condition}"));
        }
    }
    add("local.get $v local.get $i", &shifts.join(","), "v128");
    add("local.get $v local.get $w", &comparisons.join(","), "v128");
    add(
        "local.get $v local.get $w",
        "i8x16.swizzle, v128.and, v128.andnot, v128.or, v128.xor,
         i8x16.narrow_i16x8_s, i8x16.narrow_i16x8_u, i8x16.add, i8x16.add_sat_s,
         i8x16.add_sat_u, i8x16.sub, i8x16.sub_sat_s, i8x16.sub_sat_u, i8x16.min_s,
         i8x16.min_u, i8x16.max_s, i8x16.max_u, i8x16.avgr_u,
         i16x8.q15mulr_sat_s, i16x8.narrow_i32x4_s, i16x8.narrow_i32x4_u, i16x8.add,
         i16x8.add_sat_s, i16x8.add_sat_u, i16x8.sub, i16x8.sub_sat_s, i16x8.sub_sat_u,
         i16x8.mul, i16x8.min_s, i16x8.min_u, i16x8.max_s, i16x8.max_u, i16x8.avgr_u,
         i16x8.extmul_low_i8x16_s, i16x8.extmul_high_i8x16_s, i16x8.extmul_low_i8x16_u,
         i16x8.extmul_high_i8x16_u,
         i32x4.add, i32x4.sub, i32x4.mul, i32x4.min_s, i32x4.min_u, i32x4.max_s, i32x4.max_u,
         i32x4.dot_i16x8_s, i32x4.extmul_low_i16x8_s, i32x4.extmul_high_i16x8_s,
         i32x4.extmul_low_i16x8_u, i32x4.extmul_high_i16x8_u,
         i64x2.add, i64x2.sub, i64x2.mul, i64x2.extmul_low_i32x4_s,
         i64x2.extmul_high_i32x4_s, i64x2.extmul_low_i32x4_u, i64x2.extmul_high_i32x4_u,
         f32x4.add, f32x4.sub, f32x4.mul, f32x4.div, f32x4.min, f32x4.max, f32x4.pmin,
         f32x4.pmax, f64x2.add, f64x2.sub, f64x2.mul, f64x2.div, f64x2.min, f64x2.max,
         f64x2.pmin, f64x2.pmax",
        "v128",
    );
    add(
        "local.get $v",
        "v128.not, i8x16.abs, i8x16.neg, i8x16.popcnt,
         i16x8.extadd_pairwise_i8x16_s, i16x8.extadd_pairwise_i8x16_u, i16x8.abs, i16x8.neg,
         i16x8.extend_low_i8x16_s, i16x8.extend_high_i8x16_s, i16x8.extend_low_i8x16_u,
         i16x8.extend_high_i8x16_u,
         i32x4.extadd_pairwise_i16x8_s, i32x4.extadd_pairwise_i16x8_u, i32x4.abs, i32x4.neg,
         i32x4.extend_low_i16x8_s, i32x4.extend_high_i16x8_s, i32x4.extend_low_i16x8_u,
         i32x4.extend_high_i16x8_u,
         i64x2.abs, i64x2.neg, i64x2.extend_low_i32x4_s, i64x2.extend_high_i32x4_s,
         i64x2.extend_low_i32x4_u, i64x2.extend_high_i32x4_u,
         f32x4.ceil, f32x4.floor, f32x4.trunc, f32x4.nearest, f32x4.abs, f32x4.neg,
         f32x4.sqrt, f64x2.ceil, f64x2.floor, f64x2.trunc, f64x2.nearest, f64x2.abs,
         f64x2.neg, f64x2.sqrt,
         i32x4.trunc_sat_f32x4_s, i32x4.trunc_sat_f32x4_u, f32x4.convert_i32x4_s,
         f32x4.convert_i32x4_u, i32x4.trunc_sat_f64x2_s_zero, i32x4.trunc_sat_f64x2_u_zero,
         f64x2.convert_low_i32x4_s, f64x2.convert_low_i32x4_u, f32x4.demote_f64x2_zero,
         f64x2.promote_low_f32x4",
        "v128",
    );
    ops
}

#[test]
fn every_simd_operator_compiles_in_both_modes() {
    let ops = every_simd_operator();
    assert_eq!(ops.len(), 236, "the operators of 0xFD 0x00..0xFF");
    // Memory 1, with offsets at the edges of the static offset range and an alignment below
    // the natural one.
    for memarg in [
        "",
        "$m1 offset=8 align=1",
        "offset=0xfffffff0",
        "$m1 offset=0x80000000",
    ] {
        let mut functions = String::new();
        for (op, result) in &ops {
            let result = if result.is_empty() {
                String::new()
            } else {
                format!("(result {result})")
            };
            functions += &format!(
                "(func (param $v v128) (param $w v128) (param $m v128) (param $i i32)
                    (param $l i64) (param $f f32) (param $d f64) {result} {})\n",
                op.replace("MEMARG", memarg)
            );
        }
        let wat = format!("(module (memory $m0 1 2) (memory $m1 1 2) {functions})");
        for mode in BOTH_MODES {
            let (module, _) =
                compile_with(mode, &wat).unwrap_or_else(|e| panic!("{memarg} {mode:?}: {e:?}"));
            assert_eq!(module.functions().len(), ops.len());
        }
    }
}

#[test]
fn simd_in_unreachable_code_compiles() {
    for mode in BOTH_MODES {
        compile_with(
            mode,
            r#"(module (memory 1)
                (func (param v128) (result v128)
                    unreachable
                    i32.const 0 local.get 0 i8x16.popcnt
                    v128.load64_lane 1)
                (func (param i32) (result v128)
                    local.get 0
                    if (result v128)
                        i32.const 0 v128.load32_zero
                    else
                        f32.const 1 f32x4.splat
                    end))"#,
        )
        .unwrap_or_else(|e| panic!("{mode:?}: {e:?}"));
    }
}

// --- relaxed SIMD: the one result weft chooses for each operator ---

/// `op` applied to the v128s `x`, `y` and `z`.
fn ternary(op: &str, x: u128, y: u128, z: u128) -> u128 {
    let wat = format!(
        r#"(module (func (export "f") (param v128 v128 v128) (result v128)
            local.get 0 local.get 1 local.get 2 {op}))"#
    );
    call(BoundsChecks::GuardPages, &wat, (x, y, z)).expect("no trap")
}

#[test]
fn relaxed_operators_give_their_deterministic_counterparts_results() {
    // Indices of 16 and more select 0, whatever their low bits.
    let indices = i8x16([0, 16, 0x11, -128, -1, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let bytes = i8x16(std::array::from_fn(|lane| lane as i8 + 100));
    assert_eq!(
        binary("i8x16.relaxed_swizzle", bytes, indices),
        binary("i8x16.swizzle", bytes, indices)
    );
    assert_eq!(
        binary("i8x16.relaxed_swizzle", bytes, indices) & 0x00ff_ffff_ffff,
        u128::from_le_bytes([100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    // Truncation saturates and turns NaN into 0.
    let floats = f32x4([f32::NAN, 3e9, -3e9, -1.5]);
    assert_eq!(
        unary("i32x4.relaxed_trunc_f32x4_s", floats),
        i32x4([0, i32::MAX, i32::MIN, -1])
    );
    assert_eq!(
        unary("i32x4.relaxed_trunc_f32x4_u", floats),
        u32x4([0, 3_000_000_000, 0, 0])
    );
    let doubles = f64x2([f64::NAN, -1e10]);
    assert_eq!(
        unary("i32x4.relaxed_trunc_f64x2_s_zero", doubles),
        i32x4([0, i32::MIN, 0, 0])
    );
    assert_eq!(
        unary("i32x4.relaxed_trunc_f64x2_u_zero", doubles),
        i32x4([0, 0, 0, 0])
    );
    // Lane select takes each bit from the mask, even in lanes whose top bit is clear.
    let mask = i32x4([-1, 0x0000_ffff, 0x7fff_0000, 0]);
    let (ones, zeros) = (u128::MAX, 0);
    for shape in ["i8x16", "i16x8", "i32x4", "i64x2"] {
        assert_eq!(
            ternary(&format!("{shape}.relaxed_laneselect"), ones, zeros, mask),
            mask,
            "{shape}"
        );
    }
    // Min and max propagate NaN and order -0 below +0.
    let (x, y) = (
        f32x4([f32::NAN, -0.0, 1.0, 0.0]),
        f32x4([1.0, 0.0, 2.0, -0.0]),
    );
    let min = f32_lanes(binary("f32x4.relaxed_min", x, y));
    let max = f32_lanes(binary("f32x4.relaxed_max", x, y));
    assert!(min[0].is_nan() && max[0].is_nan());
    assert_eq!(
        min.map(f32::to_bits)[1..],
        [(-0.0f32).to_bits(), 1f32.to_bits(), (-0.0f32).to_bits()]
    );
    assert_eq!(
        max.map(f32::to_bits)[1..],
        [0f32.to_bits(), 2f32.to_bits(), 0f32.to_bits()]
    );
    let (x, y) = (f64x2([-0.0, f64::NAN]), f64x2([0.0, 1.0]));
    assert_eq!(
        f64_lanes(binary("f64x2.relaxed_min", x, y))[0].to_bits(),
        (-0.0f64).to_bits()
    );
    assert!(f64_lanes(binary("f64x2.relaxed_max", x, y))[1].is_nan());
    // Q15 multiplication saturates.
    let min_q15 = i16x8([i16::MIN; 8]);
    assert_eq!(
        binary("i16x8.relaxed_q15mulr_s", min_q15, min_q15),
        i16x8([i16::MAX; 8])
    );
}

#[test]
fn every_relaxed_operator_compiles_in_both_modes() {
    let unary = "i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u
        i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero";
    let binary = "i8x16.relaxed_swizzle f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min
        f64x2.relaxed_max i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s";
    let ternary = "f32x4.relaxed_madd f32x4.relaxed_nmadd f64x2.relaxed_madd
        f64x2.relaxed_nmadd i8x16.relaxed_laneselect i16x8.relaxed_laneselect
        i32x4.relaxed_laneselect i64x2.relaxed_laneselect i32x4.relaxed_dot_i8x16_i7x16_add_s";
    let mut functions = String::new();
    let mut count = 0;
    for (operands, names) in [(1, unary), (2, binary), (3, ternary)] {
        for name in names.split_whitespace() {
            let gets = "local.get 0 ".repeat(operands);
            functions += &format!("(func (param v128) (result v128) {gets} {name})\n");
            count += 1;
        }
    }
    assert_eq!(count, 20, "the relaxed SIMD proposal's operators");
    let wat = format!("(module {functions})");
    for mode in BOTH_MODES {
        let (module, _) = compile_with(mode, &wat).unwrap_or_else(|e| panic!("{mode:?}: {e:?}"));
        assert_eq!(module.functions().len(), count);
    }
}

#[test]
fn relaxed_multiply_add_rounds_the_product_first() {
    // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46: rounding the product drops the 2^-46 that a fused
    // multiply-add keeps, so subtracting 1 + 2^-22 leaves 0 here and 2^-46 fused.
    let a = 1.0 + f32::EPSILON;
    let c = -(1.0 + 2.0 * f32::EPSILON);
    let madd = f32_lanes(ternary(
        "f32x4.relaxed_madd",
        f32x4([a; 4]),
        f32x4([a; 4]),
        f32x4([c; 4]),
    ));
    assert_eq!(madd, [0.0; 4]);
    let nmadd = f32_lanes(ternary(
        "f32x4.relaxed_nmadd",
        f32x4([a; 4]),
        f32x4([-a; 4]),
        f32x4([c; 4]),
    ));
    assert_eq!(nmadd, [0.0; 4]);
    let a = 1.0 + f64::EPSILON;
    let c = -(1.0 + 2.0 * f64::EPSILON);
    let madd = f64_lanes(ternary(
        "f64x2.relaxed_madd",
        f64x2([a; 2]),
        f64x2([a; 2]),
        f64x2([c; 2]),
    ));
    assert_eq!(madd, [0.0; 2]);
    let nmadd = f64_lanes(ternary(
        "f64x2.relaxed_nmadd",
        f64x2([-a; 2]),
        f64x2([a; 2]),
        f64x2([c; 2]),
    ));
    assert_eq!(nmadd, [0.0; 2]);
    // Plain values are what they are.
    assert_eq!(
        f32_lanes(ternary(
            "f32x4.relaxed_madd",
            f32x4([2.0; 4]),
            f32x4([3.0; 4]),
            f32x4([1.0; 4])
        )),
        [7.0; 4]
    );
}

#[test]
fn relaxed_dot_products_read_both_operands_as_signed() {
    // -128 * -127 read as signed, where pmaddubsw would read the second byte as 129.
    let x = i8x16([
        -128, -128, 100, -100, 1, 2, 3, 4, -1, -2, -3, -4, 127, 127, 0, 5,
    ]);
    let y = i8x16([
        -127, -127, 100, 100, 5, 6, 7, 8, -128, 127, 1, -1, 127, 127, 9, 9,
    ]);
    let products: Vec<i32> = (0..16)
        .map(|lane| {
            i32::from((x >> (8 * lane)) as u8 as i8) * i32::from((y >> (8 * lane)) as u8 as i8)
        })
        .collect();
    let pairs: [i16; 8] = std::array::from_fn(|i| (products[2 * i] + products[2 * i + 1]) as i16);
    assert_eq!(
        binary("i16x8.relaxed_dot_i8x16_i7x16_s", x, y),
        i16x8(pairs)
    );
    let addend = i32x4([1, -2, i32::MAX, 4]);
    let quads: [i32; 4] = std::array::from_fn(|i| {
        products[4 * i..4 * i + 4]
            .iter()
            .sum::<i32>()
            .wrapping_add([1, -2, i32::MAX, 4][i])
    });
    assert_eq!(
        ternary("i32x4.relaxed_dot_i8x16_i7x16_add_s", x, y, addend),
        i32x4(quads)
    );
}
