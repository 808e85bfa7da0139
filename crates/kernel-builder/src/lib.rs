//! The image's kernel: taken from a Debian `linux-image-*` package, or built from source.
//!
//! Planned (issue "kernel-builder and the xtask pipeline"): extract `vmlinuz` and its release
//! string from a Debian kernel package (the fast default), or build Debian's `linux-source-X.Y`
//! with config fragments merged as the kernel's `merge_config.sh` does, report every requested
//! symbol whose final value differs after `make olddefconfig`, and cache the result by a hash of
//! its inputs.
//!
//! Nothing is implemented yet; this crate only reserves its place in the pipeline.
