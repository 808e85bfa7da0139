//! The vocabulary the image-building crates share, so each concept has one home: a typed
//! [`Sha256`] digest (the [`Hasher`] that computes one while bytes stream past, the
//! [`KeyHasher`] of cache keys), files [published](publish) whole, synced, or not at all,
//! the one deterministic directory [walk](walk), the one [INI](ini) parser (mkosi's
//! dialect, also read for `repart.d`), the one shell-glob matcher ([`glob`], mkosi's `fnmatch` rules), and the [Debian](debian)
//! vocabulary: deb822 paragraphs, [`DebVersion`], relationship fields and the bounded `.deb`
//! member reader.
//!
//! Small on purpose (a foundation, not a grab-bag): a type lands here when two crates of the
//! pipeline need the same concept and neither may depend on the other.
//!
//! ```
//! use build_vocab::{Sha256, publish};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("hello.txt");
//! publish::write_bytes(&path, 0o644, b"hello").unwrap();
//! assert_eq!(Sha256::of_file(&path).unwrap(), Sha256::of(b"hello"));
//! assert_eq!(
//!     Sha256::of(b"").to_string(),
//!     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
//! );
//! ```

pub mod calendar;
pub mod debian;
pub mod digest;
pub mod error;
pub mod glob;
pub mod ini;
pub mod os_release;
pub mod publish;
pub mod walk;

pub use debian::{Architecture, DebVersion, PackageId, PackageName};
pub use digest::{Hasher, KeyHasher, Sha256};
pub use error::{AtPath, Error, PathError};
