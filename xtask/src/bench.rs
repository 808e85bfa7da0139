//! `cargo xtask bench`: speed measured as ratios against a baseline run in the same invocation,
//! on the same input, so the numbers mean the same on any machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cpio_writer::{ArchiveOptions, Compression, DirectorySource, Owners};

/// What to benchmark.
#[derive(Subcommand)]
pub enum Bench {
    /// Our cpio + zstd against `find | sort | cpio -o -H newc --reproducible | zstd -T0`.
    Cpio(CpioArgs),
}

/// Arguments of `cargo xtask bench cpio`.
#[derive(Args)]
pub struct CpioArgs {
    /// The tree to archive (a real root filesystem; default: the host's /usr/lib).
    #[arg(long, default_value = "/usr/lib")]
    tree: PathBuf,
    /// zstd level for both sides.
    #[arg(long, default_value_t = 3)]
    level: i32,
    /// Runs per side; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

pub fn run(bench: &Bench) -> Result<()> {
    match bench {
        Bench::Cpio(args) => cpio(args),
    }
}

fn cpio(args: &CpioArgs) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("xtask-bench-cpio-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let ours_path = scratch.join("ours.cpio.zst");
    let theirs_path = scratch.join("gnu.cpio.zst");
    let options = |compression| ArchiveOptions {
        // No clamping: GNU cpio records mtimes as they are.
        source_date_epoch: u64::MAX,
        owners: Owners::AsRecorded,
        compression,
    };
    let zstd = options(Compression::Zstd { level: args.level });
    let ours = median(args.runs, || {
        cpio_writer::write_archive_file(DirectorySource::new(&args.tree), &zstd, &ours_path)?;
        Ok(())
    })?;
    let baseline = format!(
        "find . | LC_ALL=C sort | cpio -o -H newc --reproducible --renumber-inodes --quiet | zstd -T0 -{} -q -f -o {}",
        args.level,
        theirs_path.display()
    );
    let theirs = median(args.runs, || shell(&args.tree, &baseline))?;

    // Same order and owners: the uncompressed bytes should be GNU cpio's exactly.
    let ours_plain = scratch.join("ours.cpio");
    let theirs_plain = scratch.join("gnu.cpio");
    cpio_writer::write_archive_file(
        DirectorySource::new(&args.tree),
        &options(Compression::None),
        &ours_plain,
    )?;
    shell(
        &args.tree,
        &format!(
            "find . | LC_ALL=C sort | cpio -o -H newc --reproducible --renumber-inodes --quiet > {}",
            theirs_plain.display()
        ),
    )?;
    let identity = match cpio_writer::first_difference(
        &std::fs::read(&ours_plain)?,
        &std::fs::read(&theirs_plain)?,
    ) {
        None => "identical to GNU cpio".to_owned(),
        Some(difference) => format!("differs from GNU cpio: {difference}"),
    };
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "tree: {} ({} bytes uncompressed archive)",
        args.tree.display(),
        size(&ours_plain)
    );
    println!(
        "ours  cpio+zstd-{}: {:>8.2?} ({} bytes)",
        args.level,
        ours,
        size(&ours_path)
    );
    println!(
        "GNU cpio | zstd -T0: {:>8.2?} ({} bytes)",
        theirs,
        size(&theirs_path)
    );
    println!(
        "ratio baseline/ours: {:.2}x (above 1 means ours is faster)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    println!("uncompressed archive: {identity}");
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}

fn median(runs: usize, mut body: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        body()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn shell(dir: &Path, script: &str) -> Result<()> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .with_context(|| format!("running {script}"))?;
    if !status.success() {
        bail!("`{script}` failed with {status}");
    }
    Ok(())
}
