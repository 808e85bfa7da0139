//! The small cpio archives systemd-stub writes itself and appends to the initrd (v257
//! `pack_cpio_literal`): newc ("070701") headers of 8-digit lowercase hexadecimal fields,
//! uid/gid/mtime 0, one link, inode numbers counting from 1 per archive, every header+name
//! and every file's data padded to 4 bytes, and a trailer whose name-size field the stub
//! writes in uppercase (`0000000B`) with inode 0.
//!
//! Only the bytes matter here (Linux's EFI stub measures the initrd they end up in), so
//! this writes exactly the stub's bytes rather than any cpio of the same files.

/// `S_IFDIR`.
const DIRECTORY: u32 = 0o040000;
/// `S_IFREG`.
const REGULAR: u32 = 0o100000;

/// One cpio with the directory `directory` (mode `directory_mode`, one level, as the stub's
/// `.extra` is) holding the file `name` (mode `file_mode`) with `contents`.
pub(super) fn literal(
    directory: &str,
    directory_mode: u32,
    name: &str,
    file_mode: u32,
    contents: &[u8],
) -> Vec<u8> {
    let mut archive = Vec::with_capacity(contents.len() + 512);
    entry(&mut archive, 1, DIRECTORY | directory_mode, directory, &[]);
    entry(
        &mut archive,
        2,
        REGULAR | file_mode,
        &format!("{directory}/{name}"),
        contents,
    );
    trailer(&mut archive);
    archive
}

fn entry(archive: &mut Vec<u8>, inode: u32, mode: u32, path: &str, data: &[u8]) {
    let name_size = path.len() as u32 + 1;
    let fields = [
        inode,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name_size,
        0,
    ];
    archive.extend_from_slice(b"070701");
    for field in fields {
        archive.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    archive.extend_from_slice(path.as_bytes());
    archive.push(0);
    pad4(archive);
    archive.extend_from_slice(data);
    pad4(archive);
}

fn trailer(archive: &mut Vec<u8>) {
    archive.extend_from_slice(b"070701");
    for _ in 0..4 {
        archive.extend_from_slice(b"00000000");
    }
    archive.extend_from_slice(b"00000001");
    for _ in 0..6 {
        archive.extend_from_slice(b"00000000");
    }
    archive.extend_from_slice(b"0000000B00000000TRAILER!!!\0");
    pad4(archive);
}

/// Zeros up to the next multiple of 4 bytes.
fn pad4(bytes: &mut Vec<u8>) {
    bytes.resize(bytes.len().next_multiple_of(4), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GNU cpio, a reader we did not write, lists and extracts the archive as the stub's
    /// files; the layout matches the stub's (header sizes, padding, trailer).
    #[test]
    fn gnu_cpio_reads_the_literal_archive() {
        let archive = literal(".extra", 0o555, "os-release", 0o444, b"ID=debian\n");
        // 110-byte header + ".extra\0" = 117, padded to 120; the file entry's header and
        // 18-byte name make 128, its 10 bytes of data 12; the trailer 124.
        assert_eq!(archive.len(), 120 + 128 + 12 + 124);
        assert_eq!(&archive[archive.len() - 124..][94..102], b"0000000B");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.cpio");
        std::fs::write(&path, &archive).unwrap();
        let listing = std::process::Command::new("cpio")
            .args(["-itv", "--quiet", "-F"])
            .arg(&path)
            .output()
            .expect("GNU cpio runs");
        assert!(listing.status.success(), "{listing:?}");
        let listing = String::from_utf8(listing.stdout).unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 2, "{listing}");
        assert!(lines[0].starts_with("dr-xr-xr-x") && lines[0].ends_with(" .extra"));
        assert!(lines[1].starts_with("-r--r--r--") && lines[1].ends_with(" .extra/os-release"));
        let contents = std::process::Command::new("cpio")
            .args(["-i", "--to-stdout", "--quiet", "-F"])
            .arg(&path)
            .arg(".extra/os-release")
            .output()
            .unwrap();
        assert_eq!(contents.stdout, b"ID=debian\n");
    }
}
