//! Tables of pointer-sized references. Growth may move the elements, so JIT code reloads
//! the base from the definition on every access.

use super::vmcontext::VMTableDefinition;
use wasmparser::TableType;

/// Upper bound on table size regardless of the declared maximum, so a `table.grow` with a
/// huge delta fails cleanly instead of exhausting host memory.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table owned by a store. Element 0 means null.
#[derive(Debug)]
pub struct Table {
    definition: VMTableDefinition,
    elements: Vec<usize>,
    maximum: u64,
    /// Declared type; `initial` is the size at creation.
    ty: TableType,
}

// SAFETY: the definition points into `elements`, which this value owns.
unsafe impl Send for Table {}

impl Table {
    /// A table of type `ty` filled with `init`. `None` if its minimum exceeds the limits.
    pub fn new(ty: TableType, init: usize) -> Option<Table> {
        let minimum = ty.initial;
        let maximum = ty
            .maximum
            .unwrap_or(u64::from(u32::MAX))
            .min(MAX_TABLE_ELEMENTS);
        if minimum > maximum {
            return None;
        }
        let mut table = Table {
            definition: VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            },
            elements: vec![init; minimum as usize],
            maximum,
            ty,
        };
        table.publish();
        Some(table)
    }

    fn publish(&mut self) {
        self.definition.base = self.elements.as_mut_ptr();
        self.definition.current_elements = self.elements.len();
    }

    pub fn len(&self) -> u64 {
        self.elements.len() as u64
    }

    /// The declared type.
    pub fn ty(&self) -> TableType {
        self.ty
    }

    pub fn get(&self, index: u64) -> Option<usize> {
        self.elements.get(usize::try_from(index).ok()?).copied()
    }

    /// `false` if `index` is out of bounds.
    pub fn set(&mut self, index: u64, value: usize) -> bool {
        match usize::try_from(index)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
        {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements of `init`; returns the old length, or `None` past the
    /// maximum.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.len();
        let new = old.checked_add(delta).filter(|&new| new <= self.maximum)?;
        self.elements.resize(new as usize, init);
        self.publish();
        Some(old)
    }

    /// Mutable view of `start..start + len`, or `None` if out of bounds.
    pub fn range_mut(&mut self, start: u64, len: u64) -> Option<&mut [usize]> {
        let end = start.checked_add(len).filter(|&end| end <= self.len())?;
        Some(&mut self.elements[start as usize..end as usize])
    }

    /// View of `start..start + len`, or `None` if out of bounds.
    pub fn range(&self, start: u64, len: u64) -> Option<&[usize]> {
        let end = start.checked_add(len).filter(|&end| end <= self.len())?;
        Some(&self.elements[start as usize..end as usize])
    }

    /// The definition JIT code reads; its address is stable for this table's lifetime.
    pub fn definition_ptr(&mut self) -> *mut VMTableDefinition {
        &raw mut self.definition
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
    fn growth_republishes_the_elements() {
        let mut table = Table::new(table_type(1, Some(4)), 7).unwrap();
        assert_eq!(table.grow(2, 9), Some(1));
        assert_eq!(table.grow(2, 9), None);
        // SAFETY: the definition points at the table's live elements.
        let definition = unsafe { &*table.definition_ptr() };
        assert_eq!(definition.current_elements, 3);
        assert_eq!(definition.base, table.elements.as_mut_ptr());
        assert_eq!(table.get(2), Some(9));
        assert!(table.set(0, 1));
        assert!(!table.set(3, 1));
    }

    #[test]
    fn huge_growth_fails_without_allocating() {
        let mut table = Table::new(table_type(0, None), 0).unwrap();
        assert_eq!(table.grow(u64::from(u32::MAX), 0), None);
    }
}
