//! Compiles modules with the IR verifier on, and runs small functions against a hand-built
//! VMContext through the array-call trampolines.

use super::{CompiledModule, Compiler};
use crate::environ::{
    BoundsChecks, BuiltinIndex, ModuleInfo, ModuleTypes, TrapKind, Tunables, TypeRegistry,
    VMOffsets, VMVAL_SIZE, WasmError,
};
use wasmparser::ValType;

pub(super) fn compiler(bounds_checks: BoundsChecks) -> Compiler {
    Compiler::new(&Tunables {
        bounds_checks,
        verify_ir: true,
        consume_fuel: false,
        name_functions: false,
        detect_races: false,
        explore: false,
        opt_level: crate::environ::OptLevel::Speed,
        inline_functions: true,
    })
    .expect("the host is supported")
}

pub(super) fn parse(wat: &str) -> (Vec<u8>, ModuleInfo) {
    let bytes = wat::parse_str(wat).expect("valid text");
    // Every proposal, so tests can reach shared-everything code as well.
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .expect("valid module");
    let info = ModuleInfo::parse(&bytes).expect("parsable module");
    (bytes, info)
}

pub(super) fn compile_with(
    bounds_checks: BoundsChecks,
    wat: &str,
) -> Result<(CompiledModule, ModuleInfo), WasmError> {
    let (bytes, info) = parse(wat);
    let types = ModuleTypes::register(&mut TypeRegistry::default(), &info)?;
    let module = compiler(bounds_checks).compile_module(&bytes, &info, &types)?;
    Ok((module, info))
}

/// Compiles `wat` in both bounds-checking modes and returns the explicit-checks build, the
/// one a heap-allocated test memory can run.
pub(super) fn compile(wat: &str) -> (CompiledModule, ModuleInfo) {
    compile_with(BoundsChecks::GuardPages, wat).expect("compiles with guard pages");
    compile_with(BoundsChecks::Explicit, wat).expect("compiles with explicit checks")
}

pub(super) fn unsupported_feature(wat: &str) -> String {
    match compile_with(BoundsChecks::GuardPages, wat) {
        Err(WasmError::Unsupported { feature, .. }) => feature,
        Err(other) => panic!("expected an unsupported feature, got {other:?}"),
        Ok(_) => panic!("expected an unsupported feature, but it compiled"),
    }
}

// --- a hand-built instance ---

pub(super) const PAGE: usize = 65536;

#[repr(C)]
struct Definition {
    base: u64,
    length: u64,
}

#[repr(C)]
struct FuncRef {
    wasm_call: u64,
    vmctx: u64,
    type_index: u32,
}

/// Just enough of an instance for generated code: one memory of one page (explicit bounds
/// checks), one table, the globals, the funcrefs of the defined functions and the builtins
/// `memory_grow`, `memory_fill` and single-threaded fakes of wait and notify. The memory is
/// wired the same way whether the module declares it shared or not.
/// Everything is boxed so that the addresses stored in the VMContext stay put.
pub(super) struct Instance {
    vmctx: Box<[u64]>,
    /// The thread block: its stack limit and interrupt flag are zero.
    thread: Box<[u64]>,
    pub(super) memory: Box<[u8]>,
    _memory_definition: Box<Definition>,
    table: Box<[u64]>,
    _table_definition: Box<Definition>,
    globals: Box<[[u64; 2]]>,
    _builtins: Box<[usize]>,
    module: CompiledModule,
    info: ModuleInfo,
}

extern "C" fn memory_grow(_vmctx: u64, _memory: u32, _delta: u32) -> u32 {
    u32::MAX
}

/// Memory 0's definition, found through the vmctx exactly as generated code finds it.
///
/// # Safety
///
/// `vmctx` must be the context of a live [`Instance`] with a memory.
unsafe fn memory_definition<'a>(vmctx: u64) -> &'a Definition {
    // Memory 0's pointer is the first of the per-module arrays.
    let pointer = (vmctx + u64::from(VMOffsets::vmctx_static_size())) as *const u64;
    // SAFETY: guaranteed by the caller: the vmctx holds the pointer to memory 0's definition
    // there, and the instance keeps the definition alive.
    unsafe { &*(*pointer as *const Definition) }
}

/// Fills memory 0.
extern "C" fn memory_fill(vmctx: u64, memory: u32, dst: u32, value: u32, len: u32) -> u32 {
    assert_eq!(memory, 0);
    // SAFETY: tests only call this through an `Instance` with a memory.
    let definition = unsafe { memory_definition(vmctx) };
    if u64::from(dst) + u64::from(len) > definition.length {
        return 1;
    }
    // SAFETY: checked against the length of the memory just above.
    unsafe {
        std::ptr::write_bytes(
            (definition.base as *mut u8).add(dst as usize),
            value as u8,
            len as usize,
        )
    };
    0
}

/// A call of one of the wait/notify builtins, as the fakes below saw it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum AtomicCall {
    Notify {
        memory: u32,
        addr: u64,
        count: u32,
    },
    Wait {
        memory: u32,
        addr: u64,
        expected: u64,
        timeout: i64,
    },
}

thread_local! {
    /// The wait/notify builtin calls made on this thread (each test runs on its own thread).
    pub(super) static ATOMIC_CALLS: std::cell::RefCell<Vec<AtomicCall>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The woken count the fake `memory_atomic_notify` reports: as if this many threads waited.
pub(super) const FAKE_WAITERS: u32 = 3;

extern "C" fn memory_atomic_notify(_vmctx: u64, memory: u32, addr: u64, count: u32) -> u32 {
    ATOMIC_CALLS.with_borrow_mut(|calls| {
        calls.push(AtomicCall::Notify {
            memory,
            addr,
            count,
        })
    });
    count.min(FAKE_WAITERS)
}

/// A single-threaded wait: 1 ("not-equal") if the `size`-byte value at `addr` differs from
/// `expected`, else 2 ("timed-out"), since no other thread can notify.
fn fake_wait(vmctx: u64, memory: u32, addr: u64, expected: u64, timeout: i64, size: usize) -> u32 {
    ATOMIC_CALLS.with_borrow_mut(|calls| {
        calls.push(AtomicCall::Wait {
            memory,
            addr,
            expected,
            timeout,
        })
    });
    // SAFETY: tests only call this through an `Instance` with a memory.
    let definition = unsafe { memory_definition(vmctx) };
    assert!(addr + size as u64 <= definition.length, "unchecked address");
    let mut bytes = [0u8; 8];
    // SAFETY: in bounds, as just checked.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (definition.base as *const u8).add(addr as usize),
            bytes.as_mut_ptr(),
            size,
        )
    };
    if u64::from_le_bytes(bytes) == expected {
        2
    } else {
        1
    }
}

extern "C" fn memory_atomic_wait32(
    vmctx: u64,
    memory: u32,
    addr: u64,
    expected: u32,
    timeout: i64,
) -> u32 {
    fake_wait(vmctx, memory, addr, u64::from(expected), timeout, 4)
}

extern "C" fn memory_atomic_wait64(
    vmctx: u64,
    memory: u32,
    addr: u64,
    expected: u64,
    timeout: i64,
) -> u32 {
    fake_wait(vmctx, memory, addr, expected, timeout, 8)
}

impl Instance {
    pub(super) fn new(wat: &str) -> Instance {
        let (module, info) = compile(wat);
        let offsets = VMOffsets::new(&info);
        let mut vmctx = vec![0u64; offsets.size_of_vmctx() as usize / 8].into_boxed_slice();
        // Zeroed: no interrupt, and a stack limit of 0 (unlimited).
        let thread = vec![0u64; offsets.size_of_thread_context() as usize / 8].into_boxed_slice();
        let mut memory = vec![0u8; PAGE].into_boxed_slice();
        let memory_definition = Box::new(Definition {
            base: memory.as_mut_ptr() as u64,
            length: PAGE as u64,
        });
        let mut table = vec![0u64; 4].into_boxed_slice();
        let table_definition = Box::new(Definition {
            base: table.as_mut_ptr() as u64,
            length: table.len() as u64,
        });
        let mut globals = vec![[0u64; 2]; info.globals.len()].into_boxed_slice();
        let mut builtins = vec![0usize; BuiltinIndex::ALL.len()].into_boxed_slice();
        builtins[BuiltinIndex::memory_grow.index() as usize] = memory_grow as *const () as usize;
        builtins[BuiltinIndex::memory_fill.index() as usize] = memory_fill as *const () as usize;
        builtins[BuiltinIndex::memory_atomic_notify.index() as usize] =
            memory_atomic_notify as *const () as usize;
        builtins[BuiltinIndex::memory_atomic_wait32.index() as usize] =
            memory_atomic_wait32 as *const () as usize;
        builtins[BuiltinIndex::memory_atomic_wait64.index() as usize] =
            memory_atomic_wait64 as *const () as usize;

        let slot = |offset: u32| offset as usize / 8;
        vmctx[slot(VMOffsets::vmctx_builtins())] = builtins.as_ptr() as u64;
        if !info.memories.is_empty() {
            vmctx[slot(offsets.vmctx_memory_pointer(0))] = &*memory_definition as *const _ as u64;
        }
        if !info.tables.is_empty() {
            vmctx[slot(offsets.vmctx_table_pointer(0))] = &*table_definition as *const _ as u64;
        }
        for (index, global) in globals.iter_mut().enumerate() {
            vmctx[slot(offsets.vmctx_global_pointer(index as u32))] = global.as_mut_ptr() as u64;
        }
        let vmctx_address = vmctx.as_ptr() as u64;
        for (defined, function) in module.functions().iter().enumerate() {
            let index = info.num_imported_functions + defined as u32;
            let funcref = slot(offsets.vmctx_funcref(index));
            vmctx[funcref] = function.start as u64;
            vmctx[funcref + 1] = vmctx_address;
            vmctx[funcref + 2] = u64::from(info.functions[index as usize]);
        }
        assert_eq!(size_of::<FuncRef>() as u32, VMOffsets::size_of_vmfuncref());
        Instance {
            vmctx,
            thread,
            memory,
            _memory_definition: memory_definition,
            table,
            _table_definition: table_definition,
            globals,
            _builtins: builtins,
            module,
            info,
        }
    }

    /// Calls defined function `defined` with raw argument bits, returning raw result bits.
    pub(super) fn call(&mut self, defined: usize, args: &[u64]) -> Vec<u64> {
        let ty = self.info.functions[self.info.num_imported_functions as usize + defined];
        let func_type = self.info.func_type(ty);
        assert_eq!(args.len(), func_type.params().len());
        let slots = args.len().max(func_type.results().len());
        let mut values = vec![[0u64; 2]; slots];
        for (slot, &arg) in values.iter_mut().zip(args) {
            slot[0] = arg;
        }
        assert_eq!(size_of::<[u64; 2]>() as u32, VMVAL_SIZE);
        let trampoline = self.module.array_trampolines()[ty as usize].start;
        let wasm_call = self.module.functions()[defined].start;
        let vmctx = self.vmctx.as_mut_ptr() as u64;
        let thread = self.thread.as_mut_ptr() as u64;
        // SAFETY: array-call trampolines have exactly this native signature.
        let trampoline = unsafe {
            std::mem::transmute::<usize, unsafe extern "C" fn(u64, u64, usize, *mut [u64; 2])>(
                trampoline,
            )
        };
        // SAFETY: the trampoline matches the callee's type, the vmctx is complete for what
        // the test modules use, and the values array has a slot for every param and result.
        unsafe { trampoline(vmctx, thread, wasm_call, values.as_mut_ptr()) };
        // Narrow results only define the low bytes of their slot.
        values
            .iter()
            .zip(func_type.results())
            .map(|(slot, ty)| match ty {
                ValType::I32 | ValType::F32 => slot[0] & 0xffff_ffff,
                _ => slot[0],
            })
            .collect()
    }

    pub(super) fn call1(&mut self, defined: usize, args: &[u64]) -> u64 {
        self.call(defined, args)[0]
    }
}

pub(super) fn i32_bits(value: i32) -> u64 {
    u64::from(value as u32)
}

fn f32_bits(value: f32) -> u64 {
    u64::from(value.to_bits())
}

fn f64_bits(value: f64) -> u64 {
    value.to_bits()
}

// --- execution ---

#[test]
fn integer_arithmetic() {
    let mut instance = Instance::new(
        r#"(module
            (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
            (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_s)
            (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
            (func (param i64 i64) (result i64) local.get 0 local.get 1 i64.rotl)
            (func (param i32) (result i32) local.get 0 i32.clz)
            (func (param i64) (result i64) local.get 0 i64.extend32_s)
            (func (param i32) (result i32) local.get 0 i32.extend8_s)
            (func (param i64) (result i32) local.get 0 i64.eqz)
            (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.lt_u)
            (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.shr_s)
            (func (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_s))"#,
    );
    assert_eq!(instance.call1(0, &[2, 40]), 42);
    assert_eq!(instance.call1(0, &[i32_bits(-1), 1]), 0);
    assert_eq!(instance.call1(1, &[i32_bits(i32::MIN), i32_bits(-1)]), 0);
    assert_eq!(instance.call1(1, &[i32_bits(-7), 2]), i32_bits(-1));
    assert_eq!(instance.call1(2, &[i32_bits(-1), 2]), 0x7fff_ffff);
    assert_eq!(instance.call1(3, &[0x8000_0000_0000_0001, 65]), 3);
    assert_eq!(instance.call1(4, &[1]), 31);
    assert_eq!(instance.call1(5, &[0x1_8000_0000]), 0xffff_ffff_8000_0000);
    assert_eq!(instance.call1(6, &[0x80]), i32_bits(-128));
    assert_eq!(instance.call1(7, &[0]), 1);
    assert_eq!(instance.call1(8, &[1, i32_bits(-1)]), 1);
    assert_eq!(instance.call1(9, &[i32_bits(-8), 33]), i32_bits(-4));
    assert_eq!(instance.call1(10, &[i64::MIN as u64, u64::MAX]), 0);
}

#[test]
fn float_operations() {
    let mut instance = Instance::new(
        r#"(module
            (func (param f32 f32) (result f32) local.get 0 local.get 1 f32.min)
            (func (param f64) (result f64) local.get 0 f64.nearest)
            (func (param f64) (result i32) local.get 0 i32.trunc_sat_f64_s)
            (func (param f32) (result i64) local.get 0 i64.trunc_f32_u)
            (func (param i64) (result f64) local.get 0 f64.convert_i64_u)
            (func (param f32) (result i32) local.get 0 i32.reinterpret_f32)
            (func (param f64 f64) (result f64) local.get 0 local.get 1 f64.copysign)
            (func (param f32 f32) (result i32) local.get 0 local.get 1 f32.ne)
            (func (param f32) (result f64) local.get 0 f64.promote_f32))"#,
    );
    assert_eq!(
        instance.call1(0, &[f32_bits(-0.0), f32_bits(0.0)]),
        f32_bits(-0.0)
    );
    assert!(
        f32::from_bits(instance.call1(0, &[f32_bits(f32::NAN), f32_bits(1.0)]) as u32).is_nan()
    );
    assert_eq!(instance.call1(1, &[f64_bits(2.5)]), f64_bits(2.0));
    assert_eq!(instance.call1(1, &[f64_bits(-3.5)]), f64_bits(-4.0));
    assert_eq!(instance.call1(2, &[f64_bits(1e20)]), i32_bits(i32::MAX));
    assert_eq!(instance.call1(2, &[f64_bits(f64::NAN)]), 0);
    assert_eq!(instance.call1(3, &[f32_bits(3e9)]), 3_000_000_000);
    assert_eq!(
        instance.call1(4, &[u64::MAX]),
        f64_bits(18446744073709551616.0)
    );
    assert_eq!(instance.call1(5, &[f32_bits(1.0)]), 0x3f80_0000);
    assert_eq!(
        instance.call1(6, &[f64_bits(1.5), f64_bits(-0.0)]),
        f64_bits(-1.5)
    );
    assert_eq!(
        instance.call1(7, &[f32_bits(f32::NAN), f32_bits(f32::NAN)]),
        1
    );
    assert_eq!(instance.call1(8, &[f32_bits(0.5)]), f64_bits(0.5));
}

#[test]
fn control_flow() {
    let mut instance = Instance::new(
        r#"(module
            ;; factorial with a loop and br_if
            (func (param i64) (result i64) (local i64)
                i64.const 1 local.set 1
                block
                    loop
                        local.get 0 i64.eqz br_if 1
                        local.get 1 local.get 0 i64.mul local.set 1
                        local.get 0 i64.const 1 i64.sub local.set 0
                        br 0
                    end
                end
                local.get 1)
            ;; br_table with a value
            (func (param i32) (result i32)
                block (result i32)
                    block (result i32)
                        block (result i32)
                            i32.const 10 local.get 0
                            br_table 0 1 2
                        end
                        i32.const 1 i32.add return
                    end
                    i32.const 2 i32.add return
                end
                i32.const 3 i32.add)
            ;; if/else with block parameters and multiple results
            (func (param i32 i32) (result i32 i32)
                local.get 1
                local.get 0
                if (param i32) (result i32 i32)
                    i32.const 1
                else
                    i32.const 100 i32.add i32.const 2
                end)
            ;; if without else passing its parameter through
            (func (param i32) (result i32)
                i32.const 7
                local.get 0
                if (param i32) (result i32)
                    i32.const 1 i32.add
                end)
            ;; unreachable code after br, return and unreachable
            (func (param i32) (result i32)
                block (result i32)
                    i32.const 5
                    br 0
                    i32.add
                    block
                        loop unreachable end
                    end
                    if (result i32) i32.const 0 else unreachable end
                end
                local.get 0
                if (result i32)
                    i32.const 9
                    return
                    i64.const 0 drop
                else
                    i32.const 1
                end
                i32.add)
            ;; select, typed select and a loop with parameters
            (func (param i32 i32) (result i32)
                local.get 0 local.get 1 local.get 0 select
                i32.const 1 i32.const 2 i32.const 0 select (result i32)
                i32.add
                i32.const 0
                loop (param i32 i32) (result i32)
                    i32.const 1 i32.add
                    local.tee 1
                    local.get 1 i32.const 3 i32.lt_u
                    br_if 0
                    i32.add
                end))"#,
    );
    assert_eq!(instance.call1(0, &[10]), 3_628_800);
    assert_eq!(instance.call1(1, &[0]), 11);
    assert_eq!(instance.call1(1, &[1]), 12);
    assert_eq!(instance.call1(1, &[2]), 13);
    assert_eq!(instance.call1(1, &[99]), 13);
    assert_eq!(instance.call(2, &[1, 5]), vec![5, 1]);
    assert_eq!(instance.call(2, &[0, 5]), vec![105, 2]);
    assert_eq!(instance.call1(3, &[1]), 8);
    assert_eq!(instance.call1(3, &[0]), 7);
    assert_eq!(instance.call1(4, &[0]), 6);
    assert_eq!(instance.call1(4, &[1]), 9);
    assert_eq!(instance.call1(5, &[4, 9]), 4 + 2 + 3);
    assert_eq!(instance.call1(5, &[0, 9]), 9 + 2 + 3);
}

#[test]
fn calls_globals_memory_and_tables() {
    let mut instance = Instance::new(
        r#"(module
            (type $binary (func (param i32 i32) (result i32)))
            (memory 1)
            (table 4 funcref)
            (global $counter (mut i64) (i64.const 0))
            (elem (i32.const 1) $add)
            (func $add (type $binary) local.get 0 local.get 1 i32.add)
            ;; direct call and global update
            (func (param i32) (result i32)
                global.get $counter i64.const 1 i64.add global.set $counter
                local.get 0 i32.const 1 call $add)
            ;; store then load with offsets and narrow widths
            (func (param i32 i64) (result i64)
                local.get 0 local.get 1 i64.store offset=8
                local.get 0 i32.load8_s offset=8
                i64.extend_i32_s
                local.get 0 i64.load32_u offset=8
                i64.add)
            ;; call_indirect through the table
            (func (param i32 i32 i32) (result i32)
                local.get 0 local.get 1 local.get 2 call_indirect (type $binary))
            ;; ref.func and table.set, table.get, table.size
            (func (result i32)
                i32.const 3 ref.func $add table.set
                i32.const 3 table.get ref.is_null
                table.size i32.add)
            (func (result i32) memory.size)
            (func (result i32) i32.const 1 memory.grow)
            (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill))"#,
    );
    assert_eq!(instance.call1(1, &[41]), 42);
    assert_eq!(instance.call1(1, &[1]), 2);
    assert_eq!(instance.globals[0][0], 2);

    assert_eq!(
        instance.call1(2, &[16, 0x1_0000_0080]),
        0xffff_ffff_ffff_ff80u64.wrapping_add(0x80)
    );
    assert_eq!(instance.memory[24..32], 0x1_0000_0080u64.to_le_bytes());

    // Table slot 1 holds $add's funcref, as an element segment would have put it.
    let funcref = VMOffsets::new(&instance.info).vmctx_funcref(0) as usize;
    instance.table[1] = instance.vmctx.as_ptr() as u64 + funcref as u64;
    assert_eq!(instance.call1(3, &[20, 22, 1]), 42);

    assert_eq!(instance.call1(4, &[]), 4);
    assert_eq!(instance.table[3], instance.table[1]);

    assert_eq!(instance.call1(5, &[]), 1);
    assert_eq!(instance.call1(6, &[]), u64::from(u32::MAX));
    instance.call(7, &[100, 0xab, 3]);
    assert_eq!(instance.memory[99..104], [0, 0xab, 0xab, 0xab, 0]);
}

#[test]
fn host_trampolines_round_trip_values() {
    /// A host function `(i32, f64) -> (f64, i64, i32)` that checks what it is given.
    extern "C" fn entry(context: u64, caller: u64, values: *mut [u64; 2], len: u32) -> u32 {
        assert_eq!(caller, 0x1234);
        assert_eq!(len, 3);
        // SAFETY: `context` is the test's host context below.
        assert_eq!(unsafe { *(context as *const u64) }, 77);
        // SAFETY: the trampoline passes `len` slots.
        let values = unsafe { std::slice::from_raw_parts_mut(values, len as usize) };
        let (a, b) = (values[0][0] as u32, f64::from_bits(values[1][0]));
        values[0][0] = f64_bits(b * 2.0);
        values[1][0] = u64::from(a) << 32;
        values[2][0] = 9;
        0
    }

    let func_type = wasmparser::FuncType::new(
        [ValType::I32, ValType::F64],
        [ValType::F64, ValType::I64, ValType::I32],
    );
    let trampolines = compiler(BoundsChecks::GuardPages)
        .compile_host_trampolines(&func_type)
        .expect("compiles");
    assert!(
        trampolines
            .host_call()
            .traps
            .iter()
            .any(|t| t.kind == TrapKind::HostError)
    );
    let host_context: [u64; 2] = [77, entry as *const () as u64];
    assert_eq!(VMOffsets::host_func_entry(), 8);
    let mut values = [[5u64, 0], [f64_bits(1.25), 0], [0, 0]];
    // SAFETY: array-call trampolines have exactly this native signature.
    let array_call = unsafe {
        std::mem::transmute::<usize, unsafe extern "C" fn(u64, u64, usize, *mut [u64; 2])>(
            trampolines.array_call().start,
        )
    };
    // SAFETY: the host-call trampoline gets a host context whose entry has the expected
    // signature, and the values array has a slot for every param and result.
    unsafe {
        array_call(
            host_context.as_ptr() as u64,
            0x1234,
            trampolines.host_call().start,
            values.as_mut_ptr(),
        )
    };
    assert_eq!(values[0][0], f64_bits(2.5));
    assert_eq!(values[1][0], 5 << 32);
    assert_eq!(values[2][0], 9);
}

// --- compilation only ---

/// Every operator family weft supports, in modules that would need the real runtime to run.
#[test]
fn every_operator_family_compiles() {
    let (module, info) = compile(
        r#"(module
            (import "env" "f" (func $imported (param i32) (result i32)))
            (import "env" "m" (memory $m0 1))
            (import "env" "g" (global $imported_global i32))
            (type $t (func (param i64) (result i64)))
            (memory $m1 1 2)
            (table $t0 10 funcref)
            (table $t1 0 externref)
            (global $g (mut f64) (f64.const 1))
            (global $r (mut externref) (ref.null extern))
            (data $d "hello")
            (elem $e func $ints)
            (func $ints (param i32 i64) (result i32)
                local.get 0 i32.popcnt local.get 0 i32.ctz i32.add
                local.get 0 i32.const 3 i32.rotr i32.sub
                local.get 0 i32.const 3 i32.mul i32.xor
                local.get 0 i32.const 3 i32.div_s i32.or
                local.get 0 i32.const 3 i32.rem_u i32.and
                local.get 0 i32.const 3 i32.shl i32.add
                local.get 0 i32.const 3 i32.shr_u i32.add
                local.get 0 i32.extend16_s i32.add
                local.get 1 i64.popcnt local.get 1 i64.clz i64.add local.get 1 i64.ctz i64.add
                local.get 1 i64.const 5 i64.div_u i64.add local.get 1 i64.const 5 i64.div_s i64.add
                local.get 1 i64.const 5 i64.rem_u i64.add local.get 1 i64.rotr
                local.get 1 i64.shr_s local.get 1 i64.shl local.get 1 i64.shr_u
                local.get 1 i64.extend8_s i64.and local.get 1 i64.extend16_s i64.or
                local.get 1 i64.xor local.get 1 i64.sub
                i32.wrap_i64 i32.add
                local.get 1 local.get 1 i64.le_s local.get 1 local.get 1 i64.ge_u i32.add
                local.get 1 local.get 1 i64.gt_s i32.add local.get 1 local.get 1 i64.ne i32.add
                local.get 0 local.get 0 i32.ge_s i32.add local.get 0 local.get 0 i32.le_u i32.add
                local.get 0 local.get 0 i32.gt_u i32.add local.get 0 i32.eqz i32.add
                local.get 0 local.get 0 i32.eq i32.add local.get 0 local.get 0 i32.ne i32.add
                local.get 0 local.get 0 i32.lt_s i32.add local.get 0 local.get 0 i32.le_s i32.add
                local.get 0 local.get 0 i32.gt_s i32.add local.get 0 local.get 0 i32.ge_u i32.add
                local.get 1 local.get 1 i64.eq i32.add local.get 1 local.get 1 i64.lt_s i32.add
                local.get 1 local.get 1 i64.lt_u i32.add local.get 1 local.get 1 i64.le_u i32.add
                local.get 1 local.get 1 i64.gt_u i32.add local.get 1 local.get 1 i64.ge_s i32.add
                local.get 1 i64.const 3 i64.rem_s i64.eqz i32.add
                local.get 1 local.get 1 i64.mul local.get 1 i64.rotl i64.eqz i32.add
                i32.add)
            (func $floats (param f32 f64) (result f64)
                local.get 0 f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
                local.get 0 f32.add local.get 0 f32.sub local.get 0 f32.mul local.get 0 f32.div
                local.get 0 f32.max local.get 0 f32.copysign
                f64.promote_f32
                local.get 1 f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.sqrt f64.add
                local.get 1 f64.sub local.get 1 f64.mul local.get 1 f64.div local.get 1 f64.min
                local.get 1 f64.max
                f32.demote_f64 i32.trunc_f32_s f32.convert_i32_u i32.trunc_f32_u
                f64.convert_i32_s i64.trunc_f64_s f32.convert_i64_s i64.trunc_sat_f32_s
                f64.convert_i64_s i64.trunc_f64_u f32.convert_i64_u i32.trunc_sat_f32_u
                f32.convert_i32_s i64.trunc_sat_f32_u f64.convert_i64_u i32.trunc_f64_u
                f64.convert_i32_u i64.trunc_sat_f64_u f64.reinterpret_i64 i64.reinterpret_f64
                f64.convert_i64_s i32.trunc_f64_s f32.reinterpret_i32 i32.trunc_sat_f32_s
                drop
                local.get 0 local.get 0 f32.eq local.get 0 local.get 0 f32.lt i32.add
                local.get 0 local.get 0 f32.gt i32.add local.get 0 local.get 0 f32.le i32.add
                local.get 0 local.get 0 f32.ge i32.add local.get 1 local.get 1 f64.eq i32.add
                local.get 1 local.get 1 f64.ne i32.add local.get 1 local.get 1 f64.lt i32.add
                local.get 1 local.get 1 f64.gt i32.add local.get 1 local.get 1 f64.le i32.add
                local.get 1 local.get 1 f64.ge i32.add
                drop
                f64.const 0 i64.trunc_sat_f64_s drop
                f64.const -0x1p-1 global.get $g f64.add)
            (func $memory (param i32) (result i64)
                local.get 0 i32.load local.get 0 i32.load16_u offset=0x7fffffff i32.add
                local.get 0 i32.load16_s $m1 offset=0xffffffff i32.add
                local.get 0 i32.load8_u i32.add
                local.get 0 f32.load $m1 i32.reinterpret_f32 i32.add
                local.get 0 f64.load i64.reinterpret_f64 drop
                local.get 0 i64.load8_s local.get 0 i64.load16_s i64.add
                local.get 0 i64.load16_u i64.add local.get 0 i64.load32_s i64.add
                local.get 0 i64.load offset=0x80000000 i64.add
                local.get 0 local.get 0 i32.store local.get 0 local.get 0 i32.store8
                local.get 0 local.get 0 i32.store16 local.get 0 i64.const 1 i64.store8
                local.get 0 i64.const 1 i64.store16 local.get 0 i64.const 1 i64.store32
                local.get 0 f32.const 1 f32.store local.get 0 f64.const 1 f64.store $m1
                i32.const 1 memory.grow $m1 drop memory.size $m0 drop
                i32.const 0 i32.const 1 i32.const 2 memory.copy $m1 $m0
                i32.const 0 i32.const 0 i32.const 2 memory.init $m1 $d data.drop $d
                i32.const 0 i32.const 0 i32.const 2 memory.fill
                drop i64.extend_i32_u)
            (func $tables (param i32 externref) (result i32)
                local.get 0 table.get $t0 drop
                local.get 0 local.get 1 table.set $t1
                ref.null func i32.const 1 table.grow $t0 drop
                i32.const 0 local.get 1 i32.const 2 table.fill $t1
                i32.const 0 i32.const 1 i32.const 2 table.copy $t0 $t0
                i32.const 0 i32.const 0 i32.const 1 table.init $t0 $e elem.drop $e
                local.get 1 global.set $r
                global.get $r ref.is_null
                table.size $t1 i32.add)
            (func $calls (param i64) (result i64)
                i32.const 1 call $imported global.get $imported_global i32.add
                call $imported drop
                local.get 0 i32.const 2 call_indirect $t0 (type $t)
                i32.const 3 i64.const 1 call $ints i64.extend_i32_s i64.add
                f32.const 1 f64.const 2 call $floats i64.trunc_sat_f64_s i64.add
                i32.const 0 call $memory i64.add
                i32.const 0 ref.null extern call $tables i64.extend_i32_u i64.add
                local.get 0 call $last)
            (func $last (param i64 i64) (result i64)
                local.get 0 local.get 1 i64.add return))"#,
    );
    assert_eq!(module.functions().len(), info.function_bodies.len());
    assert_eq!(module.array_trampolines().len(), info.types.len());
    let kinds: Vec<TrapKind> = module
        .functions()
        .iter()
        .flat_map(|f| f.traps.iter().map(|t| t.kind))
        .collect();
    for expected in [
        TrapKind::StackOverflow,
        TrapKind::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds,
        TrapKind::UndefinedElement,
        TrapKind::UninitializedElement,
        TrapKind::IndirectCallTypeMismatch,
        TrapKind::IntegerOverflow,
        TrapKind::BadConversionToInteger,
    ] {
        assert!(kinds.contains(&expected), "no {expected:?} trap site");
    }
    for function in module.functions() {
        assert!(
            function
                .traps
                .iter()
                .all(|t| (t.code_offset as usize) < function.len)
        );
    }
}

#[test]
fn many_results_and_deep_nesting_compile() {
    let results = "i64 ".repeat(20);
    let values = "(i64.const 1) ".repeat(20);
    let nested = "(block ".repeat(200) + &")".repeat(200);
    compile(&format!(
        r#"(module
            (func $many (result {results}) {values})
            (func (result i64) call $many {drops} {nested}))"#,
        drops = "drop ".repeat(19),
    ));
}

#[test]
fn unsupported_features_are_reported() {
    assert!(unsupported_feature("(module (memory 1 (pagesize 1)))").contains("page sizes"));
    let wide = "(module (func (param i64 i64 i64 i64) (result i64 i64)
        local.get 0 local.get 1 local.get 2 local.get 3 i64.add128))";
    assert!(unsupported_feature(wide).contains("I64Add128"));
}

#[test]
fn v128_values_flow_through_locals_globals_fields_and_blocks() {
    compile(
        r#"(module
            (type $pair (struct (field (mut v128))))
            (global $g (mut v128) (v128.const i32x4 1 2 3 4))
            (global $shared (shared mut v128) (v128.const i64x2 -1 0))
            (func (param v128 i32) (result v128) (local v128)
                (local.set 2 (global.get $g))
                (global.set $shared (local.get 0))
                (struct.set $pair 0 (struct.new $pair (global.get $shared)) (local.get 2))
                (select (local.get 0) (local.get 2) (local.get 1))
                (block (param v128) (result v128)))
        )"#,
    );
}

#[test]
fn unreachable_traps_are_recorded() {
    let (module, _) = compile(
        "(module (func unreachable) (func (param i32) (result i32) local.get 0 i32.const 0 i32.div_u))",
    );
    assert!(
        module.functions()[0]
            .traps
            .iter()
            .any(|t| t.kind == TrapKind::Unreachable)
    );
    assert!(
        module.functions()[1]
            .traps
            .iter()
            .any(|t| t.kind == TrapKind::IntegerDivisionByZero)
    );
}

#[test]
fn compiled_code_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Compiler>();
    assert_send_sync::<CompiledModule>();
    assert_send_sync::<super::HostTrampolines>();
}
