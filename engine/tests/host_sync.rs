//! Guests blocking on host primitives wired in with `Linker::define_semaphore` (and friends):
//! guest threads and attached host threads block without polling, time out, and wake at once
//! with the interrupt trap when terminated, taking nothing they were waiting for.

mod support;

use std::sync::Arc;
use std::thread;
use support::shared_everything_engine;
use weft::*;

const MODULE: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $acquire_t (shared (func (param i64) (result i32))))
  (type $release_t (shared (func (param i32))))
  (type $to_i32 (shared (func (result i32))))
  (import "host" "permits.acquire" (func $acquire (type $acquire_t)))
  (import "host" "permits.try_acquire" (func $try_acquire (type $to_i32)))
  (import "host" "permits.release" (func $release (type $release_t)))
  (global $waiting (shared mut i32) (i32.const 0))
  (global $acquired (shared mut i32) (i32.const 0))
  ;; Waits for a permit, forever, and counts it.
  (func (export "take") (type $entry)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (if (i32.eqz (call $acquire (i64.const -1))) (then unreachable))
    (drop (global.atomic.rmw.add seqcst $acquired (i32.const 1))))
  ;; Waits for a permit for $nanos; 1 if it got one.
  (func (export "take_within") (type $acquire_t) (call $acquire (local.get 0)))
  (func (export "try_take") (type $to_i32) (call $try_acquire))
  (func (export "give") (type $release_t) (call $release (local.get 0)))
  (func (export "waiting") (type $to_i32) (global.atomic.get seqcst $waiting))
  (func (export "acquired") (type $to_i32) (global.atomic.get seqcst $acquired))
)
"#;

struct Setup {
    store: Store<()>,
    instance: Instance,
    permits: Arc<Semaphore>,
}

fn setup(initial: u32) -> Setup {
    let engine = shared_everything_engine();
    let module = Module::new(&engine, MODULE).unwrap();
    let permits = Arc::new(Semaphore::new(initial));
    let mut linker = Linker::new(&engine);
    linker
        .define_semaphore("host", "permits", &permits)
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Setup {
        store,
        instance,
        permits,
    }
}

impl Setup {
    fn get(&mut self, name: &str) -> i32 {
        let func = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, name);
        func.unwrap().call(&mut self.store, ()).unwrap()
    }

    fn spawn_takers(&mut self, count: usize) -> Vec<ThreadId> {
        let take = self.instance.get_func(&mut self.store, "take").unwrap();
        (0..count)
            .map(|_| self.store.spawn(&take, 0).unwrap())
            .collect()
    }

    fn await_waiting(&mut self, count: i32) {
        while self.get("waiting") < count {
            thread::yield_now();
        }
    }
}

#[test]
fn guest_threads_block_on_a_host_semaphore_until_released() {
    let mut setup = setup(0);
    let ids = setup.spawn_takers(3);
    setup.await_waiting(3);
    assert_eq!(setup.get("acquired"), 0, "no permit, so nobody got past");
    setup.permits.release(2);
    while setup.get("acquired") < 2 {
        thread::yield_now();
    }
    setup.permits.release(1);
    for id in ids {
        assert!(matches!(
            setup.store.join_thread(id),
            Some(ThreadOutcome::Finished)
        ));
    }
    assert_eq!(setup.get("acquired"), 3);
    assert_eq!(setup.permits.available(), 0);
}

#[test]
fn guests_try_release_and_time_out() {
    let mut setup = setup(1);
    assert_eq!(setup.get("try_take"), 1);
    assert_eq!(setup.get("try_take"), 0);
    let within = setup
        .instance
        .get_typed_func::<i64, i32>(&mut setup.store, "take_within")
        .unwrap();
    assert_eq!(within.call(&mut setup.store, 1_000_000).unwrap(), 0);
    let give = setup
        .instance
        .get_typed_func::<i32, ()>(&mut setup.store, "give")
        .unwrap();
    give.call(&mut setup.store, 2).unwrap();
    assert_eq!(setup.permits.available(), 2);
    assert_eq!(within.call(&mut setup.store, 0).unwrap(), 1);
    assert_eq!(within.call(&mut setup.store, -1).unwrap(), 1);
    assert_eq!(setup.permits.available(), 0);
}

#[test]
fn terminate_wakes_guest_threads_blocked_on_a_host_semaphore() {
    let mut setup = setup(0);
    let ids = setup.spawn_takers(2);
    setup.await_waiting(2);
    setup.store.terminator().terminate();
    for id in ids {
        assert!(matches!(
            setup.store.join_thread(id),
            Some(ThreadOutcome::Aborted)
        ));
    }
    setup.store.join_threads().unwrap();
    assert_eq!(setup.get("acquired"), 0);
    assert_eq!(
        setup.permits.available(),
        0,
        "an interrupted wait takes nothing"
    );
    // The semaphore and the store work as before.
    setup.permits.release(1);
    let ids = setup.spawn_takers(1);
    assert!(matches!(
        setup.store.join_thread(ids[0]),
        Some(ThreadOutcome::Finished)
    ));
}

#[test]
fn an_attached_thread_blocked_on_a_host_semaphore_is_terminated_alone() {
    let mut setup = setup(0);
    let shared = setup.instance.share(&mut setup.store).unwrap();
    let (terminator_tx, terminator_rx) = std::sync::mpsc::channel();
    let attached = thread::spawn(move || {
        let thread = shared.attach().unwrap();
        terminator_tx.send(thread.terminator()).unwrap();
        let take = shared.get_typed_func::<i32, ()>("take").unwrap();
        take.call(&thread, 0).map_err(|e| e.trap())
    });
    let ids = setup.spawn_takers(1);
    setup.await_waiting(2);
    terminator_rx.recv().unwrap().terminate();
    assert_eq!(attached.join().unwrap(), Err(Some(Trap::Interrupted)));
    // The guest thread still waits, and takes the next permit.
    setup.permits.release(1);
    assert!(matches!(
        setup.store.join_thread(ids[0]),
        Some(ThreadOutcome::Finished)
    ));
    assert_eq!(setup.get("acquired"), 1);
}
