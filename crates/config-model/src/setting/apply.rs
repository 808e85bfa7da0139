//! How a value is applied to a configuration: mkosi's two rules (a single value is replaced
//! and reset by the empty assignment; a collection is appended to and cleared by it), and
//! the typed readers the registry combines them with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use super::paths::{existing, expand_variables, glob_sorted, normalize, resolve};
use super::{Split, ValueContext, split_items};
use crate::value::{Tree, ValueError, split_shell_words};

pub(super) fn text(raw: &str) -> Result<String, ValueError> {
    Ok(raw.to_owned())
}

/// A value that becomes part of an output's file name (`Output=`, `ImageId=`,
/// `ImageVersion=`): no `/`, no NUL, not `.` or `..`, so an output cannot land outside the
/// output directory.
pub(super) fn file_name_part(raw: &str) -> Result<String, ValueError> {
    if raw.contains('/') || raw.contains('\0') || raw == "." || raw == ".." {
        return Err(ValueError::expected(
            "a file name (no `/`, not `.` or `..`)",
            raw,
        ));
    }
    Ok(raw.to_owned())
}

pub(super) fn number<T: FromStr>(raw: &str) -> Result<T, ValueError> {
    raw.parse()
        .map_err(|_| ValueError::expected("a non-negative integer", raw))
}

/// Single-value rule: the empty assignment resets, anything else replaces.
pub(super) fn single<T>(
    slot: &mut Option<T>,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<(), ValueError> {
    *slot = if raw.trim().is_empty() {
        None
    } else {
        Some(parse(raw.trim())?)
    };
    Ok(())
}

/// Collection rule: the empty assignment clears, anything else appends its items.
pub(super) fn list<T>(
    slot: &mut Vec<T>,
    raw: &str,
    split: Split,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<(), ValueError> {
    if raw.trim().is_empty() {
        slot.clear();
        return Ok(());
    }
    for item in split_items(raw, split) {
        slot.push(parse(item)?);
    }
    Ok(())
}

/// Script lists: each item is a glob (a plain path is a glob matching itself), expanded in
/// sorted order; items matching nothing are dropped, as mkosi does.
pub(super) fn scripts(
    slot: &mut Vec<PathBuf>,
    raw: &str,
    cx: &ValueContext<'_>,
) -> Result<(), ValueError> {
    let mut matches: Vec<Vec<PathBuf>> = Vec::new();
    list(&mut matches, raw, Split::Words, |item| {
        glob_sorted(&resolve(item, cx))
    })?;
    if raw.trim().is_empty() {
        slot.clear();
    }
    slot.extend(matches.into_iter().flatten());
    Ok(())
}

/// Lists of paths that must exist (package and repart directories, environment files).
pub(super) fn required_paths(
    slot: &mut Vec<PathBuf>,
    raw: &str,
    cx: &ValueContext<'_>,
) -> Result<(), ValueError> {
    list(slot, raw, Split::Words, |item| existing(resolve(item, cx)))
}

/// What a tree setting demands of its pairs.
#[derive(Debug, Clone, Copy)]
pub(super) struct TreeRules {
    /// The source must exist when the setting is read.
    pub(super) source_required: bool,
    /// The source must be a directory.
    pub(super) source_is_directory: bool,
    /// The target must be absolute (else it is kept relative, as for `BuildSources=`).
    pub(super) target_absolute: bool,
}

impl TreeRules {
    pub(super) const REQUIRED: Self = Self {
        source_required: true,
        source_is_directory: false,
        target_absolute: true,
    };
    pub(super) const OPTIONAL: Self = Self {
        source_required: false,
        ..Self::REQUIRED
    };
    pub(super) const SOURCES: Self = Self {
        source_required: true,
        source_is_directory: true,
        target_absolute: false,
    };
}

/// `source[:target]` pairs, split at the first colon.
pub(super) fn trees(
    slot: &mut Vec<Tree>,
    raw: &str,
    cx: &ValueContext<'_>,
    rules: TreeRules,
) -> Result<(), ValueError> {
    list(slot, raw, Split::Words, |item| {
        let (source, target) = match item.split_once(':') {
            Some((source, target)) => (source, Some(target)),
            None => (item, None),
        };
        let source = resolve(source, cx);
        if rules.source_required {
            existing(source.clone())?;
        }
        if rules.source_is_directory && !source.is_dir() {
            return Err(ValueError(format!(
                "{} is not a directory",
                source.display()
            )));
        }
        let target = target
            .map(|t| {
                let target = PathBuf::from(expand_variables(t, cx.environment));
                if rules.target_absolute && !target.is_absolute() {
                    return Err(ValueError(format!(
                        "target `{}` must be an absolute path",
                        target.display()
                    )));
                }
                Ok(normalize(&target))
            })
            .transpose()?;
        Ok(Tree { source, target })
    })
}

/// `Environment=`: shell-quoted words; `NAME=value` sets, a bare `NAME` passes the invoking
/// environment's value through (empty if unset there); later names win; the empty assignment
/// clears.
pub(super) fn environment(
    slot: &mut BTreeMap<String, String>,
    raw: &str,
    cx: &ValueContext<'_>,
) -> Result<(), ValueError> {
    if raw.trim().is_empty() {
        slot.clear();
        return Ok(());
    }
    for item in split_shell_words(raw)? {
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name.trim(), value.trim().to_owned()),
            None => (
                item.trim(),
                cx.environment.get(item.trim()).cloned().unwrap_or_default(),
            ),
        };
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(ValueError::expected("NAME=value or NAME", &item));
        }
        slot.insert(name.to_owned(), value);
    }
    Ok(())
}
