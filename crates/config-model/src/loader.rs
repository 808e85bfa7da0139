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
use std::process::Command;

use crate::config::ImageConfig;
use crate::error::{ConfigError, Location};
use crate::host::Host;
use crate::matching::{self, Condition, ConditionKind, ConditionSection, MatchInput};
use crate::setting::{self, Known, Section, SettingDef, Split, ValueContext};
use crate::specifier::{self, Directories};
use build_vocab::ini::{self, IniItem};

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
    let config = loader.view()?;
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

/// Settings read from a file's `mkosi.<suffix>` default paths.
struct DefaultPath {
    setting: &'static str,
    /// Paths whose *name* is the value (trees, scripts, directories).
    paths: &'static [&'static str],
    /// A directory whose sorted entries are each a value (`mkosi.build.d`).
    directory: Option<&'static str>,
    /// A file whose *contents* are the value (`mkosi.version`, `mkosi.seed`).
    contents: Option<&'static str>,
}

const fn paths_of(setting: &'static str, paths: &'static [&'static str]) -> DefaultPath {
    DefaultPath {
        setting,
        paths,
        directory: None,
        contents: None,
    }
}

const fn scripts_of(
    setting: &'static str,
    paths: &'static [&'static str],
    directory: &'static str,
) -> DefaultPath {
    DefaultPath {
        setting,
        paths,
        directory: Some(directory),
        contents: None,
    }
}

const fn contents_of(setting: &'static str, file: &'static str) -> DefaultPath {
    DefaultPath {
        setting,
        paths: &[],
        directory: None,
        contents: Some(file),
    }
}

/// mkosi's default paths, in the order mkosi applies them.
const DEFAULT_PATHS: &[DefaultPath] = &[
    contents_of("Snapshot", "mkosi.snapshot"),
    paths_of("OutputDirectory", &["mkosi.output"]),
    contents_of("ImageVersion", "mkosi.version"),
    paths_of("RepartDirectories", &["mkosi.repart"]),
    contents_of("Seed", "mkosi.seed"),
    paths_of("PackageDirectories", &["mkosi.packages"]),
    paths_of("SkeletonTrees", &["mkosi.skeleton", "mkosi.skeleton.tar"]),
    paths_of("ExtraTrees", &["mkosi.extra", "mkosi.extra.tar"]),
    scripts_of("SyncScripts", &["mkosi.sync"], "mkosi.sync.d"),
    scripts_of(
        "PrepareScripts",
        &["mkosi.prepare", "mkosi.prepare.chroot"],
        "mkosi.prepare.d",
    ),
    scripts_of(
        "BuildScripts",
        &["mkosi.build", "mkosi.build.chroot"],
        "mkosi.build.d",
    ),
    scripts_of(
        "PostInstallationScripts",
        &["mkosi.postinst", "mkosi.postinst.chroot"],
        "mkosi.postinst.d",
    ),
    scripts_of(
        "FinalizeScripts",
        &["mkosi.finalize", "mkosi.finalize.chroot"],
        "mkosi.finalize.d",
    ),
    scripts_of(
        "PostOutputScripts",
        &["mkosi.postoutput"],
        "mkosi.postoutput.d",
    ),
    paths_of(
        "SandboxTrees",
        &[
            "mkosi.sandbox",
            "mkosi.sandbox.tar",
            "mkosi.pkgmngr",
            "mkosi.pkgmngr.tar",
        ],
    ),
    paths_of("CacheDirectory", &["mkosi.cache"]),
    paths_of("PackageCacheDirectory", &["mkosi.pkgcache"]),
    paths_of("BuildDirectory", &["mkosi.builddir"]),
    paths_of("EnvironmentFiles", &["mkosi.env"]),
];

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

    fn apply_default_paths(&mut self, dir: &Path) -> Result<(), ConfigError> {
        for default in DEFAULT_PATHS {
            let Some(Known::Used(def)) = setting::lookup(default.setting) else {
                unreachable!("default paths name used settings only");
            };
            let mut values = Vec::new();
            for name in default.paths {
                let path = dir.join(name);
                if path.exists() {
                    values.push((path.display().to_string(), path));
                }
            }
            if let Some(name) = default.directory {
                let path = dir.join(name);
                if path.is_dir() {
                    for entry in sorted_entries(&path)? {
                        values.push((entry.display().to_string(), entry));
                    }
                }
            }
            if let Some(name) = default.contents {
                let path = dir.join(name);
                if path.is_file() {
                    values.push((read_or_run(&path, dir)?, path));
                }
            }
            for (value, path) in values {
                let location = Location {
                    file: path,
                    line: 0,
                };
                self.assign(def, &value, location)?;
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

    fn apply_file(&mut self, parsed: &ParsedFile) -> Result<(), ConfigError> {
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

    fn expand(
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
            image: "main",
        };
        specifier::expand(raw, view, &dirs).map_err(|reason| ConfigError::Specifier {
            location: location.clone(),
            reason,
        })
    }

    /// Applies (file layer) or records (local and command-line layer) one value.
    fn assign(
        &mut self,
        def: &'static SettingDef,
        value: &str,
        location: Location,
    ) -> Result<(), ConfigError> {
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
    fn keep_ignored(&mut self, name: &str, value: &str, location: Location) {
        let values = self.files.ignored.entry(name.to_owned()).or_default();
        if value.is_empty() {
            values.clear();
        } else {
            values.push(value.to_owned());
        }
        self.warn(
            &location,
            DiagnosticKind::IgnoredSetting {
                name: name.to_owned(),
            },
        );
    }

    fn warn(&mut self, location: &Location, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            location: location.clone(),
            kind,
        });
    }
}

fn location_of(file: &Path, line: usize) -> Location {
    Location {
        file: file.to_owned(),
        line,
    }
}

fn read_file(path: &Path) -> Result<ParsedFile, ConfigError> {
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

fn canonical(path: &Path) -> Result<PathBuf, ConfigError> {
    path.canonicalize().map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let names = build_vocab::walk::sorted_names(dir).map_err(|e| ConfigError::Read {
        path: e.path,
        source: e.source,
    })?;
    Ok(names.into_iter().map(|name| dir.join(name)).collect())
}

/// The value of a `mkosi.version`-style file: its standard output if it is executable (run in
/// `cwd`, as mkosi does), else its contents; trailing newlines removed.
fn read_or_run(path: &Path, cwd: &Path) -> Result<String, ConfigError> {
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
