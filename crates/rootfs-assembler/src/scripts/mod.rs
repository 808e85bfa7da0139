//! mkosi's scripts: their environment, the helpers on their `$PATH`, and running them.
//!
//! - [`script_environment`] (pure) is the variable table of the manual's SCRIPTS section for
//!   one [`ScriptKind`]: `$BUILDROOT`, `$SRCDIR`, `$OUTPUTDIR`, `$PACKAGEDIR`, `$ARTIFACTDIR`,
//!   `$BUILDDIR`, `$DESTDIR` (build scripts), `$ARCHITECTURE`, `$DISTRIBUTION`, `$RELEASE`,
//!   `$PROFILES`, `$IMAGE_ID`, `$IMAGE_VERSION`, `$SOURCE_DATE_EPOCH`, `$WITH_NETWORK`,
//!   `$MKOSI_CONFIG` (a JSON file holding [`ImageConfig::to_json`]), `$CHROOT_SCRIPT`,
//!   `$CHROOT_SRCDIR`, ... on top of the configuration's `Environment=` and a fixed base
//!   (`PATH`, `LC_ALL=C.UTF-8`, `TZ=UTC`): nothing of the calling process leaks in.
//!   [`chroot_environment`] is the same seen from inside the image, as `mkosi-chroot` sets it.
//! - [`write_helpers`] writes the helper directory put first on `$PATH`: `mkosi-chroot` (a
//!   small shell script that chroots into the sandbox's prepared view of the image, where
//!   `/work/src`, `/work/out`, ... are bound) and `useradd`/`groupadd`, which act on the image.
//! - [`run_scripts`] runs scripts in order: ordinary ones on the host in the sandbox (host
//!   read-only but for the build directory), `*.chroot` ones chrooted into the image.
//!
//! Build scripts run in the build tree ([`crate::build_tree`]) with `$DESTDIR` bound at
//! `/work/dest`; what they put there is copied into the image afterwards.
//!
//! Sync and post-output scripts, which mkosi runs on its tools rather than on an image, are
//! [`run_tool_scripts`] (module `tools`).
//!
//! Files: `environment` (the variable tables), `helpers` (the helper directory),
//! `invocation` (the sandbox and command of one script, pure), `tools` (sync and post-output
//! scripts); this file runs them through a [`CommandRunner`].

mod environment;
mod helpers;
mod invocation;
mod tools;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use config_model::ImageConfig;

use crate::error::Error;
use crate::install::write_new_file;
use crate::sandbox::CommandRunner;
use build_vocab::AtPath;

pub use environment::{chroot_environment, script_environment};
pub use helpers::{mkosi_chroot_script, write_helpers};
pub use invocation::script_invocation;
pub use tools::{
    ToolScriptContext, ToolScriptKind, run_tool_scripts, tool_script_environment,
    tool_script_invocation,
};

/// Which of mkosi's script hooks a script belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScriptKind {
    /// `PrepareScripts=`, run with the argument `final` after the packages are installed.
    Prepare,
    /// `PrepareScripts=` again, with the argument `build`, in the build tree
    /// ([`crate::build_tree`]).
    PrepareBuild,
    /// `BuildScripts=`, in the build tree, with `$DESTDIR`.
    Build,
    /// `PostInstallationScripts=`.
    PostInstallation,
    /// `FinalizeScripts=`.
    Finalize,
}

impl ScriptKind {
    /// The name mkosi uses in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prepare | Self::PrepareBuild => "prepare",
            Self::Build => "build",
            Self::PostInstallation => "postinst",
            Self::Finalize => "finalize",
        }
    }
}

/// Where things are, for the scripts of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptContext {
    /// The image root (`$BUILDROOT`).
    pub root: PathBuf,
    /// The build sources (`$SRCDIR`): the directory of the image definition.
    pub src_dir: PathBuf,
    /// `$OUTPUTDIR`: the staging directory for outputs.
    pub output_dir: PathBuf,
    /// `$PACKAGEDIR`: the local package directory.
    pub package_dir: PathBuf,
    /// `$ARTIFACTDIR`.
    pub artifact_dir: PathBuf,
    /// `$BUILDDIR`, when a build directory is configured.
    pub build_dir: Option<PathBuf>,
    /// `$DESTDIR` for build scripts.
    pub dest_dir: Option<PathBuf>,
    /// A scratch directory of this build outside the root: the sandbox view, the helper
    /// directory, `$MKOSI_CONFIG`, `$TMPDIR` and logs live here.
    pub work: PathBuf,
    /// SOURCE_DATE_EPOCH.
    pub source_date_epoch: u64,
    /// `$MKOSI_UID` and `$MKOSI_GID`: the user that asked for the build.
    pub invoking_user: (u32, u32),
    /// A file receiving the scripts' output; `None` inherits stdout and stderr.
    pub log: Option<PathBuf>,
}

impl ScriptContext {
    /// The sandbox view directory.
    pub fn view(&self) -> PathBuf {
        self.work.join("view")
    }

    /// The helper directory (first on `$PATH`).
    pub fn helpers(&self) -> PathBuf {
        self.work.join("helpers")
    }

    /// The file `$MKOSI_CONFIG` names.
    pub fn config_json(&self) -> PathBuf {
        self.work.join("config.json")
    }
}

/// Where the directories appear inside the image (what `mkosi-chroot` binds).
pub mod chroot_paths {
    /// `$CHROOT_SRCDIR`.
    pub const SRCDIR: &str = "/work/src";
    /// `$CHROOT_OUTPUTDIR`.
    pub const OUTPUTDIR: &str = "/work/out";
    /// The package directory.
    pub const PACKAGEDIR: &str = "/work/packages";
    /// The artifact directory.
    pub const ARTIFACTDIR: &str = "/work/artifacts";
    /// `$CHROOT_BUILDDIR`.
    pub const BUILDDIR: &str = "/work/build";
    /// `$CHROOT_DESTDIR`.
    pub const DESTDIR: &str = "/work/dest";
    /// `$MKOSI_CONFIG` inside the image.
    pub const CONFIG: &str = "/work/config.json";
}

/// Runs `scripts` of `kind` in order. Scripts whose name ends in `.chroot` run chrooted in the
/// image; the others on the host in the sandbox. They run through `runner`.
pub fn run_scripts(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    scripts: &[PathBuf],
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    if scripts.is_empty() {
        return Ok(());
    }
    runner.preflight("running scripts")?;
    for dir in [
        Some(&context.work),
        Some(&context.output_dir),
        Some(&context.package_dir),
        Some(&context.artifact_dir),
        context.build_dir.as_ref(),
        context.dest_dir.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        fs::create_dir_all(dir).at(dir)?;
    }
    let tmp = context.work.join("tmp");
    fs::create_dir_all(&tmp).at(&tmp)?;
    let json = context.config_json();
    write_new_file(&json, config.to_json().as_bytes(), 0o644)?;
    for script in scripts {
        run_script(config, context, kind, script, runner)?;
    }
    Ok(())
}

fn run_script(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    script: &Path,
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    check_executable(script)?;
    let env = script_environment(config, context, kind, script);
    write_helpers(context, &env)?;
    let (sandbox, command) = script_invocation(config, context, kind, script, env);
    log_header(context.log.as_deref(), kind.name(), script)?;
    runner.run(&sandbox, &command)
}

/// Refuses a script that is not executable, as mkosi does.
fn check_executable(script: &Path) -> Result<(), Error> {
    let meta = fs::metadata(script).at(script)?;
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Error::Command {
            command: script.display().to_string(),
            status: "not executable".into(),
            output: String::new(),
        });
    }
    Ok(())
}

/// Appends the line that introduces a script's output to the log, when there is one.
fn log_header(log: Option<&Path>, kind: &str, script: &Path) -> Result<(), Error> {
    let Some(log) = log else { return Ok(()) };
    let header = format!("==> {kind} script {}\n", script.display());
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, header.as_bytes()))
        .at(log)?;
    Ok(())
}

#[cfg(test)]
mod tests;
