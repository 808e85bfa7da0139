//! The SVR4 `newc` wire format, shared by the writer and the reader.
//!
//! A member is a 110-byte ASCII header (magic `070701` and thirteen 8-digit hexadecimal
//! fields), the name and its NUL padded to a multiple of 4 bytes, then the data padded to a
//! multiple of 4. The archive ends with a member named `TRAILER!!!`. Keeping the field list in
//! one place ([`Header::fields`]) means encoding, decoding and the difference report cannot
//! disagree about it.

use std::fmt;

/// The magic of a `newc` header (no checksum).
pub const MAGIC: &[u8; 6] = b"070701";
/// Length of a header in bytes.
pub const HEADER_LEN: usize = 110;
/// Name of the member that ends an archive.
pub const TRAILER_NAME: &[u8] = b"TRAILER!!!";
/// GNU cpio pads a whole archive to its 512-byte I/O block; so do we.
pub const BLOCK_SIZE: u64 = 512;

/// File type bits of `c_mode`, as in `st_mode`.
pub mod file_type {
    /// Mask of the type bits.
    pub const MASK: u32 = 0o170_000;
    /// Socket.
    pub const SOCKET: u32 = 0o140_000;
    /// Symbolic link.
    pub const SYMLINK: u32 = 0o120_000;
    /// Regular file.
    pub const REGULAR: u32 = 0o100_000;
    /// Block device.
    pub const BLOCK_DEVICE: u32 = 0o060_000;
    /// Directory.
    pub const DIRECTORY: u32 = 0o040_000;
    /// Character device.
    pub const CHAR_DEVICE: u32 = 0o020_000;
    /// Named pipe.
    pub const FIFO: u32 = 0o010_000;
}

/// A header field, or another aspect of a member that two archives can differ in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `c_ino`.
    Ino,
    /// `c_mode` (type and permission bits).
    Mode,
    /// `c_uid`.
    Uid,
    /// `c_gid`.
    Gid,
    /// `c_nlink`.
    Nlink,
    /// `c_mtime`.
    Mtime,
    /// `c_filesize`.
    FileSize,
    /// `c_devmajor`.
    DevMajor,
    /// `c_devminor`.
    DevMinor,
    /// `c_rdevmajor`.
    RdevMajor,
    /// `c_rdevminor`.
    RdevMinor,
    /// `c_namesize`.
    NameSize,
    /// `c_check`.
    Check,
    /// The member's name.
    Name,
    /// The member's data.
    Data,
    /// The member exists in one archive only.
    Presence,
    /// Same members, different bytes: compression, padding or segment layout.
    Encoding,
    /// One side could not be read as an initrd.
    Unreadable,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Ino => "c_ino",
            Field::Mode => "c_mode",
            Field::Uid => "c_uid",
            Field::Gid => "c_gid",
            Field::Nlink => "c_nlink",
            Field::Mtime => "c_mtime",
            Field::FileSize => "c_filesize",
            Field::DevMajor => "c_devmajor",
            Field::DevMinor => "c_devminor",
            Field::RdevMajor => "c_rdevmajor",
            Field::RdevMinor => "c_rdevminor",
            Field::NameSize => "c_namesize",
            Field::Check => "c_check",
            Field::Name => "name",
            Field::Data => "data",
            Field::Presence => "presence",
            Field::Encoding => "encoding",
            Field::Unreadable => "readability",
        })
    }
}

/// The thirteen numeric fields of a `newc` header, in wire order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Inode number; the names of a hardlinked file share it.
    pub ino: u32,
    /// File type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Number of names the inode has in the archive.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Length of the data that follows the name.
    pub filesize: u32,
    /// Major number of the device holding the file (0: we record no host device).
    pub devmajor: u32,
    /// Minor number of the device holding the file.
    pub devminor: u32,
    /// Major number of a device node.
    pub rdevmajor: u32,
    /// Minor number of a device node.
    pub rdevminor: u32,
    /// Length of the name including its NUL.
    pub namesize: u32,
    /// Checksum; always 0 in `newc`.
    pub check: u32,
}

impl Header {
    /// The header of the `TRAILER!!!` member, as GNU cpio writes it.
    pub fn trailer() -> Self {
        Header {
            nlink: 1,
            namesize: TRAILER_NAME.len() as u32 + 1,
            ..Header::default()
        }
    }

    /// Every field with its name, in wire order.
    pub fn fields(&self) -> [(Field, u32); 13] {
        let mut copy = *self;
        copy.fields_mut().map(|(field, value)| (field, *value))
    }

    /// Every field with its name, in wire order, to be written.
    fn fields_mut(&mut self) -> [(Field, &mut u32); 13] {
        [
            (Field::Ino, &mut self.ino),
            (Field::Mode, &mut self.mode),
            (Field::Uid, &mut self.uid),
            (Field::Gid, &mut self.gid),
            (Field::Nlink, &mut self.nlink),
            (Field::Mtime, &mut self.mtime),
            (Field::FileSize, &mut self.filesize),
            (Field::DevMajor, &mut self.devmajor),
            (Field::DevMinor, &mut self.devminor),
            (Field::RdevMajor, &mut self.rdevmajor),
            (Field::RdevMinor, &mut self.rdevminor),
            (Field::NameSize, &mut self.namesize),
            (Field::Check, &mut self.check),
        ]
    }

    /// The header's bytes: the magic, then each field as eight upper-case hexadecimal digits
    /// (as GNU cpio writes them).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; HEADER_LEN];
        out[..6].copy_from_slice(MAGIC);
        for (i, (_, value)) in self.fields().into_iter().enumerate() {
            let digits = &mut out[6 + 8 * i..14 + 8 * i];
            for (j, digit) in digits.iter_mut().enumerate() {
                *digit = HEX[((value >> (28 - 4 * j)) & 0xf) as usize];
            }
        }
        out
    }

    /// Parses a header; the reason is returned when the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Result<Header, &'static str> {
        let bytes = bytes.get(..HEADER_LEN).ok_or("truncated header")?;
        if &bytes[..6] != MAGIC {
            return Err("not a newc header (magic 070701)");
        }
        let mut header = Header::default();
        for (i, (_, value)) in header.fields_mut().into_iter().enumerate() {
            let digits = &bytes[6 + 8 * i..14 + 8 * i];
            if !digits.iter().all(u8::is_ascii_hexdigit) {
                return Err("header field is not hexadecimal");
            }
            *value = digits.iter().fold(0, |acc, &d| {
                // `to_digit` cannot fail after the check above.
                acc << 4 | char::from(d).to_digit(16).unwrap_or(0)
            });
        }
        Ok(header)
    }
}

/// Bytes of zero padding that bring `len` to a multiple of `align`.
pub(crate) fn padding(len: u64, align: u64) -> u64 {
    (align - len % align) % align
}

/// Bytes a member occupies: header, name, NUL and data, each part padded to 4 bytes.
pub(crate) fn member_len(name_len: usize, data_len: u64) -> u64 {
    let head = (HEADER_LEN + name_len + 1) as u64;
    head + padding(head, 4) + data_len + padding(data_len, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_gnu_cpio_and_decodes_back() {
        let header = Header {
            ino: 2,
            mode: 0o100_644,
            nlink: 3,
            mtime: 0x6B02_603E,
            filesize: 6,
            namesize: 4,
            ..Header::default()
        };
        let bytes = header.encode();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            concat!(
                "070701", "00000002", "000081A4", "00000000", "00000000", "00000003", "6B02603E",
                "00000006", "00000000", "00000000", "00000000", "00000000", "00000004", "00000000"
            )
        );
        assert_eq!(Header::decode(&bytes), Ok(header));
    }

    #[test]
    fn rejects_bad_headers() {
        let mut bytes = Header::trailer().encode();
        assert!(Header::decode(&bytes[..50]).is_err());
        bytes[20] = b'x';
        assert!(Header::decode(&bytes).is_err());
        bytes[0] = b'1';
        assert!(Header::decode(&bytes).is_err());
    }

    #[test]
    fn pads_name_and_data_to_four_bytes() {
        // 110 + 2 ("." and NUL) = 112: aligned; the data of 5 bytes is padded to 8.
        assert_eq!(member_len(1, 5), 112 + 8);
        // 110 + 3 = 113: padded to 116.
        assert_eq!(member_len(2, 0), 116);
        assert_eq!(padding(1396, BLOCK_SIZE), 1536 - 1396);
        assert_eq!(padding(1024, BLOCK_SIZE), 0);
    }
}
