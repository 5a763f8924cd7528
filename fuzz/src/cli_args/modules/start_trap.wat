;; A start function that traps while the module is instantiated.
(module
  (func $start (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (start $start)
  (func (export "_start")))
