//! The layout of a build directory (the root while it is built and when done, the work
//! directory with the logs, the script directories, the manifest and the tree digest) and
//! the settings every root needs, checked before anything is written. Shared by the image
//! root ([`crate::assemble()`]) and the build tree ([`crate::build_tree`]).

use std::fs;
use std::path::{Path, PathBuf};

use build_vocab::AtPath;
use config_model::{Distribution, ImageConfig};

use crate::error::Error;
use crate::install::InstallOptions;
use crate::scripts::ScriptContext;

/// The layout of a build directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildLayout {
    /// The finished root.
    pub root: PathBuf,
    /// The root while it is built.
    pub partial_root: PathBuf,
    /// Scratch space (sandbox view, helpers, staged packages, logs).
    pub work: PathBuf,
    /// `$OUTPUTDIR`.
    pub output_dir: PathBuf,
    /// `$PACKAGEDIR`.
    pub package_dir: PathBuf,
    /// `$ARTIFACTDIR`.
    pub artifact_dir: PathBuf,
    /// The JSON manifest.
    pub manifest: PathBuf,
    /// The tree digest listing.
    pub digest: PathBuf,
}

impl BuildLayout {
    /// The layout below `build_dir`.
    pub fn new(build_dir: &Path) -> Self {
        Self {
            root: build_dir.join("root"),
            partial_root: build_dir.join("root.partial"),
            work: build_dir.join("work"),
            output_dir: build_dir.join("out"),
            package_dir: build_dir.join("packages"),
            artifact_dir: build_dir.join("artifacts"),
            manifest: build_dir.join("manifest.json"),
            digest: build_dir.join("tree-digest.txt"),
        }
    }

    /// The logs that the steps of an assembly write as they go (dpkg's, the scripts'), for
    /// a caller that shows progress.
    pub fn logs(&self) -> Vec<PathBuf> {
        ["dpkg.log", "scripts.log", "prepare.log"]
            .into_iter()
            .map(|name| self.work.join("logs").join(name))
            .collect()
    }

    /// The layout below `build_dir`, with a new empty partial root and work directory (any
    /// left by an earlier run removed) and the script directories created.
    pub fn fresh(build_dir: &Path, source_date_epoch: u64) -> Result<Self, Error> {
        let layout = Self::new(build_dir);
        // `$PACKAGEDIR` too: `VolatilePackages=` must not pick up an earlier run's .debs.
        for dir in [&layout.partial_root, &layout.work, &layout.package_dir] {
            if fs::symlink_metadata(dir).is_ok() {
                fs::remove_dir_all(dir).at(dir)?;
            }
        }
        for dir in [
            &layout.partial_root,
            &layout.work,
            &layout.output_dir,
            &layout.package_dir,
            &layout.artifact_dir,
        ] {
            fs::create_dir_all(dir).at(dir)?;
        }
        crate::unpack::apply_metadata(
            &layout.partial_root,
            false,
            0o755,
            0,
            0,
            source_date_epoch,
            true,
        )?;
        Ok(layout)
    }

    /// How packages are installed into the partial root.
    pub fn install_options(&self, architecture: &str, source_date_epoch: u64) -> InstallOptions {
        InstallOptions {
            root: self.partial_root.clone(),
            work: self.work.clone(),
            architecture: architecture.into(),
            source_date_epoch,
        }
    }

    /// The scripts' view of this layout while the root is being built.
    pub fn script_context(
        &self,
        config: &ImageConfig,
        src_dir: &Path,
        source_date_epoch: u64,
        invoking_user: (u32, u32),
        log: PathBuf,
    ) -> ScriptContext {
        ScriptContext {
            root: self.partial_root.clone(),
            src_dir: src_dir.to_path_buf(),
            output_dir: self.output_dir.clone(),
            package_dir: self.package_dir.clone(),
            artifact_dir: self.artifact_dir.clone(),
            build_dir: config.build.build_directory.clone(),
            dest_dir: None,
            work: self.work.clone(),
            source_date_epoch,
            invoking_user,
            log: Some(log),
        }
    }

    /// Renames the partial root to the final one, replacing an earlier root.
    pub fn finish_root(&self) -> Result<(), Error> {
        if fs::symlink_metadata(&self.root).is_ok() {
            fs::remove_dir_all(&self.root).at(&self.root)?;
        }
        Ok(fs::rename(&self.partial_root, &self.root).at(&self.root)?)
    }
}

/// The settings every root needs, checked before anything is written: `SourceDateEpoch=`, a
/// dpkg-based `Distribution=` and a Debian `Architecture=` (returned as its Debian name).
pub fn checked_inputs(config: &ImageConfig) -> Result<(u64, &'static str), Error> {
    let source_date_epoch = config.content.source_date_epoch.ok_or(Error::Config {
        setting: "SourceDateEpoch",
        reason: "not set; a reproducible root needs it (Flashbox uses 0)".into(),
    })?;
    match config.distribution.distribution {
        Some(Distribution::Debian | Distribution::Ubuntu | Distribution::Kali) => {}
        other => {
            return Err(Error::Config {
                setting: "Distribution",
                reason: format!(
                    "{} is not a dpkg-based distribution",
                    other.map_or("(not set)", |d| d.as_str())
                ),
            });
        }
    }
    let architecture = config
        .distribution
        .architecture
        .and_then(|a| a.debian_name())
        .ok_or(Error::Config {
            setting: "Architecture",
            reason: "not set, or not an architecture Debian has".into(),
        })?;
    Ok((source_date_epoch, architecture))
}
