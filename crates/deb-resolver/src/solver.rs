//! The dependency solver: a [`Request`] over a [`Universe`] to a [`Solution`], with apt's
//! choices, on the resolvo CDCL SAT solver.
//!
//! # Debian semantics on resolvo
//! - **Candidates** follow apt's policy: for each name the one version with the highest pin
//!   priority (suites: 500, backports 100, experimental-like 1, local 1000), then the highest
//!   version. A `name/suite` pin makes that suite's version the candidate (990); like apt's
//!   `SetCandidateRelease`, dependencies of a pinned package that the normal candidates
//!   cannot satisfy switch to the pinned suite's version. `name=version` pins the version.
//!   Every other version is offered to resolvo as *excluded* with its reason, so error
//!   messages can say why it was not taken ("only in trixie-backports: pin it").
//! - **Depends / Pre-Depends**: one requirement per group; the alternatives become a resolvo
//!   union over *real* names: first the named package itself, then each package providing it
//!   (versioned `Provides` for versioned dependencies), ordered as apt's `CompareProviders`
//!   orders providers (essential, then `Priority`, then name). resolvo tries a union's
//!   members in order, so the first satisfiable alternative wins, as in apt.
//! - **Conflicts / Breaks**: resolvo *constrains*: "if a package of name N is installed, it
//!   does not match this relation", for the named package and each provider, never the
//!   package itself.
//! - **Architectures**: dpkg's rules (`:any` needs `Multi-Arch: allowed`, `Multi-Arch:
//!   foreign` satisfies any qualifier), see [`Universe::satisfies`].
//! - **Base set**: the candidates with `Essential: yes` (mmdebstrap's `essential` variant), or
//!   also those with `Priority: required` ([`BaseSet::Required`]).
//! - **Recommends** (off by default) are added as soft requirements, round by round, so an
//!   uninstallable recommendation is skipped as apt skips it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use config_model::{PackagePin, PackageSpec};
use resolvo::{
    Candidates, Condition, ConditionId, ConditionalRequirement, Dependencies, DependencyProvider,
    HintDependenciesAvailable, Interner, KnownDependencies, NameId as RNameId, Problem,
    Requirement, SolvableId, Solver, SolverCache, StringId, UnsolvableOrCancelled, VersionSetId,
    VersionSetUnionId,
};

use crate::error::Error;
use crate::universe::{Dep, NameId, PackageId, Universe};
use crate::version::DebVersion;

/// Which packages are installed without being asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseSet {
    /// Nothing: only the request and its dependencies.
    None,
    /// Every `Essential: yes` package (mmdebstrap's `essential` variant).
    #[default]
    Essential,
    /// `Essential: yes` and `Priority: required` packages (debootstrap's minbase without apt).
    Required,
}

/// What to install.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Requested packages, with optional `/suite` or `=version` pins and globs.
    pub packages: Vec<PackageSpec>,
    /// The base set added to the request.
    pub base: BaseSet,
    /// Follow `Recommends`.
    pub with_recommends: bool,
    /// Packages that must be part of the result exactly as they are (for a build overlay on
    /// top of an image that is already resolved).
    pub fixed: Vec<PackageId>,
}

/// Why a package is a root of the solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootReason {
    /// Named in the request (the spec as written).
    Requested(String),
    /// In the base set (`Essential: yes` or `Priority: required`).
    Base,
    /// Fixed by the caller (already installed).
    Fixed,
}

/// The result of [`solve`]: the packages to install and why the roots are there.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Installed packages, sorted by name.
    pub packages: Vec<PackageId>,
    /// The roots in request order, then the base set by name.
    pub roots: Vec<(PackageId, RootReason)>,
}

/// The candidate policy: apt's pin priorities, pins and release switching.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The candidate of each name (indexed by `NameId`), if it has one.
    candidate: Vec<Option<PackageId>>,
    /// Effective priority of each candidate.
    priority: HashMap<PackageId, i32>,
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
    fn exclusion_reason(&self, universe: &Universe, id: PackageId) -> String {
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

/// How a version set matches solvables of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matcher {
    /// Every candidate.
    Any,
    /// Solvables satisfying a dependency, found by its position.
    Dep(DepRef),
}

/// Where a dependency lives in the universe: package, field, group, alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DepRef {
    package: PackageId,
    field: DepField,
    group: u32,
    alternative: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepField {
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

struct Provider<'a> {
    universe: &'a Universe,
    policy: &'a Policy,
    preferred: &'a AptChoice,
    version_sets: RefCell<Vec<VersionSetDef>>,
    unions: RefCell<Vec<Vec<VersionSetId>>>,
    strings: RefCell<Vec<String>>,
    string_ids: RefCell<HashMap<String, StringId>>,
}

impl<'a> Provider<'a> {
    fn new(universe: &'a Universe, policy: &'a Policy, preferred: &'a AptChoice) -> Self {
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

    fn version_set(&self, name: NameId, matcher: Matcher, negate: bool) -> VersionSetId {
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
fn compare_providers(
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

/// What apt's own resolver would mark, computed greedily as apt's `MarkInstall` does it:
/// requested packages marked first, then each one's dependencies depth first in field order;
/// an or-group already satisfied by a marked package is skipped, else its alternatives'
/// candidates (and providers, in [`compare_providers`] order) are tried in turn. The solver
/// then prefers exactly these choices: they come first in every alternative and are soft
/// requirements, so where apt's greedy choice is consistent the result is apt's, and where
/// it is not, the SAT solver still finds a solution or explains why there is none.
#[derive(Debug, Default)]
struct AptChoice {
    marked: HashSet<PackageId>,
    /// Marking order (deterministic).
    order: Vec<PackageId>,
    installed: HashSet<PackageId>,
}

impl AptChoice {
    fn compute(
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

/// Expands the request into root names with their reasons (globs matched, virtual packages
/// with exactly one provider replaced by it), or explains why a name cannot be requested.
fn request_roots(
    universe: &Universe,
    policy: &Policy,
    request: &Request,
) -> Result<Vec<(NameId, RootReason)>, Error> {
    let mut roots: Vec<(NameId, RootReason)> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |roots: &mut Vec<_>, name: NameId, reason: RootReason| {
        if seen.insert(name) {
            roots.push((name, reason));
        }
    };
    for spec in &request.packages {
        let reason = RootReason::Requested(spec.to_string());
        if spec.is_glob() {
            let mut matched: Vec<(&str, NameId)> = universe
                .names()
                .filter(|(id, name)| {
                    policy.candidate_of(*id).is_some() && glob_match(&spec.name, name)
                })
                .map(|(id, name)| (name, id))
                .collect();
            if matched.is_empty() {
                return Err(Error::UnknownPackage {
                    name: spec.name.clone(),
                    suggestion: None,
                });
            }
            matched.sort();
            for (_, id) in matched {
                push(&mut roots, id, reason.clone());
            }
            continue;
        }
        let Some(name) = universe.lookup(&spec.name) else {
            return Err(Error::UnknownPackage {
                name: spec.name.clone(),
                suggestion: closest_name(universe, &spec.name),
            });
        };
        if !universe.packages_named(name).is_empty() {
            push(&mut roots, name, reason);
            continue;
        }
        let mut providers: Vec<&str> = universe
            .providers_of(name)
            .iter()
            .filter(|&&id| policy.is_candidate(universe, id))
            .map(|&id| universe.name(universe.package(id).name))
            .collect();
        providers.sort();
        providers.dedup();
        match providers.as_slice() {
            [] => {
                return Err(Error::UnknownPackage {
                    name: spec.name.clone(),
                    suggestion: closest_name(universe, &spec.name),
                });
            }
            [single] => {
                let provider = universe.lookup(single).expect("interned");
                push(&mut roots, provider, reason);
            }
            several => {
                return Err(Error::Unsatisfiable {
                    what: format!("`{}`", spec.name),
                    explanation: format!(
                        "`{}` is a virtual package provided by {}: request one of them instead",
                        spec.name,
                        several.join(", ")
                    ),
                });
            }
        }
    }
    let mut base: Vec<(&str, NameId)> = Vec::new();
    if request.base != BaseSet::None {
        for (name, text) in universe.names() {
            if let Some(id) = policy.candidate_of(name) {
                let package = universe.package(id);
                let required = request.base == BaseSet::Required
                    && package.priority == crate::universe::Priority::Required;
                if package.essential || required {
                    base.push((text, name));
                }
            }
        }
    }
    base.sort();
    for (_, name) in base {
        push(&mut roots, name, RootReason::Base);
    }
    for &id in &request.fixed {
        push(&mut roots, universe.package(id).name, RootReason::Fixed);
    }
    Ok(roots)
}

/// Solves a request. `what` names it in errors (`image packages`, `build packages`).
pub fn solve(universe: &Universe, request: &Request, what: &str) -> Result<Solution, Error> {
    let policy = Policy::new(universe, request)?;
    let roots = request_roots(universe, &policy, request)?;
    let preferred = AptChoice::compute(universe, &policy, &roots, &request.fixed);
    let provider = Provider::new(universe, &policy, &preferred);
    let mut requirements = Vec::new();
    for (name, _) in &roots {
        let set = provider.version_set(*name, Matcher::Any, false);
        requirements.push(ConditionalRequirement::from(Requirement::Single(set)));
    }
    let mut solver = Solver::new(provider);
    let mut soft: BTreeSet<PackageId> = BTreeSet::new();
    let mut failed: BTreeSet<PackageId> = BTreeSet::new();
    let solvables = loop {
        let soft_requirements: Vec<SolvableId> = preferred
            .order
            .iter()
            .chain(soft.iter().filter(|id| !preferred.marked.contains(id)))
            .map(|id| SolvableId(id.0))
            .collect();
        let problem = Problem::new()
            .requirements(requirements.clone())
            .soft_requirements(soft_requirements);
        let solvables = match solver.solve(problem) {
            Ok(solvables) => solvables,
            Err(UnsolvableOrCancelled::Unsolvable(conflict)) => {
                return Err(Error::Unsatisfiable {
                    what: what.to_owned(),
                    explanation: conflict.display_user_friendly(&solver).to_string(),
                });
            }
            Err(UnsolvableOrCancelled::Cancelled(_)) => {
                return Err(Error::Unsatisfiable {
                    what: what.to_owned(),
                    explanation: "the solver was cancelled".to_owned(),
                });
            }
        };
        if !request.with_recommends {
            break solvables;
        }
        let installed: BTreeSet<PackageId> = solvables.iter().map(|s| PackageId(s.0)).collect();
        // A recommendation the last solve could not install is not tried again: the next
        // alternative of its group is, as apt does.
        failed.extend(soft.iter().filter(|id| !installed.contains(id)));
        soft.retain(|id| !failed.contains(id));
        let mut added = false;
        for &id in &installed {
            for group in universe.package(id).recommends() {
                let satisfied = group.iter().any(|dep| {
                    policy
                        .satisfying_candidates(universe, dep)
                        .any(|c| installed.contains(&c))
                });
                if satisfied {
                    continue;
                }
                let first = group
                    .iter()
                    .flat_map(|dep| policy.satisfying_candidates(universe, dep))
                    .find(|candidate| !failed.contains(candidate));
                if let Some(first) = first {
                    added |= soft.insert(first);
                }
            }
        }
        if !added {
            break solvables;
        }
    };
    let mut packages: Vec<PackageId> = solvables.iter().map(|s| PackageId(s.0)).collect();
    packages.sort_by(|&a, &b| {
        universe
            .name(universe.package(a).name)
            .cmp(universe.name(universe.package(b).name))
    });
    let chosen: HashMap<NameId, PackageId> = packages
        .iter()
        .map(|&id| (universe.package(id).name, id))
        .collect();
    let roots = roots
        .into_iter()
        .filter_map(|(name, reason)| chosen.get(&name).map(|&id| (id, reason)))
        .collect();
    Ok(Solution { packages, roots })
}

/// One step of a [`Why`] chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyStep {
    /// `name version (suite)`.
    pub package: String,
    /// How the previous step leads here: the root's reason for the first step, the
    /// dependency (`Depends: libc6 (>= 2.36)`) for the others.
    pub via: String,
}

/// Why a package is in a solution: a shortest chain from a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// From the root to the package asked about.
    pub steps: Vec<WhyStep>,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (depth, step) in self.steps.iter().enumerate() {
            if depth == 0 {
                writeln!(f, "{} ({})", step.package, step.via)?;
            } else {
                writeln!(
                    f,
                    "{}└─ {} → {}",
                    "   ".repeat(depth - 1),
                    step.via,
                    step.package
                )?;
            }
        }
        Ok(())
    }
}

impl Solution {
    /// Explains why `name` is in the solution: the shortest dependency chain from a requested,
    /// base or fixed package, walking roots in order and dependencies in field order.
    pub fn why(&self, universe: &Universe, name: &str) -> Result<Why, Error> {
        let target = universe
            .lookup(name)
            .and_then(|n| {
                self.packages
                    .iter()
                    .copied()
                    .find(|&id| universe.package(id).name == n)
            })
            .ok_or_else(|| Error::NotInSet {
                name: name.to_owned(),
                message: "is not in the resolved set".to_owned(),
            })?;
        let installed: HashSet<PackageId> = self.packages.iter().copied().collect();
        let mut parent: BTreeMap<PackageId, (PackageId, String)> = BTreeMap::new();
        let mut queue: VecDeque<PackageId> = VecDeque::new();
        let mut seen: HashSet<PackageId> = HashSet::new();
        for (id, _) in &self.roots {
            if seen.insert(*id) {
                queue.push_back(*id);
            }
        }
        while let Some(id) = queue.pop_front() {
            if id == target {
                break;
            }
            let package = universe.package(id);
            let fields = package
                .pre_depends()
                .map(|g| ("Pre-Depends", g))
                .chain(package.depends().map(|g| ("Depends", g)))
                .chain(package.recommends().map(|g| ("Recommends", g)));
            for (field, group) in fields {
                for dep in group.iter() {
                    let mut next: Vec<PackageId> = self
                        .packages
                        .iter()
                        .copied()
                        .filter(|c| installed.contains(c) && universe.satisfies(*c, dep, false))
                        .collect();
                    next.sort_by_key(|&c| universe.package(c).name != dep.name);
                    for child in next {
                        if seen.insert(child) {
                            let text = group
                                .iter()
                                .map(|d| universe.display_dep(d).to_string())
                                .collect::<Vec<_>>()
                                .join(" | ");
                            parent.insert(child, (id, format!("{field}: {text}")));
                            queue.push_back(child);
                        }
                    }
                }
            }
        }
        let describe = |id: PackageId| universe.describe(id);
        let mut steps = Vec::new();
        let mut current = target;
        while let Some((from, via)) = parent.get(&current) {
            steps.push(WhyStep {
                package: describe(current),
                via: via.clone(),
            });
            current = *from;
        }
        let root_reason = self
            .roots
            .iter()
            .find(|(id, _)| *id == current)
            .map(|(_, reason)| match reason {
                RootReason::Requested(spec) => format!("requested as `{spec}`"),
                RootReason::Base => "in the base set: Essential or required".to_owned(),
                RootReason::Fixed => "already installed".to_owned(),
            })
            .unwrap_or_else(|| "unreachable from the roots".to_owned());
        steps.push(WhyStep {
            package: describe(current),
            via: root_reason,
        });
        steps.reverse();
        Ok(Why { steps })
    }
}

/// A shell-style glob over package names: `*`, `?` and `[...]` classes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|skip| go(&p[1..], &n[skip..])),
            Some(b'?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(b'[') => {
                let Some(close) = p.iter().position(|&b| b == b']') else {
                    return n.first() == Some(&b'[') && go(&p[1..], &n[1..]);
                };
                let class = &p[1..close];
                let (negated, class) = match class.first() {
                    Some(b'!' | b'^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let Some(&c) = n.first() else { return false };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negated && go(&p[close + 1..], &n[1..])
            }
            Some(&literal) => n.first() == Some(&literal) && go(&p[1..], &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// The known real package name closest to a misspelt one (edit distance at most 3).
fn closest_name(universe: &Universe, wanted: &str) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for (id, name) in universe.names() {
        if universe.packages_named(id).is_empty() || name.len().abs_diff(wanted.len()) > 3 {
            continue;
        }
        let distance = edit_distance(wanted, name);
        if distance <= 3 && best.is_none_or(|(d, n)| (distance, name) < (d, n)) {
            best = Some((distance, name));
        }
    }
    best.map(|(_, name)| name.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::universe::Origin;

    /// A universe from `(suite, priority, deb822 text)`; `Architecture: amd64` is implied.
    fn universe(suites: &[(&str, i32, &str)]) -> Universe {
        let mut universe = Universe::new("amd64");
        for (suite, priority, text) in suites {
            let origin = universe.add_origin(Origin {
                suite: (*suite).to_owned(),
                component: "main".to_owned(),
                priority: *priority,
            });
            let text: String = text
                .trim()
                .split("\n\n")
                .map(|p| {
                    if p.contains("Architecture:") {
                        format!("{p}\n\n")
                    } else {
                        format!("{p}\nArchitecture: amd64\n\n")
                    }
                })
                .collect();
            universe.add_packages_index(&text, origin).unwrap();
        }
        universe
    }

    fn request(specs: &[&str]) -> Request {
        Request {
            packages: specs.iter().map(|s| s.parse().unwrap()).collect(),
            base: BaseSet::None,
            ..Request::default()
        }
    }

    /// `name=version` of every installed package, sorted.
    fn installed(universe: &Universe, request: &Request) -> Vec<String> {
        let solution = solve(universe, request, "test packages").unwrap();
        solution
            .packages
            .iter()
            .map(|&id| {
                let p = universe.package(id);
                format!("{}={}", universe.name(p.name), p.version)
            })
            .collect()
    }

    fn failure(universe: &Universe, request: &Request) -> String {
        match solve(universe, request, "test packages") {
            Ok(solution) => panic!("expected a failure, got {:?}", solution.packages),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn first_satisfiable_alternative_wins() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: a\nVersion: 1\nDepends: b | c\n\n\
             Package: b\nVersion: 1\nConflicts: x\n\n\
             Package: c\nVersion: 1\n\n\
             Package: x\nVersion: 1",
        )]);
        assert_eq!(installed(&u, &request(&["a"])), ["a=1", "b=1"]);
        // b conflicts with a requested package, so the second alternative is taken.
        assert_eq!(installed(&u, &request(&["a", "x"])), ["a=1", "c=1", "x=1"]);
        // An alternative already installed for another reason satisfies the group.
        assert_eq!(installed(&u, &request(&["c", "a"])), ["a=1", "c=1"]);
    }

    #[test]
    fn versioned_and_unversioned_provides() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: a\nVersion: 1\nDepends: x (>= 2)\n\n\
             Package: plain\nVersion: 1\nProvides: x\n\n\
             Package: versioned\nVersion: 1\nProvides: x (= 2)\n\n\
             Package: b\nVersion: 1\nDepends: x",
        )]);
        assert_eq!(installed(&u, &request(&["a"])), ["a=1", "versioned=1"]);
        // Unversioned: both provide it with the same priority; apt's last tie-break takes the
        // package its cache created last (`versioned`, listed after `plain`).
        assert_eq!(installed(&u, &request(&["b"])), ["b=1", "versioned=1"]);
    }

    #[test]
    fn virtual_packages() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: mawk\nVersion: 1\nPriority: required\nProvides: awk\n\n\
             Package: gawk\nVersion: 1\nPriority: optional\nProvides: awk\n\n\
             Package: only\nVersion: 1\nProvides: lonely\n\n\
             Package: user\nVersion: 1\nDepends: awk",
        )]);
        // The required provider wins over the alphabetically first one.
        assert_eq!(installed(&u, &request(&["user"])), ["mawk=1", "user=1"]);
        // An installed provider satisfies the dependency.
        assert_eq!(
            installed(&u, &request(&["gawk", "user"])),
            ["gawk=1", "user=1"]
        );
        // A virtual package with one provider can be requested; with several it cannot.
        assert_eq!(installed(&u, &request(&["lonely"])), ["only=1"]);
        let err = failure(&u, &request(&["awk"]));
        assert!(
            err.contains("virtual package provided by gawk, mawk"),
            "{err}"
        );
    }

    #[test]
    fn conflicts_and_breaks() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: a\nVersion: 1\nConflicts: b\n\n\
             Package: b\nVersion: 1\n\n\
             Package: c\nVersion: 1\nBreaks: d (<< 2)\n\n\
             Package: d\nVersion: 1\n\n\
             Package: e\nVersion: 1\nBreaks: f (<< 2)\n\n\
             Package: f\nVersion: 2\n\n\
             Package: mta1\nVersion: 1\nProvides: mail-transport-agent\nConflicts: mail-transport-agent\n\n\
             Package: mta2\nVersion: 1\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
        )]);
        let err = failure(&u, &request(&["a", "b"]));
        assert!(err.contains("a 1 (trixie)") && err.contains("b"), "{err}");
        let err = failure(&u, &request(&["c", "d"]));
        assert!(err.contains("c 1 (trixie)") && err.contains("d"), "{err}");
        assert_eq!(installed(&u, &request(&["e", "f"])), ["e=1", "f=2"]);
        // Conflicting with a virtual package one provides does not conflict with oneself...
        assert_eq!(installed(&u, &request(&["mta1"])), ["mta1=1"]);
        // ...but does with every other provider.
        failure(&u, &request(&["mta1", "mta2"]));
    }

    const PINNED: [(&str, i32, &str); 2] = [
        (
            "trixie",
            500,
            "Package: cargo\nVersion: 1.85\nDepends: rustc (>= 1.85)\n\n\
             Package: rustc\nVersion: 1.85\nDepends: libc6\n\n\
             Package: libc6\nVersion: 2.41\n\n\
             Package: tool\nVersion: 1\nDepends: newlib (>= 2)\n\n\
             Package: newlib\nVersion: 1",
        ),
        (
            "trixie-backports",
            100,
            "Package: cargo\nVersion: 1.90\nDepends: rustc (>= 1.90)\n\n\
             Package: rustc\nVersion: 1.90\nDepends: libc6\n\n\
             Package: libc6\nVersion: 2.42\n\n\
             Package: newlib\nVersion: 2\n\n\
             Package: onlyhere\nVersion: 1",
        ),
    ];

    #[test]
    fn backports_only_when_pinned() {
        let u = universe(&PINNED);
        assert_eq!(
            installed(&u, &request(&["cargo"])),
            ["cargo=1.85", "libc6=2.41", "rustc=1.85"]
        );
        // The pin switches cargo, and rustc because trixie's rustc cannot satisfy it; libc6
        // stays (its trixie version is fine), as apt's SetCandidateRelease does.
        assert_eq!(
            installed(&u, &request(&["cargo/trixie-backports"])),
            ["cargo=1.90", "libc6=2.41", "rustc=1.90"]
        );
        assert_eq!(installed(&u, &request(&["libc6=2.42"])), ["libc6=2.42"]);
        // A package only in backports is its own candidate.
        assert_eq!(installed(&u, &request(&["onlyhere"])), ["onlyhere=1"]);
    }

    #[test]
    fn unsatisfiable_requests_explain_the_chain_and_the_rejected_candidates() {
        let u = universe(&PINNED);
        let err = failure(&u, &request(&["tool"]));
        assert_eq!(
            err,
            "cannot resolve test packages:\n\
             The following packages are incompatible\n\
             └─ tool * cannot be installed because there are no viable options:\n   \
             └─ tool 1 (trixie) would require\n      \
             └─ newlib (>= 2), which cannot be installed because there are no viable options:\n         \
             └─ newlib 2 (trixie-backports) is excluded because trixie-backports has priority 100 \
             (use `newlib/trixie-backports` to pin it); the candidate is 1 from trixie\n"
        );
        assert!(err.starts_with("cannot resolve test packages:"), "{err}");
        // The chain: the request, its dependency, and the backports version with its reason.
        assert!(err.contains("tool 1 (trixie)"), "{err}");
        assert!(err.contains("newlib (>= 2)"), "{err}");
        assert!(
            err.contains(
                "trixie-backports has priority 100 (use `newlib/trixie-backports` to pin it)"
            ),
            "{err}"
        );
        let err = solve(&u, &request(&["cargoo"]), "test").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown package `cargoo` (did you mean `cargo`?)"
        );
    }

    #[test]
    fn architecture_qualifiers() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: perl\nVersion: 1\nMulti-Arch: allowed\n\n\
             Package: python3\nVersion: 1\n\n\
             Package: a\nVersion: 1\nDepends: perl:any\n\n\
             Package: b\nVersion: 1\nDepends: python3:any\n\n\
             Package: doc\nVersion: 1\nArchitecture: all\nDepends: a",
        )]);
        assert_eq!(
            installed(&u, &request(&["doc"])),
            ["a=1", "doc=1", "perl=1"]
        );
        failure(&u, &request(&["b"]));
    }

    #[test]
    fn base_set_and_why() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: bash\nVersion: 5\nEssential: yes\nPriority: required\nPre-Depends: libc6\n\n\
             Package: libc6\nVersion: 2\nPriority: optional\n\n\
             Package: mawk\nVersion: 1\nPriority: required\n\n\
             Package: app\nVersion: 1\nDepends: libfoo (>= 1)\n\n\
             Package: libfoo\nVersion: 1\nDepends: libc6",
        )]);
        let mut essential = request(&["app"]);
        essential.base = BaseSet::Essential;
        assert_eq!(
            installed(&u, &essential),
            ["app=1", "bash=5", "libc6=2", "libfoo=1"]
        );
        let mut required = essential.clone();
        required.base = BaseSet::Required;
        assert!(installed(&u, &required).contains(&"mawk=1".to_owned()));

        let solution = solve(&u, &essential, "test").unwrap();
        let why = solution.why(&u, "libfoo").unwrap();
        assert_eq!(
            why.to_string(),
            "app 1 (trixie) (requested as `app`)\n└─ Depends: libfoo (>= 1) → libfoo 1 (trixie)\n"
        );
        // The shortest chain wins (breadth first from the roots in order).
        let why = solution.why(&u, "libc6").unwrap();
        assert_eq!(why.steps.len(), 2, "{why}");
        assert_eq!(why.steps[1].via, "Pre-Depends: libc6");
        let why = solution.why(&u, "bash").unwrap();
        assert_eq!(why.steps[0].via, "in the base set: Essential or required");
        assert!(solution.why(&u, "mawk").is_err());
    }

    #[test]
    fn globs_and_fixed_packages() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: linux-image-6.1-cloud\nVersion: 1\n\n\
             Package: linux-image-6.1-rt\nVersion: 1\n\n\
             Package: lib\nVersion: 1",
        )]);
        assert_eq!(
            installed(&u, &request(&["linux-image-*-cloud"])),
            ["linux-image-6.1-cloud=1"]
        );
        assert!(glob_match("a[0-9]?", "a1x") && !glob_match("a[!0-9]", "a1"));
        let lib = u.packages_named(u.lookup("lib").unwrap())[0];
        let mut fixed = request(&["linux-image-6.1-rt"]);
        fixed.fixed = vec![lib];
        assert_eq!(installed(&u, &fixed), ["lib=1", "linux-image-6.1-rt=1"]);
    }

    #[test]
    fn recommends_are_off_by_default_and_soft_when_on() {
        let u = universe(&[(
            "trixie",
            500,
            "Package: app\nVersion: 1\nRecommends: helper, broken | fallback, clash\n\n\
             Package: helper\nVersion: 1\nDepends: libhelper\n\n\
             Package: libhelper\nVersion: 1\n\n\
             Package: broken\nVersion: 1\nDepends: missing\n\n\
             Package: fallback\nVersion: 1\n\n\
             Package: clash\nVersion: 1\nConflicts: app",
        )]);
        assert_eq!(installed(&u, &request(&["app"])), ["app=1"]);
        let mut with = request(&["app"]);
        with.with_recommends = true;
        // helper and its dependency come in; `broken` cannot be installed so the next
        // alternative is taken; `clash` conflicts and is skipped, as apt skips it.
        assert_eq!(
            installed(&u, &with),
            ["app=1", "fallback=1", "helper=1", "libhelper=1"]
        );
    }

    #[test]
    fn local_packages_win_over_the_archive() {
        let u = universe(&[
            ("trixie", 500, "Package: tool\nVersion: 2"),
            ("local", 1000, "Package: tool\nVersion: 1+local"),
        ]);
        assert_eq!(installed(&u, &request(&["tool"])), ["tool=1+local"]);
    }
}
