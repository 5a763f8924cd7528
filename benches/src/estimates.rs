//! Where criterion keeps its results, and reading them back: shared by the `ratios` tool and
//! the benches that write reports of their own next to criterion's.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Criterion's output directory, found the way criterion finds it: `$CRITERION_HOME`, then
/// `$CARGO_TARGET_DIR/criterion`, then the workspace's `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the benches crate is inside the workspace")
        .join("target")
        .join("criterion")
}

/// Median time per iteration in nanoseconds of benchmark `id` (`function` or
/// `function/parameter`) of `group`, or `None` if criterion saved no estimates for it.
pub fn median_ns(criterion: &Path, group: &str, id: &str) -> Result<Option<f64>, String> {
    let path = criterion
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read {} ({error})", path.display())),
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not valid JSON: {error}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .map(Some)
        .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
}
