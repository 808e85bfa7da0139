//! Bad input and failures: typed errors naming their path, and no half-written outputs.

use build_vocab::PathError;
use std::fs::{self, OpenOptions};
use std::io::Write;

use cpio_writer::{
    ArchivePath, Data, DirectorySource, Entry, EntryKind, EntrySource, Error, plan,
    write_archive_file,
};

use crate::support::{options, temp_dir};

#[test]
fn a_file_that_changes_size_is_reported_with_its_path() {
    let dir = temp_dir();
    let file = dir.path().join("f");
    fs::write(&file, b"0123456789").unwrap();
    let layout = plan(
        DirectorySource::new(dir.path()).entries().unwrap(),
        &options(0),
    )
    .unwrap();

    OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"grown")
        .unwrap();
    match layout.write_to(Vec::new()) {
        Err(Error::SizeChanged {
            path,
            expected: 10,
            actual: 15,
        }) => assert_eq!(path, file),
        other => panic!("expected SizeChanged, got {other:?}"),
    }

    fs::write(&file, b"abc").unwrap();
    match layout.write_to(Vec::new()) {
        Err(Error::SizeChanged {
            path,
            expected: 10,
            actual: 3,
        }) => assert_eq!(path, file),
        other => panic!("expected SizeChanged, got {other:?}"),
    }

    fs::remove_file(&file).unwrap();
    match layout.write_to(Vec::new()) {
        Err(Error::Io(PathError { path, .. })) => assert_eq!(path, file),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary() {
    let dir = temp_dir();
    let dest = dir.path().join("initrd");
    let good = vec![Entry {
        path: ArchivePath::new("init").unwrap(),
        kind: EntryKind::File(Data::Bytes(b"ok".to_vec())),
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
    }];
    write_archive_file(good, &options(0), &dest).unwrap();
    let before = fs::read(&dest).unwrap();

    let missing = dir.path().join("missing");
    let bad = vec![Entry {
        path: ArchivePath::new("init").unwrap(),
        kind: EntryKind::File(Data::File {
            path: missing.clone(),
            size: 5,
        }),
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
    }];
    match write_archive_file(bad, &options(0), &dest) {
        Err(Error::Io(PathError { path, .. })) => assert_eq!(path, missing),
        other => panic!("expected Io, got {other:?}"),
    }
    assert_eq!(fs::read(&dest).unwrap(), before);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["initrd"]);
}

#[test]
fn unusable_roots_and_destinations_are_named() {
    let dir = temp_dir();
    let file = dir.path().join("plain-file");
    fs::write(&file, b"").unwrap();
    match DirectorySource::new(&file).entries() {
        Err(Error::Io(PathError { path, .. })) => assert_eq!(path, file),
        other => panic!("expected Io, got {other:?}"),
    }
    let nowhere = dir.path().join("no/such/dir");
    match write_archive_file(Vec::new(), &options(0), &nowhere.join("initrd")) {
        Err(Error::Publish(build_vocab::Error::Io(PathError { path, .. }))) => {
            assert_eq!(path, nowhere)
        }
        other => panic!("expected Io, got {other:?}"),
    }
}
