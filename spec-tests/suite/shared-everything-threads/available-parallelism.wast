;; "available-parallelism" reports at least 1 and, here, no more than 64; it is the same when
;; asked from a spawned thread.
(module
  (type $entry (shared (func (param i32))))
  (type $ap_t (shared (func (result i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "available-parallelism" (func $ap (type $ap_t)))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (elem declare func $ask)
  (func $ask (type $entry) (param i32)
    (i32.atomic.store (i32.const 4) (call $ap))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "in-range") (result i32)
    (i32.and
      (i32.ge_s (call $ap) (i32.const 1))
      (i32.le_s (call $ap) (i32.const 64))))
  (func (export "same-on-a-thread") (result i32)
    (if (i32.le_s (call $spawn (ref.func $ask) (i32.const 0)) (i32.const 0)) (then unreachable))
    (loop $wait
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $wait))))
    (i32.eq (i32.atomic.load (i32.const 4)) (call $ap)))
)
(assert_return (invoke "in-range") (i32.const 1))
(assert_return (invoke "same-on-a-thread") (i32.const 1))
