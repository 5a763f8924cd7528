//! Timing a workload's phases over several iterations.

use crate::runtime::{Marks, Runtime, Workload};
use std::time::{Duration, Instant};

/// The time of each phase of one iteration.
#[derive(Copy, Clone, Debug)]
pub struct Phases {
    /// From the bytes to a compiled module.
    pub compile: Duration,
    /// From the compiled module to the moment `_start` is called: linking, instantiating,
    /// the start function.
    pub instantiate: Duration,
    /// Between the program's `bench.start` and `bench.end` calls when it makes them, else
    /// the whole of `_start`.
    pub execute: Duration,
}

/// A phase's times over the iterations: median, fastest and slowest.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Summary {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Summary {
    /// The summary of `times`, which must not be empty.
    pub fn of(times: impl IntoIterator<Item = Duration>) -> Summary {
        let mut times: Vec<Duration> = times.into_iter().collect();
        assert!(!times.is_empty(), "a summary needs at least one time");
        times.sort_unstable();
        let middle = times.len() / 2;
        let median = if times.len() % 2 == 1 {
            times[middle]
        } else {
            (times[middle - 1] + times[middle]) / 2
        };
        Summary {
            median,
            min: times[0],
            max: times[times.len() - 1],
        }
    }
}

/// A workload's times under one runtime.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub runtime: String,
    pub workload: Workload,
    pub iterations: Vec<Phases>,
}

impl Measurement {
    pub fn compile(&self) -> Summary {
        Summary::of(self.iterations.iter().map(|phases| phases.compile))
    }

    pub fn instantiate(&self) -> Summary {
        Summary::of(self.iterations.iter().map(|phases| phases.instantiate))
    }

    pub fn execute(&self) -> Summary {
        Summary::of(self.iterations.iter().map(|phases| phases.execute))
    }
}

/// Runs `workload` `iterations` times under `runtime`, compiling afresh each time.
pub fn measure<R: Runtime>(
    runtime: &R,
    workload: &Workload,
    iterations: usize,
) -> anyhow::Result<Measurement> {
    assert!(iterations > 0, "at least one iteration");
    let measured = (0..iterations)
        .map(|_| run_once(runtime, workload))
        .collect::<anyhow::Result<_>>()?;
    Ok(Measurement {
        runtime: runtime.name().to_string(),
        workload: workload.clone(),
        iterations: measured,
    })
}

/// [`measure`] for two runtimes whose iterations alternate (one of `first`, one of `second`,
/// and so on), so that a drift in the machine's speed during the run (frequency, other load)
/// falls on both alike rather than on whichever ran second.
pub fn measure_alternating<A: Runtime, B: Runtime>(
    first: &A,
    second: &B,
    workload: &Workload,
    iterations: usize,
) -> anyhow::Result<(Measurement, Measurement)> {
    assert!(iterations > 0, "at least one iteration");
    let mut first_runs = Vec::with_capacity(iterations);
    let mut second_runs = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        first_runs.push(run_once(first, workload)?);
        second_runs.push(run_once(second, workload)?);
    }
    let measurement = |runtime: &str, iterations| Measurement {
        runtime: runtime.to_string(),
        workload: workload.clone(),
        iterations,
    };
    Ok((
        measurement(first.name(), first_runs),
        measurement(second.name(), second_runs),
    ))
}

/// One iteration: compile, instantiate, run.
fn run_once<R: Runtime>(runtime: &R, workload: &Workload) -> anyhow::Result<Phases> {
    let marks = Marks::default();
    let started = Instant::now();
    let module = runtime.compile(workload)?;
    let compiled = Instant::now();
    runtime.run(&module, workload, &marks)?;
    let finished = Instant::now();
    drop(module);
    let times = marks.take();
    let instantiated = times.instantiated.ok_or_else(|| {
        anyhow::anyhow!("the {} runtime did not mark instantiation", runtime.name())
    })?;
    let execute = match (times.bench_start, times.bench_end) {
        (Some(start), Some(end)) if end >= start => end - start,
        (None, None) => finished - instantiated,
        _ => anyhow::bail!(
            "`{}` called only one of bench.start and bench.end, or end before start",
            workload.file.display()
        ),
    };
    Ok(Phases {
        compile: compiled - started,
        instantiate: instantiated - compiled,
        execute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::path::PathBuf;

    /// A runtime that runs nothing and logs its name at each compile.
    struct Logging<'a> {
        name: &'static str,
        log: &'a RefCell<Vec<&'static str>>,
    }

    impl Runtime for Logging<'_> {
        type Module = ();

        fn name(&self) -> &str {
            self.name
        }

        fn compile(&self, _: &Workload) -> anyhow::Result<()> {
            self.log.borrow_mut().push(self.name);
            Ok(())
        }

        fn run(&self, _: &(), _: &Workload, marks: &Marks) -> anyhow::Result<()> {
            marks.instantiated();
            Ok(())
        }
    }

    #[test]
    fn alternating_measurement_interleaves_the_iterations_of_the_two_runtimes() {
        let log = RefCell::new(Vec::new());
        let workload = Workload {
            file: PathBuf::from("w.wasm"),
            name: "w".into(),
            bytes: Vec::new(),
            dirs: Vec::new(),
            guest_output: false,
        };
        let (a, b) = measure_alternating(
            &Logging {
                name: "a",
                log: &log,
            },
            &Logging {
                name: "b",
                log: &log,
            },
            &workload,
            3,
        )
        .unwrap();
        assert_eq!(*log.borrow(), ["a", "b", "a", "b", "a", "b"]);
        assert_eq!((a.runtime.as_str(), a.iterations.len()), ("a", 3));
        assert_eq!((b.runtime.as_str(), b.iterations.len()), ("b", 3));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let ms = Duration::from_millis;
        assert_eq!(
            Summary::of([ms(4), ms(1), ms(3), ms(2)]),
            Summary {
                median: Duration::from_micros(2500),
                min: ms(1),
                max: ms(4)
            }
        );
        assert_eq!(Summary::of([ms(5), ms(9), ms(1)]).median, ms(5));
    }
}
