;; `select` whose condition is a comparison, in every value type: the shape of a
;; reference-engine bug the outside campaign of 2026-12-07 found (wasmi gave the wrong arm
;; when a comparison fed `select` directly), and of wasmi's `v128.select` operand-order
;; bug (wasmi-labs/wasmi#1834). weft got these right; they stay as regression tests of
;; weft, run in every configuration the differential fuzzer compares.
;;
;; `guarded_divisor` and `divide_guarded` are what weft-fuzz's case 33 (seed 5 + 28, a
;; module wasm-smith made trap-free) shrank to: wasm-smith guards a divisor x as
;; `select(1, x, i32.eqz(x))`, and wasmi 2.0.0 returns 1 for every x (so it divides by
;; zero where no division by zero can happen). weft returns x for x != 0.
(module
  (func (export "guarded_divisor") (param i32) (result i32)
    (select (i32.const 1) (local.get 0) (i32.eqz (local.get 0))))
  (func (export "divide_guarded") (param i32 i32) (result i32)
    (i32.div_u (local.get 0)
      (select (i32.const 1) (local.get 1) (i32.eqz (local.get 1)))))
  (func (export "i32_lt_s") (param i32 i32) (result i32)
    (select (i32.const 10) (i32.const 20) (i32.lt_s (local.get 0) (local.get 1))))
  (func (export "i64_eq") (param i64 i64) (result i64)
    (select (i64.const -1) (i64.const 7) (i64.eq (local.get 0) (local.get 1))))
  (func (export "f32_gt") (param f32 f32) (result f32)
    (select (f32.const 1.5) (f32.const -2.5) (f32.gt (local.get 0) (local.get 1))))
  (func (export "f64_ne") (param f64 f64) (result f64)
    (select (local.get 0) (local.get 1) (f64.ne (local.get 0) (local.get 1))))
  (func (export "i32_eqz_of_operand") (param i32) (result i32)
    ;; The condition reads the same value as an arm.
    (select (local.get 0) (i32.const 99) (i32.eqz (local.get 0))))
  (func (export "v128_ge_u") (param i32 i32) (result v128)
    (select (result v128)
      (v128.const i64x2 0x1111111111111111 0x2222222222222222)
      (v128.const i64x2 0x3333333333333333 0x4444444444444444)
      (i32.ge_u (local.get 0) (local.get 1))))
  (func (export "externref_le_s") (param externref externref i64 i64) (result externref)
    (select (result externref) (local.get 0) (local.get 1)
      (i64.le_s (local.get 2) (local.get 3))))
  ;; A comparison computed once, feeding two selects and a branch.
  (func (export "shared_condition") (param i32 i32) (result i32)
    (local $c i32)
    (local.set $c (i32.gt_u (local.get 0) (local.get 1)))
    (i32.add
      (select (i32.const 1) (i32.const 2) (local.get $c))
      (select (i32.const 100) (i32.const 200) (local.get $c)))))

(assert_return (invoke "guarded_divisor" (i32.const -1)) (i32.const -1))
(assert_return (invoke "guarded_divisor" (i32.const 7)) (i32.const 7))
(assert_return (invoke "guarded_divisor" (i32.const 0)) (i32.const 1))
(assert_return (invoke "divide_guarded" (i32.const 12) (i32.const 3)) (i32.const 4))
(assert_return (invoke "divide_guarded" (i32.const 12) (i32.const 0)) (i32.const 12))
(assert_return (invoke "i32_lt_s" (i32.const -1) (i32.const 0)) (i32.const 10))
(assert_return (invoke "i32_lt_s" (i32.const 0) (i32.const -1)) (i32.const 20))
(assert_return (invoke "i32_lt_s" (i32.const 5) (i32.const 5)) (i32.const 20))
(assert_return (invoke "i64_eq" (i64.const 3) (i64.const 3)) (i64.const -1))
(assert_return (invoke "i64_eq" (i64.const 3) (i64.const 4)) (i64.const 7))
(assert_return (invoke "f32_gt" (f32.const 2) (f32.const 1)) (f32.const 1.5))
(assert_return (invoke "f32_gt" (f32.const nan) (f32.const 1)) (f32.const -2.5))
(assert_return (invoke "f64_ne" (f64.const 1) (f64.const 2)) (f64.const 1))
(assert_return (invoke "f64_ne" (f64.const 2) (f64.const 2)) (f64.const 2))
(assert_return (invoke "f64_ne" (f64.const nan) (f64.const nan)) (f64.const nan:canonical))
(assert_return (invoke "i32_eqz_of_operand" (i32.const 0)) (i32.const 0))
(assert_return (invoke "i32_eqz_of_operand" (i32.const 8)) (i32.const 99))
(assert_return (invoke "v128_ge_u" (i32.const -1) (i32.const 1))
  (v128.const i64x2 0x1111111111111111 0x2222222222222222))
(assert_return (invoke "v128_ge_u" (i32.const 1) (i32.const -1))
  (v128.const i64x2 0x3333333333333333 0x4444444444444444))
(assert_return (invoke "externref_le_s" (ref.extern 1) (ref.extern 2) (i64.const -5) (i64.const 5))
  (ref.extern 1))
(assert_return (invoke "externref_le_s" (ref.extern 1) (ref.extern 2) (i64.const 5) (i64.const -5))
  (ref.extern 2))
(assert_return (invoke "shared_condition" (i32.const -1) (i32.const 0)) (i32.const 101))
(assert_return (invoke "shared_condition" (i32.const 0) (i32.const -1)) (i32.const 202))
