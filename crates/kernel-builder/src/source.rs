//! Building the kernel from Debian's `linux-source-X.Y`, inside a build tree.
//!
//! The inputs ([`SourceInputs`]) are gathered once at the edge ([`SourceInputs::read`]): the
//! version `X.Y` (`KERNEL_VERSION`), Debian's cloud configuration from `linux-config-X.Y` as
//! the base, the fragments of `KERNEL_CONFIG_SNIPPETS*` in merge order and the patches of
//! `KERNEL_PATCHES*` in the same order. Everything that decides the result is pure and tested: the merge
//! ([`crate::merge`]), the cache key ([`SourceInputs::cache_key`]) and the build environment
//! ([`build_environment`]: `KBUILD_BUILD_TIMESTAMP` from `SOURCE_DATE_EPOCH`, fixed user, host
//! and build number, `LC_ALL=C`).
//!
//! [`build`] then runs, in the build tree's sandbox (no network, the kernel tree bound at
//! `/work/kernel`, so the path the compiler sees is the same for every build): `tar -x` of the
//! source, `patch` for each patch, the merged `.config`, `make olddefconfig`, the report of
//! every request `olddefconfig` overrode ([`crate::merge::unmet_requests`]), `.version`
//! removed, `make bzImage`. The bzImage, the final `.config` and the release string are
//! stored in the cache under the key; a later build with the same inputs takes them from
//! there and recomputes the report from the stored `.config`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use build_vocab::KeyHasher;
use rootfs_assembler::BuildTree;
use rootfs_assembler::sandbox::{Bind, CommandRunner, Place, SandboxCommand};

use crate::error::KernelError;
use crate::kconfig::KernelConfig;
use crate::merge::{Fragment, Merged, UnmetRequest, merge, unmet_requests};
use crate::snippets::{fragment_files, patch_files};
use build_vocab::{AtPath, PathError};

/// The variable naming the Debian kernel series to build (`7.2`).
pub const VERSION_VARIABLE: &str = "KERNEL_VERSION";
/// The base configuration inside `linux-config-X.Y`: Debian's cloud flavour.
pub const BASE_CONFIG: &str = "config.amd64_none_cloud-amd64.xz";
/// The build steps' version, part of the cache key: change it with the steps of [`build`]
/// or [`build_environment`], so that kernels cached by older steps are not reused.
const RECIPE: &str = "1";
/// Where the kernel's scratch directory appears inside the build tree.
const KERNEL_WORK: &str = "/work/kernel";

/// The packages a build tree needs for a source build of series `version`.
pub fn required_packages(version: &str) -> [String; 2] {
    [
        format!("linux-source-{version}"),
        format!("linux-config-{version}"),
    ]
}

/// A patch to apply with `patch -p1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Its file name (for messages; patches apply in the order given).
    pub name: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// Everything that decides the built kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInputs {
    /// The Debian kernel series, `X.Y`.
    pub version: String,
    /// The `linux-source-X.Y` package: its version and sha256 (part of the cache key).
    pub source_package_version: String,
    /// The packages of the build tree (compiler, binutils, make, ...), one
    /// `name version architecture sha256` line each: a changed toolchain builds anew.
    pub toolchain: String,
    /// The base configuration (decompressed).
    pub base_config: String,
    /// The fragments, in merge order.
    pub fragments: Vec<Fragment>,
    /// The patches, in application order.
    pub patches: Vec<Patch>,
    /// Appended to the release string (`LOCALVERSION`).
    pub local_version: String,
    /// SOURCE_DATE_EPOCH: the build timestamp.
    pub source_date_epoch: u64,
}

impl SourceInputs {
    /// Reads the inputs of an image: `KERNEL_VERSION`, `KERNEL_CONFIG_SNIPPETS*` and
    /// `KERNEL_PATCHES` from `environment` (paths relative to `src_dir`), the base
    /// configuration from the build tree at `tree_root`.
    pub fn read(
        environment: &BTreeMap<String, String>,
        src_dir: &Path,
        tree_root: &Path,
        source_package_version: &str,
        toolchain: &str,
        source_date_epoch: u64,
    ) -> Result<Self, KernelError> {
        let version = series(environment)?;
        let base_path = tree_root
            .join(format!("usr/src/linux-config-{version}"))
            .join(BASE_CONFIG);
        let mut base_config = String::new();
        liblzma::read::XzDecoder::new(fs::File::open(&base_path).at(&base_path)?)
            .read_to_string(&mut base_config)
            .at(&base_path)?;
        let fragments = fragment_files(environment, src_dir)?
            .into_iter()
            .map(|path| {
                Ok(Fragment {
                    name: file_name(&path),
                    text: fs::read_to_string(&path).at(&path)?,
                })
            })
            .collect::<Result<Vec<_>, KernelError>>()?;
        let patches = patch_files(environment, src_dir)?
            .into_iter()
            .map(|path| {
                Ok(Patch {
                    name: file_name(&path),
                    bytes: fs::read(&path).at(&path)?,
                })
            })
            .collect::<Result<Vec<_>, KernelError>>()?;
        Ok(Self {
            version,
            source_package_version: source_package_version.to_owned(),
            toolchain: toolchain.to_owned(),
            base_config,
            fragments,
            patches,
            local_version: "-flashbox".into(),
            source_date_epoch,
        })
    }

    /// The cache key: a SHA-256 over every input, each length-prefixed. Pure.
    pub fn cache_key(&self) -> String {
        let mut hasher = KeyHasher::new();
        let mut field = |tag: &str, bytes: &[u8]| {
            hasher.field(tag, bytes);
        };
        field("recipe", RECIPE.as_bytes());
        field("version", self.version.as_bytes());
        field("package", self.source_package_version.as_bytes());
        field("toolchain", self.toolchain.as_bytes());
        field("base", self.base_config.as_bytes());
        for fragment in &self.fragments {
            field("fragment", fragment.name.as_bytes());
            field("text", fragment.text.as_bytes());
        }
        for patch in &self.patches {
            field("patch", patch.name.as_bytes());
            field("bytes", &patch.bytes);
        }
        field("local", self.local_version.as_bytes());
        field("epoch", &self.source_date_epoch.to_le_bytes());
        hasher.finish().to_hex()
    }

    /// The fragments merged over the base: the `.config` given to `olddefconfig`. Pure.
    pub fn merged(&self) -> Result<Merged, KernelError> {
        merge(
            &KernelConfig::parse(BASE_CONFIG, &self.base_config)?,
            &self.fragments,
        )
    }
}

/// `KERNEL_VERSION` from `environment`, checked to be `X.Y`.
pub fn series(environment: &BTreeMap<String, String>) -> Result<String, KernelError> {
    let version = environment
        .get(VERSION_VARIABLE)
        .ok_or(KernelError::NoKernelVersion)?;
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(version.clone())
    } else {
        Err(KernelError::BadKernelVersion {
            value: version.clone(),
        })
    }
}

/// The environment of every command of a source build. Pure.
pub fn build_environment(source_date_epoch: u64) -> BTreeMap<String, String> {
    [
        ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin".to_owned()),
        ("LC_ALL", "C".to_owned()),
        ("TZ", "UTC".to_owned()),
        ("HOME", "/root".to_owned()),
        ("SOURCE_DATE_EPOCH", source_date_epoch.to_string()),
        ("KBUILD_BUILD_TIMESTAMP", date_utc(source_date_epoch)),
        ("KBUILD_BUILD_USER", "flashbox".to_owned()),
        ("KBUILD_BUILD_HOST", "flashbox".to_owned()),
        ("KBUILD_BUILD_VERSION", "1".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// `date -u` of an epoch (`Thu Jan  1 00:00:00 UTC 1970`), the format the kernel's own
/// timestamps use and `date -d` reads back. Pure.
pub fn date_utc(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch / 86_400;
    let seconds = epoch % 86_400;
    // Civil date from a day count (days since 1970-01-01), in 400-year eras from 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 2
    } else {
        month_index - 10
    };
    let year = year_of_era + era * 400 + u64::from(month < 2);
    format!(
        "{} {} {day:>2} {:02}:{:02}:{:02} UTC {year}",
        DAYS[(days % 7) as usize],
        MONTHS[month as usize],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Where a source build happens and what it reports to.
pub struct SourceBuild<'a> {
    /// The inputs.
    pub inputs: &'a SourceInputs,
    /// The build tree with `linux-source-X.Y`, `linux-config-X.Y` and the build tools.
    pub tree: &'a BuildTree,
    /// A scratch directory on the host for the unpacked tree and objects (several GB).
    pub scratch: PathBuf,
    /// The cache directory; results live in `<cache>/<key>/`.
    pub cache: PathBuf,
    /// `make -j`.
    pub jobs: usize,
    /// The log of every command.
    pub log: PathBuf,
    /// Told each step as it starts (`make bzImage`, ...).
    pub on_step: &'a dyn Fn(&str),
    /// Runs the commands in the tree ([`rootfs_assembler::NamespaceSandbox`] for real).
    pub runner: &'a dyn CommandRunner,
}

/// A kernel built from source (or taken from the cache).
#[derive(Debug, Clone)]
pub struct BuiltKernel {
    /// `make kernelrelease`: the UKI's `.uname`.
    pub release: String,
    /// The kernel image (in the cache).
    pub bzimage: PathBuf,
    /// The final `.config` (in the cache).
    pub config: PathBuf,
    /// Requests `olddefconfig` overrode.
    pub unmet: Vec<UnmetRequest>,
    /// The merge's redefinitions, for the report.
    pub merged: Merged,
    /// The cache key.
    pub key: String,
    /// Whether the cache had it.
    pub cached: bool,
}

/// Builds (or takes from the cache) the kernel of `build.inputs`. Needs root.
pub fn build(build: &SourceBuild<'_>) -> Result<BuiltKernel, KernelError> {
    let inputs = build.inputs;
    let key = inputs.cache_key();
    let merged = inputs.merged()?;
    let entry = build.cache.join(&key);
    let finish = |cached: bool| -> Result<BuiltKernel, KernelError> {
        let config_path = entry.join("config");
        let release_path = entry.join("release");
        let final_config = KernelConfig::parse(
            "config",
            &fs::read_to_string(&config_path).at(&config_path)?,
        )?;
        refuse_loadable_modules(&final_config)?;
        Ok(BuiltKernel {
            release: fs::read_to_string(&release_path)
                .at(&release_path)?
                .trim()
                .to_owned(),
            bzimage: entry.join("bzImage"),
            config: config_path,
            unmet: unmet_requests(&merged, &final_config),
            merged: merged.clone(),
            key: key.clone(),
            cached,
        })
    };
    if entry.join("bzImage").is_file() {
        return finish(true);
    }

    if fs::symlink_metadata(&build.scratch).is_ok() {
        fs::remove_dir_all(&build.scratch).at(&build.scratch)?;
    }
    // Numbered: two directories may hold patches of the same name.
    let patches_dir = build.scratch.join("patches");
    fs::create_dir_all(&patches_dir).at(&patches_dir)?;
    let staged: Vec<String> = (0..inputs.patches.len())
        .map(|index| format!("{index:03}.patch"))
        .collect();
    for (patch, name) in inputs.patches.iter().zip(&staged) {
        let path = patches_dir.join(name);
        fs::write(&path, &patch.bytes).at(&path)?;
    }
    if let Some(dir) = build.log.parent() {
        fs::create_dir_all(dir).at(dir)?;
    }
    let sandbox = build.tree.sandbox(vec![Bind {
        source: build.scratch.clone(),
        target: KERNEL_WORK.into(),
        writable: true,
    }]);
    let source_dir = format!("{KERNEL_WORK}/linux-source-{}", inputs.version);
    let host_source = build
        .scratch
        .join(format!("linux-source-{}", inputs.version));
    let environment = build_environment(inputs.source_date_epoch);
    let run = |step: &str, cwd: &str, argv: Vec<String>| -> Result<(), KernelError> {
        (build.on_step)(step);
        let mut command =
            SandboxCommand::new(&argv[0], &argv[1..], Place::Chroot { cwd: cwd.into() });
        command.env = environment.clone();
        command.log = Some(build.log.clone());
        build
            .runner
            .run(&sandbox, &command)
            .map_err(|source| KernelError::Build {
                step: step.to_owned(),
                log: build.log.clone(),
                source: Box::new(source),
            })
    };
    let strings = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();

    let tarball = format!("/usr/src/linux-source-{}.tar.xz", inputs.version);
    run(
        "unpack the source",
        KERNEL_WORK,
        strings(&["tar", "-xf", &tarball]),
    )?;
    for (patch, name) in inputs.patches.iter().zip(&staged) {
        let path = format!("{KERNEL_WORK}/patches/{name}");
        run(
            &format!("apply {}", patch.name),
            &source_dir,
            strings(&[
                "patch",
                "-p1",
                "--forward",
                "--batch",
                "--fuzz=0",
                "-i",
                &path,
            ]),
        )?;
    }
    let config_path = host_source.join(".config");
    fs::write(&config_path, merged.config.render()).at(&config_path)?;
    run(
        "make olddefconfig",
        &source_dir,
        strings(&["make", "olddefconfig"]),
    )?;
    // Before the long part: a modular configuration cannot give a working image.
    refuse_loadable_modules(&KernelConfig::parse(
        ".config",
        &fs::read_to_string(&config_path).at(&config_path)?,
    )?)?;
    let version_file = host_source.join(".version");
    if version_file.exists() {
        fs::remove_file(&version_file).at(&version_file)?;
    }
    let local_version = format!("LOCALVERSION={}", inputs.local_version);
    let jobs = format!("-j{}", build.jobs.max(1));
    run(
        "make bzImage",
        &source_dir,
        strings(&["make", &jobs, &local_version, "bzImage"]),
    )?;
    let release_file = build.scratch.join("release");
    let release_inside = format!("{KERNEL_WORK}/release");
    run(
        "make kernelrelease",
        &source_dir,
        strings(&[
            "sh",
            "-c",
            &format!("make -s {local_version} kernelrelease > {release_inside}"),
        ]),
    )?;

    store(
        &build.cache,
        &key,
        &[
            (host_source.join("arch/x86/boot/bzImage"), "bzImage"),
            (config_path, "config"),
            (release_file, "release"),
        ],
    )?;
    fs::remove_dir_all(&build.scratch).at(&build.scratch)?;
    finish(false)
}

/// Fails with [`KernelError::LoadableModules`] for a configuration with `CONFIG_MODULES`.
pub fn refuse_loadable_modules(config: &KernelConfig) -> Result<(), KernelError> {
    match config.value("MODULES") {
        crate::kconfig::Value::No => Ok(()),
        _ => Err(KernelError::LoadableModules),
    }
}

/// Stores `files` (source, name) as the cache entry `key`: written and synced under a name
/// of this process's own, then renamed, so an entry is complete or absent. When another build
/// stored the same key first, its entry stands (same inputs, same kernel).
fn store(cache: &Path, key: &str, files: &[(PathBuf, &str)]) -> Result<(), KernelError> {
    let entry = cache.join(key);
    let partial = cache.join(format!(".{key}.partial-{}", std::process::id()));
    if fs::symlink_metadata(&partial).is_ok() {
        fs::remove_dir_all(&partial).at(&partial)?;
    }
    fs::create_dir_all(&partial).at(&partial)?;
    for (from, name) in files {
        let to = partial.join(name);
        fs::copy(from, &to).at(&to)?;
        fs::File::open(&to)
            .and_then(|file| file.sync_all())
            .at(&to)?;
    }
    match fs::rename(&partial, &entry) {
        Ok(()) => Ok(()),
        Err(_) if entry.join("bzImage").is_file() => Ok(fs::remove_dir_all(&partial).at(&partial)?),
        Err(source) => Err(PathError::new(entry, source).into()),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modular_configuration_is_refused() {
        let modular = KernelConfig::parse("c", "CONFIG_MODULES=y\n").unwrap();
        let err = refuse_loadable_modules(&modular).unwrap_err();
        assert!(err.to_string().contains("CONFIG_MODULES=y"), "{err}");
        for text in ["# CONFIG_MODULES is not set\n", "CONFIG_NET=y\n"] {
            refuse_loadable_modules(&KernelConfig::parse("c", text).unwrap()).unwrap();
        }
    }

    fn inputs() -> SourceInputs {
        SourceInputs {
            version: "7.2".into(),
            source_package_version: "7.2.11-1~bpo13+1".into(),
            toolchain: "gcc-14 14.2.0-19 amd64 00\n".into(),
            base_config: "CONFIG_A=y\n# CONFIG_B is not set\n".into(),
            fragments: vec![Fragment {
                name: "00-b.config".into(),
                text: "CONFIG_B=y\n".into(),
            }],
            patches: vec![Patch {
                name: "0001-x.patch".into(),
                bytes: b"--- a\n+++ b\n".to_vec(),
            }],
            local_version: "-flashbox".into(),
            source_date_epoch: 0,
        }
    }

    #[test]
    fn every_input_changes_the_cache_key() {
        let base = inputs();
        let key = base.cache_key();
        assert_eq!(key.len(), 64);
        assert_eq!(key, inputs().cache_key(), "same inputs, same key");
        let changes: [fn(&mut SourceInputs); 11] = [
            |i| i.version = "7.3".into(),
            |i| i.source_package_version = "7.2.12-1".into(),
            |i| i.toolchain = "gcc-14 14.2.0-20 amd64 00\n".into(),
            |i| i.base_config.push_str("CONFIG_C=y\n"),
            |i| i.fragments[0].text = "CONFIG_B=m\n".into(),
            |i| i.fragments[0].name = "01-b.config".into(),
            |i| i.patches[0].bytes.push(b'\n'),
            |i| i.patches.clear(),
            |i| i.local_version = "-other".into(),
            |i| i.source_date_epoch = 1,
            // Moving bytes between fields must not collide.
            |i| {
                i.fragments[0].name = "00-b.configCONFIG_B=y".into();
                i.fragments[0].text = "\n".into();
            },
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut changed = inputs();
            change(&mut changed);
            assert_ne!(changed.cache_key(), key, "change {index} kept the key");
        }
    }

    #[test]
    fn a_second_store_of_the_same_key_keeps_the_first_entry() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("bzImage");
        fs::write(&built, b"kernel").unwrap();
        let cache = dir.path().join("cache");
        fs::create_dir(&cache).unwrap();
        store(&cache, "k", &[(built.clone(), "bzImage")]).unwrap();
        fs::write(&built, b"other").unwrap();
        store(&cache, "k", &[(built, "bzImage")]).unwrap();
        assert_eq!(fs::read(cache.join("k/bzImage")).unwrap(), b"kernel");
        let names: Vec<_> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k"], "no partial entry is left");
    }

    #[test]
    fn dates_match_gnu_date() {
        // Values checked with `date -u -d @N`.
        assert_eq!(date_utc(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(date_utc(951_782_400), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(date_utc(1_700_000_000), "Tue Nov 14 22:13:20 UTC 2023");
        assert_eq!(date_utc(4_107_542_399), "Sun Feb 28 23:59:59 UTC 2100");
    }

    #[test]
    fn kernel_version_is_a_series() {
        let env = |v: &str| BTreeMap::from([(VERSION_VARIABLE.to_owned(), v.to_owned())]);
        assert_eq!(series(&env("7.2")).unwrap(), "7.2");
        for bad in ["7", "7.2.1", "7.x", "", "7..2"] {
            assert!(
                matches!(series(&env(bad)), Err(KernelError::BadKernelVersion { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            series(&BTreeMap::new()),
            Err(KernelError::NoKernelVersion)
        ));
    }

    #[test]
    fn the_build_environment_is_fixed() {
        let env = build_environment(1_700_000_000);
        assert_eq!(
            env["KBUILD_BUILD_TIMESTAMP"],
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(env["SOURCE_DATE_EPOCH"], "1700000000");
        assert_eq!(env["KBUILD_BUILD_USER"], "flashbox");
        assert_eq!(env["KBUILD_BUILD_HOST"], "flashbox");
        assert_eq!(env["LC_ALL"], "C");
    }

    #[test]
    fn merged_applies_the_fragments_over_the_base() {
        let merged = inputs().merged().unwrap();
        assert_eq!(merged.config.value("B"), &crate::kconfig::Value::Yes);
        assert_eq!(merged.redefinitions.len(), 1);
    }
}
