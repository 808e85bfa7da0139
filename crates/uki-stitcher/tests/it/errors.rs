//! Bad input: typed errors that say what is wrong, and no half-written outputs.

use build_vocab::PathError;
use std::fs;

use uki_stitcher::{Error, PeRole, Sbat, SbatEntry, extract};

use crate::support::{StubSection, StubSpec, sample_inputs, temp_dir};

const KERNEL: &[u8] = b"kernel";
const INITRD: &[u8] = b"initrd";

fn plan_error(stub: &[u8]) -> Error {
    uki_stitcher::plan(&sample_inputs(stub, KERNEL, INITRD)).unwrap_err()
}

#[test]
fn a_signed_stub_is_refused() {
    let mut spec = StubSpec::modern();
    spec.certificate = Some(vec![0x30; 64]);
    assert!(matches!(plan_error(&spec.build()), Error::SignedStub));
}

#[test]
fn a_pe32_stub_is_refused() {
    let mut spec = StubSpec::modern();
    spec.pe32_plus = false;
    match plan_error(&spec.build()) {
        Error::UnsupportedStub { reason } => assert!(reason.contains("PE32"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_data_after_the_last_section_is_refused() {
    let mut stub = StubSpec::modern().build();
    stub.extend(b"appended junk");
    match plan_error(&stub) {
        Error::UnsupportedStub { reason } => assert!(reason.contains("13 bytes"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bytes_that_are_not_pe_are_named_as_the_stub_or_the_image() {
    assert!(matches!(
        plan_error(b"MZ but nothing else"),
        Error::Malformed {
            role: PeRole::Stub,
            ..
        }
    ));
    assert!(matches!(
        uki_stitcher::inspect(b"\x7fELF"),
        Err(Error::Malformed {
            role: PeRole::Image,
            ..
        })
    ));
    assert!(matches!(
        uki_stitcher::authenticode::sha256(b""),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn a_stub_without_header_room_is_refused() {
    // FileAlignment 0x200 leaves the section table no slack after the stub's three headers.
    let mut spec = StubSpec::modern();
    spec.file_alignment = 0x200;
    match plan_error(&spec.build()) {
        Error::NoHeaderRoom {
            sections: 5,
            needed,
            available: 0x200,
        } => assert!(needed > 0x200),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sbat_that_does_not_fit_the_stub_s_section_is_refused() {
    let stub = StubSpec::modern().build();
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    let entry = Sbat::uki_default().entries.remove(0);
    inputs.sbat = Sbat {
        entries: vec![entry; 60],
    };
    match uki_stitcher::plan(&inputs).unwrap_err() {
        Error::SbatDoesNotFit {
            needed,
            available: 0x1000,
        } => assert!(needed > 0x1000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stub_with_a_bad_sbat_is_refused() {
    let mut spec = StubSpec::modern();
    spec.sections[1] = StubSection::new(".sbat", "not,sbat\n");
    match plan_error(&spec.build()) {
        Error::InvalidSbat {
            origin, line: 1, ..
        } => assert_eq!(origin, "stub .sbat"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sbat_entries_parse_or_say_why_not() {
    assert_eq!(
        SbatEntry::parse("uki,1,UKI,uki,1,https://example.org/")
            .unwrap()
            .generation,
        1
    );
    assert!(SbatEntry::parse("uki,1,UKI").is_err());
}

#[test]
fn a_missing_section_is_named() {
    let stub = StubSpec::modern().build();
    match extract(&stub, ".linux") {
        Err(Error::SectionNotFound { name }) => assert_eq!(name, ".linux"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_build_keeps_the_previous_file_and_leaves_no_temporary() {
    let dir = temp_dir();
    let path = dir.path().join("uki.efi");
    let stub = StubSpec::modern().build();
    uki_stitcher::write_uki_file(&sample_inputs(&stub, KERNEL, INITRD), &path).unwrap();
    let before = fs::read(&path).unwrap();

    let mut signed = StubSpec::modern();
    signed.certificate = Some(vec![0x30; 64]);
    let signed = signed.build();
    let error =
        uki_stitcher::write_uki_file(&sample_inputs(&signed, KERNEL, INITRD), &path).unwrap_err();
    assert!(matches!(error, Error::SignedStub));
    assert_eq!(fs::read(&path).unwrap(), before);

    let missing = dir.path().join("no-such-dir/uki.efi");
    match uki_stitcher::write_uki_file(&sample_inputs(&stub, KERNEL, INITRD), &missing) {
        Err(Error::Vocab(build_vocab::Error::Io(PathError { path, .. }))) => {
            assert_eq!(path, dir.path().join("no-such-dir"))
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["uki.efi"]);
}
