;; Nothing to run: no `_start` or `main` function, no start function; an entry point's
;; name on a memory and a global instead.
(module
  (memory (export "_start") 1)
  (global (export "main") i32 (i32.const 0))
  (func (export "f") (result i32) (i32.const 5)))
