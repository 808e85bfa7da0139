//! The INI dialect of mkosi configuration files (and of systemd-repart's `repart.d` files),
//! as a pure function from text to assignments.
//!
//! mkosi reads its files with its own parser rather than Python's configparser because a key may
//! be assigned many times in one file. The rules, which this module follows:
//! - A `#` anywhere on a line starts a comment that runs to the end of the line (there is no
//!   escape; `;` is not a comment character in current mkosi). Blank and comment-only lines are
//!   skipped and do not end a multi-line value.
//! - `[Name]` opens a section (the name is trimmed). Every assignment must be inside one.
//! - `Key=Value` assigns; key and value are trimmed; only the first `=` splits.
//! - An indented line following an assignment continues its value: the value gains a newline
//!   and the trimmed line. This is how list settings are written one item per line.
//! - The whole file is dedented first (common leading whitespace removed), so an indented file
//!   reads like an unindented one.
//!
//! Positions are kept (1-based line of the key) so later stages can name `file:line`.

/// One `Key=Value` assignment with the section it appeared in and the line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The section name without brackets, e.g. `Content`.
    pub section: String,
    /// The key, trimmed, e.g. `Packages`.
    pub key: String,
    /// The value, trimmed; continuation lines are joined with `\n`.
    pub value: String,
    /// 1-based line number of the key.
    pub line: usize,
}

/// An event of the file in order: a section header or an assignment inside the current section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniItem {
    /// `[Name]` at the given 1-based line.
    Section {
        /// The section name without brackets.
        name: String,
        /// 1-based line number.
        line: usize,
    },
    /// A `Key=Value` assignment.
    Assignment(Assignment),
}

/// Why a file is not valid mkosi INI: a detail the caller's error carries next to the file
/// name (so it is a plain value with a `Display`, not an error type of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniSyntaxError {
    /// A line starting with `[` has no closing `]`.
    UnclosedSection {
        /// 1-based line.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
    /// `[]` or `[   ]`.
    EmptySection {
        /// 1-based line.
        line: usize,
    },
    /// An assignment before the first section header.
    OutsideSection {
        /// 1-based line.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
    /// A line in a section that is neither a header nor `Key=Value`.
    MissingEquals {
        /// 1-based line.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
    /// `=value` with nothing before the `=`.
    EmptyKey {
        /// 1-based line.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
}

impl std::fmt::Display for IniSyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnclosedSection { text, .. } => {
                write!(f, "section header `{text}` is missing its closing `]`")
            }
            Self::EmptySection { .. } => f.write_str("section name is empty"),
            Self::OutsideSection { text, .. } => {
                write!(f, "setting `{text}` is outside of any section")
            }
            Self::MissingEquals { text, .. } => {
                write!(f, "setting `{text}` must be followed by `=`")
            }
            Self::EmptyKey { text, .. } => write!(f, "setting name is empty in `{text}`"),
        }
    }
}

impl IniSyntaxError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            Self::UnclosedSection { line, .. }
            | Self::EmptySection { line }
            | Self::OutsideSection { line, .. }
            | Self::MissingEquals { line, .. }
            | Self::EmptyKey { line, .. } => *line,
        }
    }
}

/// Parses the text of one configuration file into its sections and assignments, in order.
pub fn parse(text: &str) -> Result<Vec<IniItem>, IniSyntaxError> {
    let indent = common_indent(text);
    let mut items = Vec::new();
    let mut section: Option<String> = None;
    let mut pending: Option<Assignment> = None;

    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = strip_comment(dedent(raw, indent));
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(assignment) = pending.as_mut() {
                assignment.value.push('\n');
                assignment.value.push_str(line.trim());
                continue;
            }
        }
        items.extend(pending.take().map(IniItem::Assignment));
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let name = header
                .strip_suffix(']')
                .ok_or_else(|| IniSyntaxError::UnclosedSection {
                    line: line_number,
                    text: line.to_owned(),
                })?
                .trim();
            if name.is_empty() {
                return Err(IniSyntaxError::EmptySection { line: line_number });
            }
            section = Some(name.to_owned());
            items.push(IniItem::Section {
                name: name.to_owned(),
                line: line_number,
            });
            continue;
        }
        let Some(current) = section.as_ref() else {
            return Err(IniSyntaxError::OutsideSection {
                line: line_number,
                text: line.to_owned(),
            });
        };
        let Some((key, value)) = line.split_once('=') else {
            return Err(IniSyntaxError::MissingEquals {
                line: line_number,
                text: line.to_owned(),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(IniSyntaxError::EmptyKey {
                line: line_number,
                text: line.to_owned(),
            });
        }
        pending = Some(Assignment {
            section: current.clone(),
            key: key.to_owned(),
            value: value.trim().to_owned(),
            line: line_number,
        });
    }
    items.extend(pending.map(IniItem::Assignment));
    Ok(items)
}

/// The whitespace prefix shared by every non-blank line, as Python's `textwrap.dedent` finds it.
fn common_indent(text: &str) -> &str {
    let mut common: Option<&str> = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        common = Some(match common {
            None => indent,
            Some(prefix) => {
                let shared = prefix
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &prefix[..shared]
            }
        });
    }
    common.unwrap_or("")
}

fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(before, _)| before)
}

fn dedent<'a>(line: &'a str, indent: &str) -> &'a str {
    line.strip_prefix(indent).unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignments(text: &str) -> Vec<(String, String, String, usize)> {
        parse(text)
            .unwrap()
            .into_iter()
            .filter_map(|item| match item {
                IniItem::Assignment(a) => Some((a.section, a.key, a.value, a.line)),
                IniItem::Section { .. } => None,
            })
            .collect()
    }

    fn owned(
        section: &str,
        key: &str,
        value: &str,
        line: usize,
    ) -> (String, String, String, usize) {
        (section.into(), key.into(), value.into(), line)
    }

    #[test]
    fn sections_comments_and_repeated_keys() {
        let text = "# comment\n[Content]\nPackages=a # trailing\n\nPackages = b \n[ Build ]\nWithNetwork=yes\n";
        assert_eq!(
            assignments(text),
            vec![
                owned("Content", "Packages", "a", 3),
                owned("Content", "Packages", "b", 5),
                owned("Build", "WithNetwork", "yes", 7),
            ]
        );
    }

    #[test]
    fn indented_lines_continue_the_value() {
        let text = "[Content]\nPackages=kmod\n         systemd\n  # a comment\n\n         udev\nBootable=no\n";
        assert_eq!(
            assignments(text),
            vec![
                owned("Content", "Packages", "kmod\nsystemd\nudev", 2),
                owned("Content", "Bootable", "no", 7),
            ]
        );
    }

    #[test]
    fn value_may_start_on_the_next_line() {
        let text = "[Content]\nPackages=\n    a\n    b\n";
        assert_eq!(
            assignments(text),
            vec![owned("Content", "Packages", "\na\nb", 2)]
        );
    }

    #[test]
    fn whole_file_is_dedented() {
        let text = "    [Output]\n    Format=uki\n      ImageId=x\n";
        // After dedenting, `ImageId` is indented relative to `Format` and so continues it.
        assert_eq!(
            assignments(text),
            vec![owned("Output", "Format", "uki\nImageId=x", 2)]
        );
    }

    #[test]
    fn only_first_equals_splits() {
        let text = "[Build]\nEnvironment=A=1 B=2\n";
        assert_eq!(
            assignments(text),
            vec![owned("Build", "Environment", "A=1 B=2", 2)]
        );
    }

    #[test]
    fn semicolon_is_not_a_comment() {
        assert_eq!(
            assignments("[Build]\nEnvironment=A=1;2\n"),
            vec![owned("Build", "Environment", "A=1;2", 2)]
        );
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(
            parse("[Content\nPackages=a\n"),
            Err(IniSyntaxError::UnclosedSection {
                line: 1,
                text: "[Content".into()
            })
        );
        assert_eq!(
            parse("\n[ ]\n"),
            Err(IniSyntaxError::EmptySection { line: 2 })
        );
        assert_eq!(
            parse("Packages=a\n"),
            Err(IniSyntaxError::OutsideSection {
                line: 1,
                text: "Packages=a".into()
            })
        );
        assert_eq!(parse("[Content]\n=a\n").unwrap_err().line(), 2);
        assert_eq!(
            parse("[Content]\nPackages\n"),
            Err(IniSyntaxError::MissingEquals {
                line: 2,
                text: "Packages".into()
            })
        );
    }
}
