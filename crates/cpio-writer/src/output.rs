//! Writing initrd files: atomically, and as a concatenation of several initrds.
//!
//! A file is written under a temporary name in its destination directory and renamed over the
//! destination only once complete and synced, so a failed build never leaves half an initrd
//! where a good one was. The file mode is set to 0644 explicitly rather than left to the umask.

use std::fs::{File, Permissions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::Error;
use crate::newc::padding;
use crate::source::EntrySource;
use crate::{ArchiveOptions, ArchiveStats, write_archive};

/// Writes the archive of `source` to the file at `path`, compressed as `options` say, replacing
/// it atomically.
pub fn write_archive_file(
    source: impl EntrySource,
    options: &ArchiveOptions,
    path: &Path,
) -> Result<ArchiveStats, Error> {
    write_atomically(path, |out| write_archive(source, options, out))
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
            let mut file = File::open(part).map_err(Error::io(*part))?;
            loop {
                let got = file.read(&mut buffer).map_err(Error::io(*part))?;
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

/// Runs `write` on a temporary file next to `path`, then renames it to `path`. Output errors
/// are reported against `path`.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<T, Error>,
) -> Result<T, Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let at_path = |e: Error| match e {
        Error::Output(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    };
    let temp = tempfile::Builder::new()
        .prefix(".cpio-writer-")
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let file = temp.as_file();
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = write(&mut out).map_err(at_path)?;
    out.flush().map_err(Error::io(path))?;
    drop(out);
    file.set_permissions(Permissions::from_mode(0o644))
        .map_err(Error::io(path))?;
    file.sync_all().map_err(Error::io(path))?;
    temp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(result)
}
