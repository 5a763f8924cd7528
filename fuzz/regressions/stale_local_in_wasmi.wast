;; A local the function never sets, read after an `if` that takes a parameter: wasmi
;; 2.0.0 sometimes reads a stale value in its place (here global "4" = local 3 xor 0 should
;; stay 0; wasmi gave -1 after weft's configurations had run on the same thread, other
;; values in other processes, and 0 on a new thread). The one-hour differential campaign
;; of 2026-12-07 stopped on it (case 2026192540, global "14": weft 0, wasmi 65454);
;; wasm-shrink and removing lines while wasmi still differed gave this module. Since then
;; a difference with wasmi is checked by running wasmi again on a thread of its own, and
;; a reference whose answer changes is not held against weft.
;;
;; weft zero-initialises locals, as the spec says, in every configuration.
(module
  (type (;0;) (func (param f32)))
  (global (;0;) (mut v128) v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000)
  (global (;1;) (mut i32) i32.const 0)
  (global (;2;) (mut i32) i32.const 0)
  (global (;3;) (mut i64) i64.const 0)
  (global (;4;) (mut i64) i64.const 0)
  (global (;5;) (mut i32) i32.const 0)
  (export "run" (func 0))
  (export "4" (global 2))
  (func (;0;) (type 0) (param f32)
    (local f64 externref i32 f64 v128 v128 v128 v128 v128 v128 v128 f32)
    i32.const 0
    if
    end
    global.get 5
    global.set 5
    block
      i64.const 1
      local.get 3
      f32.const -nan:0x6fffff
      i64.const -6975650974432566143
      f64.reinterpret_i64
      f64.const nan
      local.get 4
      local.get 4
      f64.eq
      select
      i32.trunc_f64_s
      if (type 0) (param f32)
        i32.trunc_sat_f32_s
        if
        end
      else
        i32.reinterpret_f32
        global.get 1
        i32.xor
        global.set 1
      end
      global.get 2
      i32.xor
      global.set 2
      global.get 3
      i64.xor
      global.set 3
    end
  )
)

(invoke "run" (f32.const 0))
(assert_return (get "4") (i32.const 0))
