//! The outcomes sequential consistency allows a litmus program: the results and final
//! values of every interleaving of its threads' operations, found by a depth-first walk
//! that visits each reachable state once (interleavings that commute meet in one state).

use super::litmus::{Litmus, Outcome};
use std::collections::{BTreeSet, HashSet};

/// Every outcome some interleaving of `litmus`'s threads gives.
pub fn allowed_outcomes(litmus: &Litmus) -> BTreeSet<Outcome> {
    let mut walk = Walk {
        litmus,
        result_offsets: result_offsets(litmus),
        visited: HashSet::new(),
        outcomes: BTreeSet::new(),
    };
    let results = walk.result_offsets.last().copied().unwrap_or(0);
    let mut state = State {
        positions: vec![0; litmus.threads.len()],
        values: litmus.initial.clone(),
        results: vec![0; results],
    };
    walk.visit(&mut state);
    walk.outcomes
}

/// Where each thread's results start in an outcome, and (last) how many results there are.
fn result_offsets(litmus: &Litmus) -> Vec<usize> {
    let mut offsets = vec![0];
    for ops in &litmus.threads {
        let results = ops.iter().filter(|op| op.has_result()).count();
        offsets.push(offsets.last().copied().unwrap_or(0) + results);
    }
    offsets
}

/// A point of an interleaving: how far each thread got, the locations' values and the
/// results so far (those not yet produced are 0; the positions tell which are).
#[derive(Clone, PartialEq, Eq, Hash)]
struct State {
    positions: Vec<usize>,
    values: Vec<u32>,
    results: Vec<u32>,
}

struct Walk<'a> {
    litmus: &'a Litmus,
    /// See [`result_offsets`].
    result_offsets: Vec<usize>,
    visited: HashSet<State>,
    outcomes: BTreeSet<Outcome>,
}

impl Walk<'_> {
    /// Collects every outcome reachable from `state`, which it leaves as it found it.
    fn visit(&mut self, state: &mut State) {
        if !self.visited.insert(state.clone()) {
            return;
        }
        let mut finished = true;
        for thread in 0..self.litmus.threads.len() {
            let ops = &self.litmus.threads[thread];
            let position = state.positions[thread];
            let Some(&op) = ops.get(position) else {
                continue;
            };
            finished = false;
            let saved_values = state.values.clone();
            let slot = self.result_offsets[thread]
                + ops[..position].iter().filter(|op| op.has_result()).count();
            if let Some(result) = op.apply(&mut state.values) {
                state.results[slot] = result;
            }
            state.positions[thread] += 1;
            self.visit(state);
            state.positions[thread] -= 1;
            if op.has_result() {
                state.results[slot] = 0;
            }
            state.values = saved_values;
        }
        if finished {
            let mut outcome = state.results.clone();
            outcome.extend_from_slice(&state.values);
            self.outcomes.insert(outcome);
        }
    }
}
