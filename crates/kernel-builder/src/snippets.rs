//! Which config fragments and patches an image asks for, in the order they apply.
//!
//! The Flashbox convention, read from the image's `Environment=`: `KERNEL_CONFIG_SNIPPETS`
//! first, then every `KERNEL_CONFIG_SNIPPETS_<NAME>` in the byte order of the variable names
//! (and the same for `KERNEL_PATCHES`). Each value is a comma-separated list of directories
//! (all their `*.config` or `*.patch` files, by name) or single files, relative to the
//! definition's root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::KernelError;
use build_vocab::AtPath;

/// The variable that names the base fragments; `<it>_<NAME>` variables add more.
pub const SNIPPETS_VARIABLE: &str = "KERNEL_CONFIG_SNIPPETS";
/// The variable that names the patches; `<it>_<NAME>` variables add more.
pub const PATCHES_VARIABLE: &str = "KERNEL_PATCHES";

/// The `(variable, item)` pairs of `variable` and its `<variable>_<NAME>` companions, in
/// order.
pub fn items<'a>(
    environment: &'a BTreeMap<String, String>,
    variable: &str,
) -> Vec<(&'a str, &'a str)> {
    let prefixed = format!("{variable}_");
    let base = environment.get_key_value(variable);
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
    files(environment, SNIPPETS_VARIABLE, "config", root)
}

/// The patch files named by `environment`, relative paths resolved against `root`.
pub fn patch_files(
    environment: &BTreeMap<String, String>,
    root: &Path,
) -> Result<Vec<PathBuf>, KernelError> {
    files(environment, PATCHES_VARIABLE, "patch", root)
}

/// The files with `extension` that `variable` and its companions name.
fn files(
    environment: &BTreeMap<String, String>,
    variable: &str,
    extension: &str,
    root: &Path,
) -> Result<Vec<PathBuf>, KernelError> {
    let mut files = Vec::new();
    for (variable, item) in items(environment, variable) {
        let path = root.join(item);
        if path.is_dir() {
            let mut configs: Vec<PathBuf> = std::fs::read_dir(&path)
                .at(&path)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .at(&path)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == extension) && p.is_file())
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
            items(&environment, SNIPPETS_VARIABLE),
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

    #[test]
    fn patches_come_from_directories_and_files_in_variable_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("base")).unwrap();
        std::fs::create_dir_all(root.join("module")).unwrap();
        for name in [
            "base/2-b.patch",
            "base/1-a.patch",
            "base/README",
            "module/x.patch",
        ] {
            std::fs::write(root.join(name), name).unwrap();
        }
        let environment = BTreeMap::from([
            (
                "KERNEL_PATCHES_MODULE".to_owned(),
                "module/x.patch".to_owned(),
            ),
            ("KERNEL_PATCHES".to_owned(), "base".to_owned()),
        ]);
        let found = patch_files(&environment, root).unwrap();
        let relative: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap())
            .collect();
        assert_eq!(
            relative,
            [
                Path::new("base/1-a.patch"),
                Path::new("base/2-b.patch"),
                Path::new("module/x.patch")
            ]
        );
        let missing = BTreeMap::from([("KERNEL_PATCHES".to_owned(), "nowhere".to_owned())]);
        assert!(matches!(
            patch_files(&missing, root),
            Err(KernelError::MissingSnippet { .. })
        ));
    }
}
