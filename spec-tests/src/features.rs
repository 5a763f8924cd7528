//! Which WebAssembly proposals a script may use: named feature lists, and the sets the suite's
//! folders were written for.

use std::path::Path;
use weft::WasmFeatures;

/// Named sets of proposals, accepted in feature lists besides single proposals.
fn sets() -> [(&'static str, WasmFeatures); 6] {
    [
        ("default", WasmFeatures::default()),
        ("mvp", WasmFeatures::MVP),
        ("wasm1", WasmFeatures::WASM1),
        ("wasm2", WasmFeatures::WASM2),
        ("wasm3", WasmFeatures::WASM3),
        ("lime1", WasmFeatures::LIME1),
    ]
}

/// The set for scripts in a folder of `../shared/testsuite` that needs other proposals than
/// the default, as its SOURCES.md prescribes: the scripts are only consistent under it.
fn folder_features(folder: &str) -> Option<WasmFeatures> {
    match folder {
        "testsuite-proposal" => Some(WasmFeatures::WASM1 | WasmFeatures::THREADS),
        "upstream-core" => Some(WasmFeatures::WASM2 | WasmFeatures::THREADS),
        "shared-everything-threads" => {
            Some(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        }
        _ => None,
    }
}

/// Parses a comma-separated feature list such as `wasm1,threads` into the union of its names.
///
/// A name is a set (`default`, `mvp`, `wasm1`, `wasm2`, `wasm3`, `lime1`) or one of
/// wasmparser's proposals in kebab case (`threads`, `shared-everything-threads`, `simd`,
/// `reference-types`, ...). The error names the culprit and lists the valid names.
pub fn parse_features(list: &str) -> Result<WasmFeatures, String> {
    list.split(',')
        .map(str::trim)
        .try_fold(WasmFeatures::empty(), |features, name| {
            feature(name)
                .map(|feature| features | feature)
                .ok_or_else(|| {
                    format!(
                        "unknown feature `{name}` in `{list}`; known: {}",
                        known().join(", ")
                    )
                })
        })
}

/// The feature set the suite prescribes for the script at `path`, judged by the innermost
/// folder that has one; `None` for the default set.
pub fn suite_features(path: &Path) -> Option<WasmFeatures> {
    let folders = path.parent().into_iter().flat_map(Path::components).rev();
    folders
        .filter_map(|folder| folder.as_os_str().to_str())
        .find_map(folder_features)
}

fn feature(name: &str) -> Option<WasmFeatures> {
    if let Some((_, set)) = sets().into_iter().find(|(set, _)| *set == name) {
        return Some(set);
    }
    // Proposal flags are named in SCREAMING_SNAKE_CASE; lists use kebab case only.
    let is_kebab = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty() || !is_kebab {
        return None;
    }
    WasmFeatures::from_name(&name.to_ascii_uppercase().replace('-', "_"))
}

/// Every name [`parse_features`] accepts: the sets, then the proposals.
fn known() -> Vec<String> {
    let sets = sets().into_iter().map(|(name, _)| name.to_string());
    let proposals = WasmFeatures::all()
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase().replace('_', "-"));
    sets.chain(proposals).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_unions_of_sets_and_proposals() {
        assert_eq!(
            parse_features("wasm1,threads"),
            Ok(WasmFeatures::WASM1 | WasmFeatures::THREADS)
        );
        assert_eq!(
            parse_features(" default , shared-everything-threads "),
            Ok(WasmFeatures::default() | WasmFeatures::SHARED_EVERYTHING_THREADS)
        );
        assert_eq!(
            parse_features("reference-types,simd"),
            Ok(WasmFeatures::REFERENCE_TYPES | WasmFeatures::SIMD)
        );
        assert_eq!(parse_features("wasm3"), Ok(WasmFeatures::WASM3));
    }

    #[test]
    fn unknown_names_are_rejected_with_the_valid_ones() {
        for list in [
            "wasm4",
            "threads,",
            "THREADS",
            "shared_everything_threads",
            "",
        ] {
            let err = parse_features(list).unwrap_err();
            assert!(err.starts_with("unknown feature"), "{list:?}: {err}");
            assert!(err.contains("known: default, mvp, wasm1"), "{err}");
            assert!(err.contains("shared-everything-threads"), "{err}");
        }
    }

    #[test]
    fn suite_folders_pick_their_sets() {
        let threads = Path::new("../shared/testsuite/threads");
        assert_eq!(
            suite_features(&threads.join("testsuite-proposal/atomic.wast")),
            Some(WasmFeatures::WASM1 | WasmFeatures::THREADS)
        );
        assert_eq!(
            suite_features(&threads.join("upstream-core/memory.wast")),
            Some(WasmFeatures::WASM2 | WasmFeatures::THREADS)
        );
        assert_eq!(suite_features(&threads.join("upstream/atomic.wast")), None);
        assert_eq!(suite_features(Path::new("core/address.wast")), None);
        // A file merely named like a folder is not in it.
        assert_eq!(suite_features(Path::new("upstream-core")), None);
    }
}
