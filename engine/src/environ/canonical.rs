//! Types stored outside any module. A concrete heap type names a module's type index, which
//! means nothing in a store shared by many modules, so stored globals and tables name the
//! engine-wide id of the function type instead.

use wasmparser::{GlobalType, HeapType, RefType, TableType, UnpackedIndex, ValType};

/// `ty` with a module-relative concrete heap type replaced by its engine-wide id.
pub fn canonical_ref(ty: RefType, type_ids: &[u32]) -> RefType {
    match ty.heap_type() {
        HeapType::Concrete(UnpackedIndex::Module(index)) => {
            let id = type_ids[index as usize];
            let heap = HeapType::Concrete(UnpackedIndex::Module(id));
            RefType::new(ty.is_nullable(), heap).expect("engine type ids fit a packed index")
        }
        _ => ty,
    }
}

pub fn canonical_val(ty: ValType, type_ids: &[u32]) -> ValType {
    match ty {
        ValType::Ref(ty) => ValType::Ref(canonical_ref(ty, type_ids)),
        other => other,
    }
}

pub fn canonical_global(ty: GlobalType, type_ids: &[u32]) -> GlobalType {
    GlobalType {
        content_type: canonical_val(ty.content_type, type_ids),
        ..ty
    }
}

pub fn canonical_table(ty: TableType, type_ids: &[u32]) -> TableType {
    TableType {
        element_type: canonical_ref(ty.element_type, type_ids),
        ..ty
    }
}
