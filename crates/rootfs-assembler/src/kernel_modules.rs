//! mkosi's kernel module filter for the modular kernels of an image (`KernelModules=`, and
//! the older `KernelModulesInclude=`/`KernelModulesExclude=`), and the check that the modules
//! it kept are still there when the image is finished.
//!
//! A Debian kernel loads most of what a service needs (`nf_tables` for iptables, `tun` for
//! pasta, `dm_crypt`, NIC drivers) from `/usr/lib/modules/<release>`. An image that filters
//! them must keep each one a service loads and everything that module needs; an image whose
//! later scripts delete what the filter kept boots a kernel without its modules. The first
//! is [`select`], the second [`verify`], which turns that mistake into a build error.
//!
//! The selection follows mkosi (`kmod.py`): globs are matched against the module's name and
//! its path (with `_` and `-` equal), the last glob that matches decides, a `-` before a glob
//! excludes; regular expressions are searched in the path below `kernel/`; with
//! `KernelModulesExclude=` every module but the excluded stays. Then the hard (`modules.dep`)
//! and soft (`softdep`) dependencies of the kept and the built-in modules are added. We
//! differ on purpose where mkosi would build something other than asked: a pattern that
//! matches no module, loadable or built in, is an error (mkosi ignores it), and so are
//! `default` (mkosi's initrd list, which this builder does not carry) and `host` (the build
//! machine's loaded modules, which would make the image depend on the build machine).
//!
//! Pure: [`ModuleIndex::parse`] reads depmod's files and [`select`] decides. The I/O edge:
//! [`apply`] runs the image's own `depmod`, removes the modules not selected and runs
//! `depmod` again; [`verify`] checks the finished tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use build_vocab::glob::Glob;
use config_model::ImageConfig;
use config_model::value::{ModuleFilter, ModuleRegex};

use crate::error::Error;
use crate::install::dpkg_environment;
use crate::sandbox::{CommandRunner, Place, Sandbox, SandboxCommand};
use build_vocab::{AtPath, PathError};

/// Where a kernel's modules live in the image, relative to the root.
const MODULES_DIR: &str = "usr/lib/modules";

/// What depmod knows about one kernel: its loadable modules, its built-in ones and their
/// dependencies. Module names are kept in mkosi's form, `-` for `_`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleIndex {
    /// Loadable modules by name.
    loadable: BTreeMap<String, Loadable>,
    /// Built-in modules: name to path (`kernel/fs/ext4/ext4.ko`).
    builtin: BTreeMap<String, String>,
    /// `softdep` modules by the name of the module that wants them.
    soft: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Loadable {
    /// Relative to the kernel's modules directory, as `modules.dep` writes it.
    path: String,
    /// Names of the modules it needs loaded first.
    depends: Vec<String>,
}

impl ModuleIndex {
    /// Reads depmod's `modules.dep`, `modules.softdep`, `modules.builtin` and the kernel's
    /// `modules.builtin.modinfo` (NUL-separated `name.key=value`; only `softdep` is used).
    pub fn parse(
        modules_dep: &str,
        modules_softdep: &str,
        modules_builtin: &str,
        builtin_modinfo: &[u8],
    ) -> Result<Self, String> {
        let mut index = Self::default();
        for (number, line) in modules_dep.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (path, depends) = line
                .split_once(':')
                .ok_or_else(|| format!("modules.dep:{}: no `:` in `{line}`", number + 1))?;
            let module = Loadable {
                path: path.trim().to_owned(),
                depends: depends.split_whitespace().map(module_name).collect(),
            };
            index.loadable.insert(module_name(path), module);
        }
        for line in modules_softdep.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("softdep") {
                continue;
            }
            if let Some(name) = words.next() {
                index.add_soft(name, words);
            }
        }
        for path in modules_builtin
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            index.builtin.insert(module_name(path), path.to_owned());
        }
        for record in builtin_modinfo.split(|&b| b == 0) {
            let record = String::from_utf8_lossy(record);
            let Some((key, value)) = record.split_once('=') else {
                continue;
            };
            if let Some((name, "softdep")) = key.split_once('.') {
                index.add_soft(name, value.split_whitespace());
            }
        }
        Ok(index)
    }

    /// Records soft dependencies; `pre:`/`post:` markers are not module names.
    fn add_soft<'a>(&mut self, name: &str, words: impl Iterator<Item = &'a str>) {
        let wanted = words.filter(|w| !w.ends_with(':')).map(module_name);
        self.soft
            .entry(module_name(name))
            .or_default()
            .extend(wanted);
    }

    /// How many loadable modules the kernel has.
    pub fn loadable_count(&self) -> usize {
        self.loadable.len()
    }
}

/// The modules of one kernel that stay in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The kernel release (`6.12.57+deb13-cloud-amd64`).
    pub release: String,
    /// Paths of the loadable modules kept, relative to the kernel's modules directory.
    pub kept: BTreeSet<String>,
    /// How many loadable modules the kernel came with.
    pub total: usize,
    /// Whether a filter was configured (without one every module stays, as in mkosi).
    pub filtered: bool,
    /// `module -> dependency` pairs where the dependency is neither loadable nor built in
    /// (mkosi warns about these and goes on).
    pub missing_dependencies: Vec<String>,
}

/// The module names and paths a filter is matched against, in mkosi's forms.
struct Candidate<'a> {
    /// Relative to the modules directory, `-` for `_`, without `.ko[.xz|.zst|.gz]`.
    normalized: String,
    /// Relative to `kernel/` (or to `updates/`, `extra/`), as written: what regular
    /// expressions search.
    legacy: &'a str,
}

impl<'a> Candidate<'a> {
    fn new(path: &'a str) -> Self {
        let stem = strip_module_suffix(path);
        Self {
            normalized: stem.replace('_', "-"),
            legacy: path.split_once('/').map_or(path, |(_, rest)| rest),
        }
    }
}

/// Decides which modules of the kernel `release` stay, as the module doc describes.
pub fn select(
    release: &str,
    index: &ModuleIndex,
    include: &[ModuleFilter],
    exclude: &[ModuleRegex],
) -> Result<Selection, Error> {
    let all: BTreeSet<String> = index.loadable.values().map(|m| m.path.clone()).collect();
    let mut selection = Selection {
        release: release.to_owned(),
        total: all.len(),
        filtered: !(include.is_empty() && exclude.is_empty()),
        kept: BTreeSet::new(),
        missing_dependencies: Vec::new(),
    };
    if !selection.filtered {
        selection.kept = all;
        return Ok(selection);
    }
    let filters = Filters::compile(include, exclude)?;
    filters.check_each_matches(release, index)?;

    let chosen: Vec<&Loadable> = index
        .loadable
        .values()
        .filter(|module| {
            let candidate = Candidate::new(&module.path);
            let included = filters.includes(&candidate);
            included || (!exclude.is_empty() && !filters.excludes(&candidate))
        })
        .collect();

    // The closure over hard and soft dependencies, from the chosen and the built-in modules.
    let mut todo: Vec<String> = index.builtin.keys().cloned().collect();
    todo.extend(chosen.iter().map(|m| module_name(&m.path)));
    let mut seen = BTreeSet::new();
    let mut missing = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let hard = index.loadable.get(&name).map(|m| m.depends.as_slice());
        let soft = index.soft.get(&name).into_iter().flatten();
        for dependency in hard.unwrap_or_default().iter().chain(soft) {
            if index.loadable.contains_key(dependency) {
                todo.push(dependency.clone());
            } else if !index.builtin.contains_key(dependency) {
                missing.insert(format!("{name} -> {dependency}"));
            }
        }
    }
    selection.kept = seen
        .iter()
        .filter_map(|name| index.loadable.get(name).map(|m| m.path.clone()))
        .collect();
    selection.missing_dependencies = missing.into_iter().collect();
    Ok(selection)
}

/// The filters of one image, compiled once.
struct Filters {
    /// `KernelModules=` globs in the order written.
    globs: Vec<ModuleGlob>,
    /// `KernelModulesInclude=` expressions, with the text shown in errors.
    include_regexes: Vec<(regex::Regex, String)>,
    /// `KernelModulesExclude=` expressions.
    exclude_regexes: Vec<regex::Regex>,
}

impl Filters {
    fn compile(include: &[ModuleFilter], exclude: &[ModuleRegex]) -> Result<Self, Error> {
        let refuse = |reason: String| Error::Config {
            setting: "KernelModules",
            reason,
        };
        let mut filters = Self {
            globs: Vec::new(),
            include_regexes: Vec::new(),
            exclude_regexes: Vec::new(),
        };
        for filter in include {
            match filter {
                ModuleFilter::Glob { pattern, exclude } => {
                    let glob = ModuleGlob::compile(pattern, *exclude, filter.to_string());
                    filters.globs.push(glob);
                }
                ModuleFilter::Regex(regex) => {
                    filters
                        .include_regexes
                        .push((compile_regex(regex)?, filter.to_string()));
                }
                ModuleFilter::Default => {
                    return Err(refuse(
                        "`default` names the module list of mkosi's default initrd, which \
                         this builder does not carry: list the modules the image needs"
                            .into(),
                    ));
                }
                ModuleFilter::Host => {
                    return Err(refuse(
                        "`host` would put the build machine's loaded modules into the image, \
                         so two machines would build different images: list the modules"
                            .into(),
                    ));
                }
            }
        }
        for regex in exclude {
            filters.exclude_regexes.push(compile_regex(regex)?);
        }
        Ok(filters)
    }

    /// Whether the include list keeps `candidate`: the last glob that matches decides, and
    /// any include expression that matches keeps it.
    fn includes(&self, candidate: &Candidate<'_>) -> bool {
        let by_glob = self
            .globs
            .iter()
            .rev()
            .find(|glob| glob.matches(candidate))
            .is_some_and(|glob| !glob.exclude);
        by_glob
            || self
                .include_regexes
                .iter()
                .any(|(regex, _)| regex.is_match(candidate.legacy))
    }

    fn excludes(&self, candidate: &Candidate<'_>) -> bool {
        self.exclude_regexes
            .iter()
            .any(|regex| regex.is_match(candidate.legacy))
    }

    /// Each pattern that asks for modules must match one, loadable or built in: a name the
    /// kernel does not have is a typo or a request for another kernel.
    fn check_each_matches(&self, release: &str, index: &ModuleIndex) -> Result<(), Error> {
        let candidates: Vec<Candidate<'_>> = index
            .loadable
            .values()
            .map(|m| m.path.as_str())
            .chain(index.builtin.values().map(String::as_str))
            .map(Candidate::new)
            .collect();
        let unmatched_glob = self
            .globs
            .iter()
            .filter(|glob| !glob.exclude)
            .find(|glob| !candidates.iter().any(|c| glob.matches(c)))
            .map(|glob| &glob.shown);
        let unmatched_regex = self
            .include_regexes
            .iter()
            .find(|(regex, _)| !candidates.iter().any(|c| regex.is_match(c.legacy)))
            .map(|(_, shown)| shown);
        match unmatched_glob.or(unmatched_regex) {
            Some(shown) => Err(Error::Config {
                setting: "KernelModules",
                reason: format!(
                    "`{shown}` matches no module of kernel {release}, neither loadable \
                     ({} of them) nor built in ({}); check the name with `modinfo` or drop it",
                    index.loadable.len(),
                    index.builtin.len()
                ),
            }),
            None => Ok(()),
        }
    }
}

/// One `KernelModules=` glob, matched as mkosi's `globs_match_filename` does.
struct ModuleGlob {
    /// Matched against `/` and the module's normalised path: for a glob starting with `/`,
    /// the glob below `/kernel` and the glob itself; for one holding a `/`, the glob after
    /// any leading path elements.
    path: Vec<Glob>,
    /// Matched against the module's name.
    name: Glob,
    /// Whether a match leaves the module out.
    exclude: bool,
    /// As written, for errors.
    shown: String,
}

impl ModuleGlob {
    /// `_` is read as `-` outside `[...]`, a trailing `/` means everything below, and `**`
    /// is `*` (Python's fnmatch, which mkosi uses, has no recursive wildcard).
    fn compile(raw: &str, exclude: bool, shown: String) -> Self {
        let mut glob = String::with_capacity(raw.len() + 1);
        let mut in_class = false;
        for c in raw.chars() {
            match c {
                '[' => in_class = true,
                ']' => in_class = false,
                _ => {}
            }
            glob.push(if c == '_' && !in_class { '-' } else { c });
        }
        while glob.contains("**") {
            glob = glob.replace("**", "*");
        }
        if glob.ends_with('/') {
            glob.push('*');
        }
        let mut path = Vec::new();
        if glob.starts_with('/') {
            path.push(Glob::new(&format!("/kernel{glob}")));
            path.push(Glob::new(&glob));
        } else if glob.contains('/') {
            path.push(Glob::new(&format!("*/{glob}")));
        }
        Self {
            path,
            name: Glob::new(&glob),
            exclude,
            shown,
        }
    }

    fn matches(&self, candidate: &Candidate<'_>) -> bool {
        let rooted = format!("/{}", candidate.normalized);
        let name = rooted.rsplit('/').next().unwrap_or_default();
        self.path.iter().any(|p| p.matches(&rooted)) || self.name.matches(name)
    }
}

fn compile_regex(regex: &ModuleRegex) -> Result<regex::Regex, Error> {
    regex::Regex::new(regex.as_str()).map_err(|e| Error::Config {
        setting: "KernelModulesInclude",
        reason: format!("`{}`: {e}", regex.as_str()),
    })
}

/// `kernel/net/netfilter/nf_tables.ko.xz` -> `nf-tables`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    stem.replace('_', "-")
}

/// The path without `.ko`, `.ko.xz`, `.ko.zst` or `.ko.gz`.
fn strip_module_suffix(path: &str) -> &str {
    [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix))
        .unwrap_or(path)
}

/// Filters the modules of every modular kernel in the image at `root` (each
/// `usr/lib/modules/<release>` with more than an `updates/` directory) and brings depmod's
/// files up to date with the image's own `depmod` (run through `runner`). Returns what was
/// kept, per kernel.
pub fn apply(
    config: &ImageConfig,
    root: &Path,
    work: &Path,
    runner: &dyn CommandRunner,
) -> Result<Vec<Selection>, Error> {
    let content = &config.content;
    let mut selections = Vec::new();
    for release in module_releases(root)? {
        let dir = root.join(MODULES_DIR).join(&release);
        let filtered = !(content.kernel_modules_include.is_empty()
            && content.kernel_modules_exclude.is_empty());
        if filtered {
            // Packages and scripts may have added modules since the kernel package ran it.
            depmod(root, work, &release, runner)?;
        }
        let index = read_index(&dir)?;
        let selection = select(
            &release,
            &index,
            &content.kernel_modules_include,
            &content.kernel_modules_exclude,
        )?;
        if filtered {
            remove_unselected(&dir, &index, &selection)?;
            depmod(root, work, &release, runner)?;
        }
        selections.push(selection);
    }
    Ok(selections)
}

/// Fails with [`Error::KernelModulesRemoved`] when a module that [`apply`] kept is gone from
/// the finished tree while its kernel is still there.
pub fn verify(root: &Path, selections: &[Selection]) -> Result<(), Error> {
    for selection in selections {
        let dir = root.join(MODULES_DIR).join(&selection.release);
        let kernel_left = dir.join("vmlinuz").exists()
            || root
                .join(format!("boot/vmlinuz-{}", selection.release))
                .exists()
            || dir.exists();
        if !kernel_left {
            continue;
        }
        let missing: Vec<String> = selection
            .kept
            .iter()
            .filter(|path| fs::symlink_metadata(dir.join(path)).is_err())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::KernelModulesRemoved {
                release: selection.release.clone(),
                kept: selection.kept.len(),
                missing,
            });
        }
    }
    Ok(())
}

/// The kernel releases with modules in the image, sorted.
fn module_releases(root: &Path) -> Result<Vec<String>, Error> {
    let base = root.join(MODULES_DIR);
    let entries = match fs::read_dir(&base) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::from(PathError::new(&base, e))),
    };
    let mut releases = Vec::new();
    for entry in entries {
        let entry = entry.at(&base)?;
        if !entry.file_type().at(entry.path())?.is_dir() {
            continue;
        }
        let names: Vec<_> = fs::read_dir(entry.path())
            .at(entry.path())?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        // mkosi's is_valid_kdir: not empty, and more than `updates/`.
        if !names.is_empty() && names != ["updates"] {
            releases.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    releases.sort();
    Ok(releases)
}

fn read_index(dir: &Path) -> Result<ModuleIndex, Error> {
    let read = |name: &str| -> Result<Vec<u8>, Error> {
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::from(PathError::new(path, e))),
        }
    };
    let text = |name: &str| -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&read(name)?).into_owned())
    };
    ModuleIndex::parse(
        &text("modules.dep")?,
        &text("modules.softdep")?,
        &text("modules.builtin")?,
        &read("modules.builtin.modinfo")?,
    )
    .map_err(|reason| Error::Control {
        what: dir.display().to_string(),
        reason,
    })
}

/// Removes the modules `selection` does not keep, then the directories that became empty.
fn remove_unselected(dir: &Path, index: &ModuleIndex, selection: &Selection) -> Result<(), Error> {
    let mut parents = BTreeSet::new();
    for module in index.loadable.values() {
        if selection.kept.contains(&module.path) {
            continue;
        }
        let path = dir.join(&module.path);
        fs::remove_file(&path).at(&path)?;
        parents.extend(path.parent().map(Path::to_path_buf));
    }
    // Deepest first, so a directory whose children all went goes too.
    let mut candidates: BTreeSet<PathBuf> = BTreeSet::new();
    for parent in parents {
        candidates.extend(
            parent
                .ancestors()
                .take_while(|p| p.starts_with(dir) && *p != dir)
                .map(Path::to_path_buf),
        );
    }
    for candidate in candidates.iter().rev() {
        let empty = fs::read_dir(candidate).at(candidate)?.next().is_none();
        if empty {
            fs::remove_dir(candidate).at(candidate)?;
        }
    }
    Ok(())
}

/// `depmod -a <release>` inside the image, with the image's own kmod.
fn depmod(
    root: &Path,
    work: &Path,
    release: &str,
    runner: &dyn CommandRunner,
) -> Result<(), Error> {
    if !root.join("usr/sbin/depmod").exists() && !root.join("sbin/depmod").exists() {
        return Err(Error::Config {
            setting: "KernelModules",
            reason: format!(
                "kernel {release} has modules but the image has no depmod to index them: add \
                 the package kmod to Packages="
            ),
        });
    }
    let (sandbox, log) = Sandbox::over_image(root, work, "depmod.log")?;
    let mut command =
        SandboxCommand::new("depmod", ["-a", release], Place::Chroot { cwd: "/".into() });
    command.env = dpkg_environment(0);
    command.log = Some(log);
    runner.run(&sandbox, &command)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/net/netfilter/nf_tables.ko.xz: kernel/net/netfilter/nfnetlink.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/netfilter/nfnetlink.ko.xz:
kernel/lib/libcrc32c.ko.xz:
kernel/net/netfilter/nft_ct.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz kernel/net/netfilter/nf_tables.ko.xz kernel/net/netfilter/nfnetlink.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/netfilter/nf_conntrack.ko.xz: kernel/lib/libcrc32c.ko.xz
kernel/drivers/net/virtio_net.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/gpu/drm/drm.ko.xz:
kernel/crypto/crc32c_generic.ko.xz:
kernel/fs/fuse/fuse.ko.xz:
updates/dkms/extra_mod.ko:
";
    const SOFTDEP: &str = "# Soft dependencies extracted from modules themselves.\n\
        softdep nf_conntrack pre: crc32c_generic post: \n";
    const BUILTIN: &str = "kernel/fs/ext4/ext4.ko\nkernel/drivers/tty/serial/8250/8250.ko\n";
    const BUILTIN_MODINFO: &[u8] = b"ext4.softdep=pre: crc32c_generic\0ext4.license=GPL\0";

    fn index() -> ModuleIndex {
        ModuleIndex::parse(DEP, SOFTDEP, BUILTIN, BUILTIN_MODINFO).unwrap()
    }

    fn globs(items: &[&str]) -> Vec<ModuleFilter> {
        items
            .iter()
            .map(|g| ModuleFilter::from_glob_item(g).unwrap())
            .collect()
    }

    fn kept(selection: &Selection) -> Vec<&str> {
        selection.kept.iter().map(String::as_str).collect()
    }

    #[test]
    fn no_filter_keeps_every_module() {
        let selection = select("6.12", &index(), &[], &[]).unwrap();
        assert!(!selection.filtered);
        assert_eq!(selection.kept.len(), selection.total);
        assert_eq!(selection.total, 11);
    }

    #[test]
    fn a_name_keeps_the_module_and_its_dependency_closure() {
        // nft-ct (written with `_`) needs nf_conntrack, which soft-depends on crc32c_generic.
        let selection = select("6.12", &index(), &globs(&["nft_ct"]), &[]).unwrap();
        assert_eq!(
            kept(&selection),
            [
                "kernel/crypto/crc32c_generic.ko.xz",
                "kernel/lib/libcrc32c.ko.xz",
                "kernel/net/netfilter/nf_conntrack.ko.xz",
                "kernel/net/netfilter/nf_tables.ko.xz",
                "kernel/net/netfilter/nfnetlink.ko.xz",
                "kernel/net/netfilter/nft_ct.ko.xz",
            ]
        );
        assert!(selection.missing_dependencies.is_empty());
    }

    #[test]
    fn builtin_modules_bring_their_soft_dependencies() {
        // ext4 is built in and soft-depends on crc32c_generic; nothing else asked for.
        let selection = select("6.12", &index(), &globs(&["8250"]), &[]).unwrap();
        assert_eq!(kept(&selection), ["kernel/crypto/crc32c_generic.ko.xz"]);
    }

    #[test]
    fn paths_directories_and_the_last_matching_glob_decide() {
        let index = index();
        // A directory keeps all below it; the later negative glob wins for nf_tables only,
        // but nft_ct still needs it.
        let selection = select(
            "6.12",
            &index,
            &globs(&["net/netfilter/", "-nf_tables", "-nft_ct"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            kept(&selection),
            [
                "kernel/crypto/crc32c_generic.ko.xz",
                "kernel/lib/libcrc32c.ko.xz",
                "kernel/net/netfilter/nf_conntrack.ko.xz",
                "kernel/net/netfilter/nfnetlink.ko.xz",
            ]
        );
        // Rooted globs: below kernel/ or below the modules directory.
        let rooted = select("6.12", &index, &globs(&["/drivers/net/*"]), &[]).unwrap();
        assert!(rooted.kept.contains("kernel/drivers/net/virtio_net.ko.xz"));
        assert!(rooted.kept.contains("kernel/net/core/failover.ko.xz"));
        let updates = select("6.12", &index, &globs(&["/updates/"]), &[]).unwrap();
        assert!(updates.kept.contains("updates/dkms/extra_mod.ko"));
        assert_eq!(
            updates.kept.len(),
            2,
            "and crc32c_generic for the built-in ext4"
        );
        // A glob over basenames with a class.
        let class = select("6.12", &index, &globs(&["nf[-t]*", "-nft*"]), &[]).unwrap();
        assert!(
            class
                .kept
                .contains("kernel/net/netfilter/nf_conntrack.ko.xz")
        );
        assert!(!class.kept.contains("kernel/net/netfilter/nft_ct.ko.xz"));
    }

    #[test]
    fn regular_expressions_include_and_exclude_as_mkosi_does() {
        let index = index();
        let include = [ModuleFilter::from_regex_item("^fs/").unwrap()];
        let selection = select("6.12", &index, &include, &[]).unwrap();
        assert_eq!(
            kept(&selection),
            [
                "kernel/crypto/crc32c_generic.ko.xz",
                "kernel/fs/fuse/fuse.ko.xz"
            ]
        );
        // Exclusion alone keeps everything else.
        let exclude: Vec<ModuleRegex> = vec!["^drivers/gpu/".parse().unwrap()];
        let selection = select("6.12", &index, &[], &exclude).unwrap();
        assert_eq!(selection.kept.len(), 10);
        assert!(!selection.kept.contains("kernel/drivers/gpu/drm/drm.ko.xz"));
    }

    #[test]
    fn asking_for_what_the_kernel_lacks_is_an_error() {
        let index = index();
        let err = select("6.12", &index, &globs(&["nf_tablez"]), &[]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`nf_tablez` matches no module of kernel 6.12"),
            "{text}"
        );
        // A built-in module is there: asking for it is fine.
        select("6.12", &index, &globs(&["ext4"]), &[]).unwrap();
        for keyword in ["default", "host"] {
            let err = select("6.12", &index, &globs(&[keyword]), &[]).unwrap_err();
            assert!(err.to_string().contains(&format!("`{keyword}`")), "{err}");
        }
        // A negative glob asks for nothing.
        select("6.12", &index, &globs(&["-nothing_like_this"]), &[]).unwrap();
    }

    #[test]
    fn missing_dependencies_are_reported() {
        let index = ModuleIndex::parse("kernel/a.ko: kernel/b.ko\n", "", "", b"").unwrap();
        let selection = select("6.12", &index, &globs(&["a"]), &[]).unwrap();
        assert_eq!(selection.missing_dependencies, ["a -> b"]);
        assert_eq!(kept(&selection), ["kernel/a.ko"]);
    }

    #[test]
    fn pruning_and_the_final_check() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let modules = root.join(MODULES_DIR).join("6.12");
        let index = index();
        for module in index.loadable.values() {
            let path = modules.join(&module.path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"").unwrap();
        }
        let selection = select("6.12", &index, &globs(&["virtio_net"]), &[]).unwrap();
        remove_unselected(&modules, &index, &selection).unwrap();
        assert!(modules.join("kernel/drivers/net/virtio_net.ko.xz").exists());
        assert!(modules.join("kernel/net/core/failover.ko.xz").exists());
        assert!(
            !modules.join("kernel/drivers/gpu").exists(),
            "emptied directories go"
        );
        assert!(!modules.join("updates").exists());
        verify(root, std::slice::from_ref(&selection)).unwrap();

        // A later script deletes the modules directory: the kernel is still in /boot.
        fs::create_dir_all(root.join("boot")).unwrap();
        fs::write(root.join("boot/vmlinuz-6.12"), b"").unwrap();
        fs::remove_dir_all(root.join(MODULES_DIR)).unwrap();
        let err = verify(root, std::slice::from_ref(&selection)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kernel 6.12: 3 of the 3 modules"), "{text}");
        assert!(
            text.contains("first: kernel/crypto/crc32c_generic.ko.xz"),
            "{text}"
        );
        // Without the kernel there is nothing to check.
        fs::remove_file(root.join("boot/vmlinuz-6.12")).unwrap();
        verify(root, &[selection]).unwrap();
    }
}
