//! systemd-repart on this machine (systemd 252) lays out the same definitions with the same
//! seed, and the results are compared.
//!
//! What is compared: the disk GUID; per partition its type, UUID, name, first and last sector;
//! for a vfat ESP the FAT volume id and label. What is not: the disk size (systemd-repart's
//! `--size=auto` ends 33 sectors after the last partition, this crate rounds up to a whole MiB)
//! and partition attributes (systemd 252 sets GrowFileSystem, bit 59, on root and usr
//! partitions by default; this crate writes none).
//!
//! Current systemd (`src/repart/repart.c`) derives ids exactly as 252 does: the same
//! `derive_uuid()` (HMAC-SHA256 keyed by the seed, first half marked v4) with the token
//! `disk-uuid`, the same `partition_acquire_uuid()` (type GUID, plus the little-endian instance
//! counter from the second partition of a type on), the same default labels and FAT volume ids
//! from `file-system-uuid`. Its differences (verity partitions take their UUIDs from the
//! verity hash; `Label=`/`UUID=` specifiers) concern settings this crate refuses, so 252 is a
//! faithful judge here.

use std::fs;
use std::path::Path;

use repart_gpt::{FileTree, PartitionType, PlanOptions, emit_disk, plan, read_definitions};

use crate::support::*;

const DEFINITIONS: &[(&str, &str)] = &[
    (
        "00-esp.conf",
        "[Partition]\nType=esp\nSizeMinBytes=40M\nSizeMaxBytes=40M\n",
    ),
    (
        "10-root.conf",
        "[Partition]\nType=root-x86-64\nSizeMinBytes=64M\n",
    ),
    (
        "20-root.conf",
        "[Partition]\nType=root-x86-64\nLabel=second\nSizeMinBytes=16M\n",
    ),
    ("30-generic.conf", "[Partition]\nType=linux-generic\n"),
    (
        "40-xbootldr.conf",
        "[Partition]\nType=xbootldr\nUUID=0f4e8d2a-7b13-4c6e-8e5d-93a1c4b7d260\nSizeMinBytes=2M\n",
    ),
    ("50-swap.conf", "[Partition]\nType=swap\nSizeMinBytes=8M\n"),
    (
        "60-root.conf",
        "[Partition]\nType=root-x86-64\nSizeMinBytes=1M\n",
    ),
    (
        "70-custom.conf",
        "[Partition]\nType=01234567-89ab-cdef-0123-456789abcdef\nSizeMinBytes=3M\n",
    ),
];

fn systemd_repart(definitions: &Path, image: &Path) {
    require("systemd-repart", "systemd");
    run(
        "systemd-repart",
        &[
            "--no-pager",
            &format!("--definitions={}", definitions.display()),
            &format!("--seed={SEED}"),
            "--dry-run=no",
            "--empty=create",
            "--size=auto",
            image.to_str().unwrap(),
        ],
    );
}

#[test]
fn uuids_labels_and_positions_match_systemd_repart() {
    require("sgdisk", "gdisk");
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(&defs, DEFINITIONS);
    let theirs = tmp.path().join("systemd.raw");
    systemd_repart(&defs, &theirs);
    let count = DEFINITIONS.len() as u32;
    let (their_guid, their_partitions) = sgdisk_read(&theirs, count);

    // The pure plan says what systemd-repart wrote...
    let definitions = read_definitions(&[&defs]).unwrap();
    let contents = vec![FileTree::default(); definitions.len()];
    let layout = plan(
        &definitions,
        &contents,
        &PlanOptions {
            seed: SEED.parse().unwrap(),
            disk_size: None,
        },
    )
    .unwrap();
    assert_eq!(layout.disk_guid.to_string(), their_guid);
    let planned: Vec<SgdiskPartition> = layout
        .partitions
        .iter()
        .map(|p| SgdiskPartition {
            type_guid: p.partition_type.guid.to_string(),
            unique_guid: p.uuid.to_string(),
            first: p.start.0,
            last: p.last().0,
            name: p.label.clone(),
        })
        .collect();
    assert_eq!(planned, their_partitions);

    // ...and so do the bytes this crate writes.
    let ours = tmp.path().join("ours.raw");
    let disk = emit_disk(&layout, &contents, 0).unwrap();
    repart_gpt::output::write_raw(&disk, &ours).unwrap();
    let verify = stdout("sgdisk", &["-v", ours.to_str().unwrap()]);
    assert!(verify.contains("No problems found"), "sgdisk -v:\n{verify}");
    assert_eq!(sgdisk_read(&ours, count), (their_guid, their_partitions));
}

#[test]
fn fat_volume_id_and_label_match_systemd_repart() {
    require("mkfs.vfat", "dosfstools");
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(
        &defs,
        &[
            (
                "00-esp.conf",
                "[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=40M\nSizeMaxBytes=40M\n",
            ),
            (
                "10-esp.conf",
                "[Partition]\nType=esp\nFormat=vfat\nLabel=boot.b\nSizeMinBytes=36M\n",
            ),
        ],
    );
    // systemd-repart formats through a loop device and mkfs.fat.
    let theirs = tmp.path().join("systemd.raw");
    systemd_repart(&defs, &theirs);

    let definitions = read_definitions(&[&defs]).unwrap();
    let contents = vec![FileTree::default(); definitions.len()];
    let layout = plan(
        &definitions,
        &contents,
        &PlanOptions {
            seed: SEED.parse().unwrap(),
            disk_size: None,
        },
    )
    .unwrap();
    let ours = emit_disk(&layout, &contents, 0).unwrap().to_vec();
    let theirs = fs::read(&theirs).unwrap();
    for partition in &layout.partitions {
        // FAT32 boot sector: volume id at 0x43, label at 0x47.
        let at = partition.offset() as usize;
        let their_id = &theirs[at + 0x43..at + 0x47];
        let their_label = &theirs[at + 0x47..at + 0x52];
        assert_eq!(
            &ours[at + 0x43..at + 0x47],
            their_id,
            "volume id of partition {}",
            partition.number
        );
        assert_eq!(
            &ours[at + 0x47..at + 0x52],
            their_label,
            "volume label of partition {}: {:?}",
            partition.number,
            String::from_utf8_lossy(their_label)
        );
        let volume = partition.filesystem.unwrap();
        assert_eq!(their_id, volume.volume_id.to_le_bytes());
    }
    assert_eq!(&ours[(1 << 20) + 0x47..(1 << 20) + 0x52], b"ESP        ");
}

#[test]
fn type_names_match_systemd() {
    require("systemd-id128", "systemd");
    let listing = stdout("systemd-id128", &["show"]);
    for (name, guid) in PartitionType::known() {
        let theirs = listing
            .lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                (fields.next() == Some(name)).then(|| fields.next().unwrap().to_owned())
            })
            .unwrap_or_else(|| panic!("systemd-id128 show does not know {name}"));
        assert_eq!(guid.simple().to_string(), theirs, "{name}");
    }
}
