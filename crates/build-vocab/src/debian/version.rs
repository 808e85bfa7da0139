//! [`DebVersion`]: Debian version numbers, ordered exactly as dpkg orders them.
//!
//! A version is `[epoch:]upstream[-revision]`. Comparison follows dpkg's `verrevcmp`: epochs
//! numerically, then upstream and revision alternating non-digit runs (where `~` sorts before
//! everything, even the end of the string, and letters sort before other characters) and digit
//! runs compared as numbers. A missing revision compares equal to `0`, a missing epoch to `0`,
//! so `1.0`, `0:1.0` and `1.0-0` are equal. Parsing refuses what dpkg refuses.
//!
//! The parser is pure (`&str` in, value out) so fuzzers can call [`DebVersion::parse`]
//! directly.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Versions up to this many bytes are stored inline, without an allocation (nearly all are).
const INLINE: usize = 22;

/// The text of a version: inline when short. Always ASCII (checked by the parser).
#[derive(Clone)]
enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Text {
    fn new(text: &str) -> Self {
        if text.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Self::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(text.as_bytes().into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(bytes) => bytes,
        }
    }
}

/// A parsed Debian version: `Ord` is dpkg's order, `Display` is the original text.
///
/// 32 bytes, and no allocation for versions of up to 22 bytes.
#[derive(Clone)]
pub struct DebVersion {
    text: Text,
    epoch: u32,
    /// Byte range of the upstream part in `text`.
    upstream: (u16, u16),
}

impl DebVersion {
    /// Parses a version as dpkg's `parseversion` does (leading and trailing blanks ignored).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidVersion {
            version: raw.to_owned(),
            reason,
        };
        let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let bytes = raw.as_bytes();
        let start = bytes.iter().position(|&b| !blank(b)).unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|&b| !blank(b))
            .map_or(start, |i| i + 1);
        let text = &raw[start..end];
        if text.is_empty() {
            return Err(invalid("version string is empty"));
        }
        if text.bytes().any(blank) {
            return Err(invalid("version string has embedded spaces"));
        }
        if text.len() > usize::from(u16::MAX) - 1 {
            return Err(invalid("version string is too long"));
        }
        let (epoch, rest_start) = match memchr::memchr(b':', text.as_bytes()) {
            Some(colon) => {
                let digits = &text[..colon];
                if digits.is_empty() {
                    return Err(invalid("epoch in version is empty"));
                }
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("epoch in version is not number"));
                }
                let epoch = digits
                    .parse::<u32>()
                    .ok()
                    .filter(|e| *e <= i32::MAX as u32)
                    .ok_or_else(|| invalid("epoch in version is too big"))?;
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let rest = &text[rest_start..];
        let (upstream, revision) = match memchr::memrchr(b'-', rest.as_bytes()) {
            Some(hyphen) => (&rest[..hyphen], Some(&rest[hyphen + 1..])),
            None => (rest, None),
        };
        if upstream.is_empty() {
            return Err(invalid("version number is empty"));
        }
        if revision == Some("") {
            return Err(invalid("revision number is empty"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(invalid("version number does not start with digit"));
        }
        if !upstream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+~:".contains(&b))
        {
            return Err(invalid("invalid character in version number"));
        }
        if let Some(revision) = revision {
            if !revision
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
            {
                return Err(invalid("invalid character in revision number"));
            }
        }
        let start = rest_start as u16;
        Ok(Self {
            text: Text::new(text),
            epoch,
            upstream: (start, start + upstream.len() as u16),
        })
    }

    /// The epoch (0 when not written).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    fn upstream_bytes(&self) -> &[u8] {
        &self.text.bytes()[usize::from(self.upstream.0)..usize::from(self.upstream.1)]
    }

    fn revision_bytes(&self) -> &[u8] {
        self.text
            .bytes()
            .get(usize::from(self.upstream.1) + 1..)
            .unwrap_or_default()
    }

    /// The upstream part.
    pub fn upstream(&self) -> &str {
        std::str::from_utf8(self.upstream_bytes()).expect("versions are ASCII")
    }

    /// The Debian revision (empty when not written).
    pub fn revision(&self) -> &str {
        std::str::from_utf8(self.revision_bytes()).expect("versions are ASCII")
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.text.bytes()).expect("versions are ASCII")
    }
}

/// dpkg's `order()`: the weight of one character in a non-digit run.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp()`: compares two upstream or two revision strings.
pub fn compare_fragments(a: &str, b: &str) -> Ordering {
    verrevcmp(a.as_bytes(), b.as_bytes())
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream_bytes(), other.upstream_bytes()))
            .then_with(|| verrevcmp(self.revision_bytes(), other.revision_bytes()))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

impl FromStr for DebVersion {
    type Err = Error;
    fn from_str(raw: &str) -> Result<Self, Error> {
        Self::parse(raw)
    }
}

impl fmt::Display for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DebVersion({:?})", self.as_str())
    }
}

impl serde::Serialize for DebVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for DebVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DebVersion {
        DebVersion::parse(s).unwrap()
    }

    #[test]
    fn parts() {
        let x = v("2:1.0-rc1-3+b1");
        assert_eq!(
            (x.epoch(), x.upstream(), x.revision()),
            (2, "1.0-rc1", "3+b1")
        );
        let y = v("1.0");
        assert_eq!((y.epoch(), y.upstream(), y.revision()), (0, "1.0", ""));
        assert_eq!(v(" 1.0 ").to_string(), "1.0");
        let long = v("1:2.3.4.5.6.7.8.9.10.11.12-1+deb13u1~bpo12+1");
        assert_eq!(long.revision(), "1+deb13u1~bpo12+1");
        assert_eq!(std::mem::size_of::<DebVersion>(), 32);
    }

    #[test]
    fn dpkg_orderings() {
        let less = [
            ("1.0~rc1", "1.0"),
            ("1.0", "1.0+b1"),
            ("1.0", "1.0a"),
            ("1.0a", "1.0+"),
            ("1:0.1", "2:0.0"),
            ("9", "1:0"),
            ("1.0-1", "1.0-2"),
            ("1.0-9", "1.0-10"),
            ("1.0~~", "1.0~~a"),
            ("1.0~", "1.0"),
            ("1.2.3", "1.10"),
            ("0.9", "1.0.0"),
            ("2.41-12", "2.41-12+deb13u1"),
        ];
        for (a, b) in less {
            assert!(v(a) < v(b), "{a} < {b}");
            assert!(v(b) > v(a), "{b} > {a}");
        }
        for (a, b) in [
            ("1.0", "1.0-0"),
            ("0:1.0", "1.0"),
            ("1.00", "1.0"),
            ("01", "1"),
        ] {
            assert_eq!(v(a), v(b), "{a} == {b}");
        }
    }

    #[test]
    fn refuses_what_dpkg_refuses() {
        for bad in ["", "a1", "1.0-", ":1", "x:1", "1 0", "1_0", "1.0-a_b", "-1"] {
            assert!(DebVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
