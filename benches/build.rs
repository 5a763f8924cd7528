//! Builds the native side of the wasi-threads program benchmarks: `programs/native_driver.c`
//! with `programs/pthread_kernels.c`, the source the benchmarked `.wasm` programs were built
//! from, into an executable the benches run as a child process (`NATIVE_DRIVER`).

use std::path::PathBuf;

fn main() {
    let sources = ["programs/native_driver.c", "programs/pthread_kernels.c"];
    for source in sources {
        println!("cargo:rerun-if-changed={source}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let driver = out.join("native_driver");
    // The C compiler cc would use for this target, with its flags, linking an executable.
    let compiler = cc::Build::new().opt_level(2).get_compiler();
    let status = compiler
        .to_command()
        .args(["-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(sources)
        .arg("-o")
        .arg(&driver)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("building {} failed: {status}", driver.display()),
        Err(error) => panic!("cannot run the C compiler {:?}: {error}", compiler.path()),
    }
    println!("cargo:rustc-env=NATIVE_DRIVER={}", driver.display());
}
