//! `Module`: a validated, compiled WebAssembly module.

use super::engine::Engine;
use super::error::{CompileError, Error};
use super::profiling::{ProfilingStrategy, register_module};
use super::types::{
    ExportType, ExternType, GlobalType, HeapType, ImportType, MemoryType, Resolve, TableType,
    TagType,
};
use crate::environ::{EntityIndex, ModuleInfo, ModuleTypes};
use crate::vm::ModuleRuntime;
use std::path::Path;
use std::sync::Arc;
use wasmparser::Validator;

/// How a module's metadata is decoded: [`ModuleInfo::parse`], or a layout's variant of it.
pub(crate) type Parse = fn(&[u8]) -> Result<ModuleInfo, crate::environ::WasmError>;

/// A validated, compiled module, ready to be instantiated in any store of its engine, any
/// number of times. Cheap to clone; `Send + Sync`. Its code lives as long as the module or
/// any instance of it.
///
/// # No serialization
///
/// There is no `Module::serialize` or `Module::deserialize`, as there is in Wasmtime: a
/// module is compiled again in every process. weft emits code with cranelift-jit, which
/// writes each function straight into executable memory and patches its relocations (the
/// absolute addresses of direct calls, Cranelift's own libcalls) with addresses of this
/// process, keeping no relocatable copy. A compile cache would take relocatable output
/// (cranelift-object, or recording the relocations before the JIT applies them); a file
/// format for the code, its relocations, trap sites, the module's metadata and its type
/// ids (which are per engine, so renumbered on load); a loader that maps and patches the
/// code; and a key that rejects files from another weft, Cranelift, configuration or CPU.
#[derive(Clone)]
pub struct Module {
    engine: Engine,
    runtime: Arc<ModuleRuntime>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").finish_non_exhaustive()
    }
}

impl Module {
    /// Compiles a module from its binary or text format (text is recognised by the absence
    /// of the `\0asm` magic), validating it against the engine's features.
    ///
    /// # Errors
    ///
    /// [`CompileError::Text`] for text that does not parse, [`CompileError::Invalid`] for a
    /// module that is malformed or invalid, [`CompileError::Unsupported`] for a valid one
    /// using what weft does not implement (custom page sizes, stack switching, ...).
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        Module::from_source(engine, bytes.as_ref(), None, ModuleInfo::parse)
    }

    /// Compiles `bytes`, binary or text, whose metadata `parse` decodes; a text error names
    /// `path`, where the text came from.
    pub(crate) fn from_source(
        engine: &Engine,
        bytes: &[u8],
        path: Option<&Path>,
        parse: Parse,
    ) -> Result<Module, Error> {
        if bytes.starts_with(b"\0asm") {
            return Module::compile(engine, bytes, parse);
        }
        let binary = wat::parse_bytes(bytes).map_err(|mut error| {
            if let Some(path) = path {
                error.set_path(path);
            }
            CompileError::Text {
                message: one_line(&error.to_string()),
            }
        })?;
        Module::compile(engine, &binary, parse)
    }

    /// Reads and compiles a `.wasm` or `.wat` file. Fails with [`Error::Io`] if it cannot be
    /// read, then as [`Module::new`], a text error naming the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module, Error> {
        Module::read_file(engine, path.as_ref(), ModuleInfo::parse)
    }

    /// Reads and compiles the file at `path`, whose metadata `parse` decodes.
    pub(crate) fn read_file(engine: &Engine, path: &Path, parse: Parse) -> Result<Module, Error> {
        let bytes = std::fs::read(path).map_err(|error| Error::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Module::from_source(engine, &bytes, Some(path), parse)
    }

    /// Compiles a module from its binary format. Fails as [`Module::new`].
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        Module::compile(engine, bytes, ModuleInfo::parse)
    }

    /// The binary the module was compiled from.
    pub(crate) fn binary(&self) -> &[u8] {
        &self.runtime.bytes
    }

    /// Validates and compiles `bytes`, whose metadata `parse` decodes.
    pub(crate) fn compile(engine: &Engine, bytes: &[u8], parse: Parse) -> Result<Module, Error> {
        if wasmparser::Parser::is_component(bytes) {
            // The component model's binaries share the magic number; a validator without it
            // reports a confusing header error deep inside.
            return Err(CompileError::Unsupported {
                feature: "components (this is a component, weft runs core modules)".into(),
                offset: 0,
            }
            .into());
        }
        Validator::new_with_features(engine.config().features)
            .validate_all(bytes)
            .map_err(|error| CompileError::Invalid {
                message: error.message().to_string(),
                offset: error.offset(),
            })?;
        let info = parse(bytes)?;
        let types = ModuleTypes::register(&mut engine.types(), &info)?;
        let checked_and_compiled = check_entity_types(&info, &module_types(engine, &types.ids))
            .and_then(|()| Ok(engine.compiler().compile_module(bytes, &info, &types)?));
        let code = match checked_and_compiled {
            Ok(code) => code,
            Err(error) => {
                // No module will hold the types: let them go.
                engine.types().release(&types.groups);
                return Err(error.into());
            }
        };
        let runtime = ModuleRuntime::new(
            Arc::new(info),
            bytes.into(),
            types,
            engine.type_registry().clone(),
            Arc::new(code),
        );
        if engine.config().profiler == ProfilingStrategy::PerfMap {
            register_module(&runtime);
        }
        Ok(Module {
            engine: engine.clone(),
            runtime: Arc::new(runtime),
        })
    }

    /// The engine that compiled the module, and whose stores may instantiate it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn runtime(&self) -> &Arc<ModuleRuntime> {
        &self.runtime
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.runtime.info
    }

    pub(crate) fn entity_type(&self, index: EntityIndex) -> ExternType {
        let info = self.info();
        let unsupported = "types the API cannot describe are rejected at compile time";
        let resolve = module_types(&self.engine, &self.runtime.types.ids);
        match index {
            EntityIndex::Function(func) => {
                let id = self.runtime.types.ids[info.functions[func as usize] as usize];
                ExternType::Func(self.engine.func_type(id))
            }
            EntityIndex::Global(global) => ExternType::Global(
                GlobalType::from_wasm(info.globals[global as usize], &resolve).expect(unsupported),
            ),
            EntityIndex::Memory(memory) => {
                ExternType::Memory(MemoryType::from_wasm(info.memories[memory as usize]))
            }
            EntityIndex::Table(table) => ExternType::Table(
                TableType::from_wasm(info.tables[table as usize], &resolve).expect(unsupported),
            ),
            EntityIndex::Tag(tag) => {
                let id = self.runtime.types.ids[info.tags[tag as usize] as usize];
                ExternType::Tag(TagType::of_module(self.engine.func_type(id)))
            }
        }
    }

    /// The module's imports, in order, with their types.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType> + '_ {
        self.info().imports.iter().map(|import| ImportType {
            module: import.module.clone(),
            name: import.name.clone(),
            ty: self.entity_type(import.index),
        })
    }

    /// Whether the module has a start function, which instantiation runs.
    pub fn has_start_function(&self) -> bool {
        self.info().start.is_some()
    }

    /// The module's exports, in order, with their types.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType> + '_ {
        self.info().exports.iter().map(|(name, index)| ExportType {
            name: name.clone(),
            ty: self.entity_type(*index),
        })
    }
}

/// wat reports a message, then a `--> file:line:col` line and a source snippet; keep the
/// message and the location so the error fits on one line.
fn one_line(report: &str) -> String {
    let mut lines = report.lines();
    let message = lines.next().unwrap_or_default().trim();
    match lines.find_map(|line| line.trim().strip_prefix("--> ")) {
        Some(location) => format!("{message} (at {location})"),
        None => message.to_string(),
    }
}

/// Resolves a module's type indices through the engine ids it registered.
fn module_types<'a>(engine: &'a Engine, type_ids: &'a [u32]) -> impl Fn(u32) -> HeapType + 'a {
    |index| engine.heap_type(type_ids[index as usize])
}

/// Rejects globals and tables whose types the API cannot describe (GC), so that describing
/// a module's imports and exports cannot fail later.
fn check_entity_types(info: &ModuleInfo, resolve: &Resolve<'_>) -> Result<(), CompileError> {
    let unsupported = |what: String| CompileError::Unsupported {
        feature: what,
        offset: 0,
    };
    for global in &info.globals {
        GlobalType::from_wasm(*global, resolve)
            .ok_or_else(|| unsupported(format!("global of type {}", global.content_type)))?;
    }
    for table in &info.tables {
        TableType::from_wasm(*table, resolve)
            .ok_or_else(|| unsupported(format!("table of {}", table.element_type)))?;
    }
    for memory in &info.memories {
        if memory.page_size_log2.is_some() {
            return Err(unsupported("custom page sizes".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_refused_as_one() {
        let component = b"\0asm\x0d\0\x01\0";
        let error = Module::new(&Engine::default(), component).unwrap_err();
        assert!(error.to_string().contains("components"), "{error}");
    }

    #[test]
    fn text_errors_fit_on_one_line() {
        let error =
            Module::new(&Engine::default(), "(module\n  (func (result i32) oops))").unwrap_err();
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("(at <anon>:2:"), "{message}");
    }

    /// `call_indirect` and `call_ref` compare these ids, so a shared function never passes
    /// for an unshared one with the same signature, nor the other way round.
    #[test]
    fn shared_and_unshared_function_types_get_different_signature_ids() {
        let mut config = crate::Config::new();
        config.wasm_features(
            wasmparser::WasmFeatures::default()
                | wasmparser::WasmFeatures::SHARED_EVERYTHING_THREADS,
        );
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(
            &engine,
            "(module (type (shared (func (param i32)))) (type (func (param i32))))",
        )
        .unwrap();
        let ids = &module.runtime().types.ids;
        assert_ne!(ids[0], ids[1]);
        assert!(engine.func_type(ids[0]).is_shared());
        assert!(!engine.func_type(ids[1]).is_shared());
    }
}
