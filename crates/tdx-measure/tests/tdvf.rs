//! MRTD against an independent implementation's published vector.
//!
//! Google's gce-tcb-verifier (Go) builds a synthetic 2 MiB TDX firmware in its tests
//! (`testing/fakeovmf`, "CleanExample") and publishes its MRTD as computed by its own
//! implementation (`verify/verifytest`, `CleanTdxExampleMeasurement`, single-pass page order).
//! The image is rebuilt here from that description: only its layout is taken, no code.

use tdx_measure::tdvf::{PageOrder, SectionKind, Tdvf, mrtd};
use tdx_measure::{Error, bank::hex};

/// gce-tcb-verifier's published MRTD of its CleanExample firmware.
const CLEAN_EXAMPLE_MRTD: &str = "6e540be4917f24f74cc3292b59803d06dc7c38eb4a3c1fd6be9c735ba74bb7a2\
                                  3e25f98da94779d17508b243e4fb582b";

const SIZE: usize = 0x20_0000;

/// A GUID as EFI stores it, from its text form.
fn guid(text: &str) -> [u8; 16] {
    let hexes: Vec<u8> = text
        .replace('-', "")
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hexes);
    bytes[..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    bytes
}

fn put(image: &mut [u8], at: usize, bytes: &[u8]) {
    image[at..at + bytes.len()].copy_from_slice(bytes);
}

/// One descriptor section: file offset, raw size, address, memory size, type, attributes.
fn section(
    offset: u32,
    raw: u32,
    address: u64,
    memory: u64,
    kind: u32,
    attributes: u32,
) -> Vec<u8> {
    [
        &offset.to_le_bytes()[..],
        &raw.to_le_bytes(),
        &address.to_le_bytes(),
        &memory.to_le_bytes(),
        &kind.to_le_bytes(),
        &attributes.to_le_bytes(),
    ]
    .concat()
}

/// The standard OVMF layout: BFV and CFV at the top of 4 GiB, the TD HOB and temporary
/// memory low; only the BFV measured.
fn ovmf_sections() -> Vec<Vec<u8>> {
    vec![
        section(0x2_0000, 0x1e_0000, 0xffe2_0000, 0x1e_0000, 0, 1),
        section(0, 0x2_0000, 0xffe0_0000, 0x2_0000, 1, 0),
        section(0, 0, 0x81_0000, 0x1_0000, 3, 0),
        section(0, 0, 0x80_b000, 0x2000, 3, 0),
        section(0, 0, 0x80_9000, 0x2000, 2, 0),
        section(0, 0, 0x80_0000, 0x6000, 3, 0),
    ]
}

/// An image of `SIZE` bytes with `sections` in a TDVF descriptor at 0x110 and the GUIDed
/// table gce-tcb-verifier's CleanExample ends with.
fn firmware_with(sections: &[Vec<u8>]) -> Vec<u8> {
    let mut image = vec![0u8; SIZE];
    put(&mut image, 0x800, b"LGTMLGTMLGTMLGTM");
    put(&mut image, 0xa00, b"LGTMLGTMLGTMLGTM");
    // SEV metadata at the start, as CleanExample has it (not TDX's: ignored by MRTD).
    let sev = [
        0x5645_5341u32,
        52,
        1,
        3,
        0xff00_1000,
        0x1000,
        1,
        0xff00_3000,
        0x1000,
        3,
        0xff00_4000,
        0x1000,
        2,
    ];
    let sev: Vec<u8> = sev.iter().flat_map(|word| word.to_le_bytes()).collect();
    put(&mut image, 0, &sev);
    put(
        &mut image,
        0x100,
        &guid("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae"),
    );
    let count = sections.len() as u32;
    let header = [
        &b"TDVF"[..],
        &(16 + 32 * count).to_le_bytes(),
        &1u32.to_le_bytes(),
        &count.to_le_bytes(),
    ]
    .concat();
    put(&mut image, 0x110, &[header, sections.concat()].concat());
    // The table, walked back from its footer: TDX metadata offset, SEV metadata offset,
    // SEV-ES reset block, footer.
    let entry = |value: u32, text: &str| {
        [&value.to_le_bytes()[..], &22u16.to_le_bytes(), &guid(text)].concat()
    };
    put(
        &mut image,
        SIZE - 116,
        &entry(
            (SIZE - 0x110) as u32,
            "e47a6535-984a-4798-865e-4685a7bf8ec2",
        ),
    );
    put(
        &mut image,
        SIZE - 94,
        &entry(SIZE as u32, "dc886566-984a-4798-a75e-5585a7bf67cc"),
    );
    put(
        &mut image,
        SIZE - 72,
        &entry(0xff00_00ff, "00f771de-1a7e-4fcb-890e-68c77e2fb44e"),
    );
    put(
        &mut image,
        SIZE - 0x32,
        &[
            &84u16.to_le_bytes()[..],
            &guid("96b582de-1fb2-45f7-baea-a366c55a082d"),
        ]
        .concat(),
    );
    image
}

fn clean_example() -> Vec<u8> {
    firmware_with(&ovmf_sections())
}

#[test]
fn mrtd_of_the_clean_example_is_gce_tcb_verifiers_published_value() {
    let image = clean_example();
    assert_eq!(
        hex(&mrtd(&image, PageOrder::SinglePass).unwrap()),
        CLEAN_EXAMPLE_MRTD
    );
}

#[test]
fn the_descriptor_is_read_as_written() {
    let tdvf = Tdvf::parse(&clean_example()).unwrap();
    let kinds: Vec<SectionKind> = tdvf.sections.iter().map(|section| section.kind).collect();
    use SectionKind::*;
    assert_eq!(kinds, [Bfv, Cfv, TempMem, TempMem, TdHob, TempMem]);
    let bfv = &tdvf.sections[0];
    assert_eq!(
        (bfv.data_offset, bfv.raw_size, bfv.address),
        (0x2_0000, 0x1e_0000, 0xffe2_0000)
    );
    assert!(bfv.extend && !bfv.augment);
    assert!(tdvf.sections[1..].iter().all(|section| !section.extend));
}

#[test]
fn the_page_order_and_the_measured_bytes_change_mrtd() {
    let image = clean_example();
    let single = mrtd(&image, PageOrder::SinglePass).unwrap();
    assert_ne!(single, mrtd(&image, PageOrder::TwoPass).unwrap());
    // A byte of the BFV is measured; a byte of the CFV (the variable store) is not.
    let mut bfv_changed = image.clone();
    bfv_changed[0x3_0000] ^= 1;
    assert_ne!(mrtd(&bfv_changed, PageOrder::SinglePass).unwrap(), single);
    let mut cfv_changed = image;
    cfv_changed[0x1_0000] ^= 1;
    assert_eq!(mrtd(&cfv_changed, PageOrder::SinglePass).unwrap(), single);
}

#[test]
fn augmented_pages_are_not_measured() {
    let mut sections = ovmf_sections();
    sections.push(section(0, 0, 0x100_0000, 0x1_0000, 3, 2));
    assert_eq!(
        mrtd(&firmware_with(&sections), PageOrder::SinglePass).unwrap(),
        mrtd(&clean_example(), PageOrder::SinglePass).unwrap()
    );
}

fn refusal(image: &[u8]) -> String {
    match mrtd(image, PageOrder::SinglePass) {
        Err(error @ Error::Firmware { .. }) => error.to_string(),
        other => panic!("expected a firmware error, got {other:?}"),
    }
}

#[test]
fn images_that_are_not_tdvf_are_refused_with_the_reason() {
    assert!(refusal(&[0u8; 64]).contains("no EDK2 GUIDed table"));
    assert!(refusal(&[]).contains("no EDK2 GUIDed table"));
    // A table without the TDX entry: an OVMF built without TDX.
    let mut image = clean_example();
    put(
        &mut image,
        SIZE - 116 + 6,
        &guid("4c2eb361-7d9b-4cc3-8081-127c90d3d294"),
    );
    assert!(refusal(&image).contains("no TDX metadata entry"));
}

#[test]
fn malformed_descriptors_are_refused_not_trusted() {
    let cases: [(Vec<u8>, &str); 5] = [
        (
            section(0x2_0000, 0x1e_0000, 0xffe2_0001, 0x1e_0000, 0, 1),
            "multiple of 4 KiB",
        ),
        (
            section(0x2_0000, 0x1e_1000, 0xffe2_0000, 0x1e_1000, 0, 1),
            "past the end",
        ),
        (
            section(0x2_0000, 0x1e_0000, 0xffe2_0000, 0x1f_0000, 0, 1),
            "raw size differs",
        ),
        (section(0, 0, 0x80_0000, 1 << 40, 3, 0), "more than"),
        (section(0, 0, 0x80_0000, 0x1000, 42, 0), "unknown type 42"),
    ];
    for (bad, reason) in cases {
        let mut sections = ovmf_sections();
        sections[0] = bad;
        let message = refusal(&firmware_with(&sections));
        assert!(
            message.contains(reason),
            "{message:?} should say {reason:?}"
        );
    }
    // A descriptor claiming more sections than it has room for.
    let mut image = clean_example();
    put(&mut image, 0x110 + 12, &1000u32.to_le_bytes());
    assert!(refusal(&image).contains("1000 sections"));
    // A table length running off the front of the image.
    let mut image = clean_example();
    put(&mut image, SIZE - 0x32, &0xffffu16.to_le_bytes());
    refusal(&image[SIZE - 0x1000..]);
}

#[test]
fn the_report_names_the_firmware_and_calls_only_a_computed_mrtd_verified() {
    use tdx_measure::report::FirmwareRegisters;
    let image = clean_example();
    let registers = FirmwareRegisters::of_image("clean.fd", &image, PageOrder::TwoPass).unwrap();
    let facts = registers.image.as_ref().unwrap();
    assert_eq!(
        (facts.file.as_str(), facts.bytes, facts.page_order),
        ("clean.fd", SIZE as u64, "two-pass")
    );
    assert_eq!(facts.sha256, hex(&tdx_measure::Bank::Sha256.hash(&image)));
    assert_eq!(registers.mrtd.status, "verified");
    assert_eq!(
        registers.mrtd.value,
        Some(hex(&mrtd(&image, PageOrder::TwoPass).unwrap()))
    );
    assert_eq!(registers.rtmr0.status, "not-computed");
    let none = FirmwareRegisters::without_image();
    assert!(none.image.is_none() && none.mrtd.value.is_none());
    assert_eq!(none.mrtd.status, "not-computed");
}

#[test]
fn page_orders_read_their_names() {
    for order in [PageOrder::SinglePass, PageOrder::TwoPass] {
        assert_eq!(order.name().parse::<PageOrder>(), Ok(order));
    }
    assert!(
        "both"
            .parse::<PageOrder>()
            .unwrap_err()
            .contains("single-pass or two-pass")
    );
}
