;; Spawning while 64 threads (the default limit) are alive fails with -1. The spawned threads
;; block on word 8 until the main thread releases them; word 0 counts the finished ones.
(module
  (type $entry (shared (func (param i32))))
  (type $spawn_t (shared (func (param (ref null $entry) i32) (result i32))))
  (import "wasm:thread" "spawn-ref" (func $spawn (type $spawn_t)))
  (memory $m 1 1 shared)
  (global $bad_ids (shared mut i32) (i32.const 0))
  (elem declare func $blocker)
  (func $blocker (type $entry) (param $x i32)
    (loop $blocked
      (if (i32.eqz (i32.atomic.load (i32.const 8)))
        (then
          (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
          (br $blocked))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  ;; Spawns blockers until a spawn fails, checking every result is a positive id or -1; then
  ;; releases and joins them. Returns the number of successful spawns.
  (func (export "fill") (result i32)
    (local $n i32) (local $r i32) (local $done i32)
    (block $full
      (loop $spawn
        (local.set $r (call $spawn (ref.func $blocker) (local.get $n)))
        (br_if $full (i32.eq (local.get $r) (i32.const -1)))
        (if (i32.le_s (local.get $r) (i32.const 0))
          (then (global.atomic.set seq_cst $bad_ids (i32.add (global.atomic.get seq_cst $bad_ids) (i32.const 1)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        ;; A runaway guard: never spawn more than 1000.
        (br_if $spawn (i32.lt_u (local.get $n) (i32.const 1000)))))
    ;; The limit holds: spawning again still fails.
    (if (i32.ne (call $spawn (ref.func $blocker) (i32.const 0)) (i32.const -1))
      (then (global.atomic.set seq_cst $bad_ids (i32.add (global.atomic.get seq_cst $bad_ids) (i32.const 1000)))))
    (i32.atomic.store (i32.const 8) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 8) (i32.const -1)))
    (loop $wait
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (local.get $n))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $wait))))
    (local.get $n))
  (func (export "bad-ids") (result i32) (global.atomic.get seq_cst $bad_ids))
  (func (export "spawn-null") (result i32)
    (call $spawn (ref.null $entry) (i32.const 0)))
)
(assert_return (invoke "fill") (i32.const 64))
(assert_return (invoke "bad-ids") (i32.const 0))
(assert_trap (invoke "spawn-null") "null function reference passed to spawn")
