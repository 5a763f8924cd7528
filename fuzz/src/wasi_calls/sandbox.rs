//! The host directories a case runs in, and the record that shows whether a guest reached
//! past its preopen.
//!
//! ```text
//! <temp>/weft-fuzz-wasi-<pid>-<time>-<n>/   the container: everything below is ours
//!   root/
//!     outside/                             never preopened
//!       canary                             holds a random secret
//!       <secret name>                      a second secret, in a name only a listing shows
//!       inner/note
//!     sandbox/                             the preopen, rebuilt before every case
//!       file, empty, sub/inner, and symbolic links (see `SANDBOX_TREE`)
//! ```
//!
//! Before and after every case the container is listed, `root/sandbox` left out: any change
//! there (an entry made, removed or renamed, a file written, its times or link count
//! changed) was made by the guest through a way out of the sandbox.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// An entry of the tree the guest starts with.
pub enum Node {
    /// An empty directory.
    Dir,
    /// A file with this content.
    File(&'static [u8]),
    /// A symbolic link whose target is stored as given.
    Link(&'static str),
    /// A symbolic link to this path under `root/outside`, absolute (which the host only
    /// knows at run time).
    LinkOutside(&'static str),
}

/// What the preopened directory holds at the start of every case, parents first. The
/// generator's paths name these entries.
pub const SANDBOX_TREE: &[(&str, Node)] = &[
    ("file", Node::File(b"the sandbox's own file\n")),
    ("empty", Node::File(b"")),
    ("sub", Node::Dir),
    ("sub/inner", Node::File(b"a file in a subdirectory\n")),
    // Links that stay inside.
    ("sub/up", Node::Link("..")),
    ("link_to_file", Node::Link("file")),
    ("dir_link", Node::Link("sub")),
    ("loop", Node::Link("loop")),
    ("dangling", Node::Link("nowhere")),
    // Links that lead out: following one must fail.
    ("escape", Node::Link("../outside")),
    ("sub/up2", Node::Link("../..")),
    ("abs", Node::LinkOutside("")),
    ("abs_file", Node::LinkOutside("canary")),
];

/// The entries of [`SANDBOX_TREE`] that lead out of the sandbox when followed.
pub const ESCAPE_LINKS: &[&str] = &["escape", "sub/up2", "abs", "abs_file"];

/// The directory the guest is given, under `root`.
const SANDBOX: &str = "sandbox";
/// The directory beside it that the guest must never reach.
const OUTSIDE: &str = "outside";
/// The file under `outside` that holds the secret.
pub const CANARY: &str = "canary";

/// One entry's state as the check compares it: what it is and everything a write, rename,
/// link or time change alters (access times aside, which reading the canary may change).
#[derive(Clone, Debug, PartialEq, Eq)]
struct EntryState {
    kind: &'static str,
    mode: u32,
    size: u64,
    inode: u64,
    links: u64,
    modified_ns: i128,
    changed_ns: i128,
    /// A file's content hash, a link's target, a directory's nothing.
    content: String,
}

/// The container's entries, by path relative to it, `root/sandbox`'s contents left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<PathBuf, Option<EntryState>>);

/// The scratch directories of one target: made once, the sandbox rebuilt for every case,
/// removed on drop.
pub struct Sandbox {
    container: PathBuf,
    secret: String,
    secret_name: String,
    baseline: Snapshot,
}

impl Sandbox {
    /// Makes the container under the system's temporary directory, with secrets drawn from
    /// `secret_seed` (not from a case's seed: a module must have no way to know them).
    pub fn create(secret_seed: u64) -> io::Result<Sandbox> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let container = std::env::temp_dir().join(format!(
            "weft-fuzz-wasi-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&container)?;
        let mut sandbox = Sandbox {
            container,
            secret: secret_text("canary-content", secret_seed),
            secret_name: secret_text("canary-name", secret_seed.rotate_left(32) ^ 0x5bd1),
            baseline: Snapshot(BTreeMap::new()),
        };
        sandbox.rebuild()?;
        Ok(sandbox)
    }

    /// `root`: the parent of the sandbox and of `outside`.
    pub fn root(&self) -> PathBuf {
        self.container.join("root")
    }

    /// The directory preopened for the guest.
    pub fn preopen_dir(&self) -> PathBuf {
        self.root().join(SANDBOX)
    }

    /// The secrets no guest may see: the canary's content, and the name of an entry beside
    /// it that only a listing of `outside` shows.
    pub fn secrets(&self) -> [&str; 2] {
        [&self.secret, &self.secret_name]
    }

    /// Makes the whole tree afresh (after an escape changed `outside`, or at the start) and
    /// records it as the state every case must leave.
    pub fn rebuild(&mut self) -> io::Result<()> {
        let root = self.root();
        if root.symlink_metadata().is_ok() {
            fs::remove_dir_all(&root)?;
        }
        let outside = root.join(OUTSIDE);
        fs::create_dir_all(outside.join("inner"))?;
        fs::write(outside.join(CANARY), &self.secret)?;
        fs::write(outside.join(&self.secret_name), &self.secret)?;
        fs::write(outside.join("inner/note"), "a note outside the sandbox\n")?;
        fs::create_dir(root.join(SANDBOX))?;
        self.reset()?;
        self.baseline = self.snapshot()?;
        Ok(())
    }

    /// Empties the sandbox and makes [`SANDBOX_TREE`] in it again, so that every case starts
    /// from the same tree whatever the last one did.
    pub fn reset(&self) -> io::Result<()> {
        let sandbox = self.preopen_dir();
        for entry in fs::read_dir(&sandbox)? {
            let path = entry?.path();
            if path.symlink_metadata()?.is_dir() {
                fs::remove_dir_all(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        let outside = self.root().join(OUTSIDE);
        for (name, node) in SANDBOX_TREE {
            let path = sandbox.join(name);
            match node {
                Node::Dir => fs::create_dir(&path)?,
                Node::File(content) => fs::write(&path, content)?,
                Node::Link(target) => std::os::unix::fs::symlink(target, &path)?,
                Node::LinkOutside(under) => {
                    std::os::unix::fs::symlink(outside.join(under), &path)?;
                }
            }
        }
        Ok(())
    }

    /// The container's entries now, the sandbox's contents left out.
    pub fn snapshot(&self) -> io::Result<Snapshot> {
        let mut entries = BTreeMap::new();
        let sandbox = Path::new("root").join(SANDBOX);
        list(&self.container, Path::new(""), &sandbox, &mut entries)?;
        Ok(Snapshot(entries))
    }

    /// Whether everything outside the sandbox is as it was made; if not, what changed.
    pub fn check_outside(&self) -> Result<(), String> {
        let now = self
            .snapshot()
            .map_err(|error| format!("cannot list the container: {error}"))?;
        match difference(&self.baseline, &now) {
            None => Ok(()),
            Some(difference) => Err(difference),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.container);
    }
}

/// A secret no generator produces by chance: a label and 96 bits from `seed`.
fn secret_text(label: &str, seed: u64) -> String {
    let mut hasher = DefaultHasher::new();
    hasher.write_u64(seed);
    hasher.write(label.as_bytes());
    let first = hasher.finish();
    hasher.write_u64(first);
    format!("{label}-{first:016x}{:08x}", hasher.finish() as u32)
}

/// Adds the entries under `dir` (`relative` to the container) to `entries`, recursively;
/// `sandbox` is listed as a directory but not entered, nor are its times compared.
fn list(
    dir: &Path,
    relative: &Path,
    sandbox: &Path,
    entries: &mut BTreeMap<PathBuf, Option<EntryState>>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = relative.join(entry.file_name());
        if name == sandbox {
            entries.insert(name, None);
            continue;
        }
        let meta = path.symlink_metadata()?;
        let (kind, content) = if meta.is_symlink() {
            let target = fs::read_link(&path)?;
            ("link", target.display().to_string())
        } else if meta.is_dir() {
            ("dir", String::new())
        } else if meta.is_file() {
            ("file", content_hash(&path)?)
        } else {
            ("other", String::new())
        };
        entries.insert(
            name.clone(),
            Some(EntryState {
                kind,
                mode: meta.mode(),
                size: meta.size(),
                inode: meta.ino(),
                links: meta.nlink(),
                modified_ns: nanos(meta.mtime(), meta.mtime_nsec()),
                changed_ns: nanos(meta.ctime(), meta.ctime_nsec()),
                content,
            }),
        );
        if kind == "dir" {
            list(&path, &name, sandbox, entries)?;
        }
    }
    Ok(())
}

fn nanos(seconds: i64, nanoseconds: i64) -> i128 {
    i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds)
}

/// A hash of a file's bytes; the outside files are small, unless an escape grew one.
fn content_hash(path: &Path) -> io::Result<String> {
    let bytes = fs::read(path)?;
    let mut hasher = DefaultHasher::new();
    hasher.write(&bytes);
    Ok(format!(
        "{} bytes, hash {:016x}",
        bytes.len(),
        hasher.finish()
    ))
}

/// What differs between two snapshots, described: the most telling difference (an entry
/// removed, then one created, then the deepest one changed, rather than the directory
/// whose times changed with it) and how many more there are.
fn difference(before: &Snapshot, after: &Snapshot) -> Option<String> {
    let removed = before
        .0
        .keys()
        .filter(|path| !after.0.contains_key(*path))
        .map(|path| format!("`{}` was removed or renamed", path.display()));
    let created = after
        .0
        .iter()
        .filter(|(path, _)| !before.0.contains_key(*path))
        .map(|(path, now)| format!("`{}` was created: {}", path.display(), describe(now)));
    let mut changed: Vec<(&PathBuf, &Option<EntryState>, &Option<EntryState>)> = before
        .0
        .iter()
        .filter_map(|(path, was)| Some((path, was, after.0.get(path)?)))
        .filter(|(_, was, now)| was != now)
        .collect();
    changed.sort_by_key(|(path, _, _)| std::cmp::Reverse(path.components().count()));
    let changed = changed.into_iter().map(|(path, was, now)| {
        format!(
            "`{}` changed: {} became {}",
            path.display(),
            describe(was),
            describe(now)
        )
    });
    let differences: Vec<String> = removed.chain(created).chain(changed).collect();
    let first = differences.first()?;
    Some(match differences.len() {
        1 => first.clone(),
        count => format!("{first} (and {} more differences)", count - 1),
    })
}

fn describe(state: &Option<EntryState>) -> String {
    match state {
        None => "the sandbox".to_string(),
        Some(state) => format!("{state:?}"),
    }
}
