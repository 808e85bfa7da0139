//! [`Error`]: the one error type of this crate.
//!
//! Every variant names what it is about (the URL, file, package or line), so a message can be
//! acted on without a debugger. Integrity failures ([`Error::HashMismatch`],
//! [`Error::SizeMismatch`], [`Error::BadSignature`], [`Error::Expired`]) are distinct variants
//! so callers and tests can tell them apart.

use build_vocab::PathError;
use std::path::PathBuf;

/// Everything that can go wrong while reading an archive, solving, locking or fetching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed text: a control paragraph, a relation field, a Release file, a lockfile.
    #[error("{origin}:{line}: {message}")]
    Parse {
        /// What was being read (a URL, a file, `<input>` for in-memory data).
        origin: String,
        /// 1-based line number (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A Debian version string that dpkg would refuse.
    #[error("invalid version `{version}`: {reason}")]
    InvalidVersion {
        /// The text as given.
        version: String,
        /// Why dpkg refuses it.
        reason: &'static str,
    },
    /// A local file could not be read or written.
    #[error(transparent)]
    Io(#[from] PathError),
    /// The network transfer failed (connection, TLS, timeout), after all retries.
    #[error("{url}: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP status {status}")]
    HttpStatus {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
    },
    /// An `InRelease` file is unsigned, or no signature on it verifies against the keyring.
    #[error("{url}: refused, OpenPGP signature check failed: {reason}")]
    BadSignature {
        /// The `InRelease` URL.
        url: String,
        /// Why (unsigned, no key of the keyring made a valid signature, ...).
        reason: String,
    },
    /// A Release file whose `Valid-Until` is in the past (a replayed or stale archive).
    #[error("{url}: refused, Release expired: Valid-Until {valid_until} is before now ({now})")]
    Expired {
        /// The `InRelease` URL.
        url: String,
        /// The `Valid-Until` field as written.
        valid_until: String,
        /// The time used as "now", as Unix seconds.
        now: i64,
    },
    /// A signed Release file for another suite than the one asked for.
    #[error("{url}: refused, it describes `{found}`, not `{expected}`")]
    WrongRelease {
        /// The `InRelease` URL.
        url: String,
        /// The suite or codename asked for.
        expected: String,
        /// The `Suite`/`Codename` found.
        found: String,
    },
    /// Downloaded or cached content whose sha256 is not the expected one.
    #[error("{url}: refused, sha256 mismatch: expected {expected}, got {actual}")]
    HashMismatch {
        /// Where the content came from.
        url: String,
        /// The hash the Release file or lock names.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// Content of the wrong length, typically a truncated download.
    #[error("{url}: refused, size mismatch: expected {expected} bytes, got {actual} (truncated?)")]
    SizeMismatch {
        /// Where the content came from.
        url: String,
        /// The size the Release file or lock names.
        expected: u64,
        /// The number of bytes that arrived.
        actual: u64,
    },
    /// The Release file does not list an index this request needs.
    #[error("{release}: no `{path}` listed with a sha256")]
    MissingIndex {
        /// The `InRelease` URL.
        release: String,
        /// The index path relative to the suite (`main/binary-amd64/Packages`).
        path: String,
    },
    /// The OpenPGP keyring could not be read.
    #[error("keyring {path}: {message}")]
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Neither `Mirror=` nor the host's apt configuration names an archive.
    #[error(
        "no Debian mirror: set Mirror= or configure one in /etc/apt/sources.list(.d) on the host"
    )]
    NoMirror,
    /// A locked file is served neither by the mirror nor by the snapshot service.
    #[error(
        "{package}: the lock names {url}, which the mirror no longer serves (404){}; \
         re-resolve to take the archive's current version, or fetch from a snapshot service \
         that has it",
        snapshot_tried(snapshot_urls)
    )]
    LockedFileGone {
        /// The package, as `name_version_arch.deb`.
        package: String,
        /// The mirror URL.
        url: String,
        /// The snapshot URLs tried (none when no snapshot service is named).
        snapshot_urls: Vec<String>,
    },
    /// `Snapshot=` is set but neither `Mirror=` nor the caller names a snapshot service.
    #[error(
        "Snapshot={snapshot} is set but no snapshot service is named: set Mirror= to the service's base URL (archives under <base>/archive/debian/<id>/) or pass its base URL (--snapshot-mirror, FLASHBOX_SNAPSHOT_MIRROR)"
    )]
    SnapshotWithoutService {
        /// The snapshot id.
        snapshot: String,
    },
    /// A configuration this resolver cannot act on (not Debian, no architecture, ...).
    #[error("unsupported configuration: {0}")]
    Config(String),
    /// A local `.deb` whose control data could not be read.
    #[error("{path}: not a readable .deb: {message}")]
    Deb {
        /// The `.deb` file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A requested package name that no index knows.
    #[error("unknown package `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownPackage {
        /// The name as requested.
        name: String,
        /// The closest known name, if one is close.
        suggestion: Option<String>,
    },
    /// The request has no solution; the explanation walks from the request to the conflict.
    #[error("cannot resolve {what}:\n{explanation}")]
    Unsatisfiable {
        /// Which request (`image packages`, `build packages`).
        what: String,
        /// The chain from the requested packages to the conflict, with each rejected candidate
        /// and its reason.
        explanation: String,
    },
    /// A package a base tree has installed is not in the archive the image resolves from.
    #[error(
        "the base tree's package {package} is not in the archive: build the base tree from \
         the same archive (Mirror=, Snapshot=) as the image on top of it"
    )]
    InstalledNotInArchive {
        /// `name version architecture`.
        package: String,
    },
    /// `--locked` was asked for but the lock no longer matches the request.
    #[error("the lock does not match the request and may not be changed (--locked):\n  {}", reasons.join("\n  "))]
    LockStale {
        /// One line per stale entry.
        reasons: Vec<String>,
    },
    /// A lockfile that is not in a format this version reads.
    #[error("lockfile: {message}")]
    LockFormat {
        /// What is wrong.
        message: String,
    },
    /// A helper program failed (`apt-get`, run by [`crate::compare`] only).
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, standard output and standard error.
        output: String,
    },
    /// A package asked about (`why`) or fetched that is not in the resolved set or sources.
    #[error("`{name}` {message}")]
    NotInSet {
        /// The package.
        name: String,
        /// What is missing.
        message: String,
    },
}

/// The part of [`Error::LockedFileGone`]'s message about the snapshot service.
fn snapshot_tried(urls: &[String]) -> String {
    if urls.is_empty() {
        " and no snapshot service is named (--snapshot-mirror, FLASHBOX_SNAPSHOT_MIRROR)".to_owned()
    } else {
        format!(", nor does the snapshot service ({})", urls.join(", "))
    }
}

impl Error {
    /// Sets the origin of a [`Error::Parse`] produced by a pure parser that did not know it.
    pub fn with_origin(self, new_origin: &str) -> Self {
        match self {
            Self::Parse {
                origin,
                line,
                message,
            } if origin.is_empty() || origin == "<input>" => Self::Parse {
                origin: new_origin.to_owned(),
                line,
                message,
            },
            other => other,
        }
    }

    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        Self::Parse {
            origin: "<input>".to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// The shared parsers' errors: a syntax error becomes a [`Error::Parse`] whose origin the
/// caller sets ([`Error::with_origin`]).
impl From<build_vocab::Error> for Error {
    fn from(error: build_vocab::Error) -> Self {
        match error {
            build_vocab::Error::Syntax { line, reason } => Self::parse(line, reason),
            build_vocab::Error::InvalidVersion { version, reason } => {
                Self::InvalidVersion { version, reason }
            }
            build_vocab::Error::Io(e) => Self::Io(e),
            other @ (build_vocab::Error::NotASha256 { .. }
            | build_vocab::Error::InvalidName { .. }
            | build_vocab::Error::MalformedDeb { .. }
            | build_vocab::Error::InvalidOsRelease { .. }) => Self::parse(0, other.to_string()),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
