//! Deterministic GPT disk images from systemd-repart style partition definitions, with a FAT
//! ESP holding a UKI, packaged for GCP (`disk.raw` in a tar.gz) and Azure (fixed VHD); and
//! system extension images (mkosi's `Format=sysext`: an erofs root partition with its dm-verity
//! hash and signature partitions).
//!
//! # Goals
//!
//! - **Reproducible by construction.** The bytes of every output depend only on the
//!   definitions, the files they copy (the UKI), the seed, SOURCE_DATE_EPOCH and the explicit
//!   options. No clock, umask, time zone, locale, build path or directory order reaches them.
//! - **What systemd-repart does.** The same `repart.d` files mean the same disk: the disk GUID,
//!   partition UUIDs, default labels and FAT volume ids are derived from the seed exactly as
//!   systemd-repart derives them, and partitions land where `systemd-repart --size=auto` puts
//!   them (the tests run systemd-repart on this machine and compare). Where this crate differs
//!   it says so ([`layout`] lists the differences); settings it does not implement are refused,
//!   not ignored.
//! - **No root, no host tools.** The GPT is written with the `gpt` crate, the FAT file system
//!   with `fatfs`, the archive with `tar` and `flate2`, the dm-verity tree with `sha2` and its
//!   PKCS#7 signature with `rsa` and `cms`: no loop devices, `mkfs.fat`, `mcopy`, `qemu-img`,
//!   `veritysetup` or `openssl`. Those tools only judge the outputs in the tests.
//! - **Plan, then emit.** [`plan`] computes a pure [`Layout`] (every LBA, size and id) that
//!   tests assert on; [`emit_disk`] is a byte pass over it into an in-memory [`SparseImage`];
//!   the writers in [`output`] are the only code that touches the output directory, and they
//!   write to a temporary name and rename when complete.
//!
//! # Limits, on purpose or for now
//!
//! - File systems: `Format=vfat` only; other partitions are left zeroed (no `CopyBlocks=`).
//! - FAT names are 8.3 names (`EFI/BOOT/BOOTX64.EFI` is one); longer names are refused, not
//!   shortened, because `fatfs` 0.3 writes broken long-name entries (see [`fat`]).
//! - Partitions from definitions start on 1 MiB boundaries and never grow into free space
//!   (`Weight=` is refused); their GPT attribute flags are not written (`Flags=`,
//!   `GrowFileSystem=`, `NoAuto=`, `ReadOnly=` are refused). Extension images pack their
//!   partitions at 4 KiB and carry systemd-repart's default flags (see [`extension`]).
//! - Verity (`Verity=`) exists only in extension images ([`extension`]), not in definitions:
//!   there it is sha256 over 4 KiB blocks with a 32-byte salt (cryptsetup's defaults, which
//!   current systemd-repart uses for image files), signed only with RSA keys, for the
//!   architectures whose three root types [`partition_type`] knows (x86-64, arm64). The root
//!   partition's file system image is the caller's (mkosi's `mkfs.erofs`); its size must be a
//!   multiple of 4 KiB.
//!
//! # A tour
//!
//! - [`definition`] reads `repart.d` files ([`read_definitions`], [`parse_definition`]) into
//!   [`PartitionDefinition`]s, reusing the workspace's INI parser; errors name `file:line`.
//! - [`content`] turns `CopyFiles=` into a [`FileTree`] per partition, from files staged in
//!   memory (the UKI as `/uki.efi`) or under a copy source directory.
//! - [`ids`] derives identifiers from the seed (HMAC-SHA256, as systemd-repart);
//!   [`partition_type`] maps `Type=` names to GUIDs.
//! - [`layout`] plans the disk; [`fat`] formats and fills FAT volumes; [`table`] writes the
//!   protective MBR and both GPTs; [`sparse`] holds the disk in memory without its holes.
//! - [`output`] writes the raw disk (sparse), the GCP tar.gz (an old-GNU sparse member) and the
//!   Azure fixed VHD ([`vhd`] makes its footer).
//! - [`image`] is the step the image pipeline calls: [`build_image`] takes an [`ImageRequest`]
//!   (definitions, UKI, seed, SOURCE_DATE_EPOCH, output directory, which outputs) and returns a
//!   [`BuiltImage`] (the layout and the files written). [`esp_min_size`] computes the ESP size
//!   the Flashbox profiles ask for (UKI + 32 MiB).
//! - [`extension`] makes system extension images: [`build_extension_image`] takes an
//!   [`ExtensionRequest`] (the root file system image, architecture, seed, verity on or off,
//!   optional signing key and certificate, output path) and returns an [`ExtensionImage`] (the
//!   layout, the verity root hash, the file). It places the partitions with
//!   [`layout::finish_layout`], hashes with [`verity`] (the dm-verity hash device
//!   `veritysetup format` writes) and signs with [`verity_signature`] (the JSON object with a
//!   PKCS#7 signature systemd-repart writes).
//!
//! ```no_run
//! use std::path::Path;
//! use repart_gpt::{
//!     DEFAULT_ESP_HEADROOM, ImageRequest, OutputKind, UkiSource, build_image, esp_min_size,
//!     read_definitions,
//! };
//!
//! let uki = std::fs::read("build/image.efi")?;
//! let mut definitions = read_definitions(&[Path::new("mkosi.profiles/gcp/repart")])?;
//! for definition in definitions.iter_mut().filter(|d| d.partition_type.is_esp()) {
//!     definition.size_min_bytes = Some(esp_min_size(uki.len() as u64, DEFAULT_ESP_HEADROOM));
//! }
//! let built = build_image(&ImageRequest {
//!     definitions,
//!     uki: UkiSource::Bytes(uki.into()),
//!     copy_source_root: None,
//!     seed: "630b5f72-a36a-4e83-b23d-6ef47c82fd9c".parse()?,
//!     source_date_epoch: 0,
//!     disk_size: None,
//!     output_dir: "build".into(),
//!     name: "image_1.0".into(),
//!     outputs: [OutputKind::Raw, OutputKind::GcpTarGz].into(),
//!     gzip_level: 6,
//! })?;
//! for file in &built.files {
//!     println!("{:?} {} ({} bytes)", file.kind, file.path.display(), file.size);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod content;
pub mod definition;
pub mod error;
pub mod extension;
pub mod fat;
pub mod fat_size;
pub mod ids;
pub mod image;
pub mod layout;
pub mod output;
pub mod partition_type;
pub mod sparse;
pub mod table;
#[cfg(test)]
mod test_tools;
pub mod verity;
pub mod verity_signature;
pub mod vhd;

/// Bytes per logical sector of every disk and FAT volume this crate writes.
pub const SECTOR_SIZE: u64 = 512;

pub use content::{CopySource, FileTree, Node, stage_contents};
pub use definition::{
    CopyFiles, Format, Minimize, PartitionDefinition, parse_definition, read_definitions,
};
pub use error::{Error, Result};
pub use extension::{
    ExtensionImage, ExtensionRequest, ExtensionTypes, SigningMaterial, build_extension_image,
};
pub use image::{
    BuiltImage, DEFAULT_ESP_HEADROOM, ImageRequest, OutputFile, OutputKind, UkiSource, build_image,
    emit_disk, esp_min_size, output_name,
};
pub use layout::{
    FatVolume, Layout, Lba, PlanOptions, PlannedPartition, Region, finish_layout, plan,
};
pub use partition_type::PartitionType;
pub use sparse::SparseImage;
pub use verity::{VerityHash, VerityHasher, hash_device};
pub use verity_signature::{VeritySigner, signature_partition};
