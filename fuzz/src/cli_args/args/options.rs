//! The options several subcommands share (`--dir`, `--env`, `--preload`, `-W`,
//! `--wasi-threads`, `--profile`), the time limit, and options that do not belong.

use super::{Builder, Groups, Writable, os};
use crate::cli_args::corpus::Source;
use crate::cli_args::scratch::normalize;
use crate::cli_args::values::{self, Timeout, one_of};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

impl Builder<'_> {
    /// The time limit of a run, the first option (so that no option missing its value takes
    /// it as its own): nearly always `-W timeout=2s` in one of its spellings;
    /// otherwise odd values of `timeout=` and `fuel=`. Returns what bounds the run.
    pub(super) fn limits(&mut self, run: bool) -> Timeout {
        let standard = |rng: &mut ChaCha8Rng| -> Vec<OsString> {
            match rng.gen_range(0..10) {
                0 => vec![os("-Wtimeout=2s")],
                1 | 2 => vec![os("--wasm"), os("timeout=2s")],
                3 => vec![os("--wasm=timeout=2s")],
                4 | 5 => vec![os("-W"), os("gc=y,timeout=2s")],
                _ => vec![os("-W"), os("timeout=2s")],
            }
        };
        let roll = if self.odd {
            self.rng.gen_range(0..100)
        } else {
            0
        };
        let (mut group, mut meaning) = if roll < 70 {
            (standard(&mut self.rng), Timeout::Short)
        } else if roll < 88 {
            let (value, meaning) = values::timeout(&mut self.rng);
            (vec![os("-W"), value], meaning)
        } else {
            (vec![os("-W"), values::fuel(&mut self.rng)], Timeout::Long)
        };
        if roll >= 70 && self.rng.gen_bool(0.5) {
            // The odd value first, then the standard one, which wins if the odd one is valid.
            group.extend(standard(&mut self.rng));
            if meaning == Timeout::Long {
                meaning = Timeout::Short;
            }
        }
        self.first.extend(group);
        if run { meaning } else { Timeout::Rejected }
    }

    /// The options of `run` and `explore` that set up the program: `--dir`, `--env`,
    /// `--preload`, `-W` proposals, `--wasi-threads`, `--profile`. Returns arguments for
    /// the program that an option needs (the guest path `files.wasm` is given).
    pub(super) fn program_options(
        &mut self,
        groups: &mut Groups,
        source: &Source,
    ) -> Vec<OsString> {
        let mut rest = Vec::new();
        if source.name == "files.wasm" && self.rng.gen_bool(0.6) {
            // Its own test's setup: an empty writable directory, and its guest path.
            groups.push(vec![os("--dir"), os("sandbox/empty::/sandbox")]);
            self.allow_writes("sandbox/empty".into());
            rest.push(os("/sandbox"));
        } else {
            self.dirs(groups, 0.45);
        }
        for _ in 0..self.count(0.4, 3) {
            groups.push(vec![os("--env"), values::env(&mut self.rng, self.odd)]);
        }
        if source.name == "uses_preload.wat" && self.rng.gen_bool(0.75) {
            let preload = self.corpus.module("preload.wat").clone();
            let path = self.put(&preload, "lib/preload.wat".into(), 0.15);
            let mut value = OsString::from("helper=");
            value.push(path);
            groups.push(vec![os("--preload"), value]);
        } else if self.odd && self.rng.gen_bool(0.2) {
            self.odd_preloads(groups);
        }
        self.proposals(groups, 0.2);
        self.thread_model(groups);
        self.profile(groups);
        rest
    }

    /// How many of something: none with probability `1 - p`, else 1 to `max`.
    fn count(&mut self, p: f64, max: usize) -> usize {
        if self.rng.gen_bool(p) {
            self.rng.gen_range(1..=max)
        } else {
            0
        }
    }

    /// `--dir HOST[::GUEST]` options, none with probability `1 - p`; how many.
    pub(super) fn dirs(&mut self, groups: &mut Groups, p: f64) -> usize {
        let count = self.count(p, 3);
        for _ in 0..count {
            let hosts: &[&[u8]] = if self.odd && self.rng.gen_bool(0.5) {
                &[
                    b"sandbox/escape-dir",
                    b"missing",
                    b"missing/deeper",
                    b"/nonexistent-weft-fuzz",
                    b"outside.txt",
                    b"sandbox/escape",
                    b"",
                    b"sandbox\xff",
                ]
            } else {
                &[
                    b"sandbox",
                    b"sandbox",
                    b"sandbox/sub",
                    b"sandbox/empty",
                    b"other",
                    b"./sandbox",
                    b"sandbox/",
                    b"sandbox/../other",
                ]
            };
            let host: &[u8] = hosts.choose(&mut self.rng).expect("the list is not empty");
            let mut value = host.to_vec();
            if self.rng.gen_bool(0.4) {
                value.extend_from_slice(b"::");
                let guest = values::guest_name(&mut self.rng, self.odd);
                value.extend_from_slice(guest.as_bytes());
            }
            match host {
                b"sandbox/escape-dir" => self.writable = Writable::Everything,
                b"sandbox" | b"sandbox/sub" | b"sandbox/empty" | b"other" | b"./sandbox"
                | b"sandbox/" | b"sandbox/../other" => {
                    let host = std::ffi::OsStr::from_bytes(host);
                    let path = normalize(host.as_ref()).expect("the sandbox is inside");
                    self.allow_writes(path);
                }
                _ => {}
            }
            groups.push(vec![os("--dir"), OsString::from_vec(value)]);
        }
        count
    }

    fn allow_writes(&mut self, dir: PathBuf) {
        if let Writable::Dirs(dirs) = &mut self.writable {
            dirs.push(dir);
        }
    }

    /// `--preload` values, good and bad.
    pub(super) fn odd_preloads(&mut self, groups: &mut Groups) {
        for _ in 0..self.rng.gen_range(1..=2) {
            let value = match self.rng.gen_range(0..12) {
                0..3 => {
                    let name = if self.rng.gen_bool(0.5) {
                        "preload.wat"
                    } else {
                        "uses_preload.wat"
                    };
                    let source = self.corpus.module(name).clone();
                    let path = self.put(&source, format!("lib/{name}").into(), 0.3);
                    let module = one_of(
                        &mut self.rng,
                        &[
                            b"helper",
                            b"bench",
                            b"wasi_snapshot_preview1",
                            b"env",
                            b"",
                            b"h\xff",
                        ],
                    );
                    let mut value = module.into_vec();
                    value.push(b'=');
                    value.extend_from_slice(path.as_os_str().as_bytes());
                    OsString::from_vec(value)
                }
                _ => one_of(
                    &mut self.rng,
                    &[
                        b"noequals",
                        b"=lib/preload.wat",
                        b"helper=",
                        b"helper=missing.wat",
                        b"helper=sandbox",
                        b"helper=outside.txt",
                        b"a=b=c",
                        b"=",
                        b"helper=\xff",
                    ],
                ),
            };
            groups.push(vec![os("--preload"), value]);
        }
    }

    /// `-W` proposals, none with probability `1 - p`.
    pub(super) fn proposals(&mut self, groups: &mut Groups, p: f64) {
        for _ in 0..self.count(p, 2) {
            let value = values::proposal(&mut self.rng, self.odd);
            groups.push(match self.rng.gen_range(0..3) {
                0 => vec![os("--wasm"), value],
                1 => {
                    let mut joined = OsString::from("-W");
                    joined.push(value);
                    vec![joined]
                }
                _ => vec![os("-W"), value],
            });
        }
    }

    pub(super) fn thread_model(&mut self, groups: &mut Groups) {
        if self.rng.gen_bool(0.12) {
            let models: &[&[u8]] = if self.odd {
                &[
                    b"instance",
                    b"shared",
                    b"bogus",
                    b"",
                    b"INSTANCE",
                    b"shared,instance",
                ]
            } else {
                &[b"instance", b"shared"]
            };
            let model = one_of(&mut self.rng, models);
            groups.push(if self.rng.gen_bool(0.5) {
                let mut joined = OsString::from("--wasi-threads=");
                joined.push(model);
                vec![joined]
            } else {
                vec![os("--wasi-threads"), model]
            });
        }
    }

    pub(super) fn profile(&mut self, groups: &mut Groups) {
        if self.rng.gen_bool(0.02) {
            let strategies: &[&[u8]] = if self.odd {
                &[b"perfmap", b"bogus", b"jitdump"]
            } else {
                &[b"perfmap"]
            };
            let strategy = one_of(&mut self.rng, strategies);
            self.perfmap |= strategy.as_bytes() == b"perfmap";
            groups.push(vec![os("--profile"), strategy]);
        }
    }

    /// Now and then an option weft does not know, one without its value, or one repeated
    /// that may be given once.
    pub(super) fn stray(&mut self, groups: &mut Groups) {
        if self.odd && self.rng.gen_bool(0.1) {
            let stray: &[&[u8]] = STRAYS.choose(&mut self.rng).expect("the list is not empty");
            groups.push(
                stray
                    .iter()
                    .map(|arg| OsString::from_vec(arg.to_vec()))
                    .collect(),
            );
        }
    }
}

/// Options weft does not know, options without their value, options given twice that may
/// be given once.
const STRAYS: &[&[&[u8]]] = &[
    &[b"--bogus"],
    &[b"-X"],
    &[b"--dir"],
    &[b"--invoke"],
    &[b"-W"],
    &[b"--invoke=a", b"--invoke=b"],
    &[b"--seed", b"1", b"--seed", b"2"],
    &[b"--iterations"],
    &[b"--race=yes"],
    &[b"--"],
    &[b"-"],
    &[b"--json=1"],
    &[b"-vv"],
    &[b"--env"],
    &[b"--\xff"],
];
