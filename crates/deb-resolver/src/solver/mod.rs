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

use std::collections::{BTreeSet, HashMap};

use config_model::PackageSpec;
use resolvo::{
    ConditionalRequirement, Problem, Requirement, SolvableId, Solver, UnsolvableOrCancelled,
};

use crate::error::Error;
use crate::universe::{NameId, PackageId, Universe};

mod apt_choice;
mod names;
mod policy;
mod provider;
mod roots;
mod why;

use apt_choice::AptChoice;
pub use policy::Policy;
use provider::Matcher;
use provider::Provider;
use roots::request_roots;
pub use why::{Why, WhyStep};

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
