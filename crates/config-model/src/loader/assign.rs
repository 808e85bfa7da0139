//! Applying a parsed file to the configuration: each assignment's section checked, its
//! specifiers expanded, its setting looked up (old names followed, unknown names refused with
//! the closest known one) and applied to the layer it belongs to.

use std::path::Path;

use super::files::location_of;
use super::{Diagnostic, DiagnosticKind, Loader, ParsedFile, Recorded, Target};
use crate::config::{ImageConfig, UnimplementedSetting};
use crate::error::{ConfigError, Location};
use crate::matching::ConditionKind;
use crate::setting::{self, Effect, Known, Section, SettingDef, Split, ValueContext};
use crate::specifier::{self, Directories};
use build_vocab::ini::IniItem;

impl Loader<'_> {
    pub(super) fn apply_file(&mut self, parsed: &ParsedFile) -> Result<(), ConfigError> {
        self.files.files_read.push(parsed.path.clone());
        let mut section: Option<Section> = None;
        for item in &parsed.items {
            match item {
                IniItem::Section { name, line } => {
                    section = if ConditionKind::from_section(name).is_some() {
                        None
                    } else {
                        Some(Section::from_name(name).ok_or_else(|| {
                            ConfigError::UnknownSection {
                                location: location_of(&parsed.path, *line),
                                section: name.clone(),
                            }
                        })?)
                    };
                }
                IniItem::Assignment(a) => {
                    if let Some(section) = section {
                        let location = location_of(&parsed.path, a.line);
                        self.apply_assignment(section, &a.key, &a.value, &parsed.path, location)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_assignment(
        &mut self,
        section: Section,
        key: &str,
        raw: &str,
        file: &Path,
        location: Location,
    ) -> Result<(), ConfigError> {
        let name = match setting::renamed(key) {
            Some(new) => {
                self.warn(
                    &location,
                    DiagnosticKind::RenamedSetting {
                        old: key.to_owned(),
                        new,
                    },
                );
                new
            }
            None => key,
        };
        let view = if raw.contains('%') {
            Some(self.view()?)
        } else {
            None
        };
        let value = match &view {
            Some(view) => self.expand(raw, view, file, &location)?,
            None => raw.to_owned(),
        };
        if name == "Include" {
            if section != Section::Include {
                self.warn(
                    &location,
                    DiagnosticKind::WrongSection {
                        name: name.to_owned(),
                        expected: Section::Include,
                    },
                );
            }
            for item in setting::split_items(&value, Split::Words) {
                let path = setting::resolve(item, &self.value_context());
                self.include(&path, &location)?;
            }
            return Ok(());
        }
        let expected = match setting::lookup(name) {
            Some(Known::Used(def)) => {
                self.assign(def, &value, location.clone())?;
                def.section
            }
            Some(Known::Ignored(expected)) => {
                self.keep_ignored(name, &value, location.clone());
                expected
            }
            None => {
                return Err(ConfigError::UnknownSetting {
                    location,
                    name: key.to_owned(),
                    suggestion: setting::closest_name(key),
                });
            }
        };
        if expected != section {
            self.warn(
                &location,
                DiagnosticKind::WrongSection {
                    name: name.to_owned(),
                    expected,
                },
            );
        }
        Ok(())
    }

    pub(super) fn expand(
        &self,
        raw: &str,
        view: &ImageConfig,
        file: &Path,
        location: &Location,
    ) -> Result<String, ConfigError> {
        let config_dir = file.parent().unwrap_or(file);
        let dirs = Directories {
            config_dir,
            cwd: &self.cwd,
            invoked: &self.options.directory,
            image: &self.image,
        };
        specifier::expand(raw, view, &dirs).map_err(|reason| ConfigError::Specifier {
            location: location.clone(),
            reason,
        })
    }

    /// Applies (file layer) or records (local and command-line layer) one value.
    pub(super) fn assign(
        &mut self,
        def: &'static SettingDef,
        value: &str,
        location: Location,
    ) -> Result<(), ConfigError> {
        self.assigned.insert(def.name);
        let invalid = |reason| ConfigError::InvalidValue {
            location: location.clone(),
            setting: def.name.to_owned(),
            reason,
        };
        match self.target {
            Target::Files => {
                let cwd = self.cwd.clone();
                let cx = ValueContext {
                    cwd: &cwd,
                    environment: &self.options.host.environment,
                };
                (def.apply)(&mut self.files, value, &cx).map_err(invalid)?;
            }
            Target::Local | Target::CommandLine => {
                // Validate now, so the error points here rather than at the end.
                (def.apply)(&mut ImageConfig::default(), value, &self.value_context())
                    .map_err(invalid)?;
                let recorded = Recorded {
                    def,
                    value: value.to_owned(),
                    cwd: self.cwd.clone(),
                    location,
                };
                if self.target == Target::Local {
                    self.local.push(recorded);
                } else {
                    self.command_line.push(recorded);
                }
            }
        }
        Ok(())
    }

    /// Keeps the raw value of a setting this builder does not use (collection semantics).
    pub(super) fn keep_ignored(&mut self, name: &str, value: &str, location: Location) {
        let values = self.files.ignored.entry(name.to_owned()).or_default();
        if value.is_empty() {
            values.clear();
        } else {
            values.push(value.to_owned());
        }
        if let Some(Effect::Image(changes)) = setting::ignored_effect(name) {
            if value.is_empty() {
                self.files.unimplemented.remove(name);
            } else {
                self.files.unimplemented.insert(
                    name.to_owned(),
                    UnimplementedSetting {
                        location: location.to_string(),
                        changes,
                    },
                );
            }
        }
        self.warn(
            &location,
            DiagnosticKind::IgnoredSetting {
                name: name.to_owned(),
            },
        );
    }

    pub(super) fn warn(&mut self, location: &Location, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            location: location.clone(),
            kind,
        });
    }
}
