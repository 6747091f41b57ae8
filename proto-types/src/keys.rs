//! Ed25519 keys and signatures, their `did:key` and Multikey encodings, and Multikey key files.
//!
//! A public key is written as a `did:key` (`did:key:z6Mk…`): the multicodec prefix `0xed01`
//! followed by the 32 key bytes, encoded as multibase base58-btc (`z…`). A secret key in a
//! Multikey file is the multicodec prefix `0x8026` followed by the 32-byte seed, also base58-btc.
//!
//! Verification is strict everywhere: weak (small-order) public keys are refused when a key is
//! decoded, and signatures are checked with `verify_strict`, which refuses non-canonical
//! encodings and small-order `R` points.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint of 0xed).
pub const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 private key (`ed25519-priv`, varint of 0x1300).
pub const ED25519_PRIV_MULTICODEC: [u8; 2] = [0x80, 0x26];
/// The scheme prefix of every `did:key` identifier.
pub const DID_KEY_PREFIX: &str = "did:key:";
/// Longest `did:key` or multibase string accepted before decoding is attempted.
pub const MAX_ENCODED_KEY_LEN: usize = 128;

/// Why a key, signature or key file could not be decoded or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The string does not start with `did:key:`.
    #[error("not a did:key identifier: {0:?}")]
    NotDidKey(String),
    /// The string is not multibase base58-btc (a leading `z`).
    #[error("multibase value must be base58-btc and start with 'z'")]
    NotBase58Btc,
    /// Base58 decoding failed.
    #[error("invalid base58: {0}")]
    Base58(String),
    /// The value is longer than any valid encoding.
    #[error("encoded key longer than {MAX_ENCODED_KEY_LEN} characters")]
    TooLong,
    /// The multicodec prefix is not the one expected.
    #[error("unexpected multicodec prefix {found}, expected {expected}")]
    WrongMulticodec {
        /// The prefix that was expected, in hex.
        expected: String,
        /// The prefix found, in hex.
        found: String,
    },
    /// The key material has the wrong length.
    #[error("key must be 32 bytes, got {0}")]
    WrongLength(usize),
    /// The bytes are not a valid Ed25519 point.
    #[error("not a valid ed25519 public key")]
    InvalidPoint,
    /// The key is of small order and would accept forged signatures.
    #[error("weak ed25519 public key (small order) refused")]
    WeakKey,
    /// A signature has the wrong length.
    #[error("signature must be 64 bytes, got {0}")]
    SignatureLength(usize),
    /// The signature does not verify under the key.
    #[error("signature does not verify")]
    BadSignature,
    /// A key file is not valid Multikey JSON.
    #[error("invalid key file: {0}")]
    KeyFile(String),
    /// The public key in a key file does not belong to its secret key.
    #[error("key file public key does not match its secret key")]
    KeyFileMismatch,
}

fn decode_multibase_btc(value: &str) -> Result<Vec<u8>, KeyError> {
    if value.len() > MAX_ENCODED_KEY_LEN {
        return Err(KeyError::TooLong);
    }
    let rest = value.strip_prefix('z').ok_or(KeyError::NotBase58Btc)?;
    bs58::decode(rest)
        .into_vec()
        .map_err(|error| KeyError::Base58(error.to_string()))
}

fn decode_prefixed(value: &str, prefix: [u8; 2]) -> Result<[u8; 32], KeyError> {
    let bytes = decode_multibase_btc(value)?;
    let (found_prefix, key) = bytes.split_at_checked(2).ok_or(KeyError::WrongLength(0))?;
    if found_prefix != prefix {
        return Err(KeyError::WrongMulticodec {
            expected: hex::encode(prefix),
            found: hex::encode(found_prefix),
        });
    }
    key.try_into().map_err(|_| KeyError::WrongLength(key.len()))
}

/// Encodes bytes as multibase base58-btc (`z…`).
pub fn multibase_btc(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes a multibase base58-btc string (`z…`) of at most `max_len` characters.
pub fn decode_multibase(value: &str, max_len: usize) -> Result<Vec<u8>, KeyError> {
    if value.len() > max_len {
        return Err(KeyError::TooLong);
    }
    let rest = value.strip_prefix('z').ok_or(KeyError::NotBase58Btc)?;
    bs58::decode(rest)
        .into_vec()
        .map_err(|error| KeyError::Base58(error.to_string()))
}

/// An Ed25519 public key that has been checked to be a valid, non-weak point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Decodes 32 raw bytes, refusing invalid, non-canonically encoded (y ≥ p) and weak
    /// (small-order) points, as RFC 8032 verifiers do.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        // The decoder reduces a y coordinate ≥ p; only the canonical encoding is accepted, so
        // every key has exactly one did:key.
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::InvalidPoint);
        }
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(Self(key))
    }

    /// The 32 raw bytes of the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Decodes a Multikey `publicKeyMultibase` value (`z6Mk…`).
    pub fn from_multibase(value: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_prefixed(value, ED25519_PUB_MULTICODEC)?)
    }

    /// The Multikey `publicKeyMultibase` form (`z6Mk…`).
    pub fn to_multibase(&self) -> String {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&ED25519_PUB_MULTICODEC);
        bytes.extend_from_slice(self.0.as_bytes());
        multibase_btc(&bytes)
    }

    /// Decodes a `did:key:z6Mk…` identifier. A verification-method fragment (`#…`) is refused:
    /// use [`PublicKey::from_verification_method`] for those.
    pub fn from_did_key(did: &str) -> Result<Self, KeyError> {
        let multibase = did
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or_else(|| KeyError::NotDidKey(truncate(did)))?;
        Self::from_multibase(multibase)
    }

    /// The `did:key:z6Mk…` identifier of this key.
    pub fn to_did_key(&self) -> String {
        format!("{DID_KEY_PREFIX}{}", self.to_multibase())
    }

    /// The `did:key` verification method of this key: `did:key:z6Mk…#z6Mk…`.
    pub fn verification_method(&self) -> String {
        let multibase = self.to_multibase();
        format!("{DID_KEY_PREFIX}{multibase}#{multibase}")
    }

    /// Decodes a `did:key` verification method `did:key:X#X`. The fragment must repeat the key,
    /// as the did:key method specifies; a bare `did:key:X` is accepted too.
    pub fn from_verification_method(method: &str) -> Result<Self, KeyError> {
        match method.split_once('#') {
            None => Self::from_did_key(method),
            Some((did, fragment)) => {
                let key = Self::from_did_key(did)?;
                if fragment != key.to_multibase() {
                    return Err(KeyError::NotDidKey(truncate(method)));
                }
                Ok(key)
            }
        }
    }

    /// Checks `signature` over `message` with strict Ed25519 verification.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The underlying `ed25519-dalek` key, for batch verification.
    pub fn as_dalek(&self) -> &VerifyingKey {
        &self.0
    }
}

fn truncate(value: &str) -> String {
    value.chars().take(80).collect()
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PublicKey({})", self.to_did_key())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_did_key())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::from_did_key(value)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_did_key())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::from_did_key(&value).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 secret key. Its bytes are zeroed on drop and never printed.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate() -> Self {
        Self(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Builds a key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The public half. Never weak: it is derived by scalar multiplication of the base point.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }

    /// Decodes a Multikey `secretKeyMultibase` value (`z3u2…`).
    pub fn from_multibase(value: &str) -> Result<Self, KeyError> {
        let seed = Zeroizing::new(decode_prefixed(value, ED25519_PRIV_MULTICODEC)?);
        Ok(Self::from_seed(&seed))
    }

    /// The Multikey `secretKeyMultibase` form (`z3u2…`). Handle the result as a secret.
    pub fn to_multibase(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(34));
        bytes.extend_from_slice(&ED25519_PRIV_MULTICODEC);
        bytes.extend_from_slice(self.0.as_bytes());
        Zeroizing::new(multibase_btc(&bytes))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "SecretKey(public: {}, secret: redacted)",
            self.public_key()
        )
    }
}

/// An Ed25519 signature (64 bytes), written as multibase base58-btc in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Decodes 64 raw bytes. Whether `s` is canonical is checked at verification.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 64] = bytes
            .try_into()
            .map_err(|_| KeyError::SignatureLength(bytes.len()))?;
        Ok(Self(ed25519_dalek::Signature::from_bytes(&array)))
    }

    /// The 64 raw bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }

    /// Decodes a multibase base58-btc signature (`z…`).
    pub fn from_multibase(value: &str) -> Result<Self, KeyError> {
        Self::from_slice(&decode_multibase(value, MAX_ENCODED_KEY_LEN)?)
    }

    /// The multibase base58-btc form (`z…`).
    pub fn to_multibase(&self) -> String {
        multibase_btc(&self.0.to_bytes())
    }

    /// The underlying `ed25519-dalek` signature, for batch verification.
    pub fn as_dalek(&self) -> &ed25519_dalek::Signature {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Signature({})", self.to_multibase())
    }
}

/// A Multikey key file as written by `rightsnet key gen`:
/// `{"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…"}`.
/// Files that name the secret `privateKeyMultibase` (as the W3C test vectors do) are read too.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyFile {
    /// The public key, `z6Mk…`.
    pub public_key_multibase: String,
    /// The secret key, `z3u2…`.
    #[serde(alias = "privateKeyMultibase")]
    pub secret_key_multibase: String,
}

impl KeyFile {
    /// The key file of `secret`.
    pub fn from_secret(secret: &SecretKey) -> Self {
        Self {
            public_key_multibase: secret.public_key().to_multibase(),
            secret_key_multibase: secret.to_multibase().to_string(),
        }
    }

    /// Parses a key file and checks that its public key belongs to its secret key.
    pub fn parse(json: &[u8]) -> Result<SecretKey, KeyError> {
        let file: KeyFile =
            serde_json::from_slice(json).map_err(|error| KeyError::KeyFile(error.to_string()))?;
        let secret = SecretKey::from_multibase(&file.secret_key_multibase)?;
        let public = PublicKey::from_multibase(&file.public_key_multibase)?;
        if public != secret.public_key() {
            return Err(KeyError::KeyFileMismatch);
        }
        Ok(secret)
    }

    /// The file as pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret_key_multibase);
    }
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "KeyFile({}, secret: redacted)",
            self.public_key_multibase
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const VECTOR_PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    const VECTOR_SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";

    #[test]
    fn w3c_vector_key_pair_decodes_and_matches() {
        let secret = SecretKey::from_multibase(VECTOR_SECRET).unwrap();
        assert_eq!(secret.public_key().to_multibase(), VECTOR_PUBLIC);
        assert_eq!(secret.to_multibase().as_str(), VECTOR_SECRET);
    }

    #[test]
    fn did_key_round_trips() {
        let secret = SecretKey::generate();
        let did = secret.public_key().to_did_key();
        assert!(did.starts_with("did:key:z6Mk"));
        assert_eq!(PublicKey::from_did_key(&did).unwrap(), secret.public_key());
        let method = secret.public_key().verification_method();
        assert_eq!(
            PublicKey::from_verification_method(&method).unwrap(),
            secret.public_key()
        );
    }

    #[test]
    fn key_file_reads_private_key_alias_and_checks_pair() {
        let json = format!(
            r#"{{"publicKeyMultibase":"{VECTOR_PUBLIC}","privateKeyMultibase":"{VECTOR_SECRET}"}}"#
        );
        assert!(KeyFile::parse(json.as_bytes()).is_ok());
        let other = SecretKey::generate().public_key().to_multibase();
        let json =
            format!(r#"{{"publicKeyMultibase":"{other}","secretKeyMultibase":"{VECTOR_SECRET}"}}"#);
        assert_eq!(
            KeyFile::parse(json.as_bytes()).err(),
            Some(KeyError::KeyFileMismatch)
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::WeakKey));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y = p + 2 (non-canonical for y = 2 if that were on the curve) and the all-ones
        // pattern: either not a point or not canonical, never accepted.
        let mut above_p = [0xffu8; 32];
        above_p[31] = 0x7f;
        assert!(PublicKey::from_bytes(&above_p).is_err());
        let secret = SecretKey::generate();
        let bytes = secret.public_key().to_bytes();
        assert_eq!(PublicKey::from_bytes(&bytes).unwrap(), secret.public_key());
    }

    #[test]
    fn wrong_prefix_and_garbage_are_errors() {
        assert!(matches!(
            PublicKey::from_multibase(VECTOR_SECRET),
            Err(KeyError::WrongMulticodec { .. })
        ));
        assert!(PublicKey::from_did_key("did:web:example.com").is_err());
        assert!(PublicKey::from_did_key("did:key:z").is_err());
        assert!(PublicKey::from_did_key("did:key:z0OIl").is_err());
        assert!(PublicKey::from_did_key(&"did:key:z".repeat(100)).is_err());
    }

    #[test]
    fn secret_key_debug_does_not_leak() {
        let secret = SecretKey::from_multibase(VECTOR_SECRET).unwrap();
        let printed = format!("{secret:?}");
        assert!(!printed.contains(VECTOR_SECRET));
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn signatures_verify_strictly() {
        let secret = SecretKey::generate();
        let signature = secret.sign(b"message");
        let public = secret.public_key();
        assert!(public.verify(b"message", &signature).is_ok());
        assert_eq!(
            public.verify(b"messagf", &signature),
            Err(KeyError::BadSignature)
        );
        // A non-canonical s (s + l) must be refused.
        let mut bytes = signature.to_bytes();
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in bytes[32..].iter_mut().zip(order) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        let malleated = Signature::from_slice(&bytes).unwrap();
        assert!(public.verify(b"message", &malleated).is_err());
    }
}
