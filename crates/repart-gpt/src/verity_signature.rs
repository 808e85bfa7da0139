//! The content of a `Verity=signature` partition, as systemd-repart writes it.
//!
//! systemd-repart (`partition_format_verity_sig()` in `src/repart/repart.c`) writes one JSON
//! object, formatted without any whitespace, then NUL bytes up to the partition's size, which
//! is always 16 KiB for this partition type ([`SIGNATURE_PARTITION_SIZE`]):
//!
//! ```text
//! {"rootHash":"<hex>","certificateFingerprint":"<hex>","signature":"<base64>"}
//! ```
//!
//! `rootHash` is the verity root hash and `certificateFingerprint` the SHA-256 of the signing
//! certificate's DER, both lowercase hex; `signature` is standard base64 (padded, no line
//! breaks) of a DER PKCS#7 signature over the root hash's lowercase hex text (64 ASCII
//! characters, no newline). That signature is what OpenSSL's
//! `PKCS7_sign(cert, key, NULL, data, PKCS7_DETACHED|PKCS7_NOATTR|PKCS7_BINARY)` makes, which
//! is how systemd-repart signs:
//!
//! - a `ContentInfo` of type id-signedData holding a `SignedData` of version 1;
//! - `digestAlgorithms`: sha256 (with NULL parameters, as OpenSSL writes them);
//! - `encapContentInfo`: id-data without content (detached);
//! - `certificates`: the signing certificate, as its PEM holds it;
//! - one `SignerInfo` of version 1: `sid` the certificate's issuer and serial number, digest
//!   algorithm sha256, no signed attributes, signature algorithm rsaEncryption (NULL
//!   parameters), and the RSASSA-PKCS1-v1_5 signature of the content's SHA-256.
//!
//! RSASSA-PKCS1-v1_5 is deterministic, so the partition depends only on the root hash, the key
//! and the certificate. Only RSA keys are accepted (PEM `PRIVATE KEY`, PKCS#8, or `RSA PRIVATE
//! KEY`, PKCS#1, unencrypted); other algorithms, and a key that is not the certificate's, are
//! refused with their own errors. The structure is encoded with the `cms` crate's types; its
//! builder is not used because it does not make signatures without signed attributes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, PrivateKeyInfo};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::{Error, Result};
use crate::verity::hex;

/// The size of a `Verity=signature` partition: systemd-repart's `VERITY_SIG_SIZE`, its only
/// size (`SizeMinBytes=`/`SizeMaxBytes=` are refused for it).
pub const SIGNATURE_PARTITION_SIZE: u64 = 16 * 1024;

/// PKCS#7 id-signedData.
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// PKCS#7 id-data.
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// NIST sha256.
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// PKCS#1 rsaEncryption.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Names of key algorithms a refusal names (the OID otherwise).
const KEY_ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.10045.2.1", "EC"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.2.840.113549.1.3.1", "DH"),
];

fn algorithm_name(oid: ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    KEY_ALGORITHMS
        .iter()
        .find(|(known, _)| *known == dotted)
        .map_or(dotted, |(_, name)| (*name).to_owned())
}

/// One PEM block: its label, whether it had RFC 1421 headers (an encrypted legacy key has),
/// and its decoded bytes.
struct PemBlock {
    label: String,
    has_headers: bool,
    der: Vec<u8>,
}

/// The PEM blocks of `text`, in order; text around them (OpenSSL's "Bag Attributes", comments)
/// is ignored.
fn pem_blocks(text: &str) -> std::result::Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut has_headers = false;
        let mut closed = false;
        for line in lines.by_ref() {
            let line = line.trim();
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                has_headers = true;
            } else {
                body.push_str(line);
            }
        }
        if !closed {
            return Err(format!("the PEM block `{label}` has no END line"));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the PEM block `{label}` is not valid base64: {e}"))?;
        blocks.push(PemBlock {
            label: label.to_owned(),
            has_headers,
            der,
        });
    }
    Ok(blocks)
}

fn key_error(reason: impl Into<String>) -> Error {
    Error::SigningKey {
        reason: reason.into(),
    }
}

fn certificate_error(reason: impl Into<String>) -> Error {
    Error::Certificate {
        reason: reason.into(),
    }
}

/// Reads the first private key of `pem`: an RSA key, or a typed refusal.
fn read_private_key(pem: &str) -> Result<RsaPrivateKey> {
    let blocks = pem_blocks(pem).map_err(key_error)?;
    let block = blocks
        .iter()
        .find(|b| b.label.ends_with("PRIVATE KEY"))
        .ok_or_else(|| key_error("no PEM `PRIVATE KEY` or `RSA PRIVATE KEY` block"))?;
    if block.has_headers || block.label == "ENCRYPTED PRIVATE KEY" {
        return Err(key_error(
            "the key is encrypted; give it unencrypted (openssl pkey -in key.pem -out plain.pem)",
        ));
    }
    match block.label.as_str() {
        "PRIVATE KEY" => {
            let info = PrivateKeyInfo::try_from(block.der.as_slice())
                .map_err(|e| key_error(format!("not a PKCS#8 private key: {e}")))?;
            if info.algorithm.oid != RSA_ENCRYPTION {
                return Err(Error::UnsupportedKeyAlgorithm {
                    algorithm: algorithm_name(info.algorithm.oid),
                });
            }
            RsaPrivateKey::from_pkcs8_der(&block.der)
                .map_err(|e| key_error(format!("not a valid RSA private key: {e}")))
        }
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(&block.der)
            .map_err(|e| key_error(format!("not a valid PKCS#1 RSA private key: {e}"))),
        "EC PRIVATE KEY" => Err(Error::UnsupportedKeyAlgorithm {
            algorithm: "EC".to_owned(),
        }),
        "DSA PRIVATE KEY" => Err(Error::UnsupportedKeyAlgorithm {
            algorithm: "DSA".to_owned(),
        }),
        other => Err(key_error(format!(
            "a PEM `{other}` block; expected `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1)"
        ))),
    }
}

/// Reads the first certificate of `pem`, returning it and its DER as the PEM holds it.
fn read_certificate(pem: &str) -> Result<(Certificate, Vec<u8>)> {
    let blocks = pem_blocks(pem).map_err(certificate_error)?;
    let block = blocks
        .into_iter()
        .find(|b| b.label == "CERTIFICATE")
        .ok_or_else(|| certificate_error("no PEM `CERTIFICATE` block"))?;
    let certificate = Certificate::from_der(&block.der)
        .map_err(|e| certificate_error(format!("not an X.509 certificate: {e}")))?;
    // The signature embeds the certificate re-encoded; it must be the bytes the fingerprint
    // covers, as OpenSSL embeds (and fingerprints) the certificate as it was read.
    let reencoded = certificate
        .to_der()
        .map_err(|e| certificate_error(format!("cannot encode it back: {e}")))?;
    if reencoded != block.der {
        return Err(certificate_error(
            "its DER is not canonical (it would change when embedded in the signature)",
        ));
    }
    Ok((certificate, block.der))
}

/// An RSA key and its certificate, checked to belong together, ready to sign root hashes.
#[derive(Clone)]
pub struct VeritySigner {
    key: RsaPrivateKey,
    certificate: Certificate,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for VeritySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VeritySigner")
            .field(
                "certificate_fingerprint",
                &hex(&self.certificate_fingerprint()),
            )
            .finish_non_exhaustive()
    }
}

impl VeritySigner {
    /// Reads the private key (`key_pem`: PEM PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`,
    /// unencrypted) and the certificate (`cert_pem`: PEM `CERTIFICATE`; the first one counts),
    /// and checks that the key's public half is the certificate's public key.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<VeritySigner> {
        let key = read_private_key(key_pem)?;
        let (certificate, certificate_der) = read_certificate(cert_pem)?;
        let spki = &certificate.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(Error::KeyCertificateMismatch);
        }
        let spki_der = spki
            .to_der()
            .map_err(|e| certificate_error(format!("cannot encode its public key: {e}")))?;
        let public = RsaPublicKey::from_public_key_der(&spki_der)
            .map_err(|e| certificate_error(format!("not a valid RSA public key: {e}")))?;
        if public != key.to_public_key() {
            return Err(Error::KeyCertificateMismatch);
        }
        Ok(VeritySigner {
            key,
            certificate,
            certificate_der,
        })
    }

    /// SHA-256 of the certificate's DER: the JSON object's `certificateFingerprint`.
    pub fn certificate_fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.certificate_der).into()
    }

    /// The DER PKCS#7 detached signature of `content` (see the module documentation).
    pub fn sign_detached(&self, content: &[u8]) -> Result<Vec<u8>> {
        let signing = |reason: String| Error::Signing { reason };
        let der = |e: x509_cert::der::Error| signing(format!("DER encoding: {e}"));
        let digest = Sha256::digest(content);
        // Blinding needs randomness but does not change the output: PKCS#1 v1.5 signatures
        // are deterministic.
        let signature = self
            .key
            .sign_with_rng(
                &mut rsa::rand_core::OsRng,
                Pkcs1v15Sign::new::<Sha256>(),
                &digest,
            )
            .map_err(|e| signing(format!("RSA: {e}")))?;
        let with_null = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::null()),
        };
        let tbs = &self.certificate.tbs_certificate;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
            digest_alg: with_null(ID_SHA256),
            signed_attrs: None,
            signature_algorithm: with_null(RSA_ENCRYPTION),
            signature: OctetString::new(signature).map_err(der)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![with_null(ID_SHA256)]).map_err(der)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(
                    self.certificate.clone(),
                )])
                .map_err(der)?,
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(der)?),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(der)?,
        }
        .to_der()
        .map_err(der)
    }

    /// The JSON object systemd-repart writes for `root_hash` (without the NUL padding).
    pub fn signature_object(&self, root_hash: &[u8]) -> Result<String> {
        let root_hash_hex = hex(root_hash);
        let signature = self.sign_detached(root_hash_hex.as_bytes())?;
        Ok(format!(
            r#"{{"rootHash":"{root_hash_hex}","certificateFingerprint":"{}","signature":"{}"}}"#,
            hex(&self.certificate_fingerprint()),
            STANDARD.encode(signature)
        ))
    }

    /// The whole signature partition for `root_hash`: the JSON object, NUL padded to
    /// [`SIGNATURE_PARTITION_SIZE`] bytes.
    pub fn signature_partition(&self, root_hash: &[u8]) -> Result<Vec<u8>> {
        let mut bytes = self.signature_object(root_hash)?.into_bytes();
        // systemd-repart wants room for the terminating NUL as well.
        if bytes.len() as u64 + 1 > SIGNATURE_PARTITION_SIZE {
            return Err(Error::SignatureTooLarge {
                len: bytes.len() as u64 + 1,
                size: SIGNATURE_PARTITION_SIZE,
            });
        }
        bytes.resize(
            usize::try_from(SIGNATURE_PARTITION_SIZE).expect("16 KiB fits"),
            0,
        );
        Ok(bytes)
    }
}

/// The signature partition for `root_hash`, signed with the RSA key `key_pem` whose
/// certificate is `cert_pem` (see [`VeritySigner::from_pem`]).
pub fn signature_partition(root_hash: &[u8; 32], key_pem: &str, cert_pem: &str) -> Result<Vec<u8>> {
    VeritySigner::from_pem(key_pem, cert_pem)?.signature_partition(root_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tools::{run_tool, run_tool_status};
    use std::fs;
    use std::path::Path;

    const ROOT_HASH: [u8; 32] = [
        0x52, 0x23, 0xef, 0x45, 0xcc, 0x16, 0x7c, 0x80, 0xc6, 0xfc, 0xb4, 0xca, 0xa4, 0x28, 0x85,
        0xc5, 0xe0, 0x89, 0x02, 0x53, 0x14, 0xb1, 0xf6, 0x8e, 0x09, 0x88, 0x24, 0xf5, 0x87, 0x03,
        0x71, 0xc3,
    ];

    /// A fresh RSA key (PKCS#8 PEM) and a self-signed certificate for it, made by openssl.
    fn openssl_key_and_cert(dir: &Path, name: &str, newkey: &[&str]) -> (String, String) {
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.crt"));
        let mut args = vec!["req", "-x509"];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&[
            "-nodes",
            "-subj",
            "/CN=test",
            "-days",
            "3650",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        run_tool("openssl", &args);
        (
            fs::read_to_string(key).unwrap(),
            fs::read_to_string(cert).unwrap(),
        )
    }

    fn rsa_key_and_cert(dir: &Path, name: &str) -> (String, String) {
        openssl_key_and_cert(dir, name, &["-newkey", "rsa:2048"])
    }

    fn path_str(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    #[test]
    fn openssl_verifies_the_signature_and_the_partition_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (key, cert) = rsa_key_and_cert(d, "signer");
        let partition = signature_partition(&ROOT_HASH, &key, &cert).unwrap();
        assert_eq!(partition.len() as u64, SIGNATURE_PARTITION_SIZE);
        assert_eq!(
            partition,
            signature_partition(&ROOT_HASH, &key, &cert).unwrap(),
            "two runs differ"
        );

        let end = partition.iter().position(|b| *b == 0).unwrap();
        assert!(partition[end..].iter().all(|b| *b == 0));
        let text = std::str::from_utf8(&partition[..end]).unwrap();
        assert!(
            !text.contains(char::is_whitespace),
            "systemd formats without whitespace: {text}"
        );
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let object = json.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{text}");
        assert!(text.starts_with(r#"{"rootHash":""#), "{text}");
        let root_hex = hex(&ROOT_HASH);
        assert_eq!(object["rootHash"], root_hex.as_str());

        let cert_path = d.join("signer.crt");
        let cert_der = d.join("signer.der");
        run_tool(
            "openssl",
            &[
                "x509",
                "-in",
                path_str(&cert_path),
                "-outform",
                "DER",
                "-out",
                path_str(&cert_der),
            ],
        );
        assert_eq!(
            object["certificateFingerprint"],
            hex(&Sha256::digest(fs::read(&cert_der).unwrap())).as_str()
        );

        let signature = STANDARD
            .decode(object["signature"].as_str().unwrap())
            .unwrap();
        let sig_path = d.join("sig.der");
        let content_path = d.join("roothash.txt");
        fs::write(&sig_path, &signature).unwrap();
        fs::write(&content_path, &root_hex).unwrap();
        let verify = |content: &Path| {
            run_tool_status(
                "openssl",
                &[
                    "smime",
                    "-verify",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    path_str(&sig_path),
                    "-content",
                    path_str(content),
                    "-CAfile",
                    path_str(&cert_path),
                    "-purpose",
                    "any",
                    "-out",
                    "/dev/null",
                ],
            )
        };
        assert!(
            verify(&content_path).success(),
            "openssl smime -verify failed"
        );
        let changed = d.join("changed.txt");
        let mut other = root_hex.clone().into_bytes();
        other[0] = if other[0] == b'0' { b'1' } else { b'0' };
        fs::write(&changed, &other).unwrap();
        assert!(
            !verify(&changed).success(),
            "openssl accepted the signature for other content"
        );

        // What OpenSSL's PKCS7_sign makes with systemd-repart's flags, byte for byte:
        // `smime -sign` is PKCS7_DETACHED by default, -binary is PKCS7_BINARY, -noattr is
        // PKCS7_NOATTR.
        let theirs = d.join("openssl.der");
        run_tool(
            "openssl",
            &[
                "smime",
                "-sign",
                "-binary",
                "-noattr",
                "-md",
                "sha256",
                "-outform",
                "DER",
                "-in",
                path_str(&content_path),
                "-signer",
                path_str(&cert_path),
                "-inkey",
                path_str(&d.join("signer.key")),
                "-out",
                path_str(&theirs),
            ],
        );
        assert!(
            fs::read(&theirs).unwrap() == signature,
            "our PKCS#7 differs from openssl smime -sign -binary -noattr (see {})",
            d.display()
        );
    }

    #[test]
    fn pkcs1_keys_sign_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (key, cert) = rsa_key_and_cert(d, "signer");
        let pkcs1 = d.join("pkcs1.key");
        run_tool(
            "openssl",
            &[
                "rsa",
                "-in",
                path_str(&d.join("signer.key")),
                "-traditional",
                "-out",
                path_str(&pkcs1),
            ],
        );
        let pkcs1 = fs::read_to_string(pkcs1).unwrap();
        assert!(
            pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
            "{pkcs1}"
        );
        assert_eq!(
            signature_partition(&ROOT_HASH, &pkcs1, &cert).unwrap(),
            signature_partition(&ROOT_HASH, &key, &cert).unwrap()
        );
    }

    #[test]
    fn non_rsa_and_mismatched_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (key, cert) = rsa_key_and_cert(d, "signer");
        let (other_key, _) = rsa_key_and_cert(d, "other");
        let err = signature_partition(&ROOT_HASH, &other_key, &cert).unwrap_err();
        assert!(matches!(err, Error::KeyCertificateMismatch), "{err}");

        let (ec_key, ec_cert) = openssl_key_and_cert(
            d,
            "ec",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        );
        let err = signature_partition(&ROOT_HASH, &ec_key, &ec_cert).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKeyAlgorithm { algorithm } if algorithm == "EC"),
            "{err}"
        );
        assert!(
            err.to_string().contains("only RSA keys are supported"),
            "{err}"
        );
        // An RSA key with an EC certificate is a mismatch, not an unsupported key.
        let err = signature_partition(&ROOT_HASH, &key, &ec_cert).unwrap_err();
        assert!(matches!(err, Error::KeyCertificateMismatch), "{err}");

        let ed = d.join("ed.key");
        run_tool(
            "openssl",
            &["genpkey", "-algorithm", "ed25519", "-out", path_str(&ed)],
        );
        let err =
            signature_partition(&ROOT_HASH, &fs::read_to_string(ed).unwrap(), &cert).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKeyAlgorithm { algorithm } if algorithm == "Ed25519"),
            "{err}"
        );

        let sec1 = d.join("sec1.key");
        run_tool(
            "openssl",
            &[
                "ec",
                "-in",
                path_str(&d.join("ec.key")),
                "-out",
                path_str(&sec1),
            ],
        );
        let err =
            signature_partition(&ROOT_HASH, &fs::read_to_string(sec1).unwrap(), &cert).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKeyAlgorithm { algorithm } if algorithm == "EC"),
            "{err}"
        );
    }

    #[test]
    fn unusable_pem_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = rsa_key_and_cert(dir.path(), "signer");
        for (bad_key, bad_cert) in [
            ("", cert.as_str()),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n", cert.as_str()),
            (cert.as_str(), cert.as_str()),
            (key.as_str(), key.as_str()),
            (
                key.as_str(),
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            ),
        ] {
            let err = signature_partition(&ROOT_HASH, bad_key, bad_cert).unwrap_err();
            assert!(
                matches!(err, Error::SigningKey { .. } | Error::Certificate { .. }),
                "{err}"
            );
        }
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = signature_partition(&ROOT_HASH, encrypted, &cert).unwrap_err();
        assert!(err.to_string().contains("encrypted"), "{err}");
        // Text around the blocks, as in OpenSSL's PKCS#12 exports, is ignored.
        let decorated = format!("Bag Attributes\n    localKeyID: 01\n{key}");
        assert!(
            signature_partition(&ROOT_HASH, &decorated, &format!("subject=CN=test\n{cert}"))
                .is_ok()
        );
    }
}
