;; Lock/unlock loops for the host-integration benchmarks. Each loop takes a lock, bumps a plain
;; (non-atomic) counter in shared memory, and releases the lock, $n times ($n >= 1): with a
;; real lock, concurrent loops never lose an increment.
;; - `futex_loop`: a guest lock built on cmpxchg and wait/notify (0 free, 1 locked, 2 locked
;;   with possible sleepers), the classic three-state futex mutex;
;; - `semaphore_loop`: the host semaphore "lock" (one permit) from `Linker::define_semaphore`;
;; - `mutex_loop`: the host mutex "mutex" from `Linker::define_mutex`.
(module
  (type $loop_t (shared (func (param i32))))
  (type $void (shared (func)))
  (type $to_i32 (shared (func (result i32))))
  (type $acquire_t (shared (func (param i64) (result i32))))
  (type $release_t (shared (func (param i32))))
  (import "host" "lock.acquire" (func $sem_acquire (type $acquire_t)))
  (import "host" "lock.release" (func $sem_release (type $release_t)))
  (import "host" "mutex.lock" (func $mutex_lock (type $acquire_t)))
  (import "host" "mutex.unlock" (func $mutex_unlock (type $void)))
  (memory (export "memory") 1 1 shared)
  (func $futex_lock (type $void)
    (local $state i32)
    (local.set $state (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1)))
    (if (local.get $state)
      (then
        (if (i32.ne (local.get $state) (i32.const 2))
          (then (local.set $state (i32.atomic.rmw.xchg (i32.const 0) (i32.const 2)))))
        (loop $sleep
          (if (local.get $state)
            (then
              (drop (memory.atomic.wait32 (i32.const 0) (i32.const 2) (i64.const -1)))
              (local.set $state (i32.atomic.rmw.xchg (i32.const 0) (i32.const 2)))
              (br $sleep)))))))
  (func $futex_unlock (type $void)
    (if (i32.ne (i32.atomic.rmw.xchg (i32.const 0) (i32.const 0)) (i32.const 1))
      (then (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))))
  (func $bump (type $void)
    (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1))))
  (func (export "futex_loop") (type $loop_t) (param $n i32)
    (loop $l
      (call $futex_lock)
      (call $bump)
      (call $futex_unlock)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "semaphore_loop") (type $loop_t) (param $n i32)
    (loop $l
      (drop (call $sem_acquire (i64.const -1)))
      (call $bump)
      (call $sem_release (i32.const 1))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "mutex_loop") (type $loop_t) (param $n i32)
    (loop $l
      (drop (call $mutex_lock (i64.const -1)))
      (call $bump)
      (call $mutex_unlock)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "counter") (type $to_i32) (i32.atomic.load (i32.const 64)))
  (func (export "nothing") (type $void))
)
