//! Prints subject/baseline ratios from the estimates criterion saved for the benches: one row
//! per [`comparisons`] entry (the subject is usually `weft` and the baseline native Rust), and
//! for the `thread_models` bench also the memory per thread (measured by the `thread_memory`
//! binary) and the parallel kernel's speedups.
//!
//! ```text
//! ratios [--markdown] [--bench NAME]...
//! ```
//!
//! `--bench` keeps the rows of the named benches (`compute`, `threads`, `shared_everything`,
//! `host_integration`, `thread_models`); `--markdown` prints markdown tables instead of
//! aligned text.
//!
//! Uses the median, which is steadier than the mean on small shared machines. Finds the
//! criterion directory the way criterion does (see [`criterion_dir`]).
//!
//! A comparison whose estimates are missing (its bench has not run) still gets a row, marked
//! `missing`, and the missing benchmarks are listed on stderr; the exit status is then 1, so
//! 0 means every comparison was measured. Optional comparisons (wasmtime's, measured only with
//! the `wasmtime` feature) are shown when both sides were measured and are never missing. An
//! estimate file that exists but cannot be read is an error: nothing is printed but the
//! error, and the exit status is 1.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use weft::WasiThreadsModel;
use weft_benches::estimates::{criterion_dir, median_ns};
use weft_benches::programs::{ONE_INSTANCE_ID, PROGRAM_PREFIX, ProgramMemorySide, ProgramSize};
use weft_benches::thread_models::{
    INSTANCE_PER_THREAD_ID, MEMORY_REPORT_FILE, MemoryReport, ModuleSize, NATIVE_ID,
    SHARED_EVERYTHING_ID, WASMTIME_ID, parallel_thread_counts,
};
use weft_benches::{
    BENCHES, MODEL_PARALLEL_GROUP, PROGRAM_PARALLEL_GROUP, THREAD_MODELS_BENCH, comparisons,
};

const USAGE: &str = "usage: ratios [--markdown] [--bench NAME]...";

#[derive(Debug, Default, PartialEq)]
struct Options {
    markdown: bool,
    /// Benches whose rows to print; all when empty.
    benches: Vec<String>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--markdown" => options.markdown = true,
                "--bench" => {
                    let bench = args.next().ok_or("--bench needs a name")?;
                    if !BENCHES.contains(&bench.as_str()) {
                        return Err(format!(
                            "unknown bench `{bench}`; the benches are {}",
                            BENCHES.join(", ")
                        ));
                    }
                    options.benches.push(bench);
                }
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
            }
        }
        Ok(options)
    }

    fn selects(&self, bench: &str) -> bool {
        self.benches.is_empty() || self.benches.iter().any(|selected| selected == bench)
    }
}

/// A table printed as aligned text or as markdown.
struct Table {
    title: &'static str,
    headers: Vec<&'static str>,
    /// Whether each column is right-aligned (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(title: &'static str, columns: &[(&'static str, bool)]) -> Table {
        Table {
            title,
            headers: columns.iter().map(|&(header, _)| header).collect(),
            right: columns.iter().map(|&(_, right)| right).collect(),
            rows: Vec::new(),
        }
    }

    fn render(&self, markdown: bool) -> String {
        if markdown {
            let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
            let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
            let rule: Vec<String> = self
                .right
                .iter()
                .map(|&right| if right { "---:" } else { "---" }.into())
                .collect();
            let mut text = format!("### {}\n\n", self.title) + &line(&headers) + &line(&rule);
            for row in &self.rows {
                text += &line(row);
            }
            return text;
        }
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|column| {
                self.rows
                    .iter()
                    .map(|row| row[column].chars().count())
                    .chain([self.headers[column].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&self.right)
                .map(|((cell, &width), &right)| {
                    let pad = " ".repeat(width - cell.chars().count());
                    if right {
                        pad + cell
                    } else {
                        format!("{cell}{pad}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut text = format!("{}\n", self.title) + &line(self.headers.clone());
        for row in &self.rows {
            text += &line(row.iter().map(String::as_str).collect());
        }
        text
    }
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

fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> String {
    match (numerator, denominator) {
        (Some(numerator), Some(denominator)) => format!("{:.2}", numerator / denominator),
        _ => "-".into(),
    }
}

/// The tables, and what they found no data for (`group/id`s, the memory report).
struct Report {
    text: String,
    missing: BTreeSet<String>,
}

/// Reads the estimates of one report, noting the required ones that are missing.
struct Estimates<'a> {
    criterion: &'a Path,
    missing: BTreeSet<String>,
}

impl Estimates<'_> {
    fn median(&mut self, group: &str, id: &str, required: bool) -> Result<Option<f64>, String> {
        let median = median_ns(self.criterion, group, id)?;
        if median.is_none() && required {
            self.missing.insert(format!("{group}/{id}"));
        }
        Ok(median)
    }
}

fn comparison_table(estimates: &mut Estimates, options: &Options) -> Result<Table, String> {
    let mut table = Table::new(
        "Median time, subject / baseline (below 1: the subject is faster)",
        &[
            ("group", false),
            ("baseline", false),
            ("median", true),
            ("subject", false),
            ("median", true),
            ("subject/baseline", true),
        ],
    );
    for comparison in comparisons() {
        if !options.selects(comparison.bench) {
            continue;
        }
        let required = !comparison.optional;
        let group = comparison.group;
        let baseline = estimates.median(group, &comparison.baseline, required)?;
        let subject = estimates.median(group, &comparison.subject, required)?;
        if comparison.optional && (baseline.is_none() || subject.is_none()) {
            continue;
        }
        table.rows.push(vec![
            group.into(),
            comparison.baseline,
            format_ns(baseline),
            comparison.subject,
            format_ns(subject),
            ratio(subject, baseline),
        ]);
    }
    Ok(table)
}

fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("-".into(), |bytes| format!("{:.1}", bytes / 1024.0))
}

/// The memory per thread of every side, against native, and shared everything against
/// instance per thread (and wasmtime's, when measured) for each module size.
fn memory_tables(report: &MemoryReport) -> Vec<Table> {
    let bytes = |id: &str| {
        report
            .entries
            .iter()
            .find(|entry| entry.id == id)
            .map(|entry| entry.bytes_per_thread.median)
    };
    let native = bytes(NATIVE_ID);
    // The wasi-threads program's sides compare with the program built natively.
    let program_native = bytes(&ProgramMemorySide::Native.id());
    let mut per_side = Table::new(
        "Memory per live thread (resident set growth with the threads blocked)",
        &[
            ("side", false),
            ("KiB per thread", true),
            ("range", true),
            ("/ native", true),
        ],
    );
    for entry in &report.entries {
        let bytes = entry.bytes_per_thread;
        per_side.rows.push(vec![
            entry.id.clone(),
            kib(Some(bytes.median)),
            format!("{}-{}", kib(Some(bytes.min)), kib(Some(bytes.max))),
            ratio(
                Some(bytes.median),
                if entry.id.starts_with(PROGRAM_PREFIX) {
                    program_native
                } else {
                    native
                },
            ),
        ]);
    }
    let mut models = Table::new(
        "Memory per thread, shared everything / instance per thread",
        &[
            ("module", false),
            ("instance-per-thread side", false),
            ("KiB", true),
            ("shared everything KiB", true),
            ("shared everything / instance per thread", true),
        ],
    );
    for size in ModuleSize::ALL {
        let se = bytes(&format!("{SHARED_EVERYTHING_ID}/{}", size.id()));
        for ipt_id in [INSTANCE_PER_THREAD_ID, WASMTIME_ID] {
            let ipt = bytes(&format!("{ipt_id}/{}", size.id()));
            if ipt_id == WASMTIME_ID && ipt.is_none() {
                continue;
            }
            models.rows.push(vec![
                size.id().into(),
                ipt_id.into(),
                kib(ipt),
                kib(se),
                ratio(se, ipt),
            ]);
        }
    }
    for size in ProgramSize::ALL {
        let [one, ipt] = [
            WasiThreadsModel::OneInstance,
            WasiThreadsModel::InstancePerThread,
        ]
        .map(|model| bytes(&ProgramMemorySide::Weft(model, size).id()));
        models.rows.push(vec![
            format!("{PROGRAM_PREFIX}{}", size.id()),
            INSTANCE_PER_THREAD_ID.into(),
            kib(ipt),
            kib(one),
            ratio(one, ipt),
        ]);
    }
    vec![per_side, models]
}

/// Time at 1 thread over time at n threads, for every side of a parallel kernel (`group`,
/// whose ids are `<side>/<threads>`), and that speedup against native's.
fn speedup_table(
    estimates: &mut Estimates,
    title: &'static str,
    group: &str,
    sides: &[&str],
) -> Result<Table, String> {
    let mut table = Table::new(
        title,
        &[
            ("side", false),
            ("threads", true),
            ("median", true),
            ("speedup", true),
            ("native speedup", true),
            ("speedup / native speedup", true),
        ],
    );
    let counts = parallel_thread_counts();
    let mut time = |side: &str, threads: u32| {
        let required = side != WASMTIME_ID;
        estimates.median(group, &format!("{side}/{threads}"), required)
    };
    let speedup = |one: Option<f64>, n: Option<f64>| one.zip(n).map(|(one, n)| one / n);
    let mut native = Vec::new();
    for &threads in &counts {
        native.push(speedup(time(NATIVE_ID, 1)?, time(NATIVE_ID, threads)?));
    }
    for &side in sides {
        let one = time(side, 1)?;
        if side == WASMTIME_ID && one.is_none() {
            continue;
        }
        for (&threads, &native) in counts.iter().zip(&native) {
            let n = time(side, threads)?;
            let side_speedup = speedup(one, n);
            let format = |value: Option<f64>| value.map_or("-".into(), |v| format!("{v:.2}"));
            table.rows.push(vec![
                side.into(),
                threads.to_string(),
                format_ns(n),
                format(side_speedup),
                format(native),
                ratio(side_speedup, native),
            ]);
        }
    }
    Ok(table)
}

fn report(criterion: &Path, options: &Options) -> Result<Report, String> {
    let mut estimates = Estimates {
        criterion,
        missing: BTreeSet::new(),
    };
    let mut tables = vec![comparison_table(&mut estimates, options)?];
    let mut notes = Vec::new();
    if options.selects(THREAD_MODELS_BENCH) {
        let path = criterion.join(MEMORY_REPORT_FILE);
        match MemoryReport::read(&path)? {
            Some(memory) => match &memory.skipped {
                Some(reason) => {
                    notes.push(format!("Memory per thread was not measured: {reason}."))
                }
                None => {
                    tables.extend(memory_tables(&memory));
                    notes.push(format!(
                        "Memory: the growth as {} more threads block, in {} batches on top of \
                         each other (after one uncounted batch), each side in a process of its \
                         own; median and range of the batches.",
                        memory.threads, memory.repetitions
                    ));
                }
            },
            None => {
                estimates.missing.insert(MEMORY_REPORT_FILE.into());
            }
        }
        tables.push(speedup_table(
            &mut estimates,
            "Parallel histogram speedup (time at 1 thread / time at n threads)",
            MODEL_PARALLEL_GROUP,
            &[
                NATIVE_ID,
                SHARED_EVERYTHING_ID,
                INSTANCE_PER_THREAD_ID,
                WASMTIME_ID,
            ],
        )?);
        tables.push(speedup_table(
            &mut estimates,
            "wasi-threads program histogram speedup (time at 1 thread / time at n threads)",
            PROGRAM_PARALLEL_GROUP,
            &[NATIVE_ID, ONE_INSTANCE_ID, INSTANCE_PER_THREAD_ID],
        )?);
    }
    let mut text = tables
        .iter()
        .map(|table| table.render(options.markdown))
        .collect::<Vec<_>>()
        .join("\n");
    for note in notes {
        text += &format!("\n{note}\n");
    }
    Ok(Report {
        text,
        missing: estimates.missing,
    })
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let criterion = criterion_dir();
    match report(&criterion, &options) {
        Ok(Report { text, missing }) => {
            print!("{text}");
            if missing.is_empty() {
                return ExitCode::SUCCESS;
            }
            let memory = if missing.contains(MEMORY_REPORT_FILE) {
                " (and, for the memory report, `cargo run --release -p weft-benches --bin \
                 thread_memory`)"
            } else {
                ""
            };
            eprintln!(
                "note: no estimates in {} for {}; run `cargo bench -p weft-benches` first{memory}",
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
    use weft_benches::thread_models::{MemoryEntry, ThreadMemory};
    use weft_benches::{Comparison, FIB_GROUP};

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

    fn only(bench: &str) -> Options {
        Options {
            markdown: false,
            benches: vec![bench.into()],
        }
    }

    fn required(bench: &str) -> Vec<Comparison> {
        comparisons()
            .into_iter()
            .filter(|comparison| comparison.bench == bench && !comparison.optional)
            .collect()
    }

    /// The comparison table's rows: the lines after its title and header.
    fn comparison_rows(text: &str) -> Vec<&str> {
        text.split("\n\n").next().unwrap().lines().skip(2).collect()
    }

    use std::path::PathBuf;

    #[test]
    fn reports_every_required_comparison_and_marks_missing_data() {
        let dir = temp_dir("missing");
        let options = only("host_integration");
        let rows = required("host_integration");
        let empty = report(&dir, &options).unwrap();
        let lines = comparison_rows(&empty.text);
        assert_eq!(lines.len(), rows.len(), "{}", empty.text);
        assert!(
            lines
                .iter()
                .all(|line| line.matches("missing").count() == 2 && line.ends_with(" -")),
            "{}",
            empty.text
        );
        // Baselines shared by several subjects are listed once.
        let ids: BTreeSet<_> = rows
            .iter()
            .flat_map(|c| [(c.group, &c.baseline), (c.group, &c.subject)])
            .collect();
        assert_eq!(empty.missing.len(), ids.len());
        assert!(empty.missing.contains("lock_unlock_contended/parking_lot"));

        for comparison in &rows {
            write_estimate(&dir, comparison.group, &comparison.baseline, 2000.0);
        }
        let (last, earlier) = rows.split_last().unwrap();
        for comparison in earlier {
            write_estimate(&dir, comparison.group, &comparison.subject, 3000.0);
        }
        let partial = report(&dir, &options).unwrap();
        assert_eq!(
            partial.missing,
            BTreeSet::from([format!("{}/{}", last.group, last.subject)])
        );
        let last_line = *comparison_rows(&partial.text).last().unwrap();
        assert!(
            last_line.starts_with(last.group)
                && last_line.contains("2.00 µs")
                && last_line.contains("missing")
                && last_line.ends_with(" -"),
            "{last_line}"
        );

        write_estimate(&dir, last.group, &last.subject, 3000.0);
        let full = report(&dir, &options).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(full.missing.is_empty());
        for (line, comparison) in comparison_rows(&full.text).into_iter().zip(&rows) {
            let columns: Vec<_> = line.split_whitespace().collect();
            assert_eq!(
                columns,
                [
                    comparison.group,
                    &comparison.baseline,
                    "2.00",
                    "µs",
                    &comparison.subject,
                    "3.00",
                    "µs",
                    "1.50"
                ],
                "{line}"
            );
        }
    }

    #[test]
    fn optional_comparisons_show_only_when_measured_and_are_never_missing() {
        let dir = temp_dir("optional");
        let options = only("compute");
        for (id, median) in [("native", 100.0), ("weft", 300.0)] {
            write_estimate(&dir, FIB_GROUP, id, median);
        }
        let without = report(&dir, &options).unwrap();
        assert!(!without.text.contains("wasmtime"), "{}", without.text);
        assert!(without.missing.iter().all(|id| !id.contains("wasmtime")));
        write_estimate(&dir, FIB_GROUP, "wasmtime", 200.0);
        let with = report(&dir, &options).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let fib_rows: Vec<Vec<&str>> = comparison_rows(&with.text)
            .into_iter()
            .filter(|line| line.starts_with(FIB_GROUP))
            .map(|line| line.split_whitespace().collect())
            .collect();
        let ratios: Vec<_> = fib_rows
            .iter()
            .map(|row| (row[1], row[4], row[7]))
            .collect();
        assert_eq!(
            ratios,
            [
                ("native", "weft", "3.00"),
                ("native", "wasmtime", "2.00"),
                ("wasmtime", "weft", "1.50")
            ]
        );
        assert_eq!(with.missing, without.missing);
    }

    #[test]
    fn thread_models_report_memory_and_speedups() {
        let dir = temp_dir("thread-models");
        let memory = MemoryReport {
            threads: 64,
            repetitions: 5,
            entries: [
                "native",
                "shared_everything/10k_functions",
                "instance_per_thread/10k_functions",
            ]
            .into_iter()
            .zip([8192.0, 4096.0, 409_600.0])
            .map(|(id, median)| MemoryEntry {
                id: id.into(),
                bytes_per_thread: ThreadMemory {
                    median,
                    min: median,
                    max: median,
                },
            })
            .collect(),
            skipped: None,
        };
        memory.write(&dir.join(MEMORY_REPORT_FILE)).unwrap();
        for threads in parallel_thread_counts() {
            // Native halves its time per thread added; the guests gain less.
            write_estimate(
                &dir,
                MODEL_PARALLEL_GROUP,
                &format!("native/{threads}"),
                1000.0 / f64::from(threads),
            );
            for side in [SHARED_EVERYTHING_ID, INSTANCE_PER_THREAD_ID] {
                let time = 4000.0 / f64::from(threads).sqrt();
                write_estimate(
                    &dir,
                    MODEL_PARALLEL_GROUP,
                    &format!("{side}/{threads}"),
                    time,
                );
            }
        }
        let options = Options {
            markdown: true,
            benches: vec!["thread_models".into()],
        };
        let text = report(&dir, &options).unwrap().text;
        let missing = report(&dir, &options).unwrap().missing;
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!missing.contains(MEMORY_REPORT_FILE));
        assert!(text.contains("| native | 8.0 | 8.0-8.0 | 1.00 |"), "{text}");
        assert!(
            text.contains("| instance_per_thread/10k_functions | 400.0 | 400.0-400.0 | 50.00 |"),
            "{text}"
        );
        assert!(
            text.contains("| 10k_functions | instance_per_thread | 400.0 | 4.0 | 0.01 |"),
            "{text}"
        );
        assert!(
            text.contains("| native | 2 | 500.00 ns | 2.00 | 2.00 | 1.00 |"),
            "{text}"
        );
        assert!(
            text.contains("| shared_everything | 2 | 2.83 µs | 1.41 | 2.00 | 0.71 |"),
            "{text}"
        );
        assert!(
            text.contains("| --- | --- | ---: | --- | ---: | ---: |"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_memory_report_is_missing_only_for_thread_models() {
        let dir = temp_dir("no-memory");
        let thread_models = report(&dir, &only("thread_models")).unwrap();
        let compute = report(&dir, &only("compute")).unwrap();
        assert!(thread_models.missing.contains(MEMORY_REPORT_FILE));
        assert!(!compute.missing.contains(MEMORY_REPORT_FILE));
        assert!(!compute.text.contains("speedup"), "{}", compute.text);
    }

    #[test]
    fn options_select_benches_and_reject_unknown_arguments() {
        let parse = |args: &[&str]| Options::parse(args.iter().map(|arg| arg.to_string()));
        assert_eq!(parse(&[]), Ok(Options::default()));
        let options = parse(&[
            "--markdown",
            "--bench",
            "compute",
            "--bench",
            "thread_models",
        ])
        .unwrap();
        assert!(options.markdown && options.selects("compute") && !options.selects("threads"));
        assert!(parse(&["--bench"]).is_err());
        assert!(
            parse(&["--bench", "nope"])
                .unwrap_err()
                .contains("thread_models")
        );
        assert!(parse(&["--json"]).is_err());
    }

    #[test]
    fn an_unreadable_estimate_is_an_error() {
        let dir = temp_dir("invalid");
        let first = &comparisons()[0];
        write_estimate(&dir, first.group, &first.baseline, 1.0);
        let path = dir
            .join(first.group)
            .join(&first.subject)
            .join("new")
            .join("estimates.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{").unwrap();
        let options = Options::default();
        let error = report(&dir, &options)
            .err()
            .expect("invalid JSON is an error");
        std::fs::write(&path, r#"{"mean":{"point_estimate":1.0}}"#).unwrap();
        let no_median = report(&dir, &options)
            .err()
            .expect("a missing median is an error");
        std::fs::write(dir.join(MEMORY_REPORT_FILE), "[]").unwrap();
        std::fs::remove_dir_all(dir.join(first.group)).unwrap();
        let bad_memory = report(&dir, &options)
            .err()
            .expect("an unreadable memory report is an error");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(error.contains("not valid JSON"), "{error}");
        assert!(no_median.contains("median.point_estimate"), "{no_median}");
        assert!(bad_memory.contains(MEMORY_REPORT_FILE), "{bad_memory}");
    }
}
