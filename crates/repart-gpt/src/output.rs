//! The I/O edge: writes a disk image as `disk.raw`, as GCP's `tar.gz` and as Azure's fixed VHD.
//!
//! Every file is written under a temporary name in its destination directory and renamed over
//! the destination only once complete, so a failed build never leaves a half-written image
//! where a good one was. Files get mode 0644 whatever the umask. Runs of zeros are never
//! written: the raw disk and the VHD are sparse files (seeks over holes), and the tar stores
//! only the data runs in a GNU sparse member.
//!
//! The GCP archive is what `tar --format=oldgnu -Sczf image.tar.gz disk.raw` makes, as GCP's
//! image import documentation asks: one member `disk.raw` of type `S` (old GNU sparse) with
//! its sparse map in the header (and extension headers past four runs), mode 0644, owner
//! 0:0 without names, mtime SOURCE_DATE_EPOCH; gzip without file name and with mtime 0. The
//! tar bytes are GNU tar's for the same sparse file (`--numeric-owner --owner=0 --group=0`),
//! except that GNU tar pads the archive with zeros to its 10 KiB record size.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use build_vocab::publish;
use flate2::{Compression, GzBuilder};
use tar::{EntryType, GnuExtSparseHeader, Header};

use crate::error::Result;
use crate::sparse::{DataRun, SparseImage};
use crate::vhd;

/// The member name GCP requires inside the archive.
pub const GCP_MEMBER_NAME: &str = "disk.raw";

/// Runs `write` on a temporary file next to `path` and publishes it as `path` (mode 0644,
/// synced; see `build_vocab::publish`). The temporary file is removed if anything fails.
fn write_atomically(path: &Path, write: impl FnOnce(&File) -> io::Result<()>) -> Result<()> {
    Ok(publish::write_io(path, 0o644, write)?)
}

/// Writes the data runs of `disk` at their offsets, seeking over holes, and sizes the file to
/// `len` (at least the disk's length).
fn write_sparse(disk: &SparseImage, mut file: &File, len: u64) -> io::Result<()> {
    for run in disk.data_runs() {
        file.seek(SeekFrom::Start(run.offset))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        disk.copy_range(run.offset, run.len, &mut out)?;
        out.flush()?;
    }
    file.set_len(len)
}

/// Writes `disk` as a raw image (a sparse file) at `path`.
pub fn write_raw(disk: &SparseImage, path: &Path) -> Result<()> {
    write_atomically(path, |file| write_sparse(disk, file, disk.len()))
}

/// The size of the data part of the VHD for a disk: its size rounded up to a whole MiB.
pub fn vhd_data_size(disk_len: u64) -> u64 {
    disk_len.div_ceil(1 << 20) * (1 << 20)
}

/// Writes `disk` as a fixed VHD at `path`: the disk padded with zeros to a whole MiB, then the
/// footer ([`vhd::fixed_footer`]) for that size.
pub fn write_fixed_vhd(
    disk: &SparseImage,
    path: &Path,
    source_date_epoch: u64,
    unique_id: uuid::Uuid,
) -> Result<()> {
    let data_size = vhd_data_size(disk.len());
    let footer = vhd::fixed_footer(data_size, source_date_epoch, unique_id);
    write_atomically(path, |mut file| {
        write_sparse(disk, file, data_size)?;
        file.seek(SeekFrom::Start(data_size))?;
        file.write_all(&footer)
    })
}

/// Reads the data runs of a disk one after the other: the data of a GNU sparse member.
struct RunsReader<'a> {
    disk: &'a SparseImage,
    runs: Vec<DataRun>,
    run: usize,
    within: u64,
}

impl Read for RunsReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(run) = self.runs.get(self.run) {
            if self.within < run.len {
                let n = (buf.len() as u64).min(run.len - self.within) as usize;
                let read = self.disk.read_at(run.offset + self.within, &mut buf[..n]);
                self.within += read as u64;
                return Ok(read);
            }
            self.run += 1;
            self.within = 0;
        }
        Ok(0)
    }
}

/// The GNU sparse map of `disk`: its data runs, then an empty entry at the end of the file, as
/// GNU tar always writes it.
pub fn sparse_map(disk: &SparseImage) -> Vec<(u64, u64)> {
    let mut map: Vec<(u64, u64)> = disk.data_runs().iter().map(|r| (r.offset, r.len)).collect();
    map.push((disk.len(), 0));
    map
}

/// The header and extension headers of the sparse member `name` holding `disk`.
fn sparse_member_headers(
    disk: &SparseImage,
    name: &str,
    source_date_epoch: u64,
) -> io::Result<(Header, Vec<u8>, u64)> {
    let map = sparse_map(disk);
    let stored: u64 = map.iter().map(|(_, len)| len).sum();
    let mut header = Header::new_gnu();
    header.set_path(name)?;
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(source_date_epoch);
    header.set_size(stored);
    header.set_entry_type(EntryType::GNUSparse);
    let (first, rest) = map.split_at(map.len().min(4));
    {
        let gnu = header
            .as_gnu_mut()
            .expect("a GNU header has the GNU fields");
        gnu.set_real_size(disk.len());
        for (slot, (offset, len)) in gnu.sparse.iter_mut().zip(first) {
            slot.set_offset(*offset);
            slot.set_length(*len);
        }
        gnu.set_is_extended(!rest.is_empty());
    }
    header.set_cksum();
    // GNU tar writes the checksum as six octal digits, a NUL and a space; the tar crate as
    // seven digits and a NUL. Same value (computed with the field as spaces), GNU's spelling.
    let checksum = header.cksum()?;
    header.as_mut_bytes()[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    let mut extensions = Vec::new();
    let chunks: Vec<&[(u64, u64)]> = rest.chunks(21).collect();
    for (index, chunk) in chunks.iter().enumerate() {
        let mut ext = GnuExtSparseHeader::new();
        for (slot, (offset, len)) in ext.sparse_mut().iter_mut().zip(chunk.iter()) {
            slot.set_offset(*offset);
            slot.set_length(*len);
        }
        ext.set_is_extended(index + 1 < chunks.len());
        extensions.extend_from_slice(ext.as_bytes());
    }
    Ok((header, extensions, stored))
}

/// Writes the GCP image archive: a gzip-compressed tar with `disk` as the sparse member
/// `disk.raw`, compressed at `level` (0-9).
pub fn write_gcp_tar_gz(
    disk: &SparseImage,
    path: &Path,
    source_date_epoch: u64,
    level: u32,
) -> Result<()> {
    write_atomically(path, |file| {
        let (header, extensions, _) =
            sparse_member_headers(disk, GCP_MEMBER_NAME, source_date_epoch)?;
        let gz = GzBuilder::new().mtime(0).operating_system(255).write(
            BufWriter::with_capacity(1 << 20, file),
            Compression::new(level),
        );
        let mut builder = tar::Builder::new(gz);
        let data = RunsReader {
            disk,
            runs: disk.data_runs(),
            run: 0,
            within: 0,
        };
        builder.append(&header, io::Cursor::new(extensions).chain(data))?;
        let gz = builder.into_inner()?;
        gz.finish()?.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::PAGE_SIZE;

    #[test]
    fn sparse_map_always_ends_with_the_file_size() {
        let mut disk = SparseImage::new(10 * PAGE_SIZE);
        disk.write_at(PAGE_SIZE, b"x").unwrap();
        assert_eq!(
            sparse_map(&disk),
            vec![(PAGE_SIZE, PAGE_SIZE), (10 * PAGE_SIZE, 0)]
        );
        disk.write_at(10 * PAGE_SIZE - 1, b"y").unwrap();
        assert_eq!(
            sparse_map(&disk),
            vec![
                (PAGE_SIZE, PAGE_SIZE),
                (9 * PAGE_SIZE, PAGE_SIZE),
                (10 * PAGE_SIZE, 0)
            ]
        );
        assert_eq!(sparse_map(&SparseImage::new(512)), vec![(512, 0)]);
    }

    #[test]
    fn long_sparse_maps_use_extension_headers() {
        // 30 separate runs: 4 in the header, 21 in the first extension, 5 in the second.
        let mut disk = SparseImage::new(64 * PAGE_SIZE);
        for i in 0..30 {
            disk.write_at(2 * i * PAGE_SIZE, b"z").unwrap();
        }
        let (header, extensions, stored) = sparse_member_headers(&disk, "disk.raw", 7).unwrap();
        assert_eq!(stored, 30 * PAGE_SIZE);
        assert_eq!(extensions.len(), 1024);
        let gnu = header.as_gnu().unwrap();
        assert!(gnu.is_extended());
        assert_eq!(gnu.real_size().unwrap(), 64 * PAGE_SIZE);
        assert_eq!(header.mtime().unwrap(), 7);
        assert_eq!(header.entry_type(), EntryType::GNUSparse);
        let first_ext = &extensions[..512];
        assert_eq!(first_ext[504], 1, "first extension says another follows");
        assert_eq!(extensions[512 + 504], 0, "the last one does not");
    }
}
