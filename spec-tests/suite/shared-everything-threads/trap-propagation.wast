;; A trap in a spawned thread aborts the script's threads, and the invoke that is running
;; (here blocked forever in memory.atomic.wait32) reports that trap. The module keeps working
;; afterwards, spawning included.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $sum (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  ;; Traps on argument 13, otherwise adds it to $sum and counts itself done in word 0.
  (func $worker (type $entry) (param $x i32)
    (if (i32.eq (local.get $x) (i32.const 13)) (then unreachable))
    (drop (global.atomic.rmw.add seq_cst $sum (local.get $x)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns a worker with argument 13 and then waits on word 64, which nothing ever changes.
  (func (export "trap-and-block") (result i32)
    (if (i32.le_s (call $spawn (ref.func $worker) (i32.const 13)) (i32.const 0)) (then unreachable))
    (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))
    (i32.const -1))
  ;; Spawns workers with arguments 1..$n and joins them; returns $sum.
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $done i32)
    (global.atomic.set seq_cst $sum (i32.const 0))
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (local.set $i (i32.const 1))
    (loop $spawn
      (if (i32.le_s (call $spawn (ref.func $worker) (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn (i32.le_u (local.get $i) (local.get $n))))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get $n))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (global.atomic.get seq_cst $sum))
  (func (export "answer") (result i32) (i32.const 42))
)
(assert_return (invoke "sum" (i32.const 4)) (i32.const 10))
(assert_trap (invoke "trap-and-block") "unreachable")
(assert_return (invoke "answer") (i32.const 42))
(assert_return (invoke "sum" (i32.const 5)) (i32.const 15))
(assert_trap (invoke "trap-and-block") "unreachable")
(assert_return (invoke "sum" (i32.const 3)) (i32.const 6))
