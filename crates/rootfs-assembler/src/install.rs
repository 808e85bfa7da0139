//! Installing the locked packages with the target's own dpkg, as mmdebstrap does.
//!
//! 1. **Bootstrap.** The Essential set ([`essential_closure`]: every package with
//!    `Essential: yes` and what it depends on) is unpacked in Rust ([`crate::deb`]) so the
//!    target has a shell, a libc and its own dpkg; `/var/lib/dpkg/{status,available,arch}` are
//!    written empty. The target's dpkg path filters (`path-exclude=`, from the skeleton trees)
//!    are honoured already here.
//! 2. **Essential, properly.** The target's `dpkg --install --force-depends` runs on the same
//!    packages inside the sandbox, so their maintainer scripts run and dpkg records them.
//! 3. **Everything else**, in the caller's order: `dpkg --unpack` in batches and
//!    `dpkg --configure`, configuring early exactly what a later package `Pre-Depends` on
//!    ([`plan_install`], pure), then `dpkg --configure --pending`.
//!
//! Throughout, `/usr/sbin/policy-rc.d` exits 101 so no service starts, and the environment is
//! fixed ([`dpkg_environment`]): no variable of the calling process reaches a maintainer
//! script.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::control::{Control, parse_paragraphs};
use crate::deb::{LockedDeb, extract_deb_data, read_locked};
use crate::error::Error;
use crate::filter::PathFilter;
use crate::sandbox::{self, Bind, Place, Sandbox, SandboxCommand};
use crate::unpack::path_in_root;
use build_vocab::{AtPath, PackageId};

/// Where the staged `.deb` files appear inside the sandbox.
const DEBS_IN_IMAGE: &str = "/work/debs";

/// The default `PATH` inside the image.
pub const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How packages are installed.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The image root.
    pub root: PathBuf,
    /// A scratch directory of the build (outside the root) for the sandbox view, the staged
    /// `.deb` files and the logs.
    pub work: PathBuf,
    /// The Debian architecture of the image (`amd64`), written to `/var/lib/dpkg/arch`.
    pub architecture: String,
    /// SOURCE_DATE_EPOCH, given to maintainer scripts.
    pub source_date_epoch: u64,
}

/// One package as dpkg recorded it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstalledPackage {
    /// Which package, at the installed version.
    pub id: PackageId,
    /// Source package name.
    pub source: String,
    /// `Installed-Size` in KiB, 0 when absent.
    pub installed_size_kib: u64,
}

/// What [`install_packages`] did.
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The packages unpacked by the bootstrap, in order.
    pub essential: Vec<String>,
    /// The dpkg runs after the bootstrap, as the plan made them.
    pub plan: Vec<DpkgRun>,
    /// The log of every dpkg run.
    pub log: PathBuf,
}

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

/// The environment of every dpkg run: fixed, nothing from the calling process.
pub fn dpkg_environment(source_date_epoch: u64) -> BTreeMap<String, String> {
    [
        ("PATH", IMAGE_PATH.to_owned()),
        ("LC_ALL", "C.UTF-8".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("TZ", "UTC".to_owned()),
        ("HOME", "/root".to_owned()),
        ("DEBIAN_FRONTEND", "noninteractive".to_owned()),
        ("DEBCONF_NONINTERACTIVE_SEEN", "true".to_owned()),
        // As mkosi: no initramfs generation and no kernel-install run by kernel packages.
        ("INITRD", "No".to_owned()),
        ("KERNEL_INSTALL_BYPASS", "1".to_owned()),
        ("SOURCE_DATE_EPOCH", source_date_epoch.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
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

/// Installs `debs` (the caller's order; typically the lock's) into `options.root` as the
/// module doc describes, and checks that dpkg then records every one of them as installed at
/// its version. Needs root.
pub fn install_packages(
    debs: &[LockedDeb],
    options: &InstallOptions,
) -> Result<(InstallReport, Vec<InstalledPackage>), Error> {
    crate::require_root("installing packages")?;
    let root = &options.root;
    let mut names = BTreeSet::new();
    for deb in debs {
        if !names.insert(deb.id.name.as_str()) {
            return Err(Error::PackageList {
                reason: format!("{} is in the list twice", deb.id.name),
            });
        }
    }
    let infos = debs
        .iter()
        .map(read_locked)
        .collect::<Result<Vec<_>, _>>()?;
    let controls: Vec<Control> = infos.into_iter().map(|info| info.control).collect();
    let essential = essential_closure(&controls);
    if essential.is_empty() {
        return Err(Error::PackageList {
            reason: "no package is `Essential: yes`: the target would have no dpkg or shell".into(),
        });
    }
    if !essential.iter().any(|&i| controls[i].id.name == "dpkg") {
        return Err(Error::PackageList {
            reason: "dpkg is not in the Essential set".into(),
        });
    }

    // 1. Bootstrap: unpack the Essential set's data in Rust.
    let filter = read_dpkg_filter(root)?;
    for &index in &essential {
        extract_deb_data(
            &debs[index].path,
            debs[index].id.name.as_str(),
            root,
            Some(&filter),
        )?;
    }
    write_empty_dpkg_database(root, &options.architecture)?;
    install_policy_rc_d(root)?;

    let paths: Vec<&Path> = debs.iter().map(|deb| deb.path.as_path()).collect();
    let (staging, staged, sandbox) = stage_debs(options, "debs", &paths)?;
    let logs = options.work.join("logs");
    fs::create_dir_all(&logs).at(&logs)?;
    let log = logs.join("dpkg.log");
    let dpkg = |args: Vec<String>| {
        sandbox::run(
            &sandbox,
            &dpkg_command(args, options.source_date_epoch, &log),
        )
    };

    let run_plan = |plan: &[DpkgRun], force_depends: bool| -> Result<(), Error> {
        for run in plan {
            let mut args: Vec<String> = Vec::new();
            if force_depends {
                args.push("--force-depends".to_owned());
            }
            match run {
                DpkgRun::Unpack(indices) => {
                    args.push("--unpack".to_owned());
                    args.extend(indices.iter().map(|&i| staged[i].clone()));
                }
                DpkgRun::Configure(names) => {
                    args.push("--configure".to_owned());
                    args.extend(names.iter().cloned());
                }
                DpkgRun::ConfigurePending => {
                    args.extend(["--configure".to_owned(), "--pending".to_owned()]);
                }
            }
            dpkg(args)?;
        }
        Ok(())
    };

    // 2. The Essential set, properly, with its maintainer scripts. Its members may depend on
    // each other in cycles, hence --force-depends; Pre-Depends (which dpkg enforces even then:
    // `init` -> systemd -> libsystemd-shared) are configured first by the plan.
    let essential_plan = plan_install(&controls, &BTreeSet::new(), &essential);
    run_plan(&essential_plan, true)?;

    // 3. Everything else.
    let installed: BTreeSet<usize> = essential.iter().copied().collect();
    let rest: Vec<usize> = (0..controls.len())
        .filter(|i| !installed.contains(i))
        .collect();
    let plan = plan_install(&controls, &installed, &rest);
    run_plan(&plan, false)?;
    fs::remove_dir_all(&staging).at(&staging)?;

    let status_path = root.join("var/lib/dpkg/status");
    let status = fs::read_to_string(&status_path).at(&status_path)?;
    let packages = installed_packages(&status)?;
    let by_name: BTreeMap<&str, &InstalledPackage> =
        packages.iter().map(|p| (p.id.name.as_str(), p)).collect();
    for deb in debs {
        match by_name.get(deb.id.name.as_str()) {
            Some(p) if p.id.is_exactly(&deb.id) => {}
            Some(p) => {
                return Err(Error::PackageList {
                    reason: format!("dpkg installed {}, the lock says {}", p.id, deb.id),
                });
            }
            None => {
                return Err(Error::PackageList {
                    reason: format!("dpkg does not list {} as installed", deb.id.name),
                });
            }
        }
    }
    let report = InstallReport {
        essential: essential
            .iter()
            .map(|&i| debs[i].id.name.to_string())
            .collect(),
        plan,
        log,
    };
    Ok((report, packages))
}

/// Puts `debs` (hard-linked, else copied, as `0000.deb`, `0001.deb`, ...) into a fresh
/// `<work>/<directory>` and returns it, the paths of the files as the sandbox sees them, and
/// a sandbox of the target root with that directory bound read-only.
fn stage_debs(
    options: &InstallOptions,
    directory: &str,
    debs: &[&Path],
) -> Result<(PathBuf, Vec<String>, Sandbox), Error> {
    let staging = options.work.join(directory);
    if staging.exists() {
        fs::remove_dir_all(&staging).at(&staging)?;
    }
    fs::create_dir_all(&staging).at(&staging)?;
    let mut staged = Vec::with_capacity(debs.len());
    for (index, deb) in debs.iter().enumerate() {
        let name = format!("{index:04}.deb");
        let path = staging.join(&name);
        if fs::hard_link(deb, &path).is_err() {
            fs::copy(deb, &path).at(deb)?;
        }
        staged.push(format!("{DEBS_IN_IMAGE}/{name}"));
    }
    let sandbox = Sandbox {
        root: options.root.clone(),
        view: options.work.join("view"),
        network: false,
        binds: vec![Bind {
            source: staging.clone(),
            target: DEBS_IN_IMAGE.into(),
            writable: false,
        }],
    };
    Ok((staging, staged, sandbox))
}

/// `dpkg --force-unsafe-io ARGS`, chrooted into the image, with the fixed environment and
/// its output appended to `log`.
fn dpkg_command(args: Vec<String>, source_date_epoch: u64, log: &Path) -> SandboxCommand {
    let mut command = SandboxCommand::new(
        "/usr/bin/dpkg",
        ["--force-unsafe-io".to_owned()].into_iter().chain(args),
        Place::Chroot { cwd: "/".into() },
    );
    command.env = dpkg_environment(source_date_epoch);
    command.log = Some(log.to_path_buf());
    command
}

/// Installs local `.deb` files (what build scripts left for `VolatilePackages=`) with the
/// image's own `dpkg -i`, after everything else: their dependencies must already be in the
/// image, else dpkg's error names what is missing. Needs root.
pub fn install_local_debs(options: &InstallOptions, debs: &[PathBuf]) -> Result<(), Error> {
    crate::require_root("installing packages")?;
    let paths: Vec<&Path> = debs.iter().map(PathBuf::as_path).collect();
    let (staging, staged, sandbox) = stage_debs(options, "volatile-debs", &paths)?;
    let args = ["--install".to_owned()].into_iter().chain(staged).collect();
    let log = options.work.join("logs/dpkg.log");
    sandbox::run(
        &sandbox,
        &dpkg_command(args, options.source_date_epoch, &log),
    )?;
    Ok(fs::remove_dir_all(&staging).at(&staging)?)
}

/// The packages `status` (the text of `/var/lib/dpkg/status`) lists as `install ok
/// installed`, sorted by name.
pub fn installed_packages(status: &str) -> Result<Vec<InstalledPackage>, Error> {
    let mut packages = Vec::new();
    for paragraph in parse_paragraphs(status, "/var/lib/dpkg/status")? {
        if paragraph.get("Status") != Some("install ok installed") {
            continue;
        }
        let control = Control::from_paragraph(&paragraph, "/var/lib/dpkg/status")?;
        packages.push(InstalledPackage {
            installed_size_kib: paragraph
                .get("Installed-Size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            id: control.id,
            source: control.source,
        });
    }
    packages.sort();
    Ok(packages)
}

/// The dpkg path filters configured in the image (`/etc/dpkg/dpkg.cfg`, then
/// `/etc/dpkg/dpkg.cfg.d/*` in name order), as the skeleton trees left them.
pub fn read_dpkg_filter(root: &Path) -> Result<PathFilter, Error> {
    let mut texts = Vec::new();
    let main = root.join("etc/dpkg/dpkg.cfg");
    if main.is_file() {
        texts.push(fs::read_to_string(&main).at(&main)?);
    }
    let dir = root.join("etc/dpkg/dpkg.cfg.d");
    if dir.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .at(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for path in entries {
            texts.push(fs::read_to_string(&path).at(&path)?);
        }
    }
    Ok(PathFilter::from_dpkg_config(
        texts.iter().map(String::as_str),
    ))
}

/// Writes the empty database dpkg starts from: `status`, `available` (both empty), `arch`,
/// and the `info`, `updates`, `triggers` and `alternatives` directories.
fn write_empty_dpkg_database(root: &Path, architecture: &str) -> Result<(), Error> {
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "var/lib/dpkg/alternatives",
    ] {
        let path = path_in_root(root, &format!("{dir}/.keep"))?;
        let dir = path.parent().expect("has a parent");
        if !dir.is_dir() {
            fs::create_dir(dir).at(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).at(dir)?;
        }
    }
    for (file, contents) in [
        ("var/lib/dpkg/status", String::new()),
        ("var/lib/dpkg/available", String::new()),
        ("var/lib/dpkg/arch", format!("{architecture}\n")),
    ] {
        let path = path_in_root(root, file)?;
        write_new_file(&path, contents.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// Writes `contents` to `path` with `mode`, replacing a file or symlink there (never writing
/// through a symlink).
pub(crate) fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    if fs::symlink_metadata(path).is_ok() {
        fs::remove_file(path).at(path)?;
    }
    fs::write(path, contents).at(path)?;
    Ok(fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path)?)
}

const POLICY_RC_D: &str = "usr/sbin/policy-rc.d";
const POLICY_RC_D_TEXT: &str = "#!/bin/sh\n# Written by rootfs-assembler while the image is built: start no service.\nexit 101\n";

/// Installs `/usr/sbin/policy-rc.d` exiting 101 (no service is started by maintainer
/// scripts). Returns false, leaving it alone, when the image already has one.
pub fn install_policy_rc_d(root: &Path) -> Result<bool, Error> {
    let path = path_in_root(root, POLICY_RC_D)?;
    if fs::symlink_metadata(&path).is_ok() {
        return Ok(false);
    }
    write_new_file(&path, POLICY_RC_D_TEXT.as_bytes(), 0o755)?;
    Ok(true)
}

/// Removes the `policy-rc.d` that [`install_policy_rc_d`] wrote (only if it is ours).
pub fn remove_policy_rc_d(root: &Path) -> Result<(), Error> {
    let path = path_in_root(root, POLICY_RC_D)?;
    if fs::read_to_string(&path).is_ok_and(|text| text == POLICY_RC_D_TEXT) {
        fs::remove_file(&path).at(&path)?;
    }
    Ok(())
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

    #[test]
    fn status_file_lists_installed_packages() {
        let status = "\
Package: zlib1g
Status: install ok installed
Version: 1:1.3
Architecture: amd64
Source: zlib
Installed-Size: 160

Package: removed
Status: deinstall ok config-files
Version: 1
Architecture: all

Package: bash
Status: install ok installed
Version: 5.2
Architecture: amd64
";
        let packages = installed_packages(status).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].id.name, "bash");
        assert_eq!(packages[0].source, "bash");
        assert_eq!(packages[1].source, "zlib");
        assert_eq!(packages[1].installed_size_kib, 160);
    }

    #[test]
    fn dpkg_environment_is_fixed() {
        let env = dpkg_environment(0);
        assert_eq!(env["DEBIAN_FRONTEND"], "noninteractive");
        assert_eq!(env["LC_ALL"], "C.UTF-8");
        assert_eq!(env["SOURCE_DATE_EPOCH"], "0");
        assert!(!env.contains_key("USER") && !env.contains_key("TERM"));
    }
}
