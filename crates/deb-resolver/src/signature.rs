//! OpenPGP verification of `InRelease` files (rpgp, pure Rust).
//!
//! [`Keyring::from_bytes`] reads a keyring as apt's `Signed-By` files hold it (binary, like
//! `debian-archive-keyring.gpg`, or ASCII-armored). The keyring is the root of trust, so its
//! primary keys are used as they are (key expiry is not checked); a subkey is used only if its
//! binding signature verifies. [`verify_inrelease`] accepts an `InRelease` only if at least
//! one of its signatures verifies against such a key, and returns the *signed* text only, so
//! nothing outside the signature can reach the Release parser. Signatures by keys not in the
//! keyring are ignored, as gpgv does when another one is good.

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};
use pgp::types::KeyDetails;

/// A set of trusted OpenPGP public keys.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Reads keys from binary or ASCII-armored OpenPGP data. Fails if no key is found.
    pub fn from_bytes(data: &[u8]) -> Result<Self, String> {
        let armored = data
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .is_some_and(|start| data[start..].starts_with(b"-----BEGIN"));
        let parsed: Vec<_> = if armored {
            SignedPublicKey::from_armor_many(data)
                .map_err(|e| e.to_string())?
                .0
                .collect()
        } else {
            SignedPublicKey::from_bytes_many(data)
                .map_err(|e| e.to_string())?
                .collect()
        };
        // The keyring is the root of trust, so its keys are taken as they are (their user ids
        // carry third-party certifications that cannot be checked here); a signing subkey is
        // used only if its binding signature by the primary key verifies.
        let keys: Vec<SignedPublicKey> = parsed
            .into_iter()
            .filter_map(Result::ok)
            .map(|mut key| {
                let primary = key.primary_key.clone();
                key.public_subkeys
                    .retain(|subkey| subkey.verify(&primary).is_ok());
                key
            })
            .collect();
        if keys.is_empty() {
            return Err("no usable OpenPGP public key in the keyring".to_owned());
        }
        Ok(Self { keys })
    }

    /// The fingerprints of the keys, uppercase hex, for messages.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| format!("{:X}", key.fingerprint()))
            .collect()
    }

    /// Whether the keyring has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Verifies a clearsigned `InRelease` and returns its signed text (with `\n` line ends).
///
/// `Err` carries the reason: not a clearsigned message, or no signature made by a key of the
/// keyring verifies over the text.
pub fn verify_inrelease(data: &[u8], keyring: &Keyring) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|_| "InRelease is not UTF-8".to_owned())?;
    let (message, _headers) = CleartextSignedMessage::from_string(text)
        .map_err(|e| format!("not an OpenPGP clearsigned message ({e})"))?;
    if message.signatures().is_empty() {
        return Err("no signature".to_owned());
    }
    let good = keyring.keys.iter().any(|key| {
        message.verify(key).is_ok()
            || key
                .public_subkeys
                .iter()
                .any(|subkey| message.verify(&subkey.key).is_ok())
    });
    if !good {
        return Err(format!(
            "none of its {} signature(s) verifies against the {} key(s) of the keyring",
            message.signatures().len(),
            keyring.keys.len()
        ));
    }
    Ok(signed_text(&message))
}

/// The text of a clearsigned message without checking anything (for archives the
/// configuration explicitly trusts, `RepositoryKeyCheck=no`); plain text is returned as is.
pub fn unverified_text(data: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(data).map_err(|_| "Release is not UTF-8".to_owned())?;
    if text
        .trim_start()
        .starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
    {
        let (message, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| format!("not an OpenPGP clearsigned message ({e})"))?;
        Ok(signed_text(&message))
    } else {
        Ok(text.to_owned())
    }
}

fn signed_text(message: &CleartextSignedMessage) -> String {
    let mut text = message.signed_text().replace("\r\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Test support: a throwaway signing key, to sign Release files served by test servers.
#[cfg(test)]
pub(crate) mod testing {
    use pgp::composed::{
        CleartextSignedMessage, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
    };
    use pgp::ser::Serialize;
    use pgp::types::Password;
    use rand::SeedableRng;

    /// A generated ed25519 key: sign with it, trust its public half.
    pub(crate) struct TestKey {
        secret: SignedSecretKey,
    }

    impl TestKey {
        /// A key derived from `seed` (so tests are repeatable).
        pub(crate) fn generate(seed: u64) -> Self {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let params = SecretKeyParamsBuilder::default()
                .key_type(KeyType::Ed25519Legacy)
                .can_certify(true)
                .can_sign(true)
                .primary_user_id("deb-resolver test key <test@invalid>".into())
                .build()
                .expect("valid key parameters");
            let secret = params
                .generate(&mut rng)
                .expect("key generation")
                .sign(&mut rng, &Password::empty())
                .expect("self-signature");
            Self { secret }
        }

        /// The public key as a binary keyring.
        pub(crate) fn keyring_bytes(&self) -> Vec<u8> {
            SignedPublicKey::from(self.secret.clone())
                .to_bytes()
                .expect("serialise public key")
        }

        /// `text` clearsigned, as an `InRelease` file.
        pub(crate) fn clearsign(&self, text: &str) -> Vec<u8> {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let message = CleartextSignedMessage::sign(
                &mut rng,
                text,
                &self.secret.primary_key,
                &Password::empty(),
            )
            .expect("sign");
            message.to_armored_bytes(Default::default()).expect("armor")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestKey;
    use super::*;

    #[test]
    fn good_tampered_and_unknown_signatures() {
        let key = TestKey::generate(7);
        let keyring = Keyring::from_bytes(&key.keyring_bytes()).unwrap();
        let text = "Origin: Test\nCodename: trixie\n";
        let signed = key.clearsign(text);
        assert_eq!(verify_inrelease(&signed, &keyring).unwrap(), text);

        let tampered = String::from_utf8(signed.clone())
            .unwrap()
            .replace("Codename: trixie", "Codename: trixiE");
        let err = verify_inrelease(tampered.as_bytes(), &keyring).unwrap_err();
        assert!(err.contains("none of its 1 signature"), "{err}");

        let other = Keyring::from_bytes(&TestKey::generate(8).keyring_bytes()).unwrap();
        assert!(verify_inrelease(&signed, &other).is_err());
        assert!(verify_inrelease(text.as_bytes(), &keyring).is_err());
        assert_eq!(unverified_text(&signed).unwrap(), text);
        assert_eq!(unverified_text(text.as_bytes()).unwrap(), text);
        assert!(Keyring::from_bytes(b"not a key").is_err());
    }
}
