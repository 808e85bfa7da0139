//! An in-memory disk of fixed length that stores only the pages written to it.
//!
//! [`SparseImage`] implements `Read`, `Write` and `Seek`, so the `gpt` and `fatfs` crates
//! write into it as into a file. Unwritten pages read as zeros and cost nothing, so a disk with
//! a 100 MiB UKI in a 10 GiB layout takes about 100 MiB of memory. [`SparseImage::data_runs`]
//! lists the maximal runs of pages that hold a non-zero byte: the writers use it to seek over
//! holes in `disk.raw`, to build the sparse map of the GCP tar, and to skip zeros in the VHD.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// The granularity of storage and of holes: 4 KiB, systemd-repart's grain.
pub const PAGE_SIZE: u64 = 4096;

type Page = Box<[u8; PAGE_SIZE as usize]>;

/// A byte image of fixed length, stored as the pages that were written.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SparseImage {
    len: u64,
    pages: BTreeMap<u64, Page>,
    position: u64,
}

/// A run of bytes that are not all zero: `[offset, offset + len)`, page-aligned except that it
/// ends at the image's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRun {
    /// Byte offset of the run.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl fmt::Debug for SparseImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseImage")
            .field("len", &self.len)
            .field("stored_pages", &self.pages.len())
            .finish()
    }
}

impl SparseImage {
    /// An image of `len` zero bytes.
    pub fn new(len: u64) -> SparseImage {
        SparseImage {
            len,
            pages: BTreeMap::new(),
            position: 0,
        }
    }

    /// The image's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image has length zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `data` at `offset` (the position used by `Read`/`Write` is not changed).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|end| *end <= self.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "write of {} bytes at {offset} past the end of a {}-byte image",
                        data.len(),
                        self.len
                    ),
                )
            })?;
        let mut at = offset;
        let mut rest = data;
        while at < end {
            let page_index = at / PAGE_SIZE;
            let within = (at % PAGE_SIZE) as usize;
            let n = rest.len().min(PAGE_SIZE as usize - within);
            let (chunk, tail) = rest.split_at(n);
            let page = self
                .pages
                .entry(page_index)
                .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]));
            page[within..within + n].copy_from_slice(chunk);
            at += n as u64;
            rest = tail;
        }
        Ok(())
    }

    /// Reads into `buf` from `offset`; bytes past the end are not read. Returns the count read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let end = offset.saturating_add(buf.len() as u64).min(self.len);
        let mut at = offset;
        let mut filled = 0;
        while at < end {
            let within = (at % PAGE_SIZE) as usize;
            let n = ((end - at) as usize).min(PAGE_SIZE as usize - within);
            let out = &mut buf[filled..filled + n];
            match self.pages.get(&(at / PAGE_SIZE)) {
                Some(page) => out.copy_from_slice(&page[within..within + n]),
                None => out.fill(0),
            }
            at += n as u64;
            filled += n;
        }
        filled
    }

    /// Copies every stored page of `other` into this image at `offset`, which must be a
    /// multiple of [`PAGE_SIZE`]. Pages of `other` never written stay as they are here.
    pub fn place(&mut self, offset: u64, other: SparseImage) -> io::Result<()> {
        if offset % PAGE_SIZE != 0 || offset.saturating_add(other.len) > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot place {} bytes at {offset} in a {}-byte image",
                    other.len, self.len
                ),
            ));
        }
        let base = offset / PAGE_SIZE;
        let last_page_len = other.len % PAGE_SIZE;
        let last_index = other.len / PAGE_SIZE;
        for (index, page) in other.pages {
            if index == last_index && last_page_len != 0 {
                // A partial last page: copy only the bytes that belong to `other`.
                self.write_at(offset + index * PAGE_SIZE, &page[..last_page_len as usize])?;
            } else {
                self.pages.insert(base + index, page);
            }
        }
        Ok(())
    }

    /// The maximal runs of pages that hold at least one non-zero byte, in order. Pages that
    /// were written with zeros only count as holes.
    pub fn data_runs(&self) -> Vec<DataRun> {
        let mut runs: Vec<DataRun> = Vec::new();
        for (index, page) in &self.pages {
            if page.iter().all(|b| *b == 0) {
                continue;
            }
            let offset = index * PAGE_SIZE;
            let len = PAGE_SIZE.min(self.len - offset);
            match runs.last_mut() {
                Some(last) if last.offset + last.len == offset => last.len += len,
                _ => runs.push(DataRun { offset, len }),
            }
        }
        runs
    }

    /// The whole image as one vector (for tests and small images).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; usize::try_from(self.len).expect("image fits in memory")];
        self.read_at(0, &mut out);
        out
    }

    /// Writes bytes `[offset, offset + len)` to `out`.
    pub fn copy_range(&self, offset: u64, len: u64, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        let mut at = offset;
        let end = offset + len;
        while at < end {
            let n = ((end - at) as usize).min(buf.len());
            let read = self.read_at(at, &mut buf[..n]);
            out.write_all(&buf[..read])?;
            if read < n {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            at += n as u64;
        }
        Ok(())
    }
}

impl Read for SparseImage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.position, buf);
        self.position += n as u64;
        Ok(n)
    }
}

impl Write for SparseImage {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(self.position, buf)?;
        self.position += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SparseImage {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the image",
            )
        })?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_writes_and_zeros_elsewhere() {
        let mut image = SparseImage::new(3 * PAGE_SIZE + 100);
        image.write_at(PAGE_SIZE - 2, b"abcd").unwrap();
        let mut buf = [0xffu8; 8];
        assert_eq!(image.read_at(PAGE_SIZE - 4, &mut buf), 8);
        assert_eq!(&buf, b"\0\0abcd\0\0");
        assert_eq!(
            image.data_runs(),
            vec![DataRun {
                offset: 0,
                len: 2 * PAGE_SIZE
            }]
        );
        let mut tail = [0u8; 200];
        assert_eq!(image.read_at(3 * PAGE_SIZE, &mut tail), 100);
    }

    #[test]
    fn writes_past_the_end_fail_and_zero_pages_are_holes() {
        let mut image = SparseImage::new(PAGE_SIZE * 4);
        assert!(image.write_at(PAGE_SIZE * 4 - 1, b"ab").is_err());
        image.write_at(PAGE_SIZE, &[0; 10]).unwrap();
        image.write_at(PAGE_SIZE * 3 + 5, b"z").unwrap();
        assert_eq!(
            image.data_runs(),
            vec![DataRun {
                offset: 3 * PAGE_SIZE,
                len: PAGE_SIZE
            }]
        );
    }

    #[test]
    fn io_traits_and_placement() {
        let mut part = SparseImage::new(PAGE_SIZE + 10);
        part.seek(SeekFrom::End(-3)).unwrap();
        part.write_all(b"end").unwrap();
        part.seek(SeekFrom::Start(0)).unwrap();
        part.write_all(b"start").unwrap();
        let mut disk = SparseImage::new(PAGE_SIZE * 4);
        disk.write_at(2 * PAGE_SIZE + 10, b"kept").unwrap();
        disk.place(PAGE_SIZE, part).unwrap();
        let bytes = disk.to_vec();
        assert_eq!(&bytes[4096..4101], b"start");
        assert_eq!(&bytes[8199..8202], b"end");
        assert_eq!(&bytes[8202..8206], b"kept");
        assert!(disk.place(100, SparseImage::new(1)).is_err());
    }
}
