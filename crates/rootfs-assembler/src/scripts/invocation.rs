//! The sandbox and command of one script: what is bound where (`/work/src`, `/work/out`, ...),
//! whether it runs chrooted in the image (`*.chroot`) or on the host with the host read-only
//! but for the build directory, its arguments and its environment. Pure.
//!
//! A host script sees of the host only `/usr`, `/etc`, the sources, its own directory, the
//! build's directories and the host paths the user's environment (`Environment=`, `-E`)
//! names: a value that is an absolute path below a top-level directory (`/opt/x`, not `/` or
//! `/home`), outside `/proc`, `/sys` and `/dev`, is bound read-only when it exists (that is
//! how the user hands a script a prebuilt binary, `TDX_INIT_BINARY=/path/to/tdx-init`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

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
                readable: script
                    .parent()
                    .map(Path::to_path_buf)
                    .into_iter()
                    .chain(named_host_paths(&config.build.environment))
                    .collect(),
                writable,
            },
        );
        command.env = env;
        command
    };
    command.log = context.log.clone();
    (sandbox, command)
}

/// The host paths the values of `environment` name, as the module docs say.
fn named_host_paths(environment: &BTreeMap<String, String>) -> Vec<PathBuf> {
    environment
        .values()
        .map(Path::new)
        .filter(|path| {
            let parts: Vec<Component<'_>> = path.components().collect();
            let normal = parts
                .iter()
                .skip(1)
                .all(|c| matches!(c, Component::Normal(_)));
            path.is_absolute()
                && normal
                && parts.len() >= 3
                && !["/proc", "/sys", "/dev"]
                    .iter()
                    .any(|api| path.starts_with(api))
        })
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_scripts_see_the_paths_their_environment_names_and_no_others() {
        let environment: BTreeMap<String, String> = [
            ("TDX_INIT_BINARY", "/work/prebuilt/tdx-init"),
            ("ROOT", "/"),
            ("HOME_DIR", "/home"),
            ("ESCAPE", "/opt/../etc/shadow"),
            ("RELATIVE", "prebuilt/x"),
            ("API", "/proc/self/root"),
            ("WORD", "enabled"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(
            named_host_paths(&environment),
            [PathBuf::from("/work/prebuilt/tdx-init")]
        );
    }
}
