//! The whole pipeline step: definitions + UKI + seed + SOURCE_DATE_EPOCH in, disk files out.
//!
//! [`emit_disk`] is the pure byte pass over a [`Layout`]: FAT volumes for the formatted
//! partitions, then the partition tables, into one [`SparseImage`]. [`build_image`] wraps the
//! I/O around it: it reads the UKI, stages it as `/uki.efi` for `CopyFiles=`, makes sure the ESP
//! holds it as `EFI/BOOT/BOOTX64.EFI`, plans, emits, and writes the requested files.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use crate::content::{CopySource, FileTree, Node, stage_contents};
use crate::definition::{Format, PartitionDefinition};
use crate::error::{Error, Result};
use crate::fat;
use crate::ids;
use crate::layout::{Layout, PlanOptions, plan};
use crate::output;
use crate::sparse::SparseImage;
use crate::table;
use build_vocab::AtPath;

/// Where the UKI is staged for `CopyFiles=` (the Flashbox profiles copy `/uki.efi`).
pub const UKI_STAGED_PATH: &str = "/uki.efi";
/// Where UEFI firmware looks for the default x86-64 boot loader, relative to the ESP root.
pub const DEFAULT_BOOT_LOADER: [&str; 3] = ["EFI", "BOOT", "BOOTX64.EFI"];
/// The room the Flashbox profiles leave on the ESP next to the UKI.
pub const DEFAULT_ESP_HEADROOM: u64 = 32 << 20;
/// The file name of the raw disk.
pub const RAW_FILE_NAME: &str = "disk.raw";

/// `SizeMinBytes=` for an ESP that holds a UKI of `uki_len` bytes and `headroom` more bytes,
/// in whole MiB (the Flashbox profiles: `esp_min_size(uki_len, DEFAULT_ESP_HEADROOM)`).
pub fn esp_min_size(uki_len: u64, headroom: u64) -> u64 {
    (uki_len + headroom).div_ceil(1 << 20) * (1 << 20)
}

/// The base name of image outputs as the Flashbox profile scripts form it: the image id
/// (`image` when unset), then `_` and the version when there is one.
pub fn output_name(image_id: Option<&str>, image_version: Option<&str>) -> String {
    let id = image_id.filter(|s| !s.is_empty()).unwrap_or("image");
    match image_version.filter(|s| !s.is_empty()) {
        Some(version) => format!("{id}_{version}"),
        None => id.to_owned(),
    }
}

/// The UKI: bytes in memory or a file to read.
#[derive(Debug, Clone)]
pub enum UkiSource {
    /// The UKI's bytes.
    Bytes(Arc<[u8]>),
    /// A file holding the UKI.
    File(PathBuf),
}

/// Everything [`build_image`] needs.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// The partition definitions (see [`crate::read_definitions`]), with any size the caller
    /// computed already set (see [`esp_min_size`]).
    pub definitions: Vec<PartitionDefinition>,
    /// The UKI, staged as [`UKI_STAGED_PATH`] and placed at `EFI/BOOT/BOOTX64.EFI` on the ESP.
    pub uki: UkiSource,
    /// The directory other `CopyFiles=` sources are found under, if any.
    pub copy_source_root: Option<PathBuf>,
    /// The seed of every derived identifier (systemd-repart's `--seed=`). A caller that wants
    /// fresh ids draws a random one; the same seed gives the same disk.
    pub seed: Uuid,
    /// SOURCE_DATE_EPOCH: every timestamp in the outputs.
    pub source_date_epoch: u64,
    /// The disk size: `None` for the smallest whole number of MiB that holds the partitions.
    pub disk_size: Option<u64>,
    /// Where the files go.
    pub output_dir: PathBuf,
    /// The base name of the tar.gz and VHD (see [`output_name`]).
    pub name: String,
    /// Which files to write.
    pub outputs: BTreeSet<OutputKind>,
    /// gzip level of the GCP archive, 0-9.
    pub gzip_level: u32,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// What it is.
    pub kind: OutputKind,
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// The kinds of file [`build_image`] writes, in the order it writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputKind {
    /// `disk.raw`, a sparse raw disk.
    Raw,
    /// `<name>.tar.gz` holding `disk.raw`, for GCP.
    GcpTarGz,
    /// `<name>.vhd`, a fixed VHD, for Azure.
    AzureVhd,
}

/// What [`build_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The plan of the disk.
    pub layout: Layout,
    /// The files written, in the order of [`OutputKind`].
    pub files: Vec<OutputFile>,
}

/// Writes the disk `layout` describes: each formatted partition's file system filled with its
/// content (same order as the layout's partitions), and the partition tables. Pure: the bytes
/// depend only on the arguments.
pub fn emit_disk(
    layout: &Layout,
    contents: &[FileTree],
    source_date_epoch: u64,
) -> Result<SparseImage> {
    assert_eq!(
        layout.partitions.len(),
        contents.len(),
        "one content tree per partition"
    );
    let mut disk = SparseImage::new(layout.disk_size);
    for (partition, content) in layout.partitions.iter().zip(contents) {
        if let Some(volume) = &partition.filesystem {
            let image = fat::build_volume(partition, volume, content, source_date_epoch)?;
            disk.place(partition.offset(), image)
                .map_err(|source| Error::Fat {
                    number: partition.number,
                    source,
                })?;
        }
    }
    table::write_tables(layout, &mut disk)?;
    Ok(disk)
}

/// Puts the UKI at `EFI/BOOT/BOOTX64.EFI` on the first `esp` partition with `Format=vfat`,
/// unless a `CopyFiles=` already put something there.
pub fn place_uki(
    definitions: &[PartitionDefinition],
    contents: &mut [FileTree],
    uki: &Arc<[u8]>,
) -> Result<()> {
    let index = definitions
        .iter()
        .position(|d| d.partition_type.is_esp() && d.format == Some(Format::Vfat))
        .ok_or(Error::NoEsp)?;
    let path: Vec<String> = DEFAULT_BOOT_LOADER.map(String::from).to_vec();
    let tree = &mut contents[index];
    match tree.find_case_insensitive(&path) {
        Some((_, Node::File(_))) => Ok(()),
        _ => tree.add_file(&path, Arc::clone(uki), &definitions[index].path),
    }
}

/// Builds the disk and writes the requested files into `request.output_dir`.
pub fn build_image(request: &ImageRequest) -> Result<BuiltImage> {
    let uki: Arc<[u8]> = match &request.uki {
        UkiSource::Bytes(bytes) => Arc::clone(bytes),
        UkiSource::File(path) => fs::read(path).at(path)?.into(),
    };
    let source = CopySource {
        staged: BTreeMap::from([(UKI_STAGED_PATH.to_owned(), Arc::clone(&uki))]),
        root: request.copy_source_root.clone(),
    };
    let mut contents = stage_contents(&request.definitions, &source)?;
    place_uki(&request.definitions, &mut contents, &uki)?;
    let seed = request.seed;
    let layout = plan(
        &request.definitions,
        &contents,
        &PlanOptions {
            seed,
            disk_size: request.disk_size,
        },
    )?;
    let disk = emit_disk(&layout, &contents, request.source_date_epoch)?;
    drop(contents);

    let dir = request.output_dir.as_path();
    fs::create_dir_all(dir).at(dir)?;
    let mut files = Vec::new();
    let mut record = |kind, path: PathBuf| -> Result<()> {
        let size = fs::metadata(&path).at(&path)?.len();
        files.push(OutputFile { kind, path, size });
        Ok(())
    };
    for &kind in &request.outputs {
        let path = match kind {
            OutputKind::Raw => dir.join(RAW_FILE_NAME),
            OutputKind::GcpTarGz => dir.join(format!("{}.tar.gz", request.name)),
            OutputKind::AzureVhd => dir.join(format!("{}.vhd", request.name)),
        };
        match kind {
            OutputKind::Raw => output::write_raw(&disk, &path)?,
            OutputKind::GcpTarGz => output::write_gcp_tar_gz(
                &disk,
                &path,
                request.source_date_epoch,
                request.gzip_level,
            )?,
            OutputKind::AzureVhd => output::write_fixed_vhd(
                &disk,
                &path,
                request.source_date_epoch,
                ids::vhd_unique_id(seed),
            )?,
        }
        record(kind, path)?;
    }
    Ok(BuiltImage { layout, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_sizes_and_names() {
        assert_eq!(esp_min_size(0, DEFAULT_ESP_HEADROOM), 32 << 20);
        assert_eq!(esp_min_size(1, DEFAULT_ESP_HEADROOM), 33 << 20);
        assert_eq!(esp_min_size(5 << 20, DEFAULT_ESP_HEADROOM), 37 << 20);
        assert_eq!(output_name(Some("flashbox"), Some("1.2")), "flashbox_1.2");
        assert_eq!(output_name(Some("flashbox"), None), "flashbox");
        assert_eq!(output_name(None, Some("")), "image");
    }
}
