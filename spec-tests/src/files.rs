//! Finding the `.wast` scripts a path names.

use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Whether [`wast_files`] descends into sub-directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurse {
    /// Walk the whole tree (what `weft wast DIR` does).
    Yes,
    /// Only the directory's own files. A WebAssembly/testsuite checkout keeps its core scripts at
    /// the top level and proposals in sub-directories, which the core run must not pick up.
    No,
}

/// The scripts `path` names, sorted: the file itself, or every `*.wast` file under the directory.
///
/// A file named explicitly is returned whatever its extension, since the user asked for it.
/// Errors if `path` or anything under it cannot be read.
pub fn wast_files(path: &Path, recurse: Recurse) -> Result<Vec<PathBuf>> {
    let metadata = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut files = Vec::new();
    if metadata.is_dir() {
        collect(path, recurse, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    Ok(files)
}

fn collect(dir: &Path, recurse: Recurse, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        // `metadata` follows symlinks, so a linked suite checkout is walked like a real one.
        let metadata =
            fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if metadata.is_dir() {
            if recurse == Recurse::Yes {
                collect(&path, recurse, files)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "wast") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("weft-files-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn touch(&self, relative: &str) -> PathBuf {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "").unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn walks_sorted_and_filters_by_extension() {
        let dir = TempDir::new("walk");
        let b = dir.touch("b.wast");
        let a = dir.touch("a.wast");
        let nested = dir.touch("sub/c.wast");
        dir.touch("notes.txt");
        dir.touch("sub/d.wat");

        assert_eq!(
            wast_files(&dir.0, Recurse::Yes).unwrap(),
            [a.clone(), b.clone(), nested]
        );
        assert_eq!(wast_files(&dir.0, Recurse::No).unwrap(), [a, b]);
    }

    #[test]
    fn an_explicit_file_is_taken_as_is() {
        let dir = TempDir::new("explicit");
        let file = dir.touch("script.txt");
        assert_eq!(wast_files(&file, Recurse::Yes).unwrap(), [file]);
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let dir = TempDir::new("missing");
        let missing = dir.0.join("nope");
        let err = wast_files(&missing, Recurse::Yes).unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
    }
}
