//! Prints subject/baseline ratios from the estimates criterion saved for the benches
//! (`compute`, `threads`, `shared_everything`, `host_integration`): one row per entry of
//! [`COMPARISONS`], where the subject is usually `weft` and the baseline native Rust.
//!
//! Uses the median, which is steadier than the mean on small shared machines. Finds the
//! criterion directory the way criterion does: `$CRITERION_HOME`, then
//! `$CARGO_TARGET_DIR/criterion`, then the workspace's `target/criterion`.
//!
//! A comparison whose estimates are missing (its bench has not run) still gets a row, marked
//! `missing`, and the missing benchmarks are listed on stderr; the exit status is then 1, so
//! 0 means every comparison was measured. An estimate file that exists but cannot be read is
//! an error: nothing is printed but the error, and the exit status is 1.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weft_benches::COMPARISONS;

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

/// Median time per iteration in nanoseconds, or `None` if criterion saved no estimates for
/// `group`/`id`.
fn median_ns(criterion: &Path, group: &str, id: &str) -> Result<Option<f64>, String> {
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

fn format_ns(ns: Option<f64>) -> String {
    match ns {
        None => "missing".into(),
        Some(ns) if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        Some(ns) if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        Some(ns) if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{ns:.2} ns"),
    }
}

/// The table, and the benchmarks (`group/id`) it found no estimates for.
struct Report {
    table: String,
    missing: BTreeSet<String>,
}

fn report(criterion: &Path) -> Result<Report, String> {
    let mut table = format!(
        "{:<25}{:<14}{:>11}  {:<20}{:>11}{:>18}\n",
        "group", "baseline", "median", "subject", "median", "subject/baseline"
    );
    let mut missing = BTreeSet::new();
    for comparison in COMPARISONS {
        let group = comparison.group;
        let mut median = |id: &str| {
            let median = median_ns(criterion, group, id)?;
            if median.is_none() {
                missing.insert(format!("{group}/{id}"));
            }
            Ok::<_, String>(median)
        };
        let baseline = median(comparison.baseline)?;
        let subject = median(comparison.subject)?;
        let ratio = match (baseline, subject) {
            (Some(baseline), Some(subject)) => format!("{:.2}", subject / baseline),
            _ => "-".into(),
        };
        table += &format!(
            "{group:<25}{:<14}{:>11}  {:<20}{:>11}{ratio:>18}\n",
            comparison.baseline,
            format_ns(baseline),
            comparison.subject,
            format_ns(subject),
        );
    }
    Ok(Report { table, missing })
}

fn main() -> ExitCode {
    let criterion = criterion_dir();
    match report(&criterion) {
        Ok(Report { table, missing }) => {
            print!("{table}");
            if missing.is_empty() {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "note: no estimates in {} for {}; run `cargo bench -p weft-benches` first",
                criterion.display(),
                missing.into_iter().collect::<Vec<_>>().join(", ")
            );
            ExitCode::FAILURE
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

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weft-ratios-{name}-{}", std::process::id()));
        // Left over from an interrupted run, if anything.
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn reports_every_comparison_and_marks_missing_data() {
        let dir = temp_dir("missing");
        let empty = report(&dir).unwrap();
        assert_eq!(empty.table.lines().count(), 1 + COMPARISONS.len());
        assert!(
            empty
                .table
                .lines()
                .skip(1)
                .all(|line| line.matches("missing").count() == 2 && line.ends_with(" -")),
            "{}",
            empty.table
        );
        // Baselines shared by several subjects are listed once.
        let ids: BTreeSet<_> = COMPARISONS
            .iter()
            .flat_map(|c| [(c.group, c.baseline), (c.group, c.subject)])
            .collect();
        assert_eq!(empty.missing.len(), ids.len());
        assert!(empty.missing.contains("lock_unlock_contended/parking_lot"));

        for comparison in COMPARISONS {
            write_estimate(&dir, comparison.group, comparison.baseline, 2000.0);
        }
        let last = COMPARISONS[COMPARISONS.len() - 1];
        for comparison in &COMPARISONS[..COMPARISONS.len() - 1] {
            write_estimate(&dir, comparison.group, comparison.subject, 3000.0);
        }
        let partial = report(&dir).unwrap();
        assert_eq!(
            partial.missing,
            BTreeSet::from([format!("{}/{}", last.group, last.subject)])
        );
        let last_line = partial.table.lines().last().unwrap();
        assert!(
            last_line.starts_with(last.group)
                && last_line.contains("2.00 µs")
                && last_line.contains("missing")
                && last_line.ends_with(" -"),
            "{last_line}"
        );

        write_estimate(&dir, last.group, last.subject, 3000.0);
        let full = report(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(full.missing.is_empty());
        for (line, comparison) in full.table.lines().skip(1).zip(COMPARISONS) {
            let columns: Vec<_> = line.split_whitespace().collect();
            assert_eq!(
                columns,
                [
                    comparison.group,
                    comparison.baseline,
                    "2.00",
                    "µs",
                    comparison.subject,
                    "3.00",
                    "µs",
                    "1.50"
                ],
                "{line}"
            );
        }
    }

    #[test]
    fn an_unreadable_estimate_is_an_error() {
        let dir = temp_dir("invalid");
        let first = COMPARISONS[0];
        write_estimate(&dir, first.group, first.baseline, 1.0);
        let path = dir
            .join(first.group)
            .join(first.subject)
            .join("new")
            .join("estimates.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{").unwrap();
        let error = report(&dir).err().expect("invalid JSON is an error");
        std::fs::write(&path, r#"{"mean":{"point_estimate":1.0}}"#).unwrap();
        let no_median = report(&dir).err().expect("a missing median is an error");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(error.contains("not valid JSON"), "{error}");
        assert!(no_median.contains("median.point_estimate"), "{no_median}");
    }
}
