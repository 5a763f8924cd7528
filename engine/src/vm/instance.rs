//! An instance's runtime state: its VMContext and the segments bulk operations still need.
//!
//! Memories, tables and globals are owned by the store; an instance holds pointers to them,
//! which stay valid because the store frees nothing before it drops all of its instances.

mod gc;

use super::block::{BlockSource, ThreadBlock};
use super::gc::GcHeap;
use super::memory::{StoreMemory, WaitValue, copy_bytes, fill_bytes, wasm_timeout};
use super::module::ModuleRuntime;
use super::race::RaceTracker;
use super::table::Table;
use super::vmcontext::{VMBuiltinTable, VMContext, VMFuncRef, VMGlobalDefinition, VMTagDefinition};
use crate::environ::{
    ConstExpr, ConstOp, DataKind, ElementKind, TrapKind, VM_CONTEXT_MAGIC, VMOffsets, i31,
};
use crate::vm::WaitOutcome;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The entities an instance's index spaces refer to, imports first.
pub(crate) struct InstanceEntities {
    /// Imported functions only; defined ones are created by the instance.
    pub imported_funcs: Vec<VMFuncRef>,
    pub memories: Vec<NonNull<StoreMemory>>,
    pub tables: Vec<NonNull<Table>>,
    pub globals: Vec<NonNull<VMGlobalDefinition>>,
    pub tags: Vec<NonNull<VMTagDefinition>>,
    /// The engine's race detector, when its code reports accesses to it.
    pub race: Option<Arc<RaceTracker>>,
    /// The store's GC heap, where the instance allocates structs and arrays.
    pub gc_heap: Arc<GcHeap>,
    /// The libcalls JIT code reaches through the context.
    pub builtins: *const VMBuiltinTable,
}

/// A module instance. Always boxed: its VMContext stores its address.
///
/// Several threads may run the instance's code at once, each with its own block, so libcalls
/// only get `&Instance`. What only unshared code can reach (unshared memories) is touched
/// only by the home thread: validation keeps shared functions, the only ones other threads
/// run, away from it, and a module laid out for one-instance wasi-threads has none.
/// Segment state and tables are thread-safe, since the threads of such a module run unshared
/// code too.
pub(crate) struct Instance {
    module: Arc<ModuleRuntime>,
    offsets: VMOffsets,
    vmctx: NonNull<u8>,
    memories: Vec<NonNull<StoreMemory>>,
    tables: Vec<NonNull<Table>>,
    globals: Vec<NonNull<VMGlobalDefinition>>,
    tags: Vec<NonNull<VMTagDefinition>>,
    race: Option<Arc<RaceTracker>>,
    /// Evaluated items of each element segment; emptied by `elem.drop` and after use by
    /// active and declarative segments.
    elements: RwLock<Vec<Box<[usize]>>>,
    /// Whether each data segment was dropped.
    dropped_data: Box<[AtomicBool]>,
    /// The home thread's block.
    home: ThreadBlock,
    /// Where other threads get their blocks.
    blocks: BlockSource,
    gc_heap: Arc<GcHeap>,
}

impl Instance {
    fn vmctx_layout(offsets: &VMOffsets) -> Layout {
        Layout::from_size_align(offsets.size_of_vmctx() as usize, 16)
            .expect("VMContext sizes are far below isize::MAX")
    }

    /// Builds the instance and its VMContext. Segments and the start function have not run.
    pub fn new(module: Arc<ModuleRuntime>, entities: InstanceEntities) -> Box<Instance> {
        let offsets = VMOffsets::new(&module.info);
        let layout = Self::vmctx_layout(&offsets);
        // SAFETY: the layout has a non-zero size (the static prefix alone is 24 bytes).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let vmctx = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        let vmctx_ptr = vmctx.as_ptr().cast::<VMContext>();
        let mut instance = Box::new(Instance {
            elements: RwLock::new(vec![Box::default(); module.info.elements.len()]),
            dropped_data: (0..module.info.data.len())
                .map(|_| AtomicBool::new(false))
                .collect(),
            home: ThreadBlock::new(&offsets, vmctx_ptr),
            blocks: BlockSource::new(offsets.clone(), vmctx_ptr),
            module,
            offsets,
            vmctx,
            memories: entities.memories,
            tables: entities.tables,
            globals: entities.globals,
            tags: entities.tags,
            race: entities.race,
            gc_heap: entities.gc_heap,
        });
        let instance_ptr: *mut Instance = &mut *instance;
        instance.write(VMOffsets::vmctx_magic(), VM_CONTEXT_MAGIC);
        instance.write(VMOffsets::vmctx_builtins(), entities.builtins);
        instance.write(VMOffsets::vmctx_instance(), instance_ptr);
        for index in 0..instance.memories.len() {
            // SAFETY: the store keeps every memory alive while instances use it.
            let definition = unsafe { instance.memories[index].as_mut() }.definition_ptr();
            instance.write(
                instance.offsets.vmctx_memory_pointer(index as u32),
                definition,
            );
        }
        for index in 0..instance.tables.len() {
            // SAFETY: as for memories.
            let definition = unsafe { instance.tables[index].as_mut() }.definition_ptr();
            instance.write(
                instance.offsets.vmctx_table_pointer(index as u32),
                definition,
            );
        }
        for index in 0..instance.globals.len() {
            // The VMContext's pointer to a thread-local global is the home thread's copy, which
            // is what the embedding API reads and writes; JIT code uses the running thread's
            // block instead.
            if let Some(slot) = instance.module.info.thread_local_slot(index as u32) {
                instance.globals[index] = instance.home_thread_local(slot);
            }
            let global = instance.globals[index].as_ptr();
            instance.write(instance.offsets.vmctx_global_pointer(index as u32), global);
        }
        for index in 0..instance.tags.len() {
            // The store keeps every tag alive while instances use it.
            let tag: *const VMTagDefinition = instance.tags[index].as_ptr();
            instance.write(instance.offsets.vmctx_tag_pointer(index as u32), tag);
        }
        let info = Arc::clone(&instance.module.info);
        for (index, imported) in entities.imported_funcs.iter().enumerate() {
            instance.write(instance.offsets.vmctx_funcref(index as u32), *imported);
        }
        let vmctx = instance.vmctx();
        for index in info.num_imported_functions..info.functions.len() as u32 {
            let defined = index - info.num_imported_functions;
            let funcref = VMFuncRef {
                wasm_call: instance.module.code.function(defined).start as *const u8,
                vmctx,
                type_index: instance.module.types.ids[info.functions[index as usize] as usize],
            };
            instance.write(instance.offsets.vmctx_funcref(index), funcref);
        }
        instance
    }

    /// The instance a VMContext belongs to.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the VMContext of a live instance.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> &'a Instance {
        // SAFETY: per the contract, `vmctx` is a VMContext whose `instance` field was written
        // by `Instance::new` and points to the live, boxed instance.
        unsafe {
            let field = vmctx.cast::<u8>().add(VMOffsets::vmctx_instance() as usize);
            &*field.cast::<*mut Instance>().read()
        }
    }

    fn write<T>(&mut self, offset: u32, value: T) {
        debug_assert!(offset as usize + size_of::<T>() <= self.offsets.size_of_vmctx() as usize);
        // SAFETY: `offset` comes from this module's `VMOffsets`, so it lies inside the
        // VMContext allocation and is aligned for the field stored there.
        unsafe {
            self.vmctx
                .as_ptr()
                .add(offset as usize)
                .cast::<T>()
                .write(value)
        }
    }

    /// Where the instance's global `index` lives for the embedding API.
    pub fn global_ptr(&self, index: u32) -> NonNull<VMGlobalDefinition> {
        self.globals[index as usize]
    }

    pub fn module(&self) -> &Arc<ModuleRuntime> {
        &self.module
    }

    /// The race detector this instance's code reports to, if any.
    pub fn race_tracker(&self) -> Option<&Arc<RaceTracker>> {
        self.race.as_ref()
    }

    /// `race_access`: a plain access by this instance's code to a shared memory.
    pub fn race_access(&self, address: u64, size: u32, location: u64, write: bool) {
        if let Some(race) = &self.race {
            race.access(&self.module, address, size, write, location);
        }
    }

    /// `race_release`: just before an atomic access, `wait` or `notify` by this instance's
    /// code.
    pub fn race_release(&self, address: u64) {
        if let Some(race) = &self.race {
            race.release(address);
        }
    }

    /// `race_fence`: an `atomic.fence` by this instance's code.
    pub fn race_fence(&self) {
        if let Some(race) = &self.race {
            race.fence();
        }
    }

    /// `explore_point`: a schedule point of this instance's code.
    pub fn explore_point(&self, operation: u32, address: u64, location: u64) {
        super::explore::point(&self.module, operation, address, location);
    }

    /// `race_acquire`: just after an atomic access, `wait` or `notify`.
    pub fn race_acquire(&self, address: u64) {
        if let Some(race) = &self.race {
            race.acquire(address);
        }
    }

    pub fn vmctx(&self) -> *mut VMContext {
        self.vmctx.as_ptr().cast()
    }

    /// The home thread's block.
    pub fn home_block(&self) -> &ThreadBlock {
        &self.home
    }

    /// The source of other threads' blocks; stable while the instance lives.
    pub fn block_source(&self) -> NonNull<BlockSource> {
        NonNull::from(&self.blocks)
    }

    /// The home thread's copy of the thread-local global in `slot`.
    pub fn home_thread_local(&self, slot: u32) -> NonNull<VMGlobalDefinition> {
        let offset = self.offsets.thread_local_slot(slot) as usize;
        // SAFETY: the slot lies inside the home block, which lives as long as the instance.
        unsafe { self.home.as_ptr().cast::<u8>().add(offset).cast() }
    }

    /// The funcref of function `index`, which lives inside this instance's VMContext.
    pub fn funcref(&self, index: u32) -> NonNull<VMFuncRef> {
        let offset = self.offsets.vmctx_funcref(index) as usize;
        // SAFETY: the offset is inside the VMContext allocation.
        unsafe { self.vmctx.add(offset).cast() }
    }

    pub fn memory(&self, index: u32) -> &StoreMemory {
        // SAFETY: the store keeps the memory alive; nothing takes `&mut` to a shared memory's
        // entry, and an unshared one is only used by the home thread (see `Instance`).
        unsafe { self.memories[index as usize].as_ref() }
    }

    /// `memory.grow` needs `&mut` only for unshared memories, which only the home thread
    /// reaches; a shared memory grows under its own lock.
    fn grow_memory(&self, index: u32, delta: u64) -> std::io::Result<Option<u64>> {
        if let Some(shared) = self.memory(index).as_shared() {
            return shared.grow(delta);
        }
        // SAFETY: an unshared memory is only reached by the home thread (see `Instance`), which
        // is inside this libcall and holds no other reference to it.
        unsafe { (*self.memories[index as usize].as_ptr()).grow(delta) }
    }

    fn table(&self, index: u32) -> &Table {
        // SAFETY: the store keeps the table alive; tables take only `&self` (their elements
        // are atomics), so any thread may hold this reference.
        unsafe { self.tables[index as usize].as_ref() }
    }

    /// Evaluates a constant expression to its raw representation (narrow values in the low
    /// bits). Only allocation can fail, when the GC heap is full.
    pub fn eval_const(&self, expr: &ConstExpr) -> Result<u128, TrapKind> {
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        let pop_n = |stack: &mut Vec<u128>, count: usize| stack.split_off(stack.len() - count);
        for op in &expr.ops {
            let value = match *op {
                ConstOp::StructNew(ty) => {
                    let count = self.module.info.struct_type(ty).fields.len();
                    let fields = pop_n(&mut stack, count);
                    self.const_struct(ty, &fields)?
                }
                ConstOp::StructNewDefault(ty) => self.const_struct(ty, &[])?,
                ConstOp::ArrayNew(ty) => {
                    let length = stack.pop().expect("validated constant expression") as u32;
                    let value = stack.pop().expect("validated constant expression");
                    self.const_array(ty, length, |_| value)?
                }
                ConstOp::ArrayNewDefault(ty) => {
                    let length = stack.pop().expect("validated constant expression") as u32;
                    self.const_array(ty, length, |_| 0)?
                }
                ConstOp::ArrayNewFixed(ty, count) => {
                    let elements = pop_n(&mut stack, count as usize);
                    self.const_array(ty, count, |index| elements[index as usize])?
                }
                ConstOp::I32Const(value) => u128::from(value as u32),
                ConstOp::I64Const(value) => u128::from(value as u64),
                ConstOp::F32Const(bits) => u128::from(bits),
                ConstOp::F64Const(bits) => u128::from(bits),
                ConstOp::V128Const(bits) => bits,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(index) => self.funcref(index).as_ptr() as u128,
                ConstOp::RefI31 => {
                    let value = stack.pop().expect("validated constant expression");
                    u128::from(i31::encode(value as u32))
                }
                ConstOp::GlobalGet(index) => {
                    // SAFETY: the store keeps the global alive, and initializers only read
                    // immutable globals, which nothing writes any more.
                    u128::from_le_bytes(unsafe { self.globals[index as usize].as_ref() }.bytes)
                }
                binary => {
                    let rhs = stack.pop().expect("validated constant expression") as u64;
                    let lhs = stack.pop().expect("validated constant expression") as u64;
                    let (l32, r32) = (lhs as u32, rhs as u32);
                    u128::from(match binary {
                        ConstOp::I32Add => u64::from(l32.wrapping_add(r32)),
                        ConstOp::I32Sub => u64::from(l32.wrapping_sub(r32)),
                        ConstOp::I32Mul => u64::from(l32.wrapping_mul(r32)),
                        ConstOp::I64Add => lhs.wrapping_add(rhs),
                        ConstOp::I64Sub => lhs.wrapping_sub(rhs),
                        ConstOp::I64Mul => lhs.wrapping_mul(rhs),
                        _ => unreachable!("operands handled above"),
                    })
                }
            };
            stack.push(value);
        }
        Ok(stack
            .pop()
            .expect("validated constant expression yields a value"))
    }

    /// Runs global initializers, table initializers and segments, in the spec's order. A trap
    /// leaves the effects of earlier segments in place, as the spec requires.
    pub fn initialize(&self) -> Result<(), TrapKind> {
        let info = Arc::clone(&self.module.info);
        for (defined, init) in info.global_inits.iter().enumerate() {
            let value = self.eval_const(init)?;
            let index = info.num_imported_globals as usize + defined;
            // SAFETY: the store keeps the global alive and nothing else accesses it yet.
            let global = unsafe { &mut *self.globals[index].as_ptr() };
            global.bytes = value.to_le_bytes();
        }
        self.blocks.record_initial(&self.home);
        for (defined, init) in info.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let value = self.eval_const(init)? as usize;
                let table = self.table(info.num_imported_tables + defined as u32);
                table.fill(0, table.len(), value);
            }
        }
        for (index, segment) in info.elements.iter().enumerate() {
            let items = segment
                .items
                .iter()
                .map(|item| self.eval_const(item).map(|raw| raw as usize))
                .collect::<Result<_, _>>()?;
            self.elements_mut()[index] = items;
        }
        for (index, segment) in info.elements.iter().enumerate() {
            match &segment.kind {
                ElementKind::Active { table, offset } => {
                    let offset = self.eval_const(offset)? as u64;
                    let len = self.elements()[index].len() as u32;
                    self.table_init(*table, index as u32, offset, 0, len)?;
                    self.elem_drop(index as u32);
                }
                ElementKind::Declared => self.elem_drop(index as u32),
                ElementKind::Passive => {}
            }
        }
        for (index, segment) in info.data.iter().enumerate() {
            if let DataKind::Active { memory, offset } = &segment.kind {
                let offset = self.eval_const(offset)? as u64;
                let len = segment.range.len() as u32;
                self.memory_init(*memory, index as u32, offset, 0, len)?;
                self.data_drop(index as u32);
            }
        }
        Ok(())
    }

    /// `memory.grow`: the old size in pages, or `u64::MAX` (-1), which JIT code wraps to
    /// 32 bits for a 32-bit memory.
    pub fn memory_grow(&self, memory: u32, delta: u64) -> u64 {
        match self.grow_memory(memory, delta) {
            Ok(Some(old_pages)) => old_pages,
            Ok(None) | Err(_) => u64::MAX,
        }
    }

    pub fn memory_fill(&self, memory: u32, dst: u64, value: u8, len: u64) -> Result<(), TrapKind> {
        let view = self.memory(memory).view();
        let dst = view.checked(dst, len).ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: `checked` proved `dst..dst + len` is accessible, and memories never shrink.
        unsafe { fill_bytes(dst, value, len as usize, view.is_shared()) };
        Ok(())
    }

    pub fn memory_copy(
        &self,
        dst_memory: u32,
        src_memory: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapKind> {
        let src_view = self.memory(src_memory).view();
        let dst_view = self.memory(dst_memory).view();
        let src = src_view
            .checked(src, len)
            .ok_or(TrapKind::MemoryOutOfBounds)?;
        let dst = dst_view
            .checked(dst, len)
            .ok_or(TrapKind::MemoryOutOfBounds)?;
        let shared = src_view.is_shared() || dst_view.is_shared();
        // SAFETY: both ranges were bounds-checked; `copy_bytes` allows them to overlap.
        unsafe { copy_bytes(src, dst, len as usize, shared) };
        Ok(())
    }

    pub fn memory_init(
        &self,
        memory: u32,
        data: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let segment = if self.is_data_dropped(data) {
            0..0
        } else {
            self.module.info.data[data as usize].range.clone()
        };
        let src_end = u64::from(src) + u64::from(len);
        if src_end > segment.len() as u64 {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        let bytes_start = segment.start + src as usize;
        let module = Arc::clone(&self.module);
        let source = &module.bytes[bytes_start..bytes_start + len as usize];
        let view = self.memory(memory).view();
        let dst = view
            .checked(dst, u64::from(len))
            .ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: the destination was bounds-checked and cannot overlap the module's bytes.
        unsafe { copy_bytes(source.as_ptr(), dst, source.len(), view.is_shared()) };
        Ok(())
    }

    /// `memory.atomic.notify` on a shared memory at an address JIT code already checked.
    pub fn memory_atomic_notify(&self, memory: u32, addr: u64, count: u32) -> u32 {
        match self.memory(memory).as_shared() {
            Some(shared) => shared.notify(addr, count),
            // The compiler folds notify on unshared memory to 0; agree if called anyway.
            None => 0,
        }
    }

    /// `memory.atomic.wait32/64` on a shared memory at an address JIT code already checked:
    /// 0 woken, 1 not equal, 2 timed out. A negative timeout waits forever.
    pub fn memory_atomic_wait(
        &self,
        memory: u32,
        addr: u64,
        expected: WaitValue,
        timeout: i64,
    ) -> u32 {
        let shared = self
            .memory(memory)
            .as_shared()
            .expect("the compiler only emits waits on shared memories")
            .clone();
        match shared.wait(addr, expected, wasm_timeout(timeout)) {
            WaitOutcome::Woken => 0,
            WaitOutcome::Mismatch => 1,
            WaitOutcome::TimedOut => 2,
            // The JIT code turns this into an `Interrupted` trap.
            WaitOutcome::Interrupted => 3,
        }
    }

    /// The element `index` of the table `spawn-indirect` reads: the first shared table of
    /// function references this instance has. Traps like `call_indirect` when the index is
    /// out of bounds; a null element is left to the spawn, which traps on it.
    pub fn spawn_table_element(&self, index: u32) -> Result<*const VMFuncRef, TrapKind> {
        use wasmparser::{AbstractHeapType, HeapType};
        let holds_functions = |ty: &wasmparser::TableType| match ty.element_type.heap_type() {
            HeapType::Abstract { ty, .. } => {
                matches!(ty, AbstractHeapType::Func | AbstractHeapType::NoFunc)
            }
            HeapType::Concrete(index) | HeapType::Exact(index) => {
                index.as_module_index().is_some_and(|index| {
                    let ty = &self.module.info.types[index as usize].composite_type;
                    matches!(ty.inner, wasmparser::CompositeInnerType::Func(_))
                })
            }
        };
        let table = self
            .module
            .info
            .tables
            .iter()
            .position(|ty| ty.shared && holds_functions(ty))
            .ok_or(TrapKind::UndefinedElement)?;
        self.table(table as u32)
            .get(u64::from(index))
            .map(|raw| raw as *const VMFuncRef)
            .ok_or(TrapKind::UndefinedElement)
    }

    /// `throw`'s new exception of tag `tag`, its payload zeroed; 0 when the GC heap is full.
    pub fn exception_new_raw(&self, tag: u32) -> usize {
        let info = &self.module.info;
        let slots = info.func_type(info.tags[tag as usize]).params().len();
        self.gc_heap
            .alloc_exception(self.tags[tag as usize].as_ptr(), slots)
            .map_or(0, |exception| exception.as_ptr() as usize)
    }

    pub fn data_drop(&self, data: u32) {
        // Relaxed: the segment's bytes never change, so the flag orders nothing else.
        self.dropped_data[data as usize].store(true, Ordering::Relaxed);
    }

    fn is_data_dropped(&self, data: u32) -> bool {
        self.dropped_data[data as usize].load(Ordering::Relaxed)
    }

    /// `table.grow`: the old size, or `u64::MAX` (-1), which JIT code wraps to 32 bits for
    /// a 32-bit table.
    pub fn table_grow(&self, table: u32, init: usize, delta: u64) -> u64 {
        self.table(table).grow(delta, init).unwrap_or(u64::MAX)
    }

    pub fn table_fill(&self, table: u32, dst: u64, value: usize, len: u64) -> Result<(), TrapKind> {
        self.table(table)
            .fill(dst, len, value)
            .then_some(())
            .ok_or(TrapKind::TableOutOfBounds)
    }

    pub fn table_copy(
        &self,
        dst_table: u32,
        src_table: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapKind> {
        self.table(dst_table)
            .copy_from(dst, self.table(src_table), src, len)
            .then_some(())
            .ok_or(TrapKind::TableOutOfBounds)
    }

    pub fn table_init(
        &self,
        table: u32,
        elem: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let items = self.elements();
        let source = u64::from(src)
            .checked_add(u64::from(len))
            .filter(|&end| end <= items[elem as usize].len() as u64)
            .map(|end| &items[elem as usize][src as usize..end as usize])
            .ok_or(TrapKind::TableOutOfBounds)?;
        self.table(table)
            .init(dst, source)
            .then_some(())
            .ok_or(TrapKind::TableOutOfBounds)
    }

    pub fn elem_drop(&self, elem: u32) {
        self.elements_mut()[elem as usize] = Box::default();
    }

    fn elements(&self) -> RwLockReadGuard<'_, Vec<Box<[usize]>>> {
        self.elements.read().unwrap_or_else(|e| e.into_inner())
    }

    fn elements_mut(&self) -> RwLockWriteGuard<'_, Vec<Box<[usize]>>> {
        self.elements.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let layout = Self::vmctx_layout(&self.offsets);
        // SAFETY: allocated in `new` with this layout, and only freed here.
        unsafe { std::alloc::dealloc(self.vmctx.as_ptr(), layout) };
    }
}
