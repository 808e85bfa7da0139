//! The file-system edge of the loader: reading and parsing one file, canonical paths, sorted
//! directory listings, and the value of a `mkosi.version`-style file.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ParsedFile;
use crate::error::{ConfigError, Location};
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
