//! A Debian archive client without apt.
//!
//! Planned (issue "deb-resolver"): fetch `InRelease` and verify its OpenPGP signature against
//! the Debian archive keyring, check every index against the Release hashes, parse `Packages`
//! into a compact universe, order versions exactly as dpkg does, solve the image's package
//! request (Depends, Pre-Depends, alternatives, Provides, Conflicts/Breaks, pins) and write a
//! sorted, versioned TOML lockfile. Downloads are parallel and verified by sha256 while they
//! stream into a content-addressed cache.
//!
//! Nothing is implemented yet; this crate only reserves its place in the pipeline.
