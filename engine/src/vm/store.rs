//! The store: owner of every runtime entity, addressed by index from the safe API.
//!
//! Entities are boxed so that the pointers JIT code and VMContexts hold stay valid until the
//! store is dropped; nothing is freed earlier, which is what makes index handles sound.

use super::block::ThreadBlock;
use super::gc::GcHeap;
use super::host::{self, FastPathEntry, HostFuncContext, HostStore};
use super::instance::{Instance, InstanceEntities};
use super::libcalls::builtin_table;
use super::memory::{SharedMemory, StoreMemory};
use super::module::{FastPathCode, FrameSymbol, HostCode, ModuleRuntime};
use super::race::RaceTracker;
use super::table::Table;
use super::threads::{GuestThreads, SpawnError};
use super::threads::{InstanceRef, SharedEntry};
use super::threads::{ThreadRecord, call_on_block};
use super::traphandlers::UnwindReason;
use super::vmcontext::{VMFuncRef, VMGlobalDefinition, VMTagDefinition, VMThreadContext, VMVal};
use crate::environ::gc::{EXCEPTION_TAG_OFFSET, exception_slot_offset};
use crate::environ::{
    BoundsChecks, EntityIndex, ModuleInfo, RTT_KIND, TrapKind, TypeKind, VMOffsets,
    canonical_global, canonical_table, gc,
};
use std::any::Any;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmparser::{GlobalType, ValType};
use weft_threads::{ThreadBudget, ThreadId};

/// An entity of a store, by kind and index.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExternIndex {
    Func(usize),
    Memory(usize),
    Table(usize),
    Global(usize),
    Tag(usize),
}

/// Why instantiation stopped.
#[derive(Debug)]
pub(crate) enum InstantiationFailure {
    /// A segment or the start function trapped; the instance stays in the store.
    Unwind(UnwindReason),
    /// A memory or table could not be created.
    Resource(String),
}

struct FuncData {
    funcref: NonNull<VMFuncRef>,
    /// Array-call trampoline matching the function's signature.
    array_call: *const u8,
}

struct InstanceRecord {
    instance: Box<Instance>,
    memories: Vec<usize>,
    tables: Vec<usize>,
    globals: Vec<usize>,
    tags: Vec<usize>,
}

/// Payload slot `index` of the exception whose exnref word is `exn`.
fn exception_slot(exn: u64, index: usize) -> *mut [u8; 16] {
    (exn as usize + exception_slot_offset(index)) as *mut [u8; 16]
}

/// The untyped part of a store.
#[allow(
    clippy::vec_box,
    reason = "boxed so that moving the vectors never moves what VMContexts point at"
)]
pub(crate) struct StoreOpaque {
    /// Process-unique, so handles from another store are caught.
    id: u64,
    /// The record of the thread that owns the store, binding every instance's home block.
    /// Boxed: blocks point at it.
    home: Box<ThreadRecord>,
    /// The block host functions get when the embedder calls them directly, outside any
    /// instance.
    root_block: ThreadBlock,
    /// Guest threads running this store's shared functions.
    threads: Arc<GuestThreads>,
    /// Nesting of `call` (wasm → host → wasm), to find the outermost call.
    call_depth: usize,
    max_wasm_stack: usize,
    bounds_checks: BoundsChecks,
    instances: Vec<InstanceRecord>,
    instances_by_vmctx: HashMap<usize, usize>,
    memories: Vec<Box<StoreMemory>>,
    tables: Vec<Box<Table>>,
    globals: Vec<Box<VMGlobalDefinition>>,
    /// Where each global's value lives: its box, or for an exported thread-local global the
    /// home thread's copy in its instance's home block.
    global_ptrs: Vec<NonNull<VMGlobalDefinition>>,
    global_types: Vec<GlobalType>,
    /// Boxed: VMContexts point at them, and their addresses are their identities.
    tags: Vec<Box<VMTagDefinition>>,
    /// The engine's race detector, with race detection on.
    race: Option<Arc<RaceTracker>>,
    funcs: Vec<FuncData>,
    funcs_by_ref: HashMap<usize, usize>,
    /// Func index of each host function, by the address of its context (the `vmctx` of its
    /// funcref), so that copies of its funcref in importing instances map back to it.
    host_funcs_by_context: HashMap<usize, usize>,
    /// Host function contexts, each owning its closure; typed by the store's data type.
    host_funcs: Vec<Box<dyn Any>>,
    /// Trampolines of this store's host functions, kept alive while the functions are.
    host_code: Vec<Arc<HostCode>>,
    /// The host-mutex fast paths this store's host functions enter through.
    fast_paths: Vec<Arc<FastPathCode>>,
    externrefs: Vec<Box<dyn Any + Send + Sync>>,
    /// Where this store's structs and arrays live, shared with its instances.
    gc_heap: Arc<GcHeap>,
}

/// A store with its embedder data. Only [`StoreBox`] creates one, so it is always boxed:
/// host function contexts point at it.
pub(crate) struct StoreInner<T> {
    pub opaque: StoreOpaque,
    pub data: T,
    _always_boxed: (),
}

impl<T: 'static> HostStore for StoreInner<T> {
    fn instance_of_thread(&self, thread: *mut VMThreadContext) -> Option<usize> {
        self.opaque.instance_of_thread(thread)
    }
}

/// The body of a host function of a store with data `T`.
pub(crate) type HostBody<T> = host::HostBody<StoreInner<T>>;

/// A store-bound host function of a store with data `T`.
pub(crate) type HostFunc<T> = host::HostFunc<StoreInner<T>>;

/// Owns a [`StoreInner`] at a stable address.
pub(crate) struct StoreBox<T>(Box<StoreInner<T>>);

// SAFETY: a store is only ever used by the thread that currently owns it (every access goes
// through `&mut`), so moving it to another thread is sound when its data is `Send`. Its raw
// pointers all point into allocations the store itself owns; host closures and externref
// values are required to be `Send + Sync`; and no trap-handling state outlives a call.
unsafe impl<T: Send> Send for StoreBox<T> {}

impl<T: 'static> StoreBox<T> {
    pub fn new(
        data: T,
        max_wasm_stack: usize,
        max_threads: u32,
        engine_threads: Arc<ThreadBudget>,
        max_gc_heap: usize,
        bounds_checks: BoundsChecks,
        race: Option<Arc<RaceTracker>>,
    ) -> Self {
        let id = NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed);
        let home = Box::new(ThreadRecord::new());
        let threads = Arc::new(GuestThreads::new(
            id,
            max_threads,
            engine_threads,
            max_wasm_stack,
            NonNull::from(&*home),
        ));
        let inner = Box::new(StoreInner {
            opaque: StoreOpaque {
                id,
                home,
                threads,
                call_depth: 0,
                root_block: ThreadBlock::new(
                    &VMOffsets::new(&ModuleInfo::default()),
                    std::ptr::null_mut(),
                ),
                max_wasm_stack,
                bounds_checks,
                instances: Vec::new(),
                instances_by_vmctx: HashMap::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                global_ptrs: Vec::new(),
                global_types: Vec::new(),
                tags: Vec::new(),
                race,
                funcs: Vec::new(),
                funcs_by_ref: HashMap::new(),
                host_funcs_by_context: HashMap::new(),
                host_funcs: Vec::new(),
                host_code: Vec::new(),
                fast_paths: Vec::new(),
                externrefs: Vec::new(),
                gc_heap: Arc::new(GcHeap::new(max_gc_heap)),
            },
            data,
            _always_boxed: (),
        });
        let opaque = &inner.opaque;
        opaque.home.bind_home(&opaque.root_block);
        StoreBox(inner)
    }

    pub fn inner(&self) -> &StoreInner<T> {
        &self.0
    }

    pub fn inner_mut(&mut self) -> &mut StoreInner<T> {
        &mut self.0
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl<T: 'static> StoreInner<T> {
    /// Adds a host function of engine-wide signature `type_id`, returning its func index.
    /// Wasm code enters it through `fast` when given, else through its trampoline.
    pub fn add_host_func(
        &mut self,
        type_id: u32,
        trampolines: Arc<HostCode>,
        fast: Option<FastPathEntry>,
        func: HostBody<T>,
    ) -> usize {
        let store: *mut StoreInner<T> = self;
        let home: *const ThreadRecord = &*self.opaque.home;
        let host_call = trampolines.code.host_call().start as *const u8;
        let array_call = trampolines.code.array_call().start as *const u8;
        let mut context =
            HostFuncContext::new(store, home, host_call, fast.as_ref(), type_id, func);
        let funcref = context.funcref();
        let opaque = &mut self.opaque;
        if let Some(fast) = fast
            && !opaque
                .fast_paths
                .iter()
                .any(|code| Arc::ptr_eq(code, &fast.code))
        {
            opaque.fast_paths.push(fast.code);
        }
        if !opaque
            .host_code
            .iter()
            .any(|code| Arc::ptr_eq(code, &trampolines))
        {
            opaque.host_code.push(trampolines);
        }
        opaque.host_funcs.push(context);
        let index = opaque.push_func(funcref, array_call);
        // SAFETY: the funcref lives in the context just pushed, which the store owns.
        let context_address = unsafe { funcref.as_ref() }.vmctx as usize;
        opaque.host_funcs_by_context.insert(context_address, index);
        index
    }
}

impl StoreOpaque {
    pub fn id(&self) -> u64 {
        self.id
    }

    fn push_func(&mut self, funcref: NonNull<VMFuncRef>, array_call: *const u8) -> usize {
        let index = self.funcs.len();
        self.funcs.push(FuncData {
            funcref,
            array_call,
        });
        self.funcs_by_ref.insert(funcref.as_ptr() as usize, index);
        index
    }

    fn funcref(&self, func: usize) -> &VMFuncRef {
        // SAFETY: every funcref lives in a VMContext or host context this store owns.
        unsafe { self.funcs[func].funcref.as_ref() }
    }

    /// Engine-wide signature id of `func`.
    pub fn func_type_id(&self, func: usize) -> u32 {
        self.funcref(func).type_index
    }

    /// The table-element representation of `func`.
    pub fn func_to_raw(&self, func: usize) -> usize {
        self.funcs[func].funcref.as_ptr() as usize
    }

    /// The func index of a non-null funcref produced by this store's code, registering it on
    /// first sight (for example a function only reachable through a table).
    pub fn func_from_raw(&mut self, raw: usize) -> usize {
        if let Some(&index) = self.funcs_by_ref.get(&raw) {
            return index;
        }
        let funcref = NonNull::new(raw as *mut VMFuncRef).expect("caller checked for null");
        // SAFETY: funcrefs handed out by this store's code point into contexts it owns.
        let VMFuncRef {
            vmctx, type_index, ..
        } = unsafe { *funcref.as_ptr() };
        if let Some(&host_func) = self.host_funcs_by_context.get(&(vmctx as usize)) {
            return host_func;
        }
        let instance = self.instances_by_vmctx[&(vmctx as usize)];
        let module = self.instances[instance].instance.module();
        let module_type = module
            .type_index_of(type_index)
            .expect("a function's signature is among its module's types");
        let array_call = module.code.array_trampoline(module_type).start as *const u8;
        self.push_func(funcref, array_call)
    }

    /// Calls `func` with the array-call convention: `values` holds the parameters and
    /// receives the results, and must have room for the longer of the two lists.
    pub fn call(&mut self, func: usize, values: &mut [VMVal]) -> Result<(), UnwindReason> {
        let FuncData {
            funcref,
            array_call,
        } = self.funcs[func];
        // SAFETY: as in `funcref`.
        let VMFuncRef {
            wasm_call, vmctx, ..
        } = unsafe { *funcref.as_ptr() };
        let values = values.as_mut_ptr();
        let thread = match self.instances_by_vmctx.get(&(vmctx as usize)) {
            Some(&instance) => self.instances[instance].instance.home_block().as_ptr(),
            None => self.root_block.as_ptr(),
        }
        .as_ptr();
        let outermost = self.call_depth == 0;
        if outermost {
            self.home.run_here();
        }
        self.call_depth += 1;
        // SAFETY: `array_call` is the finished array-call trampoline of this function's
        // signature, kept alive with its code by the module or host code this store holds; the
        // block is the home thread's for the callee (or the root block for a host function),
        // owned by this store; `values` is large enough, as this method's contract requires.
        let result = unsafe {
            call_on_block(
                vmctx,
                thread,
                array_call,
                wasm_call,
                values,
                self.max_wasm_stack,
            )
        };
        self.call_depth -= 1;
        let interrupted = matches!(
            result,
            Err(UnwindReason::Trap {
                kind: TrapKind::Interrupted,
                ..
            })
        );
        // Only a trapping guest thread interrupts the home thread, and it does so just before
        // it aborts the group, so an interrupted call may see the abort a moment early.
        if outermost && (interrupted || self.threads.aborted()) {
            // A guest thread trapped, which interrupted this thread too: once every guest
            // thread has stopped, the embedder gets that trap, and the store is usable again.
            if let Err(failure) = self.threads.join_all() {
                return Err(failure.into_unwind());
            }
        }
        result
    }

    /// `func` as any thread may call it; `None` for a host function, and for a wasm function
    /// only the home thread may run: one of unshared type, unless its module was laid out
    /// for one-instance wasi-threads, where every function runs on any thread.
    pub fn shared_entry(&self, func: usize) -> Option<SharedEntry> {
        let FuncData {
            funcref,
            array_call,
        } = self.funcs[func];
        // SAFETY: as in `funcref`.
        let VMFuncRef {
            wasm_call,
            vmctx,
            type_index,
        } = unsafe { *funcref.as_ptr() };
        let instance = *self.instances_by_vmctx.get(&(vmctx as usize))?;
        let module = self.instances[instance].instance.module();
        let ty = module
            .type_index_of(type_index)
            .map(|ty| module.info.func_type(ty))
            .expect("a function's signature is among its module's types");
        let runs_anywhere = module.info.one_instance_threads
            || module
                .type_index_of(type_index)
                .is_some_and(|ty| module.info.is_shared_type(ty));
        if !runs_anywhere {
            return None;
        }
        let slots = ty.params().len().max(ty.results().len());
        // SAFETY: `vmctx` is the context of this live instance of this store, and the code
        // and trampoline are its function's, for a signature with `slots` values at most.
        Some(unsafe {
            SharedEntry::new(
                InstanceRef::new(self.id, vmctx),
                wasm_call,
                array_call,
                slots,
            )
        })
    }

    /// Operators the store's own thread may still run; negative once it ran out.
    pub fn fuel(&self) -> i64 {
        self.home.fuel()
    }

    /// Gives the store's own thread `fuel` operators to run; called between calls.
    pub fn set_fuel(&self, fuel: i64) {
        self.home.set_fuel(fuel);
    }

    /// Blocks `instance` ever created for threads other than the home thread.
    pub fn instance_blocks_created(&self, instance: usize) -> usize {
        let source = self.instances[instance].instance.block_source();
        // SAFETY: the instance, and with it its block source, is alive.
        unsafe { source.as_ref() }.created()
    }

    /// `instance` as any thread may name it.
    pub fn instance_ref(&self, instance: usize) -> InstanceRef {
        let vmctx = self.instances[instance].instance.vmctx();
        // SAFETY: the context of a live instance of this store.
        unsafe { InstanceRef::new(self.id, vmctx) }
    }

    /// The store's guest threads.
    pub fn threads(&self) -> &Arc<GuestThreads> {
        &self.threads
    }

    /// Starts function `func` of this store on a new guest thread; see
    /// [`GuestThreads::spawn`].
    pub fn spawn(&self, func: usize, arg: u32) -> Result<ThreadId, SpawnError> {
        let funcref = self.funcs[func].funcref.as_ptr();
        // SAFETY: the funcref is one of this store's.
        unsafe { self.threads.spawn(funcref, arg) }
    }

    /// Creates, links and initializes an instance; then runs its start function.
    pub fn instantiate(
        &mut self,
        module: Arc<ModuleRuntime>,
        imports: &[ExternIndex],
    ) -> Result<usize, InstantiationFailure> {
        let info = Arc::clone(&module.info);
        let mut imported_funcs = Vec::new();
        let (mut memories, mut tables, mut globals) = (Vec::new(), Vec::new(), Vec::new());
        let mut tags = Vec::new();
        for import in imports {
            match *import {
                ExternIndex::Func(func) => imported_funcs.push(*self.funcref(func)),
                ExternIndex::Memory(memory) => memories.push(memory),
                ExternIndex::Table(table) => tables.push(table),
                ExternIndex::Global(global) => globals.push(global),
                ExternIndex::Tag(tag) => tags.push(tag),
            }
        }
        for &ty in &info.tags[info.num_imported_tags as usize..] {
            tags.push(self.push_tag(module.types.ids[ty as usize]));
        }
        for ty in &info.memories[info.num_imported_memories as usize..] {
            let memory = StoreMemory::new(*ty, self.bounds_checks)
                .map_err(|error| InstantiationFailure::Resource(format!("memory: {error}")))?;
            memories.push(self.push_memory(memory));
        }
        for ty in &info.tables[info.num_imported_tables as usize..] {
            let ty = canonical_table(*ty, &module.types.ids);
            let table = Table::new(ty, 0).ok_or_else(|| {
                InstantiationFailure::Resource(format!(
                    "table of {} elements exceeds the limit",
                    ty.initial
                ))
            })?;
            tables.push(self.push_table(table));
        }
        for ty in &info.globals[info.num_imported_globals as usize..] {
            let ty = canonical_global(*ty, &module.types.ids);
            globals.push(self.push_global(VMGlobalDefinition::default(), ty));
        }
        let entities = InstanceEntities {
            imported_funcs,
            memories: memories
                .iter()
                .map(|&m| NonNull::from(&mut *self.memories[m]))
                .collect(),
            tables: tables
                .iter()
                .map(|&t| NonNull::from(&mut *self.tables[t]))
                .collect(),
            globals: globals.iter().map(|&g| self.global_ptrs[g]).collect(),
            tags: tags
                .iter()
                .map(|&t| NonNull::from(&*self.tags[t]))
                .collect(),
            race: self.race.clone(),
            gc_heap: Arc::clone(&self.gc_heap),
            builtins: builtin_table(),
        };
        let instance = Instance::new(Arc::clone(&module), entities);
        self.home.bind_home(instance.home_block());
        for (position, &global) in globals.iter().enumerate() {
            self.global_ptrs[global] = instance.global_ptr(position as u32);
        }
        let init = instance.initialize();
        let index = self.instances.len();
        self.instances_by_vmctx
            .insert(instance.vmctx() as usize, index);
        self.instances.push(InstanceRecord {
            instance,
            memories,
            tables,
            globals,
            tags,
        });
        init.map_err(|kind| {
            InstantiationFailure::Unwind(UnwindReason::Trap {
                kind,
                pcs: Vec::new(),
            })
        })?;
        if let Some(start) = info.start {
            let func = self.instance_func(index, start);
            self.call(func, &mut [VMVal::default()])
                .map_err(InstantiationFailure::Unwind)?;
        }
        Ok(index)
    }

    fn instance_func(&mut self, instance: usize, func: u32) -> usize {
        let raw = self.instances[instance].instance.funcref(func).as_ptr() as usize;
        self.func_from_raw(raw)
    }

    /// The store entity behind an instance's export.
    pub fn instance_export(&mut self, instance: usize, index: EntityIndex) -> ExternIndex {
        let record = &self.instances[instance];
        match index {
            EntityIndex::Function(func) => ExternIndex::Func(self.instance_func(instance, func)),
            EntityIndex::Memory(memory) => ExternIndex::Memory(record.memories[memory as usize]),
            EntityIndex::Table(table) => ExternIndex::Table(record.tables[table as usize]),
            EntityIndex::Global(global) => ExternIndex::Global(record.globals[global as usize]),
            EntityIndex::Tag(tag) => ExternIndex::Tag(record.tags[tag as usize]),
        }
    }

    /// The instance whose code runs with block `thread`, if it is one of this store's.
    pub fn instance_of_thread(&self, thread: *mut VMThreadContext) -> Option<usize> {
        // SAFETY: host-call trampolines pass the calling wasm code's live block.
        let vmctx = unsafe { (*thread).vmctx };
        self.instances_by_vmctx.get(&(vmctx as usize)).copied()
    }

    pub fn instance_module(&self, instance: usize) -> &Arc<ModuleRuntime> {
        self.instances[instance].instance.module()
    }

    /// The wasm functions behind a trap's code addresses (see `UnwindReason::Trap`),
    /// innermost first; addresses in no function of this store's modules (trampolines) are
    /// left out.
    pub fn symbolize(&self, pcs: &[usize]) -> Vec<FrameSymbol> {
        pcs.iter()
            .enumerate()
            .flat_map(|(depth, &pc)| {
                // Below the innermost frame, each address is a return address, just after
                // its call.
                let pc = if depth == 0 { pc } else { pc.wrapping_sub(1) };
                self.instances
                    .iter()
                    .map(|record| record.instance.module().symbolize(pc))
                    .find(|frames| !frames.is_empty())
                    .unwrap_or_default()
            })
            .collect()
    }

    // --- memories ---

    pub fn push_memory(&mut self, memory: StoreMemory) -> usize {
        self.memories.push(Box::new(memory));
        self.memories.len() - 1
    }

    /// The store index of `memory`, adding it to the store the first time it is imported.
    pub fn import_shared_memory(&mut self, memory: &SharedMemory) -> usize {
        let existing = self
            .memories
            .iter()
            .position(|entry| entry.as_shared().is_some_and(|shared| shared.same(memory)));
        existing.unwrap_or_else(|| self.push_memory(StoreMemory::Shared(memory.clone())))
    }

    pub fn memory(&self, memory: usize) -> &StoreMemory {
        &self.memories[memory]
    }

    pub fn memory_mut(&mut self, memory: usize) -> &mut StoreMemory {
        &mut self.memories[memory]
    }

    pub fn bounds_checks(&self) -> BoundsChecks {
        self.bounds_checks
    }

    // --- tables ---

    pub fn push_table(&mut self, table: Table) -> usize {
        self.tables.push(Box::new(table));
        self.tables.len() - 1
    }

    pub fn table(&self, table: usize) -> &Table {
        &self.tables[table]
    }

    // --- tags ---

    /// A new tag, distinct from every other, whose payload has function type `type_id`.
    pub fn push_tag(&mut self, type_id: u32) -> usize {
        self.tags.push(Box::new(VMTagDefinition { type_id }));
        self.tags.len() - 1
    }

    /// The engine-wide id of `tag`'s function type.
    pub fn tag_type_id(&self, tag: usize) -> u32 {
        self.tags[tag].type_id
    }

    /// A new exception of `tag` carrying the raw values `payload`, or `None` when the GC
    /// heap has no room for it: its exnref word.
    pub fn new_exception(&self, tag: usize, payload: &[u128]) -> Option<u64> {
        let exception = self
            .gc_heap
            .alloc_exception(&*self.tags[tag], payload.len())?;
        for (index, &raw) in payload.iter().enumerate() {
            // SAFETY: the exception was just allocated with a slot for every value, and no
            // other thread can reach it yet.
            unsafe { exception_slot(exception.as_ptr() as u64, index).write(raw.to_le_bytes()) };
        }
        Some(exception.as_ptr() as u64)
    }

    /// The tag of the exception `exn`, as one of this store's tags.
    pub fn exception_tag(&self, exn: u64) -> usize {
        // SAFETY: the API only hands out exnref words of this store's exceptions, which live
        // until the store is dropped and whose tag word never changes after allocation.
        let tag = unsafe {
            (exn as *const u8)
                .add(EXCEPTION_TAG_OFFSET as usize)
                .cast::<*const VMTagDefinition>()
                .read()
        };
        self.tags
            .iter()
            .position(|definition| std::ptr::eq(&**definition, tag))
            .expect("every exception's tag is one of its store's")
    }

    /// The raw payload value `index` of the exception `exn`, which carries more than
    /// `index` values.
    pub fn exception_value(&self, exn: u64, index: usize) -> u128 {
        // SAFETY: as in `exception_tag`; payload slots are written before the exception is
        // thrown or handed out, and never after.
        u128::from_le_bytes(unsafe { exception_slot(exn, index).read() })
    }

    // --- globals ---

    pub fn push_global(&mut self, global: VMGlobalDefinition, ty: GlobalType) -> usize {
        let mut global = Box::new(global);
        self.global_ptrs.push(NonNull::from(&mut *global));
        self.globals.push(global);
        self.global_types.push(ty);
        self.globals.len() - 1
    }

    pub fn global_type(&self, global: usize) -> GlobalType {
        self.global_types[global]
    }

    /// The raw value of `global`. Read atomically and without a reference: guest threads
    /// may be writing a shared global. A v128 is read whole, so it never tears.
    pub fn global_raw(&self, global: usize) -> u128 {
        let pointer = self.global_ptrs[global].as_ptr();
        if self.global_types[global].content_type == ValType::V128 {
            // SAFETY: the pointer is to a live, 16-byte aligned box or home-block slot this
            // store owns; JIT code writes a v128 global only with 16-byte atomics.
            return unsafe { VMGlobalDefinition::load_untorn(pointer) };
        }
        // SAFETY: as above; other globals are only accessed with aligned accesses of at most
        // 8 bytes at their start.
        u128::from(unsafe { AtomicU64::from_ptr(pointer.cast()) }.load(Ordering::SeqCst))
    }

    /// Sets `global` to the raw value `raw`, as [`StoreOpaque::global_raw`] reads it.
    pub fn set_global_raw(&mut self, global: usize, raw: u128) {
        let pointer = self.global_ptrs[global].as_ptr();
        if self.global_types[global].content_type == ValType::V128 {
            // SAFETY: as in `global_raw`.
            unsafe { VMGlobalDefinition::store_untorn(pointer, raw) };
            return;
        }
        // SAFETY: as in `global_raw`.
        unsafe { AtomicU64::from_ptr(pointer.cast()) }.store(raw as u64, Ordering::SeqCst);
    }

    // --- GC objects ---

    pub fn gc_heap(&self) -> &GcHeap {
        &self.gc_heap
    }

    /// The runtime descriptor of the object at `address`.
    fn object_rtt(&self, address: u64) -> &[u32] {
        // SAFETY: the API only hands out object words read from this store's wasm values
        // (and checks a `GcRef`'s store before use), objects live until the store is dropped,
        // and an object's descriptor pointer is written before the object is reachable and
        // never changes. Descriptors live as long as the engine, which the store holds.
        unsafe { super::gc::object_rtt(address as *const u8) }
    }

    /// The engine-wide type id of the object at `address`.
    pub fn object_type_id(&self, address: u64) -> u32 {
        *self
            .object_rtt(address)
            .last()
            .expect("a descriptor names its own type")
    }

    /// Whether the object at `address` is a struct or an array.
    pub fn object_kind(&self, address: u64) -> TypeKind {
        match self.object_rtt(address)[RTT_KIND] {
            kind if kind == TypeKind::Array as u32 => TypeKind::Array,
            _ => TypeKind::Struct,
        }
    }

    // --- externrefs ---

    /// Stores a host value; the returned handle is how wasm sees it (`environ::gc` says how
    /// handles differ from every other reference word). Values live until the store is
    /// dropped.
    pub fn push_externref(&mut self, value: Box<dyn Any + Send + Sync>) -> u64 {
        self.externrefs.push(value);
        gc::host_handle(self.externrefs.len() - 1)
    }

    /// The host value behind a handle word; `None` for a word that is not a handle (an
    /// externalized i31, struct or array).
    pub fn externref(&self, handle: u64) -> Option<&(dyn Any + Send + Sync)> {
        gc::host_index(handle).map(|index| &*self.externrefs[index])
    }
}

impl Drop for StoreOpaque {
    fn drop(&mut self) {
        // Guest threads use this store's instances and code: stop and join them before any
        // of it is freed.
        self.threads.shutdown();
    }
}
