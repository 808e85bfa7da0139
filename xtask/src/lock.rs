//! `cargo xtask lock` (resolve a definition and write its lock where `cargo xtask image` reads
//! it) and `cargo xtask why` (why a package is in the image or build overlay set).

use anyhow::{Result, bail};
use clap::Args;
use deb_resolver::{Lock, PackageSet, Resolution};

use image_builder::{CacheLayout, ResolveRequest};

use crate::build_config::{BuildArgs, LockFileArgs};
use crate::progress::TerminalObserver;
use crate::summary::DefinitionArgs;

/// Arguments of `cargo xtask lock`.
#[derive(Args)]
pub(crate) struct LockArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    lock_file: LockFileArgs,
}

/// Arguments of `cargo xtask why`.
#[derive(Args)]
#[command(mut_arg("name", |arg| arg.required(true).index(1)))]
pub(crate) struct WhyArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    /// The package to explain.
    #[arg(index = 2)]
    package: String,
    /// Explain its place in the build overlay (`BuildPackages=` on top of the image).
    #[arg(long = "build")]
    build_set: bool,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    lock_file: LockFileArgs,
}

/// Resolves the request afresh (the existing lock is not reused), drawing downloads.
fn resolve(request: &ResolveRequest) -> Result<Resolution> {
    let observer = TerminalObserver::default();
    let prepared = image_builder::prepare(request, &observer)?;
    let resolution = image_builder::resolve_afresh(&prepared, &CacheLayout::for_user()?, &observer);
    observer.finish();
    Ok(resolution?)
}

pub(crate) fn run_lock(args: &LockArgs) -> Result<()> {
    let request = args
        .build
        .request(&args.definition, Some(&args.lock_file))?;
    let path = request.lock_path();
    let previous = match image_builder::read_lock(&path) {
        Ok(previous) => previous,
        Err(error) => {
            eprintln!("warning: the previous lock is not readable, it is replaced: {error:#}");
            None
        }
    };
    let resolution = resolve(&request)?;
    let lock = &resolution.lock;
    image_builder::write_lock(&path, lock)?;

    let image = lock.packages_in(PackageSet::Image).count();
    println!("wrote {}", path.display());
    println!(
        "{} packages: {image} in the image, {} more in the build overlay",
        lock.packages.len(),
        lock.packages.len() - image
    );
    let Some(previous) = previous else {
        println!("no previous lock to compare with");
        return Ok(());
    };
    for reason in previous.check_against(&lock.request) {
        println!("request: {reason}");
    }
    let diff = previous.diff(lock);
    if diff.is_empty() {
        let note = if previous == *lock {
            ""
        } else {
            " (the suites' Release files changed)"
        };
        println!("packages unchanged since the previous lock{note}");
    } else {
        println!(
            "since the previous lock: {} added, {} removed, {} changed",
            diff.added.len(),
            diff.removed.len(),
            diff.changed.len()
        );
        for line in diff.to_string().lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

pub(crate) fn run_why(args: &WhyArgs) -> Result<()> {
    let request = args
        .build
        .request(&args.definition, Some(&args.lock_file))?;
    let resolution = resolve(&request)?;
    let set = if args.build_set {
        PackageSet::Build
    } else {
        PackageSet::Image
    };
    let why = match resolution.why(&args.package, set) {
        Ok(why) => why,
        Err(error) => {
            if set == PackageSet::Image && resolution.why(&args.package, PackageSet::Build).is_ok()
            {
                bail!("{error}; it is in the build overlay only: add --build");
            }
            return Err(error.into());
        }
    };
    print!("{why}");
    note_lock_difference(&request.lock_path(), &resolution.lock);
    Ok(())
}

/// Says on stderr when the lock file would not build what this fresh resolution explains.
fn note_lock_difference(path: &std::path::Path, fresh: &Lock) {
    let differs = match image_builder::read_lock(path) {
        Ok(Some(lock)) => {
            let diff = lock.diff(fresh);
            if diff.is_empty() && lock.check_against(&fresh.request).is_empty() {
                return;
            }
            format!(
                "differs from this resolution ({} added, {} removed, {} changed)",
                diff.added.len(),
                diff.removed.len(),
                diff.changed.len()
            )
        }
        Ok(None) => "does not exist".to_owned(),
        Err(error) => format!("is not readable ({error:#})"),
    };
    eprintln!(
        "note: this is a fresh resolution; the lock file {} {differs}: `cargo xtask lock` updates it",
        path.display()
    );
}
