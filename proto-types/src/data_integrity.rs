//! W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C Recommendation, May 2025).
//!
//! Signing ("Add Proof"): the proof configuration is the proof options plus the document's
//! `@context`; both it and the document (without `proof`) are canonicalised with RFC 8785;
//! the signed message is `SHA-256(canonical proof config) ‖ SHA-256(canonical document)`
//! (64 bytes); `proofValue` is the Ed25519 signature as multibase base58-btc.
//!
//! Verification follows the spec's "Verify Proof" algorithm: the proof options are the proof
//! without `proofValue`; when they carry an `@context`, the document's `@context` must start
//! with it and is replaced by it before hashing, so contexts appended after signing do not break
//! a proof. Only `did:key` verification methods are resolved, since a credential must verify
//! offline with nothing but the issuer's public key.
//!
//! The signed message is always exactly 64 bytes, while every feed-entry signature covers a
//! longer, tagged message (see [`crate::entry`]), so neither can be replayed as the other.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::jcs;
use crate::keys::{KeyError, PublicKey, SecretKey, Signature};
use crate::timestamp::Timestamp;

/// The proof `type` this module produces and accepts.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite this module produces and accepts.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof purpose used when none is given.
pub const DEFAULT_PROOF_PURPOSE: &str = "assertionMethod";
/// Longest `proofValue` accepted (a 64-byte signature is at most 88 base58 characters).
pub const MAX_PROOF_VALUE_LEN: usize = 100;

/// Why a proof could not be created or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The input is not usable as a document (not an object, bad JSON, …).
    #[error("malformed document: {0}")]
    Malformed(String),
    /// The document has no `proof`.
    #[error("document has no proof")]
    MissingProof,
    /// The document already has a proof; adding a second is not supported.
    #[error("document already has a proof")]
    AlreadySigned,
    /// A required proof field is missing or of the wrong JSON type.
    #[error("proof field {0:?} is missing or not a string")]
    ProofField(&'static str),
    /// The proof's `type` is not `DataIntegrityProof`.
    #[error("unsupported proof type {0:?}, expected DataIntegrityProof")]
    ProofType(String),
    /// The proof's cryptosuite is not `eddsa-jcs-2022`.
    #[error("unsupported cryptosuite {0:?}, expected eddsa-jcs-2022")]
    Cryptosuite(String),
    /// The proof purpose differs from the one required.
    #[error("proof purpose {found:?} does not match expected {expected:?}")]
    ProofPurpose {
        /// The purpose the verifier required.
        expected: String,
        /// The purpose in the proof.
        found: String,
    },
    /// `created` or `expires` is not an RFC 3339 date-time with a time zone.
    #[error("proof {field} is not a valid date-time: {value:?}")]
    DateTime {
        /// Which field.
        field: &'static str,
        /// Its value, truncated.
        value: String,
    },
    /// The verification method is not a `did:key` that can be resolved offline.
    #[error("verification method {0:?} cannot be resolved: only did:key is supported")]
    VerificationMethod(String),
    /// The verification method belongs to another key than the signing key.
    #[error("verification method does not belong to the signing key")]
    VerificationMethodMismatch,
    /// The document's `@context` does not start with the proof's `@context`.
    #[error("document @context does not start with the proof's @context")]
    ContextMismatch,
    /// `proofValue` is not a multibase base58-btc Ed25519 signature.
    #[error("proofValue is not a base58-btc ed25519 signature: {0}")]
    ProofValue(KeyError),
    /// The signature does not verify: the document or the proof was changed, or the key is wrong.
    #[error(
        "signature does not verify: the document or its proof was altered, or signed by another key"
    )]
    BadSignature,
    /// Canonicalisation failed.
    #[error("canonicalisation failed: {0}")]
    Canonicalization(String),
}

/// Options for creating a proof.
#[derive(Debug, Clone)]
pub struct ProofOptions {
    /// The `created` date-time; none means the proof carries no `created`.
    pub created: Option<Timestamp>,
    /// The verification method; none means the signing key's `did:key:…#…`.
    pub verification_method: Option<String>,
    /// The proof purpose, normally `assertionMethod`.
    pub proof_purpose: String,
}

impl Default for ProofOptions {
    fn default() -> Self {
        Self {
            created: None,
            verification_method: None,
            proof_purpose: DEFAULT_PROOF_PURPOSE.to_owned(),
        }
    }
}

/// What a verified `eddsa-jcs-2022` proof says about its document (the document stays the
/// caller's). Only [`verify`] constructs it.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    signer: PublicKey,
    verification_method: String,
    proof_purpose: String,
    created: Option<String>,
    expires: Option<String>,
}

impl VerifiedDocument {
    /// The key that made the proof.
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }
    /// The proof's verification method.
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }
    /// The proof's purpose.
    pub fn proof_purpose(&self) -> &str {
        &self.proof_purpose
    }
    /// The proof's `created`, if any.
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }
    /// The proof's `expires`, if any. Checking it against a clock is the caller's job.
    pub fn expires(&self) -> Option<&str> {
        self.expires.as_deref()
    }
}

fn canonical(value: &Value) -> Result<Vec<u8>, ProofError> {
    jcs::canonicalize(value).map_err(|error| ProofError::Canonicalization(error.to_string()))
}

/// The 64-byte message an `eddsa-jcs-2022` proof signs:
/// `SHA-256(canonical proof config) ‖ SHA-256(canonical document)`.
pub fn hash_data(proof_config: &Value, unsecured_document: &Value) -> Result<[u8; 64], ProofError> {
    Ok(combined_hash(
        &canonical(proof_config)?,
        &canonical(unsecured_document)?,
    ))
}

/// `SHA-256(proof bytes) ‖ SHA-256(document bytes)`, of canonical bytes.
fn combined_hash(proof_bytes: &[u8], document_bytes: &[u8]) -> [u8; 64] {
    let mut combined = [0u8; 64];
    let (first, second) = combined.split_at_mut(32);
    first.copy_from_slice(&Sha256::digest(proof_bytes));
    second.copy_from_slice(&Sha256::digest(document_bytes));
    combined
}

fn check_date_time(field: &'static str, value: &Value) -> Result<String, ProofError> {
    let text = value.as_str().ok_or(ProofError::ProofField(field))?;
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| ProofError::DateTime {
        field,
        value: text.chars().take(40).collect(),
    })?;
    Ok(text.to_owned())
}

/// Adds an `eddsa-jcs-2022` proof to `document` (a JSON object without a `proof`), as the
/// spec's "Create Proof" algorithm says, and returns the secured document.
pub fn sign(
    document: &Value,
    key: &SecretKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let object = document
        .as_object()
        .ok_or_else(|| ProofError::Malformed("document must be a JSON object".to_owned()))?;
    if object.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let verification_method = match &options.verification_method {
        None => key.public_key().verification_method(),
        Some(method) => {
            // A did:key method can be checked against the key; anything else is the caller's
            // statement about where the key is published.
            if method.starts_with(crate::keys::DID_KEY_PREFIX) {
                let named = PublicKey::from_verification_method(method)
                    .map_err(|_| ProofError::VerificationMethod(method.clone()))?;
                if named != key.public_key() {
                    return Err(ProofError::VerificationMethodMismatch);
                }
            }
            method.clone()
        }
    };
    let mut proof = Map::new();
    proof.insert("type".to_owned(), Value::from(PROOF_TYPE));
    proof.insert("cryptosuite".to_owned(), Value::from(CRYPTOSUITE));
    if let Some(created) = &options.created {
        proof.insert("created".to_owned(), Value::from(created.as_str()));
    }
    proof.insert(
        "verificationMethod".to_owned(),
        Value::from(verification_method),
    );
    proof.insert(
        "proofPurpose".to_owned(),
        Value::from(options.proof_purpose.as_str()),
    );
    if let Some(context) = object.get("@context") {
        proof.insert("@context".to_owned(), context.clone());
    }
    let proof_config = Value::Object(proof);
    let message = hash_data(&proof_config, document)?;
    let signature = key.sign(&message);
    let Value::Object(mut proof) = proof_config else {
        return Err(ProofError::Malformed("proof configuration".to_owned()));
    };
    proof.insert(
        "proofValue".to_owned(),
        Value::from(signature.to_multibase()),
    );
    let mut secured = object.clone();
    secured.insert("proof".to_owned(), Value::Object(proof));
    Ok(Value::Object(secured))
}

/// Verifies the `eddsa-jcs-2022` proof of a secured document with the proof purpose
/// `assertionMethod`. See [`verify_with_purpose`].
pub fn verify(document: &Value) -> Result<VerifiedDocument, ProofError> {
    verify_with_purpose(document, DEFAULT_PROOF_PURPOSE)
}

/// Verifies the `eddsa-jcs-2022` proof of a secured document, as the spec's "Verify Proof"
/// algorithm says, requiring `expected_purpose`. The caller must still decide whether it trusts
/// the signer and check `expires` against its clock.
pub fn verify_with_purpose(
    document: &Value,
    expected_purpose: &str,
) -> Result<VerifiedDocument, ProofError> {
    let object = document
        .as_object()
        .ok_or_else(|| ProofError::Malformed("document must be a JSON object".to_owned()))?;
    let proof = match object.get("proof") {
        None => return Err(ProofError::MissingProof),
        Some(Value::Object(proof)) => proof,
        Some(Value::Array(_)) => {
            return Err(ProofError::Malformed(
                "proof sets (several proofs) are not supported".to_owned(),
            ));
        }
        Some(_) => return Err(ProofError::Malformed("proof must be an object".to_owned())),
    };
    let string_field = |name: &'static str| -> Result<&str, ProofError> {
        proof
            .get(name)
            .and_then(Value::as_str)
            .ok_or(ProofError::ProofField(name))
    };
    let proof_type = string_field("type")?;
    if proof_type != PROOF_TYPE {
        return Err(ProofError::ProofType(proof_type.to_owned()));
    }
    let cryptosuite = string_field("cryptosuite")?;
    if cryptosuite != CRYPTOSUITE {
        return Err(ProofError::Cryptosuite(cryptosuite.to_owned()));
    }
    let proof_purpose = string_field("proofPurpose")?;
    if proof_purpose != expected_purpose {
        return Err(ProofError::ProofPurpose {
            expected: expected_purpose.to_owned(),
            found: proof_purpose.to_owned(),
        });
    }
    let verification_method = string_field("verificationMethod")?;
    let proof_value = string_field("proofValue")?;
    let created = proof
        .get("created")
        .map(|value| check_date_time("created", value))
        .transpose()?;
    let expires = proof
        .get("expires")
        .map(|value| check_date_time("expires", value))
        .transpose()?;

    let signature = Signature::from_multibase(proof_value).map_err(ProofError::ProofValue)?;
    if proof_value.len() > MAX_PROOF_VALUE_LEN {
        return Err(ProofError::ProofValue(KeyError::TooLong));
    }
    let signer = PublicKey::from_verification_method(verification_method).map_err(|_| {
        ProofError::VerificationMethod(verification_method.chars().take(120).collect())
    })?;

    // The proof options are the proof without `proofValue`; the unsecured document is the
    // document without `proof`, its `@context` set to the proof's when the proof has one. Both
    // are canonicalised in place, without copying the document.
    let proof_context = proof.get("@context");
    if let Some(proof_context) = proof_context {
        let proof_context = context_items(proof_context);
        let document_context = object
            .get("@context")
            .map(context_items)
            .unwrap_or_default();
        if document_context.len() < proof_context.len()
            || !proof_context
                .iter()
                .zip(&document_context)
                .all(|(proof_item, document_item)| proof_item == document_item)
        {
            return Err(ProofError::ContextMismatch);
        }
    }
    let context_set: Vec<(&str, &Value)> = proof_context
        .map(|context| ("@context", context))
        .into_iter()
        .collect();
    let proof_bytes = jcs::canonicalize_edited(proof, &["proofValue"], &[])
        .map_err(|error| ProofError::Canonicalization(error.to_string()))?;
    let document_bytes = jcs::canonicalize_edited(object, &["proof"], &context_set)
        .map_err(|error| ProofError::Canonicalization(error.to_string()))?;
    let message = combined_hash(&proof_bytes, &document_bytes);
    signer
        .verify(&message, &signature)
        .map_err(|_| ProofError::BadSignature)?;
    Ok(VerifiedDocument {
        signer,
        verification_method: verification_method.to_owned(),
        proof_purpose: proof_purpose.to_owned(),
        created,
        expires,
    })
}

/// An `@context` value as a list of its items (a single string or object is a list of one).
fn context_items(context: &Value) -> Vec<&Value> {
    match context {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::keys::KeyFile;

    const UNSIGNED: &[u8] = include_bytes!("../testdata/w3c-vc-di-eddsa/unsigned.json");
    const SIGNED: &[u8] = include_bytes!("../testdata/w3c-vc-di-eddsa/signedJCS.json");
    const KEY_PAIR: &[u8] = include_bytes!("../testdata/w3c-vc-di-eddsa/keyPair.json");
    const PROOF_CANON: &str = include_str!("../testdata/w3c-vc-di-eddsa/proofCanonJCS.txt");
    const COMBINED_HASH: &str = include_str!("../testdata/w3c-vc-di-eddsa/combinedHashJCS.txt");
    const SIG_HEX: &str = include_str!("../testdata/w3c-vc-di-eddsa/sigHexJCS.txt");

    fn vector_options() -> ProofOptions {
        ProofOptions {
            created: Some(Timestamp::parse("2023-02-24T23:36:38Z").unwrap()),
            ..ProofOptions::default()
        }
    }

    #[test]
    fn reproduces_the_w3c_vector_byte_for_byte() {
        let key = KeyFile::parse(KEY_PAIR).unwrap();
        let unsigned = jcs::parse(UNSIGNED).unwrap();
        let signed = sign(&unsigned, &key, &vector_options()).unwrap();
        let expected = jcs::parse(SIGNED).unwrap();
        assert_eq!(signed["proof"], expected["proof"]);
        assert_eq!(
            jcs::canonicalize(&signed).unwrap(),
            jcs::canonicalize(&expected).unwrap()
        );

        let mut proof_config = signed["proof"].as_object().unwrap().clone();
        proof_config.remove("proofValue");
        let proof_config = Value::Object(proof_config);
        assert_eq!(
            String::from_utf8(jcs::canonicalize(&proof_config).unwrap()).unwrap(),
            PROOF_CANON.trim_end()
        );
        let combined = hash_data(&proof_config, &unsigned).unwrap();
        assert_eq!(hex::encode(combined), COMBINED_HASH.trim_end());
        let signature =
            Signature::from_multibase(signed["proof"]["proofValue"].as_str().unwrap()).unwrap();
        assert_eq!(hex::encode(signature.to_bytes()), SIG_HEX.trim_end());
    }

    #[test]
    fn the_w3c_signed_vector_verifies() {
        let signed = jcs::parse(SIGNED).unwrap();
        let verified = verify(&signed).unwrap();
        assert_eq!(
            verified.signer().to_multibase(),
            "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        );
        assert_eq!(verified.created(), Some("2023-02-24T23:36:38Z"));
    }

    #[test]
    fn every_single_character_change_is_detected() {
        let text = std::str::from_utf8(SIGNED).unwrap();
        let mut checked = 0;
        for (index, character) in text.char_indices() {
            if !character.is_ascii_alphanumeric() {
                continue;
            }
            let replacement = if character == 'a' { 'b' } else { 'a' };
            let mut changed = String::with_capacity(text.len());
            changed.push_str(&text[..index]);
            changed.push(replacement);
            changed.push_str(&text[index + character.len_utf8()..]);
            // A change may make the JSON unusable; either way it must never verify.
            if let Ok(value) = jcs::parse(changed.as_bytes()) {
                assert!(verify(&value).is_err(), "change at byte {index} verified");
            }
            checked += 1;
        }
        assert!(checked > 500);
    }

    #[test]
    fn appended_context_keeps_the_proof_valid_but_a_replaced_one_does_not() {
        let mut signed = jcs::parse(SIGNED).unwrap();
        signed["@context"]
            .as_array_mut()
            .unwrap()
            .push(Value::from("https://example.org/more/v1"));
        assert!(verify(&signed).is_ok());
        signed["@context"] = Value::from(vec!["https://www.w3.org/ns/credentials/v2"]);
        assert_eq!(verify(&signed).err(), Some(ProofError::ContextMismatch));
    }

    #[test]
    fn wrong_suite_purpose_and_method_are_named() {
        let signed = jcs::parse(SIGNED).unwrap();
        let mut changed = signed.clone();
        changed["proof"]["cryptosuite"] = Value::from("eddsa-rdfc-2022");
        assert!(matches!(verify(&changed), Err(ProofError::Cryptosuite(_))));
        let mut changed = signed.clone();
        changed["proof"]["verificationMethod"] = Value::from("https://example.com/key");
        assert!(matches!(
            verify(&changed),
            Err(ProofError::VerificationMethod(_))
        ));
        assert!(matches!(
            verify_with_purpose(&signed, "authentication"),
            Err(ProofError::ProofPurpose { .. })
        ));
        let unsigned = jcs::parse(UNSIGNED).unwrap();
        assert_eq!(verify(&unsigned).err(), Some(ProofError::MissingProof));
    }

    #[test]
    fn signing_refuses_a_method_of_another_key() {
        let key = SecretKey::generate();
        let other = SecretKey::generate();
        let unsigned = jcs::parse(UNSIGNED).unwrap();
        let options = ProofOptions {
            verification_method: Some(other.public_key().verification_method()),
            ..ProofOptions::default()
        };
        assert_eq!(
            sign(&unsigned, &key, &options).err(),
            Some(ProofError::VerificationMethodMismatch)
        );
        let signed = sign(&unsigned, &key, &ProofOptions::default()).unwrap();
        assert_eq!(verify(&signed).unwrap().signer(), &key.public_key());
        assert_eq!(
            sign(&signed, &key, &ProofOptions::default()).err(),
            Some(ProofError::AlreadySigned)
        );
    }
}
