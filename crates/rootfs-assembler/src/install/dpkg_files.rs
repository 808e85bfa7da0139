//! The target dpkg's own files that the installer reads and writes: the status database it
//! reads back, the empty database the bootstrap starts from, the path filters of
//! `dpkg.cfg.d`, and the `policy-rc.d` that keeps services from starting during the build.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::control::{Control, parse_paragraphs};
use crate::error::Error;
use crate::filter::PathFilter;
use crate::unpack::path_in_root;
use build_vocab::{AtPath, PackageId};

/// One package as dpkg recorded it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstalledPackage {
    /// Which package, at the installed version.
    pub id: PackageId,
    /// Source package name.
    pub source: String,
    /// `Installed-Size` in KiB, 0 when absent.
    pub installed_size_kib: u64,
}

/// The packages `status` (the text of `/var/lib/dpkg/status`) lists as `install ok
/// installed`, sorted by name.
pub fn installed_packages(status: &str) -> Result<Vec<InstalledPackage>, Error> {
    let mut packages = Vec::new();
    for paragraph in parse_paragraphs(status, "/var/lib/dpkg/status")? {
        if paragraph.get("Status") != Some("install ok installed") {
            continue;
        }
        let control = Control::from_paragraph(&paragraph, "/var/lib/dpkg/status")?;
        packages.push(InstalledPackage {
            installed_size_kib: paragraph
                .get("Installed-Size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            id: control.id,
            source: control.source,
        });
    }
    packages.sort();
    Ok(packages)
}

/// The dpkg path filters configured in the image (`/etc/dpkg/dpkg.cfg`, then
/// `/etc/dpkg/dpkg.cfg.d/*` in name order), as the skeleton trees left them.
pub fn read_dpkg_filter(root: &Path) -> Result<PathFilter, Error> {
    let mut texts = Vec::new();
    let main = root.join("etc/dpkg/dpkg.cfg");
    if main.is_file() {
        texts.push(fs::read_to_string(&main).at(&main)?);
    }
    let dir = root.join("etc/dpkg/dpkg.cfg.d");
    if dir.is_dir() {
        for name in build_vocab::walk::sorted_names(&dir)? {
            let path = dir.join(name);
            if path.is_file() {
                texts.push(fs::read_to_string(&path).at(&path)?);
            }
        }
    }
    Ok(PathFilter::from_dpkg_config(
        texts.iter().map(String::as_str),
    ))
}

/// Writes the empty database dpkg starts from: `status`, `available` (both empty), `arch`,
/// and the `info`, `updates`, `triggers` and `alternatives` directories.
pub(super) fn write_empty_dpkg_database(root: &Path, architecture: &str) -> Result<(), Error> {
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "var/lib/dpkg/alternatives",
    ] {
        let path = path_in_root(root, &format!("{dir}/.keep"))?;
        let dir = path.parent().expect("has a parent");
        if !dir.is_dir() {
            fs::create_dir(dir).at(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).at(dir)?;
        }
    }
    for (file, contents) in [
        ("var/lib/dpkg/status", String::new()),
        ("var/lib/dpkg/available", String::new()),
        ("var/lib/dpkg/arch", format!("{architecture}\n")),
    ] {
        let path = path_in_root(root, file)?;
        write_new_file(&path, contents.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// Writes `contents` to `path` with `mode`, replacing a file or symlink there (never writing
/// through a symlink).
pub(crate) fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    if fs::symlink_metadata(path).is_ok() {
        fs::remove_file(path).at(path)?;
    }
    fs::write(path, contents).at(path)?;
    Ok(fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path)?)
}

const POLICY_RC_D: &str = "usr/sbin/policy-rc.d";
const POLICY_RC_D_TEXT: &str = "#!/bin/sh\n# Written by rootfs-assembler while the image is built: start no service.\nexit 101\n";

/// Installs `/usr/sbin/policy-rc.d` exiting 101 (no service is started by maintainer
/// scripts). Returns false, leaving it alone, when the image already has one.
pub fn install_policy_rc_d(root: &Path) -> Result<bool, Error> {
    let path = path_in_root(root, POLICY_RC_D)?;
    if fs::symlink_metadata(&path).is_ok() {
        return Ok(false);
    }
    write_new_file(&path, POLICY_RC_D_TEXT.as_bytes(), 0o755)?;
    Ok(true)
}

/// Removes the `policy-rc.d` that [`install_policy_rc_d`] wrote (only if it is ours).
pub fn remove_policy_rc_d(root: &Path) -> Result<(), Error> {
    let path = path_in_root(root, POLICY_RC_D)?;
    if fs::read_to_string(&path).is_ok_and(|text| text == POLICY_RC_D_TEXT) {
        fs::remove_file(&path).at(&path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_file_lists_installed_packages() {
        let status = "\
Package: zlib1g
Status: install ok installed
Version: 1:1.3
Architecture: amd64
Source: zlib
Installed-Size: 160

Package: removed
Status: deinstall ok config-files
Version: 1
Architecture: all

Package: bash
Status: install ok installed
Version: 5.2
Architecture: amd64
";
        let packages = installed_packages(status).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].id.name, "bash");
        assert_eq!(packages[0].source, "bash");
        assert_eq!(packages[1].source, "zlib");
        assert_eq!(packages[1].installed_size_kib, 160);
    }
}
