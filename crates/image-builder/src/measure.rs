//! The measurements of a built image: tdx-measure's prediction of what a TPM and a TD
//! measure booting the UKI (QEMU `-kernel`, and the disk when the build wrote one), written
//! as `<name>.measurements.json` next to the UKI. The root decides which of systemd's
//! phase measurements follow the boot ([`systemd_phases`]).

use std::path::Path;

use tdx_measure::report::{FirmwareRegisters, FirmwareValue, Report, UkiFacts};
use tdx_measure::{BootTarget, SystemdPhases, UkiMeasurements};

use crate::error::Error;

/// What firmware-dependent registers are, until a TDVF image is measured.
const NO_FIRMWARE: &str = "MRTD and RTMR0 are measured from the TDVF firmware image and the \
                           VM shape; computing them is not implemented yet";

/// The report for the UKI `image` (called `file`, with SHA-256 `sha256`), for QEMU
/// `-kernel` and, given the disk's first bytes `disk_head`, its disk; the firmware passes
/// `command_line` as LoadOptions (empty: none, as builds assume).
pub fn report(
    file: &str,
    image: &[u8],
    sha256: &str,
    disk_head: Option<&[u8]>,
    command_line: &str,
    phases: SystemdPhases,
) -> Result<Report, Error> {
    let measurements = UkiMeasurements::of(image, command_line).map_err(Error::Measure)?;
    let mut targets = vec![BootTarget::QemuKernel];
    if let Some(head) = disk_head {
        targets.push(BootTarget::Disk {
            gpt_event_data: tdx_measure::firmware::gpt_event_data(head).map_err(Error::Measure)?,
        });
    }
    let predictions = targets
        .iter()
        .map(|target| measurements.boot(target, phases))
        .collect();
    Ok(Report::new(
        UkiFacts {
            file: file.to_owned(),
            bytes: image.len() as u64,
            sha256: sha256.to_owned(),
        },
        &measurements,
        predictions,
        FirmwareRegisters {
            mrtd: FirmwareValue::not_computed(NO_FIRMWARE),
            rtmr0: FirmwareValue::not_computed(NO_FIRMWARE),
        },
    ))
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
