//! Unified Kernel Images: build, inspect, and hash them as firmware measures them.
//!
//! Planned (issue "cpio-writer and uki-stitcher"): append `.osrel`, `.cmdline`, `.uname`,
//! `.sbat`, `.initrd` and `.linux` (and optionally `.splash`, `.dtb`) to systemd-stub as the UKI
//! specification describes, update the PE headers, list and extract the sections of an existing
//! UKI, and compute its Authenticode (PE image) SHA-256 and SHA-384 hashes.
//!
//! Nothing is implemented yet; this crate only reserves its place in the pipeline.
