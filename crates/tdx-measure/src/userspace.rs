//! What systemd extends after boot (v257 `systemd-pcrextend`, run by the
//! `systemd-pcrphase*` units when the UKI was measured): a word per boot phase into PCR 11,
//! hashed without a NUL in every bank, logged only to `/run/log/systemd/tpm2-measure.log`,
//! never to the firmware's log or to an RTMR. A verifier that reads PCR 11 at some point
//! of the boot compares it with the value after the phases passed by then.
//!
//! Which words an image measures depends on its root: an image whose root is the initrd
//! (`/etc/initrd-release`) measures `enter-initrd` (and `leave-initrd` at switch-root or
//! shutdown); a host measures `sysinit`, `ready`, and at shutdown `shutdown` and `final`;
//! an image that masks the units (as Flashbox images do) measures nothing.

use serde::Serialize;

use crate::bank::{Bank, Digests, hex};
use crate::registers::Registers;
use crate::stub::PCR_KERNEL_BOOT;

/// Which of systemd's phase measurements an image makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemdPhases {
    /// None: the units are missing or masked.
    None,
    /// The root is an initrd (`/etc/initrd-release`): `systemd-pcrphase-initrd.service`.
    Initrd,
    /// The root is a host: `systemd-pcrphase-sysinit.service` and `systemd-pcrphase.service`.
    Host,
}

impl std::str::FromStr for SystemdPhases {
    type Err = String;

    /// `none`, `initrd` or `host`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Self::None),
            "initrd" => Ok(Self::Initrd),
            "host" => Ok(Self::Host),
            other => Err(format!("`{other}`: expected none, initrd or host")),
        }
    }
}

impl SystemdPhases {
    /// The words in the order they are extended.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Self::None => &[],
            Self::Initrd => &["enter-initrd", "leave-initrd"],
            Self::Host => &["sysinit", "ready", "shutdown", "final"],
        }
    }
}

/// PCR 11 after a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `boot` (after the stub, before userspace) or the last word extended.
    pub after: String,
    /// PCR 11 in each bank.
    pub pcr11: Digests,
}

impl Serialize for Phase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut phase = serializer.serialize_struct("Phase", 3)?;
        phase.serialize_field("after", &self.after)?;
        phase.serialize_field("pcr11.sha256", &hex(&self.pcr11.sha256))?;
        phase.serialize_field("pcr11.sha384", &hex(&self.pcr11.sha384))?;
        phase.end()
    }
}

/// PCR 11 at boot and after each of `phases`' words, from the registers at boot.
pub fn phases(at_boot: &Registers, phases: SystemdPhases) -> Vec<Phase> {
    let mut registers = at_boot.clone();
    let mut out = vec![phase("boot", &registers)];
    for word in phases.words() {
        registers.extend_tpm_only(PCR_KERNEL_BOOT, &Digests::of(word.as_bytes()));
        out.push(phase(word, &registers));
    }
    out
}

fn phase(after: &str, registers: &Registers) -> Phase {
    let value = |bank: Bank| registers.pcr(bank, PCR_KERNEL_BOOT).to_vec();
    Phase {
        after: after.to_owned(),
        pcr11: Digests {
            sha256: value(Bank::Sha256).try_into().unwrap_or([0; 32]),
            sha384: value(Bank::Sha384).try_into().unwrap_or([0; 48]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_extends_pcr_11_without_a_nul() {
        let list = phases(&Registers::new(), SystemdPhases::Initrd);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].pcr11.sha256, [0; 32]);
        let word = Bank::Sha256.hash(b"enter-initrd");
        // The digest systemd's sources document for the word (prefix and suffix).
        let text = hex(&word);
        assert!(
            text.starts_with("51e6b92f") && text.ends_with("4fed"),
            "{text}"
        );
        assert_eq!(
            list[1].pcr11.sha256.to_vec(),
            Bank::Sha256.extend(&[0; 32], &word)
        );
        assert!(phases(&Registers::new(), SystemdPhases::None).len() == 1);
    }
}
