//! The engines the `cargo test` harnesses run scripts with.

use crate::RunOptions;
use std::sync::Arc;
use weft::{BoundsChecks, Config, Engine, WasmFeatures};

/// One engine per bounds-checking strategy and feature set, shared by the scripts that use it.
/// There are only a handful (and `BoundsChecks` is not `Hash`), so a list does.
#[derive(Default)]
pub struct Engines(Vec<(BoundsChecks, WasmFeatures, Arc<RunOptions>)>);

impl Engines {
    /// The run options of the engine for `bounds_checks` and `features`, created on first use.
    pub fn options(
        &mut self,
        bounds_checks: BoundsChecks,
        features: WasmFeatures,
    ) -> Result<Arc<RunOptions>, weft::Error> {
        let key = (bounds_checks, features);
        if let Some((.., options)) = self.0.iter().find(|(b, f, _)| (*b, *f) == key) {
            return Ok(options.clone());
        }
        let mut config = Config::new();
        config.bounds_checks(bounds_checks).wasm_features(features);
        let options = Arc::new(RunOptions::new(Engine::new(&config)?));
        self.0.push((bounds_checks, features, options.clone()));
        Ok(options)
    }
}
