//! Reports: a table for people, JSON lines for programs, ratios between two runtimes, and a
//! regression check against an earlier run's JSON.

use crate::measure::{Measurement, Summary};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

/// How to read one phase's summary from a measurement.
type PhaseOf = fn(&Measurement) -> Summary;

/// The three phases, in the order reports give them.
const PHASES: [(&str, PhaseOf); 3] = [
    ("compile", Measurement::compile),
    ("instantiate", Measurement::instantiate),
    ("execute", Measurement::execute),
];

/// One line of the `--json` report: medians in seconds under sightglass's names
/// (`compile_s`, `instantiate_s`, `execute_s`), with the fastest and slowest iteration of
/// each phase beside them.
pub fn json_line(measurement: &Measurement) -> String {
    let mut record = json!({
        "file": measurement.workload.name,
        "runtime": measurement.runtime,
        "iterations": measurement.iterations.len(),
    });
    for (phase, summary) in PHASES {
        let summary = summary(measurement);
        record[format!("{phase}_s")] = json!(summary.median.as_secs_f64());
        record[format!("{phase}_min_s")] = json!(summary.min.as_secs_f64());
        record[format!("{phase}_max_s")] = json!(summary.max.as_secs_f64());
    }
    record.to_string()
}

/// A table of medians with their spread (`fastest–slowest`), one row per measurement.
pub fn table(measurements: &[Measurement]) -> String {
    let width = measurements
        .iter()
        .map(|m| m.workload.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:<width$} {:>8} {:>28} {:>28} {:>28}\n",
        "file", "runtime", "compile", "instantiate", "execute"
    );
    for measurement in measurements {
        let _ = write!(
            out,
            "{:<width$} {:>8}",
            measurement.workload.name, measurement.runtime
        );
        for (_, summary) in PHASES {
            let _ = write!(out, " {:>28}", spread(summary(measurement)));
        }
        out.push('\n');
    }
    out
}

fn spread(summary: Summary) -> String {
    format!(
        "{} ({}–{})",
        human(summary.median),
        human(summary.min),
        human(summary.max)
    )
}

/// A duration in the unit that keeps three or four significant digits.
fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.3}s")
    } else if seconds >= 1e-3 {
        format!("{:.2}ms", seconds * 1e3)
    } else {
        format!("{:.1}µs", seconds * 1e6)
    }
}

/// Ratios `numerator / denominator` for each file both measured: how `numerator` (weft)
/// compares with `denominator` (say Wasmtime) on the same files in the same run, below 1
/// meaning `numerator` is faster. The columns are the medians of compile, instantiate and
/// execute time, then the fastest execute iterations. On a shared machine whose load comes
/// and goes, some iterations of a workload run at half speed, and the medians of ten move
/// by tenths from run to run; each runtime's fastest iteration moves much less.
pub fn ratios(numerator: &[Measurement], denominator: &[Measurement]) -> Vec<(String, [f64; 4])> {
    let by_file: HashMap<_, _> = denominator.iter().map(|m| (&m.workload.name, m)).collect();
    numerator
        .iter()
        .filter_map(|m| {
            let other = by_file.get(&m.workload.name)?;
            let ratio =
                |phase: PhaseOf| phase(m).median.as_secs_f64() / phase(other).median.as_secs_f64();
            let [compile, instantiate, execute] = PHASES.map(|(_, phase)| ratio(phase));
            let fastest = m.execute().min.as_secs_f64() / other.execute().min.as_secs_f64();
            Some((
                m.workload.name.clone(),
                [compile, instantiate, execute, fastest],
            ))
        })
        .collect()
}

/// The geometric mean of `values` (1 for none).
pub fn geometric_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, count), v| (sum + v.ln(), count + 1));
    if count == 0 {
        1.0
    } else {
        (sum / count as f64).exp()
    }
}

/// [`ratios`] as a Markdown table with a geometric-mean row.
pub fn ratio_table(rows: &[(String, [f64; 4])], numerator: &str, denominator: &str) -> String {
    let mut out = format!(
        "| file | compile {numerator}/{denominator} | instantiate | execute | execute, fastest |\n\
         |---|---:|---:|---:|---:|\n"
    );
    for (file, [compile, instantiate, execute, fastest]) in rows {
        let _ = writeln!(
            out,
            "| {file} | {compile:.2} | {instantiate:.2} | {execute:.2} | {fastest:.2} |"
        );
    }
    let mean = |column: usize| geometric_mean(rows.iter().map(|(_, r)| r[column]));
    let _ = writeln!(
        out,
        "| **geometric mean** | {:.2} | {:.2} | {:.2} | {:.2} |",
        mean(0),
        mean(1),
        mean(2),
        mean(3)
    );
    out
}

/// A phase whose median grew past the threshold since an earlier run.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub file: String,
    pub runtime: String,
    pub phase: &'static str,
    /// The median now over the median then.
    pub ratio: f64,
}

/// Compares `measurements` with an earlier run's `--json` report (`previous`, one object per
/// line): every phase whose median is now more than `threshold` times the earlier one.
/// Files the earlier run did not measure are left out; a line that is not such an object is
/// an error.
pub fn regressions(
    previous: &str,
    measurements: &[Measurement],
    threshold: f64,
) -> anyhow::Result<Vec<Regression>> {
    let mut earlier = HashMap::new();
    for (number, line) in previous.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(line).map_err(|error| {
            anyhow::anyhow!("line {} of the earlier report: {error}", number + 1)
        })?;
        let file = record["file"].as_str();
        let runtime = record["runtime"].as_str().unwrap_or("weft");
        let Some(file) = file else {
            anyhow::bail!("line {} of the earlier report has no `file`", number + 1);
        };
        earlier.insert((file.to_string(), runtime.to_string()), record);
    }
    let mut found = Vec::new();
    for measurement in measurements {
        let file = measurement.workload.name.clone();
        let Some(record) = earlier.get(&(file.clone(), measurement.runtime.clone())) else {
            continue;
        };
        for (phase, summary) in PHASES {
            let Some(then) = record[format!("{phase}_s")].as_f64() else {
                continue;
            };
            let ratio = summary(measurement).median.as_secs_f64() / then;
            if then > 0.0 && ratio > threshold {
                found.push(Regression {
                    file: file.clone(),
                    runtime: measurement.runtime.clone(),
                    phase,
                    ratio,
                });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Phases;
    use crate::runtime::Workload;

    fn measurement(file: &str, runtime: &str, execute_ms: &[u64]) -> Measurement {
        Measurement {
            runtime: runtime.to_string(),
            workload: Workload {
                file: file.into(),
                name: file.to_string(),
                bytes: Vec::new(),
                dirs: Vec::new(),
                guest_output: false,
            },
            iterations: execute_ms
                .iter()
                .map(|&ms| Phases {
                    compile: Duration::from_millis(10),
                    instantiate: Duration::from_millis(1),
                    execute: Duration::from_millis(ms),
                })
                .collect(),
        }
    }

    #[test]
    fn json_lines_carry_medians_in_seconds() {
        let line = json_line(&measurement("a.wasm", "weft", &[30, 10, 20]));
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["file"], "a.wasm");
        assert_eq!(record["iterations"], 3);
        assert_eq!(record["execute_s"], 0.02);
        assert_eq!(record["execute_min_s"], 0.01);
        assert_eq!(record["compile_s"], 0.01);
    }

    #[test]
    fn ratios_pair_files_and_average_geometrically() {
        let weft = [
            measurement("a.wasm", "weft", &[10]),
            measurement("b.wasm", "weft", &[40]),
        ];
        let other = [
            measurement("a.wasm", "wasmtime", &[20]),
            measurement("b.wasm", "wasmtime", &[20]),
        ];
        let rows = ratios(&weft, &other);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1[2], 0.5);
        assert_eq!(rows[1].1[2], 2.0);
        assert!((geometric_mean(rows.iter().map(|r| r.1[2])) - 1.0).abs() < 1e-12);
        assert!(ratio_table(&rows, "weft", "wasmtime").contains("| **geometric mean** | 1.00 |"));
    }

    #[test]
    fn the_fastest_execute_iterations_have_a_column_of_their_own() {
        // weft's iterations at 10, 30, 30 against 10, 10, 20: the medians say 3, the
        // fastest iterations 1.
        let weft = [measurement("a.wasm", "weft", &[10, 30, 30])];
        let other = [measurement("a.wasm", "wasmtime", &[10, 10, 20])];
        let rows = ratios(&weft, &other);
        assert_eq!(rows[0].1[2], 3.0);
        assert_eq!(rows[0].1[3], 1.0);
        let table = ratio_table(&rows, "weft", "wasmtime");
        assert!(table.contains("| execute, fastest |"), "{table}");
        assert!(
            table.contains("| a.wasm | 1.00 | 1.00 | 3.00 | 1.00 |"),
            "{table}"
        );
    }

    #[test]
    fn a_slower_phase_is_a_regression_and_a_bad_report_an_error() {
        let before = json_line(&measurement("a.wasm", "weft", &[10]));
        let now = [measurement("a.wasm", "weft", &[13])];
        let found = regressions(&before, &now, 1.2).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].phase, "execute");
        assert!((found[0].ratio - 1.3).abs() < 1e-9);
        assert!(regressions(&before, &now, 1.5).unwrap().is_empty());
        assert!(regressions("not json", &now, 1.5).is_err());
        assert!(regressions("{\"runtime\": \"weft\"}", &now, 1.5).is_err());
    }
}
