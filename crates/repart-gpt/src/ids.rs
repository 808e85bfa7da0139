//! Identifiers derived from the image seed, exactly as systemd-repart derives them.
//!
//! systemd-repart (`src/repart/repart.c`) keys HMAC-SHA256 with the 16 seed bytes and takes
//! the first 16 bytes of the digest, marked as a version 4 UUID (`id128_make_v4_uuid`: the high
//! nibble of byte 6 set to 4, the two high bits of byte 8 set to `10`):
//!
//! - disk GUID: `derive_uuid(seed, "disk-uuid")`, the message being the token's bytes;
//! - partition UUID of the *k*-th (0-based) partition of a given type: the message is the type
//!   GUID's 16 bytes (in the order it is written as text), followed by *k* as a little-endian
//!   `u64` only when *k* > 0 ([`partition_uuid`]);
//! - file system UUID: `derive_uuid(partition_uuid, "file-system-uuid")`; for `vfat`,
//!   systemd-repart passes its first four bytes, read big-endian, to `mkfs.fat -i` as the
//!   volume id ([`fat_volume_id`]).
//!
//! systemd 252 and current systemd agree on all of this (the tests check 252 on this machine).
//! Ids that systemd-repart does not produce (the VHD footer's unique id) use the same
//! construction with a token of this crate's ([`VHD_UNIQUE_ID_TOKEN`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::partition_type::PartitionType;

/// systemd-repart's token for the disk GUID.
pub const DISK_UUID_TOKEN: &str = "disk-uuid";
/// systemd-repart's token for a partition's file system UUID (keyed by the partition UUID).
pub const FILE_SYSTEM_UUID_TOKEN: &str = "file-system-uuid";
/// This crate's token for the unique id in an Azure VHD footer.
pub const VHD_UNIQUE_ID_TOKEN: &str = "vhd-unique-id";

fn hmac_v4(key: Uuid, message: &[u8]) -> Uuid {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    make_v4(bytes)
}

/// Marks 16 bytes as a random (version 4, RFC 4122 variant) UUID, as `id128_make_v4_uuid` does.
fn make_v4(mut bytes: [u8; 16]) -> Uuid {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// `derive_uuid()` of systemd-repart: HMAC-SHA256 keyed by `base` over `token`, first half,
/// marked as v4.
pub fn derive_uuid(base: Uuid, token: &str) -> Uuid {
    hmac_v4(base, token.as_bytes())
}

/// The disk GUID systemd-repart gives a new partition table for `seed`.
pub fn disk_guid(seed: Uuid) -> Uuid {
    derive_uuid(seed, DISK_UUID_TOKEN)
}

/// The UUID systemd-repart gives the partition of type `partition_type` that has `instance`
/// partitions of the same type before it (0 for the first).
pub fn partition_uuid(seed: Uuid, partition_type: PartitionType, instance: u64) -> Uuid {
    let mut message = partition_type.guid.as_bytes().to_vec();
    if instance > 0 {
        message.extend_from_slice(&instance.to_le_bytes());
    }
    hmac_v4(seed, &message)
}

/// The file system UUID systemd-repart derives from a partition UUID.
pub fn file_system_uuid(partition_uuid: Uuid) -> Uuid {
    derive_uuid(partition_uuid, FILE_SYSTEM_UUID_TOKEN)
}

/// The FAT volume id systemd-repart passes to `mkfs.fat -i` for a partition: the first four
/// bytes of its file system UUID, big-endian.
pub fn fat_volume_id(partition_uuid: Uuid) -> u32 {
    let fs = file_system_uuid(partition_uuid);
    let b = fs.as_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The unique id of the Azure VHD footer for `seed`.
pub fn vhd_unique_id(seed: Uuid) -> Uuid {
    derive_uuid(seed, VHD_UNIQUE_ID_TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::uuid;

    // Values read back with `sfdisk --json` and from the FAT boot sector of the disk
    // `systemd-repart --seed=630b5f72-a36a-4e83-b23d-6ef47c82fd9c --empty=create --size=auto`
    // (systemd 252) made for an esp (Format=vfat) and two root-x86-64 definitions. The
    // integration tests run systemd-repart itself; these keep the derivation pinned offline.
    const SEED: Uuid = uuid!("630b5f72-a36a-4e83-b23d-6ef47c82fd9c");

    #[test]
    fn matches_systemd_repart_252() {
        let root = PartitionType::parse("root-x86-64").unwrap();
        assert_eq!(
            disk_guid(SEED),
            uuid!("0311d99a-bdd6-4c5b-8a87-33649c02a33c")
        );
        assert_eq!(
            partition_uuid(SEED, PartitionType::ESP, 0),
            uuid!("b11ae37f-af1c-49fa-8bc4-c84027a1ac9f")
        );
        assert_eq!(
            partition_uuid(SEED, root, 0),
            uuid!("797ee66c-87bc-4b1c-8e8b-89ead9d339e0")
        );
        assert_eq!(
            partition_uuid(SEED, root, 1),
            uuid!("1a419cc4-772e-43de-817c-857523893d63")
        );
        assert_eq!(
            fat_volume_id(uuid!("b11ae37f-af1c-49fa-8bc4-c84027a1ac9f")),
            0x5b0a_2ab8
        );
    }

    #[test]
    fn derived_ids_are_v4_and_depend_on_every_input() {
        let other_seed = uuid!("630b5f72-a36a-4e83-b23d-6ef47c82fd9d");
        let ids = [
            disk_guid(SEED),
            disk_guid(other_seed),
            partition_uuid(SEED, PartitionType::ESP, 0),
            partition_uuid(SEED, PartitionType::ESP, 1),
            partition_uuid(other_seed, PartitionType::ESP, 0),
            vhd_unique_id(SEED),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert_eq!(a.get_version_num(), 4, "{a}");
            assert_eq!(a.get_variant(), uuid::Variant::RFC4122, "{a}");
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
