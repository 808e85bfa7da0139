//! Skeleton and extra trees (`SkeletonTrees=`, `ExtraTrees=`): copied into the image.
//!
//! A directory tree is copied with its files' modes and mtimes (mtimes are clamped later),
//! owned by root, as mkosi does; directories already in the image take the tree's mode, as
//! `cp -a` does. A tar-archive tree (`.tar`, `.tar.gz`, `.tar.xz`, `.tar.zst`) keeps the
//! archive's owners. Either way, nothing is written through a symlink already in the image:
//! the same checks as for packages ([`crate::unpack`]).

use std::fs::{self, File};
use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use config_model::Tree;

use crate::error::Error;
use crate::unpack::{
    ExtractOptions, MemberPath, Ownership, apply_metadata, extract_tar, prepare_parents, remove,
};
use build_vocab::AtPath;
use build_vocab::debian::deb::Compression;
use build_vocab::walk::walk;

/// Copies each tree into `root`, in order.
pub fn copy_trees(trees: &[Tree], root: &Path) -> Result<(), Error> {
    for tree in trees {
        copy_tree(tree, root)?;
    }
    Ok(())
}

/// Copies one tree (directory or tar archive) into `root` at its target.
pub fn copy_tree(tree: &Tree, root: &Path) -> Result<(), Error> {
    let tree_error = |reason: String| Error::Tree {
        source_path: tree.source.clone(),
        reason,
    };
    let target = match &tree.target {
        Some(target) => {
            let text = target.to_string_lossy();
            MemberPath::parse(text.trim_start_matches('/').as_bytes())
                .map_err(|r| tree_error(format!("target {text}: {r}")))?
        }
        None => MemberPath::parse(b"").expect("the root is a valid member path"),
    };
    let meta = fs::metadata(&tree.source).at(&tree.source)?;
    let label = tree.source.display().to_string();
    if meta.is_dir() {
        let base = target.under(root);
        if !target.is_root() {
            prepare_parents(root, &target).map_err(|r| Error::unsafe_entry(&label, "/", r))?;
            if !base.is_dir() {
                fs::create_dir(&base).at(&base)?;
            }
        }
        copy_dir(&tree.source, root, &target, &label)
    } else {
        let name = tree.source.to_string_lossy();
        let compression = name
            .rsplit_once(".tar")
            .and_then(|(_, suffix)| Compression::from_suffix(suffix))
            .ok_or_else(|| {
                tree_error("neither a directory nor a .tar, .tar.gz, .tar.xz or .tar.zst".into())
            })?;
        let file = File::open(&tree.source).at(&tree.source)?;
        let reader = compression
            .decoder(BufReader::new(file))
            .map_err(|e| tree_error(e.to_string()))?;
        let base = target.under(root);
        if !target.is_root() {
            prepare_parents(root, &target).map_err(|r| Error::unsafe_entry(&label, "/", r))?;
            if !base.is_dir() {
                fs::create_dir(&base).at(&base)?;
            }
        }
        extract_tar(
            reader,
            &base,
            &ExtractOptions {
                label: &label,
                ownership: Ownership::Archive,
                filter: None,
            },
        )?;
        Ok(())
    }
}

/// Copies the contents of directory `source` to `target` under `root`, recursively, in name
/// order ([`build_vocab::walk`]); directories get their mode and mtime once their contents
/// are written.
fn copy_dir(source: &Path, root: &Path, target: &MemberPath, label: &str) -> Result<(), Error> {
    let mut directories = Vec::new();
    for found in walk(source) {
        let found = found?;
        let path = found.path;
        let mut member = target.clone();
        for name in found.relative.iter() {
            member = member.join(name.as_bytes()).map_err(|r| {
                Error::unsafe_entry(
                    label,
                    &format!("{}/{}", member.absolute(), name.to_string_lossy()),
                    r,
                )
            })?;
        }
        let shown = member.absolute();
        let dest =
            prepare_parents(root, &member).map_err(|r| Error::unsafe_entry(label, &shown, r))?;
        let meta = fs::symlink_metadata(&path).at(&path)?;
        let existing = fs::symlink_metadata(&dest).ok();
        let mode = meta.mode() & 0o7777;
        let mtime = u64::try_from(meta.mtime()).unwrap_or(0);
        if meta.is_dir() {
            match &existing {
                Some(e) if e.is_dir() => {}
                Some(e) if e.file_type().is_symlink() => {
                    return Err(Error::unsafe_entry(
                        label,
                        &shown,
                        "a directory where the image has a symlink (its contents would be \
                         written through the symlink)",
                    ));
                }
                Some(_) => {
                    remove(&dest)?;
                    fs::create_dir(&dest).at(&dest)?;
                }
                None => fs::create_dir(&dest).at(&dest)?,
            }
            directories.push((dest, mode, mtime));
            continue;
        }
        if existing.as_ref().is_some_and(|e| e.is_dir()) {
            return Err(Error::unsafe_entry(
                label,
                &shown,
                "would replace a directory of the image",
            ));
        }
        if existing.is_some() {
            remove(&dest)?;
        }
        if meta.file_type().is_symlink() {
            let link = fs::read_link(&path).at(&path)?;
            symlink(&link, &dest).at(&dest)?;
            apply_metadata(&dest, true, 0o777, 0, 0, mtime, true)?;
        } else if meta.is_file() {
            fs::copy(&path, &dest).at(&dest)?;
            apply_metadata(&dest, false, mode, 0, 0, mtime, true)?;
        } else {
            return Err(Error::unsafe_entry(
                label,
                &shown,
                "not a regular file, directory or symlink",
            ));
        }
    }
    for (dest, mode, mtime) in directories.into_iter().rev() {
        apply_metadata(&dest, false, mode, 0, 0, mtime, true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn directory_tree_keeps_modes_and_refuses_symlinked_parents() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        let root = dir.path().join("root");
        fs::create_dir_all(tree.join("usr/bin")).unwrap();
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        fs::write(tree.join("usr/bin/tool"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(tree.join("usr/bin/tool"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::set_permissions(tree.join("usr/bin"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(tree.join("usr"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("tool", tree.join("usr/bin/alias")).unwrap();
        copy_tree(
            &Tree {
                source: tree.clone(),
                target: None,
            },
            &root,
        )
        .unwrap();
        let meta = fs::metadata(root.join("usr/bin/tool")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o750);
        assert_eq!(
            fs::read_link(root.join("usr/bin/alias")).unwrap(),
            Path::new("tool")
        );

        // A tree that would write through `/bin -> usr/bin` is refused.
        symlink("usr/bin", root.join("bin")).unwrap();
        let evil = dir.path().join("evil");
        fs::create_dir_all(evil.join("bin")).unwrap();
        fs::write(evil.join("bin/x"), "x").unwrap();
        let err = copy_tree(
            &Tree {
                source: evil,
                target: None,
            },
            &root,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/bin"), "{err}");
        assert!(!root.join("usr/bin/x").exists());
    }

    #[test]
    fn tree_with_target_and_tar_trees() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir(&root).unwrap();
        let tar = dir.path().join("extra.tar.gz");
        let bytes = build_vocab::debian::testdeb::tarball(
            &[
                build_vocab::debian::testdeb::TestEntry::Dir("./srv/", 0o750),
                build_vocab::debian::testdeb::TestEntry::File("./srv/data", b"data", 0o640),
            ],
            Some((1000, 1000)),
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        fs::write(&tar, gz.finish().unwrap()).unwrap();
        copy_tree(
            &Tree {
                source: tar,
                target: Some("/opt/app".into()),
            },
            &root,
        )
        .unwrap();
        let meta = fs::metadata(root.join("opt/app/srv/data")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640);
        if rustix::process::geteuid().is_root() {
            assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
        }
        let err = copy_tree(
            &Tree {
                source: dir.path().join("missing"),
                target: Some("/../x".into()),
            },
            &root,
        )
        .unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
    }
}
