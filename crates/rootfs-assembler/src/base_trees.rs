//! `BaseTrees=` and `Overlay=`: a root that starts from finished trees, and an output that
//! holds only what was added on top of them.
//!
//! mkosi copies each base tree into the root before anything else (`Overlay=no`), or mounts
//! the bases as the lower layers of an overlayfs whose upper directory is the root
//! (`Overlay=yes`) and, once the image is complete, removes from the upper directory every
//! path that the bases already have: a file, link or node the build added or changed where a
//! base has one is dropped, a directory both have takes the base's metadata. Here the bases
//! are always copied in (no mount is needed, so builds without root work the same way), and
//! [`subtract_bases`] removes what they hold at the end: the same result, except that a
//! directory the bases have and the build left empty is removed too, where mkosi keeps the
//! directories the build touched.
//!
//! A base is a directory (an earlier image's `Format=directory` output, `%O/<image>`); tar
//! archives and disk images as bases are refused for now.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use build_vocab::AtPath;
use build_vocab::walk::walk;

use build_vocab::PackageId;

use crate::error::Error;
use crate::install::installed_in;
use crate::root_cache::copy_root;
use crate::unpack::apply_metadata;

/// Copies every base tree, in order, into `root` (an empty directory), keeping owners,
/// modes, mtimes, links and device nodes.
pub fn copy_bases(bases: &[PathBuf], root: &Path) -> Result<(), Error> {
    for base in bases {
        check_base(base)?;
        copy_root(base, root)?;
    }
    Ok(())
}

/// The packages the base trees' dpkg databases list as installed, in the order of the bases
/// (what the image's packages go on top of). A base without a dpkg database is an error.
pub fn installed_in_bases(bases: &[PathBuf]) -> Result<Vec<PackageId>, Error> {
    let mut installed = Vec::new();
    for base in bases {
        check_base(base)?;
        let packages = installed_in(base)?;
        if packages.is_empty() {
            return Err(Error::Config {
                setting: "BaseTrees",
                reason: format!(
                    "{} has no dpkg database to install on top of (build the base with \
                     CleanPackageMetadata=no)",
                    base.display()
                ),
            });
        }
        installed.extend(packages.into_iter().map(|p| p.id));
    }
    Ok(installed)
}

fn check_base(base: &Path) -> Result<(), Error> {
    if base.is_dir() {
        return Ok(());
    }
    let reason = if base.exists() {
        format!(
            "{} is not a directory: only directory trees can be bases (tar archives and disk \
             images are not supported yet)",
            base.display()
        )
    } else {
        format!(
            "{} does not exist: build the image that writes it first (a subimage named in \
             Dependencies=)",
            base.display()
        )
    };
    Err(Error::Config {
        setting: "BaseTrees",
        reason,
    })
}

/// What [`subtract_bases`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subtracted {
    /// Files, links and nodes the bases already have (relative paths).
    pub files: usize,
    /// Directories the bases have that hold nothing new.
    pub directories: usize,
}

/// Removes from `root` every path the `bases` hold, leaving what the build added: mkosi's
/// `Overlay=yes`. A path that is a directory in the root but not in a base is an error, as
/// in mkosi.
pub fn subtract_bases(root: &Path, bases: &[PathBuf]) -> Result<Subtracted, Error> {
    let mut entries = Vec::new();
    for entry in walk(root) {
        entries.push(entry?);
    }
    let mut subtracted = Subtracted::default();
    // Contents before their directory, so a directory left empty can go too.
    for entry in entries.iter().rev() {
        let in_base = bases.iter().find_map(|base| {
            let path = base.join(&entry.relative);
            fs::symlink_metadata(&path).ok().map(|meta| (path, meta))
        });
        let Some((base_path, base_meta)) = in_base else {
            continue;
        };
        let path = &entry.path;
        if !entry.metadata.is_dir() {
            fs::remove_file(path).at(path)?;
            subtracted.files += 1;
            continue;
        }
        if !base_meta.is_dir() {
            return Err(Error::Config {
                setting: "Overlay",
                reason: format!(
                    "/{} is a directory in the image but not in the base tree {}",
                    entry.relative.display(),
                    base_path.display()
                ),
            });
        }
        if fs::read_dir(path).at(path)?.next().is_none() {
            fs::remove_dir(path).at(path)?;
            subtracted.directories += 1;
        } else {
            apply_metadata(
                path,
                false,
                base_meta.mode() & 0o7777,
                u64::from(base_meta.uid()),
                u64::from(base_meta.gid()),
                u64::try_from(base_meta.mtime()).unwrap_or(0),
                true,
            )?;
        }
    }
    Ok(subtracted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn the_overlay_keeps_only_what_the_build_added() {
        let dir = tempfile::tempdir().unwrap();
        let (base, root) = (dir.path().join("base"), dir.path().join("root"));
        write(&base.join("usr/bin/systemctl"), "base");
        write(&base.join("usr/lib/os-release"), "ID=debian\n");
        write(&base.join("var/lib/dpkg/status"), "base");
        fs::create_dir_all(base.join("usr/share/empty")).unwrap();
        fs::create_dir(&root).unwrap();
        copy_bases(std::slice::from_ref(&base), &root).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("usr/bin/systemctl")).unwrap(),
            "base"
        );

        // The build adds a program, changes a base file, and appends to dpkg's status.
        write(&root.join("usr/bin/btrfs"), "new");
        write(&root.join("usr/lib/os-release"), "changed");
        write(&root.join("var/lib/dpkg/status"), "base+new");
        write(
            &root.join("var/lib/dpkg/info/btrfs-progs.list"),
            "/usr/bin/btrfs\n",
        );
        let subtracted = subtract_bases(&root, std::slice::from_ref(&base)).unwrap();

        let mut left: Vec<String> = walk(&root)
            .map(|e| e.unwrap().relative.display().to_string())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "usr",
                "usr/bin",
                "usr/bin/btrfs",
                "var",
                "var/lib",
                "var/lib/dpkg",
                "var/lib/dpkg/info",
                "var/lib/dpkg/info/btrfs-progs.list",
            ]
        );
        assert_eq!(subtracted.files, 3);
        // usr/lib and usr/share/empty held nothing new.
        assert_eq!(subtracted.directories, 3);
    }

    #[test]
    fn a_directory_over_a_base_file_and_a_missing_base_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (base, root) = (dir.path().join("base"), dir.path().join("root"));
        write(&base.join("etc/thing"), "a file");
        write(&root.join("etc/thing/inside"), "x");
        let err = subtract_bases(&root, std::slice::from_ref(&base))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/etc/thing is a directory in the image"),
            "{err}"
        );

        let missing = dir.path().join("not-built");
        let err = copy_bases(&[missing], &root).unwrap_err().to_string();
        assert!(
            err.contains("BaseTrees") && err.contains("does not exist"),
            "{err}"
        );
    }
}
