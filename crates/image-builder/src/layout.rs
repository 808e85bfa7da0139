//! Where things live: the caches of a build, and the name of a definition's lock file.
//!
//! Both are naming rules that every front end must agree on (a lock written by `lock` must be
//! the one `image` reads; a kernel built by one build must be found by the next), so they are
//! one type each, here.

use std::path::{Path, PathBuf};

use deb_resolver::Cache;

use crate::error::Error;
use crate::request::{Definition, KernelChoice};

/// The caches of a build. By default all live under one root,
/// `$XDG_CACHE_HOME/flashbox-builder` (else `~/.cache/flashbox-builder`):
/// `deb-resolver/` (verified `.deb` files and indexes), `build-tree/` (finished build trees by
/// the key of their inputs) and `kernel/` (source-built kernels by the key of theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    /// Verified package files and archive indexes, content-addressed.
    pub packages: PathBuf,
    /// Finished build trees; `None` assembles every build tree afresh and keeps none.
    pub build_trees: Option<PathBuf>,
    /// Kernels built from source.
    pub kernels: PathBuf,
}

impl CacheLayout {
    /// Every cache under `root`.
    pub fn under(root: &Path) -> Self {
        Self {
            packages: root.join("deb-resolver"),
            build_trees: Some(root.join("build-tree")),
            kernels: root.join("kernel"),
        }
    }

    /// Every cache under the user's cache directory.
    pub fn for_user() -> Result<Self, Error> {
        let packages = Cache::default_root().ok_or(Error::NoCacheDirectory)?;
        let root = packages.parent().ok_or(Error::NoCacheDirectory)?;
        Ok(Self::under(root))
    }

    /// deb-resolver's cache of package files and indexes.
    pub fn package_cache(&self) -> Cache {
        Cache::new(&self.packages)
    }
}

/// The name of a definition's lock file: one lock per image, set of profiles and kind of
/// kernel, because each resolves to other packages.
///
/// A named image of a tree gets `images/<name>[+<profile>...][+kernel-source].lock` next to
/// its configuration; a tree without one gets `mkosi[+kernel-source].lock` at its top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockName {
    directory: PathBuf,
    stem: String,
    in_images: bool,
}

impl LockName {
    /// The lock name of `definition` built with `kernel`.
    pub fn new(definition: &Definition, kernel: &KernelChoice) -> Self {
        let mut stem = match &definition.image {
            Some(name) => {
                let mut stem = name.clone();
                for profile in &definition.profiles {
                    stem.push('+');
                    stem.push_str(profile);
                }
                stem
            }
            None => "mkosi".to_owned(),
        };
        if *kernel == KernelChoice::Source {
            stem.push_str("+kernel-source");
        }
        Self {
            directory: definition.directory.clone(),
            stem,
            in_images: definition.image.is_some(),
        }
    }

    /// The lock name of the subimage `name` of `definition`'s `mkosi.images/`:
    /// `mkosi.images/<name>[+<profile>...].lock` (profiles pass down to subimages).
    pub fn subimage(definition: &Definition, name: &str) -> Self {
        let mut stem = name.to_owned();
        for profile in &definition.profiles {
            stem.push('+');
            stem.push_str(profile);
        }
        Self {
            directory: definition.directory.join("mkosi.images"),
            stem,
            in_images: false,
        }
    }

    /// The file name without `.lock`: `flashbox-l1+gcp`.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The path in the tree.
    pub fn default_path(&self) -> PathBuf {
        let file = format!("{}.lock", self.stem);
        if self.in_images {
            self.directory.join("images").join(file)
        } else {
            self.directory.join(file)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_are_named_by_image_profiles_and_kernel() {
        let mut definition = Definition::image("/t", "l1");
        let package = KernelChoice::default_package();
        assert_eq!(
            LockName::new(&definition, &package).default_path(),
            Path::new("/t/images/l1.lock")
        );
        definition.profiles = vec!["gcp".into(), "azure".into()];
        let name = LockName::new(&definition, &KernelChoice::Source);
        assert_eq!(name.stem(), "l1+gcp+azure+kernel-source");
        assert_eq!(
            name.default_path(),
            Path::new("/t/images/l1+gcp+azure+kernel-source.lock")
        );
        // A plain tree: profiles are part of the tree's own configuration.
        let mut tree = Definition::tree("/t");
        tree.profiles = vec!["gcp".into()];
        assert_eq!(
            LockName::new(&tree, &package).default_path(),
            Path::new("/t/mkosi.lock")
        );
        assert_eq!(
            LockName::new(&tree, &KernelChoice::Source).default_path(),
            Path::new("/t/mkosi+kernel-source.lock")
        );
    }

    #[test]
    fn caches_share_one_root() {
        let layout = CacheLayout::under(Path::new("/c"));
        assert_eq!(layout.packages, Path::new("/c/deb-resolver"));
        assert_eq!(
            layout.build_trees.as_deref(),
            Some(Path::new("/c/build-tree"))
        );
        assert_eq!(layout.kernels, Path::new("/c/kernel"));
    }
}
