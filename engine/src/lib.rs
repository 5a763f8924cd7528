//! weft: a WebAssembly runtime built on Cranelift, for shared-everything threads.
//!
//! weft validates modules with wasmparser, compiles them to native code with Cranelift, and
//! runs them in-process. Its embedding API has the shape of Wasmtime's: an [`Engine`]
//! compiles [`Module`]s, a [`Store`] owns instances and the embedder's data, a [`Linker`]
//! resolves imports by name, and an [`Instance`] gives access to exports.
//!
//! ```
//! use weft::{Caller, Engine, Linker, Module, Store};
//!
//! # fn main() -> anyhow::Result<()> {
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "host" "double" (func $double (param i32) (result i32)))
//!          (memory (export "memory") 1)
//!          (func (export "quadruple") (param i32) (result i32)
//!            (call $double (call $double (local.get 0)))))"#,
//! )?;
//!
//! // The store's data, here a count of host calls, is what host functions share.
//! let mut store = Store::new(&engine, 0_u32);
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap(
//!     "host",
//!     "double",
//!     |mut caller: Caller<'_, u32>, x: i32| -> anyhow::Result<i32> {
//!         *caller.data_mut() += 1;
//!         x.checked_mul(2).ok_or_else(|| anyhow::anyhow!("{x} doubled overflows"))
//!     },
//! )?;
//! let instance = linker.instantiate(&mut store, &module)?;
//!
//! // Checked once against the export's type; calls then move raw values.
//! let quadruple = instance.get_typed_func::<i32, i32>(&mut store, "quadruple")?;
//! assert_eq!(quadruple.call(&mut store, 5)?, 20);
//! assert_eq!(*store.data(), 2);
//!
//! // A host function's error unwinds the wasm that called it and comes back as is.
//! let error = quadruple.call(&mut store, i32::MAX).unwrap_err();
//! assert_eq!(error.to_string(), "2147483647 doubled overflows");
//!
//! // Memory is reached by copying, never through a Rust reference into guest memory.
//! let memory = instance.get_memory(&mut store, "memory").expect("an unshared memory");
//! memory.write(&mut store, 8, b"weft")?;
//! let mut bytes = [0; 4];
//! memory.read(&store, 8, &mut bytes)?;
//! assert_eq!(&bytes, b"weft");
//! # Ok(())
//! # }
//! ```
//!
//! # The pieces
//!
//! - [`Config`] and [`Engine`]: the proposals to accept ([`WasmFeatures`]), how memory
//!   accesses are bounds-checked ([`BoundsChecks`]), stack, thread and GC heap limits.
//! - [`Module`]: compiled from binary or text.
//! - [`Store`]: instances, memories, tables, globals and functions live until it is
//!   dropped; handles to them ([`Func`], [`Memory`], [`Global`], [`Table`]) are indices
//!   into it.
//! - [`Linker`] and [`Instance`]: imports by name, exports by name.
//! - [`Func`] calls with dynamically typed [`Val`]s; [`TypedFunc`] checks a signature once.
//!   Host functions are Rust closures: store-bound ones get a [`Caller`]
//!   ([`Linker::func_wrap`]), store-free ones, which any thread may call, a
//!   [`SharedCaller`] ([`Linker::func_wrap_shared`]).
//! - [`SharedMemory`]: `Send + Sync`, belongs to no store, and host threads may block on
//!   its addresses.
//! - [`Error`]: one enum, so traps ([`Error::trap`]), link errors and host errors are
//!   matched without downcasting.
//!
//! # Threads
//!
//! weft runs threads in two models, which the README compares:
//!
//! - **Shared everything**: one instance, many threads. Shared functions run on guest
//!   threads spawned by the guest (below) or by the embedder ([`Store::spawn`]), and on the
//!   embedder's own threads once they attach ([`Instance::share`],
//!   [`SharedInstance::attach`]). Shared memories, globals, tables, functions, structs and
//!   arrays are seen by all of them; each thread has its own copy of thread-local globals.
//!   Guests may block on host primitives ([`Semaphore`], [`HostMutex`], [`HostCondvar`];
//!   [`Linker::define_semaphore`] and the like), and a [`Terminator`] stops any thread,
//!   running or blocked.
//! - **Instance per thread**: [`WasiThreads`] runs modules written for wasi-threads, giving
//!   every thread a new instance that shares only the imported memory.
//!
//! ## The `"wasm:thread"` intrinsics
//!
//! Guest code starts threads through three imports that every [`Linker`] provides without
//! being told to (a definition of the same name replaces one):
//!
//! | import | type | does |
//! |---|---|---|
//! | `spawn-ref` | `(shared (func (param (ref null $ft) i32) (result i32)))` | runs `$ft(arg)` on a new thread |
//! | `spawn-indirect` | `(shared (func (param i32 i32) (result i32)))` | the same for the function at an index of the caller's first shared table of function references |
//! | `available-parallelism` | `(shared (func (result i32)))` | the hardware's threads, at most [`Config::max_threads`] |
//!
//! where `$ft` is `(shared (func (param i32)))`. A spawn returns the new thread's id, from
//! 1 up, or -1 when the store already runs [`Config::max_threads`] threads (or the engine
//! [`Config::max_total_threads`]); a null function, or an index outside the table, traps. A
//! trap in any thread stops every other thread of the store, and the embedder gets it from
//! the call that was running or from [`Store::join_threads`]. The intrinsics and
//! everything shared belong to the shared-everything threads proposal, which the engine
//! must accept:
//!
//! ```
//! use weft::{Config, Engine, Linker, Module, Store, WasmFeatures};
//!
//! # fn main() -> Result<(), weft::Error> {
//! let mut config = Config::new();
//! config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
//! let engine = Engine::new(&config)?;
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (type $entry (shared (func (param i32))))
//!          (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
//!          (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
//!          (global $sum (shared mut i32) (i32.const 0))
//!          (elem declare func $add)
//!          ;; Each thread runs this once: a shared function, as threads need.
//!          (func $add (type $entry) (param $n i32)
//!            (drop (global.atomic.rmw.add seqcst $sum (local.get $n))))
//!          ;; Runs $add(1) .. $add(n), each on a thread of its own.
//!          (func (export "spawn") (param $n i32)
//!            (loop $next
//!              (if (i32.lt_s (call $spawn (ref.func $add) (local.get $n)) (i32.const 0))
//!                (then unreachable))
//!              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//!              (br_if $next (local.get $n))))
//!          (func (export "sum") (result i32) (global.atomic.get seqcst $sum)))"#,
//! )?;
//! let mut store = Store::new(&engine, ());
//! let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
//! let spawn = instance.get_typed_func::<i32, ()>(&mut store, "spawn")?;
//! let sum = instance.get_typed_func::<(), i32>(&mut store, "sum")?;
//!
//! spawn.call(&mut store, 4)?;
//! store.join_threads()?; // waits for all four, and reports the first trap if one trapped
//! assert_eq!(sum.call(&mut store, ())?, 1 + 2 + 3 + 4);
//! # Ok(())
//! # }
//! ```
//!
//! ## Memory orders in the text format
//!
//! The shared-everything atomics take a memory order. The proposal's text writes it
//! `seq_cst` or `acq_rel`; the wat and wast crates weft parses text with (version 263)
//! accept only the proposal overview's current spelling, `seqcst` and `acqrel`, as in
//! `global.atomic.get seqcst $g` above, and reject the underscored one. weft's spec-test
//! runner rewrites the older spelling in the proposal's own scripts; [`Module::new`] takes
//! text as it is.
//!
//! ```
//! # use weft::{Config, Engine, Module, WasmFeatures};
//! # let mut config = Config::new();
//! # config.wasm_features(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS);
//! # let engine = Engine::new(&config).unwrap();
//! let reading = |order: &str| {
//!     let text = format!(
//!         "(module (global $g (shared mut i32) (i32.const 0))
//!                  (func (result i32) (global.atomic.get {order} $g)))"
//!     );
//!     Module::new(&engine, text)
//! };
//! assert!(reading("seqcst").is_ok() && reading("acqrel").is_ok());
//! assert!(reading("seq_cst").is_err());
//! ```
//!
//! # Coming from Wasmtime
//!
//! Most code carries over with `wasmtime::` replaced by `weft::`. What differs, on purpose:
//!
//! - [`Error`] is an enum, not `anyhow::Error`. Typed host closures may still return
//!   `anyhow::Result` (any error that converts into `Box<dyn Error + Send + Sync>`, see
//!   [`HostResult`]); dynamically typed ones return `Result<(), weft::Error>` and convert
//!   with [`Error::host`].
//! - [`Func::wrap`] and [`Func::new`] return a `Result`: weft compiles the trampolines for
//!   a host signature at run time, and that can fail.
//! - [`Memory`] is unshared memory, and a [`SharedMemory`] is not a `Memory`:
//!   [`Instance::get_memory`] returns `None` for a shared one, which
//!   [`Instance::get_shared_memory`] gives. Both are read and written by copying; there is
//!   no `data()` slice, because other threads may write the memory at any time.
//! - There is no `Module::serialize`/`deserialize`: code is linked in process and compiled
//!   again by every process (see [`Module`] for why, and what a cache would take).
//! - [`Store::into_data`] needs `T: Default`.
#![warn(missing_docs)]

// The layers (see the README's architecture section), all private: `environ` is the
// vocabulary shared by compiler and runtime (layouts, libcalls, traps); `compiler` turns
// WebAssembly into Cranelift IR and machine code; `vm` holds the structures JIT code uses,
// trap handling and all unsafe code; `api` is the safe embedding API re-exported here.
pub(crate) mod api;
pub(crate) mod compiler;
pub(crate) mod environ;
pub(crate) mod vm;

pub use api::*;
pub use environ::{BoundsChecks, OptLevel};
pub use wasmparser::WasmFeatures;

/// Compiles and runs the README's examples as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
