//! The plan of a UKI: every section's name, addresses, file range and size, computed from the
//! stub's headers and the lengths of the new sections, without touching any contents.
//!
//! The rules are ukify's (`pe_add_sections`), with the deviations stated:
//!
//! - The stub's sections keep their headers, addresses and bytes. The one exception is
//!   `.sbat`: when the stub has one, the merged SBAT text replaces its contents in place (its
//!   VirtualSize changes, its raw range does not), as ukify does, because a second `.sbat`
//!   section makes shim refuse the image. Unlike ukify, the merged text must also fit the
//!   virtual room before the stub's next section, or planning fails with
//!   [`Error::SbatDoesNotFit`] rather than producing overlapping sections.
//! - A COFF symbol table at the end of the stub (old stubs were not stripped) is dropped and
//!   the COFF header's pointer and count are zeroed, as ukify does. Any other data after the
//!   stub's last section is refused (ukify would keep it, leaving bytes the Authenticode hash
//!   does not cover in the middle of the image); so are stubs whose raw data is not aligned to
//!   FileAlignment (ukify re-aligns them, which moves the stub's sections), signed stubs, and
//!   PE32 stubs.
//! - New sections follow the stub's last one in memory and in the file: each VirtualAddress is
//!   the end of the previous section rounded up to SectionAlignment, each PointerToRawData the
//!   end of the file rounded up to FileAlignment, each SizeOfRawData the data length rounded up
//!   to FileAlignment (zero padded). VirtualSize is the data length, except for `.linux`, whose
//!   VirtualSize is the kernel's own SizeOfImage when that is larger (as current ukify sets it,
//!   so a stub can run the kernel in place).
//! - Characteristics are `MEM_READ` plus `CNT_CODE` for `.linux` and `CNT_INITIALIZED_DATA` for
//!   the others. SizeOfImage becomes the end of the last section rounded up to
//!   SectionAlignment; SizeOfInitializedData grows by each new section's VirtualSize (ukify's
//!   rule); SizeOfHeaders is rounded up to FileAlignment. The CheckSum is computed over the
//!   result (ukify writes 0), in the byte pass.

use std::ops::Range;

use object::pe::{IMAGE_SCN_CNT_CODE, IMAGE_SCN_CNT_INITIALIZED_DATA, IMAGE_SCN_MEM_READ};

use crate::error::{Error, PeRole, to_u32};
use crate::pe::{PeView, RawSection, SECTION_HEADER_SIZE, SYMBOL_SIZE, align_up};

/// Where a section of the UKI comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// One of the stub's sections, unchanged.
    Stub,
    /// The stub's `.sbat` section, its contents replaced by the merged SBAT text.
    StubSbat,
    /// A section appended after the stub's.
    Added,
}

/// One section of the planned UKI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionLayout {
    /// Section name (`.linux`, ...).
    pub name: String,
    /// Where it comes from.
    pub origin: Origin,
    /// VirtualAddress (relative to the image base).
    pub virtual_address: u32,
    /// VirtualSize.
    pub virtual_size: u32,
    /// PointerToRawData.
    pub file_offset: u32,
    /// SizeOfRawData.
    pub file_size: u32,
    /// Length of the contents at `file_offset`; the rest of `file_size` is zero padding.
    pub data_len: u32,
    /// Characteristics flags.
    pub characteristics: u32,
}

/// The complete plan of a UKI file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The stub's SectionAlignment.
    pub section_alignment: u32,
    /// The stub's FileAlignment.
    pub file_alignment: u32,
    /// SizeOfHeaders of the UKI.
    pub size_of_headers: u32,
    /// All sections in table order: the stub's first, then the added ones.
    pub sections: Vec<SectionLayout>,
    /// Number of sections that come from the stub.
    pub stub_sections: usize,
    /// The stub's bytes kept as they are: `0..stub_end` (less the headers, which are patched,
    /// and a replaced `.sbat`).
    pub stub_end: u32,
    /// The COFF symbol table dropped from the end of the stub, if there was one.
    pub stripped_symbols: Option<Range<u32>>,
    /// SizeOfImage of the UKI.
    pub size_of_image: u32,
    /// SizeOfInitializedData of the UKI.
    pub size_of_initialized_data: u32,
    /// Length of the UKI file.
    pub file_len: u32,
}

impl Layout {
    /// The sections appended after the stub's.
    pub fn added(&self) -> &[SectionLayout] {
        &self.sections[self.stub_sections..]
    }

    /// The first section with this name.
    pub fn section(&self, name: &str) -> Option<&SectionLayout> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// A section to append: its name and sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewSection {
    pub name: &'static str,
    pub data_len: u64,
    pub virtual_size: u64,
}

/// Plans the UKI: the stub's sections, then `new` in order. `sbat_len` is the length of the
/// merged `.sbat` contents: placed into the stub's `.sbat` when it has one, else appended
/// last (after `.linux`, where ukify puts it).
pub(crate) fn plan_layout(
    stub: &PeView<'_>,
    new: &[NewSection],
    sbat_len: Option<u64>,
) -> Result<Layout, Error> {
    check_stub(stub)?;
    let sa = stub.section_alignment;
    let fa = stub.file_alignment;

    let mut sections: Vec<SectionLayout> = stub.sections.iter().map(from_stub).collect();
    let raw_sections = || stub.sections.iter().filter(|s| s.file_size > 0);
    let sections_end = raw_sections()
        .map(RawSection::file_end)
        .max()
        .unwrap_or(u64::from(stub.size_of_headers))
        .max(u64::from(stub.size_of_headers));
    if sections_end > stub.data.len() as u64 {
        return Err(Error::malformed(
            PeRole::Stub,
            "section raw data extends past the end of the file",
        ));
    }
    let stripped_symbols = trailing_symbols(stub, sections_end)?;

    let size_of_headers = align_up(u64::from(stub.size_of_headers), fa);
    let first_raw = raw_sections()
        .map(|s| u64::from(s.file_offset))
        .min()
        .unwrap_or(sections_end);
    if size_of_headers > first_raw {
        return Err(Error::stub(
            "SizeOfHeaders rounded up to FileAlignment overlaps the first section",
        ));
    }

    let mut new: Vec<NewSection> = new.to_vec();
    if let Some(len) = sbat_len {
        match stub.sections.iter().position(|s| s.name == b".sbat") {
            Some(index) => {
                let available = sbat_room(stub, index);
                if len > available {
                    return Err(Error::SbatDoesNotFit {
                        needed: len,
                        available,
                    });
                }
                let sbat = &mut sections[index];
                sbat.origin = Origin::StubSbat;
                sbat.virtual_size = len as u32;
                sbat.data_len = len as u32;
            }
            None => new.push(NewSection {
                name: ".sbat",
                data_len: len,
                virtual_size: len,
            }),
        }
    }

    let table_end = stub.section_table_offset as u64
        + ((stub.sections.len() + new.len()) * SECTION_HEADER_SIZE) as u64;
    if table_end > size_of_headers {
        return Err(Error::NoHeaderRoom {
            sections: new.len(),
            needed: table_end,
            available: size_of_headers,
        });
    }

    let mut virtual_end = sections
        .iter()
        .map(|s| u64::from(s.virtual_address) + u64::from(s.virtual_size))
        .max()
        .unwrap_or(0);
    let mut file_end = align_up(sections_end, fa);
    let mut initialized = u64::from(stub.size_of_initialized_data);
    for section in &new {
        let virtual_address = align_up(virtual_end, sa);
        let file_size = align_up(section.data_len, fa);
        let what = |field: &'static str| move || format!("{} {field}", section.name);
        let code = section.name == ".linux";
        let flags = IMAGE_SCN_MEM_READ
            | if code {
                IMAGE_SCN_CNT_CODE
            } else {
                IMAGE_SCN_CNT_INITIALIZED_DATA
            };
        sections.push(SectionLayout {
            name: section.name.to_owned(),
            origin: Origin::Added,
            virtual_address: to_u32(virtual_address, what("virtual address"))?,
            virtual_size: to_u32(section.virtual_size, what("virtual size"))?,
            file_offset: to_u32(file_end, what("file offset"))?,
            file_size: to_u32(file_size, what("raw size"))?,
            data_len: to_u32(section.data_len, what("length"))?,
            characteristics: flags.0,
        });
        virtual_end = virtual_address + section.virtual_size;
        file_end += file_size;
        initialized += section.virtual_size;
    }

    Ok(Layout {
        section_alignment: sa,
        file_alignment: fa,
        size_of_headers: size_of_headers as u32,
        stub_sections: stub.sections.len(),
        stub_end: sections_end as u32,
        stripped_symbols,
        size_of_image: to_u32(align_up(virtual_end, sa), || "SizeOfImage".into())?,
        size_of_initialized_data: to_u32(initialized, || "SizeOfInitializedData".into())?,
        file_len: to_u32(file_end, || "the UKI".into())?,
        sections,
    })
}

fn from_stub(s: &RawSection) -> SectionLayout {
    SectionLayout {
        name: s.name_lossy(),
        origin: Origin::Stub,
        virtual_address: s.virtual_address,
        virtual_size: s.virtual_size,
        file_offset: s.file_offset,
        file_size: s.file_size,
        data_len: s.virtual_size.min(s.file_size),
        characteristics: s.characteristics,
    }
}

/// Refuses stubs this crate does not build on.
fn check_stub(stub: &PeView<'_>) -> Result<(), Error> {
    if !stub.pe32_plus {
        return Err(Error::stub("PE32 (32-bit) stubs are not supported"));
    }
    if stub.certificate_table.is_some() {
        return Err(Error::SignedStub);
    }
    for (name, value) in [
        ("SectionAlignment", stub.section_alignment),
        ("FileAlignment", stub.file_alignment),
    ] {
        if !value.is_power_of_two() {
            return Err(Error::stub(format!(
                "{name} {value:#x} is not a power of two"
            )));
        }
    }
    let fa = stub.file_alignment;
    for s in stub.sections.iter().filter(|s| s.file_size > 0) {
        if s.file_offset % fa != 0 || s.file_size % fa != 0 {
            return Err(Error::stub(format!(
                "raw data of section `{}` ({:#x}+{:#x}) is not aligned to FileAlignment {fa:#x}",
                s.name_lossy(),
                s.file_offset,
                s.file_size
            )));
        }
    }
    Ok(())
}

/// The bytes after the stub's last section: nothing, or a COFF symbol and string table (after
/// zero padding) that ends the file, which is dropped. Anything else is refused.
fn trailing_symbols(stub: &PeView<'_>, sections_end: u64) -> Result<Option<Range<u32>>, Error> {
    let len = stub.data.len() as u64;
    if len == sections_end {
        return Ok(None);
    }
    let table = u64::from(stub.symbol_table);
    let refuse = || {
        Error::stub(format!(
            "{} bytes after the last section that are not a COFF symbol table ending the file",
            len - sections_end
        ))
    };
    if table < sections_end || table > len {
        return Err(refuse());
    }
    if stub.data[sections_end as usize..table as usize]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(refuse());
    }
    let strings = table + u64::from(stub.number_of_symbols) * SYMBOL_SIZE as u64;
    let strings_len = stub
        .data
        .get(strings as usize..strings as usize + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if strings + u64::from(strings_len) != len {
        return Err(refuse());
    }
    Ok(Some(sections_end as u32..len as u32))
}

/// Room for new contents in the stub's `.sbat` section: its raw size, and the virtual space up
/// to the next section above it.
fn sbat_room(stub: &PeView<'_>, index: usize) -> u64 {
    let sbat = &stub.sections[index];
    let next = stub
        .sections
        .iter()
        .map(|s| u64::from(s.virtual_address))
        .filter(|&va| va > u64::from(sbat.virtual_address))
        .min();
    let virtual_room = next.map_or(u64::MAX, |va| va - u64::from(sbat.virtual_address));
    u64::from(sbat.file_size).min(virtual_room)
}
