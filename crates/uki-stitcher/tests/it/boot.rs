//! The UKI boots: QEMU (TCG) with OVMF loads it with `-kernel`, systemd-stub starts the Debian
//! kernel with the initrd and command line from the UKI's sections, and the initrd's `/init`
//! (a busybox shell script written into a cpio archive by cpio-writer) prints a marker on the
//! serial console and powers the machine off.

use std::time::Duration;

use crate::support::boot_kit::{boot_until_marker, marker_uki};
use crate::support::debs::debs;
use crate::support::temp_dir;

const MARKER: &str = "UKI-STITCHER-BOOT";
const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the boot time is reported in the test output"
)]
fn the_uki_boots_to_the_initrd_under_qemu_and_ovmf() {
    let debs = debs();
    let uki = marker_uki(
        &debs.stub,
        &debs.kernel,
        &debs.busybox,
        "uki.marker",
        MARKER,
    );
    let dir = temp_dir();
    let path = dir.path().join("uki.efi");
    let console = dir.path().join("console.log");
    std::fs::write(&path, uki).unwrap();
    let kernel = ["-kernel".as_ref(), path.as_os_str()];
    let elapsed =
        boot_until_marker(&kernel, &console, MARKER, TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    println!("booted to /init and powered off in {elapsed:.1?} under TCG");
}
