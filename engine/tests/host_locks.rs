//! Guests locking a host mutex and waiting on a host condition variable (wired in with
//! `Linker::define_mutex` and `define_condvar`), and host functions that block on something of
//! their own with a cancellation hook (`begin_blocking`): exclusion with an exact count, misuse
//! as clean errors, and termination waking every kind of wait.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use support::shared_everything_engine;
use weft::*;

const MODULE: &str = r#"
(module
  (type $entry (shared (func (param i32))))
  (type $timed (shared (func (param i64) (result i32))))
  (type $void (shared (func)))
  (type $to_i32 (shared (func (result i32))))
  (import "host" "m.lock" (func $lock (type $timed)))
  (import "host" "m.try_lock" (func $try_lock (type $to_i32)))
  (import "host" "m.unlock" (func $unlock (type $void)))
  (import "host" "ready.wait" (func $wait (type $timed)))
  (import "host" "ready.notify_all" (func $notify_all (type $to_i32)))
  (import "host" "block_on_channel" (func $block_on_channel (type $void)))
  (memory 1 1 shared)
  (global $waiting (shared mut i32) (i32.const 0))
  (global $woken (shared mut i32) (i32.const 0))
  (func $announce (type $void) (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1))))
  ;; Adds 1 to the plain counter at address 0, $n times, under the mutex.
  (func (export "count") (type $entry) (param $n i32)
    (loop $l
      (if (i32.eqz (call $lock (i64.const -1))) (then unreachable))
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
      (call $unlock)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "counter") (type $to_i32) (i32.atomic.load (i32.const 0)))
  ;; Waits under the mutex until the flag at address 8 is set.
  (func (export "await_flag") (type $entry)
    (if (i32.eqz (call $lock (i64.const -1))) (then unreachable))
    (call $announce)
    (block $set
      (loop $l
        (br_if $set (i32.load (i32.const 8)))
        (drop (call $wait (i64.const -1)))
        (br $l)))
    (drop (global.atomic.rmw.add seqcst $woken (i32.const 1)))
    (call $unlock))
  (func (export "set_flag") (type $to_i32)
    (if (i32.eqz (call $lock (i64.const -1))) (then unreachable))
    (i32.store (i32.const 8) (i32.const 1))
    (call $notify_all)
    (call $unlock))
  ;; Waits for a notify that never comes, for $nanos: 0 when it times out, holding the mutex.
  (func (export "wait_within") (type $timed) (param $nanos i64) (result i32)
    (local $notified i32)
    (if (i32.eqz (call $lock (i64.const -1))) (then unreachable))
    (local.set $notified (call $wait (local.get $nanos)))
    (call $unlock)
    (local.get $notified))
  (func (export "lock_forever") (type $entry)
    (call $announce)
    (drop (call $lock (i64.const -1))))
  (func (export "lock_twice") (type $void)
    (drop (call $lock (i64.const -1)))
    (drop (call $lock (i64.const -1))))
  (func (export "try_lock") (type $to_i32) (call $try_lock))
  (func (export "lock") (type $to_i32) (call $lock (i64.const -1)))
  (func (export "lock_now") (type $to_i32) (call $lock (i64.const 0)))
  (func (export "unlock") (type $void) (call $unlock))
  ;; Announced by the host function itself, once its cancellation hook is in place.
  (func (export "block_on_channel") (type $entry)
    (call $block_on_channel))
  (func (export "waiting") (type $to_i32) (global.atomic.get seqcst $waiting))
  (func (export "woken") (type $to_i32) (global.atomic.get seqcst $woken))
)
"#;

struct Setup {
    store: Store<()>,
    instance: Instance,
    mutex: Arc<HostMutex>,
    /// What the channel-blocking host function's cancellation hooks ran.
    cancelled: mpsc::Receiver<()>,
    /// Set once the channel-blocking host function is inside its `begin_blocking` guard: a
    /// terminate before that refuses the guard instead of running the hook.
    guarded: Arc<AtomicBool>,
}

/// A host function that blocks on a channel nobody sends on, made stoppable with
/// `begin_blocking`: the hook sends, which ends the wait, and reports that it ran.
fn block_on_channel(
    cancelled: mpsc::Sender<()>,
    guarded: Arc<AtomicBool>,
) -> impl Fn() -> Result<(), Error> {
    move || {
        let (wake, woken) = mpsc::channel::<()>();
        let cancelled = cancelled.clone();
        let guard = begin_blocking(move || {
            cancelled.send(()).unwrap();
            wake.send(()).unwrap();
        })
        .map_err(|_| Error::from(Trap::Interrupted))?;
        guarded.store(true, Ordering::SeqCst);
        woken.recv().unwrap();
        guard.end().map_err(|_| Error::from(Trap::Interrupted))
    }
}

fn setup() -> Setup {
    let engine = shared_everything_engine();
    let module = Module::new(&engine, MODULE).unwrap();
    let mutex = Arc::new(HostMutex::new());
    let ready = Arc::new(HostCondvar::new());
    let (cancel_tx, cancelled) = mpsc::channel();
    let guarded = Arc::new(AtomicBool::new(false));
    let mut linker = Linker::new(&engine);
    linker.define_mutex("host", "m", &mutex).unwrap();
    linker
        .define_condvar("host", "ready", &ready, &mutex)
        .unwrap();
    linker
        .func_wrap_shared(
            "host",
            "block_on_channel",
            block_on_channel(cancel_tx, Arc::clone(&guarded)),
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Setup {
        store,
        instance,
        mutex,
        cancelled,
        guarded,
    }
}

impl Setup {
    fn get(&mut self, name: &str) -> Result<i32, Error> {
        let func = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, name);
        func.unwrap().call(&mut self.store, ())
    }

    fn run(&mut self, name: &str) -> Result<(), Error> {
        let func = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, name);
        func.unwrap().call(&mut self.store, ())
    }

    fn spawn(&mut self, name: &str, arg: i32) -> ThreadId {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        self.store.spawn(&func, arg).unwrap()
    }

    fn await_guarded(&self) {
        while !self.guarded.load(Ordering::SeqCst) {
            thread::yield_now();
        }
    }

    fn await_waiting(&mut self, count: i32) {
        while self.get("waiting").unwrap() < count {
            thread::yield_now();
        }
    }

    fn join(&mut self, id: ThreadId) -> ThreadOutcome {
        self.store.join_thread(id).expect("a live thread")
    }
}

#[test]
fn a_host_mutex_excludes_guest_threads_exactly() {
    const THREADS: i32 = 4;
    const ROUNDS: i32 = 5_000;
    let mut setup = setup();
    let ids: Vec<_> = (0..THREADS).map(|_| setup.spawn("count", ROUNDS)).collect();
    for id in ids {
        assert!(matches!(setup.join(id), ThreadOutcome::Finished));
    }
    assert_eq!(setup.get("counter").unwrap(), THREADS * ROUNDS);
    assert!(!setup.mutex.is_locked());
}

#[test]
fn misusing_the_mutex_fails_the_call_and_leaves_it_consistent() {
    let mut setup = setup();
    let error = setup.run("unlock").unwrap_err();
    assert!(error.to_string().contains("not locked"), "{error}");
    let error = setup.run("lock_twice").unwrap_err();
    assert!(error.to_string().contains("already holds"), "{error}");
    // The first lock stands, held by this thread: another thread cannot unlock it.
    assert!(setup.mutex.is_locked());
    assert_eq!(
        thread::scope(|scope| scope.spawn(|| setup.mutex.unlock()).join().unwrap()),
        Err(UnlockError::NotOwner)
    );
    setup.run("unlock").unwrap();
    assert_eq!(setup.get("try_lock").unwrap(), 1);
    assert_eq!(
        setup.get("try_lock").unwrap(),
        0,
        "held by this very thread"
    );
    setup.run("unlock").unwrap();
}

#[test]
fn condvar_waiters_wake_on_notify_and_time_out_otherwise() {
    let mut setup = setup();
    let ids: Vec<_> = (0..3).map(|_| setup.spawn("await_flag", 0)).collect();
    setup.await_waiting(3);
    assert_eq!(setup.get("woken").unwrap(), 0);
    setup.get("set_flag").unwrap();
    for id in ids {
        assert!(matches!(setup.join(id), ThreadOutcome::Finished));
    }
    assert_eq!(setup.get("woken").unwrap(), 3);
    let within = setup
        .instance
        .get_typed_func::<i64, i32>(&mut setup.store, "wait_within")
        .unwrap();
    assert_eq!(within.call(&mut setup.store, 1_000_000).unwrap(), 0);
    assert!(!setup.mutex.is_locked(), "the timed-out waiter unlocked");
}

#[test]
fn terminate_wakes_mutex_condvar_and_hooked_host_waits() {
    let mut setup = setup();
    // The test thread holds the mutex, so `lock_forever` blocks in the mutex and the condvar
    // waiter blocks re-checking its flag... in the condvar, having taken and released it.
    let condvar_waiter = setup.spawn("await_flag", 0);
    setup.await_waiting(1);
    assert_eq!(setup.mutex.lock(None), Ok(Acquire::Acquired));
    let locker = setup.spawn("lock_forever", 0);
    let channel_waiter = setup.spawn("block_on_channel", 0);
    setup.await_waiting(2);
    setup.await_guarded();
    setup.store.terminator().terminate();
    for id in [condvar_waiter, locker, channel_waiter] {
        assert!(matches!(setup.join(id), ThreadOutcome::Aborted));
    }
    setup.store.join_threads().unwrap();
    assert_eq!(setup.cancelled.try_recv(), Ok(()), "the hook ran");
    assert!(setup.cancelled.try_recv().is_err(), "exactly once");
    assert_eq!(setup.get("woken").unwrap(), 0);
    assert_eq!(
        setup.mutex.unlock(),
        Ok(()),
        "the test thread still held it"
    );
}

#[test]
fn terminating_one_thread_leaves_the_others_waiting() {
    let mut setup = setup();
    let doomed = setup.spawn("block_on_channel", 0);
    let survivor = setup.spawn("await_flag", 0);
    setup.await_waiting(1);
    setup.await_guarded();
    let terminator = setup.store.terminator();
    assert!(terminator.terminate_thread(doomed));
    assert!(matches!(setup.join(doomed), ThreadOutcome::Aborted));
    assert!(!terminator.terminate_thread(doomed), "already stopped");
    assert_eq!(setup.cancelled.try_recv(), Ok(()));
    // Nothing else was stopped: no join is needed to spawn, and the survivor wakes normally.
    let helper = setup.spawn("count", 1);
    assert!(matches!(setup.join(helper), ThreadOutcome::Finished));
    setup.get("set_flag").unwrap();
    assert!(matches!(setup.join(survivor), ThreadOutcome::Finished));
    setup.store.join_threads().unwrap();
}

#[test]
fn guest_and_host_code_share_the_lock_word_and_the_threads_token() {
    let mut s = setup();
    // Taken by guest code on the store's thread (the JIT's fast path): the host sees it
    // held, by this very thread, which may unlock it from host code.
    assert_eq!(s.get("lock").unwrap(), 1);
    assert!(s.mutex.is_locked());
    assert!(!s.mutex.try_lock());
    s.mutex.unlock().unwrap();
    assert!(!s.mutex.is_locked());
    // Taken by host code on this thread: guest code's unlock releases it.
    assert!(matches!(s.mutex.lock(None), Ok(Acquire::Acquired)));
    s.run("unlock").unwrap();
    assert!(!s.mutex.is_locked());
    // Held by another thread: a guest lock that may not wait times out, and a guest unlock
    // fails without touching it (both settled by the host function).
    let mutex = Arc::clone(&s.mutex);
    let (locked, on_locked) = mpsc::channel();
    let (release, on_release) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        assert!(matches!(mutex.lock(None), Ok(Acquire::Acquired)));
        locked.send(()).unwrap();
        on_release.recv().unwrap();
        mutex.unlock().unwrap();
    });
    on_locked.recv().unwrap();
    assert_eq!(s.get("lock_now").unwrap(), 0);
    assert!(s.run("unlock").is_err());
    assert!(s.mutex.is_locked());
    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(s.get("lock_now").unwrap(), 1);
    s.run("unlock").unwrap();
    assert!(!s.mutex.is_locked());
}
