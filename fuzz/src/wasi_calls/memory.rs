//! The guest memory of a generated module, laid out by the generator: every string, iovec
//! array, subscription and result the calls use gets its own place, and the initial bytes
//! become data segments. Nothing is shared between calls, so one call's results never
//! change what a later call was meant to pass (unless a wild pointer makes it so, which is
//! part of the fuzzing).

use std::fmt::Write;

/// The memory's size in 64 KiB pages, fixed: its minimum and maximum.
pub const PAGES: u32 = 8;

/// The memory's size in bytes.
pub const MEMORY_BYTES: u32 = PAGES << 16;

/// Left unused at the start, so that a null pointer and small wild pointers hit bytes no
/// call was given.
const LOW_RESERVED: u32 = 64;

/// What a module keeps free for its last sequence of calls: more than one sequence's
/// arguments take (a few calls, each with at most two long paths, three 16 KiB buffers,
/// iovecs, subscriptions). The generator stops adding calls when less is left, so that
/// places are never shared.
pub const SEQUENCE_AT_MOST: u32 = 160 << 10;

/// Places in the guest memory, given out in order, and the bytes they start with.
pub struct Staging {
    next: u32,
    segments: Vec<(u32, Vec<u8>)>,
}

impl Default for Staging {
    fn default() -> Self {
        Staging {
            next: LOW_RESERVED,
            segments: Vec::new(),
        }
    }
}

impl Staging {
    /// `size` bytes aligned to `align`, zero at the start. Past the end of the memory (which
    /// the generator's budget prevents), the last bytes of the memory, shared.
    pub fn reserve(&mut self, size: u32, align: u32) -> u32 {
        let start = self.next.next_multiple_of(align.max(1));
        match start.checked_add(size) {
            Some(end) if end <= MEMORY_BYTES => {
                self.next = end;
                start
            }
            _ => MEMORY_BYTES.saturating_sub(size) / align.max(1) * align.max(1),
        }
    }

    /// A place holding `bytes` when the module starts.
    pub fn stage(&mut self, bytes: &[u8], align: u32) -> u32 {
        let at = self.reserve(bytes.len() as u32, align);
        if !bytes.is_empty() {
            self.segments.push((at, bytes.to_vec()));
        }
        at
    }

    /// Bytes not given out yet.
    pub fn remaining(&self) -> u32 {
        MEMORY_BYTES - self.next
    }

    /// The data segments, as WAT.
    pub fn data_segments(&self) -> String {
        let mut wat = String::new();
        for (at, bytes) in &self.segments {
            let _ = writeln!(wat, "  (data (i32.const {at}) \"{}\")", wat_string(bytes));
        }
        wat
    }
}

/// `bytes` as the inside of a WAT string: printable ASCII as itself, anything else (quotes,
/// backslashes, NULs, invalid UTF-8) as `\hh`.
pub fn wat_string(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        if (0x20..0x7f).contains(&byte) && byte != b'"' && byte != b'\\' {
            text.push(char::from(byte));
        } else {
            let _ = write!(text, "\\{byte:02x}");
        }
    }
    text
}
