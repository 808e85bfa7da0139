//! `Release` files: what a suite offers and the sha256 of every index in it.
//!
//! [`Release::parse`] reads the (already signature-checked) text; [`Release::check_fresh`]
//! applies `Valid-Until` against an explicit "now"; [`Release::index`] finds an index and its
//! hash. Dates use the RFC 2822 form the archive writes (`Sat, 12 Sep 2026 07:55:41 UTC`).

use std::collections::BTreeMap;

use crate::error::Error;
use build_vocab::Sha256;
use build_vocab::debian::deb822::paragraphs;

/// The fields of a Release file this resolver uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// `Suite` (`stable`, `trixie-backports`).
    pub suite: Option<String>,
    /// `Codename` (`trixie`).
    pub codename: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `Date`, as written.
    pub date: Option<String>,
    /// `Valid-Until`, as written.
    pub valid_until: Option<String>,
    /// `NotAutomatic: yes`.
    pub not_automatic: bool,
    /// `ButAutomaticUpgrades: yes`.
    pub but_automatic_upgrades: bool,
    /// `Acquire-By-Hash: yes`: indexes can be fetched under `by-hash/SHA256/<hash>`.
    pub acquire_by_hash: bool,
    /// `No-Support-for-Architecture-all: Packages`: `all` packages are in the per-architecture
    /// indexes and `binary-all` must not be read separately.
    pub arch_all_in_arch_indexes: bool,
    /// `Architectures`.
    pub architectures: Vec<String>,
    /// `Components`.
    pub components: Vec<String>,
    /// `SHA256`: path relative to the suite directory to (hash, size).
    pub sha256: BTreeMap<String, (Sha256, u64)>,
}

impl Release {
    /// Parses Release text (the signed text of an `InRelease`, or a plain `Release`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let paragraph = paragraphs(text)
            .next()
            .ok_or_else(|| Error::parse(1, "empty Release file"))??;
        let get = |name: &str| paragraph.get(name).map(|v| v.trim().to_owned());
        let yes = |name: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        let words = |name: &str| {
            get(name)
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let mut sha256 = BTreeMap::new();
        if let Some(list) = paragraph.get("SHA256") {
            let first_line = paragraph.line_of("SHA256");
            for (offset, line) in list.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (Some(hash), Some(size), Some(path), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(Error::parse(
                        first_line + offset,
                        format!("expected `sha256 size path`, got `{line}`"),
                    ));
                };
                let hash = Sha256::from_hex(hash).ok_or_else(|| {
                    Error::parse(first_line + offset, format!("invalid sha256 `{hash}`"))
                })?;
                let size = size.parse().map_err(|_| {
                    Error::parse(first_line + offset, format!("invalid size `{size}`"))
                })?;
                sha256.insert(path.to_owned(), (hash, size));
            }
        }
        Ok(Self {
            suite: get("Suite"),
            codename: get("Codename"),
            version: get("Version"),
            date: get("Date"),
            valid_until: get("Valid-Until"),
            not_automatic: yes("NotAutomatic"),
            but_automatic_upgrades: yes("ButAutomaticUpgrades"),
            acquire_by_hash: yes("Acquire-By-Hash"),
            arch_all_in_arch_indexes: get("No-Support-for-Architecture-all").as_deref()
                == Some("Packages"),
            architectures: words("Architectures"),
            components: words("Components"),
            sha256,
        })
    }

    /// Whether this Release describes `suite` (by `Codename` or `Suite`), as apt checks.
    pub fn describes(&self, suite: &str) -> bool {
        self.codename.as_deref() == Some(suite) || self.suite.as_deref() == Some(suite)
    }

    /// apt's default pin priority for the suite: 1 for `NotAutomatic`, 100 for
    /// `NotAutomatic` + `ButAutomaticUpgrades` (backports), 500 otherwise.
    pub fn default_priority(&self) -> i32 {
        match (self.not_automatic, self.but_automatic_upgrades) {
            (true, true) => 100,
            (true, false) => 1,
            _ => 500,
        }
    }

    /// `Err` with the `Valid-Until` text if it is before `now` (Unix seconds). A Release
    /// without `Valid-Until` never expires; an unreadable one is treated as expired.
    pub fn check_fresh(&self, now: i64) -> Result<(), String> {
        match &self.valid_until {
            None => Ok(()),
            Some(text) => match parse_date(text) {
                Some(until) if until >= now => Ok(()),
                _ => Err(text.clone()),
            },
        }
    }

    /// The hash and size of an index path (`main/binary-amd64/Packages.xz`).
    pub fn index(&self, path: &str) -> Option<(Sha256, u64)> {
        self.sha256.get(path).copied()
    }
}

/// Parses an RFC 2822 date as Release files write it (`Sat, 12 Sep 2026 07:55:41 UTC`; the
/// weekday is optional, the zone is `UTC`, `GMT`, `Z` or `+hhmm`) into Unix seconds.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = match text.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => text,
    };
    let mut parts = text.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut time = parts.next()?.split(':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: i64 = time.next().unwrap_or("0").parse().ok()?;
    let offset = match parts.next().unwrap_or("UTC") {
        "UTC" | "GMT" | "Z" | "UT" => 0,
        zone => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, &zone[1..]),
                b'-' => (-1, &zone[1..]),
                _ => return None,
            };
            if digits.len() != 4 {
                return None;
            }
            let value: i64 = digits.parse().ok()?;
            sign * ((value / 100) * 3600 + (value % 100) * 60)
        }
    };
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(
        build_vocab::calendar::days_from_civil(year, month, day) * 86_400
            + hour * 3600
            + minute * 60
            + second
            - offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "\
Origin: Debian
Suite: stable-backports
Codename: trixie-backports
Date: Sat, 12 Sep 2026 07:55:41 UTC
Valid-Until: Sat, 19 Sep 2026 07:55:41 UTC
NotAutomatic: yes
ButAutomaticUpgrades: yes
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64
Components: main contrib
SHA256:
 7778d3e3f303b7ddb8ce0fe7c8d57473a076c6bf2e8f241f75421d2396352498  9678380 main/binary-amd64/Packages.xz
 4f2c68d67001d595fbd343f6dbad44468953a51c4d9dec3a4803249f6e295940 56620099 main/binary-amd64/Packages
";

    #[test]
    fn fields_hashes_and_priority() {
        let release = Release::parse(RELEASE).unwrap();
        assert!(release.describes("trixie-backports"));
        assert!(release.describes("stable-backports"));
        assert!(!release.describes("trixie"));
        assert_eq!(release.default_priority(), 100);
        assert!(release.acquire_by_hash && release.arch_all_in_arch_indexes);
        assert_eq!(release.components, ["main", "contrib"]);
        let (hash, size) = release.index("main/binary-amd64/Packages.xz").unwrap();
        assert_eq!(size, 9678380);
        assert!(hash.to_hex().starts_with("7778d3e3"));
    }

    #[test]
    fn valid_until_against_an_explicit_now() {
        let release = Release::parse(RELEASE).unwrap();
        let until = parse_date("Sat, 19 Sep 2026 07:55:41 UTC").unwrap();
        assert!(release.check_fresh(until).is_ok());
        assert!(release.check_fresh(until + 1).is_err());
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(parse_date("01 Jan 1970 01:00:00 +0100"), Some(0));
        assert_eq!(
            parse_date("Sat, 12 Sep 2026 07:55:41 UTC"),
            Some(1_789_199_741)
        );
        assert_eq!(parse_date("garbage"), None);
    }
}
