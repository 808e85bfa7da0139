//! Integration tests: external tools (GNU cpio, bsdtar, zstd, gzip, xz) judge the archives
//! this crate writes; property tests check that entry order never reaches the bytes.

mod compression;
mod errors;
mod extract;
mod gnu;
mod listing;
mod properties;
mod reproducibility;
mod support;
mod tar;
