//! SBAT (Secure Boot Advanced Targeting) metadata: typed entries and ukify's merge.
//!
//! A `.sbat` section is CSV text: a first line naming the SBAT format itself
//! (`sbat,1,SBAT Version,...`), then one line per component. A UKI's `.sbat` is the merge ukify
//! makes: the format line, then the component lines of the stub's `.sbat`, of the kernel's
//! `.sbat` (if the kernel is a PE image with one), and of the caller's entries, in that order,
//! joined by newlines and ended by `"\n\0"`; the UKI planner writes exactly those bytes.

use std::fmt;

use crate::error::Error;

/// The line every SBAT text starts with.
pub const SBAT_HEADER: &str =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md";

/// One component line: `component,generation,vendor,package,version,url`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SbatEntry {
    /// Component name, the key revocations refer to (`uki`, `systemd-stub`, ...).
    pub component: String,
    /// Security generation; revocation raises the minimum.
    pub generation: u32,
    /// Human-readable vendor name.
    pub vendor: String,
    /// Vendor's package name.
    pub package: String,
    /// Vendor's version.
    pub version: String,
    /// Vendor's URL.
    pub url: String,
}

impl SbatEntry {
    /// Parses one CSV line of six fields.
    pub fn parse(line: &str) -> Result<SbatEntry, &'static str> {
        let fields: Vec<&str> = line.split(',').collect();
        let [component, generation, vendor, package, version, url] = fields[..] else {
            return Err("an SBAT entry has six comma-separated fields");
        };
        if component.is_empty() {
            return Err("empty component name");
        }
        if line.contains(['\n', '\r', '\0']) {
            return Err("an SBAT entry is one line");
        }
        let generation = generation
            .parse()
            .map_err(|_| "the generation is not a number")?;
        Ok(SbatEntry {
            component: component.to_owned(),
            generation,
            vendor: vendor.to_owned(),
            package: package.to_owned(),
            version: version.to_owned(),
            url: url.to_owned(),
        })
    }
}

impl fmt::Display for SbatEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{},{}",
            self.component, self.generation, self.vendor, self.package, self.version, self.url
        )
    }
}

/// The caller's SBAT entries for a UKI, merged after the stub's and the kernel's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sbat {
    /// Component lines, in order, without the format line.
    pub entries: Vec<SbatEntry>,
}

impl Sbat {
    /// No entries of our own: the UKI's `.sbat` is the stub's (and kernel's) alone.
    pub fn none() -> Sbat {
        Sbat {
            entries: Vec::new(),
        }
    }

    /// The entry ukify adds when given none: `uki,1,UKI,uki,1,<UKI specification URL>`.
    pub fn uki_default() -> Sbat {
        Sbat {
            entries: vec![SbatEntry {
                component: "uki".into(),
                generation: 1,
                vendor: "UKI".into(),
                package: "uki".into(),
                version: "1".into(),
                url: "https://uapi-group.org/specifications/specs/unified_kernel_image/".into(),
            }],
        }
    }

    /// Parses SBAT text as ukify's `--sbat` takes it: the format line first, then entries.
    pub fn parse(text: &str) -> Result<Sbat, Error> {
        let lines = component_lines(text.as_bytes(), "input")?;
        let entries = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                SbatEntry::parse(line).map_err(|reason| Error::InvalidSbat {
                    origin: "input".into(),
                    line: i + 2,
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Sbat { entries })
    }
}

/// The component lines of an SBAT text (a `.sbat` section's contents, trailing NULs allowed),
/// checked to start with the format line, which is dropped.
pub(crate) fn component_lines(section: &[u8], origin: &str) -> Result<Vec<String>, Error> {
    let invalid = |line, reason| Error::InvalidSbat {
        origin: origin.into(),
        line,
        reason,
    };
    let end = section
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let text = std::str::from_utf8(&section[..end]).map_err(|_| invalid(0, "not UTF-8"))?;
    let mut lines = text.lines();
    match lines.next() {
        Some(first) if first.starts_with("sbat,") => {}
        _ => return Err(invalid(1, "does not start with the `sbat,` format line")),
    }
    Ok(lines.map(str::to_owned).collect())
}

/// The merged `.sbat` contents, byte for byte as ukify's `merge_sbat` writes them: the format
/// line, then the given component lines joined by `\n`, then `"\n\0"`.
pub(crate) fn merge(lines: &[String]) -> Vec<u8> {
    let mut out = format!("{SBAT_HEADER}\n{}\n", lines.join("\n")).into_bytes();
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_text() {
        let sbat = Sbat::uki_default();
        let text = format!("{SBAT_HEADER}\n{}\n", sbat.entries[0]);
        assert_eq!(Sbat::parse(&text).unwrap(), sbat);
        assert_eq!(
            sbat.entries[0].to_string(),
            "uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/"
        );
    }

    #[test]
    fn merge_is_ukify_s_format() {
        let stub = format!(
            "{SBAT_HEADER}\nsystemd,1,The systemd Developers,systemd,252,https://systemd.io/\n\0"
        );
        let mut lines = component_lines(stub.as_bytes(), "stub").unwrap();
        lines.push(Sbat::uki_default().entries[0].to_string());
        let merged = merge(&lines);
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            format!(
                "{SBAT_HEADER}\nsystemd,1,The systemd Developers,systemd,252,https://systemd.io/\n\
                 uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n\0"
            )
        );
    }

    #[test]
    fn merging_the_stub_alone_gives_its_own_bytes() {
        let stub = format!("{SBAT_HEADER}\na,1,A,a,1,https://a/\nb,2,B,b,2,https://b/\n\0");
        let lines = component_lines(stub.as_bytes(), "stub").unwrap();
        assert_eq!(merge(&lines), stub.as_bytes());
    }

    #[test]
    fn bad_sbat_is_refused_with_its_line() {
        assert!(matches!(
            Sbat::parse("uki,1,UKI,uki,1,x\n"),
            Err(Error::InvalidSbat { line: 1, .. })
        ));
        assert!(matches!(
            Sbat::parse(&format!("{SBAT_HEADER}\nuki,one,UKI,uki,1,x\n")),
            Err(Error::InvalidSbat { line: 2, reason, .. }) if reason.contains("number")
        ));
        assert!(matches!(
            Sbat::parse(&format!("{SBAT_HEADER}\nuki,1,UKI\n")),
            Err(Error::InvalidSbat { line: 2, .. })
        ));
    }
}
