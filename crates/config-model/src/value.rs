//! Typed values of mkosi settings and the pure functions that parse them from strings.
//!
//! Each type here is what a setting *means*, not how it was spelled: `yes`, `true` and `1` are
//! all `true`; `x86_64` and `x86-64` are both [`Architecture::X86_64`]; `cargo/trixie-backports`
//! is a [`PackageSpec`] with a suite pin. Serialisation uses mkosi's own spellings, so the JSON
//! scripts read from `$MKOSI_CONFIG` looks like mkosi's.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value was refused; the caller adds the setting name and the `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    pub(crate) fn expected(what: &str, got: &str) -> Self {
        Self(format!("expected {what}, got `{got}`"))
    }
}

/// Parses a boolean the way mkosi does: `1 yes true y t on always` / `0 no false n f off
/// never`, in any case.
pub fn parse_bool(raw: &str) -> Result<bool, ValueError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "y" | "t" | "on" | "always" => Ok(true),
        "0" | "no" | "false" | "n" | "f" | "off" | "never" => Ok(false),
        _ => Err(ValueError::expected(
            "a boolean (yes/no, true/false, 1/0)",
            raw,
        )),
    }
}

/// Declares a string-like enum with its accepted spellings (the first is the canonical one).
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => [$canonical:literal $(, $alias:literal)*]),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The spelling mkosi uses for this value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $canonical),+ }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(raw: &str) -> Result<Self, ValueError> {
                match raw.trim() {
                    $($canonical $(| $alias)* => Ok(Self::$variant),)+
                    other => Err(ValueError(format!(
                        "unknown {} `{other}` (expected one of: {})",
                        $what,
                        [$($canonical),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

spelled_enum! {
    /// `Distribution=`: the distribution installed in the image.
    Distribution, "distribution" {
        /// Fedora Linux.
        Fedora => ["fedora"],
        /// Debian.
        Debian => ["debian"],
        /// Kali Linux.
        Kali => ["kali"],
        /// Ubuntu.
        Ubuntu => ["ubuntu"],
        /// Arch Linux.
        Arch => ["arch"],
        /// openSUSE.
        OpenSuse => ["opensuse"],
        /// Mageia.
        Mageia => ["mageia"],
        /// CentOS Stream.
        CentOs => ["centos"],
        /// Red Hat Enterprise Linux.
        Rhel => ["rhel"],
        /// RHEL Universal Base Image.
        RhelUbi => ["rhel-ubi"],
        /// OpenMandriva.
        OpenMandriva => ["openmandriva"],
        /// Rocky Linux.
        Rocky => ["rocky"],
        /// AlmaLinux.
        Alma => ["alma"],
        /// Azure Linux.
        Azure => ["azure"],
        /// No distribution: trees and scripts only.
        Custom => ["custom"],
    }
}

spelled_enum! {
    /// `Architecture=`: the CPU architecture of the image. Configuration accepts only mkosi's
    /// spellings (`x86-64`, not `x86_64`), as mkosi does; see [`Architecture::from_uname`].
    Architecture, "architecture" {
        /// 64-bit x86.
        X86_64 => ["x86-64"],
        /// 32-bit x86.
        X86 => ["x86"],
        /// 64-bit Arm.
        Arm64 => ["arm64"],
        /// 32-bit Arm.
        Arm => ["arm"],
        /// Alpha.
        Alpha => ["alpha"],
        /// ARC.
        Arc => ["arc"],
        /// Itanium.
        Ia64 => ["ia64"],
        /// LoongArch.
        LoongArch64 => ["loongarch64"],
        /// MIPS, little endian.
        MipsLe => ["mips-le"],
        /// MIPS64, little endian.
        Mips64Le => ["mips64-le"],
        /// PA-RISC.
        Parisc => ["parisc"],
        /// 32-bit PowerPC.
        Ppc => ["ppc"],
        /// 64-bit PowerPC, big endian.
        Ppc64 => ["ppc64"],
        /// 64-bit PowerPC, little endian.
        Ppc64Le => ["ppc64-le"],
        /// 32-bit RISC-V.
        RiscV32 => ["riscv32"],
        /// 64-bit RISC-V.
        RiscV64 => ["riscv64"],
        /// 31-bit s390.
        S390 => ["s390"],
        /// 64-bit s390.
        S390x => ["s390x"],
        /// TILE-Gx.
        TileGx => ["tilegx"],
    }
}

impl Architecture {
    /// The architecture name Debian's archive uses (`amd64` for x86-64), if Debian has one.
    pub fn debian_name(self) -> Option<&'static str> {
        Some(match self {
            Self::X86_64 => "amd64",
            Self::X86 => "i386",
            Self::Arm64 => "arm64",
            Self::Arm => "armhf",
            Self::LoongArch64 => "loong64",
            Self::MipsLe => "mipsel",
            Self::Mips64Le => "mips64el",
            Self::Ppc64Le => "ppc64el",
            Self::RiscV64 => "riscv64",
            Self::S390x => "s390x",
            _ => return None,
        })
    }

    /// The architecture for a kernel (`uname -m`) or Rust (`std::env::consts::ARCH`) name.
    pub fn from_uname(machine: &str) -> Option<Self> {
        Some(match machine {
            "x86_64" => Self::X86_64,
            "i386" | "i486" | "i586" | "i686" | "x86" => Self::X86,
            "aarch64" | "arm64" => Self::Arm64,
            "arm" | "armv7l" | "armv8l" => Self::Arm,
            "loongarch64" => Self::LoongArch64,
            "powerpc64" | "ppc64" => Self::Ppc64,
            "powerpc64le" | "ppc64le" => Self::Ppc64Le,
            "riscv64" => Self::RiscV64,
            "s390x" => Self::S390x,
            _ => return None,
        })
    }

    /// Whether UEFI exists on this architecture (the `Architecture=uefi` matcher).
    pub fn supports_uefi(self) -> bool {
        matches!(
            self,
            Self::X86_64
                | Self::X86
                | Self::Arm64
                | Self::Arm
                | Self::LoongArch64
                | Self::RiscV32
                | Self::RiscV64
        )
    }
}

spelled_enum! {
    /// `Format=`: the kind of output image.
    OutputFormat, "output format" {
        /// A plain directory tree.
        Directory => ["directory"],
        /// A tar archive.
        Tar => ["tar"],
        /// A cpio archive.
        Cpio => ["cpio"],
        /// A GPT disk image.
        Disk => ["disk"],
        /// A Unified Kernel Image whose initrd is the whole OS.
        Uki => ["uki"],
        /// A disk with only an ESP.
        Esp => ["esp"],
        /// An OCI image layout.
        Oci => ["oci"],
        /// A system extension image.
        Sysext => ["sysext"],
        /// A configuration extension image.
        Confext => ["confext"],
        /// A portable service image.
        Portable => ["portable"],
        /// A UKI add-on.
        Addon => ["addon"],
        /// No output.
        None => ["none"],
    }
}

spelled_enum! {
    /// `ManifestFormat=`: one kind of package manifest written next to the image.
    ManifestFormat, "manifest format" {
        /// The JSON manifest of installed packages.
        Json => ["json"],
        /// A human-readable changelog.
        Changelog => ["changelog"],
    }
}

spelled_enum! {
    /// `CompressOutput=`: the compression of the output (a boolean picks the default, zstd).
    Compression, "compression" {
        /// Not compressed.
        None => ["none"],
        /// zstd.
        Zstd => ["zstd", "zst"],
        /// xz.
        Xz => ["xz"],
        /// bzip2.
        Bz2 => ["bz2", "bzip2"],
        /// gzip.
        Gz => ["gz", "gzip"],
        /// lz4.
        Lz4 => ["lz4"],
        /// lzma.
        Lzma => ["lzma"],
    }
}

impl Compression {
    /// Parses `CompressOutput=`: a compression name or a boolean (`yes` means zstd).
    pub fn parse_setting(raw: &str) -> Result<Self, ValueError> {
        raw.parse().or_else(|_| match parse_bool(raw) {
            Ok(true) => Ok(Self::Zstd),
            Ok(false) => Ok(Self::None),
            Err(_) => Err(ValueError::expected("a compression name or a boolean", raw)),
        })
    }
}

/// A tri-state setting such as `Bootable=` or `CleanPackageMetadata=`: yes, no or auto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    /// Decided by the builder from the rest of the configuration.
    Auto,
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

impl FromStr for Feature {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        match raw.trim() {
            "auto" => return Ok(Self::Auto),
            "enabled" => return Ok(Self::Enabled),
            "disabled" => return Ok(Self::Disabled),
            _ => {}
        }
        match parse_bool(raw) {
            Ok(true) => Ok(Self::Enabled),
            Ok(false) => Ok(Self::Disabled),
            Err(_) => Err(ValueError::expected("a boolean or `auto`", raw)),
        }
    }
}

/// `Verity=`: whether partitions get dm-verity, and whether its root hash is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verity {
    /// Signed when a key and a certificate are configured, else no verity at all (mkosi's
    /// default).
    Auto,
    /// A signed root hash (`yes`): the key and certificate are required.
    Signed,
    /// The hash partition without a signature.
    Hash,
    /// The signature partition left empty for a later signing step.
    Defer,
    /// No verity (`no`).
    Disabled,
}

impl FromStr for Verity {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        match raw.trim() {
            "auto" => return Ok(Self::Auto),
            "signed" => return Ok(Self::Signed),
            "hash" => return Ok(Self::Hash),
            "defer" => return Ok(Self::Defer),
            "disabled" => return Ok(Self::Disabled),
            _ => {}
        }
        match parse_bool(raw) {
            Ok(true) => Ok(Self::Signed),
            Ok(false) => Ok(Self::Disabled),
            Err(_) => Err(ValueError::expected(
                "a boolean, `auto`, `signed`, `hash`, `defer` or `disabled`",
                raw,
            )),
        }
    }
}

/// `Seed=`: the UUID from which partition UUIDs and other ids are derived, or `random`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// A fixed seed: the same ids on every build.
    Fixed(uuid::Uuid),
    /// A fresh random seed per build (not reproducible).
    Random,
}

impl FromStr for Seed {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if raw == "random" {
            return Ok(Self::Random);
        }
        uuid::Uuid::parse_str(raw)
            .map(Self::Fixed)
            .map_err(|_| ValueError::expected("a UUID or `random`", raw))
    }
}

impl Serialize for Seed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(uuid) => serializer.collect_str(&uuid.hyphenated()),
            Self::Random => serializer.serialize_str("random"),
        }
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where a requested package should come from, beyond its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PackagePin {
    /// `name/suite`: take the package from this suite (e.g. `trixie-backports`).
    Suite(String),
    /// `name=version`: take exactly this version.
    Version(String),
}

/// One entry of `Packages=` and its siblings: a package name (possibly a glob) and a pin.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageSpec {
    /// The package name, or a glob over names such as `linux-image-*-mkosi-cloud`.
    pub name: String,
    /// `/suite` or `=version`, if given.
    pub pin: Option<PackagePin>,
}

impl PackageSpec {
    /// Whether the name is a glob that matches several packages.
    pub fn is_glob(&self) -> bool {
        build_vocab::glob::Glob::is_glob(&self.name)
    }
}

impl FromStr for PackageSpec {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        let (name, pin) = if let Some((name, suite)) = raw.split_once('/') {
            (name, Some(PackagePin::Suite(suite.to_owned())))
        } else if let Some((name, version)) = raw.split_once('=') {
            (name, Some(PackagePin::Version(version.to_owned())))
        } else {
            (raw, None)
        };
        let pin_is_empty =
            matches!(&pin, Some(PackagePin::Suite(s) | PackagePin::Version(s)) if s.is_empty());
        let name_is_valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.:*?[]_".contains(c));
        if !name_is_valid || pin_is_empty || raw.contains(char::is_whitespace) {
            return Err(ValueError::expected(
                "a package name, optionally with /suite or =version",
                raw,
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            pin,
        })
    }
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.pin {
            Some(PackagePin::Suite(suite)) => write!(f, "/{suite}"),
            Some(PackagePin::Version(version)) => write!(f, "={version}"),
            None => Ok(()),
        }
    }
}

/// One entry of mkosi's kernel module filter (`KernelModules=`, `KernelModulesInclude=`), in
/// the order written: the last entry that matches a module decides whether it is kept.
///
/// Serialised in mkosi's own form (`nf_tables`, `-drivers/gpu/`, `re:^net/`, `default`), the
/// form mkosi keeps in its `KernelModulesInclude` list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModuleFilter {
    /// A `KernelModules=` glob over module names and paths (see mkosi's manual); `-`
    /// before it turns it into an exclusion.
    Glob {
        /// The glob without its `-`.
        pattern: String,
        /// Whether a module this glob matches is left out.
        exclude: bool,
    },
    /// A `KernelModulesInclude=` regular expression, searched in the module's path below
    /// `kernel/` (mkosi's older form).
    Regex(ModuleRegex),
    /// `default`: the module list of mkosi's default initrd.
    Default,
    /// `host`: the modules loaded on the build host.
    Host,
}

impl ModuleFilter {
    /// An item of `KernelModules=`: a glob, `-glob`, `default` or `host`.
    pub fn from_glob_item(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        Ok(match raw {
            "default" => Self::Default,
            "host" => Self::Host,
            _ => {
                let (pattern, exclude) = match raw.strip_prefix('-') {
                    Some(rest) => (rest, true),
                    None => (raw, false),
                };
                if pattern.is_empty() {
                    return Err(ValueError::expected("a module glob", raw));
                }
                Self::Glob {
                    pattern: pattern.to_owned(),
                    exclude,
                }
            }
        })
    }

    /// An item of `KernelModulesInclude=`: a regular expression, `default` or `host`.
    pub fn from_regex_item(raw: &str) -> Result<Self, ValueError> {
        Ok(match raw.trim() {
            "default" => Self::Default,
            "host" => Self::Host,
            regex => Self::Regex(regex.parse()?),
        })
    }
}

impl FromStr for ModuleFilter {
    type Err = ValueError;
    /// Reads the serialised form back (`re:` marks a regular expression).
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        match raw.strip_prefix("re:") {
            Some(regex) => Ok(Self::Regex(regex.parse()?)),
            None => Self::from_glob_item(raw),
        }
    }
}

impl fmt::Display for ModuleFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Glob { pattern, exclude } => {
                write!(f, "{}{pattern}", if *exclude { "-" } else { "" })
            }
            Self::Regex(regex) => write!(f, "re:{}", regex.as_str()),
            Self::Default => f.write_str("default"),
            Self::Host => f.write_str("host"),
        }
    }
}

/// A regular expression of `KernelModulesInclude=`/`KernelModulesExclude=`, checked to
/// compile when it is read (serialised as mkosi does, with `re:` before it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleRegex(String);

impl ModuleRegex {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ModuleRegex {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        let raw = raw.strip_prefix("re:").unwrap_or(raw);
        regex::Regex::new(raw)
            .map_err(|e| ValueError(format!("`{raw}` is not a regular expression: {e}")))?;
        Ok(Self(raw.to_owned()))
    }
}

impl fmt::Display for ModuleRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "re:{}", self.0)
    }
}

/// Serialises through `Display` and deserialises through `FromStr`: mkosi's spelling.
macro_rules! serde_as_string {
    ($($name:ty),+) => {$(
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    )+};
}

serde_as_string!(PackageSpec, ModuleFilter, ModuleRegex);

/// A `source:target` pair of `SkeletonTrees=`, `ExtraTrees=`, `SandboxTrees=`, `BuildSources=`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tree {
    /// The directory (or tar archive) on the build host, absolute.
    pub source: PathBuf,
    /// Where it goes in the image: an absolute path, or `None` for the root.
    pub target: Option<PathBuf>,
}

/// Splits a value into words as a POSIX shell would (what mkosi's shlex-based parsers do):
/// whitespace separates, single quotes are literal, double quotes allow `\\` escapes.
pub fn split_shell_words(raw: &str) -> Result<Vec<String>, ValueError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(ValueError(format!("unterminated ' quote in `{raw}`"))),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => current.push(escaped),
                            Some('\n') => {}
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => break,
                        },
                        Some(c) => current.push(c),
                        None => {
                            return Err(ValueError(format!("unterminated \" quote in `{raw}`")));
                        }
                    }
                }
            }
            '\\' => {
                let current = word.get_or_insert_with(String::new);
                match chars.next() {
                    Some('\n') | None => {}
                    Some(escaped) => current.push(escaped),
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_in_every_spelling() {
        for yes in ["1", "yes", "true", "YES", "True", "on", "always"] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["0", "no", "false", "No", "off"] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        assert!(parse_bool("maybe").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_shell_words("A=1 B=\"x y\" C='a b'\nD=e\\ f E=").unwrap(),
            ["A=1", "B=x y", "C=a b", "D=e f", "E="]
        );
        assert!(split_shell_words("A=\"open").is_err());
    }

    #[test]
    fn architecture_aliases() {
        assert_eq!("x86-64".parse(), Ok(Architecture::X86_64));
        // mkosi refuses kernel spellings in configuration; they are only for host detection.
        assert!("x86_64".parse::<Architecture>().is_err());
        assert_eq!(
            Architecture::from_uname("aarch64"),
            Some(Architecture::Arm64)
        );
        assert_eq!(Architecture::X86_64.debian_name(), Some("amd64"));
        let err = "sparc".parse::<Architecture>().unwrap_err();
        assert!(err.0.contains("x86-64"), "{err}");
    }

    #[test]
    fn module_filters_in_mkosi_spelling() {
        let glob = ModuleFilter::from_glob_item("nf_tables").unwrap();
        assert_eq!(
            glob,
            ModuleFilter::Glob {
                pattern: "nf_tables".into(),
                exclude: false
            }
        );
        let negative = ModuleFilter::from_glob_item("-drivers/gpu/").unwrap();
        assert_eq!(negative.to_string(), "-drivers/gpu/");
        let regex = ModuleFilter::from_regex_item("^net/netfilter/").unwrap();
        assert_eq!(regex.to_string(), "re:^net/netfilter/");
        assert_eq!(
            ModuleFilter::from_regex_item("host"),
            Ok(ModuleFilter::Host)
        );
        assert_eq!(
            ModuleFilter::from_glob_item("default"),
            Ok(ModuleFilter::Default)
        );
        for filter in [glob, negative, regex, ModuleFilter::Host] {
            let json = serde_json::to_string(&filter).unwrap();
            assert_eq!(serde_json::from_str::<ModuleFilter>(&json).unwrap(), filter);
        }
        let bad = ModuleFilter::from_regex_item("net/(").unwrap_err();
        assert!(bad.0.contains("not a regular expression"), "{bad}");
        assert!(ModuleFilter::from_glob_item("-").is_err());
    }

    #[test]
    fn package_specs_with_pins() {
        let spec: PackageSpec = "cargo/trixie-backports".parse().unwrap();
        assert_eq!(spec.name, "cargo");
        assert_eq!(spec.pin, Some(PackagePin::Suite("trixie-backports".into())));
        assert_eq!(spec.to_string(), "cargo/trixie-backports");
        let spec: PackageSpec = "libc6=2.41-12".parse().unwrap();
        assert_eq!(spec.pin, Some(PackagePin::Version("2.41-12".into())));
        let glob: PackageSpec = "linux-image-*-mkosi-cloud".parse().unwrap();
        assert!(glob.is_glob());
        assert!("cargo/".parse::<PackageSpec>().is_err());
        assert!("/trixie".parse::<PackageSpec>().is_err());
        assert!("two words".parse::<PackageSpec>().is_err());
    }

    #[test]
    fn seeds_and_features_and_compression() {
        let seed: Seed = "630b5f72-a36a-4e83-b23d-6ef47c82fd9c".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&seed).unwrap(),
            "\"630b5f72-a36a-4e83-b23d-6ef47c82fd9c\""
        );
        assert_eq!("random".parse(), Ok(Seed::Random));
        assert!("not-a-uuid".parse::<Seed>().is_err());
        assert_eq!("auto".parse(), Ok(Feature::Auto));
        assert_eq!("disabled".parse(), Ok(Feature::Disabled));
        assert!("AUTO".parse::<Feature>().is_err());
        assert_eq!("yes".parse(), Ok(Feature::Enabled));
        assert_eq!(Compression::parse_setting("yes"), Ok(Compression::Zstd));
        assert_eq!(Compression::parse_setting("xz"), Ok(Compression::Xz));
        assert_eq!(Compression::parse_setting("no"), Ok(Compression::None));
    }
}
