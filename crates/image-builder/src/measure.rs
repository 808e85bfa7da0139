//! The measurements of a built image: tdx-measure's prediction of what a TPM and a TD
//! measure booting the UKI (QEMU `-kernel`, and the disk when the build wrote one), written
//! as `<name>.measurements.json` next to the UKI. The root decides which of systemd's
//! phase measurements follow the boot ([`systemd_phases`]); MRTD is computed when the build
//! is given the TDX firmware its TDs boot ([`TdxFirmware`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use build_vocab::{AtPath, Sha256};
use tdx_measure::report::{FirmwareRegisters, Report, UkiFacts};
use tdx_measure::{BootTarget, PageOrder, SystemdPhases, UkiMeasurements};

use crate::error::Error;

/// How much of a disk's start the GPT's measurement needs: the protective MBR, the header and
/// the partition entries, well within the first MiB.
pub const DISK_HEAD_BYTES: u64 = 1 << 20;

/// A TDX firmware image (TDVF, e.g. `OVMF.fd`) to compute MRTD from, and the order in which
/// the VMM adds its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdxFirmware {
    /// The image.
    pub path: PathBuf,
    /// The VMM's page order.
    pub page_order: PageOrder,
}

/// What the measurements depend on besides the UKI.
#[derive(Debug, Clone, Copy)]
pub struct BootShape<'a> {
    /// The disk's first bytes ([`DISK_HEAD_BYTES`]), to predict booting it too.
    pub disk_head: Option<&'a [u8]>,
    /// What the firmware passes as LoadOptions (QEMU `-append`); empty: none, as builds assume.
    pub command_line: &'a str,
    /// Which of systemd's phase measurements follow the boot.
    pub phases: SystemdPhases,
    /// The TDX firmware, for MRTD.
    pub firmware: Option<&'a TdxFirmware>,
}

/// The report for the UKI at `uki`, booted as `shape` says: QEMU `-kernel`, and the disk
/// when `shape` has one.
pub fn report(uki: &Path, shape: &BootShape<'_>) -> Result<Report, Error> {
    let image = std::fs::read(uki).at(uki)?;
    let measurements = UkiMeasurements::of(&image, shape.command_line).map_err(Error::Measure)?;
    let mut targets = vec![BootTarget::QemuKernel];
    if let Some(head) = shape.disk_head {
        targets.push(BootTarget::Disk {
            gpt_event_data: tdx_measure::firmware::gpt_event_data(head).map_err(Error::Measure)?,
        });
    }
    let predictions = targets
        .iter()
        .map(|target| measurements.boot(target, shape.phases))
        .collect();
    let firmware = match shape.firmware {
        None => FirmwareRegisters::without_image(),
        Some(firmware) => firmware_registers(firmware)?,
    };
    Ok(Report::new(
        UkiFacts {
            file: file_name(uki),
            bytes: image.len() as u64,
            sha256: Sha256::of(&image).to_string(),
        },
        &measurements,
        predictions,
        firmware,
    ))
}

fn firmware_registers(firmware: &TdxFirmware) -> Result<FirmwareRegisters, Error> {
    let path = &firmware.path;
    let bytes = std::fs::read(path).at(path)?;
    FirmwareRegisters::of_image(&file_name(path), &bytes, firmware.page_order).map_err(|source| {
        Error::Firmware {
            path: path.clone(),
            source,
        }
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The first [`DISK_HEAD_BYTES`] of the disk image at `path` (all of it when shorter).
pub fn read_disk_head(path: &Path) -> Result<Vec<u8>, Error> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(DISK_HEAD_BYTES).read_to_end(&mut head))
        .at(path)?;
    Ok(head)
}

/// Which phase words systemd in the image root `root` extends into PCR 11: none when the
/// units are missing or masked (a link to `/dev/null` under `etc/systemd/system`), the
/// initrd's when the root has `etc/initrd-release`, else the host's.
pub fn systemd_phases(root: &Path) -> SystemdPhases {
    let enabled = |unit: &str| {
        let shipped = root.join("usr/lib/systemd/system").join(unit).exists();
        let masked = std::fs::read_link(root.join("etc/systemd/system").join(unit))
            .is_ok_and(|target| target == Path::new("/dev/null"));
        shipped && !masked
    };
    let initrd = std::fs::symlink_metadata(root.join("etc/initrd-release")).is_ok();
    if initrd && enabled("systemd-pcrphase-initrd.service") {
        SystemdPhases::Initrd
    } else if !initrd
        && enabled("systemd-pcrphase-sysinit.service")
        && enabled("systemd-pcrphase.service")
    {
        SystemdPhases::Host
    } else {
        SystemdPhases::None
    }
}

/// Writes `report` as pretty JSON to `path` (staged, then renamed into place).
pub fn write(report: &Report, path: &Path) -> Result<(), Error> {
    let mut json = serde_json::to_string_pretty(report).expect("a report serialises");
    json.push('\n');
    build_vocab::publish::write_bytes(path, 0o644, json.as_bytes())?;
    Ok(())
}
