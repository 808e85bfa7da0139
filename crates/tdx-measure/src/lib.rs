//! What a TPM and a TDX module will hold after a machine boots a UKI, computed from the UKI's
//! bytes, and real event logs read back to check such predictions.
//!
//! Pure: bytes and typed inputs in, typed measurements out; the caller reads the files.
//!
//! - [`bank`]: the SHA-256 and SHA-384 banks, digests in both, register extension.
//! - [`event`]: event types and the one event shape predictions and logs share.
//! - [`log`]: the crypto-agile firmware event log (`binary_bios_measurements`), bounded.
//! - [`registers`]: PCRs of both banks and TDX RTMRs through EDK2's PCR-to-MR map, from
//!   predicted events or replayed from a log.

pub mod bank;
pub mod error;
pub mod event;
pub mod log;
pub mod registers;

pub use bank::{Bank, Digests};
pub use error::Error;
pub use event::{Event, EventType};
pub use registers::{Registers, TdxRegister};
