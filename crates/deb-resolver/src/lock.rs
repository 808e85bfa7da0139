//! [`Lock`]: the resolved package set as a versioned, sorted TOML file.
//!
//! Goals (as rattler's lockfile states them): byte-for-byte stable for the same resolution,
//! a fixed order (packages by name), a format version checked on read, and verifiable
//! offline: every package carries its pool path, size and sha256, so fetching needs no index.
//! The lock also records what it was resolved from: the request (with a hash of it, so an
//! unchanged request is recognised without resolving), the suites with their Release dates
//! and the sha256 of each Release. No mirror URL is written: the archive location is an input
//! of fetching, so a lock can be committed and used with any mirror or snapshot service.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use build_vocab::Sha256;
use build_vocab::{Architecture, DebVersion, PackageId, PackageName};

/// The lockfile format this version writes and reads.
pub const LOCK_FORMAT_VERSION: u32 = 1;

/// Which part of the build a locked package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageSet {
    /// In the image (`Packages=` and the base set); also in the build overlay.
    Image,
    /// Only in the build overlay (`BuildPackages=` and what they need beyond the image).
    Build,
}

/// What was asked for: everything that decides the resolution, in a normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockRequest {
    /// sha256 over the other fields (see [`LockRequest::compute_hash`]).
    pub hash: Sha256,
    /// `Release=`.
    pub release: String,
    /// Debian architecture name.
    pub architecture: String,
    /// `Snapshot=`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Suites read, in priority order.
    pub suites: Vec<String>,
    /// Components read.
    pub components: Vec<String>,
    /// The base set (`essential`, `required`, `none`).
    pub base: crate::solver::BaseSet,
    /// `WithRecommends=`.
    pub with_recommends: bool,
    /// `Packages=`, as written (sorted).
    pub packages: Vec<String>,
    /// `BuildPackages=`, as written (sorted).
    pub build_packages: Vec<String>,
    /// Local `.deb` files taking part: `file name sha256`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_debs: Vec<String>,
    /// What the base trees have installed (`name version architecture`, sorted): the lock
    /// lists only what goes on top.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installed: Vec<String>,
}

impl LockRequest {
    /// The hash of every field but `hash` itself.
    pub fn compute_hash(&self) -> Sha256 {
        let mut copy = self.clone();
        copy.hash = Sha256([0; 32]);
        let text = toml::to_string(&copy).expect("a request always serialises");
        Sha256::of(text.as_bytes())
    }

    /// Sets `hash` from the other fields.
    pub fn with_hash(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }
}

/// One suite the lock was resolved from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockSource {
    /// The suite (`trixie-updates`), or `local`.
    pub suite: String,
    /// The Release `Date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// sha256 of the verified Release text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_sha256: Option<Sha256>,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPackage {
    /// Package name.
    pub name: PackageName,
    /// Version, as the index wrote it.
    pub version: DebVersion,
    /// `amd64` or `all`.
    pub architecture: Architecture,
    /// The suite it comes from (`local` for local `.deb` files).
    pub suite: String,
    /// Pool path relative to the archive root (the file name for local packages).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the `.deb`.
    pub sha256: Sha256,
    /// Image or build overlay only.
    pub set: PackageSet,
}

impl LockedPackage {
    /// Which package this entry names.
    pub fn id(&self) -> PackageId {
        PackageId {
            name: self.name.clone(),
            version: self.version.clone(),
            architecture: self.architecture.clone(),
        }
    }
}

/// A resolved, pinned package set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// [`LOCK_FORMAT_VERSION`].
    pub version: u32,
    /// What was asked for.
    pub request: LockRequest,
    /// Where it was resolved from, by suite.
    #[serde(rename = "source", default)]
    pub sources: Vec<LockSource>,
    /// The packages, sorted by name.
    #[serde(rename = "package", default)]
    pub packages: Vec<LockedPackage>,
}

impl Lock {
    /// Builds a lock, putting everything in the canonical order.
    pub fn new(
        request: LockRequest,
        mut sources: Vec<LockSource>,
        mut packages: Vec<LockedPackage>,
    ) -> Self {
        sources.sort();
        sources.dedup();
        packages.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
        Self {
            version: LOCK_FORMAT_VERSION,
            request: request.with_hash(),
            sources,
            packages,
        }
    }

    /// The TOML text; the same lock always gives the same bytes.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("a lock always serialises");
        format!(
            "# Generated by deb-resolver: the resolved Debian packages. Do not edit by hand.\n{body}"
        )
    }

    /// Reads a lock, refusing other format versions.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Version {
            version: Option<u32>,
        }
        let version: Version = toml::from_str(text).map_err(|e| Error::LockFormat {
            message: e.to_string(),
        })?;
        match version.version {
            Some(LOCK_FORMAT_VERSION) => {}
            Some(other) => {
                return Err(Error::LockFormat {
                    message: format!(
                        "format version {other} is not supported (this resolver reads version {LOCK_FORMAT_VERSION})"
                    ),
                });
            }
            None => {
                return Err(Error::LockFormat {
                    message: "no format `version`".to_owned(),
                });
            }
        }
        let lock: Self = toml::from_str(text).map_err(|e| Error::LockFormat {
            message: e.to_string(),
        })?;
        if lock.request.compute_hash() != lock.request.hash {
            return Err(Error::LockFormat {
                message: "the request hash does not match the request (edited by hand?)".into(),
            });
        }
        Ok(lock)
    }

    /// The packages of one set (the image, or the whole build overlay including the image).
    pub fn packages_in(&self, set: PackageSet) -> impl Iterator<Item = &LockedPackage> {
        self.packages
            .iter()
            .filter(move |p| set == PackageSet::Build || p.set == PackageSet::Image)
    }

    /// Whether this lock still answers `request`: an empty list if so, else one line per
    /// stale entry, saying what changed.
    pub fn check_against(&self, request: &LockRequest) -> Vec<String> {
        let mut stale = Vec::new();
        let old = &self.request;
        let mut field = |name: &str, old: String, new: String| {
            if old != new {
                stale.push(format!(
                    "{name} changed: the lock has `{old}`, the request `{new}`"
                ));
            }
        };
        field("Release=", old.release.clone(), request.release.clone());
        field(
            "Architecture=",
            old.architecture.clone(),
            request.architecture.clone(),
        );
        field(
            "Snapshot=",
            old.snapshot.clone().unwrap_or_default(),
            request.snapshot.clone().unwrap_or_default(),
        );
        field("suites", old.suites.join(" "), request.suites.join(" "));
        field(
            "components",
            old.components.join(" "),
            request.components.join(" "),
        );
        field(
            "base set",
            format!("{:?}", old.base),
            format!("{:?}", request.base),
        );
        field(
            "WithRecommends=",
            old.with_recommends.to_string(),
            request.with_recommends.to_string(),
        );
        for (setting, old, new) in [
            ("Packages=", &old.packages, &request.packages),
            (
                "BuildPackages=",
                &old.build_packages,
                &request.build_packages,
            ),
            ("local package", &old.local_debs, &request.local_debs),
        ] {
            for added in new.iter().filter(|n| !old.contains(n)) {
                stale.push(format!("{setting} `{added}` is not in the lock"));
            }
            for removed in old.iter().filter(|o| !new.contains(o)) {
                stale.push(format!(
                    "{setting} `{removed}` is locked but no longer requested"
                ));
            }
        }
        if stale.is_empty() && request.compute_hash() != old.hash {
            stale.push("the request hash differs from the lock's".to_owned());
        }
        stale
    }
}

/// What changed from one lock to another, package by package (by name and architecture).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockDiff {
    /// Packages only in the newer lock.
    pub added: Vec<LockedPackage>,
    /// Packages only in the older lock.
    pub removed: Vec<LockedPackage>,
    /// Packages in both whose version, suite, file, hash or set differ: `(old, new)`.
    pub changed: Vec<(LockedPackage, LockedPackage)>,
}

impl LockDiff {
    /// Whether both locks pin the same packages.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One line per package: `+ name version (set)`, `- name version (set)`,
/// `~ name old -> new` (with the set or suite when that changed too), sorted by name.
impl fmt::Display for LockDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<(&str, String)> = Vec::new();
        for package in &self.added {
            lines.push((
                package.name.as_str(),
                format!("+ {} {} ({})", package.name, package.version, package.set),
            ));
        }
        for package in &self.removed {
            lines.push((
                package.name.as_str(),
                format!("- {} {} ({})", package.name, package.version, package.set),
            ));
        }
        for (old, new) in &self.changed {
            let mut line = if old.version == new.version {
                format!("~ {} {}", new.name, new.version)
            } else {
                format!("~ {} {} -> {}", new.name, old.version, new.version)
            };
            if old.suite != new.suite {
                line.push_str(&format!(", suite {} -> {}", old.suite, new.suite));
            }
            if old.set != new.set {
                line.push_str(&format!(", {} -> {}", old.set, new.set));
            }
            if old.version == new.version && old.suite == new.suite && old.set == new.set {
                line.push_str(", same version, other file (sha256 or path changed)");
            }
            lines.push((new.name.as_str(), line));
        }
        lines.sort();
        for (_, line) in lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PackageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Image => "image",
            Self::Build => "build",
        })
    }
}

impl Lock {
    /// What changed from `self` (the older lock) to `newer`.
    pub fn diff(&self, newer: &Lock) -> LockDiff {
        let key = |p: &LockedPackage| (p.name.clone(), p.architecture.clone());
        let old: BTreeMap<_, &LockedPackage> = self.packages.iter().map(|p| (key(p), p)).collect();
        let new: BTreeMap<_, &LockedPackage> = newer.packages.iter().map(|p| (key(p), p)).collect();
        let mut diff = LockDiff::default();
        for (k, &package) in &new {
            match old.get(k) {
                None => diff.added.push(package.clone()),
                Some(&before) if before != package => {
                    diff.changed.push((before.clone(), package.clone()));
                }
                Some(_) => {}
            }
        }
        diff.removed = old
            .iter()
            .filter(|(k, _)| !new.contains_key(*k))
            .map(|(_, &p)| p.clone())
            .collect();
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::BaseSet;

    pub(crate) fn request() -> LockRequest {
        LockRequest {
            hash: Sha256([0; 32]),
            release: "trixie".into(),
            architecture: "amd64".into(),
            snapshot: None,
            suites: vec!["trixie".into(), "trixie-updates".into()],
            components: vec!["main".into()],
            base: BaseSet::Essential,
            with_recommends: false,
            packages: vec!["bash".into(), "cargo/trixie-backports".into()],
            build_packages: vec!["make".into()],
            local_debs: Vec::new(),
            installed: Vec::new(),
        }
        .with_hash()
    }

    fn package(name: &str, set: PackageSet) -> LockedPackage {
        LockedPackage {
            name: name.parse().unwrap(),
            version: "1.0-1".parse().unwrap(),
            architecture: "amd64".parse().unwrap(),
            suite: "trixie".into(),
            path: format!("pool/main/{name}_1.0-1_amd64.deb"),
            size: 1234,
            sha256: Sha256::of(name.as_bytes()),
            set,
        }
    }

    #[test]
    fn round_trip_sorted_and_stable() {
        let lock = Lock::new(
            request(),
            vec![LockSource {
                suite: "trixie".into(),
                date: Some("Sat, 12 Sep 2026 07:55:41 UTC".into()),
                release_sha256: Some(Sha256::of(b"release")),
            }],
            vec![
                package("zlib1g", PackageSet::Image),
                package("bash", PackageSet::Image),
                package("make", PackageSet::Build),
            ],
        );
        let text = lock.to_toml();
        assert!(text.find("name = \"bash\"").unwrap() < text.find("name = \"zlib1g\"").unwrap());
        assert!(text.contains("[[package]]") && text.contains("[[source]]"));
        let back = Lock::from_toml(&text).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.to_toml(), text);
        assert_eq!(lock.packages_in(PackageSet::Image).count(), 2);
        assert_eq!(lock.packages_in(PackageSet::Build).count(), 3);
    }

    #[test]
    fn refuses_other_versions_and_edited_requests() {
        let lock = Lock::new(request(), Vec::new(), Vec::new());
        let text = lock.to_toml();
        let err = Lock::from_toml(&text.replace("version = 1", "version = 2")).unwrap_err();
        assert!(err.to_string().contains("format version 2"), "{err}");
        let err = Lock::from_toml(&text.replace("\"make\"", "\"gcc\"")).unwrap_err();
        assert!(err.to_string().contains("edited by hand"), "{err}");
    }

    #[test]
    fn diff_names_added_removed_and_changed_packages() {
        let old = Lock::new(
            request(),
            Vec::new(),
            vec![
                package("bash", PackageSet::Image),
                package("make", PackageSet::Build),
                package("gone", PackageSet::Image),
                package("same", PackageSet::Image),
            ],
        );
        let mut bash = package("bash", PackageSet::Image);
        bash.version = "1.1-1".parse().unwrap();
        let new = Lock::new(
            request(),
            Vec::new(),
            vec![
                bash,
                package("make", PackageSet::Image),
                package("new", PackageSet::Build),
                package("same", PackageSet::Image),
            ],
        );
        assert!(old.diff(&old).is_empty());
        let diff = old.diff(&new);
        assert_eq!(diff.added.len(), 1);
        assert_eq!(diff.removed.len(), 1);
        assert_eq!(diff.changed.len(), 2);
        assert_eq!(
            diff.to_string(),
            "~ bash 1.0-1 -> 1.1-1\n\
             - gone 1.0-1 (image)\n\
             ~ make 1.0-1, build -> image\n\
             + new 1.0-1 (build)\n"
        );
    }

    #[test]
    fn stale_entries_are_named() {
        let lock = Lock::new(request(), Vec::new(), Vec::new());
        assert!(lock.check_against(&request()).is_empty());
        let mut changed = request();
        changed.packages.push("curl".into());
        changed.packages.retain(|p| p != "bash");
        changed.release = "forky".into();
        let changed = changed.with_hash();
        let stale = lock.check_against(&changed);
        assert_eq!(
            stale,
            [
                "Release= changed: the lock has `trixie`, the request `forky`",
                "Packages= `curl` is not in the lock",
                "Packages= `bash` is locked but no longer requested",
            ]
        );
    }
}
