//! The one test helper of this crate: synthetic stubs written with `object`'s PE writer,
//! sample inputs, external tools, and (in [`debs`]) the real stub and kernel from Debian.

pub(crate) mod boot_kit;
pub(crate) mod debs;

use std::path::Path;
use std::process::{Command, Output};

use object::LittleEndian as LE;
use object::pe;
use object::write::pe::{NtHeaders, Writer};
use uki_stitcher::{OsRelease, Sbat, UkiInputs};

/// The SBAT text systemd-stub carries, shortened.
pub(crate) const STUB_SBAT: &str = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n\
    systemd,1,The systemd Developers,systemd,257,https://systemd.io/\n\0";

/// A section of a synthetic stub.
pub(crate) struct StubSection {
    pub name: &'static str,
    pub data: Vec<u8>,
    pub code: bool,
}

impl StubSection {
    pub(crate) fn new(name: &'static str, data: impl Into<Vec<u8>>) -> StubSection {
        StubSection {
            name,
            data: data.into(),
            code: false,
        }
    }
}

/// What a synthetic stub looks like.
pub(crate) struct StubSpec {
    /// PE32+ (64-bit); PE32 otherwise.
    pub pe32_plus: bool,
    pub section_alignment: u32,
    pub file_alignment: u32,
    pub sections: Vec<StubSection>,
    /// Appended as a certificate table (sets the security directory).
    pub certificate: Option<Vec<u8>>,
}

impl StubSpec {
    /// Like a modern systemd-stub: 4 KiB sections, `.text`, `.sbat`, `.sdmagic`.
    pub(crate) fn modern() -> StubSpec {
        StubSpec {
            pe32_plus: true,
            section_alignment: 0x1000,
            file_alignment: 0x1000,
            sections: vec![
                StubSection {
                    name: ".text",
                    data: vec![0xcc; 0x1234],
                    code: true,
                },
                StubSection::new(".sbat", STUB_SBAT),
                StubSection::new(".sdmagic", &b"#### LoaderInfo: systemd-stub 257 ####\0"[..]),
            ],
            certificate: None,
        }
    }

    /// A PE32+ EFI application with these sections, written by `object`.
    pub(crate) fn build(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let mut writer = Writer::new(
            self.pe32_plus,
            self.section_alignment,
            self.file_alignment,
            &mut data,
        );
        writer.reserve_dos_header_and_stub();
        writer.reserve_nt_headers(16);
        writer.reserve_section_headers(self.sections.len() as u16);
        let ranges: Vec<_> = self
            .sections
            .iter()
            .map(|s| {
                let mut name = [0; 8];
                name[..s.name.len()].copy_from_slice(s.name.as_bytes());
                let flags = if s.code {
                    pe::IMAGE_SCN_CNT_CODE | pe::IMAGE_SCN_MEM_EXECUTE | pe::IMAGE_SCN_MEM_READ
                } else {
                    pe::IMAGE_SCN_CNT_INITIALIZED_DATA | pe::IMAGE_SCN_MEM_READ
                };
                writer.reserve_section(name, flags, s.data.len() as u32, s.data.len() as u32)
            })
            .collect();
        if let Some(certificate) = &self.certificate {
            writer.reserve_certificate_table(certificate.len() as u32);
        }
        writer.write_dos_header_and_stub().unwrap();
        writer.write_nt_headers(NtHeaders {
            machine: if self.pe32_plus {
                pe::IMAGE_FILE_MACHINE_AMD64
            } else {
                pe::IMAGE_FILE_MACHINE_I386
            },
            time_date_stamp: 0,
            characteristics: pe::IMAGE_FILE_EXECUTABLE_IMAGE,
            major_linker_version: 0,
            minor_linker_version: 0,
            address_of_entry_point: ranges[0].virtual_address,
            image_base: 0,
            major_operating_system_version: 0,
            minor_operating_system_version: 0,
            major_image_version: 0,
            minor_image_version: 0,
            major_subsystem_version: 0,
            minor_subsystem_version: 0,
            subsystem: pe::IMAGE_SUBSYSTEM_EFI_APPLICATION,
            dll_characteristics: pe::DllFlags(0),
            size_of_stack_reserve: 0,
            size_of_stack_commit: 0,
            size_of_heap_reserve: 0,
            size_of_heap_commit: 0,
        });
        writer.write_section_headers();
        for (section, range) in self.sections.iter().zip(&ranges) {
            writer.write_section(range.file_offset, &section.data);
        }
        if let Some(certificate) = &self.certificate {
            writer.write_certificate_table(certificate);
        }
        data
    }
}

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
