//! Turns a lock plus verified `.deb` files into a Debian root filesystem directory.
//!
//! Planned (issue "rootfs-assembler"): unpack `.deb` archives in Rust (refusing entries that
//! escape the root), bootstrap the Essential set, then install every locked package with the
//! target's own `dpkg` inside a sandbox (private mount namespace, chroot), run the mkosi build
//! flow (skeleton trees, prepare/build/post-installation/finalize scripts with mkosi's script
//! environment, extra trees, removal lists) and normalise every known source of
//! non-determinism. Produces a package manifest and a tree digest naming the rootfs.
//!
//! Nothing is implemented yet; this crate only reserves its place in the pipeline.
