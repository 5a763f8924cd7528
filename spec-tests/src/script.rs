//! Running one script: parsing it, then its directives on threads of their own, within the
//! time limit.

use crate::RunOptions;
use crate::report::{FileReport, Outcome};
use crate::session::{self, STACK_SIZE, panic_message};
use crate::spectest::Spectest;
use crate::tally::Tally;
use anyhow::{Context, Result, anyhow};
use std::sync::{Arc, mpsc};
use std::thread;
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::Span;
use wast::{Wast, WastDirective};
use weft::Engine;

/// Runs the script `text` and tallies its directives. Errors only if the runner itself breaks;
/// a script that does not parse is one failed directive.
///
/// The script runs on a thread of its own, which is abandoned if the script outlives
/// `options.timeout` (a deadlocked `wait`, a thread spinning on a notify that never comes):
/// the directives that have not finished by then count as failed, and the abandoned threads
/// run on in the background, holding their stores, until the process exits. Nothing can stop
/// a thread that is running wasm code.
pub(crate) fn run(text: &str, options: &RunOptions) -> Result<FileReport> {
    let tally = Arc::new(Tally::default());
    let (done, finished) = mpsc::channel();
    let runner = {
        let (text, engine, tally) = (text.to_string(), options.engine.clone(), tally.clone());
        let (spectest, schedule) = (options.spectest, options.schedule);
        thread::Builder::new()
            .name("wast-script".to_string())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let run = || run_script(&text, &engine, spectest, &tally);
                let explored = match schedule {
                    Some(schedule) => match engine.explore(schedule, run) {
                        Ok(((), report)) => Ok(Some(report)),
                        Err(error) => Err(error),
                    },
                    None => {
                        run();
                        Ok(None)
                    }
                };
                // The receiver is gone only if the script already timed out.
                let _ = done.send(explored);
            })
            .context("cannot start a thread to run the script")?
    };
    match finished.recv_timeout(options.timeout) {
        Ok(explored) => {
            // Directives panic only within their own `catch_unwind`, so this returns at once.
            let _ = runner.join();
            let mut report = tally.report("did not run: the thread running it stopped early");
            report.schedule = explored?;
            Ok(report)
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let payload = runner
                .join()
                .expect_err("the runner ended without reporting");
            Err(anyhow!(
                "the script runner panicked: {}",
                panic_message(&*payload)
            ))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let message = format!(
                "did not finish within the script's time limit of {:?} (its threads are left \
                 running)",
                options.timeout
            );
            if tally.is_empty() {
                tally.add(1, "script", Outcome::Failed(message.clone()));
            }
            Ok(tally.report(&message))
        }
    }
}

/// Parses `text` and runs its directives on this thread, recording their outcomes in `tally`.
fn run_script(text: &str, engine: &Engine, spectest: Spectest, tally: &Tally) {
    let line_of = |span: Span| span.linecol_in(text).0 + 1;
    let parse_failure = |err: wast::Error| {
        let message = format!("cannot parse script: {}", err.message());
        tally.add(line_of(err.span()), "script", Outcome::Failed(message));
    };

    let mut lexer = Lexer::new(text);
    // core/names.wast exercises names with bidirectional-override characters on purpose.
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(err) => return parse_failure(err),
    };
    let wast = match parser::parse::<Wast<'_>>(&buffer) {
        Ok(wast) => wast,
        Err(err) => return parse_failure(err),
    };
    tally.plan(&wast.directives, &|directive: &WastDirective<'_>| {
        line_of(directive.span())
    });
    session::run_thread(engine, spectest, tally, None, wast.directives, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TIMEOUT;
    use crate::report::Failure;
    use std::time::{Duration, Instant};

    fn run_script(text: &str, timeout: Duration) -> FileReport {
        let options = RunOptions {
            timeout,
            ..RunOptions::default()
        };
        run(text, &options).unwrap()
    }

    /// The failures as `(line, kind, message)`, for compact assertions.
    fn failures(report: &FileReport) -> Vec<(usize, &'static str, &str)> {
        report
            .failures
            .iter()
            .map(
                |Failure {
                     line,
                     kind,
                     message,
                 }| (*line, *kind, message.as_str()),
            )
            .collect()
    }

    /// `$Mem` holds a shared memory; each thread imports it and stores to an address of its
    /// own with plain stores.
    const TWO_WRITERS: &str = r#"
        (module $Mem (memory (export "shared") 1 1 shared))
        (register "mem")
        (thread $T1 (shared (module $Mem))
          (register "mem" $Mem)
          (module
            (memory (import "mem" "shared") 1 1 shared)
            (func (export "run") (i32.store (i32.const 0) (i32.const 42))))
          (invoke "run"))
        (thread $T2 (shared (module $Mem))
          (register "mem" $Mem)
          (module
            (memory (import "mem" "shared") 1 1 shared)
            (func (export "run") (i32.store (i32.const 4) (i32.const 43))))
          (invoke "run"))
        (wait $T1)
        (wait $T2)
        (module $Check
          (memory (import "mem" "shared") 1 1 shared)
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
        (assert_return (invoke $Check "load" (i32.const 0)) (i32.const 42))
        (assert_return (invoke $Check "load" (i32.const 4)) (i32.const 43))
    "#;

    #[test]
    fn threads_share_memory_and_their_directives_count() {
        let report = run_script(TWO_WRITERS, DEFAULT_TIMEOUT);
        assert_eq!(failures(&report), []);
        // 2 + (1 + 3) * 2 threads + 2 waits + 3.
        assert_eq!(report.passed, 15);
    }

    #[test]
    fn failures_inside_threads_are_reported_at_their_line() {
        let report = run_script(
            r#"(module $M (memory (export "shared") 1 1 shared) (func (export "f")))
(thread $T (shared (module $M))
  (invoke $M "f")
  (assert_unlinkable (module (memory (import "M" "shared") 1 1 shared)) "unknown import")
  (register "M" $M)
  (module (memory (import "M" "shared") 1 1 shared) (func (export "g") (result i32) (i32.const 1)))
  (assert_return (invoke "g") (i32.const 2)))
(wait $T)
(wait $T)"#,
            DEFAULT_TIMEOUT,
        );
        assert_eq!(
            failures(&report),
            [
                (
                    3,
                    "invoke",
                    "export `f` of shared module $M is a function, which belongs to the store of \
                     the thread that instantiated $M; only shared memories cross threads"
                ),
                (7, "assert_return", "result 0: expected i32 2, got i32 1"),
                (
                    9,
                    "wait",
                    "no thread $T to wait for (it was never started, or was waited for)"
                ),
            ]
        );
        assert_eq!(report.passed, 6);
    }

    #[test]
    fn a_thread_that_cannot_start_fails_its_directives() {
        let report = run_script(
            "(module)\n(thread $T (shared (module $Missing))\n  (module)\n  (module))\n(wait $T)",
            DEFAULT_TIMEOUT,
        );
        let did_not_start =
            "thread $T did not start: no module named $Missing (it failed, or was never defined)";
        assert_eq!(
            failures(&report),
            [
                (
                    2,
                    "thread",
                    &did_not_start["thread $T did not start: ".len()..]
                ),
                (3, "module", did_not_start),
                (4, "module", did_not_start),
                (
                    5,
                    "wait",
                    "no thread $T to wait for (it was never started, or was waited for)"
                ),
            ]
        );
    }

    #[test]
    fn threads_left_running_are_joined_at_the_end() {
        // wast reads a script that starts with `(thread` as one inline module.
        let report = run_script(
            "(module) (thread $T (thread $U (module) (module)) (module))",
            DEFAULT_TIMEOUT,
        );
        assert_eq!(report.summary(), "6 passed, 0 failed, 0 skipped");
    }

    #[test]
    fn a_deadlocked_script_times_out() {
        // $T waits forever on a notify nobody sends, and the script waits for $T.
        let script = r#"
            (module $Mem (memory (export "shared") 1 1 shared))
            (thread $T (shared (module $Mem))
              (register "mem" $Mem)
              (module
                (memory (import "mem" "shared") 1 1 shared)
                (func (export "block") (result i32)
                  (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
              (assert_return (invoke "block") (i32.const 0)))
            (wait $T)
            (module)
        "#;
        let start = Instant::now();
        let report = run_script(script, Duration::from_millis(300));
        assert!(start.elapsed() < Duration::from_secs(10));
        let timed_out = "did not finish within the script's time limit of 300ms (its threads \
                         are left running)";
        assert_eq!(
            failures(&report),
            [
                (9, "assert_return", timed_out),
                (10, "wait", timed_out),
                (11, "module", timed_out),
            ]
        );
        assert_eq!(report.passed, 4);
    }

    #[test]
    fn a_script_that_does_not_parse_is_one_failure() {
        let report = run_script("(module)\n(assert_return", DEFAULT_TIMEOUT);
        assert_eq!(report.summary(), "0 passed, 1 failed, 0 skipped");
        assert_eq!(report.failures[0].line, 2);
        assert_eq!(report.failures[0].kind, "script");
    }
}
