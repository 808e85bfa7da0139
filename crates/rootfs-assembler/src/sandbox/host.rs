//! The host facts a sandbox plan depends on, read at the I/O edge: the host's top-level
//! entries a host command finds programs through, and where the host's `resolv.conf` can be
//! made visible in the image.

use std::fs;
use std::path::Path;

use super::plan::{HOST_TOP_LEVEL, ResolvConf, TopLevel};

/// The entries of [`HOST_TOP_LEVEL`] the host has, as symlinks or directories.
pub fn host_top_level() -> Vec<TopLevel> {
    HOST_TOP_LEVEL
        .iter()
        .map(Path::new)
        .filter_map(|path| {
            let meta = fs::symlink_metadata(path).ok()?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(path).ok()?;
                Some(TopLevel::Symlink {
                    path: path.to_path_buf(),
                    target,
                })
            } else if meta.is_dir() {
                Some(TopLevel::Directory(path.to_path_buf()))
            } else {
                None
            }
        })
        .collect()
}

/// Where the host's resolv.conf can be bound in the image at `root`: over
/// `/etc/resolv.conf` when it is a regular file, over its target when it is a symlink into
/// `/run` (bwrap creates it on the sandbox's tmpfs); `None` when neither (no name resolution
/// then).
pub fn resolv_conf_place(root: &Path) -> Option<ResolvConf> {
    let path = root.join("etc/resolv.conf");
    let meta = fs::symlink_metadata(&path).ok()?;
    if meta.is_file() {
        return Some(ResolvConf::BindOver {
            path: "/etc/resolv.conf".into(),
        });
    }
    if meta.file_type().is_symlink() {
        let target = fs::read_link(&path).ok()?;
        let target = target.to_str()?;
        let absolute = if let Some(rest) = target.strip_prefix("../") {
            format!("/{rest}")
        } else if target.starts_with('/') {
            target.to_owned()
        } else {
            format!("/etc/{target}")
        };
        let clean = crate::unpack::MemberPath::parse(absolute.trim_start_matches('/').as_bytes())
            .ok()?
            .absolute();
        if clean.starts_with("/run/") {
            return Some(ResolvConf::BindOver { path: clean });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_symlink_into_run() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        assert_eq!(resolv_conf_place(root), None);
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            root.join("etc/resolv.conf"),
        )
        .unwrap();
        assert_eq!(
            resolv_conf_place(root),
            Some(ResolvConf::BindOver {
                path: "/run/systemd/resolve/stub-resolv.conf".into(),
            })
        );
        fs::remove_file(root.join("etc/resolv.conf")).unwrap();
        fs::write(root.join("etc/resolv.conf"), "").unwrap();
        assert_eq!(
            resolv_conf_place(root),
            Some(ResolvConf::BindOver {
                path: "/etc/resolv.conf".into(),
            })
        );
    }
}
