//! Module metadata: everything about a validated module except its function bodies' code.

use super::gc::StructLayout;
use super::thread_locals;
use std::collections::HashMap;
use std::ops::Range;
use wasmparser::{
    CompositeInnerType, DataKind as ParsedDataKind, ElementItems, ElementKind as ParsedElementKind,
    ExternalKind, FieldType, FuncType, GlobalType, MemoryType, Operator, Parser, Payload, RefType,
    StructType, SubType, TableInit, TableType, TypeRef, ValType,
};

/// Why a module could not be turned into metadata or code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasmError {
    /// The bytes are malformed or the module is invalid.
    Invalid { message: String, offset: u64 },
    /// The module is valid but needs a feature weft does not implement yet.
    Unsupported { feature: String, offset: u64 },
    /// Cranelift failed on IR that weft produced: a bug in weft, reported rather than hidden.
    Codegen { message: String },
    /// The module's threads cannot share one instance without it noticing (see
    /// `one_instance`): `reason` names what would differ.
    NotOneInstance { reason: String, offset: u64 },
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        WasmError::Invalid {
            message: error.message().to_string(),
            offset: error.offset(),
        }
    }
}

pub(crate) fn unsupported<T>(feature: impl Into<String>, offset: u64) -> Result<T, WasmError> {
    Err(WasmError::Unsupported {
        feature: feature.into(),
        offset,
    })
}

/// An index into one of a module's index spaces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    Function(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    /// An exception tag (exception handling).
    Tag(u32),
}

/// One import, in declaration order.
#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// The index the import occupies in its index space.
    pub index: EntityIndex,
}

/// One instruction of a constant expression. Extended constant expressions are a short stack
/// program, so an expression is a sequence of these.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ConstOp {
    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),
    V128Const(u128),
    RefNull,
    RefFunc(u32),
    /// `ref.i31` and `ref.i31_shared`, which share one representation.
    RefI31,
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    /// `struct.new`: pops the fields and pushes a new object of the struct type.
    StructNew(u32),
    StructNewDefault(u32),
    /// `array.new`: pops the initial element and the length.
    ArrayNew(u32),
    ArrayNewDefault(u32),
    /// `array.new_fixed type count`: pops `count` elements.
    ArrayNewFixed(u32, u32),
}

/// A constant expression (global initializers, segment offsets, element items).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstExpr {
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<Self, WasmError> {
        let mut reader = expr.get_operators_reader();
        let mut ops = Vec::new();
        loop {
            let offset = reader.original_position();
            let op = match reader.read()? {
                Operator::End => break,
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::RefI31 | Operator::RefI31Shared => ConstOp::RefI31,
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                // A reference's word is the same in both hierarchies (`environ::gc`).
                Operator::AnyConvertExtern | Operator::ExternConvertAny => continue,
                other => {
                    return unsupported(format!("constant expression operator {other:?}"), offset);
                }
            };
            ops.push(op);
        }
        Ok(ConstExpr { ops })
    }

    fn ref_func(index: u32) -> Self {
        ConstExpr {
            ops: vec![ConstOp::RefFunc(index)],
        }
    }
}

/// Where an element segment goes.
#[derive(Clone, Debug)]
pub enum ElementKind {
    Active { table: u32, offset: ConstExpr },
    Passive,
    Declared,
}

/// An element segment; each item is a constant expression producing a reference.
#[derive(Clone, Debug)]
pub struct ElementSegment {
    pub kind: ElementKind,
    pub ty: RefType,
    pub items: Vec<ConstExpr>,
}

/// Where a data segment goes.
#[derive(Clone, Debug)]
pub enum DataKind {
    Active { memory: u32, offset: ConstExpr },
    Passive,
}

/// A data segment; its bytes stay in the module's binary.
#[derive(Clone, Debug)]
pub struct DataSegment {
    pub kind: DataKind,
    /// Byte range of the contents within the module binary.
    pub range: Range<usize>,
}

/// Metadata of a validated module. Imported entities come first in each index space.
#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// Every defined type by type index: function, struct and array types, with their
    /// supertypes and sharedness. Concrete references name module type indices.
    pub types: Vec<SubType>,
    /// The recursion groups, as ranges of type indices, in order.
    pub rec_groups: Vec<Range<u32>>,
    /// The object layout of each struct type by type index (`None` for other types),
    /// computed once for the compiler and for allocation.
    pub struct_layouts: Vec<Option<StructLayout>>,
    /// Type index of every function.
    pub functions: Vec<u32>,
    pub tables: Vec<TableType>,
    /// Initial element of each *defined* table (`None`: null).
    pub table_inits: Vec<Option<ConstExpr>>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<GlobalType>,
    /// Initializer of each *defined* global.
    pub global_inits: Vec<ConstExpr>,
    pub num_imported_functions: u32,
    pub num_imported_tables: u32,
    pub num_imported_memories: u32,
    pub num_imported_globals: u32,
    /// The function type index of every exception tag, imported ones first.
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
    pub imports: Vec<Import>,
    /// Exports in declaration order.
    pub exports: Vec<(String, EntityIndex)>,
    pub start: Option<u32>,
    pub elements: Vec<ElementSegment>,
    pub data: Vec<DataSegment>,
    /// Byte range of each defined function's body (locals and code) within the binary.
    pub function_bodies: Vec<Range<usize>>,
    /// Thread-local globals (the `thread-locals` custom section), in slot order.
    pub thread_locals: Vec<u32>,
    /// The module's name and its functions' names, from the `name` custom section, for
    /// backtraces. Names are advisory: a malformed section is ignored.
    pub names: Names,
    /// Slot of each global in a thread's block, by global index; `None` for globals that are
    /// not thread-local.
    pub thread_local_slots: Vec<Option<u32>>,
    /// Whether the module was laid out for a wasi-threads program's threads to share one
    /// instance (see `one_instance`): every function may then run on any thread.
    pub one_instance_threads: bool,
}

/// Names from a module's `name` section.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub module: Option<String>,
    /// By function index, imports included.
    pub functions: HashMap<u32, String>,
}

/// How weft names a function everywhere it shows one (trap backtraces, profiler maps):
/// `module!function`, each part a name when the `name` section gives one, the function as
/// `<wasm function N>` (its index, imports included) otherwise.
pub fn write_function_label(
    out: &mut impl std::fmt::Write,
    module: Option<&str>,
    function: Option<&str>,
    index: u32,
) -> std::fmt::Result {
    if let Some(module) = module {
        write!(out, "{module}!")?;
    }
    match function {
        Some(name) => out.write_str(name),
        None => write!(out, "<wasm function {index}>"),
    }
}

impl Names {
    /// Function `index`'s label (see [`write_function_label`]).
    pub fn function_label(&self, index: u32) -> String {
        let mut label = String::new();
        let _ = write_function_label(
            &mut label,
            self.module.as_deref(),
            self.functions.get(&index).map(String::as_str),
            index,
        );
        label
    }

    /// The names `reader` holds, as far as they can be read.
    fn read(reader: wasmparser::NameSectionReader<'_>) -> Names {
        let mut names = Names::default();
        for name in reader.into_iter().map_while(Result::ok) {
            match name {
                wasmparser::Name::Module { name, .. } => names.module = Some(name.to_string()),
                wasmparser::Name::Function(map) => {
                    for naming in map.into_iter().map_while(Result::ok) {
                        names
                            .functions
                            .insert(naming.index, naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
        names
    }
}

impl ModuleInfo {
    /// Decodes the metadata of `bytes`, which the caller has already validated.
    pub fn parse(bytes: &[u8]) -> Result<ModuleInfo, WasmError> {
        let mut info = ModuleInfo::default();
        let mut thread_locals_offset = None;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::CustomSection(section)
                    if section.name() == thread_locals::SECTION_NAME =>
                {
                    if thread_locals_offset.is_some() {
                        return Err(WasmError::Invalid {
                            message: format!(
                                "more than one `{}` section",
                                thread_locals::SECTION_NAME
                            ),
                            offset: section.range().start,
                        });
                    }
                    info.thread_locals =
                        thread_locals::parse(section.data(), section.data_offset())?;
                    thread_locals_offset = Some(section.range().start);
                }
                Payload::CustomSection(section) if section.name() == "name" => {
                    if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                        info.names = Names::read(reader);
                    }
                }
                payload => info.add_payload(payload)?,
            }
        }
        thread_locals::validate(&mut info, thread_locals_offset.unwrap_or(0))?;
        super::shared_validation::check_shared_functions(&info, bytes)?;
        Ok(info)
    }

    /// Decodes `bytes` as [`parse`](Self::parse) does, laid out for a wasi-threads program
    /// whose threads share one instance: every mutable global the module defines is
    /// thread-local. Fails with [`WasmError::NotOneInstance`] if the threads could tell.
    pub fn parse_one_instance(bytes: &[u8]) -> Result<ModuleInfo, WasmError> {
        let mut info = ModuleInfo::parse(bytes)?;
        super::one_instance::plan(&mut info, bytes)?;
        Ok(info)
    }

    /// Whether the module is a wasi-threads program: it imports `wasi::thread-spawn`.
    pub fn spawns_wasi_threads(&self) -> bool {
        super::one_instance::spawns_wasi_threads(self)
    }

    /// The type of function `index`.
    pub fn function_type(&self, index: u32) -> &FuncType {
        self.func_type(self.functions[index as usize])
    }

    /// The defined function (imports not counted) whose body holds byte `offset` of the
    /// binary.
    pub fn defined_function_at(&self, offset: u32) -> Option<u32> {
        let offset = offset as usize;
        let after = self
            .function_bodies
            .partition_point(|body| body.start <= offset);
        let index = after.checked_sub(1)?;
        self.function_bodies[index]
            .contains(&offset)
            .then_some(index as u32)
    }

    /// Function type `type_index`; validation guarantees the index names one.
    pub fn func_type(&self, type_index: u32) -> &FuncType {
        self.types[type_index as usize].composite_type.unwrap_func()
    }

    /// Struct type `type_index`; validation guarantees the index names one.
    pub fn struct_type(&self, type_index: u32) -> &StructType {
        self.types[type_index as usize]
            .composite_type
            .unwrap_struct()
    }

    /// The object layout of struct type `type_index`.
    pub fn struct_layout(&self, type_index: u32) -> &StructLayout {
        self.struct_layouts[type_index as usize]
            .as_ref()
            .expect("validation makes the index a struct type")
    }

    /// The element type of array type `type_index`.
    pub fn array_element(&self, type_index: u32) -> FieldType {
        self.types[type_index as usize]
            .composite_type
            .unwrap_array()
            .0
    }

    /// Whether type `type_index` is shared (shared-everything threads).
    pub fn is_shared_type(&self, type_index: u32) -> bool {
        self.types[type_index as usize].composite_type.shared
    }

    /// Whether function `index` has a shared type.
    pub fn is_shared_function(&self, index: u32) -> bool {
        self.is_shared_type(self.functions[index as usize])
    }

    /// The slot of global `index` in a thread's block, if it is thread-local.
    pub fn thread_local_slot(&self, index: u32) -> Option<u32> {
        self.thread_local_slots
            .get(index as usize)
            .copied()
            .flatten()
    }

    /// Whether function `index` is defined by this module rather than imported.
    pub fn is_defined_function(&self, index: u32) -> bool {
        index >= self.num_imported_functions
    }

    fn add_payload(&mut self, payload: Payload<'_>) -> Result<(), WasmError> {
        match payload {
            Payload::Version { .. } | Payload::End(_) | Payload::CustomSection(_) => {}
            Payload::DataCountSection { .. } | Payload::CodeSectionStart { .. } => {}
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    let start = self.types.len() as u32;
                    for sub_type in group.into_types() {
                        if let CompositeInnerType::Cont(_) = sub_type.composite_type.inner {
                            return unsupported("stack switching (continuations)", offset);
                        }
                        self.struct_layouts
                            .push(match &sub_type.composite_type.inner {
                                CompositeInnerType::Struct(fields) => {
                                    Some(StructLayout::new(fields))
                                }
                                _ => None,
                            });
                        self.types.push(sub_type);
                    }
                    self.rec_groups.push(start..self.types.len() as u32);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    let index = match import.ty {
                        TypeRef::Func(type_index) => {
                            self.functions.push(type_index);
                            self.num_imported_functions += 1;
                            EntityIndex::Function(self.functions.len() as u32 - 1)
                        }
                        TypeRef::Table(ty) => {
                            self.tables.push(ty);
                            self.num_imported_tables += 1;
                            EntityIndex::Table(self.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(ty) => {
                            self.memories.push(ty);
                            self.num_imported_memories += 1;
                            EntityIndex::Memory(self.memories.len() as u32 - 1)
                        }
                        TypeRef::Global(ty) => {
                            self.globals.push(ty);
                            self.num_imported_globals += 1;
                            EntityIndex::Global(self.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(tag) => {
                            self.tags.push(tag.func_type_idx);
                            self.num_imported_tags += 1;
                            EntityIndex::Tag(self.tags.len() as u32 - 1)
                        }
                        TypeRef::FuncExact(_) => {
                            return unsupported("exact function imports", offset);
                        }
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    self.functions.push(type_index?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    self.tables.push(table.ty);
                    self.table_inits.push(match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(expr) => Some(ConstExpr::parse(&expr)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    self.memories.push(memory?);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    self.tags.push(tag?.func_type_idx);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    let init = ConstExpr::parse(&global.init_expr)?;
                    if global.ty.shared {
                        self.check_shared_initializer(
                            &init,
                            global.init_expr.get_binary_reader().original_position(),
                        )?;
                    }
                    self.globals.push(global.ty);
                    self.global_inits.push(init);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            EntityIndex::Function(export.index)
                        }
                        ExternalKind::Table => EntityIndex::Table(export.index),
                        ExternalKind::Memory => EntityIndex::Memory(export.index),
                        ExternalKind::Global => EntityIndex::Global(export.index),
                        ExternalKind::Tag => EntityIndex::Tag(export.index),
                    };
                    self.exports.push((export.name.to_string(), index));
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader.into_iter_with_offsets() {
                    let (offset, element) = element?;
                    let segment = Self::parse_element(element)?;
                    // Shared element segments feed shared tables, which every thread reads.
                    if super::shared_validation::is_shareable(self, ValType::Ref(segment.ty)) {
                        for item in &segment.items {
                            self.check_shared_initializer(item, offset)?;
                        }
                    }
                    self.elements.push(segment);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let kind = match data.kind {
                        ParsedDataKind::Passive => DataKind::Passive,
                        ParsedDataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataKind::Active {
                            memory: memory_index,
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let start = data.range.end as usize - data.data.len();
                    self.data.push(DataSegment {
                        kind,
                        range: start..data.range.end as usize,
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                self.function_bodies
                    .push(range.start as usize..range.end as usize);
            }
            other => {
                let offset = other.as_section().map_or(0, |(_, range)| range.start);
                return unsupported("component-model or unknown sections", offset);
            }
        }
        Ok(())
    }

    /// A shared global or element segment is readable from every thread, so its initial
    /// values must not depend on thread-bound state: the shared-everything proposal lets
    /// their initializers read only shared globals. wasmparser does not check this.
    fn check_shared_initializer(&self, init: &ConstExpr, offset: u64) -> Result<(), WasmError> {
        for op in &init.ops {
            if let ConstOp::GlobalGet(index) = op
                && !self.globals[*index as usize].shared
            {
                return Err(WasmError::Invalid {
                    message: format!(
                        "invalid type: a shared initializer reads global {index}, which is not shared"
                    ),
                    offset,
                });
            }
        }
        Ok(())
    }

    fn parse_element(element: wasmparser::Element<'_>) -> Result<ElementSegment, WasmError> {
        let kind = match element.kind {
            ParsedElementKind::Passive => ElementKind::Passive,
            ParsedElementKind::Declared => ElementKind::Declared,
            ParsedElementKind::Active {
                table_index,
                offset_expr,
            } => ElementKind::Active {
                table: table_index.unwrap_or(0),
                offset: ConstExpr::parse(&offset_expr)?,
            },
        };
        let (ty, items) = match element.items {
            ElementItems::Functions(indices) => {
                let items = indices
                    .into_iter()
                    .map(|index| index.map(ConstExpr::ref_func))
                    .collect::<Result<Vec<_>, _>>()?;
                (RefType::FUNCREF, items)
            }
            ElementItems::Expressions(ty, exprs) => {
                let items = exprs
                    .into_iter()
                    .map(|expr| ConstExpr::parse(&expr?))
                    .collect::<Result<Vec<_>, _>>()?;
                (ty, items)
            }
        };
        Ok(ElementSegment { kind, ty, items })
    }
}
