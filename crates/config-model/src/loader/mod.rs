//! Walking a configuration tree the way mkosi does: the I/O edge of this crate.
//!
//! Order of reading, for the top-level directory (`--directory`, or its `mkosi/` subdirectory
//! when only that has a `mkosi.conf`):
//! 1. command-line overrides (recorded; they win at the end), then command-line `-I` includes;
//! 2. the `[Match]` of `mkosi.conf` (a failing match skips the whole directory);
//! 3. `mkosi.local.conf` then `mkosi.local/` (recorded like command-line values: they beat
//!    every later file, but not the command line);
//! 4. default paths (`mkosi.extra/`, `mkosi.build`, `mkosi.build.d/*`, `mkosi.version`, ...);
//! 5. `mkosi.conf`, with each `Include=` read at the point it appears;
//! 6. `mkosi.conf.d/`: `*.conf` files and subdirectories (read as directories), sorted;
//! 7. each selected profile from `mkosi.profiles/NAME/` and `mkosi.profiles/NAME.conf`.
//!
//! The working directory, which relative paths and `%P` use, changes only when a *directory*
//! is read (the top level, a `mkosi.conf.d/` subdirectory, an included directory, a profile
//! directory); included files and drop-in files keep it. Each file or directory is included at
//! most once; an include of a file that is still being read is an [`ConfigError::IncludeCycle`].
//!
//! Deliberate differences from mkosi, each an error where mkosi only warns or ignores: an
//! unknown setting (with the closest known name), an unknown section, an unknown specifier, a
//! profile that does not exist, and an include cycle.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::ImageConfig;
use crate::error::{ConfigError, Location};
use crate::host::Host;
use crate::matching::{self, Condition, ConditionKind, ConditionSection, MatchInput};
use crate::setting::{self, Known, Section, SettingDef, ValueContext};
use build_vocab::ini::IniItem;

mod assign;
mod default_paths;
mod files;

use files::{canonical, location_of, read_file, sorted_entries};

/// What to load and with which command-line overrides.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The directory mkosi would be invoked in (`--directory`); must be absolute.
    pub directory: PathBuf,
    /// Extra configuration files or directories (`-I`), relative to `directory`.
    pub includes: Vec<PathBuf>,
    /// `--setting=value` overrides, in command-line order (e.g. `Profiles=devtools`).
    pub overrides: Vec<Override>,
    /// Facts about the build host.
    pub host: Host,
}

/// One command-line override: a setting name and its value, as `Name=value` would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The setting name, e.g. `ImageId`.
    pub setting: String,
    /// The value; empty resets, as in files.
    pub value: String,
}

impl Override {
    /// An override of `setting` with `value`.
    pub fn new(setting: &str, value: &str) -> Self {
        Self {
            setting: setting.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// The loaded configuration and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved configuration.
    pub config: ImageConfig,
    /// Warnings: ignored settings, settings in the wrong section, old names.
    pub diagnostics: Vec<Diagnostic>,
}

/// A warning about the configuration, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// What.
    pub kind: DiagnosticKind,
}

/// The kinds of warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// A setting mkosi knows that this builder does not act on; its value is kept.
    IgnoredSetting {
        /// The setting.
        name: String,
    },
    /// A setting written in another section than its own; it is applied anyway, as in mkosi.
    WrongSection {
        /// The setting.
        name: String,
        /// The section it belongs in.
        expected: Section,
    },
    /// An old setting name that mkosi still accepts.
    RenamedSetting {
        /// The name as written.
        old: String,
        /// The current name.
        new: &'static str,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DiagnosticKind::IgnoredSetting { name } => write!(
                f,
                "{}: `{name}=` is not used by this builder; its value is kept but has no effect",
                self.location
            ),
            DiagnosticKind::WrongSection { name, expected } => {
                write!(f, "{}: `{name}=` belongs in [{expected:?}]", self.location)
            }
            DiagnosticKind::RenamedSetting { old, new } => {
                write!(f, "{}: `{old}=` is deprecated, use `{new}=`", self.location)
            }
        }
    }
}

/// Loads the configuration described by `options`.
pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut loader = Loader {
        options,
        files: ImageConfig::default(),
        local: Vec::new(),
        command_line: Vec::new(),
        target: Target::Files,
        cwd: options.directory.clone(),
        included: BTreeSet::new(),
        reading: Vec::new(),
        diagnostics: Vec::new(),
    };
    loader.record_command_line()?;
    for include in &options.includes {
        let path = setting::normalize(&options.directory.join(include));
        loader.include(&path, &Location::command_line())?;
    }
    let config_dir = config_directory(&options.directory);
    loader.read_directory(&config_dir, DirectoryRole::TOP)?;
    let mut config = loader.view()?;
    files::merge_environment_files(&mut config)?;
    Ok(Loaded {
        config,
        diagnostics: loader.diagnostics,
    })
}

impl Location {
    /// The location reported for command-line values.
    pub fn command_line() -> Self {
        Self {
            file: PathBuf::from("<command line>"),
            line: 0,
        }
    }
}

/// The top-level directory, or its `mkosi/` subdirectory when only that has a `mkosi.conf`.
fn config_directory(directory: &Path) -> PathBuf {
    let nested = directory.join("mkosi");
    if !directory.join("mkosi.conf").exists() && nested.join("mkosi.conf").is_file() {
        nested
    } else {
        directory.to_owned()
    }
}

/// Where assignments go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The configuration-file layer.
    Files,
    /// Recorded local values, replayed over the files.
    Local,
    /// Recorded command-line values, replayed last.
    CommandLine,
}

/// A value that is replayed over the file layer: from the command line or local files.
#[derive(Clone)]
struct Recorded {
    def: &'static SettingDef,
    value: String,
    cwd: PathBuf,
    location: Location,
}

/// What reading a directory includes besides its own files.
#[derive(Debug, Clone, Copy)]
struct DirectoryRole {
    local: bool,
    profiles: bool,
}

impl DirectoryRole {
    const TOP: Self = Self {
        local: true,
        profiles: true,
    };
    const INCLUDED: Self = Self {
        local: false,
        profiles: true,
    };
    const NESTED: Self = Self {
        local: false,
        profiles: false,
    };
}

/// One file, read and split into INI items.
struct ParsedFile {
    path: PathBuf,
    items: Vec<IniItem>,
}

struct Loader<'a> {
    options: &'a LoadOptions,
    /// The configuration-file layer.
    files: ImageConfig,
    /// Local-file values, replayed over `files`.
    local: Vec<Recorded>,
    /// Command-line values, replayed last.
    command_line: Vec<Recorded>,
    target: Target,
    cwd: PathBuf,
    /// Canonical paths already included (each is included at most once).
    included: BTreeSet<PathBuf>,
    /// Canonical paths of the files being read, outermost first (for cycle errors).
    reading: Vec<PathBuf>,
    diagnostics: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn value_context(&self) -> ValueContext<'_> {
        ValueContext {
            cwd: &self.cwd,
            environment: &self.options.host.environment,
        }
    }

    /// The configuration as it stands: the file layer (package lists sorted, as mkosi keeps
    /// them), with the recorded local and command-line values applied over it.
    fn view(&self) -> Result<ImageConfig, ConfigError> {
        let mut config = self.files.clone();
        for list in [
            &mut config.content.packages,
            &mut config.content.build_packages,
            &mut config.content.volatile_packages,
        ] {
            list.sort_by_key(ToString::to_string);
        }
        for recorded in self.local.iter().chain(&self.command_line) {
            let cx = ValueContext {
                cwd: &recorded.cwd,
                environment: &self.options.host.environment,
            };
            (recorded.def.apply)(&mut config, &recorded.value, &cx).map_err(|reason| {
                ConfigError::InvalidValue {
                    location: recorded.location.clone(),
                    setting: recorded.def.name.to_owned(),
                    reason,
                }
            })?;
        }
        Ok(config)
    }

    fn record_command_line(&mut self) -> Result<(), ConfigError> {
        self.target = Target::CommandLine;
        for o in &self.options.overrides {
            let location = Location::command_line();
            let def = match setting::lookup(&o.setting) {
                Some(Known::Used(def)) => def,
                Some(Known::Ignored(_)) => {
                    self.keep_ignored(&o.setting, &o.value, location);
                    continue;
                }
                None => {
                    return Err(ConfigError::UnknownSetting {
                        location,
                        suggestion: setting::closest_name(&o.setting),
                        name: o.setting.clone(),
                    });
                }
            };
            self.assign(def, &o.value, location)?;
        }
        self.target = Target::Files;
        Ok(())
    }

    fn read_directory(&mut self, dir: &Path, role: DirectoryRole) -> Result<bool, ConfigError> {
        let saved_cwd = std::mem::replace(&mut self.cwd, dir.to_owned());
        let result = self.read_directory_here(dir, role);
        self.cwd = saved_cwd;
        result
    }

    fn read_directory_here(
        &mut self,
        dir: &Path,
        role: DirectoryRole,
    ) -> Result<bool, ConfigError> {
        let conf = dir.join("mkosi.conf");
        let parsed = if conf.is_file() {
            let parsed = read_file(&conf)?;
            if !self.conditions_hold(&parsed)? {
                return Ok(false);
            }
            Some(parsed)
        } else {
            None
        };
        if role.local {
            self.read_local(dir)?;
        }
        self.apply_default_paths(dir)?;
        if let Some(parsed) = parsed {
            self.with_reading(&conf, |this| this.apply_file(&parsed))?;
        }
        let dropins = dir.join("mkosi.conf.d");
        if dropins.is_dir() {
            for entry in sorted_entries(&dropins)? {
                if entry.is_dir() {
                    self.read_directory(&entry, DirectoryRole::NESTED)?;
                } else if entry.extension().is_some_and(|e| e == "conf") {
                    self.read_file(&entry)?;
                }
            }
        }
        if role.profiles {
            self.read_profiles(dir)?;
        }
        Ok(true)
    }

    /// `mkosi.local.conf`, then `mkosi.local/`: recorded, so they win over later files.
    fn read_local(&mut self, dir: &Path) -> Result<(), ConfigError> {
        let saved = std::mem::replace(&mut self.target, Target::Local);
        let result = (|| {
            let file = dir.join("mkosi.local.conf");
            if file.is_file() {
                self.read_file(&file)?;
            }
            let local_dir = dir.join("mkosi.local");
            if local_dir.is_dir() {
                self.read_directory(&local_dir, DirectoryRole::NESTED)?;
            }
            Ok(())
        })();
        self.target = saved;
        result
    }

    fn read_profiles(&mut self, dir: &Path) -> Result<(), ConfigError> {
        let profiles = self.view()?.config.profiles;
        let profiles_dir = dir.join("mkosi.profiles");
        for profile in profiles {
            let as_dir = profiles_dir.join(&profile);
            let as_file = profiles_dir.join(format!("{profile}.conf"));
            let valid_name = !profile.contains('/') && profile != "." && profile != "..";
            if !valid_name || !(as_dir.is_dir() || as_file.is_file()) {
                return Err(ConfigError::ProfileNotFound {
                    profile,
                    directory: profiles_dir,
                });
            }
            if as_dir.is_dir() {
                self.read_directory(&as_dir, DirectoryRole::NESTED)?;
            }
            if as_file.is_file() {
                self.read_file(&as_file)?;
            }
        }
        Ok(())
    }

    /// Reads a drop-in or included file: its conditions, then its settings.
    fn read_file(&mut self, path: &Path) -> Result<bool, ConfigError> {
        let parsed = read_file(path)?;
        if !self.conditions_hold(&parsed)? {
            return Ok(false);
        }
        self.with_reading(path, |this| this.apply_file(&parsed))?;
        Ok(true)
    }

    /// Runs `body` with `path` marked as being read, for include-cycle detection.
    fn with_reading(
        &mut self,
        path: &Path,
        body: impl FnOnce(&mut Self) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        self.reading.push(canonical(path)?);
        let result = body(self);
        self.reading.pop();
        result
    }

    fn include(&mut self, path: &Path, location: &Location) -> Result<(), ConfigError> {
        if !path.exists() {
            return Err(ConfigError::IncludeNotFound {
                location: location.clone(),
                path: path.to_owned(),
            });
        }
        let canonical = canonical(path)?;
        if let Some(start) = self.reading.iter().position(|p| *p == canonical) {
            let mut chain = self.reading[start..].to_vec();
            chain.push(canonical);
            return Err(ConfigError::IncludeCycle {
                location: location.clone(),
                chain,
            });
        }
        if !self.included.insert(canonical) {
            return Ok(());
        }
        if path.is_dir() {
            self.read_directory(path, DirectoryRole::INCLUDED)?;
        } else {
            self.read_file(path)?;
        }
        Ok(())
    }

    fn conditions_hold(&self, parsed: &ParsedFile) -> Result<bool, ConfigError> {
        let mut sections: Vec<ConditionSection> = Vec::new();
        let mut in_condition = false;
        let view = self.view()?;
        for item in &parsed.items {
            match item {
                IniItem::Section { name, .. } => {
                    in_condition = match ConditionKind::from_section(name) {
                        Some(kind) => {
                            sections.push(ConditionSection {
                                kind,
                                conditions: Vec::new(),
                            });
                            true
                        }
                        None => false,
                    };
                }
                IniItem::Assignment(a) if in_condition => {
                    let location = location_of(&parsed.path, a.line);
                    let mut condition = Condition::parse(&a.key, &a.value, a.line);
                    condition.value =
                        self.expand(&condition.value, &view, &parsed.path, &location)?;
                    if let Some(section) = sections.last_mut() {
                        section.conditions.push(condition);
                    }
                }
                IniItem::Assignment(_) => {}
            }
        }
        let input = MatchInput {
            config: &view,
            host: &self.options.host,
            cwd: &self.cwd,
            image: "main",
        };
        let verdict =
            matching::evaluate(&sections, &input).map_err(|reason| ConfigError::Condition {
                location: location_of(&parsed.path, reason.line()),
                reason,
            })?;
        if verdict.matched && !verdict.asserted {
            return Err(ConfigError::AssertFailed {
                location: location_of(&parsed.path, 0),
            });
        }
        Ok(verdict.matched)
    }
}
