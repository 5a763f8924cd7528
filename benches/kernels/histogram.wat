;; Byte histogram: one load per input byte plus a read-modify-write of a 256-entry u32
;; table, both in linear memory, so every access goes through weft's memory addressing.
;; Returns sum(i * counts[i]) so the caller can check the table cheaply.
(module
  ;; 17 pages: a 1 KiB table and a 1 MiB input, with room to spare.
  (memory (export "memory") 17)
  (func (export "histogram")
    (param $counts i32) (param $data i32) (param $len i32) (result i64)
    (local $i i32) (local $end i32) (local $slot i32) (local $sum i64)
    (local.set $i (i32.const 0))
    (block $cleared
      (loop $clear
        (br_if $cleared (i32.ge_u (local.get $i) (i32.const 256)))
        (i32.store
          (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2)))
          (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $clear)))
    (local.set $i (local.get $data))
    (local.set $end (i32.add (local.get $data) (local.get $len)))
    (block $counted
      (loop $count
        (br_if $counted (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $slot
          (i32.add (local.get $counts)
            (i32.shl (i32.load8_u (local.get $i)) (i32.const 2))))
        (i32.store (local.get $slot)
          (i32.add (i32.load (local.get $slot)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count)))
    (local.set $i (i32.const 0))
    (block $summed
      (loop $sum
        (br_if $summed (i32.ge_u (local.get $i) (i32.const 256)))
        (local.set $sum
          (i64.add (local.get $sum)
            (i64.mul
              (i64.extend_i32_u (local.get $i))
              (i64.extend_i32_u
                (i32.load
                  (i32.add (local.get $counts) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sum)))
    (local.get $sum)))
