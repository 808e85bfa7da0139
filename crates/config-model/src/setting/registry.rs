//! The tables of settings: the ones this builder acts on (with how each applies), the ones
//! mkosi knows that it ignores, and the old names mkosi still accepts.

use std::str::FromStr;

use super::apply::*;
use super::paths::existing;
use super::paths::resolve;
use super::{Effect, Section, SettingDef, Split};
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
        file_name_part
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
        file_name_part
    )),
    def!("ImageId", Output, |c, v, _| single(
        &mut c.output.image_id,
        v,
        file_name_part
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
    def!("Overlay", Output, |c, v, _| single(
        &mut c.output.overlay,
        v,
        crate::value::parse_bool
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
    def!("BaseTrees", Content, |c, v, cx| list(
        &mut c.content.base_trees,
        v,
        Split::Words,
        |item| Ok(resolve(item, cx))
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
    def!("MakeInitrd", Content, |c, v, _| single(
        &mut c.content.make_initrd,
        v,
        crate::value::parse_bool
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
    def!("Verity", Validation, |c, v, _| single(
        &mut c.validation.verity,
        v,
        FromStr::from_str
    )),
    def!("VerityKey", Validation, |c, v, cx| single(
        &mut c.validation.verity_key,
        v,
        |s| existing(resolve(s, cx))
    )),
    def!("VerityCertificate", Validation, |c, v, cx| single(
        &mut c.validation.verity_certificate,
        v,
        |s| existing(resolve(s, cx))
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

/// Settings mkosi knows that this builder does not act on (yet): accepted, kept, reported,
/// each with what it would change. A build refuses a definition that sets one whose
/// [`Effect`] is the image (`ImageConfig::unimplemented_settings`); the others (the VM it
/// boots in, caches, tools trees, proxies, keys only a refused setting reads) change nothing
/// of what is built.
pub static IGNORED: &[(&str, Section, Effect)] = &[
    (
        "OutputExtension",
        Section::Output,
        Effect::Image("the output's file name"),
    ),
    (
        "OutputMode",
        Section::Output,
        Effect::Image("the outputs' file mode"),
    ),
    (
        "SplitArtifacts",
        Section::Output,
        Effect::Image("which outputs are written"),
    ),
    (
        "SectorSize",
        Section::Output,
        Effect::Image("the disk's layout"),
    ),
    ("CleanScripts", Section::Output, Effect::None),
    (
        "Bootloader",
        Section::Content,
        Effect::Image("the disk's boot loader"),
    ),
    (
        "BiosBootloader",
        Section::Content,
        Effect::Image("the disk's boot loader"),
    ),
    (
        "ShimBootloader",
        Section::Content,
        Effect::Image("the disk's boot loader"),
    ),
    (
        "UnifiedKernelImages",
        Section::Content,
        Effect::Image("which UKIs are written"),
    ),
    (
        "UnifiedKernelImageFormat",
        Section::Content,
        Effect::Image("the UKI's file name"),
    ),
    (
        "UnifiedKernelImageProfiles",
        Section::Content,
        Effect::Image("the UKI's profiles"),
    ),
    (
        "Initrds",
        Section::Content,
        Effect::Image("the UKI's initrds"),
    ),
    (
        "InitrdProfiles",
        Section::Content,
        Effect::Image("the default initrd"),
    ),
    (
        "InitrdPackages",
        Section::Content,
        Effect::Image("the default initrd"),
    ),
    (
        "InitrdVolatilePackages",
        Section::Content,
        Effect::Image("the default initrd"),
    ),
    (
        "Devicetrees",
        Section::Content,
        Effect::Image("the UKI's devicetrees"),
    ),
    (
        "Splash",
        Section::Content,
        Effect::Image("the UKI's splash image"),
    ),
    (
        "MicrocodeHost",
        Section::Content,
        Effect::Image("the UKI's microcode"),
    ),
    (
        "KernelModulesIncludeHost",
        Section::Content,
        Effect::Image("the image's kernel modules"),
    ),
    (
        "KernelModulesInitrd",
        Section::Content,
        Effect::Image("the UKI's initrds (a kernel modules initrd)"),
    ),
    (
        "KernelInitrdModules",
        Section::Content,
        Effect::Image("the UKI's initrds (a kernel modules initrd)"),
    ),
    (
        "FirmwareFiles",
        Section::Content,
        Effect::Image("the image's firmware files"),
    ),
    (
        "Locale",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "LocaleMessages",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "Keymap",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "Timezone",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "Hostname",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "RootShell",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "RootPassword",
        Section::Content,
        Effect::Image("the image's /etc (systemd-firstboot)"),
    ),
    (
        "Autologin",
        Section::Content,
        Effect::Image("the image's units"),
    ),
    (
        "Ssh",
        Section::Content,
        Effect::Image("the image's units and keys"),
    ),
    (
        "SELinuxRelabel",
        Section::Content,
        Effect::Image("the image's file labels"),
    ),
    (
        "MachineId",
        Section::Content,
        Effect::Image("the image's /etc/machine-id"),
    ),
    (
        "SecureBoot",
        Section::Validation,
        Effect::Image("the UKI's signature"),
    ),
    (
        "SecureBootAutoEnroll",
        Section::Validation,
        Effect::Image("the ESP's contents"),
    ),
    ("SecureBootKey", Section::Validation, Effect::None),
    ("SecureBootKeySource", Section::Validation, Effect::None),
    ("SecureBootCertificate", Section::Validation, Effect::None),
    (
        "SecureBootCertificateSource",
        Section::Validation,
        Effect::None,
    ),
    ("SecureBootSignTool", Section::Validation, Effect::None),
    (
        "VerityKeySource",
        Section::Validation,
        Effect::Image("the verity signature's key"),
    ),
    (
        "VerityCertificateSource",
        Section::Validation,
        Effect::Image("the verity signature's certificate"),
    ),
    (
        "SignExpectedPcr",
        Section::Validation,
        Effect::Image("the UKI's .pcrsig section"),
    ),
    ("SignExpectedPcrKey", Section::Validation, Effect::None),
    (
        "SignExpectedPcrKeySource",
        Section::Validation,
        Effect::None,
    ),
    (
        "SignExpectedPcrCertificate",
        Section::Validation,
        Effect::None,
    ),
    (
        "SignExpectedPcrCertificateSource",
        Section::Validation,
        Effect::None,
    ),
    (
        "Passphrase",
        Section::Validation,
        Effect::Image("the disk's encryption"),
    ),
    (
        "Checksum",
        Section::Validation,
        Effect::Image("which outputs are written"),
    ),
    (
        "Sign",
        Section::Validation,
        Effect::Image("which outputs are written"),
    ),
    ("OpenPGPTool", Section::Validation, Effect::None),
    ("Key", Section::Validation, Effect::None),
    ("ToolsTree", Section::Build, Effect::None),
    ("ToolsTreeDistribution", Section::Build, Effect::None),
    ("ToolsTreeRelease", Section::Build, Effect::None),
    ("ToolsTreeProfiles", Section::Build, Effect::None),
    ("ToolsTreeMirror", Section::Build, Effect::None),
    ("ToolsTreeRepositories", Section::Build, Effect::None),
    ("ToolsTreeSandboxTrees", Section::Build, Effect::None),
    ("ToolsTreePackages", Section::Build, Effect::None),
    ("ToolsTreePackageDirectories", Section::Build, Effect::None),
    ("ToolsTreeCertificates", Section::Build, Effect::None),
    ("ExtraSearchPaths", Section::Build, Effect::None),
    ("Incremental", Section::Build, Effect::None),
    ("CacheOnly", Section::Build, Effect::None),
    ("WorkspaceDirectory", Section::Build, Effect::None),
    ("CacheKey", Section::Build, Effect::None),
    ("BuildKey", Section::Build, Effect::None),
    ("UseSubvolumes", Section::Build, Effect::None),
    ("RepartOffline", Section::Build, Effect::None),
    ("History", Section::Build, Effect::None),
    ("BuildSourcesEphemeral", Section::Build, Effect::None),
    ("WithTests", Section::Build, Effect::None),
    ("ProxyUrl", Section::Build, Effect::None),
    ("ProxyExclude", Section::Build, Effect::None),
    ("ProxyPeerCertificate", Section::Build, Effect::None),
    ("ProxyClientCertificate", Section::Build, Effect::None),
    ("ProxyClientKey", Section::Build, Effect::None),
    ("NSpawnSettings", Section::Runtime, Effect::None),
    ("VirtualMachineMonitor", Section::Runtime, Effect::None),
    ("Console", Section::Runtime, Effect::None),
    ("CPUs", Section::Runtime, Effect::None),
    ("RAM", Section::Runtime, Effect::None),
    ("MaxMem", Section::Runtime, Effect::None),
    ("KVM", Section::Runtime, Effect::None),
    ("CXL", Section::Runtime, Effect::None),
    ("VSock", Section::Runtime, Effect::None),
    ("VSockCID", Section::Runtime, Effect::None),
    ("TPM", Section::Runtime, Effect::None),
    ("Removable", Section::Runtime, Effect::None),
    ("Firmware", Section::Runtime, Effect::None),
    ("FirmwareVariables", Section::Runtime, Effect::None),
    ("Linux", Section::Runtime, Effect::None),
    ("Drives", Section::Runtime, Effect::None),
    ("QemuArgs", Section::Runtime, Effect::None),
    ("Ephemeral", Section::Runtime, Effect::None),
    ("Credentials", Section::Runtime, Effect::None),
    ("KernelCommandLineExtra", Section::Runtime, Effect::None),
    ("RuntimeTrees", Section::Runtime, Effect::None),
    ("RuntimeSize", Section::Runtime, Effect::None),
    ("RuntimeNetwork", Section::Runtime, Effect::None),
    ("RuntimeBuildSources", Section::Runtime, Effect::None),
    ("BindUser", Section::Runtime, Effect::None),
    ("UnitProperties", Section::Runtime, Effect::None),
    ("SshKey", Section::Runtime, Effect::None),
    ("SshCertificate", Section::Runtime, Effect::None),
    ("Machine", Section::Runtime, Effect::None),
    ("Register", Section::Runtime, Effect::None),
    ("ForwardJournal", Section::Runtime, Effect::None),
    ("StorageTargetMode", Section::Runtime, Effect::None),
    ("SysupdateDirectory", Section::Runtime, Effect::None),
    (
        "ConfigureScripts",
        Section::Config,
        Effect::Image("the configuration itself"),
    ),
    (
        "PassEnvironment",
        Section::Config,
        Effect::Image("the scripts' environment"),
    ),
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
