;; A spec script whose directives fail, and one that loops until the script's timeout.
(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "spin") (loop $l (br $l))))
(assert_return (invoke "one") (i32.const 2))
(assert_trap (invoke "one") "unreachable")
(assert_invalid (module (func)) "type mismatch")
(invoke "spin")
