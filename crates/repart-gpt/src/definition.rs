//! Partition definitions in systemd-repart's `repart.d` format.
//!
//! A definition is one `*.conf` file with a `[Partition]` section. The settings read here are
//! the ones the Flashbox profiles use and the common ones:
//!
//! | setting | value |
//! | --- | --- |
//! | `Type=` | `esp`, `xbootldr`, `swap`, `home`, `srv`, `var`, `tmp`, `linux-generic`, `root-x86-64`, `usr-x86-64`, ... or a GUID |
//! | `Label=` | the GPT partition name (at most 36 UTF-16 units); also the FAT volume label |
//! | `UUID=` | the partition UUID; derived from the seed when absent |
//! | `SizeMinBytes=`, `SizeMaxBytes=` | sizes with an optional `K`, `M`, `G`, `T` suffix (powers of 1024) |
//! | `Format=` | `vfat` |
//! | `CopyFiles=` | `SOURCE[:TARGET]`, repeatable; an empty value clears the list |
//! | `Minimize=` | `off` or `guess` |
//!
//! Any other setting systemd-repart knows is refused as unsupported rather than ignored, since
//! ignoring it would give a different disk than systemd-repart gives; an unknown one is an
//! error too. Every error names `file:line`.
//!
//! The file syntax is read with [`build_vocab::ini::parse`], the workspace's one INI parser.
//! It differs from systemd's parser in corners these files do not use: a `#` anywhere starts a
//! comment (systemd: only at the start of a line) and an indented line continues the previous
//! value (systemd: a trailing backslash). Lines starting with `;`, comments for systemd, are
//! blanked before parsing.
//!
//! [`parse_definition`] is pure; [`read_definitions`] is the I/O edge that lists and reads the
//! files of one or more directories the way systemd-repart does.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use build_vocab::ini::{self, IniItem};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::partition_type::PartitionType;
use build_vocab::AtPath;

/// One partition definition, as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDefinition {
    /// The file it was read from (named in errors).
    pub path: PathBuf,
    /// `Type=`.
    pub partition_type: PartitionType,
    /// `Label=`: the GPT partition name. When absent, the layout gives the type's name as
    /// systemd-repart does.
    pub label: Option<String>,
    /// `UUID=`: the partition UUID. When absent, derived from the seed.
    pub uuid: Option<Uuid>,
    /// `SizeMinBytes=`.
    pub size_min_bytes: Option<u64>,
    /// `SizeMaxBytes=`.
    pub size_max_bytes: Option<u64>,
    /// `Format=`: the file system written into the partition; none leaves it zeroed.
    pub format: Option<Format>,
    /// `CopyFiles=`, in order.
    pub copy_files: Vec<CopyFiles>,
    /// `Minimize=`.
    pub minimize: Minimize,
}

/// A file system this crate can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// FAT (FAT32 when the partition is large enough, as `mkfs.fat -F 32`; FAT16 or FAT12 below).
    Vfat,
}

/// How a formatted partition's size follows its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Minimize {
    /// The size is what the size settings say; content that does not fit is an error.
    #[default]
    Off,
    /// The partition is made as large as its content needs (with slack), and at least
    /// `SizeMinBytes=` when that is set.
    Guess,
}

/// One `CopyFiles=SOURCE[:TARGET]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFiles {
    /// The absolute source path, resolved against the copy source.
    pub source: String,
    /// The absolute target path inside the partition's file system.
    pub target: String,
    /// 1-based line in the definition file.
    pub line: usize,
}

/// Settings systemd-repart knows that this crate does not implement.
const UNSUPPORTED: &[&str] = &[
    "CopyBlocks",
    "DefaultSubvolume",
    "Encrypt",
    "EncryptedVolume",
    "ExcludeFiles",
    "ExcludeFilesTarget",
    "FactoryReset",
    "Flags",
    "GrowFileSystem",
    "Integrity",
    "MakeDirectories",
    "MakeSymlinks",
    "MountPoint",
    "NoAuto",
    "PaddingMaxBytes",
    "PaddingMinBytes",
    "PaddingWeight",
    "Priority",
    "ReadOnly",
    "SplitName",
    "Subvolumes",
    "SupplementFor",
    "Verity",
    "VerityDataBlockSizeBytes",
    "VerityHashBlockSizeBytes",
    "VerityMatchKey",
    "Weight",
    "Compression",
    "CompressionLevel",
];

/// File systems systemd-repart can make that this crate cannot.
const OTHER_FORMATS: &[&str] = &[
    "btrfs", "erofs", "ext2", "ext3", "ext4", "f2fs", "squashfs", "swap", "xfs",
];

/// Parses the text of one definition file. `path` is only used in errors and kept in the result.
pub fn parse_definition(path: &Path, text: &str) -> Result<PartitionDefinition> {
    // systemd also treats `;` lines as comments; blank them, keeping line numbers.
    let text: String = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with(';') {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let items = ini::parse(&text).map_err(|reason| Error::Syntax {
        path: path.to_owned(),
        line: reason.line(),
        reason,
    })?;

    let mut partition_type = None;
    let mut label = None;
    let mut uuid = None;
    let mut size_min_bytes = None;
    let mut size_max_bytes = None;
    let mut format = None;
    let mut copy_files = Vec::new();
    let mut minimize = Minimize::Off;
    // Lines of the settings whose combination is checked below.
    let mut size_max_line = 0;

    for item in items {
        let assignment = match item {
            IniItem::Section { name, line } => {
                if name != "Partition" {
                    return Err(Error::UnknownSection {
                        path: path.to_owned(),
                        line,
                        section: name,
                    });
                }
                continue;
            }
            IniItem::Assignment(assignment) => assignment,
        };
        let line = assignment.line;
        let value = assignment.value.as_str();
        let invalid = |key: &'static str, expected: &'static str| Error::InvalidValue {
            path: path.to_owned(),
            line,
            key,
            value: value.to_owned(),
            expected,
        };
        match assignment.key.as_str() {
            "Type" => {
                partition_type = Some(PartitionType::parse(value).ok_or_else(|| {
                    invalid(
                        "Type",
                        "a partition type name (esp, xbootldr, swap, linux-generic, root-x86-64, ...) or a GUID",
                    )
                })?);
            }
            "Label" => {
                label = if value.is_empty() {
                    None
                } else if value.contains('%') {
                    return Err(invalid("Label", "a label without % specifiers"));
                } else if value.chars().any(char::is_control) {
                    return Err(invalid("Label", "a label without control characters"));
                } else if value.encode_utf16().count() > 36 {
                    return Err(invalid("Label", "at most 36 UTF-16 code units"));
                } else {
                    Some(value.to_owned())
                };
            }
            "UUID" => {
                uuid = if value.is_empty() {
                    None
                } else {
                    Some(
                        Uuid::try_parse(value)
                            .ok()
                            .filter(|uuid| !uuid.is_nil())
                            .ok_or_else(|| invalid("UUID", "a UUID other than all zeros"))?,
                    )
                };
            }
            "SizeMinBytes" => {
                size_min_bytes = if value.is_empty() {
                    None
                } else {
                    Some(parse_size(value).ok_or_else(|| {
                        invalid("SizeMinBytes", "a size such as 4096, 512K, 64M or 2G")
                    })?)
                };
            }
            "SizeMaxBytes" => {
                size_max_line = line;
                size_max_bytes = if value.is_empty() {
                    None
                } else {
                    Some(parse_size(value).ok_or_else(|| {
                        invalid("SizeMaxBytes", "a size such as 4096, 512K, 64M or 2G")
                    })?)
                };
            }
            "Format" => {
                format = match value {
                    "" => None,
                    "vfat" => Some(Format::Vfat),
                    other if OTHER_FORMATS.contains(&other) => {
                        return Err(invalid(
                            "Format",
                            "vfat (the only file system this builder writes)",
                        ));
                    }
                    _ => return Err(invalid("Format", "a file system type such as vfat")),
                };
            }
            "CopyFiles" => {
                if value.is_empty() {
                    copy_files.clear();
                    continue;
                }
                let mut parts = value.split(':');
                let source = parts.next().unwrap_or_default();
                let target = parts.next().unwrap_or(source);
                if parts.next().is_some() {
                    return Err(invalid(
                        "CopyFiles",
                        "SOURCE or SOURCE:TARGET (copy options are not supported)",
                    ));
                }
                if !source.starts_with('/') || !target.starts_with('/') {
                    return Err(invalid(
                        "CopyFiles",
                        "absolute paths, as in /uki.efi:/EFI/BOOT/BOOTX64.EFI",
                    ));
                }
                copy_files.push(CopyFiles {
                    source: source.to_owned(),
                    target: target.to_owned(),
                    line,
                });
            }
            "Minimize" => {
                minimize = match value {
                    "off" | "no" | "false" | "0" => Minimize::Off,
                    "guess" => Minimize::Guess,
                    _ => {
                        return Err(invalid(
                            "Minimize",
                            "off or guess (best needs a read-only file system)",
                        ));
                    }
                };
            }
            key if UNSUPPORTED.contains(&key) => {
                return Err(Error::UnsupportedSetting {
                    path: path.to_owned(),
                    line,
                    key: key.to_owned(),
                });
            }
            key => {
                return Err(Error::UnknownSetting {
                    path: path.to_owned(),
                    line,
                    key: key.to_owned(),
                });
            }
        }
    }

    let partition_type = partition_type.ok_or_else(|| Error::MissingType {
        path: path.to_owned(),
    })?;
    if let (Some(min), Some(max)) = (size_min_bytes, size_max_bytes) {
        if min > max {
            return Err(Error::Conflict {
                path: path.to_owned(),
                line: size_max_line,
                reason: format!("SizeMaxBytes={max} is smaller than SizeMinBytes={min}"),
            });
        }
    }
    if let (Some(first), None) = (copy_files.first(), format) {
        return Err(Error::Conflict {
            path: path.to_owned(),
            line: first.line,
            reason: "CopyFiles= needs Format= (there is no file system to copy into)".to_owned(),
        });
    }
    Ok(PartitionDefinition {
        path: path.to_owned(),
        partition_type,
        label,
        uuid,
        size_min_bytes,
        size_max_bytes,
        format,
        copy_files,
        minimize,
    })
}

/// Parses a size as systemd does for `SizeMinBytes=`: a number, optionally with a fraction, and
/// an optional `B`, `K`, `M`, `G`, `T`, `P` or `E` suffix meaning powers of 1024.
pub fn parse_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let factor: u64 = match suffix.trim() {
        "" | "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        "E" => 1 << 60,
        _ => return None,
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() || fraction.contains('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let mut total = whole.checked_mul(factor)?;
    if !fraction.is_empty() {
        // The fraction's value in units of `factor`, rounded down, as systemd's parse_size does.
        let digits: u32 = fraction.len().try_into().ok()?;
        let numerator: u128 = fraction.parse().ok()?;
        let denominator = 10u128.checked_pow(digits)?;
        let part = numerator * u128::from(factor) / denominator;
        total = total.checked_add(u64::try_from(part).ok()?)?;
    }
    Some(total)
}

/// Lists and reads the `*.conf` definitions of `dirs` as systemd-repart does with several
/// `--definitions=`: files are ordered by file name; a name present in several directories is
/// taken from the first directory that has it. The order is the partition order.
pub fn read_definitions(dirs: &[&Path]) -> Result<Vec<PartitionDefinition>> {
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let entries = fs::read_dir(dir).at(*dir)?;
        for entry in entries {
            let entry = entry.at(*dir)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.ends_with(".conf") || name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            by_name.entry(name.to_owned()).or_insert(path);
        }
    }
    if by_name.is_empty() {
        return Err(Error::NoDefinitions {
            dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
        });
    }
    by_name
        .into_values()
        .map(|path| {
            let text = fs::read_to_string(&path).at(&path)?;
            parse_definition(&path, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PartitionDefinition> {
        parse_definition(Path::new("/defs/00-esp.conf"), text)
    }

    #[test]
    fn flashbox_gcp_definition() {
        let text = "# comment\n[Partition]\nType=esp\nFormat=vfat\nLabel=ESP\n\
                    UUID=b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11\n\
                    CopyFiles=/uki.efi:/EFI/BOOT/BOOTX64.EFI\n";
        let def = parse(text).unwrap();
        assert!(def.partition_type.is_esp());
        assert_eq!(def.label.as_deref(), Some("ESP"));
        assert_eq!(
            def.uuid,
            Some(uuid::uuid!("b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11"))
        );
        assert_eq!(def.format, Some(Format::Vfat));
        assert_eq!(
            def.copy_files,
            vec![CopyFiles {
                source: "/uki.efi".into(),
                target: "/EFI/BOOT/BOOTX64.EFI".into(),
                line: 7
            }]
        );
        assert_eq!(def.minimize, Minimize::Off);
        assert_eq!(def.size_min_bytes, None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512K"), Some(512 << 10));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        assert_eq!(parse_size("1.5M"), Some(3 << 19));
        assert_eq!(parse_size("100B"), Some(100));
        for bad in [
            "",
            "M",
            "12Q",
            "1.2.3M",
            "-5M",
            "18446744073709551616",
            "16E",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_reset_and_copy_files_default_target() {
        let def = parse(
            "[Partition]\nType=linux-generic\nLabel=a\nLabel=\nFormat=vfat\n\
             CopyFiles=/x\nCopyFiles=\nCopyFiles=/y\nMinimize=guess\nSizeMinBytes=1M\nSizeMaxBytes=2M\n",
        )
        .unwrap();
        assert_eq!(def.label, None);
        assert_eq!(def.copy_files.len(), 1);
        assert_eq!(def.copy_files[0].source, "/y");
        assert_eq!(def.copy_files[0].target, "/y");
        assert_eq!(def.minimize, Minimize::Guess);
        assert_eq!(def.size_min_bytes, Some(1 << 20));
        assert_eq!(def.size_max_bytes, Some(2 << 20));
    }

    #[test]
    fn semicolon_comments_keep_line_numbers() {
        let err = parse("; systemd comment\n[Partition]\nType=esp\nWeight=100\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/defs/00-esp.conf:4: `Weight=` is a systemd-repart setting this builder does not support"
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            (
                "[Partition]\nType=rooot\n",
                "/defs/00-esp.conf:2: invalid Type=`rooot`",
            ),
            (
                "[Partition]\nType=esp\nBogus=1\n",
                "/defs/00-esp.conf:3: unknown setting `Bogus`",
            ),
            (
                "[Match]\nType=esp\n",
                "/defs/00-esp.conf:1: unknown section [Match]",
            ),
            (
                "[Partition]\nType=esp\nFormat=ext4\n",
                "/defs/00-esp.conf:3: invalid Format=`ext4`",
            ),
            (
                "[Partition]\nType=esp\nSizeMinBytes=lots\n",
                "/defs/00-esp.conf:3: invalid SizeMinBytes",
            ),
            (
                "[Partition]\nType=esp\nUUID=nope\n",
                "/defs/00-esp.conf:3: invalid UUID",
            ),
            (
                "[Partition]\nType=esp\nMinimize=best\n",
                "/defs/00-esp.conf:3: invalid Minimize",
            ),
            (
                "[Partition]\nType=esp\nCopyFiles=rel:/x\n",
                "/defs/00-esp.conf:3: invalid CopyFiles",
            ),
            (
                "[Partition]\nType=esp\nLabel=%a\n",
                "/defs/00-esp.conf:3: invalid Label",
            ),
            (
                "[Partition]\nType=esp\nLabel=0123456789012345678901234567890123456\n",
                "/defs/00-esp.conf:3: invalid Label",
            ),
            (
                "[Partition]\nType=esp\nCopyFiles=/a:/b\n",
                "/defs/00-esp.conf:3: CopyFiles= needs Format=",
            ),
            (
                "[Partition]\nType=esp\nSizeMinBytes=2M\nSizeMaxBytes=1M\n",
                "/defs/00-esp.conf:4: SizeMaxBytes=1048576 is smaller",
            ),
            ("[Partition]\nLabel=x\n", "/defs/00-esp.conf: no Type="),
            (
                "Type=esp\n",
                "/defs/00-esp.conf:1: setting `Type=esp` is outside of any section",
            ),
        ];
        for (text, expected) in cases {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{message:?} for {text:?}");
        }
    }
}
