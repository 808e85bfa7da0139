//! The model's rules on small synthetic UKIs (uki-stitcher's `synthetic-pe` stubs and PE
//! kernels, stitched by uki-stitcher): the stub's section order and zero fill, the initrd's
//! pieces, LoadOptions into PCR 12, and the refusals. The expected digests are computed here
//! from the rule and the section table as goblin reads it, not by the model.

use sha2::{Digest, Sha256};
use tdx_measure::stub::utf16_with_nul;
use tdx_measure::{BootTarget, Error, EventType, SystemdPhases, UkiMeasurements};
use uki_stitcher::synthetic::{StubSection, StubSpec};
use uki_stitcher::{OsRelease, Sbat, UkiInputs, Uname};

/// A PE kernel whose SizeOfImage (and so `.linux`'s VirtualSize) exceeds its file.
fn kernel() -> Vec<u8> {
    StubSpec::kernel(vec![StubSection::new(".data", vec![0x11; 0x300])]).build()
}

fn uki(stub: &[u8], kernel: &[u8], initrd: &[u8], os_release: bool) -> Vec<u8> {
    uki_stitcher::build(&UkiInputs {
        stub,
        linux: kernel,
        initrds: vec![initrd],
        cmdline: Some(" console=ttyS0\tquiet \n".into()),
        os_release: os_release.then(|| OsRelease::parse("ID=debian\n").unwrap()),
        uname: Some(Uname::new("6.12.0-1-amd64").unwrap()),
        sbat: Sbat::uki_default(),
        splash: None,
        devicetree: None,
    })
    .unwrap()
}

/// `(name, VirtualSize, file offset)` of each section, as goblin (a PE reader we did not
/// write) reads the section table.
fn pe_sections(image: &[u8]) -> Vec<(String, usize, usize)> {
    let pe = goblin::pe::PE::parse(image).expect("goblin reads the UKI");
    pe.sections
        .iter()
        .map(|s| {
            (
                s.name().unwrap().to_owned(),
                s.virtual_size as usize,
                s.pointer_to_raw_data as usize,
            )
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[test]
fn sections_are_measured_in_the_stubs_order_zero_filled_to_their_virtual_size() {
    let stub = StubSpec::modern().build();
    let kernel = kernel();
    let image = uki(&stub, &kernel, b"initrd", true);
    let measurements = UkiMeasurements::of(&image, "").unwrap();
    let pcr11: Vec<_> = measurements
        .stub
        .events
        .iter()
        .filter(|e| e.pcr == 11)
        .collect();
    let names: Vec<String> = pcr11
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair[0].event_type, EventType::IPL);
            assert_eq!(pair[0].data, pair[1].data);
            pair[0]
                .description
                .trim_start_matches("section name ")
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [".linux", ".osrel", ".cmdline", ".initrd", ".uname", ".sbat"]
    );
    // The name with one NUL, the name in UTF-16 with its NUL as data.
    assert_eq!(pcr11[0].digests.sha256, sha256(b".linux\0"));
    assert_eq!(
        pcr11[0].data.as_deref(),
        Some(&utf16_with_nul(".linux")[..])
    );
    // .linux's VirtualSize is the kernel's SizeOfImage, longer than the kernel file, and
    // it is measured with the loader's zeros.
    let sections = pe_sections(&image);
    let (_, size, offset) = sections.iter().find(|s| s.0 == ".linux").unwrap();
    assert!(*size > kernel.len(), "{size} vs {}", kernel.len());
    let mut in_memory = image[*offset..*offset + kernel.len()].to_vec();
    in_memory.resize(*size, 0);
    assert_eq!(pcr11[1].digests.sha256, sha256(&in_memory));
    // .cmdline is measured as it is (VirtualSize bytes), before the stub mangles the line
    // it passes on.
    let (_, size, offset) = sections.iter().find(|s| s.0 == ".cmdline").unwrap();
    assert_eq!(
        pcr11[5].digests.sha256,
        sha256(&image[*offset..*offset + *size])
    );
    assert_eq!(
        measurements.stub.load_options.as_deref(),
        Some(&utf16_with_nul("console=ttyS0 quiet")[..])
    );
    // No LoadOptions from the firmware: nothing in PCR 12.
    let boot = measurements.boot(&BootTarget::QemuKernel, SystemdPhases::None);
    assert!(boot.events.iter().all(|e| e.pcr != 12));
    assert_eq!(
        boot.registers.pcr(tdx_measure::Bank::Sha256, 12),
        [0; 32].as_slice()
    );
}

#[test]
fn one_initrd_piece_is_passed_as_is_and_several_are_padded() {
    let stub = StubSpec::modern().build();
    let kernel = kernel();
    // Without .osrel the stub writes no cpio: Linux gets `.initrd` exactly.
    let alone = UkiMeasurements::of(&uki(&stub, &kernel, b"12345", false), "").unwrap();
    assert_eq!(alone.stub.initrd.as_ref().unwrap().sha256, sha256(b"12345"));
    // With .osrel, the stub's os-release cpio follows the padded initrd.
    let with_osrel = UkiMeasurements::of(&uki(&stub, &kernel, b"12345", true), "").unwrap();
    assert_ne!(
        with_osrel.stub.initrd.as_ref().unwrap().sha256,
        sha256(b"12345")
    );
    let tag = |m: &UkiMeasurements| {
        m.boot(&BootTarget::QemuKernel, SystemdPhases::None)
            .events
            .iter()
            .filter(|e| e.pcr == 9)
            .map(|e| e.digests.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(tag(&alone)[1], alone.stub.initrd.clone().unwrap());
}

#[test]
fn load_options_from_the_firmware_replace_cmdline_and_go_into_pcr_12() {
    let stub = StubSpec::modern().build();
    let image = uki(&stub, &kernel(), b"initrd", true);
    let measurements = UkiMeasurements::of(&image, "  systemd.unit=rescue.target\t ").unwrap();
    let first = &measurements.stub.events[0];
    let expected = utf16_with_nul("systemd.unit=rescue.target");
    assert_eq!((first.pcr, first.event_type), (12, EventType::IPL));
    assert_eq!(first.digests.sha256, sha256(&expected));
    assert_eq!(measurements.stub.load_options, Some(expected));
}

#[test]
fn unmodelled_stubs_and_shapes_are_refused() {
    let kernel = kernel();
    let mut older = StubSpec::modern();
    older.sections[2] = StubSection::new(
        ".sdmagic",
        &b"#### LoaderInfo: systemd-stub 256.7 ####\0"[..],
    );
    let image = uki(&older.build(), &kernel, b"initrd", true);
    let error = UkiMeasurements::of(&image, "").unwrap_err();
    assert!(
        matches!(&error, Error::UnmodelledStub { version, .. } if version == "256.7"),
        "{error}"
    );
    assert!(error.to_string().contains("257"), "{error}");

    let mut profiled = StubSpec::modern();
    profiled
        .sections
        .push(StubSection::new(".profile", &b"ID=one\n"[..]));
    let image = uki(&profiled.build(), &kernel, b"initrd", true);
    let error = UkiMeasurements::of(&image, "").unwrap_err();
    assert!(matches!(error, Error::Unmodelled { .. }), "{error}");

    let mut foreign = StubSpec::modern();
    foreign.sections.retain(|s| s.name != ".sdmagic");
    let error = UkiMeasurements::of(&foreign.build(), "").unwrap_err();
    assert!(matches!(error, Error::NotAUki { .. }), "{error}");
}
