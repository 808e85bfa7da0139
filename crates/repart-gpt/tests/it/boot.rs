//! The disk boots: QEMU (TCG) with OVMF and the raw disk as its only drive, no `-kernel`. The
//! firmware finds `EFI/BOOT/BOOTX64.EFI` on the ESP, which is a UKI built as uki-stitcher's own
//! boot test builds one (Debian's systemd-stub and cloud kernel, fetched by uki-stitcher's test
//! helper; a busybox initrd written by cpio-writer); its `/init` prints a marker on the serial
//! console and powers off.

use std::path::Path;
use std::time::Duration;

use repart_gpt::OutputKind;

use crate::boot_kit::{boot_until_marker, marker_uki};
use crate::debs::debs;
use crate::support::*;

const MARKER: &str = "REPART-GPT-BOOT";
const TIMEOUT: Duration = Duration::from_secs(180);

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the boot time is reported in the test output"
)]
fn the_disk_boots_under_qemu_and_ovmf_without_kernel_option() {
    require("qemu-system-x86_64", "qemu-system-x86");
    assert!(
        Path::new("/usr/share/ovmf/OVMF.fd").is_file(),
        "/usr/share/ovmf/OVMF.fd is missing: install the Debian package `ovmf`"
    );
    let debs = debs();
    let uki = marker_uki(
        &debs.stub,
        &debs.kernel,
        &debs.busybox,
        "repart.marker",
        MARKER,
    );

    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    let built = build_all(&defs, &uki, &tmp.path().join("out"));
    let disk = output(&built, OutputKind::Raw);
    let console = tmp.path().join("console.log");
    let drive = [
        "-drive".to_owned(),
        format!("file={},format=raw,if=virtio", disk.display()),
    ];
    let elapsed =
        boot_until_marker(&drive, &console, MARKER, TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "booted Linux {} from the disk to /init and powered off in {elapsed:.1?} under TCG",
        debs.kernel_release
    );
}
