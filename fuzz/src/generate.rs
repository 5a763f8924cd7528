//! Test modules from a seed: wasm-smith, driven by bytes from a seeded generator instead of
//! a fuzzer's corpus, so that a case is its seed and runs on stable Rust.

use arbitrary::Unstructured;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wasm_smith::{Config, Module};

/// Fuel of wasm-smith's termination guard: every function entry and loop iteration spends one,
/// and a module that runs out traps with `unreachable` (in every engine alike). It also bounds
/// recursion well below either engine's stack limit.
pub const FUEL: u32 = 1_000;

/// Bytes of randomness wasm-smith gets per case: plenty for the module limits below.
const ENTROPY: usize = 32 * 1024;

/// Which proposals a case's module may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proposals {
    /// Those both weft and the reference engine implement.
    Shared,
    /// Those too that only weft implements (GC, exceptions, relaxed SIMD), for comparing
    /// weft with itself.
    Weft,
}

/// The generator's settings for `proposals`, without imports or threads. `trap_free` asks
/// for code that cannot trap but by the fuel guard (wasm-smith masks addresses and indices,
/// guards divisions and conversions): most calls of other modules trap early on a random
/// address, and these run to their end, through more of their code. Only weft's own
/// comparison gets them: wasm-smith guards a divisor `x` as `select(1, x, i32.eqz(x))`,
/// which wasmi 2.0.0 evaluates wrongly (`fuzz/regressions/select_fed_by_comparison.wast`).
fn config(proposals: Proposals, trap_free: bool) -> Config {
    let weft_only = proposals == Proposals::Weft;
    Config {
        // Every function, global, memory and table is exported, so every one can be called
        // and compared.
        export_everything: true,
        max_imports: 0,
        // Random bytes, unlike a fuzzer's evolved corpus, end wasm-smith's "one more?" loops
        // early: ask for enough of everything to compare.
        min_funcs: 8,
        max_funcs: 24,
        min_globals: 2,
        min_memories: 1,
        min_tables: 1,
        min_data_segments: 1,
        min_element_segments: 1,
        max_instructions: 200,
        max_memories: 2,
        max_tables: 2,
        // Small memories and tables, with a maximum that growth cannot pass, keep comparing
        // them cheap and a case's memory bounded (without one, `memory.grow` and
        // `table.grow` reach gigabytes).
        max_memory32_bytes: 4 << 16,
        max_memory64_bytes: 4 << 16,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        // NaNs differ in payload between engines and are allowed to: make them canonical.
        canonicalize_nans: true,
        disallow_traps: trap_free,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        memory64_enabled: true,
        simd_enabled: true,
        // weft's relaxed SIMD is deterministic (its README lists the choices), so two weft
        // configurations must agree on it.
        relaxed_simd_enabled: weft_only,
        gc_enabled: weft_only,
        exceptions_enabled: weft_only,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        ..Config::default()
    }
}

/// The module of case `seed` with `proposals`, or `None` when the generator gave up on its
/// bytes. With weft's own proposals, odd seeds make modules that do not trap.
pub fn module(seed: u64, proposals: Proposals) -> Option<Vec<u8>> {
    let mut entropy = vec![0; ENTROPY];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut entropy);
    let trap_free = proposals == Proposals::Weft && seed % 2 == 1;
    let mut module = Module::new(
        config(proposals, trap_free),
        &mut Unstructured::new(&entropy),
    )
    .ok()?;
    module.ensure_termination(FUEL).ok()?;
    Some(module.to_bytes())
}
