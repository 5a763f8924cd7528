//! `fd_readdir`, as Wasmtime answers it.
//!
//! The listing is `.` and `..` (synthesized, both with the directory's own inode number),
//! then the host's entries in the host's order. A cookie is an index into that list: entry
//! `i` carries `d_next = i + 1`, and a call starting at cookie `c` lists from entry `c`.
//! Each call lists the directory afresh from the start (cap-std reopens it), so a cookie
//! stays valid as long as the directory does not change.
//!
//! Entries are packed into the guest's buffer back to back, the last one cut short when it
//! does not fit; a full buffer tells the guest there may be more, and it continues from
//! the last entry it got whole.

use crate::abi::{Errno, Filetype, layout};
use crate::descriptor::DirDescriptor;
use crate::error::WasiResult;
use crate::guest::Guest;
use crate::stat::{filetype, inode};
use crate::state::Shared;
use cap_std::fs::DirEntry;

pub(crate) fn fd_readdir(
    cx: &Shared,
    guest: &Guest<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult<()> {
    let descriptor = cx.table.get(fd)?;
    let dir = descriptor.dir()?;
    dir.check_read()?;
    let packed = list(dir, cookie, buf_len)?;
    guest.write_bytes(buf, &packed)?;
    guest.write_u32(bufused, packed.len() as u32)
}

/// The entries from index `cookie` on, packed into at most `capacity` bytes. Only the
/// entries that get packed are looked up (`lstat`).
fn list(dir: &DirDescriptor, cookie: u64, capacity: u32) -> WasiResult<Vec<u8>> {
    let first = usize::try_from(cookie).unwrap_or(usize::MAX);
    let mut packer = DirentPacker::new(capacity);
    let own_inode = inode(&dir.dir.dir_metadata()?);
    for (index, name) in [".", ".."].into_iter().enumerate().skip(first) {
        let dot = Dirent {
            index,
            inode: own_inode,
            filetype: Filetype::Directory,
        };
        if !packer.push(&dot, name.as_bytes()) {
            return Ok(packer.into_bytes());
        }
    }
    let host_entries = (2..).zip(dir.dir.entries()?);
    for (index, entry) in host_entries.skip(first.saturating_sub(2)) {
        let (dirent, name) = describe(index, entry?)?;
        if !packer.push(&dirent, name.as_bytes()) {
            break;
        }
    }
    Ok(packer.into_bytes())
}

/// A host entry as the guest sees it: its type and inode come from `lstat`, so a symbolic
/// link is listed as one. A name that is not UTF-8 is `ilseq`, as in Wasmtime.
fn describe(index: usize, entry: DirEntry) -> WasiResult<(Dirent, String)> {
    let name = entry.file_name().into_string().map_err(|_| Errno::Ilseq)?;
    let metadata = entry.metadata()?;
    let dirent = Dirent {
        index,
        inode: inode(&metadata),
        filetype: filetype(metadata.file_type()),
    };
    Ok((dirent, name))
}

/// A `dirent` header, for the entry at `index` in the listing.
struct Dirent {
    index: usize,
    inode: u64,
    filetype: Filetype,
}

impl Dirent {
    fn header(&self, name_len: usize) -> [u8; layout::DIRENT_SIZE as usize] {
        let next = self.index as u64 + 1;
        let mut bytes = [0; layout::DIRENT_SIZE as usize];
        bytes[0..8].copy_from_slice(&next.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.inode.to_le_bytes());
        bytes[16..20].copy_from_slice(&(name_len as u32).to_le_bytes());
        bytes[20] = self.filetype as u8;
        bytes
    }
}

/// Packs entries (header, then the name with no terminator) into a buffer of fixed size.
struct DirentPacker {
    bytes: Vec<u8>,
    capacity: usize,
}

impl DirentPacker {
    fn new(capacity: u32) -> DirentPacker {
        DirentPacker {
            bytes: Vec::new(),
            capacity: capacity as usize,
        }
    }

    /// Appends one entry, cut short where the buffer ends. Returns whether there is room
    /// left for another: once the buffer is full, the call answers with it as it is.
    fn push(&mut self, dirent: &Dirent, name: &[u8]) -> bool {
        for part in [&dirent.header(name.len())[..], name] {
            let room = self.capacity - self.bytes.len();
            self.bytes.extend_from_slice(&part[..part.len().min(room)]);
            if self.bytes.len() == self.capacity {
                return false;
            }
        }
        true
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: usize = layout::DIRENT_SIZE as usize;

    fn entry(index: usize) -> Dirent {
        Dirent {
            index,
            inode: 0x1122_3344_5566_7788,
            filetype: Filetype::RegularFile,
        }
    }

    #[test]
    fn a_header_holds_next_cookie_inode_name_length_and_type() {
        let header = entry(4).header(3);
        assert_eq!(u64::from_le_bytes(header[0..8].try_into().unwrap()), 5);
        assert_eq!(
            u64::from_le_bytes(header[8..16].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
        assert_eq!(u32::from_le_bytes(header[16..20].try_into().unwrap()), 3);
        assert_eq!(header[20], Filetype::RegularFile as u8);
        assert_eq!(&header[21..24], &[0, 0, 0]);
    }

    #[test]
    fn entries_are_packed_back_to_back_without_terminators() {
        let mut packer = DirentPacker::new(256);
        assert!(packer.push(&entry(0), b"a"));
        assert!(packer.push(&entry(1), b"bc"));
        let bytes = packer.into_bytes();
        assert_eq!(bytes.len(), 2 * HEADER + 3);
        assert_eq!(&bytes[HEADER..HEADER + 1], b"a");
        assert_eq!(&bytes[2 * HEADER + 1..], b"bc");
    }

    #[test]
    fn the_last_entry_is_cut_to_fill_the_buffer() {
        let capacity = HEADER + 5 + 10;
        let mut packer = DirentPacker::new(capacity as u32);
        assert!(packer.push(&entry(0), b"first"));
        assert!(!packer.push(&entry(1), b"second"));
        let bytes = packer.into_bytes();
        assert_eq!(bytes.len(), capacity);
        // The cut header still starts with the full entry's d_next.
        assert_eq!(bytes[HEADER + 5], 2);
    }

    #[test]
    fn a_name_cut_short_still_fills_the_buffer() {
        let capacity = HEADER + 2;
        let mut packer = DirentPacker::new(capacity as u32);
        assert!(!packer.push(&entry(0), b"longname"));
        let bytes = packer.into_bytes();
        assert_eq!(&bytes[HEADER..], b"lo");
        // d_namlen is the whole name's length.
        assert_eq!(u32::from_le_bytes(bytes[16..20].try_into().unwrap()), 8);
    }

    #[test]
    fn an_entry_that_fits_exactly_reports_a_full_buffer() {
        let mut packer = DirentPacker::new((HEADER + 1) as u32);
        assert!(!packer.push(&entry(0), b"x"));
        assert_eq!(packer.into_bytes().len(), HEADER + 1);
    }

    #[test]
    fn an_empty_buffer_takes_nothing() {
        let mut packer = DirentPacker::new(0);
        assert!(!packer.push(&entry(0), b"x"));
        assert!(packer.into_bytes().is_empty());
    }
}
