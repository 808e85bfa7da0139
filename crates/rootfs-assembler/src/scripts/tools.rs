//! The scripts mkosi runs on its tools rather than on an image: sync scripts
//! (`SyncScripts=`, `mkosi.sync.d/`), before anything is built, and post-output scripts
//! (`PostOutputScripts=`, `mkosi.postoutput`), after the outputs are written and before they
//! are moved into the output directory.
//!
//! Each runs as mkosi runs it: in a [`Place::Tools`] sandbox (the host's `/usr` and `/etc`
//! read-only, nothing else of the host), the script bound at `/work/sync` (called with the
//! argument `final`) or `/work/postoutput`, the build sources read-write at `/work/src` (its
//! working directory and `$SRCDIR`), the configuration JSON at `/work/config.json`
//! (`$MKOSI_CONFIG`) and, for post-output scripts, the staging directory of the outputs at
//! `/work/out` (`$OUTPUTDIR`), where what they add becomes an output. Sync scripts get the
//! network (they exist to update sources); post-output scripts do not. Their environment is
//! mkosi's for these kinds: `$DISTRIBUTION`, `$RELEASE`, `$ARCHITECTURE`,
//! `$DISTRIBUTION_ARCHITECTURE`, `$EFI_ARCHITECTURE`, `$PROFILES` (space-separated, as
//! mkosi joins them here), `$MKOSI_UID`, `$MKOSI_GID`, `$MKOSI_DEBUG`, `$CACHED` (sync),
//! `$IMAGE_ID`, `$IMAGE_VERSION`, `$SOURCE_DATE_EPOCH`, `Environment=`, and the fixed base of
//! every script (`PATH`, `LC_ALL`, `TZ`, `HOME`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use config_model::ImageConfig;

use super::environment::{HOST_PATH, distribution_variables};
use crate::error::Error;
use crate::install::write_new_file;
use crate::sandbox::{Bind, CommandRunner, Place, Sandbox, SandboxCommand};
use build_vocab::AtPath;

/// The kinds of scripts that run on the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolScriptKind {
    /// `SyncScripts=`: before the build.
    Sync,
    /// `PostOutputScripts=`: after the outputs are written.
    PostOutput,
}

impl ToolScriptKind {
    /// The name mkosi uses in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::PostOutput => "postoutput",
        }
    }
}

/// Where things are for the tool scripts of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolScriptContext {
    /// The build sources (`/work/src`): the directory of the image definition.
    pub src_dir: PathBuf,
    /// A scratch directory of this build: the configuration JSON and logs live here.
    pub work: PathBuf,
    /// The staging directory of the outputs (`/work/out`), for post-output scripts.
    pub output_dir: Option<PathBuf>,
    /// `$MKOSI_UID` and `$MKOSI_GID`: the user that asked for the build.
    pub invoking_user: (u32, u32),
    /// `$CACHED` of sync scripts: whether a cached image is available.
    pub cached: bool,
    /// A file receiving the scripts' output; `None` inherits stdout and stderr.
    pub log: Option<PathBuf>,
}

/// Where mkosi binds things for these scripts.
mod tool_paths {
    pub(super) const SRCDIR: &str = "/work/src";
    pub(super) const OUTPUTDIR: &str = "/work/out";
    pub(super) const CONFIG: &str = "/work/config.json";
}

/// The environment of a tool script of `kind`. Pure.
pub fn tool_script_environment(
    config: &ImageConfig,
    context: &ToolScriptContext,
    kind: ToolScriptKind,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = config.build.environment.clone();
    let mut set = |name: &str, value: String| {
        env.insert(name.to_owned(), value);
    };
    set("PATH", HOST_PATH.into());
    set("LC_ALL", "C.UTF-8".into());
    set("LANG", "C.UTF-8".into());
    set("TZ", "UTC".into());
    set("HOME", "/root".into());
    distribution_variables(config, &mut set);
    set("SRCDIR", tool_paths::SRCDIR.into());
    set("MKOSI_CONFIG", tool_paths::CONFIG.into());
    set("MKOSI_UID", context.invoking_user.0.to_string());
    set("MKOSI_GID", context.invoking_user.1.to_string());
    set("MKOSI_DEBUG", "0".into());
    if !config.config.profiles.is_empty() {
        set("PROFILES", config.config.profiles.join(" "));
    }
    // What mkosi's `finalize_environment()` adds for every script.
    if let Some(id) = &config.output.image_id {
        set("IMAGE_ID", id.clone());
    }
    if let Some(version) = &config.output.image_version {
        set("IMAGE_VERSION", version.clone());
    }
    if let Some(epoch) = config.content.source_date_epoch {
        set("SOURCE_DATE_EPOCH", epoch.to_string());
    }
    match kind {
        ToolScriptKind::Sync => set("CACHED", u8::from(context.cached).to_string()),
        ToolScriptKind::PostOutput => set("OUTPUTDIR", tool_paths::OUTPUTDIR.into()),
    }
    env
}

/// The sandbox and command that run the tool script `script` of `kind`. Pure.
pub fn tool_script_invocation(
    config: &ImageConfig,
    context: &ToolScriptContext,
    kind: ToolScriptKind,
    script: &Path,
) -> (Sandbox, SandboxCommand) {
    let program = format!("/work/{}", kind.name());
    let mut binds = vec![
        Bind {
            source: script.to_path_buf(),
            target: program.clone(),
            writable: false,
        },
        Bind {
            source: config_json(context),
            target: tool_paths::CONFIG.into(),
            writable: false,
        },
        Bind {
            source: context.src_dir.clone(),
            target: tool_paths::SRCDIR.into(),
            writable: true,
        },
    ];
    if let (ToolScriptKind::PostOutput, Some(dir)) = (kind, &context.output_dir) {
        binds.push(Bind {
            source: dir.clone(),
            target: tool_paths::OUTPUTDIR.into(),
            writable: true,
        });
    }
    let sandbox = Sandbox {
        root: context.work.clone(),
        view: context.work.join("view"),
        network: kind == ToolScriptKind::Sync,
        binds,
    };
    let args: Vec<String> = match kind {
        ToolScriptKind::Sync => vec!["final".into()],
        ToolScriptKind::PostOutput => Vec::new(),
    };
    let mut command = SandboxCommand::new(
        program,
        args,
        Place::Tools {
            cwd: tool_paths::SRCDIR.into(),
        },
    );
    command.env = tool_script_environment(config, context, kind);
    command.log = context.log.clone();
    (sandbox, command)
}

/// The configuration JSON file the scripts get.
fn config_json(context: &ToolScriptContext) -> PathBuf {
    context.work.join("config.json")
}

/// Runs `scripts` of `kind` in order through `runner`.
pub fn run_tool_scripts(
    config: &ImageConfig,
    context: &ToolScriptContext,
    kind: ToolScriptKind,
    scripts: &[PathBuf],
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    if scripts.is_empty() {
        return Ok(());
    }
    runner.preflight("running scripts")?;
    fs::create_dir_all(&context.work).at(&context.work)?;
    let json = config_json(context);
    if fs::symlink_metadata(&json).is_ok() {
        fs::remove_file(&json).at(&json)?;
    }
    write_new_file(&json, config.to_json().as_bytes(), 0o644)?;
    for script in scripts {
        super::check_executable(script)?;
        super::log_header(context.log.as_deref(), kind.name(), script)?;
        let (sandbox, command) = tool_script_invocation(config, context, kind, script);
        runner.run(&sandbox, &command)?;
    }
    Ok(())
}
