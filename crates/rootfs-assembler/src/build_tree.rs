//! The build tree: mkosi's build overlay, as a root of its own.
//!
//! mkosi runs `BuildScripts=` in an overlay of the image with `BuildPackages=` installed on
//! top. Here the same content is a separate root: the skeleton trees, the image's packages
//! plus the build packages (deb-resolver's `build` set, which contains the image set), then
//! the prepare scripts with the argument `build`. Build scripts run in it with `$DESTDIR`;
//! the pipeline copies `$DESTDIR` into the image ([`crate::BuildOutputs::Built`]) and
//! other tools (kernel-builder) run their own commands in it through [`BuildTree::sandbox`].
//!
//! The tree is never part of an image, so it is not normalised or digested; it is rebuilt
//! from the lock for every build.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use config_model::ImageConfig;
use config_model::value::PackageSpec;

use crate::build_dir::{BuildLayout, checked_inputs};
use crate::deb::{LockedDeb, read_deb};
use crate::error::Error;
use crate::install::install_packages;
use crate::root_cache::{CacheKey, KeyBuilder, RootCache};
use crate::sandbox::{Bind, CommandRunner, Sandbox};
use crate::scripts::{ScriptKind, run_scripts};
use crate::trees::copy_trees;
use build_vocab::AtPath;

/// What a build tree is made of.
#[derive(Debug, Clone)]
pub struct BuildTreeOptions<'a> {
    /// The image configuration (skeleton trees, prepare and build scripts, environment).
    pub config: &'a ImageConfig,
    /// The verified packages of the build set, in installation order.
    pub packages: &'a [LockedDeb],
    /// The directory that receives the tree, its scratch space and `$DESTDIR`.
    pub build_dir: PathBuf,
    /// The image definition's directory (`$SRCDIR`).
    pub src_dir: PathBuf,
    /// `$MKOSI_UID`/`$MKOSI_GID`.
    pub invoking_user: (u32, u32),
    /// Where finished trees are kept for later builds with the same inputs; `None` builds
    /// afresh and keeps nothing.
    pub cache: Option<&'a RootCache>,
    /// Runs dpkg and the prepare scripts ([`crate::sandbox::NamespaceSandbox`] for real).
    pub runner: &'a dyn CommandRunner,
}

/// An assembled build tree.
#[derive(Debug, Clone)]
pub struct BuildTree {
    /// The root directory.
    pub root: PathBuf,
    layout: BuildLayout,
    src_dir: PathBuf,
    invoking_user: (u32, u32),
    source_date_epoch: u64,
    /// How it came to be.
    pub origin: TreeOrigin,
}

/// How a build tree came to be (recorded in manifests as `{"origin": ..., "key": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum TreeOrigin {
    /// Copied from the cache: an earlier build had the same inputs.
    FromCache {
        /// The key of its inputs.
        key: CacheKey,
    },
    /// Assembled, then stored in the cache under the key of its inputs.
    AssembledAndCached {
        /// The key of its inputs.
        key: CacheKey,
    },
    /// Assembled and not cached: no cache was given, or its prepare scripts make its inputs
    /// unknowable.
    Assembled,
}

/// What the build scripts left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildScriptOutputs {
    /// `$DESTDIR`: files to copy into the image.
    pub dest_dir: PathBuf,
    /// `$PACKAGEDIR`: packages the scripts built or fetched.
    pub package_dir: PathBuf,
    /// The scripts' output.
    pub log: PathBuf,
}

/// Assembles the build tree below `options.build_dir` (as `root`); commands run through
/// `options.runner`.
pub fn assemble_build_tree(options: &BuildTreeOptions<'_>) -> Result<BuildTree, Error> {
    options.runner.preflight("assembling a build tree")?;
    let config = options.config;
    let (source_date_epoch, architecture) = checked_inputs(config)?;
    let layout = BuildLayout::fresh(&options.build_dir, source_date_epoch)?;
    // What prepare scripts read and write besides the tree is not known: such trees are
    // assembled afresh every time.
    let cache = options
        .cache
        .filter(|_| config.content.prepare_scripts.is_empty());
    let key = match cache {
        Some(_) => Some(build_tree_key(options, architecture, source_date_epoch)?),
        None => None,
    };
    let from_cache = match (cache, &key) {
        (Some(cache), Some(key)) => cache.restore(key, &layout.partial_root)?,
        _ => false,
    };
    if !from_cache {
        copy_trees(&config.content.skeleton_trees, &layout.partial_root)?;
        install_packages(
            options.packages,
            &layout.install_options(architecture, source_date_epoch),
            options.runner,
        )?;
        let context = layout.script_context(
            config,
            &options.src_dir,
            source_date_epoch,
            options.invoking_user,
            layout.work.join("logs/prepare.log"),
        );
        run_scripts(
            config,
            &context,
            ScriptKind::PrepareBuild,
            &config.content.prepare_scripts,
            options.runner,
        )?;
    }
    layout.finish_root()?;
    let origin = match (cache, key) {
        (Some(_), Some(key)) if from_cache => TreeOrigin::FromCache { key },
        (Some(cache), Some(key)) => {
            cache.store(&key, &layout.root)?;
            TreeOrigin::AssembledAndCached { key }
        }
        _ => TreeOrigin::Assembled,
    };
    Ok(BuildTree {
        root: layout.root.clone(),
        layout,
        src_dir: options.src_dir.clone(),
        invoking_user: options.invoking_user,
        source_date_epoch,
        origin,
    })
}

/// Everything a build tree without prepare scripts is made of: the packages (their verified
/// files: path, size and mtime; deb-resolver's cache names files by sha256), the resolved
/// configuration (which includes the environment), the skeleton trees' contents, the
/// architecture, SOURCE_DATE_EPOCH, the invoking user, and the running program (its
/// executable's size and mtime: a rebuilt assembler never reuses an older one's tree).
fn build_tree_key(
    options: &BuildTreeOptions<'_>,
    architecture: &str,
    source_date_epoch: u64,
) -> Result<CacheKey, Error> {
    let config = options.config;
    let mut key = KeyBuilder::default();
    key.field("build-tree", b"1")
        .field("architecture", architecture.as_bytes())
        .field("epoch", &source_date_epoch.to_le_bytes())
        .field("uid", &options.invoking_user.0.to_le_bytes())
        .field("gid", &options.invoking_user.1.to_le_bytes())
        .field("config", content_settings(config).to_json().as_bytes())
        .field("src", options.src_dir.as_os_str().as_encoded_bytes());
    // The running executable, even when a newer build has replaced its file since.
    file_fingerprint(&mut key, "program", Path::new("/proc/self/exe"))?;
    for deb in options.packages {
        key.field("package", deb.id.name.as_str().as_bytes())
            .field("version", deb.id.version.as_str().as_bytes())
            .field("arch", deb.id.architecture.as_str().as_bytes());
        key.field("sha256", &deb.sha256.0);
    }
    for tree in &config.content.skeleton_trees {
        key.path_contents("skeleton", &tree.source)?;
        let target = tree.target.as_deref().unwrap_or(Path::new("/"));
        key.field("target", target.as_os_str().as_encoded_bytes());
    }
    Ok(key.finish())
}

/// The configuration without what does not decide the tree's content: where packages are
/// downloaded from (they are in the key by their sha256) and which files the settings were
/// read from (the settings themselves are in the key). A script that reads `Mirror=` from
/// `$MKOSI_CONFIG` into the tree would escape the key; none is known to.
fn content_settings(config: &ImageConfig) -> ImageConfig {
    let mut config = config.clone();
    config.distribution.mirror = None;
    config.distribution.local_mirror = None;
    config.files_read.clear();
    config
}

/// A file's path, size and mtime.
fn file_fingerprint(key: &mut KeyBuilder, tag: &str, path: &Path) -> Result<(), Error> {
    let meta = fs::metadata(path).at(path)?;
    key.field(tag, path.as_os_str().as_encoded_bytes())
        .field("size", &meta.len().to_le_bytes())
        .field("mtime", &meta.mtime().to_le_bytes())
        .field("mtime-ns", &meta.mtime_nsec().to_le_bytes());
    Ok(())
}

impl BuildScriptOutputs {
    /// The `.deb` files in `$PACKAGEDIR` whose package name matches one of `specs` (globs
    /// allowed, as `VolatilePackages=`), by file name; and the specs that matched none.
    pub fn volatile_debs(
        &self,
        specs: &[PackageSpec],
    ) -> Result<(Vec<PathBuf>, Vec<String>), Error> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.package_dir)
            .at(&self.package_dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "deb"))
            .collect();
        files.sort();
        let mut names = Vec::with_capacity(files.len());
        for path in &files {
            names.push(read_deb(path)?.control.id.name.to_string());
        }
        let mut chosen = Vec::new();
        let mut unmatched = Vec::new();
        for spec in specs {
            let pattern = build_vocab::glob::Glob::new(&spec.name);
            let mut matched = false;
            for (path, name) in files.iter().zip(&names) {
                if pattern.matches(name) {
                    matched = true;
                    if !chosen.contains(path) {
                        chosen.push(path.clone());
                    }
                }
            }
            if !matched {
                unmatched.push(spec.name.clone());
            }
        }
        Ok((chosen, unmatched))
    }
}

impl BuildTree {
    /// Runs the configuration's `BuildScripts=` in order with an empty `$DESTDIR`. Their
    /// output goes to the returned log. They run through `runner`.
    pub fn run_build_scripts(
        &self,
        config: &ImageConfig,
        runner: &dyn CommandRunner,
    ) -> Result<BuildScriptOutputs, Error> {
        let dest_dir = self.layout.work.join("dest");
        if fs::symlink_metadata(&dest_dir).is_ok() {
            fs::remove_dir_all(&dest_dir).at(&dest_dir)?;
        }
        fs::create_dir_all(&dest_dir).at(&dest_dir)?;
        let logs = self.layout.work.join("logs");
        fs::create_dir_all(&logs).at(&logs)?;
        let log = logs.join("build-scripts.log");
        let mut context = self.layout.script_context(
            config,
            &self.src_dir,
            self.source_date_epoch,
            self.invoking_user,
            log.clone(),
        );
        context.root = self.root.clone();
        context.dest_dir = Some(dest_dir.clone());
        run_scripts(
            config,
            &context,
            ScriptKind::Build,
            &config.content.build_scripts,
            runner,
        )?;
        Ok(BuildScriptOutputs {
            dest_dir,
            package_dir: context.package_dir,
            log,
        })
    }

    /// A sandbox over the tree with `binds` below `/work`, for commands of other crates
    /// (a kernel build). No network.
    pub fn sandbox(&self, binds: Vec<Bind>) -> Sandbox {
        Sandbox {
            root: self.root.clone(),
            view: self.layout.work.join("view"),
            network: false,
            binds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use build_vocab::debian::testdeb::{TestCompression, TestEntry, control, write_deb};

    #[test]
    fn volatile_packages_are_chosen_by_package_name() {
        let dir = tempfile::tempdir().unwrap();
        let data = [TestEntry::Dir("./", 0o755)];
        // File names say nothing: the control file's Package: decides.
        for (file, package) in [
            ("a", "linux-image-7.2.12-flashbox-mkosi-cloud"),
            ("b", "attested-tls-proxy"),
            ("c", "unrelated"),
        ] {
            let text = control(package, "1.0", "");
            write_deb(dir.path(), file, &text, &[], &data, TestCompression::Gz);
        }
        std::fs::write(dir.path().join("notes.txt"), "not a package").unwrap();
        let outputs = BuildScriptOutputs {
            dest_dir: dir.path().join("dest"),
            package_dir: dir.path().to_path_buf(),
            log: dir.path().join("log"),
        };
        let specs: Vec<PackageSpec> = [
            "linux-image-*-mkosi-cloud",
            "attested-tls-proxy",
            "attested-*",
            "lighthouse",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let (chosen, missing) = outputs.volatile_debs(&specs).unwrap();
        assert_eq!(chosen, [dir.path().join("a.deb"), dir.path().join("b.deb")]);
        assert_eq!(missing, ["lighthouse"]);
    }
}
