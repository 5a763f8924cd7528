//! Turning command-line arguments into wasm values by the callee's parameter types.

use anyhow::{Context, Result, bail};
use weft::{AbstractHeapType, AnyRef, AsContextMut, ExternRef, I31, Val, ValType};

/// Parses `args` as the parameters of the function `name`.
pub(crate) fn parse_args(
    mut store: impl AsContextMut,
    name: &str,
    params: &[ValType],
    args: &[String],
) -> Result<Vec<Val>> {
    if params.len() != args.len() {
        let expected = match params {
            [] => "no arguments".to_string(),
            [ty] => format!("1 argument ({ty})"),
            _ => {
                let types: Vec<_> = params.iter().map(ValType::to_string).collect();
                format!("{} arguments ({})", params.len(), types.join(", "))
            }
        };
        bail!("`{name}` takes {expected}, got {}", args.len());
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(index, (ty, arg))| {
            parse_arg(&mut store, ty, arg)
                .with_context(|| format!("argument {} of `{name}` is not a valid {ty}", index + 1))
        })
        .collect()
}

fn parse_arg(store: impl AsContextMut, ty: &ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        // Both signed and unsigned spellings are accepted; the value keeps its low bits.
        ValType::I32 => Val::I32(parse_int(text, 32)? as u32 as i32),
        ValType::I64 => Val::I64(parse_int(text, 64)? as u64 as i64),
        ValType::F32 => Val::F32(parse_float::<f32>(text)?.to_bits()),
        ValType::F64 => Val::F64(parse_float::<f64>(text)?.to_bits()),
        ValType::Ref(ty) if text == "null" => Val::null(ty),
        ValType::Ref(ty) if ty.is_func() => {
            bail!("only `null` can be passed as a function reference")
        }
        // Without GC the only non-null any-references are i31s, named by their value.
        ValType::Ref(ty) if ty.heap_type().top() == AbstractHeapType::Any => {
            Val::from(AnyRef::I31(I31::wrapping_u32(parse_int(text, 32)? as u32)))
        }
        ValType::Ref(_) => {
            let n: u32 = text
                .parse()
                .with_context(|| format!("expected `null` or a number, found `{text}`"))?;
            Val::ExternRef(Some(ExternRef::new(store, n)))
        }
        // One 128-bit integer, lane 0 in the least significant bits.
        ValType::V128 => Val::V128(parse_int(text, 128)?),
    })
}

/// Parses a decimal or `0x` hex integer, optionally signed, that fits in `bits` bits as either
/// a signed or an unsigned number. Returns its two's-complement bits.
fn parse_int(text: &str, bits: u32) -> Result<u128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (digits, radix) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    // `from_str_radix` would accept another sign here.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        bail!("`{text}` is not an integer");
    }
    // Only overflow can fail here, the digits having been checked.
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let all_ones = u128::MAX >> (128 - bits);
    let limit = if negative { 1 << (bits - 1) } else { all_ones };
    let Some(magnitude) = magnitude.filter(|m| *m <= limit) else {
        bail!("`{text}` does not fit in {bits} bits");
    };
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Ok(value & all_ones)
}

/// Parses a decimal float, `inf`/`infinity` or `nan`, optionally signed, in any case.
fn parse_float<F: std::str::FromStr>(text: &str) -> Result<F> {
    text.parse()
        .ok()
        .with_context(|| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_accept_signed_unsigned_and_hex() {
        assert_eq!(parse_int("42", 32).unwrap(), 42);
        assert_eq!(parse_int("+42", 32).unwrap(), 42);
        assert_eq!(parse_int("-1", 32).unwrap(), 0xffff_ffff);
        assert_eq!(parse_int("4294967295", 32).unwrap(), 0xffff_ffff);
        assert_eq!(parse_int("0xFFffFFff", 32).unwrap(), 0xffff_ffff);
        assert_eq!(parse_int("-2147483648", 32).unwrap(), 0x8000_0000);
        assert_eq!(parse_int("-0x10", 64).unwrap(), u128::from((-16i64) as u64));
        assert_eq!(
            parse_int("18446744073709551615", 64).unwrap(),
            u128::from(u64::MAX)
        );
        assert_eq!(parse_int("-1", 128).unwrap(), u128::MAX);
        assert_eq!(parse_int("0x0102", 128).unwrap(), 0x0102);
        assert_eq!(parse_int("-9223372036854775808", 64).unwrap(), 1 << 63);
    }

    #[test]
    fn integers_reject_garbage_and_overflow() {
        for (text, bits) in [
            ("", 32),
            ("-", 32),
            ("0x", 32),
            ("12a", 32),
            ("0x+5", 32),
            ("--1", 32),
            ("1.5", 32),
            ("4294967296", 32),
            ("-2147483649", 32),
            ("18446744073709551616", 64),
            ("-9223372036854775809", 64),
            ("99999999999999999999999999999999999999999", 64),
            ("0x100000000000000000000000000000000", 128),
        ] {
            assert!(parse_int(text, bits).is_err(), "{text:?} as {bits} bits");
        }
    }

    #[test]
    fn floats_accept_decimal_inf_and_nan() {
        assert_eq!(parse_float::<f32>("1.5").unwrap(), 1.5);
        assert_eq!(parse_float::<f64>("-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_float::<f64>("1e300").unwrap(), 1e300);
        assert!(parse_float::<f32>("nan").unwrap().is_nan());
        assert!(parse_float::<f32>("NaN").unwrap().is_nan());
        assert!(parse_float::<f64>("one").is_err());
    }
}
