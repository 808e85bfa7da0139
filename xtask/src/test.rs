//! `cargo xtask test`: the one command that checks the whole workspace.
//!
//! It installs the Debian packages the tests use as external judges (cpio, bsdtar, sgdisk,
//! QEMU, OVMF, ...) and cargo-deny when they are missing, then runs, in order: the format
//! check, clippy with warnings denied, `cargo deny check licenses bans sources`, and every test.
//!
//! Every test runs, the `#[ignore = "needs root"]` ones included (`--include-ignored`); none
//! passes by skipping. Not run by default are only [`NOT_RUN_BY_DEFAULT`]: child processes
//! that other tests start, and the source-kernel double build (`--source-kernel` runs it).
//! Without root, the command fails before running anything and names the tests that need
//! root, unless `--skip-root-tests` says to leave them out.

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
    "python3",
    "qemu-system-x86",
    "qemu-utils",
    "shellcheck",
    "swtpm",
    "swtpm-tools",
    "systemd",
    "xz-utils",
    "zstd",
];

/// Tests `--include-ignored` would run that the command leaves out, with the reason: each
/// entry is a `--skip` filter (a substring of the test's name).
const NOT_RUN_BY_DEFAULT: &[(&str, &str)] = &[
    (
        "reproducibility_child",
        "a child process of rootfs-assembler's flashbox_base_set_is_reproducible",
    ),
    (
        "child_build",
        "a child process of repart-gpt's builds_are_byte_identical_across_environments",
    ),
    (
        SOURCE_KERNEL_TEST,
        "compiles the kernel twice (tens of minutes on two cores): --source-kernel runs it",
    ),
];

/// The opt-in end-to-end test of `--kernel source`.
const SOURCE_KERNEL_TEST: &str = "a_source_kernel_builds_twice_identically_and_boots";

/// Flags of `cargo xtask test`.
#[derive(clap::Args)]
pub(crate) struct TestArgs {
    /// Also run the source-kernel double build (tens of minutes).
    #[arg(long)]
    source_kernel: bool,
    /// Run as a user without root, leaving out the tests that need root (they are named).
    #[arg(long)]
    skip_root_tests: bool,
}

pub(crate) fn run(args: &TestArgs) -> Result<()> {
    let root = is_root();
    if !root {
        let needs_root = ignored_tests()?;
        if !args.skip_root_tests {
            bail!(
                "not root: these {} tests need root and cannot run (run as root, or pass \
                 --skip-root-tests to leave them out):\n  {}",
                needs_root.len(),
                needs_root.join("\n  ")
            );
        }
        eprintln!(
            "xtask: --skip-root-tests: {} tests that need root do not run:\n  {}",
            needs_root.len(),
            needs_root.join("\n  ")
        );
    }
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
    let mut test = vec!["test", "--workspace", "--locked", "--"];
    if root {
        test.push("--include-ignored");
    }
    for (filter, _) in NOT_RUN_BY_DEFAULT {
        if !(args.source_kernel && *filter == SOURCE_KERNEL_TEST) {
            test.extend(["--skip", filter]);
        }
    }
    cargo(&test)?;
    Ok(())
}

/// The ignored tests of the workspace that this command would run as root (every ignored
/// test but [`NOT_RUN_BY_DEFAULT`]), as `binary: name` lines from the test harness's list.
fn ignored_tests() -> Result<Vec<String>> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args([
            "test",
            "--workspace",
            "--locked",
            "--",
            "--list",
            "--ignored",
        ])
        .current_dir(workspace_root());
    eprintln!("xtask: running {command:?}");
    let out = command
        .output()
        .with_context(|| format!("could not start {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .filter(|name| !NOT_RUN_BY_DEFAULT.iter().any(|(f, _)| name.contains(f)))
        .map(str::to_owned)
        .collect())
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
