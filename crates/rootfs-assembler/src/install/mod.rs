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
//!
//! Files: `plan` (the Essential closure and the batch plan, pure), `dpkg_files` (the target
//! dpkg's files the installer reads and writes: status, the empty database, path filters,
//! `policy-rc.d`); this file stages the `.deb` files and runs dpkg through a
//! [`CommandRunner`].

mod dpkg_files;
mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::control::Control;
use crate::deb::{LockedDeb, extract_deb_data, read_locked};
use crate::error::Error;
use crate::sandbox::{Bind, CommandRunner, Place, Sandbox, SandboxCommand};
use build_vocab::AtPath;

use dpkg_files::write_empty_dpkg_database;
pub(crate) use dpkg_files::write_new_file;
pub use dpkg_files::{
    InstalledPackage, install_policy_rc_d, installed_packages, read_dpkg_filter, remove_policy_rc_d,
};
pub use plan::{DpkgRun, essential_closure, plan_install};

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

/// Installs `debs` (the caller's order; typically the lock's) into `options.root` as the
/// module doc describes, and checks that dpkg then records every one of them as installed at
/// its version. dpkg runs through `runner`.
pub fn install_packages(
    debs: &[LockedDeb],
    options: &InstallOptions,
    runner: &dyn CommandRunner,
) -> Result<(InstallReport, Vec<InstalledPackage>), Error> {
    runner.preflight("installing packages")?;
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
    // A root that starts from a base tree (`BaseTrees=`) already has a configured dpkg: the
    // packages go on top of it, without a bootstrap.
    let on_base = !installed_in(root)?.is_empty();
    let essential = if on_base {
        install_policy_rc_d(root)?;
        Vec::new()
    } else {
        bootstrap(debs, &controls, options)?
    };

    let paths: Vec<&Path> = debs.iter().map(|deb| deb.path.as_path()).collect();
    let (staging, staged, sandbox) = stage_debs(options, "debs", &paths)?;
    let logs = options.work.join("logs");
    fs::create_dir_all(&logs).at(&logs)?;
    let log = logs.join("dpkg.log");
    let dpkg = |args: Vec<String>| {
        runner.run(
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
    if !essential.is_empty() {
        let essential_plan = plan_install(&controls, &BTreeSet::new(), &essential);
        run_plan(&essential_plan, true)?;
    }

    // 3. Everything else.
    let installed: BTreeSet<usize> = essential.iter().copied().collect();
    let rest: Vec<usize> = (0..controls.len())
        .filter(|i| !installed.contains(i))
        .collect();
    let plan = plan_install(&controls, &installed, &rest);
    run_plan(&plan, false)?;
    fs::remove_dir_all(&staging).at(&staging)?;

    let packages = installed_in(root)?;
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

/// The Essential set of `debs` unpacked in Rust into an empty root, with an empty dpkg
/// database and `policy-rc.d`: what the target's dpkg then installs properly. Returns the
/// indices of the Essential set.
fn bootstrap(
    debs: &[LockedDeb],
    controls: &[Control],
    options: &InstallOptions,
) -> Result<Vec<usize>, Error> {
    let root = &options.root;
    let essential = essential_closure(controls);
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
    Ok(essential)
}

/// The packages dpkg's database in `root` lists as installed (none when there is no
/// database yet).
pub fn installed_in(root: &Path) -> Result<Vec<InstalledPackage>, Error> {
    let status_path = root.join("var/lib/dpkg/status");
    if !status_path.exists() {
        return Ok(Vec::new());
    }
    let status = fs::read_to_string(&status_path).at(&status_path)?;
    installed_packages(&status)
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
/// image, else dpkg's error names what is missing. dpkg runs through `runner`.
pub fn install_local_debs(
    options: &InstallOptions,
    debs: &[PathBuf],
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    runner.preflight("installing packages")?;
    let paths: Vec<&Path> = debs.iter().map(PathBuf::as_path).collect();
    let (staging, staged, sandbox) = stage_debs(options, "volatile-debs", &paths)?;
    let args = ["--install".to_owned()].into_iter().chain(staged).collect();
    let log = options.work.join("logs/dpkg.log");
    runner.run(
        &sandbox,
        &dpkg_command(args, options.source_date_epoch, &log),
    )?;
    Ok(fs::remove_dir_all(&staging).at(&staging)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_environment_is_fixed() {
        let env = dpkg_environment(0);
        assert_eq!(env["DEBIAN_FRONTEND"], "noninteractive");
        assert_eq!(env["LC_ALL"], "C.UTF-8");
        assert_eq!(env["SOURCE_DATE_EPOCH"], "0");
        assert!(!env.contains_key("USER") && !env.contains_key("TERM"));
    }

    use crate::sandbox::RecordingRunner;
    use crate::test_support::{fake_dpkg, install_options, status_text, tiny_lock};

    /// Without root and without a target: the Essential closure is bootstrapped in Rust
    /// (files, empty database, policy-rc.d), then dpkg runs exactly as the plan says, chrooted,
    /// with the fixed environment and the staged files bound read-only; the status it leaves
    /// is checked against the lock.
    #[test]
    fn install_bootstraps_then_runs_dpkg_as_planned() {
        let dir = tempfile::tempdir().unwrap();
        let debs = tiny_lock(dir.path());
        let options = install_options(dir.path());
        let runner = RecordingRunner::new(fake_dpkg(status_text("1.0", true)));
        let (report, installed) = install_packages(&debs, &options, &runner).unwrap();

        assert_eq!(report.essential, ["dpkg", "libaa"]);
        let root = &options.root;
        assert!(root.join("usr/share/dpkg").is_file() && root.join("usr/share/libaa").is_file());
        assert!(
            !root.join("usr/share/app").exists(),
            "only Essential is bootstrapped"
        );
        assert_eq!(
            fs::read_to_string(root.join("var/lib/dpkg/arch")).unwrap(),
            "amd64\n"
        );
        assert!(root.join("usr/sbin/policy-rc.d").is_file());

        let lines: Vec<String> = runner.runs().iter().map(|run| run.command_line()).collect();
        let dpkg = "/usr/bin/dpkg --force-unsafe-io";
        assert_eq!(
            lines,
            [
                format!("{dpkg} --force-depends --unpack /work/debs/0001.deb /work/debs/0002.deb"),
                format!("{dpkg} --force-depends --configure --pending"),
                format!("{dpkg} --unpack /work/debs/0000.deb /work/debs/0003.deb"),
                format!("{dpkg} --configure libbb"),
                format!("{dpkg} --unpack /work/debs/0004.deb"),
                format!("{dpkg} --configure --pending"),
            ]
        );
        for run in runner.runs() {
            assert_eq!(run.command.place, Place::Chroot { cwd: "/".into() });
            assert_eq!(run.command.env, dpkg_environment(1_700_000_000));
            assert_eq!(run.sandbox.root, *root);
            assert!(!run.sandbox.network);
            assert_eq!(run.sandbox.binds.len(), 1);
            assert_eq!(run.sandbox.binds[0].target, "/work/debs");
            assert!(!run.sandbox.binds[0].writable);
        }
        assert!(
            !options.work.join("debs").exists(),
            "the staging is removed"
        );
        let names: Vec<&str> = installed.iter().map(|p| p.id.name.as_str()).collect();
        assert_eq!(names, ["app", "dpkg", "libaa", "libbb", "tool"]);
    }

    /// dpkg's record is checked against the lock: another version, or a package missing.
    #[test]
    fn install_fails_when_dpkg_records_other_than_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let debs = tiny_lock(dir.path());
        let runner = RecordingRunner::new(fake_dpkg(status_text("2.0", true)));
        let err =
            install_packages(&debs, &install_options(&dir.path().join("a")), &runner).unwrap_err();
        assert!(err.to_string().contains("dpkg installed tool 2.0"), "{err}");
        let runner = RecordingRunner::new(fake_dpkg(status_text("1.0", false)));
        let err =
            install_packages(&debs, &install_options(&dir.path().join("b")), &runner).unwrap_err();
        assert!(err.to_string().contains("dpkg does not list app"), "{err}");
    }

    /// A list without `Essential: yes`, or whose Essential set lacks dpkg, or with a
    /// package twice is refused before anything runs.
    #[test]
    fn install_refuses_lists_that_cannot_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        let mut debs = tiny_lock(dir.path());
        let runner = RecordingRunner::new(fake_dpkg(String::new()));
        let twice = [debs.clone(), vec![debs[0].clone()]].concat();
        let err = install_packages(&twice, &install_options(dir.path()), &runner).unwrap_err();
        assert!(err.to_string().contains("in the list twice"), "{err}");
        debs.remove(1); // dpkg
        let err = install_packages(&debs, &install_options(dir.path()), &runner).unwrap_err();
        assert!(err.to_string().contains("Essential"), "{err}");
        assert!(runner.runs().is_empty());
    }
}
