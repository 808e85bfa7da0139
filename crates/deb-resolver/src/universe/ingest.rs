//! Filling a [`Universe`]: `Packages` indexes (a large one parsed in two halves on two
//! threads, merged to exactly what a sequential parse gives) and single paragraphs, with
//! their relationship fields parsed and their names interned.

use crate::error::Error;
use build_vocab::Sha256;
use build_vocab::debian::deb822::{Paragraph, paragraphs};
use build_vocab::debian::relation::{Relation, VersionOp, parse_relation, parse_relation_list};
use build_vocab::debian::version::DebVersion;

use super::{
    ArchQualifier, Constraint, Dep, MultiArch, NameId, OriginId, Package, PackageArch, PackageId,
    Priority, Provide, Universe,
};

impl Universe {
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

    pub(super) fn add_index_part(&mut self, text: &str, origin: OriginId) -> Result<usize, Error> {
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

    pub(super) fn dep(&mut self, relation: &Relation<'_>) -> Result<Dep, Error> {
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
