//! Measurement registers: TPM PCRs in both banks, and TDX RTMRs folded from the same events
//! through EDK2's map of PCR indices to TDX measurement registers (`MapPcrToMrIndex`: PCR 0
//! -> MRTD, PCR 1 and 7 -> RTMR0, PCR 2-6 -> RTMR1, PCR 8-15 -> RTMR2; RTMR3 is the guest
//! OS's). Replaying a real event log gives the same shapes, so prediction and truth compare
//! register by register.
//!
//! The RTMRs are a TD's without a vTPM: there systemd-stub and Linux measure through EFI's
//! CC measurement protocol (they do only when no TPM is present), so the TD's registers
//! receive the events a TPM's PCRs would, but one rule differs: a TPM's firmware logs a
//! separator into each of PCRs 0-7 at ReadyToBoot, while a TD's (EDK2's TdTcg2Dxe, since
//! edk2-stable202411) logs one into RTMR0 (for PCRs 1 and 7) and one into RTMR1 (for
//! PCRs 2-6). [`TdFold`] applies that rule to predicted events and real logs alike.

use std::collections::BTreeMap;

use crate::bank::{AlgorithmId, Bank, Digests};
use crate::event::{Event, EventType};
use crate::log::EventLog;

/// PCRs of a TPM 2.0 PC Client platform.
pub const PCR_COUNT: u32 = 24;

/// A PCR's value at TPM reset: all ones for the dynamic-launch PCRs 17-22 (only a DRTM
/// event resets them to zero), zero for the others.
fn reset_value(bank: Bank, pcr: u32) -> Vec<u8> {
    let fill = if (17..=22).contains(&pcr) { 0xFF } else { 0 };
    vec![fill; bank.digest_len()]
}

/// The PCRs of `bank` at TPM reset.
fn reset_bank(bank: Bank) -> Vec<Vec<u8>> {
    (0..PCR_COUNT).map(|pcr| reset_value(bank, pcr)).collect()
}

/// A TDX measurement register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TdxRegister {
    /// The build-time measurement of the TD (the firmware's pages).
    Mrtd,
    /// A run-time measurement register, 0 to 3.
    Rtmr(u8),
}

impl TdxRegister {
    /// The register an event of PCR `pcr` extends on TDX, as EDK2 maps it.
    pub fn of_pcr(pcr: u32) -> Option<Self> {
        match pcr {
            0 => Some(Self::Mrtd),
            1 | 7 => Some(Self::Rtmr(0)),
            2..=6 => Some(Self::Rtmr(1)),
            8..=15 => Some(Self::Rtmr(2)),
            _ => None,
        }
    }

    /// `mrtd`, `rtmr0`, ...
    pub fn name(self) -> String {
        match self {
            Self::Mrtd => "mrtd".into(),
            Self::Rtmr(index) => format!("rtmr{index}"),
        }
    }
}

/// RTMRs folded from events a TPM's firmware would log, as a TD's firmware extends them:
/// each SHA-384 digest into the register its PCR maps to, with one separator per RTMR.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TdFold {
    rtmrs: [Vec<u8>; 4],
    separated: [bool; 4],
}

impl TdFold {
    fn new() -> Self {
        Self {
            rtmrs: std::array::from_fn(|_| vec![0; 48]),
            separated: [false; 4],
        }
    }

    /// Folds an event of PCR `pcr` and type `event_type` with SHA-384 digest `sha384`.
    fn extend(&mut self, pcr: u32, event_type: EventType, sha384: &[u8]) {
        let Some(TdxRegister::Rtmr(index)) = TdxRegister::of_pcr(pcr) else {
            return;
        };
        let index = usize::from(index);
        if event_type == EventType::SEPARATOR {
            if self.separated[index] {
                return;
            }
            self.separated[index] = true;
        }
        self.rtmrs[index] = Bank::Sha384.extend(&self.rtmrs[index], sha384);
    }
}

/// Registers after a sequence of events, from all-zero PCRs and RTMRs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registers {
    pcrs: BTreeMap<Bank, Vec<Vec<u8>>>,
    td: TdFold,
}

impl Default for Registers {
    fn default() -> Self {
        Self::new()
    }
}

impl Registers {
    /// Every register as at reset (zero, PCRs 17-22 all ones).
    pub fn new() -> Self {
        let pcrs = Bank::ALL
            .iter()
            .map(|&bank| (bank, reset_bank(bank)))
            .collect();
        Self {
            pcrs,
            td: TdFold::new(),
        }
    }

    /// The registers after `events`, in order: the PCRs of a TPM, the RTMRs of a TD.
    pub fn after(events: &[Event]) -> Self {
        let mut registers = Self::new();
        for event in events {
            registers.extend_tpm_only(event.pcr, &event.digests);
            registers
                .td
                .extend(event.pcr, event.event_type, &event.digests.sha384);
        }
        registers
    }

    /// Extends PCR `pcr` in both banks only, as a TPM-only measurement (systemd's
    /// userspace) does.
    pub fn extend_tpm_only(&mut self, pcr: u32, digests: &Digests) {
        for bank in Bank::ALL {
            if let Some(register) = self
                .pcrs
                .get_mut(&bank)
                .and_then(|bank_pcrs| bank_pcrs.get_mut(pcr as usize))
            {
                *register = bank.extend(register, digests.get(bank));
            }
        }
    }

    /// PCR `index` of `bank`.
    pub fn pcr(&self, bank: Bank, index: u32) -> &[u8] {
        &self.pcrs[&bank][index as usize]
    }

    /// RTMR `index` (0 to 3).
    pub fn rtmr(&self, index: u8) -> &[u8] {
        &self.td.rtmrs[usize::from(index)]
    }
}

/// The SHA-256 and SHA-384 PCRs of a real log (the banks it declares), as the TPM holds
/// them after the log's events: PCR 0 starts at the locality of the `StartupLocality` event
/// when the log has one. Other banks (SHA-1, ...) are not computed.
pub fn replay(log: &EventLog) -> BTreeMap<Bank, Vec<Vec<u8>>> {
    let mut banks: BTreeMap<Bank, Vec<Vec<u8>>> = Bank::ALL
        .iter()
        .filter(|bank| log.banks.iter().any(|(id, _)| *id == bank.algorithm()))
        .map(|&bank| (bank, reset_bank(bank)))
        .collect();
    for event in &log.events {
        if event.event_type == EventType::NO_ACTION {
            if let Some(locality) = startup_locality(event.pcr, &event.data) {
                for pcrs in banks.values_mut() {
                    if let Some(last) = pcrs[0].last_mut() {
                        *last = locality;
                    }
                }
            }
            continue;
        }
        for (bank, pcrs) in &mut banks {
            if let (Some(pcr), Some(digest)) = (
                pcrs.get_mut(event.pcr as usize),
                event.digest(bank.algorithm()),
            ) {
                *pcr = bank.extend(pcr, digest);
            }
        }
    }
    banks
}

/// The RTMRs a TD would hold after the log's events (a TPM's log): each SHA-384 digest
/// folded into the register its PCR maps to, one separator per RTMR (see the module docs).
pub fn fold_rtmrs(log: &EventLog) -> [Vec<u8>; 4] {
    let mut fold = TdFold::new();
    for event in &log.events {
        if event.event_type == EventType::NO_ACTION {
            continue;
        }
        if let Some(digest) = event.digest(AlgorithmId::SHA384) {
            fold.extend(event.pcr, event.event_type, digest);
        }
    }
    fold.rtmrs
}

/// The locality of a `StartupLocality` EV_NO_ACTION event in PCR 0.
fn startup_locality(pcr: u32, data: &[u8]) -> Option<u8> {
    const SIGNATURE: &[u8; 16] = b"StartupLocality\0";
    (pcr == 0 && data.len() == 17 && data.starts_with(SIGNATURE)).then(|| data[16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Limits, parse};

    /// A log in the crypto-agile layout, written field by field from the profile's tables:
    /// the Spec ID event (SHA-256 and SHA-384), a StartupLocality event of locality 3, and
    /// one event each in PCR 0 and PCR 4.
    fn sample_log(events: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut spec = b"Spec ID Event03\0".to_vec();
        spec.extend([0, 0, 0, 0, 0, 2, 0, 2]);
        spec.extend(2u32.to_le_bytes());
        for (id, size) in [(0x000Bu16, 32u16), (0x000C, 48)] {
            spec.extend(id.to_le_bytes());
            spec.extend(size.to_le_bytes());
        }
        spec.push(0);
        let mut log = Vec::new();
        log.extend(0u32.to_le_bytes());
        log.extend(3u32.to_le_bytes());
        log.extend([0u8; 20]);
        log.extend((spec.len() as u32).to_le_bytes());
        log.extend(&spec);
        for &(pcr, kind, data) in events {
            log.extend(pcr.to_le_bytes());
            log.extend(kind.to_le_bytes());
            log.extend(2u32.to_le_bytes());
            log.extend(0x000Bu16.to_le_bytes());
            log.extend(Bank::Sha256.hash(data));
            log.extend(0x000Cu16.to_le_bytes());
            log.extend(Bank::Sha384.hash(data));
            log.extend((data.len() as u32).to_le_bytes());
            log.extend(data);
        }
        log
    }

    #[test]
    fn a_log_replays_into_pcrs_and_rtmrs() {
        let locality = b"StartupLocality\0\x03";
        let log = sample_log(&[(0, 3, locality), (0, 8, b"crtm"), (4, 0x8000_0003, b"app")]);
        let parsed = parse(&log, &Limits::default()).unwrap();
        assert_eq!(parsed.events.len(), 3);
        let pcrs = replay(&parsed);
        let mut pcr0 = vec![0u8; 32];
        pcr0[31] = 3;
        let pcr0 = Bank::Sha256.extend(&pcr0, &Bank::Sha256.hash(b"crtm"));
        assert_eq!(pcrs[&Bank::Sha256][0], pcr0);
        let pcr4 = Bank::Sha384.extend(&[0; 48], &Bank::Sha384.hash(b"app"));
        assert_eq!(pcrs[&Bank::Sha384][4], pcr4);
        // PCR 0 maps to MRTD, which run-time events never extend; PCR 4 to RTMR1.
        let rtmrs = fold_rtmrs(&parsed);
        assert_eq!(rtmrs[0], vec![0; 48]);
        assert_eq!(rtmrs[1], pcr4);
        let predicted = Registers::after(&[Event {
            pcr: 4,
            event_type: EventType::EFI_BOOT_SERVICES_APPLICATION,
            digests: Digests::of(b"app"),
            description: "app".into(),
            data: None,
        }]);
        assert_eq!(predicted.pcr(Bank::Sha384, 4), pcr4.as_slice());
        assert_eq!(predicted.rtmr(1), pcr4.as_slice());
    }

    /// A TPM's firmware separates each of PCRs 2-6; a TD's RTMR1, where they map, gets one.
    #[test]
    fn a_td_folds_one_separator_per_rtmr() {
        let separator = EventType::SEPARATOR.0;
        let log = sample_log(&[
            (2, separator, &[0; 4]),
            (3, separator, &[0; 4]),
            (4, 0x8000_0003, b"app"),
            (5, separator, &[0; 4]),
            (7, separator, &[0; 4]),
            (1, separator, &[0; 4]),
        ]);
        let parsed = parse(&log, &Limits::default()).unwrap();
        let rtmrs = fold_rtmrs(&parsed);
        let sep = Bank::Sha384.hash(&[0; 4]);
        let rtmr1 = Bank::Sha384.extend(
            &Bank::Sha384.extend(&[0; 48], &sep),
            &Bank::Sha384.hash(b"app"),
        );
        assert_eq!(rtmrs[1], rtmr1);
        assert_eq!(rtmrs[0], Bank::Sha384.extend(&[0; 48], &sep));
        // The TPM's PCRs keep every separator.
        let pcrs = replay(&parsed);
        assert_eq!(pcrs[&Bank::Sha384][3], Bank::Sha384.extend(&[0; 48], &sep));
    }

    #[test]
    fn truncated_and_oversized_logs_are_errors() {
        let log = sample_log(&[(4, 0x8000_0003, b"app")]);
        for cut in [10, 40, log.len() - 1] {
            let err = parse(&log[..cut], &Limits::default()).unwrap_err();
            assert!(
                matches!(err, crate::Error::MalformedLog { .. }),
                "{cut}: {err}"
            );
        }
        let limits = Limits {
            max_event_data: 2,
            ..Limits::default()
        };
        let err = parse(&log, &limits).unwrap_err();
        assert!(matches!(err, crate::Error::LogTooLarge { .. }), "{err}");
    }
}
