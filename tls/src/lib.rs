//! Per-thread context blocks: the layout of each thread's block, its `thread_local` global
//! slots, allocation and reuse of blocks, and "current thread" lookup. Like `weft-threads`,
//! it is independent of Cranelift so it can be model-checked with loom.
//!
//! The engine foundation runs one thread per store and needs none of this yet; the
//! shared-everything issue fills it in.
#![forbid(unsafe_code)]
