//! The registry of settings: every name mkosi knows, the section it belongs to, and for the
//! settings this builder uses, how a value is applied to an [`ImageConfig`].
//!
//! Two rules of mkosi live in the small helpers of `apply` and nowhere else:
//! - a single-value setting is replaced by each assignment, and the empty assignment resets it;
//! - a collection setting is appended to by each assignment, and the empty assignment clears it.

//!
//! The module's parts: [`registry`] (the tables: every name, its section, how it applies),
//! `apply` (the appliers those tables call), [`paths`] (how a path value becomes a path).

mod apply;
pub mod paths;
pub mod registry;
pub mod scope;

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ImageConfig;
use crate::value::ValueError;

pub use paths::{normalize, resolve};
pub use registry::{IGNORED, RENAMED, SETTINGS};

/// The sections of a configuration file that hold settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// `[Distribution]`.
    Distribution,
    /// `[Output]`.
    Output,
    /// `[Content]`.
    Content,
    /// `[Validation]`.
    Validation,
    /// `[Build]`.
    Build,
    /// `[Runtime]` (called `[Host]` by older mkosi versions).
    Runtime,
    /// `[Config]`.
    Config,
    /// `[Include]`.
    Include,
}

impl Section {
    /// Parses a section header name that holds settings (not `[Match]` and friends).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Distribution" => Self::Distribution,
            "Output" => Self::Output,
            "Content" => Self::Content,
            "Validation" => Self::Validation,
            "Build" => Self::Build,
            "Runtime" | "Host" => Self::Runtime,
            "Config" => Self::Config,
            "Include" => Self::Include,
            _ => return None,
        })
    }
}

/// What a value is applied with: the directory relative paths start from, and the environment
/// that bare names in `Environment=` are passed through from.
#[derive(Debug, Clone, Copy)]
pub struct ValueContext<'a> {
    /// mkosi's working directory at the time of the assignment.
    pub cwd: &'a Path,
    /// The invoking environment (an explicit input: never read from the process here).
    pub environment: &'a BTreeMap<String, String>,
}

/// Applies one (already specifier-expanded) value to a configuration.
pub type ApplyFn = fn(&mut ImageConfig, &str, &ValueContext<'_>) -> Result<(), ValueError>;

/// A setting this builder acts on.
#[derive(Clone, Copy)]
pub struct SettingDef {
    /// The name as written in files, e.g. `Packages`.
    pub name: &'static str,
    /// The section it belongs in.
    pub section: Section,
    /// How a value changes the configuration.
    pub apply: ApplyFn,
}

/// What an ignored setting would change if this builder acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing that is built (the VM it boots in, caches, tools, proxies).
    None,
    /// The image or its outputs: the named part.
    Image(&'static str),
}

/// What `name`, a setting of [`IGNORED`], would change; `None` for other names.
pub fn ignored_effect(name: &str) -> Option<Effect> {
    IGNORED
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(.., effect)| *effect)
}

/// How a setting is known.
#[derive(Clone, Copy)]
pub enum Known {
    /// Used by this builder.
    Used(&'static SettingDef),
    /// Known to mkosi, not acted on by this builder: kept and reported.
    Ignored(Section),
}

/// Finds a setting by its exact name.
pub fn lookup(name: &str) -> Option<Known> {
    if let Some(def) = SETTINGS.iter().find(|d| d.name == name) {
        return Some(Known::Used(def));
    }
    IGNORED
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, section, _)| Known::Ignored(*section))
}

/// The known setting name closest to `name` (for "did you mean" in errors).
pub fn closest_name(name: &str) -> Option<&'static str> {
    let names = SETTINGS
        .iter()
        .map(|d| d.name)
        .chain(IGNORED.iter().map(|(n, ..)| *n))
        .chain(std::iter::once("Include"));
    let lowered = name.to_ascii_lowercase();
    names
        .map(|candidate| {
            (
                edit_distance(&lowered, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min()
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The current name for an old one, if `name` is an old name.
pub fn renamed(name: &str) -> Option<&'static str> {
    RENAMED
        .iter()
        .find(|(old, _)| *old == name)
        .map(|(_, new)| *new)
}

/// How a collection value is split into items.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    /// On commas and any whitespace: mkosi's default for lists (packages, paths, profiles).
    Words,
    /// On spaces and newlines only, commas kept (`KernelCommandLine=console=ttyS0,115200`).
    Spaces,
}

/// The items of a collection value, empty items dropped.
pub fn split_items(raw: &str, split: Split) -> impl Iterator<Item = &str> {
    let is_separator = move |c: char| match split {
        Split::Words => c == ',' || c.is_whitespace(),
        Split::Spaces => c == ' ' || c == '\n',
    };
    raw.split(is_separator).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::paths::expand_variables;
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<&str> = SETTINGS
            .iter()
            .map(|d| d.name)
            .chain(IGNORED.iter().map(|(n, ..)| *n))
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(closest_name("Pakages"), Some("Packages"));
        assert_eq!(closest_name("kernelcommandline"), Some("KernelCommandLine"));
        assert_eq!(closest_name("BuildScriptz"), Some("BuildScripts"));
        assert_eq!(closest_name("Xyzzy"), None);
    }

    #[test]
    fn lists_split_on_commas_and_newlines() {
        let items: Vec<&str> = split_items("a, b\n c,,\td e", Split::Words).collect();
        assert_eq!(items, ["a", "b", "c", "d", "e"]);
        let items: Vec<&str> =
            split_items("console=ttyS0,115200  quiet\nro", Split::Spaces).collect();
        assert_eq!(items, ["console=ttyS0,115200", "quiet", "ro"]);
    }

    #[test]
    fn variables_expand_and_unknown_ones_stay() {
        let env = BTreeMap::from([("HOME".to_owned(), "/root".to_owned())]);
        assert_eq!(
            expand_variables("$HOME/a/${HOME}/$NOPE/${X", &env),
            "/root/a//root/$NOPE/${X"
        );
        let cx = ValueContext {
            cwd: Path::new("/src"),
            environment: &env,
        };
        assert_eq!(resolve("~/cache", &cx), PathBuf::from("/root/cache"));
        assert_eq!(resolve("../x", &cx), PathBuf::from("/x"));
    }

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
