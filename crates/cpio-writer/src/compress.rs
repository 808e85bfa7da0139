//! Compression of whole archives: zstd, gzip, xz, or none, in the forms the kernel unpacks.
//!
//! Every setting that could change the output is fixed here or comes from [`Compression`]:
//! - zstd runs multi-threaded with one worker per available core, writes a content checksum,
//!   and is deterministic for any worker count of one or more (a unit test holds it to that);
//! - gzip writes no file name, mtime 0 and OS byte 3 (Unix), as `gzip -n` does;
//! - xz uses the CRC32 check, the only check the kernel's XZ decoder is guaranteed to support,
//!   and a single-threaded encoder (one block).
//!
//! The matching decoders serve the [verifier](crate::verify), which reads initrds back.

use std::io::{self, Read, Write};

use crate::error::Error;

/// How an archive is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain cpio archive.
    None,
    /// Zstandard at `level` (1 to 22; the zstd library's negative fast levels are accepted too).
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// gzip (DEFLATE) at `level` (0 to 9).
    Gzip {
        /// Compression level.
        level: u32,
    },
    /// xz (LZMA2) at preset `level` (0 to 9), with a CRC32 check.
    Xz {
        /// Preset level.
        level: u32,
    },
}

/// Leading bytes of the compressed formats the verifier recognises.
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// OS byte of the gzip header: Unix, as GNU gzip writes it.
const GZIP_OS_UNIX: u8 = 3;

/// A writer that compresses into `W` as a [`Compression`] says.
pub(crate) enum Encoder<W: Write> {
    /// No compression.
    Plain(W),
    /// zstd.
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// xz.
    Xz(liblzma::write::XzEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// An encoder writing into `out`; fails on an out-of-range level before writing anything.
    pub(crate) fn new(compression: Compression, out: W) -> Result<Self, Error> {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        match compression {
            Compression::None => Ok(Encoder::Plain(out)),
            Compression::Zstd { level } => {
                let range = zstd::compression_level_range();
                check_level("zstd", level, *range.start(), *range.end())?;
                zstd_encoder(out, level, workers)
                    .map(Encoder::Zstd)
                    .map_err(Error::Output)
            }
            Compression::Gzip { level } => {
                check_level("gzip", level_i32(level), 0, 9)?;
                let encoder = flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(GZIP_OS_UNIX)
                    .write(out, flate2::Compression::new(level));
                Ok(Encoder::Gzip(encoder))
            }
            Compression::Xz { level } => {
                check_level("xz", level_i32(level), 0, 9)?;
                let stream =
                    liblzma::stream::Stream::new_easy_encoder(level, liblzma::stream::Check::Crc32)
                        .map_err(|e| Error::Output(io::Error::other(e)))?;
                Ok(Encoder::Xz(liblzma::write::XzEncoder::new_stream(
                    out, stream,
                )))
            }
        }
    }

    /// Writes the end of the compressed stream and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(out) => Ok(out),
            Encoder::Zstd(encoder) => encoder.finish(),
            Encoder::Gzip(encoder) => encoder.finish(),
            Encoder::Xz(encoder) => encoder.finish(),
        }
    }

    fn inner(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(out) => out,
            Encoder::Zstd(encoder) => encoder,
            Encoder::Gzip(encoder) => encoder,
            Encoder::Xz(encoder) => encoder,
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}

/// A multi-threaded zstd encoder with a content checksum. The output does not depend on
/// `workers` as long as it is at least 1 (zstd's documented guarantee, tested below).
fn zstd_encoder<W: Write>(
    out: W,
    level: i32,
    workers: u32,
) -> io::Result<zstd::stream::write::Encoder<'static, W>> {
    let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
    encoder.multithread(workers.max(1))?;
    encoder.include_checksum(true)?;
    Ok(encoder)
}

fn level_i32(level: u32) -> i32 {
    i32::try_from(level).unwrap_or(i32::MAX)
}

fn check_level(algorithm: &'static str, level: i32, min: i32, max: i32) -> Result<(), Error> {
    if (min..=max).contains(&level) {
        Ok(())
    } else {
        Err(Error::InvalidLevel {
            algorithm,
            level,
            min,
            max,
        })
    }
}

/// Decompresses the one compressed stream at the start of `bytes`, if it starts with a known
/// magic. Returns the decompressed bytes and how many input bytes the stream took.
pub(crate) fn decompress_one(bytes: &[u8]) -> Option<io::Result<(Vec<u8>, usize)>> {
    fn drain<R: Read>(
        mut decoder: R,
        rest: impl FnOnce(R) -> usize,
    ) -> io::Result<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        decoder.read_to_end(&mut out)?;
        Ok((out, rest(decoder)))
    }
    let total = bytes.len();
    let consumed = |rest: &[u8]| total - rest.len();
    if bytes.starts_with(ZSTD_MAGIC) {
        Some(
            zstd::stream::read::Decoder::with_buffer(bytes)
                .and_then(|decoder| drain(decoder.single_frame(), |d| consumed(d.finish()))),
        )
    } else if bytes.starts_with(GZIP_MAGIC) {
        let decoder = flate2::bufread::GzDecoder::new(bytes);
        Some(drain(decoder, |d| consumed(d.into_inner())))
    } else if bytes.starts_with(XZ_MAGIC) {
        let decoder = liblzma::bufread::XzDecoder::new(bytes);
        Some(drain(decoder, |d| consumed(d.into_inner())))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compressible but not trivial data, larger than several zstd jobs at level 1.
    fn sample(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if i % 7 == 0 {
                    (state % 26) as u8 + b'a'
                } else {
                    b' '
                }
            })
            .collect()
    }

    fn compress(compression: Compression, data: &[u8]) -> Vec<u8> {
        let mut encoder = Encoder::new(compression, Vec::new()).unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn zstd_output_does_not_depend_on_the_worker_count() {
        let data = sample(24 << 20);
        let with = |workers| {
            let mut encoder = zstd_encoder(Vec::new(), 1, workers).unwrap();
            encoder.write_all(&data).unwrap();
            encoder.finish().unwrap()
        };
        let one = with(1);
        assert_eq!(one, with(2));
        assert_eq!(one, with(5));
    }

    #[test]
    fn every_format_decompresses_to_the_input_and_reports_its_length() {
        let data = sample(100_000);
        for compression in [
            Compression::Zstd { level: 3 },
            Compression::Gzip { level: 6 },
            Compression::Xz { level: 1 },
        ] {
            let mut packed = compress(compression, &data);
            let len = packed.len();
            packed.extend_from_slice(b"\0\0\0after");
            let (out, consumed) = decompress_one(&packed).unwrap().unwrap();
            assert_eq!(out, data, "{compression:?}");
            assert_eq!(consumed, len, "{compression:?}");
        }
        assert!(decompress_one(b"070701").is_none());
    }

    #[test]
    fn gzip_header_has_no_name_and_no_mtime() {
        let packed = compress(Compression::Gzip { level: 9 }, b"x");
        // ID1 ID2 CM FLG MTIME(4) XFL OS
        assert_eq!(&packed[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(packed[9], GZIP_OS_UNIX);
    }

    #[test]
    fn rejects_out_of_range_levels() {
        for compression in [
            Compression::Gzip { level: 10 },
            Compression::Xz { level: 10 },
            Compression::Zstd { level: 23 },
        ] {
            assert!(matches!(
                Encoder::new(compression, Vec::new()),
                Err(Error::InvalidLevel { .. })
            ));
        }
    }
}
