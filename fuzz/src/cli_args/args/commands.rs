//! The subcommands' grammars: which options each takes, in what order, with what values;
//! and what to call in the module, with what arguments.

use super::{Builder, Groups, Kind, Line, Writable, at_most, os};
use crate::cli_args::corpus::{Param, Source};
use crate::cli_args::scratch::Entry;
use crate::cli_args::values::{self, Timeout, one_of};
use rand::Rng;
use rand::seq::SliceRandom;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

impl Builder<'_> {
    /// `weft run [OPTIONS] FILE [ARGS]`.
    pub(super) fn run(&mut self) -> Line {
        let (file, source) = self.program();
        let mut groups = Groups::new();
        let timeout = self.limits(true);
        let mut rest = self.program_options(&mut groups, &source);
        if self.rng.gen_bool(0.08) {
            groups.push(vec![os("--race")]);
            self.race = true;
        }
        let (invoke, args) = self.entry(&source);
        if let Some(name) = invoke {
            groups.push(vec![os("--invoke"), name]);
        }
        rest.extend(args);
        let args = self.assemble("run", groups, file, rest);
        Line {
            command: "run",
            kind: Kind::Run,
            args,
            bounded: timeout != Timeout::Long,
            guest_output: true,
            guest_status: true,
        }
    }

    /// `weft explore [OPTIONS] FILE [ARGS]`, FILE a program or a spec script.
    pub(super) fn explore(&mut self) -> Line {
        let mut groups = Groups::new();
        let script = self.rng.gen_bool(0.2);
        let (file, source, mut rest, timeout) = if script {
            let (file, _) = self.script();
            // Scripts take no time limit (it is a usage error): they are bounded by
            // being short, unless mutated.
            let timeout = if self.rng.gen_bool(0.2) {
                self.limits(false)
            } else {
                Timeout::Long
            };
            let rest = if self.rng.gen_bool(0.1) {
                vec![values::program_arg(&mut self.rng, self.odd)]
            } else {
                Vec::new()
            };
            (file, None, rest, timeout)
        } else {
            let (file, source) = self.program();
            let timeout = self.limits(true);
            (file, Some(source), Vec::new(), timeout)
        };
        if let Some(source) = &source {
            rest = self.program_options(&mut groups, source);
            let (invoke, args) = self.entry(source);
            if let Some(name) = invoke {
                groups.push(vec![os("--invoke"), name]);
            }
            rest.extend(args);
        }
        if self.rng.gen_bool(0.7) {
            let seed = if self.rng.gen_bool(0.9) {
                self.rng.r#gen::<u64>().to_string().into()
            } else {
                values::number(&mut self.rng, &[b"0", b"18446744073709551615"], self.odd)
            };
            groups.push(vec![os("--seed"), seed]);
        }
        // Few schedules, each bounded by the time limit; sometimes the option itself.
        let schedules = if !self.odd || self.rng.gen_bool(0.8) {
            one_of(&mut self.rng, &[b"0", b"1", b"2", b"3"])
        } else {
            values::number(&mut self.rng, &[b"1000000", b"18446744073709551615"], true)
        };
        let schedules_bounded = at_most(&schedules, 3);
        self.first.extend([os("--schedules"), schedules]);
        self.explore_options(&mut groups);
        let guest_output = self.rng.gen_bool(0.3);
        if guest_output {
            groups.push(vec![os("--guest-output")]);
        }
        let args = self.assemble("explore", groups, file, rest);
        let bounded = schedules_bounded
            && match timeout {
                Timeout::Short | Timeout::Rejected => true,
                Timeout::Long => script && !self.mutated && !self.unending,
            };
        Line {
            command: "explore",
            kind: Kind::Explore,
            args,
            bounded,
            guest_output,
            guest_status: false,
        }
    }

    /// `--strategy`, `--depth`, `--length`, `--loop-period`, `--expect-exit`,
    /// `--keep-going`, `--race`.
    fn explore_options(&mut self, groups: &mut Groups) {
        let odd = self.odd;
        let rng = &mut self.rng;
        if rng.gen_bool(0.4) {
            let strategy = if odd {
                one_of(
                    rng,
                    &[b"pct", b"random", b"bogus", b"", b"PCT", b"pct,random"],
                )
            } else {
                one_of(rng, &[b"pct", b"random"])
            };
            groups.push(vec![os("--strategy"), strategy]);
        }
        if rng.gen_bool(0.3) {
            // Now and then a depth far past any bug's: PCT picks DEPTH-1 change points.
            let depth = if odd && rng.gen_bool(0.15) {
                one_of(rng, &[b"4294967295", b"2147483648", b"1000000000"])
            } else {
                values::number(rng, &[b"0", b"1", b"2", b"3", b"10"], odd)
            };
            groups.push(vec![os("--depth"), depth]);
        }
        if rng.gen_bool(0.2) {
            let length = values::number(rng, &[b"0", b"1", b"100", b"18446744073709551615"], odd);
            groups.push(vec![os("--length"), length]);
        }
        if rng.gen_bool(0.2) {
            let period = values::number(rng, &[b"0", b"1", b"100", b"4294967295"], odd);
            groups.push(vec![os("--loop-period"), period]);
        }
        if rng.gen_bool(0.2) {
            let status = values::number(
                rng,
                &[
                    b"0",
                    b"1",
                    b"3",
                    b"37",
                    b"134",
                    b"-1",
                    b"2147483647",
                    b"-2147483648",
                ],
                odd,
            );
            groups.push(vec![os("--expect-exit"), status]);
        }
        if rng.gen_bool(0.2) {
            groups.push(vec![os("--keep-going")]);
        }
        if rng.gen_bool(0.1) {
            groups.push(vec![os("--race")]);
            self.race = true;
        }
    }

    /// `weft bench [OPTIONS] FILE...`: programs that end, mostly unmutated, since bench has
    /// no time limit.
    pub(super) fn bench(&mut self) -> Line {
        let mut groups = Groups::new();
        let mut files = Vec::new();
        for _ in 0..if self.rng.gen_bool(0.8) { 1 } else { 2 } {
            let source = match self.rng.gen_range(0..10) {
                0..7 => self.terminating_program(),
                7 => self.smith(),
                _ => self.choose_module(),
            };
            let file = self.file(&source, 0.2);
            files.push(file);
        }
        let iterations = if !self.odd || self.rng.gen_bool(0.8) {
            one_of(&mut self.rng, &[b"1", b"2", b"3"])
        } else {
            values::number(&mut self.rng, &[b"0", b"1", b"4294967295"], true)
        };
        let iterations_bounded = at_most(&iterations, 3);
        groups.push(vec![os("--iterations"), iterations]);
        if self.rng.gen_bool(0.3) {
            groups.push(vec![os("--json")]);
        }
        let dirs = self.dirs(&mut groups, 0.25);
        if dirs == 0 {
            // Without --dir, each program gets its own folder: the case's directory.
            self.writable = Writable::Everything;
        }
        if self.odd && self.rng.gen_bool(0.2) {
            self.odd_preloads(&mut groups);
        }
        let guest_output = self.rng.gen_bool(0.25);
        if guest_output {
            groups.push(vec![os("--guest-output")]);
        }
        if self.rng.gen_bool(0.12) {
            self.compare(&mut groups, &files);
        }
        if self.odd && self.rng.gen_bool(0.1) {
            let threshold = one_of(
                &mut self.rng,
                &[b"1.1", b"0", b"-1", b"nan", b"inf", b"abc", b"1e308", b""],
            );
            groups.push(vec![os("--threshold"), threshold]);
        }
        self.proposals(&mut groups, 0.15);
        if self.odd && self.rng.gen_bool(0.1) {
            // No limits on bench: a usage error.
            let (timeout, _) = values::timeout(&mut self.rng);
            groups.push(vec![os("-W"), timeout]);
        }
        self.thread_model(&mut groups);
        self.profile(&mut groups);
        self.stray(&mut groups);
        groups.shuffle(&mut self.rng);
        let mut args = vec![os("bench")];
        args.extend(groups.into_iter().flatten());
        args.extend(files);
        let bounded = iterations_bounded && !self.mutated && !self.unending;
        Line {
            command: "bench",
            kind: Kind::Bench,
            args,
            bounded,
            guest_output,
            guest_status: false,
        }
    }

    /// `--compare REPORT.json`: an earlier report whose medians every phase exceeds, or one
    /// that is not JSON, or none.
    fn compare(&mut self, groups: &mut Groups, files: &[OsString]) {
        let mut report = Vec::new();
        for file in files {
            let path = PathBuf::from(file);
            let names = [Some(path.as_os_str()), path.file_name()];
            for name in names.into_iter().flatten() {
                report.extend_from_slice(b"{\"file\":\"");
                report.extend_from_slice(name.as_bytes());
                report.extend_from_slice(
                    b"\",\"runtime\":\"weft\",\"compile_s\":1e-12,\"instantiate_s\":1e-12,\
                      \"execute_s\":1e-12}\n",
                );
            }
        }
        let report = match self.rng.gen_range(0..5) {
            0 if self.odd => b"{\"file\": 12}\nnot json\n".to_vec(),
            1 => Vec::new(),
            _ => report,
        };
        let path = match self.rng.gen_range(0..6) {
            0 if self.odd => os("missing.json"),
            1 if self.odd => os("sandbox"),
            _ => {
                self.entries.push(Entry::File {
                    path: "report.json".into(),
                    bytes: report,
                    mode: 0o644,
                });
                os("report.json")
            }
        };
        groups.push(vec![os("--compare"), path]);
    }

    /// `weft wast [OPTIONS] PATH...`.
    pub(super) fn wast(&mut self) -> Line {
        let mut groups = Groups::new();
        let mut paths = Vec::new();
        for _ in 0..if self.rng.gen_bool(0.85) { 1 } else { 2 } {
            let path = match self.rng.gen_range(0..if self.odd { 10 } else { 9 }) {
                0..7 => self.script().0,
                7 => {
                    // A folder of scripts, searched recursively.
                    for _ in 0..self.rng.gen_range(0..3) {
                        let source = self.choose_script();
                        self.put(
                            &source,
                            PathBuf::from(format!("scripts/{}", source.name)),
                            0.3,
                        );
                    }
                    os("scripts")
                }
                8 => {
                    let source = self.choose_module();
                    self.file(&source, 0.3)
                }
                _ => one_of(
                    &mut self.rng,
                    &[
                        b"missing.wast",
                        b"",
                        b"outside.txt",
                        b"/dev/null",
                        b"sandbox\xff",
                    ],
                ),
            };
            paths.push(path);
        }
        if self.rng.gen_bool(0.3) {
            groups.push(vec![one_of(&mut self.rng, &[b"-v", b"--verbose"])]);
        }
        if self.rng.gen_bool(0.25) {
            let valid: &[&[u8]] = &[
                b"wasm1,threads",
                b"default",
                b"mvp",
                b"wasm2",
                b"wasm3",
                b"lime1",
                b"default,shared-everything-threads",
                b"gc,exceptions",
            ];
            let odd: &[&[u8]] = &[b"nope", b"", b",", b"wasm1,,threads", b"threads=n", b"\xff"];
            let features = if self.odd && self.rng.gen_bool(0.5) {
                one_of(&mut self.rng, odd)
            } else {
                one_of(&mut self.rng, valid)
            };
            groups.push(vec![os("--features"), features]);
        }
        self.proposals(&mut groups, 0.15);
        if self.odd && self.rng.gen_bool(0.08) {
            let (timeout, _) = values::timeout(&mut self.rng);
            groups.push(vec![os("-W"), timeout]);
        }
        let timeout = if !self.odd || self.rng.gen_bool(0.8) {
            one_of(&mut self.rng, &[b"1", b"1", b"2"])
        } else {
            values::number(
                &mut self.rng,
                &[b"0", b"1", b"60", b"18446744073709551615"],
                true,
            )
        };
        // Each of at most a few scripts may take the whole timeout.
        let timeout_bounded = at_most(&timeout, 3);
        groups.push(vec![os("--timeout"), timeout]);
        if self.rng.gen_bool(0.05) {
            groups.push(vec![os("--race")]);
        }
        self.stray(&mut groups);
        groups.shuffle(&mut self.rng);
        let mut args = vec![os("wast")];
        args.extend(groups.into_iter().flatten());
        args.extend(paths);
        let bounded = timeout_bounded || (!self.mutated && !self.unending);
        Line {
            command: "wast",
            kind: Kind::Wast,
            args,
            bounded,
            guest_output: false,
            guest_status: false,
        }
    }

    /// No subcommand, help and version, and subcommands that do not exist.
    pub(super) fn other(&mut self) -> Line {
        let lines: &[&[&[u8]]] = &[
            &[],
            &[b"help"],
            &[b"help", b"run"],
            &[b"help", b"bogus"],
            &[b"--help"],
            &[b"-h"],
            &[b"-V"],
            &[b"--version"],
            &[b"run", b"--help"],
            &[b"explore", b"-h"],
            &[b"rnu", b"x.wasm"],
            &[b"RUN", b"x.wasm"],
            &[b"--bogus"],
            &[b"\xff"],
            &[b"run"],
            &[b"wast"],
            &[b"bench"],
            &[b"explore"],
            &[b"", b"x"],
            &[b"-"],
            &[b"--", b"run"],
            &[b"run", b"--"],
        ];
        let line = lines.choose(&mut self.rng).expect("the list is not empty");
        let args = line
            .iter()
            .map(|arg| OsString::from_vec(arg.to_vec()))
            .collect::<Vec<_>>();
        let command = if args.is_empty() { "none" } else { "other" };
        Line {
            command,
            kind: Kind::Other,
            args,
            bounded: true,
            guest_output: false,
            guest_status: false,
        }
    }

    /// The subcommand, the option groups in a random order, FILE, then `rest`; now and then
    /// an option group after FILE, where it goes to the program instead.
    fn assemble(
        &mut self,
        command: &str,
        mut groups: Groups,
        file: OsString,
        rest: Vec<OsString>,
    ) -> Vec<OsString> {
        self.stray(&mut groups);
        groups.shuffle(&mut self.rng);
        let after = if self.odd && !groups.is_empty() && self.rng.gen_bool(0.08) {
            let at = self.rng.gen_range(0..groups.len());
            Some(groups.remove(at))
        } else {
            None
        };
        let mut args = vec![os(command)];
        args.append(&mut self.first);
        args.extend(groups.into_iter().flatten());
        // An option spelled again after a `--` is a value there (FILE, say), and weft's
        // error names it the same way: only options never spelled after one are checked.
        let after_separator: Vec<OsString> = args[1..]
            .iter()
            .skip_while(|arg| *arg != "--")
            .cloned()
            .collect();
        self.options = args[1..]
            .iter()
            .take_while(|arg| *arg != "--")
            .filter(|arg| !after_separator.contains(arg))
            // FILE may itself look like an option (`-`), and so may an option's value. A lone
            // `-` is a value to clap (the usual name of standard input), so it is FILE when
            // it comes first, which weft then cannot read: a clear error, not a mistaken one.
            .filter(|arg| {
                arg.as_bytes().starts_with(b"-") && arg.as_bytes() != b"-" && **arg != file
            })
            .cloned()
            .collect();
        args.push(file);
        args.extend(after.into_iter().flatten());
        args.extend(rest);
        args
    }

    /// What to call and with what: `--invoke` of an export (or of a name the module lacks)
    /// with arguments for its parameters (sometimes one too many or too few), or the
    /// program's entry point with arguments of its own.
    fn entry(&mut self, source: &Source) -> (Option<OsString>, Vec<OsString>) {
        let info = source.info.clone().unwrap_or_default();
        // No command line can carry a NUL, which wasm-smith's export names may hold.
        let functions: Vec<(String, Vec<Param>)> = info
            .functions()
            .filter(|(name, _)| !name.contains('\0'))
            .map(|(name, params)| (name.to_string(), params.to_vec()))
            .collect();
        let has_entry = functions
            .iter()
            .any(|(name, _)| name == "_start" || name == "main");
        // An `--invoke` of a name the module lacks is among the odd values only.
        let p = if has_entry {
            0.15
        } else if functions.is_empty() {
            if self.odd { 0.3 } else { 0.0 }
        } else {
            0.95
        };
        if !self.rng.gen_bool(p) {
            let args = match source.name.as_str() {
                // Its argument count is its thread count: a few.
                "threads.wat" => (0..self.rng.gen_range(0..=5)).map(|_| os("t")).collect(),
                // A program that cannot read arguments gets them only among odd values (weft
                // refuses them).
                _ if !info.reads_args && !self.odd => Vec::new(),
                _ => {
                    let count = *[0, 0, 0, 1, 1, 2, 4]
                        .choose(&mut self.rng)
                        .expect("not empty");
                    (0..count)
                        .map(|_| values::program_arg(&mut self.rng, self.odd))
                        .collect()
                }
            };
            return (None, args);
        }
        let (name, params) = match functions.choose(&mut self.rng) {
            Some((name, params)) if !self.odd || self.rng.gen_bool(0.7) => {
                (name.clone().into(), params.clone())
            }
            _ => {
                let params = (0..self.rng.gen_range(0..3))
                    .map(|_| *PARAMS.choose(&mut self.rng).expect("not empty"))
                    .collect();
                (values::unknown_export(&mut self.rng), params)
            }
        };
        let mut count = params.len();
        if self.odd && self.rng.gen_bool(0.2) {
            count = if count > 0 && self.rng.gen_bool(0.5) {
                count - 1
            } else {
                count + 1
            };
        }
        let args = (0..count)
            .map(|index| {
                let param = params.get(index).copied().unwrap_or(Param::I32);
                values::invoke_arg(&mut self.rng, param, self.odd)
            })
            .collect();
        (Some(name), args)
    }
}

/// Parameter kinds for a made-up export's arguments.
const PARAMS: [Param; 7] = [
    Param::I32,
    Param::I64,
    Param::F32,
    Param::F64,
    Param::V128,
    Param::FuncRef,
    Param::ExternRef,
];
