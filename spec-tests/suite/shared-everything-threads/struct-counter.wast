;; A shared struct in a shared global, updated by real threads with struct.atomic.rmw.add on an
;; i32 and an i64 field. Every increment of the i64 field also adds to its high word, so a
;; torn or non-atomic 64-bit update shows in the total. Memory word 0 counts finished workers (for
;; joining); workers start together once the home thread opens the gate at memory word 4.
(module
  (type $c (shared (struct (field $n (mut i32)) (field $w (mut i64)))))
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  ;; Explicit unshared types: wat would give an inline signature an earlier identical shared type.
  (type $run_t (func (param i32 i32) (result i32)))
  (type $get32_t (func (result i32)))
  (type $get64_t (func (result i64)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $counter (shared (ref $c)) (struct.new_default $c))
  (global $iters (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  (func $worker (type $entry)
    (local $i i32) (local $n i32)
    (local.set $n (global.atomic.get seq_cst $iters))
    ;; Start together: wait for the gate at memory word 4.
    (loop $gate
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $gate))))
    (loop $l
      (drop (struct.atomic.rmw.add seq_cst $c $n (global.get $counter) (i32.const 1)))
      (drop (struct.atomic.rmw.add seq_cst $c $w (global.get $counter) (i64.const 0x1_0000_0001)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Runs $n workers of $m iterations each from zeroed fields; returns the i32 field.
  (func (export "run") (type $run_t)
    (local $i i32) (local $done i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (struct.atomic.set seq_cst $c $n (global.get $counter) (i32.const 0))
    (struct.atomic.set seq_cst $c $w (global.get $counter) (i64.const 0))
    (global.atomic.set seq_cst $iters (local.get 1))
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
    (struct.atomic.get seq_cst $c $n (global.get $counter)))
  (func (export "wide") (type $get64_t)
    (struct.atomic.get seq_cst $c $w (global.get $counter)))
  ;; A plain read agrees with the atomic one once the workers are joined.
  (func (export "plain") (type $get32_t)
    (struct.get $c $n (global.get $counter)))
)
(assert_return (invoke "run" (i32.const 1) (i32.const 1000)) (i32.const 1000))
(assert_return (invoke "wide") (i64.const 0x3e8_0000_03e8))
(assert_return (invoke "run" (i32.const 4) (i32.const 100000)) (i32.const 400000))
(assert_return (invoke "wide") (i64.const 0x6_1a80_0006_1a80))
(assert_return (invoke "plain") (i32.const 400000))
(assert_return (invoke "run" (i32.const 8) (i32.const 50000)) (i32.const 400000))
(assert_return (invoke "wide") (i64.const 0x6_1a80_0006_1a80))

;; A spin lock in a shared struct: struct.atomic.rmw.cmpxchg 0 -> 1 on the $flag field guards
;; a plain (non-atomic) struct.get/struct.set increment of the $count field. The struct also
;; records, with an atomic max via cmpxchg, how many threads were ever inside the lock at once:
;; exactly 1 if the lock excludes.
(module
  (type $lock (shared (struct
    (field $flag (mut i32)) (field $count (mut i32)) (field $inside (mut i32))
    (field $most (mut i32)))))
  (type $entry (shared (func (param i32))))
  (type $void (shared (func)))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $run_t (func (param i32 i32) (result i32)))
  (type $get_t (func (result i32)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $l (shared (ref $lock)) (struct.new $lock (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
  (global $iters (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  (func $acquire (type $void)
    (loop $spin
      (br_if $spin
        (struct.atomic.rmw.cmpxchg seq_cst $lock $flag (global.get $l) (i32.const 0) (i32.const 1)))))
  (func $release (type $void)
    (struct.atomic.set seq_cst $lock $flag (global.get $l) (i32.const 0)))
  ;; Raises $most to at least the current number of threads inside.
  (func $note-inside (type $void)
    (local $now i32) (local $seen i32)
    (local.set $now
      (i32.add (struct.atomic.rmw.add seq_cst $lock $inside (global.get $l) (i32.const 1))
        (i32.const 1)))
    (loop $max
      (local.set $seen (struct.atomic.get seq_cst $lock $most (global.get $l)))
      (if (i32.gt_u (local.get $now) (local.get $seen))
        (then
          (br_if $max
            (i32.ne (local.get $seen)
              (struct.atomic.rmw.cmpxchg seq_cst $lock $most (global.get $l)
                (local.get $seen) (local.get $now))))))))
  (func $worker (type $entry)
    (local $i i32) (local $n i32)
    (local.set $n (global.atomic.get seq_cst $iters))
    ;; Start together: wait for the gate at memory word 4.
    (loop $gate
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $gate))))
    (loop $l
      (call $acquire)
      (call $note-inside)
      (struct.set $lock $count (global.get $l)
        (i32.add (struct.get $lock $count (global.get $l)) (i32.const 1)))
      (drop (struct.atomic.rmw.sub seq_cst $lock $inside (global.get $l) (i32.const 1)))
      (call $release)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Runs $n workers of $m locked increments each; returns the count.
  (func (export "run") (type $run_t)
    (local $i i32) (local $done i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (struct.atomic.set seq_cst $lock $count (global.get $l) (i32.const 0))
    (global.atomic.set seq_cst $iters (local.get 1))
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
    (call $acquire)
    (struct.get $lock $count (global.get $l))
    (call $release))
  (func (export "lock-state") (type $get_t)
    (struct.atomic.get seq_cst $lock $flag (global.get $l)))
  (func (export "most-inside") (type $get_t)
    (struct.atomic.get seq_cst $lock $most (global.get $l)))
  (func (export "inside") (type $get_t)
    (struct.atomic.get seq_cst $lock $inside (global.get $l)))
  ;; A failed cmpxchg returns the current value and leaves the field alone.
  (func (export "cmpxchg-miss") (type $get_t)
    (i32.add
      (i32.mul (i32.const 10)
        (struct.atomic.rmw.cmpxchg seq_cst $lock $flag (global.get $l) (i32.const 1) (i32.const 7)))
      (struct.atomic.get seq_cst $lock $flag (global.get $l))))
)
(assert_return (invoke "run" (i32.const 1) (i32.const 1000)) (i32.const 1000))
(assert_return (invoke "run" (i32.const 4) (i32.const 20000)) (i32.const 80000))
(assert_return (invoke "run" (i32.const 8) (i32.const 10000)) (i32.const 80000))
(assert_return (invoke "lock-state") (i32.const 0))
(assert_return (invoke "inside") (i32.const 0))
(assert_return (invoke "most-inside") (i32.const 1))
(assert_return (invoke "cmpxchg-miss") (i32.const 0))

;; A lock-free (Treiber) stack of shared structs that the threads allocate concurrently: each
;; pushes $m nodes holding id * 10000 + i by struct.atomic.rmw.cmpxchg on the $head field of a
;; shared holder struct. The home thread then walks the stack, counting nodes, summing values,
;; and checking that each thread's nodes appear newest first.
(module
  (rec (type $node (shared (struct (field $value i32) (field $next (mut (ref null $node)))))))
  (type $holder (shared (struct (field $head (mut (ref null $node))))))
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (type $run_t (func (param i32 i32) (result i32)))
  (type $get_t (func (result i32)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $h (shared (ref $holder)) (struct.new_default $holder))
  (global $iters (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  (func $worker (type $entry) (param $id i32)
    (local $i i32) (local $n i32) (local $node (ref null $node)) (local $old (ref null $node))
    (local.set $n (global.atomic.get seq_cst $iters))
    (loop $gate
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $gate))))
    (loop $l
      (local.set $node
        (struct.new $node (i32.add (i32.mul (local.get $id) (i32.const 10000)) (local.get $i))
          (ref.null (shared none))))
      (loop $push
        (local.set $old (struct.atomic.get seq_cst $holder $head (global.get $h)))
        (struct.atomic.set seq_cst $node $next (local.get $node) (local.get $old))
        (br_if $push (i32.eqz (ref.eq (local.get $old)
          (struct.atomic.rmw.cmpxchg seq_cst $holder $head (global.get $h)
            (local.get $old) (local.get $node))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Runs threads 1..$n pushing $m nodes each onto an empty stack; returns the node count.
  ;; Memory word 8 gets the sum of the values and word 12 the ordering errors; words
  ;; 64 + 4 * id hold the last i seen of thread id.
  (func (export "run") (type $run_t)
    (local $i i32) (local $done i32) (local $count i32) (local $p (ref null $node))
    (local $value i32) (local $slot i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (i32.atomic.store (i32.const 8) (i32.const 0))
    (i32.atomic.store (i32.const 12) (i32.const 0))
    (memory.fill (i32.const 64) (i32.const 0x7f) (i32.const 256))
    (struct.atomic.set seq_cst $holder $head (global.get $h) (ref.null (shared none)))
    (global.atomic.set seq_cst $iters (local.get 1))
    (local.set $i (i32.const 1))
    (loop $spawn
      (if (i32.le_s (call $spawn (ref.func $worker) (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn (i32.le_u (local.get $i) (local.get 0))))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const -1)))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get 0))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (local.set $p (struct.atomic.get seq_cst $holder $head (global.get $h)))
    (block $end
      (loop $walk
        (br_if $end (ref.is_null (local.get $p)))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $value (struct.get $node $value (local.get $p)))
        (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (local.get $value)))
        (local.set $slot (i32.add (i32.const 64)
          (i32.shl (i32.div_u (local.get $value) (i32.const 10000)) (i32.const 2))))
        (if (i32.ge_u (i32.rem_u (local.get $value) (i32.const 10000)) (i32.load (local.get $slot)))
          (then (i32.store (i32.const 12) (i32.add (i32.load (i32.const 12)) (i32.const 1)))))
        (i32.store (local.get $slot) (i32.rem_u (local.get $value) (i32.const 10000)))
        (local.set $p (struct.get $node $next (local.get $p)))
        (br $walk)))
    (local.get $count))
  (func (export "value-sum") (type $get_t) (i32.load (i32.const 8)))
  (func (export "order-errors") (type $get_t) (i32.load (i32.const 12)))
)
(assert_return (invoke "run" (i32.const 1) (i32.const 1000)) (i32.const 1000))
(assert_return (invoke "value-sum") (i32.const 10499500))
(assert_return (invoke "order-errors") (i32.const 0))
(assert_return (invoke "run" (i32.const 4) (i32.const 5000)) (i32.const 20000))
(assert_return (invoke "value-sum") (i32.const 549990000))
(assert_return (invoke "order-errors") (i32.const 0))
(assert_return (invoke "run" (i32.const 16) (i32.const 1000)) (i32.const 16000))
(assert_return (invoke "value-sum") (i32.const 1367992000))
(assert_return (invoke "order-errors") (i32.const 0))
