//! The one error type of the vocabulary.

use std::path::PathBuf;

/// Why a digest could not be read or a file not published.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Text that should be 64 hex digits is not.
    #[error("not a sha256: `{text}`")]
    NotASha256 {
        /// The text.
        text: String,
    },
    /// A file or directory could not be written, synced or renamed.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A closure turning an I/O error on `path` into [`Error::Io`].
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
