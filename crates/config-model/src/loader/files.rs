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
/// them: each file in order (a later file wins over an earlier one), in systemd's
/// environment-file syntax: `KEY=VALUE` lines, blank lines and `#`/`;` comments skipped, an
/// optional `export `, a value optionally in single or double quotes.
pub(super) fn merge_environment_files(config: &mut ImageConfig) -> Result<(), ConfigError> {
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
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let invalid = || ConfigError::InvalidValue {
                location: location_of(path, index + 1),
                setting: "EnvironmentFiles".into(),
                reason: ValueError::expected("KEY=VALUE", line),
            };
            let (key, value) = line.split_once('=').ok_or_else(invalid)?;
            let key = key.trim();
            let valid_key = !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_key {
                return Err(invalid());
            }
            let value = value.trim();
            let unquoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(open, close)| {
                    value
                        .strip_prefix(*open)
                        .and_then(|rest| rest.strip_suffix(*close))
                })
                .unwrap_or(value);
            from_files.insert(key.to_owned(), unquoted.to_owned());
        }
    }
    for (key, value) in from_files {
        config.build.environment.entry(key).or_insert(value);
    }
    Ok(())
}
