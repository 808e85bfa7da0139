//! Booting a tiny test UKI under QEMU (TCG) + OVMF and waiting for a marker on the serial
//! console. Shared with repart-gpt's disk boot test (which includes this file by path), so
//! both crates boot the same way.
//!
//! The UKI is Debian's systemd-stub + kernel + an initrd written by cpio-writer whose `/init`
//! (busybox) prints `<marker>-OK`, assembled from a kernel command-line parameter so the
//! kernel's echo of its command line cannot be mistaken for it, then powers off.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cpio_writer::{
    ArchiveOptions, ArchivePath, Compression, Data, DeviceNumber, Entry, EntryKind, Owners,
};
use uki_stitcher::{OsRelease, Sbat, UkiInputs, Uname};

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

/// A newc initrd whose `/init` prints the value of the kernel parameter `param` followed by
/// `-OK`, then powers off.
pub(crate) fn marker_initrd(busybox: &[u8], param: &str) -> Vec<u8> {
    let init = format!(
        "#!/bin/sh\n\
         /bin/busybox mount -t proc proc /proc\n\
         for word in $(/bin/busybox cat /proc/cmdline); do\n\
           case \"$word\" in {param}=*) echo \"${{word#{param}=}}-OK\" ;; esac\n\
         done\n\
         /bin/busybox poweroff -f\n"
    );
    let file = |bytes: &[u8]| EntryKind::File(Data::Bytes(bytes.to_vec()));
    let entries = vec![
        entry("bin", EntryKind::Directory, 0o755),
        entry("bin/busybox", file(busybox), 0o755),
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
        entry("init", file(init.as_bytes()), 0o755),
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

/// A UKI whose initrd prints `<marker>-OK` (see [`marker_initrd`]) and powers off.
pub(crate) fn marker_uki(
    stub: &[u8],
    kernel: &[u8],
    busybox: &[u8],
    param: &str,
    marker: &str,
) -> Vec<u8> {
    let initrd = marker_initrd(busybox, param);
    let inputs = UkiInputs {
        stub,
        linux: kernel,
        initrds: vec![&initrd],
        cmdline: Some(format!("console=ttyS0 panic=-1 {param}={marker}")),
        os_release: Some(OsRelease::parse("ID=debian\nVERSION_ID=\"12\"\n").unwrap()),
        uname: Some(Uname::from_linux(kernel).unwrap()),
        // systemd 252's stub has no room after its .sbat for more entries.
        sbat: Sbat::none(),
        splash: None,
        devicetree: None,
    };
    uki_stitcher::plan(&inputs).unwrap().to_vec()
}

/// Boots QEMU with `boot_media` (e.g. `-kernel uki.efi`, or `-drive ...`), waits up to
/// `timeout` for `<marker>-OK` on the serial console written to `console` and for a clean
/// power-off. Returns the boot time, or a message with the console tail.
pub(crate) fn boot_until_marker<S: AsRef<OsStr>>(
    boot_media: &[S],
    console: &Path,
    marker: &str,
    timeout: Duration,
) -> Result<Duration, String> {
    let expected = format!("{marker}-OK");
    let started = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-machine", "q35", "-m", "1024"])
        .args(["-nographic", "-monitor", "none", "-no-reboot"])
        .args(["-bios", "/usr/share/ovmf/OVMF.fd"])
        .args(boot_media)
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86) runs");
    let (seen, status) = loop {
        let seen = fs::read_to_string(console)
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim() == expected);
        if let Some(status) = child.try_wait().unwrap() {
            break (seen, Some(status));
        }
        if seen {
            // /init powers off right after the marker; give QEMU a moment to exit.
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            break (true, child.try_wait().unwrap());
        }
        if started.elapsed() > timeout {
            break (false, None);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed();
    if status.is_none() {
        child.kill().ok();
    }
    let output = child.wait_with_output().unwrap();
    if !seen {
        return Err(format!(
            "no `{expected}` on the console after {elapsed:?} (QEMU exit: {status:?}, stderr: {})\n\
             --- console tail ---\n{}",
            String::from_utf8_lossy(&output.stderr),
            tail(console)
        ));
    }
    if !status.is_some_and(|s| s.success()) {
        return Err(format!(
            "QEMU did not power off cleanly after the marker: {status:?}\n{}",
            tail(console)
        ));
    }
    Ok(elapsed)
}

/// The last 40 lines of the console, for failure messages.
fn tail(console: &Path) -> String {
    let text = String::from_utf8_lossy(&fs::read(console).unwrap_or_default())
        .replace(|c: char| c.is_control() && c != '\n', "");
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
