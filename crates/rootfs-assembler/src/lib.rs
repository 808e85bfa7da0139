//! Turns a lock plus verified `.deb` files into a Debian root filesystem directory, the way
//! mkosi and mmdebstrap would, reproducibly.
//!
//! # Goals
//! - **Debian installs Debian.** Packages are unpacked and configured by the target's own
//!   `dpkg`, so maintainer scripts run as Debian intends (users created, CA bundle built,
//!   alternatives set); only the bootstrap of the Essential set is unpacked in Rust.
//! - **Existing mkosi definitions run unchanged**: skeleton and extra trees, prepare,
//!   post-installation and finalize scripts with mkosi's environment, `mkosi-chroot`,
//!   `.chroot` scripts, `useradd`/`groupadd`, `RemovePackages=`, `RemoveFiles=`,
//!   `CleanPackageMetadata=`.
//! - **Nothing escapes the build directory.** Archive entries that would land outside the
//!   root are refused; everything that runs runs in a private mount namespace that dies with
//!   it, chrooted into the image or with the host read-only.
//! - **Same inputs, same tree.** Every known source of non-determinism in a Debian root is
//!   removed or normalised; a tree digest names the result and a differ says where two
//!   results part.
//!
//! # A tour
//! - [`deb`]: [`LockedDeb`] (the input: name, version, architecture, verified path),
//!   [`deb::read_deb`] (control data, conffiles, md5sums) and [`deb::extract_deb_data`];
//!   [`unpack`] holds the path checks and the safe extraction, [`filter`] dpkg's
//!   `path-exclude=` rules, [`control`] deb822 parsing.
//! - [`user_namespace`]: builds without root, as root of a user namespace with the user's
//!   subordinate ids.
//! - [`sandbox`]: the [`CommandRunner`] seam and the bubblewrap sandbox
//!   ([`sandbox::plan()`] is pure, `sandbox::child` and [`user_namespace`] hold the crate's only `unsafe`).
//! - [`install`]: bootstrap and the target's dpkg; [`install::plan_install`] is the pure
//!   batch plan.
//! - [`kernel_modules`]: `KernelModules=` (mkosi's filter, the dependency closure, the
//!   image's `depmod`) and the check that the finished image still has what it kept.
//! - [`trees`], [`scripts`] (the environment table, `mkosi-chroot`), [`normalise`],
//!   [`manifest`] (mkosi's JSON), [`digest`] (tree digest and differ).
//! - [`assemble()`] runs it all in mkosi's order and returns a [`Rootfs`];
//!   [`build_tree`] is the root in which build scripts (and kernel builds) run;
//!   [`root_cache`] keeps finished build trees for later builds with the same inputs.
//!
//! ```no_run
//! use rootfs_assembler::{
//!     AssembleOptions, BuildOutputs, LockedDeb, NamespaceSandbox, Rootfs, assemble,
//! };
//!
//! /// `packages` come from deb-resolver's fetch, in installation order.
//! fn build(
//!     config: &config_model::ImageConfig,
//!     packages: &[LockedDeb],
//! ) -> Result<Rootfs, rootfs_assembler::Error> {
//!     let rootfs = assemble(&AssembleOptions {
//!         config,
//!         output_name: "image".into(),
//!         packages,
//!         build_dir: "/var/tmp/flashbox-build".into(),
//!         src_dir: "/src/flashbox".into(),
//!         build_outputs: BuildOutputs::Skip,
//!         invoking_user: (0, 0),
//!         runner: &NamespaceSandbox,
//!     })?;
//!     println!("{} packages, tree {}", rootfs.manifest.packages.len(), rootfs.digest.sha256);
//!     Ok(rootfs)
//! }
//! ```
//!
//! Every command that acts on the image (dpkg, scripts, `depmod`) runs through a
//! [`CommandRunner`]: [`NamespaceSandbox`] is the real one and needs root and bubblewrap
//! (namespaces, file ownership), which its preflight says up front, before any work;
//! `sandbox::RecordingRunner` (feature `recording-runner`) records commands instead, so what
//! install, scripts and assembly decide to run is tested without root.

pub mod assemble;
pub mod base_trees;
pub mod build_dir;
pub mod build_tree;
pub mod control;
pub mod deb;
pub mod digest;
pub mod error;
pub mod filter;
pub mod install;
pub mod kernel_modules;
pub mod manifest;
pub mod mkfs;
pub mod normalise;
pub mod release_files;
pub mod root_cache;
pub mod sandbox;
pub mod scripts;
#[cfg(test)]
mod test_support;
pub mod trees;
pub mod unpack;
pub mod user_namespace;

pub use assemble::{AssembleOptions, AssembleReport, BuildOutputs, Rootfs, assemble};
pub use build_dir::{BuildLayout, checked_inputs};
pub use build_tree::{
    BuildScriptOutputs, BuildTree, BuildTreeOptions, TreeOrigin, assemble_build_tree,
};
pub use deb::LockedDeb;
pub use digest::{Difference, TreeDigest, first_difference, tree_digest};
pub use error::{Error, require_root};
pub use manifest::Manifest;
pub use root_cache::{CacheKey, RootCache};
pub use sandbox::{CommandRunner, NamespaceSandbox};
