//! Removing or normalising every known source of non-determinism in a Debian root.
//!
//! [`normalise`] removes what differs between two builds of the same packages (logs, caches,
//! generated ids and keys, random seeds, backup files, byte code) and then fixes what must
//! stay: `passwd`/`group`/`shadow`/`gshadow` sorted by id as `pwck --sort`/`grpck --sort` do
//! ([`sort_accounts`], pure), shadow's last-change day set to SOURCE_DATE_EPOCH's day, and
//! every mtime clamped to SOURCE_DATE_EPOCH. [`clean_package_metadata`] is mkosi's
//! `CleanPackageMetadata=`.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::unpack::{path_in_root, set_mtime};
use build_vocab::AtPath;
use build_vocab::walk;

/// Files removed wherever they are, by exact path in the image.
const NOISE_FILES: &[&str] = &[
    "etc/machine-id",
    "var/lib/dbus/machine-id",
    "var/cache/ldconfig/aux-cache",
    "var/lib/systemd/random-seed",
    "var/lib/systemd/credential.secret",
    "var/lib/urandom/random-seed",
    "boot/efi/loader/random-seed",
    "efi/loader/random-seed",
];

/// Directories whose contents (not the directories themselves) are removed.
const EMPTIED_DIRS: &[&str] = &[
    "var/log",
    "var/cache/fontconfig",
    "var/cache/man",
    "tmp",
    "var/tmp",
    "run",
];

/// What [`normalise`] removed, as image paths, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormaliseReport {
    /// Removed files and directories.
    pub removed: Vec<String>,
}

/// Removes the noise and normalises what stays, as the module doc says.
pub fn normalise(root: &Path, source_date_epoch: u64) -> Result<NormaliseReport, Error> {
    let mut removed = Vec::new();
    for file in NOISE_FILES {
        remove_in_root(root, file, &mut removed)?;
    }
    for dir in EMPTIED_DIRS {
        let path = root.join(dir);
        if is_real_dir(&path) {
            remove_files_below(root, &path, &mut removed)?;
        }
    }
    // `*-old` of dpkg and debconf, `/etc/*-` backups, SSH host keys.
    for (dir, keep) in [
        ("var/lib/dpkg", is_old as fn(&str) -> bool),
        ("var/cache/debconf", is_old),
        ("etc", is_backup),
        ("etc/ssh", is_host_key),
    ] {
        let path = root.join(dir);
        if !is_real_dir(&path) {
            continue;
        }
        for name in sorted_names(&path)? {
            if keep(&name) {
                remove_in_root(root, &format!("{dir}/{name}"), &mut removed)?;
            }
        }
    }
    remove_byte_code(root, &mut removed)?;
    for (accounts, sort_by) in [("etc/passwd", "etc/shadow"), ("etc/group", "etc/gshadow")] {
        normalise_accounts(root, accounts, sort_by, source_date_epoch)?;
    }
    clamp_mtimes(root, source_date_epoch)?;
    removed.sort();
    Ok(NormaliseReport { removed })
}

/// mkosi's `CleanPackageMetadata=yes`: removes the dpkg and apt databases and apt's caches.
/// Returns the removed paths.
pub fn clean_package_metadata(root: &Path) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    for dir in [
        "var/lib/dpkg",
        "var/lib/apt",
        "var/cache/apt",
        "var/log/apt",
    ] {
        remove_in_root(root, dir, &mut removed)?;
    }
    Ok(removed)
}

fn is_old(name: &str) -> bool {
    name.ends_with("-old")
}

fn is_backup(name: &str) -> bool {
    name.ends_with('-')
}

fn is_host_key(name: &str) -> bool {
    name.starts_with("ssh_host_")
}

fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The children of `dir` by name (lossily as text: the names normalisation looks for are
/// ASCII), in byte order.
fn sorted_names(dir: &Path) -> Result<Vec<String>, Error> {
    Ok(walk::sorted_names(dir)?
        .into_iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect())
}

/// Removes `relative` (file, symlink or directory tree) if present, never following a
/// symlink on the way.
fn remove_in_root(root: &Path, relative: &str, removed: &mut Vec<String>) -> Result<(), Error> {
    let Ok(path) = path_in_root_existing(root, relative) else {
        return Ok(());
    };
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path).at(&path)?,
        Ok(_) => fs::remove_file(&path).at(&path)?,
        Err(_) => return Ok(()),
    }
    removed.push(format!("/{relative}"));
    Ok(())
}

/// Like [`path_in_root`] but never creates directories: fails when a parent is missing.
fn path_in_root_existing(root: &Path, relative: &str) -> Result<PathBuf, ()> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for (index, part) in parts.iter().enumerate() {
        path.push(part);
        if index + 1 < parts.len() && !is_real_dir(&path) {
            return Err(());
        }
    }
    Ok(path)
}

fn remove_files_below(root: &Path, dir: &Path, removed: &mut Vec<String>) -> Result<(), Error> {
    for name in sorted_names(dir)? {
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path).at(&path)?;
        if meta.is_dir() {
            fs::remove_dir_all(&path).at(&path)?;
        } else {
            fs::remove_file(&path).at(&path)?;
        }
        removed.push(image_path(root, &path));
    }
    Ok(())
}

fn image_path(root: &Path, path: &Path) -> String {
    format!(
        "/{}",
        path.strip_prefix(root).unwrap_or(path).to_string_lossy()
    )
}

/// Removes `*.pyc` files and `__pycache__` directories below `root`.
fn remove_byte_code(root: &Path, removed: &mut Vec<String>) -> Result<(), Error> {
    let mut entries = walk::walk(root);
    while let Some(found) = entries.next() {
        let found = found?;
        let name = found.relative.file_name().unwrap_or_default();
        if found.metadata.is_dir() && name == "__pycache__" {
            fs::remove_dir_all(&found.path).at(&found.path)?;
            entries.skip_current_dir();
            removed.push(image_path(root, &found.path));
        } else if found.metadata.is_file() && name.as_bytes().ends_with(b".pyc") {
            fs::remove_file(&found.path).at(&found.path)?;
            removed.push(image_path(root, &found.path));
        }
    }
    Ok(())
}

fn normalise_accounts(
    root: &Path,
    accounts: &str,
    shadow: &str,
    source_date_epoch: u64,
) -> Result<(), Error> {
    let accounts_path = path_in_root(root, accounts)?;
    if !fs::symlink_metadata(&accounts_path).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let accounts_text = fs::read_to_string(&accounts_path).at(&accounts_path)?;
    let shadow_path = path_in_root(root, shadow)?;
    let shadow_text = if fs::symlink_metadata(&shadow_path).is_ok_and(|m| m.is_file()) {
        Some(fs::read_to_string(&shadow_path).at(&shadow_path)?)
    } else {
        None
    };
    let day = if shadow == "etc/shadow" {
        Some(source_date_epoch / 86_400)
    } else {
        None
    };
    let (sorted, sorted_shadow) = sort_accounts(&accounts_text, shadow_text.as_deref(), day);
    rewrite_keeping_metadata(&accounts_path, &sorted)?;
    if let Some(text) = sorted_shadow {
        rewrite_keeping_metadata(&shadow_path, &text)?;
    }
    Ok(())
}

/// Sorts an account file (`passwd` or `group`) by its numeric id (third field), stably, as
/// `pwck --sort`/`grpck --sort` do, and orders its shadow file (`shadow`/`gshadow`) like it
/// (names missing from the account file keep their order at the end). With `last_change_day`,
/// the shadow's third field (days since 1970 of the last password change) is set to it where
/// it is not empty. Pure.
pub fn sort_accounts(
    accounts: &str,
    shadow: Option<&str>,
    last_change_day: Option<u64>,
) -> (String, Option<String>) {
    let mut lines: Vec<&str> = accounts.lines().filter(|l| !l.is_empty()).collect();
    lines.sort_by_key(|line| {
        line.split(':')
            .nth(2)
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    });
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    let sorted = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let shadow = shadow.map(|text| {
        let mut entries: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|line| match last_change_day {
                Some(day) => {
                    let mut fields: Vec<String> = line.split(':').map(str::to_owned).collect();
                    if fields.len() > 2 && !fields[2].is_empty() {
                        fields[2] = day.to_string();
                    }
                    fields.join(":")
                }
                None => line.to_owned(),
            })
            .collect();
        entries.sort_by_key(|line| {
            let name = line.split(':').next().unwrap_or("");
            names.iter().position(|n| *n == name).unwrap_or(usize::MAX)
        });
        entries.iter().map(|l| format!("{l}\n")).collect::<String>()
    });
    (sorted, shadow)
}

/// Rewrites a file's contents in place, keeping its mode and owner.
fn rewrite_keeping_metadata(path: &Path, text: &str) -> Result<(), Error> {
    let current = fs::read_to_string(path).at(path)?;
    if current != text {
        fs::write(path, text).at(path)?;
    }
    Ok(())
}

/// Sets every mtime (and atime) later than `source_date_epoch` to it, the root included,
/// without following symlinks.
pub fn clamp_mtimes(root: &Path, source_date_epoch: u64) -> Result<(), Error> {
    fn clamp_one(path: &Path, meta: &fs::Metadata, epoch: u64) -> Result<(), Error> {
        use std::os::unix::fs::MetadataExt;
        let mtime = u64::try_from(meta.mtime()).unwrap_or(0);
        if mtime > epoch || meta.mtime_nsec() != 0 || meta.atime() != meta.mtime() {
            set_mtime(path, mtime.min(epoch))?;
        }
        Ok(())
    }
    for found in walk::walk(root) {
        let found = found?;
        clamp_one(&found.path, &found.metadata, source_date_epoch)?;
    }
    let meta = fs::symlink_metadata(root).at(root)?;
    clamp_one(root, &meta, source_date_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};

    #[test]
    fn accounts_sorted_by_id_and_shadow_follows() {
        let passwd = "root:x:0:0::/root:/bin/bash\n_chrony:x:100:101::/:/x\nsearcher:x:1000:1000::/h:/s\nsystemd-network:x:998:998::/:/x\nnobody:x:65534:65534::/:/x\n";
        let shadow = "root:*:20000:0:99999:7:::\nsearcher:!:20417:0:99999:7:::\n_chrony:!::::::\nsystemd-network:!*:20417::::::\nnobody:*:20000:0:99999:7:::\n";
        let (sorted, shadow) = sort_accounts(passwd, Some(shadow), Some(0));
        let names: Vec<&str> = sorted
            .lines()
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["root", "_chrony", "systemd-network", "searcher", "nobody"]
        );
        let shadow = shadow.unwrap();
        let lines: Vec<&str> = shadow.lines().collect();
        assert_eq!(
            lines,
            [
                "root:*:0:0:99999:7:::",
                "_chrony:!::::::",
                "systemd-network:!*:0::::::",
                "searcher:!:0:0:99999:7:::",
                "nobody:*:0:0:99999:7:::",
            ]
        );
    }

    #[test]
    fn noise_is_removed_and_mtimes_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("etc/machine-id", "abc\n"),
            ("etc/passwd-", "old"),
            ("etc/passwd", "b:x:5:5::/:/x\na:x:1:1::/:/x\n"),
            ("etc/shadow", "a:!:19000::::::\nb:!:19000::::::\n"),
            ("etc/ssh/ssh_host_ed25519_key", "key"),
            ("etc/ssh/sshd_config", "keep"),
            ("var/log/dpkg.log", "log"),
            ("var/log/apt/history.log", "log"),
            ("var/lib/dpkg/status-old", "old"),
            ("var/lib/dpkg/status", "keep"),
            ("var/cache/ldconfig/aux-cache", "cache"),
            ("usr/lib/python3/x/__pycache__/a.cpython-313.pyc", "pyc"),
            ("usr/lib/python3/x/b.pyc", "pyc"),
            ("usr/lib/python3/x/b.py", "keep"),
            ("var/lib/systemd/random-seed", "seed"),
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        symlink("/etc/host-file", root.join("etc/dangling-")).unwrap();
        let report = normalise(root, 0).unwrap();
        for gone in [
            "/etc/machine-id",
            "/etc/passwd-",
            "/etc/dangling-",
            "/etc/ssh/ssh_host_ed25519_key",
            "/var/log/dpkg.log",
            "/var/log/apt",
            "/var/lib/dpkg/status-old",
            "/var/cache/ldconfig/aux-cache",
            "/usr/lib/python3/x/__pycache__",
            "/usr/lib/python3/x/b.pyc",
            "/var/lib/systemd/random-seed",
        ] {
            assert!(
                report.removed.contains(&gone.to_owned()),
                "{gone}: {report:?}"
            );
            assert!(
                fs::symlink_metadata(root.join(&gone[1..])).is_err(),
                "{gone}"
            );
        }
        assert!(root.join("var/log").is_dir());
        assert!(root.join("etc/ssh/sshd_config").exists());
        assert!(root.join("usr/lib/python3/x/b.py").exists());
        assert_eq!(
            fs::read_to_string(root.join("etc/passwd")).unwrap(),
            "a:x:1:1::/:/x\nb:x:5:5::/:/x\n"
        );
        assert_eq!(
            fs::read_to_string(root.join("etc/shadow")).unwrap(),
            "a:!:0::::::\nb:!:0::::::\n"
        );
        for path in ["", "etc", "etc/passwd", "var/lib/dpkg/status"] {
            let meta = fs::symlink_metadata(root.join(path)).unwrap();
            assert_eq!(meta.mtime(), 0, "{path}");
        }
    }

    #[test]
    fn package_metadata_cleaning() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
        fs::create_dir_all(root.join("var/cache/apt")).unwrap();
        let removed = clean_package_metadata(root).unwrap();
        assert_eq!(removed, ["/var/lib/dpkg", "/var/cache/apt"]);
        assert!(root.join("var/lib").is_dir());
    }
}
