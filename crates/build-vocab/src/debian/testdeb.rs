//! Test helper (feature `testdeb`): builds small `.deb` files in memory, including hostile
//! entries the `tar` builder itself would refuse to write (absolute names, `..`), by writing
//! header name fields directly. The `ar` container is written by [`ar_archive`], field by
//! field, so tests can also bend it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// One entry of a test data or control tarball. Names are written verbatim.
#[derive(Debug, Clone)]
pub enum TestEntry {
    /// A directory with a mode.
    Dir(&'static str, u32),
    /// A regular file with contents and a mode.
    File(&'static str, &'static [u8], u32),
    /// A symlink and its target.
    Symlink(&'static str, &'static str),
    /// A hardlink and the member it links to.
    Hardlink(&'static str, &'static str),
}

/// Compression of the tar members.
#[derive(Debug, Clone, Copy)]
pub enum TestCompression {
    /// `.tar`.
    None,
    /// `.tar.gz`.
    Gz,
    /// `.tar.xz`.
    Xz,
    /// `.tar.zst`.
    Zst,
}

impl TestCompression {
    fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gz => ".gz",
            Self::Xz => ".xz",
            Self::Zst => ".zst",
        }
    }

    fn compress(self, data: Vec<u8>) -> Vec<u8> {
        match self {
            Self::None => data,
            Self::Gz => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&data).unwrap();
                encoder.finish().unwrap()
            }
            Self::Xz => {
                let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
                encoder.write_all(&data).unwrap();
                encoder.finish().unwrap()
            }
            Self::Zst => zstd::encode_all(data.as_slice(), 1).unwrap(),
        }
    }
}

/// A tarball of `entries`, uid/gid 0 unless `owner` is given, mtime 1000.
pub fn tarball(entries: &[TestEntry], owner: Option<(u64, u64)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (uid, gid) = owner.unwrap_or((0, 0));
        header.set_uid(uid);
        header.set_gid(gid);
        header.set_mtime(1000);
        let (name, data): (&str, &[u8]) = match entry {
            TestEntry::Dir(name, mode) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                (name, b"")
            }
            TestEntry::File(name, data, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                (name, data)
            }
            TestEntry::Symlink(name, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                set_raw(&mut header.as_old_mut().linkname, target);
                (name, b"")
            }
            TestEntry::Hardlink(name, target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                set_raw(&mut header.as_old_mut().linkname, target);
                (name, b"")
            }
        };
        set_raw(&mut header.as_old_mut().name, name);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn set_raw(field: &mut [u8], value: &str) {
    assert!(value.len() < field.len(), "test name too long: {value}");
    field.fill(0);
    field[..value.len()].copy_from_slice(value.as_bytes());
}

/// A minimal `control` file for `name` `version` on amd64, with extra fields appended.
pub fn control(name: &str, version: &str, extra: &str) -> String {
    format!(
        "Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: Test <t@example.org>\n\
         Description: test package\n{extra}"
    )
}

/// The bytes of a `.deb` with the given control text, extra control members and data
/// entries, both tarballs compressed with `compression`.
pub fn deb_bytes(
    control_text: &str,
    control_members: &[(&'static str, &'static [u8])],
    data: &[TestEntry],
    compression: TestCompression,
) -> Vec<u8> {
    let mut control_entries = vec![TestEntry::Dir("./", 0o755)];
    let control_text: &'static str = Box::leak(control_text.to_owned().into_boxed_str());
    control_entries.push(TestEntry::File("./control", control_text.as_bytes(), 0o644));
    for (name, bytes) in control_members {
        let name: &'static str = Box::leak(format!("./{name}").into_boxed_str());
        control_entries.push(TestEntry::File(name, bytes, 0o755));
    }
    let control_tar = compression.compress(tarball(&control_entries, None));
    let data_tar = compression.compress(tarball(data, None));
    let suffix = compression.suffix();
    ar_archive(&[
        ("debian-binary", b"2.0\n"),
        (&format!("control.tar{suffix}"), &control_tar),
        (&format!("data.tar{suffix}"), &data_tar),
    ])
}

/// An `ar` archive of `(name, bytes)` members, every timestamp and owner 0, mode 100644.
/// Names are written as given (so a test can write `/9` or `//`).
pub fn ar_archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            "100644",
            data.len()
        );
        assert_eq!(header.len(), 60, "ar member name too long: {name}");
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// Writes a `.deb` into `dir` and returns its path.
pub fn write_deb(
    dir: &Path,
    name: &str,
    control_text: &str,
    control_members: &[(&'static str, &'static [u8])],
    data: &[TestEntry],
    compression: TestCompression,
) -> PathBuf {
    let path = dir.join(format!("{name}.deb"));
    std::fs::write(
        &path,
        deb_bytes(control_text, control_members, data, compression),
    )
    .unwrap();
    path
}
