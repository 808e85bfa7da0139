//! apt's greedy `MarkInstall` choices, replayed so the SAT solver prefers them.

use std::collections::{HashMap, HashSet};

use super::provider::compare_providers;
use super::{Policy, RootReason};
use crate::universe::{Dep, NameId, PackageId, Universe};

/// What apt's own resolver would mark, computed greedily as apt's `MarkInstall` does it:
/// requested packages marked first, then each one's dependencies depth first in field order;
/// an or-group already satisfied by a marked package is skipped, else its alternatives'
/// candidates (and providers, in [`compare_providers`] order) are tried in turn. The solver
/// then prefers exactly these choices: they come first in every alternative and are soft
/// requirements, so where apt's greedy choice is consistent the result is apt's, and where
/// it is not, the SAT solver still finds a solution or explains why there is none.
#[derive(Debug, Default)]
pub(super) struct AptChoice {
    pub(super) marked: HashSet<PackageId>,
    /// Marking order (deterministic).
    pub(super) order: Vec<PackageId>,
    pub(super) installed: HashSet<PackageId>,
}

impl AptChoice {
    pub(super) fn compute(
        universe: &Universe,
        policy: &Policy,
        roots: &[(NameId, RootReason)],
        fixed: &[PackageId],
    ) -> Self {
        let mut choice = Self {
            installed: fixed.iter().copied().collect(),
            ..Self::default()
        };
        let mut marker = Marker {
            universe,
            policy,
            choice: &mut choice,
            names: HashMap::new(),
            done: HashSet::new(),
        };
        for &id in fixed {
            marker.mark_only(id);
        }
        let mut root_ids: Vec<PackageId> = roots
            .iter()
            .filter_map(|(name, _)| policy.candidate_of(*name))
            .collect();
        for &id in &root_ids {
            marker.mark_only(id);
        }
        // apt runs the automatic installation over its set of requested packages, which is
        // ordered by package id.
        root_ids.sort_by_key(|&id| universe.package(id).name);
        for id in root_ids {
            marker.mark_install(id, 0);
        }
        choice
    }
}

struct Marker<'a> {
    universe: &'a Universe,
    policy: &'a Policy,
    choice: &'a mut AptChoice,
    names: HashMap<NameId, PackageId>,
    done: HashSet<PackageId>,
}

impl Marker<'_> {
    fn mark_only(&mut self, id: PackageId) {
        let name = self.universe.package(id).name;
        if self.names.contains_key(&name) {
            return;
        }
        self.names.insert(name, id);
        self.choice.marked.insert(id);
        self.choice.order.push(id);
    }

    fn satisfied(&self, dep: &Dep) -> bool {
        self.policy
            .satisfying_candidates(self.universe, dep)
            .any(|id| self.choice.marked.contains(&id))
    }

    fn conflicts(&self, id: PackageId) -> bool {
        let universe = self.universe;
        let package = universe.package(id);
        let hits = |owner: &crate::universe::Package, dep: &Dep, other: PackageId| {
            universe.package(other).name != owner.name && universe.satisfies(other, dep, true)
        };
        let ours = package
            .conflicts()
            .iter()
            .chain(package.breaks())
            .any(|dep| self.choice.marked.iter().any(|&m| hits(package, dep, m)));
        ours || self.choice.marked.iter().any(|&m| {
            let other = universe.package(m);
            other
                .conflicts()
                .iter()
                .chain(other.breaks())
                .any(|dep| hits(other, dep, id))
        })
    }

    fn solutions(&self, group: &[Dep]) -> Vec<PackageId> {
        let universe = self.universe;
        let mut installed = Vec::new();
        let mut new = Vec::new();
        for dep in group {
            let mut list: Vec<PackageId> =
                self.policy.satisfying_candidates(universe, dep).collect();
            list.sort_by(|&a, &b| {
                let named = |id: PackageId| universe.package(id).name == dep.name;
                named(b)
                    .cmp(&named(a))
                    .then_with(|| compare_providers(universe, &self.choice.installed, a, b))
            });
            list.dedup();
            for id in list {
                if self.choice.installed.contains(&id) {
                    installed.push(id);
                } else {
                    new.push(id);
                }
            }
        }
        installed.extend(new);
        let mut seen = HashSet::new();
        installed.retain(|id| seen.insert(*id));
        installed
    }

    fn mark_install(&mut self, id: PackageId, depth: usize) -> bool {
        if self.done.contains(&id) {
            return true;
        }
        if !self.choice.marked.contains(&id) {
            let name = self.universe.package(id).name;
            if self.names.contains_key(&name) || self.conflicts(id) {
                return false;
            }
            self.mark_only(id);
        }
        self.done.insert(id);
        if depth > 500 {
            return false;
        }
        let universe = self.universe;
        for group in universe.package(id).required_groups() {
            if group.iter().any(|dep| self.satisfied(dep)) {
                continue;
            }
            let mut found = false;
            for candidate in self.solutions(group) {
                if self.mark_install(candidate, depth + 1) {
                    found = true;
                    break;
                }
            }
            if !found {
                return false;
            }
        }
        true
    }
}
