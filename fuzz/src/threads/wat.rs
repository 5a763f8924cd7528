//! The frame every generated program shares: the memory layout, the two ways threads start
//! (the shared-everything proposal's `wasm:thread` intrinsics, or wasi-threads), and the
//! helpers bodies call to wait, notify, meet at a barrier and take locks. A family supplies
//! the bodies and the main thread's initialization ([`ModuleParts`]).

use std::fmt::Write;

/// Counts of `memory.atomic.wait32` results by kind, three words at 0: woken by a notify
/// (result 0), value not equal (1) and timed out (2), so that the word of result `r` is at
/// `4 * r`.
pub const WAITS_WOKEN: u32 = 0;
/// See [`WAITS_WOKEN`].
pub const WAITS_NOT_EQUAL: u32 = 4;
/// See [`WAITS_WOKEN`]. Every program is built so that no wait can time out.
pub const WAITS_TIMED_OUT: u32 = 8;
/// The sum of every `memory.atomic.notify` result: the waiters woken, which must equal
/// [`WAITS_WOKEN`] once every thread has ended.
pub const NOTIFIED: u32 = 12;
/// The start barrier's count of arrived threads.
pub const BARRIER: u32 = 16;
/// How many times the barrier spins before it waits, set by the host for each run: spinning
/// lets free runs start their threads' work at the same moment, while a schedule gains
/// nothing from it and would pay a point for every spin.
pub const SPIN_LIMIT: u32 = 20;
/// How many threads other than the main one have finished their body: the main thread
/// waits for all of them before `run` returns, so that a run's work is over when `run`
/// returns, whoever joins the threads and when.
pub const DONE: u32 = 24;
/// Where a program's own data starts.
pub const DATA_START: u32 = 64;
/// The shared memory, one page.
pub const MEMORY_BYTES: u32 = 65536;

/// How long a wait may last, in nanoseconds: long enough never to time out in a correct run,
/// finite so that a lost wakeup ends as a counted timeout rather than a hang.
const WAIT_TIMEOUT_NS: i64 = 10_000_000_000;

/// How a program's threads start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// The shared-everything threads proposal: a defined shared memory, shared globals and
    /// shared functions, threads started by `"wasm:thread" "spawn-ref"` and joined by the
    /// store.
    Guest,
    /// The wasi-threads ABI: an imported shared memory, `"wasi" "thread-spawn"`, and
    /// `wasi_thread_start(tid, arg)`; no shared globals.
    Wasi,
}

impl Flavor {
    /// A name for reports and failures.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Guest => "guest threads",
            Flavor::Wasi => "wasi-threads",
        }
    }
}

/// A shared global a guest-threads program declares, `$g{index}` with an exported getter
/// `global{index}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedGlobal {
    /// i64 rather than i32.
    pub wide: bool,
    /// Its initializer.
    pub initial: u64,
}

impl SharedGlobal {
    /// The exported getter's name for global `index`.
    pub fn getter(index: usize) -> String {
        format!("global{index}")
    }
}

/// How a lock's helpers take and release it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// `cmpxchg` 0 → 1, waiting while it holds 1; release stores 0 and wakes one waiter.
    CompareExchange,
    /// `xchg` 1 until it returns 0; release exchanges 0 back and wakes every waiter.
    Exchange,
    /// The three-state futex mutex (0 free, 1 held, 2 held with waiters): only a release
    /// that saw waiters notifies.
    Futex,
    /// Deliberately wrong, for the tests that check that the checks catch a broken program:
    /// an atomic load of 0 then an atomic store of 1, between which another thread can take
    /// the lock too.
    #[cfg(test)]
    CheckThenSet,
}

impl LockKind {
    /// The kinds a generated program may use (not the tests' broken one).
    pub const CORRECT: [LockKind; 3] = [
        LockKind::CompareExchange,
        LockKind::Exchange,
        LockKind::Futex,
    ];

    /// The helpers' name suffix.
    pub fn name(self) -> &'static str {
        match self {
            LockKind::CompareExchange => "cmpxchg",
            LockKind::Exchange => "xchg",
            LockKind::Futex => "futex",
            #[cfg(test)]
            LockKind::CheckThenSet => "check_then_set",
        }
    }

    /// The functions that take and release a lock of this kind.
    fn helpers(self) -> &'static str {
        match self {
            LockKind::CompareExchange => COMPARE_EXCHANGE_LOCK,
            LockKind::Exchange => EXCHANGE_LOCK,
            LockKind::Futex => FUTEX_LOCK,
            #[cfg(test)]
            LockKind::CheckThenSet => CHECK_THEN_SET_LOCK,
        }
    }

    /// Takes the lock at `address`.
    pub fn lock(self, address: u32) -> String {
        format!("(call $lock_{} (i32.const {address}))", self.name())
    }

    /// Releases the lock at `address`.
    pub fn unlock(self, address: u32) -> String {
        format!("(call $unlock_{} (i32.const {address}))", self.name())
    }
}

/// What a family contributes to a module.
#[derive(Clone, Debug, Default)]
pub struct ModuleParts {
    /// The main thread's code before it starts the others: plain stores of initial values,
    /// which the spawns make visible to every thread.
    pub init: String,
    /// Each thread's body (thread 0 is the main thread, which runs its body after starting
    /// the others), using the locals [`BODY_LOCALS`] declares.
    pub bodies: Vec<String>,
    /// Shared globals (guest threads only).
    pub globals: Vec<SharedGlobal>,
    /// Whether every thread meets the others at a barrier before its body.
    pub barrier: bool,
    /// The kinds of lock the bodies take, whose helpers the module needs.
    pub lock_kinds: Vec<LockKind>,
}

/// The locals every body may use: a loop counter, values read from memory, and the old and
/// seen values of compare-exchange loops in both widths.
const BODY_LOCALS: &str = "(local $i i32) (local $in0 i32) (local $in1 i32) \
     (local $old i32) (local $seen i32) (local $old64 i64) (local $seen64 i64)";

/// The module's text. `header` is a comment put at its top (each line starting with `;;`).
pub fn module(flavor: Flavor, parts: &ModuleParts, header: &str) -> String {
    let threads = parts.bodies.len();
    let mut text = String::new();
    text.push_str(header);
    text.push_str("(module\n");
    text.push_str(&types(flavor));
    match flavor {
        Flavor::Guest => text.push_str(
            "  (import \"wasm:thread\" \"spawn-ref\" (func $spawn (type $spawn_t)))\n  \
             (memory $memory (export \"memory\") 1 1 shared)\n",
        ),
        Flavor::Wasi => text.push_str(
            "  (import \"wasi\" \"thread-spawn\" (func $spawn (param i32) (result i32)))\n  \
             (import \"env\" \"memory\" (memory $memory 1 1 shared))\n",
        ),
    }
    for (index, global) in parts.globals.iter().enumerate() {
        let ty = if global.wide { "i64" } else { "i32" };
        let _ = writeln!(
            text,
            "  (global $g{index} (shared mut {ty}) ({ty}.const {}))",
            global.initial as i64
        );
    }
    if flavor == Flavor::Guest {
        text.push_str("  (elem declare func $thread)\n");
    }
    text.push_str(&helpers(threads));
    // Each kind's helpers once.
    let kinds = &parts.lock_kinds;
    for (index, kind) in kinds.iter().enumerate() {
        if !kinds[..index].contains(kind) {
            text.push_str(kind.helpers());
        }
    }
    text.push_str("  (func $thread (type $entry) (param $index i32)\n");
    if parts.barrier {
        text.push_str("    (call $barrier)\n");
    }
    for index in 0..threads {
        let _ = writeln!(
            text,
            "    (if (i32.eq (local.get $index) (i32.const {index})) (then (call $thread{index})))"
        );
    }
    let _ = writeln!(
        text,
        "    (if (local.get $index)\n      (then\n        \
         (drop (i32.atomic.rmw.add (i32.const {DONE}) (i32.const 1)))\n        \
         (call $notify (i32.const {DONE}) (i32.const 1)))))"
    );
    for (index, body) in parts.bodies.iter().enumerate() {
        let _ = writeln!(
            text,
            "  (func $thread{index} (type $body) {BODY_LOCALS}\n{body}  )"
        );
    }
    text.push_str("  (func (export \"run\") (param $spin_limit i32)\n");
    let _ = writeln!(
        text,
        "    (i32.store (i32.const {SPIN_LIMIT}) (local.get $spin_limit))"
    );
    text.push_str(&parts.init);
    // A failed spawn traps: every program needs all of its threads.
    for index in 1..threads {
        let spawn = match flavor {
            Flavor::Guest => format!("(call $spawn (ref.func $thread) (i32.const {index}))"),
            Flavor::Wasi => format!("(call $spawn (i32.const {index}))"),
        };
        let _ = writeln!(
            text,
            "    (if (i32.lt_s {spawn} (i32.const 0)) (then unreachable))"
        );
    }
    text.push_str("    (call $thread (i32.const 0))\n    (call $await_done))\n");
    match flavor {
        Flavor::Guest => {
            for (index, global) in parts.globals.iter().enumerate() {
                let ty = if global.wide { "i64" } else { "i32" };
                let _ = writeln!(
                    text,
                    "  (func (export \"{}\") (result {ty}) (global.atomic.get seqcst $g{index}))",
                    SharedGlobal::getter(index)
                );
            }
        }
        Flavor::Wasi => text.push_str(
            "  (func (export \"wasi_thread_start\") (param $tid i32) (param $arg i32)\n    \
             (call $thread (local.get $arg)))\n",
        ),
    }
    text.push_str(")\n");
    text
}

/// The function types: shared for guest threads, whose thread bodies must be shared
/// functions, plain for wasi-threads.
fn types(flavor: Flavor) -> String {
    let ty = |name: &str, signature: &str| match flavor {
        Flavor::Guest => format!("  (type ${name} (shared (func {signature})))\n"),
        Flavor::Wasi => format!("  (type ${name} (func {signature}))\n"),
    };
    let mut text = String::new();
    text.push_str(&ty("entry", "(param i32)"));
    text.push_str(&ty("body", ""));
    text.push_str(&ty("address", "(param i32)"));
    text.push_str(&ty("wait", "(param i32 i32) (result i32)"));
    text.push_str(&ty("notify", "(param i32 i32)"));
    if flavor == Flavor::Guest {
        text.push_str(&ty("spawn_t", "(param (ref null $entry) i32) (result i32)"));
    }
    text
}

/// The helpers, for a program of `threads` threads.
fn helpers(threads: usize) -> String {
    let last_arrival = threads.saturating_sub(1);
    format!(
        r#"  ;; Waits while $addr holds $expected, counts the result by kind and returns it.
  (func $wait_on (type $wait) (param $addr i32) (param $expected i32) (result i32)
    (local $result i32)
    (local.set $result
      (memory.atomic.wait32 (local.get $addr) (local.get $expected) (i64.const {WAIT_TIMEOUT_NS})))
    (drop (i32.atomic.rmw.add (i32.shl (local.get $result) (i32.const 2)) (i32.const 1)))
    (local.get $result))
  ;; Wakes up to $count waiters on $addr and adds how many woke to the count at {NOTIFIED}.
  (func $notify (type $notify) (param $addr i32) (param $count i32)
    (drop (i32.atomic.rmw.add (i32.const {NOTIFIED})
      (memory.atomic.notify (local.get $addr) (local.get $count)))))
  ;; Returns once every thread has arrived: spins up to the run's limit, then waits; a
  ;; timeout (counted) lets the thread go on rather than hang.
  (func $barrier (type $body)
    (local $arrived i32) (local $spins i32)
    (if (i32.eq (i32.atomic.rmw.add (i32.const {BARRIER}) (i32.const 1)) (i32.const {last_arrival}))
      (then (call $notify (i32.const {BARRIER}) (i32.const -1))))
    (block $released
      (loop $check
        (local.set $arrived (i32.atomic.load (i32.const {BARRIER})))
        (br_if $released (i32.ge_u (local.get $arrived) (i32.const {threads})))
        (if (i32.lt_u (local.get $spins) (i32.load (i32.const {SPIN_LIMIT})))
          (then
            (local.set $spins (i32.add (local.get $spins) (i32.const 1)))
            (br $check)))
        (br_if $released
          (i32.eq (call $wait_on (i32.const {BARRIER}) (local.get $arrived)) (i32.const 2)))
        (br $check))))
  ;; Returns once every other thread has finished its body.
  (func $await_done (type $body)
    (local $done i32)
    (block $joined
      (loop $check
        (local.set $done (i32.atomic.load (i32.const {DONE})))
        (br_if $joined (i32.ge_u (local.get $done) (i32.const {last_arrival})))
        (br_if $joined
          (i32.eq (call $wait_on (i32.const {DONE}) (local.get $done)) (i32.const 2)))
        (br $check))))
  ;; Returns once the word at $addr is not 0.
  (func $await_nonzero (type $address) (param $addr i32)
    (block $published
      (loop $check
        (br_if $published (i32.atomic.load (local.get $addr)))
        (br_if $published
          (i32.eq (call $wait_on (local.get $addr) (i32.const 0)) (i32.const 2)))
        (br $check))))
"#
    )
}

/// The helpers of [`LockKind::CompareExchange`].
const COMPARE_EXCHANGE_LOCK: &str = r#"  (func $lock_cmpxchg (type $address) (param $addr i32)
    (block $acquired
      (loop $try
        (br_if $acquired
          (i32.eqz (i32.atomic.rmw.cmpxchg (local.get $addr) (i32.const 0) (i32.const 1))))
        (br_if $acquired (i32.eq (call $wait_on (local.get $addr) (i32.const 1)) (i32.const 2)))
        (br $try))))
  (func $unlock_cmpxchg (type $address) (param $addr i32)
    (i32.atomic.store (local.get $addr) (i32.const 0))
    (call $notify (local.get $addr) (i32.const 1)))
"#;

/// The helpers of [`LockKind::Exchange`].
const EXCHANGE_LOCK: &str = r#"  (func $lock_xchg (type $address) (param $addr i32)
    (block $acquired
      (loop $try
        (br_if $acquired (i32.eqz (i32.atomic.rmw.xchg (local.get $addr) (i32.const 1))))
        (br_if $acquired (i32.eq (call $wait_on (local.get $addr) (i32.const 1)) (i32.const 2)))
        (br $try))))
  (func $unlock_xchg (type $address) (param $addr i32)
    (drop (i32.atomic.rmw.xchg (local.get $addr) (i32.const 0)))
    (call $notify (local.get $addr) (i32.const -1)))
"#;

/// The helpers of [`LockKind::Futex`].
const FUTEX_LOCK: &str = r#"  ;; 0 free, 1 held, 2 held and maybe waited for.
  (func $lock_futex (type $address) (param $addr i32)
    (local $state i32)
    (local.set $state (i32.atomic.rmw.cmpxchg (local.get $addr) (i32.const 0) (i32.const 1)))
    (if (local.get $state)
      (then
        (if (i32.ne (local.get $state) (i32.const 2))
          (then (local.set $state (i32.atomic.rmw.xchg (local.get $addr) (i32.const 2)))))
        (block $acquired
          (loop $contended
            (br_if $acquired (i32.eqz (local.get $state)))
            (br_if $acquired
              (i32.eq (call $wait_on (local.get $addr) (i32.const 2)) (i32.const 2)))
            (local.set $state (i32.atomic.rmw.xchg (local.get $addr) (i32.const 2)))
            (br $contended))))))
  (func $unlock_futex (type $address) (param $addr i32)
    (if (i32.ne (i32.atomic.rmw.sub (local.get $addr) (i32.const 1)) (i32.const 1))
      (then
        (i32.atomic.store (local.get $addr) (i32.const 0))
        (call $notify (local.get $addr) (i32.const 1)))))
"#;

/// The helpers of [`LockKind::CheckThenSet`].
#[cfg(test)]
const CHECK_THEN_SET_LOCK: &str = r#"  (func $lock_check_then_set (type $address) (param $addr i32)
    (block $acquired
      (loop $try
        (if (i32.eqz (i32.atomic.load (local.get $addr)))
          (then
            (i32.atomic.store (local.get $addr) (i32.const 1))
            (br $acquired)))
        (br_if $acquired (i32.eq (call $wait_on (local.get $addr) (i32.const 1)) (i32.const 2)))
        (br $try))))
  (func $unlock_check_then_set (type $address) (param $addr i32)
    (i32.atomic.store (local.get $addr) (i32.const 0))
    (call $notify (local.get $addr) (i32.const 1)))
"#;
