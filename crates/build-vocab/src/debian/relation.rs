//! Relationship fields: `Depends`, `Pre-Depends`, `Recommends`, `Conflicts`, `Breaks`,
//! `Provides`.
//!
//! `a (>= 1.0) | b:any, c` is a list of groups of alternatives. Each [`Relation`] is a name, an
//! optional architecture qualifier (`:any`, `:native`, `:amd64`) and an optional version
//! constraint (`<< <= = >= >>`, plus the obsolete `<` and `>` that dpkg reads as `<=` and
//! `>=`). Architecture restrictions (`[amd64]`) and build profiles (`<!nocheck>`), which only
//! appear in source packages, are accepted and dropped. Parsing is pure and zero-copy: names
//! and versions borrow from the input and are checked ([`DebVersion::parse`]) by the
//! caller that keeps them.

use std::fmt;

use super::version::DebVersion;
use crate::error::Error;

/// A version comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionOp {
    /// `<<`: strictly earlier.
    Lt,
    /// `<=`: earlier or equal.
    Le,
    /// `=`: exactly equal.
    Eq,
    /// `>=`: later or equal.
    Ge,
    /// `>>`: strictly later.
    Gt,
}

impl VersionOp {
    /// Whether `candidate OP reference` holds.
    pub fn holds(self, candidate: &DebVersion, reference: &DebVersion) -> bool {
        let ordering = candidate.cmp(reference);
        match self {
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
            Self::Eq => ordering.is_eq(),
            Self::Ge => ordering.is_ge(),
            Self::Gt => ordering.is_gt(),
        }
    }

    /// The operator as written in control files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<<",
            Self::Le => "<=",
            Self::Eq => "=",
            Self::Ge => ">=",
            Self::Gt => ">>",
        }
    }
}

impl fmt::Display for VersionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One relation as written: borrowed name, architecture qualifier and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation<'a> {
    /// The package (or virtual package) name.
    pub name: &'a str,
    /// The architecture qualifier after `:`, if any (`any`, `native`, `amd64`).
    pub arch: Option<&'a str>,
    /// The version constraint, if any; the version is not yet checked.
    pub constraint: Option<(VersionOp, &'a str)>,
}

/// Parses a relationship field into groups of alternatives (`,` separates groups, `|`
/// alternatives).
pub fn parse_relations(text: &str) -> Result<Vec<Vec<Relation<'_>>>, Error> {
    let mut groups = Vec::new();
    for group in text.split(',') {
        if group.trim().is_empty() {
            // dpkg tolerates a trailing comma; an empty field yields no groups.
            continue;
        }
        let mut alternatives = Vec::new();
        for alternative in group.split('|') {
            alternatives.push(parse_relation(alternative)?);
        }
        groups.push(alternatives);
    }
    Ok(groups)
}

/// Parses a field without alternatives (`Conflicts`, `Breaks`, `Provides`).
pub fn parse_relation_list(text: &str) -> Result<Vec<Relation<'_>>, Error> {
    let mut relations = Vec::new();
    for group in parse_relations(text)? {
        if group.len() > 1 {
            return Err(Error::syntax(
                0,
                format!("alternatives (`|`) are not allowed here: `{}`", text.trim()),
            ));
        }
        relations.extend(group);
    }
    Ok(relations)
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+-._".contains(&b)
}

/// Parses one relation such as `libc6:any (>= 2.36) [amd64] <!nocheck>`.
pub fn parse_relation(text: &str) -> Result<Relation<'_>, Error> {
    let bad = |message: &str| Error::syntax(0, format!("{message} in relation `{}`", text.trim()));
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_blank = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_blank(&mut i);
    let start = i;
    while i < bytes.len() && is_name_char(bytes[i]) {
        i += 1;
    }
    let name = &text[start..i];
    if name.is_empty() {
        return Err(bad("missing package name"));
    }
    let mut arch = None;
    if i < bytes.len() && bytes[i] == b':' {
        i += 1;
        let arch_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        if arch_start == i {
            return Err(bad("empty architecture qualifier"));
        }
        arch = Some(&text[arch_start..i]);
    }
    skip_blank(&mut i);
    let mut constraint = None;
    if i < bytes.len() && bytes[i] == b'(' {
        i += 1;
        skip_blank(&mut i);
        let op = match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'<'), Some(b'<')) => (VersionOp::Lt, 2),
            (Some(b'<'), Some(b'=')) => (VersionOp::Le, 2),
            (Some(b'>'), Some(b'>')) => (VersionOp::Gt, 2),
            (Some(b'>'), Some(b'=')) => (VersionOp::Ge, 2),
            (Some(b'='), _) => (VersionOp::Eq, 1),
            // Obsolete forms, read by dpkg as `<=` and `>=`.
            (Some(b'<'), _) => (VersionOp::Le, 1),
            (Some(b'>'), _) => (VersionOp::Ge, 1),
            _ => return Err(bad("missing version operator")),
        };
        i += op.1;
        skip_blank(&mut i);
        let version_start = i;
        while i < bytes.len() && bytes[i] != b')' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let version = &text[version_start..i];
        skip_blank(&mut i);
        if i >= bytes.len() || bytes[i] != b')' {
            return Err(bad("unterminated version constraint"));
        }
        i += 1;
        if version.is_empty() {
            return Err(bad("empty version"));
        }
        constraint = Some((op.0, version));
    }
    // Source-only decorations: architecture restrictions and build profiles.
    loop {
        skip_blank(&mut i);
        let close = match bytes.get(i) {
            Some(b'[') => b']',
            Some(b'<') => b'>',
            _ => break,
        };
        match memchr::memchr(close, &bytes[i..]) {
            Some(end) => i += end + 1,
            None => return Err(bad("unterminated restriction")),
        }
    }
    skip_blank(&mut i);
    if i != bytes.len() {
        return Err(bad("unexpected text"));
    }
    Ok(Relation {
        name,
        arch,
        constraint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_alternatives_and_qualifiers() {
        let groups = parse_relations(
            "libc6 (>= 2.36), perl:any | perl-base (<<5.40~), x [amd64] <!nocheck>,",
        )
        .unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(
            groups[0][0],
            Relation {
                name: "libc6",
                arch: None,
                constraint: Some((VersionOp::Ge, "2.36"))
            }
        );
        assert_eq!(groups[1][0].arch, Some("any"));
        assert_eq!(groups[1][1].constraint, Some((VersionOp::Lt, "5.40~")));
        assert_eq!(groups[2][0].name, "x");
        assert_eq!(
            parse_relation("a (< 1)").unwrap().constraint,
            Some((VersionOp::Le, "1"))
        );
        assert!(parse_relations("").unwrap().is_empty());
    }

    #[test]
    fn malformed_relations_are_errors() {
        for bad in [
            "a (>= 1", "(>= 1)", "a (~ 1)", "a b", "a:", "a ()", "a [amd64",
        ] {
            assert!(parse_relation(bad).is_err(), "{bad}");
        }
        assert!(parse_relation_list("a | b").is_err());
    }
}
