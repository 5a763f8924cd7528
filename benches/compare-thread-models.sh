#!/usr/bin/env bash
# Runs the thread-model benchmarks and the memory-per-thread measurement (`thread_memory`, a
# process per side), and prints their ratios as markdown, also written to
# $CARGO_TARGET_DIR/thread-models.md (by default target/thread-models.md).
#
#   benches/compare-thread-models.sh [CRITERION_ARGS...]
#
# CRITERION_ARGS go to the bench, e.g. `--warm-up-time 0.5 --measurement-time 1` for a quick
# run. With WEFT_BENCH_WASMTIME=1 the benches are built with the `wasmtime` feature, which adds
# wasmtime's side to every group and to the memory measurement (the first build takes several
# minutes), and the compute bench runs too. Criterion's plots land in
# $CARGO_TARGET_DIR/criterion/report/index.html. Exits non-zero if a benchmark or the memory
# measurement fails or the table misses a required estimate.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

features=()
benches=(--bench thread_models)
if [[ "${WEFT_BENCH_WASMTIME:-0}" == 1 ]]; then
    features=(--features wasmtime)
    benches+=(--bench compute)
fi

cargo bench -p weft-benches "${features[@]}" "${benches[@]}" -- "$@"
# Writes thread_models_memory.json next to criterion's estimates, where `ratios` reads it.
cargo run --release --quiet -p weft-benches "${features[@]}" --bin thread_memory

mkdir -p "$target"
table="$target/thread-models.md"
# `ratios` takes the same `--bench` selection; its status says whether anything was missing.
# The same features as above, so that the library is not built a second time without them.
cargo run --release --quiet -p weft-benches "${features[@]}" --bin ratios -- --markdown "${benches[@]}" | tee "$table"
echo "written to $table; plots in $target/criterion/report/index.html" >&2
