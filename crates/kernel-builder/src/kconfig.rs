//! The kernel's `.config` syntax, shared by full configurations and fragments.
//!
//! A line is `CONFIG_NAME=value` (`y`, `m`, a number or a quoted string), or
//! `# CONFIG_NAME is not set`, which means the same as `CONFIG_NAME=n`; every other comment and
//! blank line is ignored. Values are kept as written, except that "not set" and `n` are one
//! value, [`Value::No`].

use std::collections::BTreeMap;
use std::fmt;

use crate::error::KernelError;

/// One symbol's value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// `y`: built in.
    Yes,
    /// `m`: built as a module.
    Module,
    /// `n` or `# CONFIG_X is not set`.
    No,
    /// A number or a quoted string, exactly as written (quotes included).
    Literal(String),
}

impl Value {
    fn parse(raw: &str) -> Self {
        match raw {
            "y" => Self::Yes,
            "m" => Self::Module,
            "n" => Self::No,
            other => Self::Literal(other.to_owned()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Yes => f.write_str("y"),
            Self::Module => f.write_str("m"),
            Self::No => f.write_str("n"),
            Self::Literal(text) => f.write_str(text),
        }
    }
}

/// One assignment of a file, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The symbol without its `CONFIG_` prefix, e.g. `MODULES`.
    pub symbol: String,
    /// Its value.
    pub value: Value,
    /// 1-based line in the file.
    pub line: usize,
}

/// Parses the assignments of a `.config` or fragment, in file order. `file` names the input in
/// errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Setting>, KernelError> {
    let mut settings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let trimmed = line.trim();
        let parsed = if let Some(rest) = trimmed.strip_prefix("# CONFIG_") {
            // Any other comment that happens to start with CONFIG_ is just a comment.
            rest.strip_suffix(" is not set")
                .map(|symbol| (symbol, Value::No))
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            None
        } else {
            let (symbol, value) = trimmed
                .strip_prefix("CONFIG_")
                .and_then(|rest| rest.split_once('='))
                .ok_or_else(|| KernelError::MalformedConfigLine {
                    file: file.to_owned(),
                    line: line_number,
                    text: line.to_owned(),
                })?;
            Some((symbol, Value::parse(value)))
        };
        if let Some((symbol, value)) = parsed {
            let valid = !symbol.is_empty()
                && symbol
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(KernelError::MalformedConfigLine {
                    file: file.to_owned(),
                    line: line_number,
                    text: line.to_owned(),
                });
            }
            settings.push(Setting {
                symbol: symbol.to_owned(),
                value,
                line: line_number,
            });
        }
    }
    Ok(settings)
}

/// A whole configuration: the last value of each symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    /// Symbol (without `CONFIG_`) to value.
    pub symbols: BTreeMap<String, Value>,
}

impl KernelConfig {
    /// Reads a `.config`; later lines win.
    pub fn parse(file: &str, text: &str) -> Result<Self, KernelError> {
        let symbols = parse(file, text)?
            .into_iter()
            .map(|s| (s.symbol, s.value))
            .collect();
        Ok(Self { symbols })
    }

    /// The value of `symbol`; an absent symbol is [`Value::No`], as Kconfig treats it.
    pub fn value(&self, symbol: &str) -> &Value {
        self.symbols.get(symbol).unwrap_or(&Value::No)
    }

    /// The configuration in `.config` syntax, sorted by symbol (a deterministic rendering;
    /// `make olddefconfig` reorders it into Kconfig order anyway).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (symbol, value) in &self.symbols {
            match value {
                Value::No => out.push_str(&format!("# CONFIG_{symbol} is not set\n")),
                other => out.push_str(&format!("CONFIG_{symbol}={other}\n")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_off_are_one_value() {
        let settings = parse(
            "frag",
            "# comment\n# CONFIG_MODULES is not set\nCONFIG_IPV6=n\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"-x\"\n\nCONFIG_KVM=m\n",
        )
        .unwrap();
        let values: Vec<_> = settings
            .iter()
            .map(|s| (s.symbol.as_str(), s.value.to_string(), s.line))
            .collect();
        assert_eq!(
            values,
            [
                ("MODULES", "n".to_owned(), 2),
                ("IPV6", "n".to_owned(), 3),
                ("HZ", "250".to_owned(), 4),
                ("LOCALVERSION", "\"-x\"".to_owned(), 5),
                ("KVM", "m".to_owned(), 7),
            ]
        );
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = parse("10-bob.config", "CONFIG_A=y\nIPV6=y\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "10-bob.config:2: not a kernel config line: `IPV6=y`"
        );
        assert!(parse("f", "CONFIG_A B=y\n").is_err());
    }

    #[test]
    fn render_round_trips() {
        let config =
            KernelConfig::parse("c", "CONFIG_B=y\n# CONFIG_A is not set\nCONFIG_C=\"x\"\n")
                .unwrap();
        assert_eq!(
            config.render(),
            "# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=\"x\"\n"
        );
        assert_eq!(KernelConfig::parse("c", &config.render()).unwrap(), config);
        assert_eq!(config.value("MISSING"), &Value::No);
    }
}
