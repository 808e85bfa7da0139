//! Reading PE headers through `object`: the facts and file offsets the rest of the crate needs.
//!
//! Parsing is `object`'s (`PeFile32`/`PeFile64`); this module only collects, for one image,
//! the header values and the file offsets of the fields that are later patched (checksum,
//! security directory entry, section table), taking every offset from `object`'s own header
//! structs (`size_of`, `offset_of!`) rather than from numbers written here.

use std::mem::{offset_of, size_of};

use object::LittleEndian as LE;
use object::pe::{
    self, IMAGE_DIRECTORY_ENTRY_SECURITY, IMAGE_NT_OPTIONAL_HDR32_MAGIC,
    IMAGE_NT_OPTIONAL_HDR64_MAGIC, ImageDataDirectory, ImageNtHeaders32, ImageNtHeaders64,
    ImageOptionalHeader32, ImageOptionalHeader64, ImageSectionHeader,
};
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile};

use crate::error::{Error, PeRole};

/// Header facts of one PE image, with the file offsets of the fields this crate touches.
#[derive(Clone, Debug)]
pub(crate) struct PeView<'a> {
    /// The whole file.
    pub data: &'a [u8],
    /// PE32+ (64-bit optional header) rather than PE32.
    pub pe32_plus: bool,
    /// File offset of the COFF file header.
    pub file_header_offset: usize,
    /// File offset of the optional header.
    pub optional_header_offset: usize,
    /// File offset of the optional header's CheckSum field.
    pub checksum_offset: usize,
    /// File offset of the security (certificate table) data directory entry, when the optional
    /// header has one.
    pub security_entry_offset: Option<usize>,
    /// File offset of the section table.
    pub section_table_offset: usize,
    /// The certificate table (file offset, size) when the security directory is set.
    pub certificate_table: Option<(u32, u32)>,
    /// SizeOfHeaders.
    pub size_of_headers: u32,
    /// SectionAlignment.
    pub section_alignment: u32,
    /// FileAlignment.
    pub file_alignment: u32,
    /// SizeOfImage.
    pub size_of_image: u32,
    /// SizeOfInitializedData.
    pub size_of_initialized_data: u32,
    /// CheckSum as stored.
    pub checksum: u32,
    /// PointerToSymbolTable of the COFF header.
    pub symbol_table: u32,
    /// NumberOfSymbols of the COFF header.
    pub number_of_symbols: u32,
    /// The section table, in table order.
    pub sections: Vec<RawSection>,
}

/// One section header, as numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawSection {
    /// The 8-byte name field up to its first NUL.
    pub name: Vec<u8>,
    /// VirtualAddress.
    pub virtual_address: u32,
    /// VirtualSize.
    pub virtual_size: u32,
    /// PointerToRawData.
    pub file_offset: u32,
    /// SizeOfRawData.
    pub file_size: u32,
    /// Characteristics.
    pub characteristics: u32,
}

impl RawSection {
    fn from_header(header: &ImageSectionHeader) -> RawSection {
        RawSection {
            name: header.raw_name().to_vec(),
            virtual_address: header.virtual_address.get(LE),
            virtual_size: header.virtual_size.get(LE),
            file_offset: header.pointer_to_raw_data.get(LE),
            file_size: header.size_of_raw_data.get(LE),
            characteristics: header.characteristics.get(LE).0,
        }
    }

    /// The name as text (lossy for non-UTF-8 names).
    pub(crate) fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// End of the raw data in the file.
    pub(crate) fn file_end(&self) -> u64 {
        u64::from(self.file_offset) + u64::from(self.file_size)
    }

    /// The section's contents as loaders and ukify read them: the first
    /// min(VirtualSize, SizeOfRawData) bytes of its raw data.
    pub(crate) fn contents<'a>(&self, data: &'a [u8], role: PeRole) -> Result<&'a [u8], Error> {
        let len = self.virtual_size.min(self.file_size);
        let start = self.file_offset as usize;
        data.get(start..start + len as usize).ok_or_else(|| {
            Error::malformed(
                role,
                format!("section `{}` lies outside the file", self.name_lossy()),
            )
        })
    }
}

/// The per-type offsets `object`'s structs give for PE32 and PE32+.
trait HeaderOffsets: ImageNtHeaders {
    const FILE_HEADER: usize;
    const OPTIONAL_HEADER: usize;
    const CHECKSUM: usize;
    const OPTIONAL_HEADER_FIXED: usize;
}

impl HeaderOffsets for ImageNtHeaders64 {
    const FILE_HEADER: usize = offset_of!(ImageNtHeaders64, file_header);
    const OPTIONAL_HEADER: usize = offset_of!(ImageNtHeaders64, optional_header);
    const CHECKSUM: usize = offset_of!(ImageOptionalHeader64, check_sum);
    const OPTIONAL_HEADER_FIXED: usize = size_of::<ImageOptionalHeader64>();
}

impl HeaderOffsets for ImageNtHeaders32 {
    const FILE_HEADER: usize = offset_of!(ImageNtHeaders32, file_header);
    const OPTIONAL_HEADER: usize = offset_of!(ImageNtHeaders32, optional_header);
    const CHECKSUM: usize = offset_of!(ImageOptionalHeader32, check_sum);
    const OPTIONAL_HEADER_FIXED: usize = size_of::<ImageOptionalHeader32>();
}

impl<'a> PeView<'a> {
    /// Parses `data` as a PE32 or PE32+ image.
    pub(crate) fn parse(data: &'a [u8], role: PeRole) -> Result<PeView<'a>, Error> {
        let magic = object::read::pe::optional_header_magic(data)
            .map_err(|e| Error::malformed(role, e.to_string()))?;
        match magic {
            IMAGE_NT_OPTIONAL_HDR64_MAGIC => Self::parse_as::<ImageNtHeaders64>(data, role),
            IMAGE_NT_OPTIONAL_HDR32_MAGIC => Self::parse_as::<ImageNtHeaders32>(data, role),
            other => Err(Error::malformed(
                role,
                format!("unknown optional header magic {other:#x}"),
            )),
        }
    }

    fn parse_as<Pe: HeaderOffsets>(data: &'a [u8], role: PeRole) -> Result<PeView<'a>, Error> {
        let file = PeFile::<Pe>::parse(data).map_err(|e| Error::malformed(role, e.to_string()))?;
        let nt = file.nt_headers();
        let file_header = nt.file_header();
        let optional = nt.optional_header();
        let nt_offset = file.dos_header().nt_headers_offset() as usize;
        let optional_header_offset = nt_offset + Pe::OPTIONAL_HEADER;
        let directories_offset = optional_header_offset + Pe::OPTIONAL_HEADER_FIXED;
        let security_entry_offset = (optional.number_of_rva_and_sizes() as usize
            > IMAGE_DIRECTORY_ENTRY_SECURITY)
            .then(|| {
                directories_offset
                    + IMAGE_DIRECTORY_ENTRY_SECURITY * size_of::<ImageDataDirectory>()
            });
        let certificate_table = file
            .data_directory(IMAGE_DIRECTORY_ENTRY_SECURITY)
            .map(|d| (d.virtual_address.get(LE), d.size.get(LE)));
        let section_table_offset =
            optional_header_offset + usize::from(file_header.size_of_optional_header.get(LE));
        let size_of_headers = optional.size_of_headers();
        if size_of_headers as usize > data.len() {
            return Err(Error::malformed(
                role,
                "SizeOfHeaders is beyond the end of the file",
            ));
        }
        Ok(PeView {
            data,
            pe32_plus: nt.is_type_64(),
            file_header_offset: nt_offset + Pe::FILE_HEADER,
            optional_header_offset,
            checksum_offset: optional_header_offset + Pe::CHECKSUM,
            security_entry_offset,
            section_table_offset,
            certificate_table,
            size_of_headers,
            section_alignment: optional.section_alignment(),
            file_alignment: optional.file_alignment(),
            size_of_image: optional.size_of_image(),
            size_of_initialized_data: optional.size_of_initialized_data(),
            checksum: optional.check_sum(),
            symbol_table: file_header.pointer_to_symbol_table.get(LE),
            number_of_symbols: file_header.number_of_symbols.get(LE),
            sections: file
                .section_table()
                .iter()
                .map(RawSection::from_header)
                .collect(),
        })
    }

    /// The first section with this name.
    pub(crate) fn section(&self, name: &str) -> Option<&RawSection> {
        self.sections.iter().find(|s| s.name == name.as_bytes())
    }
}

/// Size of one section header, from `object`'s struct.
pub(crate) const SECTION_HEADER_SIZE: usize = size_of::<ImageSectionHeader>();

/// Size of one COFF symbol record.
pub(crate) const SYMBOL_SIZE: usize = pe::IMAGE_SIZEOF_SYMBOL;

/// Rounds `value` up to a multiple of `align` (a power of two, or 0/1 for none).
pub(crate) fn align_up(value: u64, align: u32) -> u64 {
    if align <= 1 {
        return value;
    }
    let align = u64::from(align);
    value.div_ceil(align) * align
}
