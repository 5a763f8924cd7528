;; A WASI command that tries to leave its preopened directories: through every preopen
;; (fds 3 to 6) it creates, truncates and writes each path of the table below, makes a
;; directory there, renames, links, symlinks and unlinks. Every path either stays inside
;; the directory, which is allowed, or climbs out of it (`..`, absolute, through the
;; symlinks the fuzzer leaves in the sandbox), which the runtime must refuse.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file"
    (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link"
    (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; The iovec: "pwned\n".
  (data (i32.const 0) "\10\00\00\00\06\00\00\00")
  (data (i32.const 16) "pwned\n")
  ;; The paths, each (offset, length) at 64 + 8 * i.
  (data (i32.const 64)
    "\00\01\00\00\08\00\00\00"  ;; inside.txt (8 of it: "inside.t")
    "\10\01\00\00\06\00\00\00"  ;; escape
    "\20\01\00\00\0e\00\00\00"  ;; ../outside.txt
    "\30\01\00\00\0c\00\00\00"  ;; /outside.txt
    "\40\01\00\00\15\00\00\00"  ;; sub/../../outside.txt
    "\60\01\00\00\0c\00\00\00"  ;; escape-dir/x
    "\70\01\00\00\01\00\00\00"  ;; .
    "\80\01\00\00\02\00\00\00"  ;; ..
    "\90\01\00\00\0b\00\00\00"  ;; sub/new.txt
    "\a0\01\00\00\0d\00\00\00") ;; escape-dir/..
  (data (i32.const 256) "inside.t")
  (data (i32.const 272) "escape")
  (data (i32.const 288) "../outside.txt")
  (data (i32.const 304) "/outside.txt")
  (data (i32.const 320) "sub/../../outside.txt")
  (data (i32.const 352) "escape-dir/x")
  (data (i32.const 368) ".")
  (data (i32.const 384) "..")
  (data (i32.const 400) "sub/new.txt")
  (data (i32.const 416) "escape-dir/..")
  (func $path (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 64) (i32.shl (local.get $i) (i32.const 3)))))
  (func $len (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 68) (i32.shl (local.get $i) (i32.const 3)))))
  (func $attack (param $dir i32) (param $i i32)
    ;; Create and truncate (oflags 9), following symlinks (dirflags 1), with every right.
    (if (i32.eqz (call $path_open (local.get $dir) (i32.const 1)
          (call $path (local.get $i)) (call $len (local.get $i))
          (i32.const 9) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0)
          (i32.const 32)))
      (then
        (drop (call $fd_write (i32.load (i32.const 32)) (i32.const 0) (i32.const 1)
          (i32.const 40)))
        (drop (call $fd_close (i32.load (i32.const 32))))))
    (drop (call $mkdir (local.get $dir) (call $path (local.get $i)) (call $len (local.get $i))))
    (drop (call $symlink (i32.const 288) (i32.const 14)
      (local.get $dir) (call $path (local.get $i)) (call $len (local.get $i))))
    (drop (call $link (local.get $dir) (i32.const 0) (i32.const 256) (i32.const 8)
      (local.get $dir) (call $path (local.get $i)) (call $len (local.get $i))))
    (drop (call $rename (local.get $dir) (i32.const 400) (i32.const 11)
      (local.get $dir) (call $path (local.get $i)) (call $len (local.get $i))))
    (drop (call $unlink (local.get $dir) (call $path (local.get $i)) (call $len (local.get $i)))))
  (func (export "_start")
    (local $dir i32) (local $i i32)
    (local.set $dir (i32.const 3))
    (loop $dirs
      (local.set $i (i32.const 0))
      (loop $paths
        (call $attack (local.get $dir) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $paths (i32.lt_u (local.get $i) (i32.const 10))))
      (local.set $dir (i32.add (local.get $dir) (i32.const 1)))
      (br_if $dirs (i32.lt_u (local.get $dir) (i32.const 7))))))
