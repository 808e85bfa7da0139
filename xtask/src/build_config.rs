//! What a build resolves, shared by `image`, `lock`, `why` and `bench resolve`, so the same
//! flags always give the same request and the same lock file: the definition as loaded, the
//! kernel package added by `--kernel debian`, `Snapshot=` followed only with a URL template,
//! the resolver options, and where the lock lives.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use config_model::{ImageConfig, LoadOptions, Override};
use deb_resolver::fetch::{self, Cache, FetchOptions};
use deb_resolver::resolve::ResolveOptions;
use deb_resolver::{ArchiveOptions, BaseSet, Lock};

use crate::summary::DefinitionArgs;

/// Where the kernel comes from.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelSource {
    /// A Debian kernel package, added to the image's packages (fast).
    Debian,
    /// Built by kernel-builder from Debian's linux-source-X.Y (X.Y from `KERNEL_VERSION`) in
    /// the build tree, with the image's config fragments and patches.
    Source,
}

/// The flags that change what a build resolves, besides the definition itself.
#[derive(Args)]
pub struct BuildArgs {
    /// Where the kernel comes from.
    #[arg(long, value_enum, default_value = "debian")]
    pub kernel: KernelSource,
    /// The Debian kernel package used with `--kernel debian`.
    #[arg(long, default_value = "linux-image-cloud-amd64")]
    pub kernel_package: String,
    /// Where `--kernel source` keeps built kernels (default: `kernel/` next to the package
    /// cache, `~/.cache/flashbox-builder/kernel`).
    #[arg(long, env = "FLASHBOX_KERNEL_CACHE")]
    pub kernel_cache: Option<PathBuf>,
    /// How `Snapshot=` becomes an archive URL (a URL containing `{snapshot}`). Without it a
    /// `Snapshot=` is not followed: packages come from the mirror and the lock pins them.
    #[arg(long, env = "FLASHBOX_SNAPSHOT_URL")]
    pub snapshot_url: Option<String>,
}

/// The lock file flag of the commands that read or write a lock.
#[derive(Args)]
pub struct LockFileArgs {
    /// The lock file (default: `images/<name>[+profile...].lock` in the tree, or `mkosi.lock`
    /// for a tree without NAME).
    #[arg(long)]
    pub lock_file: Option<PathBuf>,
}

impl LockFileArgs {
    /// `--lock-file`, else the definition's default lock path.
    pub fn path(
        &self,
        definition: &DefinitionArgs,
        kernel: KernelSource,
        directory: &Path,
    ) -> PathBuf {
        self.lock_file
            .clone()
            .unwrap_or_else(|| lock_path(definition, kernel, directory))
    }
}

/// The configuration a build resolves, and the loader options it came from.
pub struct BuildConfig {
    /// The loader options (the tree's directory is where the default lock lives).
    pub options: LoadOptions,
    /// The configuration, with the kernel package added and `Snapshot=` cleared when it is
    /// not followed.
    pub config: ImageConfig,
}

impl BuildArgs {
    /// Loads the definition as a build uses it, printing the loader's diagnostics and the
    /// `Snapshot=` warning on stderr.
    pub fn configuration(&self, definition: &DefinitionArgs) -> Result<BuildConfig> {
        let mut options = definition.load_options()?;
        if self.kernel == KernelSource::Debian {
            options
                .overrides
                .push(Override::new("Packages", &self.kernel_package));
        }
        let loaded = config_model::load(&options)?;
        for diagnostic in &loaded.diagnostics {
            eprintln!("warning: {diagnostic}");
        }
        let mut config = loaded.config;
        // The fixture's own kernel build script stands down: kernel-builder builds the
        // kernel (`--kernel source`) or a Debian package provides it.
        config
            .build
            .environment
            .insert("KERNEL_SOURCE_BUILD".into(), "0".into());
        if self.kernel == KernelSource::Source {
            let series = kernel_builder::source::series(&config.build.environment)?;
            eprintln!(
                "kernel: linux-source-{series} from KERNEL_VERSION (another series: -E KERNEL_VERSION=X.Y)"
            );
            for package in kernel_builder::source::required_packages(&series) {
                config.content.build_packages.push(package.parse()?);
            }
        }
        if let (Some(snapshot), None) = (&config.distribution.snapshot, &self.snapshot_url) {
            eprintln!(
                "warning: Snapshot={snapshot} is not followed (no --snapshot-url / FLASHBOX_SNAPSHOT_URL): \
                 packages come from the mirror, and the lock file pins every one of them"
            );
            config.distribution.snapshot = None;
        }
        Ok(BuildConfig { options, config })
    }

    /// The resolver options of a build: the host's apt mirror (unless `Mirror=` is set), the
    /// snapshot template, the current time for `Valid-Until`, the essential base set.
    pub fn resolve_options(&self) -> Result<ResolveOptions> {
        Ok(ResolveOptions {
            archive: ArchiveOptions {
                host_mirror: fetch::host_apt_mirror(Path::new("/"))?,
                snapshot_url_template: self.snapshot_url.clone(),
                ..ArchiveOptions::default()
            },
            fetch: FetchOptions::at(now()),
            base: BaseSet::Essential,
        })
    }

    /// The directory of built kernels.
    pub fn kernel_cache(&self) -> Result<PathBuf> {
        match &self.kernel_cache {
            Some(dir) => Ok(dir.clone()),
            None => cache_dir("kernel"),
        }
    }
}

/// `~/.cache/flashbox-builder/<name>`: a cache next to the package cache.
pub fn cache_dir(name: &str) -> Result<PathBuf> {
    Ok(Cache::default_root()
        .context("no cache directory (set HOME)")?
        .with_file_name(name))
}

/// The shared download cache.
pub fn cache() -> Result<Cache> {
    Ok(Cache::new(
        Cache::default_root().context("no cache directory (set HOME)")?,
    ))
}

/// `fixtures/images/<name>[+profile...][+kernel-source].lock` for a named image, else
/// `mkosi[+kernel-source].lock` in the tree: a source kernel needs other build packages, so
/// it gets its own lock.
pub fn lock_path(definition: &DefinitionArgs, kernel: KernelSource, directory: &Path) -> PathBuf {
    let suffix = match kernel {
        KernelSource::Debian => "",
        KernelSource::Source => "+kernel-source",
    };
    match &definition.name {
        Some(name) => {
            let mut stem = name.clone();
            for profile in &definition.profiles {
                stem.push('+');
                stem.push_str(profile);
            }
            stem.push_str(suffix);
            directory.join("images").join(format!("{stem}.lock"))
        }
        None => directory.join(format!("mkosi{suffix}.lock")),
    }
}

/// The lock at `path`, or `None` when there is none.
pub fn read_lock(path: &Path) -> Result<Option<Lock>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(
            Lock::from_toml(&text).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `bytes` to a temporary name next to `path`, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot rename to {}", path.display()))?;
    Ok(())
}

/// Unix seconds now (for `Valid-Until` checks only).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
