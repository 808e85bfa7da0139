//! The roots of a request: globs matched, virtual packages with one provider replaced by
//! it, the base set, and why a name cannot be requested.

use std::collections::HashSet;

use super::names::closest_name;
use build_vocab::glob::Glob;

use super::{BaseSet, Policy, Request, RootReason};
use crate::error::Error;
use crate::universe::{NameId, Universe};

/// Expands the request into root names with their reasons (globs matched, virtual packages
/// with exactly one provider replaced by it), or explains why a name cannot be requested.
pub(super) fn request_roots(
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
            let glob = Glob::new(&spec.name);
            let mut matched: Vec<(&str, NameId)> = universe
                .names()
                .filter(|(id, name)| policy.candidate_of(*id).is_some() && glob.matches(name))
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
