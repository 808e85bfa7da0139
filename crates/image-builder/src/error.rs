//! The one error type of the pipeline: which stage failed, with the crate error that says why.
//!
//! Messages name the stage or the file; the cause is the `#[source]`, never repeated in the
//! message, so a cause-chain printer shows each fact once.

use std::path::PathBuf;

use crate::stage::Stage;
use build_vocab::PathError;

/// Why a build, a resolution or a lock file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image definition could not be read.
    #[error("reading the image definition")]
    Definition(#[source] config_model::ConfigError),
    /// The definition sets what this builder does not implement (settings that change the
    /// image, a `Format=` it does not write): building would give another image than the
    /// one asked for.
    #[error(
        "the definition asks for what this builder does not implement, so it would build \
         another image than the one asked for:\n  {}",
        unimplemented.join("\n  ")
    )]
    Unimplemented {
        /// One line per setting: `Name=` at its location and what it changes.
        unimplemented: Vec<String>,
    },
    /// A post-output script changed one of the builder's outputs (the UKI, a disk, the
    /// measurements), which the manifest and the measurements describe as made.
    #[error("a post-output script changed {}: scripts may add outputs, not change the builder's, which the measurements describe", path.display())]
    OutputChanged {
        /// The output.
        path: PathBuf,
    },
    /// The staging directory holds something that is neither a regular file nor a directory
    /// (a symlink a script left), which no digest would describe.
    #[error("{}: an output must be a regular file or a directory", path.display())]
    UnexpectedOutput {
        /// The entry.
        path: PathBuf,
    },
    /// A value the pipeline adds to the definition (the kernel package, a kernel source
    /// package) is not a valid package specification.
    #[error("the package `{package}` the pipeline adds is not a valid package name")]
    AddedPackage {
        /// The package as the pipeline wrote it.
        package: String,
        /// Why config-model refused it.
        #[source]
        source: config_model::value::ValueError,
    },
    /// Resolving, fetching or reading the archive failed.
    #[error("{stage}")]
    Archive {
        /// The stage that talked to the archive.
        stage: Stage,
        /// What went wrong.
        #[source]
        source: deb_resolver::Error,
    },
    /// A lock file could not be read or parsed.
    #[error("reading the lock file {}", path.display())]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: deb_resolver::Error,
    },
    /// Assembling the build tree or the image root failed.
    #[error("{stage}")]
    Rootfs {
        /// The stage that assembled.
        stage: Stage,
        /// What went wrong.
        #[source]
        source: rootfs_assembler::Error,
    },
    /// Finding, building or reading the kernel failed.
    #[error("{stage}")]
    Kernel {
        /// The kernel stage.
        stage: Stage,
        /// What went wrong.
        #[source]
        source: kernel_builder::KernelError,
    },
    /// The kernel source package the source build needs is not in the lock's build set.
    #[error("{package} is not in the lock's build set: the lock was made for another kernel")]
    KernelSourceNotLocked {
        /// `linux-source-X.Y`.
        package: String,
    },
    /// Writing an archive of the root (the initrd, or the `Format=tar` output) failed.
    #[error("writing the {what}")]
    RootArchive {
        /// `initrd` or `tar archive`.
        what: &'static str,
        /// What cpio-writer reported.
        #[source]
        source: cpio_writer::Error,
    },
    /// Stitching the UKI failed.
    #[error("stitching the UKI")]
    Uki(#[source] uki_stitcher::Error),
    /// Writing a disk image failed.
    #[error("writing the disk images")]
    Disk(#[source] repart_gpt::Error),
    /// The UKI's measurements could not be predicted.
    #[error("predicting the UKI's measurements")]
    Measure(#[source] tdx_measure::Error),
    /// A TDX firmware image could not be measured.
    #[error("measuring the TDX firmware {}", path.display())]
    Firmware {
        /// The image.
        path: PathBuf,
        /// Why.
        source: tdx_measure::Error,
    },
    /// `Verity=` asks for what the configuration cannot give.
    #[error("Verity=: {reason}")]
    Verity {
        /// What is missing.
        reason: String,
    },
    /// Disk images derive their ids from the seed, which must be fixed.
    #[error("disk images need a fixed Seed= for reproducible ids")]
    NoFixedSeed,
    /// `/usr/lib/os-release` of the image is not UTF-8.
    #[error("{} is not UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A manifest is not JSON of the manifest's shape.
    #[error("not a builder manifest")]
    ManifestSyntax(#[source] serde_json::Error),
    /// A manifest of another builder manifest version.
    #[error(
        "builder manifest version {found}; this library reads version {}",
        crate::manifest::BUILDER_MANIFEST_VERSION
    )]
    ManifestVersion {
        /// The version the manifest says it is.
        found: u32,
    },
    /// No cache directory: neither `XDG_CACHE_HOME` nor `HOME` is set.
    #[error("no cache directory: set HOME or XDG_CACHE_HOME, or give one")]
    NoCacheDirectory,
    /// An output file could not be published (written whole, synced, renamed).
    #[error(transparent)]
    Publish(#[from] build_vocab::Error),
    /// An I/O error on a file or directory.
    #[error(transparent)]
    Io(#[from] PathError),
}

impl Error {}
