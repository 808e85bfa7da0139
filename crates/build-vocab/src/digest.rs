//! [`Sha256`]: a typed sha256 digest, written as lowercase hex everywhere (Release files,
//! lock files, cache paths, manifests), and [`Hasher`], which computes one while bytes
//! stream past.

use std::fmt;
use std::str::FromStr;

use sha2::Digest;

use crate::error::Error;

/// A sha256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(sha2::Sha256::digest(data).into())
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let digit = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = digit(hex[2 * i])? << 4 | digit(hex[2 * i + 1])?;
        }
        Some(Self(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The digest of everything `reader` yields.
    pub fn of_reader(mut reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut hasher = Hasher::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return Ok(hasher.finish()),
                Ok(n) => hasher.update(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The digest of the file at `path`.
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Self> {
        Self::of_reader(std::fs::File::open(path)?)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = Error;
    fn from_str(hex: &str) -> Result<Self, Error> {
        Self::from_hex(hex).ok_or_else(|| Error::NotASha256 {
            text: hex.to_owned(),
        })
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        Self::from_hex(&hex).ok_or_else(|| serde::de::Error::custom(format!("not a sha256: {hex}")))
    }
}

/// An incremental sha256 that also counts bytes: what downloads and cache reads use to check
/// content while it streams.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: sha2::Sha256,
    len: u64,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({} bytes)", self.len)
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
        self.len += data.len() as u64;
    }

    /// The number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Sha256 {
        Sha256(self.inner.finalize().into())
    }
}

/// A SHA-256 over tagged fields, for cache keys: each field is its tag and its bytes, each
/// length-prefixed, so moving bytes from one field to the next changes the digest.
#[derive(Debug, Clone, Default)]
pub struct KeyHasher {
    hasher: Hasher,
}

impl KeyHasher {
    /// A hasher with no field yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the field `tag` with `bytes`.
    pub fn field(&mut self, tag: &str, bytes: &[u8]) -> &mut Self {
        for part in [tag.as_bytes(), bytes] {
            self.hasher.update(&(part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self
    }

    /// The digest of the fields.
    pub fn finish(self) -> Sha256 {
        self.hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let empty = Sha256::of(b"");
        assert_eq!(
            empty.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Sha256::from_hex(&empty.to_hex().to_uppercase()),
            Some(empty)
        );
        assert_eq!(Sha256::from_hex("zz"), None);
        let mut hasher = Hasher::new();
        hasher.update(b"ab");
        hasher.update(b"c");
        assert_eq!(hasher.len(), 3);
        assert_eq!(hasher.finish(), Sha256::of(b"abc"));
    }

    #[test]
    fn key_fields_are_framed() {
        let key = |fields: &[(&str, &[u8])]| {
            let mut hasher = KeyHasher::new();
            for (tag, bytes) in fields {
                hasher.field(tag, bytes);
            }
            hasher.finish()
        };
        let base = key(&[("a", b"xy"), ("b", b"z")]);
        assert_eq!(base, key(&[("a", b"xy"), ("b", b"z")]));
        assert_ne!(base, key(&[("a", b"x"), ("b", b"yz")]));
        assert_ne!(base, key(&[("ax", b"y"), ("b", b"z")]));
        assert_ne!(base, key(&[("b", b"z"), ("a", b"xy")]));
    }

    #[test]
    fn readers_files_text_and_serde_agree() {
        let data = vec![7u8; 200_000];
        let digest = Sha256::of(&data);
        assert_eq!(Sha256::of_reader(&data[..]).unwrap(), digest);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        assert_eq!(Sha256::of_file(&dir.path().join("f")).unwrap(), digest);
        assert_eq!(digest.to_hex().parse::<Sha256>().unwrap(), digest);
        let err = "12".parse::<Sha256>().unwrap_err();
        assert!(err.to_string().contains("`12`"), "{err}");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), digest);
    }
}
