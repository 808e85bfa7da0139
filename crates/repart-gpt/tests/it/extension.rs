//! System extension images judged by outside tools: `sgdisk` reads the table, `veritysetup`
//! verifies the hash partition over the data partition, `openssl` verifies the signature,
//! `systemd-dissect` recognises the image as a signed verity extension, and systemd-repart
//! (252, on this machine) writes the same signature partition for the same root hash. The
//! tools' reports are printed to stderr (shown with `--nocapture`), for the record.
#![allow(clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use repart_gpt::extension::{verity_salt, verity_uuid};
use repart_gpt::layout::{GPT_FLAG_GROWFS, GPT_FLAG_READ_ONLY};
use repart_gpt::verity_signature::SIGNATURE_PARTITION_SIZE;
use repart_gpt::{
    ExtensionImage, ExtensionRequest, ExtensionTypes, PartitionType, SigningMaterial,
    build_extension_image, ids, signature_partition,
};
use uuid::Uuid;

use crate::support::*;

/// The extension's name: the image is `<name>.raw` and holds `extension-release.<name>`.
const NAME: &str = "hello";
/// The erofs file system UUID (mkosi passes one derived from its seed; any fixed one will do).
const EROFS_UUID: &str = "11111111-2222-4333-8444-555555555555";

fn seed() -> Uuid {
    SEED.parse().unwrap()
}

/// A small sysext tree made into an erofs image with the real `mkfs.erofs`, more than 128
/// blocks large so that the verity tree has two levels.
fn make_erofs(dir: &Path) -> PathBuf {
    require("mkfs.erofs", "erofs-utils");
    let tree = dir.join("tree");
    let release = tree.join("usr/lib/extension-release.d");
    fs::create_dir_all(&release).unwrap();
    fs::write(
        release.join(format!("extension-release.{NAME}")),
        "ID=_any\n",
    )
    .unwrap();
    fs::create_dir_all(tree.join("usr/share/hello")).unwrap();
    fs::write(tree.join("usr/share/hello/greeting"), "hello, world\n").unwrap();
    // Incompressible, so the image really holds it: 600 KiB, about 150 blocks.
    fs::write(tree.join("usr/share/hello/blob"), fake_uki(600 << 10, 7)).unwrap();
    let image = dir.join("root.erofs");
    run(
        "mkfs.erofs",
        &[
            "-T",
            "0",
            "-U",
            EROFS_UUID,
            image.to_str().unwrap(),
            tree.to_str().unwrap(),
        ],
    );
    image
}

/// An RSA key and self-signed certificate made by `openssl req`, as PEM text.
fn make_key_and_cert(dir: &Path) -> (PathBuf, PathBuf) {
    require("openssl", "openssl");
    let key = dir.join("signing.key");
    let cert = dir.join("signing.crt");
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=test",
            "-days",
            "3650",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
    (key, cert)
}

fn signing(key: &Path, cert: &Path) -> SigningMaterial {
    SigningMaterial {
        key_pem: fs::read_to_string(key).unwrap(),
        cert_pem: fs::read_to_string(cert).unwrap(),
    }
}

fn build(
    root: &Path,
    verity: bool,
    signing: Option<SigningMaterial>,
    output: PathBuf,
) -> ExtensionImage {
    build_extension_image(&ExtensionRequest {
        root_image: root.to_owned(),
        architecture: "x86-64".into(),
        seed: seed(),
        verity,
        signing,
        output,
    })
    .unwrap()
}

/// The `Attribute flags:` of partition `number`, as `sgdisk -i` shows them.
fn sgdisk_attributes(image: &Path, number: u32) -> u64 {
    let info = stdout(
        "sgdisk",
        &["-i", &number.to_string(), image.to_str().unwrap()],
    );
    let flags = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Attribute flags:"))
        .unwrap_or_else(|| panic!("no attribute flags in\n{info}"));
    u64::from_str_radix(flags.trim(), 16).unwrap()
}

/// Checks the table `sgdisk` reads against the layout, and that `sgdisk -v` is content.
fn check_table(built: &ExtensionImage) {
    require("sgdisk", "gdisk");
    let count = built.layout.partitions.len() as u32;
    let listing = stdout("sgdisk", &["-p", built.path.to_str().unwrap()]);
    eprintln!("sgdisk -p:\n{listing}");
    let (guid, partitions) = sgdisk_read(&built.path, count);
    assert_eq!(guid, ids::disk_guid(seed()).to_string());
    let planned: Vec<SgdiskPartition> = built
        .layout
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
    assert_eq!(partitions, planned);
    for p in &built.layout.partitions {
        assert_eq!(sgdisk_attributes(&built.path, p.number), p.flags);
    }
    let verify = stdout("sgdisk", &["-v", built.path.to_str().unwrap()]);
    assert!(verify.contains("No problems found"), "sgdisk -v:\n{verify}");
}

#[test]
fn signed_extension_passes_sgdisk_veritysetup_openssl_and_systemd_dissect() {
    require("veritysetup", "cryptsetup-bin");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let root = make_erofs(d);
    let root_len = fs::metadata(&root).unwrap().len();
    let (key, cert) = make_key_and_cert(d);
    let built = build(
        &root,
        true,
        Some(signing(&key, &cert)),
        d.join(format!("out/{NAME}.raw")),
    );
    let root_hash = built.root_hash.clone().unwrap();

    // The layout: three partitions packed from 1 MiB at 4 KiB, UUIDs from the root hash.
    let types = ExtensionTypes::for_architecture("x86-64").unwrap();
    let p = &built.layout.partitions;
    assert_eq!(p.len(), 3);
    let names: Vec<&str> = p.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        names,
        [
            "root-x86-64",
            "root-x86-64-verity",
            "root-x86-64-verity-sig"
        ]
    );
    assert_eq!(
        p.iter().map(|p| p.partition_type).collect::<Vec<_>>(),
        [types.root, types.verity, types.verity_sig]
    );
    assert_eq!(p[0].offset(), 1 << 20);
    assert_eq!(p[0].size, root_len);
    assert_eq!(p[1].offset(), p[0].offset() + p[0].size);
    assert_eq!(p[2].offset(), p[1].offset() + p[1].size);
    assert_eq!(p[2].size, SIGNATURE_PARTITION_SIZE);
    assert_eq!(built.layout.disk_size, p[2].offset() + p[2].size + 20480);
    assert_eq!(p[0].uuid.simple().to_string(), root_hash[..32]);
    assert_eq!(p[1].uuid.simple().to_string(), root_hash[32..]);
    assert_eq!(
        p[2].uuid,
        ids::partition_uuid(
            seed(),
            PartitionType::parse("root-x86-64-verity-sig").unwrap(),
            0
        )
    );
    assert!(p.iter().all(|p| p.flags == GPT_FLAG_READ_ONLY));
    assert_eq!(
        fs::metadata(&built.path).unwrap().len(),
        built.layout.disk_size
    );
    check_table(&built);

    // The data and hash partitions, cut out by offset, verify with veritysetup.
    let data = d.join("data.img");
    let hash = d.join("hash.img");
    extract(&built.path, p[0].offset(), p[0].size, &data);
    extract(&built.path, p[1].offset(), p[1].size, &hash);
    assert_eq!(fs::read(&data).unwrap(), fs::read(&root).unwrap());
    run(
        "veritysetup",
        &[
            "verify",
            data.to_str().unwrap(),
            hash.to_str().unwrap(),
            &root_hash,
        ],
    );
    let dump = stdout("veritysetup", &["dump", hash.to_str().unwrap()]);
    eprintln!("veritysetup dump:\n{dump}");
    let salt_hex: String = verity_salt(seed())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for expected in [
        format!("UUID:            \t{}", verity_uuid(seed())),
        format!("Data blocks:     \t{}", root_len / 4096),
        format!("Salt:            \t{salt_hex}"),
    ] {
        assert!(dump.contains(&expected), "no `{expected}` in\n{dump}");
    }

    // The signature partition: the JSON object, NUL padded, its signature good for openssl.
    let sig_bytes = fs::read(&built.path).unwrap()
        [p[2].offset() as usize..(p[2].offset() + p[2].size) as usize]
        .to_vec();
    let end = sig_bytes.iter().position(|b| *b == 0).unwrap();
    assert!(sig_bytes[end..].iter().all(|b| *b == 0));
    let json: serde_json::Value = serde_json::from_slice(&sig_bytes[..end]).unwrap();
    assert_eq!(json["rootHash"], root_hash.as_str());
    let der = base64::engine::general_purpose::STANDARD
        .decode(json["signature"].as_str().unwrap())
        .unwrap();
    let sig = d.join("sig.der");
    let content = d.join("roothash.txt");
    fs::write(&sig, der).unwrap();
    fs::write(&content, &root_hash).unwrap();
    run(
        "openssl",
        &[
            "smime",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            sig.to_str().unwrap(),
            "-content",
            content.to_str().unwrap(),
            "-CAfile",
            cert.to_str().unwrap(),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );

    // systemd-dissect sees a signed verity root, its hash and signature, and a sysext.
    require("systemd-dissect", "systemd-container");
    let dissect = stdout(
        "systemd-dissect",
        &["--json=short", built.path.to_str().unwrap()],
    );
    eprintln!("systemd-dissect --json=short:\n{dissect}");
    let dissected: serde_json::Value = serde_json::from_str(&dissect).unwrap();
    assert_eq!(dissected["useSystemExtension"], true, "{dissect}");
    assert_eq!(dissected["extensionRelease"][0], "ID=_any", "{dissect}");
    let mounts = dissected["mounts"].as_array().unwrap();
    let by_designator = |designator: &str| {
        mounts
            .iter()
            .find(|m| m["designator"] == designator)
            .unwrap_or_else(|| panic!("no {designator} in {dissect}"))
    };
    let root_mount = by_designator("root");
    assert_eq!(root_mount["fstype"], "erofs");
    assert_eq!(root_mount["verity"], "signed");
    assert_eq!(root_mount["rw"], "ro");
    assert_eq!(root_mount["partition_uuid"], p[0].uuid.to_string().as_str());
    assert_eq!(by_designator("root-verity")["fstype"], "DM_verity_hash");
    assert_eq!(
        by_designator("root-verity-sig")["fstype"],
        "verity_hash_signature"
    );

    // The same inputs give the same bytes.
    let again = build(
        &root,
        true,
        Some(signing(&key, &cert)),
        d.join(format!("again/{NAME}.raw")),
    );
    assert_eq!(again.layout, built.layout);
    assert_eq!(again.root_hash, built.root_hash);
    assert!(
        first_difference(&built.path, &again.path, &built.layout).is_none(),
        "{}",
        first_difference(&built.path, &again.path, &built.layout).unwrap()
    );
}

#[test]
fn verity_without_signature_and_the_unsigned_image() {
    require("veritysetup", "cryptsetup-bin");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let root = make_erofs(d);
    let root_len = fs::metadata(&root).unwrap().len();

    let verity = build(&root, true, None, d.join("verity.raw"));
    assert_eq!(verity.layout.partitions.len(), 2);
    check_table(&verity);
    let p = &verity.layout.partitions;
    let data = d.join("data.img");
    let hash = d.join("hash.img");
    extract(&verity.path, p[0].offset(), p[0].size, &data);
    extract(&verity.path, p[1].offset(), p[1].size, &hash);
    run(
        "veritysetup",
        &[
            "verify",
            data.to_str().unwrap(),
            hash.to_str().unwrap(),
            verity.root_hash.as_deref().unwrap(),
        ],
    );

    let unsigned = build(&root, false, None, d.join("unsigned.raw"));
    assert_eq!(unsigned.root_hash, None);
    check_table(&unsigned);
    let p = &unsigned.layout.partitions;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].flags, GPT_FLAG_GROWFS);
    assert_eq!(
        p[0].uuid,
        ids::partition_uuid(seed(), PartitionType::parse("root-x86-64").unwrap(), 0)
    );
    assert_eq!(unsigned.layout.disk_size, (1 << 20) + root_len + 20480);
    let copy = d.join("copy.img");
    extract(&unsigned.path, p[0].offset(), p[0].size, &copy);
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&root).unwrap());
}

/// systemd-repart 252 lays out the same three partitions from `CopyBlocks=` of the erofs
/// image (252 has no `Minimize=` and hashes 512-byte blocks with a random salt, so only the
/// signature partition, the signature partition's UUID and the disk GUID can be compared):
/// for the root hash it computed, this crate writes the same 16 KiB signature partition.
#[test]
fn signature_partition_matches_systemd_repart() {
    require("systemd-repart", "systemd");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let root = make_erofs(d);
    let (key, cert) = make_key_and_cert(d);
    let defs = d.join("repart");
    let root_def = format!(
        "[Partition]\nType=root-x86-64\nCopyBlocks={}\nVerity=data\nVerityMatchKey=root\n",
        root.display()
    );
    write_definitions(
        &defs,
        &[
            ("10-root.conf", root_def.as_str()),
            (
                "20-root-verity.conf",
                "[Partition]\nType=root-x86-64-verity\nVerity=hash\nVerityMatchKey=root\n",
            ),
            (
                "30-root-verity-sig.conf",
                "[Partition]\nType=root-x86-64-verity-sig\nVerity=signature\nVerityMatchKey=root\n",
            ),
        ],
    );
    let theirs = d.join("systemd.raw");
    let report = stdout(
        "systemd-repart",
        &[
            "--no-pager",
            &format!("--definitions={}", defs.display()),
            &format!("--seed={SEED}"),
            &format!("--private-key={}", key.display()),
            &format!("--certificate={}", cert.display()),
            "--dry-run=no",
            "--empty=create",
            "--size=auto",
            "--json=short",
            theirs.to_str().unwrap(),
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let partitions = report.as_array().unwrap();
    let root_hash_hex = partitions[1]["roothash"].as_str().unwrap();
    let mut root_hash = [0u8; 32];
    for (i, byte) in root_hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&root_hash_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    // Its data and hash partition UUIDs are the halves of its root hash, as ours are.
    assert_eq!(
        partitions[0]["uuid"].as_str().unwrap().replace('-', ""),
        root_hash_hex[..32]
    );
    assert_eq!(
        partitions[1]["uuid"].as_str().unwrap().replace('-', ""),
        root_hash_hex[32..]
    );
    let offset = partitions[2]["offset"].as_u64().unwrap();
    assert_eq!(partitions[2]["raw_size"], SIGNATURE_PARTITION_SIZE);
    let their_sig = fs::read(&theirs).unwrap()
        [offset as usize..(offset + SIGNATURE_PARTITION_SIZE) as usize]
        .to_vec();
    let material = signing(&key, &cert);
    let ours = signature_partition(&root_hash, &material.key_pem, &material.cert_pem).unwrap();
    assert!(
        ours == their_sig,
        "signature partitions differ:\nours:   {}\ntheirs: {}",
        String::from_utf8_lossy(&ours).trim_end_matches('\0'),
        String::from_utf8_lossy(&their_sig).trim_end_matches('\0')
    );

    // Our image of the same root has the same disk GUID and signature partition UUID.
    let built = build(&root, true, Some(material), d.join("ours.raw"));
    let (their_guid, their_partitions) = sgdisk_read(&theirs, 3);
    assert_eq!(built.layout.disk_guid.to_string(), their_guid);
    assert_eq!(
        built.layout.partitions[2].uuid.to_string(),
        their_partitions[2].unique_guid
    );
    assert_eq!(
        partitions[2]["uuid"],
        their_partitions[2].unique_guid.as_str()
    );
}
