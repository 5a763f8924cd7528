//! Shrinking a diverging module: wasm-shrink applies wasm-mutate's size-reducing mutations
//! (removing functions, exports and instructions, replacing expressions with constants)
//! and keeps each smaller module for which the divergence still holds; the smallest is
//! printed as text with wasmprinter, for a reproducer a reader can follow.

use anyhow::{Context, Result};
use wasm_shrink::WasmShrink;

/// How many mutations the shrinker tries before it calls the module as small as it gets:
/// each costs one run of the module in every engine, a few milliseconds.
const ATTEMPTS: u32 = 1_000;

/// The smallest module found, in both forms.
pub struct Shrunk {
    pub wasm: Vec<u8>,
    pub text: String,
}

/// Shrinks `wasm` while `still_fails` holds of the smaller module. The shrinker's own
/// choices are seeded, so a case shrinks to the same module every time.
pub fn shrink(wasm: Vec<u8>, mut still_fails: impl FnMut(&[u8]) -> bool) -> Result<Shrunk> {
    let info = WasmShrink::default()
        .attempts(ATTEMPTS)
        .seed(0)
        .run(wasm, |candidate: &[u8]| Ok(still_fails(candidate)))
        .context("shrinking the module")?;
    let text = wasmprinter::print_bytes(&info.output).context("printing the shrunk module")?;
    Ok(Shrunk {
        wasm: info.output,
        text,
    })
}
