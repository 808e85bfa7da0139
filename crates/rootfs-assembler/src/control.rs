//! The few fields of Debian control data (a package's `control`, dpkg's `status`) the
//! assembler acts on, read with the shared parsers of [`build_vocab::debian`].
//!
//! Pure: text in, values out. Only what the assembler needs is typed (name, version,
//! architecture, source, `Essential`, the package names in `Pre-Depends`/`Depends`/`Provides`);
//! version constraints are kept out on purpose (resolution is deb-resolver's job).

use build_vocab::PackageId;
use build_vocab::debian::deb822::{Paragraph, paragraphs};
use build_vocab::debian::relation::parse_relations;

use crate::error::Error;

/// The fields of a binary package's `control` file that the assembler uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// `Package`, `Version` (verbatim, with epoch if any) and `Architecture`.
    pub id: PackageId,
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
    pub fn from_paragraph(paragraph: &Paragraph<'_>, what: &str) -> Result<Self, Error> {
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
        let id = PackageId::parse(&package, &required("Version")?, &required("Architecture")?)
            .map_err(|source| control_error(what, source))?;
        Ok(Self {
            id,
            source,
            essential: paragraph
                .get("Essential")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            multi_arch_same: paragraph
                .get("Multi-Arch")
                .is_some_and(|v| v.eq_ignore_ascii_case("same")),
            pre_depends: relation_names(paragraph, "Pre-Depends", what)?,
            depends: relation_names(paragraph, "Depends", what)?,
            provides: relation_names(paragraph, "Provides", what)?
                .into_iter()
                .flatten()
                .collect(),
        })
    }

    /// The name dpkg uses for this package's files under `/var/lib/dpkg/info`:
    /// `<package>:<arch>` for `Multi-Arch: same`, else `<package>`.
    pub fn info_name(&self) -> String {
        if self.multi_arch_same {
            format!("{}:{}", self.id.name, self.id.architecture)
        } else {
            self.id.name.to_string()
        }
    }
}

/// Parses deb822 text (a `control` or `status` file) into paragraphs. `what` names the text
/// in errors.
pub fn parse_paragraphs<'a>(text: &'a str, what: &str) -> Result<Vec<Paragraph<'a>>, Error> {
    paragraphs(text)
        .collect::<Result<_, _>>()
        .map_err(|source| control_error(what, source))
}

/// The package names of relationship field `name`: one list per comma-separated relation,
/// holding the `|` alternatives, with version constraints and architecture qualifiers
/// dropped.
fn relation_names(
    paragraph: &Paragraph<'_>,
    name: &str,
    what: &str,
) -> Result<Vec<Vec<String>>, Error> {
    let groups = parse_relations(paragraph.get(name).unwrap_or(""))
        .map_err(|source| control_error(&format!("{what}: {name}"), source))?;
    Ok(groups
        .into_iter()
        .map(|group| group.iter().map(|r| r.name.to_owned()).collect())
        .collect())
}

fn control_error(what: &str, source: build_vocab::Error) -> Error {
    Error::Control {
        what: what.to_owned(),
        reason: source.to_string(),
    }
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
        assert_eq!(control.id.name, "libfoo1");
        assert_eq!(control.source, "foo");
        assert_eq!(control.id.version.as_str(), "1:1.2-3+b1");
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
        let err = Control::parse(
            "Package: xx\nVersion: 1\nArchitecture: all\nDepends: (\n",
            "x",
        )
        .unwrap_err();
        assert!(err.to_string().contains("x: Depends"), "{err}");
    }

    #[test]
    fn conffiles() {
        let text = "/etc/foo.conf\n/etc/old.conf remove-on-upgrade\n\nnot-absolute\n";
        assert_eq!(parse_conffiles(text), ["/etc/foo.conf", "/etc/old.conf"]);
    }
}
