//! Host-thread integration, shared by the `host_integration` bench and the tests: lock kernels
//! driven from host threads attached to one instance, and guest threads blocked in
//! `memory.atomic.wait` that a terminator stops, with the native twin of the latter (the lock
//! baseline, `parking_lot`, is a dev-dependency and lives in the bench).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use weft::{
    AttachedThread, Config, Engine, Error, Func, HostMutex, Linker, Module, Semaphore,
    SharedInstance, SharedTypedFunc, Store, Terminator, TypedFunc, WasmFeatures,
};

const LOCKS_WAT: &str = include_str!("../kernels/locks.wat");
const BLOCKED_WAT: &str = include_str!("../kernels/blocked.wat");

/// An engine that validates the shared-everything-threads proposal, with the default thread
/// limits (64 live threads per store).
pub fn shared_everything_engine() -> Result<Engine, Error> {
    let mut config = Config::new();
    config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
    Engine::new(&config)
}

/// The locks of `kernels/locks.wat`, each guarding the same plain counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// The host [`Semaphore`] with one permit, through `Linker::define_semaphore`.
    Semaphore,
    /// The host [`HostMutex`], through `Linker::define_mutex`.
    Mutex,
    /// A three-state futex mutex written in wasm: cmpxchg/xchg and wait/notify.
    Futex,
}

impl LockKind {
    pub const ALL: [LockKind; 3] = [LockKind::Semaphore, LockKind::Mutex, LockKind::Futex];

    /// The criterion benchmark id of this lock in the lock groups.
    pub const fn id(self) -> &'static str {
        match self {
            LockKind::Semaphore => "host_semaphore",
            LockKind::Mutex => "host_mutex",
            LockKind::Futex => "guest_futex",
        }
    }

    /// The kernel export running `n` × (lock, bump the counter, unlock) with this lock.
    pub const fn export(self) -> &'static str {
        match self {
            LockKind::Semaphore => "semaphore_loop",
            LockKind::Mutex => "mutex_loop",
            LockKind::Futex => "futex_loop",
        }
    }
}

/// One instance of the lock kernels with its host locks, shared for attached host threads.
/// The store must outlive every [`LockWorker`]: dropping it interrupts their calls.
pub struct WeftLocks {
    store: Store<()>,
    counter: TypedFunc<(), i32>,
    shared: SharedInstance,
    semaphore: Arc<Semaphore>,
    mutex: Arc<HostMutex>,
}

impl WeftLocks {
    pub fn new(engine: &Engine) -> Result<WeftLocks, Error> {
        let module = Module::new(engine, LOCKS_WAT)?;
        let semaphore = Arc::new(Semaphore::new(1));
        let mutex = Arc::new(HostMutex::new());
        let mut linker = Linker::new(engine);
        linker.define_semaphore("host", "lock", &semaphore)?;
        linker.define_mutex("host", "mutex", &mutex)?;
        let mut store = Store::new(engine, ());
        let instance = linker.instantiate(&mut store, &module)?;
        let counter = instance.get_typed_func(&mut store, "counter")?;
        let shared = instance.share(&mut store)?;
        Ok(WeftLocks {
            store,
            counter,
            shared,
            semaphore,
            mutex,
        })
    }

    /// The instance for host threads to attach to.
    pub fn shared(&self) -> &SharedInstance {
        &self.shared
    }

    /// The counter every loop bumps under its lock, since instantiation (wrapping).
    pub fn counter(&mut self) -> Result<u32, Error> {
        Ok(self.counter.call(&mut self.store, ())?.cast_unsigned())
    }

    /// Whether the host semaphore has its one permit and the host mutex is unlocked, as they
    /// must be whenever no loop runs.
    pub fn host_locks_free(&self) -> bool {
        self.semaphore.available() == 1 && !self.mutex.is_locked()
    }
}

/// The calling host thread, attached to a [`WeftLocks`] instance, ready to run one lock's
/// loop. It must stay on the thread that attached it; dropping it detaches.
pub struct LockWorker {
    thread: AttachedThread,
    run: SharedTypedFunc<i32, ()>,
}

impl LockWorker {
    pub fn attach(shared: &SharedInstance, kind: LockKind) -> Result<LockWorker, Error> {
        Ok(LockWorker {
            run: shared.get_typed_func(kind.export())?,
            thread: shared.attach()?,
        })
    }

    /// `rounds` × (lock, bump the counter, unlock), in one call into wasm.
    pub fn run(&self, rounds: u32) -> Result<(), Error> {
        if rounds == 0 {
            // The kernel's loop counts down and runs at least once.
            return Ok(());
        }
        // The kernel counts down to zero, so any nonzero bit pattern is that many rounds.
        self.run.call(&self.thread, rounds.cast_signed())
    }
}

/// Guest threads blocked in `memory.atomic.wait` on a store, for timing terminate → joined.
/// One store serves every round: after the join it spawns again.
pub struct WeftBlocked {
    store: Store<()>,
    block: Func,
    waiting: TypedFunc<(), i32>,
    terminator: Terminator,
}

impl WeftBlocked {
    pub fn new(engine: &Engine) -> Result<WeftBlocked, Error> {
        let module = Module::new(engine, BLOCKED_WAT)?;
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine).instantiate(&mut store, &module)?;
        Ok(WeftBlocked {
            block: instance
                .get_func(&mut store, "block")
                .ok_or_else(|| Error::msg("the kernel exports no `block`"))?,
            waiting: instance.get_typed_func(&mut store, "waiting")?,
            terminator: store.terminator(),
            store,
        })
    }

    /// Threads that announced themselves since the store was made.
    fn announced(&mut self) -> Result<u32, Error> {
        Ok(self.waiting.call(&mut self.store, ())?.cast_unsigned())
    }

    /// Spawns `count` guest threads and returns once each has announced itself, which it does
    /// right before its `memory.atomic.wait` (so it is there, or about to be).
    pub fn block(&mut self, count: u32) -> Result<(), Error> {
        let target = self.announced()?.wrapping_add(count);
        for _ in 0..count {
            self.store.spawn(&self.block, 0)?;
        }
        while self.announced()? != target {
            std::thread::yield_now();
        }
        Ok(())
    }

    /// Stops every blocked thread and waits until the last one has been joined: the part the
    /// benchmark times.
    pub fn terminate_and_join(&mut self) -> Result<(), Error> {
        self.terminator.terminate();
        self.store.join_threads()
    }
}

#[derive(Default)]
struct StopState {
    blocked: u32,
    stop: bool,
}

#[derive(Default)]
struct StopFlag {
    state: Mutex<StopState>,
    /// Signalled when the flag is set.
    stopped: Condvar,
    /// Signalled when a thread is about to block.
    blocked: Condvar,
}

/// The native twin of [`WeftBlocked`]: threads blocked on a `std::sync::Condvar` until a stop
/// flag is set.
pub struct NativeBlocked {
    flag: Arc<StopFlag>,
    handles: Vec<JoinHandle<()>>,
}

impl NativeBlocked {
    /// Spawns `count` threads and returns once every one is waiting on the condition variable
    /// (each releases the mutex only by waiting, and the count is read under it).
    pub fn block(count: u32) -> NativeBlocked {
        let flag = Arc::new(StopFlag::default());
        let handles = (0..count)
            .map(|_| {
                let flag = flag.clone();
                std::thread::spawn(move || {
                    let mut state = flag.state.lock().unwrap_or_else(PoisonError::into_inner);
                    state.blocked += 1;
                    flag.blocked.notify_one();
                    let _stopped = flag
                        .stopped
                        .wait_while(state, |state| !state.stop)
                        .unwrap_or_else(PoisonError::into_inner);
                })
            })
            .collect();
        let state = flag.state.lock().unwrap_or_else(PoisonError::into_inner);
        drop(
            flag.blocked
                .wait_while(state, |state| state.blocked < count)
                .unwrap_or_else(PoisonError::into_inner),
        );
        NativeBlocked { flag, handles }
    }

    /// Sets the flag, wakes every thread and joins them all: the part the benchmark times.
    pub fn stop_and_join(self) {
        self.flag
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.flag.stopped.notify_all();
        for handle in self.handles {
            handle.join().expect("a blocked thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Whether this process may run on two CPUs at once.
    fn parallel() -> bool {
        std::thread::available_parallelism().is_ok_and(|cpus| cpus.get() >= 2)
    }

    /// Two host threads attached to `shared` each call `export(rounds)`, pinned to two CPUs
    /// (when the process has two) and starting together: each waits, without sleeping, until
    /// both are attached. Returns whether the two calls overlapped in time: both began before
    /// either ended.
    fn run_concurrently(shared: &SharedInstance, export: &'static str, rounds: u32) -> bool {
        // Tests that run pairs of threads at once keep out of each other's way: on a
        // two-core machine two such pairs would share the cores and seldom run in parallel.
        static ONE_PAIR_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _pair = ONE_PAIR_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let arrived = Arc::new(AtomicU32::new(0));
        let events = Arc::new(AtomicU32::new(0));
        let workers: Vec<_> = (0..2)
            .map(|index| {
                let (shared, arrived, events) = (shared.clone(), arrived.clone(), events.clone());
                std::thread::spawn(move || {
                    crate::timing::pin_to_cpu(index);
                    let thread = shared.attach().unwrap();
                    let run = shared.get_typed_func::<i32, ()>(export).unwrap();
                    arrived.fetch_add(1, Ordering::SeqCst);
                    while arrived.load(Ordering::SeqCst) < 2 {
                        std::thread::yield_now();
                    }
                    let began = events.fetch_add(1, Ordering::SeqCst);
                    run.call(&thread, rounds.cast_signed()).unwrap();
                    let ended = events.fetch_add(1, Ordering::SeqCst);
                    (began, ended)
                })
            })
            .collect();
        let spans: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        // Events 0 and 1 are both beginnings unless one call ended before the other began.
        spans.iter().all(|&(began, _)| began < 2)
    }

    /// The lock kernels' plain bump, with no lock around it.
    const UNLOCKED: &str = r#"
      (module
        (type $loop_t (shared (func (param i32))))
        (type $to_i32 (shared (func (result i32))))
        (memory 1 1 shared)
        (func (export "bump_loop") (type $loop_t) (param $n i32)
          (loop $l
            (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
        (func (export "counter") (type $to_i32) (i32.atomic.load (i32.const 64))))
    "#;

    /// The control for the lock test below: the same two threads, with the same plain bump
    /// but no lock, do lose increments, so the exact counts there are the locks' doing.
    /// Losing one needs the threads on two cores at once: with them pinned, the first attempt
    /// all but always does, even with other jobs keeping both cores busy.
    #[test]
    fn without_a_lock_two_attached_threads_lose_increments() {
        const ROUNDS: u32 = 2_000_000;
        if !parallel() {
            eprintln!("skipped: one CPU, so two threads never run at the same time");
            return;
        }
        let engine = shared_everything_engine().unwrap();
        let module = Module::new(&engine, UNLOCKED).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let shared = instance.share(&mut store).unwrap();
        let counter = instance
            .get_typed_func::<(), i32>(&mut store, "counter")
            .unwrap();
        let mut counter = || counter.call(&mut store, ()).unwrap().cast_unsigned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut attempts = 0;
        while std::time::Instant::now() < deadline {
            let before = counter();
            run_concurrently(&shared, "bump_loop", ROUNDS);
            attempts += 1;
            let added = counter().wrapping_sub(before);
            assert!(added <= 2 * ROUNDS, "{added} increments from {ROUNDS} each");
            if added < 2 * ROUNDS {
                return;
            }
        }
        panic!("two unlocked threads never lost an increment in {attempts} attempts");
    }

    #[test]
    fn each_lock_kernel_counts_exactly_from_two_attached_threads() {
        const ROUNDS: u32 = 500_000;
        let engine = shared_everything_engine().unwrap();
        for kind in LockKind::ALL {
            let mut locks = WeftLocks::new(&engine).unwrap();
            let mut expected = 0;
            let mut overlapped = 0;
            // At least three runs, and until two of them overlapped in time.
            for run in 1..=50 {
                overlapped += u32::from(run_concurrently(locks.shared(), kind.export(), ROUNDS));
                expected += 2 * ROUNDS;
                assert_eq!(locks.counter().unwrap(), expected, "{kind:?}, run {run}");
                assert!(locks.host_locks_free(), "{kind:?} left a host lock held");
                assert_eq!(locks.shared().attached_threads(), 0);
                if run >= 3 && overlapped >= 2 {
                    break;
                }
            }
            assert!(
                overlapped >= 2 || !parallel(),
                "{kind:?}: the two threads' runs never overlapped"
            );
        }
    }

    #[test]
    fn lock_worker_runs_exactly_the_rounds_asked_for() {
        let engine = shared_everything_engine().unwrap();
        let mut locks = WeftLocks::new(&engine).unwrap();
        let mut expected = 0;
        for kind in LockKind::ALL {
            let worker = LockWorker::attach(locks.shared(), kind).unwrap();
            for rounds in [0, 1, 7] {
                worker.run(rounds).unwrap();
                expected += rounds;
            }
            drop(worker);
            assert_eq!(locks.counter().unwrap(), expected, "{kind:?}");
        }
    }

    #[test]
    fn blocked_guest_threads_stop_on_terminate_round_after_round() {
        let engine = shared_everything_engine().unwrap();
        let mut blocked = WeftBlocked::new(&engine).unwrap();
        for count in [1, 64, 0, 64, 1] {
            blocked.block(count).unwrap();
            blocked.terminate_and_join().unwrap();
        }
        assert_eq!(blocked.announced().unwrap(), 130);
    }

    #[test]
    fn native_blocked_threads_stop_when_flagged() {
        for count in [1, 64, 0] {
            let blocked = NativeBlocked::block(count);
            assert_eq!(blocked.handles.len(), count as usize);
            blocked.stop_and_join();
        }
    }
}
