//! The one test helper of this crate: writes definition trees, builds disks through the
//! public API, runs the external tools that judge them, and says where two disks differ.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use repart_gpt::{
    BuiltImage, ImageRequest, Layout, OutputKind, Region, UkiSource, build_image, read_definitions,
};

/// The seed the tests use unless they say otherwise.
pub(crate) const SEED: &str = "630b5f72-a36a-4e83-b23d-6ef47c82fd9c";

/// The Flashbox GCP profile's ESP definition (fixtures/mkosi.profiles/gcp/repart/00-esp.conf).
pub(crate) fn gcp_esp_definition() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mkosi.profiles/gcp/repart/00-esp.conf");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes `files` (name, text) into `dir`, creating it.
pub(crate) fn write_definitions(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
}

/// `len` bytes that look like nothing in particular (an xorshift stream), standing in for a UKI
/// where only the bytes matter.
pub(crate) fn fake_uki(len: usize, salt: u64) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Builds from the definitions in `defs_dir` with `uki` into `out_dir`, all outputs, name
/// `image_1.0`, SOURCE_DATE_EPOCH 0, the ESP sized as the Flashbox profiles size it.
pub(crate) fn build_all(defs_dir: &Path, uki: &[u8], out_dir: &Path) -> BuiltImage {
    build_with(defs_dir, uki, out_dir, None, SEED)
}

/// [`build_all`] with a copy source directory and a seed.
pub(crate) fn build_with(
    defs_dir: &Path,
    uki: &[u8],
    out_dir: &Path,
    copy_source_root: Option<&Path>,
    seed: &str,
) -> BuiltImage {
    let mut definitions = read_definitions(&[defs_dir]).unwrap();
    for def in definitions.iter_mut().filter(|d| d.partition_type.is_esp()) {
        if def.size_min_bytes.is_none() {
            def.size_min_bytes = Some(repart_gpt::esp_min_size(
                uki.len() as u64,
                repart_gpt::DEFAULT_ESP_HEADROOM,
            ));
        }
    }
    build_image(&ImageRequest {
        definitions,
        uki: UkiSource::Bytes(Arc::from(uki)),
        copy_source_root: copy_source_root.map(Path::to_owned),
        seed: seed.parse().unwrap(),
        source_date_epoch: 0,
        disk_size: None,
        output_dir: out_dir.to_owned(),
        name: "image_1.0".into(),
        outputs: [OutputKind::Raw, OutputKind::GcpTarGz, OutputKind::AzureVhd].into(),
        gzip_level: 6,
    })
    .unwrap()
}

/// The path of the output of `kind`.
pub(crate) fn output(built: &BuiltImage, kind: OutputKind) -> PathBuf {
    built
        .files
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} output"))
        .path
        .clone()
}

/// Fails the test with an install hint when `program` is not on PATH.
pub(crate) fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "{program} is missing: install the Debian package `{package}` (cargo xtask test does)"
    );
}

/// Runs a command and returns its output, failing the test (with stdout and stderr) unless it
/// exits 0.
pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    run_env(program, args, &[])
}

/// [`run`] with extra environment variables.
pub(crate) fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Stdout of a command, as text.
pub(crate) fn stdout(program: &str, args: &[&str]) -> String {
    String::from_utf8(run(program, args).stdout).unwrap()
}

/// Copies bytes `[offset, offset + len)` of `image` into a new file `to`.
pub(crate) fn extract(image: &Path, offset: u64, len: u64, to: &Path) {
    let bytes = fs::read(image).unwrap();
    fs::write(to, &bytes[offset as usize..(offset + len) as usize]).unwrap();
}

/// `None` when the files are equal, else where they first differ, named by disk region.
pub(crate) fn first_difference(a: &Path, b: &Path, layout: &Layout) -> Option<String> {
    let a_bytes = fs::read(a).unwrap();
    let b_bytes = fs::read(b).unwrap();
    if a_bytes == b_bytes {
        return None;
    }
    let at = a_bytes
        .iter()
        .zip(&b_bytes)
        .position(|(x, y)| x != y)
        .unwrap_or(a_bytes.len().min(b_bytes.len()));
    let region = if (at as u64) < layout.disk_size {
        format!("{:?}", layout.region_at(at as u64))
    } else {
        format!(
            "{:?} (past the disk: a footer or archive)",
            Region::Unallocated
        )
    };
    Some(format!(
        "{} and {} differ at byte {at} ({region}); lengths {} and {}",
        a.display(),
        b.display(),
        a_bytes.len(),
        b_bytes.len()
    ))
}

/// One partition as `sgdisk -i` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SgdiskPartition {
    pub type_guid: String,
    pub unique_guid: String,
    pub first: u64,
    pub last: u64,
    pub name: String,
}

/// The disk GUID and partitions of an image, read with `sgdisk`.
pub(crate) fn sgdisk_read(image: &Path, count: u32) -> (String, Vec<SgdiskPartition>) {
    let image = image.to_str().unwrap();
    let listing = stdout("sgdisk", &["-p", image]);
    let disk_guid = field(&listing, "Disk identifier (GUID):");
    let partitions = (1..=count)
        .map(|n| {
            let info = stdout("sgdisk", &["-i", &n.to_string(), image]);
            SgdiskPartition {
                type_guid: field(&info, "Partition GUID code:")
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_lowercase(),
                unique_guid: field(&info, "Partition unique GUID:").to_lowercase(),
                first: field(&info, "First sector:")
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap(),
                last: field(&info, "Last sector:")
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap(),
                name: field(&info, "Partition name:")
                    .trim_matches('\'')
                    .to_owned(),
            }
        })
        .collect();
    (disk_guid.to_lowercase(), partitions)
}

fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"))
        .trim()
        .to_owned()
}
