//! The whole assembly, in mkosi's order (manual, EXECUTION FLOW), for what this crate does:
//!
//! 1. base trees (`BaseTrees=`, [`crate::base_trees`]), then skeleton trees (`SkeletonTrees=`);
//! 2. packages: bootstrap and the target's dpkg ([`crate::install`]); on a base tree, the
//!    base's dpkg installs them on top, without a bootstrap;
//! 3. prepare scripts with `final`;
//! 4. build outputs: `VolatilePackages=` from the build scripts' `$PACKAGEDIR` (the image's
//!    dpkg), then their `$DESTDIR` ([`BuildOutputs`]; the scripts ran in the
//!    [`crate::build_tree`]);
//! 5. extra trees (`ExtraTrees=`);
//! 6. post-installation scripts, then the initrd links or a system extension's release file
//!    ([`crate::release_files`]);
//! 7. the kernel module filter and `depmod` ([`crate::kernel_modules`]);
//! 8. `RemovePackages=` (`dpkg --purge`) and `RemoveFiles=`, the manifest is read from dpkg's
//!    database, then `CleanPackageMetadata=`;
//! 9. finalize scripts, then the check that the modules step 7 kept are all still there; with
//!    `Overlay=yes` what the base trees hold is removed again;
//! 10. normalisation ([`crate::normalise`]) and the tree digest ([`crate::digest`]).
//!
//! The root is built as `<build dir>/root.partial` and renamed to `<build dir>/root` only when
//! everything succeeded; `manifest.json` and `tree-digest.txt` are written next to it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use build_vocab::publish;
use config_model::ImageConfig;
use config_model::value::Feature;

use crate::base_trees::{Subtracted, copy_bases, installed_in_bases, subtract_bases};
use crate::build_dir::{BuildLayout, checked_inputs};
use crate::build_tree::BuildScriptOutputs;
use crate::deb::LockedDeb;
use crate::digest::{TreeDigest, tree_digest};
use crate::error::Error;
use crate::install::{
    DpkgRun, dpkg_environment, install_local_debs, install_packages, installed_packages,
    remove_policy_rc_d,
};
use crate::kernel_modules::{self, Selection};
use crate::manifest::Manifest;
use crate::normalise::{clean_package_metadata, normalise};
use crate::release_files::write_release_files;
use crate::sandbox::{CommandRunner, Place, Sandbox, SandboxCommand};
use crate::scripts::{ScriptKind, run_scripts};
use crate::trees::{copy_tree, copy_trees};
use build_vocab::AtPath;

/// What to do about `BuildScripts=`: they run in a separate build tree
/// ([`crate::build_tree`]); the assembler takes their results in at the right step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutputs {
    /// No build scripts may be configured; an error if some are.
    Refuse,
    /// Build scripts are configured but not run; their outputs are missing from the image.
    /// Reported in [`AssembleReport::skipped_build_scripts`].
    Skip,
    /// The build scripts ran: after the prepare scripts, the `.deb` files of their
    /// `$PACKAGEDIR` that `VolatilePackages=` names are installed and their `$DESTDIR` is
    /// copied in, as mkosi does.
    Built(BuildScriptOutputs),
}

/// Everything one assembly needs.
#[derive(Debug, Clone)]
pub struct AssembleOptions<'a> {
    /// The resolved image configuration.
    pub config: &'a ImageConfig,
    /// The verified packages, in installation order (the lock's).
    pub packages: &'a [LockedDeb],
    /// The build directory: the root, scratch space and outputs go here, nothing elsewhere.
    pub build_dir: PathBuf,
    /// The output's name without its version (mkosi's `Output=`, by default the image id or
    /// the subimage's name): a system extension's release file is named after it.
    pub output_name: String,
    /// The image definition's directory (`$SRCDIR`).
    pub src_dir: PathBuf,
    /// Build script results.
    pub build_outputs: BuildOutputs,
    /// `$MKOSI_UID`/`$MKOSI_GID`.
    pub invoking_user: (u32, u32),
    /// Runs dpkg, the scripts and `depmod` ([`crate::sandbox::NamespaceSandbox`] for real).
    pub runner: &'a dyn CommandRunner,
}

/// The assembled root filesystem.
#[derive(Debug, Clone)]
pub struct Rootfs {
    /// The root directory.
    pub root: PathBuf,
    /// Installed packages.
    pub manifest: Manifest,
    /// The tree digest that names the root.
    pub digest: TreeDigest,
    /// How it went.
    pub report: AssembleReport,
}

/// What an assembly did and how long each step took.
#[derive(Debug, Clone, Default)]
pub struct AssembleReport {
    /// Wall time per step, in order.
    pub steps: Vec<(&'static str, Duration)>,
    /// The packages unpacked by the bootstrap.
    pub essential: Vec<String>,
    /// The dpkg runs after the bootstrap.
    pub dpkg_runs: Vec<DpkgRun>,
    /// Paths removed by `RemoveFiles=`, `CleanPackageMetadata=` and normalisation.
    pub removed: Vec<String>,
    /// Build scripts that were configured but not run ([`BuildOutputs::Skip`]).
    pub skipped_build_scripts: Vec<PathBuf>,
    /// `.deb` files installed for `VolatilePackages=`.
    pub volatile_installed: Vec<PathBuf>,
    /// `VolatilePackages=` entries that no `.deb` of the build scripts matched.
    pub volatile_missing: Vec<String>,
    /// What `Overlay=yes` removed of the base trees.
    pub overlay: Option<Subtracted>,
    /// The modules kept of each modular kernel in the image.
    pub kernel_modules: Vec<Selection>,
    /// The log of dpkg and the scripts.
    pub logs: Vec<PathBuf>,
}

/// Assembles the root filesystem as the module doc describes; commands run through
/// `options.runner`.
pub fn assemble(options: &AssembleOptions<'_>) -> Result<Rootfs, Error> {
    let runner = options.runner;
    runner.preflight("assembling a root filesystem")?;
    let config = options.config;
    let content = &config.content;
    let (source_date_epoch, architecture) = checked_inputs(config)?;
    let mut report = AssembleReport::default();
    match &options.build_outputs {
        BuildOutputs::Refuse if !content.build_scripts.is_empty() => {
            return Err(Error::Config {
                setting: "BuildScripts",
                reason: "build scripts are configured: run them in a build tree \
                         (assemble_build_tree) and pass BuildOutputs::Built, or \
                         BuildOutputs::Skip"
                    .into(),
            });
        }
        BuildOutputs::Skip => report.skipped_build_scripts = content.build_scripts.clone(),
        _ => {}
    }

    let layout = BuildLayout::fresh(&options.build_dir, source_date_epoch)?;
    let root = &layout.partial_root;
    let mut clock = Instant::now();
    let mut lap = |report: &mut AssembleReport, step: &'static str| {
        report.steps.push((step, clock.elapsed()));
        clock = Instant::now();
    };

    installed_in_bases(&content.base_trees)?;
    copy_bases(&content.base_trees, root)?;
    copy_trees(&content.skeleton_trees, root)?;
    lap(&mut report, "base and skeleton trees");

    let (install, _) = install_packages(
        options.packages,
        &layout.install_options(architecture, source_date_epoch),
        runner,
    )?;
    report.essential = install.essential;
    report.dpkg_runs = install.plan;
    report.logs.push(install.log);
    lap(&mut report, "packages");

    let script_log = layout.work.join("logs/scripts.log");
    report.logs.push(script_log.clone());
    let scripts = layout.script_context(
        config,
        &options.src_dir,
        source_date_epoch,
        options.invoking_user,
        script_log,
    );
    run_scripts(
        config,
        &scripts,
        ScriptKind::Prepare,
        &content.prepare_scripts,
        runner,
    )?;
    // Without build outputs no `.deb` can match: every `VolatilePackages=` entry is missing.
    report.volatile_missing = content
        .volatile_packages
        .iter()
        .map(|spec| spec.name.clone())
        .collect();
    if let BuildOutputs::Built(outputs) = &options.build_outputs {
        let (debs, missing) = outputs.volatile_debs(&content.volatile_packages)?;
        if !debs.is_empty() {
            install_local_debs(
                &layout.install_options(architecture, source_date_epoch),
                &debs,
                runner,
            )?;
        }
        report.volatile_installed = debs;
        report.volatile_missing = missing;
        copy_tree(
            &config_model::Tree {
                source: outputs.dest_dir.clone(),
                target: None,
            },
            root,
        )?;
    }
    copy_trees(&content.extra_trees, root)?;
    lap(&mut report, "prepare scripts, build outputs, extra trees");

    run_scripts(
        config,
        &scripts,
        ScriptKind::PostInstallation,
        &content.post_installation_scripts,
        runner,
    )?;
    remove_policy_rc_d(root)?;
    write_release_files(config, root, &options.output_name)?;
    lap(&mut report, "post-installation scripts");

    report.kernel_modules = kernel_modules::apply(config, root, &layout.work, runner)?;
    lap(&mut report, "kernel modules");

    remove_packages_and_files(config, root, &layout.work, source_date_epoch, runner)?;
    let status_path = root.join("var/lib/dpkg/status");
    let status = fs::read_to_string(&status_path).at(&status_path)?;
    let manifest = Manifest::new(config, &installed_packages(&status)?);
    if content.clean_package_metadata == Some(Feature::Enabled) {
        report.removed.extend(clean_package_metadata(root)?);
    }
    run_scripts(
        config,
        &scripts,
        ScriptKind::Finalize,
        &content.finalize_scripts,
        runner,
    )?;
    kernel_modules::verify(root, &report.kernel_modules)?;
    if config.output.overlay == Some(true) {
        report.overlay = Some(subtract_bases(root, &content.base_trees)?);
    }
    lap(&mut report, "removals, finalize scripts");

    report
        .removed
        .extend(normalise(root, source_date_epoch)?.removed);
    lap(&mut report, "normalisation");

    layout.finish_root()?;
    let digest = tree_digest(&layout.root)?;
    publish::write_bytes(&layout.manifest, 0o644, manifest.to_json().as_bytes())?;
    publish::write_bytes(&layout.digest, 0o644, digest.listing().as_bytes())?;
    lap(&mut report, "tree digest");
    Ok(Rootfs {
        root: layout.root,
        manifest,
        digest,
        report,
    })
}

/// Characters a `RemoveFiles=` glob may hold (it is expanded by the image's shell).
fn is_safe_glob(glob: &str) -> bool {
    glob.starts_with('/')
        && glob
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:,=*?[]!{}~".contains(c))
}

/// `RemovePackages=` with the image's `dpkg --purge`, then `RemoveFiles=` globs expanded and
/// removed inside the image (so a symlink in the image can never lead outside it).
fn remove_packages_and_files(
    config: &ImageConfig,
    root: &Path,
    work: &Path,
    source_date_epoch: u64,
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    let content = &config.content;
    if content.remove_packages.is_empty() && content.remove_files.is_empty() {
        return Ok(());
    }
    let (sandbox, log) = Sandbox::over_image(root, work, "remove.log")?;
    let place = Place::Chroot { cwd: "/".into() };
    if !content.remove_packages.is_empty() {
        let mut command = SandboxCommand::new(
            "/usr/bin/dpkg",
            ["--purge".to_owned()]
                .into_iter()
                .chain(content.remove_packages.iter().map(|p| p.name.clone())),
            place.clone(),
        );
        command.env = dpkg_environment(source_date_epoch);
        command.log = Some(log.clone());
        runner.run(&sandbox, &command)?;
    }
    if !content.remove_files.is_empty() {
        if let Some(bad) = content.remove_files.iter().find(|g| !is_safe_glob(g)) {
            return Err(Error::Config {
                setting: "RemoveFiles",
                reason: format!(
                    "`{bad}`: only absolute globs of letters, digits and ._-+@%:,=*?[]!{{}}~"
                ),
            });
        }
        let script = format!("rm -rf -- {}", content.remove_files.join(" "));
        let mut command = SandboxCommand::new("/bin/sh", ["-c".to_owned(), script], place);
        command.env = dpkg_environment(source_date_epoch);
        command.log = Some(log);
        runner.run(&sandbox, &command)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::RecordingRunner;

    #[test]
    fn remove_files_globs_are_checked() {
        assert!(is_safe_glob("/usr/share/doc/*"));
        assert!(is_safe_glob("/usr/lib/modules/*/kernel/[a-c]*"));
        assert!(!is_safe_glob("usr/share"));
        assert!(!is_safe_glob("/x; rm -rf /"));
        assert!(!is_safe_glob("/$(reboot)"));
        assert!(!is_safe_glob("/a b"));
    }

    #[test]
    fn configuration_errors_come_first() {
        let runner = RecordingRunner::new(|_, _| Ok(()));
        let dir = tempfile::tempdir().unwrap();
        let mut config = ImageConfig::default();
        let build_dir = dir.path().join("build");
        let run = |config: &ImageConfig| {
            assemble(&AssembleOptions {
                config,
                output_name: "image".into(),
                packages: &[],
                build_dir: build_dir.clone(),
                src_dir: dir.path().to_path_buf(),
                build_outputs: BuildOutputs::Refuse,
                invoking_user: (0, 0),
                runner: &runner,
            })
            .unwrap_err()
        };
        let err = run(&config);
        assert!(err.to_string().contains("SourceDateEpoch"), "{err}");
        config.content.source_date_epoch = Some(0);
        let err = run(&config);
        assert!(err.to_string().contains("Distribution"), "{err}");
        config.distribution.distribution = Some(config_model::Distribution::Debian);
        let err = run(&config);
        assert!(err.to_string().contains("Architecture"), "{err}");
        config.distribution.architecture = Some(config_model::Architecture::X86_64);
        config.content.build_scripts = vec!["/src/mkosi.build".into()];
        let err = run(&config);
        assert!(err.to_string().contains("BuildScripts"), "{err}");
        assert!(!dir.path().join("build").exists(), "nothing was written");
        assert!(runner.runs().is_empty(), "nothing ran");
    }

    /// The whole assembly without root, dpkg and scripts recorded: mkosi's order (skeleton
    /// tree before packages, so its dpkg filter applies to the bootstrap; extra trees and
    /// post-installation scripts after; removals, then finalize scripts), the manifest read
    /// from what dpkg recorded after the purge, and the root renamed into place.
    #[test]
    fn assembly_runs_in_mkosis_order() {
        use crate::test_support::{status_text, tiny_lock};
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let skeleton = base.join("skeleton");
        fs::create_dir_all(skeleton.join("etc/dpkg/dpkg.cfg.d")).unwrap();
        fs::write(
            skeleton.join("etc/dpkg/dpkg.cfg.d/excludes"),
            "path-exclude=/usr/share/libaa\n",
        )
        .unwrap();
        let extra = base.join("extra");
        fs::create_dir_all(extra.join("etc")).unwrap();
        fs::write(extra.join("etc/motd"), "hello\n").unwrap();
        let src = base.join("src");
        fs::create_dir_all(&src).unwrap();
        let script = |name: &str| {
            let path = src.join(name);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(config_model::Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(config_model::Architecture::X86_64);
        let content = &mut config.content;
        content.source_date_epoch = Some(0);
        content.skeleton_trees = vec![config_model::Tree {
            source: skeleton,
            target: None,
        }];
        content.extra_trees = vec![config_model::Tree {
            source: extra,
            target: None,
        }];
        content.post_installation_scripts = vec![script("mkosi.postinst")];
        content.finalize_scripts = vec![script("mkosi.finalize")];
        content.remove_packages = vec!["app".parse().unwrap()];
        content.remove_files = vec!["/usr/share/tool".into()];

        let debs = tiny_lock(&base.join("debs"));
        let runner = RecordingRunner::new(|sandbox: &Sandbox, command: &SandboxCommand| {
            let status = sandbox.root.join("var/lib/dpkg/status");
            let args: Vec<&str> = command.args.iter().filter_map(|a| a.to_str()).collect();
            if args.ends_with(&["--configure", "--pending"]) {
                fs::write(&status, status_text("1.0", true)).unwrap();
            }
            if args.contains(&"--purge") {
                fs::write(&status, status_text("1.0", false)).unwrap();
            }
            // Scripts see the extra tree already in place.
            if command.env.contains_key("BUILDROOT") {
                assert!(sandbox.root.join("etc/motd").is_file());
            }
            Ok(())
        });
        let rootfs = assemble(&AssembleOptions {
            config: &config,
            output_name: "image".into(),
            packages: &debs,
            build_dir: base.join("build"),
            src_dir: src.clone(),
            build_outputs: BuildOutputs::Refuse,
            invoking_user: (0, 0),
            runner: &runner,
        })
        .unwrap();

        let programs: Vec<String> = runner
            .runs()
            .iter()
            .map(|run| {
                let line = run.command_line();
                line.split(' ')
                    .filter(|word| !word.ends_with(".deb") && *word != "--force-unsafe-io")
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let postinst = src.join("mkosi.postinst").display().to_string();
        let finalize = src.join("mkosi.finalize").display().to_string();
        assert_eq!(
            programs,
            [
                "/usr/bin/dpkg --force-depends --unpack",
                "/usr/bin/dpkg --force-depends --configure --pending",
                "/usr/bin/dpkg --unpack",
                "/usr/bin/dpkg --configure libbb",
                "/usr/bin/dpkg --unpack",
                "/usr/bin/dpkg --configure --pending",
                postinst.as_str(),
                "/usr/bin/dpkg --purge app",
                "/bin/sh -c rm -rf -- /usr/share/tool",
                finalize.as_str(),
            ]
        );
        assert_eq!(rootfs.root, base.join("build/root"));
        assert!(!base.join("build/root.partial").exists());
        assert!(rootfs.root.join("usr/share/dpkg").is_file());
        assert!(
            !rootfs.root.join("usr/share/libaa").exists(),
            "the skeleton's dpkg filter applies to the bootstrap"
        );
        assert!(!rootfs.root.join("usr/sbin/policy-rc.d").exists());
        let names: Vec<&str> = rootfs
            .manifest
            .packages
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["dpkg", "libaa", "libbb", "tool"]);
        assert!(rootfs.digest.entries.iter().any(|e| e.path == "/etc/motd"));
    }
}
