//! Ed25519 keys and signatures, their `did:key` and Multikey encodings, and Multikey key files.
//!
//! A public key is written as a `did:key` (`did:key:z6Mk…`): the multicodec prefix `0xed01`
//! followed by the 32 key bytes, encoded as multibase base58-btc (`z…`). A secret key in a
//! Multikey file is the multicodec prefix `0x8026` followed by the 32-byte seed, also base58-btc.
//!
//! Verification is strict everywhere: weak (small-order) public keys are refused when a key is
//! decoded, and signatures get exactly `verify_strict`'s verdicts, which refuse non-canonical
//! encodings and small-order `R` points ([`PublicKey::verify`]).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::memo::BoundedMemo;

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
    ///
    /// Only the canonical encoding of a point is accepted, so every key has exactly one
    /// `did:key`. The decoder would reduce a `y` coordinate ≥ p and accept a set sign bit when
    /// `x` = 0; both are refused on the bytes, before the point is decompressed, which is what
    /// re-compressing the decoded point and comparing would refuse, at one field exponentiation
    /// fewer.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        if !is_canonical_encoding(bytes) {
            return Err(KeyError::InvalidPoint);
        }
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
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
    ///
    /// Answered from a process-wide memo of the identifiers decoded before ([`DID_KEY_MEMO_CAPACITY`]
    /// of them): a node meets the same offices', marketplaces' and holders' keys in every notice
    /// and credential, and decoding one (base58, then a square root to decompress the point)
    /// costs about a quarter of a signature check. A memoised key is exactly what decoding the
    /// identifier gives; only identifiers that decoded are kept.
    pub fn from_did_key(did: &str) -> Result<Self, KeyError> {
        did_key_memo().get_or_try_insert(did, || PublicKey::from_bytes(&did_key_bytes(did)?))
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
                // The identifier decoded, so its multibase part is the key's one encoding
                // (base58 without leading zero digits is a bijection): comparing the text is
                // comparing with `key.to_multibase()`, without encoding it again.
                if Some(fragment) != did.strip_prefix(DID_KEY_PREFIX) {
                    return Err(KeyError::NotDidKey(truncate(method)));
                }
                Ok(key)
            }
        }
    }

    /// Checks `signature` over `message` with strict Ed25519 verification: exactly the verdict
    /// of `ed25519-dalek`'s `verify_strict` ([`PublicKey::verify_strict_reference`]), without
    /// decompressing `R` (see [`crate::verify_many`] for why the answers are the same).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        self.verify_parts(&[message], signature)
    }

    /// [`PublicKey::verify`] over the concatenation of `parts`, without building it.
    pub fn verify_parts(&self, parts: &[&[u8]], signature: &Signature) -> Result<(), KeyError> {
        if strict_holds(self, parts, &signature.0.to_bytes()) {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }

    /// `ed25519-dalek`'s own `verify_strict`: the oracle that [`PublicKey::verify`] is tested
    /// against, and the baseline of the benchmarks.
    pub fn verify_strict_reference(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), KeyError> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The underlying `ed25519-dalek` key, for batch verification.
    pub fn as_dalek(&self) -> &VerifyingKey {
        &self.0
    }
}

/// Whether 32 bytes are the canonical encoding of a curve point *if* they decode to one:
/// `y` (the low 255 bits, little-endian) below p = 2^255 − 19, and the sign bit clear when
/// `x` = 0. The only points with `x` = 0 are `y` = 1 and `y` = p − 1 (both of small order);
/// their encodings with the sign bit set decode, but are not what compressing gives back.
pub fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    /// p − 1 = 2^255 − 20, little-endian.
    const P_MINUS_ONE: [u8; 32] = [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ];
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // y < p ⇔ y ≤ p − 1, compared from the most significant byte down.
    let below_p = y.iter().rev().cmp(P_MINUS_ONE.iter().rev()) != std::cmp::Ordering::Greater;
    let mut one = [0u8; 32];
    one[0] = 1;
    let x_is_zero = y == one || y == P_MINUS_ONE;
    below_p && !(sign == 1 && x_is_zero)
}

/// The 32 key bytes a `did:key:z6Mk…` identifier names, not yet checked to be a point.
fn did_key_bytes(did: &str) -> Result<[u8; 32], KeyError> {
    let multibase = did
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or_else(|| KeyError::NotDidKey(truncate(did)))?;
    decode_prefixed(multibase, ED25519_PUB_MULTICODEC)
}

/// Most decoded keys a [`KeyCache`] holds by default: far more authorities than a federation
/// trusts, and about 300 KiB.
pub const KEY_CACHE_CAPACITY: usize = 4096;

/// A bounded cache of decoded public keys, by their 32 bytes.
///
/// Decoding a key checks that it is a canonical, non-weak point, which costs a field
/// exponentiation; the same few authors' keys arrive with every entry, so a node keeps one
/// cache and decodes each key once. The cache holds only keys that decoded (a refused encoding
/// is decoded again, and refused again, each time). When full, inserting evicts an arbitrary
/// entry: keys named by entries of untrusted authors can push trusted ones out, which costs a
/// decode, never a wrong answer, because a cached key is exactly what decoding its bytes gives.
///
/// Safe to share between threads (`&self` methods, one lock); the value owns its state, nothing
/// is global.
#[derive(Debug)]
pub struct KeyCache {
    keys: BoundedMemo<[u8; 32], PublicKey>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(KEY_CACHE_CAPACITY)
    }
}

impl KeyCache {
    /// An empty cache that holds at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            keys: BoundedMemo::new(capacity),
        }
    }

    /// [`PublicKey::from_bytes`], answered from the cache when the key was decoded before.
    pub fn decode_bytes(&self, bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        self.keys
            .get_or_try_insert(bytes, || PublicKey::from_bytes(bytes))
    }

    /// [`PublicKey::from_did_key`], answered from the cache when the key was decoded before
    /// (the base58 text is still decoded: the cache is keyed by the key's bytes).
    pub fn decode_did_key(&self, did: &str) -> Result<PublicKey, KeyError> {
        self.decode_bytes(&did_key_bytes(did)?)
    }

    /// How many keys the cache holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Most `did:key` identifiers the process-wide memo of [`PublicKey::from_did_key`] holds (about
/// 600 KiB when full).
pub const DID_KEY_MEMO_CAPACITY: usize = 4096;

/// The process-wide memo from `did:key` text to the decoded key ([`BoundedMemo`]).
fn did_key_memo() -> &'static BoundedMemo<Box<str>, PublicKey> {
    static MEMO: OnceLock<BoundedMemo<Box<str>, PublicKey>> = OnceLock::new();
    MEMO.get_or_init(|| BoundedMemo::new(DID_KEY_MEMO_CAPACITY))
}

/// Strict Ed25519 verification of `signature` by `key` over the concatenation of `parts`:
/// exactly `verify_strict`'s verdict, without decompressing `R` (the argument is in
/// [`crate::verify_many`]'s documentation):
/// 1. `S` below ℓ;
/// 2. `R` decompresses and is not of small order — checked on the computed point: when 4
///    holds, the bytes `R` are a compression, so they decompress to it;
/// 3. `A` not of small order — holds for every decoded [`PublicKey`];
/// 4. compressing `[S]B − [k]A`, `k = SHA-512(R ‖ A ‖ M) mod ℓ`, gives back the bytes `R`.
pub(crate) fn strict_holds(key: &PublicKey, parts: &[&[u8]], signature: &[u8; 64]) -> bool {
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};

    let (r_bytes, s_bytes) = signature.split_at(32);
    let Ok(s_bytes) = <[u8; 32]>::try_from(s_bytes) else {
        return false;
    };
    // 1.
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(key.0.as_bytes());
    for part in parts {
        hasher.update(part);
    }
    let Ok(digest) = <[u8; 64]>::try_from(hasher.finalize().as_slice()) else {
        return false;
    };
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    // 3. holds (`PublicKey` refuses weak keys); 4. as verify_strict computes it.
    let minus_a: EdwardsPoint = -key.0.to_edwards();
    let expected = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &minus_a, &s);
    // 2. and 4.
    expected.compress().as_bytes() == r_bytes && !expected.is_small_order()
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
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
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

    /// The decoder before the byte check: decompress, re-compress, compare, then refuse weak
    /// keys. The oracle the byte check must agree with.
    fn old_from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::InvalidPoint);
        }
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(PublicKey(key))
    }

    /// p = 2^255 − 19, little-endian.
    const P: [u8; 32] = [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ];

    /// `y + p` in the low 255 bits (`y` < 19, so no carry into the sign bit), sign bit kept.
    fn plus_p(bytes: [u8; 32]) -> [u8; 32] {
        let sign = bytes[31] & 0x80;
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for index in 0..32 {
            let byte = if index == 31 {
                bytes[index] & 0x7f
            } else {
                bytes[index]
            };
            let sum = u16::from(byte) + u16::from(P[index]) + carry;
            out[index] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        out[31] |= sign;
        out
    }

    /// Encodings worth checking around a point: itself, its sign bit flipped, and (for tiny y)
    /// y + p.
    fn variants(bytes: [u8; 32]) -> Vec<[u8; 32]> {
        let mut flipped = bytes;
        flipped[31] ^= 0x80;
        let mut out = vec![bytes, flipped];
        let tiny = bytes[1..31].iter().all(|byte| *byte == 0) && bytes[31] & 0x7f == 0;
        if tiny && bytes[0] < 19 {
            out.push(plus_p(bytes));
            out.push(plus_p(flipped));
        }
        out
    }

    fn small_order_encodings() -> Vec<[u8; 32]> {
        curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|point| point.compress().to_bytes())
            .collect()
    }

    #[test]
    fn byte_check_agrees_with_recompression_on_known_encodings() {
        let mut inputs = Vec::new();
        for torsion in small_order_encodings() {
            inputs.extend(variants(torsion));
        }
        // Every y below 19, both signs, and their y + p forms; y = p − 1 and p itself.
        for y in 0u8..19 {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            inputs.extend(variants(bytes));
        }
        let mut p_minus_one = P;
        p_minus_one[0] -= 1;
        inputs.extend(variants(p_minus_one));
        inputs.extend(variants(P));
        inputs.push([0xff; 32]);
        // Mixed-order keys (a key plus a torsion point): valid, not weak, accepted by both.
        let secret = SecretKey::from_seed(&[7; 32]);
        let point = secret.public_key().as_dalek().to_edwards();
        for torsion in curve25519_dalek::constants::EIGHT_TORSION {
            inputs.extend(variants((point + torsion).compress().to_bytes()));
        }
        inputs.sort_unstable();
        inputs.dedup();
        let mut weak = 0;
        let mut accepted = 0;
        for bytes in &inputs {
            let new = PublicKey::from_bytes(bytes);
            assert_eq!(new, old_from_bytes(bytes), "{}", hex::encode(bytes));
            weak += usize::from(new == Err(KeyError::WeakKey));
            accepted += usize::from(new.is_ok());
        }
        // The eight small-order points in canonical form are weak, and the eight mixed-order
        // keys and the prime-order one decode; the assertions above can only fail on a split.
        assert_eq!(weak, 8);
        assert!(accepted >= 9, "{accepted}");
        // The identity with the sign bit set (x = 0) decodes but is not canonical.
        let mut identity_negative = [0u8; 32];
        identity_negative[0] = 1;
        identity_negative[31] = 0x80;
        assert!(VerifyingKey::from_bytes(&identity_negative).is_ok());
        assert_eq!(
            PublicKey::from_bytes(&identity_negative),
            Err(KeyError::InvalidPoint)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        #[test]
        fn byte_check_agrees_with_recompression_on_random_bytes(bytes in proptest::prelude::any::<[u8; 32]>()) {
            for bytes in variants(bytes) {
                proptest::prop_assert_eq!(PublicKey::from_bytes(&bytes), old_from_bytes(&bytes));
            }
        }

        #[test]
        fn byte_check_agrees_with_recompression_on_points(
            seed in proptest::prelude::any::<[u8; 32]>(),
            torsion in 0usize..8,
            high_y in proptest::prelude::any::<bool>(),
        ) {
            let point = SecretKey::from_seed(&seed).public_key().as_dalek().to_edwards();
            let torsion_point = curve25519_dalek::constants::EIGHT_TORSION[torsion];
            let mut bytes = (point + torsion_point).compress().to_bytes();
            if high_y {
                // Force y ≥ p where the top bits allow it: never canonical.
                bytes[31] |= 0x7f;
                bytes[1..31].fill(0xff);
                bytes[0] |= 0xed;
            }
            for bytes in variants(bytes) {
                proptest::prop_assert_eq!(PublicKey::from_bytes(&bytes), old_from_bytes(&bytes));
            }
        }
    }

    #[test]
    fn key_cache_answers_as_decoding_does_and_stays_bounded() {
        let cache = KeyCache::new(4);
        let keys: Vec<PublicKey> = (0..10u8)
            .map(|seed| SecretKey::from_seed(&[seed; 32]).public_key())
            .collect();
        for _round in 0..2 {
            for key in &keys {
                assert_eq!(cache.decode_bytes(&key.to_bytes()), Ok(*key));
                assert_eq!(cache.decode_did_key(&key.to_did_key()), Ok(*key));
                assert!(cache.len() <= 4);
            }
        }
        assert_eq!(cache.len(), 4);
        // Refusals are the decoder's and are not cached.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(cache.decode_bytes(&identity), Err(KeyError::WeakKey));
        let mut above_p = [0xffu8; 32];
        above_p[31] = 0x7f;
        assert_eq!(cache.decode_bytes(&above_p), Err(KeyError::InvalidPoint));
        assert!(matches!(
            cache.decode_did_key("did:web:example.com"),
            Err(KeyError::NotDidKey(_))
        ));
        assert_eq!(cache.len(), 4);
        assert!(!cache.is_empty());
        assert!(KeyCache::new(0).decode_bytes(&keys[0].to_bytes()).is_ok());
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

    proptest::proptest! {
        /// The exact check and dalek's `verify_strict` agree on signatures that hold, on
        /// changed messages, and on signatures with any byte changed (R, S or both).
        #[test]
        fn verify_agrees_with_verify_strict(
            seed in proptest::array::uniform32(proptest::prelude::any::<u8>()),
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            flip in 0usize..64,
            mask in 1u8..=255,
        ) {
            let secret = SecretKey::from_seed(&seed);
            let public = secret.public_key();
            let signature = secret.sign(&message);
            proptest::prop_assert!(public.verify(&message, &signature).is_ok());
            proptest::prop_assert!(public.verify_strict_reference(&message, &signature).is_ok());
            let mut bytes = signature.to_bytes();
            bytes[flip] ^= mask;
            let changed = Signature::from_slice(&bytes).unwrap();
            proptest::prop_assert_eq!(
                public.verify(&message, &changed).is_ok(),
                public.verify_strict_reference(&message, &changed).is_ok()
            );
            let mut other = message.clone();
            other.push(0);
            proptest::prop_assert_eq!(
                public.verify(&other, &signature).is_ok(),
                public.verify_strict_reference(&other, &signature).is_ok()
            );
            let split = message.len() / 2;
            proptest::prop_assert!(public.verify_parts(&[&message[..split], &message[split..]], &signature).is_ok());
        }
    }

    #[test]
    fn did_key_memo_answers_as_decoding_does() {
        let key = SecretKey::generate().public_key();
        let did = key.to_did_key();
        assert_eq!(PublicKey::from_did_key(&did).unwrap(), key);
        // Again, from the memo.
        assert_eq!(PublicKey::from_did_key(&did).unwrap(), key);
        let method = key.verification_method();
        assert_eq!(PublicKey::from_verification_method(&method).unwrap(), key);
        let other = SecretKey::generate().public_key().to_multibase();
        assert!(PublicKey::from_verification_method(&format!("{did}#{other}")).is_err());
        // Refused identifiers are refused every time (never memoised).
        let weak = format!(
            "{DID_KEY_PREFIX}{}",
            multibase_btc(&[&ED25519_PUB_MULTICODEC[..], &[0u8; 32]].concat())
        );
        for _ in 0..2 {
            assert!(PublicKey::from_did_key(&weak).is_err());
        }
        // Past its capacity the memo still answers right.
        for _ in 0..(DID_KEY_MEMO_CAPACITY + 10) / 512 {
            let many: Vec<PublicKey> = (0..512)
                .map(|_| SecretKey::generate().public_key())
                .collect();
            for key in &many {
                assert_eq!(&PublicKey::from_did_key(&key.to_did_key()).unwrap(), key);
            }
        }
        assert!(did_key_memo().len() <= DID_KEY_MEMO_CAPACITY);
        assert_eq!(PublicKey::from_did_key(&did).unwrap(), key);
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
