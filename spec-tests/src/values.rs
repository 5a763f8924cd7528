//! Moving values between the script's notation and weft's [`Val`], and checking results.

use anyhow::{Result, bail};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};
use weft::{AnyRef, AsContext, AsContextMut, ExternRef, FuncType, Val};

/// Placeholder values for `ty`'s results, to hand to [`weft::Func::call`].
pub fn default_results(ty: &FuncType) -> Vec<Val> {
    ty.results().iter().map(Val::default_for).collect()
}

/// `val` the way a user reads it: `42`, `1.5`, `nan`, `null`, `ref.func`, `ref.extern 7`,
/// `ref.i31 5`, `ref.struct`, `ref.host 3`.
///
/// NaNs other than the positive canonical one show their payload (`-nan:0x200000`), since that
/// is exactly what spec results disagree about.
pub fn display_val(store: &impl AsContext, val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => display_float::<F32>(u64::from(*bits)),
        Val::F64(bits) => display_float::<F64>(*bits),
        Val::V128(bits) => display_v128(*bits),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => {
            "null".to_string()
        }
        Val::ExnRef(Some(_)) => "ref.exn".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(Some(extern_ref)) => match extern_number(store, extern_ref) {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern".to_string(),
        },
        Val::AnyRef(Some(AnyRef::I31(value))) => format!("ref.i31 {}", value.get_u()),
        Val::AnyRef(Some(AnyRef::Struct(_))) => "ref.struct".to_string(),
        Val::AnyRef(Some(AnyRef::Array(_))) => "ref.array".to_string(),
        Val::AnyRef(Some(AnyRef::Extern(extern_ref))) => match extern_number(store, extern_ref) {
            Some(n) => format!("ref.host {n}"),
            None => "ref.host".to_string(),
        },
    }
}

/// `val` with its type, for mismatch messages where `0` alone would be ambiguous.
fn describe(store: &impl AsContext, val: &Val) -> String {
    let ty = match val {
        Val::I32(_) => "i32",
        Val::I64(_) => "i64",
        Val::F32(_) => "f32",
        Val::F64(_) => "f64",
        Val::V128(_) => "v128",
        Val::FuncRef(_) => "funcref",
        Val::ExternRef(_) => "externref",
        Val::AnyRef(_) => "anyref",
        Val::ExnRef(_) => "exnref",
    };
    format!("{ty} {}", display_val(store, val))
}

/// The number a script's `ref.extern N` (or the CLI) stored in an externref.
fn extern_number(store: &impl AsContext, extern_ref: &ExternRef) -> Option<u32> {
    let data = extern_ref.data(store).ok()??;
    data.downcast_ref().copied()
}

/// Converts an `invoke` argument.
pub(crate) fn arg(store: impl AsContextMut, arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        bail!("component-model arguments are not core wasm values");
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(value) => Val::V128(u128::from_le_bytes(value.to_le_bytes())),
        WastArgCore::RefNull(heap_type) => null_ref(heap_type)?,
        // The number is the reference's identity; results are matched on it.
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(store, *n))),
        WastArgCore::RefHost(n) => Val::AnyRef(Some(AnyRef::Extern(ExternRef::new(store, *n)))),
    })
}

/// The null reference of `heap_type`'s hierarchy. Shared and unshared nulls are the same
/// value.
fn null_ref(heap_type: &HeapType<'_>) -> Result<Val> {
    Ok(match heap_type {
        HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        } => Val::FuncRef(None),
        HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        } => Val::ExternRef(None),
        HeapType::Abstract {
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
            ..
        } => Val::AnyRef(None),
        HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        } => Val::ExnRef(None),
        // A concrete type's hierarchy depends on the module; scripts pass such nulls only
        // to functions, where the function hierarchy is the usual case.
        HeapType::Concrete(_) | HeapType::Exact(_) => Val::FuncRef(None),
        HeapType::Abstract { ty, .. } => bail!("weft has no {ty:?} references"),
    })
}

/// Checks `actual` against an `assert_return`'s expected results.
pub(crate) fn check_results(
    store: &impl AsContext,
    expected: &[WastRet<'_>],
    actual: &[Val],
) -> Result<()> {
    if expected.len() != actual.len() {
        bail!("expected {} results, got {}", expected.len(), actual.len());
    }
    for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        let WastRet::Core(expected) = expected else {
            bail!("component-model results are not core wasm values");
        };
        if !result_matches(store, expected, actual)? {
            bail!(
                "result {index}: expected {}, got {}",
                describe_expected(expected),
                describe(store, actual)
            );
        }
    }
    Ok(())
}

/// Whether `actual` fits the pattern; an error when the pattern is something weft cannot hold.
fn result_matches(
    store: &impl AsContext,
    expected: &WastRetCore<'_>,
    actual: &Val,
) -> Result<bool> {
    Ok(match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(pattern), Val::F32(bits)) => float_matches(pattern, u64::from(*bits)),
        (WastRetCore::F64(pattern), Val::F64(bits)) => float_matches(pattern, *bits),
        (WastRetCore::V128(pattern), Val::V128(bits)) => v128_matches(pattern, *bits),
        // A concrete type's null is whichever null the function returned: the module's
        // types already fixed its hierarchy.
        (WastRetCore::RefNull(None | Some(HeapType::Concrete(_))), actual) => matches!(
            actual,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None)
        ),
        (WastRetCore::RefNull(Some(heap_type)), actual) => matches!(
            (null_ref(heap_type)?, actual),
            (Val::FuncRef(None), Val::FuncRef(None))
                | (Val::ExternRef(None), Val::ExternRef(None))
                | (Val::AnyRef(None), Val::AnyRef(None))
                | (Val::ExnRef(None), Val::ExnRef(None))
        ),
        // Values carry no sharedness; the type checks of the module stand in for it.
        (WastRetCore::RefI31 | WastRetCore::RefI31Shared, actual) => {
            matches!(actual, Val::AnyRef(Some(AnyRef::I31(_))))
        }
        (WastRetCore::RefStruct, actual) => matches!(actual, Val::AnyRef(Some(AnyRef::Struct(_)))),
        (WastRetCore::RefArray, actual) => matches!(actual, Val::AnyRef(Some(AnyRef::Array(_)))),
        (WastRetCore::RefEq, actual) => matches!(
            actual,
            Val::AnyRef(Some(AnyRef::I31(_) | AnyRef::Struct(_) | AnyRef::Array(_)))
        ),
        (WastRetCore::RefAny, actual) => matches!(actual, Val::AnyRef(Some(_))),
        (WastRetCore::RefHost(n), Val::AnyRef(Some(AnyRef::Extern(extern_ref)))) => {
            extern_number(store, extern_ref) == Some(*n)
        }
        (WastRetCore::RefExtern(None), actual) => matches!(actual, Val::ExternRef(Some(_))),
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(extern_ref))) => {
            extern_number(store, extern_ref) == Some(*n)
        }
        // The spec interpreter does not check which function either, only that it is non-null.
        (WastRetCore::RefFunc(_), actual) => matches!(actual, Val::FuncRef(Some(_))),
        (WastRetCore::Either(alternatives), actual) => {
            for alternative in alternatives {
                if result_matches(store, alternative, actual)? {
                    return Ok(true);
                }
            }
            false
        }
        _ => false,
    })
}

fn describe_expected(expected: &WastRetCore<'_>) -> String {
    match expected {
        WastRetCore::I32(v) => format!("i32 {v}"),
        WastRetCore::I64(v) => format!("i64 {v}"),
        WastRetCore::F32(pattern) => format!("f32 {}", display_pattern(pattern)),
        WastRetCore::F64(pattern) => format!("f64 {}", display_pattern(pattern)),
        WastRetCore::V128(pattern) => format!("v128 {}", display_v128_pattern(pattern)),
        WastRetCore::RefNull(_) => "ref.null".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::Either(alternatives) => {
            let alternatives: Vec<_> = alternatives.iter().map(describe_expected).collect();
            format!("either({})", alternatives.join(" | "))
        }
    }
}

/// The `index`th lane of `width` bits of a v128, zero-extended.
fn lane(bits: u128, width: u32, index: usize) -> u64 {
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    };
    (bits >> (width as usize * index)) as u64 & mask
}

/// Lane by lane: integers exactly, floats by their NaN patterns.
fn v128_matches(pattern: &V128Pattern, bits: u128) -> bool {
    fn ints<const N: usize>(lanes: [i64; N], bits: u128) -> bool {
        let width = 128 / N as u32;
        (0..N).all(|i| lane(bits, width, i) == lane(u128::from(lanes[i] as u64), width, 0))
    }
    match pattern {
        V128Pattern::I8x16(lanes) => ints(lanes.map(i64::from), bits),
        V128Pattern::I16x8(lanes) => ints(lanes.map(i64::from), bits),
        V128Pattern::I32x4(lanes) => ints(lanes.map(i64::from), bits),
        V128Pattern::I64x2(lanes) => ints(*lanes, bits),
        V128Pattern::F32x4(lanes) => (0..4).all(|i| float_matches(&lanes[i], lane(bits, 32, i))),
        V128Pattern::F64x2(lanes) => (0..2).all(|i| float_matches(&lanes[i], lane(bits, 64, i))),
    }
}

/// A v128 as its four 32-bit lanes in hex, lane 0 first.
fn display_v128(bits: u128) -> String {
    let lanes: Vec<String> = (0..4)
        .map(|i| format!("0x{:08x}", lane(bits, 32, i)))
        .collect();
    format!("i32x4 {}", lanes.join(" "))
}

fn display_v128_pattern(pattern: &V128Pattern) -> String {
    fn join<T: ToString>(shape: &str, lanes: impl IntoIterator<Item = T>) -> String {
        let lanes: Vec<String> = lanes.into_iter().map(|lane| lane.to_string()).collect();
        format!("{shape} {}", lanes.join(" "))
    }
    match pattern {
        V128Pattern::I8x16(lanes) => join("i8x16", lanes),
        V128Pattern::I16x8(lanes) => join("i16x8", lanes),
        V128Pattern::I32x4(lanes) => join("i32x4", lanes),
        V128Pattern::I64x2(lanes) => join("i64x2", lanes),
        V128Pattern::F32x4(lanes) => join("f32x4", lanes.iter().map(display_pattern)),
        V128Pattern::F64x2(lanes) => join("f64x2", lanes.iter().map(display_pattern)),
    }
}

/// A float token of the script: its raw bits and the layout facts NaN classes depend on.
trait FloatToken {
    /// The sign bit.
    const SIGN: u64;
    /// Positive infinity: exponent all ones, mantissa zero.
    const INFINITY: u64;
    /// The top mantissa bit, which makes a NaN quiet.
    const QUIET_BIT: u64;
    /// The positive canonical NaN: exponent all ones, only the top mantissa bit set.
    const CANONICAL_NAN: u64 = Self::INFINITY | Self::QUIET_BIT;
    fn bits(&self) -> u64;
    /// A non-NaN value as Rust's `{:?}` shows it: shortest round-trip form, exponent notation
    /// for extreme magnitudes, `inf`.
    fn debug_number(bits: u64) -> String;
}

impl FloatToken for F32 {
    const SIGN: u64 = 1 << 31;
    const INFINITY: u64 = 0x7f80_0000;
    const QUIET_BIT: u64 = 1 << 22;
    fn bits(&self) -> u64 {
        u64::from(self.bits)
    }
    fn debug_number(bits: u64) -> String {
        // f32 bits always travel zero-extended, so the truncation drops nothing.
        format!("{:?}", f32::from_bits(bits as u32))
    }
}

impl FloatToken for F64 {
    const SIGN: u64 = 1 << 63;
    const INFINITY: u64 = 0x7ff0_0000_0000_0000;
    const QUIET_BIT: u64 = 1 << 51;
    fn bits(&self) -> u64 {
        self.bits
    }
    fn debug_number(bits: u64) -> String {
        format!("{:?}", f64::from_bits(bits))
    }
}

/// Matches raw float bits against a result pattern. NaN classes ignore the sign; plain values
/// must be bit-identical, so `-0` differs from `0` and NaN payloads count.
fn float_matches<T: FloatToken>(pattern: &NanPattern<T>, bits: u64) -> bool {
    let magnitude = bits & !T::SIGN;
    match pattern {
        NanPattern::CanonicalNan => magnitude == T::CANONICAL_NAN,
        // An arithmetic NaN has the quiet (top mantissa) bit set; the rest of the payload is free.
        NanPattern::ArithmeticNan => magnitude & T::CANONICAL_NAN == T::CANONICAL_NAN,
        NanPattern::Value(expected) => bits == expected.bits(),
    }
}

fn display_pattern<T: FloatToken>(pattern: &NanPattern<T>) -> String {
    match pattern {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(value) => display_float::<T>(value.bits()),
    }
}

/// NaNs as `nan` or `nan:0x<payload>`, signed; everything else as [`FloatToken::debug_number`].
fn display_float<T: FloatToken>(bits: u64) -> String {
    let sign = if bits & T::SIGN != 0 { "-" } else { "" };
    let magnitude = bits & !T::SIGN;
    // Magnitudes above infinity's have an all-ones exponent and a non-zero mantissa: NaNs.
    if magnitude > T::INFINITY {
        let payload = magnitude & !T::INFINITY;
        if payload == T::QUIET_BIT {
            format!("{sign}nan")
        } else {
            format!("{sign}nan:{payload:#x}")
        }
    } else {
        T::debug_number(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32(bits: u32) -> NanPattern<F32> {
        NanPattern::Value(F32 { bits })
    }

    #[test]
    fn canonical_nan_is_exactly_the_quiet_bit_either_sign() {
        let canonical = NanPattern::<F32>::CanonicalNan;
        assert!(float_matches(&canonical, 0x7fc0_0000));
        assert!(float_matches(&canonical, 0xffc0_0000));
        assert!(!float_matches(&canonical, 0x7fc0_0001));
        assert!(!float_matches(&canonical, 0x7fa0_0000));
        assert!(!float_matches(&canonical, 0x7f80_0000));

        let canonical = NanPattern::<F64>::CanonicalNan;
        assert!(float_matches(&canonical, 0x7ff8_0000_0000_0000));
        assert!(float_matches(&canonical, 0xfff8_0000_0000_0000));
        assert!(!float_matches(&canonical, 0x7ff8_0000_0000_0001));
        assert!(!float_matches(&canonical, 0x7ff4_0000_0000_0000));
    }

    #[test]
    fn arithmetic_nan_needs_only_the_quiet_bit() {
        let arithmetic = NanPattern::<F32>::ArithmeticNan;
        assert!(float_matches(&arithmetic, 0x7fc0_0000));
        assert!(float_matches(&arithmetic, 0xffc0_0001));
        assert!(float_matches(&arithmetic, 0x7fff_ffff));
        // Signalling NaN and infinity: quiet bit clear.
        assert!(!float_matches(&arithmetic, 0x7fa0_0000));
        assert!(!float_matches(&arithmetic, 0x7f80_0000));
        // A large finite number with the top mantissa bit but not the full exponent.
        assert!(!float_matches(&arithmetic, 0x7f40_0000));

        let arithmetic = NanPattern::<F64>::ArithmeticNan;
        assert!(float_matches(&arithmetic, 0xfff8_dead_beef_0000));
        assert!(!float_matches(&arithmetic, 0x7ff0_0000_0000_0001));
    }

    #[test]
    fn plain_values_compare_bits() {
        assert!(float_matches(&f32(0x3fc0_0000), 0x3fc0_0000));
        // -0 is not 0, and NaN payloads are significant.
        assert!(!float_matches(&f32(0x0000_0000), 0x8000_0000));
        assert!(float_matches(&f32(0x7fa0_0000), 0x7fa0_0000));
        assert!(!float_matches(&f32(0x7fa0_0000), 0x7fc0_0000));
    }

    #[test]
    fn floats_display_readably() {
        assert_eq!(display_float::<F32>(1.5f32.to_bits().into()), "1.5");
        assert_eq!(display_float::<F32>((-0.0f32).to_bits().into()), "-0.0");
        assert_eq!(display_float::<F32>(f32::INFINITY.to_bits().into()), "inf");
        assert_eq!(display_float::<F32>(0x7fc0_0000), "nan");
        assert_eq!(display_float::<F32>(0xffa0_0000), "-nan:0x200000");
        assert_eq!(display_float::<F64>(1e300f64.to_bits()), "1e300");
        assert_eq!(display_float::<F64>(0x7ff8_0000_0000_0000), "nan");
        assert_eq!(display_float::<F64>(0x7ff0_0000_0000_0001), "nan:0x1");
        assert_eq!(display_float::<F64>(f64::NEG_INFINITY.to_bits()), "-inf");
    }

    #[test]
    fn patterns_display_like_the_script() {
        assert_eq!(
            display_pattern(&NanPattern::<F64>::CanonicalNan),
            "nan:canonical"
        );
        assert_eq!(
            display_pattern(&NanPattern::<F32>::ArithmeticNan),
            "nan:arithmetic"
        );
        assert_eq!(display_pattern(&f32(2.0f32.to_bits())), "2.0");
    }
}
