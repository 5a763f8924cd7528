//! 64-bit memories and tables (the memory64 proposal) through the embedding API: a C program
//! compiled for `wasm64-unknown-unknown` (`programs/memory64.c`) run under both bounds-check
//! strategies and from several host threads, and the corner cases no compiler emits: offsets
//! and indices near 2^64, and tables with 64-bit indices.

use std::path::Path;
use std::sync::Arc;
use std::thread;
use weft::*;

const PROGRAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs/memory64.wasm");

fn engine(bounds_checks: BoundsChecks) -> Engine {
    let mut config = Config::new();
    config.bounds_checks(bounds_checks);
    Engine::new(&config).expect("engine")
}

fn both_strategies() -> [Engine; 2] {
    [
        engine(BoundsChecks::GuardPages),
        engine(BoundsChecks::Explicit),
    ]
}

/// The program, and a shared memory of exactly the type it imports.
fn program(engine: &Engine) -> (Module, SharedMemory) {
    let module = Module::from_file(engine, Path::new(PROGRAM)).expect("the program compiles");
    let import = module
        .imports()
        .find(|import| import.module() == "env" && import.name() == "memory")
        .expect("the program imports env.memory");
    let ExternType::Memory(ty) = import.ty().clone() else {
        panic!("env.memory is a memory");
    };
    assert!(ty.is_64() && ty.is_shared(), "a shared 64-bit memory: {ty}");
    let memory = SharedMemory::new(engine, ty).expect("the memory is created");
    (module, memory)
}

/// An instance of the program on `memory`, in a store of its own.
fn instantiate(engine: &Engine, module: &Module, memory: &SharedMemory) -> (Store<()>, Instance) {
    let mut linker = Linker::new(engine);
    linker
        .define("env", "memory", memory.clone())
        .expect("defines the memory");
    let mut store = Store::new(engine, ());
    let instance = linker
        .instantiate(&mut store, module)
        .expect("the program instantiates");
    (store, instance)
}

/// The checksum of `programs/memory64.c`'s `shuffle_checksum(seed)`, computed here the way
/// the C code computes it.
fn expected_checksum(seed: u32) -> u64 {
    let mut words = [0u32; 4096];
    let mut x = seed | 1;
    for word in &mut words {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *word = x;
    }
    words.sort_unstable();
    let mut bytes: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    let greeting = b"weft runs 64-bit memories\0";
    bytes[1000..1000 + greeting.len()].copy_from_slice(greeting);
    let tail = bytes.len() - 256 * 4;
    bytes[tail..].fill(0xab);
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash: u64, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        })
}

#[test]
fn a_compiled_program_computes_with_64_bit_pointers() {
    for engine in both_strategies() {
        let (module, memory) = program(&engine);
        let (mut store, instance) = instantiate(&engine, &module, &memory);
        let checksum = instance
            .get_typed_func::<u32, u64>(&mut store, "shuffle_checksum")
            .unwrap();
        for seed in [1, 7, 0x1234_5678] {
            assert_eq!(
                checksum.call(&mut store, seed).unwrap(),
                expected_checksum(seed)
            );
        }
    }
}

#[test]
fn memory_size_and_grow_take_and_return_64_bit_page_counts() {
    for engine in both_strategies() {
        let (module, memory) = program(&engine);
        let (mut store, instance) = instantiate(&engine, &module, &memory);
        let pages = instance
            .get_typed_func::<(), u64>(&mut store, "pages")
            .unwrap();
        let grow = instance
            .get_typed_func::<u64, u64>(&mut store, "grow")
            .unwrap();
        let start = pages.call(&mut store, ()).unwrap();
        assert_eq!(start, memory.size());
        assert_eq!(grow.call(&mut store, 3).unwrap(), start);
        assert_eq!(pages.call(&mut store, ()).unwrap(), start + 3);
        assert_eq!(memory.size(), start + 3, "the host sees the guest's growth");
        // Past the declared maximum (256 pages), and deltas no 32-bit memory can express.
        assert_eq!(grow.call(&mut store, 256).unwrap(), u64::MAX);
        assert_eq!(grow.call(&mut store, 1 << 32).unwrap(), u64::MAX);
        assert_eq!(grow.call(&mut store, u64::MAX).unwrap(), u64::MAX);
        assert_eq!(pages.call(&mut store, ()).unwrap(), start + 3);
    }
}

#[test]
fn accesses_past_the_end_trap_wherever_the_64_bit_address_points() {
    for engine in both_strategies() {
        let (module, memory) = program(&engine);
        let (mut store, instance) = instantiate(&engine, &module, &memory);
        let poke = instance
            .get_typed_func::<(u64, u32), u32>(&mut store, "poke")
            .unwrap();
        let end = memory.data_size() as u64;
        assert_eq!(poke.call(&mut store, (end - 1, 0x5a)).unwrap(), 0x5a);
        // Just past the end, past the 4 GiB a 32-bit memory's guard pages cover, and at
        // addresses whose access would wrap around 2^64.
        for address in [
            end,
            1 << 32,
            (1 << 32) + end - 1,
            1 << 48,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let error = poke.call(&mut store, (address, 1)).unwrap_err();
            assert_eq!(
                error.trap(),
                Some(Trap::MemoryOutOfBounds),
                "address {address:#x}: {error}"
            );
        }
        // The instance stays usable after the traps.
        assert_eq!(poke.call(&mut store, (8, 0x17)).unwrap(), 0x17);
    }
}

#[test]
fn host_threads_share_a_64_bit_memory_with_atomics_wait_and_notify() {
    const THREADS: u64 = 4;
    const TIMES: u64 = 20_000;
    // Below the program's data, stack and heap, which start at 1024.
    const COUNTER: u64 = 64;
    const FLAG: u64 = 128;
    let engine = engine(BoundsChecks::GuardPages);
    let (module, memory) = program(&engine);
    let module = Arc::new(module);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let (mut store, instance) = instantiate(&engine, &module, &memory);
                let wait_for = instance
                    .get_typed_func::<u64, u32>(&mut store, "wait_for")
                    .unwrap();
                wait_for.call(&mut store, FLAG).unwrap()
            })
        })
        .collect();
    let counters: Vec<_> = (0..THREADS)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let (mut store, instance) = instantiate(&engine, &module, &memory);
                let count_up = instance
                    .get_typed_func::<(u64, u64), ()>(&mut store, "count_up")
                    .unwrap();
                count_up.call(&mut store, (COUNTER, TIMES)).unwrap();
            })
        })
        .collect();
    for counter in counters {
        counter.join().unwrap();
    }
    let mut total = [0u8; 8];
    memory.read(COUNTER as usize, &mut total).unwrap();
    assert_eq!(u64::from_le_bytes(total), THREADS * TIMES);

    let (mut store, instance) = instantiate(&engine, &module, &memory);
    let wake = instance
        .get_typed_func::<u64, u32>(&mut store, "wake")
        .unwrap();
    wake.call(&mut store, FLAG).unwrap();
    for waiter in waiters {
        // A waiter that saw the flag set never waited; one that waited was woken once.
        assert!(waiter.join().unwrap() <= 1);
    }
    assert_eq!(memory.atomic_notify(FLAG, 1).unwrap(), 0, "nobody waits");
}

#[test]
fn memories_link_only_to_imports_of_their_own_address_width() {
    let engine = Engine::default();
    let import64 = Module::new(&engine, r#"(module (import "m" "mem" (memory i64 1)))"#).unwrap();
    let import32 = Module::new(&engine, r#"(module (import "m" "mem" (memory 1)))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let memory64 = Memory::new(&mut store, MemoryType::new64(1, Some(1 << 40))).unwrap();
    let memory32 = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    assert_eq!(
        memory64.ty(&store).to_string(),
        "(memory i64 1 1099511627776)"
    );
    for (module, memory, fits) in [
        (&import64, memory64, true),
        (&import64, memory32, false),
        (&import32, memory64, false),
        (&import32, memory32, true),
    ] {
        let outcome = Instance::new(&mut store, module, &[memory.into()]);
        match (fits, outcome) {
            (true, Ok(_)) => {}
            (false, Err(Error::Link(LinkError::IncompatibleImport { .. }))) => {}
            (fits, outcome) => panic!("fits {fits}, got {:?}", outcome.map(|_| ())),
        }
    }
}

#[test]
fn tables_with_64_bit_indices_grow_index_and_link_by_width() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "table" (table $t i64 2 funcref))
             (type $answer (func (result i32)))
             (func $forty_two (type $answer) (i32.const 42))
             (elem (table $t) (i64.const 1) func $forty_two)
             (func (export "call") (param i64) (result i32)
               (call_indirect $t (type $answer) (local.get 0)))
             (func (export "grow") (param i64) (result i64)
               (table.grow $t (ref.null func) (local.get 0)))
             (func (export "size") (result i64) (table.size $t)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let table = Table::new(
        &mut store,
        TableType::new64(RefType::FUNCREF, 2, Some(1 << 33)),
        Val::FuncRef(None),
    )
    .unwrap();
    let narrow = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 2, None),
        Val::FuncRef(None),
    )
    .unwrap();
    assert!(matches!(
        Instance::new(&mut store, &module, &[narrow.into()]),
        Err(Error::Link(LinkError::IncompatibleImport { .. }))
    ));
    let instance = Instance::new(&mut store, &module, &[table.into()]).unwrap();
    let call = instance
        .get_typed_func::<u64, i32>(&mut store, "call")
        .unwrap();
    let grow = instance
        .get_typed_func::<u64, u64>(&mut store, "grow")
        .unwrap();
    let size = instance
        .get_typed_func::<(), u64>(&mut store, "size")
        .unwrap();
    assert_eq!(call.call(&mut store, 1).unwrap(), 42);
    assert_eq!(
        call.call(&mut store, 0).unwrap_err().trap(),
        Some(Trap::UninitializedElement)
    );
    // An index whose low 32 bits name the function is still out of bounds.
    for index in [2, (1 << 32) + 1, u64::MAX] {
        assert_eq!(
            call.call(&mut store, index).unwrap_err().trap(),
            Some(Trap::UndefinedElement),
            "index {index:#x}"
        );
    }
    assert_eq!(grow.call(&mut store, 3).unwrap(), 2);
    assert_eq!(size.call(&mut store, ()).unwrap(), 5);
    assert_eq!(table.size(&store), 5);
    assert_eq!(grow.call(&mut store, u64::MAX).unwrap(), u64::MAX);
    assert_eq!(
        table.ty(&store).to_string(),
        "(table i64 5 8589934592 funcref)"
    );
}
