;; Guest threads for the terminate benchmark: `block` announces itself on `$waiting`, then
;; waits at address 0, which nothing ever notifies, until the store's threads are terminated.
(module
  (type $entry (shared (func (param i32))))
  (type $to_i32 (shared (func (result i32))))
  (memory 1 1 shared)
  (global $waiting (shared mut i32) (i32.const 0))
  (func (export "block") (type $entry)
    (drop (global.atomic.rmw.add seqcst $waiting (i32.const 1)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  ;; How many threads have announced themselves, ever.
  (func (export "waiting") (type $to_i32) (global.atomic.get seqcst $waiting))
)
