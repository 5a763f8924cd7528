;; A lock-free slot array: a shared eqref table of 64 slots, claimed by threads with
;; table.atomic.rmw.cmpxchg null -> i31(id). Each thread counts its claims in memory word
;; 4 * id; afterwards the main thread checks that every slot is taken, that the claims add up to
;; exactly 64 and that the owners recorded in the table match each thread's count.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (table $slots shared 64 64 (ref null (shared eq)))
  (global $claims (shared mut i32) (i32.const 0))
  (elem declare func $worker)
  (func $worker (type $entry) (param $id i32)
    (local $round i32) (local $i i32)
    ;; Three passes over all slots; a claimed slot is never claimed again.
    (loop $pass
      (local.set $i (i32.const 0))
      (loop $slot
        (if (ref.is_null
              (table.atomic.rmw.cmpxchg seq_cst $slots (local.get $i)
                (ref.null (shared eq)) (ref.i31_shared (local.get $id))))
          (then
            (drop (global.atomic.rmw.add seq_cst $claims (i32.const 1)))
            (drop (i32.atomic.rmw.add
              (i32.shl (local.get $id) (i32.const 2)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $slot (i32.lt_u (local.get $i) (i32.const 64))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $pass (i32.lt_u (local.get $round) (i32.const 3))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns threads 1..$n; returns the total number of claims.
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $done i32)
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
    (global.atomic.get seq_cst $claims))
  ;; Counts, per owner, the slots that hold it (in words 1024 + 4 * owner; i31 values are
  ;; compared with ref.eq), and returns the number of slots without a valid owner plus the owners
  ;; whose count differs from their own tally.
  (func (export "mismatches") (param $n i32) (result i32)
    (local $i i32) (local $e (ref null (shared eq))) (local $owner i32) (local $found i32)
    (local $bad i32)
    (loop $slot
      (local.set $e (table.atomic.get seq_cst $slots (local.get $i)))
      (local.set $found (i32.const 0))
      (local.set $owner (i32.const 1))
      (loop $owners
        (if (ref.eq (local.get $e) (ref.i31_shared (local.get $owner)))
          (then
            (local.set $found (i32.add (local.get $found) (i32.const 1)))
            (i32.store offset=1024 (i32.shl (local.get $owner) (i32.const 2))
              (i32.add (i32.load offset=1024 (i32.shl (local.get $owner) (i32.const 2)))
                (i32.const 1)))))
        (local.set $owner (i32.add (local.get $owner) (i32.const 1)))
        (br_if $owners (i32.le_u (local.get $owner) (local.get $n))))
      (if (i32.ne (local.get $found) (i32.const 1))
        (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $slot (i32.lt_u (local.get $i) (i32.const 64))))
    (local.set $owner (i32.const 1))
    (loop $check
      (if (i32.ne (i32.load offset=1024 (i32.shl (local.get $owner) (i32.const 2)))
                  (i32.atomic.load (i32.shl (local.get $owner) (i32.const 2))))
        (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
      (local.set $owner (i32.add (local.get $owner) (i32.const 1)))
      (br_if $check (i32.le_u (local.get $owner) (local.get $n))))
    (local.get $bad))
  ;; A claimed slot refuses a second claim (which returns its owner) and keeps its owner.
  (func (export "reclaim-keeps-owner") (param $i i32) (result i32)
    (local $before (ref null (shared eq)))
    (local.set $before (table.get $slots (local.get $i)))
    (i32.and
      (i32.and
        (i32.eqz (ref.is_null (local.get $before)))
        (ref.eq (local.get $before)
          (table.atomic.rmw.cmpxchg seq_cst $slots (local.get $i)
            (ref.null (shared eq)) (ref.i31_shared (i32.const -1)))))
      (ref.eq (local.get $before) (table.get $slots (local.get $i)))))
  (func (export "empty") (param $i i32) (result i32)
    (ref.is_null (table.get $slots (local.get $i))))
)
(assert_return (invoke "empty" (i32.const 5)) (i32.const 1))
(assert_return (invoke "run" (i32.const 6)) (i32.const 64))
(assert_return (invoke "mismatches" (i32.const 6)) (i32.const 0))
(assert_return (invoke "empty" (i32.const 5)) (i32.const 0))
(assert_return (invoke "reclaim-keeps-owner" (i32.const 7)) (i32.const 1))

;; A single thread claims every slot.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (table $slots shared 16 16 (ref null (shared eq)))
  (elem declare func $worker)
  (func $worker (type $entry) (param $id i32)
    (local $i i32)
    (loop $slot
      (if (ref.is_null
            (table.atomic.rmw.cmpxchg seq_cst $slots (local.get $i)
              (ref.null (shared eq)) (ref.i31_shared (local.get $id))))
        (then (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $slot (i32.lt_u (local.get $i) (i32.const 16))))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "run") (result i32)
    (if (i32.le_s (call $spawn (ref.func $worker) (i32.const 0x3fffffff)) (i32.const 0))
      (then unreachable))
    (loop $wait
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $wait))))
    (i32.atomic.load (i32.const 4)))
  (func (export "owned-by") (param $i i32) (param $id i32) (result i32)
    (ref.eq (table.atomic.get seq_cst $slots (local.get $i)) (ref.i31_shared (local.get $id))))
)
(assert_return (invoke "run") (i32.const 16))
(assert_return (invoke "owned-by" (i32.const 15) (i32.const 0x3fffffff)) (i32.const 1))
(assert_return (invoke "owned-by" (i32.const 0) (i32.const 0x3fffffff)) (i32.const 1))
(assert_return (invoke "owned-by" (i32.const 0) (i32.const 0x3ffffffe)) (i32.const 0))
