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

use std::collections::{BTreeMap, BTreeSet};
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

/// Loads the configuration described by `options` (the main image; see [`load_images`] for
/// the subimages of `mkosi.images/`).
pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
    load_main(options).map(|(loaded, _)| loaded)
}

/// The main image, and whether `Dependencies=` was set for it.
fn load_main(options: &LoadOptions) -> Result<(Loaded, bool), ConfigError> {
    let mut loader = Loader::new(options, "main");
    loader.record_command_line()?;
    for include in &options.includes {
        let path = setting::normalize(&options.directory.join(include));
        loader.include(&path, &Location::command_line())?;
    }
    let config_dir = config_directory(&options.directory);
    loader.read_directory(&config_dir, DirectoryRole::TOP)?;
    let mut config = loader.view()?;
    files::merge_environment_files(&mut config, &options.host.environment)?;
    let dependencies_set = loader.assigned.contains("Dependencies");
    let loaded = Loaded {
        config,
        diagnostics: loader.diagnostics,
    };
    Ok((loaded, dependencies_set))
}

/// One image of a tree.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// `main`, or the subimage's name (its directory or `.conf` file in `mkosi.images/`).
    pub name: String,
    /// Its configuration.
    pub loaded: Loaded,
}

/// Every image of the tree, in build order, as mkosi reads a multi-image tree: the subimages
/// of `mkosi.images/` (each `NAME/` directory read as a tree of its own, each `NAME.conf`
/// file as one file; one whose `[Match]` fails is left out) that the main image needs, each
/// after the images it depends on, then the main image, named `main`, last. A subimage
/// starts from the main image's universal and inherited settings and cannot change the
/// universal ones ([`setting::scope`]); the command line's overrides are the main image's.
/// The main image depends on every subimage unless its `Dependencies=` says otherwise.
pub fn load_images(options: &LoadOptions) -> Result<Vec<LoadedImage>, ConfigError> {
    let (mut main, dependencies_set) = load_main(options)?;
    let images_dir = config_directory(&options.directory).join("mkosi.images");
    let mut subimages = Vec::new();
    if images_dir.is_dir() {
        for entry in sorted_entries(&images_dir)? {
            let file_name = entry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = if entry.is_dir() {
                file_name
            } else if let Some(stem) = file_name.strip_suffix(".conf") {
                stem.to_owned()
            } else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let mut loader = Loader::new(options, &name);
            loader.files = setting::scope::subimage_defaults(&main.config);
            let matched = if entry.is_dir() {
                loader.read_directory(&entry, DirectoryRole::TOP)?
            } else {
                loader.read_file(&entry)?
            };
            if !matched {
                continue;
            }
            let mut config = loader.view()?;
            setting::scope::force_universal(&main.config, &mut config);
            files::merge_environment_files(&mut config, &options.host.environment)?;
            subimages.push(LoadedImage {
                name,
                loaded: Loaded {
                    config,
                    diagnostics: loader.diagnostics,
                },
            });
        }
    }
    if !dependencies_set {
        main.config.config.dependencies =
            subimages.iter().map(|image| image.name.clone()).collect();
    }
    let mut images = build_order(subimages, &main.config.config.dependencies)?;
    images.push(LoadedImage {
        name: "main".to_owned(),
        loaded: main,
    });
    Ok(images)
}

/// The subimages `wanted` needs, each after what it depends on: every image reachable from
/// `wanted` through `Dependencies=`, in dependency order (ties in name order).
fn build_order(
    mut subimages: Vec<LoadedImage>,
    wanted: &[String],
) -> Result<Vec<LoadedImage>, ConfigError> {
    let graph: BTreeMap<String, Vec<String>> = subimages
        .iter()
        .map(|image| {
            let mut deps = image.loaded.config.config.dependencies.clone();
            deps.sort();
            (image.name.clone(), deps)
        })
        .collect();
    let mut needed = BTreeSet::new();
    let mut queue: Vec<(String, String)> = wanted
        .iter()
        .map(|name| (name.clone(), "main".to_owned()))
        .collect();
    while let Some((name, needed_by)) = queue.pop() {
        let Some(deps) = graph.get(&name) else {
            return Err(ConfigError::UnknownImage { name, needed_by });
        };
        if needed.insert(name.clone()) {
            queue.extend(deps.iter().map(|dep| (dep.clone(), name.clone())));
        }
    }
    let mut done = Vec::new();
    for name in &needed {
        visit_dependencies_first(name, &graph, &mut Vec::new(), &mut done)?;
    }
    let mut ordered = Vec::with_capacity(done.len());
    for name in done {
        if let Some(index) = subimages.iter().position(|image| image.name == name) {
            ordered.push(subimages.swap_remove(index));
        }
    }
    Ok(ordered)
}

/// Appends `name` to `done` after its dependencies (depth first); a name met again while it
/// is being visited closes a cycle.
fn visit_dependencies_first(
    name: &str,
    graph: &BTreeMap<String, Vec<String>>,
    visiting: &mut Vec<String>,
    done: &mut Vec<String>,
) -> Result<(), ConfigError> {
    if done.iter().any(|d| d == name) {
        return Ok(());
    }
    if let Some(start) = visiting.iter().position(|v| v == name) {
        let mut chain = visiting[start..].to_vec();
        chain.push(name.to_owned());
        return Err(ConfigError::ImageCycle { chain });
    }
    visiting.push(name.to_owned());
    for dep in graph.get(name).into_iter().flatten() {
        visit_dependencies_first(dep, graph, visiting, done)?;
    }
    visiting.pop();
    done.push(name.to_owned());
    Ok(())
}

impl<'a> Loader<'a> {
    fn new(options: &'a LoadOptions, image: &str) -> Self {
        Self {
            options,
            files: ImageConfig::default(),
            local: Vec::new(),
            command_line: Vec::new(),
            target: Target::Files,
            cwd: options.directory.clone(),
            included: BTreeSet::new(),
            reading: Vec::new(),
            diagnostics: Vec::new(),
            image: image.to_owned(),
            assigned: BTreeSet::new(),
        }
    }
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
    /// The image being read (`main`, or a subimage's name): `%I` and `[Match] Image=`.
    image: String,
    /// The settings assigned anywhere (files, local files, command line).
    assigned: BTreeSet<&'static str>,
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
            image: &self.image,
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
