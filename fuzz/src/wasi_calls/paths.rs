//! Paths the guest passes: names of what the sandbox holds, ways out of it (`..`, absolute
//! paths, the links that lead out), and odd bytes (NULs, invalid UTF-8, very long names,
//! repeated and trailing slashes); and what each one tries, for the report and the checks.

use super::sandbox::ESCAPE_LINKS;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// What a path tries, judged from its text and the tree every case starts with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathClass {
    /// Stays inside its directory, as far as its text shows.
    Inside,
    /// Starts with `/`.
    Absolute,
    /// Its first step (after `.`s) is `..`: out of whatever directory resolves it.
    ClimbsOut,
    /// A later `..` climbs above the start, as the text reads (links may change that).
    ClimbsLater,
    /// Goes through a link of the starting tree that leads out.
    EscapeLink,
}

impl PathClass {
    /// Every class, in report order.
    pub const ALL: [PathClass; 5] = [
        PathClass::Absolute,
        PathClass::ClimbsOut,
        PathClass::ClimbsLater,
        PathClass::EscapeLink,
        PathClass::Inside,
    ];

    /// Whether any resolution of such a path leaves its directory, whatever the sandbox
    /// holds by then: such a path must never succeed.
    pub fn always_escapes(self) -> bool {
        matches!(self, PathClass::Absolute | PathClass::ClimbsOut)
    }

    /// Whether the path tries to leave its directory at all.
    pub fn tries_escape(self) -> bool {
        self != PathClass::Inside
    }

    /// The class in a few words, for messages and the report.
    pub fn describe(self) -> &'static str {
        match self {
            PathClass::Inside => "inside",
            PathClass::Absolute => "absolute",
            PathClass::ClimbsOut => "`..` first",
            PathClass::ClimbsLater => "`..` above the start later",
            PathClass::EscapeLink => "through a link that leads out",
        }
    }
}

/// What `path` tries, resolved under a directory of the starting tree; `follows_final` says
/// whether the call follows a link in the last component.
pub fn classify(path: &[u8], follows_final: bool) -> PathClass {
    if path.first() == Some(&b'/') {
        return PathClass::Absolute;
    }
    let components: Vec<&[u8]> = path
        .split(|&byte| byte == b'/')
        .filter(|component| !component.is_empty() && *component != b".")
        .collect();
    // Where the text has led so far, as components under the start, with the links of the
    // starting tree that stay inside taken where they lead.
    let mut at: Vec<&[u8]> = Vec::new();
    let mut class = PathClass::Inside;
    for (index, component) in components.iter().enumerate() {
        let last = index + 1 == components.len();
        if *component == b".." {
            if at.pop().is_none() {
                return if index == 0 {
                    PathClass::ClimbsOut
                } else {
                    PathClass::ClimbsLater
                };
            }
            continue;
        }
        at.push(component);
        let joined = at.join(&b'/');
        if !last || follows_final {
            if ESCAPE_LINKS.iter().any(|link| link.as_bytes() == joined) {
                class = PathClass::EscapeLink;
            }
            match joined.as_slice() {
                b"dir_link" => at = vec![b"sub".as_slice()],
                b"sub/up" => at.clear(),
                _ => {}
            }
        }
    }
    class
}

/// Names of what the sandbox holds at the start.
const INSIDE: &[&str] = &[
    "file",
    "empty",
    "sub",
    "sub/inner",
    "sub/up",
    "sub/up/file",
    "link_to_file",
    "dir_link",
    "dir_link/inner",
    "loop",
    "dangling",
    ".",
    "sub/",
    "./file",
];

/// Names a guest may create.
pub const NEW: &[&str] = &["new0", "new1", "new2", "sub/new3", "dir_link/new4"];

/// Names from outside the sandbox, to put after a way out.
const OUTSIDE_NAMES: &[&str] = &[
    "outside", "canary", "root", "sandbox", "inner", "note", "etc", "tmp", "passwd",
];

/// Ways out, whole.
const ESCAPES: &[&str] = &[
    "..",
    "../",
    "../..",
    "../outside",
    "../outside/canary",
    "../outside/inner/note",
    "../sandbox/file",
    "../../root/outside/canary",
    "./../outside/canary",
    ".//../outside/canary",
    "escape",
    "escape/",
    "escape/canary",
    "escape/inner",
    "escape/.",
    "abs",
    "abs/canary",
    "abs_file",
    "sub/up2",
    "sub/up2/outside/canary",
    "sub/up2/sandbox/../outside/canary",
    "sub/../../outside/canary",
    "sub/up/../outside/canary",
    "dir_link/../../outside/canary",
    "dir_link/up2/outside/canary",
    "sub/inner/../../../outside",
    "/",
    "//",
    "/etc/passwd",
    "/tmp",
    "/sandbox/file",
    "/proc/self/root/etc/passwd",
    "/proc/self/cwd",
];

/// Targets for links the guest makes: mostly ways out, which following must refuse.
const LINK_TARGETS: &[&str] = &[
    "../outside",
    "../outside/canary",
    "..",
    "../..",
    "sub/up2",
    "escape",
    "escape/canary",
    "abs_file",
    "/etc/passwd",
    "/",
    "file",
    "sub",
    "new0",
    "",
];

/// Components of odd shape, for composed paths.
const ODD: &[&[u8]] = &[
    b"",
    b".",
    b"..",
    b"nul\0byte",
    b"file\0",
    b"\0",
    b"\xff\xfe",
    b"sub\xc3",
    b"\xc3\xa9t\xc3\xa9",
    b" ",
    b"*",
    b"\n",
    b"-",
    b"~",
];

/// A path for a parameter resolved under a directory: any of the shapes above.
pub fn any(rng: &mut ChaCha8Rng) -> Vec<u8> {
    match rng.gen_range(0..100) {
        0..30 => inside(rng),
        30..42 => new_name(rng),
        42..67 => escape(rng),
        67..85 => composed(rng),
        85..90 => (0..rng.gen_range(0..16)).map(|_| rng.r#gen()).collect(),
        90..95 => long(rng),
        _ => odd(rng),
    }
}

/// A name of the starting tree, now and then with a trailing slash.
pub fn inside(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut path = pick(rng, INSIDE).as_bytes().to_vec();
    if rng.gen_ratio(1, 10) {
        path.push(b'/');
    }
    path
}

/// A name the guest may create.
pub fn new_name(rng: &mut ChaCha8Rng) -> Vec<u8> {
    pick(rng, NEW).as_bytes().to_vec()
}

/// A way out, as it is or with slashes doubled or added at the end.
pub fn escape(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let path = pick(rng, ESCAPES);
    let mut bytes = if rng.gen_ratio(1, 8) {
        path.replace('/', "//").into_bytes()
    } else {
        path.as_bytes().to_vec()
    };
    if rng.gen_ratio(1, 10) {
        bytes.push(b'/');
    }
    bytes
}

/// A link target.
pub fn link_target(rng: &mut ChaCha8Rng) -> Vec<u8> {
    if rng.gen_bool(0.6) {
        pick(rng, LINK_TARGETS).as_bytes().to_vec()
    } else {
        any(rng)
    }
}

/// One to five components from every pool, joined by one or two slashes.
fn composed(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut path = Vec::new();
    if rng.gen_ratio(1, 12) {
        path.push(b'/');
    }
    for index in 0..rng.gen_range(1..=5) {
        if index > 0 {
            path.extend_from_slice(if rng.gen_ratio(1, 6) { b"//" } else { b"/" });
        }
        let component: &[u8] = match rng.gen_range(0..10) {
            0..3 => pick(rng, INSIDE).as_bytes(),
            3..5 => b"..",
            5..6 => pick(rng, NEW).as_bytes(),
            6..8 => pick(rng, OUTSIDE_NAMES).as_bytes(),
            8 => pick(rng, ESCAPE_LINKS).as_bytes(),
            _ => pick(rng, ODD),
        };
        path.extend_from_slice(component);
    }
    if rng.gen_ratio(1, 10) {
        path.push(b'/');
    }
    path
}

/// Names past the limits: a component longer than 255 bytes, a path longer than 4096.
fn long(rng: &mut ChaCha8Rng) -> Vec<u8> {
    match rng.gen_range(0..5) {
        0 => vec![b'a'; 256],
        1 => [b"sub/".as_slice(), &[b'b'; 300]].concat(),
        2 => b"sub/..//".repeat(rng.gen_range(500..700)),
        3 => [b"../".repeat(1400).as_slice(), b"outside/canary"].concat(),
        _ => {
            let name = vec![b'c'; 255];
            let mut path = Vec::new();
            for _ in 0..17 {
                path.extend_from_slice(&name);
                path.push(b'/');
            }
            path
        }
    }
}

/// A path of odd shape on its own.
fn odd(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let shapes: &[&[u8]] = &[
        b"",
        b".",
        b"./",
        b"nul\0byte",
        b"file\0",
        b"file\0/../../outside/canary",
        b"\xff\xfe",
        b"sub/\xc3",
        b"file/",
        b"file/.",
        b"file/..",
        b"sub/././inner",
        b"sub//inner",
        b"loop/x",
        b"dangling/",
    ];
    pick(rng, shapes).to_vec()
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    *items.choose(rng).expect("the pools are not empty")
}
