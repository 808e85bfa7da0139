//! os-release files (`/usr/lib/os-release`, `/etc/initrd-release`,
//! `extension-release.<name>`): shell-style `KEY=VALUE` assignments, read as systemd reads
//! them. The UKI's `.osrel` section and a system extension's release file both come from
//! the image's os-release.

use crate::error::Error;

/// The text of an os-release file, checked to be a list of shell-style `KEY=VALUE`
/// assignments, comments and blank lines, kept unchanged (a UKI's `.osrel` section holds
/// it as given).
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

    /// The text as given.
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
}
