//! A case's directory: the files and folders it holds, a snapshot of them to tell what a run
//! changed, and a shell script that rebuilds the directory and replays the command line.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// One thing in a case's directory, at a path relative to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A folder (and its parents).
    Dir(PathBuf),
    /// A file with these bytes and permissions.
    File {
        path: PathBuf,
        bytes: Vec<u8>,
        /// Unix permission bits.
        mode: u32,
    },
    /// A symbolic link to `target` (relative to the link's folder).
    Symlink { path: PathBuf, target: PathBuf },
}

/// Makes every entry under `dir`, in order (a folder before what it holds).
pub fn build(dir: &Path, entries: &[Entry]) -> io::Result<()> {
    for entry in entries {
        match entry {
            Entry::Dir(path) => fs::create_dir_all(dir.join(path))?,
            Entry::File { path, bytes, mode } => {
                let path = dir.join(path);
                fs::write(&path, bytes)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode))?;
            }
            Entry::Symlink { path, target } => std::os::unix::fs::symlink(target, dir.join(path))?,
        }
    }
    Ok(())
}

/// Removes `dir`, first giving back the permissions a case took away (without which a user
/// other than root cannot empty it).
pub fn remove(dir: &Path) -> io::Result<()> {
    fn writable(path: &Path) {
        if let Ok(meta) = fs::symlink_metadata(path)
            && !meta.file_type().is_symlink()
        {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
            if meta.is_dir()
                && let Ok(children) = fs::read_dir(path)
            {
                for child in children.flatten() {
                    writable(&child.path());
                }
            }
        }
    }
    if fs::symlink_metadata(dir).is_err() {
        return Ok(());
    }
    writable(dir);
    fs::remove_dir_all(dir)
}

/// What a snapshot records of one path: enough to see it created, removed, rewritten,
/// retargeted or re-permissioned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A folder, with its permission bits.
    Dir { mode: u32 },
    /// A file, with its permission bits and contents.
    File { mode: u32, bytes: Vec<u8> },
    /// A symbolic link, with its target.
    Symlink { target: PathBuf },
    /// Anything else (a socket, a FIFO).
    Other,
}

/// Everything under `dir` (not following symlinks) but the folders in `skipped` (relative
/// paths, compared after `normalize`).
pub fn snapshot(dir: &Path, skipped: &[PathBuf]) -> BTreeMap<PathBuf, Node> {
    let mut nodes = BTreeMap::new();
    walk(dir, Path::new(""), skipped, &mut nodes);
    nodes
}

fn walk(root: &Path, relative: &Path, skipped: &[PathBuf], nodes: &mut BTreeMap<PathBuf, Node>) {
    let Ok(children) = fs::read_dir(root.join(relative)) else {
        return;
    };
    for child in children.flatten() {
        let path = relative.join(child.file_name());
        if skipped.contains(&path) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(root.join(&path)) else {
            continue;
        };
        let mode = meta.mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            Node::Symlink {
                target: fs::read_link(root.join(&path)).unwrap_or_default(),
            }
        } else if meta.is_dir() {
            walk(root, &path, skipped, nodes);
            Node::Dir { mode }
        } else if meta.is_file() {
            Node::File {
                mode,
                bytes: fs::read(root.join(&path)).unwrap_or_default(),
            }
        } else {
            Node::Other
        };
        nodes.insert(path, node);
    }
}

/// The first difference between two snapshots, in words.
pub fn difference(
    before: &BTreeMap<PathBuf, Node>,
    after: &BTreeMap<PathBuf, Node>,
) -> Option<String> {
    for (path, node) in before {
        match after.get(path) {
            None => return Some(format!("{} was removed", path.display())),
            Some(new) if new != node => return Some(format!("{} was changed", path.display())),
            Some(_) => {}
        }
    }
    after
        .keys()
        .find(|path| !before.contains_key(*path))
        .map(|path| format!("{} was created", path.display()))
}

/// `path` (relative to a case's directory) with `.` and `x/..` taken out, or `None` if it
/// leaves the directory or is absolute.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `bytes` quoted for bash: bare when harmless, in single quotes when printable, else as
/// `$'...'` with every other byte escaped.
pub fn quote(bytes: &[u8]) -> String {
    let bare = |b: &u8| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(b);
    if !bytes.is_empty() && bytes.iter().all(bare) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(|c| c == '\'' || c.is_control())
    {
        return format!("'{text}'");
    }
    let mut out = String::from("$'");
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || byte == b' ' || byte == b'_' || byte == b'.' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('\'');
    out
}

fn quote_path(path: &Path) -> String {
    quote(path.as_os_str().as_bytes())
}

/// The environment a case runs in, and nothing else of the host's: so that the replay
/// script runs it alike.
pub const ENVIRONMENT: [(&str, &str); 3] = [
    ("PATH", "/usr/bin:/bin"),
    ("RUST_BACKTRACE", "1"),
    ("WEFT_FUZZ_HOST", "from-the-host"),
];

/// A bash script that rebuilds the case's directory as `cli-SEED.d` beside itself (its files
/// copied from artifacts beside the script, `cli-SEED-N-PATH`) and runs `args` there, with
/// `full_stdout` its output to `/dev/full`. Also returns those artifacts, each a name and its
/// bytes.
pub fn replay(
    seed: u64,
    entries: &[Entry],
    args: &[OsString],
    full_stdout: bool,
) -> (String, Vec<(String, Vec<u8>)>) {
    let mut attached = Vec::new();
    let mut script = format!(
        "#!/usr/bin/env bash\n\
         # weft-fuzz cli_args case {seed}: rebuilds the case's directory in cli-{seed}.d beside\n\
         # this script and runs weft there as the fuzzer did. WEFT names the binary (default:\n\
         # weft on PATH).\n\
         set -u\n\
         weft=${{WEFT:-$(command -v weft)}}\n\
         cd \"$(dirname \"$0\")\" || exit 1\n\
         chmod -R u+rwx cli-{seed}.d 2>/dev/null; rm -rf cli-{seed}.d\n\
         mkdir cli-{seed}.d && cd cli-{seed}.d || exit 1\n"
    );
    for entry in entries {
        match entry {
            Entry::Dir(path) => {
                let _ = writeln!(script, "mkdir -p {}", quote_path(path));
            }
            Entry::File { path, bytes, mode } => {
                let name = format!("cli-{seed}-{}-{}", attached.len(), flatten(path));
                let _ = writeln!(script, "cp ../{name} {}", quote_path(path));
                attached.push((name, bytes.clone()));
                let _ = writeln!(script, "chmod {mode:o} {}", quote_path(path));
            }
            Entry::Symlink { path, target } => {
                let _ = writeln!(script, "ln -s {} {}", quote_path(target), quote_path(path));
            }
        }
    }
    script.push_str("exec env -i");
    for (name, value) in ENVIRONMENT {
        let _ = write!(script, " {name}={}", quote(value.as_bytes()));
    }
    script.push_str(" \"$weft\"");
    for arg in args {
        script.push(' ');
        script.push_str(&quote(arg.as_bytes()));
    }
    if full_stdout {
        script.push_str(" > /dev/full");
    }
    script.push('\n');
    (script, attached)
}

/// `path` as one file name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
fn flatten(path: &Path) -> String {
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b)
            } else {
                '_'
            }
        })
        .collect()
}

/// The command line as one line of text, for a failure's message.
pub fn command_line(args: &[OsString]) -> String {
    let mut line = String::from("weft");
    for arg in args {
        line.push(' ');
        let quoted = quote(OsStr::as_bytes(arg));
        // A message stays short: a long argument is cut.
        if quoted.len() > 80 {
            line.push_str(&quoted[..quoted.floor_char_boundary(77)]);
            line.push_str("...");
        } else {
            line.push_str(&quoted);
        }
    }
    line
}
