//! What the end-to-end tests of `cargo xtask image` share: running the pipeline under a
//! chosen umask/TZ/locale; booting a UKI or a disk with QEMU + OVMF (TCG), a NIC and a
//! software TPM, reading what the test-only `boot-check/` tree's unit reports about the
//! running image and asserting that its workload runs; checking the build's predicted
//! measurements against the measured boot ([`measured`]); and naming where two UKIs differ.

pub(crate) mod measured;

use std::path::{Path, PathBuf};

use image_builder::Manifest;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where this test's builds go (outside the workspace's own `build/`).
pub(crate) fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("flashbox-xtask-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cargo xtask image flashbox-l1` into `output` with the given umask/TZ/LC_ALL and extra
/// arguments (profiles, `--kernel source`, ...); returns the UKI path it printed.
pub(crate) fn build(
    output: &Path,
    lock: &Path,
    umask: &str,
    tz: &str,
    locale: &str,
    locked: bool,
    extra: &[impl AsRef<std::ffi::OsStr>],
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
    run_build(&mut command, "as root")
}

/// Runs a prepared `xtask image` command; returns the path it printed (the UKI, or the image
/// of another format).
pub(crate) fn run_build(command: &mut Command, who: &str) -> PathBuf {
    let started = Instant::now();
    let result = command.output().expect("xtask runs");
    let stderr = String::from_utf8_lossy(&result.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
    assert!(
        result.status.success(),
        "xtask image {who} failed with {}; its last words:\n{}",
        result.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    eprintln!("built {who} in {:.0?}", started.elapsed());
    let printed = String::from_utf8(result.stdout).unwrap();
    // One line per image; the main image's is the last.
    let output = PathBuf::from(printed.lines().last().unwrap_or_default().trim());
    assert!(
        output.exists(),
        "xtask printed {printed:?}, not an output's path"
    );
    output
}

/// The JSON manifest written next to the UKI `efi`.
pub(crate) fn manifest(efi: &Path) -> Manifest {
    let path = efi.with_extension("manifest");
    Manifest::from_json(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The test-only extra tree whose unit reports the guest's state (`flashbox-boot-check`).
pub(crate) fn boot_check_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/boot-check")
}

/// The stand-in for tdx-init, whose source cannot be fetched here (`TDX_INIT_BINARY`).
pub(crate) fn tdx_init_stand_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tdx-init-stand-in")
}

/// The build arguments every booted test image gets: the report unit and tdx-init (without
/// it `wait-for-key` fails and nothing ordered after it, dropbear included, starts).
pub(crate) fn boot_test_arguments() -> Vec<String> {
    boot_test_arguments_from(&boot_check_tree(), &tdx_init_stand_in())
}

/// [`boot_test_arguments`] with the report tree and the tdx-init stand-in at other places.
pub(crate) fn boot_test_arguments_from(boot_check: &Path, tdx_init: &Path) -> Vec<String> {
    vec![
        "--tdx-firmware".into(),
        FIRMWARE.into(),
        "--extra-tree".into(),
        boot_check.display().to_string(),
        "-E".into(),
        format!("TDX_INIT_BINARY={}", tdx_init.display()),
    ]
}

/// The components the build reported as not built (`not_built` of its manifest).
pub(crate) fn not_built(efi: &Path) -> Vec<String> {
    manifest(efi)
        .not_built
        .into_iter()
        .map(|entry| entry.component)
        .collect()
}

/// What QEMU boots.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Boot<'a> {
    /// A UKI given as `-kernel`.
    Uki(&'a Path),
    /// A raw GPT disk whose ESP holds `EFI/BOOT/BOOTX64.EFI`.
    #[allow(dead_code)] // the kernel_source test boots UKIs only
    Disk(&'a Path),
}

/// One unit as `flashbox-boot-check` reported it.
#[derive(Debug, Clone, Default)]
pub(crate) struct UnitReport {
    fields: std::collections::BTreeMap<String, String>,
}

impl UnitReport {
    fn get(&self, key: &str) -> &str {
        self.fields.get(key).map_or("-", String::as_str)
    }

    /// `id active/sub result job` for reports.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{:<42} {}/{} result={} restarts={} job={}",
            self.get("id"),
            self.get("active"),
            self.get("sub"),
            self.get("result"),
            self.get("restarts"),
            self.get("job")
        )
    }
}

/// What the guest reported about itself, and what the host saw of it.
#[derive(Debug, Default)]
pub(crate) struct GuestReport {
    /// Every loaded unit, by id.
    pub units: std::collections::BTreeMap<String, UnitReport>,
    /// `iptables -S`.
    pub iptables: Vec<String>,
    /// Listening TCP ports.
    pub listening: std::collections::BTreeSet<u16>,
    /// `systemctl --failed`.
    pub failed: Vec<String>,
    /// The first line read from the guest's port 22 through QEMU's forward (the firewall
    /// included), if any.
    pub ssh_banner: Option<String>,
    /// The console's last lines.
    pub console_tail: String,
    /// The TPM's PCRs and firmware event log, as `print-measurements` printed them.
    pub tpm: measured::TpmReport,
}

/// The firmware the boot tests boot: Debian's unified OVMF image, which is also a TDX firmware
/// (TDVF), so the builds report its MRTD.
pub(crate) const FIRMWARE: &str = "/usr/share/ovmf/OVMF.fd";

/// A guest's two serial ports as files: the console, and the port a test-only unit writes its
/// report to.
struct SerialFiles {
    console: PathBuf,
    report: PathBuf,
}

impl SerialFiles {
    /// Both ports' text so far, without terminal escapes.
    fn read(&self) -> (String, String) {
        let read = |path: &Path| {
            strip_ansi(&String::from_utf8_lossy(
                &std::fs::read(path).unwrap_or_default(),
            ))
        };
        (read(&self.console), read(&self.report))
    }
}

/// QEMU + OVMF (TCG, q35, 4 GiB, no reboot) booting `boot`, its serial ports written to files
/// in `dir` (emptied first).
fn qemu_command(boot: Boot<'_>, dir: &Path) -> (Command, SerialFiles) {
    std::fs::create_dir_all(dir).unwrap();
    let serial = SerialFiles {
        console: dir.join("console.log"),
        report: dir.join("report.log"),
    };
    for file in [&serial.console, &serial.report] {
        let _ = std::fs::remove_file(file);
    }
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args(["-accel", "tcg", "-machine", "q35", "-m", "4096"])
        .args(["-nographic", "-monitor", "none", "-no-reboot"])
        .args(["-bios", FIRMWARE])
        .arg("-serial")
        .arg(format!("file:{}", serial.console.display()))
        .arg("-serial")
        .arg(format!("file:{}", serial.report.display()));
    match boot {
        Boot::Uki(efi) => command.arg("-kernel").arg(efi),
        Boot::Disk(disk) => command
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=disk0,snapshot=on",
                disk.display()
            ))
            .args(["-device", "virtio-blk-pci,drive=disk0,bootindex=0"]),
    };
    (command, serial)
}

/// Runs the guest `command` until `finished(console, report)` holds, the guest powers off or
/// 15 minutes pass; `while_running` is called once it finished, before QEMU is killed.
/// Returns the console and the report, or panics with the console's tail when it did not
/// finish.
fn run_guest(
    mut command: Command,
    serial: &SerialFiles,
    finished: impl Fn(&str, &str) -> bool,
    while_running: impl FnOnce(),
) -> (String, String) {
    let mut qemu = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64 (Debian package qemu-system-x86) runs");
    let started = Instant::now();
    let deadline = Duration::from_secs(900);
    let mut done = false;
    while started.elapsed() < deadline && !done {
        std::thread::sleep(Duration::from_secs(3));
        let (console, report) = serial.read();
        done = finished(&console, &report);
        if qemu.try_wait().unwrap().is_some() {
            break;
        }
    }
    if done {
        while_running();
    }
    let _ = qemu.kill();
    let _ = qemu.wait();
    let (console, report) = serial.read();
    let lines: Vec<&str> = console.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    assert!(
        done,
        "after {:.0?} the guest had not finished its report:\n{report}\nconsole tail:\n{tail}",
        started.elapsed()
    );
    eprintln!("booted and reported in {:.0?} (TCG)", started.elapsed());
    (console, report)
}

/// Boots `boot` with QEMU + OVMF (TCG, q35, 4 GiB), a software TPM 2.0 with SHA-256 and
/// SHA-384 banks, and a user-mode NIC without option ROM that reaches nothing outside
/// (`restrict=on`, with a forward of the guest's port 22 to a free local port), until the
/// image printed its measurements and `flashbox-boot-check` finished its report on the
/// second serial port (at most 15 minutes); reads the SSH banner through the forward. A
/// disk is the first boot option.
pub(crate) fn boot_and_report(boot: Boot<'_>, dir: &Path) -> GuestReport {
    let (mut command, serial) = qemu_command(boot, dir);
    let ssh_port = free_local_port();
    let tpm = measured::Swtpm::start(dir);
    command
        .arg("-netdev")
        .arg(format!(
            "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22"
        ))
        .args(["-device", "virtio-net-pci,netdev=net0,romfile="])
        .args(tpm.qemu_arguments());
    let mut ssh_banner = None;
    let (console, report) = run_guest(
        command,
        &serial,
        |console, report| {
            report.contains("flashbox-check: done")
                && console.contains("flashbox-measurements: done")
        },
        || ssh_banner = read_banner(ssh_port),
    );
    drop(tpm);
    let lines: Vec<&str> = console.lines().collect();
    let mut guest = parse_report(&report);
    guest.ssh_banner = ssh_banner;
    guest.console_tail = lines[lines.len().saturating_sub(40)..].join("\n");
    guest.tpm = measured::parse_tpm(&console);
    guest
}

/// Boots the UKI `efi` without NIC or TPM, each of `disks` attached as a read-only virtio disk
/// with its serial (`/dev/disk/by-id/virtio-<serial>` in the guest), until the second serial
/// port has a line `<marker>: done`; returns that port's lines that start with `<marker>: `,
/// the prefix cut.
#[allow(dead_code)] // only the sysext test attaches disks
pub(crate) fn boot_with_disks(
    efi: &Path,
    disks: &[(&str, &Path)],
    marker: &str,
    dir: &Path,
) -> Vec<String> {
    let (mut command, serial) = qemu_command(Boot::Uki(efi), dir);
    command.args(["-nic", "none"]);
    for (index, (name, path)) in disks.iter().enumerate() {
        command
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=extra{index},readonly=on",
                path.display()
            ))
            .arg("-device")
            .arg(format!("virtio-blk-pci,drive=extra{index},serial={name}"));
    }
    let prefix = format!("{marker}: ");
    let done = format!("{prefix}done");
    let (_, report) = run_guest(command, &serial, |_, report| report.contains(&done), || {});
    report
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').split_once(&prefix))
        .map(|(_, fact)| fact.to_owned())
        .collect()
}

fn parse_report(text: &str) -> GuestReport {
    let mut guest = GuestReport::default();
    for line in text.lines() {
        let Some((_, fact)) = line.trim_end_matches('\r').split_once("flashbox-check: ") else {
            continue;
        };
        let (kind, rest) = fact.split_once(' ').unwrap_or((fact, ""));
        match kind {
            "unit" => {
                let fields: std::collections::BTreeMap<String, String> = rest
                    .split(' ')
                    .filter_map(|token| token.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                if let Some(id) = fields.get("id").cloned() {
                    guest.units.insert(id, UnitReport { fields });
                }
            }
            "iptables" => guest.iptables.push(rest.to_owned()),
            "listen" => {
                if let Some(port) = rest.strip_prefix("tcp ").and_then(|p| p.parse().ok()) {
                    guest.listening.insert(port);
                }
            }
            "failed" => guest.failed.push(rest.to_owned()),
            _ => {}
        }
    }
    guest
}

/// Asserts what a user of the image needs from its boot: the firewall unit succeeded and its
/// rules, the mode chains included, are loaded; dropbear listens on port 22 and answers
/// through the firewall; every unit is active, or waits as designed (for the persistent disk
/// the searcher unlocks); and each unit that failed, restarts or did not start runs a
/// program the build reported as not built (`not_built`), or requires such a unit. Prints
/// every unit's state.
pub(crate) fn assert_workload_runs(guest: &GuestReport, not_built: &[String]) {
    let context = || {
        format!(
            "systemctl --failed:\n  {}\nunits:\n  {}\nconsole tail:\n{}",
            guest.failed.join("\n  "),
            guest
                .units
                .values()
                .map(UnitReport::summary)
                .collect::<Vec<_>>()
                .join("\n  "),
            guest.console_tail
        )
    };
    let unit = |id: &str| {
        guest
            .units
            .get(id)
            .unwrap_or_else(|| panic!("the guest reported no {id}\n{}", context()))
    };
    let firewall = unit("searcher-firewall.service");
    assert!(
        firewall.get("active") == "active" && firewall.get("result") == "success",
        "searcher-firewall.service did not succeed: {}\n{}",
        firewall.summary(),
        context()
    );
    for rule in [
        "-P INPUT DROP",
        "-N BOB_MODE_IN",
        "-N BOB_SEARCHER_OUT",
        "-A INPUT -j BOB_MODE_IN",
    ] {
        assert!(
            guest.iptables.iter().any(|line| line == rule),
            "iptables -S in the guest has no `{rule}`:\n{}\n{}",
            guest.iptables.join("\n"),
            context()
        );
    }
    assert!(
        guest.listening.contains(&22),
        "nothing listens on port 22 (listening: {:?})\n{}",
        guest.listening,
        context()
    );
    assert_eq!(
        unit("dropbear.service").get("sub"),
        "running",
        "dropbear.service\n{}",
        context()
    );
    assert!(
        guest
            .ssh_banner
            .as_deref()
            .is_some_and(|b| b.starts_with("SSH-2.0-dropbear")),
        "port 22 forwarded from the host answered {:?}, not dropbear's banner\n{}",
        guest.ssh_banner,
        context()
    );
    let disk = unit("persistent-mount.service");
    assert!(
        disk.get("active") == "activating" && disk.get("job") == "running",
        "persistent-mount.service should wait for the searcher to unlock the disk: {}\n{}",
        disk.summary(),
        context()
    );

    // Units in trouble, then the ones a not-built component explains (directly, or
    // through a unit they require), to a fixed point.
    let trouble = |u: &UnitReport| -> Option<&'static str> {
        let id = u.get("id");
        if u.get("active") == "failed" {
            Some("failed")
        } else if u.get("sub") == "auto-restart"
            || u.get("restarts").parse::<u32>().unwrap_or(0) > 0
        {
            Some("restarts")
        } else if !matches!(u.get("result"), "success" | "-") {
            Some("did not succeed")
        } else if u.get("job") == "running"
            && id != "persistent-mount.service"
            && id != "flashbox-boot-check.service"
        {
            Some("still starting")
        } else if u.get("wanted") == "yes"
            && u.get("active") == "inactive"
            && u.get("job") == "-"
            && u.get("condition") != "no"
        {
            Some("did not start")
        } else {
            None
        }
    };
    let mut explained = std::collections::BTreeSet::new();
    loop {
        let before = explained.len();
        for u in guest.units.values() {
            let program = u.get("program");
            let name = program.rsplit('/').next().unwrap_or(program);
            let not_built_program = u.get("exists") == "no" && not_built.iter().any(|c| c == name);
            let requires_explained = u.get("requires").split(',').any(|r| explained.contains(r));
            if trouble(u).is_some() && (not_built_program || requires_explained) {
                explained.insert(u.get("id").to_owned());
            }
        }
        if explained.len() == before {
            break;
        }
    }
    let unexplained: Vec<String> = guest
        .units
        .values()
        .filter(|u| !explained.contains(u.get("id")))
        .filter_map(|u| trouble(u).map(|why| format!("{} ({why})", u.summary())))
        .collect();
    eprintln!("units of the booted image (not built: {not_built:?}):");
    for u in guest.units.values() {
        let note = match (trouble(u), explained.contains(u.get("id"))) {
            (Some(why), true) => format!("  <- {why}: not built"),
            (Some(why), false) => format!("  <- {why}"),
            (None, _) => String::new(),
        };
        eprintln!("  {}{note}", u.summary());
    }
    assert!(
        unexplained.is_empty(),
        "units in trouble that no missing component explains:\n  {}\n{}",
        unexplained.join("\n  "),
        context()
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_local_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// The first line the guest's SSH server sends through the forward.
fn read_banner(port: u16) -> Option<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while bytes.len() < 255 && stream.read(&mut byte).ok()? == 1 && byte[0] != b'\n' {
        bytes.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&bytes).trim_end().to_owned())
}

/// The first differing section, and for `.initrd` the first differing cpio entry.
pub(crate) fn explain_difference(a: &[u8], b: &[u8]) -> String {
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
