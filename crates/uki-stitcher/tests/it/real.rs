//! The real systemd-stub (Debian's `systemd-boot-efi`) with a real Debian kernel: `objdump -h`
//! agrees with the layout, `inspect` gives every section back, the stub's bytes are kept.

use sha2::{Digest, Sha256};
use uki_stitcher::{Error, OsRelease, Sbat, UkiInputs, Uname, extract, inspect, pe_checksum};

use crate::support::debs::{Debs, debs};
use crate::support::{objdump_sections, temp_dir};

const INITRD: &[u8] = b"070701 not really a cpio archive";
const SPLASH: &[u8] = b"BM pretend bitmap";
const DTB: &[u8] = b"\xd0\x0d\xfe\xed pretend device tree";

fn inputs(debs: &Debs) -> UkiInputs<'_> {
    UkiInputs {
        stub: &debs.stub,
        linux: &debs.kernel,
        initrds: vec![INITRD],
        cmdline: Some("console=ttyS0 root=/dev/vda1".into()),
        os_release: Some(
            OsRelease::parse("PRETTY_NAME=\"Flashbox test\"\nID=debian\nVERSION_ID=\"12\"\n")
                .unwrap(),
        ),
        uname: Some(Uname::from_linux(&debs.kernel).unwrap()),
        sbat: Sbat::none(),
        splash: Some(SPLASH),
        devicetree: Some(DTB),
    }
}

#[test]
fn objdump_lists_the_sections_in_order_with_the_planned_sizes() {
    let debs = debs();
    let dir = temp_dir();
    let path = dir.path().join("uki.efi");
    let layout = uki_stitcher::write_uki_file(&inputs(debs), &path).unwrap();
    let listed = objdump_sections(&path);
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            ".text", ".reloc", ".data", ".dynamic", ".rela", ".dynsym", ".sbat", ".sdmagic",
            ".osrel", ".cmdline", ".dtb", ".uname", ".splash", ".initrd", ".linux"
        ]
    );
    assert_eq!(listed.len(), layout.sections.len());
    for (row, planned) in listed.iter().zip(&layout.sections) {
        assert_eq!(row.name, planned.name);
        // objdump shows min(VirtualSize, SizeOfRawData) for images; the stub's ImageBase is 0.
        assert_eq!(
            row.size,
            u64::from(planned.virtual_size.min(planned.file_size)),
            "{}",
            row.name
        );
        assert_eq!(row.vma, u64::from(planned.virtual_address), "{}", row.name);
        assert_eq!(
            row.file_offset,
            u64::from(planned.file_offset),
            "{}",
            row.name
        );
    }
    let sizes = |name: &str| {
        listed
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.size)
            .unwrap()
    };
    assert_eq!(sizes(".initrd"), INITRD.len() as u64);
    assert_eq!(
        sizes(".cmdline"),
        "console=ttyS0 root=/dev/vda1".len() as u64
    );
    assert_eq!(sizes(".uname"), debs.kernel_release.len() as u64);
    let linux = layout.section(".linux").unwrap();
    assert_eq!(linux.data_len as usize, debs.kernel.len());
    assert!(
        linux.virtual_size > linux.file_size,
        "VirtualSize is the kernel's SizeOfImage"
    );
}

#[test]
fn inspect_gives_every_section_back_and_keeps_the_stub() {
    let debs = debs();
    let inputs = inputs(debs);
    let plan = uki_stitcher::plan(&inputs).unwrap();
    let uki = plan.to_vec();

    for (name, contents) in [
        (
            ".osrel",
            inputs.os_release.as_ref().unwrap().text().as_bytes(),
        ),
        (".cmdline", inputs.cmdline.as_ref().unwrap().as_bytes()),
        (".uname", debs.kernel_release.as_bytes()),
        (".dtb", DTB),
        (".splash", SPLASH),
        (".initrd", INITRD),
    ] {
        assert_eq!(extract(&uki, name).unwrap(), contents, "{name}");
    }
    // .linux is read back up to min(VirtualSize, SizeOfRawData): the kernel, then padding.
    let linux = extract(&uki, ".linux").unwrap();
    assert_eq!(&linux[..debs.kernel.len()], &debs.kernel[..]);
    assert!(linux[debs.kernel.len()..].iter().all(|&b| b == 0));
    assert_eq!(linux.len() % 0x200, 0);

    // No SBAT entries of our own: the merged .sbat is the stub's, byte for byte.
    assert_eq!(
        extract(&uki, ".sbat").unwrap(),
        extract(&debs.stub, ".sbat").unwrap()
    );

    // The stub's sections and bytes are all there, unchanged.
    let stub_info = inspect(&debs.stub).unwrap();
    let uki_info = inspect(&uki).unwrap();
    for (stub_section, uki_section) in stub_info.sections.iter().zip(&uki_info.sections) {
        assert_eq!(stub_section, uki_section);
    }
    let layout = &plan.layout;
    let stub_body = layout.size_of_headers as usize..layout.stub_end as usize;
    assert!(
        uki[stub_body.clone()] == debs.stub[stub_body],
        "stub body changed"
    );
    assert_eq!(
        layout.stripped_symbols.as_ref().unwrap().end as usize,
        debs.stub.len()
    );

    let sha = |name: &str| {
        uki_info
            .sections
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .sha256
    };
    assert_eq!(sha(".initrd"), <[u8; 32]>::from(Sha256::digest(INITRD)));
    assert_eq!(uki_info.checksum, uki_info.computed_checksum);
    assert_eq!(uki_info.checksum, plan.checksum);
}

#[test]
fn the_kernel_release_is_read_from_the_debian_kernel() {
    let debs = debs();
    assert_eq!(
        Uname::from_linux(&debs.kernel).unwrap().as_str(),
        debs.kernel_release
    );
}

#[test]
fn the_checksum_agrees_with_the_one_debian_s_kernel_carries() {
    let debs = debs();
    let info = inspect(&debs.kernel).unwrap();
    assert_eq!(pe_checksum(&debs.kernel).unwrap(), info.checksum);
    assert_ne!(info.checksum, 0);
}

#[test]
fn systemd_252_s_stub_has_no_room_for_more_sbat_entries() {
    // Its .sbat (0xe2 bytes at 0x19000) is followed by .sdmagic at 0x19100: the merged text
    // with ukify's `uki` line (0x134 bytes) would overlap it.
    let debs = debs();
    let mut inputs = inputs(debs);
    inputs.sbat = Sbat::uki_default();
    match uki_stitcher::plan(&inputs) {
        Err(Error::SbatDoesNotFit {
            needed: 308,
            available: 256,
        }) => {}
        other => panic!("{other:?}"),
    }
}
