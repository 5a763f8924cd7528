//! The descriptor table: numbers to descriptors, shared by every thread of a program.
//!
//! Entries are reference-counted: a call takes its descriptor out under the lock and does
//! its I/O after releasing it, so a read that blocks holds no lock, and a descriptor closed
//! meanwhile stays open until the calls using it return. Closing a host descriptor is I/O
//! too, so the table hands removed descriptors back to be dropped after the lock.
//!
//! Numbers are given out as Wasmtime gives them: the highest number freed by `fd_close` or
//! `fd_renumber` first, then one past the highest in use. Programs see the difference (the
//! `stdio` test reopens into fd 0 after renumbering stdin away).

use crate::abi::Errno;
use crate::descriptor::Descriptor;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The most descriptors a program may hold open at once.
const MAX_DESCRIPTORS: usize = 1 << 16;

pub(crate) struct FdTable {
    entries: RwLock<Entries>,
}

struct Entries {
    open: BTreeMap<u32, Arc<Descriptor>>,
    /// Numbers freed and not yet reused.
    freed: BTreeSet<u32>,
}

impl FdTable {
    /// A table holding `descriptors` as 0, 1, 2, ...
    pub fn new(descriptors: Vec<Descriptor>) -> FdTable {
        let open = (0..).zip(descriptors.into_iter().map(Arc::new)).collect();
        FdTable {
            entries: RwLock::new(Entries {
                open,
                freed: BTreeSet::new(),
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The descriptor `fd`; `badf` if there is none.
    pub fn get(&self, fd: u32) -> Result<Arc<Descriptor>, Errno> {
        self.read().open.get(&fd).cloned().ok_or(Errno::Badf)
    }

    /// Adds `descriptor` and returns its number.
    pub fn push(&self, descriptor: Descriptor) -> Result<u32, Errno> {
        let mut entries = self.write();
        if entries.open.len() >= MAX_DESCRIPTORS {
            return Err(Errno::Mfile);
        }
        let fd = match entries.freed.pop_last() {
            Some(fd) => fd,
            None => match entries.open.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
                None => 0,
            },
        };
        entries.open.insert(fd, Arc::new(descriptor));
        Ok(fd)
    }

    /// Takes `fd` out of the table (`fd_close`).
    pub fn remove(&self, fd: u32) -> Result<Arc<Descriptor>, Errno> {
        let mut entries = self.write();
        let descriptor = entries.open.remove(&fd).ok_or(Errno::Badf)?;
        entries.freed.insert(fd);
        Ok(descriptor)
    }

    /// Moves descriptor `from` to number `to` (`fd_renumber`); both must be open. Returns
    /// the descriptor `to` held, which the move closes.
    pub fn renumber(&self, from: u32, to: u32) -> Result<Option<Arc<Descriptor>>, Errno> {
        let mut entries = self.write();
        if !entries.open.contains_key(&to) {
            return Err(Errno::Badf);
        }
        if from == to {
            return Ok(None);
        }
        let moved = entries.open.remove(&from).ok_or(Errno::Badf)?;
        entries.freed.insert(from);
        Ok(entries.open.insert(to, moved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Output;

    fn table(count: usize) -> FdTable {
        FdTable::new((0..count).map(|_| stream()).collect())
    }

    fn stream() -> Descriptor {
        Descriptor::Output(Output::Discard)
    }

    #[test]
    fn new_numbers_follow_the_highest_in_use() {
        let table = table(4);
        assert_eq!(table.push(stream()), Ok(4));
        assert_eq!(table.push(stream()), Ok(5));
        let empty = FdTable::new(Vec::new());
        assert_eq!(empty.push(stream()), Ok(0));
    }

    #[test]
    fn the_highest_freed_number_is_reused_first() {
        let table = table(7);
        table.remove(5).expect("open");
        table.remove(4).expect("open");
        assert_eq!(table.push(stream()), Ok(5));
        assert_eq!(table.push(stream()), Ok(4));
        assert_eq!(table.push(stream()), Ok(7));
    }

    #[test]
    fn renumbering_frees_the_source_number() {
        let table = table(5);
        let displaced = table.renumber(0, 4).expect("both open");
        assert!(displaced.is_some());
        assert_eq!(table.get(0).err(), Some(Errno::Badf));
        assert!(table.get(4).is_ok());
        assert_eq!(table.push(stream()), Ok(0));
    }

    #[test]
    fn renumbering_needs_both_numbers_open() {
        let table = table(3);
        assert_eq!(table.renumber(1, 9).err(), Some(Errno::Badf));
        assert_eq!(table.renumber(9, 1).err(), Some(Errno::Badf));
        assert!(table.get(1).is_ok());
        assert!(matches!(table.renumber(2, 2), Ok(None)));
        assert!(table.get(2).is_ok());
    }

    #[test]
    fn closing_twice_is_badf() {
        let table = table(3);
        assert!(table.remove(2).is_ok());
        assert_eq!(table.remove(2).err(), Some(Errno::Badf));
    }
}
