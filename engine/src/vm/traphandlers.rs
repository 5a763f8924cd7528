//! Turning hardware faults in JIT code into wasm traps.
//!
//! Compiled code does not check most trap conditions with explicit branches: out-of-bounds
//! memory accesses run into guard pages, and conditions that *are* checked end in a trap
//! instruction (`ud2` / `udf`) whose offset the compiler records. Either way the CPU raises a
//! signal. Our handler decides whether the fault belongs to wasm (the faulting PC is inside
//! registered JIT code and the thread is running wasm under [`catch_traps`]); if so it records
//! the trap and `siglongjmp`s back to `catch_traps`, skipping every frame in between.
//!
//! Skipping frames means no destructors run in them. That is fine for JIT frames (they own
//! nothing) and is the contract for the Rust frames between `catch_traps` and the JIT entry
//! (see [`catch_traps`]). Host functions called *from* wasm must never be unwound this way;
//! their glue catches errors and panics, parks them with [`set_pending_host_error`], returns
//! normally, and lets the wasm-side trampoline raise a `HostError` trap.
//!
//! Signal masks: the C helper uses `sigsetjmp(buf, 0)` (no mask save, which would cost a
//! syscall per wasm entry), so the handler is installed with `SA_NODEFER`. The faulting signal
//! therefore stays unblocked while the handler runs, and jumping out of the handler leaves the
//! thread's mask as it was when wasm was entered.

use std::any::Any;
use std::cell::{Cell, OnceCell};
use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::{Once, OnceLock, RwLock, RwLockReadGuard, TryLockError};

use super::mmap::{Mmap, page_size};
use super::vmcontext::VMThreadContext;
use crate::environ::{HandlerSite, TrapKind};

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("weft's trap handling supports only Linux on x86_64 and aarch64");

unsafe extern "C" {
    /// Runs `body(payload)` after a `sigsetjmp`, storing the jump buffer's address in
    /// `*jmp_buf_slot`. Returns 1 if `body` returned, 0 if `weft_unwind` jumped back.
    fn weft_catch(
        body: unsafe extern "C" fn(*mut c_void),
        payload: *mut c_void,
        jmp_buf_slot: *mut *mut c_void,
    ) -> c_int;

    /// `siglongjmp`s to a buffer published by a live `weft_catch`.
    fn weft_unwind(jmp_buf: *mut c_void) -> !;
}

/// The signals JIT code can raise: guard-page hits (SEGV, and BUS for some mappings), trap
/// instructions (ILL), and hardware integer division faults (FPE).
const TRAP_SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// std's own alternate signal stack is only `SIGSTKSZ` (often 8 KiB); chained handlers and
/// anything the kernel pushes for large vector state need more headroom than that.
const MIN_ALTSTACK_SIZE: usize = 64 * 1024;

/// The most wasm frames a trap's backtrace records, innermost first; deeper ones are left
/// out (a stack overflow has thousands).
const MAX_BACKTRACE_FRAMES: usize = 32;

// ---------------------------------------------------------------------------------------------
// Code registry
// ---------------------------------------------------------------------------------------------

struct Entry {
    end: usize,
    /// Sorted by offset, no duplicate offsets, so the handler can binary-search without
    /// allocating.
    traps: Box<[(u32, TrapKind)]>,
    /// The calls inside `try_table`s, sorted by return-address offset.
    handlers: Box<[HandlerSite]>,
}

/// Keyed by start address. The signal handler only ever uses `try_read`: blocking inside a
/// handler could deadlock if the interrupted code were holding the lock.
static REGISTRY: RwLock<BTreeMap<usize, Entry>> = RwLock::new(BTreeMap::new());

thread_local! {
    /// Set while this thread holds `REGISTRY` (either way). A fault while it is set cannot be
    /// from wasm, and the handler must not spin waiting for a lock its own thread holds.
    static REGISTRY_BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Marks `REGISTRY_BUSY` for as long as it lives.
struct BusyFlag;

impl BusyFlag {
    fn set() -> BusyFlag {
        REGISTRY_BUSY.set(true);
        BusyFlag
    }
}

impl Drop for BusyFlag {
    fn drop(&mut self) {
        REGISTRY_BUSY.set(false);
    }
}

/// Keeps a code range registered with the trap handler; dropping it unregisters the range,
/// which must happen before the code's memory is freed or reused.
#[derive(Debug)]
#[must_use = "dropping the registration immediately unregisters the code"]
pub(crate) struct CodeRegistration {
    /// `None` for empty ranges, which are never inserted (they could not contain a PC, and
    /// several could share a start address).
    start: Option<usize>,
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let Some(start) = self.start else { return };
        let removed = {
            let _busy = BusyFlag::set();
            let mut map = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
            map.remove(&start)
        };
        // Freed after the lock is released so trapping threads spin for as short as possible.
        debug_assert!(removed.is_some());
        drop(removed);
    }
}

/// Registers `start..end` as JIT code whose faults are wasm traps. `traps` are
/// `(offset from start, kind)` pairs for the instructions that raise a specific trap; any
/// order is accepted.
///
/// # Panics
///
/// If `start > end`, a trap offset lies outside the range, or the range overlaps code that
/// is already registered.
pub(crate) fn register_code(
    start: usize,
    end: usize,
    mut traps: Vec<(u32, TrapKind)>,
    mut handlers: Vec<HandlerSite>,
) -> CodeRegistration {
    assert!(start <= end, "code range {start:#x}..{end:#x} is inverted");
    assert!(
        traps.iter().all(|&(off, _)| (off as usize) < end - start),
        "trap site outside code range {start:#x}..{end:#x}"
    );
    if start == end {
        return CodeRegistration { start: None };
    }
    traps.sort_unstable_by_key(|&(off, _)| off);
    traps.dedup_by_key(|&mut (off, _)| off);
    handlers.sort_unstable_by_key(|site| site.return_offset);
    let entry = Entry {
        end,
        traps: traps.into_boxed_slice(),
        handlers: handlers.into_boxed_slice(),
    };

    let overlap = {
        let _busy = BusyFlag::set();
        let mut map = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
        let overlap = map
            .range(..end)
            .next_back()
            .filter(|(_, prev)| prev.end > start)
            .map(|(&s, prev)| (s, prev.end));
        if overlap.is_none() {
            map.insert(start, entry);
        }
        overlap
    };
    // Panicking outside the lock keeps it from being poisoned.
    if let Some((s, e)) = overlap {
        panic!("code range {start:#x}..{end:#x} overlaps registered range {s:#x}..{e:#x}");
    }
    CodeRegistration { start: Some(start) }
}

/// Whether `pc` is in registered code: `None` if not, `Some(site)` if it is, where `site` is
/// the kind recorded for exactly that instruction, if any.
///
/// Async-signal-safe: takes the registry lock only with `try_read` and never allocates.
fn lookup_pc(pc: usize) -> Option<Option<TrapKind>> {
    if REGISTRY_BUSY.get() {
        return None;
    }
    let _busy = BusyFlag::set();
    let map = read_registry_nonblocking();
    let (&start, entry) = map.range(..=pc).next_back()?;
    if pc >= entry.end {
        return None;
    }
    let offset = u32::try_from(pc - start).ok()?;
    let site = entry
        .traps
        .binary_search_by_key(&offset, |&(off, _)| off)
        .ok()
        .map(|i| entry.traps[i].1);
    Some(site)
}

/// What registered code says of a return address.
enum ReturnSite {
    /// Not in registered code: the caller is Rust (the frame above is an entry trampoline).
    Host,
    /// In JIT code, at a call with no exception handler.
    Unhandled,
    /// In JIT code, at a call inside a `try_table`: its landing pad, and how far below the
    /// caller's frame pointer the stack pointer is at the call.
    Handler { pc: usize, frame_offset: usize },
}

/// The exception-handling view of `return_address`.
fn return_site(return_address: usize) -> ReturnSite {
    let _busy = BusyFlag::set();
    let map = read_registry_nonblocking();
    // A return address points after its call, maybe at the very end of the function.
    let Some((&start, entry)) = map.range(..return_address).next_back() else {
        return ReturnSite::Host;
    };
    if return_address > entry.end {
        return ReturnSite::Host;
    }
    let Ok(offset) = u32::try_from(return_address - start) else {
        return ReturnSite::Host;
    };
    match entry
        .handlers
        .binary_search_by_key(&offset, |site| site.return_offset)
    {
        Ok(index) => ReturnSite::Handler {
            pc: start + entry.handlers[index].handler_offset as usize,
            frame_offset: entry.handlers[index].frame_offset as usize,
        },
        Err(_) => ReturnSite::Unhandled,
    }
}

/// Acquires the registry for reading without ever parking the thread.
///
/// Giving up on contention would turn a genuine trap into a process crash whenever another
/// thread happens to be registering code, so this retries instead. That cannot livelock:
/// `REGISTRY_BUSY` rules out the current thread being the holder, and every other holder
/// (registration, unregistration, other handlers) releases it after a bounded amount of work.
fn read_registry_nonblocking() -> RwLockReadGuard<'static, BTreeMap<usize, Entry>> {
    let mut spins = 0u32;
    loop {
        match REGISTRY.try_read() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                spins += 1;
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    // sched_yield is a plain system call; fine inside a signal handler.
                    std::thread::yield_now();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

/// One `catch_traps` call in progress on this thread. Lives on `catch_traps`'s stack; the
/// signal handler reaches it through `ACTIVATION`.
struct Activation {
    parent: *const Activation,
    /// Where `weft_catch` published its jump buffer; null until then.
    jmp_buf: Cell<*mut c_void>,
    /// The block whose stack limit this activation was asked to maintain, so nested
    /// activations can tell whether an outer one already owns it.
    block: *const VMThreadContext,
    /// The thread's wasm stack limit, fixed by the outermost activation.
    stack_limit: usize,
    /// Written by the signal handler just before it unwinds.
    trap: Cell<Option<(TrapKind, usize)>>,
    /// An exception no wasm frame of this activation caught (its exnref word), written by
    /// [`throw`] just before it unwinds.
    exception: Cell<Option<u64>>,
    /// The code addresses of the wasm frames the trap unwound, innermost first (the trapping
    /// instruction, then each caller's return address); written with `trap`.
    frames: Cell<Frames>,
    host_error: Cell<Option<Box<dyn Any + Send>>>,
}

thread_local! {
    /// Innermost live activation on this thread. Const-initialised and without a destructor,
    /// so accessing it is a plain TLS load, safe from a signal handler.
    static ACTIVATION: Cell<*const Activation> = const { Cell::new(ptr::null()) };
}

/// The code addresses of the frames of a trap, as the signal handler records them without
/// allocating.
#[derive(Copy, Clone)]
struct Frames {
    pcs: [usize; MAX_BACKTRACE_FRAMES],
    len: usize,
}

/// The payload of a store-free host function's error other than a trap, in an
/// [`UnwindReason::Host`]: kept whole, so the thread that owns the store gets back the
/// embedder's error, and shown as text by threads that report failures to every joiner.
pub(crate) type HostError = Box<dyn std::error::Error + Send + Sync>;

/// Why [`catch_traps`] unwound.
#[derive(Debug)]
pub(crate) enum UnwindReason {
    /// JIT code trapped. `pcs` are the code addresses of the wasm frames it unwound,
    /// innermost first (empty when the trap did not come from a fault in JIT code).
    Trap { kind: TrapKind, pcs: Vec<usize> },
    /// A host function failed; the payload is what was passed to [`set_pending_host_error`].
    Host(Box<dyn Any + Send>),
    /// An exception left the wasm code uncaught; the exnref's word.
    Exception(u64),
}

/// Records a host function's error (or caught panic payload) in the innermost activation,
/// to be returned by [`catch_traps`] as [`UnwindReason::Host`] once the trampoline raises the
/// `HostError` trap. A later call replaces an earlier, unreported one.
///
/// # Panics
///
/// If the thread is not running wasm (no `catch_traps` in progress).
pub(crate) fn set_pending_host_error(payload: Box<dyn Any + Send>) {
    let act = ACTIVATION.get();
    assert!(
        !act.is_null(),
        "set_pending_host_error called outside of catch_traps"
    );
    // SAFETY: a non-null ACTIVATION points at an `Activation` on this thread's stack whose
    // `catch_traps` is still running (it resets the pointer before returning), and only
    // shared references to it ever exist.
    unsafe { (*act).host_error.set(Some(payload)) };
}

/// `f` and, after it ran, a panic escaping it: panics must not unwind through the C frame of
/// `weft_catch`, so they are carried across it by hand.
struct Body<F> {
    f: Option<F>,
    panic: Option<Box<dyn Any + Send>>,
}

/// # Safety
///
/// `data` must point to a live `Body<F>` that nothing else accesses during the call.
unsafe extern "C" fn call_body<F: FnOnce()>(data: *mut c_void) {
    let data = data.cast::<Body<F>>();
    // SAFETY: guaranteed by the caller; the borrow ends before `f` runs, so no reference into
    // `Body` is live in a frame that a trap might skip.
    let Some(f) = (unsafe { (*data).f.take() }) else {
        return;
    };
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        // SAFETY: as above; `f` has finished, so nothing else is using `Body`.
        unsafe { (*data).panic = Some(payload) };
    }
}

/// Runs `f`, which calls JIT code on `block`, turning traps in that code into `Err`.
///
/// The outermost activation on a thread sets the block's stack limit to
/// `current_sp - max_wasm_stack` (restoring the old value afterwards). Nested activations
/// (wasm → host → wasm) keep the thread's existing limit, so the wasm stack budget is shared
/// across the whole chain; if a nested call runs on a different block than any outer one,
/// that block gets the same limit for the duration of the call. An interrupted block keeps
/// the stopping limit instead (see [`VMThreadContext::set_stack_limit`]), and the stack-overflow
/// trap its next function entry raises is reported as [`TrapKind::Interrupted`].
///
/// A panic in `f` (outside JIT code) propagates out of `catch_traps` after its bookkeeping
/// has been undone.
///
/// # Safety
///
/// - `block` must be live for the whole call.
/// - A trap unwinds with `siglongjmp`, skipping every frame between this call and the
///   trapping instruction without running destructors: everything `f` and the non-JIT frames
///   it calls own at the time of the trap is leaked, and must not be something whose drop is
///   needed for soundness (e.g. a lock guard or a `RefCell` borrow). Host functions called
///   from wasm must report failures with [`set_pending_host_error`] rather than unwinding.
/// - Every code range `f` may execute that can fault must be registered with
///   [`register_code`] for the duration of the call; faults elsewhere are not caught.
pub(crate) unsafe fn catch_traps<F: FnOnce()>(
    block: *const VMThreadContext,
    max_wasm_stack: usize,
    f: F,
) -> Result<(), UnwindReason> {
    // An interrupt that came while the thread ran no wasm stops this call before it starts:
    // a leaf function without a stack frame has no prologue check that would.
    // SAFETY: the caller guarantees `block` is live.
    if unsafe { (*block).is_interrupted() } {
        return Err(UnwindReason::Trap {
            kind: TrapKind::Interrupted,
            pcs: Vec::new(),
        });
    }
    init_traps();
    ensure_altstack();

    let parent = ACTIVATION.get();
    let limit = if parent.is_null() {
        // The address of a local is within a few frames of the real stack pointer, which is
        // far below the precision the limit needs.
        let marker = 0u8;
        let sp = (&raw const marker) as usize;
        sp.saturating_sub(max_wasm_stack)
    } else {
        // SAFETY: see `set_pending_host_error`: a non-null ACTIVATION is a live activation.
        unsafe { (*parent).stack_limit }
    };
    // SAFETY: the chain only contains live activations (as above).
    let block_owned_by_ancestor = unsafe { chain_has_block(parent, block) };
    let saved_limit = if block_owned_by_ancestor {
        None
    } else {
        // SAFETY: the caller guarantees `block` is live.
        unsafe { Some((*block).set_stack_limit(limit)) }
    };

    let mut activation = Activation {
        parent,
        jmp_buf: Cell::new(ptr::null_mut()),
        block,
        stack_limit: limit,
        trap: Cell::new(None),
        exception: Cell::new(None),
        frames: Cell::new(Frames {
            pcs: [0; MAX_BACKTRACE_FRAMES],
            len: 0,
        }),
        host_error: Cell::new(None),
    };
    ACTIVATION.set(&raw const activation);

    let mut body = Body {
        f: Some(f),
        panic: None,
    };
    // SAFETY: `call_body::<F>` matches the `Body<F>` passed as payload, which lives until
    // after the call and is touched by nothing else meanwhile. The jump-buffer slot is inside
    // `activation`, which outlives the call; `weft_catch` writes it through a raw pointer,
    // which `Cell` permits. Skipping frames on a trap is covered by our own safety contract.
    let finished = unsafe {
        weft_catch(
            call_body::<F>,
            (&raw mut body).cast(),
            activation.jmp_buf.as_ptr(),
        )
    } != 0;

    ACTIVATION.set(parent);
    if let Some(old) = saved_limit {
        // SAFETY: as above.
        unsafe { (*block).set_stack_limit(old) };
    }
    if let Some(payload) = body.panic.take() {
        panic::resume_unwind(payload);
    }

    // A parked host error wins over the trap that reported it, and is also reported if the
    // body somehow finished without raising it, rather than silently dropping the error.
    if let Some(payload) = activation.host_error.take() {
        return Err(UnwindReason::Host(payload));
    }
    if finished {
        return Ok(());
    }
    if let Some(exception) = activation.exception.take() {
        return Err(UnwindReason::Exception(exception));
    }
    let (mut kind, _pc) = activation
        .trap
        .get()
        .expect("unwound without a recorded trap");
    // An interrupt makes the next prologue's stack check fail; a real overflow leaves the
    // flag clear (or races an interrupt, which then stops the thread all the same).
    // SAFETY: as above.
    if kind == TrapKind::StackOverflow && unsafe { (*block).is_interrupted() } {
        kind = TrapKind::Interrupted;
    }
    // In place: a copy of the frames would take its own stack slot, and this frame is below
    // every guest thread's wasm, where a few hundred bytes can cost a page per thread.
    let frames = activation.frames.get_mut();
    Err(UnwindReason::Trap {
        kind,
        pcs: frames.pcs[..frames.len].to_vec(),
    })
}

/// Whether `act` or one of its ancestors maintains `block`'s stack limit.
///
/// # Safety
///
/// `act` must be null or a live activation whose ancestors are live.
unsafe fn chain_has_block(mut act: *const Activation, block: *const VMThreadContext) -> bool {
    while !act.is_null() {
        // SAFETY: guaranteed by the caller.
        let a = unsafe { &*act };
        if a.block == block {
            return true;
        }
        act = a.parent;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Signal handling
// ---------------------------------------------------------------------------------------------

/// Dispositions that were installed before ours, indexed like `TRAP_SIGNALS`. Set once, before
/// our handler is installed, so the handler can read it with a plain atomic load.
static PREVIOUS_HANDLERS: OnceLock<[libc::sigaction; TRAP_SIGNALS.len()]> = OnceLock::new();

/// Installs the trap signal handlers (once per process), remembering the previous ones so
/// faults that are not wasm traps reach them.
pub(crate) fn init_traps() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: sigaction is a plain C struct for which all-zeroes is a valid value.
        let mut previous: [libc::sigaction; TRAP_SIGNALS.len()] = unsafe { mem::zeroed() };
        for (&signum, prev) in TRAP_SIGNALS.iter().zip(&mut previous) {
            // SAFETY: querying a disposition writes only into `prev`.
            let rc = unsafe { libc::sigaction(signum, ptr::null(), prev) };
            assert_eq!(rc, 0, "sigaction({signum}) query failed");
        }
        if PREVIOUS_HANDLERS.set(previous).is_err() {
            unreachable!("trap handlers initialised twice");
        }

        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { mem::zeroed() };
        action.sa_sigaction = trap_handler as *const () as usize;
        // SA_ONSTACK: a guard-page hit caused by stack exhaustion must not need more stack.
        // SA_NODEFER: see the module docs (we jump out without restoring the mask).
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        // SAFETY: initialises the mask we own.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        for &signum in &TRAP_SIGNALS {
            // SAFETY: `trap_handler` has the SA_SIGINFO signature and is async-signal-safe.
            let rc = unsafe { libc::sigaction(signum, &action, ptr::null_mut()) };
            assert_eq!(rc, 0, "installing the handler for signal {signum} failed");
        }
    });
}

/// # Safety
///
/// Only to be invoked by the kernel as an `SA_SIGINFO` handler.
unsafe extern "C" fn trap_handler(signum: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the kernel passes a valid ucontext for an SA_SIGINFO handler.
    if let Some(jmp_buf) = unsafe { claim_trap(signum, context) } {
        // SAFETY: `claim_trap` only returns the jump buffer of a live `weft_catch` on this
        // thread, and has released the registry lock, so nothing is left held by the frames
        // this skips (JIT code and the handler itself).
        unsafe { weft_unwind(jmp_buf) };
    }
    // SAFETY: we are in a signal handler invoked with these arguments.
    unsafe { chain_to_previous(signum, info, context) };
}

/// If the fault is a wasm trap on this thread, records it in the current activation and
/// returns the jump buffer to unwind to.
///
/// # Safety
///
/// `context` must be the `ucontext_t` of a signal delivered to this thread.
unsafe fn claim_trap(signum: c_int, context: *mut c_void) -> Option<*mut c_void> {
    let act = ACTIVATION.get();
    if act.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let pc = unsafe { faulting_pc(context) };
    let kind = match lookup_pc(pc)? {
        Some(kind) => kind,
        // Only loads and stores run into guard pages; every other fault in JIT code is
        // expected at a recorded site, so an unrecorded one is a bug we should not mask.
        None if signum == libc::SIGSEGV || signum == libc::SIGBUS => TrapKind::MemoryOutOfBounds,
        None => return None,
    };
    // SAFETY: a non-null ACTIVATION is a live activation on this thread (see
    // `set_pending_host_error`).
    let act = unsafe { &*act };
    let jmp_buf = act.jmp_buf.get();
    if jmp_buf.is_null() {
        return None;
    }
    act.trap.set(Some((kind, pc)));
    // SAFETY: guaranteed by the caller; the fault is in JIT code, whose frames keep frame
    // pointers, below the activation.
    act.frames.set(unsafe { walk_frames(pc, context, act) });
    Some(jmp_buf)
}

/// What a nudge (`vm::nudge`) found on the thread it reached.
pub(crate) enum Nudged {
    /// No activation on this thread runs an interrupted block, so nothing needs stopping here:
    /// wasm entered from now on checks the interrupt before it starts.
    NothingToStop,
    /// An activation runs an interrupted block, but the thread is not at JIT code of the
    /// innermost one (it is in host code, or the innermost activation is not interrupted); a
    /// later nudge will find it there, or it leaves wasm.
    NotHere,
    /// Stopped: the innermost activation has an `Interrupted` trap recorded; unwind to this
    /// jump buffer with [`unwind`].
    Unwind(*mut c_void),
}

/// Decides what a nudge does on this thread, and if it stops wasm, records the trap.
///
/// JIT code can be stopped at any instruction: it holds no lock and owns nothing, and what it
/// leaves half done (a guest's own data structure, a host lock it took on the fast path) is
/// what terminating a thread means. Only the innermost activation is unwound; the host
/// function that entered it reports the trap to the wasm that called it, whose block is
/// interrupted too or is not meant to stop.
///
/// # Safety
///
/// Must be called from a signal handler on the thread the signal was delivered to, with the
/// `ucontext_t` the kernel passed.
pub(crate) unsafe fn claim_interrupt(context: *mut c_void) -> Nudged {
    let innermost = ACTIVATION.get();
    let mut act = innermost;
    let mut interrupted = false;
    while !act.is_null() {
        // SAFETY: a non-null ACTIVATION chain holds live activations on this thread (see
        // `set_pending_host_error`), whose blocks are live for their whole call.
        let a = unsafe { &*act };
        // SAFETY: as above.
        if unsafe { (*a.block).is_interrupted() } {
            interrupted = true;
            break;
        }
        act = a.parent;
    }
    if !interrupted {
        return Nudged::NothingToStop;
    }
    // SAFETY: as above; the chain is not empty.
    let act = unsafe { &*innermost };
    // SAFETY: as above.
    let innermost_interrupted = unsafe { (*act.block).is_interrupted() };
    // SAFETY: guaranteed by the caller.
    let pc = unsafe { faulting_pc(context) };
    let jmp_buf = act.jmp_buf.get();
    if !innermost_interrupted || jmp_buf.is_null() || lookup_pc(pc).is_none() {
        return Nudged::NotHere;
    }
    act.trap.set(Some((TrapKind::Interrupted, pc)));
    // SAFETY: guaranteed by the caller; the thread is at JIT code of this activation.
    act.frames.set(unsafe { walk_frames(pc, context, act) });
    Nudged::Unwind(jmp_buf)
}

/// Throws exception `exn` out of the wasm frame whose frame pointer is `fp`: follows the
/// chain of frame records outwards from that frame's caller to the first call inside a
/// `try_table` and resumes the calling function at the call's landing pad, with the stack
/// pointer the call had and `exn` in the first payload register. The landing pad matches the
/// exception's tag itself and throws it on when no clause takes it. When the chain leaves JIT
/// code first (the frame above is the entry trampoline, called from Rust), the exception is
/// uncaught: the innermost activation unwinds with it, as for a trap.
///
/// # Safety
///
/// `fp` must be the frame pointer of JIT code compiled with frame pointers, running under
/// this thread's innermost activation, whose callers up to the activation are JIT code too;
/// `exn` must be a live exception. The frames between this call and the landing pad (this
/// function's, the builtin's) are skipped without running destructors, so they must own
/// nothing.
pub(crate) unsafe fn throw(exn: usize, fp: usize) -> ! {
    let act = ACTIVATION.get();
    assert!(!act.is_null(), "an exception thrown outside of catch_traps");
    // SAFETY: a non-null ACTIVATION is a live activation (see `set_pending_host_error`).
    let act = unsafe { &*act };
    // Every wasm frame of this activation lies between here and the activation.
    let marker = 0u8;
    let stack = (&raw const marker) as usize..(act as *const Activation as usize);
    let mut fp = fp;
    while stack.contains(&fp) && fp.is_multiple_of(size_of::<usize>()) {
        // SAFETY: `fp` is within this thread's live stack below the activation, so the two
        // words of its frame record are mapped.
        let (caller_fp, return_address) = unsafe {
            let record = fp as *const usize;
            (record.read(), record.add(1).read())
        };
        match return_site(return_address) {
            ReturnSite::Host => break,
            ReturnSite::Unhandled => fp = caller_fp,
            ReturnSite::Handler { pc, frame_offset } => {
                // SAFETY: `pc` is the landing pad of the call that `return_address` returns
                // from, in the frame whose frame pointer is `caller_fp`; Cranelift expects
                // the stack pointer at `frame_offset` below it and the payload in the first
                // register, and treats every other register as clobbered.
                unsafe { weft_resume(pc, caller_fp - frame_offset, caller_fp, exn) }
            }
        }
    }
    act.exception.set(Some(exn as u64));
    // SAFETY: the activation's jump buffer is published before any JIT code runs under it;
    // the frames skipped are JIT code and this thread's Rust frames that own nothing.
    unsafe { weft_unwind(act.jmp_buf.get()) }
}

/// Continues JIT code at `pc` with the given stack and frame pointers and `payload` in the
/// first exception payload register (`rax`, `x0`).
///
/// # Safety
///
/// `pc`, `sp` and `fp` must together be a landing pad and the frame it expects.
#[unsafe(naked)]
unsafe extern "C" fn weft_resume(pc: usize, sp: usize, fp: usize, payload: usize) -> ! {
    #[cfg(target_arch = "x86_64")]
    core::arch::naked_asm!("mov rsp, rsi", "mov rbp, rdx", "mov rax, rcx", "jmp rdi");
    #[cfg(target_arch = "aarch64")]
    core::arch::naked_asm!(
        "mov x16, x0",
        "mov sp, x1",
        "mov x29, x2",
        "mov x0, x3",
        "br x16"
    );
}

/// Unwinds to the jump buffer [`claim_interrupt`] returned.
///
/// # Safety
///
/// `jmp_buf` must come from `Nudged::Unwind` on this thread, in the same signal handler
/// invocation, with nothing acquired since.
pub(crate) unsafe fn unwind(jmp_buf: *mut c_void) -> ! {
    // SAFETY: guaranteed by the caller: the buffer is a live `weft_catch`'s, and the frames
    // skipped are JIT code and the handler's.
    unsafe { weft_unwind(jmp_buf) }
}

/// The wasm frames from the interrupted instruction at `pc` outwards, following the chain of
/// frame records (`[fp]` the caller's frame pointer, `[fp + 8]` the return address) while
/// the return address is in registered JIT code: the walk ends at the array-call
/// trampoline, whose caller is Rust. A frame pointer outside the stack between the
/// interrupted stack pointer and `act` (which lives in `catch_traps`'s frame) also ends it: a
/// nudge can land in a prologue, before the frame pointer is the function's own.
/// Async-signal-safe: no allocation, no blocking.
///
/// # Safety
///
/// `context` must be the `ucontext_t` of a signal delivered at `pc`, in JIT code compiled with
/// frame pointers that runs under `act`.
unsafe fn walk_frames(pc: usize, context: *mut c_void, act: &Activation) -> Frames {
    // SAFETY: guaranteed by the caller.
    let (mut fp, sp) = unsafe { (frame_pointer(context), stack_pointer(context)) };
    let stack = sp..(act as *const Activation as usize);
    let mut frames = Frames {
        pcs: [0; MAX_BACKTRACE_FRAMES],
        len: 1,
    };
    frames.pcs[0] = pc;
    while frames.len < MAX_BACKTRACE_FRAMES
        && stack.contains(&fp)
        && fp.is_multiple_of(size_of::<usize>())
    {
        // SAFETY: `fp` is within this thread's live stack below the activation, so the two
        // words of its frame record are mapped.
        let (caller_fp, return_address) = unsafe {
            let record = fp as *const usize;
            (record.read(), record.add(1).read())
        };
        // A return address points after its call; the call itself is one byte earlier.
        if lookup_pc(return_address.wrapping_sub(1)).is_none() {
            break;
        }
        frames.pcs[frames.len] = return_address;
        frames.len += 1;
        fp = caller_fp;
    }
    frames
}

/// # Safety
///
/// `context` must point to the `ucontext_t` of a delivered signal.
unsafe fn stack_pointer(context: *mut c_void) -> usize {
    let uc = context.cast::<libc::ucontext_t>();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: guaranteed by the caller.
    let sp = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: guaranteed by the caller.
    let sp = unsafe { (*uc).uc_mcontext.sp as usize };
    sp
}

/// # Safety
///
/// `context` must point to the `ucontext_t` of a delivered signal.
unsafe fn frame_pointer(context: *mut c_void) -> usize {
    let uc = context.cast::<libc::ucontext_t>();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: guaranteed by the caller.
    let fp = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RBP as usize] as usize };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: guaranteed by the caller.
    let fp = unsafe { (*uc).uc_mcontext.regs[29] as usize };
    fp
}

/// # Safety
///
/// `context` must point to the `ucontext_t` of a delivered signal.
unsafe fn faulting_pc(context: *mut c_void) -> usize {
    let uc = context.cast::<libc::ucontext_t>();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: guaranteed by the caller.
    let pc = unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: guaranteed by the caller.
    let pc = unsafe { (*uc).uc_mcontext.pc as usize };
    pc
}

/// Hands a fault that is not ours to whoever handled the signal before us.
///
/// # Safety
///
/// Must be called from a signal handler with the arguments the kernel passed to it.
unsafe fn chain_to_previous(signum: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let index = TRAP_SIGNALS.iter().position(|&s| s == signum);
    let previous = PREVIOUS_HANDLERS.get().zip(index).map(|(all, i)| &all[i]);
    let Some(previous) = previous else {
        // Cannot happen (we are only installed after PREVIOUS_HANDLERS is set); fall back to
        // the default disposition, which the re-executed instruction will then trigger.
        // SAFETY: resetting a disposition has no memory-safety preconditions.
        unsafe { libc::signal(signum, libc::SIG_DFL) };
        return;
    };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Reinstate the old disposition and return: the faulting instruction runs again and
        // the kernel applies it (a synchronous fault cannot actually be ignored, so either way
        // the process dies with the right signal, and a core dump points at the real fault).
        // SAFETY: `previous` is a disposition the kernel handed us.
        unsafe { libc::sigaction(signum, previous, ptr::null_mut()) };
    } else {
        // SAFETY: guaranteed by the caller; the handler is neither default nor ignored.
        unsafe { call_handler(previous, signum, info, context) };
    }
}

/// Calls the handler of `disposition`, which must be a function, not `SIG_DFL` or `SIG_IGN`.
///
/// # Safety
///
/// Must be called from a signal handler with the arguments the kernel passed to it, and
/// `disposition` must be one the kernel reported.
pub(crate) unsafe fn call_handler(
    disposition: &libc::sigaction,
    signum: c_int,
    info: *mut libc::siginfo_t,
    context: *mut c_void,
) {
    let handler = disposition.sa_sigaction;
    if disposition.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO the stored address is a three-argument handler.
        let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { mem::transmute(handler) };
        handler(signum, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the stored address is a one-argument handler.
        let handler: extern "C" fn(c_int) = unsafe { mem::transmute(handler) };
        handler(signum);
    }
}

// ---------------------------------------------------------------------------------------------
// Alternate signal stacks
// ---------------------------------------------------------------------------------------------

/// An alternate signal stack we installed for this thread, with the one it replaced.
struct AltStack {
    /// Guard page followed by the stack itself.
    mapping: Mmap,
    previous: libc::stack_t,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: all-zeroes is a valid stack_t; querying writes only into `current`.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let rc = unsafe { libc::sigaltstack(ptr::null(), &mut current) };
        let ours = self
            .mapping
            .as_ptr()
            .wrapping_add(page_size())
            .cast::<c_void>();
        // Only undo our installation if it is still in place: std's thread teardown disables
        // whatever altstack is current (and frees its own) before TLS destructors run, and
        // reinstating its freed stack would leave a dangling altstack.
        if rc == 0 && current.ss_flags & libc::SS_DISABLE == 0 && current.ss_sp == ours {
            // SAFETY: `previous` was the thread's altstack before ours and is still there.
            unsafe { libc::sigaltstack(&self.previous, ptr::null_mut()) };
        }
        // `mapping` is unmapped when this returns.
    }
}

thread_local! {
    /// `Some` if this thread needed (and got) a bigger altstack; initialised on the thread's
    /// first `catch_traps`.
    static ALT_STACK: OnceCell<Option<AltStack>> = const { OnceCell::new() };
}

fn ensure_altstack() {
    // `try_with` fails only during thread teardown, where keeping the current stack is fine.
    let _ = ALT_STACK.try_with(|cell| {
        cell.get_or_init(install_altstack);
    });
}

fn install_altstack() -> Option<AltStack> {
    // SAFETY: all-zeroes is a valid stack_t.
    let mut current: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: querying writes only into `current`.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return None;
    }
    let enabled = current.ss_flags & libc::SS_DISABLE == 0;
    // Cannot replace a stack we are executing on; big-enough stacks need no replacing.
    if current.ss_flags & libc::SS_ONSTACK != 0 || (enabled && current.ss_size >= MIN_ALTSTACK_SIZE)
    {
        return None;
    }

    let page = page_size();
    let size = MIN_ALTSTACK_SIZE.next_multiple_of(page);
    // Failing to allocate only means keeping the smaller (or no) altstack; JIT code checks
    // the stack limit itself, so that degrades robustness rather than correctness.
    let mut mapping = Mmap::reserve(page + size).ok()?;
    mapping.make_accessible(page, size).ok()?;
    let stack = libc::stack_t {
        ss_sp: mapping.as_ptr().wrapping_add(page).cast(),
        ss_flags: 0,
        ss_size: size,
    };
    // SAFETY: `stack` is mapped read/write and stays so until `AltStack::drop`, which
    // uninstalls it before unmapping.
    if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } != 0 {
        return None;
    }
    Some(AltStack {
        mapping,
        previous: current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::vmcontext::STOPPING_STACK_LIMIT;

    /// An executable page holding `code`, registered with `traps`.
    struct Stub {
        mem: Mmap,
        _registration: CodeRegistration,
    }

    impl Stub {
        fn new(code: &[u8], traps: Vec<(u32, TrapKind)>) -> Stub {
            let page = page_size();
            assert!(code.len() <= page);
            let mut mem = Mmap::reserve(page).unwrap();
            mem.make_accessible(0, page).unwrap();
            // SAFETY: the page is writable and `code` fits in it.
            unsafe { ptr::copy_nonoverlapping(code.as_ptr(), mem.as_ptr(), code.len()) };
            // SAFETY: flips our own page from RW to RX; nothing holds references into it.
            let rc = unsafe {
                libc::mprotect(mem.as_ptr().cast(), page, libc::PROT_READ | libc::PROT_EXEC)
            };
            assert_eq!(rc, 0);
            let start = mem.as_ptr() as usize;
            let registration = register_code(start, start + code.len(), traps, Vec::new());
            Stub {
                mem,
                _registration: registration,
            }
        }

        /// # Safety
        ///
        /// The stub must be a valid `extern "C" fn()`.
        unsafe fn call0(&self) {
            // SAFETY: guaranteed by the caller.
            let f: extern "C" fn() = unsafe { mem::transmute(self.mem.as_ptr()) };
            f();
        }

        /// # Safety
        ///
        /// The stub must be a valid `extern "C" fn(usize) -> u64`.
        unsafe fn call1(&self, arg: usize) -> u64 {
            // SAFETY: guaranteed by the caller.
            let f: extern "C" fn(usize) -> u64 = unsafe { mem::transmute(self.mem.as_ptr()) };
            f(arg)
        }
    }

    /// A block header of no instance, whose stack limit starts at `limit`.
    fn block_with_limit(limit: usize) -> VMThreadContext {
        VMThreadContext {
            magic: crate::environ::VM_THREAD_CONTEXT_MAGIC,
            interrupt: Default::default(),
            stack_limit: limit.into(),
            vmctx: ptr::null_mut(),
            record: ptr::null(),
        }
    }

    /// Runs `f` under `catch_traps` with a throwaway block.
    fn run(f: impl FnOnce()) -> Result<(), UnwindReason> {
        let block = block_with_limit(0);
        // SAFETY: `block` outlives the call; test bodies own nothing that needs dropping at
        // the time they trap.
        unsafe { catch_traps(&block, 1 << 20, f) }
    }

    #[test]
    fn registry_lookup() {
        let base = 0x1000_0000_0000usize;
        let reg = register_code(
            base,
            base + 0x100,
            vec![
                (0x40, TrapKind::TableOutOfBounds),
                (0x10, TrapKind::Unreachable),
            ],
            Vec::new(),
        );
        assert_eq!(lookup_pc(base - 1), None);
        assert_eq!(lookup_pc(base), Some(None));
        assert_eq!(lookup_pc(base + 0x10), Some(Some(TrapKind::Unreachable)));
        assert_eq!(
            lookup_pc(base + 0x40),
            Some(Some(TrapKind::TableOutOfBounds))
        );
        assert_eq!(lookup_pc(base + 0xff), Some(None));
        assert_eq!(lookup_pc(base + 0x100), None);
        // Adjacent ranges are fine; empty ones are ignored.
        let next = register_code(base + 0x100, base + 0x200, vec![], vec![]);
        let empty = register_code(base + 0x180, base + 0x180, vec![], vec![]);
        assert_eq!(lookup_pc(base + 0x100), Some(None));
        drop((reg, next, empty));
        assert_eq!(lookup_pc(base + 0x10), None);
        assert_eq!(lookup_pc(base + 0x100), None);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_registration_panics() {
        let base = 0x1100_0000_0000usize;
        let _a = register_code(base, base + 0x100, vec![], vec![]);
        let _b = register_code(base + 0xff, base + 0x200, vec![], vec![]);
    }

    #[test]
    fn body_without_trap_succeeds() {
        let mut ran = false;
        assert!(run(|| ran = true).is_ok());
        assert!(ran);
        assert!(ACTIVATION.get().is_null());
    }

    #[test]
    fn panics_propagate() {
        let result = panic::catch_unwind(|| run(|| panic!("boom")));
        let payload = result.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        assert!(ACTIVATION.get().is_null());
        assert!(run(|| {}).is_ok());
    }

    #[test]
    fn installs_big_enough_altstack() {
        run(|| {}).unwrap();
        // SAFETY: all-zeroes is a valid stack_t; querying writes only into it.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::sigaltstack(ptr::null(), &mut current) }, 0);
        assert_eq!(current.ss_flags & libc::SS_DISABLE, 0);
        assert!(current.ss_size >= MIN_ALTSTACK_SIZE);
    }

    #[test]
    fn nested_activations_share_the_stack_limit() {
        use std::sync::atomic::Ordering::SeqCst;
        let block = block_with_limit(12345);
        let other = block_with_limit(777);
        let mut seen = [0usize; 4];
        // SAFETY: both blocks outlive the calls.
        let result = unsafe {
            catch_traps(&block, 1 << 20, || {
                seen[0] = block.stack_limit.load(SeqCst);
                // Different max: must be ignored by the nested activation.
                catch_traps(&block, 1 << 10, || seen[1] = block.stack_limit.load(SeqCst)).unwrap();
                // A second block (another store) gets the thread's limit for the call.
                catch_traps(&other, 1 << 10, || seen[2] = other.stack_limit.load(SeqCst)).unwrap();
                seen[3] = block.stack_limit.load(SeqCst);
                assert_eq!(other.stack_limit.load(SeqCst), 777);
            })
        };
        result.unwrap();
        let marker = 0u8;
        let sp = (&raw const marker) as usize;
        assert!(
            seen[0] < sp && seen[0] > sp - (1 << 20) - (64 << 10),
            "{:#x}",
            seen[0]
        );
        assert_eq!(seen, [seen[0]; 4]);
        assert_eq!(block.stack_limit.load(SeqCst), 12345);
        assert_eq!(other.stack_limit.load(SeqCst), 777);
    }

    #[test]
    fn an_interrupted_block_keeps_the_limit_that_stops_every_call() {
        use std::sync::atomic::Ordering::SeqCst;
        let block = block_with_limit(STOPPING_STACK_LIMIT);
        block.set_interrupt(true);
        // Interrupted before the call: it does not start.
        // SAFETY: `block` outlives the call.
        let stopped = unsafe { catch_traps(&block, 1 << 20, || unreachable!()) };
        assert!(matches!(
            stopped,
            Err(UnwindReason::Trap {
                kind: TrapKind::Interrupted,
                ..
            })
        ));
        block.set_interrupt(false);
        // SAFETY: as above.
        unsafe {
            catch_traps(&block, 1 << 20, || {
                assert_ne!(block.stack_limit.load(SeqCst), STOPPING_STACK_LIMIT)
            })
        }
        .unwrap();
        // Interrupted while running: the limit falls to the one that fails every check.
        // SAFETY: as above.
        unsafe {
            catch_traps(&block, 1 << 20, || {
                block.set_interrupt(true);
                assert_eq!(block.stack_limit.load(SeqCst), STOPPING_STACK_LIMIT);
            })
        }
        .unwrap();
    }

    #[test]
    #[should_panic(expected = "outside of catch_traps")]
    fn host_error_outside_wasm_panics() {
        set_pending_host_error(Box::new(1u8));
    }

    #[test]
    fn host_error_without_trap_is_still_reported() {
        let result = run(|| set_pending_host_error(Box::new("lost?")));
        let Err(UnwindReason::Host(payload)) = result else {
            panic!("expected host error, got {result:?}");
        };
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"lost?"));
    }

    #[cfg(target_arch = "x86_64")]
    mod x86_64 {
        use super::*;

        const UD2: [u8; 2] = [0x0F, 0x0B];
        /// `nop; ud2`
        const NOP_UD2: [u8; 3] = [0x90, 0x0F, 0x0B];
        /// `mov rax, [rdi]; ret`
        const LOAD: [u8; 4] = [0x48, 0x8B, 0x07, 0xC3];

        #[test]
        fn trap_instruction_reports_registered_kind() {
            let stub = Stub::new(&UD2, vec![(0, TrapKind::IntegerOverflow)]);
            // SAFETY: the stub is a function (it never returns).
            let result = run(|| unsafe { stub.call0() });
            match result {
                Err(UnwindReason::Trap { kind, .. }) => assert_eq!(kind, TrapKind::IntegerOverflow),
                other => panic!("unexpected {other:?}"),
            }

            let stub = Stub::new(&NOP_UD2, vec![(1, TrapKind::Unreachable)]);
            // SAFETY: as above.
            let result = run(|| unsafe { stub.call0() });
            assert!(
                matches!(
                    result,
                    Err(UnwindReason::Trap {
                        kind: TrapKind::Unreachable,
                        ..
                    })
                ),
                "{result:?}"
            );
        }

        #[test]
        fn guard_page_hit_is_out_of_bounds_and_engine_stays_usable() {
            let page = page_size();
            let mut memory = Mmap::reserve(2 * page).unwrap();
            memory.make_accessible(0, page).unwrap();
            let stub = Stub::new(&LOAD, vec![]);
            let inaccessible = memory.as_ptr() as usize + page + 8;
            // SAFETY: the stub is `u64 (*)(const u64 *)`; it faults on inaccessible memory.
            let result = run(|| unsafe {
                stub.call1(inaccessible);
            });
            assert!(
                matches!(
                    result,
                    Err(UnwindReason::Trap {
                        kind: TrapKind::MemoryOutOfBounds,
                        ..
                    })
                ),
                "{result:?}"
            );

            // SAFETY: the first page is accessible.
            unsafe { memory.as_ptr().cast::<u64>().write(0xDEAD_BEEF) };
            let mut value = 0;
            // SAFETY: as above, on accessible memory.
            run(|| value = unsafe { stub.call1(memory.as_ptr() as usize) }).unwrap();
            assert_eq!(value, 0xDEAD_BEEF);

            // Repeated traps: the signals must not stay blocked after the first unwind.
            for _ in 0..100 {
                // SAFETY: as above.
                let result = run(|| unsafe {
                    stub.call1(inaccessible);
                });
                assert!(matches!(
                    result,
                    Err(UnwindReason::Trap {
                        kind: TrapKind::MemoryOutOfBounds,
                        ..
                    })
                ));
            }
        }

        #[test]
        fn host_error_is_reported_instead_of_trap() {
            let stub = Stub::new(&UD2, vec![(0, TrapKind::HostError)]);
            let result = run(|| {
                set_pending_host_error(Box::new(String::from("host failed")));
                // SAFETY: the stub is a function.
                unsafe { stub.call0() };
            });
            let Err(UnwindReason::Host(payload)) = result else {
                panic!("expected host error, got {result:?}");
            };
            assert_eq!(payload.downcast_ref::<String>().unwrap(), "host failed");
            // The error was consumed with its activation.
            // SAFETY: as above.
            let result = run(|| unsafe { stub.call0() });
            assert!(matches!(
                result,
                Err(UnwindReason::Trap {
                    kind: TrapKind::HostError,
                    ..
                })
            ));
        }

        #[test]
        fn nested_trap_unwinds_only_the_inner_activation() {
            let stub = Stub::new(&UD2, vec![(0, TrapKind::Unreachable)]);
            let mut inner = None;
            let outer = run(|| {
                // SAFETY: the stub is a function.
                inner = Some(run(|| unsafe { stub.call0() }));
            });
            assert!(outer.is_ok());
            assert!(matches!(
                inner,
                Some(Err(UnwindReason::Trap {
                    kind: TrapKind::Unreachable,
                    ..
                }))
            ));
        }

        #[test]
        fn concurrent_traps_and_registrations() {
            let stub = Stub::new(&UD2, vec![(0, TrapKind::Unreachable)]);
            let stub = &stub;
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(move || {
                        for _ in 0..200 {
                            // SAFETY: the stub is a function.
                            let result = run(|| unsafe { stub.call0() });
                            assert!(matches!(
                                result,
                                Err(UnwindReason::Trap {
                                    kind: TrapKind::Unreachable,
                                    ..
                                })
                            ));
                        }
                    });
                }
                // Contend for the registry's write lock meanwhile.
                s.spawn(|| {
                    let base = 0x1200_0000_0000usize;
                    for i in 0..2000 {
                        let start = base + i * 0x1000;
                        drop(register_code(
                            start,
                            start + 0x100,
                            vec![(0, TrapKind::Unreachable)],
                            Vec::new(),
                        ));
                    }
                });
            });
        }

        const CHILD_ENV: &str = "WEFT_TRAPHANDLERS_TEST_CHILD";

        /// Runs this module's `child_process` test in a subprocess in `mode`, returning the
        /// signal that killed it.
        fn child_signal(mode: &str) -> Option<i32> {
            use std::os::unix::process::ExitStatusExt;
            let module = module_path!().split_once("::").unwrap().1;
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    &format!("{module}::child_process"),
                    "--exact",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, mode)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            status.signal()
        }

        /// Faults that are not wasm traps must reach the previous handler and kill the process.
        #[test]
        fn foreign_faults_are_not_caught() {
            assert_eq!(child_signal("segv"), Some(libc::SIGSEGV));
            assert_eq!(child_signal("ill"), Some(libc::SIGILL));
        }

        #[test]
        fn child_process() {
            let Ok(mode) = std::env::var(CHILD_ENV) else {
                return;
            };
            match mode.as_str() {
                // A fault in host (non-JIT) code while wasm is active.
                "segv" => {
                    let memory = Mmap::reserve(page_size()).unwrap();
                    let _ = run(|| {
                        // SAFETY: not safe at all: the point is to fault outside JIT code.
                        unsafe { ptr::read_volatile(memory.as_ptr()) };
                    });
                }
                // A trap instruction in JIT code that the compiler did not record.
                "ill" => {
                    let stub = Stub::new(&UD2, vec![]);
                    // SAFETY: the stub is a function.
                    let _ = run(|| unsafe { stub.call0() });
                }
                _ => unreachable!(),
            }
            std::process::exit(0);
        }
    }
}
