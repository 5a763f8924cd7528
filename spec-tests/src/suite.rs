//! Where a checkout of spec scripts keeps them: the layouts the spec test reads, and the
//! scripts of each under the names the ratchet records (`core/<file>`, `threads/<path>`,
//! `shared-everything-threads/<path>`).
//!
//! A folder in none of these layouts is an error that lists them, so a test run pointed at
//! the wrong folder fails instead of passing on nothing.

use crate::features::suite_features;
use crate::files::{Recurse, wast_files};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use weft::WasmFeatures;

/// How a folder of spec scripts is laid out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SuiteLayout {
    /// weft's `../shared/testsuite`: `core/*.wast`, with `threads/` and
    /// `shared-everything-threads/` beside it.
    Shared,
    /// A WebAssembly/testsuite checkout: the core scripts are its top-level `*.wast` (its
    /// `proposals/` are not run).
    Testsuite,
    /// A WebAssembly/spec checkout, or its `test/core` folder: the core scripts are the
    /// `*.wast` of `test/core` and its sub-folders, which WebAssembly/testsuite flattens into
    /// one folder; they get the flattened names.
    Spec,
}

impl fmt::Display for SuiteLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SuiteLayout::Shared => {
                "weft's shared layout (core/*.wast, threads/, shared-everything-threads/)"
            }
            SuiteLayout::Testsuite => "a WebAssembly/testsuite checkout (top-level *.wast)",
            SuiteLayout::Spec => "a WebAssembly/spec checkout (test/core/**/*.wast)",
        })
    }
}

/// A script of a suite and the proposals it is written for.
#[derive(Clone, Debug)]
pub struct SuiteScript {
    pub path: PathBuf,
    pub features: WasmFeatures,
}

/// A suite's layout and its scripts, keyed by their ratchet names.
#[derive(Debug)]
pub struct Suite {
    pub layout: SuiteLayout,
    pub scripts: BTreeMap<String, SuiteScript>,
}

impl Suite {
    /// Reads the suite at `root`, in whichever layout it has; an error naming the layouts if
    /// it has none of them.
    pub fn read(root: &Path) -> Result<Suite> {
        let (layout, core) = if root.join("core").is_dir() {
            (SuiteLayout::Shared, root.join("core"))
        } else if root.join("test/core").is_dir() {
            (SuiteLayout::Spec, root.join("test/core"))
        } else if has_subfolders_of_core_scripts(root)? {
            (SuiteLayout::Spec, root.to_path_buf())
        } else if !wast_files(root, Recurse::No)?.is_empty() {
            (SuiteLayout::Testsuite, root.to_path_buf())
        } else {
            bail!(
                "{} holds no spec scripts in a layout weft reads: {}; {}; or {}",
                root.display(),
                SuiteLayout::Shared,
                SuiteLayout::Testsuite,
                SuiteLayout::Spec
            );
        };
        let mut scripts = BTreeMap::new();
        let recurse = match layout {
            SuiteLayout::Spec => Recurse::Yes,
            SuiteLayout::Shared | SuiteLayout::Testsuite => Recurse::No,
        };
        for path in wast_files(&core, recurse)? {
            let flattened = path
                .file_name()
                .and_then(|name| name.to_str())
                .with_context(|| format!("{} has no UTF-8 name", path.display()))?;
            // Two sub-folders may hold files of one name (WebAssembly/testsuite keeps one of
            // them); the later one keeps its folder in its name.
            let name = match scripts.contains_key(&format!("core/{flattened}")) {
                false => format!("core/{flattened}"),
                true => format!("core/{}", relative_name(&core, &path)?),
            };
            let features = WasmFeatures::default();
            scripts.insert(name, SuiteScript { path, features });
        }
        for folder in ["threads", "shared-everything-threads"] {
            let dir = root.join(folder);
            if layout != SuiteLayout::Shared || !dir.is_dir() {
                continue;
            }
            for path in wast_files(&dir, Recurse::Yes)? {
                let name = format!("{folder}/{}", relative_name(&dir, &path)?);
                // Judged by the name, so that folders above the suite do not count.
                let features = suite_features(Path::new(&name)).unwrap_or_default();
                scripts.insert(name, SuiteScript { path, features });
            }
        }
        Ok(Suite { layout, scripts })
    }
}

/// Whether `dir` looks like WebAssembly/spec's `test/core`: scripts at the top and in
/// sub-folders such as `simd/` and `gc/` (a WebAssembly/testsuite checkout keeps only
/// proposals in its sub-folders, under `proposals/`).
fn has_subfolders_of_core_scripts(dir: &Path) -> Result<bool> {
    Ok(["simd", "gc", "multi-memory"]
        .iter()
        .any(|folder| dir.join(folder).is_dir())
        && !wast_files(dir, Recurse::No)?.is_empty())
}

/// `path` relative to `dir`, with `/` between folders whatever the platform.
fn relative_name(dir: &Path, path: &Path) -> Result<String> {
    let relative = path.strip_prefix(dir)?;
    let parts = relative
        .iter()
        .map(|part| {
            part.to_str()
                .with_context(|| format!("{} has no UTF-8 name", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A scratch folder holding empty files at the given paths, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str, files: &[&str]) -> Tree {
            let root =
                std::env::temp_dir().join(format!("weft-suite-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            for file in files {
                let path = root.join(file);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, "").unwrap();
            }
            fs::create_dir_all(&root).unwrap();
            Tree(root)
        }

        fn names(&self) -> (SuiteLayout, Vec<String>) {
            let suite = Suite::read(&self.0).unwrap();
            (suite.layout, suite.scripts.into_keys().collect())
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn each_layout_names_its_core_scripts_alike() {
        let shared = Tree::new(
            "shared",
            &[
                "core/a.wast",
                "threads/upstream/t.wast",
                "shared-everything-threads/s.wast",
            ],
        );
        assert_eq!(
            shared.names(),
            (
                SuiteLayout::Shared,
                vec![
                    "core/a.wast".into(),
                    "shared-everything-threads/s.wast".into(),
                    "threads/upstream/t.wast".into()
                ]
            )
        );
        let testsuite = Tree::new("testsuite", &["a.wast", "proposals/p/b.wast"]);
        assert_eq!(
            testsuite.names(),
            (SuiteLayout::Testsuite, vec!["core/a.wast".into()])
        );
        let spec = Tree::new(
            "spec",
            &[
                "test/core/a.wast",
                "test/core/simd/b.wast",
                "test/core/multi-memory/a.wast",
            ],
        );
        assert_eq!(
            spec.names(),
            (
                SuiteLayout::Spec,
                vec![
                    "core/a.wast".into(),
                    "core/b.wast".into(),
                    "core/multi-memory/a.wast".into()
                ]
            )
        );
    }

    #[test]
    fn a_folder_in_no_layout_is_an_error_naming_the_layouts() {
        let other = Tree::new("other", &["docs/readme.md", "x/y.wast"]);
        let error = format!("{:#}", Suite::read(&other.0).unwrap_err());
        assert!(error.contains("holds no spec scripts"), "{error}");
        assert!(error.contains("WebAssembly/testsuite"), "{error}");
        assert!(error.contains("WebAssembly/spec"), "{error}");
    }
}
