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

use crate::host_packages::{AptLists, install_missing_packages, is_root, run_command};
use crate::workspace_root;

/// Debian packages whose tools the tests call. Installed with apt when missing.
const TEST_PACKAGES: &[&str] = &[
    "binutils",
    "bubblewrap",
    "cpio",
    "cryptsetup-bin",
    "dosfstools",
    "erofs-utils",
    "fdisk",
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
    "systemd-container",
    "uidmap",
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
    install_missing_packages(TEST_PACKAGES, AptLists::Needed)?;
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
    run_command(
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(workspace_root()),
    )
}
