;; A wasi-threads program: `_start` spawns one thread per argument (argc - 1 of them, the
;; I-th given I) and waits up to a second for them to count themselves in. Thread 2 traps,
;; thread 3 exits the program with 3, thread 4 and later block forever.
(module
  (memory (export "memory") (import "env" "memory") 1 1 shared)
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
    (if (i32.eq (local.get $arg) (i32.const 2)) (then unreachable))
    (if (i32.eq (local.get $arg) (i32.const 3)) (then (call $proc_exit (i32.const 3))))
    (if (i32.ge_u (local.get $arg) (i32.const 4))
      (then (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1))))))
  (func (export "_start")
    (local $threads i32) (local $i i32) (local $seen i32) (local $rounds i32)
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (local.set $threads (i32.sub (i32.load (i32.const 16)) (i32.const 1)))
    (block $spawned
      (loop $spawning
        (br_if $spawned (i32.ge_u (local.get $i) (local.get $threads)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (drop (call $spawn (local.get $i)))
        (br $spawning)))
    (block $joined
      (loop $waiting
        (local.set $seen (i32.atomic.load (i32.const 0)))
        (br_if $joined (i32.ge_u (local.get $seen) (local.get $threads)))
        (local.set $rounds (i32.add (local.get $rounds) (i32.const 1)))
        (br_if $joined (i32.gt_u (local.get $rounds) (i32.const 1000)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $seen) (i64.const 1000000)))
        (br $waiting)))))
