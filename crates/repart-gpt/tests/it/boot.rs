//! The disk boots: QEMU (TCG) with OVMF and the raw disk as its only drive, no `-kernel`. The
//! firmware finds `EFI/BOOT/BOOTX64.EFI` on the ESP, which is a UKI built as uki-stitcher's own
//! boot test builds one (Debian's systemd-stub and cloud kernel, fetched by uki-stitcher's test
//! helper; a busybox initrd written by cpio-writer); its `/init` prints a marker on the serial
//! console and powers off.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cpio_writer::{
    ArchiveOptions, ArchivePath, Compression, Data, DeviceNumber, Entry, EntryKind, Owners,
};
use repart_gpt::OutputKind;
use uki_stitcher::{OsRelease, Sbat, UkiInputs, Uname};

use crate::debs::debs;
use crate::support::*;

const MARKER: &str = "REPART-GPT-BOOT-OK";
const TIMEOUT: Duration = Duration::from_secs(180);

fn entry(path: &str, kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: ArchivePath::new(path).unwrap(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 0,
    }
}

/// A newc initrd whose `/init` prints the marker (assembled from the command line, so the
/// kernel's echo of its command line cannot be mistaken for it) and powers off.
fn initrd(busybox: &[u8]) -> Vec<u8> {
    let init = "#!/bin/sh\n\
                /bin/busybox mount -t proc proc /proc\n\
                for word in $(/bin/busybox cat /proc/cmdline); do\n\
                  case \"$word\" in repart.marker=*) echo \"${word#repart.marker=}-OK\" ;; esac\n\
                done\n\
                /bin/busybox poweroff -f\n";
    let entries = vec![
        entry("bin", EntryKind::Directory, 0o755),
        entry(
            "bin/busybox",
            EntryKind::File(Data::Bytes(busybox.to_vec())),
            0o755,
        ),
        entry(
            "bin/sh",
            EntryKind::Symlink {
                target: b"busybox".to_vec(),
            },
            0o777,
        ),
        entry("dev", EntryKind::Directory, 0o755),
        entry(
            "dev/console",
            EntryKind::CharDevice(DeviceNumber { major: 5, minor: 1 }),
            0o600,
        ),
        entry(
            "init",
            EntryKind::File(Data::Bytes(init.as_bytes().to_vec())),
            0o755,
        ),
        entry("proc", EntryKind::Directory, 0o755),
    ];
    let options = ArchiveOptions {
        source_date_epoch: 0,
        owners: Owners::Root,
        compression: Compression::Gzip { level: 6 },
    };
    let mut out = Vec::new();
    cpio_writer::write_archive(entries, &options, &mut out).unwrap();
    out
}

fn qemu(disk: &Path, console: &Path) -> Child {
    Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-machine", "q35", "-m", "1024"])
        .args(["-nographic", "-monitor", "none", "-no-reboot"])
        .args(["-bios", "/usr/share/ovmf/OVMF.fd"])
        .arg("-drive")
        .arg(format!("file={},format=raw,if=virtio", disk.display()))
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86) runs")
}

/// The last lines of the console, for failure messages.
fn tail(console: &Path) -> String {
    let text = String::from_utf8_lossy(&fs::read(console).unwrap_or_default())
        .replace(|c: char| c.is_control() && c != '\n', "");
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

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
    let initrd = initrd(&debs.busybox);
    let inputs = UkiInputs {
        stub: &debs.stub,
        linux: &debs.kernel,
        initrds: vec![&initrd],
        cmdline: Some(format!(
            "console=ttyS0 panic=-1 repart.marker={}",
            MARKER.trim_end_matches("-OK")
        )),
        os_release: Some(OsRelease::parse("ID=debian\nVERSION_ID=\"12\"\n").unwrap()),
        uname: Some(Uname::from_linux(&debs.kernel).unwrap()),
        sbat: Sbat::none(),
        splash: None,
        devicetree: None,
    };
    let uki = uki_stitcher::plan(&inputs).unwrap().to_vec();

    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("repart");
    write_definitions(&defs, &[("00-esp.conf", &gcp_esp_definition())]);
    let built = build_all(&defs, &uki, &tmp.path().join("out"));
    let disk = output(&built, OutputKind::Raw);
    let console = tmp.path().join("console.log");

    let started = Instant::now();
    let mut child = qemu(&disk, &console);
    let outcome = loop {
        let seen = fs::read_to_string(&console)
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim() == MARKER);
        if let Some(status) = child.try_wait().unwrap() {
            break (seen, Some(status));
        }
        if seen {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            break (true, child.try_wait().unwrap());
        }
        if started.elapsed() > TIMEOUT {
            break (false, None);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed();
    if outcome.1.is_none() {
        child.kill().ok();
    }
    let output = child.wait_with_output().unwrap();
    let (seen, status) = outcome;
    assert!(
        seen,
        "no `{MARKER}` on the console after {elapsed:?} (QEMU exit: {status:?}, stderr: {})\n\
         --- console tail ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        tail(&console)
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "QEMU did not power off cleanly after the marker: {status:?}\n{}",
        tail(&console)
    );
    println!(
        "booted Linux {} from the disk to /init and powered off in {elapsed:.1?} under TCG",
        debs.kernel_release
    );
}
