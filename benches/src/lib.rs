//! The benchmark kernels, each as WebAssembly text run on weft and as the same algorithm in
//! Rust, shared by the benches and the unit tests so both exercise identical code; the list of
//! comparisons the `ratios` binary reports ([`comparisons`]); and the helpers the benches
//! share ([`timing`], [`estimates`]). [`thread_models`] runs the same guest work under both
//! thread models, and `wasmtime` (feature `wasmtime`) the kernels on wasmtime.

mod comparisons;
pub mod estimates;
pub mod host;
pub mod programs;
pub mod thread_models;
pub mod timing;
#[cfg(feature = "wasmtime")]
pub mod wasmtime;

pub use comparisons::{
    BENCHES, COMPUTE_BENCH, Comparison, HOST_INTEGRATION_BENCH, SHARED_EVERYTHING_BENCH,
    THREAD_MODELS_BENCH, THREADS_BENCH, comparisons,
};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::Thread;
use weft::{Engine, Error, Instance, Memory, MemoryType, Module, SharedMemory, Store, TypedFunc};

/// Criterion group names, shared with the `ratios` binary that reads their estimates.
pub const FIB_GROUP: &str = "fib_recursive";
pub const MEMORY_GROUP: &str = "memory_loop";
pub const FLOAT_GROUP: &str = "float_kernel";
pub const PING_PONG_GROUP: &str = "wait_notify_ping_pong";
pub const RMW_1_GROUP: &str = "atomic_rmw_1_thread";
pub const RMW_2_GROUP: &str = "atomic_rmw_2_threads";
pub const SPAWN_SMALL_GROUP: &str = "spawn_join_small_module";
pub const SPAWN_LARGE_GROUP: &str = "spawn_join_10k_functions";
pub const TLS_GROUP: &str = "thread_local_global";
pub const TERMINATE_1_GROUP: &str = "terminate_join_1";
pub const TERMINATE_64_GROUP: &str = "terminate_join_64";
pub const LOCK_UNCONTENDED_GROUP: &str = "lock_unlock_uncontended";
pub const LOCK_CONTENDED_GROUP: &str = "lock_unlock_contended";
pub const ATTACH_GROUP: &str = "attach_call_detach";
pub const MODEL_SPAWN_SMALL_GROUP: &str = "model_spawn_join_small_module";
pub const MODEL_SPAWN_LARGE_GROUP: &str = "model_spawn_join_10k_functions";
pub const MODEL_TLS_GROUP: &str = "model_thread_local_access";
pub const MODEL_PARALLEL_GROUP: &str = "model_parallel_histogram";
pub const PROGRAM_SPAWN_SMALL_GROUP: &str = "program_spawn_join_small_program";
pub const PROGRAM_SPAWN_LARGE_GROUP: &str = "program_spawn_join_10k_functions";
pub const PROGRAM_PARALLEL_GROUP: &str = "program_parallel_histogram";

/// Benchmark ids that are not `weft`/`native`, shared the same way.
pub const PARKING_LOT_ID: &str = "parking_lot";
pub const CALL_ATTACHED_ID: &str = "call_attached";
pub const ATTACH_CALL_DETACH_ID: &str = "attach_call_detach";

pub(crate) const FIB_WAT: &str = include_str!("../kernels/fib.wat");
pub(crate) const HISTOGRAM_WAT: &str = include_str!("../kernels/histogram.wat");
pub(crate) const MATMUL_WAT: &str = include_str!("../kernels/matmul.wat");
const THREADS_WAT: &str = include_str!("../kernels/threads.wat");

fn instantiate(engine: &Engine, wat: &str) -> Result<(Store<()>, Instance), Error> {
    let module = Module::new(engine, wat)?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok((store, instance))
}

fn exported_memory(store: &mut Store<()>, instance: &Instance) -> Result<Memory, Error> {
    instance
        .get_memory(store, "memory")
        .ok_or_else(|| Error::msg("kernel exports no memory"))
}

pub(crate) fn to_u32(value: usize, what: &str) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::msg(format!("{what} does not fit a 32-bit memory")))
}

/// Deterministic inputs without a `rand` dependency (xorshift64).
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Zero is xorshift's fixed point.
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 56) as u8).collect()
    }

    /// Values in [-1, 1).
    pub fn f64s(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
            .collect()
    }
}

/// Wrapping like wasm's `i32.add`, so both sides agree even past fib(47).
pub fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

pub struct WeftFib {
    store: Store<()>,
    fib: TypedFunc<u32, u32>,
}

impl WeftFib {
    pub fn new(engine: &Engine) -> Result<WeftFib, Error> {
        let (mut store, instance) = instantiate(engine, FIB_WAT)?;
        let fib = instance.get_typed_func(&mut store, "fib")?;
        Ok(WeftFib { store, fib })
    }

    pub fn call(&mut self, n: u32) -> Result<u32, Error> {
        self.fib.call(&mut self.store, n)
    }
}

/// Counts each byte value of `data` into `counts` and returns `sum(i * counts[i])`.
pub fn histogram(data: &[u8], counts: &mut [u32; 256]) -> u64 {
    *counts = [0; 256];
    for &byte in data {
        counts[usize::from(byte)] += 1;
    }
    let mut sum = 0u64;
    for (value, &count) in (0u64..).zip(counts.iter()) {
        sum += value * u64::from(count);
    }
    sum
}

/// The histogram kernel with its input already copied into linear memory, so a call
/// measures only the kernel.
pub struct WeftHistogram {
    store: Store<()>,
    histogram: TypedFunc<(u32, u32, u32), u64>,
    memory: Memory,
    len: u32,
}

impl WeftHistogram {
    pub(crate) const COUNTS: u32 = 0;
    pub(crate) const DATA: u32 = 256 * 4;

    pub fn new(engine: &Engine, data: &[u8]) -> Result<WeftHistogram, Error> {
        let (mut store, instance) = instantiate(engine, HISTOGRAM_WAT)?;
        let histogram = instance.get_typed_func(&mut store, "histogram")?;
        let memory = exported_memory(&mut store, &instance)?;
        let len = to_u32(data.len(), "histogram input")?;
        memory.write(&mut store, Self::DATA as usize, data)?;
        Ok(WeftHistogram {
            store,
            histogram,
            memory,
            len,
        })
    }

    pub fn run(&mut self) -> Result<u64, Error> {
        self.histogram
            .call(&mut self.store, (Self::COUNTS, Self::DATA, self.len))
    }

    /// The table left in linear memory by the last [`WeftHistogram::run`].
    pub fn counts(&self) -> Result<[u32; 256], Error> {
        let mut bytes = [0u8; 256 * 4];
        self.memory
            .read(&self.store, Self::COUNTS as usize, &mut bytes)?;
        let mut counts = [0u32; 256];
        for (count, chunk) in counts.iter_mut().zip(bytes.chunks_exact(4)) {
            *count = u32::from_le_bytes(chunk.try_into().expect("chunks are 4 bytes"));
        }
        Ok(counts)
    }
}

/// `c = a * b` for row-major `n`×`n` matrices, returning the sum of `c` taken in row order.
/// Index loops on purpose: they are the access pattern the wasm kernel has.
pub fn matmul(a: &[f64], b: &[f64], c: &mut [f64], n: usize) -> f64 {
    // Lets LLVM drop the per-element bounds checks, as guard pages do for weft.
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..n {
            let mut acc = 0.0;
            for k in 0..n {
                acc += a[i * n + k] * b[k * n + j];
            }
            c[i * n + j] = acc;
            total += acc;
        }
    }
    total
}

/// The matmul kernel with A and B already in linear memory, laid out back to back
/// and followed by C.
pub struct WeftMatmul {
    store: Store<()>,
    matmul: TypedFunc<(u32, u32, u32, u32), f64>,
    memory: Memory,
    n: u32,
    matrix_bytes: u32,
}

impl WeftMatmul {
    /// The size of one of the three matrices (A, B and C, back to back from address 0), once
    /// checked that A and B are `n`×`n` and all three fit `memory_size` bytes.
    pub(crate) fn matrix_bytes(
        a: &[f64],
        b: &[f64],
        n: usize,
        memory_size: usize,
    ) -> Result<u32, Error> {
        if a.len() != n * n || b.len() != n * n {
            return Err(Error::msg(format!("matmul inputs must be {n}x{n}")));
        }
        let matrix_bytes = to_u32(n * n * 8, "a matrix")?;
        if 3 * u64::from(matrix_bytes) > memory_size as u64 {
            return Err(Error::msg(format!(
                "{n}x{n} matrices do not fit the kernel's memory"
            )));
        }
        Ok(matrix_bytes)
    }

    pub fn new(engine: &Engine, a: &[f64], b: &[f64], n: usize) -> Result<WeftMatmul, Error> {
        let (mut store, instance) = instantiate(engine, MATMUL_WAT)?;
        let matmul = instance.get_typed_func(&mut store, "matmul")?;
        let memory = exported_memory(&mut store, &instance)?;
        let matrix_bytes = Self::matrix_bytes(a, b, n, memory.data_size(&store))?;
        memory.write(&mut store, 0, &f64s_to_bytes(a))?;
        memory.write(&mut store, matrix_bytes as usize, &f64s_to_bytes(b))?;
        Ok(WeftMatmul {
            store,
            matmul,
            memory,
            n: to_u32(n, "the matrix size")?,
            matrix_bytes,
        })
    }

    pub fn run(&mut self) -> Result<f64, Error> {
        let m = self.matrix_bytes;
        self.matmul.call(&mut self.store, (0, m, 2 * m, self.n))
    }

    /// C as left in linear memory by the last [`WeftMatmul::run`].
    pub fn product(&self) -> Result<Vec<f64>, Error> {
        let mut bytes = vec![0u8; self.matrix_bytes as usize];
        self.memory
            .read(&self.store, 2 * self.matrix_bytes as usize, &mut bytes)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|chunk| f64::from_le_bytes(chunk.try_into().expect("chunks are 8 bytes")))
            .collect())
    }
}

pub(crate) fn f64s_to_bytes(values: &[f64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// One guest thread's view of the thread kernels: its own store and instance, importing a
/// shared memory that other guest threads import too.
pub struct WeftThread {
    store: Store<()>,
    ping: TypedFunc<u32, ()>,
    pong: TypedFunc<u32, ()>,
    add: TypedFunc<u32, ()>,
    counter: TypedFunc<(), u32>,
}

/// The compiled thread kernels and the memory their threads share.
pub struct WeftThreads {
    engine: Engine,
    module: Module,
    memory: SharedMemory,
}

impl WeftThreads {
    pub fn new(engine: &Engine) -> Result<WeftThreads, Error> {
        Ok(WeftThreads {
            engine: engine.clone(),
            module: Module::new(engine, THREADS_WAT)?,
            memory: SharedMemory::new(engine, MemoryType::shared(1, 1))?,
        })
    }

    /// A new guest thread's instance; call its functions from the thread that owns it.
    pub fn thread(&self) -> Result<WeftThread, Error> {
        let mut store = Store::new(&self.engine, ());
        let instance = Instance::new(&mut store, &self.module, &[self.memory.clone().into()])?;
        Ok(WeftThread {
            ping: instance.get_typed_func(&mut store, "ping")?,
            pong: instance.get_typed_func(&mut store, "pong")?,
            add: instance.get_typed_func(&mut store, "add")?,
            counter: instance.get_typed_func(&mut store, "counter")?,
            store,
        })
    }
}

impl WeftThread {
    pub fn ping(&mut self, rounds: u32) -> Result<(), Error> {
        self.ping.call(&mut self.store, rounds)
    }

    pub fn pong(&mut self, rounds: u32) -> Result<(), Error> {
        self.pong.call(&mut self.store, rounds)
    }

    pub fn add(&mut self, count: u32) -> Result<(), Error> {
        self.add.call(&mut self.store, count)
    }

    pub fn counter(&mut self) -> Result<u32, Error> {
        self.counter.call(&mut self.store, ())
    }
}

/// The native ping-pong: an atomic flag and thread parking (`std::thread::park`, a futex on
/// Linux), the same protocol as the guest's wait/notify on a shared word.
#[derive(Default)]
pub struct NativePingPong {
    raised: AtomicBool,
    pinger: OnceLock<Thread>,
    ponger: OnceLock<Thread>,
}

impl NativePingPong {
    /// Records the calling thread as the ping side (`pings`) or the pong side; both must
    /// register before either starts.
    pub fn register(&self, pings: bool) {
        let side = if pings { &self.pinger } else { &self.ponger };
        side.set(std::thread::current())
            .expect("each side registers once");
    }

    fn other(side: &OnceLock<Thread>) -> &Thread {
        side.get().expect("both sides registered before starting")
    }

    pub fn ping(&self, rounds: u32) {
        for _ in 0..rounds {
            self.raised.store(true, Ordering::SeqCst);
            Self::other(&self.ponger).unpark();
            // `park` may return spuriously or for an earlier unpark; the flag decides.
            while self.raised.load(Ordering::SeqCst) {
                std::thread::park();
            }
        }
    }

    pub fn pong(&self, rounds: u32) {
        for _ in 0..rounds {
            while !self.raised.load(Ordering::SeqCst) {
                std::thread::park();
            }
            self.raised.store(false, Ordering::SeqCst);
            Self::other(&self.pinger).unpark();
        }
    }
}

/// The native counterpart of the guest `add`: sequentially consistent increments.
pub fn native_add(counter: &AtomicU32, count: u32) {
    for _ in 0..count {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ping_pong_completes_and_counts_exactly() {
        let threads = WeftThreads::new(&Engine::default()).unwrap();
        let mut pinger = threads.thread().unwrap();
        let mut ponger = threads.thread().unwrap();
        let pong = std::thread::spawn(move || ponger.pong(1000).unwrap());
        pinger.ping(1000).unwrap();
        pong.join().unwrap();

        let adders: Vec<_> = (0..2)
            .map(|_| {
                let mut thread = threads.thread().unwrap();
                std::thread::spawn(move || thread.add(10_000).unwrap())
            })
            .collect();
        for adder in adders {
            adder.join().unwrap();
        }
        assert_eq!(pinger.counter().unwrap(), 20_000);
    }

    #[test]
    fn native_ping_pong_completes() {
        let pair = std::sync::Arc::new(NativePingPong::default());
        pair.register(true);
        let pong = {
            let pair = pair.clone();
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let pong = std::thread::spawn(move || {
                pair.register(false);
                ready_tx.send(()).unwrap();
                pair.pong(1000)
            });
            ready_rx.recv().unwrap();
            pong
        };
        pair.ping(1000);
        pong.join().unwrap();
    }

    #[test]
    fn fib_agrees() {
        let mut weft = WeftFib::new(&Engine::default()).unwrap();
        for n in 0..=22 {
            assert_eq!(weft.call(n).unwrap(), fib(n), "fib({n})");
        }
        assert_eq!(fib(20), 6765);
    }

    #[test]
    fn histogram_agrees() {
        let engine = Engine::default();
        let inputs = [
            Vec::new(),
            vec![255; 1000],
            (0..=255).collect(),
            XorShift::new(7).bytes(10_007),
        ];
        for data in inputs {
            let mut weft = WeftHistogram::new(&engine, &data).unwrap();
            let mut counts = [0; 256];
            assert_eq!(weft.run().unwrap(), histogram(&data, &mut counts));
            assert_eq!(weft.counts().unwrap(), counts);
            assert_eq!(counts.iter().sum::<u32>() as usize, data.len());
        }
    }

    #[test]
    fn histogram_clears_counts_between_runs() {
        let data = XorShift::new(3).bytes(4096);
        let mut weft = WeftHistogram::new(&Engine::default(), &data).unwrap();
        let first = weft.run().unwrap();
        assert_eq!(weft.run().unwrap(), first);
        let mut dirty = [9; 256];
        assert_eq!(histogram(&data, &mut dirty), first);
    }

    #[test]
    fn histogram_rejects_input_larger_than_memory() {
        let data = vec![0; 17 << 16];
        assert!(WeftHistogram::new(&Engine::default(), &data).is_err());
    }

    #[test]
    fn matmul_agrees_bit_for_bit() {
        let engine = Engine::default();
        let mut rng = XorShift::new(11);
        for n in [1, 2, 5, 17, 64] {
            let (a, b) = (rng.f64s(n * n), rng.f64s(n * n));
            let mut weft = WeftMatmul::new(&engine, &a, &b, n).unwrap();
            let mut c = vec![0.0; n * n];
            let total = matmul(&a, &b, &mut c, n);
            assert_eq!(weft.run().unwrap().to_bits(), total.to_bits(), "n = {n}");
            let product = weft.product().unwrap();
            let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&product), bits(&c), "n = {n}");
        }
    }

    #[test]
    fn matmul_by_identity_is_the_input() {
        let n = 6;
        let a = XorShift::new(5).f64s(n * n);
        let identity: Vec<f64> = (0..n * n)
            .map(|index| if index / n == index % n { 1.0 } else { 0.0 })
            .collect();
        let mut c = vec![0.0; n * n];
        matmul(&a, &identity, &mut c, n);
        assert_eq!(c, a);
    }

    #[test]
    fn matmul_rejects_matrices_larger_than_memory() {
        let n = 128;
        let a = vec![0.0; n * n];
        assert!(WeftMatmul::new(&Engine::default(), &a, &a, n).is_err());
    }
}
