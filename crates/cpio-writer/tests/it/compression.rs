//! Compressed initrds: the real `zstd`, `gzip` and `xz` restore the plain archive, and
//! concatenated initrds keep each part intact on a 4-byte boundary.

use std::path::Path;
use std::process::Command;

use cpio_writer::{
    ArchiveOptions, Compression, Owners, concat_files, read_initrd, write_archive_file,
};

use crate::support::{
    Kind, Node, archive, entries, options, run, run_with_input, sample_tree, temp_dir,
};

fn compressed(compression: Compression) -> ArchiveOptions {
    ArchiveOptions {
        compression,
        ..options(1_550_000_000)
    }
}

/// The sample tree plus 6 MiB of compressible data.
fn large_tree() -> Vec<Node> {
    let mut nodes = sample_tree(true);
    let text: Vec<u8> = (0..6u32 << 20)
        .map(|i| b"initramfs "[(i % 10) as usize] ^ (i / 4093 % 2) as u8)
        .collect();
    nodes.push(Node::new("large", Kind::File(text)));
    nodes
}

fn decompress_with(tool: &str, file: &Path) -> Vec<u8> {
    run(Command::new(tool).args(["-d", "-c"]).arg(file))
}

#[test]
fn external_decompressors_restore_the_plain_archive() {
    let dir = temp_dir();
    let tree = large_tree();
    let plain = archive(entries(&tree), &options(1_550_000_000));
    for (compression, tool) in [
        (Compression::Zstd { level: 3 }, "zstd"),
        (Compression::Zstd { level: 19 }, "zstd"),
        (Compression::Gzip { level: 6 }, "gzip"),
        (Compression::Xz { level: 6 }, "xz"),
    ] {
        let path = dir.path().join("initrd");
        let stats = write_archive_file(entries(&tree), &compressed(compression), &path).unwrap();
        assert_eq!(stats.archive_bytes, plain.len() as u64, "{compression:?}");
        assert_eq!(
            stats.output_bytes,
            std::fs::metadata(&path).unwrap().len(),
            "{compression:?}"
        );
        assert!(
            stats.output_bytes < stats.archive_bytes / 4,
            "{compression:?}"
        );
        assert!(
            decompress_with(tool, &path) == plain,
            "{tool} -d gives other bytes for {compression:?}"
        );
    }
}

#[test]
fn plain_output_is_the_archive_itself() {
    let dir = temp_dir();
    let tree = sample_tree(true);
    let path = dir.path().join("initrd.cpio");
    write_archive_file(entries(&tree), &compressed(Compression::None), &path).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        archive(entries(&tree), &options(1_550_000_000))
    );
}

#[test]
fn xz_uses_the_crc32_check_and_zstd_a_checksum() {
    let dir = temp_dir();
    let tree = sample_tree(true);
    let xz = dir.path().join("initrd.xz");
    write_archive_file(
        entries(&tree),
        &compressed(Compression::Xz { level: 9 }),
        &xz,
    )
    .unwrap();
    let listing =
        String::from_utf8(run(Command::new("xz").args(["--robot", "--list"]).arg(&xz))).unwrap();
    let checks: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("file\t"))
        .map(|l| l.split('\t').nth(6).unwrap_or(""))
        .collect();
    assert_eq!(checks, ["CRC32"], "{listing}");

    let zst = dir.path().join("initrd.zst");
    write_archive_file(
        entries(&tree),
        &compressed(Compression::Zstd { level: 3 }),
        &zst,
    )
    .unwrap();
    let listing =
        String::from_utf8(run(Command::new("zstd").args(["-l", "-v"]).arg(&zst))).unwrap();
    assert!(listing.contains("Check: XXH64"), "{listing}");
}

#[test]
fn concatenation_keeps_each_part_on_a_four_byte_boundary() {
    let dir = temp_dir();
    let microcode = [
        Node::new("kernel", Kind::Dir),
        Node::new("kernel/x86", Kind::Dir),
        Node::new("kernel/x86/microcode", Kind::Dir),
        Node::new(
            "kernel/x86/microcode/GenuineIntel.bin",
            Kind::File(b"microcode".to_vec()),
        ),
    ];
    let early = dir.path().join("early.cpio");
    write_archive_file(entries(&microcode), &compressed(Compression::None), &early).unwrap();
    let tree = sample_tree(true);
    let mut parts = vec![early.clone()];
    let mut tools = vec![None];
    for (i, (compression, tool)) in [
        (Compression::Gzip { level: 9 }, "gzip"),
        (Compression::Xz { level: 0 }, "xz"),
        (Compression::Zstd { level: 1 }, "zstd"),
    ]
    .into_iter()
    .enumerate()
    {
        let part = dir.path().join(format!("part{i}"));
        let options = ArchiveOptions {
            owners: Owners::Root,
            ..compressed(compression)
        };
        write_archive_file(entries(&tree), &options, &part).unwrap();
        parts.push(part);
        tools.push(Some(tool));
    }
    let joined = dir.path().join("initrd");
    let part_refs: Vec<&Path> = parts.iter().map(|p| p.as_path()).collect();
    let len = concat_files(&part_refs, &joined).unwrap();
    let bytes = std::fs::read(&joined).unwrap();
    assert_eq!(len, bytes.len() as u64);

    // GNU cpio reads the first archive and stops at its trailer: the early microcode, with
    // the bare names the kernel's early loader matches.
    let listed = run_with_input(Command::new("cpio").args(["-t", "--quiet"]), &bytes);
    assert_eq!(
        String::from_utf8(listed).unwrap(),
        "kernel\nkernel/x86\nkernel/x86/microcode\nkernel/x86/microcode/GenuineIntel.bin\n"
    );

    let mut offset = 0usize;
    let mut names = Vec::new();
    for (part, tool) in parts.iter().zip(tools) {
        let padded = offset.next_multiple_of(4);
        assert!(bytes[offset..padded].iter().all(|&b| b == 0));
        let content = std::fs::read(part).unwrap();
        let end = padded + content.len();
        assert_eq!(bytes[padded..end], content[..], "{}", part.display());
        let plain = match tool {
            Some(tool) => run_with_input(Command::new(tool).args(["-d", "-c"]), &content),
            None => content,
        };
        names.extend(read_initrd(&plain).unwrap().into_iter().map(|m| m.name));
        offset = end;
    }
    assert_eq!(offset, bytes.len());
    let all: Vec<Vec<u8>> = read_initrd(&bytes)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(all, names);
}
