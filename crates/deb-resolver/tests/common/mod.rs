//! Shared by the network tests and the `bench_resolve` example: the L1 configuration read
//! with config-model, the archive loaded through the shared cache, and an apt with its own
//! configuration and state over a `file:` copy of the same verified indexes.

#![allow(dead_code, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use config_model::{Host, ImageConfig, LoadOptions, PackageSpec};
use deb_resolver::fetch::{self, LoadedArchive, NoProgress};
use deb_resolver::universe::Universe;
use deb_resolver::{ArchiveOptions, ArchiveSpec, Cache, FetchOptions};

pub fn offline() -> bool {
    if std::env::var_os("DEB_RESOLVER_OFFLINE").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: DEB_RESOLVER_OFFLINE=1");
        return true;
    }
    false
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The configuration of an mkosi tree with one include. `Snapshot=` is cleared: the snapshot
/// service is not reachable from here, so the current archive is read through the host's
/// mirror.
pub fn config_from(directory: &Path, include: &str) -> ImageConfig {
    let loaded = config_model::load(&LoadOptions {
        directory: directory.to_owned(),
        includes: vec![include.into()],
        overrides: Vec::new(),
        host: Host::detect(),
    })
    .expect("the configuration loads");
    let mut config = loaded.config;
    config.distribution.snapshot = None;
    config
}

/// The Flashbox L1 image configuration from the fixtures.
pub fn l1_config() -> ImageConfig {
    config_from(&fixtures(), "images/flashbox-l1.conf")
}

pub fn archive_options() -> ArchiveOptions {
    let mirror = fetch::host_apt_mirror(Path::new("/"))
        .expect("apt sources readable")
        .expect("the host's apt configuration names a mirror");
    ArchiveOptions {
        host_mirror: Some(mirror),
        ..ArchiveOptions::default()
    }
}

pub fn cache() -> Cache {
    Cache::new(Cache::default_root().expect("HOME or XDG_CACHE_HOME is set"))
}

pub struct Loaded {
    pub config: ImageConfig,
    pub spec: ArchiveSpec,
    pub archive: LoadedArchive,
    pub load_time: Duration,
}

pub fn load() -> Loaded {
    load_config(l1_config())
}

/// Loads the archive of a configuration through the shared cache.
pub fn load_config(config: ImageConfig) -> Loaded {
    let spec = ArchiveSpec::from_config(&config, &archive_options()).unwrap();
    let start = Instant::now();
    let load = || {
        fetch::load_archive(&spec, &[], &cache(), &FetchOptions::at(now()), &NoProgress).unwrap()
    };
    let mut archive = load();
    // apt reads the compressed files; they are cached when downloaded. A cache that has only
    // the uncompressed index (from an older run) is made to download once more.
    let mut missing = false;
    for suite in &archive.suites {
        if suite.indexes.len() == 1 {
            let (_, sha, _) = &suite.indexes[0];
            std::fs::remove_file(cache().path_of(sha)).unwrap();
            missing = true;
        }
    }
    if missing {
        archive = load();
    }
    Loaded {
        config,
        spec,
        archive,
        load_time: start.elapsed(),
    }
}

/// `name -> version` of a solution.
pub fn versions(
    universe: &Universe,
    ids: &[deb_resolver::universe::PackageId],
) -> BTreeMap<String, String> {
    ids.iter()
        .map(|&id| {
            let p = universe.package(id);
            (universe.name(p.name).to_owned(), p.version.to_string())
        })
        .collect()
}

/// An apt with its own configuration and state, over a `file:` copy of the verified indexes.
pub struct Apt {
    root: PathBuf,
    _guard: Option<tempfile::TempDir>,
}

impl Apt {
    pub fn new(loaded: &Loaded) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = &dir.path().to_owned();
        let archive = root.join("archive");
        let cache = cache();
        let mut sources = String::new();
        for suite in &loaded.archive.suites {
            let dist = archive.join("dists").join(&suite.suite);
            std::fs::create_dir_all(&dist).unwrap();
            std::fs::write(dist.join("InRelease"), &suite.inrelease).unwrap();
            for (path, sha, size) in &suite.indexes {
                let data = cache.read(sha, Some(*size)).unwrap().expect("index cached");
                let target = dist.join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(target, data).unwrap();
            }
            sources.push_str(&format!(
                "deb [signed-by={}] file:{} {} {}\n",
                loaded.spec.keyring.display(),
                archive.display(),
                suite.suite,
                loaded.spec.components.join(" ")
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
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("etc/sources.list"), sources).unwrap();
        std::fs::write(root.join("status"), "").unwrap();
        let r = root.display();
        let conf = format!(
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
             APT::Architecture \"{arch}\";\n\
             APT::Architectures {{ \"{arch}\"; }};\n\
             APT::Install-Recommends \"false\";\n\
             APT::Install-Suggests \"false\";\n\
             APT::Sandbox::User \"root\";\n\
             Acquire::Languages \"none\";\n\
             Acquire::By-Hash \"no\";\n\
             Acquire::CompressionTypes::Order {{ \"uncompressed\"; }};\n\
             Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled \"false\";\n\
             Debug::NoLocking \"true\";\n",
            arch = loaded.spec.architecture
        );
        std::fs::write(root.join("apt.conf"), conf).unwrap();
        let apt = if std::env::var_os("DEB_RESOLVER_KEEP_APT").is_some() {
            let kept = dir.keep();
            eprintln!("apt directory kept: {}", kept.display());
            Self {
                root: kept,
                _guard: None,
            }
        } else {
            Self {
                root: root.to_owned(),
                _guard: Some(dir),
            }
        };
        let out = apt.run(&["update"]);
        assert!(
            out.status.success(),
            "apt-get update failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        apt
    }

    /// Makes apt see `packages` (`name -> version`) as installed: their stanzas from the
    /// indexes, with an installed status, as dpkg's status file.
    pub fn set_installed(&self, loaded: &Loaded, packages: &BTreeMap<String, String>) {
        let cache = cache();
        let mut status = String::new();
        let mut written = std::collections::BTreeSet::new();
        for suite in &loaded.archive.suites {
            for (path, sha, size) in suite
                .indexes
                .iter()
                .filter(|(path, ..)| path.ends_with("Packages"))
            {
                let _ = path;
                let data = cache.read(sha, Some(*size)).unwrap().unwrap();
                let text = String::from_utf8(data).unwrap();
                for paragraph in deb_resolver::control::paragraphs(&text) {
                    let paragraph = paragraph.unwrap();
                    let name = paragraph.get("Package").unwrap();
                    let version = paragraph.get("Version").unwrap();
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
        }
        assert_eq!(
            written.len(),
            packages.len(),
            "every installed package has a stanza"
        );
        std::fs::write(self.root.join("status"), status).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("apt-get")
            .env("APT_CONFIG", self.root.join("apt.conf"))
            .env("LC_ALL", "C.UTF-8")
            .args(["-q", "-o", "APT::Install-Recommends=false"])
            .args(args)
            .output()
            .expect("apt-get runs")
    }

    /// `name -> version` that `apt-get install --simulate` selects, and its run time.
    pub fn simulate(&self, packages: &[String]) -> (BTreeMap<String, String>, Duration) {
        self.try_simulate(packages)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Apt::simulate`], or apt's explanation of why it cannot.
    pub fn try_simulate(
        &self,
        packages: &[String],
    ) -> Result<(BTreeMap<String, String>, Duration), String> {
        let mut args = vec!["install", "--simulate", "--yes"];
        args.extend(packages.iter().map(String::as_str));
        let start = Instant::now();
        let out = self.run(&args);
        let elapsed = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "apt-get install --simulate failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut selected = BTreeMap::new();
        for line in stdout.lines() {
            // Inst libc6 (2.41-12 Debian:13.1/stable [amd64])
            if let Some(rest) = line.strip_prefix("Inst ") {
                let mut words = rest.split_whitespace();
                let name = words.next().unwrap().to_owned();
                let version = words.next().unwrap().trim_start_matches('(').to_owned();
                selected.insert(name, version);
            }
        }
        Ok((selected, elapsed))
    }
}

/// What apt is asked for: the base set (as mmdebstrap names it to apt) and the packages.
pub fn apt_request(
    universe: &Universe,
    base: &[deb_resolver::universe::PackageId],
    specs: &[&PackageSpec],
) -> Vec<String> {
    let mut request: Vec<String> = base
        .iter()
        .map(|&id| universe.name(universe.package(id).name).to_owned())
        .collect();
    request.extend(specs.iter().map(|s| s.to_string()));
    request
}
