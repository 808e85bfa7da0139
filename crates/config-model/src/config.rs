//! [`ImageConfig`]: the resolved, typed configuration of one image.
//!
//! Fields are grouped by the mkosi section they are written in. Serialisation flattens the
//! groups and uses mkosi's setting names (`Packages`, `KernelCommandLine`, ...) as keys, so the
//! JSON handed to scripts in `$MKOSI_CONFIG` and the TOML dump read like mkosi's own.
//! Single-value settings are `Option`s (`None` = not configured, the builder's default applies);
//! collection settings are `Vec`s or maps in the order the configuration gave them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::value::{
    Architecture, Compression, Distribution, Feature, ManifestFormat, ModuleFilter, ModuleRegex,
    OutputFormat, PackageSpec, Seed, Tree, Verity,
};

/// The complete configuration of one image after every file, profile and override was applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `[Distribution]` settings.
    #[serde(flatten)]
    pub distribution: DistributionSettings,
    /// `[Output]` settings.
    #[serde(flatten)]
    pub output: OutputSettings,
    /// `[Content]` settings.
    #[serde(flatten)]
    pub content: ContentSettings,
    /// `[Build]` settings.
    #[serde(flatten)]
    pub build: BuildSettings,
    /// `[Config]` settings.
    #[serde(flatten)]
    pub config: ConfigSettings,
    /// `[Validation]` settings.
    #[serde(flatten)]
    pub validation: ValidationSettings,
    /// Every configuration file that was read, in the order it was read.
    #[serde(rename = "Files", default)]
    pub files_read: Vec<PathBuf>,
    /// Settings mkosi knows that this builder does not act on, with their raw values, kept so
    /// that nothing in the definition is silently lost.
    #[serde(rename = "IgnoredSettings", default)]
    pub ignored: BTreeMap<String, Vec<String>>,
    /// Of the ignored settings, those that would change the image, by name: where each was
    /// last set (`file:line`, or the command line) and what it changes.
    #[serde(skip)]
    pub unimplemented: BTreeMap<String, UnimplementedSetting>,
}

/// A setting that changes the image, set in the definition, that this builder does not
/// implement: a build refuses it rather than build another image than the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnimplementedSetting {
    /// Where it was last set.
    pub location: String,
    /// What it changes.
    pub changes: &'static str,
}

/// `[Distribution]`: what is installed and where it comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionSettings {
    /// `Distribution=`.
    pub distribution: Option<Distribution>,
    /// `Release=`, e.g. `trixie`.
    pub release: Option<String>,
    /// `Architecture=`.
    pub architecture: Option<Architecture>,
    /// `Mirror=`: the archive URL; `None` means the host's apt configuration decides.
    pub mirror: Option<String>,
    /// `Snapshot=`: a snapshot id (for Debian a timestamp such as `20251101T000000Z`).
    pub snapshot: Option<String>,
    /// `Repositories=`: extra components or repositories to enable.
    pub repositories: Vec<String>,
    /// `RepositoryKeyCheck=`: whether archive signatures must verify (default yes).
    pub repository_key_check: Option<bool>,
    /// `RepositoryKeyFetch=`: whether keys may be fetched remotely (Debian never does).
    pub repository_key_fetch: Option<bool>,
    /// `LocalMirror=`: one plain repository used instead of the whole set of suites.
    pub local_mirror: Option<String>,
}

/// `[Output]`: what is produced and how it is named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputSettings {
    /// `Format=`.
    pub format: Option<OutputFormat>,
    /// `ManifestFormat=`.
    pub manifest_format: Vec<ManifestFormat>,
    /// `Output=`: the output's base name.
    pub output: Option<String>,
    /// `CompressOutput=`.
    pub compress_output: Option<Compression>,
    /// `CompressLevel=`.
    pub compress_level: Option<u32>,
    /// `OutputDirectory=`.
    pub output_directory: Option<PathBuf>,
    /// `ImageId=`.
    pub image_id: Option<String>,
    /// `ImageVersion=`.
    pub image_version: Option<String>,
    /// `RepartDirectories=`: directories of systemd-repart partition definitions.
    pub repart_directories: Vec<PathBuf>,
    /// `Seed=`.
    pub seed: Option<Seed>,
    /// `Overlay=`: the output holds only what was added on top of `BaseTrees=`.
    pub overlay: Option<bool>,
}

/// `[Content]`: packages, trees and scripts that make up the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentSettings {
    /// `Packages=`.
    pub packages: Vec<PackageSpec>,
    /// `BuildPackages=`: only in the build overlay.
    pub build_packages: Vec<PackageSpec>,
    /// `VolatilePackages=`: installed after the build scripts ran.
    pub volatile_packages: Vec<PackageSpec>,
    /// `PackageDirectories=`: directories of local `.deb` files that take part in resolution.
    pub package_directories: Vec<PathBuf>,
    /// `VolatilePackageDirectories=`.
    pub volatile_package_directories: Vec<PathBuf>,
    /// `WithRecommends=`: follow Recommends (default no).
    pub with_recommends: Option<bool>,
    /// `WithDocs=`: keep documentation (default yes).
    pub with_docs: Option<bool>,
    /// `BaseTrees=`: trees the root starts from (copied in first; with `Overlay=yes` left out
    /// of the output again). Not checked at load: a base is often an earlier image's output.
    pub base_trees: Vec<PathBuf>,
    /// `SkeletonTrees=`: copied in before packages.
    pub skeleton_trees: Vec<Tree>,
    /// `ExtraTrees=`: copied in after packages.
    pub extra_trees: Vec<Tree>,
    /// `RemovePackages=`.
    pub remove_packages: Vec<PackageSpec>,
    /// `RemoveFiles=`: globs of paths removed at the end.
    pub remove_files: Vec<String>,
    /// `CleanPackageMetadata=`.
    pub clean_package_metadata: Option<Feature>,
    /// `SourceDateEpoch=`: the clamp for every timestamp.
    pub source_date_epoch: Option<u64>,
    /// `SyncScripts=`.
    pub sync_scripts: Vec<PathBuf>,
    /// `PrepareScripts=`.
    pub prepare_scripts: Vec<PathBuf>,
    /// `BuildScripts=`.
    pub build_scripts: Vec<PathBuf>,
    /// `PostInstallationScripts=`.
    pub post_installation_scripts: Vec<PathBuf>,
    /// `FinalizeScripts=`.
    pub finalize_scripts: Vec<PathBuf>,
    /// `PostOutputScripts=`.
    pub post_output_scripts: Vec<PathBuf>,
    /// `MakeInitrd=`: the root is made usable as an initrd (`/etc/initrd-release`).
    pub make_initrd: Option<bool>,
    /// `Bootable=`.
    pub bootable: Option<Feature>,
    /// `KernelCommandLine=`, one argument per item.
    pub kernel_command_line: Vec<String>,
    /// `KernelModules=` globs and `KernelModulesInclude=` regular expressions, in the order
    /// written (mkosi keeps both in this one list): which modules of a modular kernel stay.
    /// Empty: all of them.
    pub kernel_modules_include: Vec<ModuleFilter>,
    /// `KernelModulesExclude=`: modules left out unless the include list names them.
    pub kernel_modules_exclude: Vec<ModuleRegex>,
}

/// `[Build]`: how the build runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildSettings {
    /// `Environment=`: variables for scripts; later assignments of a name win.
    pub environment: BTreeMap<String, String>,
    /// `EnvironmentFiles=`.
    pub environment_files: Vec<PathBuf>,
    /// `WithNetwork=`: network access for build scripts.
    pub with_network: Option<bool>,
    /// `PackageCacheDirectory=`.
    pub package_cache_directory: Option<PathBuf>,
    /// `BuildDirectory=`: persistent `$BUILDDIR` for build scripts.
    pub build_directory: Option<PathBuf>,
    /// `CacheDirectory=`.
    pub cache_directory: Option<PathBuf>,
    /// `SandboxTrees=`.
    pub sandbox_trees: Vec<Tree>,
    /// `BuildSources=`: mounted as `$SRCDIR` for scripts.
    pub build_sources: Vec<Tree>,
}

/// `[Validation]`: what the outputs are signed with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationSettings {
    /// `Verity=`: dm-verity for the partitions of disks and extension images.
    pub verity: Option<Verity>,
    /// `VerityKey=` (`mkosi.key`): the PEM private key that signs a root hash.
    pub verity_key: Option<PathBuf>,
    /// `VerityCertificate=` (`mkosi.crt`): the PEM X.509 certificate of that key.
    pub verity_certificate: Option<PathBuf>,
}

/// `[Config]`: how configurations relate to each other.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigSettings {
    /// `Profiles=`: the profiles selected (their files were read from `mkosi.profiles/`).
    pub profiles: Vec<String>,
    /// `Dependencies=`: images built before this one.
    pub dependencies: Vec<String>,
    /// `MinimumVersion=`: the minimum mkosi version the definition asks for.
    pub minimum_version: Option<String>,
}

impl ImageConfig {
    /// The JSON that mkosi gives scripts in `$MKOSI_CONFIG`: settings keyed by their names.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ImageConfig always serialises to JSON")
    }

    /// The same content as TOML, for people and for diffing.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("ImageConfig always serialises to TOML")
    }
}
