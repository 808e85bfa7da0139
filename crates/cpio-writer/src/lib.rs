//! Deterministic SVR4 `newc` cpio archives, the format of Linux initrds, and the same entries as
//! a tar archive ([`tar_archive`], mkosi's `Format=tar`).
//!
//! # Goals
//!
//! - **Reproducible by construction.** The bytes of an archive depend only on its entries and
//!   on [`ArchiveOptions`]: SOURCE_DATE_EPOCH, the owner policy and the compression are
//!   parameters, never read from the host. Creation order, directory iteration order, umask,
//!   build path, locale and time zone cannot reach the output.
//! - **What the tools already do.** The uncompressed output is byte-for-byte what
//!   `find . | LC_ALL=C sort | cpio -o -H newc --reproducible` writes for the same tree (see
//!   [`layout`] for the rules and the tests for the comparison), and unpacks the same with the
//!   kernel, GNU cpio and bsdtar.
//! - **Streaming.** File contents are copied from disk into the compressor as the archive is
//!   written; memory grows with the number of entries, not with their size.
//! - **Plan, then emit.** [`plan`] computes the complete [`Layout`] (order, inode numbers, link
//!   counts, headers, offsets) without I/O; writing is a trivial pass over it.
//!
//! # A tour
//!
//! - Entries come from an [`EntrySource`]: a `Vec<`[`Entry`]`>` built in memory, or a
//!   [`DirectorySource`] walking a tree on disk (not following symlinks, detecting hardlinks).
//! - [`write_archive`] writes an archive to any [`std::io::Write`], compressed as
//!   [`Compression`] says (zstd multi-threaded, gzip, xz with CRC32, or none);
//!   [`write_archive_file`] writes one to a path atomically; [`write_tar`] and
//!   [`write_tar_file`] write the entries as a tar archive instead.
//! - [`concat_files`] joins initrds (an uncompressed early-microcode archive first, then the
//!   main one) the way the kernel reads them.
//! - [`read_initrd`] reads initrds back and [`first_difference`] names the first member and
//!   field in which two of them differ, for reproducibility reports.
//!
//! ```
//! use cpio_writer::{ArchiveOptions, ArchivePath, Compression, Data, Entry, EntryKind, Owners};
//!
//! let entries = vec![
//!     Entry {
//!         path: ArchivePath::new("init")?,
//!         kind: EntryKind::File(Data::Bytes(b"#!/bin/sh\n".to_vec())),
//!         mode: 0o755,
//!         uid: 0,
//!         gid: 0,
//!         mtime: 0,
//!     },
//! ];
//! let options = ArchiveOptions {
//!     source_date_epoch: 0,
//!     owners: Owners::Root,
//!     compression: Compression::Zstd { level: 19 },
//! };
//! let mut initrd = Vec::new();
//! let stats = cpio_writer::write_archive(entries, &options, &mut initrd)?;
//! assert_eq!(stats.members, 1);
//! assert_eq!(cpio_writer::read_initrd(&initrd)?[0].name, b"init");
//! # Ok::<(), cpio_writer::Error>(())
//! ```

pub mod compress;
pub mod entry;
pub mod error;
pub mod layout;
pub mod newc;
pub mod output;
pub mod source;
pub mod tar_archive;
pub mod verify;
mod write;

use std::io::{self, Write};

pub use compress::Compression;
pub use entry::{ArchivePath, Data, DeviceNumber, Entry, EntryKind};
pub use error::Error;
pub use layout::{Layout, Record, plan};
pub use newc::{Field, Header};
pub use output::{concat_files, write_archive_file, write_tar_file};
pub use source::{DirectorySource, EntrySource};
pub use tar_archive::write_tar;
pub use verify::{EntryDifference, Member, first_difference, read_initrd};

/// Everything that decides an archive's bytes besides its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// SOURCE_DATE_EPOCH: every mtime later than this is recorded as this.
    pub source_date_epoch: u64,
    /// Whose ownership the archive records.
    pub owners: Owners,
    /// How the archive is compressed.
    pub compression: Compression,
}

/// The ownership an archive records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owners {
    /// Each entry's uid and gid as recorded in it (for a directory, as on disk).
    AsRecorded,
    /// Everything owned by root (uid 0, gid 0), like `cpio -R 0:0`.
    Root,
}

/// What writing an archive produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveStats {
    /// Members written, not counting the trailer.
    pub members: usize,
    /// Length of the uncompressed archive.
    pub archive_bytes: u64,
    /// Bytes written to the output, after compression.
    pub output_bytes: u64,
}

/// Plans and writes the archive of `source` to `out`, compressed as `options` say.
pub fn write_archive(
    source: impl EntrySource,
    options: &ArchiveOptions,
    out: impl Write,
) -> Result<ArchiveStats, Error> {
    let mut encoder = compress::Encoder::new(options.compression, Counter::new(out))?;
    let layout = plan(source.entries()?, options)?;
    let archive_bytes = layout.write_to(&mut encoder)?;
    let mut counter = encoder.finish().map_err(Error::Output)?;
    counter.flush().map_err(Error::Output)?;
    Ok(ArchiveStats {
        members: layout.records.len() - 1,
        archive_bytes,
        output_bytes: counter.count,
    })
}

/// Counts the bytes written through it.
pub(crate) struct Counter<W> {
    pub(crate) inner: W,
    pub(crate) count: u64,
}

impl<W> Counter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Counter { inner, count: 0 }
    }
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
