//! Where entries come from: an in-memory list, or a directory tree on disk.
//!
//! A source only has to produce the entries; their order does not matter, because the
//! [layout](crate::layout) sorts them. [`DirectorySource`] is the edge of the crate that reads
//! the file system: it records metadata and symlink targets while walking, and leaves file
//! contents on disk to be streamed when the archive is written.

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::entry::{ArchivePath, Data, DeviceNumber, Entry, EntryKind};
use crate::error::Error;
use build_vocab::walk::walk;
use build_vocab::{AtPath, PathError};

/// Anything that can list the entries of an archive.
pub trait EntrySource {
    /// Every entry of the archive, in any order.
    fn entries(self) -> Result<Vec<Entry>, Error>;
}

impl EntrySource for Vec<Entry> {
    fn entries(self) -> Result<Vec<Entry>, Error> {
        Ok(self)
    }
}

/// The tree under a directory, as `find .` sees it: the root itself (member `.`) and every node
/// below it, symlinks not followed. Regular files with several names inside the tree become one
/// [`EntryKind::File`] and [`EntryKind::Hardlink`]s to it, recognised by (device, inode).
///
/// `root` itself may be a symlink to a directory; nothing below it is followed. Hardlinked
/// nodes other than regular files (rare) are archived as independent nodes, since the kernel
/// links only regular files. Modification times before 1970 are recorded as 0.
#[derive(Clone, Debug)]
pub struct DirectorySource {
    root: PathBuf,
}

impl DirectorySource {
    /// The tree under `root`. Nothing is read until [`EntrySource::entries`] is called.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirectorySource { root: root.into() }
    }
}

impl EntrySource for DirectorySource {
    fn entries(self) -> Result<Vec<Entry>, Error> {
        let meta = fs::metadata(&self.root).at(&self.root)?;
        if !meta.is_dir() {
            let not_a_directory = io::Error::from(io::ErrorKind::NotADirectory);
            return Err(PathError::new(self.root, not_a_directory).into());
        }
        let mut walk = Walk {
            entries: vec![entry(ArchivePath::root(), EntryKind::Directory, &meta)],
            first_names: HashMap::new(),
        };
        walk.directory(&self.root)?;
        Ok(walk.entries)
    }
}

/// State of one directory walk.
struct Walk {
    entries: Vec<Entry>,
    /// The first name seen of each multiply-linked regular file, by (device, inode).
    first_names: HashMap<(u64, u64), ArchivePath>,
}

impl Walk {
    /// Records everything below the directory `dir` ([`build_vocab::walk`]: depth first, in
    /// name order, so the walk itself is reproducible).
    fn directory(&mut self, dir: &Path) -> Result<(), Error> {
        for found in walk(dir) {
            let found = found?;
            let path = ArchivePath::new(found.relative.as_os_str().as_bytes())?;
            let kind = self.kind(&found.path, &path, &found.metadata)?;
            self.entries.push(entry(path, kind, &found.metadata));
        }
        Ok(())
    }

    fn kind(
        &mut self,
        disk: &Path,
        path: &ArchivePath,
        meta: &Metadata,
    ) -> Result<EntryKind, Error> {
        let file_type = meta.file_type();
        Ok(if file_type.is_dir() {
            EntryKind::Directory
        } else if file_type.is_file() {
            if meta.nlink() > 1 {
                if let Some(first) = self.first_names.get(&(meta.dev(), meta.ino())) {
                    return Ok(EntryKind::Hardlink {
                        target: first.clone(),
                    });
                }
                self.first_names
                    .insert((meta.dev(), meta.ino()), path.clone());
            }
            EntryKind::File(Data::File {
                path: disk.to_path_buf(),
                size: meta.len(),
            })
        } else if file_type.is_symlink() {
            let target = fs::read_link(disk).at(disk)?;
            EntryKind::Symlink {
                target: target.as_os_str().as_bytes().to_vec(),
            }
        } else if file_type.is_char_device() {
            EntryKind::CharDevice(DeviceNumber::from_dev_t(meta.rdev()))
        } else if file_type.is_block_device() {
            EntryKind::BlockDevice(DeviceNumber::from_dev_t(meta.rdev()))
        } else if file_type.is_fifo() {
            EntryKind::Fifo
        } else {
            EntryKind::Socket
        })
    }
}

/// An entry with the metadata of a node on disk.
fn entry(path: ArchivePath, kind: EntryKind, meta: &Metadata) -> Entry {
    Entry {
        path,
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: u64::try_from(meta.mtime()).unwrap_or(0),
    }
}
