//! Safe extraction of tar streams into a root directory.
//!
//! Used for the data of `.deb` packages during the bootstrap and for tar-archive trees
//! (`mkosi.extra.tar`). Every entry is checked before anything is written:
//!
//! - its path must be relative: absolute paths and `..` components are refused
//!   ([`MemberPath::parse`], pure);
//! - every directory on the way must be a real directory already in the root (or is created):
//!   an entry is never written *through* a symlink, whether that symlink points outside the
//!   root or anywhere inside it;
//! - an existing symlink at the entry's own path is replaced, never followed;
//! - a hardlink's target must itself be a valid member path, reached without symlinks, and be
//!   a regular file already in the root.
//!
//! A refused entry is an [`Error::UnsafeEntry`] naming the package and the entry.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Timespec, Timestamps};

use crate::error::Error;
use crate::filter::PathFilter;
use build_vocab::{AtPath, PathError};

/// A validated path of an archive member, relative to the root, as its components.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemberPath {
    components: Vec<Vec<u8>>,
}

impl MemberPath {
    /// Parses an archive member name (`./usr/bin/ls`, `usr/bin/ls`, `./`). `.` and empty
    /// components are dropped; an absolute path or a `..` component is refused with the
    /// reason. The root itself is the empty path.
    pub fn parse(raw: &[u8]) -> Result<Self, &'static str> {
        if raw.starts_with(b"/") {
            return Err("absolute path");
        }
        if raw.contains(&0) {
            return Err("NUL byte in path");
        }
        let mut components = Vec::new();
        for component in raw.split(|&b| b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => return Err("`..` component (would leave the root)"),
                name => components.push(name.to_vec()),
            }
        }
        Ok(Self { components })
    }

    /// This path with one more component appended; refuses names that are empty, `.`, `..`
    /// or contain `/`.
    pub fn join(&self, name: &[u8]) -> Result<Self, &'static str> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err("not a single path component");
        }
        let mut components = self.components.clone();
        components.push(name.to_vec());
        Ok(Self { components })
    }

    /// Whether this is the root directory itself.
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The path below `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        for component in &self.components {
            path.push(OsStr::from_bytes(component));
        }
        path
    }

    /// The absolute path inside the image (`/usr/bin/ls`), for filters and messages.
    pub fn absolute(&self) -> String {
        let mut text = String::new();
        for component in &self.components {
            text.push('/');
            text.push_str(&String::from_utf8_lossy(component));
        }
        if text.is_empty() {
            text.push('/');
        }
        text
    }
}

/// Who owns what is extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// The uid/gid recorded in the archive (`.deb` data, tar-archive trees).
    Archive,
    /// root:root for everything (directory trees).
    Root,
}

/// How to extract one tar stream.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions<'a> {
    /// What the stream is (a package name, a tree archive), for errors.
    pub label: &'a str,
    /// Owners of extracted files.
    pub ownership: Ownership,
    /// dpkg path filters to honour, if any.
    pub filter: Option<&'a PathFilter>,
}

/// Counts of what an extraction wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Entries written (directories, files, links, nodes).
    pub written: u64,
    /// Entries left out by the path filters.
    pub filtered: u64,
}

/// Extracts the tar stream `reader` into `root`, checking every entry as the module doc says.
pub fn extract_tar(
    reader: impl Read,
    root: &Path,
    options: &ExtractOptions<'_>,
) -> Result<ExtractStats, Error> {
    let label = options.label;
    let mut archive = tar::Archive::new(reader);
    let mut stats = ExtractStats::default();
    let entries = archive.entries().map_err(|e| Error::MalformedDeb {
        deb: PathBuf::from(label),
        reason: format!("tar stream: {e}"),
    })?;
    let can_chown = rustix::process::geteuid().is_root();
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::MalformedDeb {
            deb: PathBuf::from(label),
            reason: format!("tar stream: {e}"),
        })?;
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let refuse = |reason: String| Error::unsafe_entry(label, &shown, reason);
        let member = MemberPath::parse(&raw_path).map_err(|r| refuse(r.to_owned()))?;
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header
            .mode()
            .map_err(|e| refuse(format!("bad mode: {e}")))?
            & 0o7777;
        let (uid, gid) = match options.ownership {
            Ownership::Archive => (
                header.uid().map_err(|e| refuse(format!("bad uid: {e}")))?,
                header.gid().map_err(|e| refuse(format!("bad gid: {e}")))?,
            ),
            Ownership::Root => (0, 0),
        };
        let mtime = header.mtime().unwrap_or(0);
        if member.is_root() {
            // `./`: the root directory itself keeps its mode and owner.
            continue;
        }
        let keepable = kind.is_dir() || kind.is_symlink();
        if options
            .filter
            .is_some_and(|f| f.skips(&member.absolute(), keepable))
        {
            stats.filtered += 1;
            continue;
        }
        let path = prepare_parents(root, &member).map_err(&refuse)?;
        let existing = fs::symlink_metadata(&path).ok();
        let existing_is_dir = existing.as_ref().is_some_and(|m| m.is_dir());
        if kind.is_dir() {
            match &existing {
                Some(meta) if meta.is_dir() => {}
                Some(meta) if meta.file_type().is_symlink() => {
                    return Err(refuse(
                        "a directory where the root has a symlink (entries below it would be \
                         written through the symlink)"
                            .to_owned(),
                    ));
                }
                Some(_) => remove(&path)?,
                None => {}
            }
            if !existing_is_dir {
                fs::create_dir(&path).at(&path)?;
            }
        } else {
            if existing_is_dir {
                return Err(refuse(
                    "would replace a directory already in the root".to_owned(),
                ));
            }
            if existing.is_some() {
                remove(&path)?;
            }
            if kind.is_file() || kind.is_contiguous() {
                let mut file = File::options()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .at(&path)?;
                io::copy(&mut entry, &mut file).at(&path)?;
            } else if kind.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("symlink without a target".to_owned()))?
                    .into_owned();
                if target.is_empty() {
                    return Err(refuse("symlink with an empty target".to_owned()));
                }
                symlink(OsStr::from_bytes(&target), &path).at(&path)?;
            } else if kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("hardlink without a target".to_owned()))?
                    .into_owned();
                let target_member = MemberPath::parse(&target)
                    .map_err(|r| refuse(format!("hardlink target: {r}")))?;
                let target_path = checked_existing(root, &target_member)
                    .map_err(|r| refuse(format!("hardlink target: {r}")))?;
                let meta = fs::symlink_metadata(&target_path).map_err(|_| {
                    refuse(format!(
                        "hardlink target `{}` is not in the root",
                        target_member.absolute()
                    ))
                })?;
                if !meta.is_file() {
                    return Err(refuse(format!(
                        "hardlink target `{}` is not a regular file",
                        target_member.absolute()
                    )));
                }
                fs::hard_link(&target_path, &path).at(&path)?;
                stats.written += 1;
                // A hardlink shares the target's inode: mode, owner and time are the target's.
                continue;
            } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                let file_type =
                    special_file_type(kind.is_character_special(), kind.is_block_special());
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                make_node(&path, file_type, mode, rustix::fs::makedev(major, minor))?;
            } else {
                return Err(refuse(format!("unsupported entry type {kind:?}")));
            }
        }
        apply_metadata(&path, kind.is_symlink(), mode, uid, gid, mtime, can_chown)?;
        stats.written += 1;
    }
    Ok(stats)
}

/// Sets owner (when running as root), mode (not for symlinks) and mtime of `path`, without
/// following a symlink at `path`. The owner is set first because `chown` clears set-id bits.
pub(crate) fn apply_metadata(
    path: &Path,
    is_symlink: bool,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    can_chown: bool,
) -> Result<(), Error> {
    let fail = |e: rustix::io::Errno| Error::from(PathError::new(path, e.into()));
    if can_chown {
        let uid = u32::try_from(uid)
            .map_err(|_| Error::from(PathError::new(path, io::Error::other("uid > 2^32"))))?;
        let gid = u32::try_from(gid)
            .map_err(|_| Error::from(PathError::new(path, io::Error::other("gid > 2^32"))))?;
        rustix::fs::chownat(
            CWD,
            path,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(fail)?;
    }
    if !is_symlink {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path)?;
    }
    set_mtime(path, mtime)
}

/// The node type of a device (character or block) or, when neither, a FIFO.
pub(crate) fn special_file_type(character: bool, block: bool) -> FileType {
    match (character, block) {
        (true, _) => FileType::CharacterDevice,
        (false, true) => FileType::BlockDevice,
        (false, false) => FileType::Fifo,
    }
}

/// Creates the device node or FIFO `path` with permission bits `mode`.
pub(crate) fn make_node(path: &Path, kind: FileType, mode: u32, device: u64) -> Result<(), Error> {
    rustix::fs::mknodat(CWD, path, kind, Mode::from_raw_mode(mode), device)
        .map_err(|e| Error::from(PathError::new(path, e.into())))
}

/// Sets the modification (and access) time of `path` without following a symlink there.
pub(crate) fn set_mtime(path: &Path, mtime: u64) -> Result<(), Error> {
    let time = Timespec {
        tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| Error::from(PathError::new(path, e.into())))
}

pub(crate) fn remove(path: &Path) -> Result<(), Error> {
    Ok(fs::remove_file(path).at(path)?)
}

/// Makes sure every parent of `member` is a real directory under `root` (creating missing
/// ones as root-owned 0755 directories) and returns the member's path on disk. Refuses a
/// parent that is a symlink or not a directory.
pub(crate) fn prepare_parents(root: &Path, member: &MemberPath) -> Result<PathBuf, String> {
    checked_parents(root, member, MissingParent::Create)
}

/// The path of an existing member reached without symlinks on the way (the member itself
/// may be anything).
fn checked_existing(root: &Path, member: &MemberPath) -> Result<PathBuf, String> {
    checked_parents(root, member, MissingParent::Refuse)
}

/// What [`checked_parents`] does with a parent directory that does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MissingParent {
    /// Creates it (root-owned, 0755).
    Create,
    /// Refuses: the member is not in the root.
    Refuse,
}

/// The member's path under `root`, each parent checked to be a real directory, never a
/// symlink.
fn checked_parents(
    root: &Path,
    member: &MemberPath,
    missing: MissingParent,
) -> Result<PathBuf, String> {
    let mut path = root.to_path_buf();
    let count = member.components.len();
    for (index, component) in member.components.iter().enumerate() {
        path.push(OsStr::from_bytes(component));
        if index + 1 == count {
            break;
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path).unwrap_or_default();
                return Err(format!(
                    "would be written through the symlink `{}` -> `{}`",
                    shown_prefix(member, index),
                    target.display()
                ));
            }
            Ok(_) => {
                return Err(format!(
                    "parent `{}` is not a directory",
                    shown_prefix(member, index)
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && missing == MissingParent::Create => {
                fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!("`{}` is not in the root", member.absolute()));
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(path)
}

fn shown_prefix(member: &MemberPath, last: usize) -> String {
    MemberPath {
        components: member.components[..=last].to_vec(),
    }
    .absolute()
}

/// The path of `relative` (e.g. `var/lib/dpkg/status`) under `root`, after checking that no
/// directory on the way is a symlink; missing directories are created (0755). For files the
/// assembler itself writes into the image.
pub fn path_in_root(root: &Path, relative: &str) -> Result<PathBuf, Error> {
    let member = MemberPath::parse(relative.as_bytes())
        .map_err(|r| Error::unsafe_entry("rootfs-assembler", relative, r))?;
    prepare_parents(root, &member).map_err(|r| Error::unsafe_entry("rootfs-assembler", relative, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths() {
        let ok = |raw: &str| MemberPath::parse(raw.as_bytes()).unwrap().absolute();
        assert_eq!(ok("./usr/bin/ls"), "/usr/bin/ls");
        assert_eq!(ok("usr//bin/./ls/"), "/usr/bin/ls");
        assert_eq!(ok("./"), "/");
        assert!(MemberPath::parse(b"./").unwrap().is_root());
        assert_eq!(MemberPath::parse(b"/etc/passwd"), Err("absolute path"));
        assert!(MemberPath::parse(b"./usr/../../etc").is_err());
        assert!(MemberPath::parse(b"..").is_err());
        assert!(MemberPath::parse(b"a\0b").is_err());
    }
}
