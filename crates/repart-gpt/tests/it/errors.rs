//! Bad input gets a typed error that names its file and line, and a failed build loses nothing.

use build_vocab::PathError;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use repart_gpt::{
    Error, ImageRequest, OutputKind, UkiSource, build_image, esp_min_size, read_definitions,
};

use crate::support::*;

fn request(definitions_dir: &Path, uki: &[u8], out: &Path) -> ImageRequest {
    ImageRequest {
        definitions: read_definitions(&[definitions_dir]).unwrap(),
        uki: UkiSource::Bytes(Arc::from(uki)),
        copy_source_root: None,
        seed: SEED.parse().unwrap(),
        source_date_epoch: 0,
        disk_size: None,
        output_dir: out.to_owned(),
        name: "image_1.0".into(),
        outputs: [OutputKind::Raw, OutputKind::GcpTarGz, OutputKind::AzureVhd].into(),
        gzip_level: 1,
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect()
}

#[test]
fn definition_errors_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(
        &defs,
        &[
            ("00-esp.conf", "[Partition]\nType=esp\n"),
            (
                "10-bad.conf",
                "# a comment\n[Partition]\nType=linux-generic\nSizeMinBytes=ten\n",
            ),
        ],
    );
    let err = read_definitions(&[&defs]).unwrap_err();
    let expected = format!(
        "{}:4: invalid SizeMinBytes=`ten`",
        defs.join("10-bad.conf").display()
    );
    assert!(err.to_string().starts_with(&expected), "{err}");

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("README"), "not a definition").unwrap();
    assert!(matches!(
        read_definitions(&[&empty]),
        Err(Error::NoDefinitions { .. })
    ));
}

#[test]
fn definitions_are_ordered_by_name_and_the_first_directory_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let second = tmp.path().join("second");
    write_definitions(&first, &[("20-b.conf", "[Partition]\nType=swap\n")]);
    write_definitions(
        &second,
        &[
            ("20-b.conf", "[Partition]\nType=home\n"),
            ("10-a.conf", "[Partition]\nType=esp\n"),
            ("30-c.conf.disabled", "[Partition]\nType=srv\n"),
        ],
    );
    let names: Vec<String> = read_definitions(&[&first, &second])
        .unwrap()
        .iter()
        .map(|d| d.partition_type.to_string())
        .collect();
    assert_eq!(names, ["esp", "swap"]);
}

#[test]
fn a_uki_too_large_for_the_esp_fails_and_keeps_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    let out = tmp.path().join("out");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    let built = build_all(&defs, &fake_uki(200_000, 1), &out);
    let before: Vec<Vec<u8>> = built
        .files
        .iter()
        .map(|f| fs::read(&f.path).unwrap())
        .collect();

    // The raw size exceeds SizeMaxBytes: refused while planning.
    let mut req = request(&defs, &fake_uki(3 << 20, 2), &out);
    req.definitions[0].size_max_bytes = Some(2 << 20);
    req.definitions[0].size_min_bytes = Some(1 << 20);
    let err = build_image(&req).unwrap_err();
    assert!(
        matches!(err, Error::ContentTooLarge { number: 1, .. }),
        "{err}"
    );

    // Fits byte-wise but not with FAT's own overhead: refused by the FAT writer.
    let mut req = request(&defs, &fake_uki(1_040_000, 2), &out);
    req.definitions[0].size_min_bytes = Some(1 << 20);
    let err = build_image(&req).unwrap_err();
    assert!(
        matches!(err, Error::ContentTooLarge { number: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("00-esp.conf"), "{err}");

    let after: Vec<Vec<u8>> = built
        .files
        .iter()
        .map(|f| fs::read(&f.path).unwrap())
        .collect();
    assert!(
        before == after,
        "a failed build changed the previous outputs"
    );
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    let out = tmp.path().join("out");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    // A directory where the VHD should go: the final rename fails.
    fs::create_dir_all(out.join("image_1.0.vhd/occupied")).unwrap();
    let mut req = request(&defs, &fake_uki(50_000, 3), &out);
    req.definitions[0].size_min_bytes = Some(esp_min_size(50_000, 32 << 20));
    let err = build_image(&req).unwrap_err();
    match &err {
        Error::Publish(build_vocab::Error::Io(PathError { path, .. })) => {
            assert_eq!(path, &out.join("image_1.0.vhd"))
        }
        other => panic!("expected an I/O error on the VHD, got {other}"),
    }
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn copy_files_problems_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cases: &[(&str, &str)] = &[
        (
            "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/missing:/X\n",
            "CopyFiles= source `/missing` not found",
        ),
        (
            "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/uki.efi:/EFI/BOOT/bootx64-signed.efi\n",
            "FAT names here are 8.3 names",
        ),
        (
            "[Partition]\nType=linux-generic\nFormat=vfat\n",
            "no Type=esp partition",
        ),
        (
            "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/uki.efi:/A\nCopyFiles=/uki.efi:/a\n",
            "collides with `/A`",
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let defs = tmp.path().join(format!("repart{index}"));
        write_definitions(&defs, &[("00.conf", text)]);
        let message = build_image(&request(&defs, b"uki", &out))
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{message:?} for {text:?}");
    }
    assert!(!out.exists() || fs::read_dir(&out).unwrap().next().is_none());
}
