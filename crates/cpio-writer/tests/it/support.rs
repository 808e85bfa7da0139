//! The one test helper of this crate: builds trees on disk or in memory from a plain
//! description, runs external tools, and snapshots extracted trees for comparison.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cpio_writer::{
    ArchiveOptions, ArchivePath, Compression, Data, DeviceNumber, Entry, EntryKind, EntrySource,
    Owners, first_difference, write_archive,
};

/// Whether the test process has effective uid 0 (read from /proc, no libc needed).
pub(crate) fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// Fails the test when not run as root. Tests that call it are `#[ignore = "needs root"]`;
/// `cargo xtask test` runs them (and says which could not run without root).
pub(crate) fn require_root() {
    assert!(
        is_root(),
        "needs root (device nodes, chown): run as root (`cargo xtask test` does)"
    );
}

/// One node of a test tree.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Path relative to the root, `.` for the root itself.
    pub path: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

/// What a test node is.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(Vec<u8>),
    /// Another name of the file node at this path.
    Hardlink(Vec<u8>),
    Fifo,
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
}

impl Node {
    pub(crate) fn new(path: impl AsRef<[u8]>, kind: Kind) -> Node {
        let mode = match kind {
            Kind::Dir => 0o755,
            Kind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        Node {
            path: path.as_ref().to_vec(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
        }
    }
}

fn on_disk(root: &Path, path: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(path))
}

/// Creates `nodes` under `root` in the given order (parents are made on demand, a hardlink's
/// target when the link comes first), then sets owners, modes and mtimes.
pub(crate) fn create_tree<'a>(root: &Path, nodes: impl IntoIterator<Item = &'a Node> + Clone) {
    let by_path: HashMap<&[u8], &Node> = nodes
        .clone()
        .into_iter()
        .map(|n| (n.path.as_slice(), n))
        .collect();
    fs::create_dir_all(root).unwrap();
    for node in nodes.clone() {
        let path = on_disk(root, &node.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        let ensure_file = |path: &Path, contents: &[u8]| {
            if fs::symlink_metadata(path).is_err() {
                fs::write(path, contents).unwrap();
            }
        };
        match &node.kind {
            Kind::Dir => fs::create_dir_all(&path).unwrap(),
            Kind::File(contents) => ensure_file(&path, contents),
            Kind::Symlink(target) => {
                std::os::unix::fs::symlink(OsStr::from_bytes(target), &path).unwrap()
            }
            Kind::Hardlink(target) => {
                let Kind::File(contents) = &by_path[target.as_slice()].kind else {
                    panic!("hardlink to a non-file")
                };
                let target = on_disk(root, target);
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                ensure_file(&target, contents);
                fs::hard_link(&target, &path).unwrap();
            }
            Kind::Fifo => {
                run(Command::new("mkfifo").arg(&path));
            }
            Kind::CharDevice(major, minor) | Kind::BlockDevice(major, minor) => {
                let kind = if matches!(node.kind, Kind::CharDevice(..)) {
                    "c"
                } else {
                    "b"
                };
                run(Command::new("mknod")
                    .arg(&path)
                    .arg(kind)
                    .arg(major.to_string())
                    .arg(minor.to_string()));
            }
        }
    }
    let mut by_mtime: BTreeMap<i64, Vec<PathBuf>> = BTreeMap::new();
    for node in nodes {
        if matches!(node.kind, Kind::Hardlink(_)) {
            continue; // Its inode is the target's.
        }
        let path = on_disk(root, &node.path);
        std::os::unix::fs::lchown(&path, Some(node.uid), Some(node.gid)).unwrap();
        if !matches!(node.kind, Kind::Symlink(_)) {
            fs::set_permissions(&path, fs::Permissions::from_mode(node.mode)).unwrap();
        }
        by_mtime.entry(node.mtime).or_default().push(path);
    }
    for (mtime, paths) in by_mtime {
        run(Command::new("touch")
            .arg("-h")
            .arg(format!("--date=@{mtime}"))
            .arg("--")
            .args(paths));
    }
}

/// The same tree as in-memory entries, in the order given.
pub(crate) fn entries<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<Entry> {
    let path = |p: &[u8]| ArchivePath::new(p).unwrap();
    nodes
        .into_iter()
        .map(|node| Entry {
            path: path(&node.path),
            kind: match &node.kind {
                Kind::Dir => EntryKind::Directory,
                Kind::File(contents) => EntryKind::File(Data::Bytes(contents.clone())),
                Kind::Symlink(target) => EntryKind::Symlink {
                    target: target.clone(),
                },
                Kind::Hardlink(target) => EntryKind::Hardlink {
                    target: path(target),
                },
                Kind::Fifo => EntryKind::Fifo,
                Kind::CharDevice(major, minor) => EntryKind::CharDevice(DeviceNumber {
                    major: *major,
                    minor: *minor,
                }),
                Kind::BlockDevice(major, minor) => EntryKind::BlockDevice(DeviceNumber {
                    major: *major,
                    minor: *minor,
                }),
            },
            mode: node.mode,
            uid: node.uid,
            gid: node.gid,
            mtime: node.mtime as u64,
        })
        .collect()
}

/// Uncompressed options with the given epoch, owners as recorded.
pub(crate) fn options(source_date_epoch: u64) -> ArchiveOptions {
    ArchiveOptions {
        source_date_epoch,
        owners: Owners::AsRecorded,
        compression: Compression::None,
    }
}

/// The archive of `source` as bytes.
pub(crate) fn archive(source: impl EntrySource, options: &ArchiveOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_archive(source, options, &mut out).unwrap();
    out
}

/// Asserts two archives are byte-identical, naming the first differing member otherwise.
pub(crate) fn assert_same_archive(what: &str, left: &[u8], right: &[u8]) {
    if let Some(difference) = first_difference(left, right) {
        panic!("{what}: {difference}");
    }
}

/// Runs a command, asserting success; returns its standard output.
pub(crate) fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs a command with `input` on its standard input, asserting success; returns its output.
pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        // A tool may stop reading early (e.g. at a cpio trailer); that is not our failure.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// What a node looks like on disk, for comparing trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Observed {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `None` where a comparison leaves mtimes out.
    pub mtime: Option<i64>,
    /// File contents or symlink target.
    pub content: Vec<u8>,
    pub rdev: u64,
    /// For a file with several names: the first of them in byte order.
    pub first_name: Option<Vec<u8>>,
}

/// Every node under `root` (root as `.`), by path.
pub(crate) fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Observed> {
    let mut nodes = BTreeMap::new();
    let mut inodes: BTreeMap<Vec<u8>, (u64, u64)> = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), b".".to_vec())];
    while let Some((disk, rel)) = stack.pop() {
        let meta = fs::symlink_metadata(&disk).unwrap();
        let file_type = meta.file_type();
        let (kind, content) = if file_type.is_dir() {
            for child in fs::read_dir(&disk).unwrap() {
                let name = child.unwrap().file_name();
                let child_rel = if rel == b"." {
                    name.as_bytes().to_vec()
                } else {
                    [&rel[..], b"/", name.as_bytes()].concat()
                };
                stack.push((disk.join(&name), child_rel));
            }
            ("dir", Vec::new())
        } else if file_type.is_file() {
            if meta.nlink() > 1 {
                inodes.insert(rel.clone(), (meta.dev(), meta.ino()));
            }
            ("file", fs::read(&disk).unwrap())
        } else if file_type.is_symlink() {
            let target = fs::read_link(&disk).unwrap();
            ("symlink", target.as_os_str().as_bytes().to_vec())
        } else if file_type.is_fifo() {
            ("fifo", Vec::new())
        } else if file_type.is_char_device() {
            ("char", Vec::new())
        } else if file_type.is_block_device() {
            ("block", Vec::new())
        } else {
            ("socket", Vec::new())
        };
        nodes.insert(
            rel,
            Observed {
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                mtime: Some(meta.mtime()),
                content,
                rdev: meta.rdev(),
                first_name: None,
            },
        );
    }
    let mut first: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    for (path, inode) in &inodes {
        first.entry(*inode).or_insert_with(|| path.clone());
    }
    for (path, inode) in inodes {
        nodes.get_mut(&path).unwrap().first_name = Some(first[&inode].clone());
    }
    nodes
}

/// Asserts two snapshots are equal, naming the first path where they differ.
pub(crate) fn assert_same_tree(
    what: &str,
    expected: &BTreeMap<Vec<u8>, Observed>,
    actual: &BTreeMap<Vec<u8>, Observed>,
) {
    let paths = |tree: &BTreeMap<Vec<u8>, Observed>| {
        tree.keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(expected), paths(actual), "{what}: different paths");
    for (path, node) in expected {
        assert_eq!(
            Some(node),
            actual.get(path),
            "{what}: `{}` differs",
            String::from_utf8_lossy(path)
        );
    }
}

/// A temporary directory for one test.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A tree with every kind of node and the corners of the format: files of sizes around the
/// 4-byte padding, names that sort differently from a depth-first walk (`a-c` before `a/b`),
/// a non-UTF-8 name, setuid and sticky modes, other owners, two hardlink groups across
/// directories, absolute and dangling symlinks, a fifo, and (with `devices`) device nodes.
pub(crate) fn sample_tree(devices: bool) -> Vec<Node> {
    let owned = |mut node: Node, uid, gid| {
        node.uid = uid;
        node.gid = gid;
        node
    };
    let with_mode = |mut node: Node, mode| {
        node.mode = mode;
        node
    };
    let with_mtime = |mut node: Node, mtime| {
        node.mtime = mtime;
        node
    };
    let pattern = |len: usize| (0..len).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>();
    let mut nodes = vec![
        with_mtime(Node::new(".", Kind::Dir), 1_500_000_000),
        Node::new("a", Kind::Dir),
        owned(with_mode(Node::new("a/b", Kind::Dir), 0o700), 1000, 100),
        Node::new("a/b/deep", Kind::File(b"deep\n".to_vec())),
        Node::new("a/f", Kind::File(b"hello\n".to_vec())),
        Node::new("a-c", Kind::File(pattern(513))),
        Node::new("a.d", Kind::Hardlink(b"a/f".to_vec())),
        Node::new("c", Kind::Dir),
        Node::new("c/g", Kind::Hardlink(b"a/f".to_vec())),
        with_mtime(
            owned(
                with_mode(Node::new("c/h", Kind::File(b"x".to_vec())), 0o600),
                1000,
                1000,
            ),
            1_000_000_000,
        ),
        Node::new("c/h2", Kind::Hardlink(b"c/h".to_vec())),
        Node::new("empty", Kind::File(Vec::new())),
        Node::new("four", Kind::File(b"1234".to_vec())),
        Node::new("big", Kind::File(pattern(200_000))),
        Node::new("B", Kind::File(b"upper\n".to_vec())),
        Node::new("name with space", Kind::File(b"space\n".to_vec())),
        Node::new(b"odd\xff\xfe", Kind::File(b"not utf-8\n".to_vec())),
        Node::new("bin", Kind::Dir),
        with_mode(
            Node::new("bin/su", Kind::File(b"#!/bin/sh\n".to_vec())),
            0o4755,
        ),
        with_mode(Node::new("tmp", Kind::Dir), 0o1777),
        Node::new("link", Kind::Symlink(b"a/f".to_vec())),
        Node::new("abs", Kind::Symlink(b"/etc/passwd".to_vec())),
        with_mtime(
            Node::new("dangling", Kind::Symlink(b"nowhere/x".to_vec())),
            1_234_567_890,
        ),
        with_mode(Node::new("pipe", Kind::Fifo), 0o600),
    ];
    if devices {
        nodes.extend([
            Node::new("dev", Kind::Dir),
            with_mode(Node::new("dev/null", Kind::CharDevice(1, 3)), 0o666),
            owned(
                with_mode(Node::new("dev/sda", Kind::BlockDevice(8, 0)), 0o660),
                0,
                6,
            ),
        ]);
    }
    nodes
}
