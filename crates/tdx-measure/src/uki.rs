//! What the boot components measure of a UKI: its sections as the PE loader maps them (the
//! file's bytes, then zeros up to VirtualSize) and the version of the systemd-stub inside
//! it, read from the stub's `.sdmagic` (`#### LoaderInfo: systemd-stub 257.13-1 ####`).

use uki_stitcher::MappedSection;

use crate::bank::{BothHasher, Digests};
use crate::error::Error;

/// A UKI read for measuring.
#[derive(Debug, Clone)]
pub struct Uki<'a> {
    image: &'a [u8],
    sections: Vec<MappedSection<'a>>,
    stub_version: String,
}

impl<'a> Uki<'a> {
    /// Reads the section table of `image` and the stub's version. A PE image without a
    /// systemd-stub `.sdmagic` or without `.linux` is not a UKI this crate can model.
    pub fn read(image: &'a [u8]) -> Result<Self, Error> {
        let sections = uki_stitcher::sections(image)?;
        let magic = sections
            .iter()
            .find(|section| section.name == ".sdmagic")
            .ok_or_else(|| Error::NotAUki {
                reason: "it has no .sdmagic section, so its stub is not a systemd-stub".into(),
            })?;
        let stub_version = stub_version(magic.contents).ok_or_else(|| Error::NotAUki {
            reason: format!(
                ".sdmagic does not name a systemd-stub: {:?}",
                String::from_utf8_lossy(magic.contents).trim_end_matches('\0')
            ),
        })?;
        let uki = Self {
            image,
            sections,
            stub_version,
        };
        if uki.section(".linux").is_none() {
            return Err(Error::NotAUki {
                reason: "it has no .linux section".into(),
            });
        }
        Ok(uki)
    }

    /// The whole file.
    pub fn image(&self) -> &'a [u8] {
        self.image
    }

    /// The sections in table order.
    pub fn sections(&self) -> &[MappedSection<'a>] {
        &self.sections
    }

    /// The first section called `name` that the loader maps (VirtualSize not zero), as
    /// systemd-stub looks sections up.
    pub fn section(&self, name: &str) -> Option<&MappedSection<'a>> {
        self.sections
            .iter()
            .find(|section| section.name == name && section.virtual_size > 0)
    }

    /// The stub's version (`257.13-1~deb13u1`).
    pub fn stub_version(&self) -> &str {
        &self.stub_version
    }
}

/// The section's bytes in memory: its contents, then the loader's zeros.
pub fn in_memory(section: &MappedSection<'_>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(section.virtual_size as usize);
    bytes.extend_from_slice(section.contents);
    bytes.resize(section.virtual_size as usize, 0);
    bytes
}

/// Feeds the section's bytes in memory to `hasher` without copying them.
pub fn hash_in_memory(hasher: &mut BothHasher, section: &MappedSection<'_>) {
    hasher.update(section.contents);
    hasher.update_zeros(section.zero_fill());
}

/// Both digests of the section's bytes in memory.
pub fn digests_in_memory(section: &MappedSection<'_>) -> Digests {
    let mut hasher = BothHasher::new();
    hash_in_memory(&mut hasher, section);
    hasher.finish()
}

/// The version in a `.sdmagic` of the form `#### LoaderInfo: systemd-stub <version> ####`.
fn stub_version(magic: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(magic).ok()?.trim_end_matches('\0');
    let version = text
        .strip_prefix("#### LoaderInfo: systemd-stub ")?
        .strip_suffix(" ####")?;
    (!version.is_empty() && !version.contains(char::is_whitespace)).then(|| version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stub_version_is_read_from_its_magic() {
        assert_eq!(
            stub_version(b"#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####\0").as_deref(),
            Some("257.13-1~deb13u1")
        );
        assert_eq!(
            stub_version(b"#### LoaderInfo: systemd-boot 257 ####"),
            None
        );
        assert_eq!(stub_version(b"#### LoaderInfo: systemd-stub  ####"), None);
    }
}
