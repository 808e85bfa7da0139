//! Planning: from an unordered set of entries to the exact sequence of archive members.
//!
//! [`plan`] decides everything about the archive before a byte is written: member order,
//! inode numbers, link counts, clamped mtimes, sizes and offsets. It does no I/O, so tests can
//! assert on a [`Layout`] directly, and the byte pass that follows ([`Layout::write_to`]) only
//! copies what the plan says.
//!
//! The rules, chosen to reproduce `find . | LC_ALL=C sort | cpio -o -H newc --reproducible`:
//! - members are sorted by path bytes, root first, which puts every parent before its children;
//! - inode numbers count up from 0 in that order, a hardlink group taking its number at its
//!   first name;
//! - the names of a hardlinked file are written together at the position of the group's last
//!   name: the earlier names first, in reverse order and with size 0, then the last name with
//!   the data (GNU cpio defers the earlier names exactly so; the kernel links later names to the
//!   first one it saw and appends the data);
//! - `c_nlink` is the number of names a file has in the archive, and 2 plus the number of
//!   subdirectories for a directory;
//! - device numbers of the containing file system are recorded as 0 (`--ignore-devno`);
//! - the archive is padded with zeros to a multiple of 512 bytes, as GNU cpio pads it.

use crate::entry::{ArchivePath, Data, Entry, EntryKind, MAX_NAME_LEN};
use crate::error::{Error, lossy};
use crate::newc::{BLOCK_SIZE, Header, TRAILER_NAME, file_type, member_len, padding};
use crate::{ArchiveOptions, Owners};

/// The planned archive: every member in order, ending with the trailer.
#[derive(Debug)]
pub struct Layout {
    /// The members in archive order; the last is the `TRAILER!!!` member.
    pub records: Vec<Record>,
    /// Total length of the uncompressed archive, block padding included.
    pub len: u64,
}

/// One planned member.
#[derive(Debug)]
pub struct Record {
    /// Where its header starts in the uncompressed archive.
    pub offset: u64,
    /// The member name, without the NUL.
    pub name: Vec<u8>,
    /// The header, final.
    pub header: Header,
    /// Where the `header.filesize` bytes of data come from; `None` when there are none.
    pub data: Option<Data>,
}

/// Plans the archive of `entries`, given in any order.
pub fn plan(mut entries: Vec<Entry>, options: &ArchiveOptions) -> Result<Layout, Error> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    check_tree(&entries)?;
    let owner = inode_owners(&entries)?;
    let n = entries.len();

    // The names of each inode, in path order; a singleton for everything but hardlinked files.
    let mut names: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &o) in owner.iter().enumerate() {
        names[o].push(i);
    }
    let mut subdirs = vec![0u32; n];
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Directory) {
        if let Some(parent) = entry.path.parent().and_then(|p| find(&entries, &p)) {
            subdirs[parent] += 1;
        }
    }
    let mut inos: Vec<Option<u32>> = vec![None; n];
    let mut next_ino = 0u32;
    for &o in &owner {
        if inos[o].is_none() {
            inos[o] = Some(next_ino);
            next_ino += 1;
        }
    }

    let mut records = Vec::with_capacity(n + 1);
    let mut offset = 0u64;
    let mut push = |name: Vec<u8>, header: Header, data: Option<Data>| {
        let len = member_len(name.len(), u64::from(header.filesize));
        records.push(Record {
            offset,
            name,
            header,
            data,
        });
        offset += len;
    };
    for i in 0..n {
        let o = owner[i];
        let group = &names[o];
        if group.last() != Some(&i) {
            continue; // An earlier name of a hardlinked file: written with the last one.
        }
        let nlink = match entries[o].kind {
            EntryKind::Directory => 2 + subdirs[o],
            _ => count(group.len() as u64, &entries[i].path, "c_nlink")?,
        };
        let ino = inos[o].unwrap_or_default();
        for &earlier in group[..group.len() - 1].iter().rev() {
            let header = header(&entries[earlier].path, &entries[o], ino, nlink, 0, options)?;
            push(entries[earlier].path.name().to_vec(), header, None);
        }
        let size = count(data_len(&entries[o].kind), &entries[i].path, "c_filesize")?;
        let header = header(&entries[i].path, &entries[o], ino, nlink, size, options)?;
        let data = take_data(&mut entries[o].kind);
        push(entries[i].path.name().to_vec(), header, data);
    }
    push(TRAILER_NAME.to_vec(), Header::trailer(), None);
    Ok(Layout {
        records,
        len: offset + padding(offset, BLOCK_SIZE),
    })
}

/// Rejects duplicate paths, orphans and symlink targets the kernel refuses. `entries` is sorted.
pub(crate) fn check_tree(entries: &[Entry]) -> Result<(), Error> {
    if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Error::DuplicatePath {
            path: pair[0].path.to_string(),
        });
    }
    for entry in entries {
        if let Some(parent) = entry.path.parent() {
            let is_dir = find(entries, &parent).map(|p| &entries[p].kind);
            if is_dir != Some(&EntryKind::Directory) && !(parent.is_root() && is_dir.is_none()) {
                return Err(Error::MissingParent {
                    path: entry.path.to_string(),
                });
            }
        }
        if let EntryKind::Symlink { target } = &entry.kind {
            let reason = if target.is_empty() {
                Some("its target is empty")
            } else if target.contains(&0) {
                Some("its target contains a NUL byte")
            } else if target.len() > MAX_NAME_LEN {
                Some("its target is longer than PATH_MAX allows")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::InvalidSymlink {
                    path: entry.path.to_string(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// For each entry, the index of the entry whose inode it names: the target regular file for a
/// hardlink, itself otherwise.
fn inode_owners(entries: &[Entry]) -> Result<Vec<usize>, Error> {
    let mut owner: Vec<usize> = (0..entries.len()).collect();
    for (i, entry) in entries.iter().enumerate() {
        if let EntryKind::Hardlink { target } = &entry.kind {
            match find(entries, target) {
                Some(t) if matches!(entries[t].kind, EntryKind::File(_)) => owner[i] = t,
                _ => {
                    return Err(Error::HardlinkTarget {
                        path: entry.path.to_string(),
                        target: target.to_string(),
                    });
                }
            }
        }
    }
    Ok(owner)
}

/// The header of a member named `path` for the inode described by `node`.
fn header(
    path: &ArchivePath,
    node: &Entry,
    ino: u32,
    nlink: u32,
    filesize: u32,
    options: &ArchiveOptions,
) -> Result<Header, Error> {
    let (type_bits, rdev) = match &node.kind {
        EntryKind::Directory => (file_type::DIRECTORY, None),
        EntryKind::File(_) | EntryKind::Hardlink { .. } => (file_type::REGULAR, None),
        EntryKind::Symlink { .. } => (file_type::SYMLINK, None),
        EntryKind::CharDevice(dev) => (file_type::CHAR_DEVICE, Some(dev)),
        EntryKind::BlockDevice(dev) => (file_type::BLOCK_DEVICE, Some(dev)),
        EntryKind::Fifo => (file_type::FIFO, None),
        EntryKind::Socket => (file_type::SOCKET, None),
    };
    let (uid, gid) = match options.owners {
        Owners::AsRecorded => (node.uid, node.gid),
        Owners::Root => (0, 0),
    };
    let mtime = node.mtime.min(options.source_date_epoch);
    Ok(Header {
        ino,
        mode: type_bits | (node.mode & 0o7777),
        uid,
        gid,
        nlink,
        mtime: count(mtime, path, "c_mtime")?,
        filesize,
        devmajor: 0,
        devminor: 0,
        rdevmajor: rdev.map_or(0, |d| d.major),
        rdevminor: rdev.map_or(0, |d| d.minor),
        namesize: count(path.name().len() as u64 + 1, path, "c_namesize")?,
        check: 0,
    })
}

/// Bytes of data an inode carries in the archive.
fn data_len(kind: &EntryKind) -> u64 {
    match kind {
        EntryKind::File(data) => data.len(),
        EntryKind::Symlink { target } => target.len() as u64,
        _ => 0,
    }
}

/// Moves the data out of an entry whose member has just been planned.
fn take_data(kind: &mut EntryKind) -> Option<Data> {
    match kind {
        EntryKind::File(data) => Some(std::mem::replace(data, Data::Bytes(Vec::new()))),
        EntryKind::Symlink { target } => Some(Data::Bytes(std::mem::take(target))),
        _ => None,
    }
}

/// `value` as a 32-bit header field of the member at `path`.
fn count(value: u64, path: &ArchivePath, field: &'static str) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::FieldOverflow {
        path: path.to_string(),
        field,
        value,
    })
}

/// Index of the entry at `path` in sorted `entries`.
fn find(entries: &[Entry], path: &ArchivePath) -> Option<usize> {
    entries.binary_search_by(|e| e.path.cmp(path)).ok()
}

/// The member names of a layout, for assertions and reports.
impl Layout {
    /// Names of the members in archive order, as text.
    pub fn names(&self) -> Vec<String> {
        self.records.iter().map(|r| lossy(&r.name)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compression;
    use crate::entry::DeviceNumber;

    const EPOCH: u64 = 1_000;

    fn options() -> ArchiveOptions {
        ArchiveOptions {
            source_date_epoch: EPOCH,
            owners: Owners::AsRecorded,
            compression: Compression::None,
        }
    }

    fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: ArchivePath::new(path).unwrap(),
            kind,
            mode: 0o755,
            uid: 1,
            gid: 2,
            mtime: 500,
        }
    }

    fn file(path: &str, contents: &[u8]) -> Entry {
        entry(path, EntryKind::File(Data::Bytes(contents.to_vec())))
    }

    fn link(path: &str, target: &str) -> Entry {
        let target = ArchivePath::new(target).unwrap();
        entry(path, EntryKind::Hardlink { target })
    }

    fn dir(path: &str) -> Entry {
        entry(path, EntryKind::Directory)
    }

    fn record<'a>(layout: &'a Layout, name: &str) -> &'a Record {
        layout
            .records
            .iter()
            .find(|r| r.name == name.as_bytes())
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    #[test]
    fn sorts_by_path_bytes_with_root_first_and_ends_with_trailer() {
        let layout = plan(
            vec![dir("a/b"), file("a-c", b""), dir("a"), dir(".")],
            &options(),
        )
        .unwrap();
        assert_eq!(layout.names(), [".", "a", "a-c", "a/b", "TRAILER!!!"]);
        let inos: Vec<u32> = layout.records.iter().map(|r| r.header.ino).collect();
        assert_eq!(inos, [0, 1, 2, 3, 0]);
        assert_eq!(layout.len % BLOCK_SIZE, 0);
    }

    #[test]
    fn hardlinks_share_an_inode_and_the_last_name_carries_the_data() {
        let layout = plan(
            vec![
                dir("."),
                dir("a"),
                dir("a/b"),
                dir("c"),
                file("a/f", b"hello\n"),
                link("a-z", "a/f"),
                link("c/g", "a/f"),
                file("zz", b"x\n"),
            ],
            &options(),
        )
        .unwrap();
        // The order and numbering GNU cpio --reproducible produces for the same tree.
        assert_eq!(
            layout.names(),
            [
                ".",
                "a",
                "a/b",
                "c",
                "a/f",
                "a-z",
                "c/g",
                "zz",
                "TRAILER!!!"
            ]
        );
        for name in ["a-z", "a/f", "c/g"] {
            let r = record(&layout, name);
            assert_eq!((r.header.ino, r.header.nlink), (2, 3), "{name}");
            assert_eq!(r.header.mode, 0o100_755);
        }
        assert_eq!(record(&layout, "a/f").header.filesize, 0);
        assert!(record(&layout, "a-z").data.is_none());
        assert_eq!(record(&layout, "c/g").header.filesize, 6);
        assert_eq!(
            record(&layout, "c/g").data,
            Some(Data::Bytes(b"hello\n".to_vec()))
        );
        assert_eq!(record(&layout, "zz").header.ino, 5);
    }

    #[test]
    fn counts_subdirectories_into_directory_link_counts() {
        let layout = plan(
            vec![dir("."), dir("a"), dir("a/b"), dir("c"), file("a/f", b"")],
            &options(),
        )
        .unwrap();
        let nlinks: Vec<u32> = layout.records.iter().map(|r| r.header.nlink).collect();
        assert_eq!(nlinks, [4, 3, 2, 1, 2, 1]);
    }

    #[test]
    fn clamps_mtimes_and_applies_the_owner_policy() {
        let mut late = file("late", b"");
        late.mtime = EPOCH + 10;
        let early = file("early", b"");
        let root_owned = ArchiveOptions {
            owners: Owners::Root,
            ..options()
        };
        let layout = plan(vec![late.clone(), early.clone()], &options()).unwrap();
        assert_eq!(record(&layout, "late").header.mtime, EPOCH as u32);
        assert_eq!(record(&layout, "early").header.mtime, 500);
        assert_eq!(
            (
                record(&layout, "late").header.uid,
                record(&layout, "late").header.gid
            ),
            (1, 2)
        );
        let layout = plan(vec![late, early], &root_owned).unwrap();
        assert_eq!(
            (
                record(&layout, "late").header.uid,
                record(&layout, "late").header.gid
            ),
            (0, 0)
        );
    }

    #[test]
    fn records_types_devices_and_symlink_targets() {
        let dev = DeviceNumber { major: 1, minor: 3 };
        let layout = plan(
            vec![
                entry("c", EntryKind::CharDevice(dev)),
                entry("b", EntryKind::BlockDevice(dev)),
                entry("p", EntryKind::Fifo),
                entry("s", EntryKind::Socket),
                entry(
                    "l",
                    EntryKind::Symlink {
                        target: b"a/f".to_vec(),
                    },
                ),
            ],
            &options(),
        )
        .unwrap();
        let c = &record(&layout, "c").header;
        assert_eq!((c.mode, c.rdevmajor, c.rdevminor), (0o020_755, 1, 3));
        assert_eq!(record(&layout, "b").header.mode, 0o060_755);
        assert_eq!(record(&layout, "p").header.mode, 0o010_755);
        assert_eq!(record(&layout, "s").header.mode, 0o140_755);
        let l = record(&layout, "l");
        assert_eq!((l.header.mode, l.header.filesize), (0o120_755, 3));
        assert_eq!(l.data, Some(Data::Bytes(b"a/f".to_vec())));
    }

    #[test]
    fn offsets_follow_the_four_byte_alignment() {
        let layout = plan(vec![file("ab", b"12345"), file("c", b"")], &options()).unwrap();
        let offsets: Vec<u64> = layout.records.iter().map(|r| r.offset).collect();
        // "ab": 110 + 3 -> 116, data 5 -> 8; "c": 110 + 2 = 112.
        assert_eq!(offsets, [0, 124, 236]);
        assert_eq!(layout.len, 512);
    }

    #[test]
    fn rejects_inconsistent_trees_naming_the_entry() {
        let err = plan(vec![file("a", b""), file("a", b"")], &options()).unwrap_err();
        assert!(matches!(err, Error::DuplicatePath { path } if path == "a"));
        let err = plan(vec![file("a/b", b"")], &options()).unwrap_err();
        assert!(matches!(err, Error::MissingParent { path } if path == "a/b"));
        let err = plan(vec![file("a", b""), file("a/b", b"")], &options()).unwrap_err();
        assert!(matches!(err, Error::MissingParent { path } if path == "a/b"));
        let err = plan(vec![dir("d"), link("l", "d")], &options()).unwrap_err();
        assert!(
            matches!(err, Error::HardlinkTarget { path, target } if path == "l" && target == "d")
        );
        let err = plan(vec![link("l", "missing")], &options()).unwrap_err();
        assert!(matches!(err, Error::HardlinkTarget { .. }));
        let empty = entry("s", EntryKind::Symlink { target: Vec::new() });
        let err = plan(vec![empty], &options()).unwrap_err();
        assert!(matches!(err, Error::InvalidSymlink { path, .. } if path == "s"));
    }

    #[test]
    fn rejects_values_that_do_not_fit_the_header() {
        let huge = Data::File {
            path: "/nonexistent".into(),
            size: 1 << 32,
        };
        let err = plan(vec![entry("big", EntryKind::File(huge))], &options()).unwrap_err();
        assert!(matches!(
            err,
            Error::FieldOverflow {
                field: "c_filesize",
                ..
            }
        ));
        let far_future = ArchiveOptions {
            source_date_epoch: 1 << 33,
            ..options()
        };
        let mut late = file("late", b"");
        late.mtime = 1 << 32;
        let err = plan(vec![late], &far_future).unwrap_err();
        assert!(
            matches!(err, Error::FieldOverflow { field: "c_mtime", path, .. } if path == "late")
        );
    }
}
