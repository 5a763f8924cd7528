;; An entry point that takes parameters, which only `--invoke` can give.
(module
  (func (export "_start") (param i32 f64) (result i32) (local.get 0)))
