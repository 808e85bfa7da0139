//! From an [`ImageConfig`] to a [`Lock`]: the image set (`Packages=` and the base set) and
//! the build overlay (`BuildPackages=` on top of the image, with the image's packages fixed),
//! and the lock-or-resolve decision.
//!
//! [`resolve_loaded`] is pure (a loaded archive in, a [`Resolution`] out); [`resolve`] and
//! [`resolve_with_lock`] add the I/O of [`crate::fetch::load_archive`].
//! `VolatilePackages=` are not resolved here: they exist only after the build scripts ran.

use std::collections::HashSet;

use config_model::ImageConfig;

use crate::archive::{ArchiveOptions, ArchiveSpec};
use crate::error::Error;
use crate::fetch::{self, Cache, FetchOptions, LoadedArchive, Progress};
use crate::lock::{Lock, LockRequest, LockedPackage, PackageSet};
use crate::solver::{BaseSet, Request, Solution, Why, solve};
use crate::universe::{PackageArch, PackageId, Universe};
use build_vocab::{Architecture, PackageName};

/// Everything [`resolve`] needs besides the configuration.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Mirror fallback, snapshot template, security archive, keyring.
    pub archive: ArchiveOptions,
    /// Time, parallelism, retries.
    pub fetch: FetchOptions,
    /// The base set (mmdebstrap's `essential` by default).
    pub base: BaseSet,
    /// What the root already has before anything is installed: the packages of its
    /// `BaseTrees=` (their dpkg database). They are kept exactly as they are, the base set is
    /// not added again, and the lock lists only what is installed on top.
    pub installed: Vec<build_vocab::PackageId>,
}

/// A resolution with the data behind it (for `why` and reports).
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The lock.
    pub lock: Lock,
    /// The image set.
    pub image: Solution,
    /// The build overlay set (a superset of the image).
    pub build: Solution,
    /// The archive it was resolved from.
    pub loaded: LoadedArchive,
}

impl Resolution {
    /// Why `name` is in a set: the dependency chain from a requested or base package.
    pub fn why(&self, name: &str, set: PackageSet) -> Result<Why, Error> {
        let solution = match set {
            PackageSet::Image => &self.image,
            PackageSet::Build => &self.build,
        };
        solution.why(&self.loaded.universe, name)
    }
}

/// The normalised request of a configuration (what a lock records and is checked against).
pub fn lock_request(
    config: &ImageConfig,
    spec: &ArchiveSpec,
    base: BaseSet,
    local_debs: &[String],
    installed: &[build_vocab::PackageId],
) -> LockRequest {
    let sorted = |specs: &[config_model::PackageSpec]| {
        let mut items: Vec<String> = specs.iter().map(ToString::to_string).collect();
        items.sort();
        items.dedup();
        items
    };
    let mut local_debs = local_debs.to_vec();
    local_debs.sort();
    let mut installed: Vec<String> = installed.iter().map(ToString::to_string).collect();
    installed.sort();
    LockRequest {
        hash: build_vocab::Sha256([0; 32]),
        release: spec.release.clone(),
        architecture: spec.architecture.clone(),
        snapshot: spec.snapshot.clone(),
        suites: spec.suites.iter().map(|s| s.suite.clone()).collect(),
        components: spec.components.clone(),
        base,
        with_recommends: config.content.with_recommends.unwrap_or(false),
        packages: sorted(&config.content.packages),
        build_packages: sorted(&config.content.build_packages),
        local_debs,
        installed,
    }
    .with_hash()
}

/// Resolves the image and build sets of `config` over an already loaded archive.
pub fn resolve_loaded(
    config: &ImageConfig,
    spec: &ArchiveSpec,
    loaded: LoadedArchive,
    base: BaseSet,
    installed: &[build_vocab::PackageId],
) -> Result<Resolution, Error> {
    let universe = &loaded.universe;
    let with_recommends = config.content.with_recommends.unwrap_or(false);
    let on_base = installed_ids(universe, installed)?;
    let base_of_request = base;
    // On a base tree the base set is whatever the base has.
    let base = if on_base.is_empty() {
        base
    } else {
        BaseSet::None
    };
    let image_request = Request {
        packages: config.content.packages.clone(),
        base,
        with_recommends,
        fixed: on_base.clone(),
    };
    let image = solve(universe, &image_request, "the image packages (Packages=)")?;
    let build_request = Request {
        packages: config.content.build_packages.clone(),
        base,
        with_recommends,
        fixed: image.packages.clone(),
    };
    let build = solve(
        universe,
        &build_request,
        "the build packages (BuildPackages=, on top of the image)",
    )?;
    let in_image: HashSet<PackageId> = image.packages.iter().copied().collect();
    let in_base: HashSet<PackageId> = on_base.into_iter().collect();
    let mut packages = Vec::with_capacity(build.packages.len());
    for &id in build.packages.iter().filter(|id| !in_base.contains(id)) {
        let set = if in_image.contains(&id) {
            PackageSet::Image
        } else {
            PackageSet::Build
        };
        packages.push(locked_package(universe, id, set)?);
    }
    let request = lock_request(config, spec, base_of_request, &loaded.local_debs, installed);
    let lock = Lock::new(request, loaded.sources.clone(), packages);
    Ok(Resolution {
        lock,
        image,
        build,
        loaded,
    })
}

/// The archive's packages that are exactly the `installed` ones (name, version and
/// architecture): a base tree built from another archive state cannot be extended.
fn installed_ids(
    universe: &Universe,
    installed: &[build_vocab::PackageId],
) -> Result<Vec<PackageId>, Error> {
    installed
        .iter()
        .map(|wanted| {
            universe
                .lookup(wanted.name.as_str())
                .and_then(|name| {
                    universe.packages_named(name).iter().copied().find(|&id| {
                        let package = universe.package(id);
                        let arch = match package.arch {
                            PackageArch::All => "all",
                            PackageArch::Native => universe.native_arch(),
                        };
                        package.version == wanted.version && arch == wanted.architecture.as_str()
                    })
                })
                .ok_or_else(|| Error::InstalledNotInArchive {
                    package: wanted.to_string(),
                })
        })
        .collect()
}

fn locked_package(
    universe: &Universe,
    id: PackageId,
    set: PackageSet,
) -> Result<LockedPackage, Error> {
    let package = universe.package(id);
    let name = universe.name(package.name);
    let origin = universe.origin(package.origin);
    let sha256 = package.sha256.ok_or_else(|| Error::Parse {
        origin: format!("{} {}", origin.suite, origin.component),
        line: 0,
        message: format!("package `{name}` {} has no SHA256", package.version),
    })?;
    if package.filename.is_empty() {
        return Err(Error::Parse {
            origin: format!("{} {}", origin.suite, origin.component),
            line: 0,
            message: format!("package `{name}` {} has no Filename", package.version),
        });
    }
    Ok(LockedPackage {
        name: PackageName::new(name)?,
        version: package.version.clone(),
        architecture: Architecture::new(match package.arch {
            PackageArch::All => "all",
            PackageArch::Native => universe.native_arch(),
        })?,
        suite: origin.suite.clone(),
        path: package.filename.to_string(),
        size: package.size,
        sha256,
        set,
    })
}

/// Reads the archive and resolves `config`.
pub fn resolve(
    config: &ImageConfig,
    options: &ResolveOptions,
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<Resolution, Error> {
    let spec = ArchiveSpec::from_config(config, &options.archive)?;
    let loaded = fetch::load_archive(
        &spec,
        &config.content.package_directories,
        cache,
        &options.fetch,
        progress,
    )?;
    resolve_loaded(config, &spec, loaded, options.base, &options.installed)
}

/// How an existing lock is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Use the lock if it matches the request, else resolve again.
    Update,
    /// Use the lock; refuse (with the stale entries) if it does not match (`--locked`).
    Locked,
}

/// The result of [`resolve_with_lock`].
#[derive(Debug, Clone)]
pub struct LockOutcome {
    /// The lock to build from.
    pub lock: Lock,
    /// Whether it is the existing lock or a new resolution.
    pub origin: LockOrigin,
}

/// Where the lock of a [`LockOutcome`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOrigin {
    /// The existing lock matched the request; no index was read.
    Reused,
    /// The archive was read and the request solved: the lock is new and should be written.
    Resolved {
        /// Why the old lock was not used (`there is no lock yet` when there was none).
        stale: Vec<String>,
    },
}

/// Uses `existing` when it still matches the configuration (no index is read then), else
/// resolves, unless `mode` is [`LockMode::Locked`].
pub fn resolve_with_lock(
    config: &ImageConfig,
    options: &ResolveOptions,
    existing: Option<&Lock>,
    mode: LockMode,
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<LockOutcome, Error> {
    let spec = ArchiveSpec::from_config(config, &options.archive)?;
    let local_debs = fetch::local_deb_records(&config.content.package_directories)?;
    let request = lock_request(config, &spec, options.base, &local_debs, &options.installed);
    let stale = match existing {
        Some(lock) => {
            let stale = lock.check_against(&request);
            if stale.is_empty() {
                return Ok(LockOutcome {
                    lock: lock.clone(),
                    origin: LockOrigin::Reused,
                });
            }
            stale
        }
        None => vec!["there is no lock yet".to_owned()],
    };
    if mode == LockMode::Locked {
        return Err(Error::LockStale { reasons: stale });
    }
    let resolution = resolve(config, options, cache, progress)?;
    Ok(LockOutcome {
        lock: resolution.lock,
        origin: LockOrigin::Resolved { stale },
    })
}
