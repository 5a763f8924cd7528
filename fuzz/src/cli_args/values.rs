//! Option values and program arguments: valid ones, edge cases and garbage, as raw bytes so
//! that some are not UTF-8. None holds a NUL, which no command line can carry.

use super::corpus::Param;
use rand::Rng;
use rand::seq::SliceRandom;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// One of `words`, as an argument.
pub fn one_of(rng: &mut impl Rng, words: &[&[u8]]) -> OsString {
    OsString::from_vec(words.choose(rng).expect("the list is not empty").to_vec())
}

/// Text that breaks parsers and messages: empty, blank, a newline, not UTF-8, long.
fn odd(rng: &mut impl Rng) -> OsString {
    match rng.gen_range(0..8) {
        0 => OsString::new(),
        1 => " ".into(),
        2 => "a\nb".into(),
        3 => OsString::from_vec(b"\xff\xfe".to_vec()),
        4 => "x".repeat(rng.gen_range(300..5000)).into(),
        5 => "ünïcödé ✓".into(),
        6 => "-".into(),
        _ => "'\"$(x)`;|&*?".into(),
    }
}

/// An argument for a parameter of type `param` given to `--invoke`: valid, or with `odd_too`
/// sometimes out of range or garbage.
pub fn invoke_arg(rng: &mut impl Rng, param: Param, odd_too: bool) -> OsString {
    if odd_too && rng.gen_bool(0.3) {
        return match rng.gen_range(0..4) {
            0 => odd(rng),
            1 => one_of(rng, OUT_OF_RANGE),
            _ => one_of(rng, NOT_NUMBERS),
        };
    }
    let text = match param {
        Param::I32 => match rng.gen_range(0..3) {
            0 => return one_of(rng, I32),
            1 => rng.r#gen::<i32>().to_string(),
            _ => format!("{:#x}", rng.r#gen::<u32>()),
        },
        Param::I64 => match rng.gen_range(0..3) {
            0 => return one_of(rng, I64),
            1 => rng.r#gen::<i64>().to_string(),
            _ => format!("{:#X}", rng.r#gen::<u64>()),
        },
        Param::F32 | Param::F64 => match rng.gen_range(0..3) {
            0 => return one_of(rng, FLOATS),
            1 => f64::from_bits(rng.r#gen()).to_string(),
            _ => format!("{:e}", rng.r#gen::<f32>() * 1e6),
        },
        Param::V128 => match rng.gen_range(0..2) {
            0 => return one_of(rng, V128),
            _ => format!("{:#x}", rng.r#gen::<u128>()),
        },
        Param::FuncRef | Param::ExternRef => return one_of(rng, REFS),
    };
    text.into()
}

const I32: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"+7",
    b"2147483647",
    b"-2147483648",
    b"4294967295",
    b"0x7fffffff",
    b"0XFFFFFFFF",
    b"-0x80000000",
    b"00000000000000000000000000000000001",
];

const I64: &[&[u8]] = &[
    b"0",
    b"-1",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551615",
    b"0xffffffffffffffff",
    b"-0x8000000000000000",
];

const FLOATS: &[&[u8]] = &[
    b"0",
    b"-0",
    b"1.5",
    b"inf",
    b"-inf",
    b"+inf",
    b"infinity",
    b"INF",
    b"nan",
    b"-nan",
    b"NaN",
    b"nan:0x200000",
    b"1e38",
    b"3.5e38",
    b"1e-45",
    b"1e309",
    b"-1e-400",
    b"1.",
    b".5",
    b"179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
];

const V128: &[&[u8]] = &[
    b"0",
    b"-1",
    b"0xffffffffffffffffffffffffffffffff",
    b"340282366920938463463374607431768211455",
    b"-170141183460469231731687303715884105728",
];

/// A reference's argument: `null`, or a number (an externref's, an i31's) where the type
/// takes one; which it does, the module's export list does not say.
const REFS: &[&[u8]] = &[b"null", b"null", b"0", b"42", b"4294967295", b"1073741823"];

/// Numbers past every type's range, and spellings weft does not take.
const OUT_OF_RANGE: &[&[u8]] = &[
    b"4294967296",
    b"-2147483649",
    b"0x100000000",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"99999999999999999999999999999999999999999999",
    b"0x100000000000000000000000000000000",
    b"340282366920938463463374607431768211456",
    b"-170141183460469231731687303715884105729",
    b"0x1p3",
    b"1_000.0",
    b"NULL",
    b"ref.null",
    b"-1",
];

/// Numbers' look-alikes and near misses.
const NOT_NUMBERS: &[&[u8]] = &[
    b"",
    b"-",
    b"+",
    b"0x",
    b"-0x",
    b"--1",
    b"+-1",
    b"1.5",
    b"1e3",
    b" 1",
    b"1 ",
    b"0x+5",
    b"0b101",
    b"nan",
    b"inf",
    b"null",
    b"one",
    b"\xd9\xa1",
    b"\xef\xbc\x91",
    b"1\n",
];

/// Arguments of a WASI program: words, options of weft's that belong before FILE, and with
/// `odd_too` oddities.
pub fn program_arg(rng: &mut impl Rng, odd_too: bool) -> OsString {
    match rng.gen_range(0..4) {
        0 if odd_too => odd(rng),
        _ => one_of(
            rng,
            &[
                b"one",
                b"two words",
                b"/sandbox",
                b".",
                b"--invoke",
                b"main",
                b"-W",
                b"timeout=1s",
                b"--dir",
                b"--",
                b"-h",
                b"--help",
                b"a=b",
            ],
        ),
    }
}

/// A `-W` value that is not a limit: a proposal turned on or off, in any of its spellings,
/// or with `odd_too` sometimes in none or not a proposal at all.
pub fn proposal(rng: &mut impl Rng, odd_too: bool) -> OsString {
    if odd_too && rng.gen_bool(0.3) {
        return one_of(
            rng,
            &[
                b"nope",
                b"",
                b"=",
                b",",
                b",,",
                b"threads,,simd",
                b" threads ",
                b"THREADS",
                b"threads=y=n",
                b"=y",
                b"wasm4",
                b"timeout",
                b"fuel",
                b"threads\xff",
                b"simd=\n",
            ],
        );
    }
    let name = *PROPOSALS.choose(rng).expect("the list is not empty");
    let values: &[&str] = if odd_too {
        &["", "=y", "=n", "=maybe", "=", "=Y", "=1"]
    } else {
        &["", "", "=y", "=n", "=n", "=yes", "=no", "=true", "=false"]
    };
    let value = *values.choose(rng).expect("the list is not empty");
    format!("{name}{value}").into()
}

const PROPOSALS: &[&str] = &[
    "threads",
    "shared-everything-threads",
    "simd",
    "relaxed-simd",
    "gc",
    "reference-types",
    "function-references",
    "exceptions",
    "legacy-exceptions",
    "tail-call",
    "multi-memory",
    "memory64",
    "bulk-memory",
    "multi-value",
    "sign-extension",
    "saturating-float-to-int",
    "extended-const",
    "wide-arithmetic",
    "custom-page-sizes",
    "stack-switching",
    "component-model",
    "mvp",
    "wasm1",
    "wasm2",
    "wasm3",
    "lime1",
    "default",
];

/// What a `-W timeout=` value means to weft, as far as the case's time bound is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// A duration short enough to bound the case.
    Short,
    /// Rejected, so nothing runs.
    Rejected,
    /// Valid and too long to bound the case, or not known to be either.
    Long,
}

/// A `timeout=` value and what it means.
pub fn timeout(rng: &mut impl Rng) -> (OsString, Timeout) {
    let (value, meaning) = *[
        (&b"2s"[..], Timeout::Short),
        (b"200ms", Timeout::Short),
        (b"0", Timeout::Short),
        (b"0s", Timeout::Short),
        (b"1ns", Timeout::Short),
        (b"3", Timeout::Short),
        (b"1s 500ms", Timeout::Short),
        (b"soon", Timeout::Rejected),
        (b"", Timeout::Rejected),
        (b"-1s", Timeout::Rejected),
        (b"s", Timeout::Rejected),
        (b"2x", Timeout::Rejected),
        (b"\xff", Timeout::Rejected),
        (b"1m", Timeout::Long),
        (b"1.5s", Timeout::Long),
        (b"1e3", Timeout::Long),
        (b"2 s", Timeout::Long),
        (b"18446744073709551615", Timeout::Long),
        (b"18446744073709551616", Timeout::Long),
        (b"99999999999999999999s", Timeout::Long),
        (b"584542046091y", Timeout::Long),
        (b"18446744073709551615s 999999999ns", Timeout::Long),
    ]
    .choose(rng)
    .expect("the list is not empty");
    let mut text = b"timeout=".to_vec();
    text.extend_from_slice(value);
    (OsString::from_vec(text), meaning)
}

/// A `fuel=` value.
pub fn fuel(rng: &mut impl Rng) -> OsString {
    let value: &[u8] = [
        &b"0"[..],
        b"1",
        b"100",
        b"1000000",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-1",
        b"1e3",
        b"0x10",
        b"",
        b" 5",
    ]
    .choose(rng)
    .expect("the list is not empty");
    let mut text = b"fuel=".to_vec();
    text.extend_from_slice(value);
    OsString::from_vec(text)
}

/// A `--env` value: a variable set or passed on, and with `odd_too` names and values that
/// are empty, missing from the host, not UTF-8 or odd otherwise.
pub fn env(rng: &mut impl Rng, odd_too: bool) -> OsString {
    match rng.gen_range(0..6) {
        0 if odd_too => odd(rng),
        1 => {
            let mut text = b"LONG=".to_vec();
            text.resize(rng.gen_range(1000..20_000), b'v');
            OsString::from_vec(text)
        }
        2 | 3 if odd_too => one_of(
            rng,
            &[
                b"=",
                b"=x",
                b"==",
                b"WEFT_FUZZ_UNSET",
                b"A",
                b"A=\nB=2",
                b"A=\xff",
                b"\xff=1",
                b"NAME WITH SPACE=1",
            ],
        ),
        _ => one_of(
            rng,
            &[
                b"A=1",
                b"A=",
                b"A==b",
                b"A=b=c",
                b"WEFT_FUZZ_HOST",
                b"PATH",
                b"WEFT_GREETING=hi",
                b"A=\xc3\xa9",
            ],
        ),
    }
}

/// The guest's name for a preopened directory, after `::`; with `odd_too` also empty,
/// climbing, not UTF-8 or odd otherwise.
pub fn guest_name(rng: &mut impl Rng, odd_too: bool) -> OsString {
    match rng.gen_range(0..4) {
        0 if odd_too => odd(rng),
        1 if odd_too => one_of(
            rng,
            &[b"", b"..", b"/a/../b", b"x::y", b"::", b"./.", b"//"],
        ),
        _ => one_of(
            rng,
            &[
                b"/sandbox",
                b".",
                b"/",
                b"a/b",
                b"with space",
                b"/sandbox/",
                b"s",
            ],
        ),
    }
}

/// A name that `--invoke` will not find, or finds as something other than a function.
pub fn unknown_export(rng: &mut impl Rng) -> OsString {
    match rng.gen_range(0..4) {
        0 => odd(rng),
        _ => one_of(
            rng,
            &[
                b"nope",
                b"_start",
                b"main",
                b"_initialize",
                b"wasi_thread_start",
                b"memory",
                b"add ",
                b"ADD",
                b"\xff",
            ],
        ),
    }
}

/// An unsigned number option's value: one of `valid`, or with `odd_too` sometimes past the
/// type's limits or not a number.
pub fn number(rng: &mut impl Rng, valid: &[&[u8]], odd_too: bool) -> OsString {
    if !odd_too || rng.gen_bool(0.6) {
        return one_of(rng, valid);
    }
    one_of(
        rng,
        &[
            b"-1",
            b"",
            b"abc",
            b"1.5",
            b"1e3",
            b"0x10",
            b"+3",
            b" 3",
            b"4294967296",
            b"18446744073709551616",
            b"99999999999999999999999999",
            b"\xff",
        ],
    )
}
