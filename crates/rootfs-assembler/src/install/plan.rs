//! The order of installation, pure: the Essential set that the bootstrap unpacks, and the
//! dpkg runs (unpack batches, early configures for `Pre-Depends`, the final pending
//! configure) that install the rest.

use std::collections::{BTreeMap, BTreeSet};

use crate::control::Control;

/// One run of the target's dpkg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpkgRun {
    /// `dpkg --unpack` of these packages (indices into the caller's list).
    Unpack(Vec<usize>),
    /// `dpkg --configure` of these package names.
    Configure(Vec<String>),
    /// `dpkg --configure --pending`: everything unpacked so far.
    ConfigurePending,
}

/// The names of the Essential set: packages of `controls` with `Essential: yes` and,
/// transitively, what they `Pre-Depends` or `Depends` on (the first alternative found in the
/// list, by name or `Provides`). Returned as indices into `controls`, in the given order.
pub fn essential_closure(controls: &[Control]) -> Vec<usize> {
    let graph = DependencyGraph::new(controls);
    let mut wanted: BTreeSet<usize> = BTreeSet::new();
    let mut stack: Vec<usize> = (0..controls.len())
        .filter(|&i| controls[i].essential)
        .collect();
    while let Some(index) = stack.pop() {
        if wanted.insert(index) {
            stack.extend(graph.all_dependencies(index));
        }
    }
    wanted.into_iter().collect()
}

/// Dependencies between the packages of one list, by index.
struct DependencyGraph<'a> {
    controls: &'a [Control],
    by_name: BTreeMap<&'a str, usize>,
    providers: BTreeMap<&'a str, usize>,
}

impl<'a> DependencyGraph<'a> {
    fn new(controls: &'a [Control]) -> Self {
        let mut by_name = BTreeMap::new();
        let mut providers = BTreeMap::new();
        for (index, control) in controls.iter().enumerate() {
            by_name.insert(control.id.name.as_str(), index);
            for provided in &control.provides {
                providers.entry(provided.as_str()).or_insert(index);
            }
        }
        Self {
            controls,
            by_name,
            providers,
        }
    }

    fn resolve(&self, relations: &[Vec<String>]) -> Vec<usize> {
        relations
            .iter()
            .filter_map(|alternatives| {
                alternatives
                    .iter()
                    .find_map(|name| self.by_name.get(name.as_str()))
                    .or_else(|| {
                        alternatives
                            .iter()
                            .find_map(|name| self.providers.get(name.as_str()))
                    })
                    .copied()
            })
            .collect()
    }

    fn pre_dependencies(&self, index: usize) -> Vec<usize> {
        self.resolve(&self.controls[index].pre_depends)
    }

    fn all_dependencies(&self, index: usize) -> Vec<usize> {
        let mut deps = self.resolve(&self.controls[index].pre_depends);
        deps.extend(self.resolve(&self.controls[index].depends));
        deps
    }
}

/// Plans the dpkg runs that install `order` (indices into `controls`, in the caller's order).
/// Pure.
///
/// `installed` are the indices already installed and configured. dpkg refuses to unpack a
/// package whose `Pre-Depends` are not configured, so before a package is unpacked each of its
/// pre-dependencies is configured first: the pre-dependency and everything it depends on
/// (transitively, among those not yet configured) are unpacked, each by the same rule, and
/// configured together. Everything else is unpacked in batches in the caller's order, and a
/// final `--configure --pending` configures the rest.
pub fn plan_install(
    controls: &[Control],
    installed: &BTreeSet<usize>,
    order: &[usize],
) -> Vec<DpkgRun> {
    let mut planner = Planner {
        controls,
        graph: DependencyGraph::new(controls),
        configured: installed.clone(),
        unpacked: installed.clone(),
        being_configured: BTreeSet::new(),
        batch: Vec::new(),
        runs: Vec::new(),
    };
    for &index in order {
        planner.ensure_unpacked(index);
    }
    planner.flush();
    planner.runs.push(DpkgRun::ConfigurePending);
    planner.runs
}

/// The state of [`plan_install`].
struct Planner<'a> {
    controls: &'a [Control],
    graph: DependencyGraph<'a>,
    configured: BTreeSet<usize>,
    unpacked: BTreeSet<usize>,
    /// Pre-dependencies being configured further up the recursion (cycle guard).
    being_configured: BTreeSet<usize>,
    /// Packages to unpack in the next `--unpack` run.
    batch: Vec<usize>,
    runs: Vec<DpkgRun>,
}

impl Planner<'_> {
    fn ensure_unpacked(&mut self, index: usize) {
        if self.unpacked.contains(&index) {
            return;
        }
        for dep in self.graph.pre_dependencies(index) {
            if dep != index && !self.configured.contains(&dep) {
                self.ensure_configured(dep);
            }
        }
        self.batch.push(index);
        self.unpacked.insert(index);
    }

    fn ensure_configured(&mut self, index: usize) {
        if !self.being_configured.insert(index) {
            return; // a Pre-Depends cycle: dpkg will say so
        }
        let mut closure = BTreeSet::new();
        let mut stack = vec![index];
        while let Some(dep) = stack.pop() {
            if !self.configured.contains(&dep) && closure.insert(dep) {
                stack.extend(self.graph.all_dependencies(dep));
            }
        }
        for &dep in &closure {
            self.ensure_unpacked(dep);
        }
        self.flush();
        let pending: Vec<usize> = closure
            .into_iter()
            .filter(|d| !self.configured.contains(d))
            .collect();
        if !pending.is_empty() {
            self.runs.push(DpkgRun::Configure(
                pending
                    .iter()
                    .map(|&d| self.controls[d].id.name.to_string())
                    .collect(),
            ));
            self.configured.extend(pending);
        }
        self.being_configured.remove(&index);
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            self.runs
                .push(DpkgRun::Unpack(std::mem::take(&mut self.batch)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(name: &str, essential: bool, pre: &str, depends: &str) -> Control {
        let text = format!(
            "Package: {name}\nVersion: 1\nArchitecture: amd64\n{}Pre-Depends: {pre}\nDepends: {depends}\n",
            if essential { "Essential: yes\n" } else { "" }
        );
        Control::parse(&text, name).unwrap()
    }

    #[test]
    fn essential_set_is_closed_under_dependencies() {
        let controls = [
            control("libc6", false, "", "libgcc-s1"),
            control("libgcc-s1", false, "", "libc6"),
            control("dpkg", true, "libc6", "tar"),
            control("tar", true, "libc6", ""),
            control("systemd", false, "", "libc6, mount"),
            control("mawk", false, "libc6", ""),
            control("base-files", true, "", "awk | mawk"),
        ];
        let names: Vec<&str> = essential_closure(&controls)
            .into_iter()
            .map(|i| controls[i].id.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["libc6", "libgcc-s1", "dpkg", "tar", "mawk", "base-files"]
        );
    }

    #[test]
    fn provides_satisfy_dependencies() {
        let mut mawk = control("mawk", false, "", "");
        mawk.provides = vec!["awk".into()];
        let controls = [control("base-files", true, "", "awk"), mawk];
        assert_eq!(essential_closure(&controls), [0, 1]);
    }

    #[test]
    fn install_plan_configures_pre_dependencies_first() {
        let controls = [
            control("libc6", true, "", ""),
            control("aa", false, "", "bb"),
            control("cc", false, "bb", ""),
            control("bb", false, "", "dd"),
            control("dd", false, "", ""),
            control("ee", false, "", ""),
        ];
        let installed = BTreeSet::from([0]);
        let plan = plan_install(&controls, &installed, &[1, 2, 3, 4, 5]);
        assert_eq!(
            plan,
            [
                // `cc` pre-depends on `bb`, which needs `dd`: both move forward with `aa`.
                DpkgRun::Unpack(vec![1, 3, 4]),
                DpkgRun::Configure(vec!["bb".into(), "dd".into()]),
                DpkgRun::Unpack(vec![2, 5]),
                DpkgRun::ConfigurePending,
            ]
        );
    }

    #[test]
    fn essential_set_in_name_order_configures_pre_dependencies_first() {
        // The trixie case: `init` pre-depends on systemd-sysv's systemd, which pre-depends on
        // libsystemd-shared; a name-ordered lock lists libsystemd-shared before systemd.
        let controls = [
            control("init", true, "systemd", ""),
            control("libc6", true, "", ""),
            control("libsystemd-shared", false, "", "libc6"),
            control("systemd", false, "libsystemd-shared", "libc6"),
        ];
        let plan = plan_install(&controls, &BTreeSet::new(), &[0, 1, 2, 3]);
        assert_eq!(
            plan,
            [
                // dpkg refuses to unpack systemd before libsystemd-shared is configured.
                DpkgRun::Unpack(vec![1, 2]),
                DpkgRun::Configure(vec!["libc6".into(), "libsystemd-shared".into()]),
                DpkgRun::Unpack(vec![3]),
                DpkgRun::Configure(vec!["systemd".into()]),
                DpkgRun::Unpack(vec![0]),
                DpkgRun::ConfigurePending,
            ]
        );
    }

    #[test]
    fn install_plan_without_pre_dependencies_is_one_batch() {
        let controls = [
            control("libc6", true, "", ""),
            control("aa", false, "libc6", "bb"),
            control("bb", false, "", "aa"),
        ];
        let plan = plan_install(&controls, &BTreeSet::from([0]), &[1, 2]);
        assert_eq!(
            plan,
            [DpkgRun::Unpack(vec![1, 2]), DpkgRun::ConfigurePending]
        );
    }
}
