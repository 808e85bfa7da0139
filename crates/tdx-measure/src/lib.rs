//! What a TPM and a TDX module will hold after a machine boots a UKI, computed from the UKI's
//! bytes, and real event logs read back to check such predictions.
//!
//! Pure: bytes and typed inputs in, typed measurements out; the caller reads the files.
//!
//! - [`uki`]: the sections as a PE loader maps them, and the stub's version.
//! - [`stub`]: systemd-stub's measurements (PCRs 11 and 12) and the initrd it hands Linux,
//!   per modelled version; others are refused.
//! - [`linux`]: Linux's EFI stub (PCR 9).
//! - [`firmware`]: EDK2's events around them (PCRs 4 and 5), for QEMU `-kernel` and disks.
//! - [`predict`]: all of it for one UKI, hashed once, laid out per boot target.
//! - [`tdvf`]: a TDX firmware image's layout and MRTD.
//! - [`userspace`]: systemd's phase words in PCR 11 after boot.
//! - [`report`]: the `.measurements.json` document.
//! - [`bank`]: the SHA-256 and SHA-384 banks, digests in both, register extension.
//! - [`event`]: event types and the one event shape predictions and logs share.
//! - [`log`]: the crypto-agile firmware event log (`binary_bios_measurements`), bounded.
//! - [`registers`]: PCRs of both banks and TDX RTMRs through EDK2's PCR-to-MR map, from
//!   predicted events or replayed from a log.
//!
//! ```no_run
//! use tdx_measure::{Bank, BootTarget, SystemdPhases, UkiMeasurements, bank::hex};
//!
//! let image = std::fs::read("build/flashbox-l1_1.0.0.efi")?;
//! let measurements = UkiMeasurements::of(&image, "")?;
//! let boot = measurements.boot(&BootTarget::QemuKernel, SystemdPhases::None);
//! println!("PCR 11 (sha256): {}", hex(boot.registers.pcr(Bank::Sha256, 11)));
//! println!("RTMR2: {}", hex(boot.registers.rtmr(2)));
//! for event in &boot.events {
//!     println!("pcr {} {}: {}", event.pcr, event.event_type.name(), event.description);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bank;
pub mod error;
pub mod event;
pub mod firmware;
pub mod linux;
pub mod log;
pub mod predict;
pub mod registers;
pub mod report;
pub mod stub;
pub mod tdvf;
pub mod uki;
pub mod userspace;

pub use bank::{Bank, Digests};
pub use error::Error;
pub use event::{Event, EventType};
pub use firmware::BootTarget;
pub use predict::{Prediction, UkiMeasurements};
pub use registers::{Registers, TdxRegister};
pub use tdvf::{PageOrder, Tdvf};
pub use userspace::SystemdPhases;
