//! The members of a `.deb` file, read through a bounded `ar` reader.
//!
//! A `.deb` (deb(5)) is an `ar` archive: `debian-binary` (format `2.x`), then
//! `control.tar[.gz|.xz|.zst]`, then `data.tar[...]`; members whose names start with `_`
//! (signatures and the like) may sit between them and are skipped, as dpkg-deb skips them.
//!
//! The `ar` container is read here rather than by a general `ar` crate because a `.deb` is
//! outside bytes: every header field is checked, member names are the short names deb(5)
//! allows (a GNU or BSD long-name table is refused, not followed), the member count and the
//! expanded size and entry count of `control.tar` are bounded ([`Limits`]), and a truncated
//! file is an error, never a short read taken for the end. Pure over `impl Read`: the caller
//! opens the file and names it in errors.

use std::collections::BTreeMap;
use std::io::{self, Read};

use crate::error::Error;

/// The first eight bytes of every `ar` archive.
const AR_MAGIC: &[u8; 8] = b"!<arch>\n";
/// The size of an `ar` member header.
const HEADER_LEN: usize = 60;

/// The bounds a `.deb` must stay within; [`Limits::default`] fits every package of the Debian
/// archive with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most `ar` members (dpkg's three, plus `_`-prefixed extras).
    pub max_members: usize,
    /// Largest `control.tar` once decompressed, in bytes.
    pub max_control_expanded: u64,
    /// Most entries in `control.tar`.
    pub max_control_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_members: 16,
            max_control_expanded: 64 << 20,
            max_control_entries: 256,
        }
    }
}

/// How a `control.tar` or `data.tar` member is compressed, from its name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.tar`.
    None,
    /// `.tar.gz`.
    Gzip,
    /// `.tar.xz`.
    Xz,
    /// `.tar.zst`.
    Zstd,
}

impl Compression {
    /// The compression a suffix after `.tar` names (`""`, `.gz`, `.xz`, `.zst`).
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "" => Self::None,
            ".gz" => Self::Gzip,
            ".xz" => Self::Xz,
            ".zst" => Self::Zstd,
            _ => return None,
        })
    }

    /// A reader of the decompressed bytes of `reader`. Concatenated streams are read
    /// through, as dpkg's decompressors do.
    pub fn decoder<'a>(self, reader: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::None => Box::new(reader),
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Self::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(reader)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
        })
    }
}

/// What the control part of a `.deb` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlMembers {
    /// Every regular file at the top of `control.tar` by name (`control`, `conffiles`,
    /// `md5sums`, `postinst`, `triggers`, ...), as dpkg keeps them under
    /// `/var/lib/dpkg/info/<package>.<name>`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The name of the data member (`data.tar.xz`, ...).
    pub data_member: String,
}

impl ControlMembers {
    /// The `control` file as text.
    pub fn control_text(&self) -> Result<&str, Error> {
        let bytes = self
            .files
            .get("control")
            .ok_or_else(|| malformed("control.tar has no `control` file"))?;
        std::str::from_utf8(bytes).map_err(|_| malformed("`control` is not UTF-8"))
    }
}

/// Reads the control members of a `.deb` and the name of its data member.
pub fn read_control_members(deb: impl Read, limits: &Limits) -> Result<ControlMembers, Error> {
    let mut archive = DebMembers::new(deb, limits)?;
    let control = archive.expect("control.tar")?;
    let compression = control.compression()?;
    let files = read_control_tar(control.name.clone(), compression, &mut archive, limits)?;
    let data = archive.expect("data.tar")?;
    data.compression()?;
    Ok(ControlMembers {
        files,
        data_member: data.name,
    })
}

/// Calls `unpack` with the data member's name and a reader of its decompressed tar stream.
pub fn with_data<R: Read, T, E: From<Error>>(
    deb: R,
    limits: &Limits,
    unpack: impl FnOnce(&str, &mut dyn Read) -> Result<T, E>,
) -> Result<T, E> {
    let mut archive = DebMembers::new(deb, limits)?;
    archive.expect("control.tar")?;
    let data = archive.expect("data.tar")?;
    let compression = data.compression()?;
    let mut reader = compression
        .decoder(archive.member_reader())
        .map_err(|e| malformed(format!("{}: {e}", data.name)))?;
    unpack(&data.name, &mut reader)
}

/// One `ar` member header, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemberHeader {
    name: String,
    size: u64,
}

impl MemberHeader {
    /// The compression of a `control.tar*` or `data.tar*` member.
    fn compression(&self) -> Result<Compression, Error> {
        let suffix = self
            .name
            .split_once(".tar")
            .map_or("?", |(_, suffix)| suffix);
        Compression::from_suffix(suffix)
            .ok_or_else(|| malformed(format!("member `{}`: unknown compression", self.name)))
    }
}

/// The members of a `.deb`'s `ar` archive in order, each read at most once.
struct DebMembers<'l, R> {
    reader: R,
    limits: &'l Limits,
    /// Bytes of the current member not read yet.
    left: u64,
    /// Whether the current member has an odd size (one padding byte follows it).
    padded: bool,
    /// Members seen so far.
    count: usize,
}

impl<'l, R: Read> DebMembers<'l, R> {
    /// Checks the `ar` magic and the `debian-binary` member.
    fn new(mut reader: R, limits: &'l Limits) -> Result<Self, Error> {
        let mut magic = [0u8; 8];
        read_exact(&mut reader, &mut magic, "the ar magic")?;
        if &magic != AR_MAGIC {
            return Err(malformed("not an ar archive"));
        }
        let mut members = Self {
            reader,
            limits,
            left: 0,
            padded: false,
            count: 0,
        };
        let first = members
            .next_header()?
            .ok_or_else(|| malformed("empty ar archive"))?;
        if first.name != "debian-binary" {
            return Err(malformed(format!(
                "first member is `{}`, not `debian-binary`",
                first.name
            )));
        }
        if first.size > 64 {
            return Err(malformed(format!(
                "debian-binary is {} bytes; a format version is a few",
                first.size
            )));
        }
        let mut version = String::new();
        members
            .member_reader()
            .read_to_string(&mut version)
            .map_err(|e| malformed(format!("debian-binary: {e}")))?;
        if !version.starts_with("2.") {
            return Err(malformed(format!(
                "unsupported format version `{}`",
                version.trim()
            )));
        }
        Ok(members)
    }

    /// The next member whose name starts with `prefix`, skipping `_` members; any other
    /// member before it is an error.
    fn expect(&mut self, prefix: &str) -> Result<MemberHeader, Error> {
        loop {
            let header = self
                .next_header()?
                .ok_or_else(|| malformed(format!("no {prefix} member")))?;
            if header.name.starts_with(prefix) {
                return Ok(header);
            }
            if !header.name.starts_with('_') {
                return Err(malformed(format!(
                    "unexpected member `{}` where {prefix} belongs",
                    header.name
                )));
            }
        }
    }

    /// Skips what is left of the current member and reads the next header; `None` at the end.
    fn next_header(&mut self) -> Result<Option<MemberHeader>, Error> {
        let skip = self.left + u64::from(self.padded);
        let skipped = io::copy(&mut (&mut self.reader).take(skip), &mut io::sink())
            .map_err(|e| malformed(format!("reading the archive: {e}")))?;
        if skipped != skip {
            return Err(malformed("truncated member"));
        }
        self.left = 0;
        self.padded = false;
        let mut raw = [0u8; HEADER_LEN];
        let got = read_full(&mut self.reader, &mut raw)
            .map_err(|e| malformed(format!("reading a member header: {e}")))?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(malformed("truncated member header"));
        }
        self.count += 1;
        if self.count > self.limits.max_members {
            return Err(malformed(format!(
                "more than {} members",
                self.limits.max_members
            )));
        }
        let header = parse_header(&raw)?;
        self.left = header.size;
        self.padded = header.size % 2 == 1;
        Ok(Some(header))
    }

    /// A reader of the current member's bytes; reading past a truncation is an error.
    fn member_reader(&mut self) -> MemberReader<'_, 'l, R> {
        MemberReader { members: self }
    }
}

/// Reads the bytes of the current member of a [`DebMembers`].
struct MemberReader<'m, 'l, R> {
    members: &'m mut DebMembers<'l, R>,
}

impl<R: Read> Read for MemberReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.members.left;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = self.members.reader.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("member truncated with {left} bytes missing"),
            ));
        }
        self.members.left -= got as u64;
        Ok(got)
    }
}

/// Checks and decodes a 60-byte `ar` member header.
fn parse_header(raw: &[u8; HEADER_LEN]) -> Result<MemberHeader, Error> {
    if &raw[58..60] != b"`\n" {
        return Err(malformed("member header without its end marker"));
    }
    let field = |range: std::ops::Range<usize>, what: &str| {
        std::str::from_utf8(&raw[range])
            .map(|text| text.trim_end_matches(' '))
            .map_err(|_| malformed(format!("member header: {what} is not text")))
    };
    let name = field(0..16, "the name")?;
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() || name.starts_with('/') || name.starts_with("#1/") {
        return Err(malformed(format!(
            "member name `{name}`: a .deb uses short member names, not ar name tables"
        )));
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed(format!(
            "member name `{}` has characters outside printable ASCII",
            name.escape_debug()
        )));
    }
    let size_text = field(48..58, "the size")?;
    if size_text.is_empty() || !size_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!(
            "member `{name}`: size `{}` is not a decimal number",
            size_text.escape_debug()
        )));
    }
    let size = size_text
        .parse()
        .map_err(|_| malformed(format!("member `{name}`: size `{size_text}` is too big")))?;
    Ok(MemberHeader {
        name: name.to_owned(),
        size,
    })
}

/// The regular files at the top of the current (control) member, within the limits.
fn read_control_tar<R: Read>(
    member: String,
    compression: Compression,
    archive: &mut DebMembers<'_, R>,
    limits: &Limits,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let bad = |reason: String| malformed(format!("{member}: {reason}"));
    let decoder = compression
        .decoder(archive.member_reader())
        .map_err(|e| bad(e.to_string()))?;
    // One byte past the limit tells "exactly at the limit" from "beyond it".
    let mut bounded = decoder.take(limits.max_control_expanded + 1);
    let files = top_level_files(&mut bounded, limits.max_control_entries);
    // Past the limit the tar reader sees a cut stream; the limit is the reason to report.
    if bounded.limit() == 0 {
        return Err(bad(format!(
            "expands beyond {} bytes",
            limits.max_control_expanded
        )));
    }
    files.map_err(bad)
}

/// The regular files at the top of a tar stream of at most `max_entries` entries.
fn top_level_files(
    stream: impl Read,
    max_entries: usize,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut tar = tar::Archive::new(stream);
    let mut files = BTreeMap::new();
    for (index, entry) in tar.entries().map_err(|e| e.to_string())?.enumerate() {
        if index >= max_entries {
            return Err(format!("more than {max_entries} entries"));
        }
        let mut entry = entry.map_err(|e| e.to_string())?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw);
        let name = name.trim_start_matches("./");
        if name.is_empty() || name.contains('/') {
            return Err(format!("unexpected entry `{}`", name.escape_debug()));
        }
        let name = name.to_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        files.insert(name, bytes);
    }
    Ok(files)
}

/// Reads until `buf` is full or the input ends; the count read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), Error> {
    match read_full(reader, buf) {
        Ok(n) if n == buf.len() => Ok(()),
        Ok(_) => Err(malformed(format!("truncated before {what}"))),
        Err(e) => Err(malformed(format!("reading {what}: {e}"))),
    }
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedDeb {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debian::testdeb::ar_archive as ar;

    fn control_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn deb(control: &[u8]) -> Vec<u8> {
        ar(&[
            ("debian-binary", b"2.0\n"),
            ("_gpgorigin", b"odd"),
            ("control.tar", control),
            ("data.tar", &control_tar(&[])),
        ])
    }

    #[test]
    fn reads_control_members_and_data() {
        let control = control_tar(&[
            ("./control", b"Package: a\n"),
            ("./postinst", b"#!/bin/sh\n"),
        ]);
        let members = read_control_members(&deb(&control)[..], &Limits::default()).unwrap();
        assert_eq!(members.control_text().unwrap(), "Package: a\n");
        assert_eq!(members.files["postinst"], b"#!/bin/sh\n");
        assert_eq!(members.data_member, "data.tar");
        let entries = with_data(&deb(&control)[..], &Limits::default(), |name, reader| {
            assert_eq!(name, "data.tar");
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| malformed(e.to_string()))?;
            Ok::<_, Error>(bytes.len())
        })
        .unwrap();
        assert_eq!(entries, 1024);
    }

    #[test]
    fn hostile_containers_are_refused_with_a_reason() {
        let control = control_tar(&[("./control", b"Package: a\n")]);
        let good = deb(&control);
        let refused = |bytes: &[u8], limits: &Limits| {
            read_control_members(bytes, limits).unwrap_err().to_string()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"garbage".to_vec(), "truncated before"),
            (b"!<arch>\n".to_vec(), "empty ar archive"),
            (ar(&[("control.tar", &control)]), "not `debian-binary`"),
            (
                ar(&[("debian-binary", b"3.0\n")]),
                "unsupported format version",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("/9", b"x")]),
                "short member names",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("//", b"x")]),
                "short member names",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("#1/20", b"x")]),
                "short member names",
            ),
            (
                ar(&[("debian-binary", b"2.0\n"), ("data.tar", b"x")]),
                "where control.tar belongs",
            ),
            (good[..100].to_vec(), "truncated"),
        ];
        for (bytes, expected) in cases {
            let message = refused(&bytes, &Limits::default());
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
        let cut = &good[..good.len() - 100];
        let unpacked = with_data(cut, &Limits::default(), |_, data| {
            std::io::copy(data, &mut std::io::sink()).map_err(|e| malformed(e.to_string()))
        });
        assert!(unpacked.unwrap_err().to_string().contains("truncated"));
        let mut bad_size = good.clone();
        bad_size[8 + 48..8 + 58].copy_from_slice(b"-1        ");
        assert!(refused(&bad_size, &Limits::default()).contains("not a decimal number"));
        let tight = Limits {
            max_control_expanded: 1000,
            ..Limits::default()
        };
        assert!(refused(&good, &tight).contains("expands beyond 1000 bytes"));
        let few = Limits {
            max_members: 2,
            ..Limits::default()
        };
        assert!(refused(&good, &few).contains("more than 2 members"));
    }

    #[test]
    fn a_declared_size_larger_than_the_file_is_a_truncation_not_an_allocation() {
        let mut bytes = ar(&[("debian-binary", b"2.0\n"), ("control.tar", b"")]);
        let header = bytes.len() - HEADER_LEN;
        bytes[header + 48..header + 58].copy_from_slice(b"9999999999");
        let message = read_control_members(&bytes[..], &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(message.contains("truncated"), "{message}");
    }
}
