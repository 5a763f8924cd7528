//! The files a case names: the case directory's fixed layout, and modules and scripts from
//! the corpus, mutated or not, under good and odd paths.

use super::Builder;
use crate::cli_args::corpus::{self, Info, Source};
use crate::cli_args::mutate;
use crate::cli_args::scratch::Entry;
use rand::Rng;
use rand::seq::SliceRandom;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// What every case's directory holds: a sandbox to preopen, with symlinks that lead out of
/// it, files outside it that must not change, and `lib/` for modules besides the main one.
pub(super) fn layout() -> Vec<Entry> {
    let file = |path: &str, text: &str| Entry::File {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
        mode: 0o644,
    };
    vec![
        Entry::Dir("sandbox/sub".into()),
        Entry::Dir("sandbox/empty".into()),
        file("sandbox/note.txt", "inside the sandbox\n"),
        file("sandbox/sub/inner.txt", "deeper inside\n"),
        Entry::Symlink {
            path: "sandbox/escape".into(),
            target: "../outside.txt".into(),
        },
        Entry::Symlink {
            path: "sandbox/escape-dir".into(),
            target: "..".into(),
        },
        file("outside.txt", "outside the sandbox: must not change\n"),
        Entry::Dir("other".into()),
        file("other/data.txt", "another preopen\n"),
        Entry::Dir("lib".into()),
        Entry::Dir("scripts".into()),
    ]
}

impl Builder<'_> {
    /// The module a run or an exploration runs, written to the case's directory (or not
    /// quite: FILE may be missing, a folder, unreadable...): FILE's argument and the source.
    pub(super) fn program(&mut self) -> (OsString, Source) {
        let source = if self.rng.gen_bool(0.4) {
            self.smith()
        } else {
            self.choose_module()
        };
        let file = self.file(&source, 0.35);
        (file, source)
    }

    pub(super) fn choose_module(&mut self) -> Source {
        self.corpus
            .modules
            .choose(&mut self.rng)
            .expect("the corpus has modules")
            .clone()
    }

    pub(super) fn choose_script(&mut self) -> Source {
        self.corpus
            .scripts
            .choose(&mut self.rng)
            .expect("the corpus has scripts")
            .clone()
    }

    /// A module whose `_start` ends (for bench, which has no limit).
    pub(super) fn terminating_program(&mut self) -> Source {
        let programs: Vec<&Source> = self
            .corpus
            .modules
            .iter()
            .filter(|source| {
                source.terminates
                    && source
                        .info
                        .as_ref()
                        .is_some_and(|info| info.functions().any(|(name, _)| name == "_start"))
            })
            .collect();
        (*programs
            .choose(&mut self.rng)
            .expect("the corpus has programs"))
        .clone()
    }

    /// A wasm-smith module, or one of the corpus's if the generator gives up.
    pub(super) fn smith(&mut self) -> Source {
        match self.corpus.smith(&mut self.rng) {
            Some(source) => source,
            None => self.choose_module(),
        }
    }

    /// A spec script written (maybe mutated) to the case's directory: its path, and it.
    pub(super) fn script(&mut self) -> (OsString, Source) {
        let source = self.choose_script();
        let path = PathBuf::from(&source.name);
        self.put(&source, path.clone(), 0.5);
        (path.into_os_string(), source)
    }

    /// FILE's argument for `source`: mostly the module written under its own name (binary
    /// as `.wasm`, text as `.wat`), maybe mutated with probability `p`; otherwise a path
    /// that is missing, a folder, empty, not UTF-8, unreadable, a dangling or looping
    /// symlink, or otherwise odd.
    pub(super) fn file(&mut self, source: &Source, p: f64) -> OsString {
        self.files += 1;
        let name = if self.files == 1 {
            source.name.clone()
        } else {
            format!("lib/{}-{}", self.files, source.name)
        };
        let roll = self.rng.gen_range(0..100);
        if !self.odd || roll < 70 {
            return self.put(source, name.into(), p).into_os_string();
        }
        let odd: &[u8] = match self.rng.gen_range(0..14) {
            0 => b"missing.wasm",
            1 => {
                self.add_once(Entry::Dir("dir.wasm".into()));
                b"dir.wasm"
            }
            2 => {
                self.add_once(Entry::File {
                    path: "empty.wasm".into(),
                    bytes: Vec::new(),
                    mode: 0o644,
                });
                b"empty.wasm"
            }
            3 => {
                let path = PathBuf::from(OsString::from_vec(b"m\xff.wasm".to_vec()));
                return self.put(source, path, p).into_os_string();
            }
            4 => {
                let path = self.put(source, name.into(), p);
                if let Some(Entry::File { mode, .. }) = self.entries.last_mut() {
                    *mode = 0;
                }
                return path.into_os_string();
            }
            5 => {
                self.add_once(Entry::Symlink {
                    path: "dangling.wasm".into(),
                    target: "nowhere.wasm".into(),
                });
                b"dangling.wasm"
            }
            6 => {
                self.add_once(Entry::Symlink {
                    path: "loop.wasm".into(),
                    target: "loop.wasm".into(),
                });
                b"loop.wasm"
            }
            7 => {
                let mut path = self.put(source, name.into(), p).into_os_string();
                path.push("/");
                return path;
            }
            8 => b"",
            9 => b"-",
            10 => b"/dev/null",
            11 => b"outside.txt/m.wasm",
            12 => {
                let path = self.put(source, name.into(), p);
                let mut through = OsString::from("sandbox/../");
                through.push(path);
                return through;
            }
            _ => return "l".repeat(300).into(),
        };
        OsString::from_vec(odd.to_vec())
    }

    /// Writes `source` at `path` (relative), mutated with probability `p`: text as text or
    /// compiled and mutated as binary (then under `.wasm`); binary as bytes. Records what the
    /// modules may do. Returns the path written.
    pub(super) fn put(&mut self, source: &Source, mut path: PathBuf, p: f64) -> PathBuf {
        let mut bytes = source.bytes.clone();
        if !source.terminates {
            self.unending = true;
        }
        if self.rng.gen_bool(p) {
            self.mutated = true;
            let mut binary = bytes.starts_with(b"\0asm");
            if !binary
                && !source.is_script()
                && self.rng.gen_bool(0.5)
                && let Ok(compiled) = wat::parse_bytes(&bytes)
            {
                bytes = compiled.into_owned();
                binary = true;
                path.set_extension("wasm");
            }
            let donors: Vec<&[u8]> = self
                .corpus
                .modules
                .iter()
                .map(|source| source.bytes.as_slice())
                .collect();
            for _ in 0..self.rng.gen_range(1..=3) {
                let kind = if binary {
                    mutate::binary(&mut self.rng, &mut bytes, &donors)
                } else {
                    mutate::text(&mut self.rng, &mut bytes)
                };
                self.mutations.push(kind);
            }
        }
        // Conservative: what either the original or the mutant may do.
        for info in [source.info.clone(), corpus::info(&bytes)]
            .into_iter()
            .flatten()
        {
            self.note(&info);
        }
        self.entries.push(Entry::File {
            path: path.clone(),
            bytes,
            mode: 0o644,
        });
        path
    }

    /// Adds `entry` unless an earlier file argument of the case already made it: a second
    /// symbolic link at one path cannot be made.
    fn add_once(&mut self, entry: Entry) {
        if !self.entries.contains(&entry) {
            self.entries.push(entry);
        }
    }

    fn note(&mut self, info: &Info) {
        self.writes |= info.writes;
        self.exits |= info.exits;
    }
}
