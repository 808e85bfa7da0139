//! The 512-byte footer of a fixed VHD, the disk format Azure boots.
//!
//! A fixed VHD is the raw disk followed by this footer (Microsoft's "Virtual Hard Disk Image
//! Format Specification"). Azure wants the raw part to be a whole number of MiB. Every field is
//! fixed or derived:
//!
//! | field | value |
//! | --- | --- |
//! | cookie | `conectix` |
//! | features | `0x00000002` (the reserved bit the specification requires) |
//! | version | `0x00010000` |
//! | data offset | `0xFFFFFFFFFFFFFFFF` (fixed disks have no dynamic header) |
//! | timestamp | SOURCE_DATE_EPOCH as seconds since 2000-01-01 00:00:00 UTC, clamped to 0 |
//! | creator application, version, host | `qem2`, `0x00050003`, `Wi2k` |
//! | original and current size | the raw size |
//! | geometry | cylinders, heads, sectors per track by the specification's algorithm |
//! | disk type | 2 (fixed) |
//! | checksum | one's complement of the sum of all footer bytes, this field taken as zero |
//! | unique id | derived from the seed ([`crate::ids::vhd_unique_id`]) |
//! | saved state | 0 |
//!
//! The creator fields are those `qemu-img convert -O vpc -o subformat=fixed,force_size` writes,
//! the conversion Azure's documentation gives. They matter: readers such as QEMU take the disk
//! size from the CHS geometry (which rounds it down) unless the creator is one known to record
//! the exact size in `current size`, and `qem2` is the one that means exactly that.

use uuid::Uuid;

/// Length of the footer.
pub const FOOTER_LEN: usize = 512;
/// Seconds from the Unix epoch to 2000-01-01 00:00:00 UTC, the VHD epoch.
pub const VHD_EPOCH: u64 = 946_684_800;

/// Cylinders, heads and sectors per track of a VHD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Cylinders.
    pub cylinders: u16,
    /// Heads.
    pub heads: u8,
    /// Sectors per track.
    pub sectors_per_track: u8,
}

/// The CHS geometry the VHD specification's algorithm gives for `size` bytes.
pub fn geometry(size: u64) -> Geometry {
    let mut total_sectors = size / 512;
    if total_sectors > 65_535 * 16 * 255 {
        total_sectors = 65_535 * 16 * 255;
    }
    let (sectors_per_track, heads, cylinder_times_heads);
    if total_sectors >= 65_535 * 16 * 63 {
        sectors_per_track = 255;
        heads = 16;
        cylinder_times_heads = total_sectors / sectors_per_track;
    } else {
        let mut spt = 17;
        let mut cth = total_sectors / spt;
        let mut h = cth.div_ceil(1024).max(4);
        if cth >= h * 1024 || h > 16 {
            spt = 31;
            h = 16;
            cth = total_sectors / spt;
        }
        if cth >= h * 1024 {
            spt = 63;
            h = 16;
            cth = total_sectors / spt;
        }
        sectors_per_track = spt;
        heads = h;
        cylinder_times_heads = cth;
    }
    Geometry {
        cylinders: (cylinder_times_heads / heads) as u16,
        heads: heads as u8,
        sectors_per_track: sectors_per_track as u8,
    }
}

/// The footer of a fixed VHD whose data part is `size` bytes.
pub fn fixed_footer(size: u64, source_date_epoch: u64, unique_id: Uuid) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes());
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes());
    let timestamp = source_date_epoch
        .saturating_sub(VHD_EPOCH)
        .min(u64::from(u32::MAX)) as u32;
    f[24..28].copy_from_slice(&timestamp.to_be_bytes());
    f[28..32].copy_from_slice(b"qem2");
    f[32..36].copy_from_slice(&0x0005_0003u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    let chs = geometry(size);
    f[56..58].copy_from_slice(&chs.cylinders.to_be_bytes());
    f[58] = chs.heads;
    f[59] = chs.sectors_per_track;
    f[60..64].copy_from_slice(&2u32.to_be_bytes());
    f[68..84].copy_from_slice(unique_id.as_bytes());
    let checksum = !f
        .iter()
        .map(|b| u32::from(*b))
        .fold(0u32, u32::wrapping_add);
    f[64..68].copy_from_slice(&checksum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_follows_the_specification() {
        // 62 MiB: 126976 sectors; 17 spt, 7469 cylinders*heads, 8 heads, 933 cylinders.
        assert_eq!(
            geometry(62 << 20),
            Geometry {
                cylinders: 933,
                heads: 8,
                sectors_per_track: 17
            }
        );
        // 1 GiB: 17 spt gives 123361 c*h, too many for 16 heads; 31 spt too; 63 spt.
        assert_eq!(
            geometry(1 << 30),
            Geometry {
                cylinders: 2080,
                heads: 16,
                sectors_per_track: 63
            }
        );
        // Beyond 65535*16*255 sectors everything is clamped.
        assert_eq!(
            geometry(1 << 42),
            Geometry {
                cylinders: 65535,
                heads: 16,
                sectors_per_track: 255
            }
        );
        // Tiny disks still get at least 4 heads.
        assert_eq!(geometry(1 << 20).heads, 4);
    }

    #[test]
    fn footer_fields_and_checksum() {
        let id = uuid::uuid!("11111111-2222-4333-8444-555555555555");
        let f = fixed_footer(62 << 20, 0, id);
        assert_eq!(&f[0..8], b"conectix");
        assert_eq!(&f[24..28], &[0, 0, 0, 0], "epoch 0 clamps to the VHD epoch");
        assert_eq!(u64::from_be_bytes(f[48..56].try_into().unwrap()), 62 << 20);
        assert_eq!(&f[60..64], &[0, 0, 0, 2]);
        assert_eq!(&f[68..84], id.as_bytes());
        let stored = u32::from_be_bytes(f[64..68].try_into().unwrap());
        let mut zeroed = f;
        zeroed[64..68].fill(0);
        let sum: u32 = zeroed.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(stored, !sum);
        let later = fixed_footer(62 << 20, VHD_EPOCH + 1000, id);
        assert_eq!(u32::from_be_bytes(later[24..28].try_into().unwrap()), 1000);
    }
}
