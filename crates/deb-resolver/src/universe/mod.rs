//! [`Universe`]: every package the indexes offer, in a compact in-memory form.
//!
//! Names are interned once ([`NameId`]); packages are rows addressed by [`PackageId`]; each
//! package knows the [`Origin`] (suite and component, or a local directory) it came from.
//! Relationship fields are parsed into [`Dep`]s whose names are interned too, so the solver
//! compares integers and pre-parsed versions, never strings. Only the fields the resolver and
//! the lockfile need are kept (`Package Version Architecture Multi-Arch Essential Priority
//! Depends Pre-Depends Recommends Provides Conflicts Breaks Filename Size SHA256 Source`).
//!
//! Everything here is pure: indexes arrive as `&str`, already verified by the caller.
//! [`records`] holds the rows (ids, origins, packages, dependencies), `ingest` fills the
//! universe from indexes and paragraphs, and this module is the store and dpkg's rules for
//! which package satisfies a dependency.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

mod ingest;
pub mod records;

pub use records::{
    ArchQualifier, Constraint, Dep, LOCAL_SUITE, MultiArch, NameId, Origin, OriginId, Package,
    PackageArch, PackageId, Priority, Provide,
};

/// A small, fast, deterministic hasher for interned names (FxHash).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// All packages of the loaded indexes and local `.deb`s.
#[derive(Debug, Clone)]
pub struct Universe {
    native_arch: String,
    names: Vec<Box<str>>,
    name_index: HashMap<Box<str>, NameId, FxBuild>,
    packages: Vec<Package>,
    origins: Vec<Origin>,
    /// Packages of each name, indexed by `NameId`.
    real: Vec<Vec<PackageId>>,
    /// Packages providing each name, indexed by `NameId`.
    providers: Vec<Vec<PackageId>>,
    /// Reused buffers of [`Universe::add_paragraph`].
    scratch: (Vec<Dep>, Vec<u32>),
}

impl Universe {
    /// An empty universe for one native architecture (Debian's name: `amd64`).
    pub fn new(native_arch: &str) -> Self {
        Self {
            native_arch: native_arch.to_owned(),
            names: Vec::new(),
            name_index: HashMap::default(),
            packages: Vec::new(),
            origins: Vec::new(),
            real: Vec::new(),
            providers: Vec::new(),
            scratch: (Vec::new(), Vec::new()),
        }
    }

    /// The native architecture.
    pub fn native_arch(&self) -> &str {
        &self.native_arch
    }

    /// Registers where the next packages come from.
    pub fn add_origin(&mut self, origin: Origin) -> OriginId {
        let id = OriginId(u16::try_from(self.origins.len()).expect("fewer than 65536 origins"));
        self.origins.push(origin);
        id
    }

    /// The origin of an id.
    pub fn origin(&self, id: OriginId) -> &Origin {
        &self.origins[usize::from(id.0)]
    }

    /// Every origin, in the order they were added.
    pub fn origins(&self) -> impl Iterator<Item = (OriginId, &Origin)> {
        self.origins.iter().enumerate().map(|(index, origin)| {
            let id = u16::try_from(index).expect("fewer than 65536 origins");
            (OriginId(id), origin)
        })
    }

    /// The origin of a package.
    pub fn origin_of(&self, id: PackageId) -> &Origin {
        self.origin(self.package(id).origin)
    }

    /// Interns a name.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.name_index.get(name) {
            return id;
        }
        let id = NameId(u32::try_from(self.names.len()).expect("fewer than 2^32 names"));
        let boxed: Box<str> = name.into();
        self.names.push(boxed.clone());
        self.name_index.insert(boxed, id);
        self.real.push(Vec::new());
        self.providers.push(Vec::new());
        id
    }

    /// The id of a name, if any index mentions it.
    pub fn lookup(&self, name: &str) -> Option<NameId> {
        self.name_index.get(name).copied()
    }

    /// The text of a name.
    pub fn name(&self, id: NameId) -> &str {
        &self.names[id.0 as usize]
    }

    /// Every interned name with its id.
    pub fn names(&self) -> impl Iterator<Item = (NameId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, name)| (NameId(i as u32), &**name))
    }

    /// A package.
    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id.0 as usize]
    }

    /// The number of packages.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package was loaded.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// Every package with its id, in load order.
    pub fn packages(&self) -> impl Iterator<Item = (PackageId, &Package)> {
        self.packages
            .iter()
            .enumerate()
            .map(|(i, package)| (PackageId(i as u32), package))
    }

    /// The packages whose `Package` is this name.
    pub fn packages_named(&self, name: NameId) -> &[PackageId] {
        self.real.get(name.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// The packages that provide this name.
    pub fn providers_of(&self, name: NameId) -> &[PackageId] {
        self.providers
            .get(name.0 as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// `name version arch` for messages.
    pub fn describe(&self, id: PackageId) -> String {
        let package = self.package(id);
        format!(
            "{} {} ({})",
            self.name(package.name),
            package.version,
            self.origin(package.origin).suite
        )
    }

    /// Whether `package` satisfies `dep`, by its own name or through `Provides`, with dpkg's
    /// architecture rules. `for_conflict` widens `:any` as dpkg does for Conflicts/Breaks.
    pub fn satisfies(&self, id: PackageId, dep: &Dep, for_conflict: bool) -> bool {
        let package = self.package(id);
        if !self.arch_satisfies(package, dep.arch, for_conflict) {
            return false;
        }
        if package.name == dep.name {
            let matches = match &dep.constraint {
                None => true,
                Some(c) => c.op.holds(&package.version, &c.version),
            };
            if matches {
                return true;
            }
        }
        package.provides.iter().any(|provide| {
            provide.name == dep.name
                && match (&dep.constraint, &provide.version) {
                    (None, _) => true,
                    (Some(c), Some(version)) => c.op.holds(version, &c.version),
                    (Some(_), None) => false,
                }
        })
    }

    /// dpkg's `deparchsatisfied`, for a universe of the native architecture and `all`.
    fn arch_satisfies(
        &self,
        package: &Package,
        qualifier: ArchQualifier,
        for_conflict: bool,
    ) -> bool {
        if package.multi_arch == MultiArch::Foreign {
            return true;
        }
        match qualifier {
            ArchQualifier::None | ArchQualifier::Native => true,
            ArchQualifier::Any => for_conflict || package.multi_arch == MultiArch::Allowed,
            ArchQualifier::Foreign => false,
        }
    }

    /// Formats a dependency as in a control file (`libc6:any (>= 2.36)`).
    pub fn display_dep<'a>(&'a self, dep: &'a Dep) -> impl fmt::Display + 'a {
        DisplayDep {
            universe: self,
            dep,
        }
    }
}

struct DisplayDep<'a> {
    universe: &'a Universe,
    dep: &'a Dep,
}

impl fmt::Display for DisplayDep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.universe.name(self.dep.name))?;
        match self.dep.arch {
            ArchQualifier::None => {}
            ArchQualifier::Any => f.write_str(":any")?,
            ArchQualifier::Native => f.write_str(":native")?,
            ArchQualifier::Foreign => f.write_str(":<foreign>")?,
        }
        if let Some(c) = &self.dep.constraint {
            write!(f, " ({} {})", c.op, c.version)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const INDEX: &str = "\
Package: perl
Version: 5.40.1-6
Architecture: amd64
Multi-Arch: allowed
Priority: standard
Depends: perl-base (= 5.40.1-6), libperl5.40 (= 5.40.1-6)
Provides: perl5 (= 5.40.1), perlapi-5.40.1
Filename: pool/main/p/perl/perl_5.40.1-6_amd64.deb
Size: 265312
SHA256: 0000000000000000000000000000000000000000000000000000000000000001

Package: mawk
Version: 1.3.4.20250131-1
Architecture: amd64
Multi-Arch: foreign
Priority: required
Essential: yes
Provides: awk
Source: mawk (1.3.4.20250131-1)

Package: foreign-thing
Version: 1
Architecture: arm64
";

    #[test]
    fn parses_and_indexes() {
        let mut universe = Universe::new("amd64");
        let origin = universe.add_origin(Origin {
            suite: "trixie".into(),
            component: "main".into(),
            priority: 500,
        });
        assert_eq!(universe.add_packages_index(INDEX, origin).unwrap(), 2);
        let perl = universe.lookup("perl").unwrap();
        let id = universe.packages_named(perl)[0];
        let package = universe.package(id);
        assert_eq!(package.version.to_string(), "5.40.1-6");
        assert_eq!(package.multi_arch, MultiArch::Allowed);
        assert_eq!(package.depends().count(), 2);
        assert_eq!(
            package.required_group(1)[0].name,
            universe.lookup("libperl5.40").unwrap()
        );
        assert!(package.conflicts().is_empty() && package.breaks().is_empty());
        assert_eq!(package.size, 265312);
        let awk = universe.lookup("awk").unwrap();
        assert_eq!(universe.providers_of(awk).len(), 1);
        let mawk = universe.package(universe.providers_of(awk)[0]);
        assert!(mawk.essential);
        assert_eq!(mawk.priority, Priority::Required);
        assert_eq!(mawk.source, None);
        assert!(universe.lookup("foreign-thing").is_none());
    }

    #[test]
    fn parallel_parse_equals_sequential_parse() {
        // A synthetic index large enough to be split, with names first seen in either half.
        let mut text = String::new();
        for i in 0..12_000 {
            text.push_str(&format!(
                "Package: p{i}\nVersion: 1.{i}-1\nArchitecture: amd64\nDepends: p{} (>= 1), v{} | p0\nProvides: v{}\nSuggests: s{}\nDescription: {}\n\n",
                (i * 7919) % 12_000,
                i % 97,
                i % 89,
                (i * 31) % 12_000,
                "x".repeat(300)
            ));
        }
        assert!(text.len() > 4 << 20);
        let origin = Origin {
            suite: "trixie".into(),
            component: "main".into(),
            priority: 500,
        };
        let mut parallel = Universe::new("amd64");
        let o = parallel.add_origin(origin.clone());
        assert_eq!(parallel.add_packages_index(&text, o).unwrap(), 12_000);
        let mut sequential = Universe::new("amd64");
        let o = sequential.add_origin(origin);
        sequential.add_index_part(&text, o).unwrap();
        assert_eq!(parallel.names, sequential.names);
        assert_eq!(parallel.real, sequential.real);
        assert_eq!(parallel.providers, sequential.providers);
        for ((_, a), (_, b)) in parallel.packages().zip(sequential.packages()) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.relations, b.relations);
            assert_eq!(a.provides, b.provides);
        }
        // An error in the second half names its line in the whole text.
        let bad = format!("{text}Package: broken\nVersion: a\nArchitecture: amd64\n");
        let mut universe = Universe::new("amd64");
        let o = universe.add_origin(Origin {
            suite: "trixie".into(),
            component: "main".into(),
            priority: 500,
        });
        let err = universe.add_packages_index(&bad, o).unwrap_err();
        let expected_line = bad.lines().position(|l| l == "Version: a").unwrap() + 1;
        assert!(
            matches!(err, Error::Parse { line, .. } if line == expected_line),
            "{err}"
        );
    }

    #[test]
    fn dpkg_satisfaction_rules() {
        let mut universe = Universe::new("amd64");
        let origin = universe.add_origin(Origin {
            suite: "trixie".into(),
            component: "main".into(),
            priority: 500,
        });
        universe.add_packages_index(INDEX, origin).unwrap();
        let perl = universe.packages_named(universe.lookup("perl").unwrap())[0];
        let mawk = universe.packages_named(universe.lookup("mawk").unwrap())[0];
        let dep = |universe: &mut Universe, text: &str| {
            let relation = build_vocab::debian::relation::parse_relation(text).unwrap();
            universe.dep(&relation).unwrap()
        };
        let cases = [
            (perl, "perl:any", true),
            (perl, "perl (>= 5.40)", true),
            (perl, "perl (<< 5.40)", false),
            (perl, "perl5 (>= 5.40)", true),
            (perl, "perlapi-5.40.1", true),
            (perl, "perlapi-5.40.1 (>= 1)", false),
            (perl, "perl:arm64", false),
            (mawk, "awk", true),
            (mawk, "mawk:arm64", true),
        ];
        for (package, text, expected) in cases {
            let d = dep(&mut universe, text);
            assert_eq!(universe.satisfies(package, &d, false), expected, "{text}");
        }
        let any = dep(&mut universe, "mawk:any");
        assert!(
            universe.satisfies(mawk, &any, false),
            "foreign satisfies :any"
        );
    }
}
