//! TDVF, the TDX firmware's layout and MRTD, the measurement the TDX module takes of it.
//!
//! A TDX-capable OVMF image (TDVF) carries metadata that tells the VMM which of its pages to
//! add to the TD before it starts, at which guest-physical addresses, and which of those pages'
//! contents to measure. The TDX module hashes each `TDH.MEM.PAGE.ADD` and `TDH.MR.EXTEND` into
//! MRTD (SHA-384), so MRTD is a function of the firmware image and the order in which the VMM
//! issues those calls; the VM's memory size and vCPUs do not enter it.
//!
//! Where the metadata lives: the image ends with EDK2's GUIDed table (its footer GUID 0x30
//! bytes before the end, the table's length just below it, entries walked backwards as
//! `data | u16 length | GUID`); the TDX entry holds the distance from the end of the image to
//! the `TDVF` descriptor, which follows the metadata GUID. The descriptor lists sections of 32
//! bytes (file offset, raw size, address, memory size, type, attributes). Layout from the TDVF
//! design guide and EDK2's `IntelTdxMetadata.nasm.inc`.
//!
//! Every field read from the image is bounded: section count, sizes within the image, pages
//! aligned, the memory a descriptor may claim.

use sha2::{Digest as _, Sha384};

use crate::error::Error;

/// EDK2's GUIDed table footer, `96b582de-1fb2-45f7-baea-a366c55a082d`, as stored (EFI order).
const TABLE_FOOTER_GUID: [u8; 16] = efi_guid(
    0x96b5_82de,
    0x1fb2,
    0x45f7,
    [0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d],
);
/// The table entry holding the TDVF descriptor's distance from the end of the image,
/// `e47a6535-984a-4798-865e-4685a7bf8ec2`.
const TDX_METADATA_OFFSET_GUID: [u8; 16] = efi_guid(
    0xe47a_6535,
    0x984a,
    0x4798,
    [0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2],
);
/// The GUID just before the descriptor, `e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae`.
const TDX_METADATA_GUID: [u8; 16] = efi_guid(
    0xe9ea_f9f3,
    0x168e,
    0x44d5,
    [0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae],
);

/// The TDX module's page size.
const PAGE: u64 = 4096;
/// The bytes `TDH.MR.EXTEND` measures per call.
const EXTEND_CHUNK: usize = 256;
/// At most this many sections in a descriptor (EDK2 writes six or seven).
const MAX_SECTIONS: u32 = 64;
/// At most this much memory, over all sections, a descriptor may ask the VMM to add (4 GiB;
/// firmware regions are megabytes).
const MAX_MEMORY: u64 = 1 << 32;

/// A GUID's bytes as EFI stores it: the first three fields little-endian.
const fn efi_guid(first: u32, second: u16, third: u16, rest: [u8; 8]) -> [u8; 16] {
    let a = first.to_le_bytes();
    let b = second.to_le_bytes();
    let c = third.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], rest[0], rest[1], rest[2], rest[3],
        rest[4], rest[5], rest[6], rest[7],
    ]
}

/// What a section holds (the descriptor's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionKind {
    /// Boot firmware volume: the firmware's code, measured.
    Bfv,
    /// Configuration firmware volume: the UEFI variable store.
    Cfv,
    /// Where the VMM writes the TD HOB, the memory map handed to the firmware.
    TdHob,
    /// Temporary memory the firmware uses before its memory map exists.
    TempMem,
    /// Permanent memory (TD-Shim).
    PermMem,
    /// A payload image (TD-Shim).
    Payload,
    /// A payload's parameters (TD-Shim).
    PayloadParam,
    /// TD info (TD-Shim).
    TdInfo,
    /// TD parameters (TD-Shim).
    TdParams,
}

impl SectionKind {
    fn of(value: u32) -> Option<Self> {
        Some(match value {
            0 => Self::Bfv,
            1 => Self::Cfv,
            2 => Self::TdHob,
            3 => Self::TempMem,
            4 => Self::PermMem,
            5 => Self::Payload,
            6 => Self::PayloadParam,
            7 => Self::TdInfo,
            8 => Self::TdParams,
            _ => return None,
        })
    }
}

/// One section of the TDVF descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Where its bytes start in the image (meaningful when `raw_size` is not zero).
    pub data_offset: u64,
    /// How many bytes of the image it holds.
    pub raw_size: u64,
    /// The guest-physical address of its first page.
    pub address: u64,
    /// How much guest memory it occupies: whole pages, at least `raw_size`.
    pub memory_size: u64,
    /// What it holds.
    pub kind: SectionKind,
    /// Its pages' contents are measured into MRTD (`MR.EXTEND`).
    pub extend: bool,
    /// Its pages are accepted by the guest later rather than added now (`PAGE.AUG`): they are
    /// not measured at all.
    pub augment: bool,
}

/// The order in which the VMM adds a section's pages and extends their contents: a property
/// of the VMM, not the image, and the two give different MRTDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageOrder {
    /// Each page is added, then its contents extended, before the next page: upstream KVM's
    /// `KVM_TDX_INIT_MEM_REGION` as QEMU 9 and later drive it, and the TDVF spec's flow.
    #[default]
    SinglePass,
    /// All of a section's pages are added, then all of them extended: older QEMU 8 TDX stacks.
    TwoPass,
}

impl PageOrder {
    /// `single-pass` or `two-pass`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SinglePass => "single-pass",
            Self::TwoPass => "two-pass",
        }
    }
}

impl std::str::FromStr for PageOrder {
    type Err = String;

    /// [`PageOrder::name`]'s words.
    fn from_str(text: &str) -> Result<Self, String> {
        [Self::SinglePass, Self::TwoPass]
            .into_iter()
            .find(|order| order.name() == text)
            .ok_or_else(|| format!("`{text}`: expected single-pass or two-pass"))
    }
}

/// A TDX firmware image's descriptor: its sections in the order the VMM adds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tdvf {
    /// The sections, in the descriptor's order.
    pub sections: Vec<Section>,
}

impl Tdvf {
    /// Reads the descriptor of `firmware`, the whole image (e.g. `OVMF.fd`).
    pub fn parse(firmware: &[u8]) -> Result<Self, Error> {
        let descriptor = descriptor_offset(firmware)?;
        let fields = |at: usize, count: usize| {
            firmware
                .get(at..at + 4 * count)
                .ok_or_else(|| malformed(format!("the descriptor at byte {at} is cut off")))
        };
        let header = fields(descriptor, 4)?;
        let word = |bytes: &[u8], index: usize| u32_le(&bytes[4 * index..]);
        if &header[..4] != b"TDVF" {
            return Err(malformed(format!(
                "no `TDVF` signature at byte {descriptor}"
            )));
        }
        let (length, version, count) = (word(header, 1), word(header, 2), word(header, 3));
        if version != 1 {
            return Err(malformed(format!("descriptor version {version}, not 1")));
        }
        if count > MAX_SECTIONS || length != 16 + 32 * count {
            return Err(malformed(format!(
                "descriptor of length {length} with {count} sections (at most {MAX_SECTIONS}, \
                 16 + 32 bytes each)"
            )));
        }
        let mut sections = Vec::with_capacity(count as usize);
        let mut memory = 0u64;
        for index in 0..count as usize {
            let entry = fields(descriptor + 16 + 32 * index, 8)?;
            let section = section(entry, index, firmware.len() as u64)?;
            memory = memory.saturating_add(section.memory_size);
            if memory > MAX_MEMORY {
                return Err(malformed(format!(
                    "the sections claim more than {MAX_MEMORY} bytes of memory"
                )));
            }
            sections.push(section);
        }
        Ok(Self { sections })
    }

    /// MRTD after the VMM adds and measures the sections of `firmware` (the image this
    /// descriptor was read from) in `order`.
    pub fn mrtd(&self, firmware: &[u8], order: PageOrder) -> [u8; 48] {
        let mut mrtd = Sha384::new();
        for section in self.sections.iter().filter(|section| !section.augment) {
            let pages = 0..section.memory_size / PAGE;
            match order {
                PageOrder::SinglePass => pages.for_each(|page| {
                    add_page(&mut mrtd, section, page);
                    extend_page(&mut mrtd, section, page, firmware);
                }),
                PageOrder::TwoPass => {
                    pages
                        .clone()
                        .for_each(|page| add_page(&mut mrtd, section, page));
                    pages.for_each(|page| extend_page(&mut mrtd, section, page, firmware));
                }
            }
        }
        mrtd.finalize().into()
    }
}

/// MRTD of the TDX firmware image `firmware` added in `order`.
pub fn mrtd(firmware: &[u8], order: PageOrder) -> Result<[u8; 48], Error> {
    Ok(Tdvf::parse(firmware)?.mrtd(firmware, order))
}

/// The 128-byte buffer the TDX module hashes for one operation: its name, then the address.
fn operation(name: &[u8], address: u64) -> [u8; 128] {
    let mut buffer = [0u8; 128];
    buffer[..name.len()].copy_from_slice(name);
    buffer[16..24].copy_from_slice(&address.to_le_bytes());
    buffer
}

fn add_page(mrtd: &mut Sha384, section: &Section, page: u64) {
    mrtd.update(operation(b"MEM.PAGE.ADD", section.address + page * PAGE));
}

fn extend_page(mrtd: &mut Sha384, section: &Section, page: u64, firmware: &[u8]) {
    if !section.extend {
        return;
    }
    // `Tdvf::parse` checked that an extended section lies within the image.
    let start = (section.data_offset + page * PAGE) as usize;
    let contents = &firmware[start..start + PAGE as usize];
    for (index, chunk) in contents.chunks(EXTEND_CHUNK).enumerate() {
        let address = section.address + page * PAGE + (index * EXTEND_CHUNK) as u64;
        mrtd.update(operation(b"MR.EXTEND", address));
        mrtd.update(chunk);
    }
}

/// Reads section `index` from its 32 bytes, checking it against an image of `image_len`.
fn section(entry: &[u8], index: usize, image_len: u64) -> Result<Section, Error> {
    let u64_at =
        |at: usize| u64::from(u32_le(&entry[at..])) | u64::from(u32_le(&entry[at + 4..])) << 32;
    let kind_value = u32_le(&entry[24..]);
    let attributes = u32_le(&entry[28..]);
    let section = Section {
        data_offset: u64::from(u32_le(entry)),
        raw_size: u64::from(u32_le(&entry[4..])),
        address: u64_at(8),
        memory_size: u64_at(16),
        kind: SectionKind::of(kind_value)
            .ok_or_else(|| malformed(format!("section {index}: unknown type {kind_value}")))?,
        extend: attributes & 1 != 0,
        augment: attributes & 2 != 0,
    };
    let problem = if attributes & !3 != 0 {
        Some(format!("reserved attribute bits {attributes:#x}"))
    } else if section.address % PAGE != 0 || section.memory_size % PAGE != 0 {
        Some("address or memory size not a multiple of 4 KiB".to_owned())
    } else if section.memory_size < section.raw_size {
        Some("memory size smaller than the raw size".to_owned())
    } else if section.address.checked_add(section.memory_size).is_none() {
        Some("memory past the end of the address space".to_owned())
    } else if section.raw_size > 0 && section.data_offset + section.raw_size > image_len {
        Some(format!("data past the end of the {image_len}-byte image"))
    } else if section.extend && section.raw_size != section.memory_size {
        Some("measured, but its raw size differs from its memory size".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(malformed(format!(
            "section {index} ({:?}): {problem}",
            section.kind
        ))),
        None => Ok(section),
    }
}

/// The byte offset of the `TDVF` descriptor in `firmware`, from EDK2's GUIDed table.
fn descriptor_offset(firmware: &[u8]) -> Result<usize, Error> {
    let len = firmware.len();
    if len < 0x32 || firmware[len - 0x30..len - 0x20] != TABLE_FOOTER_GUID {
        return Err(malformed(
            "no EDK2 GUIDed table at the end of the image (not an OVMF/TDVF image)".to_owned(),
        ));
    }
    let table_len = usize::from(u16_le(&firmware[len - 0x32..]));
    let table_start = (len - 0x20).checked_sub(table_len).ok_or_else(|| {
        malformed(format!(
            "the GUIDed table's length {table_len} is too large"
        ))
    })?;
    // Entries end where the footer's GUID starts; the footer itself is the last entry.
    let mut end = len - 0x30 - 2;
    while end >= table_start + 18 {
        let entry_len = usize::from(u16_le(&firmware[end - 18..]));
        let guid = &firmware[end - 16..end];
        if entry_len < 18 || end - table_start < entry_len {
            return Err(malformed(format!(
                "a GUIDed table entry of length {entry_len}"
            )));
        }
        if guid == TDX_METADATA_OFFSET_GUID {
            if entry_len != 22 {
                return Err(malformed(format!(
                    "the TDX metadata entry has length {entry_len}"
                )));
            }
            let from_end = u32_le(&firmware[end - 22..]) as usize;
            let descriptor = len
                .checked_sub(from_end)
                .filter(|&at| at >= 16)
                .ok_or_else(|| {
                    malformed(format!(
                        "the TDX metadata offset {from_end} is outside the image"
                    ))
                })?;
            if firmware[descriptor - 16..descriptor] != TDX_METADATA_GUID {
                return Err(malformed(format!(
                    "no TDX metadata GUID before the descriptor at byte {descriptor}"
                )));
            }
            return Ok(descriptor);
        }
        end -= entry_len;
    }
    Err(malformed(
        "the GUIDed table has no TDX metadata entry (firmware built without TDX support)"
            .to_owned(),
    ))
}

fn u16_le(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[0], bytes[1]])
}

fn u32_le(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn malformed(reason: String) -> Error {
    Error::Firmware { reason }
}
