//! The file-system edge of the loader: reading and parsing one file, canonical paths, sorted
//! directory listings, the value of a `mkosi.version`-style file, and the variables of
//! `EnvironmentFiles=`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ParsedFile;
use crate::config::ImageConfig;
use crate::error::{ConfigError, Location};
use crate::value::ValueError;
use build_vocab::ini;

pub(super) fn location_of(file: &Path, line: usize) -> Location {
    Location {
        file: file.to_owned(),
        line,
    }
}

pub(super) fn read_file(path: &Path) -> Result<ParsedFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let items = ini::parse(&text).map_err(|reason| ConfigError::Syntax {
        location: location_of(path, reason.line()),
        reason,
    })?;
    Ok(ParsedFile {
        path: path.to_owned(),
        items,
    })
}

pub(super) fn canonical(path: &Path) -> Result<PathBuf, ConfigError> {
    path.canonicalize().map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let names = build_vocab::walk::sorted_names(dir).map_err(|e| ConfigError::Read {
        path: e.path,
        source: e.source,
    })?;
    Ok(names.into_iter().map(|name| dir.join(name)).collect())
}

/// The value of a `mkosi.version`-style file: its standard output if it is executable (run in
/// `cwd`, as mkosi does), else its contents; trailing newlines removed.
pub(super) fn read_or_run(path: &Path, cwd: &Path) -> Result<String, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let executable = path.metadata().map_err(read_error)?.permissions().mode() & 0o111 != 0;
    let text = if executable {
        let output = Command::new(path)
            .current_dir(cwd)
            .output()
            .map_err(read_error)?;
        if !output.status.success() {
            return Err(read_error(std::io::Error::other(format!(
                "exited with {}",
                output.status
            ))));
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        std::fs::read_to_string(path).map_err(read_error)?
    };
    Ok(text.trim_end_matches('\n').to_owned())
}

/// The largest environment file read.
const MAX_ENVIRONMENT_FILE: u64 = 1 << 20;

/// Adds the variables of `EnvironmentFiles=` to `Environment=`, which wins, as mkosi merges
/// them: each file in order (a later file wins over an earlier one), each line `KEY=VALUE`
/// with both sides trimmed and the value taken as written (quotes included), a bare `KEY`
/// taking the invoking environment's value. Blank lines and `#` comment lines are skipped
/// (mkosi would make them variables no script can name).
pub(super) fn merge_environment_files(
    config: &mut ImageConfig,
    host_environment: &std::collections::BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let mut from_files = std::collections::BTreeMap::new();
    for path in &config.build.environment_files {
        let read = |source| ConfigError::Read {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read)?;
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(file, MAX_ENVIRONMENT_FILE + 1),
            &mut text,
        )
        .map_err(read)?;
        if text.len() as u64 > MAX_ENVIRONMENT_FILE {
            return Err(read(std::io::Error::other("larger than 1 MiB")));
        }
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (key, value) = match trimmed.split_once('=') {
                Some((key, value)) => (key.trim(), value.trim().to_owned()),
                None => (
                    trimmed,
                    host_environment.get(trimmed).cloned().unwrap_or_default(),
                ),
            };
            if key.is_empty() || key.contains('\0') || value.contains('\0') {
                return Err(ConfigError::InvalidValue {
                    location: location_of(path, index + 1),
                    setting: "EnvironmentFiles".into(),
                    reason: ValueError::expected("KEY=VALUE", trimmed),
                });
            }
            from_files.insert(key.to_owned(), value);
        }
    }
    for (key, value) in from_files {
        config.build.environment.entry(key).or_insert(value);
    }
    Ok(())
}
