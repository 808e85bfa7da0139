//! `cargo xtask test`: the one command that checks the whole workspace.
//!
//! It installs the Debian packages the tests use as external judges (cpio, bsdtar, sgdisk,
//! QEMU, OVMF, ...) and cargo-deny when they are missing, then runs, in order: the format
//! check, clippy with warnings denied, `cargo deny check licenses bans sources`, and every test.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace_root;

/// Debian packages whose tools the tests call. Installed with apt when missing.
const TEST_PACKAGES: &[&str] = &[
    "binutils",
    "cpio",
    "dosfstools",
    "gcc",
    "gdisk",
    "libarchive-tools",
    "mtools",
    "openssl",
    "osslsigncode",
    "ovmf",
    "qemu-system-x86",
    "qemu-utils",
    "shellcheck",
    "systemd",
    "xz-utils",
    "zstd",
];

pub fn run() -> Result<()> {
    install_missing_packages(TEST_PACKAGES)?;
    install_cargo_deny()?;
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["deny", "check", "licenses", "bans", "sources"])?;
    cargo(&["test", "--workspace", "--locked"])?;
    Ok(())
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.ends_with(b"install ok installed"))
}

fn install_missing_packages(packages: &[&str]) -> Result<()> {
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
    if missing.is_empty() && lists_present {
        return Ok(());
    }
    run_command(apt_get().arg("update"))?;
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    run_command(
        apt_get()
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
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

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

fn install_cargo_deny() -> Result<()> {
    let present = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-deny (compiled once per machine)");
    cargo(&["install", "--locked", "cargo-deny"])
}

fn cargo(args: &[&str]) -> Result<()> {
    run_command(Command::new(env!("CARGO")).args(args))
}

fn run_command(command: &mut Command) -> Result<()> {
    command.current_dir(workspace_root());
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
