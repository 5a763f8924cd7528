;; A reactor: `_initialize` runs before the export `--invoke` names.
(module
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func (export "ready") (result i32) (global.get $ready))
  (func (export "twice") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 2))))
