//! The checked-in ratchet: how many directives of each script weft is known to pass.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

const HEADER: &str = "\
# Spec-test ratchet: how many directives of each script weft passes.
#
# `cargo test -p weft-spec-tests --test spec` runs every script of the suite and fails when a
# script listed here passes fewer directives than recorded, or is missing from the suite.
# Passing more is fine (the test prints a note); record the new counts explicitly with
#   WEFT_BLESS=1 cargo test -p weft-spec-tests --test spec
# which rewrites this file with the exact current counts.
#
# Format: `<script> <passing directives>`, one per line, sorted by script.
";

/// Recorded pass counts, keyed by suite-relative script name such as `core/address.wast`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expectations {
    counts: BTreeMap<String, usize>,
}

/// How a script's current pass count compares with the recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ratchet {
    /// Not recorded: nothing to hold it to.
    Untracked,
    /// Exactly as recorded.
    Held,
    /// More passes than recorded; blessing would raise the bar.
    Improved { recorded: usize },
    /// Fewer passes than recorded: a regression.
    Regressed { recorded: usize },
}

impl Expectations {
    /// Reads the file at `path`; a file that does not exist yet holds no expectations.
    pub fn load(path: &Path) -> Result<Expectations> {
        match fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).with_context(|| format!("in {}", path.display())),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(Expectations::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Parses the format [`Expectations::to_text`] writes. Blank lines and `#` comments are
    /// ignored; anything else must be `<script> <count>`, each script at most once.
    pub fn parse(text: &str) -> Result<Expectations> {
        let mut counts = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = index + 1;
            let mut fields = line.split_whitespace();
            let (Some(script), Some(count), None) = (fields.next(), fields.next(), fields.next())
            else {
                bail!("line {number}: expected `<script> <count>`, found `{line}`");
            };
            let count = count
                .parse()
                .with_context(|| format!("line {number}: bad count `{count}`"))?;
            if counts.insert(script.to_string(), count).is_some() {
                bail!("line {number}: `{script}` is listed twice");
            }
        }
        Ok(Expectations { counts })
    }

    /// The file's full text: the explanatory header, then one sorted line per script.
    pub fn to_text(&self) -> String {
        let mut text = HEADER.to_string();
        for (script, count) in &self.counts {
            text.push_str(&format!("{script} {count}\n"));
        }
        text
    }

    /// The recorded count for `script`, if any.
    pub fn get(&self, script: &str) -> Option<usize> {
        self.counts.get(script).copied()
    }

    /// Records `count` for `script`, replacing any earlier value.
    pub fn set(&mut self, script: &str, count: usize) {
        self.counts.insert(script.to_string(), count);
    }

    /// Every recorded script, sorted.
    pub fn scripts(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(String::as_str)
    }

    /// Keeps only the scripts for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.counts.retain(|script, _| keep(script));
    }

    /// Compares `passed` with what is recorded for `script`.
    pub fn ratchet(&self, script: &str, passed: usize) -> Ratchet {
        match self.get(script) {
            None => Ratchet::Untracked,
            Some(recorded) if passed < recorded => Ratchet::Regressed { recorded },
            Some(recorded) if passed > recorded => Ratchet::Improved { recorded },
            Some(_) => Ratchet::Held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted_with_header() {
        let mut expectations = Expectations::default();
        expectations.set("core/b.wast", 3);
        expectations.set("core/a.wast", 260);
        let text = expectations.to_text();
        assert!(text.starts_with("# "));
        assert!(text.ends_with("core/a.wast 260\ncore/b.wast 3\n"), "{text}");
        assert_eq!(Expectations::parse(&text).unwrap(), expectations);
    }

    #[test]
    fn parse_ignores_comments_and_blank_lines() {
        let parsed = Expectations::parse("# hi\n\n  core/x.wast   7  \n").unwrap();
        assert_eq!(parsed.get("core/x.wast"), Some(7));
        assert_eq!(parsed.scripts().collect::<Vec<_>>(), ["core/x.wast"]);
    }

    #[test]
    fn parse_rejects_bad_lines_with_their_number() {
        for (text, needle) in [
            ("# c\ncore/x.wast\n", "line 2"),
            ("core/x.wast 1 2\n", "line 1"),
            ("core/x.wast many\n", "bad count"),
            ("core/x.wast -1\n", "bad count"),
            ("a 1\na 2\n", "listed twice"),
        ] {
            let err = format!("{:#}", Expectations::parse(text).unwrap_err());
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn ratchet_compares_with_the_record() {
        let expectations = Expectations::parse("core/a.wast 10\n").unwrap();
        assert_eq!(expectations.ratchet("core/a.wast", 10), Ratchet::Held);
        assert_eq!(
            expectations.ratchet("core/a.wast", 11),
            Ratchet::Improved { recorded: 10 }
        );
        assert_eq!(
            expectations.ratchet("core/a.wast", 9),
            Ratchet::Regressed { recorded: 10 }
        );
        assert_eq!(expectations.ratchet("core/b.wast", 0), Ratchet::Untracked);
    }

    #[test]
    fn a_missing_file_holds_no_expectations() {
        let path = std::env::temp_dir().join("weft-expectations-that-do-not-exist.txt");
        assert_eq!(Expectations::load(&path).unwrap(), Expectations::default());
    }

    #[test]
    fn retain_drops_scripts() {
        let mut expectations = Expectations::parse("a 1\nb 2\n").unwrap();
        expectations.retain(|script| script == "b");
        assert_eq!(expectations.scripts().collect::<Vec<_>>(), ["b"]);
    }
}
