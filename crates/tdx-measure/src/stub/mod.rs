//! What systemd-stub measures and hands to Linux, modelled per stub version (today: 257,
//! the stub of Debian trixie), each rule checked against a real measured boot by the
//! end-to-end tests:
//!
//! - **PCR 11**: every section it knows, in its fixed order (not the section table's), as
//!   two EV_IPL events: the digest of the name with one NUL, then of the section's bytes in
//!   memory (VirtualSize long, zero-filled past the raw data); the event data of both is the
//!   name in UTF-16LE with a NUL. `.pcrsig` is never measured.
//! - **PCR 12**: a command line passed in the image's LoadOptions (QEMU `-append`, a boot
//!   entry's options), mangled as the stub mangles it, as UTF-16LE with its NUL; it then
//!   replaces `.cmdline`. Without one nothing is measured into PCR 12 (`.cmdline` is PCR 11's).
//! - **The initrd Linux receives**: `.ucode`, `.initrd`, then the cpio archives the stub
//!   writes from `.pcrsig`, `.pcrpkey`, `.osrel` and `.profile` (unmeasured by the stub,
//!   measured by Linux), each padded to 4 bytes when there is more than one piece.
//!
//! Modelled for a boot without Secure Boot, without credentials, system or configuration
//! extensions and add-ons next to the UKI (none exist for QEMU `-kernel`, and the disks
//! this project writes carry only `EFI/BOOT/BOOTX64.EFI`), and for single-profile UKIs.

mod cpio;

use crate::bank::{BothHasher, Digests};
use crate::error::Error;
use crate::event::{Event, EventType};
use crate::uki::{Uki, hash_in_memory, in_memory};

/// The PCR of the UKI's sections (`TPM2_PCR_KERNEL_BOOT`).
pub const PCR_KERNEL_BOOT: u32 = 11;
/// The PCR of the command line and other boot-time configuration (`TPM2_PCR_KERNEL_CONFIG`).
pub const PCR_KERNEL_CONFIG: u32 = 12;

/// A systemd-stub version whose measurements this crate models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubModel {
    /// systemd 257.
    Systemd257,
}

/// The versions [`StubModel::of`] accepts, for messages.
pub const MODELLED_VERSIONS: &str = "257";

/// The sections v257 measures into PCR 11, in its order (`.pcrsig` is left out).
const MEASURED_SECTIONS_257: [&str; 13] = [
    ".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat",
    ".pcrpkey", ".profile", ".dtbauto", ".hwids",
];

/// The sections v257 turns into cpio archives under `.extra/`, in initrd order, with the
/// file name each becomes.
const LITERAL_CPIOS_257: [(&str, &str); 4] = [
    (".pcrsig", "tpm2-pcr-signature.json"),
    (".pcrpkey", "tpm2-pcr-public-key.pem"),
    (".osrel", "os-release"),
    (".profile", "profile"),
];

/// What the stub measured and what it hands Linux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubBoot {
    /// Its events, in order (PCR 12's command line first, then PCR 11's sections).
    pub events: Vec<Event>,
    /// The command line as Linux's LoadOptions: UTF-16LE with a NUL; none without one.
    pub load_options: Option<Vec<u8>>,
    /// The digests of the initrd Linux loads through the stub's LoadFile2; none without one.
    pub initrd: Option<Digests>,
}

impl StubModel {
    /// The model of the UKI's stub, or [`Error::UnmodelledStub`].
    pub fn of(uki: &Uki<'_>) -> Result<Self, Error> {
        let version = uki.stub_version();
        let major = version.split(['.', '-', '~']).next().unwrap_or_default();
        match major {
            "257" => Ok(Self::Systemd257),
            _ => Err(Error::UnmodelledStub {
                version: version.to_owned(),
                modelled: MODELLED_VERSIONS.to_owned(),
            }),
        }
    }

    /// What the stub does booting `uki` with the firmware's LoadOptions `load_options`
    /// (UTF-16LE as the firmware passes them; empty for none). Hashes every measured
    /// section once; the initrd's digest continues the hash of its first piece.
    pub fn boot(self, uki: &Uki<'_>, load_options: &[u8]) -> Result<StubBoot, Error> {
        match self {
            Self::Systemd257 => boot_257(uki, load_options),
        }
    }
}

fn boot_257(uki: &Uki<'_>, firmware_load_options: &[u8]) -> Result<StubBoot, Error> {
    if uki.section(".profile").is_some() {
        return Err(Error::Unmodelled {
            what: "a UKI with .profile sections (multi-profile UKIs)".into(),
        });
    }
    let mut events = Vec::new();

    // The command line: LoadOptions win and are measured; else `.cmdline`, unmeasured.
    let custom = mangle(&decode_utf16_until_nul(firmware_load_options));
    let command_line = if custom.is_empty() {
        uki.section(".cmdline").map(|section| {
            let bytes = in_memory(section);
            let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
            mangle(&String::from_utf8_lossy(text))
        })
    } else {
        let bytes = utf16_with_nul(&custom);
        events.push(Event {
            pcr: PCR_KERNEL_CONFIG,
            event_type: EventType::IPL,
            digests: Digests::of(&bytes),
            description: format!("command line from LoadOptions: {custom}"),
            data: Some(bytes),
        });
        Some(custom)
    };

    // The initrd's pieces: sections first, then the stub's own cpio archives.
    let mut initrd_sections: Vec<&str> = Vec::new();
    for name in [".ucode", ".initrd"] {
        if uki.section(name).is_some() {
            initrd_sections.push(name);
        }
    }
    let generated: Vec<Vec<u8>> = LITERAL_CPIOS_257
        .iter()
        .filter_map(|&(section, file)| {
            let contents = in_memory(uki.section(section)?);
            Some(cpio::literal(".extra", 0o555, file, 0o444, &contents))
        })
        .collect();
    let pieces = initrd_sections.len() + generated.len();
    let padded = pieces > 1;

    // PCR 11, one hash per section; the initrd's first section keeps its hasher going.
    let mut initrd_hasher: Option<BothHasher> = None;
    for name in MEASURED_SECTIONS_257 {
        let Some(section) = uki.section(name) else {
            continue;
        };
        let name_data = utf16_with_nul(name);
        let mut name_bytes = name.as_bytes().to_vec();
        name_bytes.push(0);
        events.push(Event {
            pcr: PCR_KERNEL_BOOT,
            event_type: EventType::IPL,
            digests: Digests::of(&name_bytes),
            description: format!("section name {name}"),
            data: Some(name_data.clone()),
        });
        let mut hasher = BothHasher::new();
        hash_in_memory(&mut hasher, section);
        if initrd_sections.first() == Some(&name) {
            initrd_hasher = Some(hasher.clone());
        }
        events.push(Event {
            pcr: PCR_KERNEL_BOOT,
            event_type: EventType::IPL,
            digests: hasher.finish(),
            description: format!("section {name} ({} bytes)", section.virtual_size),
            data: Some(name_data),
        });
    }

    let initrd = (pieces > 0).then(|| {
        let mut hasher = initrd_hasher.unwrap_or_default();
        let mut length = 0usize;
        for (index, name) in initrd_sections.iter().enumerate() {
            let Some(section) = uki.section(name) else {
                continue;
            };
            if index > 0 {
                hash_in_memory(&mut hasher, section);
            }
            length += section.virtual_size as usize;
            if padded {
                let pad = length.next_multiple_of(4) - length;
                hasher.update_zeros(pad);
                length += pad;
            }
        }
        for archive in &generated {
            hasher.update(archive);
            length += archive.len();
            if padded {
                let pad = length.next_multiple_of(4) - length;
                hasher.update_zeros(pad);
                length += pad;
            }
        }
        hasher.finish()
    });

    Ok(StubBoot {
        events,
        load_options: command_line.map(|line| utf16_with_nul(&line)),
        initrd,
    })
}

/// The stub's `mangle_stub_cmdline`: control characters and DEL (and spaces) at the ends
/// removed, inside turned into spaces.
fn mangle(line: &str) -> String {
    let is_control = |c: char| c <= ' ' || c == '\u{7f}';
    line.trim_matches(is_control)
        .chars()
        .map(|c| if is_control(c) { ' ' } else { c })
        .collect()
}

/// UTF-16LE code units up to the first NUL (or the end), as the stub reads LoadOptions.
/// Options whose first unit is a control character are no command line (a boot manager's
/// binary data), as in the stub.
fn decode_utf16_until_nul(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    if units.first().is_none_or(|&unit| unit <= 0x1f) {
        return String::new();
    }
    String::from_utf16_lossy(&units)
}

/// `text` in UTF-16LE followed by a NUL (`strsize16` bytes).
pub fn utf16_with_nul(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_mangled_as_the_stub_mangles_them() {
        assert_eq!(mangle("  quiet\tsplash\n"), "quiet splash");
        assert_eq!(mangle("a\u{7f}b"), "a b");
        assert_eq!(mangle("\n\n"), "");
    }

    #[test]
    fn load_options_are_read_up_to_their_nul_and_binary_ones_ignored() {
        assert_eq!(
            decode_utf16_until_nul(&utf16_with_nul("console=ttyS0")),
            "console=ttyS0"
        );
        assert_eq!(decode_utf16_until_nul(&[0x01, 0x00, 0x41, 0x00]), "");
        assert_eq!(decode_utf16_until_nul(&[]), "");
        assert_eq!(utf16_with_nul("a"), [0x61, 0, 0, 0]);
    }
}
