//! The two hash banks this crate computes (SHA-256 for TPM PCRs, SHA-384 for TPM PCRs and TDX
//! measurement registers) and the TCG algorithm identifiers an event log names them by.

use sha2::{Digest as _, Sha256, Sha384};

/// A hash algorithm as the TCG Algorithm Registry numbers it (`TPM_ALG_ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlgorithmId(pub u16);

impl AlgorithmId {
    /// `TPM_ALG_SHA1`.
    pub const SHA1: Self = Self(0x0004);
    /// `TPM_ALG_SHA256`.
    pub const SHA256: Self = Self(0x000B);
    /// `TPM_ALG_SHA384`.
    pub const SHA384: Self = Self(0x000C);
    /// `TPM_ALG_SHA512`.
    pub const SHA512: Self = Self(0x000D);
    /// `TPM_ALG_SM3_256`.
    pub const SM3_256: Self = Self(0x0012);

    /// The bank's name as Linux's sysfs and this crate's JSON write it (`sha256`).
    pub fn name(self) -> String {
        match self {
            Self::SHA1 => "sha1".into(),
            Self::SHA256 => "sha256".into(),
            Self::SHA384 => "sha384".into(),
            Self::SHA512 => "sha512".into(),
            Self::SM3_256 => "sm3_256".into(),
            Self(other) => format!("alg-{other:#06x}"),
        }
    }
}

/// The banks this crate predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bank {
    /// SHA-256 (TPM PCRs).
    Sha256,
    /// SHA-384 (TPM PCRs and TDX RTMRs).
    Sha384,
}

impl Bank {
    /// Both banks, in this order everywhere.
    pub const ALL: [Bank; 2] = [Bank::Sha256, Bank::Sha384];

    /// The TCG identifier of the bank's algorithm.
    pub fn algorithm(self) -> AlgorithmId {
        match self {
            Self::Sha256 => AlgorithmId::SHA256,
            Self::Sha384 => AlgorithmId::SHA384,
        }
    }

    /// The length of a digest.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The digest of `data`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        self.hash_parts(&[data])
    }

    /// The digest of the concatenation of `parts`.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Sha256 => {
                let mut hasher = Sha256::new();
                parts.iter().for_each(|part| hasher.update(part));
                hasher.finalize().to_vec()
            }
            Self::Sha384 => {
                let mut hasher = Sha384::new();
                parts.iter().for_each(|part| hasher.update(part));
                hasher.finalize().to_vec()
            }
        }
    }

    /// A register after extending `register` with `digest`: `H(register || digest)`.
    pub fn extend(self, register: &[u8], digest: &[u8]) -> Vec<u8> {
        self.hash_parts(&[register, digest])
    }
}

/// One digest in each bank: what an event extends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digests {
    /// The SHA-256 digest.
    pub sha256: [u8; 32],
    /// The SHA-384 digest.
    pub sha384: [u8; 48],
}

impl Digests {
    /// Both digests of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self::of_parts(&[data])
    }

    /// Both digests of the concatenation of `parts`, in one pass.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut hasher = BothHasher::new();
        parts.iter().for_each(|part| hasher.update(part));
        hasher.finish()
    }

    /// The digest of `bank`.
    pub fn get(&self, bank: Bank) -> &[u8] {
        match bank {
            Bank::Sha256 => &self.sha256,
            Bank::Sha384 => &self.sha384,
        }
    }
}

impl From<uki_stitcher::authenticode::Digests> for Digests {
    fn from(digests: uki_stitcher::authenticode::Digests) -> Self {
        Self {
            sha256: digests.sha256,
            sha384: digests.sha384,
        }
    }
}

/// Hashes bytes into both banks at once: the streaming form of [`Digests::of_parts`], which
/// can be cloned part-way to finish two digests that share a prefix.
#[derive(Debug, Clone, Default)]
pub struct BothHasher {
    sha256: Sha256,
    sha384: Sha384,
}

impl BothHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hashes `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha384.update(bytes);
    }

    /// Hashes `count` zero bytes (a loader's fill past a section's raw data, padding).
    pub fn update_zeros(&mut self, mut count: usize) {
        const ZEROS: [u8; 4096] = [0; 4096];
        while count > 0 {
            let chunk = count.min(ZEROS.len());
            self.update(&ZEROS[..chunk]);
            count -= chunk;
        }
    }

    /// The digests of everything hashed.
    pub fn finish(self) -> Digests {
        Digests {
            sha256: self.sha256.finalize().into(),
            sha384: self.sha384.finalize().into(),
        }
    }
}

/// Lower-case hexadecimal, as every register and digest is written out.
pub fn hex(bytes: &[u8]) -> String {
    uki_stitcher::authenticode::hex(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digests of "abc" from FIPS 180-2's examples.
    #[test]
    fn banks_hash_as_fips_180_says() {
        assert_eq!(
            hex(&Bank::Sha256.hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&Bank::Sha384.hash(b"abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        let both = Digests::of_parts(&[b"a", b"bc"]);
        assert_eq!(both.get(Bank::Sha256), Bank::Sha256.hash(b"abc"));
        assert_eq!(both.get(Bank::Sha384), Bank::Sha384.hash(b"abc"));
    }

    #[test]
    fn extending_hashes_the_old_value_then_the_digest() {
        let zero = [0u8; 32];
        let digest = Bank::Sha256.hash(b"event");
        let expected = Bank::Sha256.hash(&[&zero[..], &digest].concat());
        assert_eq!(Bank::Sha256.extend(&zero, &digest), expected);
    }
}
