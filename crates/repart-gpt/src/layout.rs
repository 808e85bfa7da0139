//! The plan of a disk: where every partition goes, how large it is, and every identifier.
//!
//! [`plan`] is a pure function of the definitions, their content and [`PlanOptions`]; the
//! [`Layout`] it returns fixes every byte position before anything is written, so tests assert
//! on it directly and the emitting pass only fills in what it says.
//!
//! The rules, and how they compare to `systemd-repart --empty=create --size=auto`:
//! - 512-byte sectors; a protective MBR; a GPT with 128 entries, primary at LBA 1-33 and backup
//!   in the last 33 sectors; first usable LBA 34.
//! - Partitions in definition order, numbered from 1, each starting on a 1 MiB boundary
//!   (the first at LBA 2048). systemd-repart also starts the first at 1 MiB and then packs
//!   partitions at its 4 KiB grain; the two agree whenever sizes are whole MiB.
//! - Size: `SizeMinBytes=` (10 MiB when unset, as systemd-repart) rounded up to 4 KiB; with
//!   `Minimize=guess` the content's estimated need with slack, at least `SizeMinBytes=` when set.
//!   `SizeMaxBytes=` (rounded down to 4 KiB) caps it. Free space is never given to partitions
//!   (as if every `Weight=` were 0); on a disk of fixed size it stays at the end.
//! - Disk size: the end of the last partition plus room for the backup GPT, rounded up to
//!   1 MiB; or the size asked for in [`PlanOptions::disk_size`].
//! - Identifiers: the disk GUID, partition UUIDs, default labels and FAT volume ids follow
//!   systemd-repart (see [`crate::ids`]); an explicit `UUID=` or `Label=` wins.

use std::fmt;
use std::path::PathBuf;

use uuid::Uuid;

use crate::SECTOR_SIZE;
use crate::content::FileTree;
use crate::definition::{Format, Minimize, PartitionDefinition};
use crate::error::{Error, Result};
use crate::fat_size;
use crate::ids;
use crate::partition_type::PartitionType;

/// Partition start alignment: 1 MiB.
pub const ALIGNMENT: u64 = 1 << 20;
/// Size granularity: systemd-repart's 4 KiB grain.
pub const GRAIN: u64 = 4096;
/// The size of a partition without `SizeMinBytes=`, as in systemd-repart.
pub const DEFAULT_MIN_SIZE: u64 = 10 << 20;
/// Entries in the GPT partition array.
pub const GPT_ENTRIES: u64 = 128;
/// Sectors of the partition entry array (128 entries of 128 bytes).
pub const GPT_ENTRY_SECTORS: u64 = GPT_ENTRIES * 128 / SECTOR_SIZE;
/// GPT attribute bit 60 of the Discoverable Partitions Specification: mount read-only.
pub const GPT_FLAG_READ_ONLY: u64 = 1 << 60;
/// GPT attribute bit 59 of the Discoverable Partitions Specification: grow the file system to
/// the partition on first mount.
pub const GPT_FLAG_GROWFS: u64 = 1 << 59;

/// A logical block address: a sector number on the disk.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lba(pub u64);

impl Lba {
    /// The byte offset of this sector.
    pub fn byte_offset(self) -> u64 {
        self.0 * SECTOR_SIZE
    }
}

impl fmt::Display for Lba {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LBA {}", self.0)
    }
}

/// What the caller decides about the disk as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// The seed every derived identifier comes from.
    pub seed: Uuid,
    /// The disk size in bytes: `None` for the smallest that holds the partitions (a whole
    /// number of MiB), or an exact size (a multiple of 512, at least that minimum).
    pub disk_size: Option<u64>,
}

/// The complete plan of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Size of the disk in bytes.
    pub disk_size: u64,
    /// The GPT disk GUID.
    pub disk_guid: Uuid,
    /// The first sector partitions may use.
    pub first_usable: Lba,
    /// The last sector partitions may use.
    pub last_usable: Lba,
    /// The first sector of the backup partition entry array.
    pub backup_entries: Lba,
    /// The backup GPT header (the last sector).
    pub backup_header: Lba,
    /// The partitions, in table order.
    pub partitions: Vec<PlannedPartition>,
}

/// One partition of a [`Layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPartition {
    /// Partition number (1-based entry index in the GPT).
    pub number: u32,
    /// The definition file it comes from.
    pub definition: PathBuf,
    /// The type GUID.
    pub partition_type: PartitionType,
    /// The partition UUID.
    pub uuid: Uuid,
    /// The GPT partition name.
    pub label: String,
    /// The first sector.
    pub start: Lba,
    /// Size in bytes (a multiple of 4 KiB).
    pub size: u64,
    /// The GPT attribute bits of its entry ([`GPT_FLAG_READ_ONLY`], [`GPT_FLAG_GROWFS`]); 0 for
    /// disks planned from definitions, which refuse the settings that would set them.
    pub flags: u64,
    /// The file system written into it, if any.
    pub filesystem: Option<FatVolume>,
}

impl PlannedPartition {
    /// Byte offset of the partition on the disk.
    pub fn offset(&self) -> u64 {
        self.start.byte_offset()
    }

    /// The last sector (inclusive), as the GPT entry records it.
    pub fn last(&self) -> Lba {
        Lba(self.start.0 + self.size / SECTOR_SIZE - 1)
    }
}

/// The fixed parameters of a FAT file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatVolume {
    /// The volume id (serial number), as `mkfs.fat -i` would be given it by systemd-repart.
    pub volume_id: u32,
    /// The volume label, as systemd-repart mangles the partition label for FAT: ASCII,
    /// uppercase, at most 11 characters, padded with spaces.
    pub volume_label: [u8; 11],
    /// The first sector of the partition, recorded in the boot sector's hidden-sectors field.
    pub hidden_sectors: u32,
}

/// What occupies a byte of the disk, for reports on where two disks differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// LBA 0.
    ProtectiveMbr,
    /// LBA 1.
    PrimaryHeader,
    /// The primary partition entry array.
    PrimaryEntries,
    /// Inside partition `number`, at `offset` bytes from its start.
    Partition {
        /// Partition number.
        number: u32,
        /// Offset from the partition's start.
        offset: u64,
    },
    /// The backup partition entry array.
    BackupEntries,
    /// The backup header.
    BackupHeader,
    /// Space no partition or table uses.
    Unallocated,
}

impl Layout {
    /// Which part of the disk the byte at `offset` belongs to.
    pub fn region_at(&self, offset: u64) -> Region {
        let lba = offset / SECTOR_SIZE;
        if lba == 0 {
            return Region::ProtectiveMbr;
        }
        if lba == 1 {
            return Region::PrimaryHeader;
        }
        if lba < 2 + GPT_ENTRY_SECTORS {
            return Region::PrimaryEntries;
        }
        if lba == self.backup_header.0 {
            return Region::BackupHeader;
        }
        if lba >= self.backup_entries.0 && lba < self.backup_header.0 {
            return Region::BackupEntries;
        }
        self.partitions
            .iter()
            .find(|p| offset >= p.offset() && offset < p.offset() + p.size)
            .map_or(Region::Unallocated, |p| Region::Partition {
                number: p.number,
                offset: offset - p.offset(),
            })
    }

    /// Total sectors of the disk.
    pub fn sectors(&self) -> u64 {
        self.disk_size / SECTOR_SIZE
    }
}

pub(crate) fn round_up(value: u64, to: u64) -> u64 {
    value.div_ceil(to) * to
}

/// The label systemd-repart gives a partition without `Label=`: its type's name (`linux` for
/// an unknown type), suffixed `-2`, `-3`, ... while an earlier partition has that label.
pub(crate) fn default_label(partition_type: PartitionType, earlier: &[PlannedPartition]) -> String {
    let prefix = partition_type.name().unwrap_or("linux");
    let taken = |candidate: &str| earlier.iter().any(|p| p.label == candidate);
    if !taken(prefix) {
        return prefix.to_owned();
    }
    (2u32..)
        .map(|k| format!("{prefix}-{k}"))
        .find(|candidate| !taken(candidate))
        .expect("some suffix is free")
}

/// systemd-repart's `mangle_fat_label`: non-ASCII characters become `_`, the first 11 are
/// kept, uppercased, and characters mkfs.fat refuses become `_`.
pub fn fat_volume_label(label: &str) -> [u8; 11] {
    let mut out = [b' '; 11];
    for (slot, c) in out.iter_mut().zip(label.chars()) {
        let c = if c.is_ascii() { c as u8 } else { b'_' };
        let c = c.to_ascii_uppercase();
        *slot = if b"*?.,;:/\\|+=<>[]\"".contains(&c) || c.is_ascii_control() {
            b'_'
        } else {
            c
        };
    }
    out
}

/// Plans the disk for `definitions`, whose staged content is `contents` (same order; an
/// empty tree for a partition without `CopyFiles=`).
pub fn plan(
    definitions: &[PartitionDefinition],
    contents: &[FileTree],
    options: &PlanOptions,
) -> Result<Layout> {
    assert_eq!(
        definitions.len(),
        contents.len(),
        "one content tree per definition"
    );
    let mut partitions: Vec<PlannedPartition> = Vec::with_capacity(definitions.len());
    let mut next_start = ALIGNMENT;
    for (index, (definition, content)) in definitions.iter().zip(contents).enumerate() {
        let number = u32::try_from(index + 1).expect("fewer than 2^32 partitions");
        let instance = definitions[..index]
            .iter()
            .filter(|d| d.partition_type == definition.partition_type)
            .count() as u64;
        let uuid = definition.uuid.unwrap_or_else(|| {
            ids::partition_uuid(options.seed, definition.partition_type, instance)
        });
        if let Some(other) = partitions.iter().find(|p| p.uuid == uuid) {
            return Err(Error::DuplicateUuid {
                first: other.number,
                second: number,
                uuid,
            });
        }
        let label = definition
            .label
            .clone()
            .unwrap_or_else(|| default_label(definition.partition_type, &partitions));
        let size = partition_size(number, definition, content)?;
        let start = Lba(next_start / SECTOR_SIZE);
        next_start = round_up(next_start + size, ALIGNMENT);
        let filesystem = definition.format.map(|Format::Vfat| FatVolume {
            volume_id: ids::fat_volume_id(uuid),
            volume_label: fat_volume_label(&label),
            hidden_sectors: u32::try_from(start.0).unwrap_or(u32::MAX),
        });
        partitions.push(PlannedPartition {
            number,
            definition: definition.path.clone(),
            partition_type: definition.partition_type,
            uuid,
            label,
            start,
            size,
            flags: 0,
            filesystem,
        });
    }
    finish_layout(partitions, options, ALIGNMENT)
}

/// The [`Layout`] of a disk holding `partitions` (placed, in table order): the disk GUID from
/// `options.seed`, the disk size from `options.disk_size` or else the end of the last partition
/// plus the backup GPT (33 sectors) rounded up to `granularity`, and the GPT's usable range and
/// backup location for that size. [`plan`] rounds to 1 MiB; extension images
/// ([`crate::extension`]) to 4 KiB, as `systemd-repart --size=auto` sizes them.
pub fn finish_layout(
    partitions: Vec<PlannedPartition>,
    options: &PlanOptions,
    granularity: u64,
) -> Result<Layout> {
    let end_of_partitions = partitions.last().map_or(ALIGNMENT, |p| p.offset() + p.size);
    let backup_bytes = (GPT_ENTRY_SECTORS + 1) * SECTOR_SIZE;
    let needed = round_up(end_of_partitions + backup_bytes, granularity);
    let disk_size = match options.disk_size {
        None => needed,
        Some(requested) if requested % SECTOR_SIZE != 0 => {
            return Err(Error::DiskSize {
                requested,
                needed,
                reason: "not a multiple of 512",
            });
        }
        Some(requested) if requested < end_of_partitions + backup_bytes => {
            return Err(Error::DiskSize {
                requested,
                needed,
                reason: "too small",
            });
        }
        Some(requested) => requested,
    };
    let sectors = disk_size / SECTOR_SIZE;
    Ok(Layout {
        disk_size,
        disk_guid: ids::disk_guid(options.seed),
        first_usable: Lba(2 + GPT_ENTRY_SECTORS),
        last_usable: Lba(sectors - GPT_ENTRY_SECTORS - 2),
        backup_entries: Lba(sectors - GPT_ENTRY_SECTORS - 1),
        backup_header: Lba(sectors - 1),
        partitions,
    })
}

fn partition_size(
    number: u32,
    definition: &PartitionDefinition,
    content: &FileTree,
) -> Result<u64> {
    let min = definition.size_min_bytes.map(|s| round_up(s, GRAIN));
    let max = definition.size_max_bytes.map(|s| s / GRAIN * GRAIN);
    let needed = match definition.format {
        Some(Format::Vfat) => fat_size::estimate_volume_size(content),
        None => 0,
    };
    let size = match definition.minimize {
        Minimize::Off => min.unwrap_or(DEFAULT_MIN_SIZE),
        Minimize::Guess => needed.max(min.unwrap_or(0)).max(GRAIN),
    };
    if let Some(max) = max {
        if needed > max {
            return Err(Error::ContentTooLarge {
                number,
                definition: definition.path.clone(),
                needed,
                size: max,
            });
        }
        if size > max {
            return Err(Error::SizeRange {
                path: definition.path.clone(),
                min: size,
                max,
            });
        }
    }
    // Content that cannot possibly fit is reported now; whether content close to the size
    // fits is decided by the FAT writer, which knows the exact geometry.
    let raw_content: u64 = content
        .entries
        .values()
        .map(|node| match node {
            crate::content::Node::File(data) => data.len() as u64,
            crate::content::Node::Dir => 0,
        })
        .sum();
    if raw_content > size {
        return Err(Error::ContentTooLarge {
            number,
            definition: definition.path.clone(),
            needed,
            size,
        });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::parse_definition;
    use std::path::Path;
    use uuid::uuid;

    const SEED: Uuid = uuid!("630b5f72-a36a-4e83-b23d-6ef47c82fd9c");

    fn defs(texts: &[&str]) -> Vec<PartitionDefinition> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| parse_definition(Path::new(&format!("{i:02}.conf")), t).unwrap())
            .collect()
    }

    fn plan_auto(definitions: &[PartitionDefinition]) -> Result<Layout> {
        let contents = vec![FileTree::default(); definitions.len()];
        plan(
            definitions,
            &contents,
            &PlanOptions {
                seed: SEED,
                disk_size: None,
            },
        )
    }

    #[test]
    fn systemd_repart_example_layout() {
        // The same three definitions systemd-repart 252 laid out at 2048+81920,
        // 83968+20480 and 104448+20480 sectors (see ids.rs for the UUIDs).
        let layout = plan_auto(&defs(&[
            "[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=40M\nSizeMaxBytes=40M\n",
            "[Partition]\nType=root-x86-64\nSizeMinBytes=10M\nSizeMaxBytes=10M\n",
            "[Partition]\nType=root-x86-64\nLabel=second\nSizeMinBytes=10M\nSizeMaxBytes=10M\n",
        ]))
        .unwrap();
        let got: Vec<(u64, u64, &str, Uuid)> = layout
            .partitions
            .iter()
            .map(|p| (p.start.0, p.size / 512, p.label.as_str(), p.uuid))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    2048,
                    81920,
                    "esp",
                    uuid!("b11ae37f-af1c-49fa-8bc4-c84027a1ac9f")
                ),
                (
                    83968,
                    20480,
                    "root-x86-64",
                    uuid!("797ee66c-87bc-4b1c-8e8b-89ead9d339e0")
                ),
                (
                    104448,
                    20480,
                    "second",
                    uuid!("1a419cc4-772e-43de-817c-857523893d63")
                ),
            ]
        );
        assert_eq!(
            layout.disk_guid,
            uuid!("0311d99a-bdd6-4c5b-8a87-33649c02a33c")
        );
        // 124928 sectors of partitions end at 61 MiB; the backup GPT needs 33 more: 62 MiB.
        assert_eq!(layout.disk_size, 62 << 20);
        assert_eq!(layout.first_usable, Lba(34));
        assert_eq!(layout.backup_header, Lba((62 << 11) - 1));
        assert_eq!(layout.backup_entries, Lba((62 << 11) - 33));
        assert_eq!(layout.last_usable, Lba((62 << 11) - 34));
        let fat = layout.partitions[0].filesystem.unwrap();
        assert_eq!(fat.volume_id, 0x5b0a_2ab8);
        assert_eq!(&fat.volume_label, b"ESP        ");
        assert_eq!(fat.hidden_sectors, 2048);
    }

    #[test]
    fn default_sizes_labels_and_alignment() {
        let layout = plan_auto(&defs(&[
            "[Partition]\nType=linux-generic\n",
            "[Partition]\nType=linux-generic\nSizeMinBytes=5000\n",
            "[Partition]\nType=01234567-89ab-cdef-0123-456789abcdef\n",
            "[Partition]\nType=linux-generic\n",
        ]))
        .unwrap();
        let p = &layout.partitions;
        assert_eq!(p[0].size, DEFAULT_MIN_SIZE);
        assert_eq!(p[1].size, 8192);
        assert_eq!(p[1].start, Lba(2048 + 20480));
        // The next partition starts on the next MiB boundary, not right after 8 KiB.
        assert_eq!(p[2].start, Lba(2048 + 20480 + 2048));
        let labels: Vec<&str> = p.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "linux-generic",
                "linux-generic-2",
                "linux",
                "linux-generic-3"
            ]
        );
        assert_eq!(layout.region_at(0), Region::ProtectiveMbr);
        assert_eq!(layout.region_at(700), Region::PrimaryHeader);
        assert_eq!(layout.region_at(1024), Region::PrimaryEntries);
        assert_eq!(layout.region_at(17 * 1024), Region::Unallocated);
        assert_eq!(
            layout.region_at((2048 + 20480) * 512 + 5),
            Region::Partition {
                number: 2,
                offset: 5
            }
        );
        assert_eq!(layout.region_at(layout.disk_size - 1), Region::BackupHeader);
        assert_eq!(
            layout.region_at(layout.disk_size - 600),
            Region::BackupEntries
        );
    }

    #[test]
    fn explicit_uuid_still_counts_as_an_instance_and_duplicates_fail() {
        let layout = plan_auto(&defs(&[
            "[Partition]\nType=root-x86-64\nUUID=b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11\n",
            "[Partition]\nType=root-x86-64\n",
        ]))
        .unwrap();
        assert_eq!(
            layout.partitions[1].uuid,
            uuid!("1a419cc4-772e-43de-817c-857523893d63")
        );
        let err = plan_auto(&defs(&[
            "[Partition]\nType=esp\nUUID=b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11\n",
            "[Partition]\nType=esp\nUUID=b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11\n",
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::DuplicateUuid {
                    first: 1,
                    second: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn fixed_disk_size() {
        let definitions = defs(&["[Partition]\nType=esp\nSizeMinBytes=1M\n"]);
        let contents = vec![FileTree::default()];
        let layout = plan(
            &definitions,
            &contents,
            &PlanOptions {
                seed: SEED,
                disk_size: Some(1 << 30),
            },
        )
        .unwrap();
        assert_eq!(layout.disk_size, 1 << 30);
        assert_eq!(layout.backup_header, Lba((1 << 21) - 1));
        let err = plan_auto(&defs(&[
            "[Partition]\nType=esp\nSizeMinBytes=5000\nSizeMaxBytes=6000\n",
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::SizeRange {
                    min: 8192,
                    max: 4096,
                    ..
                }
            ),
            "{err}"
        );
        for (bad, reason) in [
            (1 << 20, "too small"),
            ((1 << 30) + 1, "not a multiple of 512"),
        ] {
            let err = plan(
                &definitions,
                &contents,
                &PlanOptions {
                    seed: SEED,
                    disk_size: Some(bad),
                },
            )
            .unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
        }
    }

    #[test]
    fn fat_labels_are_mangled_like_systemd() {
        assert_eq!(&fat_volume_label("esp"), b"ESP        ");
        assert_eq!(&fat_volume_label("a.b:c/ü"), b"A_B_C__    ");
        assert_eq!(&fat_volume_label("averylonglabelname"), b"AVERYLONGLA");
    }
}
