//! The reproducibility check every artifact has: the same tree, created in another order under
//! another umask, time zone, locale and build directory, gives the same initrd bytes. On a
//! difference the failure names the first differing member and field.

use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cpio_writer::{ArchiveOptions, Compression, DirectorySource, write_archive_file};

use crate::support::{
    Node, assert_same_archive, create_tree, is_root, options, require_root, run, sample_tree,
};

/// Set in the child process: where it builds its tree and writes its initrd.
const CHILD_DIR: &str = "CPIO_WRITER_REPRO_DIR";

/// Creates the sample tree under `dir` (forwards or backwards) and writes its zstd initrd.
fn build(dir: &Path, backwards: bool) -> PathBuf {
    let nodes = sample_tree(is_root());
    let root = dir.join("some/build/dir/rootfs");
    if backwards {
        create_tree(&root, nodes.iter().rev());
    } else {
        create_tree(&root, &nodes);
    }
    let out = dir.join("initrd.zst");
    let options = ArchiveOptions {
        compression: Compression::Zstd { level: 3 },
        ..options(1_550_000_000)
    };
    write_archive_file(DirectorySource::new(&root), &options, &out).unwrap();
    out
}

#[test]
#[ignore = "needs root"]
fn same_tree_under_other_umask_order_locale_and_path_gives_the_same_bytes() {
    require_root();
    let first_dir = crate::support::temp_dir();
    let first = build(first_dir.path(), false);

    let second_dir = crate::support::temp_dir();
    let child_dir = second_dir.path().join("elsewhere/deeper");
    fs::create_dir_all(&child_dir).unwrap();
    // This test binary again, running only `reproducibility_child` under umask 077.
    run(Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$0\" \"$@\"")
        .arg(env::current_exe().unwrap())
        .args([
            "--exact",
            "reproducibility::reproducibility_child",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &child_dir)
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C.UTF-8"));
    let second = child_dir.join("initrd.zst");

    assert_same_archive(
        "initrd built twice",
        &fs::read(&first).unwrap(),
        &fs::read(&second).unwrap(),
    );
    for path in [&first, &second] {
        let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{} has mode {mode:o}", path.display());
    }
}

/// The second build of the test above; does nothing unless that test started it.
#[test]
fn reproducibility_child() {
    if let Some(dir) = env::var_os(CHILD_DIR) {
        build(Path::new(&dir), true);
    }
}

/// The tree every external comparison builds covers each kind of node.
#[test]
fn the_sample_tree_has_every_kind_of_node() {
    let kinds: std::collections::BTreeSet<String> = sample_tree(true)
        .iter()
        .map(|node: &Node| {
            format!("{:?}", node.kind)
                .split('(')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "BlockDevice",
            "CharDevice",
            "Dir",
            "Fifo",
            "File",
            "Hardlink",
            "Symlink"
        ]
    );
}
