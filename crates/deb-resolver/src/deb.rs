//! The control paragraph of a `.deb` file: `ar` archive, `control.tar` member (uncompressed,
//! gzip, xz or zstd), `./control` inside it. Pure over `impl Read`; the caller opens files.

use std::io::Read;

use crate::error::Error;
use build_vocab::PathError;

/// Reads the `control` file text of a `.deb`. The error is a message; the caller adds the
/// path.
pub fn read_control(deb: impl Read) -> Result<String, String> {
    let mut archive = ar::Archive::new(deb);
    let mut saw_debian_binary = false;
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| format!("bad ar archive: {e}"))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let name = name.trim_end_matches('/');
        if name == "debian-binary" {
            let mut version = String::new();
            entry
                .read_to_string(&mut version)
                .map_err(|e| format!("bad debian-binary member: {e}"))?;
            if !version.starts_with("2.") {
                return Err(format!("unsupported format `{}`", version.trim()));
            }
            saw_debian_binary = true;
            continue;
        }
        let Some(compression) = name.strip_prefix("control.tar") else {
            continue;
        };
        if !saw_debian_binary {
            return Err("the first member is not debian-binary".to_owned());
        }
        let reader: Box<dyn Read + '_> = match compression {
            "" => Box::new(entry),
            ".gz" => Box::new(flate2::read::GzDecoder::new(entry)),
            ".xz" => Box::new(liblzma::read::XzDecoder::new(entry)),
            ".zst" => Box::new(
                zstd::stream::read::Decoder::new(entry)
                    .map_err(|e| format!("bad control.tar.zst: {e}"))?,
            ),
            other => return Err(format!("unsupported control member `control.tar{other}`")),
        };
        let mut tar = tar::Archive::new(reader);
        let entries = tar.entries().map_err(|e| format!("bad control.tar: {e}"))?;
        for file in entries {
            let mut file = file.map_err(|e| format!("bad control.tar: {e}"))?;
            let path = file
                .path()
                .map_err(|e| format!("bad control.tar path: {e}"))?
                .into_owned();
            if path.as_os_str() == "./control" || path.as_os_str() == "control" {
                let mut text = String::new();
                file.read_to_string(&mut text)
                    .map_err(|e| format!("control is not UTF-8 text: {e}"))?;
                return Ok(text);
            }
        }
        return Err("control.tar has no ./control".to_owned());
    }
    Err("no control.tar member".to_owned())
}

/// Builds a minimal `.deb` (for tests and tools): `debian-binary`, `control.tar.gz` with the
/// given control text, an empty `data.tar.gz`. Deterministic: every timestamp is 0.
pub fn build_minimal_deb(control: &str) -> Result<Vec<u8>, Error> {
    let io = |e: std::io::Error| Error::from(PathError::new("<in-memory .deb>", e));
    let tar_gz = |files: &[(&str, &[u8])]| -> Result<Vec<u8>, Error> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(encoder);
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).map_err(io)?;
        }
        builder.into_inner().map_err(io)?.finish().map_err(io)
    };
    let control_tar = tar_gz(&[("./control", control.as_bytes())])?;
    let data_tar = tar_gz(&[])?;
    let mut out = Vec::new();
    {
        let mut builder = ar::Builder::new(&mut out);
        for (name, data) in [
            ("debian-binary", &b"2.0\n"[..]),
            ("control.tar.gz", &control_tar[..]),
            ("data.tar.gz", &data_tar[..]),
        ] {
            let mut header = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
            header.set_mode(0o100644);
            builder.append(&header, data).map_err(io)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_of_a_built_deb() {
        let control = "Package: hello\nVersion: 1.0\nArchitecture: amd64\n";
        let deb = build_minimal_deb(control).unwrap();
        assert_eq!(read_control(&deb[..]).unwrap(), control);
        assert!(read_control(&b"!<arch>\n"[..]).is_err());
        assert!(read_control(&b"garbage"[..]).is_err());
    }
}
