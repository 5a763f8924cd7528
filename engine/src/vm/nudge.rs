//! Stopping wasm that reaches no safepoint: the engine's side of `weft_threads`' nudging.
//!
//! JIT code looks for an interrupt only at function entries, where the stack-limit check fails
//! while the thread is interrupted. A loop without calls never gets there, so an interrupt also
//! sends [`NUDGE_SIGNAL`] to the OS thread that runs the interrupted record's wasm. The handler
//! asks `traphandlers` what that thread is doing: at JIT code of an interrupted activation, it
//! unwinds it with an `Interrupted` trap; with nothing interrupted running, it answers the
//! request; in host code with an interrupted activation, it leaves it to the next nudge, which
//! `weft_threads::Courier` sends from a thread of its own until one is answered.
//!
//! Each OS thread that runs a record's wasm has one [`NudgeTarget`], made on first use and
//! retired when the thread ends, so no nudge reaches a thread id the kernel gave to a new
//! thread.

use std::cell::{Cell, OnceCell};
use std::ffi::{c_int, c_void};
use std::mem;
use std::ptr;
use std::sync::{Arc, Once, OnceLock};

use weft_threads::{Courier, NudgeTarget};

use super::traphandlers::{Nudged, call_handler, claim_interrupt, unwind};

/// The signal that nudges a thread. SIGURG, as Go's goroutine preemption uses: its default
/// action is to ignore it, so a nudge that arrives where no handler is installed does nothing,
/// and programs rarely use it otherwise (only sockets with out-of-band data and an owner).
pub(crate) const NUDGE_SIGNAL: c_int = libc::SIGURG;

/// This OS thread's target; retires it when the thread's locals are torn down.
struct ThreadTarget(Arc<NudgeTarget>);

impl Drop for ThreadTarget {
    fn drop(&mut self) {
        let _ = TARGET_FOR_HANDLER.try_with(|slot| slot.set(ptr::null()));
        self.0.retire();
    }
}

thread_local! {
    static TARGET: OnceCell<ThreadTarget> = const { OnceCell::new() };
    /// `TARGET`'s target, for the handler: const-initialised and without a destructor, so
    /// reading it is a plain TLS load, safe from a signal handler. Null until the thread's
    /// target exists and again once it is retired.
    static TARGET_FOR_HANDLER: Cell<*const NudgeTarget> = const { Cell::new(ptr::null()) };
}

/// The calling OS thread's nudge target, made on first use; `None` while the thread's locals
/// are being torn down (such a thread is stopped only at safepoints).
pub(crate) fn current_target() -> Option<Arc<NudgeTarget>> {
    install_handler();
    TARGET
        .try_with(|cell| {
            let target = cell.get_or_init(|| {
                // SAFETY: both calls only return ids.
                let (process, thread) = unsafe { (libc::getpid(), libc::gettid()) };
                let target = Arc::new(NudgeTarget::new(move || {
                    // SAFETY: tgkill sends a signal; the target is alive while it is called
                    // (`NudgeTarget` nudges under its lock, which `retire` takes), so `thread`
                    // is still this thread's id. The handler is installed above.
                    unsafe { libc::tgkill(process, thread, NUDGE_SIGNAL) };
                }));
                TARGET_FOR_HANDLER.set(Arc::as_ptr(&target));
                ThreadTarget(target)
            });
            Arc::clone(&target.0)
        })
        .ok()
}

/// Nudges `target`'s thread now and until its handler answers (`weft_threads::Courier`).
/// The caller has set the interrupt flags the handler looks at.
pub(crate) fn request(target: &Arc<NudgeTarget>) {
    courier().request(target);
}

/// Starts the process's courier thread (`weft-nudges`), if it is not running yet. It sleeps
/// until an interrupt needs repeating; the engine starts it early, so that a process's thread
/// count does not change at its first interrupt.
pub(crate) fn start_courier() {
    courier();
}

fn courier() -> &'static Courier {
    static COURIER: OnceLock<Courier> = OnceLock::new();
    static STARTED: Once = Once::new();
    let courier = COURIER.get_or_init(Courier::new);
    STARTED.call_once(|| {
        // Without its thread the courier still nudges once per request, which stops every
        // thread that is at JIT code then; a thread in host code would run on to a safepoint.
        let _ = std::thread::Builder::new()
            .name("weft-nudges".into())
            .spawn(|| COURIER.get().expect("set before the thread starts").serve());
    });
    courier
}

/// The disposition before ours, for nudge signals that a program's own handler expects.
static PREVIOUS_HANDLER: OnceLock<libc::sigaction> = OnceLock::new();

fn install_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: sigaction is a plain C struct for which all-zeroes is a valid value.
        let mut previous: libc::sigaction = unsafe { mem::zeroed() };
        // SAFETY: querying a disposition writes only into `previous`.
        let rc = unsafe { libc::sigaction(NUDGE_SIGNAL, ptr::null(), &mut previous) };
        assert_eq!(rc, 0, "sigaction query of the nudge signal failed");
        if PREVIOUS_HANDLER.set(previous).is_err() {
            unreachable!("nudge handler installed twice");
        }
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { mem::zeroed() };
        action.sa_sigaction = nudge_handler as *const () as usize;
        // SA_NODEFER: the handler may jump out, and `weft_catch` does not restore the mask (see
        // `traphandlers`). SA_RESTART: a nudge of a thread in a system call restarts it.
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER | libc::SA_RESTART;
        // SAFETY: initialises the mask we own.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `nudge_handler` has the SA_SIGINFO signature and is async-signal-safe.
        let rc = unsafe { libc::sigaction(NUDGE_SIGNAL, &action, ptr::null_mut()) };
        assert_eq!(rc, 0, "installing the nudge handler failed");
    });
}

/// # Safety
///
/// Only to be invoked by the kernel as an `SA_SIGINFO` handler.
unsafe extern "C" fn nudge_handler(
    signum: c_int,
    info: *mut libc::siginfo_t,
    context: *mut c_void,
) {
    // SAFETY: the kernel passes the handler's arguments through.
    unsafe { chain_to_previous(signum, info, context) };
    let target = TARGET_FOR_HANDLER.get();
    if target.is_null() {
        return;
    }
    // SAFETY: the pointer is set while `TARGET` holds the `Arc`, and cleared before it drops.
    let target = unsafe { &*target };
    // Read before looking, so the answer covers only requests whose flags the look could see.
    let requests = target.requests();
    // SAFETY: this is a signal handler on the thread the signal was delivered to.
    match unsafe { claim_interrupt(context) } {
        Nudged::NothingToStop => target.answer(requests),
        Nudged::NotHere => {}
        Nudged::Unwind(jmp_buf) => {
            target.answer(requests);
            // SAFETY: the buffer is from `claim_interrupt`, just now; nothing is held.
            unsafe { unwind(jmp_buf) };
        }
    }
}

/// Calls the handler a program had installed for the signal, if any: SIGURG may be its own
/// (sockets with out-of-band data). A default or ignored disposition needs nothing.
///
/// # Safety
///
/// Must be called from a signal handler with the arguments the kernel passed to it.
unsafe fn chain_to_previous(signum: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let Some(previous) = PREVIOUS_HANDLER.get() else {
        return;
    };
    let handler = previous.sa_sigaction;
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
        // SAFETY: guaranteed by the caller; the disposition is a function the kernel reported.
        unsafe { call_handler(previous, signum, info, context) };
    }
}
