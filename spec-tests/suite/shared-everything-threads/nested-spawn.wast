;; Threads that spawn threads: a thread at depth d > 0 spawns two children at depth d - 1, so a
;; tree of depth d has 2^(d+1) - 1 threads. Memory word 0 counts finished threads, word 4 failed
;; spawns, word 8 the sum of the depths.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (elem declare func $node)
  (func $node (type $entry) (param $depth i32)
    (if (local.get $depth)
      (then
        (if (i32.le_s (call $spawn (ref.func $node) (i32.sub (local.get $depth) (i32.const 1)))
                      (i32.const 0))
          (then (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))))
        (if (i32.le_s (call $spawn (ref.func $node) (i32.sub (local.get $depth) (i32.const 1)))
                      (i32.const 0))
          (then (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))))))
    (drop (i32.atomic.rmw.add (i32.const 8) (local.get $depth)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns the root at $depth and waits for all 2^($depth+1) - 1 threads; returns their number.
  (func (export "run") (param $depth i32) (result i32)
    (local $total i32) (local $done i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (i32.atomic.store (i32.const 8) (i32.const 0))
    (local.set $total
      (i32.sub (i32.shl (i32.const 1) (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))
    (if (i32.le_s (call $spawn (ref.func $node) (local.get $depth)) (i32.const 0)) (then unreachable))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get $total))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (i32.atomic.load (i32.const 0)))
  (func (export "failed-spawns") (result i32) (i32.atomic.load (i32.const 4)))
  (func (export "depth-sum") (result i32) (i32.atomic.load (i32.const 8)))
)
(assert_return (invoke "run" (i32.const 0)) (i32.const 1))
(assert_return (invoke "run" (i32.const 2)) (i32.const 7))
(assert_return (invoke "failed-spawns") (i32.const 0))
;; depth 2: 1 * 2 + 2 * 1 + 4 * 0
(assert_return (invoke "depth-sum") (i32.const 4))
(assert_return (invoke "run" (i32.const 4)) (i32.const 31))
(assert_return (invoke "failed-spawns") (i32.const 0))
;; depth 4: 1*4 + 2*3 + 4*2 + 8*1
(assert_return (invoke "depth-sum") (i32.const 26))

;; The same tree, spawned through "spawn-indirect": the entry is element 0 of the module's first
;; shared function table.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param i32 i32) (result i32))))
  (import "wasm:thread" "spawn-indirect" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (table $t shared 2 2 (ref null $entry))
  (elem (table $t) (i32.const 0) (ref null $entry) (ref.func $node) (ref.func $leaf))
  (func $node (type $entry) (param $depth i32)
    (if (local.get $depth)
      (then
        (if (i32.le_s (call $spawn (i32.const 0) (i32.sub (local.get $depth) (i32.const 1)))
                      (i32.const 0))
          (then (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))))
        (if (i32.le_s (call $spawn (i32.const 0) (i32.sub (local.get $depth) (i32.const 1)))
                      (i32.const 0))
          (then (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))))))
    (drop (i32.atomic.rmw.add (i32.const 8) (local.get $depth)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Element 1: adds 1000 times its argument to word 8.
  (func $leaf (type $entry) (param $x i32)
    (drop (i32.atomic.rmw.add (i32.const 8) (i32.mul (local.get $x) (i32.const 1000))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func $join (param $total i32) (result i32)
    (local $done i32)
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get $total))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (i32.atomic.load (i32.const 0)))
  (func $reset
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (i32.atomic.store (i32.const 8) (i32.const 0)))
  (func (export "run") (param $depth i32) (result i32)
    (call $reset)
    (if (i32.le_s (call $spawn (i32.const 0) (local.get $depth)) (i32.const 0)) (then unreachable))
    (call $join
      (i32.sub (i32.shl (i32.const 1) (i32.add (local.get $depth) (i32.const 1))) (i32.const 1))))
  (func (export "leaf") (param $x i32) (result i32)
    (call $reset)
    (if (i32.le_s (call $spawn (i32.const 1) (local.get $x)) (i32.const 0)) (then unreachable))
    (drop (call $join (i32.const 1)))
    (i32.atomic.load (i32.const 8)))
  (func (export "failed-spawns") (result i32) (i32.atomic.load (i32.const 4)))
  (func (export "depth-sum") (result i32) (i32.atomic.load (i32.const 8)))
)
(assert_return (invoke "run" (i32.const 3)) (i32.const 15))
(assert_return (invoke "failed-spawns") (i32.const 0))
;; depth 3: 1*3 + 2*2 + 4*1
(assert_return (invoke "depth-sum") (i32.const 11))
(assert_return (invoke "leaf" (i32.const 7)) (i32.const 7000))
