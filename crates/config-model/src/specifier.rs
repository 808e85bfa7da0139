//! `%` specifiers in configuration values, expanded as the value is read.
//!
//! Setting specifiers (`%d %r %a %t %o %O %i %v`) give the value the setting has *at that
//! point of parsing*; directory specifiers (`%C %P %D`) give the config file's directory,
//! mkosi's working directory and the directory mkosi was invoked in; `%I` is the subimage name
//! and `%F` the distribution's default filesystem. `%%` is a literal `%`, as is a `%` ending
//! the value. A specifier whose setting is not set yet expands to the empty string (mkosi warns
//! and does the same). An unknown specifier is an error here; mkosi warns and drops it.

use std::path::Path;

use crate::config::ImageConfig;
use crate::value::Distribution;

/// Where the directory specifiers point while a file is read.
#[derive(Debug, Clone, Copy)]
pub struct Directories<'a> {
    /// `%C`: the directory holding the file being read.
    pub config_dir: &'a Path,
    /// `%P`: mkosi's current working directory.
    pub cwd: &'a Path,
    /// `%D`: the directory mkosi was invoked in (after `--directory`).
    pub invoked: &'a Path,
    /// `%I`: the subimage name (`main` for the top-level image).
    pub image: &'a str,
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecifierError {
    /// `%x` where `x` is not a specifier.
    #[error("unknown specifier `%{0}` (write `%%` for a literal `%`)")]
    Unknown(char),
}

/// Expands every specifier in `raw` against the configuration read so far.
pub fn expand(
    raw: &str,
    config: &ImageConfig,
    dirs: &Directories<'_>,
) -> Result<String, SpecifierError> {
    if !raw.contains('%') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(specifier) = chars.next() else {
            // mkosi keeps a `%` at the very end of a value as it is.
            out.push('%');
            break;
        };
        let value = match specifier {
            '%' => "%".to_owned(),
            'd' => shown(config.distribution.distribution.as_ref()),
            'r' => shown(config.distribution.release.as_ref()),
            'a' => shown(config.distribution.architecture.as_ref()),
            't' => shown(config.output.format.as_ref()),
            'o' => shown(config.output.output.as_ref()),
            'O' => shown(config.output.output_directory.as_ref().map(|p| p.display())),
            'i' => shown(config.output.image_id.as_ref()),
            'v' => shown(config.output.image_version.as_ref()),
            'C' => dirs.config_dir.display().to_string(),
            'P' => dirs.cwd.display().to_string(),
            'D' => dirs.invoked.display().to_string(),
            'I' => dirs.image.to_owned(),
            'F' => default_filesystem(config.distribution.distribution).to_owned(),
            other => return Err(SpecifierError::Unknown(other)),
        };
        out.push_str(&value);
    }
    Ok(out)
}

fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn default_filesystem(distribution: Option<Distribution>) -> &'static str {
    match distribution {
        Some(
            Distribution::Fedora
            | Distribution::CentOs
            | Distribution::Rhel
            | Distribution::RhelUbi
            | Distribution::Rocky
            | Distribution::Alma
            | Distribution::Azure,
        ) => "xfs",
        _ => "ext4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Architecture;

    fn dirs() -> Directories<'static> {
        Directories {
            config_dir: Path::new("/src/mkosi.conf.d"),
            cwd: Path::new("/src"),
            invoked: Path::new("/work"),
            image: "main",
        }
    }

    #[test]
    fn setting_and_directory_specifiers() {
        let mut config = ImageConfig::default();
        config.distribution.distribution = Some(Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        config.distribution.architecture = Some(Architecture::X86_64);
        config.output.image_id = Some("flashbox-l1".into());
        let expanded = expand("%d-%r-%a/%i_%v %C %P %D %I %F 100%%", &config, &dirs()).unwrap();
        assert_eq!(
            expanded,
            "debian-trixie-x86-64/flashbox-l1_ /src/mkosi.conf.d /src /work main ext4 100%"
        );
    }

    #[test]
    fn unknown_specifiers_are_errors_and_a_final_percent_stays() {
        let config = ImageConfig::default();
        assert_eq!(
            expand("%q", &config, &dirs()),
            Err(SpecifierError::Unknown('q'))
        );
        assert_eq!(expand("50%", &config, &dirs()).unwrap(), "50%");
        assert_eq!(
            expand("no specifiers", &config, &dirs()).unwrap(),
            "no specifiers"
        );
    }
}
