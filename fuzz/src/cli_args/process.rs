//! Running `weft` as a child process: in a case's directory, with a fixed environment, its
//! output captured, killed when it runs too long or grows too big.

use super::scratch::ENVIRONMENT;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long one run of a case that bounds its time may take before it is killed as hung: far
/// beyond what any such case needs.
pub const TIME_LIMIT: Duration = Duration::from_secs(20);

/// How long a case that may run for ever (no time limit, a huge `--iterations`) runs before
/// it is stopped: long enough for its input to be read and the run to start, and being
/// stopped is no failure, so no longer.
pub const UNBOUNDED_TIME_LIMIT: Duration = Duration::from_secs(3);

/// How much memory one run may hold before it is killed: weft needs tens of megabytes, and
/// the machine is shared.
pub const MEMORY_LIMIT: u64 = 2 << 30;

/// How much of each output stream is kept (the rest is read and dropped, so that the child
/// never blocks on a full pipe).
const KEPT: usize = 1 << 20;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// This harness killed it: it ran past its time limit.
    TimedOut,
    /// This harness killed it: it held this many bytes, past [`MEMORY_LIMIT`].
    TooBig(u64),
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Output {
    /// How it ended.
    pub ended: Ended,
    /// Its standard output (nothing when it went to `/dev/full`), cut at 1 MiB.
    pub stdout: Vec<u8>,
    /// Its standard error, cut at 1 MiB.
    pub stderr: Vec<u8>,
    /// Its process id (for files it names after itself, such as a perf map).
    pub pid: u32,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `weft` with `args` in `dir` and waits for it, at most `limit`; its standard output
/// is captured, or with `full_stdout` is `/dev/full`.
pub fn run(
    weft: &Path,
    args: &[OsString],
    dir: &Path,
    limit: Duration,
    full_stdout: bool,
) -> io::Result<Output> {
    let stdout = if full_stdout {
        Stdio::from(File::options().write(true).open("/dev/full")?)
    } else {
        Stdio::piped()
    };
    let mut child = Command::new(weft)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(ENVIRONMENT)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let ended = wait(&mut child, started, limit);
    // A killed child still has to be reaped; its pipes close with it.
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error);
        }
    };
    Ok(Output {
        ended,
        stdout: join(stdout),
        stderr: join(stderr),
        pid,
        elapsed: started.elapsed(),
    })
}

/// Waits for `child` to exit, killing it at the limits.
fn wait(child: &mut Child, started: Instant, limit: Duration) -> io::Result<Ended> {
    use std::os::unix::process::ExitStatusExt;
    // Most runs take tens of milliseconds: look often at first, then less.
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(match (status.code(), status.signal()) {
                (Some(code), _) => Ended::Code(code),
                (None, Some(signal)) => Ended::Signal(signal),
                (None, None) => Ended::Signal(0),
            });
        }
        let killed = if started.elapsed() > limit {
            Some(Ended::TimedOut)
        } else {
            resident(child.id())
                .filter(|&bytes| bytes > MEMORY_LIMIT)
                .map(Ended::TooBig)
        };
        if let Some(killed) = killed {
            child.kill()?;
            child.wait()?;
            return Ok(killed);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// The resident memory of process `pid`, from `/proc` (none once it has exited).
fn resident(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reads `stream` to its end on a thread of its own, keeping the first [`KEPT`] bytes.
fn drain(stream: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    let mut stream = stream?;
    Some(thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buffer = [0; 8192];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => {
                    let room = KEPT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..read.min(room)]);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        kept
    }))
}

fn join(reader: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default()
}
