//! A real measured boot, kept as data: the firmware event log and the PCRs (both banks, read
//! from Linux's sysfs) of the flashbox-l1 UKI booted with QEMU `-kernel`, OVMF (Debian
//! bookworm's 2022.11) and swtpm, as the image's `print-measurements` printed them. The
//! TPM's values are the independent truth: the reader must replay the log to them, and the
//! rules of the model must give the digests and data this log holds.

use std::collections::BTreeMap;

use tdx_measure::log::{Limits, parse};
use tdx_measure::registers::{fold_rtmrs, replay};
use tdx_measure::stub::utf16_with_nul;
use tdx_measure::{Bank, Digests, EventType, bank::hex};

const LOG: &[u8] = include_bytes!("data/ovmf-swtpm-uki.eventlog");
const PCRS: &str = include_str!("data/ovmf-swtpm-uki.pcrs");

fn guest_pcrs() -> BTreeMap<(String, u32), String> {
    PCRS.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (
                (fields[0].to_owned(), fields[1].parse().unwrap()),
                fields[2].to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_real_log_replays_to_the_tpms_pcrs() {
    let log = parse(LOG, &Limits::default()).unwrap();
    assert_eq!(log.events.len(), 38, "the records after the Spec ID header");
    let replayed = replay(&log);
    let guest = guest_pcrs();
    for bank in Bank::ALL {
        // PCR 10 is IMA's, extended by the kernel after the firmware's log closed.
        for pcr in (0..24).filter(|&pcr| pcr != 10) {
            assert_eq!(
                hex(&replayed[&bank][pcr as usize]),
                guest[&(bank.algorithm().name(), pcr)],
                "pcr {pcr} {bank:?}"
            );
        }
    }
    // The RTMR fold uses the same SHA-384 digests: RTMR1 is the PCR 2-6 events', so with
    // only PCR 4 events it would equal PCR 4; here it differs by one separator and PCR 5.
    let rtmrs = fold_rtmrs(&log);
    assert_ne!(hex(&rtmrs[1]), guest[&("sha384".to_owned(), 4)]);
    assert_eq!(rtmrs[3], vec![0; 48]);
}

#[test]
fn the_models_rules_give_the_real_logs_digests_and_data() {
    let log = parse(LOG, &Limits::default()).unwrap();
    let mut section_names = Vec::new();
    for pair in log.events.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        let sha256 = |e: &tdx_measure::log::LoggedEvent| {
            e.digest(Bank::Sha256.algorithm()).unwrap().to_vec()
        };
        // systemd-stub: name with one NUL, then the contents, both with the UTF-16 name.
        if first.pcr == 11 && second.pcr == 11 && first.data == second.data {
            let units: Vec<u16> = first
                .data
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .take_while(|&u| u != 0)
                .collect();
            let name = String::from_utf16(&units).unwrap();
            if sha256(first) == Digests::of(format!("{name}\0").as_bytes()).sha256 {
                assert_eq!(first.data, utf16_with_nul(&name));
                section_names.push(name);
            }
        }
    }
    assert_eq!(
        section_names,
        [".linux", ".osrel", ".cmdline", ".initrd", ".uname", ".sbat"],
        "the stub's order, not the section table's (.sbat comes first in it)"
    );
    for event in &log.events {
        let sha256 = event.digest(Bank::Sha256.algorithm()).unwrap();
        match event.event_type {
            // Actions: the text, without a NUL, is both digest input and data.
            EventType::EFI_ACTION => assert_eq!(sha256, Digests::of(&event.data).sha256),
            EventType::SEPARATOR => assert_eq!(event.data, [0; 4]),
            _ => {}
        }
    }
    let tags: Vec<Vec<u8>> = log
        .events
        .iter()
        .filter(|e| e.pcr == 9)
        .map(|e| e.data.clone())
        .collect();
    let modelled: Vec<Vec<u8>> =
        tdx_measure::linux::events(Some(b"x\0"), Some(&Digests::of(b"initrd")))
            .into_iter()
            .map(|e| e.data.unwrap())
            .collect();
    assert_eq!(tags, modelled, "Linux's tagged events, data byte for byte");
}
