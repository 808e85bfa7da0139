//! How big a FAT volume must be for a tree: the data area its files and directories take
//! with a given cluster size, and the volume size `Minimize=guess` proposes. Pure; the
//! layout plans with it, [`crate::fat`] formats with the same thresholds.

use std::collections::BTreeMap;

use crate::SECTOR_SIZE;
use crate::content::{FileTree, Node};

/// Partitions at least this large are formatted as FAT32.
pub const FAT32_MIN_SIZE: u64 = 33 << 20;
/// The smallest FAT volume [`estimate_volume_size`] proposes.
pub const MIN_VOLUME_SIZE: u64 = 1 << 20;

/// A mebibyte.
pub(crate) const MIB: u64 = 1 << 20;

/// Bytes of data area the tree needs with clusters of `cluster_size` bytes, the root
/// directory's first cluster excepted (FAT32 allocates it when formatting).
pub fn data_bytes_needed(tree: &FileTree, cluster_size: u64) -> u64 {
    let mut dir_entries: BTreeMap<&[String], u64> = BTreeMap::new();
    let mut bytes = 0;
    for (path, node) in &tree.entries {
        if let Some((_, parent)) = path.split_last() {
            *dir_entries.entry(parent).or_insert(0) += 1;
        }
        match node {
            Node::File(data) => bytes += (data.len() as u64).div_ceil(cluster_size) * cluster_size,
            // `.` and `..`.
            Node::Dir => *dir_entries.entry(path.as_slice()).or_insert(0) += 2,
        }
    }
    for (dir, entries) in dir_entries {
        let dir_bytes = (entries * 32).div_ceil(cluster_size).max(1) * cluster_size;
        bytes += if dir.is_empty() {
            // The root: the volume label takes an entry; one cluster is already there.
            ((entries + 1) * 32)
                .div_ceil(cluster_size)
                .saturating_sub(1)
                * cluster_size
        } else {
            dir_bytes
        };
    }
    bytes
}

/// The cluster size `fatfs` uses for a volume of `size` bytes, or an upper bound of it below
/// [`FAT32_MIN_SIZE`].
fn cluster_size_bound(size: u64) -> u64 {
    match size {
        s if s < FAT32_MIN_SIZE => 8192,
        s if s <= 260 * MIB => 512,
        s if s <= 8 << 30 => 4096,
        s if s <= 16 << 30 => 8192,
        s if s <= 32 << 30 => 16384,
        _ => 32768,
    }
}

/// A volume size (whole MiB) that holds `tree`, with slack: the size `Minimize=guess` gives.
pub fn estimate_volume_size(tree: &FileTree) -> u64 {
    let mut size = MIN_VOLUME_SIZE;
    for _ in 0..8 {
        let cluster = cluster_size_bound(size);
        let data = data_bytes_needed(tree, cluster) + cluster;
        let clusters = data / cluster;
        // Two FATs of 4-byte entries (an upper bound for FAT12/16), reserved sectors and a
        // FAT16 root directory.
        let fats = 2 * ((clusters + 2) * 4).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        let total = data + fats + 32 * SECTOR_SIZE + 512 * 32;
        let with_slack = (total + total / 50 + MIB).div_ceil(MIB) * MIB;
        let next = with_slack.max(MIN_VOLUME_SIZE);
        if cluster_size_bound(next) == cluster || next <= size {
            return next.max(size);
        }
        size = next;
    }
    size
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn estimates_hold_the_content() {
        let mut tree = FileTree::default();
        let def = Path::new("d.conf");
        let path: Vec<String> = ["EFI", "BOOT", "BOOTX64.EFI"].map(String::from).to_vec();
        tree.add_file(&path, Arc::from(vec![1u8; 40 << 20]), def)
            .unwrap();
        let size = estimate_volume_size(&tree);
        assert!((41 << 20..=44 << 20).contains(&size), "{size}");
        assert_eq!(size % MIB, 0);
        assert_eq!(
            estimate_volume_size(&FileTree::default()),
            MIN_VOLUME_SIZE + MIB
        );
    }
}
