//! Tables of pointer-sized references.
//!
//! A table reserves room for its maximum size when it is created and never moves its
//! elements, so the base JIT code reads is constant and a thread reading a shared table while
//! another grows it can never see freed memory. The reservation is zeroed memory the system
//! commits only when touched, so a large maximum costs address space, not memory.
//!
//! Every element is accessed atomically and the length is published with release ordering
//! after the new elements are written, so shared tables are safe to use from any thread:
//! `table.get`/`set` never tear, `table.size` never shows an element that is not initialized,
//! and concurrent bulk operations interleave element by element, as the proposal allows.
//! Growth is serialized by a lock.

use super::vmcontext::VMTableDefinition;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use wasmparser::TableType;

/// Upper bound on table size regardless of the declared maximum, so a `table.grow` with a
/// huge delta fails cleanly instead of exhausting host memory. Tables without a declared
/// maximum reserve this many elements of address space.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table owned by a store. Element 0 means null.
#[derive(Debug)]
pub struct Table {
    definition: VMTableDefinition,
    /// The reservation: `capacity` zero-initialized elements at a fixed address.
    elements: NonNull<usize>,
    capacity: usize,
    /// Held while growing, so that two growths never claim the same elements.
    grow_lock: Mutex<()>,
    /// Declared type; `initial` is the size at creation.
    ty: TableType,
}

// SAFETY: the table owns its reservation; elements and length are only accessed atomically,
// and growth is serialized by `grow_lock`.
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

impl Table {
    /// A table of type `ty` filled with `init`. `None` if its minimum exceeds the limits or
    /// the reservation cannot be made.
    pub fn new(ty: TableType, init: usize) -> Option<Table> {
        let capacity = ty
            .maximum
            .unwrap_or(MAX_TABLE_ELEMENTS)
            .min(MAX_TABLE_ELEMENTS) as usize;
        if ty.initial > capacity as u64 {
            return None;
        }
        let layout = Layout::array::<usize>(capacity.max(1)).ok()?;
        // SAFETY: the layout has a non-zero size.
        let elements = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?.cast();
        let table = Table {
            definition: VMTableDefinition {
                base: elements.as_ptr(),
                current_elements: AtomicUsize::new(0),
            },
            elements,
            capacity,
            grow_lock: Mutex::new(()),
            ty,
        };
        table.grow(ty.initial, init)?;
        Some(table)
    }

    fn slot(&self, index: usize) -> &AtomicUsize {
        debug_assert!(index < self.capacity);
        // SAFETY: `index` is inside the reservation, which lives as long as `self`, is
        // aligned for `usize`, and is only ever accessed atomically.
        unsafe { AtomicUsize::from_ptr(self.elements.as_ptr().add(index)) }
    }

    pub fn len(&self) -> u64 {
        self.definition.current_elements.load(Ordering::Acquire) as u64
    }

    /// The declared type.
    pub fn ty(&self) -> TableType {
        self.ty
    }

    /// `start..start + len` as indices, if it lies within the table.
    fn checked(&self, start: u64, len: u64) -> Option<std::ops::Range<usize>> {
        let end = start.checked_add(len).filter(|&end| end <= self.len())?;
        Some(start as usize..end as usize)
    }

    pub fn get(&self, index: u64) -> Option<usize> {
        let range = self.checked(index, 1)?;
        Some(self.slot(range.start).load(Ordering::SeqCst))
    }

    /// `false` if `index` is out of bounds.
    pub fn set(&self, index: u64, value: usize) -> bool {
        match self.checked(index, 1) {
            Some(range) => {
                self.slot(range.start).store(value, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements of `init`; returns the old length, or `None` past the
    /// maximum. The new elements are written before the new length is published.
    pub fn grow(&self, delta: u64, init: usize) -> Option<u64> {
        let _growing = self
            .grow_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.len();
        let new = old
            .checked_add(delta)
            .filter(|&new| new <= self.capacity as u64)?;
        for index in old as usize..new as usize {
            self.slot(index).store(init, Ordering::Relaxed);
        }
        self.definition
            .current_elements
            .store(new as usize, Ordering::Release);
        Some(old)
    }

    /// Sets `start..start + len` to `value`; `false` if out of bounds.
    pub fn fill(&self, start: u64, len: u64, value: usize) -> bool {
        let Some(range) = self.checked(start, len) else {
            return false;
        };
        for index in range {
            self.slot(index).store(value, Ordering::SeqCst);
        }
        true
    }

    /// Copies `len` elements from `source` at `src` to this table at `dst`; the two may be
    /// the same table and the ranges may overlap. `false` if either is out of bounds.
    pub fn copy_from(&self, dst: u64, source: &Table, src: u64, len: u64) -> bool {
        let (Some(to), Some(from)) = (self.checked(dst, len), source.checked(src, len)) else {
            return false;
        };
        let pairs = to.zip(from);
        let copy = |(to, from): (usize, usize)| {
            let value = source.slot(from).load(Ordering::SeqCst);
            self.slot(to).store(value, Ordering::SeqCst);
        };
        // Copying downwards front to back (and upwards back to front) reads every source
        // element before an overlapping destination write replaces it.
        if dst <= src {
            pairs.for_each(copy);
        } else {
            pairs.rev().for_each(copy);
        }
        true
    }

    /// Writes `items` from `dst` on; `false` if they do not fit.
    pub fn init(&self, dst: u64, items: &[usize]) -> bool {
        let Some(range) = self.checked(dst, items.len() as u64) else {
            return false;
        };
        for (index, &item) in range.zip(items) {
            self.slot(index).store(item, Ordering::SeqCst);
        }
        true
    }

    /// The definition JIT code reads; its address is stable for this table's lifetime.
    pub fn definition_ptr(&mut self) -> *mut VMTableDefinition {
        &raw mut self.definition
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let layout = Layout::array::<usize>(self.capacity.max(1)).expect("made in `new`");
        // SAFETY: allocated in `new` with this layout, and freed only here.
        unsafe { std::alloc::dealloc(self.elements.as_ptr().cast(), layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_type(initial: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element_type: wasmparser::RefType::FUNCREF,
            table64: false,
            initial,
            maximum,
            shared: false,
        }
    }

    #[test]
    fn growth_keeps_the_base_and_publishes_the_length() {
        let mut table = Table::new(table_type(1, Some(4)), 7).unwrap();
        let base = table.definition.base;
        assert_eq!(table.grow(2, 9), Some(1));
        assert_eq!(table.grow(2, 9), None);
        // SAFETY: the definition points at the table's live elements.
        let definition = unsafe { &*table.definition_ptr() };
        assert_eq!(definition.current_elements.load(Ordering::SeqCst), 3);
        assert_eq!(definition.base, base);
        assert_eq!(table.get(2), Some(9));
        assert!(table.set(0, 1));
        assert!(!table.set(3, 1));
        assert_eq!(table.get(3), None);
    }

    #[test]
    fn huge_growth_fails_without_allocating() {
        let table = Table::new(table_type(0, None), 0).unwrap();
        assert_eq!(table.grow(u64::from(u32::MAX), 0), None);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn overlapping_copies_match_memmove() {
        let table = Table::new(table_type(6, None), 0).unwrap();
        assert!(table.init(0, &[1, 2, 3, 4, 5, 6]));
        assert!(table.copy_from(2, &table, 0, 4));
        let values: Vec<_> = (0..6).map(|i| table.get(i).unwrap()).collect();
        assert_eq!(values, [1, 2, 1, 2, 3, 4]);
        assert!(table.copy_from(0, &table, 2, 4));
        let values: Vec<_> = (0..6).map(|i| table.get(i).unwrap()).collect();
        assert_eq!(values, [1, 2, 3, 4, 3, 4]);
        assert!(!table.copy_from(3, &table, 0, 4));
        assert!(!table.fill(5, 2, 0));
    }

    #[test]
    fn readers_never_see_elements_before_the_length_covers_them() {
        let table = std::sync::Arc::new(Table::new(table_type(0, Some(1000)), 0).unwrap());
        let reader = {
            let table = std::sync::Arc::clone(&table);
            std::thread::spawn(move || {
                while table.len() < 1000 {
                    let len = table.len();
                    for index in 0..len {
                        assert_eq!(table.get(index), Some(index as usize + 1));
                    }
                }
            })
        };
        for index in 0..1000 {
            assert_eq!(table.grow(1, index + 1), Some(index as u64));
        }
        reader.join().unwrap();
    }
}
