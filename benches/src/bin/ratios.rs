//! Prints weft/baseline ratios from the estimates criterion saved for the benches (`compute`,
//! `threads`, `shared_everything`); the baseline is native Rust, or for thread-local globals
//! a plain global.
//!
//! Uses the median, which is steadier than the mean on small shared machines. Finds the
//! criterion directory the way criterion does: `$CRITERION_HOME`, then
//! `$CARGO_TARGET_DIR/criterion`, then the workspace's `target/criterion`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weft_benches::GROUPS;

fn criterion_dir() -> PathBuf {
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

/// Median time per iteration in nanoseconds.
fn median_ns(criterion: &Path, group: &str, id: &str) -> Result<f64, String> {
    let path = criterion
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|error| {
        format!(
            "no estimates at {} ({error}); run `cargo bench -p weft-benches` first",
            path.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not valid JSON: {error}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
}

fn format_ns(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.2} ns"),
    }
}

fn table(criterion: &Path) -> Result<String, String> {
    let mut out = format!(
        "{:<28}{:>10}{:>12}{:>12}{:>16}\n",
        "group", "baseline", "", "weft", "weft/baseline"
    );
    for (group, baseline) in GROUPS {
        let native = median_ns(criterion, group, baseline)?;
        let weft = median_ns(criterion, group, "weft")?;
        out += &format!(
            "{group:<28}{baseline:>10}{:>12}{:>12}{:>16.2}\n",
            format_ns(native),
            format_ns(weft),
            weft / native
        );
    }
    Ok(out)
}

fn main() -> ExitCode {
    match table(&criterion_dir()) {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_estimate(dir: &Path, group: &str, id: &str, median: f64) {
        let new = dir.join(group).join(id).join("new");
        std::fs::create_dir_all(&new).unwrap();
        let json = format!(
            r#"{{"mean":{{"point_estimate":1.0}},"median":{{"point_estimate":{median}}}}}"#
        );
        std::fs::write(new.join("estimates.json"), json).unwrap();
    }

    #[test]
    fn reports_ratios_and_names_missing_data() {
        let dir = std::env::temp_dir().join(format!("weft-ratios-{}", std::process::id()));
        for (group, baseline) in GROUPS {
            write_estimate(&dir, group, baseline, 2000.0);
        }
        let error = table(&dir).unwrap_err();
        assert!(
            error.contains("weft") && error.contains("estimates.json"),
            "{error}"
        );
        for (group, _) in GROUPS {
            write_estimate(&dir, group, "weft", 3000.0);
        }
        let table = table(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(table.lines().count(), 1 + GROUPS.len());
        assert!(
            table
                .lines()
                .skip(1)
                .all(|line| line.contains("2.00 µs") && line.ends_with("1.50"))
        );
    }
}
