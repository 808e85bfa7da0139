//! What a UKI is made of: [`UkiInputs`] and the typed values of its text sections.
//!
//! Large inputs (stub, kernel, initrds, splash, device tree) are borrowed byte slices; the
//! caller reads them however it likes. The text sections are typed: [`OsRelease`] is checked to
//! be os-release syntax, [`Uname`] to be a kernel release, [`Sbat`] to be SBAT entries. Their
//! section contents are exactly the bytes given (ukify writes text sections verbatim).

use std::fmt;

use crate::error::Error;
use crate::sbat::Sbat;
pub use build_vocab::os_release::OsRelease;

/// Everything a UKI is built from.
#[derive(Clone, Debug)]
pub struct UkiInputs<'a> {
    /// The systemd-stub PE image (`linuxx64.efi.stub` from `systemd-boot-efi`).
    pub stub: &'a [u8],
    /// The kernel image (`vmlinuz`), the `.linux` section.
    pub linux: &'a [u8],
    /// Initrds, joined into `.initrd` as ukify joins them (one is taken as is; several are each
    /// padded with zeros to a multiple of 4 bytes). Empty: no `.initrd` section.
    pub initrds: Vec<&'a [u8]>,
    /// The kernel command line, the `.cmdline` section.
    pub cmdline: Option<String>,
    /// The os-release of the image, the `.osrel` section.
    pub os_release: Option<OsRelease>,
    /// The kernel release, the `.uname` section ([`Uname::from_linux`] reads it from an x86
    /// kernel, as ukify does).
    pub uname: Option<Uname>,
    /// Our SBAT entries, merged after the stub's and the kernel's into `.sbat`.
    pub sbat: Sbat,
    /// A BMP boot splash, the `.splash` section.
    pub splash: Option<&'a [u8]>,
    /// A flattened device tree, the `.dtb` section.
    pub devicetree: Option<&'a [u8]>,
}

/// A kernel release (`uname -r`), the contents of `.uname`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uname(String);

impl Uname {
    /// Checks a release string: non-empty, and only the characters ukify accepts
    /// (`a-z 0-9 . _ -`, plus `A-Z` and `+` which custom kernels use).
    pub fn new(release: &str) -> Result<Uname, Error> {
        let valid = !release.is_empty()
            && release
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
        if valid {
            Ok(Uname(release.to_owned()))
        } else {
            Err(Error::InvalidUname {
                reason: format!("`{release}` is not a kernel release"),
            })
        }
    }

    /// Reads the release from an x86 kernel's real-mode boot header, as ukify's
    /// `Uname.scrape_x86` does: the `HdrS` magic at 0x202, the version string's offset (from
    /// 0x200) at 0x20e, and the release as the first word of that string.
    pub fn from_linux(linux: &[u8]) -> Result<Uname, Error> {
        let invalid = |reason: &str| Error::InvalidUname {
            reason: reason.to_owned(),
        };
        if linux.get(0x202..0x206) != Some(b"HdrS") {
            return Err(invalid("no x86 boot header (HdrS magic) in the kernel"));
        }
        let pointer = linux
            .get(0x20e..0x210)
            .ok_or_else(|| invalid("truncated boot header"))?;
        let start = 0x200 + usize::from(u16::from_le_bytes([pointer[0], pointer[1]]));
        let text = linux
            .get(start..linux.len().min(start + 128))
            .ok_or_else(|| invalid("kernel version string outside the file"))?;
        let text = text.split(|&b| b == 0).next().unwrap_or_default();
        let text = std::str::from_utf8(text).map_err(|_| invalid("version string not UTF-8"))?;
        match text.split_once(' ') {
            Some((release, rest)) if rest.starts_with('(') => Uname::new(release),
            _ => Err(invalid(&format!("cannot parse version string `{text}`"))),
        }
    }

    /// The release string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_is_read_from_the_boot_header() {
        let mut kernel = vec![0u8; 0x1000];
        kernel[0x202..0x206].copy_from_slice(b"HdrS");
        kernel[0x20e..0x210].copy_from_slice(&0x300u16.to_le_bytes());
        let version = b"6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0";
        kernel[0x500..0x500 + version.len()].copy_from_slice(version);
        assert_eq!(
            Uname::from_linux(&kernel).unwrap().as_str(),
            "6.1.0-56-cloud-amd64"
        );
        kernel[0x202] = b'X';
        assert!(matches!(
            Uname::from_linux(&kernel),
            Err(Error::InvalidUname { .. })
        ));
        assert!(Uname::new("6.1 0").is_err());
        assert!(Uname::new("").is_err());
    }
}
