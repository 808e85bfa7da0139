//! Unified Kernel Images: build, inspect, and hash them as firmware measures them.
//!
//! A UKI is systemd-stub (a PE/COFF EFI application) with the kernel, initrd, command line and
//! friends appended as PE sections. The stub finds them by name at boot; the firmware measures
//! the whole image by its Authenticode hash.
//!
//! # Goals
//!
//! - **What ukify writes.** Sections are appended after the stub's last one in ukify's order
//!   (`.osrel .cmdline .dtb .uname .splash .initrd .linux`, then `.sbat`), with the addresses,
//!   alignment, characteristics and header updates ukify uses; the `.sbat` is ukify's merge of
//!   the stub's, the kernel's and ours. Where this crate deviates (it computes the CheckSum
//!   rather than writing 0, and it refuses stubs ukify would rewrite), [`layout`] says so.
//! - **Reproducible by construction.** The bytes depend only on [`UkiInputs`]. No clock, path
//!   or host fact is read; the COFF timestamp is the stub's.
//! - **Plan, then emit.** [`plan`] computes a [`Layout`] (every section's name, addresses, file
//!   range and size) and the patched headers without I/O; writing copies borrowed input slices
//!   and zero padding out in order, so a 100 MB initrd is never copied in memory.
//! - **Measured boot.** [`authenticode`] hashes exactly the ranges the PE/COFF specification and
//!   EDK2 (OVMF, TDVF) hash, in SHA-256 and SHA-384.
//! - **PE parsing is `object`'s.** Header fields are read and written through `object`'s
//!   `pe` structs; no PE structure is declared here.
//!
//! # A tour
//!
//! - [`UkiInputs`] holds the stub, kernel and initrds as byte slices, and the typed text
//!   sections: [`OsRelease`], [`Uname`] (read from a kernel with [`Uname::from_linux`]) and our
//!   [`Sbat`] entries.
//! - [`plan`] returns a [`Plan`]: its [`Layout`] for inspection and tests, then
//!   [`Plan::write_to`] / [`Plan::to_vec`]. [`build`] does both; [`write_uki_file`] writes a
//!   file atomically.
//! - [`inspect()`] lists the sections of any PE image (sizes, SHA-256, text sections), its
//!   CheckSum and Authenticode digests, and prints as a table; [`extract`] returns one
//!   section's contents.
//! - [`authenticode::sha256`], [`authenticode::sha384`] and [`authenticode::digests`] hash an
//!   image; [`authenticode::ranges`] shows what is hashed. [`pe_checksum`] computes a CheckSum.
//!
//! ```no_run
//! use uki_stitcher::{OsRelease, Sbat, UkiInputs, Uname};
//!
//! # fn main() -> Result<(), uki_stitcher::Error> {
//! # let (stub, kernel, initrd) = (vec![], vec![], vec![]);
//! let inputs = UkiInputs {
//!     stub: &stub,
//!     linux: &kernel,
//!     initrds: vec![&initrd],
//!     cmdline: Some("console=ttyS0".into()),
//!     os_release: Some(OsRelease::parse("ID=debian\n")?),
//!     uname: Some(Uname::from_linux(&kernel)?),
//!     sbat: Sbat::uki_default(),
//!     splash: None,
//!     devicetree: None,
//! };
//! let plan = uki_stitcher::plan(&inputs)?;
//! assert_eq!(plan.layout.added().last().unwrap().name, ".linux");
//! let uki = plan.to_vec();
//! print!("{}", uki_stitcher::inspect(&uki)?);
//! # Ok(())
//! # }
//! ```

pub mod authenticode;
pub mod checksum;
pub mod error;
pub mod inputs;
pub mod inspect;
pub mod layout;
pub mod output;
mod pe;
pub mod sbat;
pub mod stitch;
#[cfg(feature = "synthetic-pe")]
pub mod synthetic;

pub use checksum::{PeChecksum, pe_checksum};
pub use error::{Error, PeRole};
pub use inputs::{OsRelease, UkiInputs, Uname};
pub use inspect::{Inspection, MappedSection, SectionInfo, extract, inspect, sections};
pub use layout::{Layout, Origin, SectionLayout};
pub use output::write_uki_file;
pub use sbat::{Sbat, SbatEntry};
pub use stitch::{Plan, plan};

/// Builds the UKI of `inputs` in memory.
pub fn build(inputs: &UkiInputs<'_>) -> Result<Vec<u8>, Error> {
    Ok(plan(inputs)?.to_vec())
}
