//! `why`: the dependency chain from a root to a package of a solution.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use super::{RootReason, Solution};
use crate::error::Error;
use crate::universe::{PackageId, Universe};

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
