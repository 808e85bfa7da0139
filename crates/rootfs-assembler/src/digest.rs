//! The tree digest that names a root filesystem, and a differ that says where two differ.
//!
//! [`tree_digest`] lists every entry of a tree (path, type, mode, uid, gid, size, sha256 of a
//! file's contents, symlink target, device number, mtime), sorted by path bytes, and hashes
//! that listing: two trees with the same digest have the same contents and metadata as far as
//! an image (cpio, disk) can record them. [`first_difference`] names the first differing
//! path and field.

use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use build_vocab::walk::walk;
use build_vocab::{Hasher, Sha256};

use crate::error::Error;
use build_vocab::AtPath;

/// The type of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryType {
    /// A directory.
    Directory,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
}

impl EntryType {
    /// A one-word name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Directory => "dir",
            Self::File => "file",
            Self::Symlink => "symlink",
            Self::CharDevice => "chardev",
            Self::BlockDevice => "blockdev",
            Self::Fifo => "fifo",
            Self::Socket => "socket",
        }
    }
}

/// One entry of a tree as the digest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The path in the image (`/`, `/usr/bin/ls`), escaped ([`escape`]).
    pub path: String,
    /// Its type.
    pub kind: EntryType,
    /// Permission bits (including set-id and sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (files and symlinks; 0 otherwise).
    pub size: u64,
    /// SHA-256 of a regular file's contents.
    pub sha256: Option<Sha256>,
    /// A symlink's target, escaped.
    pub link_target: Option<String>,
    /// A device node's number.
    pub rdev: u64,
    /// Modification time, seconds.
    pub mtime: i64,
}

impl TreeEntry {
    /// The entry's fields by name, in the order the differ compares them.
    pub fn fields(&self) -> [(&'static str, String); 9] {
        [
            ("type", self.kind.name().to_owned()),
            ("mode", format!("{:04o}", self.mode)),
            ("uid", self.uid.to_string()),
            ("gid", self.gid.to_string()),
            ("size", self.size.to_string()),
            (
                "sha256",
                self.sha256.map_or_else(|| "-".into(), |d| d.to_hex()),
            ),
            (
                "link target",
                self.link_target.clone().unwrap_or_else(|| "-".into()),
            ),
            ("rdev", self.rdev.to_string()),
            ("mtime", self.mtime.to_string()),
        ]
    }
}

impl fmt::Display for TreeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        for (_, value) in self.fields() {
            write!(f, "\t{value}")?;
        }
        Ok(())
    }
}

/// A tree's entries and the digest of their listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDigest {
    /// Every entry, sorted by path bytes.
    pub entries: Vec<TreeEntry>,
    /// SHA-256 of [`TreeDigest::listing`], hex.
    pub sha256: Sha256,
    /// Total size of regular files and symlinks, bytes.
    pub total_size: u64,
}

impl TreeDigest {
    /// One tab-separated line per entry: path, type, mode, uid, gid, size, sha256, link
    /// target, rdev, mtime.
    pub fn listing(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            let _ = writeln!(text, "{entry}");
        }
        text
    }
}

/// A path or link target as text: printable ASCII and UTF-8 kept, `\`, tab, newline, other
/// control characters and invalid UTF-8 bytes written as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' || c.is_control() {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(text, "\\x{b:02x}");
                }
            } else {
                text.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(text, "\\x{b:02x}");
        }
    }
    text
}

/// Computes the digest of the tree at `root`.
pub fn tree_digest(root: &Path) -> Result<TreeDigest, Error> {
    let mut raw: Vec<(Vec<u8>, std::path::PathBuf)> = Vec::new();
    for found in walk(root) {
        let found = found?;
        let mut image_path = b"/".to_vec();
        image_path.extend_from_slice(found.relative.as_os_str().as_bytes());
        raw.push((image_path, found.path));
    }
    // Sorted by the whole path's bytes, as the digest has always been defined.
    raw.sort();
    let mut entries = Vec::with_capacity(raw.len() + 1);
    entries.push(entry(root, b"/")?);
    let mut total_size = 0;
    for (image_path, path) in raw {
        let entry = entry(&path, &image_path)?;
        if matches!(entry.kind, EntryType::File | EntryType::Symlink) {
            total_size += entry.size;
        }
        entries.push(entry);
    }
    let mut hasher = Hasher::new();
    for entry in &entries {
        hasher.update(entry.to_string().as_bytes());
        hasher.update(b"\n");
    }
    Ok(TreeDigest {
        entries,
        sha256: hasher.finish(),
        total_size,
    })
}

fn entry(path: &Path, image_path: &[u8]) -> Result<TreeEntry, Error> {
    let meta = fs::symlink_metadata(path).at(path)?;
    let file_type = meta.file_type();
    let kind = if file_type.is_dir() {
        EntryType::Directory
    } else if file_type.is_file() {
        EntryType::File
    } else if file_type.is_symlink() {
        EntryType::Symlink
    } else if file_type.is_char_device() {
        EntryType::CharDevice
    } else if file_type.is_block_device() {
        EntryType::BlockDevice
    } else if file_type.is_fifo() {
        EntryType::Fifo
    } else {
        EntryType::Socket
    };
    let (sha256, link_target) = match kind {
        EntryType::File => (Some(file_sha256(path)?), None),
        EntryType::Symlink => {
            let target = fs::read_link(path).at(path)?;
            (None, Some(escape(OsStr::new(&target).as_bytes())))
        }
        _ => (None, None),
    };
    Ok(TreeEntry {
        path: escape(image_path),
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: if matches!(kind, EntryType::File | EntryType::Symlink) {
            meta.size()
        } else {
            0
        },
        sha256,
        link_target,
        rdev: if matches!(kind, EntryType::CharDevice | EntryType::BlockDevice) {
            meta.rdev()
        } else {
            0
        },
        mtime: meta.mtime(),
    })
}

fn file_sha256(path: &Path) -> Result<Sha256, Error> {
    Ok(Sha256::of_file(path).at(path)?)
}

/// Where two trees first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The first path (in sort order) at which they differ.
    pub path: String,
    /// The field (`type`, `mode`, ..., or `presence` when one tree lacks the path).
    pub field: &'static str,
    /// The value in the first tree.
    pub left: String,
    /// The value in the second tree.
    pub right: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} differs: `{}` vs `{}`",
            self.path, self.field, self.left, self.right
        )
    }
}

/// The first path and field in which `left` and `right` differ; `None` when identical.
pub fn first_difference(left: &TreeDigest, right: &TreeDigest) -> Option<Difference> {
    let (mut a, mut b) = (
        left.entries.iter().peekable(),
        right.entries.iter().peekable(),
    );
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(x), None) => return Some(missing(&x.path, true)),
            (None, Some(y)) => return Some(missing(&y.path, false)),
            (Some(x), Some(y)) => {
                match x.path.as_bytes().cmp(y.path.as_bytes()) {
                    std::cmp::Ordering::Less => return Some(missing(&x.path, true)),
                    std::cmp::Ordering::Greater => return Some(missing(&y.path, false)),
                    std::cmp::Ordering::Equal => {}
                }
                for ((field, l), (_, r)) in x.fields().into_iter().zip(y.fields()) {
                    if l != r {
                        return Some(Difference {
                            path: x.path.clone(),
                            field,
                            left: l,
                            right: r,
                        });
                    }
                }
                a.next();
                b.next();
            }
        }
    }
}

fn missing(path: &str, in_left: bool) -> Difference {
    let (left, right) = if in_left {
        ("present", "absent")
    } else {
        ("absent", "present")
    };
    Difference {
        path: path.to_owned(),
        field: "presence",
        left: left.into(),
        right: right.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn tree(dir: &Path) {
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::write(dir.join("etc/hostname"), "flashbox\n").unwrap();
        fs::set_permissions(dir.join("etc/hostname"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(dir.join("etc"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("../usr/lib/os-release", dir.join("etc/os-release")).unwrap();
        fs::write(dir.join("a-b"), "x").unwrap();
        fs::set_permissions(dir.join("a-b"), fs::Permissions::from_mode(0o644)).unwrap();
    }

    #[test]
    fn digest_is_stable_and_names_the_first_difference() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        tree(one.path());
        tree(two.path());
        for dir in [one.path(), two.path()] {
            crate::normalise::clamp_mtimes(dir, 0).unwrap();
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let a = tree_digest(one.path()).unwrap();
        let b = tree_digest(two.path()).unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(first_difference(&a, &b), None);
        let paths: Vec<&str> = a.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/", "/a-b", "/etc", "/etc/hostname", "/etc/os-release"]
        );
        assert_eq!(
            a.entries[4].link_target.as_deref(),
            Some("../usr/lib/os-release")
        );

        fs::set_permissions(
            two.path().join("etc/hostname"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let b = tree_digest(two.path()).unwrap();
        assert_ne!(a.sha256, b.sha256);
        let difference = first_difference(&a, &b).unwrap();
        assert_eq!(difference.path, "/etc/hostname");
        assert_eq!(difference.field, "mode");
        assert_eq!(
            difference.to_string(),
            "/etc/hostname: mode differs: `0644` vs `0600`"
        );

        fs::write(two.path().join("etc/extra"), "").unwrap();
        // Adding a file changes the directory's mtime first, in path order.
        let b = tree_digest(two.path()).unwrap();
        assert_eq!(first_difference(&a, &b).unwrap().path, "/etc");
        crate::normalise::clamp_mtimes(two.path(), 0).unwrap();
        fs::set_permissions(
            two.path().join("etc/hostname"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let b = tree_digest(two.path()).unwrap();
        let difference = first_difference(&a, &b).unwrap();
        assert_eq!(
            (difference.path.as_str(), difference.field),
            ("/etc/extra", "presence")
        );
        assert_eq!(difference.right, "present");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(b"/usr/bin/ls"), "/usr/bin/ls");
        assert_eq!(escape(b"/a\tb\n"), "/a\\x09b\\x0a");
        assert_eq!(escape(b"/\xff\\"), "/\\xff\\x5c");
        assert_eq!(escape("/é".as_bytes()), "/é");
    }
}
