//! Which config fragments an image asks for, in the order they merge.
//!
//! The Flashbox convention, read from the image's `Environment=`: `KERNEL_CONFIG_SNIPPETS`
//! first, then every `KERNEL_CONFIG_SNIPPETS_<NAME>` in the byte order of the variable names.
//! Each value is a comma-separated list of directories (all their `*.config` files, by name) or
//! single files, relative to the definition's root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::KernelError;

/// The variable that names the base fragments; `<it>_<NAME>` variables add more.
pub const SNIPPETS_VARIABLE: &str = "KERNEL_CONFIG_SNIPPETS";

/// The `(variable, item)` pairs naming fragment sources, in merge order.
pub fn snippet_items(environment: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    let prefixed = format!("{SNIPPETS_VARIABLE}_");
    let base = environment.get_key_value(SNIPPETS_VARIABLE);
    // BTreeMap iterates in byte order of the names: exactly the order wanted.
    let modules = environment
        .iter()
        .filter(|(name, _)| name.starts_with(&prefixed));
    base.into_iter()
        .chain(modules)
        .flat_map(|(name, value)| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(move |item| (name.as_str(), item))
        })
        .collect()
}

/// The fragment files named by `environment`, relative paths resolved against `root`.
pub fn fragment_files(
    environment: &BTreeMap<String, String>,
    root: &Path,
) -> Result<Vec<PathBuf>, KernelError> {
    let mut files = Vec::new();
    for (variable, item) in snippet_items(environment) {
        let path = root.join(item);
        if path.is_dir() {
            let mut configs: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|source| KernelError::Io {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "config") && p.is_file())
                .collect();
            configs.sort();
            files.extend(configs);
        } else if path.is_file() {
            files.push(path);
        } else {
            return Err(KernelError::MissingSnippet {
                variable: variable.to_owned(),
                path,
            });
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_first_then_modules_by_variable_name() {
        let environment = BTreeMap::from([
            ("KERNEL_CONFIG_SNIPPETS_ZED".to_owned(), "z".to_owned()),
            (
                "KERNEL_CONFIG_SNIPPETS".to_owned(),
                "base, extra.config".to_owned(),
            ),
            (
                "KERNEL_CONFIG_SNIPPETS_FLASHBOX".to_owned(),
                "modules/flashbox/common/kernel".to_owned(),
            ),
            ("KERNEL_VERSION".to_owned(), "6.19".to_owned()),
        ]);
        assert_eq!(
            snippet_items(&environment),
            [
                ("KERNEL_CONFIG_SNIPPETS", "base"),
                ("KERNEL_CONFIG_SNIPPETS", "extra.config"),
                (
                    "KERNEL_CONFIG_SNIPPETS_FLASHBOX",
                    "modules/flashbox/common/kernel"
                ),
                ("KERNEL_CONFIG_SNIPPETS_ZED", "z"),
            ]
        );
    }
}
