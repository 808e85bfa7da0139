//! The Authenticode (PE image) hash: what UEFI firmware measures when it loads an image.
//!
//! The ranges follow the PE/COFF specification's "Calculating the PE Image Hash", which is
//! also what EDK2's `HashPeImage`/`Tcg2MeasurePeImage` (OVMF, TDVF) implement:
//!
//! 1. the headers up to SizeOfHeaders, leaving out the CheckSum field and the security
//!    (certificate table) data directory entry;
//! 2. each section with raw data, in ascending PointerToRawData order, SizeOfRawData bytes;
//! 3. trailing data: when the file is longer than SizeOfHeaders plus the sum of the hashed
//!    sections' raw sizes, the bytes from there to the end of the file less the certificate
//!    table's size.
//!
//! [`ranges`] plans those byte ranges without hashing (so tests can look at them);
//! [`sha256`], [`sha384`] and [`digests`] hash them.

use std::fmt;
use std::ops::Range;

use sha2::{Digest, Sha256, Sha384};

use crate::error::{Error, PeRole};
use crate::pe::PeView;

/// The file ranges the Authenticode hash covers, in hashing order.
pub fn ranges(image: &[u8]) -> Result<Vec<Range<usize>>, Error> {
    let view = PeView::parse(image, PeRole::Image)?;
    let headers_end = view.size_of_headers as usize;
    let checksum = Some(view.checksum_offset..view.checksum_offset + 4);
    let security = view.security_entry_offset.map(|entry| entry..entry + 8);
    let mut ranges = Vec::new();
    let mut at = 0;
    for skip in [checksum, security].into_iter().flatten() {
        if skip.end > headers_end {
            return Err(Error::malformed(
                PeRole::Image,
                "SizeOfHeaders ends inside the optional header",
            ));
        }
        ranges.push(at..skip.start);
        at = skip.end;
    }
    ranges.push(at..headers_end);

    let mut sections: Vec<_> = view.sections.iter().filter(|s| s.file_size > 0).collect();
    sections.sort_by_key(|s| s.file_offset);
    let mut sum_of_bytes_hashed = headers_end;
    for section in sections {
        let start = section.file_offset as usize;
        let end = start + section.file_size as usize;
        if end > image.len() {
            return Err(Error::malformed(
                PeRole::Image,
                format!(
                    "raw data of section `{}` ends at {end}, past the end of the file ({})",
                    section.name_lossy(),
                    image.len()
                ),
            ));
        }
        ranges.push(start..end);
        sum_of_bytes_hashed += section.file_size as usize;
    }

    let certificate_size = view.certificate_table.map_or(0, |(_, size)| size as usize);
    if image.len() > sum_of_bytes_hashed + certificate_size {
        ranges.push(sum_of_bytes_hashed..image.len() - certificate_size);
    }
    ranges.retain(|r| !r.is_empty());
    Ok(ranges)
}

fn hash<D: Digest>(image: &[u8]) -> Result<D, Error> {
    let mut digest = D::new();
    for range in ranges(image)? {
        digest.update(&image[range]);
    }
    Ok(digest)
}

/// The Authenticode SHA-256 of a PE image.
pub fn sha256(image: &[u8]) -> Result<[u8; 32], Error> {
    Ok(hash::<Sha256>(image)?.finalize().into())
}

/// The Authenticode SHA-384 of a PE image (the bank TDX RTMRs use).
pub fn sha384(image: &[u8]) -> Result<[u8; 48], Error> {
    Ok(hash::<Sha384>(image)?.finalize().into())
}

/// Both Authenticode digests of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digests {
    /// SHA-256.
    pub sha256: [u8; 32],
    /// SHA-384.
    pub sha384: [u8; 48],
}

/// Computes both digests in one pass over the image.
pub fn digests(image: &[u8]) -> Result<Digests, Error> {
    let mut sha256 = Sha256::new();
    let mut sha384 = Sha384::new();
    for range in ranges(image)? {
        sha256.update(&image[range.clone()]);
        sha384.update(&image[range]);
    }
    Ok(Digests {
        sha256: sha256.finalize().into(),
        sha384: sha384.finalize().into(),
    })
}

impl fmt::Display for Digests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "authenticode sha256: {}", hex(&self.sha256))?;
        write!(f, "authenticode sha384: {}", hex(&self.sha384))
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
