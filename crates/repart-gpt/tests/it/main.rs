//! Integration tests: external tools (sgdisk, fsck.vfat, mtools, qemu-img, GNU tar,
//! systemd-repart, QEMU with OVMF; for extension images mkfs.erofs, veritysetup, openssl and
//! systemd-dissect) judge the disks this crate writes.

mod boot;
// uki-stitcher's helper that boots a marker UKI under QEMU + OVMF, reused as it is.
#[path = "../../../uki-stitcher/tests/it/support/boot_kit.rs"]
mod boot_kit;
// uki-stitcher's helper that fetches and unpacks the Debian packages, reused as it is.
#[path = "../../../uki-stitcher/tests/it/support/debs.rs"]
mod debs;
mod errors;
mod extension;
mod external;
mod reproducibility;
mod support;
mod systemd;
