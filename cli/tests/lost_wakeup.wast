;; A lost wakeup in a spec script, for `weft explore`: thread $T checks a flag and then
;; waits on a word that the flag's setter never changes, so a store and notify that come
;; between its check and its wait are lost, and the main thread's `(wait $T)` deadlocks
;; with it. Every real run but an unlucky one passes.

(module $Mem
  (memory (export "shared") 1 1 shared))

(thread $T (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $run (export "run") (result i32)
      (if (result i32) (i32.eqz (i32.atomic.load (i32.const 0)))
        (then (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
        (else (i32.const 1)))))
  (assert_return (invoke "run") (either (i32.const 0) (i32.const 1))))

(register "mem" $Mem)
(module
  (memory (import "mem" "shared") 1 1 shared)
  (func $release (export "release")
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1)))))

(invoke "release")
(wait $T)
