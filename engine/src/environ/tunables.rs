//! Settings that change the code the compiler emits and the layout the runtime must provide.

/// How linear-memory accesses are kept in bounds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum BoundsChecks {
    /// Each 32-bit memory reserves 4 GiB of address space plus a 2 GiB guard
    /// (`MEMORY_RESERVATION` and `MEMORY_GUARD_SIZE`), so an access can only fault, never
    /// reach another allocation, and needs no compare-and-branch.
    #[default]
    GuardPages,
    /// Every access compares its end against the current length first. Slower, but needs
    /// no large reservations.
    Explicit,
}

/// Address space reserved for the accessible part of a 32-bit memory: every index fits.
pub const MEMORY_RESERVATION: u64 = 1 << 32;

/// Inaccessible space after the reservation. Static offsets up to this size (minus the widest
/// access) need no check in [`BoundsChecks::GuardPages`] mode.
pub const MEMORY_GUARD_SIZE: u64 = 2 << 30;

/// How hard Cranelift optimizes, as Wasmtime's `Config::cranelift_opt_level` says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimization: fastest compilation, and the baseline optimized code is compared
    /// against when fuzzing.
    None,
    /// Optimize for speed (the default).
    #[default]
    Speed,
}

/// Compiler and runtime settings derived from the public `Config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunables {
    pub bounds_checks: BoundsChecks,
    /// Run Cranelift's IR verifier on every function (slow; for tests and debugging).
    pub verify_ir: bool,
    /// Count the operators a thread runs against its fuel, trapping when it runs out.
    pub consume_fuel: bool,
    /// Give every compiled function its label (`Names::function_label`) as its symbol, so
    /// that profilers reading Cranelift's own perf map entries see wasm names.
    pub name_functions: bool,
    /// Instrument plain accesses to shared memories and every atomic for the data-race
    /// detector (`vm::race`).
    pub detect_races: bool,
    /// Call the scheduler at every atomic access, fence, `wait`, `notify` and loop header,
    /// for schedule exploration (`vm::explore`).
    pub explore: bool,
    /// Cranelift's optimization level.
    pub opt_level: OptLevel,
    /// Inline small functions into their callers (`compiler::inline`) when optimizing.
    pub inline_functions: bool,
}

#[allow(
    clippy::derivable_impls,
    reason = "derivable only in release builds, where debug assertions are off"
)]
impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            bounds_checks: BoundsChecks::default(),
            verify_ir: cfg!(debug_assertions),
            consume_fuel: false,
            name_functions: false,
            detect_races: false,
            explore: false,
            opt_level: OptLevel::Speed,
            inline_functions: true,
        }
    }
}
