//! What a caller asks for: which definition, which kernel, which archive, where outputs and
//! caches go. Plain data; [`crate::prepare`] and [`crate::build`] act on it.

use std::path::{Path, PathBuf};

use config_model::{Host, LoadOptions, Override};
use deb_resolver::LockMode;

use crate::layout::{CacheLayout, LockName};

/// An image definition: an mkosi tree and how it is read, as mkosi's own flags say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The tree (`--directory`), absolute.
    pub directory: PathBuf,
    /// An image of the tree's `images/` directory: `images/<name>.conf` is included first,
    /// and the default lock is named after it (see [`LockName`]).
    pub image: Option<String>,
    /// More files or directories to include, relative to the tree (`--include`).
    pub includes: Vec<PathBuf>,
    /// Profiles to enable (`--profile`).
    pub profiles: Vec<String>,
    /// `ImageId=` from the command line.
    pub image_id: Option<String>,
    /// `Environment=` assignments from the command line (`NAME=VALUE`).
    pub environment: Vec<String>,
    /// `ExtraTrees=` from the command line (`SOURCE[:TARGET]`, SOURCE absolute).
    pub extra_trees: Vec<String>,
    /// `Mirror=` from the command line (mkosi's `--mirror`).
    pub mirror: Option<String>,
    /// The host facts `[Match]` sections are evaluated against.
    pub host: Host,
}

impl Definition {
    /// The tree at `directory` (no image, include, profile or override), read on this host.
    pub fn tree(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            image: None,
            includes: Vec::new(),
            profiles: Vec::new(),
            image_id: None,
            environment: Vec::new(),
            extra_trees: Vec::new(),
            mirror: None,
            host: Host::detect(),
        }
    }

    /// The image `name` of the tree at `directory` (`images/<name>.conf`).
    pub fn image(directory: impl Into<PathBuf>, name: &str) -> Self {
        Self {
            image: Some(name.to_owned()),
            ..Self::tree(directory)
        }
    }

    /// The path of the image's own configuration file, when an image is named.
    pub fn image_file(&self) -> Option<PathBuf> {
        let name = self.image.as_ref()?;
        Some(Path::new("images").join(format!("{name}.conf")))
    }

    /// What config-model's loader gets: the image's file first, then the includes; profiles,
    /// `ImageId=`, the environment, the extra trees and the mirror as command-line overrides.
    pub fn load_options(&self) -> LoadOptions {
        let includes = self
            .image_file()
            .into_iter()
            .chain(self.includes.iter().cloned())
            .collect();
        let overrides = self
            .profiles
            .iter()
            .map(|profile| Override::new("Profiles", profile))
            .chain(self.image_id.iter().map(|id| Override::new("ImageId", id)))
            .chain(
                self.environment
                    .iter()
                    .map(|assignment| Override::new("Environment", assignment)),
            )
            .chain(
                self.extra_trees
                    .iter()
                    .map(|tree| Override::new("ExtraTrees", tree)),
            )
            .chain(
                self.mirror
                    .iter()
                    .map(|mirror| Override::new("Mirror", mirror)),
            )
            .collect();
        LoadOptions {
            directory: self.directory.clone(),
            includes,
            overrides,
            host: self.host.clone(),
        }
    }
}

/// Where the image's kernel comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChoice {
    /// A Debian kernel package, added to the image's packages (the fast default). A modular
    /// kernel keeps the modules `KernelModules=` selects.
    Package(String),
    /// Built by kernel-builder from Debian's `linux-source-X.Y` (X.Y from the definition's
    /// `KERNEL_VERSION`) in the build tree, with the definition's config fragments and
    /// patches; `linux-source-X.Y` and `linux-config-X.Y` join the build packages.
    Source,
}

impl KernelChoice {
    /// Debian's cloud kernel, the default.
    pub fn default_package() -> Self {
        Self::Package("linux-image-cloud-amd64".to_owned())
    }
}

/// Which Debian archive a build reads, besides what the definition says (`Mirror=` wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveChoice {
    /// The root whose apt configuration names the archives when `Mirror=` is unset (`/`).
    pub apt_root: PathBuf,
    /// The snapshot service's base URL (archives under `<base>/archive/debian/<id>/`): read
    /// for `Snapshot=` when `Mirror=` is unset, and for locked files the mirror no longer
    /// serves. Without it (and without `Mirror=`) `Snapshot=` is not followed, with a
    /// warning, and such files cannot be fetched.
    pub snapshot_service: Option<String>,
}

impl Default for ArchiveChoice {
    fn default() -> Self {
        Self {
            apt_root: PathBuf::from("/"),
            snapshot_service: None,
        }
    }
}

/// What is resolved: everything that changes the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// The definition.
    pub definition: Definition,
    /// The kernel.
    pub kernel: KernelChoice,
    /// The archive.
    pub archive: ArchiveChoice,
    /// The lock file; `None` for [`LockName::default_path`].
    pub lock_file: Option<PathBuf>,
}

impl ResolveRequest {
    /// The definition with the default kernel and archive and its default lock file.
    pub fn new(definition: Definition) -> Self {
        Self {
            definition,
            kernel: KernelChoice::default_package(),
            archive: ArchiveChoice::default(),
            lock_file: None,
        }
    }

    /// The lock file this request reads and writes.
    pub fn lock_path(&self) -> PathBuf {
        self.lock_file
            .clone()
            .unwrap_or_else(|| LockName::new(&self.definition, &self.kernel).default_path())
    }
}

/// Where a build's outputs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputDirectory {
    /// This directory, whatever the definition says (`--output-dir`).
    Given(PathBuf),
    /// The definition's `OutputDirectory=`, as mkosi writes there, or `fallback` when it
    /// sets none.
    Definition {
        /// Where outputs go when the definition names no directory.
        fallback: PathBuf,
    },
}

impl OutputDirectory {
    /// The directory for a build of `config`.
    pub fn for_config(&self, config: &config_model::ImageConfig) -> PathBuf {
        match self {
            Self::Given(dir) => dir.clone(),
            Self::Definition { fallback } => config
                .output
                .output_directory
                .clone()
                .unwrap_or_else(|| fallback.clone()),
        }
    }
}

/// Everything [`crate::build`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// What is resolved.
    pub resolve: ResolveRequest,
    /// Whether an out-of-date lock is resolved again ([`LockMode::Update`]) or refused.
    pub lock_mode: LockMode,
    /// Where the UKI, its manifest and the disks go (created when missing); the work tree
    /// `.work-<name>/` with the logs is made there too.
    pub output_dir: OutputDirectory,
    /// The caches.
    pub caches: CacheLayout,
    /// The TDX firmware whose MRTD the measurements report (none: MRTD is not computed).
    pub tdx_firmware: Option<crate::measure::TdxFirmware>,
}
