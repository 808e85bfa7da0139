//! The measurements document a build writes next to its UKI
//! (`<id>_<version>.measurements.json`) and `cargo xtask measure` prints. Schema
//! `flashbox-measurements/1`:
//!
//! ```text
//! {
//!   "schema": "flashbox-measurements/1",
//!   "uki": { "file": "<name>.efi", "bytes": N, "sha256": "<hex>" },
//!   "stub": "systemd-stub <version>",
//!   "assumptions": [ "<what the predictions assume>", ... ],
//!   "targets": [
//!     { "target": "qemu-kernel" | "disk",
//!       "registers": { "pcr4.sha256": "<hex>", "pcr4.sha384": ..., "pcr5.*", "pcr9.*",
//!                      "pcr11.*", "pcr12.*", "rtmr1": "<hex>", "rtmr2": "<hex>" },
//!       "phases": [ { "after": "boot" | "<word>", "pcr11.sha256": ..., "pcr11.sha384": ... } ],
//!       "events": [ { "pcr": 4, "type": "EV_EFI_BOOT_SERVICES_APPLICATION",
//!                     "sha256": ..., "sha384": ..., "description": ..., "data": "<hex>" | null } ] } ],
//!   "firmware": { "mrtd": { "status": ..., "reason": ... }, "rtmr0": { ... } }
//! }
//! ```
//!
//! Register values are lowercase hex. `firmware` says, per register that depends on the
//! firmware image and VM shape, whether and how it was computed; a value that no
//! independent implementation confirmed is never reported as verified.

use serde::Serialize;

use crate::predict::{Prediction, UkiMeasurements};

/// The schema name and version.
pub const SCHEMA: &str = "flashbox-measurements/1";

/// What every prediction assumes about the boot.
pub const ASSUMPTIONS: [&str; 5] = [
    "EDK2 firmware (OVMF/TDVF) with Secure Boot off and no option ROM drivers",
    "a disk boots through EFI/BOOT/BOOTX64.EFI as the first boot option",
    "no LoadOptions from the firmware unless the document says so (QEMU -append)",
    "no credentials, system/configuration extensions or add-ons next to the UKI",
    "PCRs 0, 1, 7 and RTMR0 depend on the firmware and VM, not on the UKI: see firmware",
];

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The UKI measured.
    pub uki: UkiFacts,
    /// `systemd-stub <version>`: the stub whose behaviour was modelled.
    pub stub: String,
    /// What the predictions assume.
    pub assumptions: Vec<&'static str>,
    /// One prediction per boot target.
    pub targets: Vec<Prediction>,
    /// The registers that depend on the firmware image.
    pub firmware: FirmwareRegisters,
}

/// Which UKI.
#[derive(Debug, Clone, Serialize)]
pub struct UkiFacts {
    /// Its file name.
    pub file: String,
    /// Its length.
    pub bytes: u64,
    /// The SHA-256 of the file, hex.
    pub sha256: String,
}

/// The firmware-dependent registers.
#[derive(Debug, Clone, Serialize)]
pub struct FirmwareRegisters {
    /// MRTD.
    pub mrtd: FirmwareValue,
    /// RTMR0.
    pub rtmr0: FirmwareValue,
}

/// A firmware-dependent register: its value if computed, and how far to trust it.
#[derive(Debug, Clone, Serialize)]
pub struct FirmwareValue {
    /// `not-computed`, `unverified` or `verified`.
    pub status: &'static str,
    /// The value, hex, when computed.
    pub value: Option<String>,
    /// Why it has this status.
    pub reason: String,
}

impl FirmwareValue {
    /// A register not computed, and why.
    pub fn not_computed(reason: impl Into<String>) -> Self {
        Self {
            status: "not-computed",
            value: None,
            reason: reason.into(),
        }
    }
}

impl Report {
    /// The document for the UKI `uki`, hashed into `measurements`, with `targets` predicted
    /// from them.
    pub fn new(
        uki: UkiFacts,
        measurements: &UkiMeasurements,
        targets: Vec<Prediction>,
        firmware: FirmwareRegisters,
    ) -> Self {
        Self {
            schema: SCHEMA,
            uki,
            stub: format!("systemd-stub {}", measurements.stub_version),
            assumptions: ASSUMPTIONS.to_vec(),
            targets,
            firmware,
        }
    }
}
