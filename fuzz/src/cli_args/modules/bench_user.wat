;; A sightglass-style workload: `bench.start`, a short loop, `bench.end`.
(module
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (func (export "_start")
    (local $i i32)
    (call $start)
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $end)))
