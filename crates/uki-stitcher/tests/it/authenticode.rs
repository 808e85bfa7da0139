//! The Authenticode hash against osslsigncode: on Debian's signed kernel as it is, and on
//! images osslsigncode signs with a throwaway key (the UKI in SHA-256 and SHA-384, and the raw
//! stub, whose trailing symbol table is hashed as trailing data). Signing must not change the
//! hash of an aligned image: that is what firmware measures before and after signing.

use std::path::Path;
use std::process::Command;

use uki_stitcher::authenticode::{self, hex};
use uki_stitcher::{Sbat, UkiInputs, Uname};

use crate::support::debs::debs;
use crate::support::{StubSpec, run, temp_dir};

/// What `osslsigncode verify` prints about a file (it exits non-zero for an untrusted or
/// missing signature, which is fine here).
fn verify(file: &Path) -> String {
    let output = Command::new("osslsigncode")
        .args(["verify", "-in"])
        .arg(file)
        .output()
        .expect("osslsigncode runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The digest osslsigncode computes from the file, lower-case hex.
fn calculated_digest(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Calculated message digest"))
        .and_then(|rest| rest.split(':').nth(1))
        .map(|hex| hex.trim().to_lowercase())
        .unwrap_or_else(|| panic!("no calculated digest in:\n{report}"))
}

/// Signs `input` into `output` with a fresh self-signed key, digest `sha256` or `sha384`.
fn sign(dir: &Path, input: &Path, output: &Path, digest: &str) {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    if !key.exists() {
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=uki-stitcher test"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
    }
    run(Command::new("osslsigncode")
        .args(["sign", "-h", digest])
        .arg("-certs")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(output));
}

#[test]
fn the_debian_kernel_s_digest_is_the_one_its_signature_holds() {
    let debs = debs();
    let dir = temp_dir();
    let path = dir.path().join("vmlinuz");
    std::fs::write(&path, &debs.kernel).unwrap();
    let report = verify(&path);
    let ours = hex(&authenticode::sha256(&debs.kernel).unwrap());
    assert_eq!(ours, calculated_digest(&report));
    assert!(
        report.contains(&format!(
            "Current message digest    : {}",
            ours.to_uppercase()
        )),
        "{report}"
    );
}

#[test]
fn the_uki_digest_matches_osslsigncode_in_sha256_and_sha384() {
    let debs = debs();
    let inputs = UkiInputs {
        stub: &debs.stub,
        linux: &debs.kernel,
        initrds: vec![b"initrd bytes"],
        cmdline: Some("console=ttyS0".into()),
        os_release: None,
        uname: Some(Uname::from_linux(&debs.kernel).unwrap()),
        sbat: Sbat::none(),
        splash: None,
        devicetree: None,
    };
    let dir = temp_dir();
    let unsigned = dir.path().join("uki.efi");
    uki_stitcher::write_uki_file(&inputs, &unsigned).unwrap();
    let uki = std::fs::read(&unsigned).unwrap();
    let ours = authenticode::digests(&uki).unwrap();
    assert_eq!(ours.sha256, authenticode::sha256(&uki).unwrap());
    assert_eq!(ours.sha384, authenticode::sha384(&uki).unwrap());

    let report = verify(&unsigned);
    assert!(report.contains("PE checksum"), "{report}");
    assert!(!report.contains("invalid PE checksum"), "{report}");

    for (digest, expected) in [("sha256", hex(&ours.sha256)), ("sha384", hex(&ours.sha384))] {
        let signed = dir.path().join(format!("uki-{digest}.efi"));
        sign(dir.path(), &unsigned, &signed, digest);
        let signed_bytes = std::fs::read(&signed).unwrap();
        assert!(signed_bytes.len() > uki.len());
        assert_eq!(calculated_digest(&verify(&signed)), expected, "{digest}");
        let again = authenticode::digests(&signed_bytes).unwrap();
        assert_eq!(again, ours, "signing changed the {digest} image hash");
    }
}

#[test]
fn trailing_data_is_hashed_as_osslsigncode_hashes_it() {
    // The raw stub ends with a COFF symbol table after its last section, and has an odd length;
    // signing pads it and appends the certificate table.
    let debs = debs();
    let dir = temp_dir();
    let stub = dir.path().join("linuxx64.efi.stub");
    std::fs::write(&stub, &debs.stub).unwrap();
    let signed = dir.path().join("stub-signed.efi");
    sign(dir.path(), &stub, &signed, "sha256");
    let signed_bytes = std::fs::read(&signed).unwrap();
    let ranges = authenticode::ranges(&signed_bytes).unwrap();
    let last = ranges.last().unwrap();
    assert!(
        last.start == 0x11400 && last.end > debs.stub.len(),
        "{ranges:?}"
    );
    assert_eq!(
        hex(&authenticode::sha256(&signed_bytes).unwrap()),
        calculated_digest(&verify(&signed))
    );
}

#[test]
fn the_ranges_leave_out_checksum_security_entry_and_certificates() {
    let mut spec = StubSpec::modern();
    spec.certificate = Some(vec![0x30; 100]);
    let image = spec.build();
    let ranges = authenticode::ranges(&image).unwrap();
    // DOS + NT headers: CheckSum at 0x80+0x18+0x40, security entry at 0x80+0x18+0x70+4*8.
    assert_eq!(ranges[0], 0..0xd8);
    assert_eq!(ranges[1], 0xdc..0x128);
    assert_eq!(ranges[2], 0x130..0x1000);
    // Then the three sections in file order, and nothing after: the table is the certificates.
    // (.text is 0x1234 bytes, two pages of raw data.)
    assert_eq!(
        &ranges[3..],
        [0x1000..0x3000, 0x3000..0x4000, 0x4000..0x5000]
    );
    assert_eq!(image.len(), 0x5000 + 104);
}
