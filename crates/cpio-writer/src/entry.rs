//! The vocabulary of an archive: paths, entries and where file data comes from.
//!
//! An [`Entry`] is plain data describing one file-system node as it should appear in the
//! archive. Entries carry no archive-level facts (inode numbers, link counts, order): those are
//! decided by the [layout](crate::layout) from the whole set, which is what makes the output
//! independent of the order entries were produced in.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, lossy};

/// Longest member name, in bytes: the kernel's unpacker rejects names whose length including
/// the terminating NUL exceeds `PATH_MAX` (4096).
pub const MAX_NAME_LEN: usize = 4095;

/// A relative path inside the archive, in canonical form.
///
/// Components are separated by single `/`, none is empty, `.` or `..`, and there is no NUL byte.
/// The root directory is its own value ([`ArchivePath::root`]), written as `.` in the archive
/// the way `find . | cpio` writes it. Ordering is by bytes with the root first, which is the
/// order of `find . | LC_ALL=C sort` and puts every parent before its children.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArchivePath(Vec<u8>);

impl ArchivePath {
    /// The root directory of the archive (member name `.`).
    pub fn root() -> Self {
        ArchivePath(Vec::new())
    }

    /// Parses a path. Accepts `.` for the root and an optional leading `./` (as `find .`
    /// prints paths); rejects absolute paths, empty, `.` and `..` components, trailing slashes,
    /// NUL bytes and names longer than [`MAX_NAME_LEN`].
    pub fn new(path: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let raw: Vec<u8> = path.into();
        let invalid = |reason| Error::InvalidPath {
            path: lossy(&raw),
            reason,
        };
        if raw == b"." {
            return Ok(Self::root());
        }
        let rel = raw.strip_prefix(b"./").unwrap_or(&raw);
        if raw.is_empty() {
            return Err(invalid("it is empty"));
        }
        if rel.starts_with(b"/") {
            return Err(invalid("it is absolute"));
        }
        if rel.contains(&0) {
            return Err(invalid("it contains a NUL byte"));
        }
        if rel.len() > MAX_NAME_LEN {
            return Err(invalid("it is longer than the kernel's PATH_MAX allows"));
        }
        for component in rel.split(|&b| b == b'/') {
            match component {
                b"" => return Err(invalid("it has an empty component")),
                b"." | b".." => return Err(invalid("it has a `.` or `..` component")),
                _ => {}
            }
        }
        Ok(ArchivePath(rel.to_vec()))
    }

    /// Whether this is the root directory.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The member name written to the archive: `.` for the root, else the canonical path.
    pub fn name(&self) -> &[u8] {
        if self.is_root() { b"." } else { &self.0 }
    }

    /// The containing directory; `None` for the root.
    pub fn parent(&self) -> Option<ArchivePath> {
        if self.is_root() {
            return None;
        }
        let cut = self.0.iter().rposition(|&b| b == b'/').unwrap_or(0);
        Some(ArchivePath(self.0[..cut].to_vec()))
    }

    /// This path with one more component (a directory entry's name) appended.
    pub fn join(&self, component: &[u8]) -> Result<ArchivePath, Error> {
        let mut joined = self.0.clone();
        if !self.is_root() {
            joined.push(b'/');
        }
        joined.extend_from_slice(component);
        if component.contains(&b'/') {
            return Err(Error::InvalidPath {
                path: lossy(&joined),
                reason: "a component contains `/`",
            });
        }
        ArchivePath::new(joined)
    }
}

impl fmt::Display for ArchivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.name()))
    }
}

impl fmt::Debug for ArchivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArchivePath({self})")
    }
}

/// One node to archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Where it goes in the archive.
    pub path: ArchivePath,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits, including setuid, setgid and sticky. Only the low 12 bits are used; the
    /// file type bits come from [`Entry::kind`].
    pub mode: u32,
    /// Owner, as recorded (see [`Owners`](crate::Owners)).
    pub uid: u32,
    /// Group, as recorded.
    pub gid: u32,
    /// Modification time in seconds since the Unix epoch; the layout clamps it to
    /// SOURCE_DATE_EPOCH.
    pub mtime: u64,
}

/// The type of an [`Entry`] and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file and its contents.
    File(Data),
    /// A symbolic link; the target is stored verbatim as the member's data.
    Symlink {
        /// The link target, as `readlink` returns it.
        target: Vec<u8>,
    },
    /// Another name for the regular file entry at `target`. The names of a file share one inode,
    /// so every member of the group carries the target entry's mode, owners and mtime, and only
    /// the group's last member in archive order carries the data (as GNU cpio writes newc and
    /// the kernel expects). This entry's own mode, uid, gid and mtime are not used.
    Hardlink {
        /// The regular file this is another name of.
        target: ArchivePath,
    },
    /// A character device node.
    CharDevice(DeviceNumber),
    /// A block device node.
    BlockDevice(DeviceNumber),
    /// A named pipe.
    Fifo,
    /// A Unix domain socket node.
    Socket,
}

/// A device number, split as the newc header stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceNumber {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

impl DeviceNumber {
    /// Splits a Linux `dev_t` (as in `st_rdev`) the way glibc's `major()`/`minor()` do.
    pub fn from_dev_t(dev: u64) -> Self {
        // The casts keep exactly the bits the masks select, which fit in 32 bits.
        DeviceNumber {
            major: (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32,
            minor: ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32,
        }
    }
}

/// Where a regular file's contents come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// Contents held in memory.
    Bytes(Vec<u8>),
    /// A file on disk, streamed into the archive when it is written. `size` is the size the
    /// layout plans for; writing fails with [`Error::SizeChanged`] if the file no longer has it.
    File {
        /// The file to read.
        path: PathBuf,
        /// Its size in bytes when the entry was made.
        size: u64,
    },
}

impl Data {
    /// The number of bytes this data contributes to the archive.
    pub fn len(&self) -> u64 {
        match self {
            Data::Bytes(bytes) => bytes.len() as u64,
            Data::File { size, .. } => *size,
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> ArchivePath {
        ArchivePath::new(s).unwrap()
    }

    #[test]
    fn accepts_find_style_and_plain_paths() {
        assert_eq!(path("."), ArchivePath::root());
        assert_eq!(path("./bin/sh"), path("bin/sh"));
        assert_eq!(path("bin/sh").name(), b"bin/sh");
        assert_eq!(ArchivePath::root().name(), b".");
    }

    #[test]
    fn rejects_paths_the_kernel_cannot_create() {
        for bad in [
            "", "/etc", "a//b", "a/", "a/./b", "../x", "a/..", "a\0b", "./",
        ] {
            assert!(
                matches!(ArchivePath::new(bad), Err(Error::InvalidPath { .. })),
                "{bad:?} was accepted"
            );
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(ArchivePath::new(long).is_err());
        assert!(ArchivePath::new("a".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn orders_root_first_then_bytes_like_sorted_find() {
        let mut paths = [
            path("a/b"),
            path("a-c"),
            ArchivePath::root(),
            path("a"),
            path("-x"),
        ];
        paths.sort();
        let names: Vec<String> = paths.iter().map(ToString::to_string).collect();
        assert_eq!(names, [".", "-x", "a", "a-c", "a/b"]);
    }

    #[test]
    fn parent_and_join_are_inverse() {
        assert_eq!(path("a/b/c").parent(), Some(path("a/b")));
        assert_eq!(path("a").parent(), Some(ArchivePath::root()));
        assert_eq!(ArchivePath::root().parent(), None);
        assert_eq!(ArchivePath::root().join(b"a").unwrap(), path("a"));
        assert_eq!(path("a").join(b"b").unwrap(), path("a/b"));
        assert!(path("a").join(b"..").is_err());
        assert!(path("a").join(b"b/c").is_err());
    }

    #[test]
    fn splits_dev_t_like_glibc() {
        // makedev(1, 3) and makedev(4097, 65536) as glibc encodes them.
        assert_eq!(
            DeviceNumber::from_dev_t(0x103),
            DeviceNumber { major: 1, minor: 3 }
        );
        let (major, minor) = (4097u64, 65536u64);
        let dev = ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff);
        assert_eq!(
            DeviceNumber::from_dev_t(dev),
            DeviceNumber {
                major: 4097,
                minor: 65536
            }
        );
    }
}
