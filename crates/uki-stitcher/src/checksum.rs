//! The PE optional header's CheckSum, as `ImageHlp!CheckSumMappedFile` computes it.
//!
//! The file is summed as little-endian 16-bit words with end-around carry (an odd last byte is
//! padded with a zero byte), the CheckSum field itself counting as zero, and the file length is
//! added to the folded sum. [`PeChecksum`] takes the file in pieces of any length, so the UKI
//! writer can checksum its output without assembling it in memory.

use crate::error::{Error, PeRole};
use crate::pe::PeView;

/// A running PE checksum over a file fed in order, in pieces of any length.
#[derive(Clone, Debug, Default)]
pub struct PeChecksum {
    sum: u32,
    pending: Option<u8>,
    len: u64,
}

impl PeChecksum {
    /// An empty checksum.
    pub fn new() -> PeChecksum {
        PeChecksum::default()
    }

    /// Adds the next bytes of the file. The CheckSum field must be fed as zeros.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if let Some(low) = self.pending.take() {
            match bytes.split_first() {
                Some((&high, rest)) => {
                    self.add(u16::from_le_bytes([low, high]));
                    bytes = rest;
                }
                None => {
                    self.pending = Some(low);
                    return;
                }
            }
        }
        let mut words = bytes.chunks_exact(2);
        for word in &mut words {
            self.add(u16::from_le_bytes([word[0], word[1]]));
        }
        self.pending = words.remainder().first().copied();
    }

    /// Adds `count` zero bytes (padding) without materialising them: zero words change only
    /// the length and the byte parity.
    pub fn update_zeros(&mut self, count: u64) {
        if count == 0 {
            return;
        }
        let mut count = count;
        if let Some(low) = self.pending.take() {
            self.add(u16::from(low));
            self.len += 1;
            count -= 1;
        }
        self.len += count;
        if count % 2 == 1 {
            self.pending = Some(0);
        }
    }

    fn add(&mut self, word: u16) {
        self.sum += u32::from(word);
        self.sum = (self.sum & 0xffff) + (self.sum >> 16);
    }

    /// The checksum of everything fed so far, as the file's CheckSum field should hold it.
    pub fn finish(mut self) -> u32 {
        if let Some(low) = self.pending.take() {
            self.add(u16::from(low));
        }
        let folded = (self.sum & 0xffff) + (self.sum >> 16);
        (folded & 0xffff).wrapping_add(self.len as u32)
    }
}

/// The checksum a PE image should carry, computed over `image` with its CheckSum field taken
/// as zero.
pub fn pe_checksum(image: &[u8]) -> Result<u32, Error> {
    let view = PeView::parse(image, PeRole::Image)?;
    let field = view.checksum_offset;
    let mut checksum = PeChecksum::new();
    checksum.update(&image[..field]);
    checksum.update(&[0; 4]);
    checksum.update(&image[field + 4..]);
    Ok(checksum.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward definition, for comparison.
    fn reference(data: &[u8]) -> u32 {
        let mut sum: u64 = 0;
        for word in data.chunks(2) {
            let value = u64::from(word[0]) | u64::from(word.get(1).copied().unwrap_or(0)) << 8;
            sum += value;
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let folded = ((sum & 0xffff) + (sum >> 16)) & 0xffff;
        (folded + data.len() as u64) as u32
    }

    #[test]
    fn pieces_of_any_length_give_the_same_sum() {
        let data: Vec<u8> = (0..5001u32).map(|i| (i * 7919 % 251) as u8).collect();
        let expected = reference(&data);
        for split in [0, 1, 2, 3, 999, 1000, 5000, 5001] {
            for second in [0, 1, 7] {
                let (a, rest) = data.split_at(split);
                let (b, c) = rest.split_at(second.min(rest.len()));
                let mut checksum = PeChecksum::new();
                checksum.update(a);
                checksum.update(&[]);
                checksum.update(b);
                checksum.update(c);
                assert_eq!(checksum.finish(), expected, "split at {split}+{second}");
            }
        }
    }

    #[test]
    fn zero_runs_count_like_zero_bytes() {
        for (head, zeros, tail) in [
            (3usize, 5u64, 3usize),
            (4, 0, 1),
            (1, 1, 0),
            (0, 7, 2),
            (5, 4, 5),
        ] {
            let head_bytes = vec![0xab; head];
            let tail_bytes = vec![0xcd; tail];
            let mut all = head_bytes.clone();
            all.extend(std::iter::repeat_n(0, zeros as usize));
            all.extend(&tail_bytes);
            let mut checksum = PeChecksum::new();
            checksum.update(&head_bytes);
            checksum.update_zeros(zeros);
            checksum.update(&tail_bytes);
            assert_eq!(checksum.finish(), reference(&all), "{head}+{zeros}+{tail}");
        }
    }

    #[test]
    fn carries_wrap_around() {
        let data = vec![0xff; 1 << 17];
        let mut checksum = PeChecksum::new();
        checksum.update(&data);
        assert_eq!(checksum.finish(), reference(&data));
        assert_eq!(reference(&data), 0xffff + (1 << 17));
    }
}
