//! Byte-for-byte comparison with GNU cpio.
//!
//! GNU cpio records `st_nlink` as found on disk, while we count the names a file has in the
//! archive, and 2 plus the subdirectories for a directory. On this tree the two agree (every
//! link is inside it, and ext4/tmpfs count directory links that way); on a tree whose files
//! have links outside it, or on btrfs (which reports 1 for directories), GNU's archive would
//! depend on the host and ours would not. Everything else (order, inode numbering from 0,
//! hardlink deferral, device numbers, directory sizes, trailer and block padding) matches by
//! design.

use std::process::Command;

use cpio_writer::{DirectorySource, Field, first_difference};

use crate::support::{
    archive, assert_same_archive, create_tree, options, require_root, run, sample_tree, temp_dir,
};

/// Later than every mtime in the sample tree, so nothing is clamped and GNU cpio, which does
/// not clamp, sees the same times.
const NO_CLAMP: u64 = 2_000_000_000;

fn gnu_cpio(root: &std::path::Path) -> Vec<u8> {
    run(Command::new("sh")
        .arg("-c")
        .arg("find . | LC_ALL=C sort | cpio -o -H newc --reproducible --renumber-inodes --quiet")
        .current_dir(root))
}

#[test]
#[ignore = "needs root"]
fn matches_gnu_cpio_reproducible_byte_for_byte() {
    require_root();
    let dir = temp_dir();
    let root = dir.path().join("tree");
    create_tree(&root, &sample_tree(true));
    let theirs = gnu_cpio(&root);
    let ours = archive(DirectorySource::new(&root), &options(NO_CLAMP));
    assert_same_archive("ours vs GNU cpio", &ours, &theirs);
    assert_eq!(ours.len() % 512, 0);
}

#[test]
#[ignore = "needs root"]
fn differs_from_gnu_cpio_only_in_clamped_mtimes() {
    require_root();
    let dir = temp_dir();
    let root = dir.path().join("tree");
    create_tree(&root, &sample_tree(true));
    let theirs = gnu_cpio(&root);
    // "." has mtime 1_500_000_000 and is the first member: clamping shows there first.
    let ours = archive(DirectorySource::new(&root), &options(1_400_000_000));
    let difference = first_difference(&ours, &theirs).expect("clamping changed nothing");
    assert_eq!(difference.path, ".");
    assert_eq!(difference.field, Field::Mtime);
    assert_eq!(
        (difference.left.as_str(), difference.right.as_str()),
        ("1400000000", "1500000000")
    );
}
