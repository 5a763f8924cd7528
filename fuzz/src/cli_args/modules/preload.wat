;; A module to `--preload helper=THIS`: a function, a memory, a table and a global.
(module
  (memory (export "mem") 1 1)
  (table (export "table") 1 funcref)
  (global (export "base") i32 (i32.const 40))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))
