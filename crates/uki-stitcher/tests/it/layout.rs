//! The layout rules on synthetic stubs (offline): ukify's section order, alignment, header
//! updates, SBAT placement, initrd joining, and the stub's bytes kept as they were.

use std::mem::{offset_of, size_of};
use std::os::unix::fs::PermissionsExt;

use object::LittleEndian as LE;
use object::pe::{self, ImageNtHeaders64, ImageOptionalHeader64};
use uki_stitcher::{Origin, Sbat, SectionLayout, extract, inspect, pe_checksum};

use crate::support::{STUB_SBAT, StubSection, StubSpec, sample_inputs, set_symbol_table, temp_dir};

const KERNEL: &[u8] = b"not a PE kernel, just bytes";
const INITRD: &[u8] = b"070701 pretend cpio";

fn align(value: u64, to: u32) -> u64 {
    value.div_ceil(u64::from(to)) * u64::from(to)
}

/// Every added section follows the previous one at the next aligned address and offset.
fn assert_packed(sections: &[SectionLayout], section_alignment: u32, file_alignment: u32) {
    for pair in sections.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(
            u64::from(b.virtual_address),
            align(
                u64::from(a.virtual_address) + u64::from(a.virtual_size),
                section_alignment
            ),
            "{} after {}",
            b.name,
            a.name
        );
        assert_eq!(b.file_offset, a.file_offset + a.file_size, "{}", b.name);
    }
    for s in sections {
        assert_eq!(
            u64::from(s.file_size),
            align(u64::from(s.data_len), file_alignment)
        );
        assert_eq!(s.file_offset % file_alignment, 0);
    }
}

#[test]
fn sections_follow_the_stub_in_ukify_order() {
    let stub = StubSpec::modern().build();
    let (splash, dtb) = (vec![b'B'; 3000], vec![0xd0; 77]);
    let (first, second) = (&b"12345"[..], &b"abcdef"[..]);
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    inputs.initrds = vec![first, second];
    inputs.splash = Some(&splash);
    inputs.devicetree = Some(&dtb);
    let plan = uki_stitcher::plan(&inputs).unwrap();
    let layout = &plan.layout;

    let names: Vec<&str> = layout.added().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            ".osrel", ".cmdline", ".dtb", ".uname", ".splash", ".initrd", ".linux"
        ]
    );
    let stub_info = inspect(&stub).unwrap();
    assert_eq!(layout.stub_sections, 3);
    for (planned, original) in layout.sections.iter().zip(&stub_info.sections) {
        assert_eq!(planned.name, original.name);
        assert_eq!(planned.virtual_address, original.virtual_address);
        assert_eq!(planned.file_offset, original.file_offset);
        assert_eq!(planned.file_size, original.file_size);
    }

    let sdmagic = &layout.sections[2];
    let mut chain = vec![sdmagic.clone()];
    chain.extend(layout.added().iter().cloned());
    assert_packed(&chain, 0x1000, 0x1000);
    assert_eq!(
        layout.added()[0].file_offset,
        sdmagic.file_offset + sdmagic.file_size
    );

    let linux = layout.section(".linux").unwrap();
    assert_eq!(
        linux.characteristics,
        (pe::IMAGE_SCN_MEM_READ | pe::IMAGE_SCN_CNT_CODE).0
    );
    assert_eq!(
        linux.virtual_size,
        KERNEL.len() as u32,
        "not a PE: its length"
    );
    for s in layout.added().iter().filter(|s| s.name != ".linux") {
        assert_eq!(
            s.characteristics,
            (pe::IMAGE_SCN_MEM_READ | pe::IMAGE_SCN_CNT_INITIALIZED_DATA).0,
            "{}",
            s.name
        );
        assert_eq!(s.virtual_size, s.data_len, "{}", s.name);
    }
    assert_eq!(
        u64::from(layout.size_of_image),
        align(
            u64::from(linux.virtual_address) + u64::from(linux.virtual_size),
            0x1000
        )
    );
    assert_eq!(layout.file_len, linux.file_offset + linux.file_size);
    assert_eq!(plan.len(), u64::from(layout.file_len));
    assert_eq!(plan.to_vec().len(), layout.file_len as usize);
}

#[test]
fn headers_are_updated_and_everything_else_of_the_stub_is_kept() {
    let stub = StubSpec::modern().build();
    let inputs = sample_inputs(&stub, KERNEL, INITRD);
    let plan = uki_stitcher::plan(&inputs).unwrap();
    let uki = plan.to_vec();
    let layout = &plan.layout;

    let nt = u32::from_le_bytes(stub[0x3c..0x40].try_into().unwrap()) as usize;
    let optional = nt + offset_of!(ImageNtHeaders64, optional_header);
    let field = |offset: usize, len: usize| offset..offset + len;
    let patched = [
        field(
            nt + offset_of!(ImageNtHeaders64, file_header)
                + offset_of!(pe::ImageFileHeader, number_of_sections),
            2,
        ),
        field(
            optional + offset_of!(ImageOptionalHeader64, size_of_initialized_data),
            4,
        ),
        field(
            optional + offset_of!(ImageOptionalHeader64, size_of_image),
            4,
        ),
        field(optional + offset_of!(ImageOptionalHeader64, check_sum), 4),
    ];
    let table = optional + size_of::<ImageOptionalHeader64>() + 16 * 8;
    let sbat = layout.section(".sbat").unwrap();
    assert_eq!(sbat.origin, Origin::StubSbat);
    let sbat_header = field(
        table + 40 + offset_of!(pe::ImageSectionHeader, virtual_size),
        4,
    );
    let sbat_data = field(sbat.file_offset as usize, sbat.file_size as usize);
    let new_headers = table + 3 * 40..table + 8 * 40;
    for (offset, (a, b)) in stub.iter().zip(&uki).enumerate() {
        let expected_change = patched.iter().any(|r| r.contains(&offset))
            || sbat_header.contains(&offset)
            || sbat_data.contains(&offset)
            || new_headers.contains(&offset);
        if !expected_change {
            assert_eq!(a, b, "stub byte {offset:#x} changed");
        }
    }

    let view = object::read::pe::PeFile64::parse(&uki[..]).unwrap();
    let header = view.nt_headers();
    assert_eq!(header.file_header.number_of_sections.get(LE), 8);
    let optional = &header.optional_header;
    assert_eq!(optional.size_of_image.get(LE), layout.size_of_image);
    let stub_view = object::read::pe::PeFile64::parse(&stub[..]).unwrap();
    let added: u32 = layout.added().iter().map(|s| s.virtual_size).sum();
    assert_eq!(
        optional.size_of_initialized_data.get(LE),
        stub_view
            .nt_headers()
            .optional_header
            .size_of_initialized_data
            .get(LE)
            + added
    );
    assert_eq!(optional.check_sum.get(LE), plan.checksum);
    assert_eq!(pe_checksum(&uki).unwrap(), plan.checksum);
    assert_ne!(plan.checksum, 0);
}

#[test]
fn sbat_is_merged_into_the_stub_s_own_section() {
    let stub = StubSpec::modern().build();
    let inputs = sample_inputs(&stub, KERNEL, INITRD);
    let uki = uki_stitcher::build(&inputs).unwrap();
    let sbat = extract(&uki, ".sbat").unwrap();
    let expected = format!(
        "{}{}\n\0",
        STUB_SBAT.trim_end_matches('\0'),
        Sbat::uki_default().entries[0]
    );
    assert_eq!(String::from_utf8_lossy(sbat), expected);
    let names: Vec<String> = inspect(&uki)
        .unwrap()
        .sections
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.iter().filter(|n| *n == ".sbat").count(), 1);
    assert_eq!(names[1], ".sbat");
}

#[test]
fn a_stub_without_sbat_gets_one_after_linux_with_the_kernel_s_entries() {
    let mut spec = StubSpec::modern();
    spec.sections.retain(|s| s.name != ".sbat");
    let stub = spec.build();
    // A PE kernel (FileAlignment 0x200, SectionAlignment 0x1000) with its own .sbat.
    let kernel = StubSpec::kernel(vec![StubSection::new(
        ".sbat",
        "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n\
         linux,1,The Linux Developers,linux,6.12,https://linux.org\n",
    )])
    .build();
    let inputs = sample_inputs(&stub, &kernel, INITRD);
    let plan = uki_stitcher::plan(&inputs).unwrap();
    let names: Vec<&str> = plan
        .layout
        .added()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [".osrel", ".cmdline", ".uname", ".initrd", ".linux", ".sbat"]
    );
    let linux = plan.layout.section(".linux").unwrap();
    assert_eq!(kernel.len(), 0x600);
    assert_eq!(linux.virtual_size, 0x3000, "the kernel's SizeOfImage");
    assert_eq!(linux.data_len, 0x600);
    let uki = plan.to_vec();
    assert_eq!(
        String::from_utf8_lossy(extract(&uki, ".sbat").unwrap()),
        format!(
            "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n\
             linux,1,The Linux Developers,linux,6.12,https://linux.org\n{}\n\0",
            Sbat::uki_default().entries[0]
        )
    );
    assert_packed(plan.layout.added(), 0x1000, 0x1000);
}

#[test]
fn without_any_sbat_entries_there_is_no_sbat_section() {
    let mut spec = StubSpec::modern();
    spec.sections.retain(|s| s.name != ".sbat");
    let stub = spec.build();
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    inputs.sbat = Sbat::none();
    let plan = uki_stitcher::plan(&inputs).unwrap();
    assert!(plan.layout.section(".sbat").is_none());
}

#[test]
fn empty_and_absent_sections_are_left_out() {
    let stub = StubSpec::modern().build();
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    inputs.cmdline = Some(String::new());
    inputs.os_release = None;
    inputs.uname = None;
    inputs.initrds = vec![];
    let plan = uki_stitcher::plan(&inputs).unwrap();
    let names: Vec<&str> = plan
        .layout
        .added()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, [".linux"]);
}

#[test]
fn initrds_are_joined_on_four_byte_boundaries_as_ukify_joins_them() {
    let stub = StubSpec::modern().build();
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    let uki = uki_stitcher::build(&inputs).unwrap();
    assert_eq!(
        extract(&uki, ".initrd").unwrap(),
        INITRD,
        "one is kept as is"
    );

    inputs.initrds = vec![b"12345", b"abcdef"];
    let uki = uki_stitcher::build(&inputs).unwrap();
    assert_eq!(extract(&uki, ".initrd").unwrap(), b"12345\0\0\0abcdef\0\0");
}

#[test]
fn every_section_comes_back_through_inspect() {
    let stub = StubSpec::modern().build();
    let (splash, dtb) = (vec![b'B'; 3000], vec![0xd0; 77]);
    let mut inputs = sample_inputs(&stub, KERNEL, INITRD);
    inputs.splash = Some(&splash);
    inputs.devicetree = Some(&dtb);
    let uki = uki_stitcher::build(&inputs).unwrap();
    let expected: [(&str, &[u8]); 7] = [
        (
            ".osrel",
            inputs.os_release.as_ref().unwrap().text().as_bytes(),
        ),
        (".cmdline", inputs.cmdline.as_ref().unwrap().as_bytes()),
        (".dtb", &dtb),
        (".uname", inputs.uname.as_ref().unwrap().as_str().as_bytes()),
        (".splash", &splash),
        (".initrd", INITRD),
        (".linux", KERNEL),
    ];
    let info = inspect(&uki).unwrap();
    for (name, contents) in expected {
        assert_eq!(extract(&uki, name).unwrap(), contents, "{name}");
        let section = info.sections.iter().find(|s| s.name == name).unwrap();
        assert_eq!(section.size as usize, contents.len(), "{name}");
        assert_eq!(
            section.sha256,
            <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(contents)),
            "{name}"
        );
    }
    assert_eq!(info.checksum, info.computed_checksum);
    let text = info.to_string();
    assert!(text.contains("console=ttyS0 quiet"), "{text}");
    assert!(text.contains("checksum: "), "{text}");
}

#[test]
fn a_trailing_symbol_table_is_dropped() {
    let mut stub = StubSpec::modern().build();
    let table = stub.len() as u32;
    stub.extend(vec![0x11; 2 * 18]);
    stub.extend(8u32.to_le_bytes());
    stub.extend(b"abcd");
    set_symbol_table(&mut stub, table, 2);
    let inputs = sample_inputs(&stub, KERNEL, INITRD);
    let plan = uki_stitcher::plan(&inputs).unwrap();
    assert_eq!(
        plan.layout.stripped_symbols,
        Some(table..table + 2 * 18 + 8)
    );
    assert_eq!(plan.layout.added()[0].file_offset, table);
    let uki = plan.to_vec();
    let file = object::read::pe::PeFile64::parse(&uki[..]).unwrap();
    let header = &file.nt_headers().file_header;
    assert_eq!(header.pointer_to_symbol_table.get(LE), 0);
    assert_eq!(header.number_of_symbols.get(LE), 0);
    assert!(
        header
            .characteristics
            .get(LE)
            .contains(pe::IMAGE_FILE_LOCAL_SYMS_STRIPPED)
    );
}

#[test]
fn the_same_inputs_give_the_same_bytes_in_memory_and_on_disk() {
    let stub = StubSpec::modern().build();
    let first = uki_stitcher::build(&sample_inputs(&stub, KERNEL, INITRD)).unwrap();
    // Same contents from other allocations.
    let (stub2, kernel2, initrd2) = (stub.clone(), KERNEL.to_vec(), INITRD.to_vec());
    let second = uki_stitcher::build(&sample_inputs(&stub2, &kernel2, &initrd2)).unwrap();
    assert!(first == second, "two builds differ");

    for name in ["a", "b"] {
        let dir = temp_dir();
        let path = dir.path().join(name).join("uki.efi");
        std::fs::create_dir(path.parent().unwrap()).unwrap();
        let layout =
            uki_stitcher::write_uki_file(&sample_inputs(&stub, KERNEL, INITRD), &path).unwrap();
        assert_eq!(layout.file_len as usize, first.len());
        assert!(
            std::fs::read(&path).unwrap() == first,
            "file in {name} differs"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
