//! Types of values and external entities, as embedders see them.

use super::engine::Engine;
use super::error::CompileError;
use crate::environ::TypeHold;
use std::fmt;
use std::sync::Arc;

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl ValType {
    /// `funcref`, that is `(ref null func)`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, that is `(ref null extern)`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);

    /// Converts a type whose concrete heap types are resolved by `resolve` (module type
    /// indices or engine ids, depending on where the type comes from).
    pub(crate) fn from_wasm(ty: wasmparser::ValType, resolve: &Resolve<'_>) -> Option<ValType> {
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(ty) => ValType::Ref(RefType::from_wasm(ty, resolve)?),
        })
    }

    /// The wasmparser form, with concrete heap types named by their engine-wide ids.
    pub(crate) fn to_wasm(&self, engine: &Engine) -> wasmparser::ValType {
        match self {
            ValType::I32 => wasmparser::ValType::I32,
            ValType::I64 => wasmparser::ValType::I64,
            ValType::F32 => wasmparser::ValType::F32,
            ValType::F64 => wasmparser::ValType::F64,
            ValType::V128 => wasmparser::ValType::V128,
            ValType::Ref(ty) => wasmparser::ValType::Ref(ty.to_wasm(engine)),
        }
    }

    /// Whether values of this type may be shared between threads: numbers, and references
    /// to shared heap types.
    pub fn is_shareable(&self) -> bool {
        match self {
            ValType::Ref(ty) => ty.heap_type().is_shared(),
            _ => true,
        }
    }

    /// Whether a value of this type may be used where `other` is expected.
    pub fn matches(&self, other: &ValType) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(ty) => ty.fmt(f),
        }
    }
}

/// Maps a concrete heap type's index (a module type index or an engine-wide id, depending on
/// where the type comes from) to its heap type.
pub(crate) type Resolve<'a> = dyn Fn(u32) -> HeapType + 'a;

/// What a reference points to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// One of the spec's abstract heap types, shared (shared-everything threads) or not.
    /// Shared and unshared types are never subtypes of each other.
    Abstract {
        /// Whether it is the `shared` variant.
        shared: bool,
        /// Which type.
        ty: AbstractHeapType,
    },
    /// A function of exactly this type: a final function type, alone in its recursion group
    /// and without supertype, which its parameters and results describe across modules.
    ConcreteFunc(FuncType),
    /// Any other concrete type (a struct or array type, or a function type that is recursive
    /// or declares subtyping), known by the id its engine gave it.
    Concrete(ConcreteType),
}

/// A concrete type its engine knows by id. Ids mean something only within one engine; two
/// modules' identical recursion groups get the same ids there. The type stays registered
/// while a `ConcreteType` names it, after every module that declared it is dropped.
#[derive(Clone, Debug)]
pub struct ConcreteType {
    pub(crate) id: u32,
    pub(crate) kind: ConcreteKind,
    pub(crate) shared: bool,
    /// The ids of the declared supertype chain, root first, ending with `id`.
    pub(crate) ancestors: Arc<[u32]>,
    /// Keeps the type registered; not part of its identity.
    pub(crate) _hold: Arc<TypeHold>,
}

impl PartialEq for ConcreteType {
    fn eq(&self, other: &ConcreteType) -> bool {
        self.id == other.id
    }
}

impl Eq for ConcreteType {}

impl std::hash::Hash for ConcreteType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// What a [`ConcreteType`] defines.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConcreteKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl ConcreteType {
    /// Whether it is a function, struct or array type.
    pub fn kind(&self) -> ConcreteKind {
        self.kind
    }

    /// Whether the type is shared, `(shared (struct ...))` and the like.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The abstract type just above this one: `func`, `struct` or `array`.
    fn abstract_super(&self) -> AbstractHeapType {
        match self.kind {
            ConcreteKind::Func => AbstractHeapType::Func,
            ConcreteKind::Struct => AbstractHeapType::Struct,
            ConcreteKind::Array => AbstractHeapType::Array,
        }
    }

    /// Whether this type is `other` or declares it among its supertypes.
    pub fn is_subtype_of(&self, other: &ConcreteType) -> bool {
        self.ancestors.contains(&other.id)
    }
}

impl fmt::Display for ConcreteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ConcreteKind::Func => "func",
            ConcreteKind::Struct => "struct",
            ConcreteKind::Array => "array",
        };
        if self.shared {
            write!(f, "(shared {kind} type #{})", self.id)
        } else {
            write!(f, "({kind} type #{})", self.id)
        }
    }
}

/// The abstract heap types.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AbstractHeapType {
    /// Any function.
    Func,
    /// The bottom of the function hierarchy: only null.
    NoFunc,
    /// Any host reference.
    Extern,
    /// The bottom of the extern hierarchy: only null.
    NoExtern,
    /// The top of the hierarchy of internal references.
    Any,
    /// References comparable with `ref.eq`.
    Eq,
    /// 31-bit integers stored in the reference itself.
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// The bottom of the any hierarchy: only null.
    None,
    /// Any exception (exception handling; weft has only the null one).
    Exn,
    /// The bottom of the exception hierarchy: only null.
    NoExn,
}

impl AbstractHeapType {
    /// The top type of this type's hierarchy: `Func`, `Extern` or `Any`. Values of different
    /// hierarchies never fit one another's types.
    pub fn top(self) -> AbstractHeapType {
        use AbstractHeapType as A;
        match self {
            A::Func | A::NoFunc => A::Func,
            A::Extern | A::NoExtern => A::Extern,
            A::Exn | A::NoExn => A::Exn,
            A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None => A::Any,
        }
    }

    /// The spec's subtyping among abstract types of the same sharedness.
    fn matches(self, other: AbstractHeapType) -> bool {
        use AbstractHeapType as A;
        self == other
            || matches!(
                (self, other),
                (A::NoFunc, A::Func)
                    | (A::NoExtern, A::Extern)
                    | (A::NoExn, A::Exn)
                    | (A::None | A::I31 | A::Struct | A::Array | A::Eq, A::Any)
                    | (A::None | A::I31 | A::Struct | A::Array, A::Eq)
                    | (A::None, A::I31 | A::Struct | A::Array)
            )
    }

    fn from_wasm(ty: wasmparser::AbstractHeapType) -> Option<AbstractHeapType> {
        use wasmparser::AbstractHeapType as W;
        Some(match ty {
            W::Func => AbstractHeapType::Func,
            W::NoFunc => AbstractHeapType::NoFunc,
            W::Extern => AbstractHeapType::Extern,
            W::NoExtern => AbstractHeapType::NoExtern,
            W::Any => AbstractHeapType::Any,
            W::Eq => AbstractHeapType::Eq,
            W::I31 => AbstractHeapType::I31,
            W::Struct => AbstractHeapType::Struct,
            W::Array => AbstractHeapType::Array,
            W::None => AbstractHeapType::None,
            W::Exn => AbstractHeapType::Exn,
            W::NoExn => AbstractHeapType::NoExn,
            _ => return None,
        })
    }

    fn to_wasm(self) -> wasmparser::AbstractHeapType {
        use wasmparser::AbstractHeapType as W;
        match self {
            AbstractHeapType::Func => W::Func,
            AbstractHeapType::NoFunc => W::NoFunc,
            AbstractHeapType::Extern => W::Extern,
            AbstractHeapType::NoExtern => W::NoExtern,
            AbstractHeapType::Any => W::Any,
            AbstractHeapType::Eq => W::Eq,
            AbstractHeapType::I31 => W::I31,
            AbstractHeapType::Struct => W::Struct,
            AbstractHeapType::Array => W::Array,
            AbstractHeapType::None => W::None,
            AbstractHeapType::Exn => W::Exn,
            AbstractHeapType::NoExn => W::NoExn,
        }
    }
}

impl fmt::Display for AbstractHeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AbstractHeapType::Func => "func",
            AbstractHeapType::NoFunc => "nofunc",
            AbstractHeapType::Extern => "extern",
            AbstractHeapType::NoExtern => "noextern",
            AbstractHeapType::Any => "any",
            AbstractHeapType::Eq => "eq",
            AbstractHeapType::I31 => "i31",
            AbstractHeapType::Struct => "struct",
            AbstractHeapType::Array => "array",
            AbstractHeapType::None => "none",
            AbstractHeapType::Exn => "exn",
            AbstractHeapType::NoExn => "noexn",
        })
    }
}

impl HeapType {
    /// `func`, unshared.
    pub const FUNC: HeapType = HeapType::unshared(AbstractHeapType::Func);
    /// `extern`, unshared.
    pub const EXTERN: HeapType = HeapType::unshared(AbstractHeapType::Extern);

    /// The unshared abstract type `ty`.
    pub const fn unshared(ty: AbstractHeapType) -> HeapType {
        HeapType::Abstract { shared: false, ty }
    }

    /// The shared abstract type `ty`, `(shared ty)`.
    pub const fn shared(ty: AbstractHeapType) -> HeapType {
        HeapType::Abstract { shared: true, ty }
    }

    /// The top type of this type's hierarchy, which decides how its values are represented.
    pub fn top(&self) -> AbstractHeapType {
        match self {
            HeapType::Abstract { ty, .. } => ty.top(),
            HeapType::ConcreteFunc(_) => AbstractHeapType::Func,
            HeapType::Concrete(ty) => ty.abstract_super().top(),
        }
    }

    /// Whether the type is shared: a shared abstract type or a shared function type.
    pub fn is_shared(&self) -> bool {
        match self {
            HeapType::Abstract { shared, .. } => *shared,
            HeapType::ConcreteFunc(ty) => ty.is_shared(),
            HeapType::Concrete(ty) => ty.shared,
        }
    }

    fn matches(&self, other: &HeapType) -> bool {
        use AbstractHeapType as A;
        match (self, other) {
            (HeapType::ConcreteFunc(a), HeapType::ConcreteFunc(b)) => a == b,
            (HeapType::ConcreteFunc(a), other) => {
                // Only its own abstract type: no concrete type is one of its supertypes.
                *other
                    == HeapType::Abstract {
                        shared: a.is_shared(),
                        ty: A::Func,
                    }
            }
            (HeapType::Abstract { shared, ty }, HeapType::ConcreteFunc(b)) => {
                *shared == b.is_shared() && *ty == A::NoFunc
            }
            (HeapType::Concrete(a), HeapType::Concrete(b)) => a.is_subtype_of(b),
            (HeapType::Concrete(a), HeapType::Abstract { shared, ty }) => {
                *shared == a.shared && a.abstract_super().matches(*ty)
            }
            (HeapType::Abstract { shared, ty }, HeapType::Concrete(b)) => {
                let bottom = match b.kind {
                    ConcreteKind::Func => A::NoFunc,
                    _ => A::None,
                };
                *shared == b.shared && *ty == bottom
            }
            // A function type known structurally has no supertypes and no subtypes but itself.
            (HeapType::Concrete(_), HeapType::ConcreteFunc(_)) => false,
            (
                HeapType::Abstract { shared, ty },
                HeapType::Abstract {
                    shared: other_shared,
                    ty: other_ty,
                },
            ) => shared == other_shared && ty.matches(*other_ty),
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Abstract { shared: false, ty } => ty.fmt(f),
            HeapType::Abstract { shared: true, ty } => write!(f, "(shared {ty})"),
            HeapType::ConcreteFunc(ty) => ty.fmt(f),
            HeapType::Concrete(ty) => ty.fmt(f),
        }
    }
}

/// A reference type: nullable or not, to an abstract or a concrete heap type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    nullable: bool,
    heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType::new(true, HeapType::FUNC);
    /// `externref`.
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::EXTERN);

    /// `(ref null heap)` if `nullable`, else `(ref heap)`.
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType { nullable, heap }
    }

    /// Whether null is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// What the reference points to.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap
    }

    /// Whether the reference is a function reference, shared or not.
    pub fn is_func(&self) -> bool {
        self.heap.top() == AbstractHeapType::Func
    }

    /// The spec's subtyping: non-null fits nullable, a typed function reference fits `func`,
    /// and abstract types follow their hierarchy (`none <: i31 <: eq <: any`, `nofunc <:
    /// func`, `noextern <: extern`) within one sharedness.
    pub fn matches(&self, other: &RefType) -> bool {
        (other.nullable || !self.nullable) && self.heap.matches(&other.heap)
    }

    pub(crate) fn from_wasm(ty: wasmparser::RefType, resolve: &Resolve<'_>) -> Option<RefType> {
        use wasmparser::{HeapType as H, UnpackedIndex};
        let heap = match ty.heap_type() {
            H::Abstract { shared, ty } => HeapType::Abstract {
                shared,
                ty: AbstractHeapType::from_wasm(ty)?,
            },
            H::Concrete(UnpackedIndex::Module(index)) => resolve(index),
            _ => return None,
        };
        Some(RefType::new(ty.is_nullable(), heap))
    }

    /// The type as the engine's own code sees it, naming concrete types by engine-wide id.
    /// What holds the result (a host function's signature, a host global's or table's type)
    /// has nothing to keep those types registered, so their groups are pinned, as
    /// host-made objects' are: a forgotten id would go to another group, and the host
    /// object would then match that group's type instead.
    pub(crate) fn to_wasm(&self, engine: &Engine) -> wasmparser::RefType {
        use wasmparser::{HeapType as H, UnpackedIndex};
        let heap = match &self.heap {
            HeapType::Abstract { shared, ty } => H::Abstract {
                shared: *shared,
                ty: ty.to_wasm(),
            },
            HeapType::ConcreteFunc(ty) => {
                H::Concrete(UnpackedIndex::Module(engine.register_type(ty)))
            }
            HeapType::Concrete(ty) => {
                engine.types().pin(ty.id);
                H::Concrete(UnpackedIndex::Module(ty.id))
            }
        };
        wasmparser::RefType::new(self.nullable, heap).expect("engine type ids fit a packed index")
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, &self.heap) {
            (true, HeapType::Abstract { shared: false, ty }) => f.write_str(match ty {
                AbstractHeapType::Func => "funcref",
                AbstractHeapType::NoFunc => "nullfuncref",
                AbstractHeapType::Extern => "externref",
                AbstractHeapType::NoExtern => "nullexternref",
                AbstractHeapType::Any => "anyref",
                AbstractHeapType::Eq => "eqref",
                AbstractHeapType::I31 => "i31ref",
                AbstractHeapType::Struct => "structref",
                AbstractHeapType::Array => "arrayref",
                AbstractHeapType::None => "nullref",
                AbstractHeapType::Exn => "exnref",
                AbstractHeapType::NoExn => "nullexnref",
            }),
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

impl From<RefType> for ValType {
    fn from(ty: RefType) -> ValType {
        ValType::Ref(ty)
    }
}

/// A function signature. A shared function type (shared-everything threads) is a different
/// type from the unshared one with the same parameters and results: neither matches the other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
    shared: bool,
}

impl FuncType {
    /// An unshared function type.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
            shared: false,
        }
    }

    /// A shared function type, `(shared (func ...))`.
    pub fn shared(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            shared: true,
            ..FuncType::new(params, results)
        }
    }

    /// Whether this is a shared function type.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The parameter types, in order.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types, in order.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    pub(crate) fn from_wasm(
        ty: &wasmparser::FuncType,
        shared: bool,
        resolve: &Resolve<'_>,
    ) -> Result<FuncType, CompileError> {
        let convert = |types: &[wasmparser::ValType]| {
            types
                .iter()
                .map(|&ty| {
                    ValType::from_wasm(ty, resolve).ok_or_else(|| CompileError::Unsupported {
                        feature: format!("value type {ty}"),
                        offset: 0,
                    })
                })
                .collect::<Result<Box<[_]>, _>>()
        };
        Ok(FuncType {
            params: convert(ty.params())?,
            results: convert(ty.results())?,
            shared,
        })
    }

    pub(crate) fn to_wasm(&self, engine: &Engine) -> wasmparser::FuncType {
        wasmparser::FuncType::new(
            self.params.iter().map(|ty| ty.to_wasm(engine)),
            self.results.iter().map(|ty| ty.to_wasm(engine)),
        )
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text format's spelling: an empty list is left out, not written `(param )`.
        let list = |keyword: &str, types: &[ValType]| {
            if types.is_empty() {
                return String::new();
            }
            let names: Vec<String> = types.iter().map(ToString::to_string).collect();
            format!(" ({keyword} {})", names.join(" "))
        };
        let func = format!(
            "(func{}{})",
            list("param", &self.params),
            list("result", &self.results)
        );
        if self.shared {
            write!(f, "(shared {func})")
        } else {
            f.write_str(&func)
        }
    }
}

/// Whether a global can be written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable: set once, by its initializer.
    Const,
    /// Mutable, `(mut t)`.
    Var,
}

/// A global's type. A shared global (shared-everything threads) is a different type from
/// the unshared one with the same content: neither satisfies an import of the other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
    shared: bool,
}

impl GlobalType {
    /// An unshared global's type.
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutability,
            shared: false,
        }
    }

    /// A shared global's type, `(global (shared ...))`; its content must be shareable.
    pub fn shared(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            shared: true,
            ..GlobalType::new(content, mutability)
        }
    }

    /// Whether this is a shared global's type.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The type of the value the global holds.
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// Whether the global can be written.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_wasm(
        ty: wasmparser::GlobalType,
        resolve: &Resolve<'_>,
    ) -> Option<GlobalType> {
        Some(GlobalType {
            content: ValType::from_wasm(ty.content_type, resolve)?,
            mutability: if ty.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
            shared: ty.shared,
        })
    }

    pub(crate) fn to_wasm(&self, engine: &Engine) -> wasmparser::GlobalType {
        wasmparser::GlobalType {
            content_type: self.content.to_wasm(engine),
            mutable: self.mutability == Mutability::Var,
            shared: self.shared,
        }
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = match self.mutability {
            Mutability::Const => self.content.to_string(),
            Mutability::Var => format!("mut {}", self.content),
        };
        match (self.shared, self.mutability) {
            (true, _) => write!(f, "(global (shared {content}))"),
            (false, Mutability::Const) => write!(f, "(global {content})"),
            (false, Mutability::Var) => write!(f, "(global ({content}))"),
        }
    }
}

/// A memory's type, in 64 KiB pages: 32-bit addresses, or 64-bit ones (memory64). A memory
/// only satisfies an import of its own address width.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    shared: bool,
    is_64: bool,
}

impl MemoryType {
    /// An unshared 32-bit memory's type, with sizes in pages.
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType::new64(u64::from(minimum), maximum.map(u64::from)).with_32_bit_addresses()
    }

    /// A shared 32-bit memory's type; shared memories always have a maximum.
    pub fn shared(minimum: u32, maximum: u32) -> MemoryType {
        MemoryType::shared64(u64::from(minimum), u64::from(maximum)).with_32_bit_addresses()
    }

    /// An unshared memory type with 64-bit addresses, `(memory i64 ...)`. weft gives every
    /// memory at most 65536 pages (4 GiB), whatever its maximum: growing further fails.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            shared: false,
            is_64: true,
        }
    }

    /// A shared memory type with 64-bit addresses, `(memory i64 ... shared)`.
    pub fn shared64(minimum: u64, maximum: u64) -> MemoryType {
        MemoryType {
            maximum: Some(maximum),
            shared: true,
            ..MemoryType::new64(minimum, None)
        }
    }

    fn with_32_bit_addresses(self) -> MemoryType {
        MemoryType {
            is_64: false,
            ..self
        }
    }

    /// Whether the memory takes 64-bit addresses (memory64).
    pub fn is_64(&self) -> bool {
        self.is_64
    }

    /// The size in pages a new memory starts with; for a live memory's type, its current
    /// size.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The most pages the memory may grow to; `None` if the type sets none (a 32-bit
    /// memory stops at 65536 pages, 4 GiB, anyway).
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    /// Whether this is a shared memory's type.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    pub(crate) fn from_wasm(ty: wasmparser::MemoryType) -> MemoryType {
        MemoryType {
            minimum: ty.initial,
            maximum: ty.maximum,
            shared: ty.shared,
            is_64: ty.memory64,
        }
    }

    pub(crate) fn to_wasm(self) -> wasmparser::MemoryType {
        wasmparser::MemoryType {
            memory64: self.is_64,
            shared: self.shared,
            initial: self.minimum,
            maximum: self.maximum,
            page_size_log2: None,
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(memory ")?;
        if self.is_64 {
            write!(f, "i64 ")?;
        }
        write!(f, "{}", self.minimum)?;
        if let Some(maximum) = self.maximum {
            write!(f, " {maximum}")?;
        }
        if self.shared {
            write!(f, " shared")?;
        }
        write!(f, ")")
    }
}

/// A table's type, with 32-bit or 64-bit (table64) indices. Shared and unshared tables, and
/// tables of different index widths, never satisfy each other's imports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    element: RefType,
    minimum: u64,
    maximum: Option<u64>,
    shared: bool,
    is_64: bool,
}

impl TableType {
    /// An unshared table's type.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            is_64: false,
            ..TableType::new64(element, u64::from(minimum), maximum.map(u64::from))
        }
    }

    /// An unshared table type with 64-bit indices, `(table i64 ...)`.
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element,
            minimum,
            maximum,
            shared: false,
            is_64: true,
        }
    }

    /// Whether the table takes 64-bit indices (table64).
    pub fn is_64(&self) -> bool {
        self.is_64
    }

    /// A shared table's type, `(table shared ...)`; its element type must be shared.
    pub fn shared(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            shared: true,
            ..TableType::new(element, minimum, maximum)
        }
    }

    /// Whether this is a shared table's type.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The type of the elements.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// The number of elements a new table starts with; for a live table's type, its
    /// current size.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The most elements the table may grow to; `None` if the type sets none.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub(crate) fn from_wasm(ty: wasmparser::TableType, resolve: &Resolve<'_>) -> Option<TableType> {
        Some(TableType {
            element: RefType::from_wasm(ty.element_type, resolve)?,
            minimum: ty.initial,
            maximum: ty.maximum,
            shared: ty.shared,
            is_64: ty.table64,
        })
    }

    pub(crate) fn to_wasm(&self, engine: &Engine) -> wasmparser::TableType {
        wasmparser::TableType {
            element_type: self.element.to_wasm(engine),
            table64: self.is_64,
            initial: self.minimum,
            maximum: self.maximum,
            shared: self.shared,
        }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.shared {
            "(table shared "
        } else {
            "(table "
        })?;
        if self.is_64 {
            write!(f, "i64 ")?;
        }
        write!(f, "{}", self.minimum)?;
        if let Some(maximum) = self.maximum {
            write!(f, " {maximum}")?;
        }
        write!(f, " {})", self.element)
    }
}

/// An exception tag's type: the function type whose parameters are the values an exception
/// of the tag carries (its results are always empty). A tag only satisfies an import of
/// exactly its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// The type of tags whose exceptions carry the parameters of `ty`. Fails with a
    /// [`UsageError`](super::UsageError) when `ty` has results, which the exception-handling
    /// proposal does not allow.
    pub fn new(ty: FuncType) -> Result<TagType, super::Error> {
        if !ty.results().is_empty() {
            return Err(super::UsageError::UnsupportedType(format!(
                "{ty}: a tag's function type has no results"
            ))
            .into());
        }
        Ok(TagType { ty })
    }

    /// The function type whose parameters an exception of the tag carries.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// A module's tag, whose type validation already checked.
    pub(crate) fn of_module(ty: FuncType) -> TagType {
        TagType { ty }
    }
}

impl fmt::Display for TagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(tag")?;
        for param in self.ty.params() {
            write!(f, " (param {param})")?;
        }
        write!(f, ")")
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    /// A function's type.
    Func(FuncType),
    /// A global's type.
    Global(GlobalType),
    /// A memory's type, shared or not.
    Memory(MemoryType),
    /// A table's type.
    Table(TableType),
    /// An exception tag's type.
    Tag(TagType),
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(ty) => ty.fmt(f),
            ExternType::Global(ty) => ty.fmt(f),
            ExternType::Memory(ty) => ty.fmt(f),
            ExternType::Table(ty) => ty.fmt(f),
            ExternType::Tag(ty) => ty.fmt(f),
        }
    }
}

/// One of a module's imports.
#[derive(Clone, Debug)]
pub struct ImportType {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) ty: ExternType,
}

impl ImportType {
    /// The module name, the first of the import's two names.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The field name, the second.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type a definition must match.
    pub fn ty(&self) -> &ExternType {
        &self.ty
    }
}

/// One of a module's exports.
#[derive(Clone, Debug)]
pub struct ExportType {
    pub(crate) name: String,
    pub(crate) ty: ExternType,
}

impl ExportType {
    /// The export's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exported item's type.
    pub fn ty(&self) -> &ExternType {
        &self.ty
    }
}
