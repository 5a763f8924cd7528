;; A command that needs `--preload helper=preload.wat`: exits through WASI with helper's
;; answer, 42.
(module
  (import "helper" "double" (func $double (param i32) (result i32)))
  (import "helper" "base" (global $base i32))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "_start")
    (call $proc_exit (i32.add (call $double (i32.const 1)) (global.get $base)))))
