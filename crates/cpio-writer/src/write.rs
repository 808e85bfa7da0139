//! Emitting: the byte pass over a planned [`Layout`].
//!
//! Everything was decided by the plan; this module only writes headers, names, padding and
//! data in order. File data is streamed from disk through one reusable buffer, so memory does
//! not grow with file sizes, and each file is checked to still have its planned size.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::Path;

use crate::entry::Data;
use crate::error::Error;
use crate::layout::Layout;
use crate::newc::{BLOCK_SIZE, padding};
use build_vocab::AtPath;

/// Size of the output buffer and of the buffer file data is copied through.
const BUFFER_SIZE: usize = 1 << 20;
/// Enough zeros for any padding we write (at most a block).
const ZEROS: [u8; BLOCK_SIZE as usize] = [0; BLOCK_SIZE as usize];

impl Layout {
    /// Writes the planned archive to `out`, uncompressed, and returns its length.
    pub fn write_to<W: Write>(&self, out: W) -> Result<u64, Error> {
        let mut out = Counted {
            inner: BufWriter::with_capacity(BUFFER_SIZE, out),
            count: 0,
        };
        let mut buffer = vec![0u8; BUFFER_SIZE];
        for record in &self.records {
            debug_assert_eq!(out.count, record.offset, "plan and byte pass disagree");
            out.put(&record.header.encode())?;
            out.put(&record.name)?;
            out.put(&[0])?;
            out.pad(4)?;
            match &record.data {
                None => {}
                Some(Data::Bytes(bytes)) => out.put(bytes)?,
                Some(Data::File { path, size }) => copy_file(path, *size, &mut out, &mut buffer)?,
            }
            out.pad(4)?;
        }
        out.pad(BLOCK_SIZE)?;
        debug_assert_eq!(out.count, self.len, "plan and byte pass disagree");
        out.inner.flush().map_err(Error::Output)?;
        Ok(out.count)
    }
}

/// A writer that knows how many bytes went through it.
struct Counted<W: Write> {
    inner: W,
    count: u64,
}

impl<W: Write> Counted<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.inner.write_all(bytes).map_err(Error::Output)?;
        self.count += bytes.len() as u64;
        Ok(())
    }

    /// Zeros up to the next multiple of `align`.
    fn pad(&mut self, align: u64) -> Result<(), Error> {
        let len = padding(self.count, align) as usize;
        self.put(&ZEROS[..len])
    }
}

/// Streams exactly `size` bytes of the file at `path` into `out`, failing if the file does not
/// have that size.
fn copy_file<W: Write>(
    path: &Path,
    size: u64,
    out: &mut Counted<W>,
    buffer: &mut [u8],
) -> Result<(), Error> {
    let changed = |actual| Error::SizeChanged {
        path: path.to_path_buf(),
        expected: size,
        actual,
    };
    let mut file = File::open(path).at(path)?;
    let on_disk = file.metadata().at(path)?.len();
    if on_disk != size {
        return Err(changed(on_disk));
    }
    let mut copied = 0u64;
    while copied < size {
        let want = buffer.len().min((size - copied) as usize);
        let got = match file.read(&mut buffer[..want]) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            got => got.at(path)?,
        };
        if got == 0 {
            return Err(changed(copied));
        }
        out.put(&buffer[..got])?;
        copied += got as u64;
    }
    let extra = file.read(&mut buffer[..1]).at(path)?;
    if extra > 0 {
        return Err(changed(size + extra as u64));
    }
    Ok(())
}
