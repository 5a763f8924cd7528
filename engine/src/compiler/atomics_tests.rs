//! Tests of the threads proposal's operators: values through the hand-built instance of
//! `tests.rs` (whose memory is wired the same way whether the module declares it shared or
//! not), trap behaviour through the embedding API (which owns the signal handler), and
//! compile-only coverage of every `0xFE` opcode.

use super::tests::{ATOMIC_CALLS, AtomicCall, FAKE_WAITERS, Instance, PAGE, compile_with};
use crate::environ::{BoundsChecks, TrapKind};

const BOTH_MODES: [BoundsChecks; 2] = [BoundsChecks::GuardPages, BoundsChecks::Explicit];

/// The RMW operators, in opcode order.
const RMW_OPS: [&str; 6] = ["add", "sub", "and", "or", "xor", "xchg"];

/// The seven widths of each RMW family, in opcode order: (name prefix, value type, access
/// size in bytes).
const RMW_WIDTHS: [(&str, &str, u32); 7] = [
    ("i32.atomic.rmw", "i32", 4),
    ("i64.atomic.rmw", "i64", 8),
    ("i32.atomic.rmw8", "i32", 1),
    ("i32.atomic.rmw16", "i32", 2),
    ("i64.atomic.rmw8", "i64", 1),
    ("i64.atomic.rmw16", "i64", 2),
    ("i64.atomic.rmw32", "i64", 4),
];

/// The text name of an RMW operator (`op` may also be `cmpxchg`): narrow ones end in `_u`.
fn rmw_name((prefix, ty, size): (&str, &str, u32), op: &str) -> String {
    let narrow = (ty == "i32" && size < 4) || (ty == "i64" && size < 8);
    format!("{prefix}.{op}{}", if narrow { "_u" } else { "" })
}

/// The low `size` bytes of `value`.
fn mask(value: u64, size: u32) -> u64 {
    if size == 8 {
        value
    } else {
        value & ((1 << (size * 8)) - 1)
    }
}

/// Raw argument bits for a value of wasm type `ty` (`i32` arguments are 32-bit).
fn arg(value: u64, ty: &str) -> u64 {
    if ty == "i32" {
        value & 0xffff_ffff
    } else {
        value
    }
}

fn read(memory: &[u8], address: usize, size: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..size as usize].copy_from_slice(&memory[address..address + size as usize]);
    u64::from_le_bytes(bytes)
}

/// Fills the bytes around `address` with a recognizable pattern.
fn prefill(memory: &mut [u8], address: usize) {
    for (i, byte) in memory[address - 8..address + 16].iter_mut().enumerate() {
        *byte = 0x80 | (i as u8 * 7);
    }
}

/// Checks that only `address..address + size` differs from the pattern of [`prefill`].
fn assert_untouched_around(memory: &[u8], address: usize, size: u32) {
    for (i, &byte) in memory[address - 8..address + 16].iter().enumerate() {
        let at = address - 8 + i;
        if at < address || at >= address + size as usize {
            assert_eq!(byte, 0x80 | (i as u8 * 7), "byte {at} changed");
        }
    }
}

// --- values ---

#[test]
fn atomic_loads_zero_extend() {
    for memory in ["(memory 1)", "(memory 1 1 shared)"] {
        let mut instance = Instance::new(&format!(
            r#"(module {memory}
                (func (param i32) (result i32) local.get 0 i32.atomic.load offset=4)
                (func (param i32) (result i64) local.get 0 i64.atomic.load offset=8)
                (func (param i32) (result i32) local.get 0 i32.atomic.load8_u offset=4)
                (func (param i32) (result i32) local.get 0 i32.atomic.load16_u offset=4)
                (func (param i32) (result i64) local.get 0 i64.atomic.load8_u offset=8)
                (func (param i32) (result i64) local.get 0 i64.atomic.load16_u offset=8)
                (func (param i32) (result i64) local.get 0 i64.atomic.load32_u offset=8))"#
        ));
        instance.memory[16..24].copy_from_slice(&0xf1e2_d3c4_b5a6_9788u64.to_le_bytes());
        assert_eq!(instance.call1(0, &[12]), 0xb5a6_9788);
        assert_eq!(instance.call1(1, &[8]), 0xf1e2_d3c4_b5a6_9788);
        assert_eq!(instance.call1(2, &[12]), 0x88);
        assert_eq!(instance.call1(2, &[15]), 0xb5);
        assert_eq!(instance.call1(3, &[12]), 0x9788);
        assert_eq!(instance.call1(4, &[15]), 0xf1);
        assert_eq!(instance.call1(5, &[14]), 0xf1e2);
        assert_eq!(instance.call1(6, &[12]), 0xf1e2_d3c4);
        // The last aligned word of the memory.
        instance.memory[PAGE - 4..].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(instance.call1(0, &[PAGE as u64 - 8]), 0x0403_0201);
    }
}

#[test]
fn atomic_stores_wrap() {
    let mut instance = Instance::new(
        r#"(module (memory 1 1 shared)
            (func (param i32 i32) local.get 0 local.get 1 i32.atomic.store offset=16)
            (func (param i32 i64) local.get 0 local.get 1 i64.atomic.store offset=16)
            (func (param i32 i32) local.get 0 local.get 1 i32.atomic.store8 offset=16)
            (func (param i32 i32) local.get 0 local.get 1 i32.atomic.store16 offset=16)
            (func (param i32 i64) local.get 0 local.get 1 i64.atomic.store8 offset=16)
            (func (param i32 i64) local.get 0 local.get 1 i64.atomic.store16 offset=16)
            (func (param i32 i64) local.get 0 local.get 1 i64.atomic.store32 offset=16))"#,
    );
    let value = 0x0123_4567_89ab_cdefu64;
    for (function, size) in [(0, 4), (1, 8), (2, 1), (3, 2), (4, 1), (5, 2), (6, 4)] {
        let ty = if function == 0 || (2..4).contains(&function) {
            "i32"
        } else {
            "i64"
        };
        prefill(&mut instance.memory, 32);
        instance.call(function, &[16, arg(value, ty)]);
        assert_eq!(
            read(&instance.memory, 32, size),
            mask(value, size),
            "{function}"
        );
        assert_untouched_around(&instance.memory, 32, size);
    }
}

#[test]
fn atomic_rmw_ops_return_the_old_value() {
    let mut functions = String::new();
    let mut cases = Vec::new();
    for op in RMW_OPS {
        for width in RMW_WIDTHS {
            let (_, ty, _) = width;
            let name = rmw_name(width, op);
            functions += &format!(
                "(func (param i32 {ty}) (result {ty}) local.get 0 local.get 1 {name} offset=8)\n"
            );
            cases.push((name, op, width));
        }
    }
    let mut instance = Instance::new(&format!("(module (memory 1 1 shared) {functions})"));
    // Operands with bits above every access width, to check the wrapping.
    for operand in [0xfedc_ba98_7654_3211u64, 0x8000_0001_0000_ff02, 3] {
        for (function, (name, op, (_, ty, size))) in cases.iter().enumerate() {
            let address = 24;
            prefill(&mut instance.memory, address);
            let old = read(&instance.memory, address, *size);
            let x = mask(arg(operand, ty), *size);
            let new = mask(
                match *op {
                    "add" => old.wrapping_add(x),
                    "sub" => old.wrapping_sub(x),
                    "and" => old & x,
                    "or" => old | x,
                    "xor" => old ^ x,
                    "xchg" => x,
                    _ => unreachable!(),
                },
                *size,
            );
            let result = instance.call1(function, &[16, arg(operand, ty)]);
            assert_eq!(result, old, "{name} {operand:#x}: old value");
            assert_eq!(
                read(&instance.memory, address, *size),
                new,
                "{name} {operand:#x}: stored value"
            );
            assert_untouched_around(&instance.memory, address, *size);
        }
    }
}

#[test]
fn atomic_cmpxchg_succeeds_only_on_the_wrapped_expected_value() {
    let mut functions = String::new();
    for width in RMW_WIDTHS {
        let (_, ty, _) = width;
        let name = rmw_name(width, "cmpxchg");
        functions += &format!(
            "(func (param i32 {ty} {ty}) (result {ty})
                local.get 0 local.get 1 local.get 2 {name} offset=8)\n"
        );
    }
    let mut instance = Instance::new(&format!("(module (memory 1) {functions})"));
    let replacement = 0x1357_9bdf_2468_ace0u64;
    for (function, width @ (_, ty, size)) in RMW_WIDTHS.into_iter().enumerate() {
        let name = rmw_name(width, "cmpxchg");
        let address = 40;
        let replacement_arg = arg(replacement, ty);

        // Failure: nothing is stored, the current value is returned.
        prefill(&mut instance.memory, address);
        let old = read(&instance.memory, address, size);
        let result = instance.call1(function, &[32, old ^ 1, replacement_arg]);
        assert_eq!(result, old, "{name}: failure returns the current value");
        assert_eq!(read(&instance.memory, address, size), old, "{name}");
        assert_untouched_around(&instance.memory, address, size);

        // Success.
        let result = instance.call1(function, &[32, old, replacement_arg]);
        assert_eq!(result, old, "{name}: success returns the old value");
        let stored = mask(replacement_arg, size);
        assert_eq!(read(&instance.memory, address, size), stored, "{name}");
        assert_untouched_around(&instance.memory, address, size);

        // The expected value is wrapped to the access width before the comparison.
        let type_bits = if ty == "i32" { 32 } else { 64 };
        if size * 8 < type_bits {
            let garbage = arg(0xffff_ffff_ffff_ffff << (size * 8), ty);
            let result = instance.call1(function, &[32, stored | garbage, 0]);
            assert_eq!(result, stored, "{name}: wrapped expected value");
            assert_eq!(read(&instance.memory, address, size), 0, "{name}");
            assert_untouched_around(&instance.memory, address, size);
        }
    }
}

#[test]
fn notify_on_unshared_memory_returns_zero_without_the_runtime() {
    let mut instance = Instance::new(
        r#"(module (memory 1)
            (func (param i32 i32) (result i32)
                local.get 0 local.get 1 memory.atomic.notify offset=4))"#,
    );
    assert_eq!(instance.call1(0, &[0, 5]), 0);
    assert_eq!(
        instance.call1(0, &[PAGE as u64 - 8, u64::from(u32::MAX)]),
        0
    );
    ATOMIC_CALLS.with_borrow(|calls| assert_eq!(calls, &[]));
}

#[test]
fn wait_and_notify_on_shared_memory_call_the_runtime() {
    let mut instance = Instance::new(
        r#"(module (memory 1 1 shared)
            (func (param i32 i32) (result i32)
                local.get 0 local.get 1 memory.atomic.notify offset=4)
            (func (param i32 i32 i64) (result i32)
                local.get 0 local.get 1 local.get 2 memory.atomic.wait32 offset=4)
            (func (param i32 i64 i64) (result i32)
                local.get 0 local.get 1 local.get 2 memory.atomic.wait64 offset=8))"#,
    );
    ATOMIC_CALLS.with_borrow_mut(Vec::clear);
    assert_eq!(instance.call1(0, &[12, 1]), 1);
    assert_eq!(instance.call1(0, &[12, 100]), u64::from(FAKE_WAITERS));

    instance.memory[16..24].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(
        instance.call1(1, &[12, 0x5566_7788, 0]),
        2,
        "equal: times out"
    );
    assert_eq!(instance.call1(1, &[12, 0x5566_7789, 7]), 1, "not equal");
    assert_eq!(
        instance.call1(2, &[8, 0x1122_3344_5566_7788, i64::MAX as u64]),
        2
    );
    assert_eq!(instance.call1(2, &[8, 0x5566_7788, u64::MAX]), 1);

    ATOMIC_CALLS.with_borrow(|calls| {
        assert_eq!(
            calls,
            &[
                AtomicCall::Notify {
                    memory: 0,
                    addr: 16,
                    count: 1
                },
                AtomicCall::Notify {
                    memory: 0,
                    addr: 16,
                    count: 100
                },
                AtomicCall::Wait {
                    memory: 0,
                    addr: 16,
                    expected: 0x5566_7788,
                    timeout: 0
                },
                AtomicCall::Wait {
                    memory: 0,
                    addr: 16,
                    expected: 0x5566_7789,
                    timeout: 7
                },
                AtomicCall::Wait {
                    memory: 0,
                    addr: 16,
                    expected: 0x1122_3344_5566_7788,
                    timeout: i64::MAX
                },
                AtomicCall::Wait {
                    memory: 0,
                    addr: 16,
                    expected: 0x5566_7788,
                    timeout: -1
                },
            ]
        )
    });
}

#[test]
fn fence_and_size_of_a_shared_memory() {
    let mut instance = Instance::new(
        r#"(module (memory 1 1 shared)
            (func (result i32) atomic.fence memory.size)
            (func (result i32) i32.const 1 memory.grow)
            (func (param i32) (result i32)
                local.get 0 i32.const 7 i32.store
                atomic.fence
                local.get 0 i32.load))"#,
    );
    assert_eq!(instance.call1(0, &[]), 1);
    assert_eq!(instance.call1(1, &[]), u64::from(u32::MAX));
    assert_eq!(instance.call1(2, &[100]), 7);
    // A fence needs no memory at all.
    let mut instance = Instance::new("(module (func (result i32) atomic.fence i32.const 3))");
    assert_eq!(instance.call1(0, &[]), 3);
}

// --- traps ---

/// Trap kinds of every function of `wat`, compiled in `mode`, one list per function.
fn trap_kinds(mode: BoundsChecks, wat: &str) -> Vec<Vec<TrapKind>> {
    let (module, _) = compile_with(mode, wat).expect("compiles");
    module
        .functions()
        .iter()
        .map(|f| f.traps.iter().map(|t| t.kind).collect())
        .collect()
}

#[test]
fn atomic_accesses_record_alignment_and_bounds_trap_sites() {
    for mode in BOTH_MODES {
        let kinds = trap_kinds(
            mode,
            r#"(module (memory 1)
                (func (param i32) (result i32) local.get 0 i32.atomic.load8_u)
                (func (param i32) (result i64) local.get 0 i64.atomic.load16_u)
                (func (param i32 i64) (result i64)
                    local.get 0 local.get 1 local.get 1 i64.atomic.rmw.cmpxchg)
                (func (param i32) (result i32)
                    local.get 0 i32.const 1 memory.atomic.notify)
                (func (param i32) (result i32)
                    local.get 0 i32.const 0 i64.const 0 memory.atomic.wait32)
                (func (param i32) (result i32) local.get 0 i32.load8_u))"#,
        );
        let has = |function: usize, kind| kinds[function].contains(&kind);
        // Bytes are always aligned. The bounds are always checked explicitly, and the atomic
        // instructions themselves cannot fault, so they add no trap sites of their own:
        // these out-of-bounds sites are the explicit checks, even with guard pages.
        assert!(!has(0, TrapKind::UnalignedAtomic), "{mode:?}");
        for function in 0..5 {
            assert!(has(function, TrapKind::MemoryOutOfBounds), "{mode:?}");
        }
        for function in 1..5 {
            assert!(has(function, TrapKind::UnalignedAtomic), "{mode:?}");
        }
        assert!(has(4, TrapKind::ExpectedSharedMemory), "{mode:?}");
        assert!(!has(3, TrapKind::ExpectedSharedMemory), "{mode:?}");
        // A plain access records its load as the trap site with guard pages.
        assert!(has(5, TrapKind::MemoryOutOfBounds), "{mode:?}");
        assert!(!has(5, TrapKind::UnalignedAtomic));
    }
}

/// Runs `wat`'s export `f` of type `(i32) -> i32` on `index` in `mode` through the embedding
/// API, which catches traps.
fn run(mode: BoundsChecks, wat: &str, index: i32) -> Result<i32, TrapKind> {
    let mut config = crate::Config::new();
    config.bounds_checks(mode);
    let engine = crate::Engine::new(&config).expect("engine");
    let module = crate::Module::new(&engine, wat).expect("module compiles");
    let mut store = crate::Store::new(&engine, ());
    let instance = crate::Instance::new(&mut store, &module, &[]).expect("instantiates");
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, "f")
        .expect("f");
    f.call(&mut store, index)
        .map_err(|error| error.trap().expect("a trap"))
}

#[test]
fn alignment_is_checked_before_bounds_on_the_unwrapped_address() {
    const UNALIGNED: Result<i32, TrapKind> = Err(TrapKind::UnalignedAtomic);
    const OOB: Result<i32, TrapKind> = Err(TrapKind::MemoryOutOfBounds);
    let accesses = [
        "i32.atomic.load",
        "i64.atomic.load16_u i32.wrap_i64",
        "i32.const 1 i32.atomic.rmw.add",
        "i64.const 1 i64.const 2 i64.atomic.rmw32.cmpxchg_u i32.wrap_i64",
        "i32.const 1 i32.atomic.store i32.const 0",
        "i32.const 1 memory.atomic.notify",
    ];
    for mode in BOTH_MODES {
        for access in accesses {
            let module = |offset: u32| {
                format!(
                    r#"(module (memory 1)
                        (func (export "f") (param i32) (result i32)
                            local.get 0 {}))"#,
                    with_offset(access, offset)
                )
            };
            let at = |offset, index: i64| run(mode, &module(offset), index as i32);
            assert_eq!(at(0, 1), UNALIGNED, "{access} {mode:?}");
            assert_eq!(at(0, 65536), OOB, "{access} {mode:?}");
            // Misaligned for every width and crossing the end of the memory.
            assert_eq!(at(0, 65535), UNALIGNED, "{access} {mode:?}");
            assert_eq!(at(0, 65532), Ok(0), "{access} {mode:?}");
            // -64 + 1 is misaligned (and out of bounds); -64 + 65536 is aligned but past 4 GiB.
            assert_eq!(at(1, -64), UNALIGNED, "{access} {mode:?}");
            assert_eq!(at(65536, -64), OOB, "{access} {mode:?}");
            // 0xfffffffc + 8 wraps to 4 in 32 bits, which would be in bounds.
            assert_eq!(at(8, 0xffff_fffc), OOB, "{access} {mode:?}");
            assert_eq!(at(0xffff_fff8, 0), OOB, "{access} {mode:?}");
            assert_eq!(at(8, 4), Ok(0), "{access} {mode:?}");
        }
    }
}

/// `access` with `offset=` on its atomic instruction (the word naming one).
fn with_offset(access: &str, offset: u32) -> String {
    access
        .split(' ')
        .map(|word| {
            if word.contains("atomic") {
                format!("{word} offset={offset}")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn wait_on_unshared_memory_traps_after_the_address_checks() {
    for mode in BOTH_MODES {
        for wait in [
            "i32.const 0 i64.const 0 memory.atomic.wait32",
            "i64.const 0 i64.const 0 memory.atomic.wait64",
            "i32.const 1 i64.const -1 memory.atomic.wait32",
        ] {
            let module = format!(
                r#"(module (memory 1)
                    (func (export "f") (param i32) (result i32)
                        local.get 0 {wait} i32.const 100 i32.add))"#
            );
            let expected = Err(TrapKind::ExpectedSharedMemory);
            assert_eq!(run(mode, &module, 0), expected, "{wait} {mode:?}");
            assert_eq!(run(mode, &module, 65528), expected, "{wait} {mode:?}");
            assert_eq!(
                run(mode, &module, 65536),
                Err(TrapKind::MemoryOutOfBounds),
                "{wait} {mode:?}"
            );
            assert_eq!(
                run(mode, &module, 1 - 64),
                Err(TrapKind::UnalignedAtomic),
                "{wait} {mode:?}"
            );
        }
    }
}

// --- compilation only ---

/// Every operator of the threads proposal, as `(text, value type of the result)`, in opcode
/// order, each applied to operands built from locals `$a` (i32), `$b` (i64) and `$c` (i32).
fn every_threads_operator() -> Vec<(String, Option<&'static str>)> {
    let mut ops = vec![
        (
            "local.get $a local.get $c memory.atomic.notify".to_string(),
            Some("i32"),
        ),
        (
            "local.get $a local.get $c local.get $b memory.atomic.wait32".to_string(),
            Some("i32"),
        ),
        (
            "local.get $a local.get $b local.get $b memory.atomic.wait64".to_string(),
            Some("i32"),
        ),
        ("atomic.fence".to_string(), None),
    ];
    for (load, ty) in [
        ("i32.atomic.load", "i32"),
        ("i64.atomic.load", "i64"),
        ("i32.atomic.load8_u", "i32"),
        ("i32.atomic.load16_u", "i32"),
        ("i64.atomic.load8_u", "i64"),
        ("i64.atomic.load16_u", "i64"),
        ("i64.atomic.load32_u", "i64"),
    ] {
        ops.push((format!("local.get $a {load}"), Some(ty)));
    }
    for (store, operand) in [
        ("i32.atomic.store", "$c"),
        ("i64.atomic.store", "$b"),
        ("i32.atomic.store8", "$c"),
        ("i32.atomic.store16", "$c"),
        ("i64.atomic.store8", "$b"),
        ("i64.atomic.store16", "$b"),
        ("i64.atomic.store32", "$b"),
    ] {
        ops.push((format!("local.get $a local.get {operand} {store}"), None));
    }
    for op in RMW_OPS.into_iter().chain(["cmpxchg"]) {
        for width @ (_, ty, _) in RMW_WIDTHS {
            let operand = if ty == "i32" { "$c" } else { "$b" };
            let operands = if op == "cmpxchg" {
                format!("local.get {operand} local.get {operand}")
            } else {
                format!("local.get {operand}")
            };
            ops.push((
                format!("local.get $a {operands} {}", rmw_name(width, op)),
                Some(ty),
            ));
        }
    }
    ops
}

/// Puts `memarg` (such as `1 offset=8`) right after the operator of `op`'s text.
fn with_memarg(op: &str, memarg: &str) -> String {
    if op == "atomic.fence" {
        return op.to_string();
    }
    format!("{op} {memarg}")
}

#[test]
fn every_threads_operator_compiles_in_both_modes() {
    let ops = every_threads_operator();
    assert_eq!(
        ops.len(),
        4 + 7 + 7 + 7 * 7,
        "the 67 operators of 0xFE 0x00..0x4E"
    );
    for shared in ["", "shared"] {
        // Memory 1, with offsets at the edges of the static offset range.
        for memarg in [
            "",
            "1",
            "1 offset=8",
            "1 offset=0xfffffff8",
            "offset=0x80000000",
        ] {
            let mut functions = String::new();
            for (op, result) in &ops {
                let result = result.map_or(String::new(), |ty| format!("(result {ty})"));
                functions += &format!(
                    "(func (param $a i32) (param $b i64) (param $c i32) {result} {})\n",
                    with_memarg(op, memarg)
                );
            }
            let wat = format!("(module (memory 1 2 {shared}) (memory 1 2 {shared}) {functions})");
            for mode in BOTH_MODES {
                let (module, _) = compile_with(mode, &wat)
                    .unwrap_or_else(|e| panic!("{shared} {memarg} {mode:?}: {e:?}"));
                assert_eq!(module.functions().len(), ops.len());
            }
        }
    }
}

#[test]
fn atomics_in_unreachable_code_and_after_wait_traps_compile() {
    for mode in BOTH_MODES {
        compile_with(
            mode,
            r#"(module (memory 1)
                (func (param i32) (result i32)
                    block (result i32)
                        local.get 0 i32.const 0 i64.const 0 memory.atomic.wait32
                        local.get 0 i32.atomic.load i32.add
                        br 0
                    end)
                (func (param i32) (result i64)
                    unreachable
                    local.get 0 i64.const 1 i64.atomic.rmw.add)
                (func (param i32) (result i32)
                    local.get 0
                    if (result i32)
                        i32.const 0 i64.const 0 i64.const -1 memory.atomic.wait64
                    else
                        i32.const 0 i32.const 1 memory.atomic.notify
                    end))"#,
        )
        .unwrap_or_else(|e| panic!("{mode:?}: {e:?}"));
    }
}
