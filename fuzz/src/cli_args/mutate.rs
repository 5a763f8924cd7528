//! Breaking valid inputs: byte-level and section-level mutations of binary modules, and
//! token-level ones of text modules and scripts. Each returns the name of its kind, for the
//! report. A mutation may leave the input valid; the checks allow that.

use rand::Rng;
use rand::seq::SliceRandom;

/// Mutates `bytes`, a binary module (or anything else), in place; the kind applied.
pub fn binary(rng: &mut impl Rng, bytes: &mut Vec<u8>, donors: &[&[u8]]) -> &'static str {
    // Section-level mutations need sections; anything shorter than a header gets bytes.
    let sections = sections(bytes);
    let kind = match rng.gen_range(0..14) {
        0..=4 if !sections.is_empty() => rng.gen_range(0..8),
        _ => rng.gen_range(8..14),
    };
    match kind {
        0 => duplicate_section(rng, bytes, &sections),
        1 => swap_sections(rng, bytes, &sections),
        2 => section_size(rng, bytes, &sections),
        3 => item_count(rng, bytes, &sections),
        4 => overlong_leb(rng, bytes, &sections),
        5 => section_id(rng, bytes, &sections),
        6 => code_byte(rng, bytes, &sections),
        7 => drop_section(rng, bytes, &sections),
        8 => flip_bits(rng, bytes),
        9 => set_bytes(rng, bytes),
        10 => truncate(rng, bytes, &sections),
        11 => insert_bytes(rng, bytes),
        12 => header(rng, bytes),
        _ => splice(rng, bytes, donors),
    }
}

/// A section of a binary module: its id's offset, its payload's range.
#[derive(Clone, Copy, Debug)]
struct Section {
    start: usize,
    id: u8,
    payload: (usize, usize),
}

/// The sections of `bytes` as far as they parse (none if the header is wrong).
fn sections(bytes: &[u8]) -> Vec<Section> {
    let mut sections = Vec::new();
    if !bytes.starts_with(b"\0asm") || bytes.len() < 8 {
        return sections;
    }
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let Some((size, leb_len)) = read_leb(&bytes[at + 1..]) else {
            break;
        };
        let payload = at + 1 + leb_len;
        let Some(end) = usize::try_from(size)
            .ok()
            .and_then(|size| payload.checked_add(size))
            .filter(|&end| end <= bytes.len())
        else {
            break;
        };
        sections.push(Section {
            start: at,
            id,
            payload: (payload, end),
        });
        at = end;
    }
    sections
}

/// An unsigned LEB128 (up to 10 bytes) and its length.
pub(super) fn read_leb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

/// `value` as an unsigned LEB128 of at least `min_len` bytes.
pub(super) fn leb(mut value: u64, min_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 && out.len() + 1 >= min_len {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Counts and sizes that readers must not trust: just past what is there, the limits of
/// 32-bit fields, and what would allocate gigabytes if believed.
fn huge(rng: &mut impl Rng, actual: u64) -> u64 {
    *[
        actual + 1,
        actual.saturating_sub(1),
        0,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        1 << 28,
        100_000_000,
        u64::MAX >> 1,
        rng.r#gen::<u32>().into(),
    ]
    .choose(rng)
    .expect("the list is not empty")
}

/// `bytes` with `section` replaced by `id`, `payload`.
fn replace_section(bytes: &mut Vec<u8>, section: &Section, id: u8, payload: &[u8]) {
    let mut new = vec![id];
    new.extend(leb(payload.len() as u64, 1));
    new.extend_from_slice(payload);
    bytes.splice(section.start..section.payload.1, new);
}

fn pick<'a>(rng: &mut impl Rng, sections: &'a [Section]) -> &'a Section {
    sections
        .choose(rng)
        .expect("the caller checked for sections")
}

fn duplicate_section(
    rng: &mut impl Rng,
    bytes: &mut Vec<u8>,
    sections: &[Section],
) -> &'static str {
    let section = pick(rng, sections);
    let copy = bytes[section.start..section.payload.1].to_vec();
    let at = pick(rng, sections).payload.1;
    bytes.splice(at..at, copy);
    "duplicate section"
}

fn swap_sections(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    let (a, b) = (pick(rng, sections), pick(rng, sections));
    // Sections are in order and apart, so the earlier one ends before the later starts.
    let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
    if first.start != second.start {
        let mut out = bytes[..first.start].to_vec();
        out.extend_from_slice(&bytes[second.start..second.payload.1]);
        out.extend_from_slice(&bytes[first.payload.1..second.start]);
        out.extend_from_slice(&bytes[first.start..first.payload.1]);
        out.extend_from_slice(&bytes[second.payload.1..]);
        *bytes = out;
    }
    "swap sections"
}

fn drop_section(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    let section = pick(rng, sections);
    bytes.drain(section.start..section.payload.1);
    "drop section"
}

/// A section's size field rewritten, the payload left as it was.
fn section_size(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    let section = pick(rng, sections);
    let size = (section.payload.1 - section.payload.0) as u64;
    let new = leb(huge(rng, size), 1);
    bytes.splice(section.start + 1..section.payload.0, new);
    "section size"
}

/// The first LEB128 of a section's payload (the item count of most sections) rewritten, the
/// section's size kept consistent.
fn item_count(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    let section = *pick(rng, sections);
    let payload = &bytes[section.payload.0..section.payload.1];
    let Some((count, len)) = read_leb(payload) else {
        return flip_bits(rng, bytes);
    };
    let mut new = leb(huge(rng, count), 1);
    new.extend_from_slice(&payload[len..]);
    replace_section(bytes, &section, section.id, &new);
    "item count"
}

/// A section's size written over-long: the longest valid form, or longer than a u32 may be.
fn overlong_leb(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    let section = pick(rng, sections);
    let size = (section.payload.1 - section.payload.0) as u64;
    let new = match rng.gen_range(0..3) {
        0 => leb(size, 5),
        1 => leb(size, 6 + rng.gen_range(0..5)),
        // Five bytes whose last carries bits past 32.
        _ => vec![0xff, 0xff, 0xff, 0xff, 0x7f],
    };
    bytes.splice(section.start + 1..section.payload.0, new);
    "overlong LEB128"
}

/// A section given another id: unknown, custom, or a known one out of order.
fn section_id(rng: &mut impl Rng, bytes: &mut [u8], sections: &[Section]) -> &'static str {
    let section = pick(rng, sections);
    bytes[section.start] = *[0u8, 1, 2, 3, 5, 7, 8, 10, 11, 12, 13, 14, 0x7f, 0xff]
        .choose(rng)
        .expect("the list is not empty");
    "section id"
}

/// A byte of the code section (or any section) set to an opcode, a prefix or a LEB128 byte,
/// so that function bodies decode into odd instructions.
fn code_byte(rng: &mut impl Rng, bytes: &mut [u8], sections: &[Section]) -> &'static str {
    let code: Vec<_> = sections.iter().filter(|s| s.id == 10).collect();
    let section = code
        .choose(rng)
        .copied()
        .unwrap_or_else(|| pick(rng, sections));
    let (start, end) = section.payload;
    if start == end {
        return "code byte";
    }
    let at = rng.gen_range(start..end);
    bytes[at] = *[
        0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x11, 0x12, 0x13, 0x1c, 0x1f,
        0x08, 0x0a, 0x40, 0x41, 0x42, 0xd0, 0xd2, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x80, 0x7f,
    ]
    .choose(rng)
    .expect("the list is not empty");
    "code byte"
}

fn flip_bits(rng: &mut impl Rng, bytes: &mut Vec<u8>) -> &'static str {
    if bytes.is_empty() {
        return insert_bytes(rng, bytes);
    }
    for _ in 0..rng.gen_range(1..=8) {
        let at = rng.gen_range(0..bytes.len());
        bytes[at] ^= 1 << rng.gen_range(0..8);
    }
    "bit flip"
}

fn set_bytes(rng: &mut impl Rng, bytes: &mut Vec<u8>) -> &'static str {
    if bytes.is_empty() {
        return insert_bytes(rng, bytes);
    }
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..bytes.len());
        bytes[at] = *[0x00, 0x01, 0x7f, 0x80, 0xff, rng.r#gen()]
            .choose(rng)
            .expect("the list is not empty");
    }
    "byte change"
}

fn truncate(rng: &mut impl Rng, bytes: &mut Vec<u8>, sections: &[Section]) -> &'static str {
    // Half the time inside a section's header or just past its id, where readers are
    // least careful.
    let at = match sections.choose(rng) {
        Some(section) if rng.gen_bool(0.5) => section.start + rng.gen_range(0..3),
        _ => rng.gen_range(0..=bytes.len()),
    };
    bytes.truncate(at);
    "truncation"
}

fn insert_bytes(rng: &mut impl Rng, bytes: &mut Vec<u8>) -> &'static str {
    let at = rng.gen_range(0..=bytes.len());
    let new: Vec<u8> = (0..rng.gen_range(1..=16)).map(|_| rng.r#gen()).collect();
    bytes.splice(at..at, new);
    "insertion"
}

/// The magic or version changed: another version, a component's layer, garbage.
fn header(rng: &mut impl Rng, bytes: &mut Vec<u8>) -> &'static str {
    if bytes.len() < 8 {
        bytes.resize(8, 0);
    }
    let new: [u8; 8] = *[
        *b"\0asm\x02\0\0\0",
        *b"\0asm\x0d\0\x01\0",
        *b"\0asm\x01\0\0\x01",
        *b"\0ASM\x01\0\0\0",
        *b"\0asm\xff\xff\xff\xff",
        *b"(module ",
    ]
    .choose(rng)
    .expect("the list is not empty");
    bytes[..8].copy_from_slice(&new);
    "header"
}

/// A piece of another module put in.
fn splice(rng: &mut impl Rng, bytes: &mut Vec<u8>, donors: &[&[u8]]) -> &'static str {
    let Some(donor) = donors.choose(rng).filter(|donor| !donor.is_empty()) else {
        return insert_bytes(rng, bytes);
    };
    let from = rng.gen_range(0..donor.len());
    let to = (from + rng.gen_range(1..=256)).min(donor.len());
    let at = rng.gen_range(0..=bytes.len());
    bytes.splice(at..at, donor[from..to].iter().copied());
    "splice"
}

/// Words a mutation puts into text: syntax, instructions, edge numbers, odd strings.
const WORDS: [&str; 40] = [
    "(",
    ")",
    "module",
    "func",
    "(param i32)",
    "(result v128)",
    "i32.const",
    "i64.const",
    "0",
    "-1",
    "0xffffffff",
    "4294967296",
    "-0x8000000000000001",
    "nan:0x7fffff",
    "nan:0x0",
    "inf",
    "0x1p-149",
    "1e400",
    "\"\\ff\\00\"",
    "\"",
    "$x",
    "$",
    "memory",
    "65536",
    "65537",
    "(memory 65536 65537)",
    "shared",
    "unreachable",
    "local.get",
    "call",
    "br",
    "4294967295",
    "ref.null",
    "extern",
    "(start 0)",
    "(thread $T)",
    "(wait $T)",
    "(invoke \"\")",
    "(assert_return",
    ";;",
];

/// Mutates text (a `.wat` module or `.wast` script) in place; the kind applied.
pub fn text(rng: &mut impl Rng, bytes: &mut Vec<u8>) -> &'static str {
    let mut tokens = tokens(bytes);
    if tokens.is_empty() {
        return insert_bytes(rng, bytes);
    }
    let kind = match rng.gen_range(0..7) {
        0 => {
            let at = rng.gen_range(0..tokens.len());
            tokens.remove(at);
            "delete token"
        }
        1 => {
            let at = rng.gen_range(0..tokens.len());
            tokens.insert(at, tokens[at].clone());
            "duplicate token"
        }
        2 => {
            let (a, b) = (
                rng.gen_range(0..tokens.len()),
                rng.gen_range(0..tokens.len()),
            );
            tokens.swap(a, b);
            "swap tokens"
        }
        3 => {
            let at = rng.gen_range(0..tokens.len());
            tokens[at] = word(rng);
            "replace token"
        }
        4 => {
            let at = rng.gen_range(0..=tokens.len());
            tokens.insert(at, word(rng));
            "insert token"
        }
        5 => {
            // Unbalanced parentheses: one removed, or cut short.
            let closing: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] == b")").collect();
            match closing.choose(rng) {
                Some(&at) if rng.gen_bool(0.5) => {
                    tokens.remove(at);
                }
                _ => tokens.truncate(rng.gen_range(0..tokens.len())),
            }
            "unbalanced parentheses"
        }
        _ => {
            // Bytes that are not UTF-8, or a NUL, inside the text.
            let at = rng.gen_range(0..=tokens.len());
            let bad: &[u8] = [&b"\xff\xfe"[..], b"\0", b"\xc3", b"\xed\xa0\x80"]
                .choose(rng)
                .expect("the list is not empty");
            tokens.insert(at, bad.to_vec());
            "non-UTF-8 text"
        }
    };
    *bytes = tokens.join(&b' ');
    kind
}

fn word(rng: &mut impl Rng) -> Vec<u8> {
    WORDS
        .choose(rng)
        .expect("the list is not empty")
        .as_bytes()
        .to_vec()
}

/// `text` split into parentheses, strings and atoms; whitespace and comments dropped.
fn tokens(text: &[u8]) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let byte = text[at];
        if byte.is_ascii_whitespace() {
            at += 1;
        } else if text[at..].starts_with(b";;") {
            while at < text.len() && text[at] != b'\n' {
                at += 1;
            }
        } else if byte == b'(' || byte == b')' {
            tokens.push(vec![byte]);
            at += 1;
        } else if byte == b'"' {
            let start = at;
            at += 1;
            while at < text.len() && text[at] != b'"' {
                // An escaped quote stays inside the string.
                at += if text[at] == b'\\' { 2 } else { 1 };
            }
            at = (at + 1).min(text.len());
            tokens.push(text[start..at].to_vec());
        } else {
            let start = at;
            while at < text.len()
                && !text[at].is_ascii_whitespace()
                && !matches!(text[at], b'(' | b')' | b'"')
            {
                at += 1;
            }
            tokens.push(text[start..at].to_vec());
        }
    }
    tokens
}
