//! System extension images (mkosi's `Format=sysext`), laid out as systemd-repart lays them out.
//!
//! mkosi makes a sysext by running `systemd-repart --empty=create --size=auto --seed=<seed>`
//! with its own definitions: `sysext.repart.d` when it signs (a root partition with
//! `Format=erofs`, `Verity=data`, `Minimize=best`; a `root-verity` partition with
//! `Verity=hash`, `Minimize=best`; a `root-verity-sig` partition with `Verity=signature`), and
//! `sysext-unsigned.repart.d` otherwise (the root partition alone, without verity).
//! [`build_extension_image`] makes the same disk from the root file system image the caller
//! already made, without systemd-repart, libcryptsetup or loop devices. Verity without a
//! signature (root and `root-verity` only) is offered too, as systemd-repart makes it from
//! definitions without the third file.
//!
//! The rules, each what current systemd-repart (`src/repart/repart.c`) does:
//!
//! - Partitions, numbered from 1 in this order: the root partition (the image's bytes), the
//!   `root-<arch>-verity` partition (the hash device of [`crate::verity`] over the root
//!   partition), the `root-<arch>-verity-sig` partition ([`crate::verity_signature`]). Labels
//!   are the type names, as for any partition without `Label=` ([`crate::layout`]).
//! - Sizes: the content rounded up to 4 KiB. With `Minimize=best` systemd-repart sizes the
//!   root partition to its read-only file system image and the hash partition to the hash
//!   device; the signature partition is always 16 KiB
//!   ([`crate::verity_signature::SIGNATURE_PARTITION_SIZE`]).
//! - Placement: the first partition at 1 MiB (LBA 2048), each next one where the previous ends,
//!   rounded up to 4 KiB (systemd-repart's grain; `--size=auto` leaves no free space to spread).
//! - Disk size: the end of the last partition plus the backup GPT (33 sectors), rounded up to
//!   4 KiB. That equals systemd-repart's `--size=auto`: its 1044 KiB of GPT overhead plus the
//!   partitions.
//! - Identifiers: the disk GUID from the seed ([`crate::ids::disk_guid`]). The verity salt is
//!   HMAC-SHA256 keyed by the seed's 16 bytes over `verity-salt`, all 32 bytes
//!   (systemd-repart's `derive_salt()`); the verity superblock's UUID is
//!   `derive_uuid(seed, "verity-uuid")` ([`crate::ids::derive_uuid`]). The root partition's
//!   UUID is the first 16 bytes of the root hash and the hash partition's the last 16, taken
//!   as they are (not marked as v4), as the Discoverable Partitions Specification asks; the
//!   signature partition's UUID is `partition_uuid(seed, its type, 0)`. Without verity the
//!   root partition's UUID is `partition_uuid(seed, root type, 0)`.
//! - GPT attributes: the verity data, hash and signature partitions are marked read-only (bit
//!   60; systemd-repart's `ReadOnly=` default for them); a root partition without verity gets
//!   GrowFileSystem (bit 59; the default for root partitions that are not read-only).
//!
//! Older systemd-repart differs: systemd 252 (Debian 12) draws a random salt and superblock
//! UUID, hashes 512-byte blocks (the sector size), does not know `Minimize=`, and marks only
//! the hash partition read-only (leaving GrowFileSystem on a `Verity=data` root partition).
//! Its signature partition is what this module writes for the same root hash, key and
//! certificate (a test compares them).
//!
//! The root partition's image is read once, in 1 MiB pieces, into the in-memory disk while it
//! is hashed; the disk is then written with [`crate::output::write_raw`] (a sparse file under a
//! temporary name, renamed when complete).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids;
use crate::layout::{
    ALIGNMENT, GPT_FLAG_GROWFS, GPT_FLAG_READ_ONLY, GRAIN, Layout, Lba, PlanOptions,
    PlannedPartition, default_label, finish_layout, round_up,
};
use crate::output;
use crate::partition_type::PartitionType;
use crate::sparse::SparseImage;
use crate::table;
use crate::verity::{self, SALT_SIZE, VerityHasher};
use crate::verity_signature::{SIGNATURE_PARTITION_SIZE, VeritySigner};
use crate::{SECTOR_SIZE, verity::hex};
use build_vocab::AtPath;

/// The token systemd-repart derives the verity salt from (keyed by the seed).
pub const VERITY_SALT_TOKEN: &str = "verity-salt";
/// The token systemd-repart derives the verity superblock UUID from (keyed by the seed).
pub const VERITY_UUID_TOKEN: &str = "verity-uuid";

/// The names [`PlannedPartition::definition`] gets: mkosi's definition files they stand for.
pub const ROOT_DEFINITION: &str = "10-root.conf";
/// See [`ROOT_DEFINITION`].
pub const VERITY_DEFINITION: &str = "20-root-verity.conf";
/// See [`ROOT_DEFINITION`].
pub const SIGNATURE_DEFINITION: &str = "30-root-verity-sig.conf";

/// The verity salt systemd-repart uses for `seed`: HMAC-SHA256 keyed by the seed's bytes over
/// [`VERITY_SALT_TOKEN`].
pub fn verity_salt(seed: Uuid) -> [u8; SALT_SIZE] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(VERITY_SALT_TOKEN.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The verity superblock UUID systemd-repart uses for `seed`.
pub fn verity_uuid(seed: Uuid) -> Uuid {
    ids::derive_uuid(seed, VERITY_UUID_TOKEN)
}

/// The three partition types of an extension image for one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionTypes {
    /// `root-<arch>`.
    pub root: PartitionType,
    /// `root-<arch>-verity`.
    pub verity: PartitionType,
    /// `root-<arch>-verity-sig`.
    pub verity_sig: PartitionType,
}

impl ExtensionTypes {
    /// The types for `architecture`, spelled as in the type names (`x86-64`, `arm64`). Fails
    /// for an architecture [`PartitionType::known`] lacks one of the three types for.
    pub fn for_architecture(architecture: &str) -> Result<ExtensionTypes> {
        let named = |name: String| {
            PartitionType::known()
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, guid)| PartitionType { guid: *guid })
        };
        let types = (
            named(format!("root-{architecture}")),
            named(format!("root-{architecture}-verity")),
            named(format!("root-{architecture}-verity-sig")),
        );
        match types {
            (Some(root), Some(verity), Some(verity_sig)) => Ok(ExtensionTypes {
                root,
                verity,
                verity_sig,
            }),
            _ => Err(Error::UnsupportedArchitecture {
                architecture: architecture.to_owned(),
                known: Self::architectures().join(", "),
            }),
        }
    }

    /// The architectures [`ExtensionTypes::for_architecture`] accepts.
    pub fn architectures() -> Vec<&'static str> {
        PartitionType::known()
            .iter()
            .filter_map(|(name, _)| {
                name.strip_prefix("root-")
                    .and_then(|rest| rest.strip_suffix("-verity-sig"))
            })
            .filter(|arch| {
                let known = |n: String| PartitionType::known().iter().any(|(k, _)| *k == n);
                known(format!("root-{arch}")) && known(format!("root-{arch}-verity"))
            })
            .collect()
    }
}

/// The key and certificate that sign the verity root hash (PEM text; see
/// [`VeritySigner::from_pem`]).
#[derive(Clone)]
pub struct SigningMaterial {
    /// The RSA private key, PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`), unencrypted.
    pub key_pem: String,
    /// The certificate of its public key, PEM (`CERTIFICATE`).
    pub cert_pem: String,
}

impl std::fmt::Debug for SigningMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningMaterial").finish_non_exhaustive()
    }
}

/// Everything [`build_extension_image`] needs.
#[derive(Debug, Clone)]
pub struct ExtensionRequest {
    /// The root partition's file system image (mkosi's erofs): a file whose size is a positive
    /// multiple of 4096 bytes.
    pub root_image: PathBuf,
    /// The architecture, as the partition type names spell it: `x86-64` or `arm64`.
    pub architecture: String,
    /// The seed of every derived identifier and of the verity salt (systemd-repart's
    /// `--seed=`).
    pub seed: Uuid,
    /// Whether to add the verity hash partition (and make the root partition its data). Off:
    /// the root partition alone, like mkosi's `-unsigned` definitions.
    pub verity: bool,
    /// Signing material for the signature partition; needs `verity`.
    pub signing: Option<SigningMaterial>,
    /// The disk image to write (its directory is created if missing).
    pub output: PathBuf,
}

/// What [`build_extension_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionImage {
    /// The plan of the disk, with the UUIDs the root hash gave.
    pub layout: Layout,
    /// The verity root hash, lowercase hex (what systemd-repart prints as `roothash`); `None`
    /// without verity.
    pub root_hash: Option<String>,
    /// The disk image written.
    pub path: PathBuf,
}

fn partition(
    number: u32,
    definition: &str,
    partition_type: PartitionType,
    start: u64,
    size: u64,
    flags: u64,
    earlier: &[PlannedPartition],
) -> PlannedPartition {
    PlannedPartition {
        number,
        definition: PathBuf::from(definition),
        partition_type,
        uuid: Uuid::nil(),
        label: default_label(partition_type, earlier),
        start: Lba(start / SECTOR_SIZE),
        size,
        flags,
        filesystem: None,
    }
}

/// Copies the `len` bytes of `path` into `disk` at `offset`, feeding them to `hasher`.
fn copy_root_image(
    path: &Path,
    len: u64,
    disk: &mut SparseImage,
    offset: u64,
    mut hasher: Option<&mut VerityHasher>,
) -> Result<()> {
    let file = File::open(path).at(path)?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let n = usize::try_from((len - done).min(buf.len() as u64)).expect("at most 1 MiB");
        reader.read_exact(&mut buf[..n]).map_err(|e| {
            let e = if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    e.kind(),
                    format!("the file shrank below {len} bytes while read"),
                )
            } else {
                e
            };
            build_vocab::PathError::new(path, e)
        })?;
        disk.write_at(offset + done, &buf[..n])
            .expect("the layout holds the root partition");
        if let Some(hasher) = hasher.as_deref_mut() {
            hasher.update(&buf[..n]);
        }
        done += n as u64;
    }
    Ok(())
}

/// Builds the extension image `request` describes and writes it to `request.output`.
pub fn build_extension_image(request: &ExtensionRequest) -> Result<ExtensionImage> {
    let types = ExtensionTypes::for_architecture(&request.architecture)?;
    if request.signing.is_some() && !request.verity {
        return Err(Error::ExtensionRequest {
            reason: "signing material was given without verity (the signature covers the verity root hash)",
        });
    }
    // Refuse bad keys before the long part.
    let signer = request
        .signing
        .as_ref()
        .map(|s| VeritySigner::from_pem(&s.key_pem, &s.cert_pem))
        .transpose()?;

    let root_path = request.root_image.as_path();
    let root_len = fs::metadata(root_path).at(root_path)?.len();
    if root_len == 0 || root_len % verity::BLOCK_SIZE != 0 {
        return Err(Error::RootImageSize {
            path: root_path.to_owned(),
            len: root_len,
        });
    }

    // Place the partitions; their UUIDs follow from the root hash, once it is known.
    let mut partitions: Vec<PlannedPartition> = Vec::new();
    let root_flags = if request.verity {
        GPT_FLAG_READ_ONLY
    } else {
        GPT_FLAG_GROWFS
    };
    // A whole number of 4 KiB grains already: the partition is exactly the image.
    let root_size = root_len;
    partitions.push(partition(
        1,
        ROOT_DEFINITION,
        types.root,
        ALIGNMENT,
        root_size,
        root_flags,
        &partitions,
    ));
    let mut next = round_up(ALIGNMENT + root_size, GRAIN);
    if request.verity {
        let size = round_up(verity::hash_device_len(root_size)?, GRAIN);
        partitions.push(partition(
            2,
            VERITY_DEFINITION,
            types.verity,
            next,
            size,
            GPT_FLAG_READ_ONLY,
            &partitions,
        ));
        next = round_up(next + size, GRAIN);
    }
    if signer.is_some() {
        partitions.push(partition(
            3,
            SIGNATURE_DEFINITION,
            types.verity_sig,
            next,
            SIGNATURE_PARTITION_SIZE,
            GPT_FLAG_READ_ONLY,
            &partitions,
        ));
    }
    let options = PlanOptions {
        seed: request.seed,
        disk_size: None,
    };
    let mut layout = finish_layout(partitions, &options, GRAIN)?;

    let mut disk = SparseImage::new(layout.disk_size);
    let root_offset = layout.partitions[0].offset();
    let mut hasher = request
        .verity
        .then(|| VerityHasher::new(verity_salt(request.seed)));
    copy_root_image(root_path, root_len, &mut disk, root_offset, hasher.as_mut())?;

    let mut root_hash = None;
    match hasher {
        None => layout.partitions[0].uuid = ids::partition_uuid(request.seed, types.root, 0),
        Some(hasher) => {
            // The data device is the whole partition, which is exactly the image.
            let hash = hasher.finish(verity_uuid(request.seed))?;
            let (first, last) = hash.root_hash.split_at(16);
            layout.partitions[0].uuid = Uuid::from_slice(first).expect("16 bytes");
            layout.partitions[1].uuid = Uuid::from_slice(last).expect("16 bytes");
            disk.write_at(layout.partitions[1].offset(), &hash.hash_device)
                .expect("the layout holds the hash device");
            if let Some(signer) = &signer {
                let content = signer.signature_partition(&hash.root_hash)?;
                layout.partitions[2].uuid = ids::partition_uuid(request.seed, types.verity_sig, 0);
                disk.write_at(layout.partitions[2].offset(), &content)
                    .expect("the layout holds the signature");
            }
            root_hash = Some(hex(&hash.root_hash));
        }
    }
    for (i, p) in layout.partitions.iter().enumerate() {
        if let Some(other) = layout.partitions[..i].iter().find(|q| q.uuid == p.uuid) {
            return Err(Error::DuplicateUuid {
                first: other.number,
                second: p.number,
                uuid: p.uuid,
            });
        }
    }
    table::write_tables(&layout, &mut disk)?;

    if let Some(dir) = request
        .output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        fs::create_dir_all(dir).at(dir)?;
    }
    output::write_raw(&disk, &request.output)?;
    Ok(ExtensionImage {
        layout,
        root_hash,
        path: request.output.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::uuid;

    const SEED: Uuid = uuid!("630b5f72-a36a-4e83-b23d-6ef47c82fd9c");

    #[test]
    fn salt_and_superblock_uuid_follow_systemd_repart() {
        // HMAC-SHA256(seed, "verity-salt") and derive_uuid(seed, "verity-uuid"), computed
        // independently (Python's hmac module) for this seed.
        assert_eq!(
            hex(&verity_salt(SEED)),
            "c36b67c7b012a37713335b0a4e196368987082dbcf8071bb859c15928d82a67f"
        );
        assert_eq!(
            verity_uuid(SEED),
            uuid!("b03fcdb6-27ce-4788-aada-8e36ea0cd0f8")
        );
    }

    #[test]
    fn architectures_and_types() {
        assert_eq!(ExtensionTypes::architectures(), ["x86-64", "arm64"]);
        let x86 = ExtensionTypes::for_architecture("x86-64").unwrap();
        assert_eq!(x86.root.name(), Some("root-x86-64"));
        assert_eq!(x86.verity.name(), Some("root-x86-64-verity"));
        assert_eq!(x86.verity_sig.name(), Some("root-x86-64-verity-sig"));
        let arm = ExtensionTypes::for_architecture("arm64").unwrap();
        assert_eq!(
            arm.verity_sig.guid,
            uuid!("6db69de6-29f4-4758-a7a5-962190f00ce3")
        );
        let err = ExtensionTypes::for_architecture("riscv64").unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedArchitecture { architecture, .. } if architecture == "riscv64"),
            "{err}"
        );
        assert!(err.to_string().contains("x86-64, arm64"), "{err}");
    }

    #[test]
    fn requests_that_contradict_themselves_or_bad_images_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("root.img");
        fs::write(&image, vec![1u8; 5000]).unwrap();
        let mut request = ExtensionRequest {
            root_image: image.clone(),
            architecture: "x86-64".into(),
            seed: SEED,
            verity: false,
            signing: Some(SigningMaterial {
                key_pem: String::new(),
                cert_pem: String::new(),
            }),
            output: dir.path().join("out.raw"),
        };
        let err = build_extension_image(&request).unwrap_err();
        assert!(matches!(err, Error::ExtensionRequest { .. }), "{err}");
        request.signing = None;
        let err = build_extension_image(&request).unwrap_err();
        assert!(
            matches!(err, Error::RootImageSize { len: 5000, .. }),
            "{err}"
        );
        assert!(!request.output.exists());
    }

    #[test]
    fn unsigned_layout_without_verity() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("root.img");
        fs::write(&image, vec![7u8; 3 * 4096]).unwrap();
        let built = build_extension_image(&ExtensionRequest {
            root_image: image,
            architecture: "x86-64".into(),
            seed: SEED,
            verity: false,
            signing: None,
            output: dir.path().join("out/ext.raw"),
        })
        .unwrap();
        assert_eq!(built.root_hash, None);
        let p = &built.layout.partitions;
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].start, Lba(2048));
        assert_eq!(p[0].size, 3 * 4096);
        assert_eq!(p[0].flags, GPT_FLAG_GROWFS);
        assert_eq!(p[0].label, "root-x86-64");
        // systemd-repart 252's UUID for the first root-x86-64 partition of this seed.
        assert_eq!(p[0].uuid, uuid!("797ee66c-87bc-4b1c-8e8b-89ead9d339e0"));
        // 1 MiB + 12 KiB of partition + 33 sectors of backup GPT, rounded up to 4 KiB.
        assert_eq!(built.layout.disk_size, (1 << 20) + 3 * 4096 + 20480);
        let bytes = fs::read(&built.path).unwrap();
        assert_eq!(bytes.len() as u64, built.layout.disk_size);
        assert!(bytes[1 << 20..(1 << 20) + 3 * 4096].iter().all(|b| *b == 7));
    }
}
