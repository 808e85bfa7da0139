//! `cargo xtask image`: flags to an [`image_builder::BuildRequest`], one call to
//! [`image_builder::build`], and what it returns printed: the phase table, what was not
//! built, the kernel's overridden config requests, warnings, and the UKI's path on stdout.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use image_builder::{BuildRequest, BuiltImage, CacheLayout, LockMode, OutputDirectory};

use crate::build_config::{BuildArgs, LockFileArgs, TdxFirmwareArgs};
use crate::progress::TerminalObserver;
use crate::summary::DefinitionArgs;
use crate::workspace_root;

/// Arguments of `cargo xtask image`.
#[derive(Args)]
pub(crate) struct ImageArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    /// Where the image and its manifest go (default: the definition's `OutputDirectory=`, as
    /// mkosi writes there, else `build/` in the workspace).
    #[arg(long)]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    build: BuildArgs,
    /// Refuse to change the lock file; fail if it does not match the definition.
    #[arg(long)]
    locked: bool,
    /// Where finished build trees are kept, keyed by every input of the tree, for the next
    /// build with the same inputs (default: `~/.cache/flashbox-builder/build-tree`).
    #[arg(long, env = "FLASHBOX_BUILD_TREE_CACHE")]
    build_tree_cache: Option<PathBuf>,
    /// Assemble the build tree afresh, neither copying nor storing one in the cache.
    #[arg(long, conflicts_with = "build_tree_cache")]
    no_build_tree_cache: bool,
    /// Where verified packages and archive indexes are kept, by sha256 (default:
    /// `~/.cache/flashbox-builder/deb-resolver`).
    #[arg(long, env = "FLASHBOX_PACKAGE_CACHE")]
    package_cache: Option<PathBuf>,
    /// Where `--kernel source` keeps built kernels (default: `~/.cache/flashbox-builder/kernel`).
    #[arg(long, env = "FLASHBOX_KERNEL_CACHE")]
    kernel_cache: Option<PathBuf>,
    #[command(flatten)]
    lock_file: LockFileArgs,
    #[command(flatten)]
    tdx_firmware: TdxFirmwareArgs,
}

pub(crate) fn run(args: &ImageArgs) -> Result<()> {
    use crate::host_packages::{self, AptLists};
    use image_builder::{Root, become_root};
    let mut packages = host_packages::IMAGE_PACKAGES.to_vec();
    if !host_packages::is_root() {
        packages.extend(host_packages::UNPRIVILEGED_IMAGE_PACKAGES);
    }
    host_packages::install_missing_packages(&packages, AptLists::NotNeeded)?;
    // Without root, the rest runs again as root of a user namespace (the user's subordinate
    // ids mapped); this process only waits for it.
    if let Root::Ran(status) = become_root()? {
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        std::process::exit(code);
    }
    let mut caches = CacheLayout::for_user()?;
    if args.no_build_tree_cache {
        caches.build_trees = None;
    } else if let Some(dir) = &args.build_tree_cache {
        caches.build_trees = Some(dir.clone());
    }
    if let Some(dir) = &args.kernel_cache {
        caches.kernels.clone_from(dir);
    }
    if let Some(dir) = &args.package_cache {
        caches.packages.clone_from(dir);
    }
    let request = BuildRequest {
        resolve: args
            .build
            .request(&args.definition, Some(&args.lock_file))?,
        lock_mode: if args.locked {
            LockMode::Locked
        } else {
            LockMode::Update
        },
        output_dir: match &args.output_dir {
            Some(dir) => OutputDirectory::Given(dir.clone()),
            None => OutputDirectory::Definition {
                fallback: workspace_root().join("build"),
            },
        },
        caches,
        tdx_firmware: args.tdx_firmware.firmware(),
    };
    let observer = TerminalObserver::default();
    let built = image_builder::build_all(&request, &observer);
    observer.finish();
    // One path per image on standard output, in build order: the main image last.
    for image in built? {
        print_report(&image);
        println!("{}", image.output.display());
    }
    Ok(())
}

/// Everything a user should read after a build, on standard error.
fn print_report(built: &BuiltImage) {
    let manifest = &built.manifest;
    eprintln!();
    eprint!("{}", crate::phases::table(&built.stages));
    if !manifest.not_built.is_empty() {
        eprintln!("\nnot built (the build scripts skipped them; the image boots without them):");
        for skipped in &manifest.not_built {
            eprintln!("  {}", skipped.message);
        }
        eprintln!("  (give a variable to the build scripts with -E NAME=VALUE)");
    }
    if let Some(kernel) = &built.source_kernel {
        if kernel.unmet.is_empty() {
            eprintln!("\nkernel: every requested config symbol has its requested value");
        } else {
            eprintln!(
                "\nkernel: {} requested config values were overridden by olddefconfig (unknown \
                 symbol, unmet dependency or choice):",
                kernel.unmet.len()
            );
            for unmet in &kernel.unmet {
                eprintln!("  {unmet}");
            }
        }
    }
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    for deb in &built.volatile_installed {
        eprintln!("installed from the build scripts: {}", deb.display());
    }
    if let Some(kernel) = &manifest.kernel {
        for spec in &built.volatile_kernel_not_needed {
            eprintln!(
                "VolatilePackages={spec}: not needed, the kernel is {} ({})",
                kernel.release, kernel.origin
            );
        }
    }
    if !built.volatile_missing.is_empty() {
        eprintln!(
            "not installed (VolatilePackages= with no matching .deb from the build scripts): {}",
            built.volatile_missing.join(", ")
        );
    }
}
