//! Shared by the network tests: the L1 configuration read with config-model, the archive
//! loaded through the shared cache, and the crate's [`AptMirror`] in a temporary directory.

#![allow(dead_code, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use config_model::{Host, ImageConfig, LoadOptions};
use deb_resolver::compare::AptMirror;
use deb_resolver::fetch::{self, LoadedArchive, NoProgress};
use deb_resolver::{ArchiveOptions, ArchiveSpec, Cache, FetchOptions};

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The configuration of an mkosi tree with one include. `Snapshot=` is cleared: the snapshot
/// service is not reachable from here, so the current archive is read through the host's
/// mirror.
pub(crate) fn config_from(directory: &Path, include: &str) -> ImageConfig {
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
pub(crate) fn l1_config() -> ImageConfig {
    config_from(&fixtures(), "images/flashbox-l1.conf")
}

pub(crate) fn archive_options() -> ArchiveOptions {
    let host = fetch::host_archives(Path::new("/")).expect("apt sources readable");
    assert!(
        host.debian.is_some(),
        "the host's apt configuration names a mirror"
    );
    ArchiveOptions {
        host,
        ..ArchiveOptions::default()
    }
}

pub(crate) fn cache() -> Cache {
    Cache::new(Cache::default_root().expect("HOME or XDG_CACHE_HOME is set"))
}

pub(crate) struct Loaded {
    pub config: ImageConfig,
    pub spec: ArchiveSpec,
    pub archive: LoadedArchive,
    pub load_time: Duration,
}

pub(crate) fn load() -> Loaded {
    load_config(l1_config())
}

/// Loads the archive of a configuration through the shared cache.
pub(crate) fn load_config(config: ImageConfig) -> Loaded {
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

/// The crate's [`AptMirror`] of a loaded archive in a temporary directory (kept, and named on
/// stderr, when `DEB_RESOLVER_KEEP_APT` is set).
pub(crate) struct Apt {
    pub mirror: AptMirror,
    _guard: Option<tempfile::TempDir>,
}

impl Apt {
    pub(crate) fn new(loaded: &Loaded) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mirror = AptMirror::create(dir.path(), &loaded.spec, &loaded.archive, &cache())
            .unwrap_or_else(|e| panic!("{e}"));
        let guard = if std::env::var_os("DEB_RESOLVER_KEEP_APT").is_some() {
            eprintln!("apt directory kept: {}", dir.keep().display());
            None
        } else {
            Some(dir)
        };
        Self {
            mirror,
            _guard: guard,
        }
    }
}
