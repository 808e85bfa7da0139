//! `cargo xtask bench`: speed measured as ratios against a baseline run in the same invocation,
//! on the same input, so the numbers mean the same on any machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cpio_writer::{ArchiveOptions, Compression, DirectorySource, Owners};
use deb_resolver::{ArchiveSpec, compare, fetch};

use image_builder::{CacheLayout, Observer, Stage};

use crate::build_config::BuildArgs;
use crate::progress::TerminalObserver;
use crate::summary::DefinitionArgs;

/// What to benchmark.
#[derive(Subcommand)]
pub(crate) enum Bench {
    /// Our cpio + zstd against `find | sort | cpio -o -H newc --reproducible | zstd -T0`.
    Cpio(CpioArgs),
    /// Our resolver (Packages parse + solve) against `apt-get install --simulate` on the same
    /// verified indexes, for the image request of a definition (as `image` would resolve it).
    Resolve(Box<ResolveArgs>),
    /// Predicting a UKI's measurements (both banks, every boot target's digests) against
    /// coreutils' `sha256sum` and `sha384sum` of the same file: two plain hash passes.
    Measure(MeasureArgs),
}

/// Arguments of `cargo xtask bench measure`.
#[derive(Args)]
pub(crate) struct MeasureArgs {
    /// The UKI to measure (e.g. a flashbox-l1 build's `.efi`, about 200 MB).
    file: PathBuf,
    /// Runs per side; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Arguments of `cargo xtask bench resolve`.
#[derive(Args)]
#[command(mut_arg("name", |arg| arg.default_value("flashbox-l1")))]
pub(crate) struct ResolveArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    #[command(flatten)]
    build: BuildArgs,
    /// Runs per measurement; the best is reported (solving runs twice as often).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Arguments of `cargo xtask bench cpio`.
#[derive(Args)]
pub(crate) struct CpioArgs {
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

pub(crate) fn run(bench: &Bench) -> Result<()> {
    match bench {
        Bench::Cpio(args) => cpio(args),
        Bench::Resolve(args) => resolve(args),
        Bench::Measure(args) => measure(args),
    }
}

fn measure(args: &MeasureArgs) -> Result<()> {
    let image = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let ours = median(args.runs, || {
        tdx_measure::UkiMeasurements::of(&image, "")?;
        Ok(())
    })?;
    // The file is in the page cache after the first read, for both sides.
    let baseline = format!(
        "sha256sum {0} > /dev/null && sha384sum {0} > /dev/null",
        args.file.display()
    );
    let theirs = median(args.runs, || shell(Path::new("/"), &baseline))?;
    println!("UKI: {} ({} bytes)", args.file.display(), image.len());
    println!("ours  measure (in memory):    {ours:>8.2?}");
    println!("sha256sum + sha384sum (file): {theirs:>8.2?}");
    println!(
        "ratio baseline/ours: {:.2}x (above 1 means ours is faster)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    Ok(())
}

fn resolve(args: &ResolveArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build (deb-resolver unoptimised): for representative numbers run \
             `cargo run --release -p xtask -- bench resolve`"
        );
    }
    let request = args.build.request(&args.definition, None)?;
    let observer = TerminalObserver::default();
    let prepared = image_builder::prepare(&request, &observer)?;
    let options = &prepared.resolve_options;
    let spec = ArchiveSpec::from_config(&prepared.config, &options.archive)?;
    let cache = CacheLayout::for_user()?.package_cache();
    let start = Instant::now();
    observer.stage_started(Stage::Resolve, &[]);
    let loaded = fetch::load_archive(
        &spec,
        &prepared.config.content.package_directories,
        &cache,
        &options.fetch,
        observer.downloads(),
    );
    observer.finish();
    let loaded = loaded?;
    let load_time = start.elapsed();
    let scratch = std::env::temp_dir().join(format!("xtask-bench-resolve-{}", std::process::id()));
    let bench = compare::bench_resolve(
        &prepared.config,
        &spec,
        &loaded,
        &cache,
        options.base,
        &scratch,
        args.runs,
    );
    std::fs::remove_dir_all(&scratch)
        .with_context(|| format!("cannot remove {}", scratch.display()))?;
    let bench = bench?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "archive load ({} suites: InRelease fetched and verified, indexes from the cache or the network, hash-checked, parsed): {:.0} ms",
        loaded.suites.len(),
        ms(load_time)
    );
    println!(
        "parse: {:.1} MB in {} Packages indexes, {} packages, {:.0} ms: {:.0} MB/s",
        bench.index_bytes as f64 / 1e6,
        bench.indexes,
        bench.universe_packages,
        ms(bench.parse),
        bench.parse_mb_per_s()
    );
    println!(
        "solve (image request, {} packages): {:.1} ms",
        bench.selected,
        ms(bench.solve)
    );
    println!(
        "apt-get install --simulate (same request, same indexes, warm cache, {} packages): {:.0} ms",
        bench.apt_selected,
        ms(bench.apt)
    );
    println!(
        "ratio apt/ours: {:.1}x for parse + solve, {:.0}x for solve alone (above 1 means ours is faster)",
        bench.apt_over_parse_and_solve(),
        bench.apt_over_solve()
    );
    if bench.differences.is_empty() {
        println!("selection: identical to apt's");
    } else {
        println!("selection differs from apt's:");
        for line in &bench.differences {
            println!("  {line}");
        }
    }
    Ok(())
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
