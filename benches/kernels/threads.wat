;; Kernels for thread benchmarks. Every thread instantiates this module in its own store,
;; importing the same shared memory.
(module
  (import "env" "memory" (memory 1 1 shared))

  ;; Ping side of a wait/notify ping-pong on the flag at address 0: raise the flag, wake the
  ;; pong side, then sleep until it lowers the flag. One loop iteration is one round trip.
  (func (export "ping") (param $rounds i32)
    (local $i i32)
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (i32.atomic.store (i32.const 0) (i32.const 1))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (block $lowered
          (loop $sleep
            (br_if $lowered (i32.eqz (i32.atomic.load (i32.const 0))))
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
            (br $sleep)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $round))))

  ;; Pong side: sleep until the flag is raised, lower it, wake the ping side.
  (func (export "pong") (param $rounds i32)
    (local $i i32)
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (block $raised
          (loop $sleep
            (br_if $raised (i32.eq (i32.atomic.load (i32.const 0)) (i32.const 1)))
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
            (br $sleep)))
        (i32.atomic.store (i32.const 0) (i32.const 0))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $round))))

  ;; `count` sequentially consistent increments of the counter at address 64.
  (func (export "add") (param $count i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next))))

  (func (export "counter") (result i32) (i32.atomic.load (i32.const 64))))
