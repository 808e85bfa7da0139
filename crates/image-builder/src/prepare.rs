//! The configuration a build resolves: the definition as loaded, plus what the kernel choice
//! adds, and the resolver options. [`crate::build`], a fresh resolution and a `why` query all
//! start here, so the same request always gives the same lock.

use std::path::Path;

use config_model::ImageConfig;
use config_model::value::OutputFormat;
use deb_resolver::fetch::{self, FetchOptions};
use deb_resolver::resolve::ResolveOptions;
use deb_resolver::{ArchiveOptions, BaseSet, Lock, Resolution};

use crate::error::Error;
use crate::layout::CacheLayout;
use crate::request::{KernelChoice, ResolveRequest};
use crate::stage::{Observer, Stage};
use build_vocab::{AtPath, PathError};

/// The environment variable that tells a tree's own kernel build script to stand down: this
/// pipeline provides the kernel (a Debian package, or kernel-builder's source build).
pub const KERNEL_SOURCE_BUILD_VARIABLE: &str = "KERNEL_SOURCE_BUILD";

/// A definition ready to resolve.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The configuration as a build uses it: the kernel package added (or the kernel source
    /// packages added to the build packages), `KERNEL_SOURCE_BUILD=0`, and `Snapshot=`
    /// cleared when no snapshot service is named.
    pub config: ImageConfig,
    /// How many files the loader read.
    pub files_read: usize,
    /// The resolver's options: the archive, the time for `Valid-Until`, the base set.
    pub resolve_options: ResolveOptions,
}

/// Loads the definition of `request` as a build uses it; diagnostics go to the observer as
/// warnings.
pub fn prepare(request: &ResolveRequest, observer: &dyn Observer) -> Result<Prepared, Error> {
    let options = request.definition.load_options();
    let loaded = config_model::load(&options).map_err(Error::Definition)?;
    prepare_loaded(request, loaded, observer)
}

/// [`prepare`] for a configuration already loaded (one image of a multi-image tree).
pub fn prepare_loaded(
    request: &ResolveRequest,
    loaded: config_model::Loaded,
    observer: &dyn Observer,
) -> Result<Prepared, Error> {
    for diagnostic in &loaded.diagnostics {
        observer.warning(&diagnostic.to_string());
    }
    let mut config = loaded.config;
    // Only a UKI carries a kernel; a directory or cpio image gets none unless it asks.
    let wants_kernel = config.output.format == Some(OutputFormat::Uki);
    match &request.kernel {
        KernelChoice::Package(package) if wants_kernel => {
            let spec = package.parse().map_err(|source| Error::AddedPackage {
                package: package.clone(),
                source,
            })?;
            config.content.packages.push(spec);
            config.content.packages.sort_by_key(ToString::to_string);
        }
        KernelChoice::Source if !wants_kernel => {
            return Err(Error::Unimplemented {
                unimplemented: vec![
                    "--kernel source builds the kernel of a UKI; set Format=uki".to_owned(),
                ],
            });
        }
        _ => {}
    }
    config
        .build
        .environment
        .insert(KERNEL_SOURCE_BUILD_VARIABLE.into(), "0".into());
    if request.kernel == KernelChoice::Source {
        let series =
            kernel_builder::source::series(&config.build.environment).map_err(|source| {
                Error::Kernel {
                    stage: Stage::Configure,
                    source,
                }
            })?;
        observer.note(&format!(
            "kernel: linux-source-{series} from KERNEL_VERSION (another series: \
             KERNEL_VERSION=X.Y in the environment)"
        ));
        for package in kernel_builder::source::required_packages(&series) {
            let spec = package
                .parse()
                .map_err(|source| Error::AddedPackage { package, source })?;
            config.content.build_packages.push(spec);
        }
    }
    let snapshot_base = config
        .distribution
        .mirror
        .as_ref()
        .or(request.archive.snapshot_service.as_ref());
    if let (Some(snapshot), None) = (&config.distribution.snapshot, snapshot_base) {
        // mkosi would read the public snapshot service; its address is not built in here.
        observer.warning(&format!(
            "Snapshot={snapshot} is not followed: no snapshot service is named (Mirror= with \
             Snapshot=, --snapshot-mirror or FLASHBOX_SNAPSHOT_MIRROR); packages come from the \
             mirror, and the lock file pins every one of them"
        ));
        config.distribution.snapshot = None;
    }
    let host =
        fetch::host_archives(&request.archive.apt_root).map_err(|source| Error::Archive {
            stage: Stage::Configure,
            source,
        })?;
    let sandbox =
        fetch::sandbox_apt(&config.build.sandbox_trees).map_err(|source| Error::Archive {
            stage: Stage::Configure,
            source,
        })?;
    Ok(Prepared {
        files_read: config.files_read.len(),
        config,
        resolve_options: ResolveOptions {
            archive: ArchiveOptions {
                host,
                snapshot_service: request.archive.snapshot_service.clone(),
                sandbox,
                ..ArchiveOptions::default()
            },
            fetch: FetchOptions::at(unix_now()),
            base: BaseSet::Essential,
            installed: Vec::new(),
        },
    })
}

/// Refuses, for a build, a definition that sets what the build does not implement: settings that change
/// the image (config-model's record of them, with where each was set) and output formats
/// other than `uki` (its disk images come from `RepartDirectories=`).
pub(crate) fn refuse_unimplemented(config: &ImageConfig) -> Result<(), Error> {
    let mut unimplemented: Vec<String> = config
        .unimplemented
        .iter()
        .map(|(name, setting)| format!("{name}= ({}): {}", setting.location, setting.changes))
        .collect();
    // Settings config-model reads that the build does not act on yet.
    let (content, build) = (&config.content, &config.build);
    let mut refuse = |set: bool, line: &str| {
        if set {
            unimplemented.push(line.to_owned());
        }
    };
    refuse(
        !build.build_sources.is_empty(),
        "BuildSources=: the sources the scripts see",
    );
    refuse(
        !content.volatile_package_directories.is_empty(),
        "VolatilePackageDirectories=: the volatile packages' sources",
    );
    refuse(
        content.with_docs == Some(false),
        "WithDocs=no: the documentation dpkg would leave out",
    );
    refuse(
        !matches!(
            config.output.compress_output,
            None | Some(config_model::value::Compression::Zstd)
        ),
        "CompressOutput= other than zstd: the initrd's compression",
    );
    refuse(
        config
            .output
            .manifest_format
            .iter()
            .any(|format| *format != config_model::value::ManifestFormat::Json),
        "ManifestFormat= other than json: which manifests are written",
    );
    refuse(
        config.output.overlay == Some(true) && content.base_trees.is_empty(),
        "Overlay=yes without BaseTrees=: there is nothing to leave out",
    );
    refuse(
        config.validation.verity == Some(config_model::value::Verity::Defer),
        "Verity=defer: a signature partition left for a later signing step",
    );
    match config.output.format {
        Some(
            OutputFormat::Cpio | OutputFormat::Directory | OutputFormat::Sysext | OutputFormat::Tar,
        ) => {}
        Some(OutputFormat::Uki) => refuse(
            config.output.overlay == Some(true),
            "Overlay=yes with Format=uki: a UKI holds a whole root",
        ),
        // mkosi's default.
        None => unimplemented.push(
            "Format= is not set, so mkosi would write a disk: set Format=uki (disk images \
             come from RepartDirectories=)"
                .to_owned(),
        ),
        Some(format) => unimplemented.push(format!(
            "Format={format}: only `uki` (with disk images from RepartDirectories=), `cpio`, \
             `directory`, `sysext` and `tar` are written"
        )),
    }
    if unimplemented.is_empty() {
        Ok(())
    } else {
        Err(Error::Unimplemented { unimplemented })
    }
}

/// The resolver options of `prepared` with what its base trees have installed (read now:
/// a base is often a subimage built just before).
pub(crate) fn on_base_trees(prepared: &Prepared) -> Result<ResolveOptions, Error> {
    let mut options = prepared.resolve_options.clone();
    options.installed =
        rootfs_assembler::base_trees::installed_in_bases(&prepared.config.content.base_trees)
            .map_err(|source| Error::Rootfs {
                stage: Stage::Resolve,
                source,
            })?;
    Ok(options)
}

/// Resolves `prepared` afresh (no lock is reused), reading the archive through the package
/// cache.
pub fn resolve_afresh(
    prepared: &Prepared,
    caches: &CacheLayout,
    observer: &dyn Observer,
) -> Result<Resolution, Error> {
    deb_resolver::resolve(
        &prepared.config,
        &on_base_trees(prepared)?,
        &caches.package_cache(),
        observer.downloads(),
    )
    .map_err(|source| Error::Archive {
        stage: Stage::Resolve,
        source,
    })
}

/// The lock at `path`, or `None` when there is none.
pub fn read_lock(path: &Path) -> Result<Option<Lock>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Lock::from_toml(&text)
            .map(Some)
            .map_err(|source| Error::LockFile {
                path: path.to_owned(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PathError::new(path, e).into()),
    }
}

/// Writes `lock` to `path` (its directory created), complete or not at all.
pub fn write_lock(path: &Path, lock: &Lock) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).at(parent)?;
    }
    Ok(build_vocab::publish::write_bytes(
        path,
        0o644,
        lock.to_toml().as_bytes(),
    )?)
}

/// Unix seconds now: only `Valid-Until` of a Release file is checked against it.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use config_model::UnimplementedSetting;

    use super::*;

    #[test]
    fn a_build_refuses_settings_and_formats_it_does_not_implement() {
        let mut config = ImageConfig::default();
        config.output.format = Some(OutputFormat::Uki);
        refuse_unimplemented(&config).unwrap();

        config.output.format = Some(OutputFormat::Disk);
        config.unimplemented.insert(
            "Overlay".into(),
            UnimplementedSetting {
                location: "mkosi.conf:3".into(),
                changes: "what the output holds",
            },
        );
        config.build.build_sources = vec![config_model::Tree {
            source: "/src".into(),
            target: Some("/work/x".into()),
        }];
        let text = refuse_unimplemented(&config).unwrap_err().to_string();
        assert!(text.contains("BuildSources=: the sources"), "{text}");
        assert!(
            text.contains("Overlay= (mkosi.conf:3): what the output holds"),
            "{text}"
        );
        assert!(text.contains("Format=disk: only `uki`"), "{text}");
        for written in [
            OutputFormat::Cpio,
            OutputFormat::Directory,
            OutputFormat::Sysext,
            OutputFormat::Tar,
        ] {
            let mut config = ImageConfig::default();
            config.output.format = Some(written);
            refuse_unimplemented(&config).unwrap();
        }

        // mkosi's default format is a disk, which is not what this builder writes.
        let text = refuse_unimplemented(&ImageConfig::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("Format= is not set"), "{text}");

        // An overlay needs bases, and a UKI is a whole root.
        let mut config = ImageConfig::default();
        config.output.format = Some(OutputFormat::Uki);
        config.output.overlay = Some(true);
        let text = refuse_unimplemented(&config).unwrap_err().to_string();
        assert!(text.contains("Overlay=yes without BaseTrees="), "{text}");
        assert!(text.contains("Overlay=yes with Format=uki"), "{text}");
        config.validation.verity = Some(config_model::value::Verity::Defer);
        let text = refuse_unimplemented(&config).unwrap_err().to_string();
        assert!(text.contains("Verity=defer"), "{text}");
    }
}
