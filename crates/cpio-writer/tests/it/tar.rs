//! The tar writer judged by GNU tar and bsdtar: the sample tree (with a name and a symlink
//! target too long for a tar header) written as tar and extracted by each gives the same tree
//! back, the clamped mtimes of directories included; GNU tar's listing shows the root first and
//! each directory followed by its subtree, the hard links pointing at the first name in archive
//! order, and numeric owners only; and the same tree created in the reverse order elsewhere
//! gives the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cpio_writer::{ArchiveOptions, Compression, DirectorySource, write_tar, write_tar_file};

use crate::support::{
    Kind, Node, Observed, assert_same_tree, create_tree, options, require_root, run,
    run_with_input, sample_tree, snapshot, temp_dir,
};

/// Between the sample tree's mtimes: the default 1_600_000_000 is clamped, older ones are kept.
const EPOCH: u64 = 1_550_000_000;

/// The sample tree with a 180-byte name and a 150-byte symlink target (both past the 100
/// bytes of a tar header field).
fn tree() -> Vec<Node> {
    let mut nodes = sample_tree(true);
    let long_dir = "d".repeat(90);
    nodes.push(Node::new(&long_dir, Kind::Dir));
    nodes.push(Node::new(
        format!("{long_dir}/{}", "n".repeat(89)),
        Kind::File(b"long name\n".to_vec()),
    ));
    nodes.push(Node::new(
        "long-link",
        Kind::Symlink(format!("/{}", "t".repeat(149)).into_bytes()),
    ));
    nodes
}

/// The tar archive of the tree under `dir/tree`, and the tree an extraction should give.
fn source(dir: &Path) -> (Vec<u8>, BTreeMap<Vec<u8>, Observed>) {
    let root = dir.join("tree");
    create_tree(&root, &tree());
    let mut bytes = Vec::new();
    write_tar(DirectorySource::new(&root), &options(EPOCH), &mut bytes).unwrap();
    let mut expected = snapshot(&root);
    for node in expected.values_mut() {
        node.mtime = node.mtime.map(|t| t.min(EPOCH as i64));
    }
    expected.remove(&b"."[..]);
    (bytes, expected)
}

fn extract(program: &str, bytes: &[u8], dir: &Path) -> BTreeMap<Vec<u8>, Observed> {
    let out = dir.join(format!("out-{program}"));
    std::fs::create_dir(&out).unwrap();
    run_with_input(
        Command::new(program)
            .args(["-xpf", "-", "--numeric-owner"])
            .current_dir(&out),
        bytes,
    );
    let mut tree = snapshot(&out);
    tree.remove(&b"."[..]);
    tree
}

#[test]
#[ignore = "needs root"]
fn gnu_tar_and_bsdtar_extract_the_same_tree() {
    require_root();
    let dir = temp_dir();
    let (bytes, expected) = source(dir.path());
    for program in ["tar", "bsdtar"] {
        assert_same_tree(program, &expected, &extract(program, &bytes, dir.path()));
    }
}

#[test]
#[ignore = "needs root"]
fn gnu_tar_lists_the_root_first_then_depth_first_with_first_names_as_link_targets() {
    require_root();
    let dir = temp_dir();
    let (bytes, _) = source(dir.path());
    let listing = String::from_utf8_lossy(&run_with_input(
        Command::new("tar").args(["-tvf", "-"]),
        &bytes,
    ))
    .into_owned();
    let lines: Vec<&str> = listing.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(
        names[..8],
        ["./", "B", "a/", "a/b/", "a/b/deep", "a/f", "a-c", "a.d"],
        "the root first, then depth first in name order: {listing}"
    );
    for link in ["a.d", "c/g"] {
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(&format!(" {link} link to a/f"))),
            "{listing}"
        );
    }
    assert!(lines.iter().any(|l| l.contains(" 1000/100 ")), "{listing}");
    assert!(
        !listing.contains("root/root"),
        "numeric owners only: {listing}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!(" long-link -> /{}", "t".repeat(149)))),
        "{listing}"
    );
}

/// Creates the tree under `dir` (forwards or backwards) and writes its zstd tar archive.
fn build(dir: &Path, backwards: bool) -> PathBuf {
    let nodes = tree();
    let root = dir.join("some/build/dir/rootfs");
    if backwards {
        create_tree(&root, nodes.iter().rev());
    } else {
        create_tree(&root, &nodes);
    }
    let out = dir.join("image.tar.zst");
    let options = ArchiveOptions {
        compression: Compression::Zstd { level: 3 },
        ..options(EPOCH)
    };
    write_tar_file(DirectorySource::new(&root), &options, &out).unwrap();
    out
}

#[test]
#[ignore = "needs root"]
fn the_same_tree_made_in_another_order_elsewhere_gives_the_same_bytes() {
    require_root();
    let (one, two) = (temp_dir(), temp_dir());
    let (a, b) = (build(one.path(), false), build(two.path(), true));
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(a == b, "{} and {} bytes differ", a.len(), b.len());
    let listing = run(Command::new("sh").arg("-c").arg(format!(
        "zstd -dc '{}' | tar -tf -",
        one.path().join("image.tar.zst").display()
    )));
    assert!(
        String::from_utf8_lossy(&listing)
            .lines()
            .any(|l| l == "bin/su")
    );
}
