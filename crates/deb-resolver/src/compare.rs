//! This resolver side by side with apt, on the very same verified indexes: for tests and
//! benchmarks, never for a build.
//!
//! Like [`fetch`](mod@crate::fetch), this module does I/O: it writes a directory and runs the
//! host's `apt-get`.
//!
//! - [`AptMirror`]: a `file:` copy of a [`LoadedArchive`] (the signed `InRelease` files as
//!   served and the index files from the [`Cache`], so apt checks the same signatures and
//!   hashes), with an apt configuration, state and dpkg status of its own; the host's apt
//!   configuration is not read. [`AptMirror::simulate`] runs `apt-get install --simulate`.
//! - [`cached_indexes`] and [`parse_indexes`]: the `Packages` texts of a loaded archive, read
//!   back from the cache, and parsed again into a [`Universe`] (what parse throughput is
//!   measured on).
//! - [`apt_request`], [`versions`], [`differences`]: a request in apt's words, and the
//!   comparison of two selections.
//! - [`bench_resolve`]: parse throughput, solve time and apt's time for the image request of a
//!   configuration, measured in one run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use config_model::{ImageConfig, PackageSpec};

use crate::archive::ArchiveSpec;
use crate::error::Error;
use crate::fetch::{Cache, LoadedArchive};
use crate::solver::{BaseSet, Request, RootReason, Solution, solve};
use crate::universe::{Origin, PackageId, Universe};
use build_vocab::AtPath;
use build_vocab::PathError;
use build_vocab::debian::deb822::paragraphs;

/// One verified `Packages` index of a loaded archive, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexText {
    /// The suite it belongs to.
    pub suite: String,
    /// The component (`main`).
    pub component: String,
    /// The suite's pin priority, as the load used it.
    pub priority: i32,
    /// The index.
    pub text: String,
}

/// The uncompressed `Packages` indexes of `loaded`, read back from `cache` (verified again
/// there), in load order.
pub fn cached_indexes(loaded: &LoadedArchive, cache: &Cache) -> Result<Vec<IndexText>, Error> {
    let mut indexes = Vec::new();
    for suite in &loaded.suites {
        for (path, sha, size) in suite
            .indexes
            .iter()
            .filter(|(p, ..)| p.ends_with("Packages"))
        {
            let origin = format!("{} {path} (cache)", suite.suite);
            let gone = || {
                let missing = std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{origin} is no longer in the cache"),
                );
                Error::from(PathError::new(cache.path_of(sha), missing))
            };
            let data = cache.read(sha, Some(*size))?.ok_or_else(gone)?;
            let text = String::from_utf8(data).map_err(|_| Error::Parse {
                origin: origin.clone(),
                line: 0,
                message: "index is not UTF-8".into(),
            })?;
            let component = path.split('/').next().unwrap_or_default().to_owned();
            let priority = loaded
                .universe
                .origins()
                .find(|(_, o)| o.suite == suite.suite && o.component == component)
                .map_or(500, |(_, o)| o.priority);
            indexes.push(IndexText {
                suite: suite.suite.clone(),
                component,
                priority,
                text,
            });
        }
    }
    Ok(indexes)
}

/// Parses `indexes` into a new universe, as [`crate::fetch::load_archive`] does after
/// verifying them.
pub fn parse_indexes(native_arch: &str, indexes: &[IndexText]) -> Result<Universe, Error> {
    let mut universe = Universe::new(native_arch);
    for index in indexes {
        let origin = universe.add_origin(Origin {
            suite: index.suite.clone(),
            component: index.component.clone(),
            priority: index.priority,
        });
        universe
            .add_packages_index(&index.text, origin)
            .map_err(|e| e.with_origin(&format!("{} {}", index.suite, index.component)))?;
    }
    Ok(universe)
}

/// The base packages of a solution (its roots that are there because of the base set).
pub fn base_packages(solution: &Solution) -> Vec<PackageId> {
    solution
        .roots
        .iter()
        .filter(|(_, reason)| *reason == RootReason::Base)
        .map(|(id, _)| *id)
        .collect()
}

/// What apt is asked for: the base set by name (as mmdebstrap names it to apt), then the
/// requested packages as written (`name`, `name/suite`, `name=version`).
pub fn apt_request(universe: &Universe, base: &[PackageId], specs: &[PackageSpec]) -> Vec<String> {
    let mut request: Vec<String> = base
        .iter()
        .map(|&id| universe.name(universe.package(id).name).to_owned())
        .collect();
    request.extend(specs.iter().map(ToString::to_string));
    request
}

/// `name -> version` of a set of packages.
pub fn versions(universe: &Universe, ids: &[PackageId]) -> BTreeMap<String, String> {
    ids.iter()
        .map(|&id| {
            let package = universe.package(id);
            (
                universe.name(package.name).to_owned(),
                package.version.to_string(),
            )
        })
        .collect()
}

/// The differences between two selections, one line each (`only ours: name version`,
/// `name: ours v1, apt v2`, `only apt: name version`), by name.
pub fn differences(ours: &BTreeMap<String, String>, apt: &BTreeMap<String, String>) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, version) in ours {
        match apt.get(name) {
            None => lines.push(format!("only ours: {name} {version}")),
            Some(theirs) if theirs != version => {
                lines.push(format!("{name}: ours {version}, apt {theirs}"));
            }
            Some(_) => {}
        }
    }
    for (name, version) in apt {
        if !ours.contains_key(name) {
            lines.push(format!("only apt: {name} {version}"));
        }
    }
    lines
}

/// What `apt-get install --simulate` selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// `name -> version` of every package apt would install.
    pub selected: BTreeMap<String, String>,
    /// How long `apt-get` ran.
    pub elapsed: Duration,
}

/// An apt of its own over a `file:` copy of a loaded archive (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptMirror {
    root: PathBuf,
}

impl AptMirror {
    /// Writes the archive copy, the apt configuration and an empty dpkg status under `root`
    /// (created if needed; existing files are overwritten), then runs `apt-get update`.
    pub fn create(
        root: &Path,
        spec: &ArchiveSpec,
        loaded: &LoadedArchive,
        cache: &Cache,
    ) -> Result<Self, Error> {
        let write = |path: &Path, data: &[u8]| -> Result<(), Error> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).at(parent)?;
            }
            Ok(std::fs::write(path, data).at(path)?)
        };
        let archive = root.join("archive");
        let mut sources = String::new();
        for suite in &loaded.suites {
            let dist = archive.join("dists").join(&suite.suite);
            write(&dist.join("InRelease"), &suite.inrelease)?;
            for (path, sha, size) in &suite.indexes {
                let gone = || {
                    let missing = std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{} {path} is no longer in the cache", suite.suite),
                    );
                    Error::from(PathError::new(cache.path_of(sha), missing))
                };
                let data = cache.read(sha, Some(*size))?.ok_or_else(gone)?;
                write(&dist.join(path), &data)?;
            }
            sources.push_str(&format!(
                "deb [signed-by={}] file:{} {} {}\n",
                spec.keyring.display(),
                archive.display(),
                suite.suite,
                spec.components.join(" ")
            ));
        }
        for sub in [
            "etc/apt.conf.d",
            "etc/preferences.d",
            "etc/sources.list.d",
            "etc/trusted.gpg.d",
            "state/lists/partial",
            "cache/archives/partial",
            "log",
        ] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).at(&dir)?;
        }
        write(&root.join("etc/sources.list"), sources.as_bytes())?;
        write(&root.join("status"), b"")?;
        write(
            &root.join("apt.conf"),
            apt_conf(root, &spec.architecture).as_bytes(),
        )?;
        let apt = Self {
            root: root.to_owned(),
        };
        apt.run(&["update"])?;
        Ok(apt)
    }

    /// The directory holding the copy, the configuration and the state.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs `apt-get -q <args>` with this configuration; its standard output on success.
    pub fn run(&self, args: &[&str]) -> Result<String, Error> {
        let output = Command::new("apt-get")
            .env("APT_CONFIG", self.root.join("apt.conf"))
            .env("LC_ALL", "C.UTF-8")
            .arg("-q")
            .args(args)
            .output()
            .at("apt-get")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(Error::Command {
                command: format!("apt-get {}", args.join(" ")),
                output: format!(
                    "{}\n{stdout}\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        Ok(stdout)
    }

    /// `apt-get install --simulate` of `packages`: what apt selects, and how long it took.
    pub fn simulate(
        &self,
        packages: &[String],
        with_recommends: bool,
    ) -> Result<Simulation, Error> {
        let recommends = format!("APT::Install-Recommends={with_recommends}");
        let mut args = vec!["-o", &recommends, "install", "--simulate", "--yes"];
        args.extend(packages.iter().map(String::as_str));
        let start = Instant::now();
        let stdout = self.run(&args)?;
        let elapsed = start.elapsed();
        Ok(Simulation {
            selected: parse_simulation(&stdout),
            elapsed,
        })
    }

    /// Makes apt see `packages` (`name -> version`) as installed: their stanzas from the
    /// indexes, with an installed status, written as dpkg's status file.
    pub fn set_installed(
        &self,
        indexes: &[IndexText],
        packages: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let status = installed_status(indexes, packages)?;
        let path = self.root.join("status");
        Ok(std::fs::write(&path, status).at(&path)?)
    }
}

/// An apt configuration that reads nothing of the host's: every directory under `root`, one
/// architecture, no recommends, uncompressed indexes, no locking, no sandbox user.
pub fn apt_conf(root: &Path, architecture: &str) -> String {
    let r = root.display();
    format!(
        "Dir \"/\";\n\
         Dir::Etc \"{r}/etc/\";\n\
         Dir::Etc::Main \"{r}/etc/apt.conf\";\n\
         Dir::Etc::Parts \"{r}/etc/apt.conf.d/\";\n\
         Dir::Etc::SourceList \"{r}/etc/sources.list\";\n\
         Dir::Etc::SourceParts \"{r}/etc/sources.list.d/\";\n\
         Dir::Etc::Preferences \"{r}/etc/preferences\";\n\
         Dir::Etc::PreferencesParts \"{r}/etc/preferences.d/\";\n\
         Dir::Etc::TrustedParts \"{r}/etc/trusted.gpg.d/\";\n\
         Dir::State \"{r}/state/\";\n\
         Dir::State::status \"{r}/status\";\n\
         Dir::Cache \"{r}/cache/\";\n\
         Dir::Log \"{r}/log/\";\n\
         APT::Architecture \"{architecture}\";\n\
         APT::Architectures {{ \"{architecture}\"; }};\n\
         APT::Install-Recommends \"false\";\n\
         APT::Install-Suggests \"false\";\n\
         APT::Sandbox::User \"root\";\n\
         Acquire::Languages \"none\";\n\
         Acquire::By-Hash \"no\";\n\
         Acquire::CompressionTypes::Order {{ \"uncompressed\"; }};\n\
         Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled \"false\";\n\
         Debug::NoLocking \"true\";\n"
    )
}

/// `name -> version` from the `Inst name (version ...)` lines of `apt-get --simulate`.
pub fn parse_simulation(stdout: &str) -> BTreeMap<String, String> {
    let mut selected = BTreeMap::new();
    for line in stdout.lines() {
        // Inst libc6 (2.41-12 Debian:13.1/stable [amd64])
        if let Some(rest) = line.strip_prefix("Inst ") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some(version)) = (words.next(), words.next()) {
                selected.insert(name.to_owned(), version.trim_start_matches('(').to_owned());
            }
        }
    }
    selected
}

/// A dpkg status file in which exactly `packages` (`name -> version`) are installed, from
/// their stanzas in `indexes` (without the archive-only fields).
pub fn installed_status(
    indexes: &[IndexText],
    packages: &BTreeMap<String, String>,
) -> Result<String, Error> {
    let mut status = String::new();
    let mut written = BTreeSet::new();
    for index in indexes {
        for paragraph in paragraphs(&index.text) {
            let paragraph = paragraph?;
            let (Some(name), Some(version)) = (paragraph.get("Package"), paragraph.get("Version"))
            else {
                continue;
            };
            if packages.get(name).map(String::as_str) != Some(version)
                || !written.insert(name.to_owned())
            {
                continue;
            }
            for field in &paragraph.fields {
                if !matches!(
                    field.name,
                    "Filename" | "Size" | "SHA256" | "MD5sum" | "Description-md5"
                ) {
                    status.push_str(&format!("{}: {}\n", field.name, field.value));
                }
            }
            status.push_str("Status: install ok installed\n\n");
        }
    }
    if let Some((name, version)) = packages.iter().find(|(name, _)| !written.contains(*name)) {
        return Err(Error::NotInSet {
            name: name.clone(),
            message: format!("{version} is in no index, so it cannot be marked installed"),
        });
    }
    Ok(status)
}

/// The measurements of [`bench_resolve`]: each time is the best of its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveBench {
    /// Bytes of uncompressed `Packages` text parsed.
    pub index_bytes: u64,
    /// Indexes parsed.
    pub indexes: usize,
    /// Packages in the parsed universe.
    pub universe_packages: usize,
    /// Parsing every index into a universe.
    pub parse: Duration,
    /// Solving the image request.
    pub solve: Duration,
    /// Packages in our solution.
    pub selected: usize,
    /// `apt-get install --simulate` of the same request on the same indexes (warm cache:
    /// apt's `pkgcache.bin` exists).
    pub apt: Duration,
    /// Packages apt selected.
    pub apt_selected: usize,
    /// Where the two selections differ ([`differences`]); empty when they agree.
    pub differences: Vec<String>,
}

impl ResolveBench {
    /// Parse throughput in MB/s (10^6 bytes per second).
    pub fn parse_mb_per_s(&self) -> f64 {
        self.index_bytes as f64 / 1e6 / self.parse.as_secs_f64()
    }

    /// apt's time over our solve time.
    pub fn apt_over_solve(&self) -> f64 {
        self.apt.as_secs_f64() / self.solve.as_secs_f64()
    }

    /// apt's time over our parse + solve time (apt's own time includes reading its cache).
    pub fn apt_over_parse_and_solve(&self) -> f64 {
        self.apt.as_secs_f64() / (self.parse + self.solve).as_secs_f64()
    }
}

/// Measures resolving the image request of `config` (`Packages=` plus `base`, with the
/// configuration's `WithRecommends=`) against apt on the indexes of `loaded`: parsing every
/// index again (best of `runs`), solving (best of `2 * runs`), and `apt-get install
/// --simulate` of the same request in an [`AptMirror`] under `apt_dir` (best of `runs` after
/// one warm-up run). The two selections are compared too.
pub fn bench_resolve(
    config: &ImageConfig,
    spec: &ArchiveSpec,
    loaded: &LoadedArchive,
    cache: &Cache,
    base: BaseSet,
    apt_dir: &Path,
    runs: usize,
) -> Result<ResolveBench, Error> {
    let runs = runs.max(1);
    let indexes = cached_indexes(loaded, cache)?;
    let index_bytes = indexes.iter().map(|i| i.text.len() as u64).sum();
    let (parse, universe) = best_of(runs, || parse_indexes(&spec.architecture, &indexes))?;
    let with_recommends = config.content.with_recommends.unwrap_or(false);
    let request = Request {
        packages: config.content.packages.clone(),
        base,
        with_recommends,
        fixed: Vec::new(),
    };
    let (solve_time, solution) = best_of(2 * runs, || {
        solve(&universe, &request, "the image packages (Packages=)")
    })?;
    let apt = AptMirror::create(apt_dir, spec, loaded, cache)?;
    let names = apt_request(
        &universe,
        &base_packages(&solution),
        &config.content.packages,
    );
    apt.simulate(&names, with_recommends)?;
    let (_, simulation) = best_of(runs, || apt.simulate(&names, with_recommends))?;
    let apt_time = simulation.elapsed;
    let ours = versions(&universe, &solution.packages);
    Ok(ResolveBench {
        index_bytes,
        indexes: indexes.len(),
        universe_packages: universe.len(),
        parse,
        solve: solve_time,
        selected: solution.packages.len(),
        apt: apt_time,
        apt_selected: simulation.selected.len(),
        differences: differences(&ours, &simulation.selected),
    })
}

/// Runs `body` `runs` times; the shortest time and the last value.
fn best_of<T>(
    runs: usize,
    mut body: impl FnMut() -> Result<T, Error>,
) -> Result<(Duration, T), Error> {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let value = body()?;
        best = best.min(start.elapsed());
        last = Some(value);
    }
    Ok((best, last.expect("at least one run")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_output_is_read() {
        let stdout = "Reading package lists...\n\
                      Inst libc6 (2.41-12 Debian:13.1/stable [amd64])\n\
                      Inst bash (5.2.37-2+b5 Debian:13.1/stable [amd64])\n\
                      Conf libc6 (2.41-12 Debian:13.1/stable [amd64])\n";
        let selected = parse_simulation(stdout);
        assert_eq!(selected.len(), 2);
        assert_eq!(selected["libc6"], "2.41-12");
        assert_eq!(selected["bash"], "5.2.37-2+b5");
    }

    #[test]
    fn differences_are_named() {
        let ours: BTreeMap<String, String> = [("a", "1"), ("b", "1"), ("c", "2")]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let apt: BTreeMap<String, String> = [("b", "1"), ("c", "3"), ("d", "1")]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            differences(&ours, &apt),
            ["only ours: a 1", "c: ours 2, apt 3", "only apt: d 1"]
        );
    }

    #[test]
    fn installed_status_keeps_control_fields_and_refuses_unknown_packages() {
        let index = IndexText {
            suite: "trixie".into(),
            component: "main".into(),
            priority: 500,
            text: "Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: 3\n\n\
                   Package: a\nVersion: 2\nArchitecture: all\n"
                .into(),
        };
        let wanted: BTreeMap<String, String> = [("a".to_owned(), "2".to_owned())].into();
        let status = installed_status(std::slice::from_ref(&index), &wanted).unwrap();
        assert_eq!(
            status,
            "Package: a\nVersion: 2\nArchitecture: all\nStatus: install ok installed\n\n"
        );
        let missing: BTreeMap<String, String> = [("b".to_owned(), "1".to_owned())].into();
        let err = installed_status(&[index], &missing).unwrap_err();
        assert!(err.to_string().contains("`b`"), "{err}");
    }

    #[test]
    fn apt_conf_reads_nothing_of_the_host() {
        let conf = apt_conf(Path::new("/tmp/x"), "amd64");
        for line in conf.lines().filter(|l| l.starts_with("Dir::")) {
            assert!(line.contains("\"/tmp/x/"), "{line}");
        }
        assert!(conf.contains("APT::Architecture \"amd64\";"));
    }
}
