//! Reading `.deb` files from disk through the shared bounded reader
//! ([`build_vocab::debian::deb`]), and checking them against the lock.
//!
//! [`read_deb`] returns the control information ([`DebInfo`]: the parsed `control`, the
//! conffiles and md5sums, the maintainer scripts as bytes); [`extract_deb_data`] streams the
//! data member into a root through the checks of [`crate::unpack`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::control::{Control, parse_conffiles};
use crate::error::Error;
use crate::filter::PathFilter;
use crate::unpack::{ExtractOptions, ExtractStats, Ownership, extract_tar};
use build_vocab::debian::deb::{self, Limits};
use build_vocab::{AtPath, PackageId, Sha256};

/// A verified local `.deb` and what the lock says it is: the assembler's input. deb-resolver's
/// fetch step produces these (the sha256 was checked before the path was handed over).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct LockedDeb {
    /// Which package the lock says it is.
    pub id: PackageId,
    /// The `.deb` on the local disk.
    pub path: PathBuf,
    /// Its sha256, as checked: what caches key it by (its content, not where it lies).
    pub sha256: Sha256,
}

impl LockedDeb {
    /// The `.deb` at `path`, hashed here (for files no fetch step checked: tests, local
    /// trees).
    pub fn hashing(id: PackageId, path: PathBuf) -> Result<Self, Error> {
        let sha256 = Sha256::of_file(&path).at(&path)?;
        Ok(Self { id, path, sha256 })
    }
}

/// The control part of a `.deb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebInfo {
    /// The parsed `control` file.
    pub control: Control,
    /// The `conffiles` member: absolute paths dpkg treats as configuration files.
    pub conffiles: Vec<String>,
    /// The `md5sums` member, verbatim (`<md5>  <path>` lines), empty when absent.
    pub md5sums: String,
    /// Every regular file of `control.tar` by name (`control`, `conffiles`, `md5sums`,
    /// `preinst`, `postinst`, `triggers`, `shlibs`, ...), as dpkg would keep them under
    /// `/var/lib/dpkg/info/<package>.<name>`.
    pub members: BTreeMap<String, Vec<u8>>,
    /// The name of the data member (`data.tar.xz`, ...).
    pub data_member: String,
}

/// Reads the control information of the `.deb` at `path`.
pub fn read_deb(path: &Path) -> Result<DebInfo, Error> {
    let file = File::open(path).at(path)?;
    let members = deb::read_control_members(BufReader::new(file), &Limits::default())
        .map_err(|e| deb_error(path, e))?;
    let control_text = members.control_text().map_err(|e| deb_error(path, e))?;
    let control = Control::parse(control_text, &path.display().to_string())?;
    let text = |name: &str| {
        members
            .files
            .get(name)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(DebInfo {
        conffiles: parse_conffiles(&text("conffiles")),
        md5sums: text("md5sums"),
        control,
        members: members.files,
        data_member: members.data_member,
    })
}

/// Checks that the `.deb` is what the lock says (name, version, architecture) and returns
/// its control information.
pub fn read_locked(deb: &LockedDeb) -> Result<DebInfo, Error> {
    let info = read_deb(&deb.path)?;
    let control = &info.control;
    if !control.id.is_exactly(&deb.id) {
        return Err(Error::PackageList {
            reason: format!(
                "{} is {}, but the lock says {}",
                deb.path.display(),
                control.id,
                deb.id
            ),
        });
    }
    Ok(info)
}

/// Extracts the data member of the `.deb` at `path` into `root`, with the archive's owners,
/// honouring `filter`, refusing unsafe entries ([`crate::unpack`]). `package` names the
/// package in errors.
pub fn extract_deb_data(
    path: &Path,
    package: &str,
    root: &Path,
    filter: Option<&PathFilter>,
) -> Result<ExtractStats, Error> {
    let file = File::open(path).at(path)?;
    let options = ExtractOptions {
        label: package,
        ownership: Ownership::Archive,
        filter,
    };
    deb::with_data(BufReader::new(file), &Limits::default(), |_, data| {
        Ok::<_, DataError>(extract_tar(data, root, &options)?)
    })
    .map_err(|e| match e {
        DataError::Deb(e) => deb_error(path, e),
        DataError::Unpack(e) => e,
    })
}

/// What [`extract_deb_data`] can fail on: the container, or the unpacking.
enum DataError {
    Deb(build_vocab::Error),
    Unpack(Error),
}

impl From<build_vocab::Error> for DataError {
    fn from(e: build_vocab::Error) -> Self {
        Self::Deb(e)
    }
}

impl From<Error> for DataError {
    fn from(e: Error) -> Self {
        Self::Unpack(e)
    }
}

/// This crate's error for a failure of the shared `.deb` reader on `path`.
fn deb_error(path: &Path, error: build_vocab::Error) -> Error {
    match error {
        build_vocab::Error::MalformedDeb { reason } => Error::MalformedDeb {
            deb: path.to_owned(),
            reason,
        },
        build_vocab::Error::Io(e) => Error::Io(e),
        other => Error::MalformedDeb {
            deb: path.to_owned(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};

    use super::*;
    use build_vocab::debian::testdeb::{TestCompression, TestEntry, control, write_deb};

    const CONFFILES: &[u8] = b"/etc/hello.conf\n/etc/old.conf remove-on-upgrade\n";
    const MD5SUMS: &[u8] = b"0123456789abcdef0123456789abcdef  usr/bin/hello\n";

    fn hello_data() -> Vec<TestEntry> {
        vec![
            TestEntry::Dir("./", 0o755),
            TestEntry::Dir("./etc/", 0o755),
            TestEntry::File("./etc/hello.conf", b"greeting=hi\n", 0o644),
            TestEntry::Dir("./usr/", 0o755),
            TestEntry::Dir("./usr/bin/", 0o755),
            TestEntry::File("./usr/bin/hello", b"#!/bin/sh\necho hi\n", 0o4755),
            TestEntry::Hardlink("./usr/bin/hi", "./usr/bin/hello"),
            TestEntry::Symlink("./usr/bin/hey", "hello"),
            TestEntry::Dir("./usr/share/doc/hello/", 0o755),
            TestEntry::File("./usr/share/doc/hello/README", b"doc", 0o644),
            TestEntry::File("./usr/share/doc/hello/copyright", b"(c)", 0o644),
        ]
    }

    #[test]
    fn every_compression_unpacks_with_control_data() {
        for compression in [
            TestCompression::None,
            TestCompression::Gz,
            TestCompression::Xz,
            TestCompression::Zst,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let deb = write_deb(
                dir.path(),
                "hello",
                &control("hello", "1.0-1", "Source: hello-src (1.0-1)\n"),
                &[
                    ("conffiles", CONFFILES),
                    ("md5sums", MD5SUMS),
                    ("postinst", b"#!/bin/sh\nexit 0\n"),
                ],
                &hello_data(),
                compression,
            );
            let info = read_deb(&deb).unwrap();
            assert_eq!(info.control.id.name, "hello");
            assert_eq!(info.control.source, "hello-src");
            assert_eq!(info.conffiles, ["/etc/hello.conf", "/etc/old.conf"]);
            assert_eq!(info.md5sums, String::from_utf8_lossy(MD5SUMS));
            assert!(info.members.contains_key("postinst"));
            assert!(info.data_member.starts_with("data.tar"), "{compression:?}");

            let root = dir.path().join("root");
            fs::create_dir(&root).unwrap();
            let filter = PathFilter::from_dpkg_config([
                "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n",
            ]);
            let stats = extract_deb_data(&deb, "hello", &root, Some(&filter)).unwrap();
            assert_eq!(stats.filtered, 1, "{compression:?}");
            assert_eq!(
                fs::read_to_string(root.join("etc/hello.conf")).unwrap(),
                "greeting=hi\n"
            );
            let hello = fs::metadata(root.join("usr/bin/hello")).unwrap();
            assert_eq!(hello.mode() & 0o7777, 0o4755);
            assert_eq!(hello.nlink(), 2);
            assert_eq!(
                fs::metadata(root.join("usr/bin/hi")).unwrap().ino(),
                hello.ino()
            );
            assert_eq!(
                fs::read_link(root.join("usr/bin/hey")).unwrap(),
                Path::new("hello")
            );
            assert!(root.join("usr/share/doc/hello/copyright").exists());
            assert!(!root.join("usr/share/doc/hello/README").exists());
        }
    }

    #[test]
    fn lock_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_deb(
            dir.path(),
            "hello",
            &control("hello", "1.0-1", ""),
            &[],
            &hello_data(),
            TestCompression::Xz,
        );
        let deb =
            LockedDeb::hashing(PackageId::parse("hello", "2.0-1", "amd64").unwrap(), path).unwrap();
        let err = read_locked(&deb).unwrap_err();
        assert!(err.to_string().contains("2.0-1"), "{err}");
    }

    #[test]
    fn malformed_debs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.deb");
        fs::write(&path, b"!<arch>\nnot really").unwrap();
        assert!(read_deb(&path).is_err());
        fs::write(&path, b"plain text").unwrap();
        let err = read_deb(&path).unwrap_err();
        assert!(err.to_string().contains("junk.deb"), "{err}");
    }

    /// Every attack shape: the error names the package and the entry, and nothing lands
    /// outside the root.
    #[test]
    fn escaping_entries_are_refused() {
        let cases: Vec<(&str, Vec<TestEntry>, &str)> = vec![
            (
                "absolute path",
                vec![TestEntry::File("/etc/evil", b"x", 0o644)],
                "/etc/evil",
            ),
            (
                "dot-dot",
                vec![TestEntry::File("./usr/../../outside/evil", b"x", 0o644)],
                "./usr/../../outside/evil",
            ),
            (
                "symlink to outside, then a file through it",
                vec![
                    TestEntry::Symlink("./escape", "../outside"),
                    TestEntry::File("./escape/evil", b"x", 0o644),
                ],
                "./escape/evil",
            ),
            (
                "absolute symlink, then a file through it",
                vec![
                    TestEntry::Symlink("./escape", "/"),
                    TestEntry::File("./escape/tmp/evil", b"x", 0o644),
                ],
                "./escape/tmp/evil",
            ),
            (
                "symlink inside the tree, then a file through it",
                vec![
                    TestEntry::Dir("./usr/", 0o755),
                    TestEntry::Symlink("./bin", "usr"),
                    TestEntry::File("./bin/evil", b"x", 0o644),
                ],
                "./bin/evil",
            ),
            (
                "symlink, then a directory over it",
                vec![
                    TestEntry::Symlink("./escape", "../outside"),
                    TestEntry::Dir("./escape/", 0o755),
                ],
                "./escape/",
            ),
            (
                "hardlink to outside",
                vec![TestEntry::Hardlink("./passwd", "../outside/secret")],
                "./passwd",
            ),
            (
                "hardlink to an absolute path",
                vec![TestEntry::Hardlink("./passwd", "/etc/passwd")],
                "./passwd",
            ),
            (
                "hardlink through a symlink",
                vec![
                    TestEntry::Symlink("./escape", "../outside"),
                    TestEntry::Hardlink("./passwd", "./escape/secret"),
                ],
                "./passwd",
            ),
        ];
        for (shape, entries, entry) in cases {
            let dir = tempfile::tempdir().unwrap();
            let outside = dir.path().join("outside");
            fs::create_dir(&outside).unwrap();
            fs::write(outside.join("secret"), "secret").unwrap();
            let root = dir.path().join("root");
            fs::create_dir(&root).unwrap();
            let deb = write_deb(
                dir.path(),
                "evil",
                &control("evil", "1", ""),
                &[],
                &entries,
                TestCompression::Gz,
            );
            let err = extract_deb_data(&deb, "evil", &root, None).unwrap_err();
            match &err {
                Error::UnsafeEntry {
                    package,
                    entry: named,
                    ..
                } => {
                    assert_eq!(package, "evil", "{shape}");
                    assert_eq!(named, entry, "{shape}: {err}");
                }
                other => panic!("{shape}: unexpected error {other}"),
            }
            let mut outside_names: Vec<_> = fs::read_dir(&outside)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            outside_names.sort();
            assert_eq!(outside_names, ["secret"], "{shape}");
            assert_eq!(
                fs::read_to_string(outside.join("secret")).unwrap(),
                "secret",
                "{shape}"
            );
            assert_eq!(
                fs::metadata(outside.join("secret")).unwrap().nlink(),
                1,
                "{shape}"
            );
            assert!(!root.join("usr/evil").exists(), "{shape}");
        }
    }

    #[test]
    fn a_file_replaces_a_symlink_already_in_the_root_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("target"), "keep").unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        symlink(outside.join("target"), root.join("etc/conf")).unwrap();
        let deb = write_deb(
            dir.path(),
            "conf",
            &control("conf", "1", ""),
            &[],
            &[TestEntry::File("./etc/conf", b"new", 0o644)],
            TestCompression::Zst,
        );
        extract_deb_data(&deb, "conf", &root, None).unwrap();
        assert_eq!(fs::read_to_string(outside.join("target")).unwrap(), "keep");
        assert!(
            fs::symlink_metadata(root.join("etc/conf"))
                .unwrap()
                .is_file()
        );
        assert_eq!(fs::read_to_string(root.join("etc/conf")).unwrap(), "new");
    }
}
