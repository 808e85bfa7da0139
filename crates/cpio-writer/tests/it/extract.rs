//! Round trips: archives written from a tree, extracted by GNU cpio and by bsdtar, give the
//! same tree back (paths, types, modes, owners, link targets, contents, hardlink groups,
//! device numbers and the clamped mtimes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cpio_writer::DirectorySource;

use crate::support::{
    Observed, archive, assert_same_tree, create_tree, options, require_root, run_with_input,
    sample_tree, snapshot, temp_dir,
};

/// Between the sample tree's mtimes: the default 1_600_000_000 is clamped, older ones are kept.
const EPOCH: u64 = 1_550_000_000;

/// The sample tree, its archive, and the tree an extraction should reproduce.
fn source(dir: &Path) -> (Vec<u8>, BTreeMap<Vec<u8>, Observed>) {
    let root = dir.join("tree");
    create_tree(&root, &sample_tree(true));
    let bytes = archive(DirectorySource::new(&root), &options(EPOCH));
    let mut expected = snapshot(&root);
    for node in expected.values_mut() {
        node.mtime = node.mtime.map(|t| t.min(EPOCH as i64));
    }
    // The extraction directory already exists; neither tool is meant to restyle it.
    expected.remove(&b"."[..]);
    (bytes, expected)
}

fn extracted(dir: &Path) -> BTreeMap<Vec<u8>, Observed> {
    let mut tree = snapshot(dir);
    tree.remove(&b"."[..]);
    tree
}

#[test]
#[ignore = "needs root"]
fn gnu_cpio_extracts_the_same_tree() {
    require_root();
    let dir = temp_dir();
    let (bytes, mut expected) = source(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    run_with_input(
        Command::new("cpio")
            .args(["-idm", "--quiet", "--no-absolute-filenames"])
            .current_dir(&out),
        &bytes,
    );
    let mut actual = extracted(&out);
    // GNU cpio 2.13 sets a directory's mtime before extracting its children (which then
    // change it) and does not set symlink mtimes; bsdtar checks those below.
    for tree in [&mut expected, &mut actual] {
        for node in tree.values_mut() {
            if node.kind == "dir" || node.kind == "symlink" {
                node.mtime = None;
            }
        }
    }
    assert_same_tree("cpio -idm", &expected, &actual);
}

#[test]
#[ignore = "needs root"]
fn bsdtar_extracts_the_same_tree_with_every_mtime() {
    require_root();
    let dir = temp_dir();
    let (bytes, expected) = source(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    run_with_input(
        Command::new("bsdtar")
            .args(["-xpf", "-", "--numeric-owner"])
            .current_dir(&out),
        &bytes,
    );
    assert_same_tree("bsdtar -xp", &expected, &extracted(&out));
}
