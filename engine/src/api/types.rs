//! Types of values and external entities, as embedders see them.

use super::error::CompileError;
use std::fmt;

/// The type of a value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

impl ValType {
    pub(crate) fn from_wasm(ty: wasmparser::ValType) -> Option<ValType> {
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(ty) => RefType::from_wasm(ty)?.into(),
        })
    }

    pub(crate) fn to_wasm(self) -> wasmparser::ValType {
        match self {
            ValType::I32 => wasmparser::ValType::I32,
            ValType::I64 => wasmparser::ValType::I64,
            ValType::F32 => wasmparser::ValType::F32,
            ValType::F64 => wasmparser::ValType::F64,
            ValType::V128 => wasmparser::ValType::V128,
            ValType::FuncRef => wasmparser::ValType::FUNCREF,
            ValType::ExternRef => wasmparser::ValType::EXTERNREF,
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// The nullable reference types of WebAssembly 2.0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RefType {
    FuncRef,
    ExternRef,
}

impl RefType {
    pub(crate) fn from_wasm(ty: wasmparser::RefType) -> Option<RefType> {
        if ty == wasmparser::RefType::FUNCREF {
            Some(RefType::FuncRef)
        } else if ty == wasmparser::RefType::EXTERNREF {
            Some(RefType::ExternRef)
        } else {
            None
        }
    }

    pub(crate) fn to_wasm(self) -> wasmparser::RefType {
        match self {
            RefType::FuncRef => wasmparser::RefType::FUNCREF,
            RefType::ExternRef => wasmparser::RefType::EXTERNREF,
        }
    }
}

impl From<RefType> for ValType {
    fn from(ty: RefType) -> ValType {
        match ty {
            RefType::FuncRef => ValType::FuncRef,
            RefType::ExternRef => ValType::ExternRef,
        }
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    pub(crate) fn from_wasm(ty: &wasmparser::FuncType) -> Result<FuncType, CompileError> {
        let convert = |types: &[wasmparser::ValType]| {
            types
                .iter()
                .map(|&ty| {
                    ValType::from_wasm(ty).ok_or_else(|| CompileError::Unsupported {
                        feature: format!("value type {ty}"),
                        offset: 0,
                    })
                })
                .collect::<Result<Box<[_]>, _>>()
        };
        Ok(FuncType {
            params: convert(ty.params())?,
            results: convert(ty.results())?,
        })
    }

    pub(crate) fn to_wasm(&self) -> wasmparser::FuncType {
        wasmparser::FuncType::new(
            self.params.iter().map(|ty| ty.to_wasm()),
            self.results.iter().map(|ty| ty.to_wasm()),
        )
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |types: &[ValType]| {
            types
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// Whether a global can be written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    Const,
    Var,
}

/// A global's type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutability,
        }
    }

    pub fn content(&self) -> ValType {
        self.content
    }

    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_wasm(ty: wasmparser::GlobalType) -> Option<GlobalType> {
        Some(GlobalType {
            content: ValType::from_wasm(ty.content_type)?,
            mutability: if ty.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
        })
    }

    pub(crate) fn to_wasm(self) -> wasmparser::GlobalType {
        wasmparser::GlobalType {
            content_type: self.content.to_wasm(),
            mutable: self.mutability == Mutability::Var,
            shared: false,
        }
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mutability {
            Mutability::Const => write!(f, "(global {})", self.content),
            Mutability::Var => write!(f, "(global (mut {}))", self.content),
        }
    }
}

/// A memory's type, in 64 KiB pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    shared: bool,
}

impl MemoryType {
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            minimum: u64::from(minimum),
            maximum: maximum.map(u64::from),
            shared: false,
        }
    }

    /// A shared memory type; shared memories always have a maximum.
    pub fn shared(minimum: u32, maximum: u32) -> MemoryType {
        MemoryType {
            minimum: u64::from(minimum),
            maximum: Some(u64::from(maximum)),
            shared: true,
        }
    }

    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub fn is_shared(&self) -> bool {
        self.shared
    }

    pub(crate) fn from_wasm(ty: wasmparser::MemoryType) -> MemoryType {
        MemoryType {
            minimum: ty.initial,
            maximum: ty.maximum,
            shared: ty.shared,
        }
    }

    pub(crate) fn to_wasm(self) -> wasmparser::MemoryType {
        wasmparser::MemoryType {
            memory64: false,
            shared: self.shared,
            initial: self.minimum,
            maximum: self.maximum,
            page_size_log2: None,
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(memory {}", self.minimum)?;
        if let Some(maximum) = self.maximum {
            write!(f, " {maximum}")?;
        }
        if self.shared {
            write!(f, " shared")?;
        }
        write!(f, ")")
    }
}

/// A table's type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    element: RefType,
    minimum: u64,
    maximum: Option<u64>,
}

impl TableType {
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            element,
            minimum: u64::from(minimum),
            maximum: maximum.map(u64::from),
        }
    }

    pub fn element(&self) -> RefType {
        self.element
    }

    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub(crate) fn from_wasm(ty: wasmparser::TableType) -> Option<TableType> {
        Some(TableType {
            element: RefType::from_wasm(ty.element_type)?,
            minimum: ty.initial,
            maximum: ty.maximum,
        })
    }

    pub(crate) fn to_wasm(self) -> wasmparser::TableType {
        wasmparser::TableType {
            element_type: self.element.to_wasm(),
            table64: false,
            initial: self.minimum,
            maximum: self.maximum,
            shared: false,
        }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(table {}", self.minimum)?;
        if let Some(maximum) = self.maximum {
            write!(f, " {maximum}")?;
        }
        let element = ValType::from(self.element);
        write!(f, " {element})")
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncType),
    Global(GlobalType),
    Memory(MemoryType),
    Table(TableType),
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(ty) => ty.fmt(f),
            ExternType::Global(ty) => ty.fmt(f),
            ExternType::Memory(ty) => ty.fmt(f),
            ExternType::Table(ty) => ty.fmt(f),
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
    pub fn module(&self) -> &str {
        &self.module
    }

    pub fn name(&self) -> &str {
        &self.name
    }

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
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ty(&self) -> &ExternType {
        &self.ty
    }
}
