//! The fast default: the kernel of a Debian `linux-image-*` package, as installed in a root
//! filesystem (or unpacked into any directory): `boot/vmlinuz-<release>` and, when the
//! configuration keeps modules, `usr/lib/modules/<release>`.

use std::path::{Path, PathBuf};

use crate::error::KernelError;
use build_vocab::AtPath;

/// A kernel found in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledKernel {
    /// The release string (`uname -r`), e.g. `6.12.48+deb13-cloud-amd64`: the UKI's `.uname`.
    pub release: String,
    /// The kernel image.
    pub vmlinuz: PathBuf,
    /// Its modules directory, if the package installed one.
    pub modules: Option<PathBuf>,
}

/// Finds the one kernel installed under `root`. With several, `release` picks one; without it,
/// several kernels are an error that lists them.
pub fn find_installed_kernel(
    root: &Path,
    release: Option<&str>,
) -> Result<InstalledKernel, KernelError> {
    let boot = root.join("boot");
    let mut releases: Vec<String> = std::fs::read_dir(&boot)
        .at(&boot)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let release = name.strip_prefix("vmlinuz-")?.to_owned();
            entry.path().is_file().then_some(release)
        })
        .collect();
    releases.sort();
    let chosen = match (release, releases.as_slice()) {
        (Some(wanted), found) if found.iter().any(|r| r == wanted) => wanted.to_owned(),
        (None, [only]) => only.clone(),
        (_, found) => {
            return Err(KernelError::KernelNotFound {
                root: root.to_owned(),
                wanted: release.map(str::to_owned),
                found: found.to_vec(),
            });
        }
    };
    let modules = root.join("usr/lib/modules").join(&chosen);
    Ok(InstalledKernel {
        vmlinuz: boot.join(format!("vmlinuz-{chosen}")),
        modules: modules.is_dir().then_some(modules),
        release: chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(kernels: &[&str], modules: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("boot")).unwrap();
        std::fs::write(dir.path().join("boot/config-ignored"), "").unwrap();
        for release in kernels {
            std::fs::write(dir.path().join(format!("boot/vmlinuz-{release}")), "").unwrap();
        }
        for release in modules {
            std::fs::create_dir_all(dir.path().join("usr/lib/modules").join(release)).unwrap();
        }
        dir
    }

    #[test]
    fn the_only_kernel_is_found_with_its_modules() {
        let dir = tree(
            &["6.12.48+deb13-cloud-amd64"],
            &["6.12.48+deb13-cloud-amd64"],
        );
        let kernel = find_installed_kernel(dir.path(), None).unwrap();
        assert_eq!(kernel.release, "6.12.48+deb13-cloud-amd64");
        assert!(
            kernel
                .vmlinuz
                .ends_with("boot/vmlinuz-6.12.48+deb13-cloud-amd64")
        );
        assert!(kernel.modules.is_some());
    }

    #[test]
    fn several_kernels_need_a_choice() {
        let dir = tree(&["6.1.0-1-cloud-amd64", "6.12.0-1-cloud-amd64"], &[]);
        let err = find_installed_kernel(dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "several kernels installed, choose one: 6.1.0-1-cloud-amd64, 6.12.0-1-cloud-amd64"
            ),
            "{err}"
        );
        let kernel = find_installed_kernel(dir.path(), Some("6.1.0-1-cloud-amd64")).unwrap();
        assert_eq!(kernel.modules, None);
        let err = find_installed_kernel(dir.path(), Some("7.0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no boot/vmlinuz-7.0; installed:"), "{err}");
        let empty = tree(&[], &[]);
        let err = find_installed_kernel(empty.path(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("no kernel installed (no boot/vmlinuz-*)"),
            "{err}"
        );
    }
}
