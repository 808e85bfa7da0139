//! Reading a UKI (or any PE image) back: its sections with sizes and SHA-256, their contents,
//! the stored and computed CheckSum, and the Authenticode digests.
//!
//! A section's contents are, as ukify's `inspect` and the firmware loader read them, the first
//! min(VirtualSize, SizeOfRawData) bytes of its raw data. For every section this crate adds
//! that is exactly the input, except `.linux` when its VirtualSize is the kernel's larger
//! SizeOfImage: then it is the kernel followed by the zero padding up to FileAlignment.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::authenticode::{self, Digests, hex};
use crate::checksum::pe_checksum;
use crate::error::{Error, PeRole};
use crate::pe::PeView;

/// Sections shown as text by [`Inspection`]'s `Display`.
const TEXT_SECTIONS: [&str; 5] = [".osrel", ".cmdline", ".uname", ".sbat", ".pcrpkey"];

/// What a PE image holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The sections, in table order.
    pub sections: Vec<SectionInfo>,
    /// SectionAlignment.
    pub section_alignment: u32,
    /// FileAlignment.
    pub file_alignment: u32,
    /// SizeOfImage.
    pub size_of_image: u32,
    /// CheckSum as stored in the optional header.
    pub checksum: u32,
    /// CheckSum computed over the file.
    pub computed_checksum: u32,
    /// Length of the file.
    pub file_len: u64,
    /// The Authenticode digests, as firmware measures the image.
    pub authenticode: Digests,
}

/// One section of an inspected image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// Name (lossily decoded).
    pub name: String,
    /// VirtualAddress.
    pub virtual_address: u32,
    /// VirtualSize.
    pub virtual_size: u32,
    /// PointerToRawData.
    pub file_offset: u32,
    /// SizeOfRawData.
    pub file_size: u32,
    /// Length of the contents (min(VirtualSize, SizeOfRawData)).
    pub size: u32,
    /// SHA-256 of the contents.
    pub sha256: [u8; 32],
    /// The contents as text, for the text sections of a UKI (`.osrel`, `.cmdline`, `.uname`,
    /// `.sbat`, `.pcrpkey`) when they are UTF-8; trailing NULs removed.
    pub text: Option<String>,
}

/// One section as a PE loader maps it, read without hashing anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedSection<'a> {
    /// Name (lossily decoded).
    pub name: String,
    /// VirtualAddress.
    pub virtual_address: u32,
    /// VirtualSize: the section's length in memory.
    pub virtual_size: u32,
    /// PointerToRawData.
    pub file_offset: u32,
    /// SizeOfRawData.
    pub file_size: u32,
    /// What the file supplies: the first min(VirtualSize, SizeOfRawData) bytes of the raw
    /// data. In memory the section is these bytes and then [`Self::zero_fill`] zeros.
    pub contents: &'a [u8],
}

impl MappedSection<'_> {
    /// The zeros the loader adds after [`Self::contents`] to make VirtualSize bytes.
    pub fn zero_fill(&self) -> usize {
        (self.virtual_size as usize).saturating_sub(self.contents.len())
    }
}

/// The sections of a PE image in table order, as a loader maps them.
pub fn sections(image: &[u8]) -> Result<Vec<MappedSection<'_>>, Error> {
    let view = PeView::parse(image, PeRole::Image)?;
    view.sections
        .iter()
        .map(|section| {
            Ok(MappedSection {
                name: section.name_lossy(),
                virtual_address: section.virtual_address,
                virtual_size: section.virtual_size,
                file_offset: section.file_offset,
                file_size: section.file_size,
                contents: section.contents(image, PeRole::Image)?,
            })
        })
        .collect()
}

/// Lists the sections of a PE image with sizes and SHA-256, and computes its CheckSum and
/// Authenticode digests.
pub fn inspect(image: &[u8]) -> Result<Inspection, Error> {
    let view = PeView::parse(image, PeRole::Image)?;
    let sections = sections(image)?
        .into_iter()
        .map(|section| {
            let name = section.name;
            let text = TEXT_SECTIONS
                .contains(&name.as_str())
                .then(|| std::str::from_utf8(section.contents).ok())
                .flatten()
                .map(|t| t.trim_end_matches('\0').to_owned());
            SectionInfo {
                name,
                virtual_address: section.virtual_address,
                virtual_size: section.virtual_size,
                file_offset: section.file_offset,
                file_size: section.file_size,
                size: section.contents.len() as u32,
                sha256: Sha256::digest(section.contents).into(),
                text,
            }
        })
        .collect();
    Ok(Inspection {
        sections,
        section_alignment: view.section_alignment,
        file_alignment: view.file_alignment,
        size_of_image: view.size_of_image,
        checksum: view.checksum,
        computed_checksum: pe_checksum(image)?,
        file_len: image.len() as u64,
        authenticode: authenticode::digests(image)?,
    })
}

/// The contents of the first section called `name`.
pub fn extract<'a>(image: &'a [u8], name: &str) -> Result<&'a [u8], Error> {
    let view = PeView::parse(image, PeRole::Image)?;
    view.section(name)
        .ok_or_else(|| Error::SectionNotFound {
            name: name.to_owned(),
        })?
        .contents(image, PeRole::Image)
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  sha256",
            "section", "vaddr", "vsize", "offset", "raw size", "size"
        )?;
        for s in &self.sections {
            writeln!(
                f,
                "{:<8}  {:#010x}  {:#010x}  {:#010x}  {:#010x}  {:>10}  {}",
                s.name,
                s.virtual_address,
                s.virtual_size,
                s.file_offset,
                s.file_size,
                s.size,
                hex(&s.sha256)
            )?;
        }
        for s in &self.sections {
            if let Some(text) = &s.text {
                writeln!(f, "{}:", s.name)?;
                for line in text.lines() {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        writeln!(
            f,
            "file: {} bytes, SizeOfImage {:#x}, SectionAlignment {:#x}, FileAlignment {:#x}",
            self.file_len, self.size_of_image, self.section_alignment, self.file_alignment
        )?;
        let verdict = if self.checksum == self.computed_checksum {
            "correct".to_owned()
        } else {
            format!("computed {:#010x}", self.computed_checksum)
        };
        writeln!(f, "checksum: {:#010x} ({verdict})", self.checksum)?;
        writeln!(f, "{}", self.authenticode)
    }
}
