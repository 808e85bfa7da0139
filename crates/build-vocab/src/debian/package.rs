//! Who a binary package is: [`PackageName`], [`Architecture`] and, with a
//! [`DebVersion`], the [`PackageId`] every crate of the pipeline names a package by.
//!
//! Names and architectures are checked once, where text becomes one (Debian policy 5.6.1 for
//! names: lower-case letters, digits, `+`, `-` and `.`, at least two characters, starting
//! with a letter or digit; dpkg's rules for architectures), so code holding one never
//! re-checks it and an odd `control` file or lock entry is refused with the text it held.

use std::fmt;

use super::version::DebVersion;
use crate::error::Error;

/// A binary package name, as Debian policy allows it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

/// A Debian architecture name (`amd64`, `all`, `arm64`, ...).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Architecture(String);

impl PackageName {
    /// Checks `text` against Debian policy's rules for package names.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        let bytes = text.as_bytes();
        let reason = if bytes.len() < 2 {
            Some("shorter than two characters")
        } else if !bytes[0].is_ascii_lowercase() && !bytes[0].is_ascii_digit() {
            Some("does not start with a lower-case letter or a digit")
        } else if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(b))
        {
            Some("has a character other than a-z, 0-9, `+`, `-` and `.`")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidName {
                what: "package name",
                text,
                reason,
            }),
            None => Ok(Self(text)),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Architecture {
    /// Checks `text` against dpkg's rules for architecture names.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(text))
        } else {
            Err(Error::InvalidName {
                what: "architecture",
                text,
                reason: "is empty or has a character other than a-z, 0-9 and `-`",
            })
        }
    }

    /// The architecture as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_type {
    ($type:ident) => {
        impl TryFrom<String> for $type {
            type Error = Error;
            fn try_from(text: String) -> Result<Self, Error> {
                Self::new(text)
            }
        }

        impl std::str::FromStr for $type {
            type Err = Error;
            fn from_str(text: &str) -> Result<Self, Error> {
                Self::new(text)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $type {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $type {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::borrow::Borrow<str> for $type {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(PackageName);
text_type!(Architecture);

/// One binary package: name, version and architecture.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PackageId {
    /// The package name.
    pub name: PackageName,
    /// Its version.
    pub version: DebVersion,
    /// Its architecture.
    pub architecture: Architecture,
}

impl PackageId {
    /// Reads the three fields from their text, checking each.
    pub fn parse(name: &str, version: &str, architecture: &str) -> Result<Self, Error> {
        Ok(Self {
            name: PackageName::new(name)?,
            version: DebVersion::parse(version)?,
            architecture: Architecture::new(architecture)?,
        })
    }

    /// Whether `other` is the same package: same name and architecture, and versions that
    /// are the same text (a lock names a version exactly as the index wrote it).
    pub fn is_exactly(&self, other: &PackageId) -> bool {
        self.name == other.name
            && self.architecture == other.architecture
            && self.version.as_str() == other.version.as_str()
    }
}

/// `name version (architecture)`, as messages name a package.
impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.name, self.version, self.architecture)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_debian_policy() {
        for good in [
            "libc6",
            "g++",
            "libstdc++6",
            "0ad",
            "python3.13",
            "linux-image-6.12.48+deb13-cloud-amd64",
        ] {
            assert_eq!(PackageName::new(good).unwrap(), good);
        }
        for bad in [
            "",
            "a",
            "Libc6",
            "-x",
            "foo_bar",
            "foo bar",
            "../x",
            "pkg:amd64",
        ] {
            let error = PackageName::new(bad).unwrap_err().to_string();
            assert!(error.contains("package name"), "{error}");
        }
        assert!(Architecture::new("amd64").is_ok() && Architecture::new("all").is_ok());
        assert!(Architecture::new("").is_err() && Architecture::new("AMD64").is_err());
    }

    #[test]
    fn ids_print_as_messages_name_packages_and_compare_exactly() {
        let id = PackageId::parse("libc6", "2.41-12", "amd64").unwrap();
        assert_eq!(id.to_string(), "libc6 2.41-12 (amd64)");
        let same_order = PackageId::parse("libc6", "0:2.41-12", "amd64").unwrap();
        assert_eq!(id, same_order);
        assert!(!id.is_exactly(&same_order));
        assert!(id.is_exactly(&id.clone()));
    }

    #[test]
    fn serde_checks_what_it_reads() {
        let name: PackageName = serde_json::from_str("\"bash\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"bash\"");
        assert!(serde_json::from_str::<PackageName>("\"../etc\"").is_err());
    }
}
