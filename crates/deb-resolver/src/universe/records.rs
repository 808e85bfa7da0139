//! The rows of a [`Universe`](super::Universe): interned ids, origins, packages and their
//! parsed relationships.

use build_vocab::Sha256;
use build_vocab::debian::relation::VersionOp;
use build_vocab::debian::version::DebVersion;

/// An interned package (or virtual package) name.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameId(pub u32);

/// One package version in the universe.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageId(pub u32);

/// Where packages came from: one suite/component of an archive, or a local directory.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginId(pub u16);

/// The suite (or `local`) and component packages of an [`OriginId`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The suite name as requested (`trixie`, `trixie-updates`, `trixie-backports`), or
    /// [`LOCAL_SUITE`] for local `.deb` files.
    pub suite: String,
    /// The component (`main`), empty for local packages.
    pub component: String,
    /// apt's default pin priority of the suite: 500 for normal suites, 100 for
    /// `NotAutomatic: yes` + `ButAutomaticUpgrades: yes` (backports), 1 for `NotAutomatic: yes`
    /// alone (experimental), 1000 for local packages.
    pub priority: i32,
}

/// The suite name recorded for packages read from local `.deb` files.
pub const LOCAL_SUITE: &str = "local";

/// The architecture of a kept package: the native one or `all` (others are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageArch {
    /// The native architecture (`amd64`).
    Native,
    /// `Architecture: all`.
    All,
}

/// The `Multi-Arch` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultiArch {
    /// Absent or `no`.
    #[default]
    No,
    /// `same`.
    Same,
    /// `foreign`: satisfies dependencies of any architecture.
    Foreign,
    /// `allowed`: satisfies `:any` dependencies.
    Allowed,
}

/// The `Priority` field, ordered from most to least important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Priority {
    /// `required`.
    Required,
    /// `important`.
    Important,
    /// `standard`.
    Standard,
    /// `optional`.
    #[default]
    Optional,
    /// `extra` (obsolete).
    Extra,
}

/// The architecture qualifier of a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchQualifier {
    /// No qualifier: the native architecture (or `all`).
    None,
    /// `:any`: any architecture, if the target is `Multi-Arch: allowed`.
    Any,
    /// `:native`, or the native architecture named explicitly.
    Native,
    /// Another architecture named explicitly: only `Multi-Arch: foreign` packages satisfy it
    /// here, since only the native architecture and `all` are loaded.
    Foreign,
}

/// A version constraint of a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The operator.
    pub op: VersionOp,
    /// The version compared against.
    pub version: DebVersion,
}

/// One parsed, interned relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The target name (real or virtual).
    pub name: NameId,
    /// The architecture qualifier.
    pub arch: ArchQualifier,
    /// The version constraint, if any.
    pub constraint: Option<Constraint>,
}

/// One `Provides` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provide {
    /// The provided name.
    pub name: NameId,
    /// The provided version (`Provides: foo (= 1)`), if any; unversioned provides never
    /// satisfy versioned dependencies.
    pub version: Option<DebVersion>,
}

/// One package version with the fields the resolver and the lockfile use.
#[derive(Debug, Clone)]
pub struct Package {
    /// `Package`.
    pub name: NameId,
    /// `Version`.
    pub version: DebVersion,
    /// `Architecture`.
    pub arch: PackageArch,
    /// `Multi-Arch`.
    pub multi_arch: MultiArch,
    /// `Essential: yes`.
    pub essential: bool,
    /// `Priority`.
    pub priority: Priority,
    /// Every relation, flattened: the groups of `Pre-Depends`, `Depends` and `Recommends`,
    /// then `Conflicts`, then `Breaks` (read them with the accessors).
    pub(super) relations: Box<[Dep]>,
    /// End offset in `relations` of each group of alternatives.
    pub(super) group_ends: Box<[u32]>,
    /// Number of groups in `Pre-Depends`, `Depends`, `Recommends`; number of `Conflicts`.
    pub(super) counts: [u16; 4],
    /// `Provides`.
    pub provides: Box<[Provide]>,
    /// `Filename`: the pool path relative to the archive root (the file name for local
    /// packages).
    pub filename: Box<str>,
    /// `Size` in bytes.
    pub size: u64,
    /// `SHA256` of the `.deb`.
    pub sha256: Option<Sha256>,
    /// `Source` (without its version), when it differs from the package name.
    pub source: Option<Box<str>>,
    /// Where this package came from.
    pub origin: OriginId,
}

impl Package {
    fn groups(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &[Dep]> {
        range.map(|index| {
            let start = if index == 0 {
                0
            } else {
                self.group_ends[index - 1] as usize
            };
            &self.relations[start..self.group_ends[index] as usize]
        })
    }

    /// `Pre-Depends`: groups of alternatives.
    pub fn pre_depends(&self) -> impl Iterator<Item = &[Dep]> {
        self.groups(0..usize::from(self.counts[0]))
    }

    /// `Depends`: groups of alternatives.
    pub fn depends(&self) -> impl Iterator<Item = &[Dep]> {
        let start = usize::from(self.counts[0]);
        self.groups(start..start + usize::from(self.counts[1]))
    }

    /// `Recommends`: groups of alternatives.
    pub fn recommends(&self) -> impl Iterator<Item = &[Dep]> {
        let start = usize::from(self.counts[0]) + usize::from(self.counts[1]);
        self.groups(start..start + usize::from(self.counts[2]))
    }

    /// The dependency groups that must hold: `Pre-Depends` then `Depends`.
    pub fn required_groups(&self) -> impl Iterator<Item = &[Dep]> {
        self.groups(0..usize::from(self.counts[0]) + usize::from(self.counts[1]))
    }

    /// The `n`th required group (`Pre-Depends` then `Depends`).
    pub fn required_group(&self, n: usize) -> &[Dep] {
        self.groups(n..n + 1).next().expect("a valid group index")
    }

    /// `Conflicts`.
    pub fn conflicts(&self) -> &[Dep] {
        let start = self.group_ends.last().copied().unwrap_or(0) as usize;
        &self.relations[start..start + usize::from(self.counts[3])]
    }

    /// `Breaks`.
    pub fn breaks(&self) -> &[Dep] {
        let start =
            self.group_ends.last().copied().unwrap_or(0) as usize + usize::from(self.counts[3]);
        &self.relations[start..]
    }
}
