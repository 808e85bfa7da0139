//! The environment of mkosi's scripts, as the manual's SCRIPTS table gives it: seen from the
//! host ([`script_environment`]) and from inside the image ([`chroot_environment`]). Pure.

use std::collections::BTreeMap;
use std::path::Path;

use config_model::ImageConfig;

use super::{ScriptContext, ScriptKind, chroot_paths};
use crate::install::IMAGE_PATH;

/// The fixed `PATH` after the helper directory for scripts that run on the host.
pub(super) const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// `$ARCHITECTURE`, `$DISTRIBUTION_ARCHITECTURE`, `$EFI_ARCHITECTURE`, `$DISTRIBUTION` and
/// `$RELEASE`, which every script kind gets, given to `set`.
pub(super) fn distribution_variables(config: &ImageConfig, set: &mut impl FnMut(&str, String)) {
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

    distribution_variables(config, &mut set);
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
