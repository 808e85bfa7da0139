//! `[Match]`, `[TriggerMatch]`, `[Assert]` and `[TriggerAssert]`: deciding whether a file applies.
//!
//! A section holds when all its plain conditions hold and, if it has `|` (triggering)
//! conditions, at least one of those does; `!` negates one condition. A file matches when every
//! `[Match]` section holds and, if there are `[TriggerMatch]` sections, at least one of them
//! does. The assert pair is evaluated the same way, but failing it is an error.
//! Conditions compare against the configuration as read so far (command-line values included),
//! falling back to the host's values where the manual's table says so.

use std::path::Path;

use crate::config::ImageConfig;
use crate::host::Host;
use crate::value::{Architecture, Distribution, Feature, OutputFormat};
use crate::version::Comparison;

/// The four kinds of condition sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionKind {
    /// `[Match]`: all must hold.
    Match,
    /// `[TriggerMatch]`: one must hold.
    TriggerMatch,
    /// `[Assert]`: all must hold, else error.
    Assert,
    /// `[TriggerAssert]`: one must hold, else error.
    TriggerAssert,
}

impl ConditionKind {
    /// The kind for a section header name, if it is one of the four.
    pub fn from_section(name: &str) -> Option<Self> {
        Some(match name {
            "Match" => Self::Match,
            "TriggerMatch" => Self::TriggerMatch,
            "Assert" => Self::Assert,
            "TriggerAssert" => Self::TriggerAssert,
            _ => return None,
        })
    }
}

/// One `Key=[|][!]value` line of a condition section, value already specifier-expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The matcher name, e.g. `Distribution`.
    pub key: String,
    /// What it is compared with, without the `|` and `!` prefixes.
    pub value: String,
    /// `|`: a triggering condition.
    pub trigger: bool,
    /// `!`: negated.
    pub negate: bool,
    /// 1-based line in its file.
    pub line: usize,
}

impl Condition {
    /// Splits the `|` and `!` prefixes (in that order) off a raw value.
    pub fn parse(key: &str, raw: &str, line: usize) -> Self {
        let (trigger, rest) = match raw.strip_prefix('|') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (negate, rest) = match rest.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        Self {
            key: key.to_owned(),
            value: rest.trim().to_owned(),
            trigger,
            negate,
            line,
        }
    }
}

/// One condition section with its conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionSection {
    /// Which of the four it is.
    pub kind: ConditionKind,
    /// Its conditions in file order.
    pub conditions: Vec<Condition>,
}

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// Not a matcher mkosi knows.
    #[error("unknown match condition `{key}`")]
    UnknownKey {
        /// The key.
        key: String,
        /// Its line.
        line: usize,
    },
    /// The matcher exists but its value is malformed.
    #[error("invalid value `{value}` for match condition `{key}`: {reason}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: String,
        /// Its line.
        line: usize,
    },
}

impl MatchError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            Self::UnknownKey { line, .. } | Self::InvalidValue { line, .. } => *line,
        }
    }
}

/// What conditions are evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct MatchInput<'a> {
    /// The configuration as read so far, command-line values applied.
    pub config: &'a ImageConfig,
    /// Facts about the build host.
    pub host: &'a Host,
    /// mkosi's working directory (`PathExists=` is relative to it).
    pub cwd: &'a Path,
    /// The subimage name (`main` for the top-level image).
    pub image: &'a str,
}

/// The outcome of a file's condition sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The `[Match]`/`[TriggerMatch]` sections allow the file.
    pub matched: bool,
    /// The `[Assert]`/`[TriggerAssert]` sections hold.
    pub asserted: bool,
}

/// Evaluates all condition sections of one file.
pub fn evaluate(
    sections: &[ConditionSection],
    input: &MatchInput<'_>,
) -> Result<Verdict, MatchError> {
    Ok(Verdict {
        matched: family_holds(
            sections,
            ConditionKind::Match,
            ConditionKind::TriggerMatch,
            input,
        )?,
        asserted: family_holds(
            sections,
            ConditionKind::Assert,
            ConditionKind::TriggerAssert,
            input,
        )?,
    })
}

fn family_holds(
    sections: &[ConditionSection],
    all_of: ConditionKind,
    one_of: ConditionKind,
    input: &MatchInput<'_>,
) -> Result<bool, MatchError> {
    let mut any_trigger_section = false;
    let mut a_trigger_section_held = false;
    for section in sections {
        if section.kind == all_of {
            if !section_holds(section, input)? {
                return Ok(false);
            }
        } else if section.kind == one_of {
            any_trigger_section = true;
            a_trigger_section_held |= section_holds(section, input)?;
        }
    }
    Ok(!any_trigger_section || a_trigger_section_held)
}

fn section_holds(section: &ConditionSection, input: &MatchInput<'_>) -> Result<bool, MatchError> {
    let mut has_triggers = false;
    let mut a_trigger_held = false;
    for condition in &section.conditions {
        let holds = condition_holds(condition, input)? != condition.negate;
        if condition.trigger {
            has_triggers = true;
            a_trigger_held |= holds;
        } else if !holds {
            return Ok(false);
        }
    }
    Ok(!has_triggers || a_trigger_held)
}

/// Evaluates one condition, ignoring its `!` (the caller applies it).
pub fn condition_holds(condition: &Condition, input: &MatchInput<'_>) -> Result<bool, MatchError> {
    let config = input.config;
    let value = condition.value.as_str();
    let invalid = |reason: String| MatchError::InvalidValue {
        key: condition.key.clone(),
        value: value.to_owned(),
        reason,
        line: condition.line,
    };
    Ok(match condition.key.as_str() {
        "Profiles" if value.is_empty() => config.config.profiles.is_empty(),
        "Profiles" => config.config.profiles.iter().any(|p| p == value),
        "Distribution" => {
            let wanted: Distribution = value
                .parse()
                .map_err(|e: crate::value::ValueError| invalid(e.0))?;
            config.distribution.distribution.or(input.host.distribution) == Some(wanted)
        }
        "Release" => {
            let release = if config.distribution.distribution.is_some() {
                config.distribution.release.as_deref()
            } else {
                input.host.release.as_deref()
            };
            release == Some(value)
        }
        "Architecture" | "HostArchitecture" => {
            let actual = if condition.key == "Architecture" {
                config.distribution.architecture.or(input.host.architecture)
            } else {
                input.host.architecture
            };
            if value == "uefi" {
                actual.is_some_and(Architecture::supports_uefi)
            } else {
                let wanted: Architecture = value
                    .parse()
                    .map_err(|e: crate::value::ValueError| invalid(e.0))?;
                actual == Some(wanted)
            }
        }
        "Repositories" => config.distribution.repositories.iter().any(|r| r == value),
        "PathExists" => input.cwd.join(value).exists(),
        "ImageId" => {
            let pattern = build_vocab::glob::Glob::new(value);
            config
                .output
                .image_id
                .as_deref()
                .is_some_and(|id| pattern.matches(id))
        }
        "ImageVersion" => {
            let (op, wanted) = Comparison::split(value);
            config
                .output
                .image_version
                .as_deref()
                .is_some_and(|v| op.holds(v, wanted))
        }
        "SystemdVersion" => {
            let (op, wanted) = Comparison::split(value);
            input
                .host
                .systemd_version
                .as_deref()
                .is_some_and(|v| op.holds(v, wanted))
        }
        "Bootable" => {
            let wanted: Feature = value
                .parse()
                .map_err(|e: crate::value::ValueError| invalid(e.0))?;
            config.content.bootable.unwrap_or(Feature::Auto) == wanted
        }
        "Format" => {
            let wanted: OutputFormat = value
                .parse()
                .map_err(|e: crate::value::ValueError| invalid(e.0))?;
            config.output.format.unwrap_or(OutputFormat::Disk) == wanted
        }
        "BuildSources" => {
            let wanted = Path::new("/").join(value);
            config.build.build_sources.iter().any(|tree| {
                tree.target
                    .as_deref()
                    .map_or_else(|| tree.source.ends_with(value), |target| target == wanted)
            })
        }
        "Environment" => match value.split_once('=') {
            Some((name, wanted)) => config
                .build
                .environment
                .get(name)
                .is_some_and(|v| v == wanted),
            None => config.build.environment.contains_key(value),
        },
        "Image" => input.image == value,
        "ToolsTreeDistribution" | "ToolsTreeRelease" => {
            return Err(invalid("tools trees are not used by this builder".into()));
        }
        _ => {
            return Err(MatchError::UnknownKey {
                key: condition.key.clone(),
                line: condition.line,
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            distribution: Some(Distribution::Debian),
            release: Some("bookworm".into()),
            architecture: Some(Architecture::X86_64),
            systemd_version: Some("252".into()),
            environment: Default::default(),
        }
    }

    fn section(kind: ConditionKind, lines: &[(&str, &str)]) -> ConditionSection {
        ConditionSection {
            kind,
            conditions: lines
                .iter()
                .map(|(k, v)| Condition::parse(k, v, 1))
                .collect(),
        }
    }

    fn matched(config: &ImageConfig, sections: &[ConditionSection]) -> bool {
        let host = host();
        let input = MatchInput {
            config,
            host: &host,
            cwd: Path::new("/"),
            image: "main",
        };
        evaluate(sections, &input).unwrap().matched
    }

    #[test]
    fn prefixes_parse_pipe_then_bang() {
        let c = Condition::parse("Format", "|!disk", 3);
        assert!(c.trigger && c.negate);
        assert_eq!(c.value, "disk");
    }

    #[test]
    fn plain_conditions_and_triggers() {
        let mut config = ImageConfig::default();
        config.output.format = Some(OutputFormat::Uki);
        config.distribution.distribution = Some(Distribution::Debian);
        config.distribution.release = Some("trixie".into());
        use ConditionKind::*;
        assert!(matched(
            &config,
            &[section(Match, &[("Format", "uki"), ("Release", "trixie")])]
        ));
        assert!(!matched(
            &config,
            &[section(
                Match,
                &[("Format", "uki"), ("Release", "bookworm")]
            )]
        ));
        assert!(matched(
            &config,
            &[section(Match, &[("Format", "|disk"), ("Format", "|uki")])]
        ));
        assert!(!matched(
            &config,
            &[section(Match, &[("Format", "|disk"), ("Format", "|tar")])]
        ));
        assert!(matched(&config, &[section(Match, &[("Format", "!disk")])]));
        // Triggers reset between sections: each [Match] section must hold on its own.
        assert!(!matched(
            &config,
            &[
                section(Match, &[("Format", "|uki")]),
                section(Match, &[("Architecture", "|arm64")])
            ]
        ));
        // [TriggerMatch]: one of the sections is enough.
        assert!(matched(
            &config,
            &[
                section(
                    TriggerMatch,
                    &[("Distribution", "ubuntu"), ("Release", "noble")]
                ),
                section(
                    TriggerMatch,
                    &[("Distribution", "debian"), ("Release", "trixie")]
                ),
            ]
        ));
        assert!(matched(&config, &[]));
    }

    #[test]
    fn defaults_from_the_host_and_the_table() {
        let config = ImageConfig::default();
        use ConditionKind::*;
        // Unset Distribution/Release/Architecture fall back to the host.
        assert!(matched(
            &config,
            &[section(
                Match,
                &[("Release", "bookworm"), ("Architecture", "x86-64")]
            )]
        ));
        assert!(matched(
            &config,
            &[section(Match, &[("Architecture", "uefi")])]
        ));
        // Unset Format matches the default format, disk; unset ImageId never matches.
        assert!(matched(&config, &[section(Match, &[("Format", "disk")])]));
        assert!(!matched(&config, &[section(Match, &[("ImageId", "*")])]));
        assert!(matched(&config, &[section(Match, &[("Bootable", "auto")])]));
        assert!(matched(
            &config,
            &[section(Match, &[("SystemdVersion", ">=250")])]
        ));
    }

    #[test]
    fn globs_versions_profiles_environment() {
        let mut config = ImageConfig::default();
        config.output.image_id = Some("flashbox-l1".into());
        config.output.image_version = Some("1.10".into());
        config.config.profiles = vec!["devtools".into()];
        config
            .build
            .environment
            .insert("KERNEL_VERSION".into(), "6.19".into());
        use ConditionKind::*;
        assert!(matched(
            &config,
            &[section(Match, &[("ImageId", "flashbox-*")])]
        ));
        assert!(matched(
            &config,
            &[section(Match, &[("ImageVersion", ">1.9")])]
        ));
        assert!(!matched(
            &config,
            &[section(Match, &[("ImageVersion", "<=1.2")])]
        ));
        assert!(matched(
            &config,
            &[section(Match, &[("Profiles", "devtools")])]
        ));
        assert!(!matched(&config, &[section(Match, &[("Profiles", "gcp")])]));
        assert!(matched(
            &config,
            &[section(Match, &[("Environment", "KERNEL_VERSION=6.19")])]
        ));
        assert!(matched(
            &config,
            &[section(Match, &[("Environment", "KERNEL_VERSION")])]
        ));
        assert!(!matched(
            &config,
            &[section(Match, &[("Environment", "KERNEL_VERSION=6.1")])]
        ));
    }

    #[test]
    fn asserts_and_errors() {
        let config = ImageConfig::default();
        let host = host();
        let input = MatchInput {
            config: &config,
            host: &host,
            cwd: Path::new("/"),
            image: "main",
        };
        let verdict = evaluate(
            &[section(ConditionKind::Assert, &[("Format", "uki")])],
            &input,
        )
        .unwrap();
        assert_eq!(
            verdict,
            Verdict {
                matched: true,
                asserted: false
            }
        );
        let err = evaluate(
            &[section(ConditionKind::Match, &[("Colour", "blue")])],
            &input,
        )
        .unwrap_err();
        assert!(matches!(err, MatchError::UnknownKey { .. }));
        let err = evaluate(
            &[section(ConditionKind::Match, &[("Format", "floppy")])],
            &input,
        )
        .unwrap_err();
        assert!(err.to_string().contains("floppy"), "{err}");
    }
}
