//! mkosi's default paths: the files and directories next to a configuration file that set a
//! setting by their presence (`mkosi.extra/`, `mkosi.build`, `mkosi.build.d/*`), or by their
//! contents (`mkosi.version`, `mkosi.seed`).

use std::path::Path;

use super::Loader;
use super::files::{read_or_run, sorted_entries};
use crate::error::{ConfigError, Location};
use crate::setting::{self, Known};

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
    paths_of("VerityKey", &["mkosi.key"]),
    paths_of("VerityCertificate", &["mkosi.crt"]),
];

impl Loader<'_> {
    pub(super) fn apply_default_paths(&mut self, dir: &Path) -> Result<(), ConfigError> {
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
}
