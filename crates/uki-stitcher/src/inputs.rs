//! What a UKI is made of: [`UkiInputs`] and the typed values of its text sections.
//!
//! Large inputs (stub, kernel, initrds, splash, device tree) are borrowed byte slices; the
//! caller reads them however it likes. The text sections are typed: [`OsRelease`] is checked to
//! be os-release syntax, [`Uname`] to be a kernel release, [`Sbat`] to be SBAT entries. Their
//! section contents are exactly the bytes given (ukify writes text sections verbatim).

use std::fmt;

use crate::error::Error;
use crate::sbat::Sbat;

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

/// The text of an os-release file, checked to be a list of shell-style `KEY=VALUE`
/// assignments, comments and blank lines. The section holds the text unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsRelease {
    text: String,
    fields: Vec<(String, String)>,
}

impl OsRelease {
    /// Parses os-release text.
    pub fn parse(text: &str) -> Result<OsRelease, Error> {
        let mut fields = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let invalid = |reason| Error::InvalidOsRelease {
                line: i + 1,
                reason,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| invalid("expected KEY=VALUE"))?;
            let valid_key = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key {
                return Err(invalid("a key is letters, digits and `_`"));
            }
            fields.push((key.to_owned(), unquote(value).map_err(invalid)?));
        }
        Ok(OsRelease {
            text: text.to_owned(),
            fields,
        })
    }

    /// The value of `key` (the last assignment wins, as in a shell), unquoted.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The text as given, which is what the section holds.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Removes one level of os-release quoting: `"..."` with backslash escapes, `'...'`, or a bare
/// word.
fn unquote(value: &str) -> Result<String, &'static str> {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or("unterminated double quote")?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().ok_or("backslash at the end of a value")?),
                '"' => return Err("unescaped double quote inside a value"),
                c => out.push(c),
            }
        }
        Ok(out)
    } else if let Some(inner) = value.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("unterminated single quote")?;
        if inner.contains('\'') {
            return Err("single quote inside a single-quoted value");
        }
        Ok(inner.to_owned())
    } else if value.contains(|c: char| c.is_whitespace() || "\"'$`\\".contains(c)) {
        Err("an unquoted value has no spaces, quotes or shell characters")
    } else {
        Ok(value.to_owned())
    }
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
    fn os_release_values_are_unquoted_and_text_kept() {
        let text = "# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\n\
                    PRETTY_NAME=\"say \\\"hi\\\"\"\nID=flashbox\n";
        let os = OsRelease::parse(text).unwrap();
        assert_eq!(os.get("NAME"), Some("Debian GNU/Linux"));
        assert_eq!(os.get("VERSION_ID"), Some("12"));
        assert_eq!(os.get("PRETTY_NAME"), Some("say \"hi\""));
        assert_eq!(os.get("ID"), Some("flashbox"));
        assert_eq!(os.get("MISSING"), None);
        assert_eq!(os.text(), text);
    }

    #[test]
    fn bad_os_release_names_its_line() {
        for (text, line) in [
            ("ID=debian\nnot an assignment\n", 2),
            ("1ID=x\n", 1),
            ("ID=two words\n", 1),
            ("\nNAME=\"open\n", 2),
        ] {
            match OsRelease::parse(text) {
                Err(Error::InvalidOsRelease { line: got, .. }) => assert_eq!(got, line, "{text}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

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
