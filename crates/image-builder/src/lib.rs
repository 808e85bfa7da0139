//! The image pipeline as a library: an mkosi tree in; a reproducible UKI, the cloud disks of
//! its profiles and a typed manifest out.
//!
//! Each stage is one call into the crate that owns the job ([`Stage`] lists them in order):
//! config-model reads the tree, deb-resolver resolves (reusing the lock file when it still
//! matches) and fetches verified packages, rootfs-assembler assembles the build tree, runs
//! the build scripts and assembles the image root, kernel-builder provides the kernel,
//! cpio-writer writes the initrd, uki-stitcher the UKI and repart-gpt the disks. This crate
//! decides what the stages get: the kernel choice ([`KernelChoice`]), where caches and lock
//! files live ([`CacheLayout`], [`LockName`]), and what the [`Manifest`] records.
//!
//! A front end builds a [`BuildRequest`], passes an [`Observer`] for progress and prints
//! what [`build`] returns:
//!
//! ```no_run
//! use image_builder::{
//!     BuildRequest, CacheLayout, Definition, LockMode, OutputDirectory, ResolveRequest, Silent,
//! };
//!
//! fn main() -> Result<(), image_builder::Error> {
//!     let request = BuildRequest {
//!         resolve: ResolveRequest::new(Definition::image("/src/flashboxes", "my-image")),
//!         lock_mode: LockMode::Update,
//!         // The definition's OutputDirectory=, else this.
//!         output_dir: OutputDirectory::Definition {
//!             fallback: "/src/flashboxes/build".into(),
//!         },
//!         caches: CacheLayout::for_user()?,
//!         tdx_firmware: None,
//!     };
//!     let built = image_builder::build(&request, &Silent)?;
//!     println!("{}: {} packages", built.output.display(), built.manifest.packages.len());
//!     for stage in &built.stages {
//!         println!("{:<14} {:>6.1}s  {}", stage.stage.name(), stage.took.as_secs_f64(), stage.detail);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! [`prepare`] and [`resolve_afresh`] are the first stages alone, for tools that only lock or
//! explain a definition (`why`).
//!
//! Modules: [`request`] (what is asked), [`layout`] (caches, lock names), [`prepare`] (the
//! configuration as a build resolves it), [`pipeline`] (the stages), [`kernel`], [`disks`],
//! [`skipped`] (components the build scripts could not build), [`manifest`], [`stage`]
//! (stages and the observer), [`error`].

pub mod disks;
pub mod error;
mod extension;
pub mod kernel;
pub mod layout;
pub mod manifest;
pub mod measure;
pub mod pipeline;
pub mod prepare;
pub mod request;
pub mod skipped;
pub mod stage;

pub use deb_resolver::LockMode;
pub use error::Error;
pub use layout::{CacheLayout, LockName};
pub use manifest::Manifest;
pub use pipeline::{BuiltImage, LockUse, build, build_all, image_name};
pub use prepare::{Prepared, prepare, prepare_loaded, read_lock, resolve_afresh, write_lock};
pub use request::{
    ArchiveChoice, BuildRequest, Definition, KernelChoice, OutputDirectory, ResolveRequest,
};
/// Builds without root: a front end calls [`become_root`] first thing (see
/// `rootfs_assembler::user_namespace`), and goes on when it says [`Root::Now`].
pub use rootfs_assembler::user_namespace::{Root, become_root};
pub use stage::{Observer, Silent, Stage, StageReport};
