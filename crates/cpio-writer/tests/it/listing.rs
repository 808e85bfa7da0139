//! bsdtar lists what we wrote: every node of the tree, with its type, permissions, owners,
//! size or device number, symlink target and hardlinks.

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::{Kind, Node, archive, entries, options, run_with_input, sample_tree};

/// One line of `bsdtar -tv`.
#[derive(Debug)]
struct Listed {
    perms: String,
    uid: String,
    gid: String,
    size: String,
    /// What follows the name: ` -> target` or ` link to name`, if anything.
    suffix: String,
}

fn parse(listing: &str) -> BTreeMap<String, Listed> {
    listing
        .lines()
        .map(|line| {
            // perms, links, uid, gid, size, and three date fields; then the name.
            let mut rest = line;
            let mut fields = Vec::new();
            for _ in 0..8 {
                rest = rest.trim_start();
                let end = rest.find(' ').expect("short line");
                fields.push(&rest[..end]);
                rest = &rest[end..];
            }
            let name_and_suffix = &rest[1..];
            let cut = [" -> ", " link to "]
                .iter()
                .filter_map(|s| name_and_suffix.find(s))
                .min()
                .unwrap_or(name_and_suffix.len());
            let listed = Listed {
                perms: fields[0].to_owned(),
                uid: fields[2].to_owned(),
                gid: fields[3].to_owned(),
                size: fields[4].to_owned(),
                suffix: name_and_suffix[cut..].to_owned(),
            };
            (name_and_suffix[..cut].to_owned(), listed)
        })
        .collect()
}

/// A name as bsdtar prints it in the C locale: bytes outside printable ASCII in octal.
fn shown(name: &[u8]) -> String {
    name.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\{b:03o}")
            }
        })
        .collect()
}

/// `ls -l` style permissions.
fn perms(node: &Node) -> String {
    let kind = match node.kind {
        Kind::Dir => 'd',
        Kind::File(_) | Kind::Hardlink(_) => '-',
        Kind::Symlink(_) => 'l',
        Kind::Fifo => 'p',
        Kind::CharDevice(..) => 'c',
        Kind::BlockDevice(..) => 'b',
    };
    let mut s = String::from(kind);
    for (shift, special, set, unset) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = node.mode >> shift;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (bits & 1 != 0, node.mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

#[test]
fn bsdtar_lists_every_member() {
    let tree = sample_tree(true);
    let bytes = archive(entries(&tree), &options(1_550_000_000));
    let listing = run_with_input(
        Command::new("bsdtar")
            .args(["-tvf", "-"])
            .env("LC_ALL", "C")
            .env("TZ", "UTC"),
        &bytes,
    );
    let listing = String::from_utf8(listing).unwrap();
    let listed = parse(&listing);
    assert_eq!(listed.len(), tree.len(), "{listing}");

    let by_path: BTreeMap<&[u8], &Node> = tree.iter().map(|n| (n.path.as_slice(), n)).collect();
    let mut group_sizes: BTreeMap<&[u8], Vec<u64>> = BTreeMap::new();
    for node in &tree {
        let name = shown(&node.path);
        let line = listed
            .get(&name)
            .unwrap_or_else(|| panic!("`{name}` not listed:\n{listing}"));
        // A hardlink shows the inode of its target.
        let (inode, group) = match &node.kind {
            Kind::Hardlink(target) => (by_path[target.as_slice()], target.as_slice()),
            _ => (node, node.path.as_slice()),
        };
        assert_eq!(line.perms, perms(inode), "{name}");
        assert_eq!(
            (line.uid.as_str(), line.gid.as_str()),
            (&*inode.uid.to_string(), &*inode.gid.to_string()),
            "{name}"
        );
        match &inode.kind {
            Kind::Symlink(target) => {
                assert_eq!(line.suffix, format!(" -> {}", shown(target)), "{name}");
                assert_eq!(line.size, target.len().to_string(), "{name}");
            }
            Kind::CharDevice(major, minor) | Kind::BlockDevice(major, minor) => {
                assert_eq!(line.size, format!("{major},{minor}"), "{name}");
            }
            Kind::File(_) => group_sizes
                .entry(group)
                .or_default()
                .push(line.size.parse().unwrap()),
            _ => assert_eq!(line.size, "0", "{name}"),
        }
    }
    // Each file's data is stored once, with one of its names; the others list size 0.
    for (path, sizes) in group_sizes {
        let Kind::File(contents) = &by_path[path].kind else {
            unreachable!()
        };
        let stored: Vec<u64> = sizes.iter().copied().filter(|&s| s != 0).collect();
        let expected: Vec<u64> = Some(contents.len() as u64)
            .filter(|&l| l != 0)
            .into_iter()
            .collect();
        assert_eq!(stored, expected, "{}", shown(path));
    }
    let links = listed
        .values()
        .filter(|l| l.suffix.starts_with(" link to "))
        .count();
    assert_eq!(
        links, 3,
        "bsdtar sees every later name of a group as a link:\n{listing}"
    );
}
