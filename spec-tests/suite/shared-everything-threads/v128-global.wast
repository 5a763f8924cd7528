;; Plain global.get/global.set of a shared mutable v128 global never tear. Every worker keeps
;; writing values whose two 64-bit halves are equal and different from every other write, and
;; reads the global back in between; a read that saw half of one write and half of another has
;; unequal halves. Memory word 0 counts finished workers, word 4 is the start gate, word 8
;; counts torn reads, word 12 counts reads that saw another worker's write and word 16 counts
;; workers done writing. A worker done writing keeps reading until every worker is: then the
;; global holds the last writer's value, so with two or more workers some read sees another
;; worker's write, however the threads were scheduled.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $run_t (func (param i32 i32) (result i32)))
  (type $get_t (func (result i32)))
  (type $lane_t (func (result i64)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $g (shared mut v128) (v128.const i64x2 0 0))
  (global $iters (shared mut i32) (i32.const 0))
  (global $workers (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  (func $worker (type $entry)
    (local $i i32) (local $n i32) (local $mine i64) (local $seen v128) (local $all_done i32)
    (local.set $n (global.atomic.get seq_cst $iters))
    (loop $gate
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $gate))))
    (loop $l
      ;; Worker ids start at 1, so no write repeats the initial zero.
      (local.set $mine
        (i64.or
          (i64.shl (i64.extend_i32_u (i32.add (local.get 0) (i32.const 1))) (i64.const 32))
          (i64.extend_i32_u (local.get $i))))
      (global.set $g (i64x2.splat (local.get $mine)))
      (local.set $seen (global.get $g))
      (if (i64.ne (i64x2.extract_lane 0 (local.get $seen)) (i64x2.extract_lane 1 (local.get $seen)))
        (then (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))))
      (if (i64.ne (i64x2.extract_lane 0 (local.get $seen)) (local.get $mine))
        (then (drop (i32.atomic.rmw.add (i32.const 12) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.atomic.rmw.add (i32.const 16) (i32.const 1)))
    (block $watched
      (loop $watch
        ;; Read the count before the global: once it is complete, this read is of the final
        ;; value.
        (local.set $all_done
          (i32.eq (i32.atomic.load (i32.const 16)) (global.atomic.get seq_cst $workers)))
        (local.set $seen (global.get $g))
        (if (i64.ne (i64x2.extract_lane 0 (local.get $seen)) (i64x2.extract_lane 1 (local.get $seen)))
          (then (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))))
        (if (i64.ne (i64x2.extract_lane 0 (local.get $seen)) (local.get $mine))
          (then
            (drop (i32.atomic.rmw.add (i32.const 12) (i32.const 1)))
            (br $watched)))
        (br_if $watch (i32.eqz (local.get $all_done)))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Runs $n workers of $m iterations each; returns the number of torn reads.
  (func (export "run") (type $run_t)
    (local $i i32) (local $done i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (i32.atomic.store (i32.const 8) (i32.const 0))
    (i32.atomic.store (i32.const 12) (i32.const 0))
    (i32.atomic.store (i32.const 16) (i32.const 0))
    (global.atomic.set seq_cst $iters (local.get 1))
    (global.atomic.set seq_cst $workers (local.get 0))
    (loop $spawn
      (if (i32.le_s (call $spawn (ref.func $worker) (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn (i32.lt_u (local.get $i) (local.get 0))))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const -1)))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get 0))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (i32.atomic.load (i32.const 8)))
  ;; Whether the workers really overlapped: some read saw another worker's write.
  (func (export "interleaved") (type $get_t)
    (i32.ne (i32.atomic.load (i32.const 12)) (i32.const 0)))
  (func (export "low") (type $lane_t) (i64x2.extract_lane 0 (global.get $g)))
  (func (export "high") (type $lane_t) (i64x2.extract_lane 1 (global.get $g)))
  (func (export "get") (result v128) (global.get $g))
  (func (export "set") (param v128) (global.set $g (local.get 0)))
)
;; Values cross the embedding API whole.
(invoke "set" (v128.const i32x4 1 2 3 4))
(assert_return (invoke "get") (v128.const i32x4 1 2 3 4))
(assert_return (invoke "low") (i64.const 0x2_0000_0001))
(assert_return (invoke "high") (i64.const 0x4_0000_0003))
(assert_return (invoke "run" (i32.const 1) (i32.const 1000)) (i32.const 0))
(assert_return (invoke "run" (i32.const 4) (i32.const 200000)) (i32.const 0))
(assert_return (invoke "interleaved") (i32.const 1))
(assert_return (invoke "run" (i32.const 8) (i32.const 50000)) (i32.const 0))
