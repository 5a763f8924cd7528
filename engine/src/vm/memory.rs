//! Linear memories: an address-space reservation whose accessible prefix grows in place, so
//! the base address JIT code caches never changes.

use super::mmap::Mmap;
use super::vmcontext::VMMemoryDefinition;
use crate::environ::{BoundsChecks, MEMORY_GUARD_SIZE, MEMORY_RESERVATION};
use std::io;
use wasmparser::MemoryType;

/// Size of a wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Most pages a 32-bit memory can have.
pub const MAX_WASM_PAGES: u64 = 65536;

/// A linear memory owned by a store.
#[derive(Debug)]
pub struct LinearMemory {
    /// Read by JIT code through the pointer stored in each VMContext.
    definition: VMMemoryDefinition,
    mmap: Mmap,
    maximum_pages: u64,
    /// Declared type; `initial` is the size at creation.
    ty: MemoryType,
}

// SAFETY: the definition's `base` points into `mmap`, which this value owns; moving the
// value between threads moves that ownership with it.
unsafe impl Send for LinearMemory {}

impl LinearMemory {
    /// Reserves address space for a memory of type `ty`.
    pub fn new(ty: MemoryType, bounds_checks: BoundsChecks) -> io::Result<Self> {
        let minimum = ty.initial;
        let maximum_pages = ty.maximum.unwrap_or(MAX_WASM_PAGES).min(MAX_WASM_PAGES);
        let reservation = match bounds_checks {
            BoundsChecks::GuardPages => MEMORY_RESERVATION + MEMORY_GUARD_SIZE,
            // Without guard pages only the pages the memory may ever reach are reserved; a
            // one-page minimum keeps the base pointer valid for empty memories.
            BoundsChecks::Explicit => (maximum_pages * WASM_PAGE_SIZE).max(WASM_PAGE_SIZE),
        };
        let reservation = usize::try_from(reservation)
            .map_err(|_| io::Error::other("memory reservation exceeds the address space"))?;
        let mmap = Mmap::reserve(reservation)?;
        let mut memory = LinearMemory {
            definition: VMMemoryDefinition {
                base: mmap.as_ptr(),
                current_length: 0,
            },
            mmap,
            maximum_pages,
            ty,
        };
        if memory.grow(minimum)?.is_none() {
            return Err(io::Error::other(format!(
                "memory minimum of {minimum} pages exceeds its maximum of {maximum_pages}"
            )));
        }
        Ok(memory)
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.definition.current_length as u64 / WASM_PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn byte_len(&self) -> usize {
        self.definition.current_length
    }

    /// The declared type.
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None` when the maximum
    /// would be exceeded; an `Err` means the operating system refused the pages.
    pub fn grow(&mut self, delta: u64) -> io::Result<Option<u64>> {
        let old_pages = self.pages();
        let Some(new_pages) = old_pages.checked_add(delta) else {
            return Ok(None);
        };
        if new_pages > self.maximum_pages {
            return Ok(None);
        }
        if delta > 0 {
            let old_len = self.definition.current_length;
            let new_len = (new_pages * WASM_PAGE_SIZE) as usize;
            self.mmap.make_accessible(old_len, new_len - old_len)?;
            self.definition.current_length = new_len;
        }
        Ok(Some(old_pages))
    }

    /// The definition JIT code reads; its address is stable for this memory's lifetime.
    pub fn definition_ptr(&mut self) -> *mut VMMemoryDefinition {
        &raw mut self.definition
    }

    /// Returns `base + offset` if `offset..offset + len` is inside the memory.
    pub fn checked_range(&self, offset: u64, len: u64) -> Option<*mut u8> {
        let end = offset.checked_add(len)?;
        if end > self.definition.current_length as u64 {
            return None;
        }
        Some(self.definition.base.wrapping_add(offset as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_type(initial: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            memory64: false,
            shared: false,
            initial,
            maximum,
            page_size_log2: None,
        }
    }

    #[test]
    fn grows_in_place_up_to_the_maximum() {
        for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
            let mut memory = LinearMemory::new(memory_type(1, Some(3)), mode).unwrap();
            let base = memory.checked_range(0, 0);
            assert_eq!(memory.grow(2).unwrap(), Some(1));
            assert_eq!(memory.grow(1).unwrap(), None);
            assert_eq!(memory.pages(), 3);
            assert_eq!(memory.checked_range(0, 0), base);
            assert!(memory.checked_range(3 * WASM_PAGE_SIZE - 1, 1).is_some());
            assert!(memory.checked_range(3 * WASM_PAGE_SIZE - 1, 2).is_none());
        }
    }

    #[test]
    fn minimum_above_maximum_is_an_error() {
        assert!(LinearMemory::new(memory_type(2, Some(1)), BoundsChecks::GuardPages).is_err());
    }
}
