//! Host threads attached to an instance: concurrent calls of shared exports with per-thread
//! thread-locals, one block per attachment and its reuse after detaching, clean errors for
//! what only the store's thread may do, and termination of attached calls, by the store's
//! terminator, by a thread's own terminator, and by dropping the store.

mod support;

use std::sync::mpsc;
use std::thread;
use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::*;

const MODULE: &str = r#"
(module
  (type $i32_to_i32 (shared (func (param i32) (result i32))))
  (type $i32_to_void (shared (func (param i32))))
  (type $to_i32 (shared (func (result i32))))
  (type $takes_ref (shared (func (param (ref null (shared any))))))
  (memory $m 1 1 shared)
  ;; Global 0 is thread-local (the custom section at the end).
  (global $tl (shared mut i32) (i32.const 0))
  (global $counter (shared mut i32) (i32.const 0))
  (global $waiting (shared mut i32) (i32.const 0))
  ;; Adds 1 to the counter $n times; returns the thread-local, which it leaves alone.
  (func (export "add") (type $i32_to_i32) (param $n i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (drop (global.atomic.rmw.add seqcst $counter (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (global.get $tl))
  (func (export "set_tl") (type $i32_to_void) (global.set $tl (local.get 0)))
  (func (export "get_tl") (type $to_i32) (global.get $tl))
  (func (export "counter") (type $to_i32) (global.atomic.get seqcst $counter))
  (func (export "waiting") (type $to_i32) (global.atomic.get seqcst $waiting))
  ;; Announces itself, then waits at address 0 until notified (0) or interrupted.
  (func (export "wait") (type $to_i32)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
  ;; Wakes up to $n waiters at address 0; returns how many woke.
  (func (export "notify") (type $i32_to_i32)
    (memory.atomic.notify (i32.const 0) (local.get 0)))
  ;; Announces itself, then spins until interrupted.
  (func (export "spin") (type $to_i32)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (loop $l (br $l))
    (i32.const 0))
  ;; A spawnable `wait`.
  (func (export "block") (type $i32_to_void)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "takes_ref") (type $takes_ref))
  (func (export "unshared") (param i64) (result i64) (local.get 0))
  (@custom "thread-locals" "\01\00")
)
"#;

fn setup() -> (Store<()>, Instance, SharedInstance) {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), MODULE);
    let shared = instance.share(&mut store).unwrap();
    (store, instance, shared)
}

/// Calls `name` on `thread`, which takes nothing and returns an i32.
fn call_i32(shared: &SharedInstance, thread: &AttachedThread, name: &str) -> Result<i32, Error> {
    shared
        .get_typed_func::<(), i32>(name)
        .unwrap()
        .call(thread, ())
}

/// Waits (by polling the store, from the home thread) until `count` threads announced they
/// are in the guest's `wait` or `spin`.
fn await_waiters(store: &mut Store<()>, instance: &Instance, count: i32) {
    while i32_of(call(store, instance, "waiting", &[])) < count {
        thread::yield_now();
    }
}

#[test]
fn attached_threads_call_concurrently_with_their_own_thread_locals() {
    const THREADS: i32 = 4;
    const ADDS: i32 = 20_000;
    let (mut store, instance, shared) = setup();
    let set_tl = instance.get_typed_func::<i32, ()>(&mut store, "set_tl");
    set_tl.unwrap().call(&mut store, -1).unwrap();
    let workers: Vec<_> = (1..=THREADS)
        .map(|id| {
            let shared = shared.clone();
            thread::spawn(move || {
                let thread = shared.attach().unwrap();
                assert_eq!(thread.blocks(), 1, "attaching leases one block");
                assert_eq!(call_i32(&shared, &thread, "get_tl").unwrap(), 0);
                let set = shared.get_typed_func::<i32, ()>("set_tl").unwrap();
                set.call(&thread, id * 1000).unwrap();
                let add = shared.get_typed_func::<i32, i32>("add").unwrap();
                let mut seen = Vec::new();
                for _ in 0..10 {
                    seen.push(add.call(&thread, ADDS / 10).unwrap());
                }
                assert_eq!(thread.blocks(), 1, "calls reuse the thread's block");
                seen
            })
        })
        .collect();
    for (id, worker) in (1..=THREADS).zip(workers) {
        let seen = worker.join().unwrap();
        assert!(
            seen.iter().all(|&value| value == id * 1000),
            "thread {id} saw {seen:?}"
        );
    }
    assert_eq!(
        i32_of(call(&mut store, &instance, "counter", &[])),
        THREADS * ADDS
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "get_tl", &[])),
        -1,
        "the home thread's copy is its own"
    );
    assert_eq!(shared.attached_threads(), 0, "every thread detached");
}

#[test]
fn detached_blocks_are_reset_and_reused() {
    let (store, instance, shared) = setup();
    for round in 0..50 {
        let shared = shared.clone();
        thread::spawn(move || {
            let thread = shared.attach().unwrap();
            assert_eq!(
                call_i32(&shared, &thread, "get_tl").unwrap(),
                0,
                "round {round}"
            );
            let set = shared.get_typed_func::<i32, ()>("set_tl").unwrap();
            set.call(&thread, 1 + round).unwrap();
        })
        .join()
        .unwrap();
    }
    assert_eq!(instance.thread_blocks_created(&store), 1);
    // Two at once need two blocks; afterwards both are idle and reused.
    let attached = [(); 2].map(|_| {
        let shared = shared.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            let _thread = shared.attach().unwrap();
            ready_tx.send(()).unwrap();
            done_rx.recv().unwrap();
        });
        ready_rx.recv().unwrap();
        (handle, done_tx)
    });
    assert_eq!(shared.attached_threads(), 2);
    for (handle, done) in attached {
        done.send(()).unwrap();
        handle.join().unwrap();
    }
    assert_eq!(instance.thread_blocks_created(&store), 2);
}

#[test]
fn only_shared_number_typed_exports_are_callable_from_attached_threads() {
    let (_store, _instance, shared) = setup();
    let thread = shared.attach().unwrap();
    assert!(matches!(
        shared.get_func("unshared"),
        Err(Error::Usage(UsageError::NotShared { name })) if name == "unshared"
    ));
    assert!(matches!(
        shared.get_func("missing"),
        Err(Error::Usage(UsageError::UnknownExport { .. }))
    ));
    assert!(matches!(
        shared.get_typed_func::<i64, i32>("add"),
        Err(Error::Usage(UsageError::FuncType { .. }))
    ));
    let takes_ref = shared.get_func("takes_ref").unwrap();
    assert!(matches!(
        takes_ref.call(&thread, &[Val::AnyRef(None)], &mut []),
        Err(Error::Usage(UsageError::UnsupportedType(_)))
    ));
    let add = shared.get_func("add").unwrap();
    assert!(matches!(
        add.call(&thread, &[Val::I64(1)], &mut [Val::I32(0)]),
        Err(Error::Usage(UsageError::ArgumentType { index: 0, .. }))
    ));
    assert!(matches!(
        add.call(&thread, &[], &mut [Val::I32(0)]),
        Err(Error::Usage(UsageError::ArgumentCount { .. }))
    ));
    let mut result = [Val::I32(-1)];
    add.call(&thread, &[Val::I32(3)], &mut result).unwrap();
    assert_eq!(result[0].i32(), Some(0));
}

#[test]
fn functions_of_another_store_are_rejected() {
    let (_store, _instance, shared) = setup();
    let (_other_store, _other_instance, other) = setup();
    let thread = shared.attach().unwrap();
    let foreign = other.get_typed_func::<(), i32>("get_tl").unwrap();
    assert!(matches!(
        foreign.call(&thread, ()),
        Err(Error::Usage(UsageError::WrongStore))
    ));
}

#[test]
fn terminate_stops_attached_calls_and_they_run_again() {
    let (mut store, instance, shared) = setup();
    let terminator = store.terminator();
    let (spinning, blocked) = (shared.clone(), shared.clone());
    let spinner = thread::spawn(move || {
        let thread = spinning.attach().unwrap();
        let first = call_i32(&spinning, &thread, "spin");
        let again = shared_add(&spinning, &thread);
        (first.map_err(|e| e.trap()), again)
    });
    let waiter = thread::spawn(move || {
        let thread = blocked.attach().unwrap();
        let first = call_i32(&blocked, &thread, "wait");
        let again = shared_add(&blocked, &thread);
        (first.map_err(|e| e.trap()), again)
    });
    // Both threads are in their calls (a thread that attaches after the terminate is not
    // stopped by it).
    await_waiters(&mut store, &instance, 2);
    terminator.terminate();
    for worker in [spinner, waiter] {
        let (first, again) = worker.join().unwrap();
        assert_eq!(first, Err(Some(Trap::Interrupted)));
        assert_eq!(again, Ok(0), "the next call runs");
    }
    // The home thread was not in a call: its next one traps, then calls run again.
    assert_eq!(
        call(&mut store, &instance, "counter", &[])
            .map_err(|e| e.trap())
            .err(),
        Some(Some(Trap::Interrupted))
    );
    assert_eq!(i32_of(call(&mut store, &instance, "counter", &[])), 2);
}

/// One `add` of 1 on `thread`, returning the thread-local.
fn shared_add(shared: &SharedInstance, thread: &AttachedThread) -> Result<i32, Option<Trap>> {
    let add = shared.get_typed_func::<i32, i32>("add").unwrap();
    add.call(thread, 1).map_err(|e| e.trap())
}

#[test]
fn a_thread_terminator_stops_only_its_thread() {
    let (mut store, instance, shared) = setup();
    let (terminator_tx, terminator_rx) = mpsc::channel();
    let spawn_waiter = |terminator_tx: Option<mpsc::Sender<ThreadTerminator>>| {
        let shared = shared.clone();
        thread::spawn(move || {
            let thread = shared.attach().unwrap();
            if let Some(sender) = terminator_tx {
                sender.send(thread.terminator()).unwrap();
            }
            call_i32(&shared, &thread, "wait").map_err(|e| e.trap())
        })
    };
    let doomed = spawn_waiter(Some(terminator_tx));
    let survivor = spawn_waiter(None);
    await_waiters(&mut store, &instance, 2);
    terminator_rx.recv().unwrap().terminate();
    assert_eq!(doomed.join().unwrap(), Err(Some(Trap::Interrupted)));
    // The survivor is still blocked: one notify wakes exactly it, with "ok".
    let notify = instance
        .get_typed_func::<i32, i32>(&mut store, "notify")
        .unwrap();
    let mut woken = 0;
    while woken == 0 {
        woken = notify.call(&mut store, 2).unwrap();
    }
    assert_eq!(woken, 1);
    assert_eq!(survivor.join().unwrap(), Ok(0));
}

#[test]
fn dropping_the_store_stops_attached_calls_and_turns_later_ones_away() {
    let (mut store, instance, shared) = setup();
    let (result_tx, result_rx) = mpsc::channel();
    let (next_tx, next_rx) = mpsc::channel::<()>();
    let attached = {
        let shared = shared.clone();
        thread::spawn(move || {
            let thread = shared.attach().unwrap();
            result_tx
                .send(call_i32(&shared, &thread, "wait").map_err(|e| e.to_string()))
                .unwrap();
            next_rx.recv().unwrap();
            let later = call_i32(&shared, &thread, "get_tl");
            assert!(matches!(later, Err(Error::Usage(UsageError::StoreGone))));
        })
    };
    await_waiters(&mut store, &instance, 1);
    drop(store);
    assert_eq!(
        result_rx.recv().unwrap(),
        Err(Error::from(Trap::Interrupted).to_string())
    );
    next_tx.send(()).unwrap();
    attached.join().unwrap();
    assert!(matches!(
        shared.attach(),
        Err(Error::Usage(UsageError::StoreGone))
    ));
    assert_eq!(shared.attached_threads(), 0);
}

#[test]
fn attached_and_spawned_threads_share_the_store_and_engine_limits() {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    config.max_threads(2).max_total_threads(3);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instantiate_with(&engine, MODULE);
    let (mut other_store, other_instance) = instantiate_with(&engine, MODULE);
    let shared = instance.share(&mut store).unwrap();
    let block = instance.get_func(&mut store, "block").unwrap();

    let attached = shared.attach().unwrap();
    store.spawn(&block, 0).unwrap();
    // The store has its two live threads.
    assert!(matches!(
        shared.attach(),
        Err(Error::Thread(ThreadError::StoreLimit(2)))
    ));
    assert!(matches!(
        store.spawn(&block, 0),
        Err(Error::Thread(ThreadError::StoreLimit(2)))
    ));
    // The other store may have one more before the engine's three are reached.
    let other_block = other_instance.get_func(&mut other_store, "block").unwrap();
    other_store.spawn(&other_block, 0).unwrap();
    assert!(matches!(
        other_store.spawn(&other_block, 0),
        Err(Error::Thread(ThreadError::EngineLimit(3)))
    ));
    // Detaching gives a slot back, to either store.
    drop(attached);
    other_store.spawn(&other_block, 0).unwrap();
    for store in [&mut store, &mut other_store] {
        store.terminator().terminate();
        store.join_threads().unwrap();
    }
}

#[test]
fn attaching_again_on_one_thread_starts_a_new_thread_of_execution() {
    let (mut store, _instance, shared) = setup();
    let terminator = store.terminator();
    let set_tl = shared.get_typed_func::<i32, ()>("set_tl").unwrap();
    thread::scope(|scope| {
        scope.spawn(|| {
            for round in 1..=3 {
                let thread = shared.attach().unwrap();
                assert_eq!(shared.attached_threads(), 1);
                assert_eq!(thread.blocks(), 1);
                // Each attachment starts from the thread-local's initial value, whatever the
                // thread's last attachment left in it.
                assert_eq!(call_i32(&shared, &thread, "get_tl").unwrap(), 0);
                set_tl.call(&thread, round).unwrap();
                assert_eq!(call_i32(&shared, &thread, "get_tl").unwrap(), round);
                drop(thread);
                assert_eq!(shared.attached_threads(), 0, "detached in round {round}");
            }
            // A terminate that comes while the thread is detached is not for its next
            // attachment.
            terminator.terminate();
            let thread = shared.attach().unwrap();
            assert_eq!(call_i32(&shared, &thread, "get_tl").unwrap(), 0);
        });
    });
    assert_eq!(shared.attached_threads(), 0);
}
