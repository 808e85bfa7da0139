//! The manifest written next to every UKI (`<name>.manifest`, JSON): what was built, from
//! what, and what was left out.
//!
//! It extends mkosi's JSON manifest: `manifest_version` (1, mkosi's), `config` and `packages`
//! are mkosi's fields, so tools that read mkosi manifests read these. Everything else is this
//! builder's, versioned by [`Manifest::builder_manifest_version`] ([`BUILDER_MANIFEST_VERSION`]):
//! a reader refuses a version it does not know; fields are only added in a new version.
//! Reproducible fields only: no time, host or user.

use std::collections::BTreeSet;
use std::path::PathBuf;

use build_vocab::Sha256;
pub use rootfs_assembler::TreeOrigin;
use rootfs_assembler::manifest::{ManifestConfig, ManifestPackage};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::skipped::NotBuilt;

/// The version of this builder's manifest fields.
pub const BUILDER_MANIFEST_VERSION: u32 = 2;

/// The manifest of one built image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// mkosi's manifest version (1).
    pub manifest_version: u32,
    /// The version of the fields below `packages` ([`BUILDER_MANIFEST_VERSION`]).
    pub builder_manifest_version: u32,
    /// mkosi's: the image's name, version, architecture, distribution and release.
    pub config: ManifestConfig,
    /// mkosi's: every installed package, sorted by name.
    pub packages: Vec<ManifestPackage>,
    /// The digest of the image root (rootfs-assembler's tree digest).
    pub rootfs_tree_sha256: Sha256,
    /// The kernel in the UKI (none for images of other formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelRecord>,
    /// The lock the build used.
    pub lock: LockRecord,
    /// The files written, UKI first.
    pub artifacts: Vec<Artifact>,
    /// How the build tree came to be, when the build had one.
    pub build_tree: Option<TreeOrigin>,
    /// Components the build scripts skipped (see [`crate::skipped`]).
    pub not_built: Vec<NotBuilt>,
    /// The modules kept of each modular kernel in the image.
    pub kernel_modules: Vec<KernelModules>,
    /// `VolatilePackages=` entries no `.deb` of the build scripts matched.
    pub volatile_packages_missing: Vec<String>,
}

/// The kernel in the UKI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelRecord {
    /// `uname -r` of the kernel (its `.uname` section).
    pub release: String,
    /// Where it came from: the Debian package, or the source build and its cache key.
    pub origin: String,
}

/// The lock a build used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// The lock file.
    pub path: PathBuf,
    /// The hash of the request the lock answers (deb-resolver's `LockRequest` hash).
    pub request_sha256: String,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The file name, in the output directory.
    pub path: String,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256,
}

/// The modules kept of one modular kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelModules {
    /// The kernel release.
    pub release: String,
    /// Whether `KernelModules=` filtered them (else every module stayed).
    pub filtered: bool,
    /// How many loadable modules the kernel came with.
    pub total: usize,
    /// The modules kept, relative to the kernel's modules directory.
    pub kept: BTreeSet<String>,
    /// `module -> dependency` pairs where the dependency is neither loadable nor built in.
    pub missing_dependencies: Vec<String>,
}

impl From<&rootfs_assembler::kernel_modules::Selection> for KernelModules {
    fn from(selection: &rootfs_assembler::kernel_modules::Selection) -> Self {
        Self {
            release: selection.release.clone(),
            filtered: selection.filtered,
            total: selection.total,
            kept: selection.kept.clone(),
            missing_dependencies: selection.missing_dependencies.clone(),
        }
    }
}

impl Manifest {
    /// The manifest as JSON, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serialises")
    }

    /// Reads a manifest, refusing a builder version this library does not know.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let manifest: Self = serde_json::from_str(text).map_err(Error::ManifestSyntax)?;
        if manifest.builder_manifest_version != BUILDER_MANIFEST_VERSION {
            return Err(Error::ManifestVersion {
                found: manifest.builder_manifest_version,
            });
        }
        Ok(manifest)
    }
}
