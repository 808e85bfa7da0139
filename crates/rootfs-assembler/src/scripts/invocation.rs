//! The sandbox and command of one script: what is bound where (`/work/src`, `/work/out`, ...),
//! whether it runs chrooted in the image (`*.chroot`) or on the host with the host read-only
//! but for the build directory, its arguments and its environment. Pure.

use std::collections::BTreeMap;
use std::path::Path;

use config_model::ImageConfig;

use super::environment::chroot_environment;
use super::{ScriptContext, ScriptKind, chroot_paths};
use crate::sandbox::{Bind, Place, Sandbox, SandboxCommand};

/// The sandbox and the command that run `script` of `kind`, whose host environment is `env`.
pub fn script_invocation(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    script: &Path,
    env: BTreeMap<String, String>,
) -> (Sandbox, SandboxCommand) {
    let name = script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut binds = vec![
        Bind {
            source: context.src_dir.clone(),
            target: chroot_paths::SRCDIR.into(),
            writable: false,
        },
        Bind {
            source: context.output_dir.clone(),
            target: chroot_paths::OUTPUTDIR.into(),
            writable: true,
        },
        Bind {
            source: context.package_dir.clone(),
            target: chroot_paths::PACKAGEDIR.into(),
            writable: true,
        },
        Bind {
            source: context.artifact_dir.clone(),
            target: chroot_paths::ARTIFACTDIR.into(),
            writable: true,
        },
        Bind {
            source: context.config_json(),
            target: chroot_paths::CONFIG.into(),
            writable: false,
        },
        Bind {
            source: script.to_path_buf(),
            target: format!("/work/{name}"),
            writable: false,
        },
    ];
    if let Some(dir) = &context.build_dir {
        binds.push(Bind {
            source: dir.clone(),
            target: chroot_paths::BUILDDIR.into(),
            writable: true,
        });
    }
    if let (ScriptKind::Build, Some(dir)) = (kind, &context.dest_dir) {
        binds.push(Bind {
            source: dir.clone(),
            target: chroot_paths::DESTDIR.into(),
            writable: true,
        });
    }
    let sandbox = Sandbox {
        root: context.root.clone(),
        view: context.view(),
        network: config.build.with_network.unwrap_or(false),
        binds,
    };
    let args: Vec<String> = match kind {
        ScriptKind::Prepare => vec!["final".into()],
        ScriptKind::PrepareBuild => vec!["build".into()],
        _ => Vec::new(),
    };
    let mut command = if name.ends_with(".chroot") {
        let mut command = SandboxCommand::new(
            format!("/work/{name}"),
            args,
            Place::Chroot {
                cwd: chroot_paths::SRCDIR.into(),
            },
        );
        command.env = chroot_environment(&env);
        command
    } else {
        let mut writable = vec![
            context.work.clone(),
            context.root.clone(),
            context.output_dir.clone(),
            context.package_dir.clone(),
            context.artifact_dir.clone(),
        ];
        writable.extend(context.build_dir.clone());
        if kind == ScriptKind::Build {
            writable.extend(context.dest_dir.clone());
        }
        writable.sort();
        writable.dedup();
        let mut command = SandboxCommand::new(
            script.as_os_str(),
            args,
            Place::Host {
                cwd: context.src_dir.clone(),
                readable: script.parent().map(Path::to_path_buf).into_iter().collect(),
                writable,
            },
        );
        command.env = env;
        command
    };
    command.log = context.log.clone();
    (sandbox, command)
}
