;; Dense f64 matrix multiply C = A * B (n x n, row-major) in the textbook i-j-k order with
;; a scalar accumulator, so there is no reassociation for either compiler to exploit and
;; both produce bit-identical results. Returns the sum of C, accumulated row by row.
(module
  ;; 2 pages: three 64x64 f64 matrices (3 x 32 KiB).
  (memory (export "memory") 2)
  (func (export "matmul")
    (param $a i32) (param $b i32) (param $c i32) (param $n i32) (result f64)
    (local $i i32) (local $j i32) (local $k i32) (local $acc f64) (local $total f64)
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $acc (f64.const 0))
            (local.set $k (i32.const 0))
            (block $dot_done
              (loop $dot
                (br_if $dot_done (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $acc
                  (f64.add (local.get $acc)
                    (f64.mul
                      (f64.load
                        (i32.add (local.get $a)
                          (i32.shl
                            (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k))
                            (i32.const 3))))
                      (f64.load
                        (i32.add (local.get $b)
                          (i32.shl
                            (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j))
                            (i32.const 3)))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $dot)))
            (f64.store
              (i32.add (local.get $c)
                (i32.shl
                  (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j))
                  (i32.const 3)))
              (local.get $acc))
            (local.set $total (f64.add (local.get $total) (local.get $acc)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $total)))
