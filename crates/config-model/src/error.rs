//! The crate's one error type. Every variant that comes from a file says `file:line`.

use std::fmt;
use std::path::PathBuf;

use crate::matching::MatchError;
use crate::specifier::SpecifierError;
use crate::value::ValueError;
use build_vocab::ini::IniSyntaxError;

/// A position in a configuration file; `line` is 1-based, 0 for the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line, or 0 when the whole file is meant.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid INI.
    #[error("{location}: {reason}")]
    Syntax {
        /// Where.
        location: Location,
        /// What is wrong (a detail of this error, not a cause of its own).
        reason: IniSyntaxError,
    },
    /// A section header that is neither a settings section nor a condition section.
    #[error("{location}: unknown section [{section}]")]
    UnknownSection {
        /// Where.
        location: Location,
        /// The section name.
        section: String,
    },
    /// A setting name mkosi does not know.
    #[error("{location}: unknown setting `{name}`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownSetting {
        /// Where (the command line is reported as `<command line>`).
        location: Location,
        /// The name as written.
        name: String,
        /// The closest known name, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A value the setting does not accept.
    #[error("{location}: invalid value for `{setting}=`: {reason}")]
    InvalidValue {
        /// Where.
        location: Location,
        /// The setting.
        setting: String,
        /// What is wrong with the value (a detail of this error, not a cause of its own).
        reason: ValueError,
    },
    /// A `%` specifier that cannot be expanded.
    #[error("{location}: {reason}")]
    Specifier {
        /// Where.
        location: Location,
        /// What is wrong (a detail of this error, not a cause of its own).
        reason: SpecifierError,
    },
    /// A condition that cannot be evaluated.
    #[error("{location}: {reason}")]
    Condition {
        /// Where.
        location: Location,
        /// What is wrong (a detail of this error, not a cause of its own).
        reason: MatchError,
    },
    /// The file's `[Assert]`/`[TriggerAssert]` sections do not hold.
    #[error("{location}: the file's [Assert] conditions are not satisfied")]
    AssertFailed {
        /// The file.
        location: Location,
    },
    /// `Include=` names a path that does not exist.
    #[error("{location}: included path {} does not exist", path.display())]
    IncludeNotFound {
        /// Where the include is.
        location: Location,
        /// The resolved path.
        path: PathBuf,
    },
    /// `Include=` would read a file that is already being read.
    #[error("{location}: include cycle: {}", chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> "))]
    IncludeCycle {
        /// Where the include closing the cycle is.
        location: Location,
        /// The files of the cycle, ending with the repeated one.
        chain: Vec<PathBuf>,
    },
    /// `Dependencies=` names an image `mkosi.images/` does not have (or whose `[Match]`
    /// failed).
    #[error("image `{needed_by}` depends on `{name}`, which is not an image of mkosi.images/")]
    UnknownImage {
        /// The image that is missing.
        name: String,
        /// The image whose `Dependencies=` names it.
        needed_by: String,
    },
    /// Images depend on each other in a cycle.
    #[error("image dependency cycle: {}", chain.join(" -> "))]
    ImageCycle {
        /// The images of the cycle, ending with the repeated one.
        chain: Vec<String>,
    },
    /// A selected profile has neither `NAME.conf` nor `NAME/` in `mkosi.profiles/`.
    #[error("profile `{profile}` not found: neither {dir}/{profile}.conf nor {dir}/{profile}/ exists", dir = directory.display())]
    ProfileNotFound {
        /// The profile name.
        profile: String,
        /// The `mkosi.profiles` directory searched.
        directory: PathBuf,
    },
}
