//! The sandbox and the preopen permissions, seen from a guest: a small module calls the
//! `path_*` functions on a preopened scratch directory, and the host files are checked.
//! Every way out (`..`, an absolute path, a symbolic link that points out, a rename, link or
//! create across the boundary) is refused with Wasmtime's errno, `perm`, and nothing outside
//! is opened, created, changed or removed.
//!
//! The calls are hand-written, because C's libc resolves absolute paths against its
//! preopens itself and never lets them reach the host.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use weft::{Engine, Instance, Linker, Memory, Module, Store};
use weft_wasi::abi::{Errno, lookupflags, oflags, rights};
use weft_wasi::{DirPerms, FilePerms, WasiCtx};

/// The size of a `dirent` header.
const HEADER: usize = weft_wasi::abi::layout::DIRENT_SIZE as usize;

/// Calls each function with its strings at fixed addresses: the first at 1024, the second at
/// 2048 (only lengths are passed). `path_open` stores the new fd at 0.
const GUEST: &str = r#"
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file"
    (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory"
    (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link"
    (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "open") (param $follow i32) (param $oflags i32) (param $rights i64)
        (param $len i32) (result i32)
    (call $path_open (i32.const 3) (local.get $follow) (i32.const 1024) (local.get $len)
      (local.get $oflags) (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 0)))
  (func (export "opened") (result i32) (i32.load (i32.const 0)))
  (func (export "mkdir") (param $len i32) (result i32)
    (call $path_create_directory (i32.const 3) (i32.const 1024) (local.get $len)))
  (func (export "unlink") (param $len i32) (result i32)
    (call $path_unlink_file (i32.const 3) (i32.const 1024) (local.get $len)))
  (func (export "rmdir") (param $len i32) (result i32)
    (call $path_remove_directory (i32.const 3) (i32.const 1024) (local.get $len)))
  (func (export "rename") (param $old i32) (param $new i32) (result i32)
    (call $path_rename (i32.const 3) (i32.const 1024) (local.get $old)
      (i32.const 3) (i32.const 2048) (local.get $new)))
  (func (export "symlink") (param $target i32) (param $link i32) (result i32)
    (call $path_symlink (i32.const 1024) (local.get $target)
      (i32.const 3) (i32.const 2048) (local.get $link)))
  (func (export "link") (param $old i32) (param $new i32) (result i32)
    (call $path_link (i32.const 3) (i32.const 0) (i32.const 1024) (local.get $old)
      (i32.const 3) (i32.const 2048) (local.get $new)))
  (func (export "stat") (param $follow i32) (param $len i32) (result i32)
    (call $path_filestat_get (i32.const 3) (local.get $follow) (i32.const 1024)
      (local.get $len) (i32.const 64)))
  (func (export "write") (param $fd i32) (result i32)
    ;; One iovec at 16: four bytes at 2048.
    (i32.store (i32.const 16) (i32.const 2048))
    (i32.store (i32.const 20) (i32.const 4))
    (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 8)))
  (func (export "readdir") (param $fd i32) (result i32)
    ;; Up to 4096 bytes of entries at 4096, the bytes used at 8.
    (call $fd_readdir (local.get $fd) (i32.const 4096) (i32.const 4096) (i64.const 0)
      (i32.const 8)))
)
"#;

/// A scratch host directory `root` holding `outside` (a file the guest must never reach)
/// and `preopen/` (given to the guest as fd 3) with `file` and an empty `sub/` in it.
struct Sandbox {
    root: PathBuf,
    store: Store<()>,
    instance: Instance,
    memory: Memory,
}

impl Sandbox {
    fn new(dir_perms: DirPerms, file_perms: FilePerms) -> Sandbox {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "weft-wasi-sandbox-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let preopen = root.join("preopen");
        std::fs::create_dir_all(preopen.join("sub")).expect("scratch directory");
        std::fs::write(root.join("outside"), "secret").expect("scratch file");
        std::fs::write(preopen.join("file"), "data").expect("scratch file");
        let ctx = WasiCtx::builder()
            .preopened_dir(&preopen, ".", dir_perms, file_perms)
            .build()
            .expect("context");
        let engine = Engine::default();
        let module = Module::new(&engine, GUEST).expect("test module");
        let mut linker = Linker::new(&engine);
        weft_wasi::add_to_linker(&mut linker, &ctx).expect("WASI functions");
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).expect("instance");
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        Sandbox {
            root,
            store,
            instance,
            memory,
        }
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    fn put(&mut self, address: usize, text: &str) -> i32 {
        self.memory
            .write(&mut self.store, address, text.as_bytes())
            .expect("in bounds");
        text.len() as i32
    }

    fn call<P: weft::WasmParams>(&mut self, name: &str, params: P) -> Result<(), Errno> {
        let func = self
            .instance
            .get_typed_func::<P, i32>(&mut self.store, name)
            .expect("exported");
        match func.call(&mut self.store, params).expect("no trap") {
            0 => Ok(()),
            errno => Err(errno_named(errno)),
        }
    }

    fn open(&mut self, path: &str, follow: u32, oflags: u16, rights: u64) -> Result<i32, Errno> {
        let len = self.put(1024, path);
        self.call(
            "open",
            (follow as i32, i32::from(oflags), rights as i64, len),
        )?;
        let func = self
            .instance
            .get_typed_func::<(), i32>(&mut self.store, "opened")
            .expect("exported");
        Ok(func.call(&mut self.store, ()).expect("no trap"))
    }

    fn one_path(&mut self, name: &str, path: &str) -> Result<(), Errno> {
        let len = self.put(1024, path);
        self.call(name, len)
    }

    fn two_paths(&mut self, name: &str, first: &str, second: &str) -> Result<(), Errno> {
        let first = self.put(1024, first);
        let second = self.put(2048, second);
        self.call(name, (first, second))
    }

    /// The names `fd_readdir` lists for `fd`, in its order.
    fn list(&mut self, fd: i32) -> Vec<String> {
        self.call("readdir", fd).expect("lists");
        let mut used = [0; 4];
        self.memory
            .read(&self.store, 8, &mut used)
            .expect("in bounds");
        let mut entries = vec![0; u32::from_le_bytes(used) as usize];
        self.memory
            .read(&self.store, 4096, &mut entries)
            .expect("in bounds");
        let mut names = Vec::new();
        let mut rest = &entries[..];
        while !rest.is_empty() {
            let name_len = u32::from_le_bytes(rest[16..20].try_into().unwrap()) as usize;
            let name = &rest[HEADER..HEADER + name_len];
            names.push(String::from_utf8(name.to_vec()).expect("UTF-8"));
            rest = &rest[HEADER + name_len..];
        }
        names
    }

    fn stat(&mut self, path: &str, follow: u32) -> Result<(), Errno> {
        let len = self.put(1024, path);
        self.call("stat", (follow as i32, len))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn errno_named(value: i32) -> Errno {
    [
        Errno::Perm,
        Errno::Noent,
        Errno::Badf,
        Errno::Inval,
        Errno::Exist,
        Errno::Isdir,
        Errno::Notdir,
        Errno::Loop,
        Errno::Acces,
        Errno::Notcapable,
    ]
    .into_iter()
    .find(|errno| *errno as i32 == value)
    .unwrap_or_else(|| panic!("unexpected errno {value}"))
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[test]
fn a_read_only_preopen_can_be_read() {
    let mut sandbox = Sandbox::new(DirPerms::READ, FilePerms::READ);
    assert_eq!(sandbox.stat("file", 0), Ok(()));
    let fd = sandbox
        .open("file", 0, 0, rights::FD_READ)
        .expect("opens to read");
    assert_eq!(
        sandbox.open("sub", 0, oflags::DIRECTORY, 0).map(|_| ()),
        Ok(())
    );
    // Opened read-only by the host, the file refuses writes.
    sandbox.put(2048, "xxxx");
    assert_eq!(sandbox.call("write", fd), Err(Errno::Badf));
    assert_eq!(
        std::fs::read(sandbox.host("preopen/file")).unwrap(),
        b"data"
    );
}

#[test]
fn a_preopen_lists_its_entries() {
    let mut sandbox = Sandbox::new(DirPerms::READ, FilePerms::READ);
    let mut names = sandbox.list(3);
    names.sort();
    assert_eq!(names, [".", "..", "file", "sub"]);
}

#[test]
fn a_read_only_preopen_refuses_every_change() {
    let mut sandbox = Sandbox::new(DirPerms::READ, FilePerms::READ);
    let refused = Err(Errno::Perm);
    for (path, oflags, rights) in [
        ("file", 0, rights::FD_WRITE),
        ("file", oflags::TRUNC, 0),
        ("new", oflags::CREAT, 0),
    ] {
        assert_eq!(
            sandbox.open(path, 0, oflags, rights).err(),
            Some(Errno::Perm)
        );
    }
    assert_eq!(sandbox.one_path("mkdir", "dir"), refused);
    assert_eq!(sandbox.one_path("unlink", "file"), refused);
    assert_eq!(sandbox.one_path("rmdir", "sub"), refused);
    assert_eq!(sandbox.two_paths("rename", "file", "moved"), refused);
    assert_eq!(sandbox.two_paths("symlink", "file", "link"), refused);
    assert_eq!(sandbox.two_paths("link", "file", "hard"), refused);
    for created in ["new", "dir", "moved", "link", "hard"] {
        assert!(!exists(&sandbox.host("preopen").join(created)), "{created}");
    }
    assert!(exists(&sandbox.host("preopen/file")));
    assert!(exists(&sandbox.host("preopen/sub")));
    assert_eq!(
        std::fs::read(sandbox.host("preopen/file")).unwrap(),
        b"data"
    );
}

#[test]
fn files_of_a_preopen_with_read_only_files_cannot_be_opened_to_write() {
    let mut sandbox = Sandbox::new(DirPerms::ALL, FilePerms::READ);
    let refused = Some(Errno::Perm);
    assert_eq!(sandbox.open("file", 0, 0, rights::FD_WRITE).err(), refused);
    assert_eq!(sandbox.open("new", 0, oflags::CREAT, 0).err(), refused);
    assert_eq!(sandbox.one_path("mkdir", "dir"), Ok(()));
}

#[test]
fn paths_cannot_leave_the_preopen() {
    let mut sandbox = Sandbox::new(DirPerms::ALL, FilePerms::ALL);
    let escape = Some(Errno::Perm);
    let follow = lookupflags::SYMLINK_FOLLOW;
    assert_eq!(
        sandbox.open("../outside", follow, 0, rights::FD_READ).err(),
        escape
    );
    assert_eq!(
        sandbox
            .open("/etc/passwd", follow, 0, rights::FD_READ)
            .err(),
        escape
    );
    assert_eq!(
        sandbox.open("sub/../../outside", follow, 0, 0).err(),
        escape
    );
    assert_eq!(
        sandbox.open("../created", 0, oflags::CREAT, 0).err(),
        escape
    );
    assert_eq!(sandbox.stat("../outside", follow).err(), escape);
    assert_eq!(sandbox.one_path("unlink", "../outside").err(), escape);
    assert_eq!(sandbox.one_path("mkdir", "../made").err(), escape);
    assert_eq!(
        sandbox.two_paths("rename", "file", "../stolen").err(),
        escape
    );
    assert_eq!(
        sandbox.two_paths("rename", "../outside", "brought").err(),
        escape
    );
    assert_eq!(
        sandbox.two_paths("link", "../outside", "hard").err(),
        escape
    );
    assert!(exists(&sandbox.host("outside")));
    for never in [
        "created",
        "made",
        "stolen",
        "preopen/brought",
        "preopen/hard",
    ] {
        assert!(!exists(&sandbox.host(never)), "{never}");
    }
}

#[test]
fn an_empty_path_names_nothing() {
    let mut sandbox = Sandbox::new(DirPerms::ALL, FilePerms::ALL);
    assert_eq!(sandbox.open("", 0, 0, 0).err(), Some(Errno::Noent));
    assert_eq!(sandbox.stat("", 0), Err(Errno::Noent));
    assert_eq!(sandbox.one_path("unlink", ""), Err(Errno::Noent));
}

#[test]
fn symlinks_cannot_lead_out() {
    let mut sandbox = Sandbox::new(DirPerms::ALL, FilePerms::ALL);
    let follow = lookupflags::SYMLINK_FOLLOW;
    assert_eq!(
        sandbox.two_paths("symlink", "/etc/passwd", "absolute"),
        Err(Errno::Perm)
    );
    assert!(!exists(&sandbox.host("preopen/absolute")));
    // A relative target is stored as given; following it out is refused.
    assert_eq!(sandbox.two_paths("symlink", "../outside", "out"), Ok(()));
    assert_eq!(
        sandbox.open("out", follow, 0, rights::FD_READ).err(),
        Some(Errno::Perm)
    );
    assert_eq!(
        sandbox
            .open(
                "out",
                follow,
                oflags::CREAT | oflags::TRUNC,
                rights::FD_WRITE
            )
            .err(),
        Some(Errno::Perm)
    );
    assert_eq!(sandbox.stat("out", follow), Err(Errno::Perm));
    assert_eq!(sandbox.stat("out", 0), Ok(()));
    assert_eq!(
        sandbox.open("out", 0, 0, rights::FD_READ).err(),
        Some(Errno::Loop)
    );
    assert_eq!(std::fs::read(sandbox.host("outside")).unwrap(), b"secret");
    // Removing the link removes the link only.
    assert_eq!(sandbox.one_path("unlink", "out"), Ok(()));
    assert!(exists(&sandbox.host("outside")));
}

/// Every entry under `dir`, recursively, with its contents (`<dir>`, or a link's target).
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut entries = Vec::new();
    let mut listing: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    listing.sort();
    for path in listing {
        let meta = path.symlink_metadata().unwrap();
        if meta.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            entries.push((path, format!("-> {}", target.display())));
        } else if meta.is_dir() {
            entries.push((path.clone(), "<dir>".into()));
            entries.extend(snapshot(&path));
        } else {
            entries.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    entries
}

#[test]
fn links_the_host_left_pointing_out_lead_nowhere() {
    let mut sandbox = Sandbox::new(DirPerms::ALL, FilePerms::ALL);
    std::os::unix::fs::symlink("..", sandbox.host("preopen/dir-out")).unwrap();
    std::os::unix::fs::symlink("../outside", sandbox.host("preopen/file-out")).unwrap();
    let before = snapshot(&sandbox.root);
    let escape = Err(Errno::Perm);
    let follow = lookupflags::SYMLINK_FOLLOW;
    assert_eq!(
        sandbox.open("file-out", follow, 0, rights::FD_READ).err(),
        Some(Errno::Perm)
    );
    assert_eq!(
        sandbox.open("dir-out/outside", 0, 0, rights::FD_READ).err(),
        Some(Errno::Perm)
    );
    assert_eq!(
        sandbox
            .open("dir-out/new", 0, oflags::CREAT, rights::FD_WRITE)
            .err(),
        Some(Errno::Perm)
    );
    assert_eq!(sandbox.stat("dir-out/outside", 0), escape);
    assert_eq!(sandbox.one_path("unlink", "dir-out/outside"), escape);
    assert_eq!(sandbox.one_path("mkdir", "dir-out/made"), escape);
    assert_eq!(sandbox.one_path("rmdir", "dir-out/preopen"), escape);
    assert_eq!(sandbox.two_paths("rename", "file", "dir-out/moved"), escape);
    assert_eq!(sandbox.two_paths("link", "file", "dir-out/hard"), escape);
    assert_eq!(
        sandbox.two_paths("symlink", "file", "dir-out/placed"),
        escape
    );
    assert_eq!(
        snapshot(&sandbox.root),
        before,
        "nothing under the scratch root changed"
    );
}
