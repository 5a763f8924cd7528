;; Callers go through a shared table of typed shared funcrefs (table.get + call_ref) while a
;; swapper thread replaces the entries with table.set (the table.atomic instructions only take
;; anyref subtypes). Slot 0 only ever holds $a or $c (results 1, 3), slot 1 only $b or $d
;; (2, 4): every other result, and every other function swapped out, counts as invalid.
(module
  (type $f (shared (func (result i32))))
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (table $t shared 2 2 (ref null $f))
  (global $invalid (shared mut i32) (i32.const 0))
  (global $calls (shared mut i32) (i32.const 0))
  (elem (table $t) (i32.const 0) (ref null $f) (ref.func $a) (ref.func $b))
  (elem declare func $worker $a $b $c $d)
  (func $a (type $f) (i32.const 1))
  (func $b (type $f) (i32.const 2))
  (func $c (type $f) (i32.const 3))
  (func $d (type $f) (i32.const 4))
  (func $worker (type $entry) (param $role i32)
    (local $i i32) (local $r i32)
    (if (i32.eqz (local.get $role))
      (then
        ;; The swapper.
        (loop $swap
          ;; (table.atomic.* only take anyref subtypes; plain get and set on a shared table.)
          (local.set $r (call_ref $f (table.get $t (i32.const 0))))
          (table.set $t (i32.const 0)
            (select (result (ref null $f))
              (ref.func $c) (ref.func $a) (i32.and (local.get $i) (i32.const 1))))
          (if (i32.and (i32.ne (local.get $r) (i32.const 1)) (i32.ne (local.get $r) (i32.const 3)))
            (then (drop (global.atomic.rmw.add seq_cst $invalid (i32.const 1)))))
          (if (i32.and (local.get $i) (i32.const 1))
            (then (table.set $t (i32.const 1) (ref.func $d)))
            (else (table.set $t (i32.const 1) (ref.func $b))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $swap (i32.lt_u (local.get $i) (i32.const 20000)))))
      (else
        ;; A caller.
        (loop $call
          (local.set $r (call_ref $f (table.get $t (i32.const 0))))
          (if (i32.and (i32.ne (local.get $r) (i32.const 1)) (i32.ne (local.get $r) (i32.const 3)))
            (then (drop (global.atomic.rmw.add seq_cst $invalid (i32.const 1)))))
          (local.set $r (call_ref $f (table.get $t (i32.const 1))))
          (if (i32.and (i32.ne (local.get $r) (i32.const 2)) (i32.ne (local.get $r) (i32.const 4)))
            (then (drop (global.atomic.rmw.add seq_cst $invalid (i32.const 1)))))
          (drop (global.atomic.rmw.add seq_cst $calls (i32.const 2)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $call (i32.lt_u (local.get $i) (i32.const 20000))))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns one swapper and $n callers; returns the invalid results.
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $done i32)
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (global.atomic.set seq_cst $invalid (i32.const 0))
    (global.atomic.set seq_cst $calls (i32.const 0))
    (loop $spawn
      (if (i32.le_s (call $spawn (ref.func $worker) (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn (i32.le_u (local.get $i) (local.get $n))))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.le_u (local.get $done) (local.get $n))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (global.atomic.get seq_cst $invalid))
  (func (export "calls") (result i32) (global.atomic.get seq_cst $calls))
  ;; The swapper's last round (19999, odd) stored $c and $d.
  (func (export "final") (result i32)
    (i32.add
      (i32.mul (call_ref $f (table.get $t (i32.const 0))) (i32.const 10))
      (call_ref $f (table.get $t (i32.const 1)))))
)
(assert_return (invoke "final") (i32.const 12))
(assert_return (invoke "run" (i32.const 3)) (i32.const 0))
(assert_return (invoke "calls") (i32.const 120000))
(assert_return (invoke "final") (i32.const 34))
