//! Where a function with loops starts within a cache line.
//!
//! Cranelift 0.135 does not align loop headers on x86-64, so where a hot loop falls within a
//! 64-byte line is decided by where its function starts. A loop that straddles a line costs
//! the front end another fetch every iteration: `sieve`'s 27-byte inner loop ran 1.25× slower
//! starting 17 bytes into a line than starting 1 byte in (measured against Wasmtime on the
//! same machine). A function's code is one block, so its start is the only freedom: this
//! module picks, for a function with small loops, the start within a line (a multiple of 16)
//! that lets its loops touch the fewest lines, each loop weighed by how deeply it nests, as
//! static estimates of block frequency do.

use std::ops::Range;

/// The line whose fetches a loop's iterations repeat.
pub(super) const LINE: u32 = 64;
/// The granularity of the start within a line: the most the start of any function needs,
/// and the step of the starts tried.
pub(super) const STEP: u32 = 16;
/// Loops longer than this span several lines wherever they start; one line more or less
/// does not matter to them.
const SMALL_LOOP: u32 = 256;
/// How many times more often a loop runs than the loop around it, as a guess.
const ITERATIONS_PER_NESTING: u32 = 8;

/// The loops of a function's machine code, from Cranelift's block layout: `starts` are the
/// offsets where blocks start, in order; an edge `(from, to)` leads from the block starting
/// at `from` to the one starting at `to`. An edge to a block at or before its own source is
/// a back edge, and the loop runs from its target to the end of its source block.
pub(super) fn loops(starts: &[u32], edges: &[(u32, u32)], code_len: u32) -> Vec<Range<u32>> {
    // `starts` is sorted, so the next block's start is a binary search away.
    let block_end = |start: u32| {
        let next = starts.partition_point(|&other| other <= start);
        starts.get(next).copied().unwrap_or(code_len)
    };
    edges
        .iter()
        .filter(|&&(from, to)| to <= from)
        .map(|&(from, to)| to..block_end(from))
        .collect()
}

/// The offset within a line the function should start at, or `None` if it has no small
/// loop to care about. Ties go to the start of a line, then to the offsets that keep the
/// ISA's 32-byte alignment, so that padding is added only where it helps.
pub(super) fn line_offset(loops: &[Range<u32>]) -> Option<u32> {
    let mut small: Vec<&Range<u32>> = loops
        .iter()
        .filter(|range| range.end - range.start <= SMALL_LOOP)
        .collect();
    // Two back edges to one header with one end are one loop.
    small.sort_by_key(|range| (range.start, range.end));
    small.dedup();
    if small.is_empty() {
        return None;
    }
    let weights: Vec<u32> = small
        .iter()
        .map(|&range| {
            let depth = small
                .iter()
                .filter(|&&other| other != range && contains(other, range))
                .count();
            ITERATIONS_PER_NESTING.saturating_pow(depth as u32)
        })
        .collect();
    let cost = |offset: u32| -> u32 {
        small
            .iter()
            .zip(&weights)
            .map(|(range, weight)| weight.saturating_mul(lines_touched(range, offset)))
            .fold(0, u32::saturating_add)
    };
    [0, 2 * STEP, STEP, 3 * STEP]
        .into_iter()
        .min_by_key(|&offset| cost(offset))
}

/// Whether `outer` holds all of `inner`.
fn contains(outer: &Range<u32>, inner: &Range<u32>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// How many lines the code `range` of a function starting `offset` bytes into a line
/// touches.
fn lines_touched(range: &Range<u32>, offset: u32) -> u32 {
    let first = (offset + range.start) / LINE;
    let last = (offset + range.end.max(range.start + 1) - 1) / LINE;
    last - first + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_edges_are_loops_from_their_target_to_the_end_of_their_source() {
        // Blocks at 0, 16, 40, 60; 40 jumps back to 16 and to itself; 16 jumps forward.
        let starts = [0, 16, 40, 60];
        let edges = [(0, 16), (16, 40), (16, 60), (40, 16), (40, 40), (40, 60)];
        assert_eq!(loops(&starts, &edges, 80), vec![16..60, 40..60]);
        // The last block's back edge ends with the code.
        assert_eq!(loops(&[0, 8], &[(8, 0)], 30), vec![0..30]);
        assert_eq!(loops(&starts, &[(0, 16), (16, 40)], 80), vec![]);
    }

    #[test]
    fn lines_touched_counts_partial_lines() {
        assert_eq!(lines_touched(&(0..64), 0), 1);
        assert_eq!(lines_touched(&(0..65), 0), 2);
        assert_eq!(lines_touched(&(60..70), 0), 2);
        assert_eq!(lines_touched(&(60..70), 16), 1);
        assert_eq!(lines_touched(&(5..5), 0), 1);
    }

    #[test]
    fn sieves_loops_start_where_the_inner_loops_touch_fewest_lines() {
        // `sieve`'s main function as weft compiles it: a loop at 0xe1..0x180 around one at
        // 0x10c..0x169 around one at 0x131..0x14c. Starting 16 bytes into a line, the
        // innermost fits one line and the middle one two; at 0 the innermost straddles, at
        // 32 and 48 the middle one touches three lines. The outermost touches one line more
        // at 16, which counts for less.
        let loops = [0xe1..0x180, 0x10c..0x169, 0x131..0x14c];
        assert_eq!(line_offset(&loops), Some(16));
    }

    #[test]
    fn deep_nests_saturate_their_weights() {
        // Twelve loops one inside the other: the innermost weighs 8^11, past `u32`.
        let nest: Vec<Range<u32>> = (0..12).map(|depth| depth..200 - depth).collect();
        assert!(line_offset(&nest).is_some());
    }

    #[test]
    fn functions_without_small_loops_have_no_preference() {
        assert_eq!(line_offset(&[]), None);
        assert_eq!(line_offset(&[0..300, 10..290]), None);
    }

    #[test]
    fn ties_keep_the_start_of_a_line() {
        // A 16-byte loop at 0 fits one line from every offset.
        let short = 0..16;
        assert_eq!(line_offset(std::slice::from_ref(&short)), Some(0));
        // A loop at 40..70 straddles a line starting at 0 or 16 and fits one at 32 or 48:
        // 32 keeps the ISA's alignment.
        let straddling = 40..70;
        assert_eq!(line_offset(std::slice::from_ref(&straddling)), Some(32));
    }
}
