//! The crate's one error type.
//!
//! Every variant names what it is about: an archive path (as text, lossily decoded when it is
//! not UTF-8), a file on disk, or a byte offset in an archive being read. Nothing is reported as
//! a bare `io::Error`, so a failed image build says which file broke it.

use build_vocab::PathError;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while planning, writing, compressing or reading an archive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path that cannot name an archive member (empty, absolute, `..`, a NUL byte, too long).
    #[error("`{path}` is not a valid archive path: {reason}")]
    InvalidPath {
        /// The rejected path.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Two entries with the same path.
    #[error("`{path}` is in the archive twice")]
    DuplicatePath {
        /// The repeated path.
        path: String,
    },
    /// An entry whose parent directory is not a directory entry of the archive; the kernel could
    /// not create it.
    #[error("`{path}`: its parent directory is not in the archive")]
    MissingParent {
        /// The orphaned entry.
        path: String,
    },
    /// A hardlink whose target is not a regular file entry of the archive.
    #[error("hardlink `{path}`: target `{target}` is not a regular file in the archive")]
    HardlinkTarget {
        /// The hardlink entry.
        path: String,
        /// The path it names as its target.
        target: String,
    },
    /// A symlink target the kernel would refuse (empty, too long, or containing a NUL byte).
    #[error("symlink `{path}`: {reason}")]
    InvalidSymlink {
        /// The symlink entry.
        path: String,
        /// Which rule its target breaks.
        reason: &'static str,
    },
    /// A value that does not fit its 32-bit newc header field (a file of 4 GiB or more, an
    /// mtime after 2106).
    #[error("`{path}`: {field} {value} does not fit a 32-bit newc header field")]
    FieldOverflow {
        /// The entry.
        path: String,
        /// The header field.
        field: &'static str,
        /// The value that does not fit.
        value: u64,
    },
    /// A file whose size on disk is not the size recorded when the archive was planned: it
    /// changed while being archived.
    #[error("{}: size changed while archiving (planned {expected} bytes, found {actual})", path.display())]
    SizeChanged {
        /// The file on disk.
        path: PathBuf,
        /// The size recorded in the layout.
        expected: u64,
        /// The size found while copying (a lower bound when the file grew).
        actual: u64,
    },
    /// The output file could not be published (written whole, synced, renamed).
    #[error(transparent)]
    Publish(#[from] build_vocab::Error),
    /// An I/O error on a file or directory.
    #[error(transparent)]
    Io(#[from] PathError),
    /// An I/O error from the caller's output stream (the compressor included).
    #[error("writing the archive")]
    Output(#[source] io::Error),
    /// A compression level outside what the algorithm accepts.
    #[error("{algorithm} level {level} is outside {min}..={max}")]
    InvalidLevel {
        /// `zstd`, `gzip` or `xz`.
        algorithm: &'static str,
        /// The requested level.
        level: i32,
        /// Lowest accepted level.
        min: i32,
        /// Highest accepted level.
        max: i32,
    },
    /// An archive being read is not a well-formed newc archive.
    #[error("malformed archive at byte {offset}: {reason}")]
    Malformed {
        /// Offset in the segment being parsed (after decompression, for a compressed segment).
        offset: u64,
        /// What is wrong there.
        reason: &'static str,
    },
    /// A compressed segment of an archive being read does not decompress.
    #[error("compressed segment at byte {offset} does not decompress")]
    Decompress {
        /// Offset of the segment.
        offset: u64,
        /// The decoder's error.
        source: io::Error,
    },
}

impl Error {}

/// Lossy text for an archive path or name held as bytes, for error messages and reports.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
