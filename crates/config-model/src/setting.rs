//! The registry of settings: every name mkosi knows, the section it belongs to, and for the
//! settings this builder uses, how a value is applied to an [`ImageConfig`].
//!
//! Two rules of mkosi live in the small helpers at the bottom and nowhere else:
//! - a single-value setting is replaced by each assignment, and the empty assignment resets it;
//! - a collection setting is appended to by each assignment, and the empty assignment clears it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use crate::config::ImageConfig;
use crate::value::{Compression, ModuleFilter, PackageSpec, Tree, ValueError, split_shell_words};

/// The sections of a configuration file that hold settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// `[Distribution]`.
    Distribution,
    /// `[Output]`.
    Output,
    /// `[Content]`.
    Content,
    /// `[Validation]`.
    Validation,
    /// `[Build]`.
    Build,
    /// `[Runtime]` (called `[Host]` by older mkosi versions).
    Runtime,
    /// `[Config]`.
    Config,
    /// `[Include]`.
    Include,
}

impl Section {
    /// Parses a section header name that holds settings (not `[Match]` and friends).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Distribution" => Self::Distribution,
            "Output" => Self::Output,
            "Content" => Self::Content,
            "Validation" => Self::Validation,
            "Build" => Self::Build,
            "Runtime" | "Host" => Self::Runtime,
            "Config" => Self::Config,
            "Include" => Self::Include,
            _ => return None,
        })
    }
}

/// What a value is applied with: the directory relative paths start from, and the environment
/// that bare names in `Environment=` are passed through from.
#[derive(Debug, Clone, Copy)]
pub struct ValueContext<'a> {
    /// mkosi's working directory at the time of the assignment.
    pub cwd: &'a Path,
    /// The invoking environment (an explicit input: never read from the process here).
    pub environment: &'a BTreeMap<String, String>,
}

/// Applies one (already specifier-expanded) value to a configuration.
pub type ApplyFn = fn(&mut ImageConfig, &str, &ValueContext<'_>) -> Result<(), ValueError>;

/// A setting this builder acts on.
#[derive(Clone, Copy)]
pub struct SettingDef {
    /// The name as written in files, e.g. `Packages`.
    pub name: &'static str,
    /// The section it belongs in.
    pub section: Section,
    /// How a value changes the configuration.
    pub apply: ApplyFn,
}

/// How a setting is known.
#[derive(Clone, Copy)]
pub enum Known {
    /// Used by this builder.
    Used(&'static SettingDef),
    /// Known to mkosi, not acted on by this builder: kept and reported.
    Ignored(Section),
}

/// Finds a setting by its exact name.
pub fn lookup(name: &str) -> Option<Known> {
    if let Some(def) = SETTINGS.iter().find(|d| d.name == name) {
        return Some(Known::Used(def));
    }
    IGNORED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, section)| Known::Ignored(*section))
}

/// The known setting name closest to `name` (for "did you mean" in errors).
pub fn closest_name(name: &str) -> Option<&'static str> {
    let names = SETTINGS
        .iter()
        .map(|d| d.name)
        .chain(IGNORED.iter().map(|(n, _)| *n))
        .chain(std::iter::once("Include"));
    let lowered = name.to_ascii_lowercase();
    names
        .map(|candidate| {
            (
                edit_distance(&lowered, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

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
    ("LocalMirror", Section::Distribution),
    ("RepositoryKeyFetch", Section::Distribution),
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

/// The current name for an old one, if `name` is an old name.
pub fn renamed(name: &str) -> Option<&'static str> {
    RENAMED
        .iter()
        .find(|(old, _)| *old == name)
        .map(|(_, new)| *new)
}

/// How a collection value is split into items.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    /// On commas and any whitespace: mkosi's default for lists (packages, paths, profiles).
    Words,
    /// On spaces and newlines only, commas kept (`KernelCommandLine=console=ttyS0,115200`).
    Spaces,
}

/// The items of a collection value, empty items dropped.
pub fn split_items(raw: &str, split: Split) -> impl Iterator<Item = &str> {
    let is_separator = move |c: char| match split {
        Split::Words => c == ',' || c.is_whitespace(),
        Split::Spaces => c == ' ' || c == '\n',
    };
    raw.split(is_separator).filter(|s| !s.is_empty())
}

fn text(raw: &str) -> Result<String, ValueError> {
    Ok(raw.to_owned())
}

fn number<T: FromStr>(raw: &str) -> Result<T, ValueError> {
    raw.parse()
        .map_err(|_| ValueError::expected("a non-negative integer", raw))
}

/// Single-value rule: the empty assignment resets, anything else replaces.
fn single<T>(
    slot: &mut Option<T>,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<(), ValueError> {
    *slot = if raw.trim().is_empty() {
        None
    } else {
        Some(parse(raw.trim())?)
    };
    Ok(())
}

/// Collection rule: the empty assignment clears, anything else appends its items.
fn list<T>(
    slot: &mut Vec<T>,
    raw: &str,
    split: Split,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<(), ValueError> {
    if raw.trim().is_empty() {
        slot.clear();
        return Ok(());
    }
    for item in split_items(raw, split) {
        slot.push(parse(item)?);
    }
    Ok(())
}

/// Script lists: each item is a glob (a plain path is a glob matching itself), expanded in
/// sorted order; items matching nothing are dropped, as mkosi does.
fn scripts(slot: &mut Vec<PathBuf>, raw: &str, cx: &ValueContext<'_>) -> Result<(), ValueError> {
    let mut matches: Vec<Vec<PathBuf>> = Vec::new();
    list(&mut matches, raw, Split::Words, |item| {
        glob_sorted(&resolve(item, cx))
    })?;
    if raw.trim().is_empty() {
        slot.clear();
    }
    slot.extend(matches.into_iter().flatten());
    Ok(())
}

/// Lists of paths that must exist (package and repart directories, environment files).
fn required_paths(
    slot: &mut Vec<PathBuf>,
    raw: &str,
    cx: &ValueContext<'_>,
) -> Result<(), ValueError> {
    list(slot, raw, Split::Words, |item| existing(resolve(item, cx)))
}

/// What a tree setting demands of its pairs.
#[derive(Debug, Clone, Copy)]
struct TreeRules {
    /// The source must exist when the setting is read.
    source_required: bool,
    /// The source must be a directory.
    source_is_directory: bool,
    /// The target must be absolute (else it is kept relative, as for `BuildSources=`).
    target_absolute: bool,
}

impl TreeRules {
    const REQUIRED: Self = Self {
        source_required: true,
        source_is_directory: false,
        target_absolute: true,
    };
    const OPTIONAL: Self = Self {
        source_required: false,
        ..Self::REQUIRED
    };
    const SOURCES: Self = Self {
        source_required: true,
        source_is_directory: true,
        target_absolute: false,
    };
}

/// `source[:target]` pairs, split at the first colon.
fn trees(
    slot: &mut Vec<Tree>,
    raw: &str,
    cx: &ValueContext<'_>,
    rules: TreeRules,
) -> Result<(), ValueError> {
    list(slot, raw, Split::Words, |item| {
        let (source, target) = match item.split_once(':') {
            Some((source, target)) => (source, Some(target)),
            None => (item, None),
        };
        let source = resolve(source, cx);
        if rules.source_required {
            existing(source.clone())?;
        }
        if rules.source_is_directory && !source.is_dir() {
            return Err(ValueError(format!(
                "{} is not a directory",
                source.display()
            )));
        }
        let target = target
            .map(|t| {
                let target = PathBuf::from(expand_variables(t, cx.environment));
                if rules.target_absolute && !target.is_absolute() {
                    return Err(ValueError(format!(
                        "target `{}` must be an absolute path",
                        target.display()
                    )));
                }
                Ok(normalize(&target))
            })
            .transpose()?;
        Ok(Tree { source, target })
    })
}

/// `Environment=`: shell-quoted words; `NAME=value` sets, a bare `NAME` passes the invoking
/// environment's value through (empty if unset there); later names win; the empty assignment
/// clears.
fn environment(
    slot: &mut BTreeMap<String, String>,
    raw: &str,
    cx: &ValueContext<'_>,
) -> Result<(), ValueError> {
    if raw.trim().is_empty() {
        slot.clear();
        return Ok(());
    }
    for item in split_shell_words(raw)? {
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name.trim(), value.trim().to_owned()),
            None => (
                item.trim(),
                cx.environment.get(item.trim()).cloned().unwrap_or_default(),
            ),
        };
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(ValueError::expected("NAME=value or NAME", &item));
        }
        slot.insert(name.to_owned(), value);
    }
    Ok(())
}

/// An absolute, lexically normalised path: `$VAR`/`${VAR}` and a leading `~` are expanded from
/// the invoking environment, and relative paths start at the working directory.
pub fn resolve(raw: &str, cx: &ValueContext<'_>) -> PathBuf {
    let expanded = expand_variables(raw, cx.environment);
    let home = cx.environment.get("HOME").map(PathBuf::from);
    let path = match (
        expanded
            .strip_prefix("~/")
            .or((expanded == "~").then_some("")),
        home,
    ) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(&expanded),
    };
    normalize(&cx.cwd.join(path))
}

/// Expands `$NAME` and `${NAME}` from `environment`; unknown variables stay as written.
fn expand_variables(raw: &str, environment: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match environment.get(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[dollar..dollar + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// Removes `.` components and folds `..` into its parent, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn existing(path: PathBuf) -> Result<PathBuf, ValueError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(ValueError(format!("{} does not exist", path.display())))
    }
}

/// The existing paths a glob names, sorted (a plain path names itself if it exists).
fn glob_sorted(pattern: &Path) -> Result<Vec<PathBuf>, ValueError> {
    let text = pattern.to_string_lossy();
    let mut matches: Vec<PathBuf> = glob::glob(&text)
        .map_err(|e| ValueError(format!("invalid glob `{text}`: {e}")))?
        .filter_map(Result::ok)
        .collect();
    matches.sort();
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<&str> = SETTINGS
            .iter()
            .map(|d| d.name)
            .chain(IGNORED.iter().map(|(n, _)| *n))
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(closest_name("Pakages"), Some("Packages"));
        assert_eq!(closest_name("kernelcommandline"), Some("KernelCommandLine"));
        assert_eq!(closest_name("BuildScriptz"), Some("BuildScripts"));
        assert_eq!(closest_name("Xyzzy"), None);
    }

    #[test]
    fn lists_split_on_commas_and_newlines() {
        let items: Vec<&str> = split_items("a, b\n c,,\td e", Split::Words).collect();
        assert_eq!(items, ["a", "b", "c", "d", "e"]);
        let items: Vec<&str> =
            split_items("console=ttyS0,115200  quiet\nro", Split::Spaces).collect();
        assert_eq!(items, ["console=ttyS0,115200", "quiet", "ro"]);
    }

    #[test]
    fn variables_expand_and_unknown_ones_stay() {
        let env = BTreeMap::from([("HOME".to_owned(), "/root".to_owned())]);
        assert_eq!(
            expand_variables("$HOME/a/${HOME}/$NOPE/${X", &env),
            "/root/a//root/$NOPE/${X"
        );
        let cx = ValueContext {
            cwd: Path::new("/src"),
            environment: &env,
        };
        assert_eq!(resolve("~/cache", &cx), PathBuf::from("/root/cache"));
        assert_eq!(resolve("../x", &cx), PathBuf::from("/x"));
    }

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
