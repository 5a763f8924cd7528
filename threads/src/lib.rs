//! Host-side synchronization for weft's threads: the wait queue behind
//! `memory.atomic.wait`/`notify`, host semaphores that guests block on, the thread registry
//! with spawn/join/terminate, and interruption. It knows nothing of WebAssembly or Cranelift,
//! so every protocol here can be model-checked with loom.
//!
//! The engine foundation needs none of this yet; the threads issue fills it in.
#![forbid(unsafe_code)]
