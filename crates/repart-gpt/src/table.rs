//! The partition tables: a protective MBR and the primary and backup GPT, written with the
//! `gpt` crate exactly as the [`Layout`] says.
//!
//! The `gpt` crate invents random partition UUIDs when partitions are added one by one, so the
//! complete entry table is handed to it at once; its headers are then checked against the
//! layout, so the plan and the bytes cannot drift apart.

use std::collections::BTreeMap;

use gpt::disk::LogicalBlockSize;
use gpt::mbr::ProtectiveMBR;
use gpt::partition::Partition;
use gpt::partition_types::{OperatingSystem, Type};

use crate::error::Result;
use crate::layout::{GPT_ENTRIES, Layout};
use crate::sparse::SparseImage;

/// The disk's first bytes as [`write_tables`] writes them, up to the end of the primary
/// partition entry array (at most the first MiB, where no partition starts): the protective
/// MBR, the primary GPT header and its entries. Firmware measures the GPT from these.
pub fn primary_tables(layout: &Layout) -> Result<Vec<u8>> {
    let mut disk = SparseImage::new(layout.disk_size);
    write_tables(layout, &mut disk)?;
    let mut head = vec![0; layout.disk_size.min(1 << 20) as usize];
    disk.read_at(0, &mut head);
    Ok(head)
}

/// Writes the protective MBR and both GPTs of `layout` into `disk`.
pub fn write_tables(layout: &Layout, disk: &mut SparseImage) -> Result<()> {
    assert_eq!(
        disk.len(),
        layout.disk_size,
        "disk image sized by the layout"
    );
    let protective_sectors = u32::try_from(layout.sectors() - 1).unwrap_or(u32::MAX);
    ProtectiveMBR::with_lb_size(protective_sectors).overwrite_lba0(disk)?;

    let mut gpt = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(LogicalBlockSize::Lb512)
        .create_from_device(&mut *disk, Some(layout.disk_guid))?;
    let entries: BTreeMap<u32, Partition> = layout
        .partitions
        .iter()
        .map(|p| {
            let entry = Partition {
                part_type_guid: Type {
                    guid: p.partition_type.guid,
                    os: OperatingSystem::None,
                },
                part_guid: p.uuid,
                first_lba: p.start.0,
                last_lba: p.last().0,
                flags: p.flags,
                name: p.label.clone(),
            };
            (p.number, entry)
        })
        .collect();
    gpt.update_partitions(entries)?;
    // The plan and the bytes must not drift apart: a mismatch is a bug here, not bad input.
    let header = gpt.primary_header().map_err(gpt::GptError::from)?;
    let planned = (
        layout.first_usable.0,
        layout.last_usable.0,
        layout.backup_header.0,
        GPT_ENTRIES,
        layout.disk_guid,
    );
    let written = (
        header.first_usable,
        header.last_usable,
        header.backup_lba,
        u64::from(header.num_parts),
        header.disk_guid,
    );
    assert_eq!(
        planned, written,
        "the gpt crate's header differs from the layout"
    );
    gpt.write()?;
    Ok(())
}
