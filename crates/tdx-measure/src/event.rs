//! Measurement events: what was measured into which register, as the TCG PC Client Platform
//! Firmware Profile names the kinds of events, and the one event shape this crate uses for
//! both predicted and logged events.

use serde::Serialize;

use crate::bank::{Bank, Digests, hex};

/// An event type (`TCG_EVENTTYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(pub u32);

impl EventType {
    /// `EV_PREBOOT_CERT`.
    pub const PREBOOT_CERT: Self = Self(0x0);
    /// `EV_POST_CODE`.
    pub const POST_CODE: Self = Self(0x1);
    /// `EV_NO_ACTION`: logged, never extended.
    pub const NO_ACTION: Self = Self(0x3);
    /// `EV_SEPARATOR`.
    pub const SEPARATOR: Self = Self(0x4);
    /// `EV_ACTION`.
    pub const ACTION: Self = Self(0x5);
    /// `EV_EVENT_TAG`.
    pub const EVENT_TAG: Self = Self(0x6);
    /// `EV_S_CRTM_CONTENTS`.
    pub const S_CRTM_CONTENTS: Self = Self(0x7);
    /// `EV_S_CRTM_VERSION`.
    pub const S_CRTM_VERSION: Self = Self(0x8);
    /// `EV_CPU_MICROCODE`.
    pub const CPU_MICROCODE: Self = Self(0x9);
    /// `EV_PLATFORM_CONFIG_FLAGS`.
    pub const PLATFORM_CONFIG_FLAGS: Self = Self(0xA);
    /// `EV_TABLE_OF_DEVICES`.
    pub const TABLE_OF_DEVICES: Self = Self(0xB);
    /// `EV_COMPACT_HASH`.
    pub const COMPACT_HASH: Self = Self(0xC);
    /// `EV_IPL`: what boot loaders (systemd-stub) log.
    pub const IPL: Self = Self(0xD);
    /// `EV_IPL_PARTITION_DATA`.
    pub const IPL_PARTITION_DATA: Self = Self(0xE);
    /// `EV_NONHOST_CODE`.
    pub const NONHOST_CODE: Self = Self(0xF);
    /// `EV_NONHOST_CONFIG`.
    pub const NONHOST_CONFIG: Self = Self(0x10);
    /// `EV_NONHOST_INFO`.
    pub const NONHOST_INFO: Self = Self(0x11);
    /// `EV_OMIT_BOOT_DEVICE_EVENTS`.
    pub const OMIT_BOOT_DEVICE_EVENTS: Self = Self(0x12);
    /// `EV_EFI_VARIABLE_DRIVER_CONFIG`.
    pub const EFI_VARIABLE_DRIVER_CONFIG: Self = Self(0x8000_0001);
    /// `EV_EFI_VARIABLE_BOOT`.
    pub const EFI_VARIABLE_BOOT: Self = Self(0x8000_0002);
    /// `EV_EFI_BOOT_SERVICES_APPLICATION`: a loaded PE image, digest = its Authenticode hash.
    pub const EFI_BOOT_SERVICES_APPLICATION: Self = Self(0x8000_0003);
    /// `EV_EFI_BOOT_SERVICES_DRIVER`.
    pub const EFI_BOOT_SERVICES_DRIVER: Self = Self(0x8000_0004);
    /// `EV_EFI_RUNTIME_SERVICES_DRIVER`.
    pub const EFI_RUNTIME_SERVICES_DRIVER: Self = Self(0x8000_0005);
    /// `EV_EFI_GPT_EVENT`.
    pub const EFI_GPT_EVENT: Self = Self(0x8000_0006);
    /// `EV_EFI_ACTION`.
    pub const EFI_ACTION: Self = Self(0x8000_0007);
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB`.
    pub const EFI_PLATFORM_FIRMWARE_BLOB: Self = Self(0x8000_0008);
    /// `EV_EFI_HANDOFF_TABLES`.
    pub const EFI_HANDOFF_TABLES: Self = Self(0x8000_0009);
    /// `EV_EFI_PLATFORM_FIRMWARE_BLOB2`.
    pub const EFI_PLATFORM_FIRMWARE_BLOB2: Self = Self(0x8000_000A);
    /// `EV_EFI_HANDOFF_TABLES2`.
    pub const EFI_HANDOFF_TABLES2: Self = Self(0x8000_000B);
    /// `EV_EFI_VARIABLE_BOOT2`.
    pub const EFI_VARIABLE_BOOT2: Self = Self(0x8000_000C);
    /// `EV_EFI_HCRTM_EVENT`.
    pub const EFI_HCRTM_EVENT: Self = Self(0x8000_0010);
    /// `EV_EFI_VARIABLE_AUTHORITY`.
    pub const EFI_VARIABLE_AUTHORITY: Self = Self(0x8000_00E0);
    /// `EV_EFI_SPDM_FIRMWARE_BLOB`.
    pub const EFI_SPDM_FIRMWARE_BLOB: Self = Self(0x8000_00E1);
    /// `EV_EFI_SPDM_FIRMWARE_CONFIG`.
    pub const EFI_SPDM_FIRMWARE_CONFIG: Self = Self(0x8000_00E2);

    /// The specification's name (`EV_SEPARATOR`), or the number for one it does not name.
    pub fn name(self) -> String {
        let known = [
            (Self::PREBOOT_CERT, "EV_PREBOOT_CERT"),
            (Self::POST_CODE, "EV_POST_CODE"),
            (Self::NO_ACTION, "EV_NO_ACTION"),
            (Self::SEPARATOR, "EV_SEPARATOR"),
            (Self::ACTION, "EV_ACTION"),
            (Self::EVENT_TAG, "EV_EVENT_TAG"),
            (Self::S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS"),
            (Self::S_CRTM_VERSION, "EV_S_CRTM_VERSION"),
            (Self::CPU_MICROCODE, "EV_CPU_MICROCODE"),
            (Self::PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS"),
            (Self::TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES"),
            (Self::COMPACT_HASH, "EV_COMPACT_HASH"),
            (Self::IPL, "EV_IPL"),
            (Self::IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA"),
            (Self::NONHOST_CODE, "EV_NONHOST_CODE"),
            (Self::NONHOST_CONFIG, "EV_NONHOST_CONFIG"),
            (Self::NONHOST_INFO, "EV_NONHOST_INFO"),
            (Self::OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS"),
            (
                Self::EFI_VARIABLE_DRIVER_CONFIG,
                "EV_EFI_VARIABLE_DRIVER_CONFIG",
            ),
            (Self::EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT"),
            (
                Self::EFI_BOOT_SERVICES_APPLICATION,
                "EV_EFI_BOOT_SERVICES_APPLICATION",
            ),
            (
                Self::EFI_BOOT_SERVICES_DRIVER,
                "EV_EFI_BOOT_SERVICES_DRIVER",
            ),
            (
                Self::EFI_RUNTIME_SERVICES_DRIVER,
                "EV_EFI_RUNTIME_SERVICES_DRIVER",
            ),
            (Self::EFI_GPT_EVENT, "EV_EFI_GPT_EVENT"),
            (Self::EFI_ACTION, "EV_EFI_ACTION"),
            (
                Self::EFI_PLATFORM_FIRMWARE_BLOB,
                "EV_EFI_PLATFORM_FIRMWARE_BLOB",
            ),
            (Self::EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES"),
            (
                Self::EFI_PLATFORM_FIRMWARE_BLOB2,
                "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
            ),
            (Self::EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2"),
            (Self::EFI_VARIABLE_BOOT2, "EV_EFI_VARIABLE_BOOT2"),
            (Self::EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT"),
            (Self::EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY"),
            (Self::EFI_SPDM_FIRMWARE_BLOB, "EV_EFI_SPDM_FIRMWARE_BLOB"),
            (
                Self::EFI_SPDM_FIRMWARE_CONFIG,
                "EV_EFI_SPDM_FIRMWARE_CONFIG",
            ),
        ];
        known.iter().find(|(kind, _)| *kind == self).map_or_else(
            || format!("{:#010x}", self.0),
            |(_, name)| (*name).to_owned(),
        )
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

/// One measurement: the register it extends, its kind, a digest in each bank and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The TPM PCR index.
    pub pcr: u32,
    /// The event type.
    pub event_type: EventType,
    /// What was extended.
    pub digests: Digests,
    /// What was measured, for people (`section .linux`, `UKI (Authenticode)`).
    pub description: String,
    /// The event data the log records, where it is predicted (not for image loads, whose
    /// data holds load addresses).
    pub data: Option<Vec<u8>>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut event = serializer.serialize_struct("Event", 6)?;
        event.serialize_field("pcr", &self.pcr)?;
        event.serialize_field("type", &self.event_type)?;
        event.serialize_field("sha256", &hex(self.digests.get(Bank::Sha256)))?;
        event.serialize_field("sha384", &hex(self.digests.get(Bank::Sha384)))?;
        event.serialize_field("description", &self.description)?;
        event.serialize_field("data", &self.data.as_deref().map(hex))?;
        event.end()
    }
}
