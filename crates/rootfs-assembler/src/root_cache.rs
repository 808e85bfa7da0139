//! Cached roots: mkosi's `Incremental=`, with a key that names every input.
//!
//! A root that takes a minute to assemble (the build tree: a few hundred packages installed
//! by dpkg, then the prepare scripts) depends only on its inputs. [`RootCache`] keeps a copy
//! of such a root under a [`CacheKey`] hashed from all of them, and gives a later build with
//! the same key a private copy: build scripts may change the tree they run in, and the
//! cached copy must not see that. Where mkosi's incremental mode guesses when to rebuild, the
//! key here changes with each input the caller adds to it: the package files (deb-resolver's
//! cache names them by sha256), the resolved configuration, the contents of trees and
//! scripts (files that scripts read from elsewhere are not in it).
//!
//! Copies keep what dpkg and scripts set and a tree's users see: file type, contents, mode
//! (setuid/setgid/sticky too), owner, mtime, symlink targets, hardlinks and device nodes.
//! Extended attributes (file capabilities) are not copied; build trees run their tools as
//! root.
//!
//! An entry appears by one rename of a complete copy, so a failed store leaves no entry; the
//! newest [`KEEP`] entries (by last use) are kept, older ones removed. Several builds may
//! share a cache: a restore holds a shared `flock` on its entry and a store an exclusive one
//! on its partial copy; pruning takes an exclusive lock without waiting, skips what is in use,
//! and renames an entry away before deleting it. Housekeeping never fails a build.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use build_vocab::KeyHasher;
use build_vocab::walk::{sorted_names, walk};
use rustix::fs::{AtFlags, CWD, FlockOperation, Timespec, Timestamps};

use crate::error::Error;
use crate::unpack::{apply_metadata, make_node, set_mtime, special_file_type};
use build_vocab::{AtPath, PathError};

/// How many entries a cache directory keeps.
pub const KEEP: usize = 3;

/// The key of a cached root: a SHA-256 over tagged, length-prefixed inputs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key as 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gathers the inputs of a [`CacheKey`]. Each field is its tag, its length and its bytes,
/// so moving bytes from one field to the next changes the key.
#[derive(Debug, Clone, Default)]
pub struct KeyBuilder {
    hasher: KeyHasher,
}

impl KeyBuilder {
    /// Adds one field.
    pub fn field(&mut self, tag: &str, bytes: &[u8]) -> &mut Self {
        self.hasher.field(tag, bytes);
        self
    }

    /// Adds what is at `path`: a file's bytes, or a directory's entries (relative path,
    /// type, mode, symlink target, contents) in sorted order; `missing` when nothing is there.
    pub fn path_contents(&mut self, tag: &str, path: &Path) -> Result<&mut Self, Error> {
        self.field(tag, path.as_os_str().as_bytes());
        let Ok(meta) = fs::symlink_metadata(path) else {
            self.field("missing", b"");
            return Ok(self);
        };
        if meta.is_dir() {
            self.directory(path)?;
        } else {
            self.entry(path, &meta, b"")?;
        }
        Ok(self)
    }

    fn directory(&mut self, root: &Path) -> Result<(), Error> {
        for found in walk(root) {
            let found = found?;
            self.entry(
                &found.path,
                &found.metadata,
                found.relative.as_os_str().as_bytes(),
            )?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, meta: &fs::Metadata, name: &[u8]) -> Result<(), Error> {
        self.field("name", name);
        self.field("mode", &meta.mode().to_le_bytes());
        // Trees are copied with their mtimes, so a touched file is a changed input.
        self.field("mtime", &meta.mtime().to_le_bytes());
        self.field("mtime-ns", &meta.mtime_nsec().to_le_bytes());
        if meta.file_type().is_symlink() {
            let target = fs::read_link(path).at(path)?;
            self.field("symlink", target.as_os_str().as_bytes());
        } else if meta.is_file() {
            self.field("file", &fs::read(path).at(path)?);
        }
        Ok(())
    }

    /// The key.
    pub fn finish(self) -> CacheKey {
        CacheKey(self.hasher.finish().to_hex())
    }
}

/// A directory of cached roots, one subdirectory per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCache {
    dir: PathBuf,
}

impl RootCache {
    /// The cache in `dir` (created when something is stored).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Copies the root cached under `key` into `dest` (an existing, empty directory, whose
    /// mode, owner and mtime become the cached root's). False when there is none.
    pub fn restore(&self, key: &CacheKey, dest: &Path) -> Result<bool, Error> {
        let entry = self.dir.join(key.as_str());
        let Ok(handle) = fs::File::open(&entry) else {
            return Ok(false);
        };
        rustix::fs::flock(&handle, FlockOperation::LockShared)
            .map_err(|e| Error::from(PathError::new(&entry, e.into())))?;
        // Pruned between the open and the lock: the entry's name is gone.
        let root = entry.join("root");
        if !root.is_dir() {
            return Ok(false);
        }
        // Last use, for pruning: marked first, so it is the newest while it is copied.
        set_mtime(&entry, now())?;
        copy_root(&root, dest)?;
        Ok(true)
    }

    /// Stores a copy of `root` under `key`, then removes all but the newest [`KEEP`] entries.
    pub fn store(&self, key: &CacheKey, root: &Path) -> Result<(), Error> {
        fs::create_dir_all(&self.dir).at(&self.dir)?;
        let entry = self.dir.join(key.as_str());
        let partial = self
            .dir
            .join(format!(".{}.partial-{}", key.as_str(), std::process::id()));
        if fs::symlink_metadata(&partial).is_ok() {
            fs::remove_dir_all(&partial).at(&partial)?;
        }
        let partial_root = partial.join("root");
        fs::create_dir_all(&partial_root).at(&partial_root)?;
        let handle = fs::File::open(&partial).at(&partial)?;
        rustix::fs::flock(&handle, FlockOperation::LockExclusive)
            .map_err(|e| Error::from(PathError::new(&partial, e.into())))?;
        let copied = copy_root(root, &partial_root).and_then(|()| sync_tree(&partial));
        if let Err(error) = copied {
            let _ = fs::remove_dir_all(&partial);
            return Err(error);
        }
        match fs::rename(&partial, &entry) {
            Ok(()) => {}
            // Another build stored the same key first: its copy is as good as ours.
            Err(_) if entry.join("root").is_dir() => {
                let _ = fs::remove_dir_all(&partial);
            }
            Err(source) => {
                let _ = fs::remove_dir_all(&partial);
                return Err(PathError::new(entry, source).into());
            }
        }
        drop(handle);
        let _ = set_mtime(&entry, now());
        self.prune();
        Ok(())
    }

    /// Removes all but the [`KEEP`] most recently used entries, and partial copies nobody
    /// is writing. Best effort: what cannot be locked or removed now is left for next time.
    fn prune(&self) {
        let Ok(names) = sorted_names(&self.dir) else {
            return;
        };
        let mut entries = Vec::new();
        for name in names {
            let path = self.dir.join(&name);
            let text = name.to_string_lossy();
            if text.starts_with(".trash-") {
                let _ = fs::remove_dir_all(&path);
            } else if text.starts_with('.') {
                if text.contains(".partial-") {
                    remove_unlocked(&path, &self.dir);
                }
            } else if let Ok(meta) = fs::symlink_metadata(&path) {
                entries.push(((meta.mtime(), meta.mtime_nsec()), path));
            }
        }
        entries.sort();
        let excess = entries.len().saturating_sub(KEEP);
        for (_, path) in entries.into_iter().take(excess) {
            remove_unlocked(&path, &self.dir);
        }
    }
}

/// Removes `path` if no other build holds a lock on it: renamed to a `.trash-` name in
/// `dir` under an exclusive lock first, so a restore that comes later finds nothing.
fn remove_unlocked(path: &Path, dir: &Path) {
    let Ok(handle) = fs::File::open(path) else {
        return;
    };
    if rustix::fs::flock(&handle, FlockOperation::NonBlockingLockExclusive).is_err() {
        return;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let trash = dir.join(format!(".trash-{}-{name}", std::process::id()));
    if fs::rename(path, &trash).is_ok() {
        drop(handle);
        let _ = fs::remove_dir_all(&trash);
    }
}

/// Flushes the file system that holds `dir` to the disk (one `syncfs`, not a sync per
/// file), so that an entry renamed into place after a crash is complete.
fn sync_tree(dir: &Path) -> Result<(), Error> {
    let handle = fs::File::open(dir).at(dir)?;
    rustix::fs::syncfs(&handle).map_err(|e| Error::from(PathError::new(dir, e.into())))
}

/// Copies the tree `source` into the existing directory `dest`, keeping types, contents,
/// modes, owners, mtimes, symlinks, hardlinks and device nodes.
pub fn copy_root(source: &Path, dest: &Path) -> Result<(), Error> {
    let mut links = BTreeMap::new();
    copy_directory(source, dest, &mut links)?;
    let meta = fs::symlink_metadata(source).at(source)?;
    copy_metadata(dest, &meta)
}

fn copy_directory(
    source: &Path,
    dest: &Path,
    links: &mut BTreeMap<(u64, u64), PathBuf>,
) -> Result<(), Error> {
    // Directories get their metadata once everything is written into them.
    let mut directories = Vec::new();
    for found in walk(source) {
        let found = found?;
        let (from, meta) = (&found.path, &found.metadata);
        let to = dest.join(&found.relative);
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&to).at(&to)?;
            directories.push((to, found.metadata));
            continue;
        } else if kind.is_symlink() {
            let target = fs::read_link(from).at(from)?;
            symlink(&target, &to).at(&to)?;
        } else if kind.is_file() {
            if meta.nlink() > 1 {
                if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                    // The first name's copy carries the inode's metadata.
                    fs::hard_link(first, &to).at(&to)?;
                    continue;
                }
                links.insert((meta.dev(), meta.ino()), to.clone());
            }
            fs::copy(from, &to).at(from)?;
        } else if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
            let file_type = special_file_type(kind.is_char_device(), kind.is_block_device());
            make_node(&to, file_type, meta.mode() & 0o7777, meta.rdev())?;
        } else {
            let socket = std::io::Error::other("a socket cannot be copied into a cached root");
            return Err(PathError::new(from, socket).into());
        }
        copy_metadata(&to, meta)?;
    }
    for (to, meta) in directories {
        copy_metadata(&to, &meta)?;
    }
    Ok(())
}

/// Owner, mode and mtime (to the nanosecond) of `meta` onto `path` (a directory after its
/// contents, so that writing them does not move its mtime again).
fn copy_metadata(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    apply_metadata(
        path,
        meta.file_type().is_symlink(),
        meta.mode() & 0o7777,
        u64::from(meta.uid()),
        u64::from(meta.gid()),
        u64::try_from(meta.mtime()).unwrap_or(0),
        true,
    )?;
    if meta.mtime_nsec() == 0 {
        return Ok(()); // Whole seconds (as dpkg and tar leave them): already exact.
    }
    let time = Timespec {
        tv_sec: meta.mtime(),
        tv_nsec: meta.mtime_nsec(),
    };
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| Error::from(PathError::new(path, e.into())))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::FileType;
    use std::process::Command;

    /// Every entry of `root` as GNU find prints it: path, type, mode, owner, mtime, size,
    /// link count, symlink target, device numbers.
    fn find_listing(root: &Path) -> String {
        let out = Command::new("find")
            .arg(root)
            .args(["-printf", "%P %y %m %U:%G %T@ %s %n %l %D\\n"])
            .output()
            .expect("GNU find runs");
        assert!(out.status.success());
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            // %D (the device) differs between trees on different file systems; keep the rest.
            .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
            .collect();
        lines.sort();
        lines.join("\n")
    }

    /// A tree with every kind of entry a root has, odd modes and owners included.
    fn sample_tree(root: &Path) {
        let write = |path: &str, bytes: &[u8], mode: u32, owner: (u32, u32), mtime: u64| {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, bytes).unwrap();
            apply_metadata(
                &path,
                false,
                mode,
                owner.0.into(),
                owner.1.into(),
                mtime,
                true,
            )
            .unwrap();
        };
        write("usr/bin/tool", b"#!/bin/sh\n", 0o4755, (0, 0), 100);
        write("etc/shadow", b"root:*:1::::::\n", 0o640, (0, 42), 200);
        write("home/user/file", b"data", 0o600, (1000, 1000), 300);
        fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool-alias")).unwrap();
        symlink("tool", root.join("usr/bin/link")).unwrap();
        symlink("/nowhere", root.join("dangling")).unwrap();
        make_node(&root.join("fifo"), FileType::Fifo, 0o644, 0).unwrap();
        let null = rustix::fs::makedev(1, 3);
        make_node(&root.join("null"), FileType::CharacterDevice, 0o666, null).unwrap();
        fs::create_dir_all(root.join("tmp")).unwrap();
        apply_metadata(&root.join("tmp"), false, 0o1777, 0, 0, 400, true).unwrap();
        apply_metadata(&root.join("usr/bin/link"), true, 0o777, 0, 0, 500, true).unwrap();
        for dir in ["usr/bin", "usr", "etc", "home/user", "home"] {
            apply_metadata(&root.join(dir), false, 0o755, 0, 0, 600, true).unwrap();
        }
        apply_metadata(root, false, 0o755, 0, 0, 700, true).unwrap();
    }

    #[test]
    #[ignore = "needs root"]
    fn a_restored_root_equals_the_stored_one_for_gnu_find() {
        // Owners and device nodes need root (as the whole crate does).
        crate::require_root("this test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::create_dir(&source).unwrap();
        sample_tree(&source);
        let cache = RootCache::new(dir.path().join("cache"));
        let mut key = KeyBuilder::default();
        key.field("test", b"1");
        let key = key.finish();
        let dest = dir.path().join("dest");
        fs::create_dir(&dest).unwrap();
        assert!(!cache.restore(&key, &dest).unwrap(), "nothing stored yet");
        cache.store(&key, &source).unwrap();
        assert!(cache.restore(&key, &dest).unwrap());
        assert_eq!(find_listing(&source), find_listing(&dest));
        let inode = |p: &Path| fs::metadata(p).unwrap().ino();
        assert_eq!(
            inode(&dest.join("usr/bin/tool")),
            inode(&dest.join("usr/bin/tool-alias")),
            "hardlinks stay hardlinks"
        );
        // A private copy: changing it leaves the cache as it was.
        fs::write(dest.join("usr/bin/tool"), b"changed").unwrap();
        let again = dir.path().join("again");
        fs::create_dir(&again).unwrap();
        assert!(cache.restore(&key, &again).unwrap());
        assert_eq!(
            fs::read(again.join("usr/bin/tool")).unwrap(),
            b"#!/bin/sh\n"
        );
    }

    #[test]
    fn only_the_newest_entries_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::create_dir(&source).unwrap();
        fs::write(source.join("file"), b"x").unwrap();
        let cache = RootCache::new(dir.path().join("cache"));
        let keys: Vec<CacheKey> = (0..KEEP + 2)
            .map(|i| {
                let mut key = KeyBuilder::default();
                key.field("n", &i.to_le_bytes());
                let key = key.finish();
                cache.store(&key, &source).unwrap();
                // Distinct last-use times, oldest first.
                set_mtime(&cache.dir().join(key.as_str()), 1000 + i as u64).unwrap();
                key
            })
            .collect();
        let mut key = KeyBuilder::default();
        key.field("n", b"last");
        cache.store(&key.finish(), &source).unwrap();
        let left: Vec<String> = sorted_names(cache.dir())
            .unwrap()
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), KEEP, "{left:?}");
        for old in &keys[..keys.len() + 1 - KEEP] {
            assert!(!left.contains(&old.to_string()), "{old} should be pruned");
        }
    }

    #[test]
    fn an_entry_being_restored_is_not_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::create_dir(&source).unwrap();
        fs::write(source.join("file"), b"x").unwrap();
        let cache = RootCache::new(dir.path().join("cache"));
        let key = |n: usize| {
            let mut key = KeyBuilder::default();
            key.field("n", &n.to_le_bytes());
            key.finish()
        };
        cache.store(&key(0), &source).unwrap();
        let oldest = cache.dir().join(key(0).as_str());
        set_mtime(&oldest, 1).unwrap();
        // What a restore holds while it copies.
        let reader = fs::File::open(&oldest).unwrap();
        rustix::fs::flock(&reader, FlockOperation::LockShared).unwrap();
        for n in 1..=KEEP {
            cache.store(&key(n), &source).unwrap();
        }
        assert!(oldest.join("root/file").is_file(), "pruned while in use");
        drop(reader);
        // A child that another test thread forks holds a copy of every open descriptor (and
        // so its locks) until it execs: a prune may find the entry busy for that instant.
        for n in KEEP + 1..KEEP + 6 {
            cache.store(&key(n), &source).unwrap();
            if !oldest.exists() {
                break;
            }
        }
        assert!(!oldest.exists(), "pruned once released");
    }

    #[test]
    fn every_input_moves_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::write(tree.join("etc/a"), b"a").unwrap();
        let key = |tree: &Path, extra: &[u8]| {
            let mut key = KeyBuilder::default();
            key.field("extra", extra);
            key.path_contents("tree", tree).unwrap();
            key.finish()
        };
        let base = key(&tree, b"");
        assert_eq!(base, key(&tree, b""), "same inputs, same key");
        assert_ne!(base, key(&tree, b"x"));
        fs::write(tree.join("etc/a"), b"b").unwrap();
        let changed_content = key(&tree, b"");
        assert_ne!(base, changed_content);
        fs::set_permissions(
            tree.join("etc/a"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let changed_mode = key(&tree, b"");
        assert_ne!(changed_content, changed_mode, "a mode change moves the key");
        set_mtime(&tree.join("etc/a"), 12345).unwrap();
        assert_ne!(changed_mode, key(&tree, b""), "a touch moves the key");
        assert_ne!(key(&tree, b""), key(&dir.path().join("absent"), b""));
        let mut split = KeyBuilder::default();
        split.field("ab", b"c");
        let mut joined = KeyBuilder::default();
        joined.field("a", b"bc");
        assert_ne!(
            split.finish(),
            joined.finish(),
            "fields are length-prefixed"
        );
    }
}
