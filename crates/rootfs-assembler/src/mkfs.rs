//! File-system images of a finished tree, made by the host's `mkfs` tool in the tools
//! sandbox, where mkosi's `systemd-repart` runs it: the tree and the output directory are
//! the only paths bound besides the host's `/usr` and `/etc` (read-only), and there is no
//! network.
//!
//! Only EROFS for now (mkosi's file system for system extensions). No Rust crate writes
//! EROFS, and `mkfs.erofs` is what systemd-repart itself calls. Its output depends only on the
//! tree, the options and the two values given here: every inode's time is the
//! SOURCE_DATE_EPOCH (`-T`) and the file system UUID is the caller's (`-U`); directory entries
//! and inodes are laid out in name order, so creation order and `readdir` order do not reach
//! the bytes (the tests build one tree twice, created in different orders, and compare).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use build_vocab::AtPath;

use crate::error::Error;
use crate::sandbox::{Bind, CommandRunner, Place, Sandbox, SandboxCommand};
use crate::unpack::apply_metadata;

/// Where the tree appears in the sandbox.
const TREE: &str = "/work/tree";
/// Where the output's directory appears in the sandbox.
const OUT: &str = "/work/out";

/// The directories of a root that a system extension holds (mkosi's sysext definition copies
/// these two).
pub const EXTENSION_DIRECTORIES: [&str; 2] = ["opt", "usr"];

/// Moves the [`EXTENSION_DIRECTORIES`] of `root` that exist into `tree`, a new directory
/// (root-owned, mode 0755, mtime `source_date_epoch`): the root of a system extension's file
/// system. A root without `usr/` is an error: systemd-sysext reads the extension's release
/// file from there.
pub fn extension_tree(root: &Path, tree: &Path, source_date_epoch: u64) -> Result<(), Error> {
    if !root.join("usr").is_dir() {
        return Err(Error::Config {
            setting: "Format",
            reason: format!(
                "a system extension needs /usr, and {} has none",
                root.display()
            ),
        });
    }
    if fs::symlink_metadata(tree).is_ok() {
        fs::remove_dir_all(tree).at(tree)?;
    }
    fs::create_dir_all(tree).at(tree)?;
    for name in EXTENSION_DIRECTORIES {
        let from = root.join(name);
        if fs::symlink_metadata(&from).is_ok_and(|m| m.is_dir()) {
            let to = tree.join(name);
            fs::rename(&from, &to).at(&from)?;
        }
    }
    apply_metadata(tree, false, 0o755, 0, 0, source_date_epoch, true)
}

/// One EROFS image to make.
#[derive(Debug, Clone)]
pub struct Erofs<'a> {
    /// The tree that becomes the file system's root.
    pub tree: &'a Path,
    /// The image file to write (its directory must exist).
    pub output: &'a Path,
    /// A scratch directory for the sandbox's view and the log (`logs/mkfs.log`).
    pub work: &'a Path,
    /// Every inode's timestamp.
    pub source_date_epoch: u64,
    /// The file system UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    pub uuid: &'a str,
}

/// Makes the EROFS image `erofs` describes, through `runner`.
pub fn make_erofs(erofs: &Erofs<'_>, runner: &dyn CommandRunner) -> Result<(), Error> {
    runner.preflight("making a file system image")?;
    let (Some(dir), Some(file)) = (erofs.output.parent(), erofs.output.file_name()) else {
        return Err(Error::Config {
            setting: "Output",
            reason: format!("{} names no file", erofs.output.display()),
        });
    };
    let logs = erofs.work.join("logs");
    fs::create_dir_all(&logs).at(&logs)?;
    let sandbox = Sandbox {
        root: erofs.work.to_path_buf(),
        view: erofs.work.join("view"),
        network: false,
        binds: vec![
            Bind {
                source: erofs.tree.to_path_buf(),
                target: TREE.into(),
                writable: false,
            },
            Bind {
                source: dir.to_path_buf(),
                target: OUT.into(),
                writable: true,
            },
        ],
    };
    let mut command = SandboxCommand::new(
        "/usr/bin/mkfs.erofs",
        [
            "--quiet".to_owned(),
            format!("-T{}", erofs.source_date_epoch),
            format!("-U{}", erofs.uuid),
            format!("{OUT}/{}", file.to_string_lossy()),
            TREE.to_owned(),
        ],
        Place::Tools { cwd: OUT.into() },
    );
    command.env = BTreeMap::from([
        ("PATH".to_owned(), "/usr/sbin:/usr/bin".to_owned()),
        ("LC_ALL".to_owned(), "C.UTF-8".to_owned()),
        (
            "SOURCE_DATE_EPOCH".to_owned(),
            erofs.source_date_epoch.to_string(),
        ),
    ]);
    command.log = Some(logs.join("mkfs.log"));
    runner.run(&sandbox, &command)
}
