//! The Debian vocabulary: what a package index, a `.deb`'s `control` file and dpkg's
//! `status` file are made of, read one way for every crate of the pipeline.
//!
//! - [`deb822`]: paragraphs of `Name: value` fields, zero-copy;
//! - [`package`]: [`PackageName`], [`Architecture`] and [`PackageId`], checked once;
//! - [`version`]: [`DebVersion`], ordered as dpkg orders versions;
//! - [`relation`]: `Depends`-style relationship fields;
//! - [`deb`]: the members of a `.deb` file (`debian-binary`, `control.tar.*`, `data.tar.*`),
//!   read through a bounded `ar` reader.
//!
//! With the `testdeb` feature, `testdeb` builds small `.deb` files for tests.
//!
//! All of it is pure over `&str` or `impl Read`: the caller opens files and adds their names to
//! errors.

pub mod deb;
pub mod deb822;
pub mod package;
pub mod relation;
#[cfg(any(test, feature = "testdeb"))]
pub mod testdeb;
pub mod version;

pub use package::{Architecture, PackageId, PackageName};
pub use version::DebVersion;
