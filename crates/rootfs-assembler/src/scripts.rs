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

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use config_model::ImageConfig;

use crate::error::Error;
use crate::install::{IMAGE_PATH, write_new_file};
use crate::sandbox::{self, Bind, Place, Sandbox, SandboxCommand};
use build_vocab::AtPath;

/// The fixed `PATH` after the helper directory for scripts that run on the host.
const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// The UEFI name of an architecture (`x64`), as `$EFI_ARCHITECTURE` has it.
fn efi_architecture(architecture: config_model::Architecture) -> Option<&'static str> {
    use config_model::Architecture as A;
    Some(match architecture {
        A::X86_64 => "x64",
        A::X86 => "ia32",
        A::Arm64 => "aa64",
        A::Arm => "arm",
        A::RiscV64 => "riscv64",
        A::LoongArch64 => "loongarch64",
        _ => return None,
    })
}

/// The environment of a script of `kind` at `script` (a host path), as the manual's table
/// gives it, seen from the host. Pure.
pub fn script_environment(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    script: &Path,
) -> BTreeMap<String, String> {
    use ScriptKind::*;
    let mut env: BTreeMap<String, String> = config.build.environment.clone();
    let mut set = |name: &str, value: String| {
        env.insert(name.to_owned(), value);
    };
    let path = |p: &Path| p.display().to_string();
    set(
        "PATH",
        format!("{}:{HOST_PATH}", context.helpers().display()),
    );
    set("LC_ALL", "C.UTF-8".into());
    set("LANG", "C.UTF-8".into());
    set("TZ", "UTC".into());
    set("HOME", "/root".into());
    set("TMPDIR", path(&context.work.join("tmp")));

    let distribution = &config.distribution;
    if let Some(architecture) = distribution.architecture {
        set("ARCHITECTURE", architecture.as_str().into());
        if let Some(name) = architecture.debian_name() {
            set("DISTRIBUTION_ARCHITECTURE", name.into());
        }
        if let Some(name) = efi_architecture(architecture) {
            set("EFI_ARCHITECTURE", name.into());
        }
    }
    if let Some(d) = distribution.distribution {
        set("DISTRIBUTION", d.as_str().into());
    }
    if let Some(release) = &distribution.release {
        set("RELEASE", release.clone());
    }
    if let Some(id) = &config.output.image_id {
        set("IMAGE_ID", id.clone());
    }
    if let Some(version) = &config.output.image_version {
        set("IMAGE_VERSION", version.clone());
    }
    set("PROFILES", config.config.profiles.join(","));
    set("SRCDIR", path(&context.src_dir));
    set("MKOSI_CONFIG", path(&context.config_json()));
    set("MKOSI_UID", context.invoking_user.0.to_string());
    set("MKOSI_GID", context.invoking_user.1.to_string());
    set("MKOSI_DEBUG", "0".into());
    // Every script kind here is one of prepare, build, postinst and finalize.
    set("BUILDROOT", path(&context.root));
    set("PACKAGEDIR", path(&context.package_dir));
    set("ARTIFACTDIR", path(&context.artifact_dir));
    set("SOURCE_DATE_EPOCH", context.source_date_epoch.to_string());
    set(
        "WITH_NETWORK",
        u8::from(config.build.with_network.unwrap_or(false)).to_string(),
    );
    let name = script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    set("CHROOT_SCRIPT", format!("/work/{name}"));
    set("CHROOT_SRCDIR", chroot_paths::SRCDIR.into());
    if matches!(kind, Prepare | PrepareBuild | Build) {
        set(
            "WITH_DOCS",
            u8::from(config.content.with_docs.unwrap_or(true)).to_string(),
        );
        set("WITH_TESTS", "1".into());
    }
    if matches!(kind, Prepare | PrepareBuild | Build | PostInstallation) {
        if let Some(dir) = &context.build_dir {
            set("BUILDDIR", path(dir));
        }
    }
    if kind == Build {
        if context.build_dir.is_some() {
            set("CHROOT_BUILDDIR", chroot_paths::BUILDDIR.into());
        }
        if let Some(dir) = &context.dest_dir {
            set("DESTDIR", path(dir));
            set("CHROOT_DESTDIR", chroot_paths::DESTDIR.into());
        }
    }
    if matches!(kind, Build | PostInstallation | Finalize) {
        set("OUTPUTDIR", path(&context.output_dir));
    }
    if matches!(kind, PostInstallation | Finalize) {
        set("CHROOT_OUTPUTDIR", chroot_paths::OUTPUTDIR.into());
    }
    env
}

/// The same environment seen from inside the image, as `mkosi-chroot` passes it on: paths
/// rewritten to where the sandbox binds them, `$BUILDROOT` is `/`, the image's `PATH`, no
/// `$TMPDIR`. Pure.
pub fn chroot_environment(host: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut env = host.clone();
    env.remove("TMPDIR");
    env.insert("PATH".into(), IMAGE_PATH.into());
    env.insert("BUILDROOT".into(), "/".into());
    env.insert("MKOSI_CONFIG".into(), chroot_paths::CONFIG.into());
    for (name, inside) in [
        ("SRCDIR", chroot_paths::SRCDIR),
        ("OUTPUTDIR", chroot_paths::OUTPUTDIR),
        ("PACKAGEDIR", chroot_paths::PACKAGEDIR),
        ("ARTIFACTDIR", chroot_paths::ARTIFACTDIR),
        ("BUILDDIR", chroot_paths::BUILDDIR),
        ("DESTDIR", chroot_paths::DESTDIR),
    ] {
        if env.contains_key(name) {
            env.insert(name.into(), inside.into());
        }
    }
    env
}

/// Quotes a string for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r#"'\''"#))
}

/// The text of the `mkosi-chroot` helper: chroots into `view` with the variables `overrides`
/// set (the rest of the caller's environment is kept) and runs its arguments, or a shell,
/// in `/work/src`.
pub fn mkosi_chroot_script(view: &Path, overrides: &BTreeMap<String, String>) -> String {
    let mut text = String::from(
        "#!/bin/sh\n\
         # mkosi-chroot, written by rootfs-assembler for this build: runs its arguments (default: a\n\
         # shell) chrooted into the image, in the sandbox's view of it (/proc, /sys, /dev and the\n\
         # /work binds are mounted in the namespace the calling script runs in).\n\
         set -eu\n\
         [ \"$#\" -gt 0 ] || set -- /bin/sh\n",
    );
    text.push_str(&format!(
        "exec /usr/sbin/chroot {} /usr/bin/env -u TMPDIR",
        shell_quote(&view.display().to_string())
    ));
    for (name, value) in overrides {
        text.push_str(" \\\n    ");
        text.push_str(&shell_quote(&format!("{name}={value}")));
    }
    text.push_str(
        " \\\n    /bin/sh -c 'cd /work/src 2>/dev/null || cd /; exec \"$@\"' mkosi-chroot \"$@\"\n",
    );
    text
}

/// Writes the helper directory for a script whose host environment is `env`:
/// `mkosi-chroot`, `useradd`, `groupadd`.
pub fn write_helpers(context: &ScriptContext, env: &BTreeMap<String, String>) -> Result<(), Error> {
    let helpers = context.helpers();
    fs::create_dir_all(&helpers).at(&helpers)?;
    let inside = chroot_environment(env);
    let overrides: BTreeMap<String, String> = inside
        .into_iter()
        .filter(|(name, value)| env.get(name) != Some(value))
        .collect();
    let chroot = mkosi_chroot_script(&context.view(), &overrides);
    write_new_file(&helpers.join("mkosi-chroot"), chroot.as_bytes(), 0o755)?;
    for tool in ["useradd", "groupadd"] {
        let text = format!(
            "#!/bin/sh\n# {tool}, written by rootfs-assembler: acts on the image (as mkosi's \
             `{tool} --root=$BUILDROOT`), using the image's own {tool}.\nexec mkosi-chroot {tool} \"$@\"\n"
        );
        write_new_file(&helpers.join(tool), text.as_bytes(), 0o755)?;
    }
    Ok(())
}

/// Runs `scripts` of `kind` in order. Scripts whose name ends in `.chroot` run chrooted in the
/// image; the others on the host in the sandbox. Needs root.
pub fn run_scripts(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    scripts: &[PathBuf],
) -> Result<(), Error> {
    if scripts.is_empty() {
        return Ok(());
    }
    crate::require_root("running scripts")?;
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
        run_script(config, context, kind, script)?;
    }
    Ok(())
}

fn run_script(
    config: &ImageConfig,
    context: &ScriptContext,
    kind: ScriptKind,
    script: &Path,
) -> Result<(), Error> {
    let meta = fs::metadata(script).at(script)?;
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Error::Command {
            command: script.display().to_string(),
            status: "not executable".into(),
            output: String::new(),
        });
    }
    let env = script_environment(config, context, kind, script);
    write_helpers(context, &env)?;
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
                writable,
            },
        );
        command.env = env;
        command
    };
    command.log = context.log.clone();
    if let Some(log) = &context.log {
        let header = format!("==> {} script {}\n", kind.name(), script.display());
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| std::io::Write::write_all(&mut file, header.as_bytes()))
            .at(log)?;
    }
    sandbox::run(&sandbox, &command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ImageConfig {
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(config_model::Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(config_model::Architecture::X86_64);
        config.output.image_id = Some("flashbox-l1".into());
        config.output.image_version = Some("1.0.0".into());
        config.config.profiles = vec!["devtools".into(), "gcp".into()];
        config.build.with_network = Some(true);
        config
            .build
            .environment
            .insert("KERNEL_VERSION".into(), "6.19".into());
        // A configured variable does not override mkosi's own.
        config
            .build
            .environment
            .insert("BUILDROOT".into(), "/wrong".into());
        config
    }

    fn context() -> ScriptContext {
        ScriptContext {
            root: "/b/root".into(),
            src_dir: "/src".into(),
            output_dir: "/b/out".into(),
            package_dir: "/b/packages".into(),
            artifact_dir: "/b/artifacts".into(),
            build_dir: Some("/b/build".into()),
            dest_dir: Some("/b/dest".into()),
            work: "/b/work".into(),
            source_date_epoch: 0,
            invoking_user: (1000, 1000),
            log: None,
        }
    }

    #[test]
    fn postinst_environment_follows_the_table() {
        let env = script_environment(
            &config(),
            &context(),
            ScriptKind::PostInstallation,
            Path::new("/src/shared/mkosi.postinst.d/10-x.sh"),
        );
        let expect = [
            ("ARCHITECTURE", "x86-64"),
            ("DISTRIBUTION_ARCHITECTURE", "amd64"),
            ("EFI_ARCHITECTURE", "x64"),
            ("DISTRIBUTION", "debian"),
            ("RELEASE", "trixie"),
            ("IMAGE_ID", "flashbox-l1"),
            ("IMAGE_VERSION", "1.0.0"),
            ("PROFILES", "devtools,gcp"),
            ("BUILDROOT", "/b/root"),
            ("SRCDIR", "/src"),
            ("OUTPUTDIR", "/b/out"),
            ("PACKAGEDIR", "/b/packages"),
            ("ARTIFACTDIR", "/b/artifacts"),
            ("BUILDDIR", "/b/build"),
            ("SOURCE_DATE_EPOCH", "0"),
            ("WITH_NETWORK", "1"),
            ("MKOSI_CONFIG", "/b/work/config.json"),
            ("MKOSI_UID", "1000"),
            ("CHROOT_SCRIPT", "/work/10-x.sh"),
            ("CHROOT_SRCDIR", "/work/src"),
            ("CHROOT_OUTPUTDIR", "/work/out"),
            ("KERNEL_VERSION", "6.19"),
            ("LC_ALL", "C.UTF-8"),
            (
                "PATH",
                "/b/work/helpers:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ),
        ];
        for (name, value) in expect {
            assert_eq!(env.get(name).map(String::as_str), Some(value), "{name}");
        }
        for absent in [
            "DESTDIR",
            "CHROOT_DESTDIR",
            "CHROOT_BUILDDIR",
            "WITH_DOCS",
            "USER",
            "TERM",
        ] {
            assert!(!env.contains_key(absent), "{absent} should not be set");
        }
    }

    #[test]
    fn build_and_finalize_differ_as_the_table_says() {
        let build = script_environment(&config(), &context(), ScriptKind::Build, Path::new("/s/b"));
        assert_eq!(build["DESTDIR"], "/b/dest");
        assert_eq!(build["CHROOT_DESTDIR"], "/work/dest");
        assert_eq!(build["CHROOT_BUILDDIR"], "/work/build");
        assert_eq!(build["WITH_DOCS"], "1");
        let finalize = script_environment(
            &config(),
            &context(),
            ScriptKind::Finalize,
            Path::new("/s/f"),
        );
        assert!(!finalize.contains_key("BUILDDIR"));
        assert!(!finalize.contains_key("DESTDIR"));
        assert_eq!(finalize["CHROOT_OUTPUTDIR"], "/work/out");
    }

    #[test]
    fn chroot_environment_rewrites_paths() {
        let host = script_environment(
            &config(),
            &context(),
            ScriptKind::PostInstallation,
            Path::new("/s/x.chroot"),
        );
        let inside = chroot_environment(&host);
        assert_eq!(inside["BUILDROOT"], "/");
        assert_eq!(inside["SRCDIR"], "/work/src");
        assert_eq!(inside["OUTPUTDIR"], "/work/out");
        assert_eq!(inside["PACKAGEDIR"], "/work/packages");
        assert_eq!(inside["BUILDDIR"], "/work/build");
        assert_eq!(inside["MKOSI_CONFIG"], "/work/config.json");
        assert_eq!(inside["PATH"], IMAGE_PATH);
        assert!(!inside.contains_key("TMPDIR"));
        assert!(!inside.contains_key("DESTDIR"));
        assert_eq!(inside["IMAGE_ID"], "flashbox-l1");
    }

    #[test]
    fn mkosi_chroot_script_quotes_and_chroots_into_the_view() {
        let overrides = BTreeMap::from([
            ("BUILDROOT".to_owned(), "/".to_owned()),
            ("X".to_owned(), "it's".to_owned()),
        ]);
        let text = mkosi_chroot_script(Path::new("/b/work/view"), &overrides);
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains("exec /usr/sbin/chroot '/b/work/view' /usr/bin/env -u TMPDIR"));
        assert!(text.contains(r#"'X=it'\''s'"#), "{text}");
        assert!(text.contains("'BUILDROOT=/'"));
    }

    /// A build script (root only) writes `$DESTDIR` on the host side and sees it bound at
    /// `/work/dest` in the view that `mkosi-chroot` enters; it gets no arguments.
    #[test]
    #[ignore = "needs root"]
    fn build_scripts_get_a_writable_destdir() {
        crate::require_root("this test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(&src).unwrap();
        let script = src.join("mkosi.build");
        fs::write(
            &script,
            r#"#!/bin/sh
set -eu
echo "args:$#" > "$DESTDIR/host-side"
view="$(dirname "$(command -v mkosi-chroot)")/../view"
echo "$CHROOT_DESTDIR" > "$view/work/dest/through-the-view"
"#,
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let build = dir.path().join("build");
        fs::create_dir_all(build.join("root")).unwrap();
        let context = ScriptContext {
            root: build.join("root"),
            src_dir: src,
            output_dir: build.join("out"),
            package_dir: build.join("packages"),
            artifact_dir: build.join("artifacts"),
            build_dir: None,
            dest_dir: Some(build.join("dest")),
            work: build.join("work"),
            source_date_epoch: 0,
            invoking_user: (0, 0),
            log: Some(build.join("scripts.log")),
        };
        run_scripts(&config(), &context, ScriptKind::Build, &[script]).unwrap();
        let read = |name: &str| fs::read_to_string(build.join("dest").join(name)).unwrap();
        assert_eq!(read("host-side"), "args:0\n");
        assert_eq!(read("through-the-view"), "/work/dest\n");
    }

    /// Runs a real host-side script in the sandbox (root only): it gets the environment,
    /// writes into the image and the output directory, but neither to the host nor to the
    /// sources; the image's `/proc` is not a mount it can see, the sandbox view is.
    #[test]
    #[ignore = "needs root"]
    fn host_scripts_run_in_the_sandbox() {
        crate::require_root("this test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let src = base.join("src");
        fs::create_dir_all(&src).unwrap();
        fs::create_dir_all(base.join("build/root")).unwrap();
        let probe = src.join("10-probe.sh");
        fs::write(
            &probe,
            r#"#!/bin/sh
set -eu
env | sort > "$OUTPUTDIR/env"
echo inside > "$BUILDROOT/marker"
if touch /etc/rootfs-assembler-probe 2>/dev/null; then echo writable; else echo read-only; fi > "$OUTPUTDIR/host"
if touch "$SRCDIR/probe" 2>/dev/null; then echo writable; else echo read-only; fi > "$OUTPUTDIR/src"
ls -A "$BUILDROOT/proc" > "$OUTPUTDIR/proc"
helpers=$(dirname "$(command -v mkosi-chroot)")
test -e "$helpers/../view/proc/self/status" && echo mounted > "$OUTPUTDIR/view"
pwd > "$OUTPUTDIR/cwd"
"#,
        )
        .unwrap();
        fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();
        let failing = src.join("20-fail.sh");
        fs::write(&failing, "#!/bin/sh\necho about to fail\nexit 3\n").unwrap();
        fs::set_permissions(&failing, fs::Permissions::from_mode(0o755)).unwrap();
        let build = base.join("build");
        let context = ScriptContext {
            root: build.join("root"),
            src_dir: src.clone(),
            output_dir: build.join("out"),
            package_dir: build.join("packages"),
            artifact_dir: build.join("artifacts"),
            build_dir: None,
            dest_dir: None,
            work: build.join("work"),
            source_date_epoch: 0,
            invoking_user: (0, 0),
            log: Some(build.join("scripts.log")),
        };
        let config = config();
        run_scripts(&config, &context, ScriptKind::PostInstallation, &[probe]).unwrap();
        let out = |name: &str| fs::read_to_string(build.join("out").join(name)).unwrap();
        assert_eq!(out("host"), "read-only\n");
        assert_eq!(out("src"), "read-only\n");
        assert_eq!(out("proc"), "");
        assert_eq!(out("view"), "mounted\n");
        assert_eq!(out("cwd").trim(), src.display().to_string());
        assert!(!Path::new("/etc/rootfs-assembler-probe").exists());
        assert_eq!(
            fs::read_to_string(build.join("root/marker")).unwrap(),
            "inside\n"
        );
        let env = out("env");
        for line in [
            "ARCHITECTURE=x86-64".to_owned(),
            "DISTRIBUTION=debian".to_owned(),
            format!("BUILDROOT={}", build.join("root").display()),
            format!("SRCDIR={}", src.display()),
            "CHROOT_SCRIPT=/work/10-probe.sh".to_owned(),
            "SOURCE_DATE_EPOCH=0".to_owned(),
            "WITH_NETWORK=1".to_owned(),
        ] {
            assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
        }
        let json = env
            .lines()
            .find_map(|l| l.strip_prefix("MKOSI_CONFIG="))
            .unwrap();
        let parsed: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap();
        assert_eq!(parsed["ImageId"], "flashbox-l1");
        assert!(
            !env.contains("CARGO"),
            "the caller's environment leaked:\n{env}"
        );
        // The /work mount point made for the run is gone, and no mount is left on the host.
        assert!(!build.join("root/work").exists());
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mountinfo.contains(&base.display().to_string()),
            "{mountinfo}"
        );

        let err = run_scripts(&config, &context, ScriptKind::Finalize, &[failing]).unwrap_err();
        match err {
            Error::Command {
                command,
                status,
                output,
            } => {
                assert!(command.ends_with("20-fail.sh"), "{command}");
                assert_eq!(status, "exit status 3");
                assert_eq!(output, "about to fail");
            }
            other => panic!("unexpected {other}"),
        }
    }
}
