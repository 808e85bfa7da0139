//! The host facts a sandbox plan depends on, read at the I/O edge: the host's mount points and
//! where the host's `resolv.conf` can be made visible in the image.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::plan::ResolvConf;
use crate::error::Error;
use build_vocab::AtPath;

/// Reads the host's mount points from `/proc/self/mountinfo`.
pub fn host_mounts() -> Result<Vec<PathBuf>, Error> {
    let path = Path::new("/proc/self/mountinfo");
    let text = fs::read_to_string(path).at(path)?;
    Ok(parse_mountinfo(&text))
}

/// The mount points listed in mountinfo text (field 5, with `\NNN` octal escapes decoded).
pub fn parse_mountinfo(text: &str) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| {
            let bytes = escaped.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' && i + 3 < bytes.len() {
                    let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
                    if let Ok(value) = u8::from_str_radix(octal, 8) {
                        out.push(value);
                        i += 4;
                        continue;
                    }
                }
                out.push(bytes[i]);
                i += 1;
            }
            PathBuf::from(OsStr::from_bytes(&out))
        })
        .collect();
    mounts.sort();
    mounts.dedup();
    mounts
}

/// Where the host's resolv.conf can be bound in the image at `root`: over
/// `/etc/resolv.conf` when it is a regular file, over its target when it is a symlink into
/// `/run` (created on the sandbox's tmpfs); `None` when neither (no name resolution then).
pub fn resolv_conf_place(root: &Path) -> Option<ResolvConf> {
    let path = root.join("etc/resolv.conf");
    let meta = fs::symlink_metadata(&path).ok()?;
    if meta.is_file() {
        return Some(ResolvConf::BindOver {
            path: "/etc/resolv.conf".into(),
            create_on_run: false,
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
            return Some(ResolvConf::BindOver {
                path: clean,
                create_on_run: true,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        let text = "22 1 0:21 / /proc rw - proc proc rw\n\
                    30 1 8:1 / / rw - ext4 /dev/vda rw\n\
                    31 30 8:2 / /mnt/with\\040space rw - ext4 /dev/vdb rw\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(
            mounts,
            [
                PathBuf::from("/"),
                PathBuf::from("/mnt/with space"),
                PathBuf::from("/proc")
            ]
        );
    }

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
                create_on_run: true
            })
        );
        fs::remove_file(root.join("etc/resolv.conf")).unwrap();
        fs::write(root.join("etc/resolv.conf"), "").unwrap();
        assert_eq!(
            resolv_conf_place(root),
            Some(ResolvConf::BindOver {
                path: "/etc/resolv.conf".into(),
                create_on_run: false
            })
        );
    }
}
