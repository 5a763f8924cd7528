//! The compute kernels on wasmtime, with the inputs laid out as the weft wrappers lay them.

use super::{instantiate, typed, wasmtime_error};
use crate::{FIB_WAT, HISTOGRAM_WAT, MATMUL_WAT, WeftHistogram, WeftMatmul};
use wasmtime::{Engine, Instance, Memory, Store, TypedFunc};
use weft::Error;

fn exported_memory(store: &mut Store<()>, instance: &Instance) -> Result<Memory, Error> {
    instance
        .get_memory(store, "memory")
        .ok_or_else(|| Error::msg("kernel exports no memory"))
}

pub struct WasmtimeFib {
    store: Store<()>,
    fib: TypedFunc<u32, u32>,
}

impl WasmtimeFib {
    pub fn new(engine: &Engine) -> Result<WasmtimeFib, Error> {
        let (mut store, instance) = instantiate(engine, FIB_WAT)?;
        let fib = typed(&mut store, &instance, "fib")?;
        Ok(WasmtimeFib { store, fib })
    }

    pub fn call(&mut self, n: u32) -> Result<u32, Error> {
        self.fib.call(&mut self.store, n).map_err(wasmtime_error)
    }
}

/// [`WeftHistogram`] on wasmtime.
pub struct WasmtimeHistogram {
    store: Store<()>,
    histogram: TypedFunc<(u32, u32, u32), u64>,
    len: u32,
}

impl WasmtimeHistogram {
    pub fn new(engine: &Engine, data: &[u8]) -> Result<WasmtimeHistogram, Error> {
        let (mut store, instance) = instantiate(engine, HISTOGRAM_WAT)?;
        let histogram = typed(&mut store, &instance, "histogram")?;
        let memory = exported_memory(&mut store, &instance)?;
        let len = crate::to_u32(data.len(), "histogram input")?;
        memory
            .write(&mut store, WeftHistogram::DATA as usize, data)
            .map_err(|error| Error::msg(error.to_string()))?;
        Ok(WasmtimeHistogram {
            store,
            histogram,
            len,
        })
    }

    pub fn run(&mut self) -> Result<u64, Error> {
        let args = (WeftHistogram::COUNTS, WeftHistogram::DATA, self.len);
        self.histogram
            .call(&mut self.store, args)
            .map_err(wasmtime_error)
    }
}

/// [`WeftMatmul`] on wasmtime.
pub struct WasmtimeMatmul {
    store: Store<()>,
    matmul: TypedFunc<(u32, u32, u32, u32), f64>,
    n: u32,
    matrix_bytes: u32,
}

impl WasmtimeMatmul {
    pub fn new(engine: &Engine, a: &[f64], b: &[f64], n: usize) -> Result<WasmtimeMatmul, Error> {
        let (mut store, instance) = instantiate(engine, MATMUL_WAT)?;
        let matmul = typed(&mut store, &instance, "matmul")?;
        let memory = exported_memory(&mut store, &instance)?;
        let matrix_bytes = WeftMatmul::matrix_bytes(a, b, n, memory.data_size(&store))?;
        let write = |store: &mut Store<()>, offset: u32, values: &[f64]| {
            memory
                .write(store, offset as usize, &crate::f64s_to_bytes(values))
                .map_err(|error| Error::msg(error.to_string()))
        };
        write(&mut store, 0, a)?;
        write(&mut store, matrix_bytes, b)?;
        Ok(WasmtimeMatmul {
            store,
            matmul,
            n: crate::to_u32(n, "the matrix size")?,
            matrix_bytes,
        })
    }

    pub fn run(&mut self) -> Result<f64, Error> {
        let m = self.matrix_bytes;
        self.matmul
            .call(&mut self.store, (0, m, 2 * m, self.n))
            .map_err(wasmtime_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{XorShift, fib, histogram, matmul};

    #[test]
    fn wasmtime_compute_kernels_agree_with_native() {
        let engine = super::super::engine().unwrap();
        let mut fib_kernel = WasmtimeFib::new(&engine).unwrap();
        assert_eq!(fib_kernel.call(20).unwrap(), fib(20));

        let data = XorShift::new(7).bytes(10_007);
        let mut counts = [0; 256];
        let mut histogram_kernel = WasmtimeHistogram::new(&engine, &data).unwrap();
        assert_eq!(
            histogram_kernel.run().unwrap(),
            histogram(&data, &mut counts)
        );

        let n = 17;
        let mut rng = XorShift::new(11);
        let (a, b) = (rng.f64s(n * n), rng.f64s(n * n));
        let mut c = vec![0.0; n * n];
        let mut matmul_kernel = WasmtimeMatmul::new(&engine, &a, &b, n).unwrap();
        assert_eq!(
            matmul_kernel.run().unwrap().to_bits(),
            matmul(&a, &b, &mut c, n).to_bits()
        );
    }
}
