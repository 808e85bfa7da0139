//! Planning a UKI from its inputs, and the byte pass that writes it.
//!
//! [`plan`] reads the stub's headers, builds the sections' contents in ukify's order
//! (`.osrel .cmdline .dtb .uname .splash .initrd .linux`, then `.sbat`), asks
//! [`layout`](crate::layout) where each goes, and prepares the patched header bytes. The result,
//! a [`Plan`], is a list of pieces (borrowed input slices, a few owned buffers, runs of zero
//! padding) in file order; writing is copying them out. The CheckSum is computed over the same
//! pieces before anything is written.

use std::io::{self, Write};

use object::LittleEndian as LE;
use object::pe::{
    IMAGE_FILE_LOCAL_SYMS_STRIPPED, ImageFileHeader, ImageOptionalHeader64, ImageSectionHeader,
    SectionFlags,
};
use object::pod;

use crate::checksum::PeChecksum;
use crate::error::{Error, PeRole};
use crate::inputs::UkiInputs;
use crate::layout::{Layout, NewSection, Origin, SectionLayout, plan_layout};
use crate::pe::PeView;
use crate::sbat;

/// A planned UKI: its [`Layout`] and the pieces that make up its bytes.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    /// Where everything goes.
    pub layout: Layout,
    /// The CheckSum written into the optional header.
    pub checksum: u32,
    pieces: Vec<Piece<'a>>,
}

/// A run of output bytes.
#[derive(Clone, Debug)]
enum Piece<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    Zeros(u64),
}

impl Piece<'_> {
    fn len(&self) -> u64 {
        match self {
            Piece::Borrowed(bytes) => bytes.len() as u64,
            Piece::Owned(bytes) => bytes.len() as u64,
            Piece::Zeros(count) => *count,
        }
    }
}

/// Contents of one new section, in pieces.
struct Contents<'a> {
    name: &'static str,
    pieces: Vec<Piece<'a>>,
    virtual_size: u64,
}

/// Plans the UKI made of `inputs`: reads the stub, merges the SBAT, lays out the sections and
/// prepares the header bytes. Nothing is written yet.
pub fn plan<'a>(inputs: &UkiInputs<'a>) -> Result<Plan<'a>, Error> {
    let stub = PeView::parse(inputs.stub, PeRole::Stub)?;
    // ukify takes a kernel that is not a PE image as it is (no SizeOfImage, no SBAT).
    let kernel = PeView::parse(inputs.linux, PeRole::Kernel).ok();

    let contents = section_contents(inputs, kernel.as_ref());
    let merged_sbat = merged_sbat(inputs, &stub, kernel.as_ref())?;
    let new: Vec<NewSection> = contents
        .iter()
        .map(|c| NewSection {
            name: c.name,
            data_len: c.pieces.iter().map(Piece::len).sum(),
            virtual_size: c.virtual_size,
        })
        .collect();
    let layout = plan_layout(&stub, &new, merged_sbat.as_ref().map(|s| s.len() as u64))?;

    let mut headers = inputs.stub[..layout.size_of_headers as usize].to_vec();
    patch_headers(&mut headers, &stub, &layout)?;

    let mut pieces = vec![Piece::Owned(headers)];
    let mut at = u64::from(layout.size_of_headers);
    let stub_body = |from: u64, to: u64| Piece::Borrowed(&inputs.stub[from as usize..to as usize]);
    if let Some(sbat_section) = layout
        .sections
        .iter()
        .find(|s| s.origin == Origin::StubSbat)
    {
        let merged = merged_sbat.clone().unwrap_or_default();
        let start = u64::from(sbat_section.file_offset);
        let padding = u64::from(sbat_section.file_size) - merged.len() as u64;
        pieces.push(stub_body(at, start));
        pieces.push(Piece::Owned(merged));
        pieces.push(Piece::Zeros(padding));
        at = start + u64::from(sbat_section.file_size);
    }
    pieces.push(stub_body(at, u64::from(layout.stub_end)));
    at = u64::from(layout.stub_end);

    let mut contents = contents.into_iter();
    for section in layout.added() {
        pieces.push(Piece::Zeros(u64::from(section.file_offset) - at));
        if section.name == ".sbat" {
            pieces.push(Piece::Owned(merged_sbat.clone().unwrap_or_default()));
        } else {
            let next = contents.next().expect("one contents per added section");
            debug_assert_eq!(next.name, section.name);
            pieces.extend(next.pieces);
        }
        pieces.push(Piece::Zeros(u64::from(
            section.file_size - section.data_len,
        )));
        at = u64::from(section.file_offset) + u64::from(section.file_size);
    }
    pieces.retain(|p| p.len() > 0);
    debug_assert_eq!(
        pieces.iter().map(Piece::len).sum::<u64>(),
        u64::from(layout.file_len)
    );

    let mut sum = PeChecksum::new();
    for piece in &pieces {
        match piece {
            Piece::Borrowed(bytes) => sum.update(bytes),
            Piece::Owned(bytes) => sum.update(bytes),
            Piece::Zeros(count) => sum.update_zeros(*count),
        }
    }
    let checksum = sum.finish();
    if let Some(Piece::Owned(headers)) = pieces.first_mut() {
        headers[stub.checksum_offset..stub.checksum_offset + 4]
            .copy_from_slice(&checksum.to_le_bytes());
    }
    Ok(Plan {
        layout,
        checksum,
        pieces,
    })
}

impl Plan<'_> {
    /// Length of the UKI.
    pub fn len(&self) -> u64 {
        u64::from(self.layout.file_len)
    }

    /// Always false: a UKI has at least the stub's headers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the UKI to `out`; returns the number of bytes written.
    pub fn write_to(&self, mut out: impl Write) -> Result<u64, Error> {
        const ZEROS: [u8; 4096] = [0; 4096];
        let write = |out: &mut dyn Write, bytes: &[u8]| -> io::Result<()> { out.write_all(bytes) };
        for piece in &self.pieces {
            match piece {
                Piece::Borrowed(bytes) => write(&mut out, bytes),
                Piece::Owned(bytes) => write(&mut out, bytes),
                Piece::Zeros(count) => {
                    let mut left = *count;
                    let mut result = Ok(());
                    while left > 0 && result.is_ok() {
                        let n = left.min(ZEROS.len() as u64);
                        result = write(&mut out, &ZEROS[..n as usize]);
                        left -= n;
                    }
                    result
                }
            }
            .map_err(Error::Output)?;
        }
        out.flush().map_err(Error::Output)?;
        Ok(self.len())
    }

    /// The UKI in memory.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() as usize);
        self.write_to(&mut out)
            .expect("writing to a Vec does not fail");
        out
    }
}

/// The new sections' contents in ukify's order, empty ones left out as ukify does.
fn section_contents<'a>(inputs: &UkiInputs<'a>, kernel: Option<&PeView<'_>>) -> Vec<Contents<'a>> {
    let owned = |name, bytes: Option<Vec<u8>>| {
        bytes.map(|bytes| Contents {
            name,
            virtual_size: bytes.len() as u64,
            pieces: vec![Piece::Owned(bytes)],
        })
    };
    let borrowed = |name, bytes: Option<&'a [u8]>| {
        bytes.map(|bytes| Contents {
            name,
            virtual_size: bytes.len() as u64,
            pieces: vec![Piece::Borrowed(bytes)],
        })
    };
    let initrd = match inputs.initrds.as_slice() {
        [] => None,
        [one] => borrowed(".initrd", Some(one)),
        several => {
            let mut pieces = Vec::new();
            for part in several {
                pieces.push(Piece::Borrowed(part));
                pieces.push(Piece::Zeros((4 - part.len() as u64 % 4) % 4));
            }
            let len = pieces.iter().map(Piece::len).sum();
            Some(Contents {
                name: ".initrd",
                pieces,
                virtual_size: len,
            })
        }
    };
    let kernel_image = kernel.map_or(0, |k| u64::from(k.size_of_image));
    let linux = Contents {
        name: ".linux",
        pieces: vec![Piece::Borrowed(inputs.linux)],
        virtual_size: (inputs.linux.len() as u64).max(kernel_image),
    };
    [
        owned(
            ".osrel",
            inputs
                .os_release
                .as_ref()
                .map(|o| o.text().as_bytes().to_vec()),
        ),
        owned(
            ".cmdline",
            inputs.cmdline.as_ref().map(|c| c.as_bytes().to_vec()),
        ),
        borrowed(".dtb", inputs.devicetree),
        owned(
            ".uname",
            inputs
                .uname
                .as_ref()
                .map(|u| u.as_str().as_bytes().to_vec()),
        ),
        borrowed(".splash", inputs.splash),
        initrd,
        Some(linux),
    ]
    .into_iter()
    .flatten()
    .filter(|c| c.pieces.iter().any(|p| p.len() > 0))
    .collect()
}

/// The merged `.sbat` contents: stub's, kernel's and our entries. None when there is nothing
/// to say (no stub `.sbat` and no entries at all).
fn merged_sbat(
    inputs: &UkiInputs<'_>,
    stub: &PeView<'_>,
    kernel: Option<&PeView<'_>>,
) -> Result<Option<Vec<u8>>, Error> {
    let mut lines = Vec::new();
    let stub_sbat = stub.section(".sbat");
    if let Some(section) = stub_sbat {
        lines.extend(sbat::component_lines(
            section.contents(stub.data, PeRole::Stub)?,
            "stub .sbat",
        )?);
    }
    if let Some(kernel) = kernel
        && let Some(section) = kernel.section(".sbat")
    {
        lines.extend(sbat::component_lines(
            section.contents(kernel.data, PeRole::Kernel)?,
            "kernel .sbat",
        )?);
    }
    lines.extend(inputs.sbat.entries.iter().map(ToString::to_string));
    if stub_sbat.is_none() && lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(sbat::merge(&lines)))
}

/// Patches the stub's header bytes for `layout`: COFF header, optional header sizes (CheckSum
/// zeroed, filled in later) and the section table. Every field is written through `object`'s
/// header structs.
fn patch_headers(headers: &mut [u8], stub: &PeView<'_>, layout: &Layout) -> Result<(), Error> {
    let internal = |what: &str| Error::malformed(PeRole::Stub, format!("{what} out of bounds"));
    let count = u16::try_from(layout.sections.len()).map_err(|_| Error::TooLarge {
        what: "number of sections".into(),
        value: layout.sections.len() as u64,
    })?;

    let (file_header, _) =
        pod::from_bytes_mut::<ImageFileHeader>(&mut headers[stub.file_header_offset..])
            .map_err(|()| internal("COFF header"))?;
    file_header.number_of_sections.set(LE, count);
    if layout.stripped_symbols.is_some() {
        file_header.pointer_to_symbol_table.set(LE, 0);
        file_header.number_of_symbols.set(LE, 0);
        let flags = file_header.characteristics.get(LE);
        file_header
            .characteristics
            .set(LE, flags | IMAGE_FILE_LOCAL_SYMS_STRIPPED);
    }

    let (optional, _) =
        pod::from_bytes_mut::<ImageOptionalHeader64>(&mut headers[stub.optional_header_offset..])
            .map_err(|()| internal("optional header"))?;
    optional.size_of_image.set(LE, layout.size_of_image);
    optional
        .size_of_initialized_data
        .set(LE, layout.size_of_initialized_data);
    optional.size_of_headers.set(LE, layout.size_of_headers);
    optional.check_sum.set(LE, 0);

    let (table, _) = pod::slice_from_bytes_mut::<ImageSectionHeader>(
        &mut headers[stub.section_table_offset..],
        layout.sections.len(),
    )
    .map_err(|()| internal("section table"))?;
    for (header, section) in table.iter_mut().zip(&layout.sections) {
        match section.origin {
            Origin::Stub => {}
            Origin::StubSbat => header.virtual_size.set(LE, section.virtual_size),
            Origin::Added => *header = section_header(section),
        }
    }
    Ok(())
}

/// The section header of an added section.
fn section_header(section: &SectionLayout) -> ImageSectionHeader {
    let mut name = [0u8; 8];
    name[..section.name.len()].copy_from_slice(section.name.as_bytes());
    ImageSectionHeader {
        name,
        virtual_size: object::U32::new(LE, section.virtual_size),
        virtual_address: object::U32::new(LE, section.virtual_address),
        size_of_raw_data: object::U32::new(LE, section.file_size),
        pointer_to_raw_data: object::U32::new(LE, section.file_offset),
        pointer_to_relocations: object::U32::new(LE, 0),
        pointer_to_linenumbers: object::U32::new(LE, 0),
        number_of_relocations: object::U16::new(LE, 0),
        number_of_linenumbers: object::U16::new(LE, 0),
        characteristics: object::U32::new(LE, SectionFlags(section.characteristics)),
    }
}
