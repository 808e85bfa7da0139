//! The Debian packages of the host that xtask's commands need, installed with apt (through
//! sudo when not root) when missing: the tests' external judges, the build's sandbox.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// The host packages `cargo xtask image` needs: the build sandbox, and `mkfs.erofs` for
/// system extensions (`Format=sysext`).
pub(crate) const IMAGE_PACKAGES: &[&str] = &["bubblewrap", "erofs-utils"];
/// What `cargo xtask image` needs besides when run without root: shadow's id-mapping helpers.
pub(crate) const UNPRIVILEGED_IMAGE_PACKAGES: &[&str] = &["uidmap"];

/// Whether the caller needs the host's apt package lists (tests download with the host's apt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AptLists {
    /// Fetched (`apt-get update`) when the host has none.
    Needed,
    /// Fetched only to install a missing package.
    NotNeeded,
}

pub(crate) fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.ends_with(b"install ok installed"))
}

/// Installs those of `packages` that are not installed (and fetches apt's lists when the
/// host has none and `lists` says they are needed).
pub(crate) fn install_missing_packages(packages: &[&str], lists: AptLists) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    // Tests download .debs with the host's apt: its package lists must exist.
    let lists_present = std::fs::read_dir("/var/lib/apt/lists").is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
    });
    if missing.is_empty() && (lists_present || lists == AptLists::NotNeeded) {
        return Ok(());
    }
    run_command(apt_get().arg("update"))?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut requests: Vec<String> = missing.iter().map(|p| (*p).to_owned()).collect();
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    if let Some(pin) = qemu_utils_pin(&missing) {
        // A qemu-utils newer than the archive's QEMU (machines may come with a backport)
        // Breaks the archive's qemu-system-common: take both from the same QEMU release.
        eprintln!("xtask: {pin}: qemu-utils must match qemu-system-x86");
        requests.push(pin);
        install.push("--allow-downgrades");
    }
    eprintln!("xtask: installing Debian packages: {}", requests.join(" "));
    run_command(
        apt_get()
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(&install)
            .args(&requests),
    )
}

/// `qemu-utils=<version>` when qemu-system-x86 is to be installed and the installed
/// qemu-utils is not the version the archive offers for qemu-system-x86.
fn qemu_utils_pin(missing: &[&str]) -> Option<String> {
    if !missing.contains(&"qemu-system-x86") || missing.contains(&"qemu-utils") {
        return None;
    }
    let installed = dpkg_query_version("qemu-utils")?;
    let candidate = apt_candidate("qemu-system-x86")?;
    (installed != candidate).then(|| format!("qemu-utils={candidate}"))
}

fn dpkg_query_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !version.is_empty()).then_some(version)
}

/// The version apt would install of `package` (`apt-cache policy`'s Candidate line).
fn apt_candidate(package: &str) -> Option<String> {
    let out = Command::new("apt-cache")
        .args(["policy", package])
        .env("LC_ALL", "C")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .map(|v| v.trim().to_owned())
        .filter(|v| v != "(none)")
}

/// `apt-get`, through sudo when we are not root.
fn apt_get() -> Command {
    if is_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("apt-get");
        sudo
    }
}

/// Whether xtask runs as root.
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// Runs `command`, saying so, and fails unless it succeeds.
pub(crate) fn run_command(command: &mut Command) -> Result<()> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
