//! The flags that change what a build resolves, shared by `image`, `lock`, `why` and
//! `bench resolve`, turned into image-builder's [`ResolveRequest`] (which decides the rest:
//! the kernel package added, the archives read, the lock file's name), and the TDX
//! firmware flags of `image` and `measure`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use image_builder::{ArchiveChoice, KernelChoice, ResolveRequest};

use crate::summary::DefinitionArgs;

/// Where the kernel comes from.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KernelSource {
    /// A Debian kernel package, added to the image's packages (fast).
    Debian,
    /// Built by kernel-builder from Debian's linux-source-X.Y (X.Y from `KERNEL_VERSION`) in
    /// the build tree, with the image's config fragments and patches.
    Source,
}

/// The flags that change what a build resolves, besides the definition itself.
#[derive(Args)]
pub(crate) struct BuildArgs {
    /// Where the kernel comes from.
    #[arg(long, value_enum, default_value = "debian")]
    pub kernel: KernelSource,
    /// The Debian kernel package used with `--kernel debian`.
    #[arg(long, default_value = "linux-image-cloud-amd64")]
    pub kernel_package: String,
    /// The Debian mirror's base URL (`debian` and `debian-security` are joined to it; a URL
    /// ending in `/debian` is taken as the archive root), overriding `Mirror=`, as mkosi's
    /// `--mirror` (default: the archives of the host's apt configuration).
    #[arg(long, short = 'm')]
    pub mirror: Option<String>,
    /// The snapshot service's base URL (archives under `<base>/archive/debian/<id>/`): read
    /// for `Snapshot=` when `Mirror=` is unset, and for locked packages the mirror no longer
    /// serves, from the snapshot of their locked Release date.
    #[arg(long, env = "FLASHBOX_SNAPSHOT_MIRROR")]
    pub snapshot_mirror: Option<String>,
}

/// The lock file flag of the commands that read or write a lock.
#[derive(Args)]
pub(crate) struct LockFileArgs {
    /// The lock file (default: `images/<name>[+profile...][+kernel-source].lock` in the tree,
    /// or `mkosi.lock` for a tree without NAME).
    #[arg(long)]
    pub lock_file: Option<PathBuf>,
}

/// The TDX firmware whose MRTD the measurements report, shared by `image` and `measure`.
#[derive(Args)]
pub(crate) struct TdxFirmwareArgs {
    /// A TDX firmware image (TDVF: OVMF built with TDX support, e.g. the `ovmf` package's
    /// `/usr/share/ovmf/OVMF.fd`) to compute MRTD from (default: MRTD is not computed).
    #[arg(long, env = "FLASHBOX_TDX_FIRMWARE")]
    pub tdx_firmware: Option<PathBuf>,
    /// The order in which the VMM adds the firmware's pages: single-pass (QEMU 9 and later
    /// with upstream KVM) or two-pass (QEMU 8 TDX stacks).
    #[arg(long, default_value = "single-pass", requires = "tdx_firmware")]
    pub page_order: tdx_measure::PageOrder,
}

impl TdxFirmwareArgs {
    /// The firmware to measure, if one was given.
    pub(crate) fn firmware(&self) -> Option<image_builder::measure::TdxFirmware> {
        self.tdx_firmware
            .clone()
            .map(|path| image_builder::measure::TdxFirmware {
                path,
                page_order: self.page_order,
            })
    }
}

impl BuildArgs {
    /// The resolve request of `definition` with these flags and the lock file `lock_file`
    /// (`None`: the definition's own).
    pub(crate) fn request(
        &self,
        definition: &DefinitionArgs,
        lock_file: Option<&LockFileArgs>,
    ) -> Result<ResolveRequest> {
        let mut definition = definition.definition()?;
        definition.mirror.clone_from(&self.mirror);
        Ok(ResolveRequest {
            definition,
            kernel: match self.kernel {
                KernelSource::Debian => KernelChoice::Package(self.kernel_package.clone()),
                KernelSource::Source => KernelChoice::Source,
            },
            archive: ArchiveChoice {
                snapshot_service: self.snapshot_mirror.clone(),
                ..ArchiveChoice::default()
            },
            lock_file: lock_file.and_then(|l| l.lock_file.clone()),
        })
    }
}
