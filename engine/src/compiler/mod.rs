//! Compilation of validated wasm modules to native code with Cranelift.
//!
//! Each module gets its own JIT code memory holding its defined functions and one array-call
//! trampoline per type; host functions get theirs per signature. The code follows the ABI
//! described in `environ::vmoffsets`: every wasm function takes the callee's and the caller's
//! VMContext before its wasm parameters.

mod abi;
mod atomics;
mod code_memory;
mod exceptions;
mod func_env;
mod gc;
mod inline;
mod placement;
mod relaxed_simd;
mod simd;
mod tail_calls;
mod trampolines;
mod translate;
mod traps;

#[cfg(test)]
mod atomics_tests;
#[cfg(test)]
mod inline_tests;
#[cfg(test)]
mod placement_tests;
#[cfg(test)]
mod simd_tests;
#[cfg(test)]
mod tests;

use self::abi::{func_signature, is_supported_ref, wasm_signature};
use self::code_memory::CodeMemory;
use self::func_env::ModuleEnv;
use self::inline::{InlineBodies, fits_offsets, may_inline};
use self::trampolines::{
    array_call_signature, build_array_call, build_host_call, build_mutex_fast_path,
};
use self::translate::translate_function;
use self::traps::trap_kind;
use crate::environ::{
    CodeRange, HandlerSite, ModuleInfo, ModuleTypes, MutexFastPath, OptLevel, SourceSite, TrapSite,
    Tunables, VMOffsets, WasmError, unsupported,
};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, Signature};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetFrontendConfig, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{CodegenError, Context, FinalizedMachExceptionHandler};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, ModuleError, ModuleReloc};
use rayon::prelude::*;
use std::collections::HashSet;
use wasmparser::{BinaryReader, CompositeInnerType, FuncType, FunctionBody, ValType};

/// Compiles modules and trampolines for the host machine.
pub(crate) struct Compiler {
    isa: OwnedTargetIsa,
    tunables: Tunables,
}

/// Where one function's machine code is, and where it can trap.
pub(crate) type CompiledFunction = CodeRange;

impl CodeRange {
    /// The trampoline slot of a struct or array type, which has no code.
    const EMPTY: CodeRange = CodeRange {
        start: 0,
        len: 0,
        traps: Vec::new(),
        sources: Vec::new(),
        inlined: Vec::new(),
        handlers: Vec::new(),
    };
}

/// The code of one module; freed on drop.
pub(crate) struct CompiledModule {
    functions: Vec<CompiledFunction>,
    array_trampolines: Vec<CompiledFunction>,
    /// By type index: the host-call trampoline of each imported function type (empty for
    /// the other types).
    host_calls: Vec<CompiledFunction>,
    _code: CodeMemory,
}

// The runtime reaches code through the `environ::compiled` traits; these slices serve the
// compiler's own tests.
#[cfg(test)]
impl CompiledModule {
    /// One per defined function, in index order (imports excluded).
    pub(crate) fn functions(&self) -> &[CompiledFunction] {
        &self.functions
    }

    /// One per type index of the module.
    pub(crate) fn array_trampolines(&self) -> &[CompiledFunction] {
        &self.array_trampolines
    }
}

/// The trampolines of one host function signature; freed on drop.
pub(crate) struct HostTrampolines {
    array_call: CompiledFunction,
    host_call: CompiledFunction,
    _code: CodeMemory,
}

#[cfg(test)]
impl HostTrampolines {
    /// Lets the runtime call the host function through the array-call ABI like any function.
    pub(crate) fn array_call(&self) -> &CompiledFunction {
        &self.array_call
    }

    /// The `wasm_call` of the host function's `VMFuncRef`.
    pub(crate) fn host_call(&self) -> &CompiledFunction {
        &self.host_call
    }
}

fn codegen_error(message: impl std::fmt::Display) -> WasmError {
    WasmError::Codegen {
        message: message.to_string(),
    }
}

fn module_error(error: ModuleError) -> WasmError {
    match error {
        ModuleError::Compilation(cranelift_codegen::CodegenError::Verifier(errors)) => {
            codegen_error(format!("IR verifier: {errors}"))
        }
        other => codegen_error(other),
    }
}

impl Compiler {
    pub(crate) fn new(tunables: &Tunables) -> Result<Compiler, WasmError> {
        let mut flags = settings::builder();
        let verify = if tunables.verify_ir { "true" } else { "false" };
        let opt_level = match tunables.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
        };
        let settings = [
            ("opt_level", opt_level),
            ("enable_verifier", verify),
            // The JIT places code anywhere in the address space and resolves calls itself.
            ("is_pic", "false"),
            ("use_colocated_libcalls", "false"),
            // Wasm functions may return more values than there are return registers.
            ("enable_multi_ret_implicit_sret", "true"),
            // Stack overflow is caught by the stack limit check in every wasm prologue.
            ("enable_probestack", "false"),
            // Lets the runtime walk wasm frames when a trap occurs.
            ("preserve_frame_pointers", "true"),
            // Block offsets and edges, from which `placement` finds loops.
            ("machine_code_cfg_info", "true"),
        ];
        for (name, value) in settings {
            flags.set(name, value).map_err(codegen_error)?;
        }
        let isa = cranelift_native::builder()
            .map_err(codegen_error)?
            .finish(settings::Flags::new(flags))
            .map_err(codegen_error)?;
        Ok(Compiler {
            isa,
            tunables: tunables.clone(),
        })
    }

    /// Wasm functions, and the trampolines and fast paths wasm calls, use Cranelift's tail
    /// calling convention, the one `return_call` needs in caller and callee alike. Only
    /// array-call trampolines and builtins face Rust, with the native convention.
    fn wasm_call_conv(&self) -> CallConv {
        CallConv::Tail
    }

    fn native_call_conv(&self) -> CallConv {
        CallConv::triple_default(self.isa.triple())
    }

    /// Compiles every defined function of `module` (whose binary is `bytes`) and the
    /// array-call trampolines of all its function types, with `types` as the engine
    /// registered them.
    pub(crate) fn compile_module(
        &self,
        bytes: &[u8],
        module: &ModuleInfo,
        types: &ModuleTypes,
    ) -> Result<CompiledModule, WasmError> {
        check_entity_types(module)?;
        // Struct and array types have no signature and no trampoline.
        let signatures = module
            .types
            .iter()
            .map(|ty| match &ty.composite_type.inner {
                CompositeInnerType::Func(func) => {
                    wasm_signature(self.wasm_call_conv(), func, 0).map(Some)
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let array_signature = array_call_signature(self.native_call_conv());

        let mut code = CodeBuilder::new(self.isa.clone());
        let defined_types = &module.functions[module.num_imported_functions as usize..];
        let mut labels = HashSet::new();
        let func_ids = defined_types
            .iter()
            .zip(module.num_imported_functions..)
            .map(|(&ty, index)| {
                let signature = func_signature(&signatures, ty);
                if !self.tunables.name_functions {
                    return code.declare(signature);
                }
                // Symbols must be unique; a `name` section need not be.
                let mut label = module.names.function_label(index);
                if !labels.insert(label.clone()) {
                    label = format!("{label} (function {index})");
                }
                code.declare_named(&label, signature)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let trampoline_ids = signatures
            .iter()
            .map(|signature| {
                signature
                    .as_ref()
                    .map(|_| code.declare(&array_signature))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;

        let env = ModuleEnv {
            module,
            offsets: VMOffsets::new(module),
            types,
            tunables: &self.tunables,
            signatures,
            func_ids,
            native_call_conv: self.native_call_conv(),
            libc_target: TargetFrontendConfig {
                default_call_conv: self.native_call_conv(),
                ..self.isa.frontend_config()
            },
        };
        let translate = |defined: usize, b: &mut FunctionBuilder<'_>| {
            let range = &module.function_bodies[defined];
            let reader = BinaryReader::new(&bytes[range.clone()], range.start as u64);
            let index = module.num_imported_functions + defined as u32;
            let func_type = module.func_type(defined_types[defined]);
            translate_function(&env, b, &FunctionBody::new(reader), index, func_type)
        };
        let signature = |defined: usize| func_signature(&env.signatures, defined_types[defined]);
        // The functions small enough to inline are translated first, in parallel; each is
        // translated again as a caller below, which costs little as they are small.
        let mut inline_bodies = InlineBodies::default();
        if self.tunables.inline_functions
            && self.tunables.opt_level != OptLevel::None
            && fits_offsets(bytes.len())
        {
            let candidates = (0..defined_types.len())
                .into_par_iter()
                .filter(|&defined| may_inline(&module.function_bodies[defined]))
                .map_init(FunctionBuilderContext::new, |builder, defined| {
                    build_function(&*self.isa, builder, signature(defined), |b| {
                        translate(defined, b)
                    })
                    .map(|function| (env.func_ids[defined], function))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for (id, function) in candidates {
                inline_bodies.offer(id, function);
            }
        }
        // Functions compile in parallel, each worker with its own scratch; the JIT takes the
        // machine code in index order afterwards.
        let bodies = (0..defined_types.len())
            .into_par_iter()
            .map_init(Scratch::new, |scratch, defined| {
                scratch.compile(
                    &*self.isa,
                    env.func_ids[defined],
                    signature(defined),
                    |b| translate(defined, b),
                    &inline_bodies,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let functions = bodies
            .into_iter()
            .map(|body| code.define(body))
            .collect::<Result<Vec<_>, _>>()?;
        let mut array_trampolines = Vec::with_capacity(trampoline_ids.len());
        for (id, wasm) in trampoline_ids.iter().zip(&env.signatures) {
            let trampoline = match (id, wasm) {
                (Some(id), Some(wasm)) => Some(code.build(*id, &array_signature, |b| {
                    build_array_call(b, wasm);
                    Ok(())
                })?),
                _ => None,
            };
            array_trampolines.push(trampoline);
        }
        // The host-call trampolines of the imported function types, so that a host function
        // bound to an import needs no compiling when the module is instantiated.
        let imported_types: HashSet<u32> = module.functions
            [..module.num_imported_functions as usize]
            .iter()
            .copied()
            .collect();
        let native = self.native_call_conv();
        let mut host_calls = Vec::with_capacity(env.signatures.len());
        for (type_index, wasm) in (0u32..).zip(&env.signatures) {
            let trampoline = match wasm {
                Some(wasm) if imported_types.contains(&type_index) => {
                    let id = code.declare(wasm)?;
                    Some(code.build(id, wasm, |b| {
                        build_host_call(b, wasm, native);
                        Ok(())
                    })?)
                }
                _ => None,
            };
            host_calls.push(trampoline);
        }

        let mut code = code.finish()?;
        let functions = code.locate_all(functions);
        let mut locate_each = |trampolines: Vec<Option<PendingFunction>>| -> Vec<_> {
            trampolines
                .into_iter()
                .map(|trampoline| match trampoline {
                    Some(trampoline) => code.locate(trampoline),
                    None => CompiledFunction::EMPTY,
                })
                .collect()
        };
        let array_trampolines = locate_each(array_trampolines);
        let host_calls = locate_each(host_calls);
        Ok(CompiledModule {
            functions,
            array_trampolines,
            host_calls,
            _code: code.memory,
        })
    }

    /// Compiles the array-call and host-call trampolines of host functions of type `ty`.
    pub(crate) fn compile_host_trampolines(
        &self,
        ty: &FuncType,
    ) -> Result<HostTrampolines, WasmError> {
        let wasm = wasm_signature(self.wasm_call_conv(), ty, 0)?;
        let array_signature = array_call_signature(self.native_call_conv());
        let mut code = CodeBuilder::new(self.isa.clone());
        let array_id = code.declare(&array_signature)?;
        let host_id = code.declare(&wasm)?;
        let array_call = code.build(array_id, &array_signature, |b| {
            build_array_call(b, &wasm);
            Ok(())
        })?;
        let native = self.native_call_conv();
        let host_call = code.build(host_id, &wasm, |b| {
            build_host_call(b, &wasm, native);
            Ok(())
        })?;
        let mut code = code.finish()?;
        let array_call = code.locate(array_call);
        let host_call = code.locate(host_call);
        Ok(HostTrampolines {
            array_call,
            host_call,
            _code: code.memory,
        })
    }
}

/// The fast paths of host mutexes; freed on drop.
pub(crate) struct MutexFastPaths {
    lock: CompiledFunction,
    unlock: CompiledFunction,
    _code: CodeMemory,
}

impl Compiler {
    /// Compiles the fast paths of a host mutex's `lock` and `unlock` imports.
    pub(crate) fn compile_mutex_fast_paths(&self) -> Result<MutexFastPaths, WasmError> {
        let lock_type = FuncType::new([ValType::I64], [ValType::I32]);
        let unlock_type = FuncType::new([], []);
        let lock_signature = wasm_signature(self.wasm_call_conv(), &lock_type, 0)?;
        let unlock_signature = wasm_signature(self.wasm_call_conv(), &unlock_type, 0)?;
        let mut code = CodeBuilder::new(self.isa.clone());
        let lock_id = code.declare(&lock_signature)?;
        let unlock_id = code.declare(&unlock_signature)?;
        let lock = code.build(lock_id, &lock_signature, |b| {
            build_mutex_fast_path(b, &lock_signature, MutexFastPath::Lock);
            Ok(())
        })?;
        let unlock = code.build(unlock_id, &unlock_signature, |b| {
            build_mutex_fast_path(b, &unlock_signature, MutexFastPath::Unlock);
            Ok(())
        })?;
        let mut code = code.finish()?;
        let lock = code.locate(lock);
        let unlock = code.locate(unlock);
        Ok(MutexFastPaths {
            lock,
            unlock,
            _code: code.memory,
        })
    }
}

/// Rejects memories and tables that the generated code cannot address: their types are
/// valid, but every access would need unsupported features.
fn check_entity_types(module: &ModuleInfo) -> Result<(), WasmError> {
    for memory in &module.memories {
        if memory.page_size_log2.is_some() {
            return unsupported("custom page sizes", 0);
        }
    }
    for table in &module.tables {
        if !is_supported_ref(table.element_type) {
            return unsupported(format!("tables of {}", table.element_type), 0);
        }
    }
    Ok(())
}

/// A function that is compiled but not finalized yet: its address is still unknown.
struct PendingFunction {
    id: FuncId,
    len: usize,
    traps: Vec<TrapSite>,
    sources: Vec<SourceSite>,
    inlined: Vec<Vec<u32>>,
    handlers: Vec<HandlerSite>,
}

/// A function compiled to machine code on any thread, not yet placed in the JIT's memory.
struct CompiledBody {
    id: FuncId,
    alignment: u64,
    /// Where in a cache line the function should start, for its loops (see `placement`).
    line_offset: Option<u32>,
    code: Vec<u8>,
    relocs: Vec<ModuleReloc>,
    traps: Vec<TrapSite>,
    sources: Vec<SourceSite>,
    inlined: Vec<Vec<u32>>,
    handlers: Vec<HandlerSite>,
}

/// The reusable state of compiling one function after another, one per worker thread.
struct Scratch {
    context: Context,
    builder: FunctionBuilderContext,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            context: Context::new(),
            builder: FunctionBuilderContext::new(),
        }
    }

    /// Builds function `id` with `build`, inlines into it the calls of `inline_bodies` that
    /// qualify, and compiles it for `isa`.
    fn compile(
        &mut self,
        isa: &dyn TargetIsa,
        id: FuncId,
        signature: &Signature,
        build: impl FnOnce(&mut FunctionBuilder<'_>) -> Result<(), WasmError>,
        inline_bodies: &InlineBodies,
    ) -> Result<CompiledBody, WasmError> {
        // The context's function is reused, so that its tables keep their capacity.
        self.context.clear();
        self.context.func.signature = signature.clone();
        let mut builder = FunctionBuilder::new(&mut self.context.func, &mut self.builder);
        build(&mut builder)?;
        builder.finalize(isa.frontend_config());
        let inlined = inline_bodies
            .inline_into(&mut self.context)
            .map_err(codegen_error)?;
        self.context
            .compile(isa, &mut ControlPlane::default())
            .map_err(|error| match error.inner {
                CodegenError::Verifier(errors) => codegen_error(format!("IR verifier: {errors}")),
                other => codegen_error(other),
            })?;
        let compiled = self
            .context
            .compiled_code()
            .expect("a compiled function has code");
        let traps = compiled
            .buffer
            .traps()
            .iter()
            .map(|trap| {
                let kind = trap_kind(trap.code)
                    .ok_or_else(|| codegen_error(format!("unexpected trap code {}", trap.code)))?;
                Ok(TrapSite {
                    code_offset: trap.offset,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, WasmError>>()?;
        // The translator marks each instruction's IR with its binary offset; code Cranelift
        // added around it (the prologue, say) has none.
        let sources = compiled
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|site| !site.loc.is_default())
            .map(|site| SourceSite {
                code_offset: site.start,
                wasm_offset: site.loc.bits(),
            })
            .collect();
        // Every `try_call` the translator emits has one catch-all handler (the function
        // matches tags itself, in its landing pad).
        let handlers = compiled
            .buffer
            .call_sites()
            .filter_map(|site| {
                let handler = site
                    .exception_handlers
                    .iter()
                    .find_map(|handler| match handler {
                        FinalizedMachExceptionHandler::Default(offset) => Some(*offset),
                        _ => None,
                    })?;
                Some((site.ret_addr, handler, site.frame_offset))
            })
            .map(|(return_offset, handler_offset, frame_offset)| {
                let frame_offset = frame_offset.ok_or_else(|| {
                    codegen_error("a call with an exception handler has no frame offset")
                })?;
                Ok(HandlerSite {
                    return_offset,
                    handler_offset,
                    frame_offset,
                })
            })
            .collect::<Result<Vec<_>, WasmError>>()?;
        let relocs = compiled
            .buffer
            .relocs()
            .iter()
            .map(|reloc| ModuleReloc::from_mach_reloc(reloc, &self.context.func, id))
            .collect();
        // Code that needs a coarser alignment than the placement's steps (for constants, say)
        // keeps it.
        let line_offset = (compiled.buffer.alignment <= placement::STEP)
            .then(|| {
                let loops = placement::loops(
                    &compiled.bb_starts,
                    &compiled.bb_edges,
                    compiled.code_buffer().len() as u32,
                );
                placement::line_offset(&loops)
            })
            .flatten();
        Ok(CompiledBody {
            id,
            // The ISA's preferred alignment rather than the least the code needs, as Wasmtime
            // does for wasm functions: on x86-64 a 32-byte start keeps hot loops and call
            // targets from straddling fetch blocks, worth 5-10% on call-heavy code.
            alignment: u64::from(
                compiled
                    .buffer
                    .alignment
                    .max(isa.function_alignment().preferred),
            ),
            line_offset,
            code: compiled.code_buffer().to_vec(),
            relocs,
            traps,
            sources,
            inlined,
            handlers,
        })
    }
}

/// The IR of a function of type `signature` that `build` emits, in a function of its own.
fn build_function(
    isa: &dyn TargetIsa,
    builder_context: &mut FunctionBuilderContext,
    signature: &Signature,
    build: impl FnOnce(&mut FunctionBuilder<'_>) -> Result<(), WasmError>,
) -> Result<ir::Function, WasmError> {
    let mut function =
        ir::Function::with_name_signature(ir::UserFuncName::default(), signature.clone());
    let mut builder = FunctionBuilder::new(&mut function, builder_context);
    build(&mut builder)?;
    builder.finalize(isa.frontend_config());
    Ok(function)
}

/// Drives one `JITModule` from declarations to finalized code.
struct CodeBuilder {
    isa: OwnedTargetIsa,
    memory: CodeMemory,
    scratch: Scratch,
}

impl CodeBuilder {
    fn new(isa: OwnedTargetIsa) -> Self {
        let jit = JITModule::new(JITBuilder::with_isa(
            isa.clone(),
            cranelift_module::default_libcall_names(),
        ));
        CodeBuilder {
            isa,
            memory: CodeMemory::new(jit),
            scratch: Scratch::new(),
        }
    }

    fn declare(&mut self, signature: &Signature) -> Result<FuncId, WasmError> {
        self.memory
            .module_mut()
            .declare_anonymous_function(signature)
            .map_err(module_error)
    }

    /// A function with the symbol `name`, which no other function of this code has.
    fn declare_named(&mut self, name: &str, signature: &Signature) -> Result<FuncId, WasmError> {
        self.memory
            .module_mut()
            .declare_function(name, Linkage::Local, signature)
            .map_err(module_error)
    }

    /// Builds function `id` with `build`, compiles it here and defines it.
    fn build(
        &mut self,
        id: FuncId,
        signature: &Signature,
        build: impl FnOnce(&mut FunctionBuilder<'_>) -> Result<(), WasmError>,
    ) -> Result<PendingFunction, WasmError> {
        let body =
            self.scratch
                .compile(&*self.isa, id, signature, build, &InlineBodies::default())?;
        self.define(body)
    }

    /// Places a compiled function's code in the JIT's memory, where its `line_offset` asks
    /// for. Code memory is handed out in order, so a filler of that many bytes at the start
    /// of a line puts the function after it; only a function that does not fit in the rest
    /// of the JIT's current block of pages starts elsewhere, at a new page.
    fn define(&mut self, body: CompiledBody) -> Result<PendingFunction, WasmError> {
        let alignment = match body.line_offset {
            None => body.alignment,
            Some(0) => u64::from(placement::LINE),
            Some(offset) => {
                self.fill_line(offset)?;
                u64::from(placement::STEP)
            }
        };
        self.memory
            .module_mut()
            .define_function_bytes(body.id, alignment, &body.code, &body.relocs)
            .map_err(module_error)?;
        Ok(PendingFunction {
            id: body.id,
            len: body.code.len(),
            traps: body.traps,
            sources: body.sources,
            inlined: body.inlined,
            handlers: body.handlers,
        })
    }

    /// Takes the first `len` bytes of the next line of code memory, as breakpoints: nothing
    /// jumps there.
    fn fill_line(&mut self, len: u32) -> Result<(), WasmError> {
        // `int3` on x86-64.
        const BREAKPOINT: u8 = 0xcc;
        let filler = self.declare(&Signature::new(self.isa.default_call_conv()))?;
        self.memory
            .module_mut()
            .define_function_bytes(
                filler,
                u64::from(placement::LINE),
                &vec![BREAKPOINT; len as usize],
                &[],
            )
            .map_err(module_error)
    }

    fn finish(mut self) -> Result<FinishedCode, WasmError> {
        self.memory
            .module_mut()
            .finalize_definitions()
            .map_err(module_error)?;
        Ok(FinishedCode {
            memory: self.memory,
        })
    }
}

/// Finalized code whose functions have addresses.
struct FinishedCode {
    memory: CodeMemory,
}

impl FinishedCode {
    fn locate(&mut self, function: PendingFunction) -> CompiledFunction {
        let start = self.memory.module_mut().get_finalized_function(function.id);
        CompiledFunction {
            start: start as usize,
            len: function.len,
            traps: function.traps,
            sources: function.sources,
            inlined: function.inlined,
            handlers: function.handlers,
        }
    }

    fn locate_all(&mut self, functions: Vec<PendingFunction>) -> Vec<CompiledFunction> {
        functions.into_iter().map(|f| self.locate(f)).collect()
    }
}
