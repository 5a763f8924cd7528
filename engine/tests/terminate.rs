//! Terminating a store's threads from a watchdog: guest threads blocked in
//! `memory.atomic.wait`, guest threads spinning, and the home thread's own call all stop with
//! the interrupt trap; every thread is accounted for, and the store runs again afterwards.

mod support;

use std::time::Duration;
use support::{call, i32_of, instantiate_with, shared_everything_engine};
use weft::*;

const WORKERS: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $count_t (func (param i32) (result i32)))
  (memory $m 1 1 shared)
  ;; Blocks forever: nothing ever notifies address 0.
  (func (export "block") (type $entry)
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  ;; Spins forever, with a call in the loop so both kinds of safepoint are crossed.
  (func $nothing (type $entry))
  (func (export "spin") (type $entry)
    (loop $l (call $nothing (local.get 0)) (br $l)))
;; Spins forever with no call: no safepoint at all, only a nudge (a signal) stops it.
  (func (export "spin_tight") (type $entry)
    (loop $l (br $l)))
  ;; Spins through a loop nest, calling only at the start: stopped by a nudge, which may
  ;; find it in either loop.
  (func $inner_loops (param $n i32)
    (local $i i32)
    (loop $outer
      (local.set $i (local.get $n))
      (loop $inner
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br_if $inner (local.get $i)))
      (br $outer)))
  (func (export "spin_nested") (type $entry) (call $inner_loops (i32.const 1000)))
  ;; Calls itself twice, 2^depth calls in all, with no loop: 2^40 runs for days, and only
  ;; the function entries can stop it.
  (func $tree (param $depth i32)
    (if (local.get $depth)
      (then
        (call $tree (i32.sub (local.get $depth) (i32.const 1)))
        (call $tree (i32.sub (local.get $depth) (i32.const 1))))))
  (func (export "recurse") (type $entry) (call $tree (local.get 0)))
  ;; Tail-calls itself forever in constant stack: no loop and no frame left behind, only
  ;; the function entry, whose stack check an interrupt makes fail.
  (func $tail_spin (export "tail_spin") (type $entry)
    (return_call $tail_spin (i32.add (local.get 0) (i32.const 1))))
  ;; Counts to its argument (-1: forever) and returns the count.
  (func $count (export "count") (type $count_t)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.ne (local.get $i) (local.get 0))))
    (local.get $i))
)
"#;

/// Fires `terminator` from another thread, a little later.
fn watchdog(terminator: Terminator) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        terminator.terminate();
    })
}

/// Terminates the store from a watchdog, then joins `ids`, each of which must be aborted:
/// whenever the watchdog fires, the outcomes are the same (a thread that has not started yet
/// is refused, one that has is interrupted).
fn terminate_from_a_watchdog_and_join_aborted(store: &mut Store<()>, ids: Vec<ThreadId>) {
    watchdog(store.terminator()).join().unwrap();
    for id in ids {
        let outcome = store.join_thread(id).expect("each thread is joined once");
        assert!(
            matches!(outcome, ThreadOutcome::Aborted),
            "thread {id}: {outcome:?}"
        );
    }
}

/// After a termination, the store spawns `func` again, and a second termination stops it too.
fn spawn_and_terminate_again(store: &mut Store<()>, func: &Func) {
    let id = store.spawn(func, 0).expect("spawning works again");
    store.terminator().terminate();
    assert!(matches!(
        store.join_thread(id),
        Some(ThreadOutcome::Aborted)
    ));
}

#[test]
fn terminate_stops_blocked_and_running_guest_threads() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    let spin = instance.get_func(&mut store, "spin").unwrap();
    let mut ids = Vec::new();
    for index in 0..4 {
        let func = if index % 2 == 0 { &block } else { &spin };
        ids.push(store.spawn(func, index).expect("below the thread limit"));
    }
    terminate_from_a_watchdog_and_join_aborted(&mut store, ids);
    store
        .join_threads()
        .expect("termination is not a trap of its own");

    // The store spawns and calls again.
    spawn_and_terminate_again(&mut store, &block);
    store.join_threads().unwrap();
    assert_eq!(
        i32_of(call(&mut store, &instance, "count", &[Val::I32(5)])),
        5
    );
}

#[test]
fn terminate_stops_the_home_threads_running_call_and_its_guest_threads() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let block = instance.get_func(&mut store, "block").unwrap();
    let spin = instance.get_func(&mut store, "spin").unwrap();
    store.spawn(&block, 0).unwrap();
    store.spawn(&spin, 1).unwrap();
    // `count` with -1 runs for seconds; an interrupt that reaches the home thread before the
    // call starts is kept for it, so the call fails the same way whenever the watchdog fires.
    let watchdog = watchdog(store.terminator());
    let error = call(&mut store, &instance, "count", &[Val::I32(-1)]).unwrap_err();
    assert_eq!(error.trap(), Some(Trap::Interrupted), "{error}");
    watchdog.join().unwrap();
    // The interrupted call already joined the guest threads, so nothing is left to join.
    store.join_threads().unwrap();
    assert_eq!(
        i32_of(call(&mut store, &instance, "count", &[Val::I32(1000)])),
        1000
    );
    spawn_and_terminate_again(&mut store, &spin);
}

#[test]
fn a_terminator_outliving_its_store_does_nothing() {
    let (mut store, _instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let terminator = store.terminator();
    drop(store);
    terminator.terminate();
}

#[test]
fn a_terminated_store_leaves_its_thread_free_to_wait_in_the_next_store() {
    let engine = Engine::default();
    let wat = r#"(module
        (memory 1 1 shared)
        (func (export "wait") (result i32)
          (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 1000000))))"#;
    let (mut first, instance) = instantiate_with(&engine, wat);
    assert_eq!(i32_of(call(&mut first, &instance, "wait", &[])), 2);
    // Terminated between calls: the interrupt is pending for its next call, which never
    // comes.
    first.terminator().terminate();
    drop(first);
    let (mut second, instance) = instantiate_with(&engine, wat);
    assert_eq!(
        i32_of(call(&mut second, &instance, "wait", &[])),
        2,
        "the wait times out instead of seeing the first store's interrupt"
    );
}

#[test]
fn terminate_stops_a_thread_that_only_calls() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let recurse = instance.get_func(&mut store, "recurse").unwrap();
    let id = store.spawn(&recurse, 40).expect("below the thread limit");
    watchdog(store.terminator()).join().unwrap();
    assert!(matches!(
        store.join_thread(id),
        Some(ThreadOutcome::Aborted)
    ));
    store.join_threads().unwrap();
    // A shallow tree still runs to its end afterwards.
    let id = store.spawn(&recurse, 4).unwrap();
    assert!(matches!(
        store.join_thread(id),
        Some(ThreadOutcome::Finished)
    ));
}

#[test]
fn terminate_stops_threads_in_tail_call_loops() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let tail_spin = instance.get_func(&mut store, "tail_spin").unwrap();
    let ids: Vec<_> = (0..4)
        .map(|index| {
            store
                .spawn(&tail_spin, index)
                .expect("below the thread limit")
        })
        .collect();
    terminate_from_a_watchdog_and_join_aborted(&mut store, ids);
    store.join_threads().unwrap();
    spawn_and_terminate_again(&mut store, &tail_spin);
}

#[test]
fn terminate_stops_threads_in_loops_without_calls() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let tight = instance.get_func(&mut store, "spin_tight").unwrap();
    let nested = instance.get_func(&mut store, "spin_nested").unwrap();
    let ids: Vec<_> = (0..8)
        .map(|index| {
            let func = if index % 2 == 0 { &tight } else { &nested };
            store.spawn(func, index).expect("below the thread limit")
        })
        .collect();
    terminate_from_a_watchdog_and_join_aborted(&mut store, ids);
    store.join_threads().unwrap();
    spawn_and_terminate_again(&mut store, &tight);
}

#[test]
fn an_interrupted_loop_reports_where_it_was_stopped() {
    let (mut store, instance) = instantiate_with(&shared_everything_engine(), WORKERS);
    let watchdog = watchdog(store.terminator());
    let error = call(&mut store, &instance, "count", &[Val::I32(-1)]).unwrap_err();
    watchdog.join().unwrap();
    assert_eq!(error.trap(), Some(Trap::Interrupted), "{error}");
    let backtrace = error
        .backtrace()
        .expect("an interrupt records where it stopped");
    let innermost = backtrace
        .frames()
        .first()
        .expect("at least the looping frame");
    assert!(innermost.to_string().contains("count"), "{innermost}");
}

/// The first nudge finds the thread in host code, where it cannot stop it: the host function
/// sleeps through the interrupt and then returns to a loop with no call in it. The nudges the
/// courier repeats stop it there.
#[test]
fn a_thread_that_was_in_host_code_when_interrupted_is_stopped_in_its_loop_afterwards() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "sleep" (func $sleep))
          (func (export "sleep_then_spin") (result i32)
            (call $sleep)
            (loop $l (br $l))
            (unreachable)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "sleep", || {
            std::thread::sleep(Duration::from_millis(300));
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let watchdog = watchdog(store.terminator());
    let error = call(&mut store, &instance, "sleep_then_spin", &[]).unwrap_err();
    watchdog.join().unwrap();
    assert_eq!(error.trap(), Some(Trap::Interrupted), "{error}");
}
