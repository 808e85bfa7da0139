//! Writing archive files (initrds, tar archives): atomically, and as a concatenation of
//! several initrds.
//!
//! A file is written under a temporary name in its destination directory and renamed over the
//! destination only once complete and synced, so a failed build never leaves half an initrd
//! where a good one was. The file mode is set to 0644 explicitly rather than left to the umask.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use build_vocab::publish::{self, WriteError};

use crate::error::Error;
use crate::newc::padding;
use crate::source::EntrySource;
use crate::{ArchiveOptions, ArchiveStats, write_archive};
use build_vocab::AtPath;

/// Writes the archive of `source` to the file at `path`, compressed as `options` say, replacing
/// it atomically.
pub fn write_archive_file(
    source: impl EntrySource,
    options: &ArchiveOptions,
    path: &Path,
) -> Result<ArchiveStats, Error> {
    write_atomically(path, |out| write_archive(source, options, out))
}

/// Writes the tar archive of `source` ([`crate::tar_archive`]) to the file at `path`, compressed as
/// `options` say, replacing it atomically.
pub fn write_tar_file(
    source: impl EntrySource,
    options: &ArchiveOptions,
    path: &Path,
) -> Result<ArchiveStats, Error> {
    write_atomically(path, |out| {
        crate::tar_archive::write_tar(source, options, out)
    })
}

/// Concatenates initrd files into one at `path`, atomically, as boot loaders concatenate
/// several `initrd=` files: the first part first (an uncompressed early-microcode archive must
/// come first), each later part starting on a 4-byte boundary after zero padding, which the
/// kernel skips. Returns the length written.
pub fn concat_files(parts: &[&Path], path: &Path) -> Result<u64, Error> {
    write_atomically(path, |out| {
        let mut buffer = vec![0u8; 1 << 20];
        let mut len = 0u64;
        for part in parts {
            let zeros = [0u8; 4];
            let pad = padding(len, 4) as usize;
            out.write_all(&zeros[..pad]).map_err(Error::Output)?;
            len += pad as u64;
            let mut file = File::open(part).at(*part)?;
            loop {
                let got = file.read(&mut buffer).at(*part)?;
                if got == 0 {
                    break;
                }
                out.write_all(&buffer[..got]).map_err(Error::Output)?;
                len += got as u64;
            }
        }
        Ok(len)
    })
}

/// Runs `write` on a buffered temporary file next to `path` and publishes it as `path`
/// (mode 0644, synced; see `build_vocab::publish`). Output errors are reported against `path`.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<T, Error>,
) -> Result<T, Error> {
    publish::write_buffered(path, 0o644, |out| {
        write(out).map_err(|e| match e {
            Error::Output(source) => WriteError::Io(source),
            other => WriteError::Producer(other),
        })
    })?
}
