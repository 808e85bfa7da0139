//! Debian control data: deb822 paragraphs (a package's `control`, dpkg's `status`) and the
//! few fields the assembler acts on.
//!
//! Pure: text in, values out. Only what the assembler needs is typed (name, version,
//! architecture, source, `Essential`, the package names in `Pre-Depends`/`Depends`/`Provides`);
//! version constraints are kept out on purpose (resolution is deb-resolver's job).

use std::collections::BTreeMap;

use crate::error::Error;

/// One deb822 paragraph: field names (as written) to values (continuation lines joined with
/// `\n`, leading space of each kept out). Field order is not kept; lookups ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    fields: BTreeMap<String, String>,
}

impl Paragraph {
    /// The value of a field, looked up without regard to case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Parses deb822 text into paragraphs (separated by blank lines). `what` names the text in
/// errors.
pub fn parse_paragraphs(text: &str, what: &str) -> Result<Vec<Paragraph>, Error> {
    let mut paragraphs = Vec::new();
    let mut current = Paragraph::default();
    let mut last: Option<String> = None;
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            last = None;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some(name) = &last else {
                return Err(Error::Control {
                    what: what.to_owned(),
                    reason: format!("line {}: continuation line before any field", number + 1),
                });
            };
            let value = current.fields.get_mut(name).expect("last field exists");
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Error::Control {
                what: what.to_owned(),
                reason: format!("line {}: expected `Field: value`, got `{line}`", number + 1),
            });
        };
        let name = name.trim().to_ascii_lowercase();
        current.fields.insert(name.clone(), value.trim().to_owned());
        last = Some(name);
    }
    if !current.fields.is_empty() {
        paragraphs.push(current);
    }
    Ok(paragraphs)
}

/// The fields of a binary package's `control` file that the assembler uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// `Package`.
    pub package: String,
    /// `Version`, verbatim (with epoch, if any).
    pub version: String,
    /// `Architecture` (`amd64`, `all`, ...).
    pub architecture: String,
    /// The source package name (`Source`, without its version; the package name when absent).
    pub source: String,
    /// `Essential: yes`.
    pub essential: bool,
    /// `Multi-Arch: same`: dpkg names its info files `<package>:<arch>.*`.
    pub multi_arch_same: bool,
    /// Package names in `Pre-Depends`, one inner list of alternatives per relation.
    pub pre_depends: Vec<Vec<String>>,
    /// Package names in `Depends`, one inner list of alternatives per relation.
    pub depends: Vec<Vec<String>>,
    /// Package names in `Provides`.
    pub provides: Vec<String>,
}

impl Control {
    /// Parses a binary package's `control` file. `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self, Error> {
        let paragraphs = parse_paragraphs(text, what)?;
        let [paragraph] = paragraphs.as_slice() else {
            return Err(Error::Control {
                what: what.to_owned(),
                reason: format!("expected one paragraph, found {}", paragraphs.len()),
            });
        };
        Self::from_paragraph(paragraph, what)
    }

    /// Reads the fields from a parsed paragraph (of a `control` or `status` file).
    pub fn from_paragraph(paragraph: &Paragraph, what: &str) -> Result<Self, Error> {
        let required = |name: &str| {
            paragraph
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::Control {
                    what: what.to_owned(),
                    reason: format!("missing field `{name}`"),
                })
        };
        let package = required("Package")?;
        let source = paragraph
            .get("Source")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or(&package)
            .to_owned();
        Ok(Self {
            version: required("Version")?,
            architecture: required("Architecture")?,
            source,
            essential: paragraph
                .get("Essential")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            multi_arch_same: paragraph
                .get("Multi-Arch")
                .is_some_and(|v| v.eq_ignore_ascii_case("same")),
            pre_depends: relation_names(paragraph.get("Pre-Depends").unwrap_or("")),
            depends: relation_names(paragraph.get("Depends").unwrap_or("")),
            provides: relation_names(paragraph.get("Provides").unwrap_or(""))
                .into_iter()
                .flatten()
                .collect(),
            package,
        })
    }

    /// The name dpkg uses for this package's files under `/var/lib/dpkg/info`:
    /// `<package>:<arch>` for `Multi-Arch: same`, else `<package>`.
    pub fn info_name(&self) -> String {
        if self.multi_arch_same {
            format!("{}:{}", self.package, self.architecture)
        } else {
            self.package.clone()
        }
    }
}

/// The package names of a relationship field (`Depends`, ...): one list per comma-separated
/// relation, holding the `|` alternatives, with version constraints, architecture
/// qualifiers (`:any`, `:amd64`) and build profiles dropped.
pub fn relation_names(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .filter_map(|relation| {
            let alternatives: Vec<String> = relation
                .split('|')
                .filter_map(|alternative| {
                    let name = alternative
                        .trim()
                        .split(|c: char| c.is_whitespace() || "(<[".contains(c))
                        .next()?;
                    let name = name.split(':').next().unwrap_or(name);
                    (!name.is_empty()).then(|| name.to_owned())
                })
                .collect();
            (!alternatives.is_empty()).then_some(alternatives)
        })
        .collect()
}

/// Parses a `conffiles` control member: one absolute path per line, optionally followed by
/// flags such as `remove-on-upgrade`; only the paths are returned.
pub fn parse_conffiles(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|path| path.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROL: &str = "\
Package: libfoo1
Source: foo (1.2-3)
Version: 1:1.2-3+b1
Architecture: amd64
Multi-Arch: same
Essential: yes
Pre-Depends: libc6 (>= 2.34), dpkg:any (>= 1.19) | fake-dpkg
Depends: bar [amd64], baz:any,
 qux (<< 4) | quux
Provides: libfoo (= 1.2)
Description: a test
 with a long
 .
 description
";

    #[test]
    fn control_fields() {
        let control = Control::parse(CONTROL, "test").unwrap();
        assert_eq!(control.package, "libfoo1");
        assert_eq!(control.source, "foo");
        assert_eq!(control.version, "1:1.2-3+b1");
        assert!(control.essential && control.multi_arch_same);
        assert_eq!(control.info_name(), "libfoo1:amd64");
        assert_eq!(
            control.pre_depends,
            [vec!["libc6"], vec!["dpkg", "fake-dpkg"]]
        );
        assert_eq!(
            control.depends,
            [vec!["bar"], vec!["baz"], vec!["qux", "quux"]]
        );
        assert_eq!(control.provides, ["libfoo"]);
    }

    #[test]
    fn missing_fields_and_bad_lines_are_errors() {
        let err = Control::parse("Package: x\nVersion: 1\n", "x.deb").unwrap_err();
        assert!(err.to_string().contains("Architecture"), "{err}");
        let err = parse_paragraphs(" leading\n", "status").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse_paragraphs("no colon\n", "status").unwrap_err();
        assert!(err.to_string().contains("no colon"), "{err}");
    }

    #[test]
    fn several_paragraphs() {
        let text = "Package: a\nStatus: install ok installed\n\n\nPackage: b\n";
        let paragraphs = parse_paragraphs(text, "status").unwrap();
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(paragraphs[1].get("package"), Some("b"));
    }

    #[test]
    fn conffiles() {
        let text = "/etc/foo.conf\n/etc/old.conf remove-on-upgrade\n\nnot-absolute\n";
        assert_eq!(parse_conffiles(text), ["/etc/foo.conf", "/etc/old.conf"]);
    }
}
