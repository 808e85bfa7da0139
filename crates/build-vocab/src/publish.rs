//! Files that appear whole or not at all, and survive a crash once they appear.
//!
//! [`write_file`] writes through a temporary file in the target's directory (so the rename
//! stays on one file system), gives it its mode, syncs it, renames it over the target and
//! syncs the directory. A failure or a kill leaves the old file (or none) and no partial
//! one under the target's name; the temporary file is removed on failure.

use std::fs::{File, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{AtPath, Error, PathError};

/// How a published file's writer reports its own failures: either an I/O error (reported
/// against the target path) or the caller's error, passed through unchanged.
#[derive(Debug)]
pub enum WriteError<E> {
    /// Writing the bytes failed.
    Io(std::io::Error),
    /// The producer of the bytes failed.
    Producer(E),
}

impl<E> From<std::io::Error> for WriteError<E> {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// Writes `path` with `mode` from what `write` puts into a 1 MiB buffered writer,
/// atomically (see the module doc). `write`'s own errors come back as
/// [`WriteError::Producer`] in `Ok(Err(..))`; everything about the file as [`Error`].
pub fn write_buffered<T, E>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<T, WriteError<E>>,
) -> Result<Result<T, E>, Error> {
    write_file(path, mode, |file| {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let value = write(&mut out)?;
        out.flush()?;
        Ok(value)
    })
}

/// Writes `path` with `mode` through the file itself (for writers that seek or size the
/// file), atomically; errors as [`write_buffered`]'s.
pub fn write_file<T, E>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&File) -> Result<T, WriteError<E>>,
) -> Result<Result<T, E>, Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .at(dir)?;
    let file = temp.as_file();
    let value = match write(file) {
        Ok(value) => value,
        Err(WriteError::Io(source)) => {
            let path = path.to_owned();
            return Err(PathError { path, source }.into());
        }
        Err(WriteError::Producer(error)) => return Ok(Err(error)),
    };
    file.set_permissions(Permissions::from_mode(mode))
        .at(path)?;
    file.sync_all().at(path)?;
    temp.persist(path).map_err(|e| e.error).at(path)?;
    File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    Ok(Ok(value))
}

/// Writes `path` with `mode` through the file, atomically, for writers whose only failures
/// are I/O errors (reported against `path`).
pub fn write_io<T>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&File) -> std::io::Result<T>,
) -> Result<T, Error> {
    write_file::<T, std::convert::Infallible>(path, mode, |file| Ok(write(file)?))?
        .map_err(|never| match never {})
}

/// Writes `bytes` to `path` with `mode`, atomically.
pub fn write_bytes(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), Error> {
    write_io(path, mode, |mut file| file.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_file_is_replaced_whole_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.efi");
        std::fs::write(&path, "old").unwrap();
        write_bytes(&path, 0o644, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failing_producer_leaves_the_old_file_and_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.vhd");
        std::fs::write(&path, "old").unwrap();
        let result = write_buffered(&path, 0o644, |out| {
            out.write_all(b"half")?;
            Err::<(), _>(WriteError::Producer("the producer failed"))
        })
        .unwrap();
        assert_eq!(result, Err("the producer failed"));
        let io = write_file::<(), ()>(&path, 0o644, |_| {
            Err(WriteError::Io(std::io::Error::other("disk full")))
        })
        .unwrap_err();
        assert!(io.to_string().contains("disk.vhd"), "{io}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
