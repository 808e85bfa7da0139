//! Small synthetic PE images written with `object`'s PE writer: stubs shaped like
//! systemd-stub (and PE kernels), for the tests of this crate and of crates that read UKIs
//! (feature `synthetic-pe`). Not for building real images.

use object::pe;
use object::write::pe::{NtHeaders, Writer};

/// The SBAT text systemd-stub carries, shortened.
pub const STUB_SBAT: &str = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n\
    systemd,1,The systemd Developers,systemd,257,https://systemd.io/\n\0";

/// A section of a synthetic stub.
pub struct StubSection {
    /// The section name (at most 8 bytes).
    pub name: &'static str,
    /// Its contents (raw size and virtual size alike).
    pub data: Vec<u8>,
    /// Code (executable) rather than initialized data.
    pub code: bool,
}

impl StubSection {
    /// A data section.
    pub fn new(name: &'static str, data: impl Into<Vec<u8>>) -> StubSection {
        StubSection {
            name,
            data: data.into(),
            code: false,
        }
    }
}

/// What a synthetic stub looks like.
pub struct StubSpec {
    /// PE32+ (64-bit); PE32 otherwise.
    pub pe32_plus: bool,
    /// SectionAlignment.
    pub section_alignment: u32,
    /// FileAlignment.
    pub file_alignment: u32,
    /// The sections, in table order.
    pub sections: Vec<StubSection>,
    /// Appended as a certificate table (sets the security directory).
    pub certificate: Option<Vec<u8>>,
}

impl StubSpec {
    /// Like a modern systemd-stub: 4 KiB sections, `.text`, `.sbat`, `.sdmagic`.
    pub fn modern() -> StubSpec {
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

    /// A small PE kernel: FileAlignment 0x200, SectionAlignment 0x1000 (so SizeOfImage
    /// exceeds the file), a 16-byte `.text`, then `sections`.
    pub fn kernel(sections: Vec<StubSection>) -> StubSpec {
        let text = StubSection {
            name: ".text",
            data: vec![0x90; 0x10],
            code: true,
        };
        StubSpec {
            pe32_plus: true,
            section_alignment: 0x1000,
            file_alignment: 0x200,
            sections: std::iter::once(text).chain(sections).collect(),
            certificate: None,
        }
    }

    /// A PE32+ EFI application with these sections, written by `object`.
    pub fn build(&self) -> Vec<u8> {
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
        writer
            .write_dos_header_and_stub()
            .expect("a DOS header fits an empty buffer");
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
