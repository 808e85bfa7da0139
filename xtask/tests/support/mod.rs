//! What the end-to-end tests of `cargo xtask image` share: running the pipeline under a
//! chosen umask/TZ/locale, booting a UKI with QEMU + OVMF (TCG) until systemd reaches
//! minimal.target and the image prints its measurements, and naming where two UKIs differ.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where this test's builds go (outside the workspace's own `build/`).
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("flashbox-xtask-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cargo xtask image flashbox-l1` into `output` with the given umask/TZ/LC_ALL and extra
/// arguments (profiles, `--kernel source`, ...); returns the UKI path it printed.
pub fn build(
    output: &Path,
    lock: &Path,
    umask: &str,
    tz: &str,
    locale: &str,
    locked: bool,
    extra: &[&str],
) -> PathBuf {
    let _ = std::fs::remove_dir_all(output);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(["image", "flashbox-l1", "--output-dir"])
        .arg(output)
        .arg("--lock-file")
        .arg(lock)
        .args(extra)
        .env("TZ", tz)
        .env("LC_ALL", locale)
        .stdout(Stdio::piped());
    if locked {
        command.arg("--locked");
    }
    let started = Instant::now();
    let result = command.output().expect("xtask runs");
    assert!(
        result.status.success(),
        "xtask image failed with {}",
        result.status
    );
    eprintln!("built in {:.0?}", started.elapsed());
    let printed = String::from_utf8(result.stdout).unwrap();
    let efi = PathBuf::from(printed.trim());
    assert!(efi.is_file(), "xtask printed {printed:?}, not a UKI path");
    efi
}

/// The JSON manifest written next to the UKI `efi`.
pub fn manifest(efi: &Path) -> serde_json::Value {
    let path = efi.with_extension("manifest");
    serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Boots `efi` as the kernel of QEMU + OVMF (TCG, q35, 4 GiB, one vCPU, no NIC) with the
/// serial console in `console`, until systemd's own "Reached target minimal.target" and the
/// image's `flashbox-measurements:` line appear (at most 10 minutes); on failure the panic
/// shows the console's last 40 lines.
pub fn boot_to_minimal_target(efi: &Path, console: &Path) {
    let _ = std::fs::remove_file(console);
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-machine", "q35", "-m", "4096"])
        .args([
            "-nographic",
            "-monitor",
            "none",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .args(["-bios", "/usr/share/ovmf/OVMF.fd", "-kernel"])
        .arg(efi)
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86) runs");
    let started = Instant::now();
    let deadline = Duration::from_secs(600);
    let (mut reached, mut measured) = (false, false);
    while started.elapsed() < deadline && !(reached && measured) {
        std::thread::sleep(Duration::from_secs(2));
        let text = strip_ansi(&String::from_utf8_lossy(
            &std::fs::read(console).unwrap_or_default(),
        ));
        // systemd's own status line, not the kernel's echo of `systemd.unit=minimal.target`.
        reached = text
            .lines()
            .any(|l| l.contains("Reached target minimal.target"));
        measured = text.lines().any(|l| l.contains("flashbox-measurements:"));
        if qemu.try_wait().unwrap().is_some() {
            break;
        }
    }
    let _ = qemu.kill();
    let _ = qemu.wait();
    let text = strip_ansi(&String::from_utf8_lossy(
        &std::fs::read(console).unwrap_or_default(),
    ));
    let tail: Vec<&str> = text
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        reached && measured,
        "after {:.0?}: minimal.target reached: {reached}, measurements printed: {measured}\nconsole tail:\n{}",
        started.elapsed(),
        tail.join("\n")
    );
    eprintln!(
        "booted to minimal.target in {:.0?} (TCG)",
        started.elapsed()
    );
}

/// The first differing section, and for `.initrd` the first differing cpio entry.
pub fn explain_difference(a: &[u8], b: &[u8]) -> String {
    let (left, right) = match (uki_stitcher::inspect(a), uki_stitcher::inspect(b)) {
        (Ok(left), Ok(right)) => (left, right),
        (left, right) => return format!("cannot inspect: {:?} / {:?}", left.err(), right.err()),
    };
    for (l, r) in left.sections.iter().zip(&right.sections) {
        if l.name != r.name || l.sha256 != r.sha256 {
            let mut text = format!(
                "section {} differs ({} vs {} bytes)",
                l.name, l.size, r.size
            );
            if l.name == ".initrd" {
                let (ia, ib) = (
                    uki_stitcher::extract(a, ".initrd").unwrap(),
                    uki_stitcher::extract(b, ".initrd").unwrap(),
                );
                match cpio_writer::first_difference(ia, ib) {
                    Some(entry) => text += &format!("; first differing cpio entry: {entry}"),
                    None => text += "; the cpio entries are equal (compression differs)",
                }
            }
            return text;
        }
    }
    "headers differ (same sections)".to_owned()
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
