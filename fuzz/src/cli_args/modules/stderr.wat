;; A WASI command that writes a line to its standard error, then traps with no argument,
;; exits with 3 with one, and returns with more.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\20\00\00\00\0e\00\00\00")
  (data (i32.const 32) "guest: oh no!\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 8)))
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.eq (i32.load (i32.const 0)) (i32.const 1)) (then unreachable))
    (if (i32.eq (i32.load (i32.const 0)) (i32.const 2)) (then (call $proc_exit (i32.const 3))))))
