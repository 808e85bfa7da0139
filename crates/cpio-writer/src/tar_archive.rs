//! The same entries as a tar archive: mkosi's `Format=tar` output of an image root.
//!
//! The archive is what `tar --create --numeric-owner --sort=name` writes of the root in GNU
//! format, made reproducible the way the cpio layout is: the root first (`./`), then depth
//! first with each directory's entries in name-byte order, so a directory's whole subtree
//! follows it and extractors set its mtime last; members named by their relative path
//! (directories with a trailing `/`), modification times clamped to SOURCE_DATE_EPOCH, numeric
//! owners only (no user or group names), and the first member of a group of hard links in
//! archive order carrying the data, the later ones linking to it. Names and link targets longer than the header holds use GNU
//! long-name members. Sockets cannot be stored in tar and are left out, as GNU tar does; no
//! extended attributes are recorded (the root's cpio carries none either).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::entry::{ArchivePath, Data, Entry, EntryKind};
use crate::error::Error;
use crate::layout::check_tree;
use crate::source::EntrySource;
use crate::{ArchiveOptions, ArchiveStats, Counter, Owners, compress};
use build_vocab::{AtPath, PathError};

/// Writes the tar archive of `source` to `out`, compressed as `options` say.
pub fn write_tar(
    source: impl EntrySource,
    options: &ArchiveOptions,
    out: impl Write,
) -> Result<ArchiveStats, Error> {
    let mut entries = source.entries()?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    check_tree(&entries)?;
    entries.sort_by(|a, b| depth_first(&a.path).cmp(depth_first(&b.path)));
    let files: HashMap<&ArchivePath, &Entry> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::File(_)))
        .map(|e| (&e.path, e))
        .collect();
    let encoder = compress::Encoder::new(options.compression, Counter::new(out))?;
    let mut builder = tar::Builder::new(Counter::new(encoder));
    // The archive name under which each hard-link group's data went, by the group's file.
    let mut written_as: HashMap<&ArchivePath, PathBuf> = HashMap::new();
    let mut members = 0;
    for entry in &entries {
        let name = member_name(&entry.path, matches!(entry.kind, EntryKind::Directory));
        let (file, group) = match &entry.kind {
            EntryKind::File(_) => (entry, &entry.path),
            EntryKind::Hardlink { target } => {
                let file = files.get(target).ok_or_else(|| Error::HardlinkTarget {
                    path: entry.path.to_string(),
                    target: target.to_string(),
                })?;
                (*file, target)
            }
            EntryKind::Socket => continue,
            _ => {
                append_node(&mut builder, entry, &name, options)?;
                members += 1;
                continue;
            }
        };
        let mut header = header_of(file, options);
        if let Some(first) = written_as.get(group) {
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            builder
                .append_link(&mut header, &name, first)
                .map_err(Error::Output)?;
        } else {
            let EntryKind::File(data) = &file.kind else {
                unreachable!("hard-link groups are keyed by their regular file")
            };
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(data.len());
            append_data(&mut builder, &mut header, &name, data)?;
            written_as.insert(group, name);
        }
        members += 1;
    }
    let archive = builder.into_inner().map_err(Error::Output)?;
    let archive_bytes = archive.count;
    let mut output = archive.inner.finish().map_err(Error::Output)?;
    output.flush().map_err(Error::Output)?;
    Ok(ArchiveStats {
        members,
        archive_bytes,
        output_bytes: output.count,
    })
}

/// The components of `path`, none for the root: comparing them orders a tree depth first.
fn depth_first(path: &ArchivePath) -> impl Iterator<Item = &[u8]> {
    let name = if path.is_root() { &[][..] } else { path.name() };
    name.split(|&byte| byte == b'/').filter(|c| !c.is_empty())
}

/// `PATH`, with a trailing slash for a directory; `./` for the root.
fn member_name(path: &ArchivePath, directory: bool) -> PathBuf {
    if path.is_root() {
        return PathBuf::from("./");
    }
    let mut name = path.name().to_vec();
    if directory {
        name.push(b'/');
    }
    PathBuf::from(OsString::from_vec(name))
}

/// A GNU header with `entry`'s mode, owners (as `options` say) and clamped mtime.
fn header_of(entry: &Entry, options: &ArchiveOptions) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_mode(entry.mode & 0o7777);
    let (uid, gid) = match options.owners {
        Owners::AsRecorded => (entry.uid, entry.gid),
        Owners::Root => (0, 0),
    };
    header.set_uid(u64::from(uid));
    header.set_gid(u64::from(gid));
    header.set_mtime(entry.mtime.min(options.source_date_epoch));
    header.set_size(0);
    header
}

/// A directory, symlink, device node or FIFO.
fn append_node<W: Write>(
    builder: &mut tar::Builder<W>,
    entry: &Entry,
    name: &Path,
    options: &ArchiveOptions,
) -> Result<(), Error> {
    let mut header = header_of(entry, options);
    let device = |header: &mut tar::Header, kind, number: &crate::DeviceNumber| {
        header.set_entry_type(kind);
        header.set_device_major(number.major)?;
        header.set_device_minor(number.minor)
    };
    match &entry.kind {
        EntryKind::Directory => header.set_entry_type(tar::EntryType::Directory),
        EntryKind::Symlink { target } => {
            header.set_entry_type(tar::EntryType::Symlink);
            return builder
                .append_link(&mut header, name, Path::new(OsStr::from_bytes(target)))
                .map_err(Error::Output);
        }
        EntryKind::CharDevice(number) => {
            device(&mut header, tar::EntryType::Char, number).map_err(Error::Output)?;
        }
        EntryKind::BlockDevice(number) => {
            device(&mut header, tar::EntryType::Block, number).map_err(Error::Output)?;
        }
        EntryKind::Fifo => header.set_entry_type(tar::EntryType::Fifo),
        EntryKind::File(_) | EntryKind::Hardlink { .. } | EntryKind::Socket => {
            unreachable!("files, hard links and sockets are handled by the caller")
        }
    }
    builder
        .append_data(&mut header, name, io::empty())
        .map_err(Error::Output)
}

/// A regular file's member: its bytes, or exactly `size` bytes streamed from disk.
fn append_data<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    name: &Path,
    data: &Data,
) -> Result<(), Error> {
    match data {
        Data::Bytes(bytes) => builder
            .append_data(header, name, bytes.as_slice())
            .map_err(Error::Output),
        Data::File { path, size } => {
            let mut reader = SizedFile::open(path, *size)?;
            let appended = builder.append_data(header, name, &mut reader);
            reader.check()?;
            appended.map_err(Error::Output)
        }
    }
}

/// A file read as exactly the size its entry planned; [`SizedFile::check`] reports a file that
/// changed size while it was archived.
struct SizedFile {
    file: File,
    path: PathBuf,
    size: u64,
    read: u64,
    error: Option<io::Error>,
}

impl SizedFile {
    fn open(path: &Path, size: u64) -> Result<Self, Error> {
        let file = File::open(path).at(path)?;
        let on_disk = file.metadata().at(path)?.len();
        if on_disk != size {
            return Err(Error::SizeChanged {
                path: path.to_owned(),
                expected: size,
                actual: on_disk,
            });
        }
        Ok(SizedFile {
            file,
            path: path.to_owned(),
            size,
            read: 0,
            error: None,
        })
    }

    /// Fails if the file ended early, had more bytes, or could not be read.
    fn check(mut self) -> Result<(), Error> {
        if let Some(error) = self.error.take() {
            return Err(PathError::new(self.path, error).into());
        }
        let extra = self.file.read(&mut [0u8; 1]).at(&self.path)?;
        if self.read != self.size || extra > 0 {
            return Err(Error::SizeChanged {
                path: self.path,
                expected: self.size,
                actual: self.read + extra as u64,
            });
        }
        Ok(())
    }
}

impl Read for SizedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.size - self.read).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        match self.file.read(&mut buf[..want]) {
            Ok(got) => {
                self.read += got as u64;
                Ok(got)
            }
            Err(error) => {
                let kind = error.kind();
                self.error = Some(error);
                Err(io::Error::from(kind))
            }
        }
    }
}
