;; A store whose address and value are one freshly computed value, at an offset of 2^16 or
;; more: wasmi 2.0.0 panics translating it ("internal error: entered unreachable code",
;; translator/func/mod.rs:2583), in 32- and 64-bit memories and every store width. The
;; differential fuzzer met it in CI (case 1796673485838838035, a memory64 module with
;; `i64.load32_s; local.tee; local.get; i64.store offset=108210`); wasm-shrink and then
;; hand minimising gave `store_own_address`. Where wasmi panics, the fuzzer compares weft's
;; configurations among themselves; these are the answers weft must give in each.
(module
  (memory 3)
  (func (export "store_own_address") (param i32) (result i32)
    (local.get 0) (i32.const 4) (i32.add) (local.tee 0) (local.get 0)
    (i32.store offset=70000)
    (i32.load offset=70000 (local.get 0)))
  (func (export "store16_own_address") (param i32) (result i32)
    (local.get 0) (i32.const 4) (i32.add) (local.tee 0) (local.get 0)
    (i32.store16 offset=70000)
    (i32.load16_u offset=70000 (local.get 0)))
  (func (export "loaded_address") (param i32) (result i32)
    ;; The shape the fuzzer found: the value is loaded, then both address and stored value.
    (local.get 0) (i32.load) (local.tee 0) (local.get 0)
    (i32.store offset=70000)
    (i32.load offset=70000 (local.get 0)))
  (func (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1))))

(assert_return (invoke "store_own_address" (i32.const 0)) (i32.const 4))
(assert_return (invoke "store_own_address" (i32.const 100)) (i32.const 104))
;; 65540 + 70000 + 4 is within 3 pages (196608 bytes); 131076 + 70000 is not.
(assert_return (invoke "store_own_address" (i32.const 65536)) (i32.const 65540))
(assert_trap (invoke "store_own_address" (i32.const 131072)) "out of bounds memory access")
;; store16 keeps the low half: 0x10004 is stored as 4.
(assert_return (invoke "store16_own_address" (i32.const 0x10000)) (i32.const 4))
(invoke "put" (i32.const 8) (i32.const 1234))
(assert_return (invoke "loaded_address" (i32.const 8)) (i32.const 1234))

(module
  (memory i64 2)
  (func (export "store_own_address") (param i64) (result i64)
    (local.get 0) (i64.const 8) (i64.add) (local.tee 0) (local.get 0)
    (i64.store offset=108210)
    (i64.load offset=108210 (local.get 0)))
  (func (export "store32_own_address") (param i64) (result i64)
    (local.get 0) (i64.const 8) (i64.add) (local.tee 0) (local.get 0)
    (i64.store32 offset=108210)
    (i64.load32_u offset=108210 (local.get 0)))
  (func (export "store8_own_address") (param i64) (result i64)
    (local.get 0) (i64.const 8) (i64.add) (local.tee 0) (local.get 0)
    (i64.store8 offset=108210)
    (i64.load8_u offset=108210 (local.get 0))))

(assert_return (invoke "store_own_address" (i64.const 0)) (i64.const 8))
(assert_return (invoke "store32_own_address" (i64.const 100)) (i64.const 108))
(assert_return (invoke "store8_own_address" (i64.const 0x1f8)) (i64.const 0))
(assert_trap (invoke "store_own_address" (i64.const 0x1_0000_0000)) "out of bounds memory access")
(assert_trap (invoke "store_own_address" (i64.const -16)) "out of bounds memory access")
