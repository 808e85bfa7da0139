//! dm-verity hash devices, byte for byte as `veritysetup format` writes them by default.
//!
//! A `Verity=hash` partition of systemd-repart holds what libcryptsetup's `crypt_format()`
//! writes for the data partition next to it. Computing those bytes here keeps extension images
//! (see [`crate::extension`]) free of libcryptsetup, loop devices and root, like the rest of the
//! crate. The format is cryptsetup's default one: verity format version 1 with a superblock,
//! hash sha256, 4096-byte data and hash blocks, a 32-byte salt.
//!
//! - Block 0 holds the 512-byte superblock, zero-padded to 4096 bytes (all fields little
//!   endian): the signature `verity\0\0`; the superblock version (u32, 1); the hash type
//!   (u32, 1: the salt comes before the data it is hashed with); the UUID (16 bytes, in the
//!   order its text is written); the hash algorithm (32 bytes, `sha256` NUL padded); the data
//!   and hash block sizes (u32 each); the number of data blocks (u64); the salt size (u16);
//!   6 bytes of padding; the salt (256 bytes, zero padded); 168 bytes of padding.
//! - The hash tree follows, its top-most level first, as cryptsetup stores it. Level 0 holds
//!   `sha256(salt || block)` of every data block; each level above holds the digests of the
//!   blocks of the level below, computed the same way. A hash block holds 128 digests, the
//!   rest of the last block of a level is zeros. Levels are added until one has a single block;
//!   data of a single block has no level at all.
//! - The root hash is `sha256(salt || block)` of the top level's only block, or of the single
//!   data block when there is no level.
//!
//! The salt and the superblock UUID are inputs: systemd-repart derives both from its seed
//! (see [`crate::extension`]). [`VerityHasher`] takes the data in pieces of any size, so a data
//! partition of hundreds of MiB is never held twice; only the hash device (1/128 of the data)
//! is kept in memory.

use std::io::{self, Read};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Size of a data block and of a hash block.
pub const BLOCK_SIZE: u64 = 4096;
/// Size of a sha256 digest, and of the root hash.
pub const DIGEST_SIZE: usize = 32;
/// Size of the salt (systemd-repart's: one HMAC-SHA256 output).
pub const SALT_SIZE: usize = 32;
/// Size of the superblock at the start of the hash device.
pub const SUPERBLOCK_SIZE: usize = 512;
/// Digests in one hash block.
pub const DIGESTS_PER_BLOCK: u64 = BLOCK_SIZE / DIGEST_SIZE as u64;
/// The superblock's signature.
pub const SIGNATURE: [u8; 8] = *b"verity\0\0";
/// The hash algorithm's name, as the superblock records it.
pub const HASH_ALGORITHM: &str = "sha256";

const BLOCK: usize = BLOCK_SIZE as usize;

/// The hash device of some data and its root hash.
#[derive(Clone, PartialEq, Eq)]
pub struct VerityHash {
    /// The root hash: what `veritysetup verify` and the kernel check the tree against.
    pub root_hash: [u8; DIGEST_SIZE],
    /// The hash device: the superblock block, then the hash tree (a multiple of 4096 bytes).
    pub hash_device: Vec<u8>,
}

impl std::fmt::Debug for VerityHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerityHash")
            .field("root_hash", &self.root_hash_hex())
            .field("hash_device_len", &self.hash_device.len())
            .finish()
    }
}

impl VerityHash {
    /// The root hash as lowercase hex, as `veritysetup` prints it and systemd-repart signs it.
    pub fn root_hash_hex(&self) -> String {
        hex(&self.root_hash)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The superblock for `data_blocks` blocks of data hashed with `salt`, recording `uuid`.
pub fn superblock(data_blocks: u64, salt: &[u8; SALT_SIZE], uuid: Uuid) -> [u8; SUPERBLOCK_SIZE] {
    let block_size = u32::try_from(BLOCK_SIZE).expect("4096 fits in u32");
    let salt_size = u16::try_from(SALT_SIZE).expect("32 fits in u16");
    let mut sb = [0u8; SUPERBLOCK_SIZE];
    sb[0..8].copy_from_slice(&SIGNATURE);
    sb[8..12].copy_from_slice(&1u32.to_le_bytes()); // superblock version
    sb[12..16].copy_from_slice(&1u32.to_le_bytes()); // hash type 1: salt first
    sb[16..32].copy_from_slice(uuid.as_bytes());
    sb[32..32 + HASH_ALGORITHM.len()].copy_from_slice(HASH_ALGORITHM.as_bytes());
    sb[64..68].copy_from_slice(&block_size.to_le_bytes()); // data block size
    sb[68..72].copy_from_slice(&block_size.to_le_bytes()); // hash block size
    sb[72..80].copy_from_slice(&data_blocks.to_le_bytes());
    sb[80..82].copy_from_slice(&salt_size.to_le_bytes());
    // 82..88: padding; 88..344: the salt, zero padded to 256 bytes; 344..512: padding.
    sb[88..88 + SALT_SIZE].copy_from_slice(salt);
    sb
}

/// The number of hash blocks of each level of the tree over `data_blocks` blocks, top-most
/// level first (the order of the hash device). Empty for a single data block.
pub fn level_blocks(data_blocks: u64) -> Vec<u64> {
    let mut levels = Vec::new();
    let mut below = data_blocks;
    while below > 1 {
        below = below.div_ceil(DIGESTS_PER_BLOCK);
        levels.push(below);
    }
    levels.reverse();
    levels
}

fn data_blocks(data_len: u64) -> Result<u64> {
    if data_len == 0 || data_len % BLOCK_SIZE != 0 {
        return Err(Error::VerityDataLength { len: data_len });
    }
    Ok(data_len / BLOCK_SIZE)
}

/// The size of the hash device for `data_len` bytes of data: the superblock block and the
/// tree. Fails unless `data_len` is a positive multiple of [`BLOCK_SIZE`].
pub fn hash_device_len(data_len: u64) -> Result<u64> {
    let blocks = data_blocks(data_len)?;
    Ok(BLOCK_SIZE * (1 + level_blocks(blocks).iter().sum::<u64>()))
}

/// Builds a hash device from data given in pieces of any size.
#[derive(Clone)]
pub struct VerityHasher {
    salted: Sha256,
    salt: [u8; SALT_SIZE],
    /// The bytes of a data block not yet complete.
    partial: Vec<u8>,
    /// The digests of the complete data blocks, one after the other: level 0 of the tree.
    leaves: Vec<u8>,
    len: u64,
}

impl std::fmt::Debug for VerityHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerityHasher")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl VerityHasher {
    /// A hasher for data hashed with `salt`.
    pub fn new(salt: [u8; SALT_SIZE]) -> VerityHasher {
        VerityHasher {
            salted: Sha256::new_with_prefix(salt),
            salt,
            partial: Vec::with_capacity(BLOCK),
            leaves: Vec::new(),
            len: 0,
        }
    }

    fn digest(&self, block: &[u8]) -> [u8; DIGEST_SIZE] {
        self.salted.clone().chain_update(block).finalize().into()
    }

    /// Adds the next `data` bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.partial.is_empty() {
            let take = (BLOCK - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() == BLOCK {
                let digest = self.digest(&self.partial);
                self.leaves.extend_from_slice(&digest);
                self.partial.clear();
            }
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            let digest = self.digest(block);
            self.leaves.extend_from_slice(&digest);
        }
        self.partial.extend_from_slice(blocks.remainder());
    }

    /// Bytes added so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was added yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash device (with `uuid` in its superblock) and the root hash of the data added.
    /// Fails unless that data is a positive multiple of [`BLOCK_SIZE`] long.
    pub fn finish(mut self, uuid: Uuid) -> Result<VerityHash> {
        let data_blocks = data_blocks(self.len)?;
        // Levels bottom-up; `digests` holds the digests of the blocks of the level below.
        let mut levels: Vec<Vec<u8>> = Vec::new();
        let mut digests = std::mem::take(&mut self.leaves);
        while digests.len() > DIGEST_SIZE {
            let per_block = usize::try_from(DIGESTS_PER_BLOCK).expect("128 fits") * DIGEST_SIZE;
            let mut level = Vec::with_capacity(digests.len().div_ceil(per_block) * BLOCK);
            for chunk in digests.chunks(per_block) {
                level.extend_from_slice(chunk);
                level.resize(level.len() + BLOCK - chunk.len(), 0);
            }
            digests = level
                .chunks_exact(BLOCK)
                .flat_map(|block| self.digest(block))
                .collect();
            levels.push(level);
        }
        let root_hash: [u8; DIGEST_SIZE] = digests
            .as_slice()
            .try_into()
            .expect("one digest is left at the top");

        let tree_len: usize = levels.iter().map(Vec::len).sum();
        let mut hash_device = Vec::with_capacity(BLOCK + tree_len);
        hash_device.extend_from_slice(&superblock(data_blocks, &self.salt, uuid));
        hash_device.resize(BLOCK, 0);
        for level in levels.iter().rev() {
            hash_device.extend_from_slice(level);
        }
        debug_assert_eq!(
            hash_device.len() as u64,
            hash_device_len(self.len).expect("length checked above")
        );
        Ok(VerityHash {
            root_hash,
            hash_device,
        })
    }
}

/// The hash device and root hash of the `data_len` bytes `data` yields, hashed with `salt`,
/// the superblock recording `uuid`. The data is read in 1 MiB pieces; `data_len` must be a
/// positive multiple of [`BLOCK_SIZE`], and `data` must yield at least that many bytes.
pub fn hash_device(
    mut data: impl Read,
    data_len: u64,
    salt: [u8; SALT_SIZE],
    uuid: Uuid,
) -> Result<VerityHash> {
    data_blocks(data_len)?;
    let mut hasher = VerityHasher::new(salt);
    let mut buf = vec![0u8; 1 << 20];
    while hasher.len() < data_len {
        let n = usize::try_from((data_len - hasher.len()).min(buf.len() as u64))
            .expect("at most 1 MiB");
        data.read_exact(&mut buf[..n]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::VerityRead(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the data ended after {} of {data_len} bytes", hasher.len()),
                ))
            } else {
                Error::VerityRead(e)
            }
        })?;
        hasher.update(&buf[..n]);
    }
    hasher.finish(uuid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tools::{run_tool, run_tool_status};
    use std::fs;
    use uuid::uuid;

    const SALT: [u8; SALT_SIZE] = [
        0x00, 0x36, 0x41, 0x27, 0x29, 0x29, 0x0b, 0x5b, 0x88, 0x79, 0x36, 0x7c, 0x8b, 0x0c, 0xb0,
        0x9f, 0x7d, 0x65, 0xda, 0x40, 0xd3, 0x72, 0xd5, 0x03, 0x76, 0xac, 0x66, 0x49, 0x75, 0xf5,
        0x0f, 0x2c,
    ];
    const UUID: Uuid = uuid!("6db2d808-42dc-4551-9261-948cf35871ba");

    /// `blocks` data blocks that differ from each other.
    fn data(blocks: u64) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut out = Vec::with_capacity(usize::try_from(blocks * BLOCK_SIZE).unwrap());
        while (out.len() as u64) < blocks * BLOCK_SIZE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.extend_from_slice(&state.to_le_bytes());
        }
        out
    }

    fn salted(block: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(SALT);
        h.update(block);
        h.finalize().into()
    }

    #[test]
    fn superblock_fields() {
        let sb = superblock(300, &SALT, UUID);
        assert_eq!(&sb[..8], b"verity\0\0");
        assert_eq!(sb[8..16], [1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&sb[16..32], UUID.as_bytes());
        assert_eq!(&sb[32..40], b"sha256\0\0");
        assert!(sb[38..64].iter().all(|b| *b == 0));
        assert_eq!(sb[64..72], [0, 0x10, 0, 0, 0, 0x10, 0, 0]);
        assert_eq!(sb[72..80], 300u64.to_le_bytes());
        assert_eq!(sb[80..82], [32, 0]);
        assert_eq!(&sb[88..120], &SALT);
        assert!(sb[120..].iter().all(|b| *b == 0));
    }

    #[test]
    fn one_and_two_blocks_by_hand() {
        // One block: no hash level; the root hash is the block's own salted digest.
        let one = data(1);
        let hash = hash_device(one.as_slice(), 4096, SALT, UUID).unwrap();
        assert_eq!(hash.root_hash, salted(&one));
        assert_eq!(hash.hash_device.len(), 4096);
        assert_eq!(&hash.hash_device[..512], &superblock(1, &SALT, UUID));
        assert!(hash.hash_device[512..].iter().all(|b| *b == 0));

        // Two blocks: one hash block with both digests, zero padded; the root is its digest.
        let two = data(2);
        let hash = hash_device(two.as_slice(), 8192, SALT, UUID).unwrap();
        let mut level = Vec::new();
        level.extend_from_slice(&salted(&two[..4096]));
        level.extend_from_slice(&salted(&two[4096..]));
        level.resize(4096, 0);
        assert_eq!(hash.root_hash, salted(&level));
        assert_eq!(hash.hash_device.len(), 8192);
        assert_eq!(&hash.hash_device[..512], &superblock(2, &SALT, UUID));
        assert_eq!(&hash.hash_device[4096..], level.as_slice());
    }

    #[test]
    fn levels_and_lengths() {
        assert_eq!(level_blocks(1), Vec::<u64>::new());
        assert_eq!(level_blocks(2), vec![1]);
        assert_eq!(level_blocks(128), vec![1]);
        assert_eq!(level_blocks(129), vec![1, 2]);
        assert_eq!(level_blocks(300), vec![1, 3]);
        assert_eq!(level_blocks(128 * 128 + 1), vec![1, 2, 129]);
        assert_eq!(hash_device_len(300 * 4096).unwrap(), 5 * 4096);
        for bad in [0, 4095, 4097] {
            assert!(
                matches!(hash_device_len(bad), Err(Error::VerityDataLength { len }) if len == bad)
            );
            assert!(matches!(
                VerityHasher::new(SALT).finish(UUID),
                Err(Error::VerityDataLength { len: 0 })
            ));
        }
        let err = hash_device(&[0u8; 100][..], 4096, SALT, UUID).unwrap_err();
        assert!(matches!(err, Error::VerityRead(_)), "{err}");
    }

    #[test]
    fn pieces_of_any_size_give_the_same_tree() {
        let bytes = data(300);
        let whole = hash_device(bytes.as_slice(), bytes.len() as u64, SALT, UUID).unwrap();
        let mut hasher = VerityHasher::new(SALT);
        for piece in bytes.chunks(1000) {
            hasher.update(piece);
        }
        assert_eq!(hasher.finish(UUID).unwrap(), whole);
    }

    /// The tree of `blocks` blocks against the real `veritysetup`: `format` with the same salt
    /// and UUID writes the same bytes and prints the same root hash; `verify` accepts ours;
    /// `dump` reads our superblock back; a flipped data byte makes `verify` fail.
    fn check_with_veritysetup(blocks: u64) {
        let dir = tempfile::tempdir().unwrap();
        let data_path = dir.path().join("data");
        let ours_path = dir.path().join("hash");
        let theirs_path = dir.path().join("hash-veritysetup");
        let mut bytes = data(blocks);
        fs::write(&data_path, &bytes).unwrap();
        let hash = hash_device(bytes.as_slice(), bytes.len() as u64, SALT, UUID).unwrap();
        fs::write(&ours_path, &hash.hash_device).unwrap();
        let root = hash.root_hash_hex();
        let (data_arg, ours_arg, theirs_arg) = (
            data_path.to_str().unwrap(),
            ours_path.to_str().unwrap(),
            theirs_path.to_str().unwrap(),
        );

        let formatted = run_tool(
            "veritysetup",
            &[
                "format",
                &format!("--salt={}", hex(&SALT)),
                &format!("--uuid={UUID}"),
                data_arg,
                theirs_arg,
            ],
        );
        assert!(
            formatted.contains(&format!("Root hash:      \t{root}")),
            "{blocks} blocks: veritysetup format printed\n{formatted}\nours: {root}"
        );
        let theirs = fs::read(&theirs_path).unwrap();
        assert!(
            theirs == hash.hash_device,
            "{blocks} blocks: our hash device differs from veritysetup's (lengths {} and {})",
            hash.hash_device.len(),
            theirs.len()
        );

        run_tool("veritysetup", &["verify", data_arg, ours_arg, &root]);
        let dump = run_tool("veritysetup", &["dump", ours_arg]);
        for expected in [
            format!("UUID:            \t{UUID}"),
            "Hash type:       \t1".to_owned(),
            format!("Data blocks:     \t{blocks}"),
            "Data block size: \t4096".to_owned(),
            "Hash block size: \t4096".to_owned(),
            "Hash algorithm:  \tsha256".to_owned(),
            format!("Salt:            \t{}", hex(&SALT)),
        ] {
            assert!(dump.contains(&expected), "no `{expected}` in\n{dump}");
        }

        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&data_path, &bytes).unwrap();
        let status = run_tool_status("veritysetup", &["verify", data_arg, ours_arg, &root]);
        assert!(
            !status.success(),
            "{blocks} blocks: verify accepted corrupted data"
        );
    }

    #[test]
    fn veritysetup_agrees_with_one_and_two_levels() {
        for blocks in [1, 2, 128, 129, 300] {
            check_with_veritysetup(blocks);
        }
    }

    #[test]
    fn veritysetup_agrees_with_three_levels() {
        check_with_veritysetup(128 * 128 + 1);
    }
}
