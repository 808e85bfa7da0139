//! Path values: `$VAR`, `${VAR}` and `~` expanded from the invoking environment, relative
//! paths started at the working directory, `.` and `..` folded without touching the disk.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::ValueContext;
use crate::value::ValueError;

/// An absolute, lexically normalised path: `$VAR`/`${VAR}` and a leading `~` are expanded from
/// the invoking environment, and relative paths start at the working directory.
pub fn resolve(raw: &str, cx: &ValueContext<'_>) -> PathBuf {
    let expanded = expand_variables(raw, cx.environment);
    let home = cx.environment.get("HOME").map(PathBuf::from);
    let path = match (
        expanded
            .strip_prefix("~/")
            .or((expanded == "~").then_some("")),
        home,
    ) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(&expanded),
    };
    normalize(&cx.cwd.join(path))
}

/// Expands `$NAME` and `${NAME}` from `environment`; unknown variables stay as written.
pub(super) fn expand_variables(raw: &str, environment: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match environment.get(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[dollar..dollar + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// Removes `.` components and folds `..` into its parent, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn existing(path: PathBuf) -> Result<PathBuf, ValueError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(ValueError(format!("{} does not exist", path.display())))
    }
}

/// The existing paths a glob names, sorted (a plain path names itself if it exists).
pub(super) fn glob_sorted(pattern: &Path) -> Result<Vec<PathBuf>, ValueError> {
    let text = pattern.to_string_lossy();
    let mut matches: Vec<PathBuf> = glob::glob(&text)
        .map_err(|e| ValueError(format!("invalid glob `{text}`: {e}")))?
        .filter_map(Result::ok)
        .collect();
    matches.sort();
    Ok(matches)
}
