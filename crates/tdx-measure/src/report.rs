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
//!   "firmware": {
//!     "image": null | { "file": "OVMF.fd", "bytes": N, "sha256": "<hex>",
//!                       "page_order": "single-pass" | "two-pass" },
//!     "mrtd": { "status": "not-computed" | "unverified" | "verified",
//!               "value": null | "<hex>", "reason": "<why this status>" },
//!     "rtmr0": { ... } }
//! }
//! ```
//!
//! Register values are lowercase hex. `firmware` says, per register that depends on the
//! firmware image and VM shape, whether and how it was computed; a value whose computation
//! no independent implementation's published vector confirmed is never reported as verified.

use serde::Serialize;

use crate::bank::hex;
use crate::error::Error;
use crate::predict::{Prediction, UkiMeasurements};
use crate::tdvf::{self, PageOrder};

/// The schema name and version.
pub const SCHEMA: &str = "flashbox-measurements/1";

/// What every prediction assumes about the boot.
pub const ASSUMPTIONS: [&str; 6] = [
    "EDK2 firmware (OVMF/TDVF) with Secure Boot off and no option ROM drivers",
    "RTMR1 and RTMR2 are a TD's without a vTPM (systemd-stub and Linux measure into the RTMRs \
     only when no TPM is present), its firmware EDK2 edk2-stable202411 or later (one \
     ReadyToBoot separator in RTMR1 where a TPM has one per PCR 2-6)",
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

/// Why MRTD can be trusted when it was computed: the test that holds it to a published value.
const MRTD_VERIFIED: &str = "computed from the firmware's TDVF metadata as the TDX module \
    measures TDH.MEM.PAGE.ADD and TDH.MR.EXTEND; the computation reproduces the MRTD \
    gce-tcb-verifier publishes for its synthetic TDVF image. It holds for a VMM that adds \
    pages in the page order named in `image`";

/// Why RTMR0 is not computed.
const RTMR0_NOT_COMPUTED: &str = "RTMR0 holds the TD HOB (the VM's memory map), the \
    firmware's variable store, the VMM's ACPI tables (its version, memory, vCPUs and devices), \
    the Secure Boot variables as the firmware build creates them and the boot options the VM's \
    devices give; none depends on the UKI, and they are not modelled: take RTMR0 from a \
    reference TD booted with the same firmware, VMM and VM shape";

/// The firmware-dependent registers.
#[derive(Debug, Clone, Serialize)]
pub struct FirmwareRegisters {
    /// The TDX firmware image they were computed from, if any.
    pub image: Option<FirmwareFacts>,
    /// MRTD.
    pub mrtd: FirmwareValue,
    /// RTMR0.
    pub rtmr0: FirmwareValue,
}

/// Which firmware image.
#[derive(Debug, Clone, Serialize)]
pub struct FirmwareFacts {
    /// Its file name.
    pub file: String,
    /// Its length.
    pub bytes: u64,
    /// The SHA-256 of the file, hex.
    pub sha256: String,
    /// The order in which the VMM is assumed to add and measure its pages.
    pub page_order: &'static str,
}

impl FirmwareRegisters {
    /// The registers when no firmware image was given.
    pub fn without_image() -> Self {
        Self {
            image: None,
            mrtd: FirmwareValue::not_computed(
                "MRTD is measured from the TDX firmware image: none was given",
            ),
            rtmr0: FirmwareValue::not_computed(RTMR0_NOT_COMPUTED),
        }
    }

    /// The registers of the TDX firmware image `firmware` (called `file`) added by a VMM in
    /// `order`.
    pub fn of_image(file: &str, firmware: &[u8], order: PageOrder) -> Result<Self, Error> {
        let mrtd = tdvf::mrtd(firmware, order)?;
        Ok(Self {
            image: Some(FirmwareFacts {
                file: file.to_owned(),
                bytes: firmware.len() as u64,
                sha256: hex(&crate::Bank::Sha256.hash(firmware)),
                page_order: order.name(),
            }),
            mrtd: FirmwareValue {
                status: "verified",
                value: Some(hex(&mrtd)),
                reason: MRTD_VERIFIED.to_owned(),
            },
            rtmr0: FirmwareValue::not_computed(RTMR0_NOT_COMPUTED),
        })
    }
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
    fn not_computed(reason: impl Into<String>) -> Self {
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
