//! The resolvo `DependencyProvider` over a [`Universe`]: version sets for dependencies,
//! unions in apt's provider order, excluded versions with their reasons.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;

use resolvo::{
    Candidates, Condition, ConditionId, ConditionalRequirement, Dependencies, DependencyProvider,
    HintDependenciesAvailable, Interner, KnownDependencies, NameId as RNameId, Requirement,
    SolvableId, SolverCache, StringId, VersionSetId, VersionSetUnionId,
};

use super::{AptChoice, Policy};
use crate::universe::{Dep, NameId, PackageId, Universe};

/// How a version set matches solvables of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Matcher {
    /// Every candidate.
    Any,
    /// Solvables satisfying a dependency, found by its position.
    Dep(DepRef),
}

/// Where a dependency lives in the universe: package, field, group, alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DepRef {
    package: PackageId,
    field: DepField,
    group: u32,
    alternative: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DepField {
    Required,
    Conflicts,
    Breaks,
}

#[derive(Debug, Clone, Copy)]
struct VersionSetDef {
    name: NameId,
    matcher: Matcher,
    /// Conflicts/Breaks: the set is everything *not* matching.
    negate: bool,
}

pub(super) struct Provider<'a> {
    universe: &'a Universe,
    policy: &'a Policy,
    preferred: &'a AptChoice,
    version_sets: RefCell<Vec<VersionSetDef>>,
    unions: RefCell<Vec<Vec<VersionSetId>>>,
    strings: RefCell<Vec<String>>,
    string_ids: RefCell<HashMap<String, StringId>>,
}

impl<'a> Provider<'a> {
    pub(super) fn new(
        universe: &'a Universe,
        policy: &'a Policy,
        preferred: &'a AptChoice,
    ) -> Self {
        Self {
            universe,
            policy,
            preferred,
            version_sets: RefCell::default(),
            unions: RefCell::default(),
            strings: RefCell::default(),
            string_ids: RefCell::default(),
        }
    }

    pub(super) fn version_set(&self, name: NameId, matcher: Matcher, negate: bool) -> VersionSetId {
        let mut sets = self.version_sets.borrow_mut();
        sets.push(VersionSetDef {
            name,
            matcher,
            negate,
        });
        VersionSetId(sets.len() as u32 - 1)
    }

    fn string(&self, text: String) -> StringId {
        if let Some(&id) = self.string_ids.borrow().get(&text) {
            return id;
        }
        let mut strings = self.strings.borrow_mut();
        let id = StringId(strings.len() as u32);
        strings.push(text.clone());
        self.string_ids.borrow_mut().insert(text, id);
        id
    }

    fn dep(&self, at: DepRef) -> &'a Dep {
        let package = self.universe.package(at.package);
        match at.field {
            DepField::Required => {
                &package.required_group(at.group as usize)[at.alternative as usize]
            }
            DepField::Conflicts => &package.conflicts()[at.group as usize],
            DepField::Breaks => &package.breaks()[at.group as usize],
        }
    }

    fn matches(&self, set: &VersionSetDef, id: PackageId) -> bool {
        let found = match set.matcher {
            Matcher::Any => true,
            Matcher::Dep(at) => {
                let for_conflict = matches!(at.field, DepField::Conflicts | DepField::Breaks);
                self.universe.satisfies(id, self.dep(at), for_conflict)
            }
        };
        found != set.negate
    }

    /// The names (real first, then providers in apt's order) whose candidate satisfies `dep`.
    fn satisfying_names(&self, dep: &Dep, for_conflict: bool, owner: NameId) -> Vec<NameId> {
        let universe = self.universe;
        let mut names = Vec::new();
        let real = universe.packages_named(dep.name);
        let real_matches = real.iter().any(|&id| {
            if for_conflict {
                universe.satisfies(id, dep, true)
            } else {
                self.policy.is_candidate(universe, id) && universe.satisfies(id, dep, false)
            }
        });
        if real_matches {
            names.push(dep.name);
        }
        let mut providers: Vec<PackageId> = universe
            .providers_of(dep.name)
            .iter()
            .copied()
            .filter(|&id| universe.package(id).name != dep.name)
            .filter(|&id| {
                if for_conflict {
                    universe.satisfies(id, dep, true)
                } else {
                    self.policy.is_candidate(universe, id) && universe.satisfies(id, dep, false)
                }
            })
            .collect();
        providers.sort_by(|&a, &b| compare_providers(universe, &self.preferred.installed, a, b));
        for id in providers {
            let name = universe.package(id).name;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if for_conflict {
            names.retain(|&name| name != owner);
        } else {
            // apt's own choice (when its greedy pass made one) is tried first.
            let chosen = |name: &NameId| {
                self.policy
                    .candidate_of(*name)
                    .is_some_and(|id| self.preferred.marked.contains(&id))
            };
            let (mut first, rest): (Vec<NameId>, Vec<NameId>) = names.into_iter().partition(chosen);
            first.extend(rest);
            names = first;
        }
        names
    }

    fn requirement_for_group(
        &self,
        id: PackageId,
        field: DepField,
        group: u32,
        deps: &[Dep],
    ) -> Requirement {
        let owner = self.universe.package(id).name;
        let mut sets = Vec::new();
        for (alternative, dep) in deps.iter().enumerate() {
            let at = DepRef {
                package: id,
                field,
                group,
                alternative: alternative as u32,
            };
            for name in self.satisfying_names(dep, false, owner) {
                sets.push(self.version_set(name, Matcher::Dep(at), false));
            }
        }
        if sets.is_empty() {
            // Nothing satisfies the group: a set on the first name, which has no match, makes
            // the solver report "no candidates" with the dependency spelled out.
            let at = DepRef {
                package: id,
                field,
                group,
                alternative: 0,
            };
            sets.push(self.version_set(deps[0].name, Matcher::Dep(at), false));
        }
        if sets.len() == 1 {
            Requirement::Single(sets[0])
        } else {
            let mut unions = self.unions.borrow_mut();
            unions.push(sets);
            Requirement::Union(VersionSetUnionId(unions.len() as u32 - 1))
        }
    }
}

impl Interner for Provider<'_> {
    fn display_solvable(&self, solvable: SolvableId) -> impl fmt::Display + '_ {
        let package = self.universe.package(PackageId(solvable.0));
        format!(
            "{} {} ({})",
            self.universe.name(package.name),
            package.version,
            self.universe.origin(package.origin).suite
        )
    }

    fn display_merged_solvables(&self, solvables: &[SolvableId]) -> impl fmt::Display + '_ {
        let mut items: Vec<String> = solvables
            .iter()
            .map(|&s| self.display_solvable(s).to_string())
            .collect();
        items.sort();
        items.dedup();
        items.join(" | ")
    }

    fn display_name(&self, name: RNameId) -> impl fmt::Display + '_ {
        self.universe.name(NameId(name.0)).to_owned()
    }

    fn display_version_set(&self, version_set: VersionSetId) -> impl fmt::Display + '_ {
        let set = self.version_sets.borrow()[version_set.0 as usize];
        let text = match set.matcher {
            Matcher::Any => "*".to_owned(),
            Matcher::Dep(at) => {
                let dep = self.dep(at);
                let mut text = String::new();
                if dep.name != set.name {
                    text.push_str(&format!("providing {}", self.universe.display_dep(dep)));
                } else if let Some(c) = &dep.constraint {
                    text.push_str(&format!("({} {})", c.op, c.version));
                } else {
                    text.push('*');
                }
                text
            }
        };
        if set.negate {
            format!("not {text}")
        } else {
            text
        }
    }

    fn display_string(&self, string_id: StringId) -> impl fmt::Display + '_ {
        self.strings.borrow()[string_id.0 as usize].clone()
    }

    fn version_set_name(&self, version_set: VersionSetId) -> RNameId {
        RNameId(self.version_sets.borrow()[version_set.0 as usize].name.0)
    }

    fn solvable_name(&self, solvable: SolvableId) -> RNameId {
        RNameId(self.universe.package(PackageId(solvable.0)).name.0)
    }

    fn version_sets_in_union(
        &self,
        version_set_union: VersionSetUnionId,
    ) -> impl Iterator<Item = VersionSetId> {
        self.unions.borrow()[version_set_union.0 as usize]
            .clone()
            .into_iter()
    }

    fn resolve_condition(&self, _condition: ConditionId) -> Condition {
        unreachable!("no conditional requirements are created")
    }
}

impl DependencyProvider for Provider<'_> {
    async fn filter_candidates(
        &self,
        candidates: &[SolvableId],
        version_set: VersionSetId,
        inverse: bool,
    ) -> Vec<SolvableId> {
        let set = self.version_sets.borrow()[version_set.0 as usize];
        candidates
            .iter()
            .copied()
            .filter(|&s| self.matches(&set, PackageId(s.0)) != inverse)
            .collect()
    }

    async fn get_candidates(&self, name: RNameId) -> Option<Candidates> {
        let name = NameId(name.0);
        let ids = self.universe.packages_named(name);
        if ids.is_empty() {
            return None;
        }
        let candidate = self.policy.candidate_of(name);
        let mut candidates = Candidates {
            candidates: ids.iter().map(|id| SolvableId(id.0)).collect(),
            hint_dependencies_available: HintDependenciesAvailable::All,
            ..Candidates::default()
        };
        for &id in ids {
            if Some(id) != candidate {
                let reason = self.string(self.policy.exclusion_reason(self.universe, id));
                candidates.excluded.push((SolvableId(id.0), reason));
            }
        }
        Some(candidates)
    }

    async fn sort_candidates(&self, _solver: &SolverCache<Self>, solvables: &mut [SolvableId]) {
        let universe = self.universe;
        solvables.sort_by(|a, b| {
            let (a, b) = (PackageId(a.0), PackageId(b.0));
            let priority = |id| self.policy.priority.get(&id).copied().unwrap_or(i32::MIN);
            priority(b)
                .cmp(&priority(a))
                .then_with(|| {
                    universe
                        .package(b)
                        .version
                        .cmp(&universe.package(a).version)
                })
                .then(a.cmp(&b))
        });
    }

    async fn get_dependencies(&self, solvable: SolvableId) -> Dependencies {
        let id = PackageId(solvable.0);
        let package = self.universe.package(id);
        let mut known = KnownDependencies::default();
        for (group, deps) in package.required_groups().enumerate() {
            let requirement =
                self.requirement_for_group(id, DepField::Required, group as u32, deps);
            known
                .requirements
                .push(ConditionalRequirement::from(requirement));
        }
        for (field, list) in [
            (DepField::Conflicts, package.conflicts()),
            (DepField::Breaks, package.breaks()),
        ] {
            for (index, dep) in list.iter().enumerate() {
                let at = DepRef {
                    package: id,
                    field,
                    group: index as u32,
                    alternative: 0,
                };
                for name in self.satisfying_names(dep, true, package.name) {
                    known
                        .constrains
                        .push(self.version_set(name, Matcher::Dep(at), true));
                }
            }
        }
        Dependencies::Known(known)
    }
}

/// apt's provider order (`CompareProviders` in apt's depcache): installed first, then the
/// package named like the target, essential ones, higher `Priority`, and last the package
/// apt's cache created later (approximated by the later interned name).
pub(super) fn compare_providers(
    universe: &Universe,
    installed: &HashSet<PackageId>,
    a: PackageId,
    b: PackageId,
) -> std::cmp::Ordering {
    let (pa, pb) = (universe.package(a), universe.package(b));
    installed
        .contains(&b)
        .cmp(&installed.contains(&a))
        .then(pb.essential.cmp(&pa.essential))
        .then(pa.priority.cmp(&pb.priority))
        .then(pb.name.cmp(&pa.name))
}
