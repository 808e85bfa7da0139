//! `cargo xtask`: the workspace's task runner.
//!
//! It holds wiring only: argument parsing, calling the crates in pipeline order, and printing.
//! Anything that is more than wiring belongs in one of the crates under `crates/`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod build_config;
mod host_packages;
mod image;
mod lock;
mod phases;
mod progress;
mod summary;
mod test;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Tasks for building and checking Flashbox images.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what the tests need (when missing), then run fmt, clippy, cargo-deny and every test.
    Test(test::TestArgs),
    /// Build an image: resolve, fetch, assemble, kernel, initrd, UKI (and disks for gcp/azure).
    Image(image::ImageArgs),
    /// Resolve an image definition afresh and write its lock file where `image` reads it.
    Lock(lock::LockArgs),
    /// Explain why a package is in an image (or its build overlay): a dependency chain.
    Why(lock::WhyArgs),
    /// Print the resolved configuration of an image definition.
    Summary(summary::SummaryArgs),
    /// List the sections of a Unified Kernel Image with sizes, sha256 and its Authenticode hashes.
    InspectUki {
        /// The UKI (`.efi`) to read.
        file: PathBuf,
        /// Write this section's bytes (e.g. `.cmdline`) to standard output instead.
        #[arg(long)]
        extract: Option<String>,
    },
    /// Predict the TPM PCRs, firmware events and TDX RTMRs of booting a UKI, as the
    /// `.measurements.json` a build writes (JSON on standard output).
    Measure {
        /// The UKI (`.efi`) to measure.
        file: PathBuf,
        /// Also predict booting this raw GPT disk (whose ESP holds the UKI as BOOTX64.EFI).
        #[arg(long)]
        disk: Option<PathBuf>,
        /// The command line the firmware passes as LoadOptions (QEMU `-append`).
        #[arg(long, default_value = "")]
        append: String,
        /// systemd's phase measurements after boot: none, initrd or host.
        #[arg(long, default_value = "none")]
        phases: tdx_measure::SystemdPhases,
        #[command(flatten)]
        tdx_firmware: build_config::TdxFirmwareArgs,
    },
    /// Measure speed as ratios against a baseline run side by side.
    #[command(subcommand)]
    Bench(bench::Bench),
}

/// Runs the task; an error is printed as its chain of causes, one per line (a backtrace only
/// with `FLASHBOX_BACKTRACE=1`: a failed build is about its input, not about xtask's stack).
fn main() -> std::process::ExitCode {
    let Err(error) = run(Cli::parse().task) else {
        return std::process::ExitCode::SUCCESS;
    };
    eprintln!("error: {error}");
    // No message repeats its cause (a workspace rule), so each is printed once as it is.
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if std::env::var_os("FLASHBOX_BACKTRACE").is_some_and(|v| v == "1") {
        eprintln!("{}", error.backtrace());
    }
    std::process::ExitCode::FAILURE
}

fn run(task: Task) -> Result<()> {
    match task {
        Task::Test(args) => test::run(&args),
        Task::Image(args) => image::run(&args),
        Task::Lock(args) => lock::run_lock(&args),
        Task::Why(args) => lock::run_why(&args),
        Task::Summary(args) => summary::run(&args),
        Task::Bench(bench) => bench::run(&bench),
        Task::InspectUki { file, extract } => inspect_uki(&file, extract.as_deref()),
        Task::Measure {
            file,
            disk,
            append,
            phases,
            tdx_firmware,
        } => measure(&file, disk.as_deref(), &append, phases, &tdx_firmware),
    }
}

fn inspect_uki(file: &std::path::Path, section: Option<&str>) -> Result<()> {
    use std::io::Write;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    match section {
        Some(name) => std::io::stdout().write_all(uki_stitcher::extract(&bytes, name)?)?,
        None => print!("{}", uki_stitcher::inspect(&bytes)?),
    }
    Ok(())
}

fn measure(
    file: &std::path::Path,
    disk: Option<&std::path::Path>,
    append: &str,
    phases: tdx_measure::SystemdPhases,
    tdx_firmware: &build_config::TdxFirmwareArgs,
) -> Result<()> {
    use image_builder::measure;
    let disk_head = disk.map(measure::read_disk_head).transpose()?;
    let firmware = tdx_firmware.firmware();
    let shape = measure::BootShape {
        disk_head: disk_head.as_deref(),
        command_line: append,
        phases,
        firmware: firmware.as_ref(),
    };
    let report = measure::report(file, &shape)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
