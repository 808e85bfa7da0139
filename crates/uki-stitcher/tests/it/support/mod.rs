//! The one test helper of this crate: synthetic stubs (the crate's `synthetic-pe` feature),
//! sample inputs, external tools, and (in [`debs`]) the real stub and kernel from Debian.

pub(crate) mod boot_kit;
pub(crate) mod debs;

use std::path::Path;
use std::process::{Command, Output};

use object::LittleEndian as LE;
use object::pe;
use uki_stitcher::{OsRelease, Sbat, UkiInputs};

pub(crate) use uki_stitcher::synthetic::{STUB_SBAT, StubSection, StubSpec};

/// Sets the COFF header's symbol table pointer and count of a PE image.
pub(crate) fn set_symbol_table(image: &mut [u8], pointer: u32, count: u32) {
    let offset = u32::from_le_bytes(image[0x3c..0x40].try_into().unwrap()) as usize + 4;
    let (header, _) = object::pod::from_bytes_mut::<pe::ImageFileHeader>(&mut image[offset..])
        .expect("COFF header");
    header.pointer_to_symbol_table.set(LE, pointer);
    header.number_of_symbols.set(LE, count);
}

/// Inputs with small fake contents around `stub`: the kernel is not a PE image.
pub(crate) fn sample_inputs<'a>(
    stub: &'a [u8],
    kernel: &'a [u8],
    initrd: &'a [u8],
) -> UkiInputs<'a> {
    UkiInputs {
        stub,
        linux: kernel,
        initrds: vec![initrd],
        cmdline: Some("console=ttyS0 quiet".into()),
        os_release: Some(OsRelease::parse("ID=debian\nVERSION_ID=\"13\"\n").unwrap()),
        uname: Some(uki_stitcher::Uname::new("6.12.0-1-amd64").unwrap()),
        sbat: Sbat::uki_default(),
        splash: None,
        devicetree: None,
    }
}

/// Runs a command, panicking with its stderr when it fails.
pub(crate) fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// One row of `objdump -h`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ObjdumpSection {
    pub name: String,
    pub size: u64,
    pub vma: u64,
    pub file_offset: u64,
}

/// The section rows `objdump -h` prints for a file.
pub(crate) fn objdump_sections(file: &Path) -> Vec<ObjdumpSection> {
    let output = run(Command::new("objdump").arg("-h").arg(file));
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                [index, name, size, vma, _lma, offset, _align] if index.parse::<u32>().is_ok() => {
                    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
                    Some(ObjdumpSection {
                        name: name.to_owned(),
                        size: hex(size),
                        vma: hex(vma),
                        file_offset: hex(offset),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// A temporary directory.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("uki-stitcher-test-")
        .tempdir()
        .unwrap()
}
