//! The layout of GC objects (structs and arrays) and how reference words tell them apart.
//!
//! A reference word is 0 for null, odd for an i31 (`environ::i31`), `0b10` in its low two
//! bits for a host value (an externref handle, also seen inside `anyref` after
//! `any.convert_extern`), and otherwise the address of an object, which is 16-byte aligned.
//! So `any.convert_extern` and `extern.convert_any` change no bits, and casts tell the kinds
//! apart from the word alone before reading anything.
//!
//! Every object starts with a pointer to its type's runtime descriptor
//! (`environ::types`). Struct fields follow at their natural alignment; an array has its
//! length at [`ARRAY_LENGTH_OFFSET`] and its elements from [`ARRAY_ELEMENTS_OFFSET`].

use wasmparser::{StorageType, StructType, ValType};

/// Offset of the descriptor pointer in every object.
pub const OBJECT_RTT_OFFSET: u32 = 0;
/// Offset of the first struct field's space.
pub const STRUCT_FIELDS_OFFSET: u32 = 8;
/// Offset of an array's `u32` length.
pub const ARRAY_LENGTH_OFFSET: u32 = 8;
/// Offset of an array's first element.
pub const ARRAY_ELEMENTS_OFFSET: u32 = 16;
/// Alignment of every object.
pub const OBJECT_ALIGN: usize = 16;

/// Offset of an exception object's tag: the address of its `VMTagDefinition`. Exceptions
/// are allocated in the GC heap like structs, but only exnrefs point at them, so nothing
/// reads this word as a type descriptor.
pub const EXCEPTION_TAG_OFFSET: u32 = 0;
/// Offset of an exception's first payload value; each takes a 16-byte slot.
const EXCEPTION_PAYLOAD_OFFSET: u32 = 16;
/// Size of one payload slot of an exception.
const EXCEPTION_SLOT_SIZE: u32 = 16;

/// Offset of an exception's payload slot `index`; for `index` its number of slots, the
/// size of the whole exception.
pub const fn exception_slot_offset(index: usize) -> usize {
    EXCEPTION_PAYLOAD_OFFSET as usize + index * EXCEPTION_SLOT_SIZE as usize
}

/// The low bits that mark a host-value handle in a reference word.
pub const HOST_HANDLE_TAG: u64 = 0b10;

/// The word of host value number `index` (0-based).
pub const fn host_handle(index: usize) -> u64 {
    ((index as u64 + 1) << 2) | HOST_HANDLE_TAG
}

/// The index of the host value a handle word names, if the word is a handle.
pub const fn host_index(word: u64) -> Option<usize> {
    if word != 0 && word & 0b11 == HOST_HANDLE_TAG {
        Some((word >> 2) as usize - 1)
    } else {
        None
    }
}

/// Whether a non-null any-hierarchy word is the address of an object.
pub const fn is_object(word: u64) -> bool {
    word != 0 && word & 0b11 == 0
}

/// Bytes a field of type `ty` occupies (and its alignment).
pub fn storage_size(ty: StorageType) -> u32 {
    match ty {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
        StorageType::Val(ValType::V128) => 16,
    }
}

/// Where a struct type's fields live in its objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    /// Byte offset of each field from the object's start.
    pub field_offsets: Vec<u32>,
    /// Bytes the object occupies, header included.
    pub size: u32,
}

impl StructLayout {
    /// Fields in declaration order, each at its natural alignment.
    pub fn new(ty: &StructType) -> StructLayout {
        let mut end = STRUCT_FIELDS_OFFSET;
        let field_offsets = ty
            .fields
            .iter()
            .map(|field| {
                let size = storage_size(field.element_type);
                let offset = end.next_multiple_of(size);
                end = offset + size;
                offset
            })
            .collect();
        StructLayout {
            field_offsets,
            size: end,
        }
    }
}

/// Bytes an array of `length` elements of `element_size` bytes occupies, if representable.
pub fn array_size(element_size: u32, length: u32) -> Option<usize> {
    let elements = usize::try_from(u64::from(element_size) * u64::from(length)).ok()?;
    elements.checked_add(ARRAY_ELEMENTS_OFFSET as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::FieldType;

    fn field(element_type: StorageType) -> FieldType {
        FieldType {
            element_type,
            mutable: true,
        }
    }

    #[test]
    fn fields_are_naturally_aligned_after_the_header() {
        let ty = StructType {
            fields: [
                field(StorageType::I8),
                field(StorageType::Val(ValType::I64)),
                field(StorageType::I16),
                field(StorageType::Val(ValType::I32)),
            ]
            .into(),
        };
        let layout = StructLayout::new(&ty);
        assert_eq!(layout.field_offsets, [8, 16, 24, 28]);
        assert_eq!(layout.size, 32);
    }

    #[test]
    fn host_handles_never_look_like_objects_or_i31s() {
        for index in [0, 1, 2, 1 << 20] {
            let word = host_handle(index);
            assert_eq!(host_index(word), Some(index));
            assert!(!is_object(word) && !super::super::i31::is_i31(word));
        }
        assert_eq!(host_index(0), None);
        assert_eq!(host_index(0x1000), None);
        assert!(is_object(0x1000));
    }
}
