//! Blocking calls with real threads: a host call blocked in a std channel, cancelled by its hook
//! when another thread interrupts it. The races are loom models (`loom_blocking.rs`).

use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::mpsc::{self, TryRecvError};
use std::time::Duration;

use crate::sync::{Arc, Ordering, thread};
use crate::{Interrupted, Outcome, ThreadGroup, Waiter, begin_blocking};

/// Long enough that a correct run never gets near it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `f` on a thread of its own, so that the interrupts it makes reach no other test.
fn on_new_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    thread::spawn(f).join().unwrap()
}

/// A host call blocked in `recv` until its hook sends the id of the thread that ran it; the
/// sender stays alive, so nothing else ends the call.
fn blocked_call(
    runs: &Arc<AtomicU32>,
) -> (
    impl FnOnce() + Send + 'static,
    impl FnOnce() -> thread::ThreadId,
) {
    let (sender, receiver) = mpsc::channel();
    let hook = {
        let (sender, runs) = (sender.clone(), runs.clone());
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            sender.send(thread::current().id()).unwrap();
        }
    };
    let call = move || {
        let cancelled_by = receiver.recv().unwrap();
        drop(sender);
        cancelled_by
    };
    (hook, call)
}

#[test]
fn an_interrupt_runs_the_hook_once_on_the_interrupting_thread() {
    let runs = Arc::new(AtomicU32::new(0));
    let (began, waiter) = mpsc::channel();
    let guest = thread::spawn({
        let runs = runs.clone();
        move || {
            let (hook, call) = blocked_call(&runs);
            let guard = begin_blocking(hook).unwrap();
            began.send(Waiter::current()).unwrap();
            let cancelled_by = call();
            (cancelled_by, guard.end())
        }
    });
    let waiter = waiter.recv_timeout(PATIENCE).unwrap();
    waiter.interrupt();
    waiter.interrupt();
    let (cancelled_by, ended) = guest.join().unwrap();
    assert_eq!(cancelled_by, thread::current().id());
    assert_eq!(ended, Err(Interrupted));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn begin_fails_once_interrupted_and_drops_the_hook_unrun() {
    on_new_thread(|| {
        let me = Waiter::current();
        me.interrupt();
        let (sender, receiver) = mpsc::channel();
        let began = begin_blocking(move || sender.send(()).unwrap());
        assert_eq!(began.err(), Some(Interrupted));
        assert_eq!(receiver.try_recv(), Err(TryRecvError::Disconnected));
        me.clear_interrupt();
        assert_eq!(begin_blocking(|| {}).unwrap().end(), Ok(()));
    });
}

#[test]
fn no_hook_runs_without_an_interrupt() {
    on_new_thread(|| {
        let runs = Arc::new(AtomicU32::new(0));
        let hook = {
            let runs = runs.clone();
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        assert_eq!(begin_blocking(hook).unwrap().end(), Ok(()));
        assert_eq!(
            Arc::strong_count(&runs),
            1,
            "the ended call dropped its hook"
        );
        Waiter::current().interrupt();
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn ending_waits_for_a_running_hook() {
    on_new_thread(|| {
        let (started, hook_started) = mpsc::channel();
        let returned = Arc::new(AtomicBool::new(false));
        let hook = {
            let returned = returned.clone();
            move || {
                started.send(()).unwrap();
                thread::sleep(Duration::from_millis(50));
                returned.store(true, Ordering::SeqCst);
            }
        };
        let guard = begin_blocking(hook).unwrap();
        let interrupter = thread::spawn({
            let me = Waiter::current();
            move || me.interrupt()
        });
        hook_started.recv_timeout(PATIENCE).unwrap();
        assert_eq!(guard.end(), Err(Interrupted));
        assert!(returned.load(Ordering::SeqCst), "ended while the hook ran");
        interrupter.join().unwrap();
    });
}

#[test]
fn a_panicking_hook_still_lets_its_guard_end() {
    on_new_thread(|| {
        let guard = begin_blocking(|| panic!("the hook failed")).unwrap();
        let interrupter = thread::spawn({
            let me = Waiter::current();
            move || me.interrupt()
        });
        assert!(
            interrupter.join().is_err(),
            "the panic reaches the interrupter"
        );
        assert_eq!(guard.end(), Err(Interrupted));
    });
}

#[test]
fn a_hook_may_interrupt_its_own_thread_again() {
    on_new_thread(|| {
        let me = Waiter::current();
        let runs = Arc::new(AtomicU32::new(0));
        let hook = {
            let (me, runs) = (me.clone(), runs.clone());
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
                me.interrupt();
            }
        };
        let guard = begin_blocking(hook).unwrap();
        me.interrupt();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(guard.end(), Err(Interrupted));
    });
}

#[test]
#[should_panic = "this thread is already in a blocking call"]
fn guards_do_not_nest() {
    let _outer = begin_blocking(|| {}).unwrap();
    let _inner = begin_blocking(|| {});
}

/// The engine's path: terminating a guest thread interrupts its waiter, whose hook cancels the
/// host call the thread is blocked in; the thread reports the interrupt and ends `Aborted`.
#[test]
fn terminating_a_thread_cancels_its_blocking_host_call() {
    let group = Arc::new(ThreadGroup::<Interrupted>::new(1));
    let id = group.reserve().unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let (began, blocking) = mpsc::channel();
    let guest = thread::spawn({
        let (group, runs) = (group.clone(), runs.clone());
        move || {
            assert!(group.start(id, Arc::new(Waiter::current())));
            let (hook, call) = blocked_call(&runs);
            let result = begin_blocking(hook).and_then(|guard| {
                began.send(()).unwrap();
                call();
                guard.end()
            });
            group.finish(id, result);
        }
    });
    blocking.recv_timeout(PATIENCE).unwrap();
    assert!(group.terminate(id));
    guest.join().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(group.join(id), Some(Outcome::Aborted));
    assert_eq!(group.join_all(), Ok(()));
}

#[test]
fn interrupted_is_an_error() {
    fn error<E: std::error::Error + Send + Sync + 'static>(_: E) {}
    error(Interrupted);
    assert_eq!(Interrupted.to_string(), "the thread was interrupted");
}
