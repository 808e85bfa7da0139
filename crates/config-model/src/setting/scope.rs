//! How settings pass from the main image to the subimages of `mkosi.images/`, as mkosi's
//! setting scopes say: a *universal* setting of the main image overrides whatever a subimage
//! sets (the archive, the architecture, where outputs and caches go, SOURCE_DATE_EPOCH, ...);
//! an *inherited* one is a subimage's default, which its own files may change (`ImageId=`,
//! `ImageVersion=`, `Profiles=`, ...); every other setting is the subimage's own. Pure.

use crate::config::ImageConfig;

/// How a setting passes to subimages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main image's value wins in every subimage.
    Universal,
    /// The main image's value is the subimage's default.
    Inherited,
}

type Copy = fn(&ImageConfig, &mut ImageConfig);

macro_rules! field {
    ($($part:ident).+) => {
        |from: &ImageConfig, to: &mut ImageConfig| to.$($part).+ = from.$($part).+.clone()
    };
}

/// The settings this crate types that pass down (mkosi's universal and multiversal scopes
/// are both universal here: tools trees are not built).
static TYPED: &[(&str, Scope, Copy)] = &[
    (
        "Distribution",
        Scope::Universal,
        field!(distribution.distribution),
    ),
    ("Release", Scope::Universal, field!(distribution.release)),
    (
        "Architecture",
        Scope::Universal,
        field!(distribution.architecture),
    ),
    ("Mirror", Scope::Universal, field!(distribution.mirror)),
    ("Snapshot", Scope::Universal, field!(distribution.snapshot)),
    (
        "LocalMirror",
        Scope::Universal,
        field!(distribution.local_mirror),
    ),
    (
        "RepositoryKeyCheck",
        Scope::Universal,
        field!(distribution.repository_key_check),
    ),
    (
        "RepositoryKeyFetch",
        Scope::Universal,
        field!(distribution.repository_key_fetch),
    ),
    (
        "Repositories",
        Scope::Universal,
        field!(distribution.repositories),
    ),
    (
        "OutputDirectory",
        Scope::Universal,
        field!(output.output_directory),
    ),
    (
        "PackageDirectories",
        Scope::Universal,
        field!(content.package_directories),
    ),
    (
        "VolatilePackageDirectories",
        Scope::Universal,
        field!(content.volatile_package_directories),
    ),
    (
        "SourceDateEpoch",
        Scope::Universal,
        field!(content.source_date_epoch),
    ),
    (
        "PackageCacheDirectory",
        Scope::Universal,
        field!(build.package_cache_directory),
    ),
    (
        "CacheDirectory",
        Scope::Universal,
        field!(build.cache_directory),
    ),
    (
        "BuildDirectory",
        Scope::Universal,
        field!(build.build_directory),
    ),
    (
        "SandboxTrees",
        Scope::Universal,
        field!(build.sandbox_trees),
    ),
    (
        "BuildSources",
        Scope::Universal,
        field!(build.build_sources),
    ),
    ("WithNetwork", Scope::Universal, field!(build.with_network)),
    ("Profiles", Scope::Inherited, field!(config.profiles)),
    (
        "CompressLevel",
        Scope::Inherited,
        field!(output.compress_level),
    ),
    (
        "ImageVersion",
        Scope::Inherited,
        field!(output.image_version),
    ),
    ("ImageId", Scope::Inherited, field!(output.image_id)),
    ("VerityKey", Scope::Universal, field!(validation.verity_key)),
    (
        "VerityCertificate",
        Scope::Universal,
        field!(validation.verity_certificate),
    ),
];

/// The settings kept raw (ignored) that pass down.
static RAW: &[(&str, Scope)] = &[
    ("OutputMode", Scope::Universal),
    ("ToolsTree", Scope::Universal),
    ("ToolsTreeCertificates", Scope::Universal),
    ("ExtraSearchPaths", Scope::Universal),
    ("Incremental", Scope::Universal),
    ("WorkspaceDirectory", Scope::Universal),
    ("UseSubvolumes", Scope::Universal),
    ("RepartOffline", Scope::Universal),
    ("BuildSourcesEphemeral", Scope::Universal),
    ("WithTests", Scope::Universal),
    ("ProxyUrl", Scope::Universal),
    ("ProxyExclude", Scope::Universal),
    ("ProxyPeerCertificate", Scope::Universal),
    ("ProxyClientCertificate", Scope::Universal),
    ("ProxyClientKey", Scope::Universal),
    ("SecureBootKey", Scope::Universal),
    ("SecureBootKeySource", Scope::Universal),
    ("SecureBootCertificate", Scope::Universal),
    ("SecureBootCertificateSource", Scope::Universal),
    ("VerityKeySource", Scope::Universal),
    ("VerityCertificateSource", Scope::Universal),
    ("SectorSize", Scope::Inherited),
    ("CacheOnly", Scope::Inherited),
    ("CacheKey", Scope::Inherited),
    ("BuildKey", Scope::Inherited),
    ("SignExpectedPcrKey", Scope::Inherited),
    ("SignExpectedPcrKeySource", Scope::Inherited),
    ("SignExpectedPcrCertificate", Scope::Inherited),
    ("SignExpectedPcrCertificateSource", Scope::Inherited),
];

/// How `name` passes to subimages; `None` when it does not.
pub fn scope_of(name: &str) -> Option<Scope> {
    TYPED
        .iter()
        .map(|(n, scope, _)| (*n, *scope))
        .chain(RAW.iter().copied())
        .find(|(n, _)| *n == name)
        .map(|(_, scope)| scope)
}

/// Copies the settings of `scopes` from `from` to `to`.
fn copy_settings(from: &ImageConfig, to: &mut ImageConfig, scopes: &[Scope]) {
    for (_, scope, copy) in TYPED {
        if scopes.contains(scope) {
            copy(from, to);
        }
    }
    for (name, scope) in RAW {
        if !scopes.contains(scope) {
            continue;
        }
        match from.ignored.get(*name) {
            Some(values) => to.ignored.insert((*name).to_owned(), values.clone()),
            None => to.ignored.remove(*name),
        };
        match from.unimplemented.get(*name) {
            Some(setting) => to.unimplemented.insert((*name).to_owned(), setting.clone()),
            None => to.unimplemented.remove(*name),
        };
    }
}

/// What a subimage starts from before its files are read: the main image's universal and
/// inherited settings.
pub fn subimage_defaults(main: &ImageConfig) -> ImageConfig {
    let mut config = ImageConfig::default();
    copy_settings(main, &mut config, &[Scope::Universal, Scope::Inherited]);
    config
}

/// Puts the main image's universal settings back over what a subimage's files set.
pub fn force_universal(main: &ImageConfig, subimage: &mut ImageConfig) {
    copy_settings(main, subimage, &[Scope::Universal]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::{IGNORED, SETTINGS};

    #[test]
    fn every_passed_down_setting_is_known() {
        for (name, ..) in TYPED {
            assert!(SETTINGS.iter().any(|d| d.name == *name), "{name}");
        }
        for (name, _) in RAW {
            assert!(IGNORED.iter().any(|(n, ..)| n == name), "{name}");
        }
    }

    #[test]
    fn universal_settings_win_and_inherited_ones_are_defaults() {
        let mut main = ImageConfig::default();
        main.distribution.release = Some("trixie".into());
        main.output.image_id = Some("base".into());
        main.output.format = Some(crate::value::OutputFormat::Cpio);
        main.ignored
            .insert("ToolsTree".into(), vec!["default".into()]);
        let mut sub = subimage_defaults(&main);
        assert_eq!(sub.output.image_id.as_deref(), Some("base"));
        assert_eq!(sub.output.format, None, "Format= is each image's own");
        sub.distribution.release = Some("forky".into());
        sub.output.image_id = Some("btrfs".into());
        force_universal(&main, &mut sub);
        assert_eq!(sub.distribution.release.as_deref(), Some("trixie"));
        assert_eq!(sub.output.image_id.as_deref(), Some("btrfs"));
        assert_eq!(sub.ignored["ToolsTree"], ["default"]);
        assert_eq!(scope_of("Mirror"), Some(Scope::Universal));
        assert_eq!(scope_of("Packages"), None);
    }
}
