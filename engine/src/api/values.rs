//! Runtime values and their conversion to the raw slots JIT code uses.

use super::engine::Engine;
use super::error::{Error, UncaughtException, UsageError};
use super::func::Func;
use super::store::{AsContext, AsContextMut, StoreId};
use super::tags::Tag;
use super::types::{AbstractHeapType, HeapType, RefType, ValType};
use crate::environ::TypeKind;
use crate::environ::{gc, i31};
use crate::vm::StoreOpaque;
use std::any::Any;

/// A WebAssembly value. Floats are kept as bits so NaN payloads survive round trips.
#[derive(Clone, Debug)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits (`From<f32>` converts).
    F32(u32),
    /// An `f64`, as its bits (`From<f64>` converts).
    F64(u64),
    /// A 128-bit vector, its lanes numbered from the least significant byte.
    V128(u128),
    /// A function reference, of any function type; `None` is null.
    FuncRef(Option<Func>),
    /// An `externref`; `None` is null.
    ExternRef(Option<ExternRef>),
    /// A reference of the any hierarchy (`anyref`, `eqref`, `i31ref`, `structref`, ...,
    /// shared or not).
    AnyRef(Option<AnyRef>),
    /// An exception reference (what `throw` creates and `catch_ref` hands over); `None` is
    /// null.
    ExnRef(Option<ExnRef>),
}

impl Val {
    /// The value's type, as far as it is known without a store: a function reference is
    /// reported as `funcref`, whatever its signature, and a null any-reference as `anyref`.
    /// [`Val::matches_ty`] checks exactly.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::AnyRef(None) => {
                RefType::new(true, HeapType::unshared(AbstractHeapType::Any)).into()
            }
            Val::AnyRef(Some(any)) => {
                let ty = match any {
                    AnyRef::I31(_) => AbstractHeapType::I31,
                    AnyRef::Struct(_) => AbstractHeapType::Struct,
                    AnyRef::Array(_) => AbstractHeapType::Array,
                    AnyRef::Extern(_) => AbstractHeapType::Any,
                };
                RefType::new(false, HeapType::unshared(ty)).into()
            }
            Val::ExnRef(exn) => {
                RefType::new(exn.is_none(), HeapType::unshared(AbstractHeapType::Exn)).into()
            }
        }
    }

    /// Whether this value may be used where `ty` is expected: a null needs a nullable type of
    /// its hierarchy, and a function passed as a typed reference needs exactly that
    /// signature, and a struct or array the type it was allocated with or one of its
    /// supertypes. Host values are thread-safe, so externrefs and i31s fit shared types as
    /// well, and so do exceptions, which live in the store's heap that every thread reads.
    pub fn matches_ty(&self, store: impl AsContext, ty: &ValType) -> bool {
        let cx = store.as_context();
        self.matches(cx.opaque(), cx.engine, ty)
    }

    pub(crate) fn matches(&self, store: &StoreOpaque, engine: &Engine, ty: &ValType) -> bool {
        let ValType::Ref(expected) = ty else {
            return self.ty() == *ty;
        };
        let heap = expected.heap_type();
        match (self, heap) {
            (
                Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None),
                _,
            ) => expected.is_nullable() && self.hierarchy() == heap.top(),
            (Val::ExternRef(Some(_)), HeapType::Abstract { ty, .. }) => {
                *ty == AbstractHeapType::Extern
            }
            (Val::AnyRef(Some(AnyRef::I31(_))), HeapType::Abstract { ty, .. }) => matches!(
                ty,
                AbstractHeapType::Any | AbstractHeapType::Eq | AbstractHeapType::I31
            ),
            (Val::AnyRef(Some(AnyRef::Extern(_))), HeapType::Abstract { ty, .. }) => {
                *ty == AbstractHeapType::Any
            }
            (Val::ExnRef(Some(_)), HeapType::Abstract { ty, .. }) => *ty == AbstractHeapType::Exn,
            (Val::AnyRef(Some(AnyRef::Struct(object) | AnyRef::Array(object))), _) => {
                object.store.check(store).is_err() || {
                    let actual = engine.heap_type(store.object_type_id(object.address));
                    RefType::new(false, actual).matches(expected)
                }
            }
            (
                Val::FuncRef(Some(func)),
                HeapType::Abstract {
                    shared,
                    ty: AbstractHeapType::Func,
                },
            ) => {
                // A shared function fits only `(shared func)`, an unshared one only `func`.
                func.store.check(store).is_err()
                    || engine.func_type(store.func_type_id(func.index)).is_shared() == *shared
            }
            (Val::FuncRef(Some(func)), HeapType::ConcreteFunc(func_ty)) => {
                // Ids are only comparable within one store: a foreign function is reported by
                // `to_raw` instead.
                func.store.check(store).is_err()
                    || store.func_type_id(func.index) == engine.register_type(func_ty)
            }
            _ => false,
        }
    }

    /// Fails with a usage error naming argument `index` unless the value fits `expected`.
    pub(crate) fn check(
        &self,
        store: &StoreOpaque,
        engine: &Engine,
        expected: &ValType,
        index: usize,
    ) -> Result<(), Error> {
        if self.matches(store, engine, expected) {
            return Ok(());
        }
        let given = match self {
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => {
                format!("null {}", self.ty())
            }
            Val::FuncRef(Some(func)) => {
                let id = store.func_type_id(func.index);
                format!("(ref {})", engine.func_type(id))
            }
            Val::AnyRef(Some(AnyRef::Struct(object) | AnyRef::Array(object)))
                if object.store.check(store).is_ok() =>
            {
                let id = store.object_type_id(object.address);
                format!("(ref {})", engine.heap_type(id))
            }
            _ => self.ty().to_string(),
        };
        Err(UsageError::ArgumentType {
            index,
            expected: expected.to_string(),
            given,
        }
        .into())
    }

    /// The null reference of type `ty`'s hierarchy.
    pub fn null(ty: &RefType) -> Val {
        match ty.heap_type().top() {
            AbstractHeapType::Extern => Val::ExternRef(None),
            AbstractHeapType::Any => Val::AnyRef(None),
            AbstractHeapType::Exn => Val::ExnRef(None),
            _ => Val::FuncRef(None),
        }
    }

    /// The top type of a reference's hierarchy; meaningless for numbers.
    fn hierarchy(&self) -> AbstractHeapType {
        match self {
            Val::ExternRef(_) => AbstractHeapType::Extern,
            Val::AnyRef(_) => AbstractHeapType::Any,
            Val::ExnRef(_) => AbstractHeapType::Exn,
            _ => AbstractHeapType::Func,
        }
    }

    /// The zero value of `ty`: `0` or null. Non-nullable references get null as well, which
    /// suits placeholders for results.
    pub fn default_for(ty: &ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(ty) => Val::null(ty),
        }
    }

    /// The value, if it is an `i32`.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(value) => Some(*value),
            _ => None,
        }
    }

    /// The value, if it is an `i64`.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(value) => Some(*value),
            _ => None,
        }
    }

    /// The value, if it is an `f32`.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(bits) => Some(f32::from_bits(*bits)),
            _ => None,
        }
    }

    /// The value, if it is an `f64`.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }

    /// The bits, if it is a `v128`.
    pub fn v128(&self) -> Option<u128> {
        match self {
            Val::V128(bits) => Some(*bits),
            _ => None,
        }
    }

    /// The raw slot representation of a number or vector; `None` for a reference, whose
    /// representation depends on its store.
    pub(crate) fn number_bits(&self) -> Option<u128> {
        Some(match self {
            Val::I32(value) => u128::from(*value as u32),
            Val::I64(value) => u128::from(*value as u64),
            Val::F32(bits) => u128::from(*bits),
            Val::F64(bits) => u128::from(*bits),
            Val::V128(bits) => *bits,
            Val::FuncRef(_) | Val::ExternRef(_) | Val::AnyRef(_) | Val::ExnRef(_) => return None,
        })
    }

    /// Reads a raw slot of number or vector type `ty`; `None` for a reference type. Only the
    /// low bytes of narrow types are meaningful.
    pub(crate) fn from_number_bits(bits: u128, ty: &ValType) -> Option<Val> {
        let raw = bits as u64;
        Some(match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            ValType::V128 => Val::V128(bits),
            ValType::Ref(_) => return None,
        })
    }

    /// The raw slot representation. References must belong to `store`.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<u128, Error> {
        if let Some(bits) = self.number_bits() {
            return Ok(bits);
        }
        Ok(u128::from(match self {
            Val::I32(_) | Val::I64(_) | Val::F32(_) | Val::F64(_) | Val::V128(_) => {
                unreachable!("numbers were handled above")
            }
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => 0,
            Val::ExnRef(Some(exn)) => {
                exn.store.check(store)?;
                exn.address
            }
            Val::FuncRef(Some(func)) => {
                func.store.check(store)?;
                let raw = store.func_to_raw(func.index) as u64;
                debug_assert!(!i31::is_i31(raw), "funcrefs are aligned pointers");
                raw
            }
            Val::ExternRef(Some(externref)) | Val::AnyRef(Some(AnyRef::Extern(externref))) => {
                externref.store.check(store)?;
                externref.raw
            }
            Val::AnyRef(Some(AnyRef::I31(value))) => i31::encode(value.get_u()),
            Val::AnyRef(Some(AnyRef::Struct(object) | AnyRef::Array(object))) => {
                object.store.check(store)?;
                object.address
            }
        }))
    }

    /// Reads a raw slot of type `ty`; only the low bytes of narrow types are meaningful.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: u128, ty: &ValType) -> Val {
        let ValType::Ref(ty) = ty else {
            return Val::from_number_bits(raw, ty).expect("only reference types need the store");
        };
        let raw = raw as u64;
        match ty.heap_type().top() {
            AbstractHeapType::Extern => Val::ExternRef((raw != 0).then(|| ExternRef {
                store: StoreId::of(store),
                raw,
            })),
            AbstractHeapType::Any => Val::AnyRef((raw != 0).then(|| {
                let id = StoreId::of(store);
                if i31::is_i31(raw) {
                    AnyRef::I31(I31(i31::decode_u(raw)))
                } else if gc::is_object(raw) {
                    let object = GcRef {
                        store: id,
                        address: raw,
                    };
                    match store.object_kind(raw) {
                        TypeKind::Array => AnyRef::Array(object),
                        _ => AnyRef::Struct(object),
                    }
                } else {
                    AnyRef::Extern(ExternRef { store: id, raw })
                }
            })),
            AbstractHeapType::Exn => Val::ExnRef((raw != 0).then(|| ExnRef {
                store: StoreId::of(store),
                address: raw,
            })),
            _ => Val::FuncRef((raw != 0).then(|| Func {
                store: StoreId::of(store),
                index: store.func_from_raw(raw as usize),
            })),
        }
    }
}

impl From<i32> for Val {
    fn from(value: i32) -> Val {
        Val::I32(value)
    }
}

impl From<i64> for Val {
    fn from(value: i64) -> Val {
        Val::I64(value)
    }
}

impl From<f32> for Val {
    fn from(value: f32) -> Val {
        Val::F32(value.to_bits())
    }
}

impl From<f64> for Val {
    fn from(value: f64) -> Val {
        Val::F64(value.to_bits())
    }
}

impl From<AnyRef> for Val {
    fn from(any: AnyRef) -> Val {
        Val::AnyRef(Some(any))
    }
}

impl From<Func> for Val {
    fn from(func: Func) -> Val {
        Val::FuncRef(Some(func))
    }
}

/// A non-null `externref`: a host value passed to wasm, or a reference of the any hierarchy
/// that wasm turned into one with `extern.convert_any`. Host values live until their store
/// is dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    store: StoreId,
    raw: u64,
}

impl ExternRef {
    /// A reference to `value`, which `store` keeps until it is dropped; wasm code passes
    /// the reference around but cannot look inside. [`ExternRef::data`] gives the value
    /// back.
    pub fn new(mut store: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let mut cx = store.as_context_mut();
        let raw = cx.opaque().push_externref(Box::new(value));
        ExternRef {
            store: StoreId::of(cx.opaque()),
            raw,
        }
    }

    /// The host value, to downcast to the type it was created with; `None` when the
    /// reference is an externalized i31, struct or array rather than a host value.
    pub fn data<'a, C: AsContext>(
        &self,
        store: &'a C,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>, Error> {
        let inner = store.as_context().inner;
        let opaque: &'a StoreOpaque = &inner.opaque;
        self.store.check(opaque)?;
        Ok(opaque.externref(self.raw))
    }
}

/// A non-null reference of the any hierarchy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AnyRef {
    /// An `i31ref`'s value.
    I31(I31),
    /// A struct.
    Struct(GcRef),
    /// An array.
    Array(GcRef),
    /// A host value that wasm turned into an `anyref` with `any.convert_extern`.
    Extern(ExternRef),
}

/// A struct or array, allocated by wasm or by [`AnyRef::new_struct`] and
/// [`AnyRef::new_array`]. Two `GcRef`s are equal exactly when `ref.eq` would
/// say so. The object lives until its store is dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GcRef {
    pub(super) store: StoreId,
    pub(super) address: u64,
}

/// A reference to an exception: what `throw` creates and `catch_ref` hands over. It lives
/// until its store is dropped; two `ExnRef`s are equal when they are the same exception.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef {
    pub(super) store: StoreId,
    pub(super) address: u64,
}

impl ExnRef {
    /// A new exception of `tag` carrying `fields`, one value of each of the tag's parameter
    /// types, in `store`'s GC heap. Fails with a [`UsageError`] when the values do not fit
    /// the tag, and with [`Trap::AllocationTooLarge`](crate::Trap) when the heap is full.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, fields: &[Val]) -> Result<ExnRef, Error> {
        let ty = tag.ty(&store);
        let mut cx = store.as_context_mut();
        let params = ty.ty().params();
        if params.len() != fields.len() {
            return Err(UsageError::ArgumentCount {
                expected: params.len(),
                given: fields.len(),
            }
            .into());
        }
        let mut payload = Vec::with_capacity(fields.len());
        for (index, (field, param)) in fields.iter().zip(params).enumerate() {
            field.check(&cx.inner.opaque, cx.engine, param, index)?;
            payload.push(field.to_raw(cx.opaque())?);
        }
        let address = cx
            .opaque()
            .new_exception(tag.index, &payload)
            .ok_or(Error::from(crate::Trap::AllocationTooLarge))?;
        Ok(ExnRef {
            store: StoreId::of(cx.opaque()),
            address,
        })
    }

    /// The exception's tag.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this exception belongs to.
    pub fn tag(&self, store: impl AsContext) -> Tag {
        let cx = store.as_context();
        self.store.assert_owns(cx.opaque());
        Tag {
            store: self.store,
            index: cx.opaque().exception_tag(self.address),
        }
    }

    /// Value `index` of those the exception carries; `None` past the last.
    ///
    /// # Panics
    ///
    /// If `store` is not the store this exception belongs to.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Option<Val> {
        let ty = self.tag(&store).ty(&store);
        let param = ty.ty().params().get(index)?.clone();
        let mut cx = store.as_context_mut();
        let raw = cx.opaque().exception_value(self.address, index);
        Some(Val::from_raw(cx.opaque(), raw, &param))
    }

    /// The error that throws this exception: a host function called from wasm that returns
    /// it throws the exception into its wasm caller, where a `try_table` may catch it.
    pub fn throw(&self) -> Error {
        Error::Exception(UncaughtException { word: self.address })
    }
}

/// A 31-bit integer, the payload of an `i31ref`. It carries no sharedness: the same value
/// fits `(ref i31)` and `(ref (shared i31))`, as `ref.i31` and `ref.i31_shared` build the
/// same bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value`, as `ref.i31` keeps them.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value`, as `ref.i31` keeps them.
    pub fn wrapping_i32(value: i32) -> I31 {
        I31::wrapping_u32(value as u32)
    }

    /// The value zero-extended, as `i31.get_u` reads it.
    pub fn get_u(self) -> u32 {
        self.0
    }

    /// The value sign-extended from bit 30, as `i31.get_s` reads it.
    pub fn get_s(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}
