//! Which instruction families the cases exercised, for the campaign's report.

use std::collections::BTreeMap;
use wasmparser::{Parser, Payload};

/// Counts of operators by family, over every module seen.
#[derive(Default)]
pub struct Families {
    counts: BTreeMap<&'static str, u64>,
}

impl Families {
    /// Adds the operators of `wasm`'s function bodies.
    pub fn add(&mut self, wasm: &[u8]) {
        for payload in Parser::new(0).parse_all(wasm).flatten() {
            let Payload::CodeSectionEntry(body) = payload else {
                continue;
            };
            let Ok(mut reader) = body.get_operators_reader() else {
                continue;
            };
            while !reader.eof() {
                let Ok(operator) = reader.read() else { break };
                *self
                    .counts
                    .entry(family(&format!("{operator:?}")))
                    .or_default() += 1;
            }
        }
    }

    /// `family count` for each family seen, most frequent first.
    pub fn summary(&self) -> String {
        tally(self.counts.iter().map(|(family, count)| (*family, *count)))
    }
}

/// `name count, ...` for `counts`, most frequent first.
pub fn tally<N: std::fmt::Display>(counts: impl IntoIterator<Item = (N, u64)>) -> String {
    let mut counts: Vec<(N, u64)> = counts.into_iter().collect();
    counts.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
    counts
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The family of an operator, from its name (wasmparser's variant name).
fn family(operator: &str) -> &'static str {
    let name = operator.split([' ', '{', '(']).next().unwrap_or(operator);
    let has = |part: &str| name.contains(part);
    let lanes = ["x16", "x8", "x4", "x2"].iter().any(|shape| has(shape));
    if name.starts_with("V128") && !has("Load") && !has("Store") || lanes {
        "simd"
    } else if has("Load") || has("Store") {
        "memory access"
    } else if name.starts_with("Memory") || name == "DataDrop" {
        "bulk memory"
    } else if name.starts_with("Table") || name.starts_with("Ref") || name == "ElemDrop" {
        "tables and references"
    } else if name.starts_with("Call") || name.starts_with("ReturnCall") || name == "Return" {
        "calls"
    } else if name.starts_with("Local") || name.starts_with("Global") {
        "locals and globals"
    } else if has("Trunc")
        || has("Convert")
        || has("Extend")
        || has("Wrap")
        || has("Demote")
        || has("Promote")
        || has("Reinterpret")
    {
        "conversions"
    } else if name.starts_with("F32") || name.starts_with("F64") {
        "float arithmetic"
    } else if name.starts_with("I32") || name.starts_with("I64") {
        "integer arithmetic"
    } else {
        "control"
    }
}
