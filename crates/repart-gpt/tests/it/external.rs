//! Tools nobody here wrote judge the outputs: sgdisk, fsck.vfat, mtools, qemu-img, GNU tar.

use std::fs;
use std::os::unix::fs::MetadataExt;

use repart_gpt::{DEFAULT_ESP_HEADROOM, OutputKind, esp_min_size};

use crate::support::*;

const MTOOLS_ENV: &[(&str, &str)] = &[("MTOOLS_SKIP_CHECK", "1")];

#[test]
fn gcp_profile_disk_passes_sgdisk_fsck_and_mtools() {
    require("sgdisk", "gdisk");
    require("fsck.vfat", "dosfstools");
    require("mcopy", "mtools");
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    let uki = fake_uki((3 << 20) + 123, 1);
    let built = build_all(&defs, &uki, &tmp.path().join("out"));

    // The plan: one ESP at 1 MiB, UKI + 32 MiB rounded up to a MiB, the fixture's UUID.
    let layout = &built.layout;
    assert_eq!(layout.partitions.len(), 1);
    let esp = &layout.partitions[0];
    assert_eq!(esp.start.0, 2048);
    assert_eq!(
        esp.size,
        esp_min_size(uki.len() as u64, DEFAULT_ESP_HEADROOM)
    );
    assert_eq!(esp.size, 36 << 20);
    assert_eq!(esp.uuid.to_string(), "b6c3c1a0-5f2e-4c8d-9a41-2f0d7e3b8c11");
    assert_eq!(esp.label, "ESP");
    assert_eq!(layout.disk_size, 38 << 20);

    let raw = output(&built, OutputKind::Raw);
    let raw_str = raw.to_str().unwrap();
    let meta = fs::metadata(&raw).unwrap();
    assert_eq!(meta.len(), layout.disk_size);
    assert_eq!(meta.mode() & 0o777, 0o644);
    assert!(
        meta.blocks() * 512 < layout.disk_size / 2,
        "disk.raw should be sparse: {} bytes allocated of {}",
        meta.blocks() * 512,
        layout.disk_size
    );

    // sgdisk: a valid GPT that says what the layout says.
    let verify = stdout("sgdisk", &["-v", raw_str]);
    assert!(verify.contains("No problems found"), "sgdisk -v:\n{verify}");
    let (disk_guid, partitions) = sgdisk_read(&raw, 1);
    assert_eq!(disk_guid, layout.disk_guid.to_string());
    assert_eq!(
        partitions,
        vec![SgdiskPartition {
            type_guid: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b".into(),
            unique_guid: esp.uuid.to_string(),
            first: 2048,
            last: esp.last().0,
            name: "ESP".into(),
        }]
    );

    // fsck.vfat on the extracted partition: no complaint at all.
    let esp_img = tmp.path().join("esp.img");
    extract(&raw, esp.offset(), esp.size, &esp_img);
    let fsck = run("fsck.vfat", &["-n", "-v", esp_img.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&fsck.stdout).into_owned();
    for complaint in [
        "differ",
        "wrong",
        "Dirty",
        "invalid",
        "Free cluster summary",
    ] {
        assert!(!report.contains(complaint), "fsck.vfat -n -v:\n{report}");
    }
    assert!(
        report.contains("32 bit entries"),
        "expected FAT32:\n{report}"
    );

    // mtools, reading the disk at the partition's offset.
    let image_at = format!("{raw_str}@@{}", esp.offset());
    let info =
        String::from_utf8(run_env("minfo", &["-i", &image_at, "::"], MTOOLS_ENV).stdout).unwrap();
    let volume = esp.filesystem.unwrap();
    assert!(
        info.contains(&format!("serial number: {:08X}", volume.volume_id)),
        "minfo:\n{info}"
    );
    assert!(
        info.contains("disk label=\"ESP        \""),
        "minfo:\n{info}"
    );
    assert!(info.contains("disk type=\"FAT32   \""), "minfo:\n{info}");
    assert!(info.contains("hidden sectors: 2048"), "minfo:\n{info}");
    let listing =
        String::from_utf8(run_env("mdir", &["-i", &image_at, "::/EFI/BOOT"], MTOOLS_ENV).stdout)
            .unwrap();
    assert!(
        listing.contains("BOOTX64  EFI") && listing.contains("1980-01-01"),
        "mdir:\n{listing}"
    );
    let copied = tmp.path().join("BOOTX64.EFI");
    run_env(
        "mcopy",
        &[
            "-n",
            "-i",
            &image_at,
            "::/EFI/BOOT/BOOTX64.EFI",
            copied.to_str().unwrap(),
        ],
        MTOOLS_ENV,
    );
    assert!(
        fs::read(&copied).unwrap() == uki,
        "the UKI read back differs"
    );
}

#[test]
fn gcp_tar_gz_lists_and_extracts_to_the_same_disk() {
    require("tar", "tar");
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    let uki = fake_uki(1 << 20, 2);
    let built = build_all(&defs, &uki, &tmp.path().join("out"));
    let raw = output(&built, OutputKind::Raw);
    let archive = output(&built, OutputKind::GcpTarGz);
    assert_eq!(archive.file_name().unwrap(), "image_1.0.tar.gz");

    let gz = fs::read(&archive).unwrap();
    assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "gzip without a file name");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime 0");

    let listing = stdout("tar", &["-tvzf", archive.to_str().unwrap()]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 1, "one member:\n{listing}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(fields[0], "-rw-r--r--", "{listing}");
    assert_eq!(fields[1], "0/0", "{listing}");
    assert_eq!(fields[2], built.layout.disk_size.to_string(), "{listing}");
    assert_eq!(fields[3], "1970-01-01", "{listing}");
    assert_eq!(fields[5], "disk.raw", "{listing}");

    let extracted = tmp.path().join("x");
    fs::create_dir(&extracted).unwrap();
    run(
        "tar",
        &[
            "-xzf",
            archive.to_str().unwrap(),
            "-C",
            extracted.to_str().unwrap(),
        ],
    );
    let out = extracted.join("disk.raw");
    assert_eq!(
        first_difference(&raw, &out, &built.layout),
        None,
        "tar extraction gives other bytes"
    );
    // Byte for byte what GNU tar archives from the sparse disk.raw (GNU tar then pads the
    // archive with zeros to its 10 KiB record size; the tar crate ends after two zero blocks).
    let ours = flate2_gunzip(&gz);
    let gnu = tmp.path().join("gnu.tar");
    run(
        "tar",
        &[
            "--format=oldgnu",
            "--sparse",
            "--numeric-owner",
            "--owner=0",
            "--group=0",
            "--mtime=@0",
            "-cf",
            gnu.to_str().unwrap(),
            "-C",
            raw.parent().unwrap().to_str().unwrap(),
            "disk.raw",
        ],
    );
    let gnu = fs::read(&gnu).unwrap();
    assert!(gnu.len() >= ours.len(), "GNU tar wrote less than we did");
    let at = ours.iter().zip(&gnu).position(|(a, b)| a != b);
    assert_eq!(at, None, "our tar differs from GNU tar's at byte {at:?}");
    assert!(gnu[ours.len()..].iter().all(|b| *b == 0));

    // The member is stored sparse: the archive is far smaller than the disk even before gzip.
    let uncompressed = stdout(
        "sh",
        &["-c", &format!("gzip -dc '{}' | wc -c", archive.display())],
    );
    let uncompressed: u64 = uncompressed.trim().parse().unwrap();
    assert!(
        uncompressed < built.layout.disk_size / 4,
        "tar is {uncompressed} bytes for a {}-byte disk",
        built.layout.disk_size
    );
}

#[test]
fn azure_vhd_reads_as_vpc_with_the_disk_size() {
    require("qemu-img", "qemu-utils");
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(
        &defs,
        &[(
            "00-esp.conf",
            &fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../fixtures/mkosi.profiles/azure/repart/00-esp.conf"),
            )
            .unwrap(),
        )],
    );
    let uki = fake_uki(2 << 20, 3);
    let built = build_all(&defs, &uki, &tmp.path().join("out"));
    let raw = output(&built, OutputKind::Raw);
    let vhd = output(&built, OutputKind::AzureVhd);
    assert_eq!(built.layout.disk_size % (1 << 20), 0);
    assert_eq!(
        fs::metadata(&vhd).unwrap().len(),
        built.layout.disk_size + 512
    );

    // A fixed VHD has its only signature at the end, so qemu's format probe (which looks at
    // the first sector) says raw; `-f vpc` reads the footer as Azure does.
    let info = stdout(
        "qemu-img",
        &["info", "-f", "vpc", "--output=json", vhd.to_str().unwrap()],
    );
    let info = info.replace(char::is_whitespace, "");
    assert!(info.contains("\"format\":\"vpc\""), "{info}");
    assert!(
        info.contains(&format!("\"virtual-size\":{},", built.layout.disk_size)),
        "{info}"
    );
    // The guest sees exactly the raw disk.
    run(
        "qemu-img",
        &[
            "compare",
            "-f",
            "raw",
            "-F",
            "vpc",
            raw.to_str().unwrap(),
            vhd.to_str().unwrap(),
        ],
    );

    // Field by field, the footer is what `qemu-img convert -o subformat=fixed,force_size`
    // (Azure's documented conversion) writes, except the fields that identify this disk and
    // this build (timestamp, unique id, checksum) and the CHS geometry, which qemu sets to its
    // maximum under force_size where this crate follows the specification's algorithm.
    let theirs = tmp.path().join("qemu.vhd");
    run(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            "subformat=fixed,force_size",
            raw.to_str().unwrap(),
            theirs.to_str().unwrap(),
        ],
    );
    let ours = fs::read(&vhd).unwrap();
    let theirs = fs::read(&theirs).unwrap();
    assert_eq!(ours.len(), theirs.len());
    let (ours, theirs) = (&ours[ours.len() - 512..], &theirs[theirs.len() - 512..]);
    for (name, range) in [
        ("cookie, features, version, data offset", 0..24),
        ("creator application, version, host", 28..40),
        ("original and current size", 40..56),
        ("disk type", 60..64),
        ("saved state and reserved", 84..512),
    ] {
        assert_eq!(ours[range.clone()], theirs[range], "{name}");
    }
    let chs = repart_gpt::vhd::geometry(built.layout.disk_size);
    assert_eq!(u16::from_be_bytes([ours[56], ours[57]]), chs.cylinders);
    assert_eq!((ours[58], ours[59]), (chs.heads, chs.sectors_per_track));
}

#[test]
fn copy_files_from_a_source_tree_on_small_fat_volumes() {
    require("fsck.vfat", "dosfstools");
    require("mcopy", "mtools");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let files: &[(&str, &[u8])] = &[
        ("loader/loader.cfg", b"timeout 0\n"),
        ("loader/entries/a.cfg", b"title A\n"),
        ("loader/entries/empty", b""),
        ("big.bin", &[7u8; 300_000]),
    ];
    for (path, data) in files {
        let path = src.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
    fs::create_dir_all(src.join("loader/keys")).unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(
        &defs,
        &[
            ("00-esp.conf", &gcp_esp_definition()),
            // FAT16 (8 MiB) and FAT12 (the smallest guess) volumes.
            (
                "10-xbootldr.conf",
                "[Partition]\nType=xbootldr\nFormat=vfat\nSizeMinBytes=8M\n\
                 CopyFiles=/loader:/loader\nCopyFiles=/big.bin:/BIG.BIN\n",
            ),
            (
                "20-small.conf",
                "[Partition]\nType=linux-generic\nFormat=vfat\nMinimize=guess\n\
                 CopyFiles=/loader/entries:/e\n",
            ),
        ],
    );
    let built = build_with(
        &defs,
        &fake_uki(10_000, 5),
        &tmp.path().join("out"),
        Some(&src),
        SEED,
    );
    let raw = output(&built, OutputKind::Raw);
    let raw_str = raw.to_str().unwrap();
    let parts = &built.layout.partitions;
    assert_eq!(parts[1].size, 8 << 20);
    assert_eq!(
        parts[2].size,
        2 << 20,
        "Minimize=guess gives the smallest volume"
    );

    for (partition, fat_type) in [(&parts[1], "16 bit entries"), (&parts[2], "12 bit entries")] {
        let img = tmp.path().join(format!("p{}.img", partition.number));
        extract(&raw, partition.offset(), partition.size, &img);
        let fsck = run("fsck.vfat", &["-n", "-v", img.to_str().unwrap()]);
        let report = String::from_utf8_lossy(&fsck.stdout).into_owned();
        assert!(report.contains(fat_type), "{report}");
        for complaint in ["differ", "wrong", "Dirty", "invalid", "Invalid", "Fixing"] {
            assert!(!report.contains(complaint), "fsck.vfat -n -v:\n{report}");
        }
    }

    let at = |p: &repart_gpt::PlannedPartition| format!("{raw_str}@@{}", p.offset());
    let read_back = |p: &repart_gpt::PlannedPartition, path: &str| -> Vec<u8> {
        let to = tmp.path().join("read-back");
        let _ = fs::remove_file(&to);
        run_env(
            "mcopy",
            &[
                "-n",
                "-i",
                &at(p),
                &format!("::{path}"),
                to.to_str().unwrap(),
            ],
            MTOOLS_ENV,
        );
        fs::read(&to).unwrap()
    };
    assert_eq!(read_back(&parts[1], "/loader/loader.cfg"), b"timeout 0\n");
    assert_eq!(read_back(&parts[1], "/LOADER/ENTRIES/A.CFG"), b"title A\n");
    assert_eq!(read_back(&parts[1], "/loader/entries/empty"), b"");
    assert_eq!(read_back(&parts[1], "/big.bin"), vec![7u8; 300_000]);
    assert_eq!(read_back(&parts[2], "/e/a.cfg"), b"title A\n");
    let keys =
        String::from_utf8(run_env("mdir", &["-i", &at(&parts[1]), "::/loader"], MTOOLS_ENV).stdout)
            .unwrap();
    assert!(
        keys.contains("KEYS         <DIR>"),
        "empty directories are kept:\n{keys}"
    );
    let label =
        String::from_utf8(run_env("minfo", &["-i", &at(&parts[1]), "::"], MTOOLS_ENV).stdout)
            .unwrap();
    assert!(label.contains("disk label=\"XBOOTLDR   \""), "{label}");
}

fn flate2_gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}
