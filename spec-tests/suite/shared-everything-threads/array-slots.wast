;; A lock-free slot array: a shared i32 array of 4096 slots in a shared global, claimed by
;; threads 1..n with array.atomic.rmw.cmpxchg 0 -> id. Each thread counts its claims in its own
;; element of a second shared array ($tally[id], with array.atomic.rmw.add), and every thread
;; adds 1 to $tally[0] for each slot it visits, so that element ends at exactly
;; 3 passes * 4096 slots * n threads. Afterwards the home thread checks that every slot is
;; claimed, that the claims add up to exactly 4096 and that the owners recorded in the slots
;; match each thread's count. Memory word 0 counts finished workers (for joining); workers
;; start together once the home thread opens the gate at memory word 4.
(module
  (type $a (shared (array (mut i32))))
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  ;; Explicit unshared types: wat would give an inline signature an earlier identical shared type.
  (type $n_t (func (param i32) (result i32)))
  (type $slot_t (func (param i32) (result i32)))
  (type $get_t (func (result i32)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $slots (shared (ref $a)) (array.new_default $a (i32.const 4096)))
  (global $tally (shared (ref $a)) (array.new_default $a (i32.const 64)))
  (elem declare func $worker)
  (func $worker (type $entry) (param $id i32)
    (local $round i32) (local $i i32)
    (loop $gate
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $gate))))
    ;; Three passes over all slots; a claimed slot is never claimed again.
    (loop $pass
      (local.set $i (i32.const 0))
      (loop $slot
        (if (i32.eqz
              (array.atomic.rmw.cmpxchg seq_cst $a (global.get $slots) (local.get $i)
                (i32.const 0) (local.get $id)))
          (then
            (drop (array.atomic.rmw.add seq_cst $a (global.get $tally) (local.get $id)
              (i32.const 1)))))
        (drop (array.atomic.rmw.add seq_cst $a (global.get $tally) (i32.const 0) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $slot (i32.lt_u (local.get $i) (array.len (global.get $slots)))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $pass (i32.lt_u (local.get $round) (i32.const 3))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns threads 1..$n on cleared arrays; returns the sum of their claim counts.
  (func (export "run") (type $n_t)
    (local $i i32) (local $done i32) (local $sum i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))
    (array.fill $a (global.get $slots) (i32.const 0) (i32.const 0) (i32.const 4096))
    (array.fill $a (global.get $tally) (i32.const 0) (i32.const 0) (i32.const 64))
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
    (local.set $i (i32.const 1))
    (loop $sum
      (local.set $sum
        (i32.add (local.get $sum) (array.atomic.get seq_cst $a (global.get $tally) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $sum (i32.le_u (local.get $i) (local.get 0))))
    (local.get $sum))
  ;; The shared element every thread added to.
  (func (export "visits") (type $get_t)
    (array.atomic.get seq_cst $a (global.get $tally) (i32.const 0)))
  ;; The number of slots still 0 (unclaimed).
  (func (export "unclaimed") (type $get_t)
    (local $i i32) (local $zero i32)
    (loop $slot
      (if (i32.eqz (array.get $a (global.get $slots) (local.get $i)))
        (then (local.set $zero (i32.add (local.get $zero) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $slot (i32.lt_u (local.get $i) (i32.const 4096))))
    (local.get $zero))
  ;; Counts, per owner, the slots that hold it (in memory words 1024 + 4 * owner), and returns
  ;; the number of slots without a valid owner 1..$n plus the owners whose count differs from
  ;; their own tally.
  (func (export "mismatches") (type $n_t)
    (local $i i32) (local $owner i32) (local $bad i32)
    (memory.fill (i32.const 1024) (i32.const 0) (i32.const 256))
    (loop $slot
      (local.set $owner (array.atomic.get seq_cst $a (global.get $slots) (local.get $i)))
      (if (i32.or (i32.eqz (local.get $owner)) (i32.gt_u (local.get $owner) (local.get 0)))
        (then (local.set $bad (i32.add (local.get $bad) (i32.const 1))))
        (else
          (i32.store offset=1024 (i32.shl (local.get $owner) (i32.const 2))
            (i32.add (i32.load offset=1024 (i32.shl (local.get $owner) (i32.const 2)))
              (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $slot (i32.lt_u (local.get $i) (i32.const 4096))))
    (local.set $owner (i32.const 1))
    (loop $check
      (if (i32.ne (i32.load offset=1024 (i32.shl (local.get $owner) (i32.const 2)))
                  (array.atomic.get seq_cst $a (global.get $tally) (local.get $owner)))
        (then (local.set $bad (i32.add (local.get $bad) (i32.const 1)))))
      (local.set $owner (i32.add (local.get $owner) (i32.const 1)))
      (br_if $check (i32.le_u (local.get $owner) (local.get 0))))
    (local.get $bad))
  ;; A claimed slot refuses a second claim, which returns its owner, and keeps its owner:
  ;; returns 1 when that holds.
  (func (export "reclaim-keeps-owner") (type $slot_t)
    (local $before i32)
    (local.set $before (array.get $a (global.get $slots) (local.get 0)))
    (i32.and
      (i32.and
        (i32.ne (local.get $before) (i32.const 0))
        (i32.eq (local.get $before)
          (array.atomic.rmw.cmpxchg seq_cst $a (global.get $slots) (local.get 0)
            (i32.const 0) (i32.const -1))))
      (i32.eq (local.get $before) (array.get $a (global.get $slots) (local.get 0)))))
  (func (export "slot") (type $slot_t)
    (array.get $a (global.get $slots) (local.get 0)))
  ;; An atomic access past the end traps like a plain one.
  (func (export "claim-out-of-bounds") (type $get_t)
    (array.atomic.rmw.cmpxchg seq_cst $a (global.get $slots) (i32.const 4096)
      (i32.const 0) (i32.const 1)))
)
(assert_return (invoke "slot" (i32.const 5)) (i32.const 0))
(assert_return (invoke "unclaimed") (i32.const 4096))
(assert_return (invoke "run" (i32.const 6)) (i32.const 4096))
(assert_return (invoke "visits") (i32.const 73728))
(assert_return (invoke "unclaimed") (i32.const 0))
(assert_return (invoke "mismatches" (i32.const 6)) (i32.const 0))
(assert_return (invoke "reclaim-keeps-owner" (i32.const 7)) (i32.const 1))
(assert_return (invoke "run" (i32.const 1)) (i32.const 4096))
(assert_return (invoke "visits") (i32.const 12288))
(assert_return (invoke "mismatches" (i32.const 1)) (i32.const 0))
(assert_return (invoke "slot" (i32.const 4095)) (i32.const 1))
(assert_return (invoke "run" (i32.const 16)) (i32.const 4096))
(assert_return (invoke "visits") (i32.const 196608))
(assert_return (invoke "unclaimed") (i32.const 0))
(assert_return (invoke "mismatches" (i32.const 16)) (i32.const 0))
(assert_trap (invoke "claim-out-of-bounds") "out of bounds array access")
(assert_return (invoke "unclaimed") (i32.const 0))
