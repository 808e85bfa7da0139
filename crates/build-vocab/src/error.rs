//! The errors of the vocabulary: [`Error`] for its own operations and parsers, and [`PathError`], the one
//! "this I/O failed on this path" error every crate of the pipeline carries (through
//! [`AtPath::at`]) instead of a helper of its own.

use std::path::{Path, PathBuf};

/// Why a digest could not be read or a file not published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Text that should be 64 hex digits is not.
    #[error("not a sha256: `{text}`")]
    NotASha256 {
        /// The text.
        text: String,
    },
    /// Malformed Debian text: a deb822 paragraph or a relationship field. The caller, who
    /// knows which file it read, adds its name.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line (0 when the text is one field's value).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A Debian version string that dpkg would refuse.
    #[error("invalid version `{version}`: {reason}")]
    InvalidVersion {
        /// The text as given.
        version: String,
        /// Why dpkg refuses it.
        reason: &'static str,
    },
    /// A package name or architecture that Debian's rules do not allow.
    #[error("invalid {what} `{text}`: {reason}")]
    InvalidName {
        /// `package name` or `architecture`.
        what: &'static str,
        /// The text as given.
        text: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A `.deb` whose `ar` container or control member is malformed or exceeds a bound.
    #[error("not a readable .deb: {reason}")]
    MalformedDeb {
        /// What is wrong (the member and the bound it broke, when one did).
        reason: String,
    },
    /// os-release text that is not a list of `KEY=VALUE` assignments.
    #[error("os-release line {line}: {reason}")]
    InvalidOsRelease {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A file or directory could not be read, written, synced or renamed.
    #[error(transparent)]
    Io(#[from] PathError),
}

impl Error {
    pub(crate) fn syntax(line: usize, reason: impl Into<String>) -> Self {
        Self::Syntax {
            line,
            reason: reason.into(),
        }
    }
}

/// An I/O error on a file or directory. The message is the path; the I/O error is the
/// source, so a cause-chain printer shows each once.
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
pub struct PathError {
    /// The file or directory.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: std::io::Error,
}

impl PathError {
    /// The error `source` on `path`.
    pub fn new(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            source,
        }
    }
}

/// Puts the path on an I/O result: `fs::read(&path).at(&path)?`.
pub trait AtPath<T> {
    /// The result, its error naming `path`.
    fn at(self, path: impl AsRef<Path>) -> Result<T, PathError>;
}

impl<T> AtPath<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, PathError> {
        self.map_err(|source| PathError::new(path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_message_and_the_io_error_the_source() {
        let error = std::fs::read("/nonexistent/file")
            .at("/nonexistent/file")
            .unwrap_err();
        assert_eq!(error.to_string(), "/nonexistent/file");
        assert_eq!(error.source.kind(), std::io::ErrorKind::NotFound);
        assert!(std::error::Error::source(&error).is_some());
    }
}
