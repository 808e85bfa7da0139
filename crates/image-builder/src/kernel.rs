//! The kernel that goes into the UKI: kernel-builder's source build in the build tree (its
//! cache key taken from the lock), or the Debian kernel installed in the image root.

use std::path::{Path, PathBuf};

use config_model::ImageConfig;
use deb_resolver::Lock;
use deb_resolver::lock::{LockedPackage, PackageSet};
use kernel_builder::source::{BuiltKernel, SourceBuild, SourceInputs};
use rootfs_assembler::BuildTree;

use crate::error::Error;
use crate::stage::{Observer, Stage};

/// The kernel that goes into the UKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelImage {
    /// `uname -r`.
    pub release: String,
    /// The kernel image file.
    pub path: PathBuf,
    /// The Debian package, or the source build and its cache key.
    pub origin: String,
}

impl From<&BuiltKernel> for KernelImage {
    fn from(built: &BuiltKernel) -> Self {
        Self {
            release: built.release.clone(),
            path: built.bzimage.clone(),
            origin: format!("built from linux-source (cache key {})", built.key),
        }
    }
}

/// The Debian kernel installed in `root`, from `package`.
pub(crate) fn installed(root: &Path, package: &str) -> Result<KernelImage, Error> {
    let kernel = kernel_builder::debian::find_installed_kernel(root, None).map_err(|source| {
        Error::Kernel {
            stage: Stage::Kernel,
            source,
        }
    })?;
    Ok(KernelImage {
        release: kernel.release,
        path: kernel.vmlinuz,
        origin: package.to_owned(),
    })
}

/// What a source build of the kernel works with.
pub(crate) struct SourceKernel<'a> {
    /// The configuration (its environment names the series, fragments and patches).
    pub config: &'a ImageConfig,
    /// The tree the fragments and patches are read from.
    pub src_dir: &'a Path,
    /// The build tree the kernel is built in.
    pub tree: &'a BuildTree,
    /// The lock: the source package and the toolchain by version and sha256.
    pub lock: &'a Lock,
    /// The build's work directory (the log and the scratch tree go there).
    pub work_dir: &'a Path,
    /// The cache of built kernels.
    pub cache: &'a Path,
    /// SOURCE_DATE_EPOCH of the build.
    pub source_date_epoch: u64,
}

/// Builds the kernel from `linux-source-X.Y` in the build tree, or takes it from the cache.
/// The cache key names the source package and every other build package by version and
/// sha256, as the lock records them.
pub(crate) fn build_from_source(
    job: &SourceKernel<'_>,
    observer: &dyn Observer,
) -> Result<BuiltKernel, Error> {
    let SourceKernel {
        config,
        src_dir,
        tree,
        lock,
        work_dir,
        cache,
        source_date_epoch,
    } = *job;
    let kernel_error = |source| Error::Kernel {
        stage: Stage::KernelBuild,
        source,
    };
    let environment = &config.build.environment;
    let series = kernel_builder::source::series(environment).map_err(kernel_error)?;
    let [source_package, _] = kernel_builder::source::required_packages(&series);
    let identity =
        |p: &LockedPackage| format!("{} {} {} {}", p.name, p.version, p.architecture, p.sha256);
    let source_version = lock
        .packages_in(PackageSet::Build)
        .find(|p| p.name == source_package)
        .map(identity)
        .ok_or_else(|| Error::KernelSourceNotLocked {
            package: source_package.clone(),
        })?;
    let toolchain: String = lock
        .packages_in(PackageSet::Build)
        .filter(|p| p.name != source_package)
        .map(|p| identity(p) + "\n")
        .collect();
    let inputs = SourceInputs::read(
        environment,
        src_dir,
        &tree.root,
        &source_version,
        &toolchain,
        source_date_epoch,
    )
    .map_err(kernel_error)?;
    let log = kernel_log(work_dir);
    observer.note(&format!(
        "linux-source-{series} {source_version}, {} fragments, {} patches; log: {}",
        inputs.fragments.len(),
        inputs.patches.len(),
        log.display()
    ));
    kernel_builder::source::build(&SourceBuild {
        inputs: &inputs,
        tree,
        scratch: work_dir.join("kernel"),
        cache: cache.to_owned(),
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        log,
        on_step: &|step| observer.step(Stage::KernelBuild, step),
        runner: &rootfs_assembler::NamespaceSandbox,
    })
    .map_err(kernel_error)
}

/// The log of the source build.
pub(crate) fn kernel_log(work_dir: &Path) -> PathBuf {
    work_dir.join("kernel-build.log")
}
