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

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

use crate::control::{Paragraph, paragraphs};
use crate::error::Error;
use crate::relation::{Relation, VersionOp, parse_relation, parse_relation_list};
use crate::version::DebVersion;
use build_vocab::Sha256;

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
    relations: Box<[Dep]>,
    /// End offset in `relations` of each group of alternatives.
    group_ends: Box<[u32]>,
    /// Number of groups in `Pre-Depends`, `Depends`, `Recommends`; number of `Conflicts`.
    counts: [u16; 4],
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

    /// Parses a whole `Packages` index and adds its packages under `origin`.
    ///
    /// Packages of foreign architectures are skipped. Returns how many were added. A large
    /// index is parsed in two halves on two threads and merged; the result (ids, order,
    /// errors) is exactly that of a sequential parse.
    pub fn add_packages_index(&mut self, text: &str, origin: OriginId) -> Result<usize, Error> {
        const PARALLEL_ABOVE: usize = 4 << 20;
        let split = (text.len() > PARALLEL_ABOVE)
            .then(|| memchr::memmem::find(&text.as_bytes()[text.len() / 2..], b"\n\n"))
            .flatten()
            .map(|at| text.len() / 2 + at + 2);
        let Some(split) = split else {
            return self.add_index_part(text, origin);
        };
        let (first, second) = text.split_at(split);
        let lines_before = memchr::memchr_iter(b'\n', first.as_bytes()).count();
        let mut fragment = Universe::new(&self.native_arch);
        fragment.origins = self.origins.clone();
        let (first_result, second_result) = std::thread::scope(|scope| {
            let second_half = scope.spawn(|| fragment.add_index_part(second, origin));
            let first_result = self.add_index_part(first, origin);
            (
                first_result,
                second_half.join().expect("the parser does not panic"),
            )
        });
        let added = first_result?;
        let added_second = second_result.map_err(|error| match error {
            Error::Parse {
                origin,
                line,
                message,
            } => Error::Parse {
                origin,
                line: line + lines_before,
                message,
            },
            other => other,
        })?;
        self.merge(fragment);
        Ok(added + added_second)
    }

    fn add_index_part(&mut self, text: &str, origin: OriginId) -> Result<usize, Error> {
        // A Debian index has a package per ~800 bytes and about one new name per package:
        // reserving up front avoids repeated reallocation of the big tables.
        let estimate = text.len() / 800;
        self.packages.reserve(estimate);
        self.names.reserve(estimate);
        self.real.reserve(estimate);
        self.providers.reserve(estimate);
        self.name_index.reserve(estimate);
        let mut added = 0;
        let mut reader = paragraphs(text);
        let mut paragraph = Paragraph::default();
        while reader.read_into(&mut paragraph)? {
            if self.add_paragraph(&paragraph, origin, None)?.is_some() {
                added += 1;
            }
        }
        Ok(added)
    }

    /// Appends the packages of a universe parsed from the text that follows this one's,
    /// renumbering its names as if it had been parsed here.
    fn merge(&mut self, fragment: Universe) {
        let map: Vec<NameId> = fragment
            .names
            .iter()
            .map(|name| self.intern(name))
            .collect();
        let renumber = |id: NameId| map[id.0 as usize];
        let base = self.packages.len();
        self.packages.reserve(fragment.packages.len());
        for (index, mut package) in fragment.packages.into_iter().enumerate() {
            let id = PackageId(u32::try_from(base + index).expect("fewer than 2^32 packages"));
            package.name = renumber(package.name);
            for dep in package.relations.iter_mut() {
                dep.name = renumber(dep.name);
            }
            for provide in package.provides.iter_mut() {
                provide.name = renumber(provide.name);
            }
            self.real[package.name.0 as usize].push(id);
            for provide in package.provides.iter() {
                let list = &mut self.providers[provide.name.0 as usize];
                if list.last() != Some(&id) {
                    list.push(id);
                }
            }
            self.packages.push(package);
        }
    }

    /// Adds one package from its control paragraph. `file` overrides `Filename`, `Size` and
    /// `SHA256` (for local `.deb`s, whose control has none). Returns `None` for packages of a
    /// foreign architecture.
    pub fn add_paragraph(
        &mut self,
        paragraph: &Paragraph<'_>,
        origin: OriginId,
        file: Option<(&str, u64, Sha256)>,
    ) -> Result<Option<PackageId>, Error> {
        let mut name = None;
        let mut version = None;
        let mut arch = None;
        let mut multi_arch = MultiArch::No;
        let mut essential = false;
        let mut priority = Priority::default();
        let (mut depends, mut pre_depends, mut recommends) = ("", "", "");
        let (mut conflicts, mut breaks, mut provides) = ("", "", "");
        let (mut suggests, mut replaces, mut enhances) = ("", "", "");
        let mut filename = "";
        let mut size = 0u64;
        let mut sha256 = None;
        let mut source = None;
        for field in &paragraph.fields {
            let value = field.value;
            let bad = |message: String| Error::parse(field.line, message);
            match field.name {
                "Package" => name = Some(value.trim()),
                "Version" => version = Some(value),
                "Architecture" => arch = Some(value.trim()),
                "Multi-Arch" => {
                    multi_arch = match value.trim() {
                        "same" => MultiArch::Same,
                        "foreign" => MultiArch::Foreign,
                        "allowed" => MultiArch::Allowed,
                        _ => MultiArch::No,
                    }
                }
                "Essential" => essential = value.trim() == "yes",
                "Priority" => {
                    priority = match value.trim() {
                        "required" => Priority::Required,
                        "important" => Priority::Important,
                        "standard" => Priority::Standard,
                        "extra" => Priority::Extra,
                        _ => Priority::Optional,
                    }
                }
                "Depends" => depends = value,
                "Pre-Depends" => pre_depends = value,
                "Recommends" => recommends = value,
                "Conflicts" => conflicts = value,
                "Breaks" => breaks = value,
                "Provides" => provides = value,
                "Suggests" => suggests = value,
                "Replaces" => replaces = value,
                "Enhances" => enhances = value,
                "Filename" => filename = value.trim(),
                "Size" => {
                    size = value
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("invalid Size `{value}`")))?
                }
                "SHA256" => {
                    sha256 = Some(
                        Sha256::from_hex(value.trim())
                            .ok_or_else(|| bad(format!("invalid SHA256 `{value}`")))?,
                    )
                }
                "Source" => {
                    source = Some(value.split_whitespace().next().unwrap_or_default());
                }
                _ => {}
            }
        }
        let line = paragraph.line;
        let name = name.ok_or_else(|| Error::parse(line, "paragraph without Package"))?;
        let version = version
            .ok_or_else(|| Error::parse(line, format!("package `{name}` has no Version")))?;
        let arch = arch
            .ok_or_else(|| Error::parse(line, format!("package `{name}` has no Architecture")))?;
        let arch = if arch == "all" {
            PackageArch::All
        } else if arch == self.native_arch {
            PackageArch::Native
        } else {
            return Ok(None);
        };
        let at = |field: &str| paragraph.line_of(field);
        let version = DebVersion::parse(version)
            .map_err(|e| Error::parse(at("Version"), format!("package `{name}`: {e}")))?;
        // Names are interned in the order apt's cache creates packages (the package, then
        // the targets of Pre-Depends, Depends, Conflicts, Breaks, Recommends, Suggests,
        // Replaces, Enhances, then Provides), so `NameId` order follows apt's package ids,
        // which apt uses as its last tie-break.
        let name_id = self.intern(name);
        let (mut relations, mut ends) = std::mem::take(&mut self.scratch);
        relations.clear();
        ends.clear();
        let mut counts = [0u16; 4];
        let mut parse = |universe: &mut Self| -> Result<(), Error> {
            counts[0] = universe
                .push_groups(pre_depends, &mut relations, &mut ends)
                .map_err(|e| relocate(e, at("Pre-Depends")))?;
            counts[1] = universe
                .push_groups(depends, &mut relations, &mut ends)
                .map_err(|e| relocate(e, at("Depends")))?;
            counts[3] = universe
                .push_list(conflicts, &mut relations)
                .map_err(|e| relocate(e, at("Conflicts")))?;
            universe
                .push_list(breaks, &mut relations)
                .map_err(|e| relocate(e, at("Breaks")))?;
            // Recommends are interned after Conflicts/Breaks (apt's order) but stored before
            // them: move the Conflicts/Breaks block behind the Recommends groups.
            let negative: Vec<Dep> = relations
                .drain(ends.last().copied().unwrap_or(0) as usize..)
                .collect();
            counts[2] = universe
                .push_groups(recommends, &mut relations, &mut ends)
                .map_err(|e| relocate(e, at("Recommends")))?;
            relations.extend(negative);
            Ok(())
        };
        let parsed = parse(self);
        let package_relations: Box<[Dep]> = relations.as_slice().into();
        let group_ends: Box<[u32]> = ends.as_slice().into();
        self.scratch = (relations, ends);
        parsed?;
        for text in [suggests, replaces, enhances] {
            self.intern_names_of(text);
        }
        let provides = self
            .provides(provides)
            .map_err(|e| relocate(e, at("Provides")))?;
        let (filename, size, sha256) = match file {
            Some((file, size, sha256)) => (file, size, Some(sha256)),
            None => (filename, size, sha256),
        };
        let id = PackageId(u32::try_from(self.packages.len()).expect("fewer than 2^32 packages"));
        self.real[name_id.0 as usize].push(id);
        for provide in &provides {
            let list = &mut self.providers[provide.name.0 as usize];
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
        self.packages.push(Package {
            name: name_id,
            version,
            arch,
            multi_arch,
            essential,
            priority,
            relations: package_relations,
            group_ends,
            counts,
            provides,
            filename: filename.into(),
            size,
            sha256,
            source: source.filter(|s| *s != name).map(Into::into),
            origin,
        });
        Ok(Some(id))
    }

    /// Interns the names a relationship field mentions, without keeping the relations (for
    /// fields the resolver does not use); malformed entries are skipped.
    fn intern_names_of(&mut self, text: &str) {
        for item in split_bytes(text, b',').flat_map(|group| split_bytes(group, b'|')) {
            let name = item
                .trim_start()
                .split(|c: char| c.is_whitespace() || c == '(' || c == ':' || c == '[')
                .next()
                .unwrap_or_default();
            if !name.is_empty() {
                self.intern(name);
            }
        }
    }

    fn dep(&mut self, relation: &Relation<'_>) -> Result<Dep, Error> {
        let arch = match relation.arch {
            None => ArchQualifier::None,
            Some("any") => ArchQualifier::Any,
            Some("native") => ArchQualifier::Native,
            Some(arch) if arch == self.native_arch => ArchQualifier::Native,
            Some(_) => ArchQualifier::Foreign,
        };
        let constraint = match relation.constraint {
            None => None,
            Some((op, version)) => Some(Constraint {
                op,
                version: DebVersion::parse(version).map_err(|e| Error::parse(0, e.to_string()))?,
            }),
        };
        Ok(Dep {
            name: self.intern(relation.name),
            arch,
            constraint,
        })
    }

    /// Parses groups of alternatives into `relations`, recording each group's end.
    fn push_groups(
        &mut self,
        text: &str,
        relations: &mut Vec<Dep>,
        ends: &mut Vec<u32>,
    ) -> Result<u16, Error> {
        let mut count = 0u16;
        for group in split_bytes(text, b',') {
            if is_blank(group) {
                continue;
            }
            for alternative in split_bytes(group, b'|') {
                let relation = parse_relation(alternative)?;
                relations.push(self.dep(&relation)?);
            }
            ends.push(
                u32::try_from(relations.len())
                    .map_err(|_| Error::parse(0, "too many relations"))?,
            );
            count = count
                .checked_add(1)
                .ok_or_else(|| Error::parse(0, "too many relation groups"))?;
        }
        Ok(count)
    }

    /// Parses a field without alternatives into `relations`.
    fn push_list(&mut self, text: &str, relations: &mut Vec<Dep>) -> Result<u16, Error> {
        let mut count = 0u16;
        for item in split_bytes(text, b',') {
            if is_blank(item) {
                continue;
            }
            if memchr::memchr(b'|', item.as_bytes()).is_some() {
                return Err(Error::parse(
                    0,
                    format!("alternatives (`|`) are not allowed here: `{}`", text.trim()),
                ));
            }
            let relation = parse_relation(item)?;
            relations.push(self.dep(&relation)?);
            count = count
                .checked_add(1)
                .ok_or_else(|| Error::parse(0, "too many relations"))?;
        }
        Ok(count)
    }

    fn provides(&mut self, text: &str) -> Result<Box<[Provide]>, Error> {
        if text.is_empty() {
            return Ok(Box::default());
        }
        parse_relation_list(text)?
            .iter()
            .map(|relation| {
                let version = match relation.constraint {
                    None => None,
                    Some((VersionOp::Eq, version)) => Some(
                        DebVersion::parse(version).map_err(|e| Error::parse(0, e.to_string()))?,
                    ),
                    Some((op, _)) => {
                        return Err(Error::parse(
                            0,
                            format!("Provides only allows `=`, not `{op}`"),
                        ));
                    }
                };
                Ok(Provide {
                    name: self.intern(relation.name),
                    version,
                })
            })
            .collect()
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

/// Splits on an ASCII separator with memchr (faster than `str::split` on a `char`).
fn split_bytes(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(separator, current.as_bytes()) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

fn relocate(error: Error, line: usize) -> Error {
    match error {
        Error::Parse {
            origin, message, ..
        } => Error::Parse {
            origin,
            line,
            message,
        },
        other => other,
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
            let relation = crate::relation::parse_relation(text).unwrap();
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
