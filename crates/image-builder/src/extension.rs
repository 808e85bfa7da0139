//! `Format=sysext`: the image root as a system extension, laid out as mkosi's sysext
//! definitions for systemd-repart lay it out. The root's `/usr` and `/opt` become an EROFS
//! file system (rootfs-assembler's `mkfs`, the host's `mkfs.erofs` in the tools sandbox), then
//! repart-gpt puts it on a GPT disk with its dm-verity hash partition and, when a key and a
//! certificate are configured, the signature partition of the root hash.
//!
//! Every id derives from `Seed=`; without one (mkosi then draws a random seed) from the
//! output's name, so that the image stays reproducible.
//!
//! `Verity=` decides as in mkosi: `auto` (the default) signs when `VerityKey=` and
//! `VerityCertificate=` are both set (`mkosi.key`, `mkosi.crt`) and writes no verity at all
//! otherwise; `signed` requires them; `hash` writes the hash partition unsigned; `disabled`
//! neither.

use std::path::Path;

use config_model::ImageConfig;
use config_model::value::Verity;
use repart_gpt::extension::{ExtensionRequest, SigningMaterial, build_extension_image};

use crate::error::Error;
use crate::stage::{Observer, Stage, human_bytes};
use build_vocab::AtPath;

/// One extension image to write.
pub(crate) struct Extension<'a> {
    pub config: &'a ImageConfig,
    /// The finished image root (its `usr/` and `opt/` are moved out of it).
    pub root: &'a Path,
    /// The image's work directory.
    pub work_dir: &'a Path,
    /// The `.raw` to write.
    pub output: &'a Path,
    /// The output's name (without `.raw`): the seed's source when `Seed=` is not set.
    pub name: String,
    pub source_date_epoch: u64,
}

/// Writes the extension image; returns the stage's detail.
pub(crate) fn write(
    extension: &Extension<'_>,
    observer: &dyn Observer,
) -> Result<((), String), Error> {
    let rootfs = |source| Error::Rootfs {
        stage: Stage::Extension,
        source,
    };
    let config = extension.config;
    let seed = match config.output.seed {
        Some(config_model::Seed::Fixed(seed)) => seed,
        // mkosi draws a random seed; a name-derived one keeps the image reproducible.
        None => repart_gpt::ids::derive_uuid(uuid::Uuid::nil(), &extension.name),
        Some(config_model::Seed::Random) => return Err(Error::NoFixedSeed),
    };
    let verity = verity_of(config)?;
    let tree = extension.work_dir.join("extension-tree");
    rootfs_assembler::mkfs::extension_tree(extension.root, &tree, extension.source_date_epoch)
        .map_err(rootfs)?;
    observer.step(Stage::Extension, "mkfs.erofs");
    let file_system = extension.work_dir.join("extension-root.erofs");
    let uuid = repart_gpt::ids::derive_uuid(seed, "erofs-file-system").to_string();
    rootfs_assembler::mkfs::make_erofs(
        &rootfs_assembler::mkfs::Erofs {
            tree: &tree,
            output: &file_system,
            work: extension.work_dir,
            source_date_epoch: extension.source_date_epoch,
            uuid: &uuid,
        },
        &rootfs_assembler::NamespaceSandbox,
    )
    .map_err(rootfs)?;
    observer.step(Stage::Extension, "verity and the partition table");
    let signed = verity.signing.is_some();
    let built = build_extension_image(&ExtensionRequest {
        root_image: file_system.clone(),
        architecture: architecture_of(config)?,
        seed,
        verity: verity.hash,
        signing: verity.signing,
        output: extension.output.to_owned(),
    })
    .map_err(Error::Disk)?;
    let size = std::fs::metadata(extension.output)
        .at(extension.output)?
        .len();
    let fs_size = std::fs::metadata(&file_system).at(&file_system)?.len();
    std::fs::remove_file(&file_system).at(&file_system)?;
    std::fs::remove_dir_all(&tree).at(&tree)?;
    let protection = match &built.root_hash {
        Some(hash) => format!("verity root hash {}", &hash[..12]),
        None => "no verity".to_owned(),
    };
    let signed = if signed { ", signed" } else { "" };
    Ok((
        (),
        format!(
            "erofs {}, {protection}{signed}; {}",
            human_bytes(fs_size),
            human_bytes(size)
        ),
    ))
}

/// The verity an extension gets.
struct ExtensionVerity {
    /// The hash partition.
    hash: bool,
    /// The signature partition's key and certificate.
    signing: Option<SigningMaterial>,
}

/// The architecture as partition type names spell it.
fn architecture_of(config: &ImageConfig) -> Result<String, Error> {
    match config.distribution.architecture {
        None | Some(config_model::Architecture::X86_64) => Ok("x86-64".to_owned()),
        Some(config_model::Architecture::Arm64) => Ok("arm64".to_owned()),
        Some(other) => Err(Error::Verity {
            reason: format!("system extensions for {other} are not supported"),
        }),
    }
}

/// What `Verity=` with the configured key and certificate asks for.
fn verity_of(config: &ImageConfig) -> Result<ExtensionVerity, Error> {
    let validation = &config.validation;
    let signing = match (&validation.verity_key, &validation.verity_certificate) {
        (Some(key), Some(certificate)) => Some((key, certificate)),
        _ => None,
    };
    let signed = |(key, certificate): (&std::path::PathBuf, &std::path::PathBuf)| {
        Ok::<_, Error>(ExtensionVerity {
            hash: true,
            signing: Some(SigningMaterial {
                key_pem: std::fs::read_to_string(key).at(key)?,
                cert_pem: std::fs::read_to_string(certificate).at(certificate)?,
            }),
        })
    };
    let unsigned = |hash| {
        Ok(ExtensionVerity {
            hash,
            signing: None,
        })
    };
    match (validation.verity.unwrap_or(Verity::Auto), signing) {
        (Verity::Auto | Verity::Signed, Some(pair)) => signed(pair),
        (Verity::Auto | Verity::Disabled, _) => unsigned(false),
        (Verity::Hash, _) => unsigned(true),
        (Verity::Signed, None) => Err(Error::Verity {
            reason: "Verity=signed needs VerityKey= and VerityCertificate= (or mkosi.key and \
                     mkosi.crt next to mkosi.conf)"
                .into(),
        }),
        (Verity::Defer, _) => Err(Error::Verity {
            reason: "Verity=defer is not implemented".into(),
        }),
    }
}
