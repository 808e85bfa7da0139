//! The cloud disks: a GPT disk whose ESP holds the UKI as `EFI/BOOT/BOOTX64.EFI`, written as
//! GCP's `disk.raw` in a tar.gz (profile `gcp`) and as Azure's fixed VHD (profile `azure`).
//! The ESP is sized for the UKI with repart-gpt's default headroom; every id derives from
//! the definition's fixed `Seed=`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use config_model::ImageConfig;
use repart_gpt::OutputKind;

use crate::error::Error;
use crate::stage::human_bytes;
use build_vocab::AtPath;

/// The profile that asks for the GCP tar.gz.
pub const GCP_PROFILE: &str = "gcp";
/// The profile that asks for the Azure VHD.
pub const AZURE_PROFILE: &str = "azure";

/// The disks a build wrote.
#[derive(Debug, Clone, Default)]
pub(crate) struct DisksWritten {
    /// Their paths, in repart-gpt's output order.
    pub paths: Vec<PathBuf>,
    /// The disk's first bytes up to the end of its primary partition entries (for its
    /// measurement), when there is a disk.
    pub primary_tables: Option<Vec<u8>>,
}

/// Writes the disks the profiles of `config` ask for into `output_dir` as `<name>.*`;
/// returns them and the stage's detail.
pub(crate) fn write(
    config: &ImageConfig,
    uki: &Path,
    output_dir: &Path,
    name: &str,
    source_date_epoch: u64,
) -> Result<(DisksWritten, String), Error> {
    let profiles = &config.config.profiles;
    let outputs: BTreeSet<OutputKind> = [
        (GCP_PROFILE, OutputKind::GcpTarGz),
        (AZURE_PROFILE, OutputKind::AzureVhd),
    ]
    .into_iter()
    .filter(|(profile, _)| profiles.iter().any(|p| p == profile))
    .map(|(_, kind)| kind)
    .collect();
    if outputs.is_empty() {
        return Ok((
            DisksWritten::default(),
            "no gcp/azure profile: none".to_owned(),
        ));
    }
    let directories: Vec<&Path> = config
        .output
        .repart_directories
        .iter()
        .map(PathBuf::as_path)
        .collect();
    let mut definitions = repart_gpt::read_definitions(&directories).map_err(Error::Disk)?;
    let uki_len = std::fs::metadata(uki).at(uki)?.len();
    for definition in definitions.iter_mut().filter(|d| d.partition_type.is_esp()) {
        definition.size_min_bytes = Some(repart_gpt::esp_min_size(
            uki_len,
            repart_gpt::DEFAULT_ESP_HEADROOM,
        ));
    }
    let Some(config_model::Seed::Fixed(seed)) = config.output.seed else {
        return Err(Error::NoFixedSeed);
    };
    let built = repart_gpt::build_image(&repart_gpt::ImageRequest {
        definitions,
        uki: repart_gpt::UkiSource::File(uki.to_owned()),
        copy_source_root: None,
        seed,
        source_date_epoch,
        disk_size: None,
        output_dir: output_dir.to_owned(),
        name: name.to_owned(),
        outputs,
        gzip_level: 6,
    })
    .map_err(Error::Disk)?;
    let detail = built
        .files
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.path.file_name().unwrap_or_default().to_string_lossy(),
                human_bytes(f.size)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let primary_tables = repart_gpt::table::primary_tables(&built.layout).map_err(Error::Disk)?;
    let written = DisksWritten {
        paths: built.files.into_iter().map(|f| f.path).collect(),
        primary_tables: Some(primary_tables),
    };
    Ok((written, detail))
}
