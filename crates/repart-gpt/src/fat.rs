//! FAT file systems written in Rust with the `fatfs` crate, deterministically.
//!
//! What is fixed, and how:
//! - Geometry: 512-byte sectors, two FATs, media `0xF8`, 63 sectors per track, 255 heads, drive
//!   `0x80`. FAT32 whenever the partition has room for it (33 MiB or more), as systemd-repart
//!   asks `mkfs.fat -F 32`; smaller partitions get the FAT16 or FAT12 `fatfs` picks for the size.
//!   Cluster sizes follow the Microsoft table (`fatfs`'s defaults). OEM name `MSWIN4.1`
//!   (`fatfs`'s constant).
//! - Identity: the volume id and label come from the [`FatVolume`] of the layout; the boot
//!   sector's hidden-sectors field holds the partition's first LBA, as `mkfs.fat` writes on a
//!   partition.
//! - Time: every timestamp (created, modified, accessed, and the volume label entry) is
//!   SOURCE_DATE_EPOCH read as UTC, clamped to FAT's range (1980-01-01 to 2107-12-31).
//! - Order: directories and files are created in [`FileTree`] order, parents first.
//! - Names: short (8.3) names only, one directory entry each, as `mcopy` writes for such names.
//!   `fatfs` 0.3 (the current release) writes long-name entries in front of every `.` and `..`
//!   entry when long names are enabled, which `fsck.vfat` rightly rejects; it is built without
//!   them, and [`crate::content`] refuses names that are not 8.3 instead of letting them be
//!   shortened to `NAME~1`. On FAT32 it also points the `..` entry of a directory in the root
//!   at the root's cluster where the specification says 0; that is corrected after writing.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::sync::{Mutex, OnceLock};

use fatfs::{
    Date, DateTime, FatType, FileSystem, FormatVolumeOptions, FsOptions, Time, TimeProvider,
};

use crate::SECTOR_SIZE;
use crate::content::{FileTree, Node};
use crate::error::{Error, Result};
use crate::fat_size::{FAT32_MIN_SIZE, MIB, data_bytes_needed};
use crate::layout::{FatVolume, PlannedPartition};
use crate::sparse::SparseImage;
use build_vocab::calendar::UtcDateTime;

/// A FAT date and time for a Unix time, read as UTC and clamped to what FAT can hold.
pub fn fat_date_time(unix_seconds: u64) -> DateTime {
    // 1980-01-01T00:00:00Z and 2107-12-31T23:59:58Z.
    const MIN: u64 = 315_532_800;
    const MAX: u64 = 4_354_819_198;
    let t = unix_seconds.clamp(MIN, MAX);
    let utc = UtcDateTime::from_unix(t as i64);
    DateTime {
        date: Date {
            year: utc.year as u16,
            month: utc.month as u16,
            day: utc.day as u16,
        },
        time: Time {
            hour: utc.hour as u16,
            min: utc.minute as u16,
            sec: utc.second as u16,
            millis: 0,
        },
    }
}

/// A `fatfs` time provider that always answers the same instant.
#[derive(Debug)]
struct FixedTime(DateTime);

impl TimeProvider for FixedTime {
    fn get_current_date(&self) -> Date {
        self.0.date
    }
    fn get_current_date_time(&self) -> DateTime {
        self.0
    }
}

/// `fatfs` wants a `&'static` provider: one is leaked per distinct SOURCE_DATE_EPOCH.
fn time_provider(unix_seconds: u64) -> &'static FixedTime {
    static PROVIDERS: OnceLock<Mutex<BTreeMap<u64, &'static FixedTime>>> = OnceLock::new();
    let mut map = PROVIDERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(unix_seconds)
        .or_insert_with(|| Box::leak(Box::new(FixedTime(fat_date_time(unix_seconds)))))
}

/// The geometry of a formatted volume, read back from its boot sector.
struct Bpb {
    sectors_per_cluster: u64,
    reserved: u64,
    fat_size: u64,
    fats: u64,
    root_entries: u64,
    root_cluster: u64,
    fat32: bool,
}

impl Bpb {
    fn read(boot: &[u8; 512]) -> Bpb {
        let le16 = |at: usize| u64::from(u16::from_le_bytes([boot[at], boot[at + 1]]));
        let le32 = |at: usize| {
            u64::from(u32::from_le_bytes([
                boot[at],
                boot[at + 1],
                boot[at + 2],
                boot[at + 3],
            ]))
        };
        let fat16_size = le16(0x16);
        Bpb {
            sectors_per_cluster: u64::from(boot[0x0d]),
            reserved: le16(0x0e),
            fats: u64::from(boot[0x10]),
            root_entries: le16(0x11),
            fat_size: if fat16_size != 0 {
                fat16_size
            } else {
                le32(0x24)
            },
            root_cluster: le32(0x2c),
            fat32: fat16_size == 0,
        }
    }

    /// Byte offset of the first data cluster (cluster 2).
    fn data_offset(&self) -> u64 {
        let root_dir_sectors = (self.root_entries * 32).div_ceil(SECTOR_SIZE);
        (self.reserved + self.fats * self.fat_size + root_dir_sectors) * SECTOR_SIZE
    }

    fn cluster_offset(&self, cluster: u64) -> u64 {
        self.data_offset() + (cluster - 2) * self.sectors_per_cluster * SECTOR_SIZE
    }

    fn cluster_size(&self) -> u64 {
        self.sectors_per_cluster * SECTOR_SIZE
    }

    /// Offset of the root directory's first entry.
    fn root_dir_offset(&self) -> u64 {
        if self.fat32 {
            self.cluster_offset(self.root_cluster)
        } else {
            (self.reserved + self.fats * self.fat_size) * SECTOR_SIZE
        }
    }

    /// The clusters of the chain starting at `cluster` (FAT32 only).
    fn chain(&self, image: &SparseImage, mut cluster: u64) -> Vec<u64> {
        let mut clusters = Vec::new();
        while (2..0x0fff_fff7).contains(&cluster) && clusters.len() < 1 << 20 {
            clusters.push(cluster);
            let mut entry = [0u8; 4];
            image.read_at(self.reserved * SECTOR_SIZE + cluster * 4, &mut entry);
            cluster = u64::from(u32::from_le_bytes(entry) & 0x0fff_ffff);
        }
        clusters
    }
}

/// `fatfs` 0.3 points the `..` entry of a directory in the root at the root's cluster on FAT32;
/// the FAT specification (and `fsck.vfat`) want cluster 0 there. Sets it to 0.
fn fix_dotdot_of_root_children(image: &mut SparseImage, bpb: &Bpb) -> std::io::Result<()> {
    if !bpb.fat32 {
        return Ok(());
    }
    let mut children = Vec::new();
    'clusters: for cluster in bpb.chain(image, bpb.root_cluster) {
        let base = bpb.cluster_offset(cluster);
        for slot in 0..bpb.cluster_size() / 32 {
            let mut entry = [0u8; 32];
            image.read_at(base + slot * 32, &mut entry);
            match entry[0] {
                0x00 => break 'clusters,
                0xe5 => continue,
                _ => {}
            }
            let attributes = entry[0x0b];
            if attributes & 0x10 != 0 && attributes & 0x08 == 0 {
                let high = u64::from(u16::from_le_bytes([entry[0x14], entry[0x15]]));
                let low = u64::from(u16::from_le_bytes([entry[0x1a], entry[0x1b]]));
                children.push((high << 16) | low);
            }
        }
    }
    for child in children {
        let dotdot = bpb.cluster_offset(child) + 32;
        let mut entry = [0u8; 32];
        image.read_at(dotdot, &mut entry);
        if &entry[..11] == b"..         " {
            image.write_at(dotdot + 0x14, &[0, 0])?;
            image.write_at(dotdot + 0x1a, &[0, 0])?;
        }
    }
    Ok(())
}

fn fat_error(number: u32) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Fat { number, source }
}

/// Formats a FAT file system for `partition` and fills it with `tree`.
pub fn build_volume(
    partition: &PlannedPartition,
    volume: &FatVolume,
    tree: &FileTree,
    source_date_epoch: u64,
) -> Result<SparseImage> {
    let number = partition.number;
    let err = || fat_error(number);
    let mut image = SparseImage::new(partition.size);
    let total_sectors = u32::try_from(partition.size / SECTOR_SIZE).map_err(|_| Error::Fat {
        number,
        source: std::io::Error::other("FAT volumes are limited to 2^32 sectors"),
    })?;
    let mut options = FormatVolumeOptions::new()
        .bytes_per_sector(SECTOR_SIZE as u16)
        .total_sectors(total_sectors)
        .fats(2)
        .media(0xf8)
        .sectors_per_track(63)
        .heads(255)
        .drive_num(0x80)
        .volume_id(volume.volume_id)
        .volume_label(volume.volume_label);
    if partition.size >= FAT32_MIN_SIZE {
        options = options.fat_type(FatType::Fat32);
    }
    fatfs::format_volume(&mut image, options).map_err(err())?;

    // The volume label entry `format_volume` writes carries no time: give it the epoch too.
    let mut boot = [0u8; 512];
    image.read_at(0, &mut boot);
    let bpb = Bpb::read(&boot);
    let label_entry = bpb.root_dir_offset();
    let mut entry = [0u8; 32];
    image.read_at(label_entry, &mut entry);
    if entry[0x0b] == 0x08 {
        let (date, time, tenths) = encode_dos(fat_date_time(source_date_epoch));
        entry[0x0d] = tenths;
        entry[0x0e..0x10].copy_from_slice(&time.to_le_bytes());
        entry[0x10..0x12].copy_from_slice(&date.to_le_bytes());
        entry[0x12..0x14].copy_from_slice(&date.to_le_bytes());
        entry[0x16..0x18].copy_from_slice(&time.to_le_bytes());
        entry[0x18..0x1a].copy_from_slice(&date.to_le_bytes());
        image.write_at(label_entry, &entry).map_err(err())?;
    }

    image.seek(SeekFrom::Start(0)).map_err(err())?;
    {
        let fs = FileSystem::new(
            &mut image,
            FsOptions::new()
                .update_accessed_date(false)
                .time_provider(time_provider(source_date_epoch)),
        )
        .map_err(err())?;
        // Counting free clusters also makes fatfs keep the FSInfo count exact.
        let stats = fs.stats().map_err(err())?;
        let cluster_size = u64::from(stats.cluster_size());
        let free = u64::from(stats.free_clusters()) * cluster_size;
        let needed = data_bytes_needed(tree, cluster_size);
        if needed > free {
            return Err(Error::ContentTooLarge {
                number,
                definition: partition.definition.clone(),
                needed: (partition.size + needed - free).div_ceil(MIB) * MIB,
                size: partition.size,
            });
        }
        fill(&fs.root_dir(), tree).map_err(err())?;
        fs.unmount().map_err(err())?;
    }

    fix_dotdot_of_root_children(&mut image, &bpb).map_err(err())?;

    // Hidden sectors (offset 0x1c) in the boot sector and, on FAT32, its backup.
    let hidden = volume.hidden_sectors.to_le_bytes();
    image.write_at(0x1c, &hidden).map_err(err())?;
    if bpb.fat32 {
        let backup = u64::from(u16::from_le_bytes([boot[0x32], boot[0x33]])) * SECTOR_SIZE;
        image.write_at(backup + 0x1c, &hidden).map_err(err())?;
    }
    Ok(image)
}

/// Creates the tree's directories and files under `root`, in tree order.
fn fill<T: fatfs::ReadWriteSeek>(root: &fatfs::Dir<'_, T>, tree: &FileTree) -> std::io::Result<()> {
    for (path, node) in &tree.entries {
        let path = path.join("/");
        match node {
            Node::Dir => {
                root.create_dir(&path)?;
            }
            Node::File(data) => {
                let mut file = root.create_file(&path)?;
                file.write_all(data)?;
                file.flush()?;
            }
        }
    }
    Ok(())
}

/// (date, time, 10 ms units) as FAT directory entries store them.
fn encode_dos(t: DateTime) -> (u16, u16, u8) {
    let date = ((t.date.year - 1980) << 9) | (t.date.month << 5) | t.date.day;
    let time = (t.time.hour << 11) | (t.time.min << 5) | (t.time.sec / 2);
    let tenths = ((t.time.sec % 2) * 100) as u8;
    (date, time, tenths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_and_clamped() {
        let epoch = fat_date_time(0);
        assert_eq!(
            (epoch.date.year, epoch.date.month, epoch.date.day),
            (1980, 1, 1)
        );
        assert_eq!((epoch.time.hour, epoch.time.min, epoch.time.sec), (0, 0, 0));
        // 2024-02-29T13:37:59Z
        let t = fat_date_time(1_709_213_879);
        assert_eq!((t.date.year, t.date.month, t.date.day), (2024, 2, 29));
        assert_eq!((t.time.hour, t.time.min, t.time.sec), (13, 37, 59));
        let late = fat_date_time(u64::MAX);
        assert_eq!(
            (late.date.year, late.date.month, late.date.day),
            (2107, 12, 31)
        );
        assert_eq!(encode_dos(t), (0x585d, 0x6cbd, 100));
    }
}
