//! What goes into a formatted partition: a tree of directories and files built from the
//! definition's `CopyFiles=` entries.
//!
//! A [`FileTree`] is plain data in memory, ordered (parents before children, siblings by
//! name), with FAT's rules checked as entries are added: every name a valid 8.3 short name
//! (long names are not written, see [`crate::fat`]) and FAT's case-insensitive uniqueness. [`stage_contents`] is the I/O edge: it resolves each
//! `CopyFiles=` source against a [`CopySource`] (files staged in memory, such as the UKI as
//! `/uki.efi`, and behind them an optional directory on disk) and reads what it names.
//! Directory listings are sorted, so the order in which files were created never matters.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::definition::PartitionDefinition;
use crate::error::{Error, Result};
use build_vocab::AtPath;
use build_vocab::walk::walk;

/// One entry of a [`FileTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file and its bytes.
    File(Arc<[u8]>),
}

/// The content of one file system: entries by path (components from the root), parents first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTree {
    /// Every entry; a file's parent directories are entries too.
    pub entries: BTreeMap<Vec<String>, Node>,
}

/// Where `CopyFiles=` sources are found.
#[derive(Debug, Clone, Default)]
pub struct CopySource {
    /// Files staged in memory by absolute source path, e.g. `/uki.efi`. They take precedence
    /// over files under `root`.
    pub staged: BTreeMap<String, Arc<[u8]>>,
    /// The directory other sources are resolved under (systemd-repart's `--copy-source=`).
    pub root: Option<PathBuf>,
}

/// Characters allowed in FAT short (8.3) names besides letters and digits.
const SHORT_NAME_SPECIALS: &str = "!#$%&'()-@^_`{}~";

/// Why a name cannot be a FAT 8.3 name, if it cannot. Lower-case letters are accepted; FAT
/// stores them upper-case and compares names without regard to case.
fn fat_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty path component");
    }
    if name == "." || name == ".." {
        return Some("`.` and `..` are not allowed");
    }
    let allowed = |part: &str| {
        part.chars()
            .all(|c| c.is_ascii_alphanumeric() || SHORT_NAME_SPECIALS.contains(c))
    };
    let (base, extension) = name.split_once('.').unwrap_or((name, ""));
    if base.is_empty()
        || base.len() > 8
        || extension.len() > 3
        || (name.contains('.') && extension.is_empty())
        || !allowed(base)
        || !allowed(extension)
    {
        return Some(
            "FAT names here are 8.3 names: up to 8 characters, optionally a dot and up to 3 more, \
             from letters, digits and !#$%&'()-@^_`{}~ (long names are not written)",
        );
    }
    None
}

/// Splits an absolute path into components, refusing empty, `.` and `..` components.
fn components(path: &str) -> std::result::Result<Vec<String>, &'static str> {
    let rest = path.strip_prefix('/').ok_or("not an absolute path")?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.trim_end_matches('/')
        .split('/')
        .map(|c| match c {
            "" => Err("empty path component"),
            "." | ".." => Err("`.` and `..` are not allowed"),
            c => Ok(c.to_owned()),
        })
        .collect()
}

impl FileTree {
    /// Adds a directory (and its parents). `definition` is named in errors.
    pub fn add_dir(&mut self, path: &[String], definition: &Path) -> Result<()> {
        for depth in 1..=path.len() {
            let prefix = &path[..depth];
            match self.find_case_insensitive(prefix) {
                Some((_, Node::Dir)) => {}
                Some((existing, Node::File(_))) => {
                    return Err(Error::TargetCollision {
                        definition: definition.to_owned(),
                        target: display(prefix),
                        other: display(existing),
                    });
                }
                None => {
                    if let Some(reason) = fat_name_problem(&prefix[depth - 1]) {
                        return Err(Error::InvalidCopyPath {
                            definition: definition.to_owned(),
                            path: display(path),
                            reason,
                        });
                    }
                    self.entries.insert(prefix.to_vec(), Node::Dir);
                }
            }
        }
        Ok(())
    }

    /// Adds a file (and its parent directories). `definition` is named in errors.
    pub fn add_file(&mut self, path: &[String], data: Arc<[u8]>, definition: &Path) -> Result<()> {
        let Some((name, parent)) = path.split_last() else {
            return Err(Error::InvalidCopyPath {
                definition: definition.to_owned(),
                path: "/".to_owned(),
                reason: "a file cannot be copied to the root directory itself",
            });
        };
        self.add_dir(parent, definition)?;
        if let Some((existing, _)) = self.find_case_insensitive(path) {
            return Err(Error::TargetCollision {
                definition: definition.to_owned(),
                target: display(path),
                other: display(existing),
            });
        }
        if let Some(reason) = fat_name_problem(name) {
            return Err(Error::InvalidCopyPath {
                definition: definition.to_owned(),
                path: display(path),
                reason,
            });
        }
        self.entries.insert(path.to_vec(), Node::File(data));
        Ok(())
    }

    /// The entry FAT would consider the same as `path` (names compare case-insensitively).
    pub fn find_case_insensitive(&self, path: &[String]) -> Option<(&[String], &Node)> {
        let key: Vec<String> = path.iter().map(|c| c.to_uppercase()).collect();
        self.entries
            .iter()
            .find(|(candidate, _)| {
                candidate.len() == key.len()
                    && candidate
                        .iter()
                        .zip(&key)
                        .all(|(a, b)| a.to_uppercase() == *b)
            })
            .map(|(candidate, node)| (candidate.as_slice(), node))
    }

    /// Whether the tree holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `/a/b` for `["a", "b"]`.
pub(crate) fn display(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

/// Builds the content of every definition from its `CopyFiles=` entries, in definition order.
/// Definitions without `CopyFiles=` get an empty tree.
pub fn stage_contents(
    definitions: &[PartitionDefinition],
    source: &CopySource,
) -> Result<Vec<FileTree>> {
    definitions
        .iter()
        .map(|definition| stage_one(definition, source))
        .collect()
}

fn stage_one(definition: &PartitionDefinition, source: &CopySource) -> Result<FileTree> {
    let mut tree = FileTree::default();
    let def_path = definition.path.as_path();
    for copy in &definition.copy_files {
        let bad = |path: &str, reason| Error::InvalidCopyPath {
            definition: def_path.to_owned(),
            path: path.to_owned(),
            reason,
        };
        let source_parts = components(&copy.source).map_err(|r| bad(&copy.source, r))?;
        let target = components(&copy.target).map_err(|r| bad(&copy.target, r))?;
        let normalized = display(&source_parts);
        if let Some(data) = source.staged.get(&normalized) {
            tree.add_file(&target, Arc::clone(data), def_path)?;
            continue;
        }
        let on_disk = source
            .root
            .as_ref()
            .map(|root| root.join(source_parts.join("/")))
            .filter(|path| path.symlink_metadata().is_ok())
            .ok_or_else(|| Error::CopySourceMissing {
                definition: def_path.to_owned(),
                source_path: copy.source.clone(),
            })?;
        copy_from_disk(&on_disk, &target, &mut tree, def_path)?;
    }
    Ok(tree)
}

/// Copies a file, or a directory's content recursively, from disk to `target` in `tree`.
fn copy_from_disk(
    path: &Path,
    target: &[String],
    tree: &mut FileTree,
    definition: &Path,
) -> Result<()> {
    let meta = path.symlink_metadata().at(path)?;
    copy_entry(path, &meta, target.to_vec(), tree, definition)?;
    if !meta.is_dir() {
        return Ok(());
    }
    for found in walk(path) {
        let found = found?;
        let mut child = target.to_vec();
        for name in found.relative.iter() {
            let name = name.to_str().ok_or_else(|| Error::CopySourceKind {
                definition: definition.to_owned(),
                path: found.path.clone(),
                reason: "its name is not UTF-8",
            })?;
            child.push(name.to_owned());
        }
        copy_entry(&found.path, &found.metadata, child, tree, definition)?;
    }
    Ok(())
}

/// Adds one file or directory (without its contents) at `target` in `tree`.
fn copy_entry(
    path: &Path,
    meta: &fs::Metadata,
    target: Vec<String>,
    tree: &mut FileTree,
    definition: &Path,
) -> Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        let data = fs::read(path).at(path)?;
        return tree.add_file(&target, data.into(), definition);
    }
    if !kind.is_dir() {
        return Err(Error::CopySourceKind {
            definition: definition.to_owned(),
            path: path.to_owned(),
            reason: if kind.is_symlink() {
                "a symlink"
            } else {
                "not a regular file or directory"
            },
        });
    }
    tree.add_dir(&target, definition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Vec<String> {
        components(path).unwrap()
    }

    #[test]
    fn files_bring_their_parents_and_order_parents_first() {
        let mut tree = FileTree::default();
        let def = Path::new("d.conf");
        tree.add_file(&p("/EFI/BOOT/BOOTX64.EFI"), Arc::from(&b"x"[..]), def)
            .unwrap();
        tree.add_file(&p("/EFI-x/a"), Arc::from(&b"y"[..]), def)
            .unwrap();
        tree.add_file(&p("/loader/x_1~.c"), Arc::from(&b"y"[..]), def)
            .unwrap();
        let order: Vec<String> = tree.entries.keys().map(|k| display(k)).collect();
        assert_eq!(
            order,
            [
                "/EFI",
                "/EFI/BOOT",
                "/EFI/BOOT/BOOTX64.EFI",
                "/EFI-x",
                "/EFI-x/a",
                "/loader",
                "/loader/x_1~.c"
            ]
        );
    }

    #[test]
    fn fat_rules_are_enforced() {
        let def = Path::new("d.conf");
        let mut tree = FileTree::default();
        tree.add_file(&p("/efi/boot/a.efi"), Arc::from(&b""[..]), def)
            .unwrap();
        let collision = tree
            .add_file(&p("/EFI/BOOT/A.EFI"), Arc::from(&b""[..]), def)
            .unwrap_err();
        assert!(
            matches!(collision, Error::TargetCollision { .. }),
            "{collision}"
        );
        let file_as_dir = tree
            .add_file(&p("/efi/boot/a.efi/x"), Arc::from(&b""[..]), def)
            .unwrap_err();
        assert!(
            matches!(file_as_dir, Error::TargetCollision { .. }),
            "{file_as_dir}"
        );
        for bad in [
            "/a:b",
            "/a?",
            "/trailing.",
            "/x\u{1}",
            "/toolongname.efi",
            "/a.conf",
            "/a.b.c",
            "/.hidden",
            "/sp ace",
            "/ü",
        ] {
            let err = tree
                .add_file(&p(bad), Arc::from(&b""[..]), def)
                .unwrap_err();
            assert!(matches!(err, Error::InvalidCopyPath { .. }), "{bad}: {err}");
        }
        assert!(components("/a/../b").is_err());
        assert!(components("relative").is_err());
    }
}
