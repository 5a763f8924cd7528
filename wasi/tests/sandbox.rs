//! A program reaches only its preopened directory: every way out (`..`, an absolute path, a
//! symbolic link that points out, renaming, linking or creating across the boundary) is
//! refused with Wasmtime's errno, and nothing outside is opened, created, changed or removed.
//!
//! The attempts are hand-written calls of the preview 1 functions, because C's libc resolves
//! absolute paths against its preopens itself and never lets them reach the host.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use weft::{Engine, Linker, Module, Store};
use weft_wasi::{DirPerms, FilePerms, WasiCtx};

/// `perm`: how Wasmtime (through cap-std) reports an escape.
const PERM: i32 = 63;
/// `noent`.
const NOENT: i32 = 44;

/// Each export tries one escape from the preopen at fd 3 and returns the errno. Paths live
/// at fixed addresses; `path_open` writes the new fd at 1024.
const PROGRAM: &str = r#"
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link"
    (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file"
    (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory"
    (func $rmdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../outside/secret")      ;; 17 bytes
  (data (i32.const 32) "/etc/passwd")           ;; 11
  (data (i32.const 64) "link-out")              ;; 8
  (data (i32.const 96) "dir-out/secret")        ;; 14
  (data (i32.const 128) "../outside/new")       ;; 14
  (data (i32.const 160) "file")                 ;; 4
  (data (i32.const 192) "../outside/moved")     ;; 16
  (data (i32.const 224) "../outside/newdir")    ;; 17
  (data (i32.const 256) "sub/../../outside/secret") ;; 24
  (data (i32.const 288) "../outside")           ;; 10
  (data (i32.const 320) "made-link")            ;; 9
  (data (i32.const 352) "link-out/../secret")   ;; 18
  ;; Opens a path for reading (following links) or, with $create, creates it for writing.
  (func $open_at (param $path i32) (param $len i32) (param $create i32) (result i32)
    (call $open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
      (local.get $create)                        ;; oflags: CREAT when asked
      (i64.const 0x3fffffff) (i64.const 0x3fffffff) (i32.const 0) (i32.const 1024)))
  (func (export "open_dotdot") (result i32) (call $open_at (i32.const 0) (i32.const 17) (i32.const 0)))
  (func (export "open_absolute") (result i32) (call $open_at (i32.const 32) (i32.const 11) (i32.const 0)))
  (func (export "open_link_out") (result i32) (call $open_at (i32.const 64) (i32.const 8) (i32.const 0)))
  (func (export "open_through_dir_link") (result i32)
    (call $open_at (i32.const 96) (i32.const 14) (i32.const 0)))
  (func (export "open_down_and_out") (result i32)
    (call $open_at (i32.const 256) (i32.const 24) (i32.const 0)))
  (func (export "create_outside") (result i32) (call $open_at (i32.const 128) (i32.const 14) (i32.const 1)))
  (func (export "rename_out") (result i32)
    (call $rename (i32.const 3) (i32.const 160) (i32.const 4) (i32.const 3) (i32.const 192) (i32.const 16)))
  (func (export "rename_in") (result i32)
    (call $rename (i32.const 3) (i32.const 0) (i32.const 17) (i32.const 3) (i32.const 192) (i32.const 16)))
  (func (export "link_out") (result i32)
    (call $link (i32.const 3) (i32.const 0) (i32.const 160) (i32.const 4) (i32.const 3) (i32.const 192) (i32.const 16)))
  (func (export "link_in") (result i32)
    (call $link (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 17) (i32.const 3) (i32.const 320) (i32.const 9)))
  (func (export "symlink_absolute") (result i32)
    (call $symlink (i32.const 32) (i32.const 11) (i32.const 3) (i32.const 320) (i32.const 9)))
  (func (export "symlink_placed_outside") (result i32)
    (call $symlink (i32.const 160) (i32.const 4) (i32.const 3) (i32.const 128) (i32.const 14)))
  (func (export "mkdir_outside") (result i32) (call $mkdir (i32.const 3) (i32.const 224) (i32.const 17)))
  (func (export "unlink_outside") (result i32) (call $unlink (i32.const 3) (i32.const 0) (i32.const 17)))
  (func (export "unlink_through_link") (result i32) (call $unlink (i32.const 3) (i32.const 352) (i32.const 18)))
  (func (export "rmdir_outside") (result i32) (call $rmdir (i32.const 3) (i32.const 288) (i32.const 10)))
  (func (export "stat_outside") (result i32)
    (call $stat (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 17) (i32.const 2048)))
  (func (export "stat_missing_inside") (result i32)
    (call $stat (i32.const 3) (i32.const 1) (i32.const 320) (i32.const 9) (i32.const 2048)))
)
"#;

/// A scratch tree: `inside/` (preopened) with a file and links pointing out, and `outside/`
/// with a secret.
struct Tree {
    root: PathBuf,
}

impl Tree {
    /// A tree of its own for the test `name`.
    fn new(name: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("weft-sandbox-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("inside/sub")).unwrap();
        fs::create_dir_all(root.join("outside")).unwrap();
        fs::write(root.join("outside/secret"), "do not touch").unwrap();
        fs::write(root.join("inside/file"), "mine").unwrap();
        std::os::unix::fs::symlink("../outside/secret", root.join("inside/link-out")).unwrap();
        std::os::unix::fs::symlink("../outside", root.join("inside/dir-out")).unwrap();
        Tree { root }
    }

    fn inside(&self) -> PathBuf {
        self.root.join("inside")
    }

    /// Every entry under `outside/` with its contents (or `<dir>`).
    fn outside(&self) -> BTreeMap<String, String> {
        snapshot(&self.root.join("outside"))
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let contents = if meta.is_dir() {
            "<dir>".to_string()
        } else {
            fs::read_to_string(entry.path()).unwrap_or_else(|_| "<unreadable>".into())
        };
        entries.insert(name, contents);
    }
    entries
}

#[test]
fn every_way_out_of_a_preopen_is_refused_and_nothing_outside_changes() {
    let tree = Tree::new("escapes");
    let before = tree.outside();
    let engine = Engine::default();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let ctx = WasiCtx::builder()
        .preopened_dir(tree.inside(), "inside", DirPerms::ALL, FilePerms::ALL)
        .build()
        .unwrap();
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mut call = |name: &str| {
        instance
            .get_typed_func::<(), i32>(&mut store, name)
            .unwrap()
            .call(&mut store, ())
            .unwrap()
    };
    for attempt in [
        "open_dotdot",
        "open_absolute",
        "open_link_out",
        "open_through_dir_link",
        "open_down_and_out",
        "create_outside",
        "rename_out",
        "rename_in",
        "link_out",
        "link_in",
        "symlink_placed_outside",
        "mkdir_outside",
        "unlink_outside",
        "unlink_through_link",
        "rmdir_outside",
        "stat_outside",
    ] {
        assert_eq!(call(attempt), PERM, "{attempt}");
    }
    // A link whose target is absolute is refused when it is made, as in Wasmtime.
    assert_eq!(call("symlink_absolute"), PERM, "symlink_absolute");
    // The refusals are not mere misses: an ordinary missing name inside is `noent`.
    assert_eq!(call("stat_missing_inside"), NOENT);
    assert_eq!(tree.outside(), before, "nothing outside changed");
    assert_eq!(
        fs::read_to_string(tree.inside().join("file")).unwrap(),
        "mine",
        "the file that could not be moved out is still inside"
    );
    assert!(!tree.inside().join("made-link").exists());
}

#[test]
fn a_read_only_preopen_refuses_every_change() {
    let tree = Tree::new("read-only");
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "path_open"
               (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_create_directory"
               (func $mkdir (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "path_unlink_file"
               (func $unlink (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_write"
               (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "file")
             (data (i32.const 16) "new")
             (data (i32.const 32) "\00\01\00\00\04\00\00\00")  ;; iovec: 4 bytes at 256
             (data (i32.const 256) "evil")
             (func (export "create") (result i32)
               (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 3)
                 (i32.const 1) (i64.const 0x3fffffff) (i64.const 0x3fffffff) (i32.const 0)
                 (i32.const 1024)))
             (func (export "write_existing") (result i32)
               (local $errno i32)
               ;; Opening for writing (rights with fd_write) may fail, or the write must.
               (local.set $errno
                 (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 4)
                   (i32.const 0) (i64.const 0x40) (i64.const 0) (i32.const 0) (i32.const 1024)))
               (if (result i32) (local.get $errno)
                 (then (local.get $errno))
                 (else (call $write (i32.load (i32.const 1024)) (i32.const 32) (i32.const 1)
                   (i32.const 1028)))))
             (func (export "mkdir") (result i32) (call $mkdir (i32.const 3) (i32.const 16) (i32.const 3)))
             (func (export "unlink") (result i32) (call $unlink (i32.const 3) (i32.const 0) (i32.const 4))))"#,
    )
    .unwrap();
    let ctx = WasiCtx::builder()
        .preopened_dir(tree.inside(), "inside", DirPerms::READ, FilePerms::READ)
        .build()
        .unwrap();
    let mut linker = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, &ctx).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    for name in ["create", "write_existing", "mkdir", "unlink"] {
        let errno = instance
            .get_typed_func::<(), i32>(&mut store, name)
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        assert_ne!(errno, 0, "{name} succeeded in a read-only preopen");
    }
    assert_eq!(
        fs::read_to_string(tree.inside().join("file")).unwrap(),
        "mine"
    );
    assert!(!tree.inside().join("new").exists());
}
