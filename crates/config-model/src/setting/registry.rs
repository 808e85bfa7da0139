//! The tables of settings: the ones this builder acts on (with how each applies), the ones
//! mkosi knows that it ignores, and the old names mkosi still accepts.

use std::str::FromStr;

use super::apply::*;
use super::paths::resolve;
use super::{Section, SettingDef, Split};
use crate::value::{Compression, ModuleFilter, PackageSpec};

macro_rules! def {
    ($name:literal, $section:ident, $apply:expr) => {
        SettingDef {
            name: $name,
            section: Section::$section,
            apply: $apply,
        }
    };
}

/// Every setting this builder acts on. Order follows the manual.
pub static SETTINGS: &[SettingDef] = &[
    def!("Distribution", Distribution, |c, v, _| single(
        &mut c.distribution.distribution,
        v,
        FromStr::from_str
    )),
    def!("Release", Distribution, |c, v, _| single(
        &mut c.distribution.release,
        v,
        text
    )),
    def!("Architecture", Distribution, |c, v, _| single(
        &mut c.distribution.architecture,
        v,
        FromStr::from_str
    )),
    def!("Mirror", Distribution, |c, v, _| single(
        &mut c.distribution.mirror,
        v,
        text
    )),
    def!("Snapshot", Distribution, |c, v, _| single(
        &mut c.distribution.snapshot,
        v,
        text
    )),
    def!("Repositories", Distribution, |c, v, _| list(
        &mut c.distribution.repositories,
        v,
        Split::Words,
        text
    )),
    def!("RepositoryKeyCheck", Distribution, |c, v, _| single(
        &mut c.distribution.repository_key_check,
        v,
        crate::value::parse_bool
    )),
    def!("RepositoryKeyFetch", Distribution, |c, v, _| single(
        &mut c.distribution.repository_key_fetch,
        v,
        crate::value::parse_bool
    )),
    def!("LocalMirror", Distribution, |c, v, _| single(
        &mut c.distribution.local_mirror,
        v,
        text
    )),
    def!("Format", Output, |c, v, _| single(
        &mut c.output.format,
        v,
        FromStr::from_str
    )),
    def!("ManifestFormat", Output, |c, v, _| list(
        &mut c.output.manifest_format,
        v,
        Split::Words,
        FromStr::from_str
    )),
    def!("Output", Output, |c, v, _| single(
        &mut c.output.output,
        v,
        text
    )),
    def!("CompressOutput", Output, |c, v, _| single(
        &mut c.output.compress_output,
        v,
        Compression::parse_setting
    )),
    def!("CompressLevel", Output, |c, v, _| single(
        &mut c.output.compress_level,
        v,
        number
    )),
    def!("OutputDirectory", Output, |c, v, cx| single(
        &mut c.output.output_directory,
        v,
        |s| Ok(resolve(s, cx))
    )),
    def!("ImageVersion", Output, |c, v, _| single(
        &mut c.output.image_version,
        v,
        text
    )),
    def!("ImageId", Output, |c, v, _| single(
        &mut c.output.image_id,
        v,
        text
    )),
    def!("RepartDirectories", Output, |c, v, cx| required_paths(
        &mut c.output.repart_directories,
        v,
        cx
    )),
    def!("Seed", Output, |c, v, _| single(
        &mut c.output.seed,
        v,
        FromStr::from_str
    )),
    def!("Packages", Content, |c, v, _| list(
        &mut c.content.packages,
        v,
        Split::Words,
        PackageSpec::from_str
    )),
    def!("BuildPackages", Content, |c, v, _| list(
        &mut c.content.build_packages,
        v,
        Split::Words,
        PackageSpec::from_str
    )),
    def!("VolatilePackages", Content, |c, v, _| list(
        &mut c.content.volatile_packages,
        v,
        Split::Words,
        PackageSpec::from_str
    )),
    def!("PackageDirectories", Content, |c, v, cx| required_paths(
        &mut c.content.package_directories,
        v,
        cx
    )),
    def!("VolatilePackageDirectories", Content, |c, v, cx| {
        required_paths(&mut c.content.volatile_package_directories, v, cx)
    }),
    def!("WithRecommends", Content, |c, v, _| single(
        &mut c.content.with_recommends,
        v,
        crate::value::parse_bool
    )),
    def!("WithDocs", Content, |c, v, _| single(
        &mut c.content.with_docs,
        v,
        crate::value::parse_bool
    )),
    def!("SkeletonTrees", Content, |c, v, cx| trees(
        &mut c.content.skeleton_trees,
        v,
        cx,
        TreeRules::REQUIRED
    )),
    def!("ExtraTrees", Content, |c, v, cx| trees(
        &mut c.content.extra_trees,
        v,
        cx,
        TreeRules::OPTIONAL
    )),
    def!("RemovePackages", Content, |c, v, _| list(
        &mut c.content.remove_packages,
        v,
        Split::Words,
        PackageSpec::from_str
    )),
    def!("RemoveFiles", Content, |c, v, _| list(
        &mut c.content.remove_files,
        v,
        Split::Words,
        text
    )),
    def!("CleanPackageMetadata", Content, |c, v, _| single(
        &mut c.content.clean_package_metadata,
        v,
        FromStr::from_str
    )),
    def!("SourceDateEpoch", Content, |c, v, _| single(
        &mut c.content.source_date_epoch,
        v,
        number
    )),
    def!("SyncScripts", Content, |c, v, cx| scripts(
        &mut c.content.sync_scripts,
        v,
        cx
    )),
    def!("PrepareScripts", Content, |c, v, cx| scripts(
        &mut c.content.prepare_scripts,
        v,
        cx
    )),
    def!("BuildScripts", Content, |c, v, cx| scripts(
        &mut c.content.build_scripts,
        v,
        cx
    )),
    def!("PostInstallationScripts", Content, |c, v, cx| scripts(
        &mut c.content.post_installation_scripts,
        v,
        cx
    )),
    def!("FinalizeScripts", Content, |c, v, cx| scripts(
        &mut c.content.finalize_scripts,
        v,
        cx
    )),
    def!("PostOutputScripts", Content, |c, v, cx| scripts(
        &mut c.content.post_output_scripts,
        v,
        cx
    )),
    def!("Bootable", Content, |c, v, _| single(
        &mut c.content.bootable,
        v,
        FromStr::from_str
    )),
    def!("KernelCommandLine", Content, |c, v, _| list(
        &mut c.content.kernel_command_line,
        v,
        Split::Spaces,
        text
    )),
    // mkosi keeps `KernelModules=` globs and the older `KernelModulesInclude=` regular
    // expressions in one ordered list.
    def!("KernelModules", Content, |c, v, _| list(
        &mut c.content.kernel_modules_include,
        v,
        Split::Words,
        ModuleFilter::from_glob_item
    )),
    def!("KernelModulesInclude", Content, |c, v, _| list(
        &mut c.content.kernel_modules_include,
        v,
        Split::Words,
        ModuleFilter::from_regex_item
    )),
    def!("KernelModulesExclude", Content, |c, v, _| list(
        &mut c.content.kernel_modules_exclude,
        v,
        Split::Words,
        FromStr::from_str
    )),
    def!("Environment", Build, |c, v, cx| environment(
        &mut c.build.environment,
        v,
        cx
    )),
    def!("EnvironmentFiles", Build, |c, v, cx| required_paths(
        &mut c.build.environment_files,
        v,
        cx
    )),
    def!("WithNetwork", Build, |c, v, _| single(
        &mut c.build.with_network,
        v,
        crate::value::parse_bool
    )),
    def!("PackageCacheDirectory", Build, |c, v, cx| single(
        &mut c.build.package_cache_directory,
        v,
        |s| Ok(resolve(s, cx))
    )),
    def!("BuildDirectory", Build, |c, v, cx| single(
        &mut c.build.build_directory,
        v,
        |s| Ok(resolve(s, cx))
    )),
    def!("CacheDirectory", Build, |c, v, cx| single(
        &mut c.build.cache_directory,
        v,
        |s| Ok(resolve(s, cx))
    )),
    def!("SandboxTrees", Build, |c, v, cx| trees(
        &mut c.build.sandbox_trees,
        v,
        cx,
        TreeRules::REQUIRED
    )),
    def!("BuildSources", Build, |c, v, cx| trees(
        &mut c.build.build_sources,
        v,
        cx,
        TreeRules::SOURCES
    )),
    def!("Profiles", Config, |c, v, _| list(
        &mut c.config.profiles,
        v,
        Split::Words,
        text
    )),
    def!("Dependencies", Config, |c, v, _| list(
        &mut c.config.dependencies,
        v,
        Split::Words,
        text
    )),
    def!("MinimumVersion", Config, |c, v, _| single(
        &mut c.config.minimum_version,
        v,
        text
    )),
];

/// Settings mkosi knows that this builder does not act on (yet): accepted, kept, reported.
pub static IGNORED: &[(&str, Section)] = &[
    ("OutputExtension", Section::Output),
    ("OutputMode", Section::Output),
    ("SplitArtifacts", Section::Output),
    ("SectorSize", Section::Output),
    ("Overlay", Section::Output),
    ("CleanScripts", Section::Output),
    ("BaseTrees", Section::Content),
    ("Bootloader", Section::Content),
    ("BiosBootloader", Section::Content),
    ("ShimBootloader", Section::Content),
    ("UnifiedKernelImages", Section::Content),
    ("UnifiedKernelImageFormat", Section::Content),
    ("UnifiedKernelImageProfiles", Section::Content),
    ("Initrds", Section::Content),
    ("InitrdProfiles", Section::Content),
    ("InitrdPackages", Section::Content),
    ("InitrdVolatilePackages", Section::Content),
    ("Devicetrees", Section::Content),
    ("Splash", Section::Content),
    ("MicrocodeHost", Section::Content),
    ("KernelModulesIncludeHost", Section::Content),
    ("KernelModulesInitrd", Section::Content),
    ("KernelInitrdModules", Section::Content),
    ("FirmwareFiles", Section::Content),
    ("Locale", Section::Content),
    ("LocaleMessages", Section::Content),
    ("Keymap", Section::Content),
    ("Timezone", Section::Content),
    ("Hostname", Section::Content),
    ("RootShell", Section::Content),
    ("RootPassword", Section::Content),
    ("Autologin", Section::Content),
    ("MakeInitrd", Section::Content),
    ("Ssh", Section::Content),
    ("SELinuxRelabel", Section::Content),
    ("MachineId", Section::Content),
    ("SecureBoot", Section::Validation),
    ("SecureBootAutoEnroll", Section::Validation),
    ("SecureBootKey", Section::Validation),
    ("SecureBootKeySource", Section::Validation),
    ("SecureBootCertificate", Section::Validation),
    ("SecureBootCertificateSource", Section::Validation),
    ("SecureBootSignTool", Section::Validation),
    ("Verity", Section::Validation),
    ("VerityKey", Section::Validation),
    ("VerityKeySource", Section::Validation),
    ("VerityCertificate", Section::Validation),
    ("VerityCertificateSource", Section::Validation),
    ("SignExpectedPcr", Section::Validation),
    ("SignExpectedPcrKey", Section::Validation),
    ("SignExpectedPcrKeySource", Section::Validation),
    ("SignExpectedPcrCertificate", Section::Validation),
    ("SignExpectedPcrCertificateSource", Section::Validation),
    ("Passphrase", Section::Validation),
    ("Checksum", Section::Validation),
    ("Sign", Section::Validation),
    ("OpenPGPTool", Section::Validation),
    ("Key", Section::Validation),
    ("ToolsTree", Section::Build),
    ("ToolsTreeDistribution", Section::Build),
    ("ToolsTreeRelease", Section::Build),
    ("ToolsTreeProfiles", Section::Build),
    ("ToolsTreeMirror", Section::Build),
    ("ToolsTreeRepositories", Section::Build),
    ("ToolsTreeSandboxTrees", Section::Build),
    ("ToolsTreePackages", Section::Build),
    ("ToolsTreePackageDirectories", Section::Build),
    ("ToolsTreeCertificates", Section::Build),
    ("ExtraSearchPaths", Section::Build),
    ("Incremental", Section::Build),
    ("CacheOnly", Section::Build),
    ("WorkspaceDirectory", Section::Build),
    ("CacheKey", Section::Build),
    ("BuildKey", Section::Build),
    ("UseSubvolumes", Section::Build),
    ("RepartOffline", Section::Build),
    ("History", Section::Build),
    ("BuildSourcesEphemeral", Section::Build),
    ("WithTests", Section::Build),
    ("ProxyUrl", Section::Build),
    ("ProxyExclude", Section::Build),
    ("ProxyPeerCertificate", Section::Build),
    ("ProxyClientCertificate", Section::Build),
    ("ProxyClientKey", Section::Build),
    ("NSpawnSettings", Section::Runtime),
    ("VirtualMachineMonitor", Section::Runtime),
    ("Console", Section::Runtime),
    ("CPUs", Section::Runtime),
    ("RAM", Section::Runtime),
    ("MaxMem", Section::Runtime),
    ("KVM", Section::Runtime),
    ("CXL", Section::Runtime),
    ("VSock", Section::Runtime),
    ("VSockCID", Section::Runtime),
    ("TPM", Section::Runtime),
    ("Removable", Section::Runtime),
    ("Firmware", Section::Runtime),
    ("FirmwareVariables", Section::Runtime),
    ("Linux", Section::Runtime),
    ("Drives", Section::Runtime),
    ("QemuArgs", Section::Runtime),
    ("Ephemeral", Section::Runtime),
    ("Credentials", Section::Runtime),
    ("KernelCommandLineExtra", Section::Runtime),
    ("RuntimeTrees", Section::Runtime),
    ("RuntimeSize", Section::Runtime),
    ("RuntimeNetwork", Section::Runtime),
    ("RuntimeBuildSources", Section::Runtime),
    ("BindUser", Section::Runtime),
    ("UnitProperties", Section::Runtime),
    ("SshKey", Section::Runtime),
    ("SshCertificate", Section::Runtime),
    ("Machine", Section::Runtime),
    ("Register", Section::Runtime),
    ("ForwardJournal", Section::Runtime),
    ("StorageTargetMode", Section::Runtime),
    ("SysupdateDirectory", Section::Runtime),
    ("ConfigureScripts", Section::Config),
    ("PassEnvironment", Section::Config),
];

/// Old names mkosi still accepts (with a deprecation warning), and their current names.
pub static RENAMED: &[(&str, &str)] = &[
    ("Profile", "Profiles"),
    ("PrepareScript", "PrepareScripts"),
    ("BuildScript", "BuildScripts"),
    ("PostInstallationScript", "PostInstallationScripts"),
    ("FinalizeScript", "FinalizeScripts"),
    ("Devicetree", "Devicetrees"),
    ("PackageManagerTrees", "SandboxTrees"),
    ("ToolsTreePackageManagerTrees", "ToolsTreeSandboxTrees"),
    ("QemuSmp", "CPUs"),
    ("QemuMem", "RAM"),
    ("QemuKvm", "KVM"),
    ("QemuVsock", "VSock"),
    ("QemuVsockConnectionId", "VSockCID"),
    ("QemuSwtpm", "TPM"),
    ("QemuRemovable", "Removable"),
    ("QemuFirmware", "Firmware"),
    ("QemuFirmwareVariables", "FirmwareVariables"),
    ("QemuKernel", "Linux"),
    ("QemuDrives", "Drives"),
];
