//! Cross-border claims: the `IPRightCredential` an office issues to a holder (a W3C Verifiable
//! Credential secured with `eddsa-jcs-2022`), and the holder's signed takedown notice.
//!
//! A credential verifies offline with nothing but the issuing office's key: its proof's
//! verification method is the office's `did:key`, and [`verify_credential`] also requires the
//! `issuer` to be that key. Whether the office is trusted, and for which jurisdiction, is the
//! verifier's policy, not part of the credential.
//!
//! A notice is signed by the holder over [`NOTICE_SIGNATURE_TAG`] ‖ the canonical notice
//! without its `signature` member. The tag keeps a notice signature from ever being valid as a
//! feed-entry signature or a Data Integrity proof (those sign other tags or exactly 64 bytes).

use serde_json::{Map, Value, json};

use crate::body::{BodyError, HolderNotice, RightId};
use crate::data_integrity::{self, ProofError, ProofOptions};
use crate::entry::EntryId;
use crate::jcs::{self, JcsError};
use crate::keys::{KeyError, PublicKey, SecretKey, Signature};
use crate::timestamp::Timestamp;

/// The VC Data Model 2.0 context every credential starts with.
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The credential type of an ownership attestation.
pub const IP_RIGHT_CREDENTIAL: &str = "IPRightCredential";
/// The evidence type naming the registration entry a credential rests on.
pub const REGISTRY_ENTRY_EVIDENCE: &str = "RightsnetRegistryEntry";
/// Domain-separation tag of holder notice signatures.
pub const NOTICE_SIGNATURE_TAG: &[u8] = b"rightsnet/notice/v1\n";

/// Why a credential or notice is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The Data Integrity proof failed.
    #[error("credential proof: {0}")]
    Proof(#[from] ProofError),
    /// The credential is not an `IPRightCredential` of the expected shape.
    #[error("credential {field}: {message}")]
    Shape {
        /// The member at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The notice's fields are invalid.
    #[error("notice {0}")]
    Notice(#[from] BodyError),
    /// The notice's signature does not verify under its holder key.
    #[error("notice signature does not verify under the holder key")]
    NoticeSignature,
    /// A key or signature is malformed.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// Canonicalisation failed.
    #[error("{0}")]
    Json(#[from] JcsError),
}

fn shape(field: &'static str, message: impl Into<String>) -> ClaimError {
    ClaimError::Shape {
        field,
        message: message.into(),
    }
}

/// What an office attests about a right in a credential.
#[derive(Debug, Clone, PartialEq)]
pub struct RightClaims {
    /// The right.
    pub right_id: RightId,
    /// `trademark`, `design`, `patent` or `copyright`.
    pub right_type: String,
    /// Mark text or title.
    pub mark: Option<String>,
    /// Nice classes.
    pub nice_classes: Vec<u8>,
    /// The holder's name in the register.
    pub holder_name: String,
    /// The right's expiry date, when it has one.
    pub expiry_date: Option<String>,
    /// The registration entry the attestation rests on.
    pub registration_entry: EntryId,
}

/// Builds an unsigned `IPRightCredential` for `subject` (the holder's key).
pub fn credential_document(
    id: &str,
    issuer: &PublicKey,
    subject: &PublicKey,
    claims: &RightClaims,
    valid_from: &Timestamp,
    valid_until: Option<&Timestamp>,
) -> Value {
    let mut right = Map::new();
    right.insert("id".to_owned(), json!(claims.right_id.as_str()));
    right.insert("type".to_owned(), json!(claims.right_type));
    right.insert(
        "jurisdiction".to_owned(),
        json!(claims.right_id.jurisdiction().as_str()),
    );
    right.insert("number".to_owned(), json!(claims.right_id.number()));
    if let Some(mark) = &claims.mark {
        right.insert("mark".to_owned(), json!(mark));
    }
    if !claims.nice_classes.is_empty() {
        right.insert("niceClasses".to_owned(), json!(claims.nice_classes));
    }
    right.insert("holderName".to_owned(), json!(claims.holder_name));
    if let Some(expiry) = &claims.expiry_date {
        right.insert("expiryDate".to_owned(), json!(expiry));
    }
    let mut document = json!({
        "@context": [VC_CONTEXT_V2],
        "id": id,
        "type": ["VerifiableCredential", IP_RIGHT_CREDENTIAL],
        "issuer": issuer.to_did_key(),
        "validFrom": valid_from.as_str(),
        "credentialSubject": {
            "id": subject.to_did_key(),
            "right": Value::Object(right),
        },
        "evidence": [{
            "id": format!("urn:rightsnet:entry:{}", claims.registration_entry),
            "type": [REGISTRY_ENTRY_EVIDENCE],
            "entryId": claims.registration_entry.to_hex(),
        }],
    });
    if let (Some(until), Some(object)) = (valid_until, document.as_object_mut()) {
        object.insert("validUntil".to_owned(), json!(until.as_str()));
    }
    document
}

/// Signs a credential document as the issuing office.
pub fn sign_credential(
    document: &Value,
    issuer: &SecretKey,
    created: &Timestamp,
) -> Result<Value, ClaimError> {
    Ok(data_integrity::sign(
        document,
        issuer,
        &ProofOptions {
            created: Some(created.clone()),
            ..ProofOptions::default()
        },
    )?)
}

/// An `IPRightCredential` whose proof verified and whose issuer signed it. Only
/// [`verify_credential`] constructs it. Trust in the issuer and validity dates are for the
/// caller to judge.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// The issuing office's key.
    pub issuer: PublicKey,
    /// The holder's key (`credentialSubject.id`).
    pub subject: PublicKey,
    /// The right attested.
    pub right_id: RightId,
    /// Nice classes attested.
    pub nice_classes: Vec<u8>,
    /// `validFrom`.
    pub valid_from: Option<String>,
    /// `validUntil`.
    pub valid_until: Option<String>,
    /// The registration entry named as evidence.
    pub registration_entry: Option<EntryId>,
}

/// Verifies an `IPRightCredential`: its `eddsa-jcs-2022` proof, that the proof's key is the
/// `issuer`, and the shape of the subject.
pub fn verify_credential(document: &Value) -> Result<VerifiedCredential, ClaimError> {
    let verified = data_integrity::verify(document)?;
    let types = document
        .get("type")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("type", "missing"))?;
    if !types
        .iter()
        .any(|t| t.as_str() == Some(IP_RIGHT_CREDENTIAL))
    {
        return Err(shape("type", format!("is not an {IP_RIGHT_CREDENTIAL}")));
    }
    let issuer_text = match document.get("issuer") {
        Some(Value::String(text)) => text.as_str(),
        Some(Value::Object(object)) => object
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| shape("issuer", "has no id"))?,
        _ => return Err(shape("issuer", "missing")),
    };
    let issuer =
        PublicKey::from_did_key(issuer_text).map_err(|e| shape("issuer", e.to_string()))?;
    if &issuer != verified.signer() {
        return Err(shape("issuer", "is not the key that signed the proof"));
    }
    let subject = document
        .get("credentialSubject")
        .ok_or_else(|| shape("credentialSubject", "missing"))?;
    let subject_key = subject
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("credentialSubject", "has no id"))
        .and_then(|id| {
            PublicKey::from_did_key(id).map_err(|e| shape("credentialSubject", e.to_string()))
        })?;
    let right = subject
        .get("right")
        .ok_or_else(|| shape("credentialSubject", "has no right"))?;
    let right_id = right
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("credentialSubject", "right has no id"))
        .and_then(|id| RightId::parse(id).map_err(|e| shape("credentialSubject", e.to_string())))?;
    let nice_classes = right
        .get("niceClasses")
        .and_then(Value::as_array)
        .map(|classes| {
            classes
                .iter()
                .filter_map(|class| class.as_u64().and_then(|c| u8::try_from(c).ok()))
                .collect()
        })
        .unwrap_or_default();
    let registration_entry = document
        .get("evidence")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .find_map(|item| item.get("entryId").and_then(Value::as_str))
        })
        .and_then(|id| EntryId::from_hex(id).ok());
    let date = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(VerifiedCredential {
        issuer,
        subject: subject_key,
        right_id,
        nice_classes,
        valid_from: date("validFrom"),
        valid_until: date("validUntil"),
        registration_entry,
    })
}

/// The message a holder signs: [`NOTICE_SIGNATURE_TAG`] ‖ the canonical notice without its
/// `signature` member.
pub fn notice_signing_message(notice: &Value) -> Result<Vec<u8>, ClaimError> {
    let mut unsigned = notice.as_object().cloned().unwrap_or_default();
    unsigned.remove("signature");
    let canonical = jcs::canonicalize(&Value::Object(unsigned))?;
    let mut message = Vec::with_capacity(NOTICE_SIGNATURE_TAG.len() + canonical.len());
    message.extend_from_slice(NOTICE_SIGNATURE_TAG);
    message.extend_from_slice(&canonical);
    Ok(message)
}

/// Signs a notice (every member but `signature`) as the holder and checks the result decodes.
pub fn sign_notice(unsigned: &Value, holder: &SecretKey) -> Result<Value, ClaimError> {
    let message = notice_signing_message(unsigned)?;
    let mut signed = unsigned.as_object().cloned().unwrap_or_default();
    signed.insert(
        "signature".to_owned(),
        json!(holder.sign(&message).to_multibase()),
    );
    let signed = Value::Object(signed);
    HolderNotice::decode(&signed)?;
    Ok(signed)
}

/// Decodes a notice and checks its signature under its `holder` key.
pub fn verify_notice(notice: &Value) -> Result<HolderNotice, ClaimError> {
    let decoded = HolderNotice::decode(notice)?;
    let signature = Signature::from_multibase(&decoded.signature)?;
    decoded
        .holder
        .verify(&notice_signing_message(notice)?, &signature)
        .map_err(|_| ClaimError::NoticeSignature)?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn claims() -> RightClaims {
        RightClaims {
            right_id: RightId::parse("FR-TM-4123456").unwrap(),
            right_type: "trademark".to_owned(),
            mark: Some("Café Lumière".to_owned()),
            nice_classes: vec![30, 43],
            holder_name: "Lumière SARL".to_owned(),
            expiry_date: Some("2030-01-15".to_owned()),
            registration_entry: EntryId([5; 32]),
        }
    }

    #[test]
    fn credentials_round_trip_and_bind_issuer_to_proof() {
        let office = SecretKey::generate();
        let holder = SecretKey::generate();
        let now = Timestamp::parse("2026-11-28T10:00:00Z").unwrap();
        let document = credential_document(
            "urn:uuid:1",
            &office.public_key(),
            &holder.public_key(),
            &claims(),
            &now,
            None,
        );
        let signed = sign_credential(&document, &office, &now).unwrap();
        let verified = verify_credential(&signed).unwrap();
        assert_eq!(verified.issuer, office.public_key());
        assert_eq!(verified.subject, holder.public_key());
        assert_eq!(verified.right_id.as_str(), "FR-TM-4123456");
        assert_eq!(verified.nice_classes, vec![30, 43]);
        assert_eq!(verified.registration_entry, Some(EntryId([5; 32])));

        // Signed by one key, claiming another issuer: refused.
        let mut other = document.clone();
        other["issuer"] = json!(SecretKey::generate().public_key().to_did_key());
        let signed = sign_credential(&other, &office, &now).unwrap();
        assert!(matches!(
            verify_credential(&signed),
            Err(ClaimError::Shape {
                field: "issuer",
                ..
            })
        ));
        // Tampered: the proof fails.
        let mut tampered = sign_credential(&document, &office, &now).unwrap();
        tampered["credentialSubject"]["right"]["niceClasses"] = json!([30, 43, 25]);
        assert!(matches!(
            verify_credential(&tampered),
            Err(ClaimError::Proof(_))
        ));
    }

    #[test]
    fn notices_sign_and_verify_under_the_holder_key() {
        let holder = SecretKey::from_seed(&crate::body::examples::HOLDER_SEED);
        let mut unsigned = crate::body::examples::holder_notice();
        unsigned.as_object_mut().unwrap().remove("signature");
        let signed = sign_notice(&unsigned, &holder).unwrap();
        let notice = verify_notice(&signed).unwrap();
        assert_eq!(notice.holder, holder.public_key());
        let mut changed = signed.clone();
        changed["good_faith_statement"] = json!("Something else entirely.");
        assert_eq!(
            verify_notice(&changed).err(),
            Some(ClaimError::NoticeSignature)
        );
        // Signed by another key: refused.
        let forged = sign_notice(&unsigned, &SecretKey::generate()).unwrap();
        assert_eq!(
            verify_notice(&forged).err(),
            Some(ClaimError::NoticeSignature)
        );
    }
}
