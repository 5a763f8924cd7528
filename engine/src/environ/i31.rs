//! How an `i31ref` is represented in a reference word.
//!
//! Every reference is one pointer-sized word with 0 as null. An i31 is tagged rather than
//! boxed: the word is `(value << 1) | 1` in its low 32 bits, zero above. Its low bit is set,
//! while funcrefs are pointers to word-aligned `VMFuncRef`s and extern handles are even
//! (see `StoreOpaque::push_externref`), so no i31 word can equal another reference's word.
//! That makes `ref.eq` a plain comparison of words, and leaves room for boxed GC objects.

/// The word of `ref.i31 value`: the top bit of `value` is dropped, as the spec says.
pub const fn encode(value: u32) -> u64 {
    (value << 1 | 1) as u64
}

/// The 31 payload bits of a non-null i31 word, zero-extended (`i31.get_u`).
pub const fn decode_u(word: u64) -> u32 {
    (word as u32) >> 1
}

/// The payload of a non-null i31 word, sign-extended from bit 30 (`i31.get_s`). The JIT
/// code does this itself; the tests check it against [`decode_u`].
#[cfg(test)]
pub const fn decode_s(word: u64) -> i32 {
    (word as u32 as i32) >> 1
}

/// Whether a non-null reference word is an i31 rather than a pointer or handle.
pub const fn is_i31(word: u64) -> bool {
    word & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_the_31_bit_boundary() {
        for (value, unsigned, signed) in [
            (0, 0, 0),
            (0x3fff_ffff, 0x3fff_ffff, 0x3fff_ffff),
            (0x4000_0000, 0x4000_0000, -0x4000_0000),
            (0x7fff_ffff, 0x7fff_ffff, -1),
            (0x8000_0000, 0, 0),
            (u32::MAX, 0x7fff_ffff, -1),
        ] {
            let word = encode(value);
            assert!(is_i31(word) && word != 0 && word >> 32 == 0);
            assert_eq!((decode_u(word), decode_s(word)), (unsigned, signed));
        }
    }
}
