//! Structs and arrays allocated by the host, in the same heap and layout as wasm's.

use super::error::{Error, UsageError};
use super::store::{AsContextMut, StoreContextMut, StoreId};
use super::types::{ConcreteType, ValType};
use super::values::{AnyRef, GcRef, Val};
use crate::environ::TrapKind;
use crate::environ::gc::{StructLayout, storage_size};
use std::sync::Arc;
use wasmparser::{CompositeInnerType, StorageType, StructType, SubType};

impl AnyRef {
    /// A new struct of type `ty` in `store`'s GC heap, with `fields` in declaration order.
    /// A packed `i8` or `i16` field takes an `i32` and keeps its low bits. Fails with a
    /// usage error when `ty` is not a struct type or a field does not fit, and with the
    /// [`Trap::AllocationTooLarge`](crate::Trap) error when the heap is full.
    pub fn new_struct(
        mut store: impl AsContextMut,
        ty: &ConcreteType,
        fields: &[Val],
    ) -> Result<AnyRef, Error> {
        let mut cx = store.as_context_mut();
        let (struct_type, rtt) = struct_definition(&cx, ty)?;
        allocate_struct(&mut cx, &struct_type, &rtt, fields)
    }

    /// A new struct of type `ty` whose fields hold zeros and nulls, as `struct.new_default`
    /// makes it. Fails when a field has a non-nullable reference type.
    pub fn new_struct_default(
        mut store: impl AsContextMut,
        ty: &ConcreteType,
    ) -> Result<AnyRef, Error> {
        let mut cx = store.as_context_mut();
        let (struct_type, rtt) = struct_definition(&cx, ty)?;
        let fields = struct_type
            .fields
            .iter()
            .map(|field| default_value(&cx, field.element_type, ty))
            .collect::<Result<Vec<_>, _>>()?;
        allocate_struct(&mut cx, &struct_type, &rtt, &fields)
    }

    /// A new array of type `ty` in `store`'s GC heap: `length` copies of `element`. Fails
    /// as [`AnyRef::new_struct`] does.
    pub fn new_array(
        mut store: impl AsContextMut,
        ty: &ConcreteType,
        element: &Val,
        length: u32,
    ) -> Result<AnyRef, Error> {
        let mut cx = store.as_context_mut();
        let (storage, rtt) = array_definition(&cx, ty)?;
        allocate_array(&mut cx, storage, &rtt, element, length)
    }

    /// A new array of type `ty` with `length` zero or null elements, as `array.new_default`
    /// makes it. Fails when the elements have a non-nullable reference type.
    pub fn new_array_default(
        mut store: impl AsContextMut,
        ty: &ConcreteType,
        length: u32,
    ) -> Result<AnyRef, Error> {
        let mut cx = store.as_context_mut();
        let (storage, rtt) = array_definition(&cx, ty)?;
        let element = default_value(&cx, storage, ty)?;
        allocate_array(&mut cx, storage, &rtt, &element, length)
    }
}

fn allocate_struct<T>(
    cx: &mut StoreContextMut<'_, T>,
    struct_type: &StructType,
    rtt: &[u32],
    fields: &[Val],
) -> Result<AnyRef, Error> {
    if fields.len() != struct_type.fields.len() {
        return Err(UsageError::ArgumentCount {
            expected: struct_type.fields.len(),
            given: fields.len(),
        }
        .into());
    }
    let layout = StructLayout::new(struct_type);
    let mut placed = Vec::with_capacity(fields.len());
    for (index, ((field, &offset), value)) in struct_type
        .fields
        .iter()
        .zip(&layout.field_offsets)
        .zip(fields)
        .enumerate()
    {
        let raw = storage_raw(cx, field.element_type, value, index)?;
        placed.push((offset, storage_size(field.element_type), raw));
    }
    let object = cx
        .opaque()
        .gc_heap()
        .new_struct(rtt.as_ptr(), layout.size as usize, placed)
        .ok_or(Error::from(TrapKind::AllocationTooLarge))?;
    Ok(AnyRef::Struct(GcRef {
        store: StoreId::of(cx.opaque()),
        address: object.as_ptr() as u64,
    }))
}

fn allocate_array<T>(
    cx: &mut StoreContextMut<'_, T>,
    storage: StorageType,
    rtt: &[u32],
    element: &Val,
    length: u32,
) -> Result<AnyRef, Error> {
    let raw = storage_raw(cx, storage, element, 0)?;
    let object = cx
        .opaque()
        .gc_heap()
        .new_array(rtt.as_ptr(), storage_size(storage), length, |_| raw)
        .ok_or(Error::from(TrapKind::AllocationTooLarge))?;
    Ok(AnyRef::Array(GcRef {
        store: StoreId::of(cx.opaque()),
        address: object.as_ptr() as u64,
    }))
}

/// The default value of a field or element of type `storage` in type `ty`.
fn default_value<T>(
    cx: &StoreContextMut<'_, T>,
    storage: StorageType,
    ty: &ConcreteType,
) -> Result<Val, Error> {
    match api_type(cx, storage) {
        ValType::Ref(reference) if !reference.is_nullable() => Err(UsageError::UnsupportedType(
            format!("{ty} has a field of type {reference}, which has no default value"),
        )
        .into()),
        field => Ok(Val::default_for(&field)),
    }
}

/// How the API names a field or element type; packed fields read and write `i32`s.
fn api_type<T>(cx: &StoreContextMut<'_, T>, storage: StorageType) -> ValType {
    match storage {
        StorageType::I8 | StorageType::I16 => ValType::I32,
        StorageType::Val(ty) => ValType::from_wasm(ty, &|id| cx.engine.heap_type(id))
            .expect("registered types are describable by the API"),
    }
}

/// The engine's definition of struct type `ty` and its runtime descriptor, which lives as
/// long as the engine and so as long as any store's objects.
fn struct_definition<T>(
    cx: &StoreContextMut<'_, T>,
    ty: &ConcreteType,
) -> Result<(StructType, Arc<[u32]>), Error> {
    let (sub_type, rtt) = registered(cx, ty);
    match sub_type.composite_type.inner {
        CompositeInnerType::Struct(struct_type) => Ok((struct_type, rtt)),
        _ => Err(wrong_kind(ty, "struct")),
    }
}

/// The element type of array type `ty` and its runtime descriptor.
fn array_definition<T>(
    cx: &StoreContextMut<'_, T>,
    ty: &ConcreteType,
) -> Result<(StorageType, Arc<[u32]>), Error> {
    let (sub_type, rtt) = registered(cx, ty);
    match sub_type.composite_type.inner {
        CompositeInnerType::Array(array_type) => Ok((array_type.0.element_type, rtt)),
        _ => Err(wrong_kind(ty, "array")),
    }
}

fn wrong_kind(ty: &ConcreteType, needed: &str) -> Error {
    UsageError::UnsupportedType(format!("{ty} where a {needed} type is needed")).into()
}

/// The definition and descriptor of `ty`, whose group is pinned: a host-made object points
/// at the descriptor for as long as its store lives, which no module of the type need do.
fn registered<T>(cx: &StoreContextMut<'_, T>, ty: &ConcreteType) -> (SubType, Arc<[u32]>) {
    let mut types = cx.engine.types();
    let registered = types.get(ty.id);
    let definition = (registered.sub_type.clone(), Arc::clone(&registered.rtt));
    types.pin(ty.id);
    definition
}

/// The raw bits `value` is stored as in a field or element of type `storage`, once it is
/// checked to fit.
fn storage_raw<T>(
    cx: &mut StoreContextMut<'_, T>,
    storage: StorageType,
    value: &Val,
    index: usize,
) -> Result<u128, Error> {
    let expected = api_type(cx, storage);
    value.check(&cx.inner.opaque, cx.engine, &expected, index)?;
    value.to_raw(cx.opaque())
}
