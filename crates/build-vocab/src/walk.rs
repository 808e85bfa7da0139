//! The one deterministic directory walk: every entry under a root, depth first, each
//! directory's children in byte order of their names, symlinks never followed.
//!
//! The order depends on nothing but the names (not on the file system's `readdir` order), so
//! whatever a walk produces (an archive, a digest, a copy) comes out the same on every
//! machine. A directory is yielded before its contents; a caller that must act on a directory
//! after its contents (setting its mtime after a copy) does so in a second pass.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};

use crate::error::{AtPath, PathError};

/// One entry found by [`walk`].
#[derive(Debug)]
pub struct WalkEntry {
    /// The entry on disk (the root joined with [`WalkEntry::relative`]).
    pub path: PathBuf,
    /// The path below the root (never empty: the root itself is not an entry).
    pub relative: PathBuf,
    /// Its metadata, of the link itself for a symlink.
    pub metadata: Metadata,
}

/// The children of directory `dir` by name, in byte order.
pub fn sorted_names(dir: &Path) -> Result<Vec<OsString>, PathError> {
    let mut names = fs::read_dir(dir)
        .at(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .at(dir)?;
    names.sort();
    Ok(names)
}

/// Walks everything below `root` (not `root` itself) in the order the module describes.
pub fn walk(root: &Path) -> Walk {
    Walk {
        root: root.to_owned(),
        pending: vec![Pending::Children(PathBuf::new())],
    }
}

/// The iterator [`walk`] returns. After an error it ends.
#[derive(Debug)]
pub struct Walk {
    root: PathBuf,
    /// Work still to do, the next item last.
    pending: Vec<Pending>,
}

#[derive(Debug)]
enum Pending {
    /// An entry to yield (a relative path).
    Entry(PathBuf),
    /// A directory whose children are still to be listed.
    Children(PathBuf),
}

impl Iterator for Walk {
    type Item = Result<WalkEntry, PathError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.pending.pop()? {
                Pending::Children(relative) => {
                    let dir = self.root.join(&relative);
                    match sorted_names(&dir) {
                        Ok(names) => self.pending.extend(
                            names
                                .into_iter()
                                .rev()
                                .map(|name| Pending::Entry(relative.join(name))),
                        ),
                        Err(error) => return Some(self.fail(error)),
                    }
                }
                Pending::Entry(relative) => {
                    let path = self.root.join(&relative);
                    let metadata = match fs::symlink_metadata(&path).at(&path) {
                        Ok(metadata) => metadata,
                        Err(error) => return Some(self.fail(error)),
                    };
                    if metadata.is_dir() {
                        self.pending.push(Pending::Children(relative.clone()));
                    }
                    return Some(Ok(WalkEntry {
                        path,
                        relative,
                        metadata,
                    }));
                }
            }
        }
    }
}

impl Walk {
    /// Does not descend into the directory just yielded (the caller removed or replaced it).
    pub fn skip_current_dir(&mut self) {
        if matches!(self.pending.last(), Some(Pending::Children(_))) {
            self.pending.pop();
        }
    }

    fn fail(&mut self, error: PathError) -> Result<WalkEntry, PathError> {
        self.pending.clear();
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn depth_first_in_byte_order_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["a", "a/b", "B", "c.d"] {
            fs::create_dir(root.join(d)).unwrap();
        }
        for f in ["a/b/z", "a/y", "a.txt", "c.d/x"] {
            fs::write(root.join(f), f).unwrap();
        }
        symlink("/", root.join("a/link")).unwrap();
        let seen: Vec<String> = walk(root)
            .map(|e| e.unwrap().relative.display().to_string())
            .collect();
        assert_eq!(
            seen,
            [
                "B", "a", "a/b", "a/b/z", "a/link", "a/y", "a.txt", "c.d", "c.d/x"
            ]
        );
        let link = walk(root)
            .map(Result::unwrap)
            .find(|e| e.relative == Path::new("a/link"))
            .unwrap();
        assert!(link.metadata.file_type().is_symlink());
        let mut entries = walk(root);
        let mut kept = Vec::new();
        while let Some(entry) = entries.next() {
            let entry = entry.unwrap();
            if entry.relative == Path::new("a") {
                fs::remove_dir_all(&entry.path).unwrap();
                entries.skip_current_dir();
            }
            kept.push(entry.relative.display().to_string());
        }
        assert_eq!(kept, ["B", "a", "a.txt", "c.d", "c.d/x"]);
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it() {
        let mut entries = walk(Path::new("/nonexistent/root"));
        let error = entries.next().unwrap().unwrap_err();
        assert_eq!(error.path, Path::new("/nonexistent/root"));
        assert!(entries.next().is_none());
    }
}
