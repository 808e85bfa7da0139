//! `cargo xtask image`: the pipeline, wired in order. Every step is a crate call; this file
//! decides only order, paths and what to print.
//!
//! config-model -> deb-resolver (lock, fetch) -> rootfs-assembler -> kernel-builder ->
//! cpio-writer -> uki-stitcher -> (repart-gpt for the gcp/azure profiles) -> manifest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use config_model::ImageConfig;
use deb_resolver::ArchiveSpec;
use deb_resolver::fetch::{self, FetchSources};
use deb_resolver::lock::PackageSet;
use deb_resolver::resolve::{LockMode, resolve_with_lock};
use rootfs_assembler::{
    AssembleOptions, BuildLayout, BuildOutputs, BuildTree, BuildTreeOptions, LockedDeb, RootCache,
};
use sha2::{Digest, Sha256};

use crate::build_config::{
    BuildArgs, BuildConfig, KernelSource, LockFileArgs, cache, cache_dir, read_lock,
    write_atomically,
};
use crate::phases::{Phases, human_bytes};
use crate::progress::{StepSpinner, TerminalProgress};
use crate::summary::DefinitionArgs;
use crate::workspace_root;

/// Arguments of `cargo xtask image`.
#[derive(Args)]
pub struct ImageArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    /// Where the image and its manifest go (default: `build/` in the workspace).
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
    #[command(flatten)]
    lock_file: LockFileArgs,
}

pub fn run(args: &ImageArgs) -> Result<()> {
    rootfs_assembler::require_root("building an image")?;
    let mut phases = Phases::default();
    let BuildConfig { options, config } = phases.run("configure", || {
        let build = args.build.configuration(&args.definition)?;
        let detail = format!("{} files read", build.config.files_read.len());
        Ok((build, detail))
    })?;
    let name = image_name(&config);
    let output_dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| workspace_root().join("build"));
    std::fs::create_dir_all(&output_dir)?;
    let output_dir = output_dir.canonicalize()?;

    // Lock: reuse it when it matches the definition, else resolve (unless --locked).
    let lock_path = args
        .lock_file
        .path(&args.definition, args.build.kernel, &options.directory);
    let existing = read_lock(&lock_path)?;
    let cache = cache()?;
    let progress = TerminalProgress::default();
    let resolve_options = args.build.resolve_options()?;
    let mode = if args.locked {
        LockMode::Locked
    } else {
        LockMode::Update
    };
    let outcome = phases.run("resolve", || {
        let outcome = resolve_with_lock(
            &config,
            &resolve_options,
            existing.as_ref(),
            mode,
            &cache,
            &progress,
        )?;
        let detail = if outcome.resolved {
            format!("resolved; lock written ({})", outcome.stale.join("; "))
        } else {
            "lock up to date".to_owned()
        };
        Ok((outcome, detail))
    })?;
    if outcome.resolved {
        write_atomically(&lock_path, outcome.lock.to_toml().as_bytes())?;
    }
    let lock = outcome.lock;

    let spec = ArchiveSpec::from_config(&config, &resolve_options.archive)?;
    let sources = FetchSources::new(&spec, &config.content.package_directories);
    let debs = phases.run("fetch", || {
        let debs = fetch::fetch(&lock, &sources, &cache, &resolve_options.fetch, &progress)?;
        progress.finish();
        let bytes: u64 = debs.iter().map(|d| d.size).sum();
        let detail = format!("{} packages, {}", debs.len(), human_bytes(bytes));
        Ok((debs, detail))
    })?;
    let locked = |set: PackageSet| -> Vec<LockedDeb> {
        debs.iter()
            .filter(|d| set == PackageSet::Build || d.set == PackageSet::Image)
            .map(|d| LockedDeb {
                name: d.name.clone(),
                version: d.version.clone(),
                architecture: d.architecture.clone(),
                path: d.path.clone(),
            })
            .collect()
    };

    let work_dir = output_dir.join(format!(".work-{name}"));
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir)
            .with_context(|| format!("cannot clear {}", work_dir.display()))?;
    }
    let source_kernel = args.build.kernel == KernelSource::Source;
    let build_tree = if source_kernel || !config.content.build_scripts.is_empty() {
        let packages = locked(PackageSet::Build);
        let tree_cache = match (&args.build_tree_cache, args.no_build_tree_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(RootCache::new(dir)),
            (None, false) => Some(RootCache::new(cache_dir("build-tree")?)),
        };
        Some(phases.run("build tree", || {
            let logs = BuildLayout::new(&work_dir.join("build-tree")).logs();
            let spinner = StepSpinner::new(logs);
            spinner.step(&format!("{} packages", packages.len()));
            let tree = rootfs_assembler::assemble_build_tree(&BuildTreeOptions {
                config: &config,
                packages: &packages,
                build_dir: work_dir.join("build-tree"),
                src_dir: options.directory.clone(),
                invoking_user: (0, 0),
                cache: tree_cache.as_ref(),
            });
            spinner.finish();
            let tree = tree?;
            let origin = match (&tree.key, tree.from_cache) {
                (Some(key), true) => format!(", copied from the cache ({})", &key.as_str()[..12]),
                (Some(_), false) => ", assembled and cached".to_owned(),
                (None, _) => String::new(),
            };
            Ok((tree, format!("{} packages{origin}", packages.len())))
        })?)
    } else {
        None
    };
    // The kernel first: build scripts may change the tree they run in.
    let source_kernel = match (&build_tree, source_kernel) {
        (Some(tree), true) => Some(phases.run("kernel build", || {
            let built = build_kernel(
                &config,
                &options.directory,
                tree,
                &lock,
                &work_dir,
                args.build.kernel_cache()?,
            )?;
            let detail = format!(
                "{}{}, {} requests overridden",
                built.release,
                if built.cached { " (cached)" } else { "" },
                built.unmet.len()
            );
            Ok((built, detail))
        })?),
        _ => None,
    };

    let mut not_built = Vec::new();
    let build_outputs = match &build_tree {
        Some(tree) if !config.content.build_scripts.is_empty() => {
            phases.run("build scripts", || {
                let outputs = tree.run_build_scripts(&config)?;
                not_built = skipped_components(&outputs.log)?;
                let detail = format!(
                    "{} scripts, {} skipped (log: {})",
                    config.content.build_scripts.len(),
                    not_built.len(),
                    outputs.log.display()
                );
                Ok((BuildOutputs::Built(outputs), detail))
            })?
        }
        _ => BuildOutputs::Refuse,
    };

    let packages = locked(PackageSet::Image);
    let rootfs = phases.run("assemble", || {
        let spinner = StepSpinner::new(BuildLayout::new(&work_dir).logs());
        spinner.step(&format!("{} packages, then the scripts", packages.len()));
        let rootfs = rootfs_assembler::assemble(&AssembleOptions {
            config: &config,
            packages: &packages,
            build_dir: work_dir.clone(),
            src_dir: options.directory.clone(),
            build_outputs,
            invoking_user: (0, 0),
        });
        spinner.finish();
        let rootfs = rootfs?;
        let detail = format!(
            "{} packages, {} entries, {}",
            rootfs.manifest.packages.len(),
            rootfs.digest.entries.len(),
            human_bytes(rootfs.digest.total_size)
        );
        Ok((rootfs, detail))
    })?;

    let kernel = match &source_kernel {
        Some(built) => KernelImage {
            release: built.release.clone(),
            path: built.bzimage.clone(),
            origin: format!("built from linux-source (cache key {})", built.key),
        },
        None => phases.run("kernel", || {
            let kernel = kernel_builder::debian::find_installed_kernel(&rootfs.root, None)?;
            let modules = rootfs
                .report
                .kernel_modules
                .iter()
                .find(|m| m.release == kernel.release)
                .map_or_else(
                    || ", no loadable modules".to_owned(),
                    |m| format!(", {} of {} modules kept", m.kept.len(), m.total),
                );
            let detail = format!(
                "{} from {}{modules}",
                kernel.release, args.build.kernel_package
            );
            let image = KernelImage {
                release: kernel.release,
                path: kernel.vmlinuz,
                origin: args.build.kernel_package.clone(),
            };
            Ok((image, detail))
        })?,
    };

    let epoch = config.content.source_date_epoch.unwrap_or(0);
    let initrd_path = work_dir.join("initrd.cpio.zst");
    phases.run("initrd", || {
        let level = config
            .output
            .compress_level
            .map_or(3, |l| i32::try_from(l).unwrap_or(19));
        let stats = cpio_writer::write_archive_file(
            cpio_writer::DirectorySource::new(&rootfs.root),
            &cpio_writer::ArchiveOptions {
                source_date_epoch: epoch,
                owners: cpio_writer::Owners::AsRecorded,
                compression: cpio_writer::Compression::Zstd { level },
            },
            &initrd_path,
        )?;
        Ok((
            (),
            format!(
                "{} entries, {} (zstd -{level})",
                stats.members,
                human_bytes(stats.output_bytes)
            ),
        ))
    })?;

    let uki_path = output_dir.join(format!("{name}.efi"));
    phases.run("uki", || {
        let read = |path: &Path| {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        };
        let stub = read(
            &rootfs
                .root
                .join("usr/lib/systemd/boot/efi/linuxx64.efi.stub"),
        )?;
        let linux = read(&kernel.path)?;
        let initrd = read(&initrd_path)?;
        let os_release = String::from_utf8(read(&rootfs.root.join("usr/lib/os-release"))?)?;
        let mut inputs = uki_stitcher::UkiInputs {
            stub: &stub,
            linux: &linux,
            initrds: vec![&initrd],
            cmdline: Some(config.content.kernel_command_line.join(" ")),
            os_release: Some(uki_stitcher::OsRelease::parse(&os_release)?),
            uname: Some(uki_stitcher::Uname::new(&kernel.release)?),
            sbat: uki_stitcher::Sbat::uki_default(),
            splash: None,
            devicetree: None,
        };
        let mut detail = String::new();
        if let Err(uki_stitcher::Error::SbatDoesNotFit { .. }) = uki_stitcher::plan(&inputs) {
            inputs.sbat = uki_stitcher::Sbat::none();
            detail = "stub has no room for our SBAT line; ".to_owned();
        }
        uki_stitcher::write_uki_file(&inputs, &uki_path)?;
        let size = std::fs::metadata(&uki_path)?.len();
        Ok(((), format!("{detail}{}", human_bytes(size))))
    })?;

    let mut artifacts = vec![uki_path.clone()];
    artifacts.extend(phases.run("disk", || {
        disks(&config, &uki_path, &output_dir, &name, epoch)
    })?);

    let manifest_path = output_dir.join(format!("{name}.manifest"));
    let manifest = serde_json::json!({
        "manifest_version": 1,
        "config": rootfs.manifest.config,
        "packages": rootfs.manifest.packages,
        "rootfs_tree_sha256": rootfs.digest.sha256,
        "kernel": { "release": kernel.release, "origin": kernel.origin },
        "lock": { "path": lock_path, "request_sha256": lock.request.hash.to_string() },
        "artifacts": artifacts.iter().map(|path| Ok(serde_json::json!({
            "path": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": sha256_file(path)?,
        }))).collect::<Result<Vec<_>>>()?,
        "build_tree": build_tree.as_ref().map(|tree| serde_json::json!({
            "cache_key": tree.key.as_ref().map(ToString::to_string),
            "from_cache": tree.from_cache,
        })),
        "not_built": not_built.iter().map(|n| serde_json::json!({
            "component": n.component,
            "version": n.version,
            "message": n.message,
        })).collect::<Vec<_>>(),
        "kernel_modules": rootfs.report.kernel_modules.iter().map(|m| serde_json::json!({
            "release": m.release,
            "filtered": m.filtered,
            "total": m.total,
            "kept": m.kept,
            "missing_dependencies": m.missing_dependencies,
        })).collect::<Vec<_>>(),
        "volatile_packages_missing": rootfs.report.volatile_missing,
    });
    write_atomically(
        &manifest_path,
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;

    // The trees are big (a few GB) and done with; the logs stay for reading.
    let mut trees = vec![rootfs.root.clone(), initrd_path.clone()];
    trees.extend(build_tree.as_ref().map(|tree| tree.root.clone()));
    if let Err(error) = remove_work_trees(&trees) {
        eprintln!("warning: the image is complete, but {error:#}");
    }

    eprintln!();
    eprint!("{}", phases.table());
    if !not_built.is_empty() {
        eprintln!("\nnot built (the build scripts skipped them; the image boots without them):");
        for skipped in &not_built {
            eprintln!("  {}", skipped.message);
        }
        eprintln!("  (give a variable to the build scripts with -E NAME=VALUE)");
    }
    if let Some(built) = &source_kernel {
        report_kernel_requests(built);
    }
    for modules in &rootfs.report.kernel_modules {
        for missing in &modules.missing_dependencies {
            eprintln!(
                "warning: kernel {}: module dependency {missing} is neither a module nor built in",
                modules.release
            );
        }
    }
    for deb in &rootfs.report.volatile_installed {
        eprintln!("installed from the build scripts: {}", deb.display());
    }
    // The fixture expects its kernel script's .deb; this pipeline provides the kernel itself.
    let (kernels, missing): (Vec<&String>, Vec<&String>) = rootfs
        .report
        .volatile_missing
        .iter()
        .partition(|spec| spec.starts_with("linux-image-"));
    for spec in kernels {
        eprintln!(
            "VolatilePackages={spec}: not needed, the kernel is {} ({})",
            kernel.release, kernel.origin
        );
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        eprintln!(
            "not installed (VolatilePackages= with no matching .deb from the build scripts): {}",
            names.join(", ")
        );
    }
    println!("{}", uki_path.display());
    Ok(())
}

/// The kernel that goes into the UKI.
struct KernelImage {
    release: String,
    path: PathBuf,
    /// The Debian package, or the source build.
    origin: String,
}

/// A component the build scripts skipped, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NotBuilt {
    /// The component (`tdx-init`): the program its units run, by the Flashbox scripts'
    /// convention.
    component: String,
    /// The version the scripts would have built.
    version: String,
    /// The scripts' line: why, and which variable supplies a prebuilt one.
    message: String,
}

/// The components a build-script log says were skipped (the Flashbox build scripts print
/// `SKIPPED <name> <version>: <why and how to supply it>`). The kernel script's line is left
/// out: `KERNEL_SOURCE_BUILD=0` is this pipeline's doing, the kernel comes from
/// kernel-builder or a Debian package.
fn skipped_components(log: &Path) -> Result<Vec<NotBuilt>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
    Ok(text
        .lines()
        .filter(|line| !line.starts_with("flashbox-kernel:"))
        .filter_map(|line| {
            let (_, rest) = line.split_once("SKIPPED ")?;
            let (component, rest) = rest.split_once(' ')?;
            let (version, _) = rest.split_once(':')?;
            Some(NotBuilt {
                component: component.to_owned(),
                version: version.to_owned(),
                message: line.to_owned(),
            })
        })
        .collect())
}

/// Builds the kernel from `linux-source-X.Y` in the build tree (or takes it from the cache).
fn build_kernel(
    config: &ImageConfig,
    src_dir: &Path,
    tree: &BuildTree,
    lock: &deb_resolver::Lock,
    work_dir: &Path,
    cache: PathBuf,
) -> Result<kernel_builder::source::BuiltKernel> {
    let environment = &config.build.environment;
    let series = kernel_builder::source::series(environment)?;
    let [source_package, _] = kernel_builder::source::required_packages(&series);
    let identity = |p: &deb_resolver::lock::LockedPackage| {
        format!("{} {} {} {}", p.name, p.version, p.architecture, p.sha256)
    };
    let source_version = lock
        .packages_in(PackageSet::Build)
        .find(|p| p.name == source_package)
        .map(identity)
        .with_context(|| format!("{source_package} is not in the lock's build set"))?;
    let toolchain: String = lock
        .packages_in(PackageSet::Build)
        .filter(|p| p.name != source_package)
        .map(|p| identity(p) + "\n")
        .collect();
    let inputs = kernel_builder::source::SourceInputs::read(
        environment,
        src_dir,
        &tree.root,
        &source_version,
        &toolchain,
        config.content.source_date_epoch.unwrap_or(0),
    )?;
    let log = work_dir.join("kernel-build.log");
    let spinner = StepSpinner::new(vec![log.clone()]);
    eprintln!(
        "  linux-source-{series} {source_version}, {} fragments, {} patches; log: {}",
        inputs.fragments.len(),
        inputs.patches.len(),
        log.display()
    );
    let built = kernel_builder::source::build(&kernel_builder::source::SourceBuild {
        inputs: &inputs,
        tree,
        scratch: work_dir.join("kernel"),
        cache,
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        log,
        on_step: &|step| spinner.step(step),
    });
    spinner.finish();
    Ok(built?)
}

/// Prints what the kernel's fragments asked for and `olddefconfig` did not keep.
fn report_kernel_requests(built: &kernel_builder::source::BuiltKernel) {
    if built.unmet.is_empty() {
        eprintln!("\nkernel: every requested config symbol has its requested value");
        return;
    }
    eprintln!(
        "\nkernel: {} requested config values were overridden by olddefconfig (unknown symbol, \
         unmet dependency or choice):",
        built.unmet.len()
    );
    for unmet in &built.unmet {
        eprintln!("  {unmet}");
    }
}

/// `<ImageId>_<ImageVersion>`, as mkosi names outputs.
fn image_name(config: &ImageConfig) -> String {
    let id = config.output.image_id.as_deref().unwrap_or("image");
    match &config.output.image_version {
        Some(version) => format!("{id}_{version}"),
        None => id.to_owned(),
    }
}

/// The GCP tar.gz and the Azure VHD, when the gcp/azure profiles are selected.
fn disks(
    config: &ImageConfig,
    uki: &Path,
    output_dir: &Path,
    name: &str,
    epoch: u64,
) -> Result<(Vec<PathBuf>, String)> {
    let profiles = &config.config.profiles;
    let outputs = repart_gpt::Outputs {
        raw: false,
        gcp_tar_gz: profiles.iter().any(|p| p == "gcp"),
        azure_vhd: profiles.iter().any(|p| p == "azure"),
    };
    if !outputs.gcp_tar_gz && !outputs.azure_vhd {
        return Ok((Vec::new(), "no gcp/azure profile: none".to_owned()));
    }
    let directories: Vec<&Path> = config
        .output
        .repart_directories
        .iter()
        .map(PathBuf::as_path)
        .collect();
    let mut definitions = repart_gpt::read_definitions(&directories)?;
    let uki_len = std::fs::metadata(uki)?.len();
    for definition in definitions.iter_mut().filter(|d| d.partition_type.is_esp()) {
        definition.size_min_bytes = Some(repart_gpt::esp_min_size(
            uki_len,
            repart_gpt::DEFAULT_ESP_HEADROOM,
        ));
    }
    let seed = match config.output.seed {
        Some(config_model::Seed::Fixed(uuid)) => uuid.to_string().parse()?,
        _ => bail!("disk images need a fixed Seed= for reproducible ids"),
    };
    let built = repart_gpt::build_image(&repart_gpt::ImageRequest {
        definitions,
        uki: repart_gpt::UkiSource::File(uki.to_owned()),
        copy_source_root: None,
        seed,
        source_date_epoch: epoch,
        disk_size: None,
        output_dir: output_dir.to_owned(),
        name: name.to_owned(),
        outputs,
        gzip_level: 6,
    })?;
    let detail = built
        .files
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.path.file_name().unwrap_or_default().to_string_lossy(),
                human_bytes(f.size)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok((built.files.into_iter().map(|f| f.path).collect(), detail))
}

/// Removes the directories and files in `paths` that exist.
fn remove_work_trees(paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let removed = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(_) => continue,
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}
