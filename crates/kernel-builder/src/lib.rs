//! The image's kernel: taken from a Debian `linux-image-*` package, or built from source.
//!
//! # Goals
//! - Make the kernel configuration an explicit, checked input: fragments merge as the kernel's
//!   `merge_config.sh` does, and every requested symbol that `make olddefconfig` silently
//!   changed is reported (the drops people lose days to).
//! - Build reproducibly (fixed `KBUILD_BUILD_*`, no `.version`) and cache by a hash of the
//!   inputs; or, as the fast default, take the kernel from a Debian package.
//!
//! # A tour
//! - [`kconfig`]: the `.config` syntax ([`kconfig::KernelConfig`], [`kconfig::Value`]).
//! - [`merge`]: [`merge::merge`] fragments over a base, [`merge::unmet_requests`] after
//!   `olddefconfig`.
//! - [`debian`]: [`debian::find_installed_kernel`], the kernel of a Debian package in a tree.
//! - [`snippets`]: which fragment files an image's `KERNEL_CONFIG_SNIPPETS*` variables name.
//! - [`source`]: the source build in a build tree's sandbox, cached by a hash of its inputs.

pub mod debian;
pub mod error;
pub mod kconfig;
pub mod merge;
pub mod snippets;
pub mod source;

pub use error::KernelError;
