//! The candidate policy: apt's pin priorities, `name/suite` and `name=version` pins, and
//! the release switch of `SetCandidateRelease`.

use std::collections::{HashMap, HashSet};

use config_model::PackagePin;

use super::Request;
use crate::error::Error;
use crate::universe::{Dep, NameId, PackageId, Universe};
use build_vocab::debian::version::DebVersion;

/// The candidate policy: apt's pin priorities, pins and release switching.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The candidate of each name (indexed by `NameId`), if it has one.
    candidate: Vec<Option<PackageId>>,
    /// Effective priority of each candidate.
    pub(super) priority: HashMap<PackageId, i32>,
    /// Why other versions are not candidates, for error messages.
    pins: HashMap<NameId, PackagePin>,
}

/// The priority given to a version selected by `name/suite`, as apt's command line does.
const PINNED_PRIORITY: i32 = 990;

impl Policy {
    /// Computes the candidates of every name for a request.
    pub fn new(universe: &Universe, request: &Request) -> Result<Self, Error> {
        let mut pins = HashMap::new();
        for spec in &request.packages {
            if let (Some(pin), Some(name)) = (&spec.pin, universe.lookup(&spec.name)) {
                pins.insert(name, pin.clone());
            }
        }
        let names = universe.names().count();
        let mut policy = Self {
            candidate: vec![None; names],
            priority: HashMap::new(),
            pins,
        };
        let mut best: Vec<Option<(i32, PackageId)>> = vec![None; names];
        for (id, package) in universe.packages() {
            let Some(priority) = policy.allowed_priority(universe, id) else {
                continue;
            };
            let slot = &mut best[package.name.0 as usize];
            let better = match *slot {
                None => true,
                Some((p, current)) => {
                    (priority, &package.version) > (p, &universe.package(current).version)
                }
            };
            if better {
                *slot = Some((priority, id));
            }
        }
        for (index, entry) in best.into_iter().enumerate() {
            if let Some((priority, id)) = entry {
                policy.candidate[index] = Some(id);
                policy.priority.insert(id, priority);
            }
        }
        for &id in &request.fixed {
            let name = universe.package(id).name;
            policy.candidate[name.0 as usize] = Some(id);
            policy.priority.insert(id, PINNED_PRIORITY);
        }
        // apt's SetCandidateRelease: dependencies of a package taken from a pinned suite
        // that the normal candidates cannot satisfy come from the same suite.
        let mut pinned: Vec<(NameId, String)> = policy
            .pins
            .iter()
            .filter_map(|(name, pin)| match pin {
                PackagePin::Suite(suite) => Some((*name, suite.clone())),
                PackagePin::Version(_) => None,
            })
            .collect();
        pinned.sort();
        for (name, suite) in pinned {
            if let Some(id) = policy.candidate_of(name) {
                let mut visited = HashSet::new();
                policy.switch_release(universe, id, &suite, &mut visited);
            }
        }
        Ok(policy)
    }

    /// The priority of a version if it may be a candidate under the pins, else `None`.
    fn allowed_priority(&self, universe: &Universe, id: PackageId) -> Option<i32> {
        let package = universe.package(id);
        let origin = universe.origin(package.origin);
        match self.pins.get(&package.name) {
            None => Some(origin.priority),
            Some(PackagePin::Suite(suite)) => (origin.suite == *suite).then_some(PINNED_PRIORITY),
            Some(PackagePin::Version(version)) => {
                let wanted = DebVersion::parse(version).ok()?;
                (package.version == wanted).then_some(PINNED_PRIORITY.max(origin.priority))
            }
        }
    }

    fn switch_release(
        &mut self,
        universe: &Universe,
        id: PackageId,
        suite: &str,
        visited: &mut HashSet<PackageId>,
    ) {
        if !visited.insert(id) {
            return;
        }
        let package = universe.package(id);
        for group in package.required_groups() {
            let fine = group
                .iter()
                .any(|dep| self.satisfying_candidates(universe, dep).next().is_some());
            if fine {
                continue;
            }
            for dep in group {
                let from_suite = universe
                    .packages_named(dep.name)
                    .iter()
                    .copied()
                    .filter(|&p| universe.origin_of(p).suite == suite)
                    .max_by(|&a, &b| {
                        universe
                            .package(a)
                            .version
                            .cmp(&universe.package(b).version)
                    });
                if let Some(switched) = from_suite.filter(|&p| universe.satisfies(p, dep, false)) {
                    self.candidate[dep.name.0 as usize] = Some(switched);
                    self.priority.insert(switched, PINNED_PRIORITY);
                    self.switch_release(universe, switched, suite, visited);
                    break;
                }
            }
        }
    }

    /// The candidate of a name.
    pub fn candidate_of(&self, name: NameId) -> Option<PackageId> {
        self.candidate.get(name.0 as usize).copied().flatten()
    }

    /// Whether a package is its name's candidate.
    pub fn is_candidate(&self, universe: &Universe, id: PackageId) -> bool {
        self.candidate_of(universe.package(id).name) == Some(id)
    }

    /// Candidates (of the named package or of providers) that satisfy a dependency.
    pub fn satisfying_candidates<'a>(
        &'a self,
        universe: &'a Universe,
        dep: &'a Dep,
    ) -> impl Iterator<Item = PackageId> + 'a {
        self.candidate_of(dep.name)
            .into_iter()
            .chain(universe.providers_of(dep.name).iter().copied())
            .filter(move |&id| {
                self.is_candidate(universe, id) && universe.satisfies(id, dep, false)
            })
    }

    /// Why a version that is not the candidate was not taken.
    pub(super) fn exclusion_reason(&self, universe: &Universe, id: PackageId) -> String {
        let package = universe.package(id);
        let origin = universe.origin(package.origin);
        let name = universe.name(package.name);
        if let Some(pin) = self.pins.get(&package.name) {
            return match pin {
                PackagePin::Suite(suite) => format!("not in {suite}, which {name} is pinned to"),
                PackagePin::Version(version) => {
                    format!("not version {version}, which {name} is pinned to")
                }
            };
        }
        match self.candidate_of(package.name) {
            Some(candidate) => {
                let chosen = universe.package(candidate);
                let chosen_origin = universe.origin(chosen.origin);
                if origin.priority < chosen_origin.priority {
                    format!(
                        "{} has priority {} (use `{name}/{}` to pin it); the candidate is {} from {}",
                        origin.suite,
                        origin.priority,
                        origin.suite,
                        chosen.version,
                        chosen_origin.suite
                    )
                } else {
                    format!(
                        "the candidate is {} from {}",
                        chosen.version, chosen_origin.suite
                    )
                }
            }
            None => "no candidate".to_owned(),
        }
    }
}
