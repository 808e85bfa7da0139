//! What EDK2's firmware (OVMF, and TDVF through the same TCG code) measures around a UKI
//! boot, in the order it logs it, for the two ways a UKI is booted:
//!
//! - **QEMU `-kernel`**: the firmware loads the UKI from QEMU's fw_cfg (PCR 4, its
//!   Authenticode hash: QEMU passes the file unchanged, checked against a real boot), then
//!   signals ReadyToBoot: "Calling EFI Application from Boot Option" (PCR 4) and the
//!   separators of PCRs 0-6.
//! - **A disk** whose ESP holds `EFI/BOOT/BOOTX64.EFI`, as the first boot option: ReadyToBoot
//!   first ("Calling...", separators), then the disk's GPT (PCR 5, once per disk), then the
//!   UKI (PCR 4).
//!
//! Either way systemd-stub follows, then the stub's LoadImage of `.linux` (PCR 4: without
//! Secure Boot the firmware measures it like any image), Linux's EFI stub (PCR 9), and the
//! two ExitBootServices actions (PCR 5).
//!
//! Only PCRs 2-6 and 8-15 are predicted here: PCRs 0, 1 and 7 (the firmware itself, its
//! configuration and Secure Boot state) depend on the firmware build and VM, not on the
//! UKI. No option ROM drivers are assumed (PCR 2 holds only its separator).
//!
//! The events are a TPM's log; a TD's firmware logs the same into its RTMRs but for the
//! separators, which [`crate::registers`] folds as a TD does.

use crate::bank::Digests;
use crate::error::Error;
use crate::event::{Event, EventType};

/// The PCR of boot applications (`PCR_BOOT_MANAGER_CODE`).
pub const PCR_BOOT_CODE: u32 = 4;
/// The PCR of the partition table and boot-manager actions (`PCR_BOOT_MANAGER_CONFIG`).
pub const PCR_BOOT_CONFIG: u32 = 5;
/// The PCRs whose separators ReadyToBoot logs that this crate predicts (0 and 1 are the
/// firmware's own).
const READY_TO_BOOT_SEPARATORS: std::ops::RangeInclusive<u32> = 2..=6;

/// How the firmware reaches the UKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootTarget {
    /// QEMU `-kernel image.efi`.
    QemuKernel,
    /// A GPT disk booted through its ESP's `EFI/BOOT/BOOTX64.EFI`, its first boot option.
    Disk {
        /// The EV_EFI_GPT_EVENT data of the disk ([`gpt_event_data`]).
        gpt_event_data: Vec<u8>,
    },
}

impl BootTarget {
    /// The name a report uses (`qemu-kernel`, `disk`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::QemuKernel => "qemu-kernel",
            Self::Disk { .. } => "disk",
        }
    }
}

/// What boots after the firmware, as far as the firmware's log is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImages {
    /// The Authenticode digests of the UKI.
    pub uki: Digests,
    /// systemd-stub's events (PCRs 11 and 12).
    pub stub_events: Vec<Event>,
    /// The Authenticode digests of `.linux` as the stub hands it to LoadImage.
    pub linux: Digests,
    /// Linux's EFI stub's events (PCR 9).
    pub linux_events: Vec<Event>,
}

/// The predicted events of booting `images` from `target`, in log order.
pub fn events(target: &BootTarget, images: LoadedImages) -> Vec<Event> {
    let uki = application(images.uki, "the UKI (Authenticode)");
    let mut events = Vec::new();
    match target {
        BootTarget::QemuKernel => {
            events.push(uki);
            events.extend(ready_to_boot());
        }
        BootTarget::Disk { gpt_event_data } => {
            events.extend(ready_to_boot());
            events.push(Event {
                pcr: PCR_BOOT_CONFIG,
                event_type: EventType::EFI_GPT_EVENT,
                digests: Digests::of(gpt_event_data),
                description: "the disk's GPT header and partition entries".into(),
                data: Some(gpt_event_data.clone()),
            });
            events.push(uki);
        }
    }
    events.extend(images.stub_events);
    events.push(application(
        images.linux,
        ".linux, loaded by the stub (Authenticode)",
    ));
    events.extend(images.linux_events);
    for text in [
        "Exit Boot Services Invocation",
        "Exit Boot Services Returned with Success",
    ] {
        events.push(action(PCR_BOOT_CONFIG, text));
    }
    events
}

/// ReadyToBoot's events in the PCRs predicted here.
fn ready_to_boot() -> Vec<Event> {
    let mut events = vec![action(
        PCR_BOOT_CODE,
        "Calling EFI Application from Boot Option",
    )];
    events.extend(READY_TO_BOOT_SEPARATORS.map(|pcr| Event {
        pcr,
        event_type: EventType::SEPARATOR,
        digests: Digests::of(&[0; 4]),
        description: "separator".into(),
        data: Some(vec![0; 4]),
    }));
    events
}

/// EV_EFI_ACTION: digest and data are the text without a NUL.
fn action(pcr: u32, text: &str) -> Event {
    Event {
        pcr,
        event_type: EventType::EFI_ACTION,
        digests: Digests::of(text.as_bytes()),
        description: text.to_owned(),
        data: Some(text.as_bytes().to_vec()),
    }
}

fn application(digests: Digests, description: &str) -> Event {
    Event {
        pcr: PCR_BOOT_CODE,
        event_type: EventType::EFI_BOOT_SERVICES_APPLICATION,
        digests,
        description: description.to_owned(),
        data: None,
    }
}

/// The sector size the disks this crate measures use.
pub const SECTOR: usize = 512;
/// A bound on the partition entry array read for the GPT event.
const MAX_ENTRY_BYTES: usize = 1 << 20;

/// The EV_EFI_GPT_EVENT data EDK2 logs for a disk, from the disk's first bytes (at least
/// up to the end of its partition entry array): the 92-byte GPT header of LBA 1, the
/// number of used entries as a u64, then each entry whose type GUID is not zero, in array
/// order.
pub fn gpt_event_data(disk_head: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |reason: String| Error::Gpt { reason };
    let header = disk_head
        .get(SECTOR..SECTOR + 92)
        .ok_or_else(|| bad(format!("{} bytes hold no GPT header", disk_head.len())))?;
    if &header[..8] != b"EFI PART" {
        return Err(bad("LBA 1 has no `EFI PART` signature".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or_default());
    let entries_lba = u64::from_le_bytes(header[72..80].try_into().unwrap_or_default());
    let (count, entry_size) = (u32_at(80) as usize, u32_at(84) as usize);
    let total = count
        .checked_mul(entry_size)
        .filter(|&total| total <= MAX_ENTRY_BYTES && entry_size >= 128)
        .ok_or_else(|| {
            bad(format!(
                "{count} entries of {entry_size} bytes are not a partition array this \
                 reader takes (entries of at least 128 bytes, at most {MAX_ENTRY_BYTES} in all)"
            ))
        })?;
    let start = usize::try_from(entries_lba)
        .ok()
        .and_then(|lba| lba.checked_mul(SECTOR))
        .ok_or_else(|| {
            bad(format!(
                "the entry array's LBA {entries_lba} is out of range"
            ))
        })?;
    let array = disk_head.get(start..start + total).ok_or_else(|| {
        bad(format!(
            "the entry array (bytes {start}..{}) is past the {} bytes given",
            start + total,
            disk_head.len()
        ))
    })?;
    let used: Vec<&[u8]> = array
        .chunks_exact(entry_size)
        .filter(|entry| entry[..16].iter().any(|&b| b != 0))
        .collect();
    let mut data = header.to_vec();
    data.extend((used.len() as u64).to_le_bytes());
    used.iter().for_each(|entry| data.extend_from_slice(entry));
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> LoadedImages {
        LoadedImages {
            uki: Digests::of(b"uki"),
            stub_events: Vec::new(),
            linux: Digests::of(b"linux"),
            linux_events: Vec::new(),
        }
    }

    #[test]
    fn qemu_kernel_measures_the_uki_before_ready_to_boot_and_a_disk_after() {
        let kernel = events(&BootTarget::QemuKernel, images());
        assert_eq!(kernel[0].digests, Digests::of(b"uki"));
        assert_eq!(
            kernel[1].description,
            "Calling EFI Application from Boot Option"
        );
        let disk = events(
            &BootTarget::Disk {
                gpt_event_data: b"gpt".to_vec(),
            },
            images(),
        );
        assert_eq!(
            disk[0].description,
            "Calling EFI Application from Boot Option"
        );
        let gpt = disk
            .iter()
            .position(|e| e.event_type == EventType::EFI_GPT_EVENT);
        let uki = disk.iter().position(|e| e.digests == Digests::of(b"uki"));
        assert_eq!(gpt.map(|at| at + 1), uki);
        // Separators of PCRs 2-6, from the specification's value: four zero bytes.
        let separators: Vec<u32> = disk
            .iter()
            .filter(|e| e.event_type == EventType::SEPARATOR)
            .map(|e| e.pcr)
            .collect();
        assert_eq!(separators, [2, 3, 4, 5, 6]);
        assert_eq!(
            crate::bank::hex(&disk[1].digests.sha256),
            "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119"
        );
        for list in [&kernel, &disk] {
            let last: Vec<&str> = list[list.len() - 2..]
                .iter()
                .map(|e| e.description.as_str())
                .collect();
            assert_eq!(
                last,
                [
                    "Exit Boot Services Invocation",
                    "Exit Boot Services Returned with Success"
                ]
            );
        }
    }

    #[test]
    fn the_gpt_event_holds_the_header_and_the_used_entries() {
        let mut disk = vec![0u8; 4 * SECTOR];
        disk[SECTOR..SECTOR + 8].copy_from_slice(b"EFI PART");
        disk[SECTOR + 72..SECTOR + 80].copy_from_slice(&2u64.to_le_bytes());
        disk[SECTOR + 80..SECTOR + 84].copy_from_slice(&4u32.to_le_bytes());
        disk[SECTOR + 84..SECTOR + 88].copy_from_slice(&128u32.to_le_bytes());
        // Entries 0 and 2 used.
        disk[2 * SECTOR] = 1;
        disk[2 * SECTOR + 256] = 2;
        let data = gpt_event_data(&disk).unwrap();
        assert_eq!(data.len(), 92 + 8 + 2 * 128);
        assert_eq!(&data[92..100], 2u64.to_le_bytes());
        assert_eq!((data[100], data[228]), (1, 2));
        assert!(gpt_event_data(&disk[..3 * SECTOR - 1]).is_err());
        disk[SECTOR] = b'X';
        assert!(gpt_event_data(&disk).is_err());
    }
}
