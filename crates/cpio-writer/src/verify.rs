//! Reading initrds back, and naming the first difference between two of them.
//!
//! [`read_initrd`] reads what the kernel reads: a sequence of newc archives, each plain or
//! compressed (zstd, gzip, xz), separated by zero padding. [`first_difference`] compares two
//! initrds member by member and reports the first member and field that differ, so a failed
//! reproducibility check says "`usr/bin/foo`: c_mtime 0 vs 1700000000" rather than showing two
//! hashes. External tools (`cpio`, `bsdtar`) remain the judges of validity; this reader exists
//! for comparisons and is used by other crates (the UKI pipeline) to explain differences.
//! It holds the decompressed archive in memory.

use std::fmt;

use crate::compress::decompress_one;
use crate::error::{Error, lossy};
use crate::newc::{Field, HEADER_LEN, Header, TRAILER_NAME, padding};

/// One member read from an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The header as stored.
    pub header: Header,
    /// The name, without its NUL.
    pub name: Vec<u8>,
    /// The data (`header.filesize` bytes).
    pub data: Vec<u8>,
}

/// Reads every member of every archive in an initrd, trailers included, in order.
pub fn read_initrd(bytes: &[u8]) -> Result<Vec<Member>, Error> {
    let mut members = Vec::new();
    read_segments(bytes, true, &mut members)?;
    Ok(members)
}

/// Reads the archives in `bytes` into `members`; compressed segments only at the top level, as
/// the kernel reads them.
fn read_segments(bytes: &[u8], top_level: bool, members: &mut Vec<Member>) -> Result<(), Error> {
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest[0] == 0 {
            pos += 1;
        } else if rest.starts_with(crate::newc::MAGIC) {
            if pos % 4 != 0 {
                return Err(Error::Malformed {
                    offset: pos as u64,
                    reason: "archive does not start on a 4-byte boundary",
                });
            }
            pos += read_archive(rest, pos as u64, members)?;
        } else {
            let decoded = decompress_one(rest).filter(|_| top_level);
            let (plain, used) = decoded
                .ok_or(Error::Malformed {
                    offset: pos as u64,
                    reason: "neither a newc archive nor a known compressed stream",
                })?
                .map_err(|source| Error::Decompress {
                    offset: pos as u64,
                    source,
                })?;
            read_segments(&plain, false, members)?;
            pos += used;
        }
    }
    Ok(())
}

/// Reads one archive from the start of `bytes` up to and including its trailer; returns the
/// bytes it took. `base` is its offset, for error messages.
fn read_archive(bytes: &[u8], base: u64, members: &mut Vec<Member>) -> Result<usize, Error> {
    let mut pos = 0usize;
    loop {
        let malformed = |reason| Error::Malformed {
            offset: base + pos as u64,
            reason,
        };
        let header = Header::decode(bytes.get(pos..).unwrap_or_default()).map_err(malformed)?;
        let name_start = pos + HEADER_LEN;
        let name_end = name_start + header.namesize as usize;
        let data_start = name_end + padding(name_end as u64, 4) as usize;
        let data_end = data_start + header.filesize as usize;
        if header.namesize == 0 || data_end > bytes.len() {
            return Err(malformed("member runs past the end of the input"));
        }
        let (name, nul) = bytes[name_start..name_end].split_at(header.namesize as usize - 1);
        if nul != [0] {
            return Err(malformed("name is not NUL-terminated"));
        }
        members.push(Member {
            header,
            name: name.to_vec(),
            data: bytes[data_start..data_end].to_vec(),
        });
        pos = data_end + padding(data_end as u64, 4) as usize;
        if name == TRAILER_NAME {
            return Ok(pos.min(bytes.len()));
        }
    }
}

/// The first thing that differs between two initrds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDifference {
    /// Position of the member in the initrd (trailers count), or the number of members for a
    /// difference after the last one.
    pub index: usize,
    /// Name of the member on the left side (the right side's when only it has the member).
    pub path: String,
    /// What differs.
    pub field: Field,
    /// The left side's value, as text.
    pub left: String,
    /// The right side's value, as text.
    pub right: String,
}

impl fmt::Display for EntryDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !matches!(self.field, Field::Encoding | Field::Unreadable) {
            write!(f, "member #{} `{}`: ", self.index, self.path)?;
        }
        write!(f, "{} differs: {} vs {}", self.field, self.left, self.right)
    }
}

/// Where two initrds first differ, or `None` when their bytes are equal. Members are compared
/// in order: name, then header fields in wire order, then data. When every member matches but
/// the bytes do not (different compression or padding), the difference is in
/// [`Field::Encoding`]; when one side does not read as an initrd, in [`Field::Unreadable`].
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<EntryDifference> {
    if a == b {
        return None;
    }
    let (left, right) = match (read_initrd(a), read_initrd(b)) {
        (Ok(left), Ok(right)) => (left, right),
        (left, right) => {
            let describe = |side: Result<Vec<Member>, Error>| match side {
                Ok(members) => format!("{} members", members.len()),
                Err(e) => e.to_string(),
            };
            return Some(EntryDifference {
                index: 0,
                path: String::new(),
                field: Field::Unreadable,
                left: describe(left),
                right: describe(right),
            });
        }
    };
    for (index, pair) in left.iter().zip(&right).enumerate() {
        if let Some((field, l, r)) = member_difference(pair.0, pair.1) {
            return Some(EntryDifference {
                index,
                path: lossy(&pair.0.name),
                field,
                left: l,
                right: r,
            });
        }
    }
    let common = left.len().min(right.len());
    let presence = |members: &[Member]| match members.get(common) {
        Some(m) => format!("has `{}`", lossy(&m.name)),
        None => "ends".to_owned(),
    };
    let difference = match left.get(common).or(right.get(common)) {
        Some(extra) => EntryDifference {
            index: common,
            path: lossy(&extra.name),
            field: Field::Presence,
            left: presence(&left),
            right: presence(&right),
        },
        None => {
            let (left, right) = byte_difference(a, b);
            EntryDifference {
                index: common,
                path: String::new(),
                field: Field::Encoding,
                left,
                right,
            }
        }
    };
    Some(difference)
}

/// The first field in which two members differ, with both values as text.
fn member_difference(a: &Member, b: &Member) -> Option<(Field, String, String)> {
    if a.name != b.name {
        return Some((Field::Name, lossy(&a.name), lossy(&b.name)));
    }
    let fields = a.header.fields().into_iter().zip(b.header.fields());
    if let Some(((field, l), (_, r))) = fields.into_iter().find(|(l, r)| l.1 != r.1) {
        let show = |v: u32| match field {
            Field::Mode => format!("{v:o}"),
            _ => v.to_string(),
        };
        return Some((field, show(l), show(r)));
    }
    if a.data != b.data {
        let (left, right) = byte_difference(&a.data, &b.data);
        return Some((Field::Data, left, right));
    }
    None
}

/// Both sides of the first byte in which two different byte strings differ.
fn byte_difference(a: &[u8], b: &[u8]) -> (String, String) {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |bytes: &[u8]| match bytes.get(at) {
        Some(byte) => format!("byte {at} of {} is {byte:#04x}", bytes.len()),
        None => format!("ends after {} bytes", bytes.len()),
    };
    (show(a), show(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{ArchivePath, Data, Entry, EntryKind};
    use crate::{ArchiveOptions, Compression, Owners, write_archive};

    fn archive(entries: Vec<Entry>, compression: Compression) -> Vec<u8> {
        let options = ArchiveOptions {
            source_date_epoch: 10_000,
            owners: Owners::AsRecorded,
            compression,
        };
        let mut out = Vec::new();
        write_archive(entries, &options, &mut out).unwrap();
        out
    }

    fn file(path: &str, contents: &[u8], mtime: u64) -> Entry {
        Entry {
            path: ArchivePath::new(path).unwrap(),
            kind: EntryKind::File(Data::Bytes(contents.to_vec())),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime,
        }
    }

    fn tree(mtime_of_b: u64, contents_of_b: &[u8]) -> Vec<Entry> {
        vec![
            file("a", b"same", 5),
            file("b", contents_of_b, mtime_of_b),
            file("c", b"", 5),
        ]
    }

    #[test]
    fn reads_back_what_was_written_across_compressed_segments() {
        let plain = archive(tree(5, b"bee"), Compression::None);
        let mut initrd = plain.clone();
        initrd.extend(archive(
            vec![file("z", b"zed", 1)],
            Compression::Gzip { level: 6 },
        ));
        let members = read_initrd(&initrd).unwrap();
        let names: Vec<String> = members.iter().map(|m| lossy(&m.name)).collect();
        assert_eq!(names, ["a", "b", "c", "TRAILER!!!", "z", "TRAILER!!!"]);
        assert_eq!(members[1].data, b"bee");
        assert_eq!(members[4].data, b"zed");
    }

    #[test]
    fn names_the_first_differing_member_and_field() {
        let base = archive(tree(5, b"bee"), Compression::None);
        assert_eq!(first_difference(&base, &base), None);

        let later = archive(tree(6, b"bee"), Compression::None);
        let diff = first_difference(&base, &later).unwrap();
        assert_eq!(
            (diff.index, diff.path.as_str(), diff.field),
            (1, "b", Field::Mtime)
        );
        assert_eq!((diff.left.as_str(), diff.right.as_str()), ("5", "6"));
        assert_eq!(diff.to_string(), "member #1 `b`: c_mtime differs: 5 vs 6");

        let other = archive(tree(5, b"bed"), Compression::None);
        let diff = first_difference(&base, &other).unwrap();
        assert_eq!((diff.path.as_str(), diff.field), ("b", Field::Data));
        assert_eq!(diff.left, "byte 2 of 3 is 0x65");

        let longer = archive(tree(5, b"beet"), Compression::None);
        let diff = first_difference(&base, &longer).unwrap();
        assert_eq!((diff.path.as_str(), diff.field), ("b", Field::FileSize));
    }

    #[test]
    fn reports_missing_members_encoding_and_garbage() {
        let base = archive(tree(5, b"bee"), Compression::None);
        let mut fewer = tree(5, b"bee");
        fewer.pop();
        let diff = first_difference(&base, &archive(fewer, Compression::None)).unwrap();
        assert_eq!((diff.index, diff.field), (2, Field::Name));

        let mut two = base.clone();
        two.extend(archive(vec![file("z", b"", 1)], Compression::None));
        let diff = first_difference(&base, &two).unwrap();
        assert_eq!((diff.index, diff.path.as_str()), (4, "z"));
        assert_eq!(diff.field, Field::Presence);

        let zstd = archive(tree(5, b"bee"), Compression::Zstd { level: 3 });
        let diff = first_difference(&base, &zstd).unwrap();
        assert_eq!(diff.field, Field::Encoding);
        let shown = diff.to_string();
        assert!(
            shown.starts_with("encoding differs: byte 0 of 512 is 0x30 vs byte 0 of "),
            "{shown}"
        );

        let diff = first_difference(&base, b"garbage").unwrap();
        assert_eq!(diff.field, Field::Unreadable);
        assert!(
            diff.right.contains("neither a newc archive"),
            "{}",
            diff.right
        );
    }

    #[test]
    fn rejects_truncated_archives() {
        let base = archive(tree(5, b"bee"), Compression::None);
        assert!(matches!(
            read_initrd(&base[..200]),
            Err(Error::Malformed { .. })
        ));
    }
}
