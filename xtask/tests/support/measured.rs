//! Measured boot for the end-to-end tests: a software TPM 2.0 (swtpm, SHA-256 and SHA-384
//! banks) for QEMU, the guest's PCRs and firmware event log as the image's
//! `print-measurements` unit prints them on the console, and the check that the build's
//! `.measurements.json` predicted them: event by event against the real log, register by
//! register against the TPM, and the RTMRs against the fold of the real log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tdx_measure::log::{Limits, LoggedEvent, parse};
use tdx_measure::registers::{fold_rtmrs, replay};
use tdx_measure::{Bank, EventType};

/// A running swtpm whose control socket QEMU connects to; killed when dropped.
pub(crate) struct Swtpm {
    child: Child,
    socket: PathBuf,
}

impl Swtpm {
    /// A fresh TPM (state made by `swtpm_setup` with both banks active) in `dir`.
    pub(crate) fn start(dir: &Path) -> Swtpm {
        let state = dir.join("tpm-state");
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        let setup = Command::new("swtpm_setup")
            .args([
                "--tpm2",
                "--pcr-banks",
                "sha256,sha384",
                "--overwrite",
                "--tpmstate",
            ])
            .arg(&state)
            .output()
            .expect("swtpm_setup (Debian package swtpm-tools) runs");
        assert!(setup.status.success(), "swtpm_setup failed: {setup:?}");
        let socket = dir.join("swtpm.sock");
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", state.display()))
            .arg("--ctrl")
            .arg(format!("type=unixio,path={}", socket.display()))
            .arg("--log")
            .arg(format!("file={}", dir.join("swtpm.log").display()))
            .stdin(Stdio::null())
            .spawn()
            .expect("swtpm (Debian package swtpm) runs");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "swtpm made no socket at {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Swtpm { child, socket }
    }

    /// QEMU's arguments for a TIS TPM backed by this swtpm.
    pub(crate) fn qemu_arguments(&self) -> Vec<String> {
        vec![
            "-chardev".into(),
            format!("socket,id=chrtpm,path={}", self.socket.display()),
            "-tpmdev".into(),
            "emulator,id=tpm0,chardev=chrtpm".into(),
            "-device".into(),
            "tpm-tis,tpmdev=tpm0".into(),
        ]
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the guest printed about its TPM.
#[derive(Debug, Default)]
pub(crate) struct TpmReport {
    /// `pcr<i>.<bank>` -> hex, as Linux's sysfs read them.
    pub pcrs: BTreeMap<String, String>,
    /// `binary_bios_measurements`, checked whole against its printed size and SHA-256.
    pub event_log: Vec<u8>,
}

/// The TPM lines of the console text `console` (`flashbox-measurements: tpm ...`).
pub(crate) fn parse_tpm(console: &str) -> TpmReport {
    let mut report = TpmReport::default();
    let mut chunks = BTreeMap::new();
    let mut end = None;
    for line in console.lines() {
        let Some((_, fact)) = line.split_once("flashbox-measurements: tpm ") else {
            continue;
        };
        let words: Vec<&str> = fact.split_whitespace().collect();
        match words.as_slice() {
            ["pcr", bank, index, value] => {
                report
                    .pcrs
                    .insert(format!("pcr{index}.{bank}"), (*value).to_owned());
            }
            ["eventlog", index, chunk] => {
                chunks.insert(index.parse::<usize>().unwrap(), (*chunk).to_owned());
            }
            ["eventlog-end", count, bytes, sha256] => {
                end = Some((
                    count.parse::<usize>().unwrap(),
                    bytes.parse::<usize>().unwrap(),
                    *sha256,
                ));
            }
            _ => {}
        }
    }
    let (count, bytes, sha256) = end.unwrap_or_else(|| {
        panic!("the guest printed no firmware event log (no TPM?); console:\n{console}")
    });
    assert_eq!(
        chunks.len(),
        count,
        "event log chunks missing on the console"
    );
    let text: String = chunks.into_values().collect();
    report.event_log = base64_decode(&text);
    assert_eq!(report.event_log.len(), bytes, "event log length");
    assert_eq!(
        tdx_measure::bank::hex(&Bank::Sha256.hash(&report.event_log)),
        sha256,
        "the event log's SHA-256 as the guest printed it"
    );
    report
}

/// Decodes with coreutils' `base64`, not our code.
fn base64_decode(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("base64 (coreutils) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "base64 -d failed");
    out.stdout
}

/// The report's firmware part names the booted firmware by the SHA-256 `sha256sum` gives and
/// holds a verified MRTD.
fn assert_mrtd_reported(firmware: &serde_json::Value) {
    let output = Command::new("sha256sum")
        .arg(super::FIRMWARE)
        .output()
        .expect("sha256sum runs");
    let sha256 = String::from_utf8(output.stdout).unwrap();
    let sha256 = sha256.split_whitespace().next().unwrap_or_default();
    assert_eq!(firmware["image"]["sha256"], sha256, "{firmware}");
    assert_eq!(firmware["mrtd"]["status"], "verified", "{firmware}");
    let mrtd = firmware["mrtd"]["value"].as_str().unwrap_or_default();
    assert!(
        mrtd.len() == 96 && mrtd.bytes().all(|b| b.is_ascii_hexdigit()),
        "MRTD is 48 bytes of hex: {firmware}"
    );
}

/// The PCRs a prediction covers (0, 1 and 7 are the firmware's).
fn predicted_pcr(pcr: u32) -> bool {
    (2..=6).contains(&pcr) || (8..=15).contains(&pcr)
}

/// Asserts that the `target` prediction of the build's `.measurements.json` next to `efi`
/// is what the guest measured: every predicted event equals the real log's event at the
/// same place among the predicted PCRs (digest by digest, and the data where predicted);
/// every predicted PCR equals the guest's TPM; RTMR1/RTMR2 equal the fold of the real log;
/// the log replays to the TPM's PCRs (so the log is whole); PCR 11 is one of the phases';
/// MRTD is reported, verified, for the firmware booted (named by its `sha256sum`).
pub(crate) fn assert_measurements_match(efi: &Path, target: &str, tpm: &TpmReport) {
    let path = efi.with_extension("measurements.json");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_mrtd_reported(&report["firmware"]);
    let prediction = report["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["target"] == target))
        .unwrap_or_else(|| panic!("{} has no {target} target", path.display()));

    let log = parse(&tpm.event_log, &Limits::default()).expect("the real log parses");
    let logged: Vec<&LoggedEvent> = log
        .events
        .iter()
        .filter(|e| e.event_type != EventType::NO_ACTION && predicted_pcr(e.pcr))
        .collect();
    let predicted = prediction["events"].as_array().unwrap();
    let describe = |e: &LoggedEvent| {
        format!(
            "pcr {} {} sha256 {} data {}",
            e.pcr,
            e.event_type.name(),
            e.digest(Bank::Sha256.algorithm())
                .map(tdx_measure::bank::hex)
                .unwrap_or_default(),
            tdx_measure::bank::hex(&e.data[..e.data.len().min(64)])
        )
    };
    for (index, expected) in predicted.iter().enumerate() {
        let Some(real) = logged.get(index) else {
            panic!("the real log ends before predicted event {index}: {expected}");
        };
        let mut same =
            expected["pcr"] == real.pcr && expected["type"] == real.event_type.name().as_str();
        for bank in Bank::ALL {
            let name = bank.algorithm().name();
            same &= real
                .digest(bank.algorithm())
                .is_some_and(|d| expected[&name] == tdx_measure::bank::hex(d).as_str());
        }
        if let Some(data) = expected["data"].as_str() {
            same &= data == tdx_measure::bank::hex(&real.data);
        }
        assert!(
            same,
            "{target}: predicted event {index} differs from the real log's:\n  predicted: \
             {expected}\n  real:      {}",
            describe(real)
        );
    }
    assert_eq!(
        logged.len(),
        predicted.len(),
        "{target}: the real log has more events in the predicted PCRs: {}",
        logged[predicted.len().min(logged.len())..]
            .iter()
            .map(|e| describe(e))
            .collect::<Vec<_>>()
            .join("\n  ")
    );

    // The log is whole: replayed, it gives the TPM's PCRs (PCR 10, IMA's, is not in it).
    let replayed = replay(&log);
    for bank in Bank::ALL {
        for pcr in (0..=15).filter(|&pcr| pcr != 10) {
            let key = format!("pcr{pcr}.{}", bank.algorithm().name());
            assert_eq!(
                Some(&tdx_measure::bank::hex(&replayed[&bank][pcr as usize])),
                tpm.pcrs.get(&key),
                "{key}: the real log does not replay to the TPM's value"
            );
        }
    }
    let registers = prediction["registers"].as_object().unwrap();
    let rtmrs = fold_rtmrs(&log);
    for (name, value) in registers {
        let real = match name.strip_prefix("rtmr") {
            Some(index) => tdx_measure::bank::hex(&rtmrs[index.parse::<usize>().unwrap()]),
            None => tpm.pcrs.get(name).cloned().unwrap_or_default(),
        };
        assert_eq!(
            value.as_str(),
            Some(real.as_str()),
            "{target}: predicted {name} differs from the guest's"
        );
    }
    let phases = prediction["phases"].as_array().unwrap();
    for bank in Bank::ALL {
        let key = format!("pcr11.{}", bank.algorithm().name());
        assert!(
            phases.iter().any(|p| p[&key] == tpm.pcrs[&key].as_str()),
            "{target}: the guest's {key} is no predicted phase's: {phases:?}"
        );
    }
    eprintln!(
        "{target}: {} predicted events and {} registers equal the guest's measured boot",
        predicted.len(),
        registers.len()
    );
}
