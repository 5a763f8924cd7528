//! Every runtime and model runs the guest work to the native result.

use super::native::{NativePool, thread_local_loop};
use super::*;
use crate::XorShift;
use std::sync::Arc;

fn guests(size: ModuleSize) -> Vec<(&'static str, Box<dyn GuestThreads>)> {
    let sides = sides(&thread_models_engine().unwrap(), size).unwrap();
    sides
        .into_iter()
        .map(|side| (side.id, side.guest))
        .collect()
}

#[test]
fn spawned_threads_add_and_block_until_released() {
    for (id, mut guest) in guests(ModuleSize::Small) {
        guest.reset().unwrap();
        for expected in 1..=3 {
            let thread = guest.spawn(ThreadArg::add()).unwrap();
            guest.join(thread).unwrap();
            assert_eq!(guest.added().unwrap(), expected, "{id}");
        }
        let mut blocked = GuestBlocked::new(guest.as_mut()).unwrap();
        for counts in [&[5, 2][..], &[1]] {
            let mut total = 0;
            for &count in counts {
                blocked.block(count).unwrap();
                total += count;
                assert_eq!(blocked.announced().unwrap(), total, "{id}");
            }
            blocked.release().unwrap();
            assert_eq!(
                blocked.announced().unwrap(),
                0,
                "{id}: reset for the next round"
            );
        }
    }
}

#[test]
fn a_large_module_starts_threads_under_every_model() {
    for (id, mut guest) in guests(ModuleSize::Large) {
        guest.reset().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| guest.spawn(ThreadArg::add()).unwrap())
            .collect();
        for thread in threads {
            guest.join(thread).unwrap();
        }
        assert_eq!(guest.added().unwrap(), 4, "{id}");
    }
}

#[test]
fn thread_local_counts_are_per_thread_and_match_native() {
    let rounds = 1000;
    assert_eq!(thread_local_loop(rounds), rounds);
    for workers in [1, 3] {
        let mut native = NativePool::start(workers, Arc::from(Vec::new()));
        native.run(Job::ThreadLocal, rounds).unwrap();
        let expected = native.results().unwrap();
        assert_eq!(expected, vec![i64::from(rounds); workers as usize]);
        for (id, mut guest) in guests(ModuleSize::Small) {
            let mut pool = GuestPool::start(guest.as_mut(), workers).unwrap();
            // A second job starts each thread's counter from 0 again.
            for _ in 0..2 {
                pool.run(Job::ThreadLocal, rounds).unwrap();
                assert_eq!(pool.results().unwrap(), expected, "{id}, {workers} workers");
            }
            pool.run(Job::ThreadLocal, 0).unwrap();
            assert_eq!(pool.results().unwrap(), vec![0; workers as usize], "{id}");
        }
    }
}

#[test]
fn parallel_histogram_matches_native_on_every_model() {
    let mut guests = guests(ModuleSize::Small);
    // Seed 0 is XorShift's guarded fixed point.
    for (len, seed) in [(0, 1), (1, 2), (1000, 0), (10_007, 4)] {
        let data: Arc<[u8]> = XorShift::new(seed).bytes(len).into();
        let mut counts = [0; 256];
        let expected = crate::histogram(&data, &mut counts) as i64;
        assert_eq!(expected_histogram(&data), expected);
        for (_, guest) in &mut guests {
            guest.fill(seed, len as u32).unwrap();
        }
        for workers in [1, 2, 3] {
            let mut native = NativePool::start(workers, data.clone());
            native.run(Job::Histogram, 2).unwrap();
            let chunks = native.results().unwrap();
            assert_eq!(chunks.iter().sum::<i64>(), expected);
            for (id, guest) in &mut guests {
                let mut pool = GuestPool::start(guest.as_mut(), workers).unwrap();
                pool.run(Job::Histogram, 2).unwrap();
                // The same split: each chunk's checksum agrees, not just the total.
                assert_eq!(
                    pool.results().unwrap(),
                    chunks,
                    "{id}, {len} bytes, {workers}"
                );
            }
        }
    }
}

#[test]
fn the_guest_histogram_tables_add_up_to_the_native_table() {
    let engine = thread_models_engine().unwrap();
    let len = 50_000;
    let data = XorShift::new(9).bytes(len);
    let mut expected = [0; 256];
    crate::histogram(&data, &mut expected);
    for model in Model::ALL {
        let mut guest = WeftGuest::new(&engine, model, 0).unwrap();
        guest.fill(9, len as u32).unwrap();
        let mut filled = vec![0; len];
        guest
            .memory()
            .read(layout::DATA as usize, &mut filled)
            .unwrap();
        assert_eq!(
            filled, data,
            "{model:?}: the guest generates XorShift's bytes"
        );
        let mut pool = GuestPool::start(&mut guest, 3).unwrap();
        pool.run(Job::Histogram, 1).unwrap();
        drop(pool);
        let mut merged = [0u32; 256];
        for worker in 0..3 {
            let mut table = [0; 1024];
            let offset = layout::COUNTS + (worker << layout::COUNTS_STRIDE_LOG2);
            guest.memory().read(offset as usize, &mut table).unwrap();
            for (count, bytes) in merged.iter_mut().zip(table.chunks_exact(4)) {
                *count += u32::from_le_bytes(bytes.try_into().unwrap());
            }
        }
        assert_eq!(merged, expected, "{model:?}");
    }
}

#[test]
fn chunks_cover_the_input_once() {
    for (len, workers) in [(0, 1), (10, 3), (8 << 20, 2), (7, 7), (5, 8)] {
        let mut next = 0;
        for index in 0..workers {
            let range = chunk(index, workers, len);
            assert_eq!(range.start, next, "{len} bytes, {workers} workers");
            next = range.end;
        }
        assert_eq!(next, len);
    }
}

#[test]
fn thread_args_and_thread_counts() {
    assert!(ThreadArg::worker(0, MAX_WORKERS).is_ok());
    assert!(ThreadArg::worker(3, 3).is_err());
    assert!(ThreadArg::worker(0, MAX_WORKERS + 1).is_err());
    let counts = parallel_thread_counts();
    assert_eq!(counts[..2], [1, 2]);
    assert!(
        counts.windows(2).all(|pair| pair[0] < pair[1]),
        "{counts:?}"
    );
}

#[test]
fn memory_reports_round_trip_through_json() {
    let report = MemoryReport {
        threads: 64,
        repetitions: 5,
        entries: vec![MemoryEntry {
            id: "native".into(),
            bytes_per_thread: ThreadMemory {
                median: 12_288.5,
                min: 8192.0,
                max: 16_384.0,
            },
        }],
        skipped: None,
    };
    assert_eq!(MemoryReport::from_json(&report.to_json()), Ok(report));
    assert!(MemoryReport::from_json(&serde_json::json!({"threads": 1})).is_err());
}

#[test]
fn memory_sides_are_found_by_their_report_ids() {
    let sides = MemorySide::all();
    assert_eq!(sides.len(), 1 + ModuleSize::ALL.len() * Runtime::ALL.len());
    for &side in &sides {
        assert_eq!(MemorySide::from_id(&side.id()), Some(side));
    }
    assert_eq!(
        MemorySide::from_id("instance_per_thread/10k_functions"),
        Some(MemorySide::Guest(
            Runtime::Weft(Model::InstancePerThread),
            ModuleSize::Large
        ))
    );
    assert_eq!(MemorySide::from_id(NATIVE_ID), Some(MemorySide::Native));
    assert_eq!(MemorySide::from_id(SHARED_EVERYTHING_ID), None);
}
