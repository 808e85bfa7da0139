//! Property tests: random trees, produced in random orders, always give the same bytes, from
//! memory and from disk alike.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;

use cpio_writer::DirectorySource;

use crate::support::{
    Kind, Node, archive, assert_same_archive, create_tree, entries, options, require_root, temp_dir,
};

/// Names around the bytes that make path order differ from walk order (`-` and `.` sort
/// before `/`), plus a space and a non-ASCII name.
const NAMES: &[&str] = &["a", "b", "a-b", "a.b", "ab", "B", "a b", "é"];
const MODES: &[u32] = &[0o644, 0o600, 0o755, 0o4755, 0o1777];
/// Mtimes on both sides of the epoch used below.
const MTIMES: &[i64] = &[0, 500, 2_000];
const EPOCH: u64 = 1_000;

/// A random tree: each node hangs under a random earlier directory.
fn tree() -> impl Strategy<Value = Vec<Node>> {
    let node = (
        any::<Index>(),
        0..NAMES.len(),
        0..5u8,
        prop::collection::vec(any::<u8>(), 0..40),
        any::<Index>(),
        0..MODES.len(),
        0..MTIMES.len(),
    );
    prop::collection::vec(node, 1..25).prop_map(|specs| {
        let mut nodes = vec![Node::new(".", Kind::Dir)];
        let mut dirs: Vec<Vec<u8>> = vec![b".".to_vec()];
        let mut files: Vec<Vec<u8>> = Vec::new();
        for (parent, name, kind, bytes, other, mode, mtime) in specs {
            let parent = &dirs[parent.index(dirs.len())];
            let path = if parent == b"." {
                NAMES[name].as_bytes().to_vec()
            } else {
                [parent.as_slice(), b"/", NAMES[name].as_bytes()].concat()
            };
            if nodes.iter().any(|n| n.path == path) {
                continue;
            }
            let kind = match kind {
                0 => Kind::Dir,
                1 => Kind::File(bytes),
                2 => Kind::Symlink(bytes.iter().map(|b| b'a' + b % 26).chain(*b"/t").collect()),
                3 if !files.is_empty() => Kind::Hardlink(files[other.index(files.len())].clone()),
                4 => Kind::Fifo,
                _ => Kind::File(bytes),
            };
            match kind {
                Kind::Dir => dirs.push(path.clone()),
                Kind::File(_) => files.push(path.clone()),
                _ => {}
            }
            let mut node = Node::new(path, kind);
            if !matches!(node.kind, Kind::Symlink(_)) {
                node.mode = MODES[mode];
            }
            node.mtime = MTIMES[mtime];
            nodes.push(node);
        }
        nodes
    })
}

/// A tree and two orders of it.
fn tree_in_two_orders() -> impl Strategy<Value = (Vec<Node>, Vec<Node>)> {
    tree().prop_flat_map(|nodes| {
        (
            Just(nodes.clone()).prop_shuffle(),
            Just(nodes).prop_shuffle(),
        )
    })
}

proptest! {
    #[test]
    fn entries_in_any_order_give_the_same_bytes((first, second) in tree_in_two_orders()) {
        assert_same_archive(
            "two orders of one entry list",
            &archive(entries(&first), &options(EPOCH)),
            &archive(entries(&second), &options(EPOCH)),
        );
    }
}

#[test]
#[ignore = "needs root"]
fn trees_created_in_any_order_give_the_same_bytes() {
    // Device-free trees, but chown to root still needs root.
    require_root();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(24));
    let outcome = runner.run(&tree_in_two_orders(), |(first, second)| {
        let one = temp_dir();
        let two = temp_dir();
        let root_one = one.path().join("x");
        let root_two = two.path().join("deeper/y");
        create_tree(&root_one, &first);
        create_tree(&root_two, &second);
        let from_disk = archive(DirectorySource::new(&root_one), &options(EPOCH));
        assert_same_archive(
            "two creation orders of one tree",
            &from_disk,
            &archive(DirectorySource::new(&root_two), &options(EPOCH)),
        );
        assert_same_archive(
            "the tree from disk and from memory",
            &from_disk,
            &archive(entries(&first), &options(EPOCH)),
        );
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
