//! Reading `.deb` files: the `ar` container, the `control.tar.*` and `data.tar.*` members
//! (xz, zstd, gzip or uncompressed), all in Rust.
//!
//! [`read_deb`] returns the control information ([`DebInfo`]: the parsed `control`, the
//! conffiles and md5sums, the maintainer scripts as bytes); [`extract_deb_data`] streams the
//! data member into a root through the checks of [`crate::unpack`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::control::{Control, parse_conffiles};
use crate::error::Error;
use crate::filter::PathFilter;
use crate::unpack::{ExtractOptions, ExtractStats, Ownership, extract_tar};
use build_vocab::AtPath;

/// A verified local `.deb` and what the lock says it is: the assembler's input. deb-resolver's
/// fetch step produces these (the sha256 was checked before the path was handed over).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LockedDeb {
    /// Package name.
    pub name: String,
    /// Version, verbatim (with epoch).
    pub version: String,
    /// Debian architecture (`amd64`, `all`).
    pub architecture: String,
    /// The `.deb` on the local disk.
    pub path: PathBuf,
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
    let malformed = |reason: String| Error::MalformedDeb {
        deb: path.to_owned(),
        reason,
    };
    let file = File::open(path).at(path)?;
    let mut archive = ar::Archive::new(BufReader::new(file));
    let mut seen_version = false;
    let mut members = None;
    let mut data_member = None;
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| malformed(format!("ar archive: {e}")))?;
        let name = member_name(entry.header().identifier());
        if !seen_version {
            if name != "debian-binary" {
                return Err(malformed(format!(
                    "first member is `{name}`, not `debian-binary`"
                )));
            }
            let mut version = String::new();
            entry
                .read_to_string(&mut version)
                .map_err(|e| malformed(format!("debian-binary: {e}")))?;
            if !version.starts_with("2.") {
                return Err(malformed(format!(
                    "unsupported format version `{}`",
                    version.trim()
                )));
            }
            seen_version = true;
        } else if let Some(compression) = name.strip_prefix("control.tar") {
            let reader = decoder(compression, &mut entry).map_err(&malformed)?;
            members = Some(read_control_members(reader).map_err(&malformed)?);
        } else if name.starts_with("data.tar") {
            data_member = Some(name);
        }
    }
    let members = members.ok_or_else(|| malformed("no control.tar member".to_owned()))?;
    let data_member = data_member.ok_or_else(|| malformed("no data.tar member".to_owned()))?;
    let control_text = members
        .get("control")
        .ok_or_else(|| malformed("control.tar has no `control` file".to_owned()))?;
    let control_text = String::from_utf8(control_text.clone())
        .map_err(|_| malformed("`control` is not UTF-8".to_owned()))?;
    let control = Control::parse(&control_text, &path.display().to_string())?;
    let text = |name: &str| {
        members
            .get(name)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(DebInfo {
        conffiles: parse_conffiles(&text("conffiles")),
        md5sums: text("md5sums"),
        control,
        members,
        data_member,
    })
}

/// Checks that the `.deb` is what the lock says (name, version, architecture) and returns
/// its control information.
pub fn read_locked(deb: &LockedDeb) -> Result<DebInfo, Error> {
    let info = read_deb(&deb.path)?;
    let control = &info.control;
    if control.package != deb.name
        || control.version != deb.version
        || control.architecture != deb.architecture
    {
        return Err(Error::PackageList {
            reason: format!(
                "{} is {} {} ({}), but the lock says {} {} ({})",
                deb.path.display(),
                control.package,
                control.version,
                control.architecture,
                deb.name,
                deb.version,
                deb.architecture
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
    let malformed = |reason: String| Error::MalformedDeb {
        deb: path.to_owned(),
        reason,
    };
    let file = File::open(path).at(path)?;
    let mut archive = ar::Archive::new(BufReader::new(file));
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| malformed(format!("ar archive: {e}")))?;
        let name = member_name(entry.header().identifier());
        if let Some(compression) = name.strip_prefix("data.tar") {
            let reader = decoder(compression, &mut entry).map_err(&malformed)?;
            let options = ExtractOptions {
                label: package,
                ownership: Ownership::Archive,
                filter,
            };
            return extract_tar(reader, root, &options);
        }
    }
    Err(malformed("no data.tar member".to_owned()))
}

/// An ar member name as text (GNU ar may end names with `/`).
fn member_name(identifier: &[u8]) -> String {
    String::from_utf8_lossy(identifier)
        .trim_end_matches('/')
        .to_owned()
}

/// A decompressing reader for a member whose name ends in `compression` (`.xz`, `.zst`,
/// `.gz` or nothing).
pub(crate) fn decoder<'a>(
    compression: &str,
    reader: impl Read + 'a,
) -> Result<Box<dyn Read + 'a>, String> {
    Ok(match compression {
        "" => Box::new(reader),
        ".xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(reader)),
        ".zst" => {
            Box::new(zstd::stream::read::Decoder::new(reader).map_err(|e| format!("zstd: {e}"))?)
        }
        ".gz" => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        other => return Err(format!("unsupported compression `{other}`")),
    })
}

/// The regular files at the top of a control tarball, by name.
fn read_control_members(reader: impl Read) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = tar::Archive::new(reader);
    let mut members = BTreeMap::new();
    for entry in archive.entries().map_err(|e| format!("control.tar: {e}"))? {
        let mut entry = entry.map_err(|e| format!("control.tar: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw);
        let name = name.trim_start_matches("./");
        if name.is_empty() || name.contains('/') {
            return Err(format!("control.tar: unexpected member `{name}`"));
        }
        let name = name.to_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("control.tar: {name}: {e}"))?;
        members.insert(name, bytes);
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};

    use super::*;
    use crate::testdeb::{TestCompression, TestEntry, control, write_deb};

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
            assert_eq!(info.control.package, "hello");
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
        let deb = LockedDeb {
            name: "hello".into(),
            version: "2.0-1".into(),
            architecture: "amd64".into(),
            path,
        };
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
