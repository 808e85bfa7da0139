//! [`Cache`]: a content-addressed store shared between builds.
//!
//! Files live at `<root>/sha256/<first two hex digits>/<hex>`. Every read re-hashes the file:
//! a corrupted entry is removed and reported as absent, so it is fetched again. Writes go to
//! a temporary name in the same directory, are hashed while they stream, and are renamed into
//! place only when size and sha256 match; a failed or abandoned write leaves nothing behind.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use build_vocab::{AtPath, PathError};
use build_vocab::{Hasher, Sha256};

/// The name of this builder's directory under the user's cache directory.
pub const CACHE_DIR_NAME: &str = "flashbox-builder";

/// A content-addressed file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$XDG_CACHE_HOME/flashbox-builder/deb-resolver`, else
    /// `$HOME/.cache/flashbox-builder/deb-resolver`; `None` if neither variable is set.
    pub fn default_root() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            })?;
        Some(base.join(CACHE_DIR_NAME).join("deb-resolver"))
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where content with this hash is stored.
    pub fn path_of(&self, sha256: &Sha256) -> PathBuf {
        let hex = sha256.to_hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    /// The path of a verified entry, or `None` if absent. A corrupted entry (wrong size or
    /// hash) is deleted and reported as absent.
    pub fn get(&self, sha256: &Sha256, size: Option<u64>) -> Result<Option<PathBuf>, Error> {
        let path = self.path_of(sha256);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::from(PathError::new(&path, e))),
        };
        let mut hasher = Hasher::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buffer).at(&path)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        let good = size.is_none_or(|size| size == hasher.len()) && hasher.finish() == *sha256;
        if good {
            Ok(Some(path))
        } else {
            fs::remove_file(&path).at(&path)?;
            Ok(None)
        }
    }

    /// The verified bytes of an entry, or `None` (a corrupted entry is removed).
    pub fn read(&self, sha256: &Sha256, size: Option<u64>) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path_of(sha256);
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::from(PathError::new(&path, e))),
        };
        if size.is_none_or(|size| size == data.len() as u64) && Sha256::of(&data) == *sha256 {
            Ok(Some(data))
        } else {
            fs::remove_file(&path).at(&path)?;
            Ok(None)
        }
    }

    /// Stores bytes already known to have this hash (checked again here).
    pub fn insert(&self, sha256: &Sha256, data: &[u8], origin: &str) -> Result<PathBuf, Error> {
        let mut writer = self.writer(*sha256, Some(data.len() as u64), origin)?;
        writer.write_chunk(data)?;
        writer.finish()
    }

    /// Starts writing an entry: feed it with [`CacheWriter::write_chunk`], then
    /// [`CacheWriter::finish`]. `origin` (a URL) names the content in errors.
    pub fn writer(
        &self,
        expected: Sha256,
        size: Option<u64>,
        origin: &str,
    ) -> Result<CacheWriter, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let target = self.path_of(&expected);
        let dir = target.parent().expect("entries live in a directory");
        fs::create_dir_all(dir).at(dir)?;
        let temp = dir.join(format!(
            ".tmp-{}-{}-{}",
            expected.to_hex(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&temp).at(&temp)?;
        Ok(CacheWriter {
            file: Some(file),
            temp,
            target,
            expected,
            size,
            hasher: Hasher::new(),
            origin: origin.to_owned(),
        })
    }
}

/// An entry being written; dropped without [`CacheWriter::finish`], it removes its temporary
/// file.
#[derive(Debug)]
pub struct CacheWriter {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
    expected: Sha256,
    size: Option<u64>,
    hasher: Hasher,
    origin: String,
}

impl CacheWriter {
    /// Appends bytes. Fails as soon as more bytes than expected arrive.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), Error> {
        self.hasher.update(data);
        if let Some(size) = self.size {
            if self.hasher.len() > size {
                return Err(Error::SizeMismatch {
                    url: self.origin.clone(),
                    expected: size,
                    actual: self.hasher.len(),
                });
            }
        }
        let file = self.file.as_mut().expect("not finished");
        Ok(file.write_all(data).at(&self.temp)?)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.hasher.len()
    }

    /// Checks size and hash, then renames the entry into place.
    pub fn finish(mut self) -> Result<PathBuf, Error> {
        let file = self.file.take().expect("not finished");
        file.sync_all().at(&self.temp)?;
        drop(file);
        let actual_size = self.hasher.len();
        if let Some(size) = self.size {
            if actual_size != size {
                return Err(Error::SizeMismatch {
                    url: self.origin.clone(),
                    expected: size,
                    actual: actual_size,
                });
            }
        }
        let actual = std::mem::take(&mut self.hasher).finish();
        if actual != self.expected {
            return Err(Error::HashMismatch {
                url: self.origin.clone(),
                expected: self.expected.to_hex(),
                actual: actual.to_hex(),
            });
        }
        fs::rename(&self.temp, &self.target).at(&self.target)?;
        Ok(self.target.clone())
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        // Still here: not renamed into place (failed or abandoned). Best effort cleanup.
        if self.temp.exists() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_writes_and_corruption_detection() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let data = b"hello deb";
        let sha = Sha256::of(data);
        assert_eq!(cache.get(&sha, None).unwrap(), None);
        let path = cache.insert(&sha, data, "test").unwrap();
        assert_eq!(cache.get(&sha, Some(9)).unwrap(), Some(path.clone()));
        assert_eq!(cache.read(&sha, None).unwrap().unwrap(), data);

        // Corrupt it: detected, removed, reported absent.
        fs::write(&path, b"hello dev").unwrap();
        assert_eq!(cache.get(&sha, None).unwrap(), None);
        assert!(!path.exists());

        // A wrong hash or size is refused and leaves no file behind.
        let err = cache.insert(&Sha256::of(b"other"), data, "u").unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        let mut writer = cache.writer(sha, Some(9), "u").unwrap();
        writer.write_chunk(b"hello").unwrap();
        let err = writer.finish().unwrap_err();
        assert!(
            matches!(
                err,
                Error::SizeMismatch {
                    expected: 9,
                    actual: 5,
                    ..
                }
            ),
            "{err}"
        );
        let leftovers: Vec<_> = walk(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        build_vocab::walk::walk(dir)
            .map(Result::unwrap)
            .filter(|found| !found.metadata.is_dir())
            .map(|found| found.path)
            .collect()
    }
}
