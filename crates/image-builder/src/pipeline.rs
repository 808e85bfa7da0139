//! [`build`]: the pipeline, stage by stage, each a call into one crate.
//!
//! config-model -> deb-resolver (lock, fetch) -> rootfs-assembler (build tree, build scripts,
//! image root) -> kernel-builder -> cpio-writer -> uki-stitcher -> repart-gpt -> manifest.
//! Outputs are written under temporary names and renamed when complete (each crate's writer
//! does that); the manifest is written last, so a manifest names files that exist.

use std::path::{Path, PathBuf};

use build_vocab::{AtPath, PathError, Sha256, publish};
use config_model::ImageConfig;
use config_model::value::OutputFormat;
use deb_resolver::fetch::{self, FetchSources};
use deb_resolver::lock::PackageSet;
use deb_resolver::resolve::{LockOrigin, LockOutcome, resolve_with_lock};
use deb_resolver::{ArchiveSpec, Lock, VerifiedDeb};
use rootfs_assembler::sandbox::{CommandRunner, NamespaceSandbox};
use rootfs_assembler::scripts::{ToolScriptContext, ToolScriptKind};
use rootfs_assembler::{
    AssembleOptions, BuildLayout, BuildOutputs, BuildTree, BuildTreeOptions, LockedDeb, RootCache,
    Rootfs, TreeOrigin,
};

use crate::disks;
use crate::error::Error;
use crate::extension;
use crate::measure;
use kernel_builder::source::BuiltKernel;

use crate::kernel::{self, KernelImage};
use crate::layout::LockName;
use crate::manifest::{
    Artifact, BUILDER_MANIFEST_VERSION, KernelModules, KernelRecord, LockRecord, Manifest,
};
use crate::prepare::{
    Prepared, on_base_trees, prepare_loaded, read_lock, refuse_unimplemented, write_lock,
};
use crate::request::{BuildRequest, KernelChoice};
use crate::skipped::{NotBuilt, skipped_components};
use crate::stage::{Observer, Stage, StageReport, StageRunner, human_bytes};

/// What a build made.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The image: the UKI (`Format=uki`), the compressed cpio (`cpio`) or the root
    /// directory (`directory`).
    pub output: PathBuf,
    /// The manifest, next to the image.
    pub manifest_path: PathBuf,
    /// The manifest's contents.
    pub manifest: Manifest,
    /// The disks of the cloud profiles (GCP tar.gz, Azure VHD).
    pub disks: Vec<PathBuf>,
    /// The lock file, and whether this build wrote it.
    pub lock: LockUse,
    /// The source-built kernel, with its report of requests `olddefconfig` overrode.
    pub source_kernel: Option<kernel_builder::source::BuiltKernel>,
    /// `.deb` files of the build scripts that `VolatilePackages=` installed.
    pub volatile_installed: Vec<PathBuf>,
    /// `VolatilePackages=` entries for a kernel package (`linux-image-*`) that no build
    /// script produced: not needed, because the pipeline provides the kernel itself (the
    /// manifest's `volatile_packages_missing` lists them with the others).
    pub volatile_kernel_not_needed: Vec<String>,
    /// The other `VolatilePackages=` entries no `.deb` of the build scripts matched.
    pub volatile_missing: Vec<String>,
    /// Where the logs of the build stay (`.work-<name>/` in the output directory).
    pub work_dir: PathBuf,
    /// Every stage that ran, in order, with its time.
    pub stages: Vec<StageReport>,
    /// Things the user should look at (the image is complete).
    pub warnings: Vec<String>,
}

/// How a build used its lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockUse {
    /// The lock file matched the definition and was used as it is.
    UpToDate(PathBuf),
    /// The definition was resolved again and the lock file written; why the old one was not
    /// used (empty when there was none).
    Written {
        /// The lock file.
        path: PathBuf,
        /// Why the previous lock was stale.
        stale: Vec<String>,
    },
}

/// What every stage of one build works with.
struct Job<'a> {
    request: &'a BuildRequest,
    config: &'a ImageConfig,
    /// The definition's tree: `$SRCDIR`, and where fragments and patches are read.
    src_dir: &'a Path,
    /// `.work-<name>/` in the output directory: the roots while they are built, and the logs.
    work_dir: PathBuf,
    source_date_epoch: u64,
    /// mkosi's `Output=`: the outputs' name without the version.
    output_name: String,
}

/// Builds the image `request` describes, after the subimages it depends on (see
/// [`build_all`]), and returns the main image. Needs root (the image's own dpkg runs in a
/// mount namespace). Progress goes to `observer`; the result says what was made.
pub fn build(request: &BuildRequest, observer: &dyn Observer) -> Result<BuiltImage, Error> {
    let mut built = build_all(request, observer)?;
    Ok(built.pop().expect("the main image is built last"))
}

/// Builds every image of the definition as mkosi does: the subimages of `mkosi.images/` the
/// main image depends on, each after its own dependencies, then the main image; each with its
/// own lock (`mkosi.images/<name>.lock` for a subimage). Returns them in build order.
pub fn build_all(
    request: &BuildRequest,
    observer: &dyn Observer,
) -> Result<Vec<BuiltImage>, Error> {
    NamespaceSandbox
        .preflight("building an image")
        .map_err(|source| Error::Rootfs {
            stage: Stage::Configure,
            source,
        })?;
    let definition = &request.resolve.definition;
    let images =
        config_model::load_images(&definition.load_options()).map_err(Error::Definition)?;
    let several = images.len() > 1;
    // As mkosi: every image is configured and its sync scripts run before any is built.
    let mut configured = Vec::with_capacity(images.len());
    for image in images {
        if several {
            observer.note(&format!("image {}: configure", image.name));
        }
        let mut image_request = request.clone();
        if image.name != "main" {
            // The kernel flags are the main image's; a subimage that is a UKI gets Debian's.
            image_request.resolve.kernel = KernelChoice::default_package();
            image_request.resolve.lock_file =
                Some(LockName::subimage(definition, &image.name).default_path());
        }
        configured.push(configure_image(
            image_request,
            image.name,
            image.loaded,
            observer,
        )?);
    }
    let mut built = Vec::with_capacity(configured.len());
    for image in configured {
        if several {
            observer.note(&format!("image {}: build", image.image));
        }
        built.push(build_image(image)?);
    }
    Ok(built)
}

/// One image of the definition, configured, its work directory fresh and its sync scripts
/// run: what [`build_image`] builds.
struct ConfiguredImage<'a> {
    request: BuildRequest,
    /// `main`, or a subimage's name.
    image: String,
    prepared: Prepared,
    source_date_epoch: u64,
    output_dir: PathBuf,
    work_dir: PathBuf,
    stages: StageRunner<'a>,
}

/// Configures `image` as `loaded`, makes its work directory afresh and runs its sync scripts.
fn configure_image<'a>(
    request: BuildRequest,
    image: String,
    loaded: config_model::Loaded,
    observer: &'a dyn Observer,
) -> Result<ConfiguredImage<'a>, Error> {
    let mut stages = StageRunner::new(observer);
    let (prepared, source_date_epoch) = stages.run(Stage::Configure, &[], |observer| {
        configure(&request, loaded, observer)
    })?;
    let config = &prepared.config;
    let name = image_name(config, &image);
    let output_dir = request.output_dir.for_config(config);
    std::fs::create_dir_all(&output_dir).at(&output_dir)?;
    let output_dir = output_dir.canonicalize().at(&output_dir)?;
    let work_dir = output_dir.join(format!(".work-{name}"));
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir).at(&work_dir)?;
    }
    if !config.content.sync_scripts.is_empty() {
        let job = Job {
            request: &request,
            config,
            src_dir: &request.resolve.definition.directory,
            work_dir: work_dir.clone(),
            source_date_epoch,
            output_name: output_name(config, &image),
        };
        let log = work_dir.join("logs/sync.log");
        stages.run(Stage::Sync, std::slice::from_ref(&log), |_| {
            run_tool_scripts(&job, ToolScriptKind::Sync, None, &log)
        })?;
    }
    Ok(ConfiguredImage {
        request,
        image,
        prepared,
        source_date_epoch,
        output_dir,
        work_dir,
        stages,
    })
}

/// Builds one configured image of the definition.
fn build_image(configured: ConfiguredImage<'_>) -> Result<BuiltImage, Error> {
    let ConfiguredImage {
        request,
        image,
        prepared,
        source_date_epoch,
        output_dir,
        work_dir,
        mut stages,
    } = configured;
    let request = &request;
    let config = &prepared.config;
    let name = image_name(config, &image);
    let job = Job {
        request,
        config,
        src_dir: &request.resolve.definition.directory,
        work_dir,
        source_date_epoch,
        output_name: output_name(config, &image),
    };

    let lock_path = request.resolve.lock_path();
    let (lock, lock_use) = stages.run(Stage::Resolve, &[], |observer| {
        lock_for(request, &prepared, &lock_path, observer)
    })?;
    let debs = stages.run(Stage::Fetch, &[], |observer| {
        fetch_debs(request, &prepared, &lock, observer)
    })?;

    let source_kernel = request.resolve.kernel == KernelChoice::Source;
    let build_tree = if source_kernel || !config.content.build_scripts.is_empty() {
        let packages = locked_debs(&debs, PackageSet::Build);
        let logs = BuildLayout::new(&job.work_dir.join("build-tree")).logs();
        Some(stages.run(Stage::BuildTree, &logs, |observer| {
            assemble_build_tree(&job, &packages, observer)
        })?)
    } else {
        None
    };
    // The kernel first: build scripts may change the tree they run in.
    let built_kernel = match (&build_tree, source_kernel) {
        (Some(tree), true) => {
            let logs = [kernel::kernel_log(&job.work_dir)];
            Some(stages.run(Stage::KernelBuild, &logs, |observer| {
                build_kernel(&job, tree, &lock, observer)
            })?)
        }
        _ => None,
    };
    let (build_outputs, not_built) = match &build_tree {
        Some(tree) if !config.content.build_scripts.is_empty() => {
            stages.run(Stage::BuildScripts, &[], |_| run_build_scripts(&job, tree))?
        }
        _ => (BuildOutputs::Refuse, Vec::new()),
    };
    let packages = locked_debs(&debs, PackageSet::Image);
    let logs = BuildLayout::new(&job.work_dir).logs();
    let rootfs = stages.run(Stage::Assemble, &logs, |observer| {
        assemble_root(&job, &packages, build_outputs, observer)
    })?;
    // Outputs are written to the staging directory (the image scripts' `$OUTPUTDIR`, as in
    // mkosi), handed to the post-output scripts there, and moved into the output directory
    // once all are complete, the manifest last.
    let staging = BuildLayout::new(&job.work_dir).output_dir;
    std::fs::create_dir_all(&staging).at(&staging)?;
    let mut work_files = Vec::new();
    let made = match config.output.format {
        Some(OutputFormat::Cpio) => {
            let path = staging.join(format!("{name}.cpio.zst"));
            stages.run(Stage::Initrd, &[], |_| write_initrd(&job, &rootfs, &path))?;
            Made::only(path)
        }
        Some(OutputFormat::Sysext) => {
            let path = staging.join(format!("{name}.raw"));
            stages.run(Stage::Extension, &[], |observer| {
                let extension = extension::Extension {
                    config,
                    root: &rootfs.root,
                    work_dir: &job.work_dir,
                    output: &path,
                    name: name.clone(),
                    source_date_epoch,
                };
                extension::write(&extension, observer)
            })?;
            Made::only(path)
        }
        Some(OutputFormat::Tar) => {
            let path = staging.join(format!("{name}.tar.zst"));
            stages.run(Stage::Tar, &[], |_| write_tar(&job, &rootfs, &path))?;
            Made::only(path)
        }
        Some(OutputFormat::Directory) => {
            let path = staging.join(&name);
            stages.run(Stage::Directory, &[], |_| {
                std::fs::rename(&rootfs.root, &path).at(&path)?;
                Ok(((), format!("{} entries", rootfs.digest.entries.len())))
            })?;
            Made::only(path)
        }
        _ => {
            let kernel = match &built_kernel {
                Some(built) => KernelImage::from(built),
                None => stages.run(Stage::Kernel, &[], |_| installed_kernel(&job, &rootfs))?,
            };
            let initrd_path = job.work_dir.join("initrd.cpio.zst");
            stages.run(Stage::Initrd, &[], |_| {
                write_initrd(&job, &rootfs, &initrd_path)
            })?;
            work_files.push(initrd_path.clone());
            let uki_path = staging.join(format!("{name}.efi"));
            stages.run(Stage::Uki, &[], |_| {
                let detail = stitch_uki(config, &rootfs, &kernel, &initrd_path, &uki_path)?;
                Ok(((), detail))
            })?;
            let written = stages.run(Stage::Disks, &[], |_| {
                disks::write(config, &uki_path, &staging, &name, source_date_epoch)
            })?;
            let measurements_path = staging.join(format!("{name}.measurements.json"));
            stages.run(Stage::Measure, &[], |_| {
                let shape = measure::BootShape {
                    disk_head: written.primary_tables.as_deref(),
                    command_line: "",
                    phases: measure::systemd_phases(&rootfs.root),
                    firmware: request.tdx_firmware.as_ref(),
                };
                let report = measure::report(&uki_path, &shape)?;
                measure::write(&report, &measurements_path)?;
                let targets: Vec<&str> = report.targets.iter().map(|t| t.target).collect();
                Ok(((), format!("{} ({})", report.stub, targets.join(", "))))
            })?;
            let mut paths = vec![uki_path];
            paths.extend(written.paths.iter().cloned());
            paths.push(measurements_path);
            Made {
                paths,
                disks: written.paths.len(),
                kernel: Some(KernelRecord {
                    release: kernel.release.clone(),
                    origin: kernel.origin.clone(),
                }),
            }
        }
    };
    if !config.content.post_output_scripts.is_empty() {
        let log = job.work_dir.join("logs/postoutput.log");
        stages.run(Stage::PostOutput, std::slice::from_ref(&log), |_| {
            // The manifest and the measurements describe the builder's outputs as they were
            // made (the UKI, the disks' partition tables): a script may add outputs, not
            // change those.
            let before = file_digests(&made.paths)?;
            let ran = run_tool_scripts(&job, ToolScriptKind::PostOutput, Some(&staging), &log)?;
            let after = file_digests(&made.paths)?;
            if let Some(index) = (0..before.len()).find(|&i| before[i] != after[i]) {
                return Err(Error::OutputChanged {
                    path: made.paths[index].clone(),
                });
            }
            Ok(ran)
        })?;
    }

    let manifest_path = output_dir.join(format!("{name}.manifest"));
    let (manifest, published) = stages.run(Stage::Manifest, &[], |_| {
        // The builder's outputs first, in the order they were made, then what scripts added;
        // each checked and digested where it is staged, before anything is replaced.
        let staged = staged_outputs(&staging, &made.paths)?;
        let artifacts = staged
            .iter()
            .map(|path| artifact(path))
            .collect::<Result<Vec<_>, _>>()?;
        // The previous build's manifest goes first: until the new one is written, the
        // outputs have no manifest rather than one that does not describe them.
        match std::fs::remove_file(&manifest_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(PathError::new(&manifest_path, e).into());
            }
            _ => {}
        }
        let published = publish_staged(&staged, &output_dir)?;
        let manifest = Manifest {
            manifest_version: rootfs.manifest.manifest_version,
            builder_manifest_version: BUILDER_MANIFEST_VERSION,
            config: rootfs.manifest.config.clone(),
            packages: rootfs.manifest.packages.clone(),
            rootfs_tree_sha256: rootfs.digest.sha256,
            kernel: made.kernel.clone(),
            lock: LockRecord {
                path: lock_path.clone(),
                request_sha256: lock.request.hash.to_string(),
            },
            artifacts,
            build_tree: build_tree.as_ref().map(|tree| tree.origin.clone()),
            not_built,
            kernel_modules: rootfs
                .report
                .kernel_modules
                .iter()
                .map(KernelModules::from)
                .collect(),
            volatile_packages_missing: rootfs.report.volatile_missing.clone(),
        };
        publish::write_bytes(&manifest_path, 0o644, manifest.to_json().as_bytes())?;
        let detail = format!("{} artifacts", manifest.artifacts.len());
        Ok(((manifest, published), detail))
    })?;
    let output = published[0].clone();
    let disks = published[1..=made.disks].to_vec();

    let mut warnings = module_warnings(&rootfs);
    // A tree's own kernel script would have built the kernel .deb; here the pipeline did.
    let (kernel_volatile, other_volatile): (Vec<String>, Vec<String>) = rootfs
        .report
        .volatile_missing
        .iter()
        .cloned()
        .partition(|spec| spec.starts_with("linux-image-"));
    // The trees are big (a few GB) and done with; the logs stay for reading.
    let mut trees = vec![rootfs.root.clone()];
    trees.extend(work_files);
    trees.extend(build_tree.as_ref().map(|tree| tree.root.clone()));
    if let Err(error) = remove_work_trees(&trees) {
        warnings.push(format!(
            "the image is complete, but a work tree could not be removed: {error}"
        ));
    }
    Ok(BuiltImage {
        output,
        manifest_path,
        manifest,
        disks,
        lock: lock_use,
        source_kernel: built_kernel,
        volatile_installed: rootfs.report.volatile_installed.clone(),
        volatile_kernel_not_needed: kernel_volatile,
        volatile_missing: other_volatile,
        work_dir: job.work_dir,
        stages: stages.reports,
        warnings,
    })
}

/// The configuration as the build resolves it, and its SOURCE_DATE_EPOCH (checked, with the
/// other settings every root needs, before anything is written).
fn configure(
    request: &BuildRequest,
    loaded: config_model::Loaded,
    observer: &dyn Observer,
) -> Result<((Prepared, u64), String), Error> {
    let prepared = prepare_loaded(&request.resolve, loaded, observer)?;
    refuse_unimplemented(&prepared.config)?;
    let (epoch, _) =
        rootfs_assembler::checked_inputs(&prepared.config).map_err(|source| Error::Rootfs {
            stage: Stage::Configure,
            source,
        })?;
    let detail = format!("{} files read", prepared.files_read);
    Ok(((prepared, epoch), detail))
}

/// Every `.deb` of the lock, verified, in the package cache.
fn fetch_debs(
    request: &BuildRequest,
    prepared: &Prepared,
    lock: &Lock,
    observer: &dyn Observer,
) -> Result<(Vec<VerifiedDeb>, String), Error> {
    let archive = |source| Error::Archive {
        stage: Stage::Fetch,
        source,
    };
    let config = &prepared.config;
    let spec =
        ArchiveSpec::from_config(config, &prepared.resolve_options.archive).map_err(archive)?;
    let sources = FetchSources::new(&spec, &config.content.package_directories);
    let debs = fetch::fetch(
        lock,
        &sources,
        &request.caches.package_cache(),
        &prepared.resolve_options.fetch,
        observer.downloads(),
    )
    .map_err(archive)?;
    let bytes: u64 = debs.iter().map(|d| d.size).sum();
    let detail = format!("{} packages, {}", debs.len(), human_bytes(bytes));
    Ok((debs, detail))
}

fn assemble_build_tree(
    job: &Job<'_>,
    packages: &[LockedDeb],
    observer: &dyn Observer,
) -> Result<(BuildTree, String), Error> {
    observer.step(Stage::BuildTree, &format!("{} packages", packages.len()));
    let cache = job.request.caches.build_trees.as_ref().map(RootCache::new);
    let tree = rootfs_assembler::assemble_build_tree(&BuildTreeOptions {
        config: job.config,
        packages,
        build_dir: job.work_dir.join("build-tree"),
        src_dir: job.src_dir.to_owned(),
        invoking_user: (0, 0),
        cache: cache.as_ref(),
        runner: &NamespaceSandbox,
    })
    .map_err(|source| Error::Rootfs {
        stage: Stage::BuildTree,
        source,
    })?;
    let origin = match &tree.origin {
        TreeOrigin::FromCache { key } => {
            format!(", copied from the cache ({})", &key.as_str()[..12])
        }
        TreeOrigin::AssembledAndCached { .. } => ", assembled and cached".to_owned(),
        TreeOrigin::Assembled => String::new(),
    };
    Ok((tree, format!("{} packages{origin}", packages.len())))
}

fn build_kernel(
    job: &Job<'_>,
    tree: &BuildTree,
    lock: &Lock,
    observer: &dyn Observer,
) -> Result<(BuiltKernel, String), Error> {
    let source = kernel::SourceKernel {
        config: job.config,
        src_dir: job.src_dir,
        tree,
        lock,
        work_dir: &job.work_dir,
        cache: &job.request.caches.kernels,
        source_date_epoch: job.source_date_epoch,
    };
    let built = kernel::build_from_source(&source, observer)?;
    let detail = format!(
        "{}{}, {} requests overridden",
        built.release,
        if built.cached { " (cached)" } else { "" },
        built.unmet.len()
    );
    Ok((built, detail))
}

/// Runs the build scripts in the build tree; their outputs, and what their log says they
/// skipped.
fn run_build_scripts(
    job: &Job<'_>,
    tree: &BuildTree,
) -> Result<((BuildOutputs, Vec<NotBuilt>), String), Error> {
    let outputs = tree
        .run_build_scripts(job.config, &NamespaceSandbox)
        .map_err(|source| Error::Rootfs {
            stage: Stage::BuildScripts,
            source,
        })?;
    let log = std::fs::read_to_string(&outputs.log).at(&outputs.log)?;
    let not_built = skipped_components(&log);
    let detail = format!(
        "{} scripts, {} skipped (log: {})",
        job.config.content.build_scripts.len(),
        not_built.len(),
        outputs.log.display()
    );
    Ok(((BuildOutputs::Built(outputs), not_built), detail))
}

fn assemble_root(
    job: &Job<'_>,
    packages: &[LockedDeb],
    build_outputs: BuildOutputs,
    observer: &dyn Observer,
) -> Result<(Rootfs, String), Error> {
    observer.step(
        Stage::Assemble,
        &format!("{} packages, then the scripts", packages.len()),
    );
    let rootfs = rootfs_assembler::assemble(&AssembleOptions {
        config: job.config,
        output_name: job.output_name.clone(),
        packages,
        build_dir: job.work_dir.clone(),
        src_dir: job.src_dir.to_owned(),
        build_outputs,
        invoking_user: (0, 0),
        runner: &NamespaceSandbox,
    })
    .map_err(|source| Error::Rootfs {
        stage: Stage::Assemble,
        source,
    })?;
    let detail = format!(
        "{} packages, {} entries, {}",
        rootfs.manifest.packages.len(),
        rootfs.digest.entries.len(),
        human_bytes(rootfs.digest.total_size)
    );
    Ok((rootfs, detail))
}

/// The Debian kernel the image root holds, with how many of its modules it keeps.
fn installed_kernel(job: &Job<'_>, rootfs: &Rootfs) -> Result<(KernelImage, String), Error> {
    let package = match &job.request.resolve.kernel {
        KernelChoice::Package(package) => package.as_str(),
        KernelChoice::Source => "the build tree",
    };
    let kernel = kernel::installed(&rootfs.root, package)?;
    let modules = rootfs
        .report
        .kernel_modules
        .iter()
        .find(|m| m.release == kernel.release)
        .map_or_else(
            || ", no loadable modules".to_owned(),
            |m| format!(", {} of {} modules kept", m.kept.len(), m.total),
        );
    let detail = format!("{} from {package}{modules}", kernel.release);
    Ok((kernel, detail))
}

/// The whole root as one zstd-compressed cpio at `path`.
fn write_initrd(job: &Job<'_>, rootfs: &Rootfs, path: &Path) -> Result<((), String), Error> {
    let options = archive_options(job);
    let written = cpio_writer::write_archive_file(
        cpio_writer::DirectorySource::new(&rootfs.root),
        &options,
        path,
    )
    .map_err(|source| Error::RootArchive {
        what: "initrd",
        source,
    })?;
    Ok(((), archive_detail(&written, &options)))
}

/// The root as a zstd-compressed tar archive at `path`, as mkosi's `Format=tar` writes it:
/// the directories of API file systems and temporary files (`dev`, `proc`, `sys`, `run`,
/// `tmp`, `var/tmp`) are kept, empty.
fn write_tar(job: &Job<'_>, rootfs: &Rootfs, path: &Path) -> Result<((), String), Error> {
    const EMPTIED: [&[u8]; 6] = [b"dev/", b"proc/", b"sys/", b"run/", b"tmp/", b"var/tmp/"];
    let options = archive_options(job);
    let tar_error = |source| Error::RootArchive {
        what: "tar archive",
        source,
    };
    let entries: Vec<cpio_writer::Entry> =
        cpio_writer::EntrySource::entries(cpio_writer::DirectorySource::new(&rootfs.root))
            .map_err(tar_error)?
            .into_iter()
            .filter(|entry| {
                let name = entry.path.name();
                !EMPTIED.iter().any(|dir| name.starts_with(dir))
            })
            .collect();
    let written = cpio_writer::write_tar_file(entries, &options, path).map_err(tar_error)?;
    Ok(((), archive_detail(&written, &options)))
}

/// How the root's archives (initrd, tar) are written: zstd at `CompressLevel=` (3 by
/// default, as mkosi), owners as the root records them, mtimes clamped to the epoch.
fn archive_options(job: &Job<'_>) -> cpio_writer::ArchiveOptions {
    let level = job
        .config
        .output
        .compress_level
        .map_or(3, |l| i32::try_from(l).unwrap_or(19));
    cpio_writer::ArchiveOptions {
        source_date_epoch: job.source_date_epoch,
        owners: cpio_writer::Owners::AsRecorded,
        compression: cpio_writer::Compression::Zstd { level },
    }
}

/// `N entries, SIZE (zstd -LEVEL)` for the phase table.
fn archive_detail(
    written: &cpio_writer::ArchiveStats,
    options: &cpio_writer::ArchiveOptions,
) -> String {
    let level = match options.compression {
        cpio_writer::Compression::Zstd { level } => level,
        _ => 0,
    };
    format!(
        "{} entries, {} (zstd -{level})",
        written.members,
        human_bytes(written.output_bytes)
    )
}

/// Module dependencies that are neither loadable nor built in (mkosi warns and goes on).
fn module_warnings(rootfs: &Rootfs) -> Vec<String> {
    rootfs
        .report
        .kernel_modules
        .iter()
        .flat_map(|modules| {
            modules.missing_dependencies.iter().map(|missing| {
                format!(
                    "kernel {}: module dependency {missing} is neither a module nor built in",
                    modules.release
                )
            })
        })
        .collect()
}

/// The lock to build from: the lock file when it matches the definition, else a fresh
/// resolution written to it (unless the request says the lock must not change).
fn lock_for(
    request: &BuildRequest,
    prepared: &Prepared,
    lock_path: &Path,
    observer: &dyn Observer,
) -> Result<((Lock, LockUse), String), Error> {
    let existing = read_lock(lock_path)?;
    let LockOutcome { lock, origin } = resolve_with_lock(
        &prepared.config,
        &on_base_trees(prepared)?,
        existing.as_ref(),
        request.lock_mode,
        &request.caches.package_cache(),
        observer.downloads(),
    )
    .map_err(|source| Error::Archive {
        stage: Stage::Resolve,
        source,
    })?;
    let LockOrigin::Resolved { stale } = origin else {
        let used = LockUse::UpToDate(lock_path.to_owned());
        return Ok(((lock, used), "lock up to date".to_owned()));
    };
    write_lock(lock_path, &lock)?;
    let detail = format!("resolved; lock written ({})", stale.join("; "));
    let used = LockUse::Written {
        path: lock_path.to_owned(),
        stale,
    };
    Ok(((lock, used), detail))
}

/// The verified `.deb` files of `set` (the build set includes the image set).
fn locked_debs(debs: &[VerifiedDeb], set: PackageSet) -> Vec<LockedDeb> {
    debs.iter()
        .filter(|d| set == PackageSet::Build || d.set == PackageSet::Image)
        .map(|d| LockedDeb {
            id: d.id.clone(),
            path: d.path.clone(),
            sha256: d.sha256,
        })
        .collect()
}

/// Stitches the UKI from the image's own stub, os-release and the kernel; a stub without
/// room for the SBAT line keeps its own. Returns the stage's detail.
fn stitch_uki(
    config: &ImageConfig,
    rootfs: &Rootfs,
    kernel: &KernelImage,
    initrd_path: &Path,
    uki_path: &Path,
) -> Result<String, Error> {
    let read = |path: &Path| std::fs::read(path).at(path);
    let stub = read(&rootfs.root.join(STUB_PATH))?;
    let linux = read(&kernel.path)?;
    let initrd = read(initrd_path)?;
    let os_release_path = rootfs.root.join("usr/lib/os-release");
    let os_release = String::from_utf8(read(&os_release_path)?).map_err(|_| Error::NotUtf8 {
        path: os_release_path.clone(),
    })?;
    let mut inputs = uki_stitcher::UkiInputs {
        stub: &stub,
        linux: &linux,
        initrds: vec![&initrd],
        cmdline: Some(config.content.kernel_command_line.join(" ")),
        os_release: Some(
            uki_stitcher::OsRelease::parse(&os_release).map_err(|e| Error::Uki(e.into()))?,
        ),
        uname: Some(uki_stitcher::Uname::new(&kernel.release).map_err(Error::Uki)?),
        sbat: uki_stitcher::Sbat::uki_default(),
        splash: None,
        devicetree: None,
    };
    let mut detail = String::new();
    if let Err(uki_stitcher::Error::SbatDoesNotFit { .. }) = uki_stitcher::plan(&inputs) {
        inputs.sbat = uki_stitcher::Sbat::none();
        detail = "stub has no room for our SBAT line; ".to_owned();
    }
    uki_stitcher::write_uki_file(&inputs, uki_path).map_err(Error::Uki)?;
    let size = std::fs::metadata(uki_path).at(uki_path)?.len();
    Ok(format!("{detail}{}", human_bytes(size)))
}

/// Where systemd-boot-efi puts systemd-stub in the image.
const STUB_PATH: &str = "usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// The outputs' base name of `image` (`main` or a subimage's name), as mkosi names them:
/// `Output=` when set, else `<ImageId>_<ImageVersion>` for the main image (`image` without
/// `ImageId=`) and `<name>_<ImageVersion>` for a subimage.
pub fn image_name(config: &ImageConfig, image: &str) -> String {
    let name = output_name(config, image);
    match (&config.output.output, &config.output.image_version) {
        (None, Some(version)) => format!("{name}_{version}"),
        _ => name,
    }
}

/// mkosi's `Output=` of `image`: as set, else `ImageId=` (or `image`) for the main image and
/// the name of a subimage. A system extension's release file is named after it.
pub fn output_name(config: &ImageConfig, image: &str) -> String {
    if let Some(output) = &config.output.output {
        return output.clone();
    }
    match image {
        "main" => config
            .output
            .image_id
            .as_deref()
            .unwrap_or("image")
            .to_owned(),
        subimage => subimage.to_owned(),
    }
}

/// An output and its sha256: of the file, or of a directory (the image root of
/// `Format=directory`, or one a script made) its tree digest as published. Anything else (a
/// symlink a script left) is refused: its digest would describe what it points to.
fn artifact(path: &Path) -> Result<Artifact, Error> {
    let meta = std::fs::symlink_metadata(path).at(path)?;
    let sha256 = if meta.is_dir() {
        rootfs_assembler::tree_digest(path)
            .map_err(|source| Error::Rootfs {
                stage: Stage::Manifest,
                source,
            })?
            .sha256
    } else if meta.is_file() {
        Sha256::of_file(path).at(path)?
    } else {
        return Err(Error::UnexpectedOutput {
            path: path.to_owned(),
        });
    };
    Ok(Artifact {
        path: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
    })
}

/// The outputs a build made in the staging directory, the image first.
struct Made {
    paths: Vec<PathBuf>,
    /// How many of `paths`, after the image, are disks.
    disks: usize,
    /// The kernel in the image, for a UKI.
    kernel: Option<KernelRecord>,
}

impl Made {
    /// An image with nothing beside it and no kernel of its own.
    fn only(path: PathBuf) -> Self {
        Self {
            paths: vec![path],
            disks: 0,
            kernel: None,
        }
    }
}

/// The entries of `staging` in publishing order: `made` (the builder's own outputs) first in
/// their order, then what the scripts added, by name.
fn staged_outputs(staging: &Path, made: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut added: Vec<PathBuf> = std::fs::read_dir(staging)
        .at(staging)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .at(staging)?;
    added.retain(|path| !made.contains(path));
    added.sort();
    Ok(made.iter().cloned().chain(added).collect())
}

/// Moves each of `staged` into `output_dir` (each by one rename, replacing what was there),
/// then syncs `output_dir`. Returns the published paths, in order.
fn publish_staged(staged: &[PathBuf], output_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut published = Vec::with_capacity(staged.len());
    for staged in staged {
        let Some(file) = staged.file_name() else {
            continue;
        };
        let target = output_dir.join(file);
        if std::fs::symlink_metadata(&target).is_ok_and(|meta| meta.is_dir()) {
            std::fs::remove_dir_all(&target).at(&target)?;
        }
        std::fs::rename(staged, &target).at(&target)?;
        published.push(target);
    }
    std::fs::File::open(output_dir)
        .and_then(|dir| dir.sync_all())
        .at(output_dir)?;
    Ok(published)
}

/// The sha256 of each of `paths` that is a regular file (`None` for the others).
fn file_digests(paths: &[PathBuf]) -> Result<Vec<Option<Sha256>>, Error> {
    paths
        .iter()
        .map(|path| {
            if path.is_file() {
                Ok(Some(Sha256::of_file(path).at(path)?))
            } else {
                Ok(None)
            }
        })
        .collect()
}

/// Runs the tool scripts of `kind` for `job`, with `staging` as `/work/out`.
fn run_tool_scripts(
    job: &Job<'_>,
    kind: ToolScriptKind,
    staging: Option<&Path>,
    log: &Path,
) -> Result<((), String), Error> {
    let stage = match kind {
        ToolScriptKind::Sync => Stage::Sync,
        ToolScriptKind::PostOutput => Stage::PostOutput,
    };
    let scripts = match kind {
        ToolScriptKind::Sync => &job.config.content.sync_scripts,
        ToolScriptKind::PostOutput => &job.config.content.post_output_scripts,
    };
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).at(dir)?;
    }
    let context = ToolScriptContext {
        src_dir: job.src_dir.to_owned(),
        work: job.work_dir.join(kind.name()),
        output_dir: staging.map(Path::to_path_buf),
        invoking_user: (0, 0),
        cached: false,
        log: Some(log.to_owned()),
    };
    rootfs_assembler::scripts::run_tool_scripts(
        job.config,
        &context,
        kind,
        scripts,
        &NamespaceSandbox,
    )
    .map_err(|source| Error::Rootfs { stage, source })?;
    Ok(((), format!("{} scripts", scripts.len())))
}

/// Removes the directories and files in `paths` that exist.
fn remove_work_trees(paths: &[PathBuf]) -> Result<(), Error> {
    for path in paths {
        let removed = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(_) => continue,
        };
        removed.at(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_outputs_publish_in_order_and_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (staging, output) = (dir.path().join("staging"), dir.path().join("out"));
        std::fs::create_dir_all(staging.join("root/etc")).unwrap();
        std::fs::create_dir_all(output.join("root/old")).unwrap();
        std::fs::write(staging.join("image.efi"), b"uki").unwrap();
        std::fs::write(staging.join("SHA256SUMS"), b"sums").unwrap();
        std::fs::write(staging.join("root/etc/os-release"), b"ID=debian\n").unwrap();
        let made = [staging.join("image.efi"), staging.join("root")];
        let staged = staged_outputs(&staging, &made).unwrap();
        assert_eq!(
            staged,
            [
                staging.join("image.efi"),
                staging.join("root"),
                staging.join("SHA256SUMS")
            ]
        );
        let artifacts: Vec<Artifact> = staged.iter().map(|p| artifact(p).unwrap()).collect();
        assert_eq!(artifacts[0].sha256, Sha256::of(b"uki"));
        assert_eq!(
            artifacts[1].sha256,
            rootfs_assembler::tree_digest(&staging.join("root"))
                .unwrap()
                .sha256
        );
        let published = publish_staged(&staged, &output).unwrap();
        assert_eq!(published[2], output.join("SHA256SUMS"));
        // A directory output replaces the old one whole.
        assert!(output.join("root/etc/os-release").is_file());
        assert!(!output.join("root/old").exists());
        assert!(std::fs::read_dir(&staging).unwrap().next().is_none());

        // A symlink a script left is refused before anything is published.
        std::os::unix::fs::symlink("/dev/zero", staging.join("zero")).unwrap();
        let err = artifact(&staging.join("zero")).unwrap_err();
        assert!(matches!(err, Error::UnexpectedOutput { .. }), "{err}");
    }

    #[test]
    fn outputs_are_compared_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let (file, sub) = (dir.path().join("disk.raw"), dir.path().join("tree"));
        std::fs::write(&file, b"before").unwrap();
        std::fs::create_dir(&sub).unwrap();
        let paths = [file.clone(), sub];
        let before = file_digests(&paths).unwrap();
        assert_eq!(before[1], None);
        std::fs::write(&file, b"after").unwrap();
        assert_ne!(file_digests(&paths).unwrap(), before);
    }
}
