//! Predicting a boot: [`UkiMeasurements::of`] hashes what the boot components measure of a
//! UKI (two passes over its bytes, run side by side: the Authenticode hash of the file, and
//! the sections as systemd-stub measures them, the initrd's digest continuing its first
//! section's), and [`UkiMeasurements::boot`] lays those digests out as the events and
//! registers of one boot target, without hashing the UKI again.

use serde::Serialize;

use crate::bank::{Bank, Digests, hex};
use crate::error::Error;
use crate::event::Event;
use crate::firmware::{self, BootTarget, LoadedImages};
use crate::linux;
use crate::registers::{Registers, TdxRegister};
use crate::stub::{StubBoot, StubModel, utf16_with_nul};
use crate::uki::{Uki, in_memory};
use crate::userspace::{self, Phase, SystemdPhases};

/// The PCRs a prediction reports (each in both banks): the boot code (4), the boot
/// configuration and GPT (5), Linux's initrd and options (9), the UKI's sections (11) and
/// the stub's configuration measurements (12).
pub const REPORTED_PCRS: [u32; 5] = [4, 5, 9, 11, 12];
/// The RTMRs a prediction reports: a TD's fold of PCRs 2-6 and of PCRs 8-15.
pub const REPORTED_RTMRS: [u8; 2] = [1, 2];

/// What the boot components measure of one UKI, hashed once for every boot target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UkiMeasurements {
    /// The systemd-stub version read from the UKI.
    pub stub_version: String,
    /// The UKI's Authenticode digests.
    pub uki: Digests,
    /// What the stub measures and hands Linux.
    pub stub: StubBoot,
    /// The Authenticode digests of `.linux` as the stub loads it (VirtualSize bytes).
    pub linux: Digests,
}

impl UkiMeasurements {
    /// Hashes `image` for a boot whose firmware passes `command_line` as LoadOptions (QEMU
    /// `-append`; empty for none, the usual case). Refuses a stub or UKI shape that is not
    /// modelled.
    pub fn of(image: &[u8], command_line: &str) -> Result<Self, Error> {
        let uki = Uki::read(image)?;
        let model = StubModel::of(&uki)?;
        let load_options = if command_line.is_empty() {
            Vec::new()
        } else {
            utf16_with_nul(command_line)
        };
        let linux_section = uki.section(".linux").ok_or_else(|| Error::NotAUki {
            reason: "it has no .linux section".into(),
        })?;
        let (authenticode, stub, linux) = std::thread::scope(|scope| {
            let whole = scope.spawn(|| uki_stitcher::authenticode::digests(image));
            let stub = model.boot(&uki, &load_options);
            let linux = uki_stitcher::authenticode::digests(&in_memory(linux_section));
            let whole = whole
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (whole, stub, linux)
        });
        Ok(Self {
            stub_version: uki.stub_version().to_owned(),
            uki: authenticode?.into(),
            stub: stub?,
            linux: linux?.into(),
        })
    }

    /// The events and registers of booting the UKI from `target`, with PCR 11 after each
    /// of systemd's `phases`.
    pub fn boot(&self, target: &BootTarget, phases: SystemdPhases) -> Prediction {
        let linux_events =
            linux::events(self.stub.load_options.as_deref(), self.stub.initrd.as_ref());
        let events = firmware::events(
            target,
            LoadedImages {
                uki: self.uki.clone(),
                stub_events: self.stub.events.clone(),
                linux: self.linux.clone(),
                linux_events,
            },
        );
        let registers = Registers::after(&events);
        Prediction {
            target: target.name(),
            phases: userspace::phases(&registers, phases),
            registers,
            events,
        }
    }
}

/// The predicted measurements of one boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    /// The boot target's name (`qemu-kernel`, `disk`).
    pub target: &'static str,
    /// The events of PCRs 2-6 and 8-15, in log order.
    pub events: Vec<Event>,
    /// The registers after those events (PCRs 0, 1, 7 and RTMR0 are not predicted).
    pub registers: Registers,
    /// PCR 11 at boot and after each phase systemd measures.
    pub phases: Vec<Phase>,
}

impl Prediction {
    /// The reported registers by name (`pcr4.sha256`, ..., `rtmr1`, `rtmr2`), hex.
    pub fn register_values(&self) -> Vec<(String, String)> {
        let mut values = Vec::new();
        for pcr in REPORTED_PCRS {
            for bank in Bank::ALL {
                values.push((
                    format!("pcr{pcr}.{}", bank.algorithm().name()),
                    hex(self.registers.pcr(bank, pcr)),
                ));
            }
        }
        for index in REPORTED_RTMRS {
            values.push((
                TdxRegister::Rtmr(index).name(),
                hex(self.registers.rtmr(index)),
            ));
        }
        values
    }
}

impl Serialize for Prediction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let registers: ordered_map::OrderedMap = self.register_values().into();
        let mut prediction = serializer.serialize_struct("Prediction", 4)?;
        prediction.serialize_field("target", self.target)?;
        prediction.serialize_field("registers", &registers)?;
        prediction.serialize_field("phases", &self.phases)?;
        prediction.serialize_field("events", &self.events)?;
        prediction.end()
    }
}

/// A list of pairs serialized as a map in its order.
mod ordered_map {
    use serde::ser::{Serialize, SerializeMap, Serializer};

    pub(super) struct OrderedMap(Vec<(String, String)>);

    impl From<Vec<(String, String)>> for OrderedMap {
        fn from(pairs: Vec<(String, String)>) -> Self {
            Self(pairs)
        }
    }

    impl Serialize for OrderedMap {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for (key, value) in &self.0 {
                map.serialize_entry(key, value)?;
            }
            map.end()
        }
    }
}
