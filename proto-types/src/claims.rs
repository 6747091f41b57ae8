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

pub mod evidence;

use crate::body::{BodyError, HolderNotice, RightId};
use crate::data_integrity::{self, ProofError, ProofOptions};
use crate::entry::EntryId;
use crate::jcs::{self, JcsError};
use crate::keys::{KeyError, PublicKey, SecretKey, Signature};
use crate::timestamp::Timestamp;

/// The VC Data Model 2.0 context every credential starts with.
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The base type every Verifiable Credential carries.
pub const VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";
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
/// [`verify_credential`] constructs it. Trust in the issuer, the validity dates and the proof's
/// dates are for the caller to judge against its clock.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// What the credential states, its shape checked by [`read_credential`]; read through
    /// `Deref` (`credential.issuer`, `credential.right_id`, …).
    content: CredentialContent,
    /// The proof's `created`, an RFC 3339 date-time, if any.
    pub proof_created: Option<String>,
    /// The proof's `expires`, an RFC 3339 date-time, if any.
    pub proof_expires: Option<String>,
}

impl std::ops::Deref for VerifiedCredential {
    type Target = CredentialContent;

    fn deref(&self) -> &CredentialContent {
        &self.content
    }
}

/// What a credential states, read without checking its proof: the shape [`read_credential`]
/// requires.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialContent {
    /// The key named by `issuer` (or `issuer.id`).
    pub issuer: PublicKey,
    /// The key named by `credentialSubject.id`.
    pub subject: PublicKey,
    /// `credentialSubject.right.id`.
    pub right_id: RightId,
    /// `credentialSubject.right.niceClasses`, empty when absent.
    pub nice_classes: Vec<u8>,
    /// `validFrom`, when present.
    pub valid_from: Option<String>,
    /// `validUntil`, when present.
    pub valid_until: Option<String>,
    /// The first `evidence[].entryId` that is an entry id.
    pub registration_entry: Option<EntryId>,
}

/// Checks that `text` is an XML Schema `dateTimeStamp` as VC Data Model 2.0 requires for
/// `validFrom` and `validUntil`, in its RFC 3339 form: `YYYY-MM-DDThh:mm:ss`, an optional
/// fraction, and a mandatory time zone `Z` or `±hh:mm`. The `T` and `Z` are uppercase.
pub fn check_date_time_stamp(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes.get(10) == Some(&b'T')
        && !text.contains('z')
        && !text.contains('t');
    if !shape_ok
        || time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .is_err()
    {
        return Err(format!(
            "{:?} is not a date-time stamp (YYYY-MM-DDThh:mm:ss with Z or an offset)",
            text.chars().take(40).collect::<String>()
        ));
    }
    Ok(())
}

fn did_key(field: &'static str, value: Option<&Value>) -> Result<PublicKey, ClaimError> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| shape(field, "must be a did:key string"))?;
    PublicKey::from_did_key(text).map_err(|e| shape(field, e.to_string()))
}

/// A JSON number that is an integer (any spelling, as after canonicalisation: `25`, `25.0`,
/// `2.5e1`).
fn integer(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|number| number.fract() == 0.0 && *number >= 0.0 && *number < 9.0e15)
            .map(|number| number as u64)
    })
}

/// Reads an `IPRightCredential` without checking its proof, refusing any document that is not
/// one in the VC Data Model 2.0 shape the verdict relies on:
///
/// - `@context` is an array whose first item is [`VC_CONTEXT_V2`];
/// - `type` is an array holding `VerifiableCredential` and [`IP_RIGHT_CREDENTIAL`];
/// - `id`, when present, is a string;
/// - `issuer` is a `did:key`, or an object whose `id` is one;
/// - `credentialSubject` is one object whose `id` is a `did:key` and whose `right` is an object
///   with a RightId `id` and, when present, `niceClasses` an array of integers 1–45;
/// - `validFrom` and `validUntil`, when present, are date-time stamps
///   ([`check_date_time_stamp`]): `null`, numbers and arrays are refused, not ignored;
/// - `evidence`, when present, is an array of objects.
pub fn read_credential(document: &Value) -> Result<CredentialContent, ClaimError> {
    let object = document
        .as_object()
        .ok_or_else(|| shape("credential", "must be a JSON object"))?;
    match object.get("@context") {
        Some(Value::Array(items))
            if items.first().and_then(Value::as_str) == Some(VC_CONTEXT_V2) => {}
        Some(Value::Array(_)) => {
            return Err(shape(
                "@context",
                format!("must start with {VC_CONTEXT_V2} (VC Data Model 2.0)"),
            ));
        }
        Some(_) => {
            return Err(shape(
                "@context",
                format!("must be an array starting with {VC_CONTEXT_V2}"),
            ));
        }
        None => return Err(shape("@context", "missing")),
    }
    let types = match object.get("type") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(shape(
                "type",
                format!(
                    "must be an array holding {VERIFIABLE_CREDENTIAL} and {IP_RIGHT_CREDENTIAL}"
                ),
            ));
        }
        None => return Err(shape("type", "missing")),
    };
    for required in [VERIFIABLE_CREDENTIAL, IP_RIGHT_CREDENTIAL] {
        if !types.iter().any(|item| item.as_str() == Some(required)) {
            return Err(shape("type", format!("does not include {required}")));
        }
    }
    if object.get("id").is_some_and(|id| !id.is_string()) {
        return Err(shape("id", "must be a string"));
    }
    let issuer = match object.get("issuer") {
        Some(Value::Object(issuer)) => did_key("issuer", issuer.get("id"))?,
        other => did_key("issuer", other)?,
    };
    let subject = match object.get("credentialSubject") {
        Some(Value::Object(subject)) => subject,
        Some(_) => return Err(shape("credentialSubject", "must be one JSON object")),
        None => return Err(shape("credentialSubject", "missing")),
    };
    let subject_key = did_key("credentialSubject", subject.get("id"))?;
    let right = subject
        .get("right")
        .and_then(Value::as_object)
        .ok_or_else(|| shape("credentialSubject", "right must be an object"))?;
    let right_id = right
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("credentialSubject", "right has no id"))
        .and_then(|id| RightId::parse(id).map_err(|e| shape("credentialSubject", e.to_string())))?;
    let nice_classes = match right.get("niceClasses") {
        None => Vec::new(),
        Some(Value::Array(classes)) => classes
            .iter()
            .map(|class| {
                integer(class)
                    .filter(|class| (1..=45).contains(class))
                    .and_then(|class| u8::try_from(class).ok())
                    .ok_or_else(|| {
                        shape(
                            "credentialSubject",
                            "right.niceClasses must hold integers 1 to 45",
                        )
                    })
            })
            .collect::<Result<Vec<u8>, ClaimError>>()?,
        Some(_) => {
            return Err(shape(
                "credentialSubject",
                "right.niceClasses must be an array",
            ));
        }
    };
    let date = |name: &'static str| -> Result<Option<String>, ClaimError> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => {
                check_date_time_stamp(text).map_err(|message| shape(name, message))?;
                Ok(Some(text.clone()))
            }
            Some(other) => Err(shape(
                name,
                format!(
                    "must be a date-time stamp string (VC Data Model 2.0), not {}",
                    json_type(other)
                ),
            )),
        }
    };
    let valid_from = date("validFrom")?;
    let valid_until = date("validUntil")?;
    let registration_entry = match object.get("evidence") {
        None => None,
        Some(Value::Array(items)) => {
            if !items.iter().all(Value::is_object) {
                return Err(shape("evidence", "must be an array of objects"));
            }
            items
                .iter()
                .find_map(|item| item.get("entryId").and_then(Value::as_str))
                .and_then(|id| EntryId::from_hex(id).ok())
        }
        Some(_) => return Err(shape("evidence", "must be an array of objects")),
    };
    Ok(CredentialContent {
        issuer,
        subject: subject_key,
        right_id,
        nice_classes,
        valid_from,
        valid_until,
        registration_entry,
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Verifies an `IPRightCredential`: its shape ([`read_credential`]), its `eddsa-jcs-2022`
/// proof, and that the proof's key is the `issuer`.
pub fn verify_credential(document: &Value) -> Result<VerifiedCredential, ClaimError> {
    verify_read_credential(document, read_credential(document)?)
}

/// [`verify_credential`] of a document whose shape [`read_credential`] has read as `content`:
/// the proof, and that the proof's key is the `issuer`.
pub fn verify_read_credential(
    document: &Value,
    content: CredentialContent,
) -> Result<VerifiedCredential, ClaimError> {
    let verified = data_integrity::verify(document)?;
    if &content.issuer != verified.signer() {
        return Err(shape("issuer", "is not the key that signed the proof"));
    }
    Ok(VerifiedCredential {
        content,
        proof_created: verified.created().map(str::to_owned),
        proof_expires: verified.expires().map(str::to_owned),
    })
}

/// The message a holder signs: [`NOTICE_SIGNATURE_TAG`] ‖ the canonical notice without its
/// `signature` member.
pub fn notice_signing_message(notice: &Value) -> Result<Vec<u8>, ClaimError> {
    let empty = serde_json::Map::new();
    let canonical =
        jcs::canonicalize_edited(notice.as_object().unwrap_or(&empty), &["signature"], &[])?;
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
    check_notice_signature(notice, &decoded)?;
    Ok(decoded)
}

/// Checks the signature of `notice`, which [`HolderNotice::decode`] read as `decoded`, under
/// its `holder` key: [`verify_notice`] without decoding it again (the signing input is the one
/// the decode kept, when it kept one).
pub fn check_notice_signature(notice: &Value, decoded: &HolderNotice) -> Result<(), ClaimError> {
    let signature = Signature::from_multibase(&decoded.signature)?;
    let checked = match decoded.unsigned_canonical() {
        Some(canonical) => decoded
            .holder
            .verify_parts(&[NOTICE_SIGNATURE_TAG, canonical], &signature),
        None => decoded
            .holder
            .verify(&notice_signing_message(notice)?, &signature),
    };
    checked.map_err(|_| ClaimError::NoticeSignature)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
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

    fn signed_credential(edit: impl FnOnce(&mut Value)) -> Value {
        let office = SecretKey::from_seed(&[9; 32]);
        let now = Timestamp::parse("2026-11-28T10:00:00Z").unwrap();
        let mut document = credential_document(
            "urn:uuid:1",
            &office.public_key(),
            &SecretKey::from_seed(&[8; 32]).public_key(),
            &claims(),
            &now,
            Some(&Timestamp::parse("2030-01-15T23:59:59Z").unwrap()),
        );
        edit(&mut document);
        // Signed after the edit: only the shape can be wrong.
        sign_credential(&document, &office, &now).unwrap()
    }

    fn shape_field(document: &Value) -> &'static str {
        match verify_credential(document) {
            Err(ClaimError::Shape { field, message }) => {
                assert!(!message.ends_with('.') && !message.is_empty());
                field
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn issue_10_validity_dates_must_be_date_time_stamps() {
        assert!(verify_credential(&signed_credential(|_| {})).is_ok());
        for bad in [
            json!(1_000_000_000),
            Value::Null,
            json!(["2030-01-01T00:00:00Z"]),
            json!("2030-01-01"),
            json!("2030-01-01T00:00:00"),
            json!("2030-01-01 00:00:00Z"),
            json!("2030-01-01t00:00:00z"),
            json!("tomorrow"),
        ] {
            let document = signed_credential(|d| d["validUntil"] = bad.clone());
            assert_eq!(shape_field(&document), "validUntil", "{bad}");
        }
        let document = signed_credential(|d| d["validFrom"] = json!(1_700_000_000));
        assert_eq!(shape_field(&document), "validFrom");
        // Offsets and fractions are date-time stamps.
        for good in ["2030-01-01T00:00:00+02:00", "2030-01-01T00:00:00.5Z"] {
            let document = signed_credential(|d| d["validUntil"] = json!(good));
            assert!(verify_credential(&document).is_ok(), "{good}");
        }
    }

    #[test]
    fn issue_10_documents_that_are_not_verifiable_credentials_are_refused() {
        let document = signed_credential(|d| d["type"] = json!([IP_RIGHT_CREDENTIAL]));
        assert_eq!(shape_field(&document), "type");
        let document = signed_credential(|d| d["type"] = json!(IP_RIGHT_CREDENTIAL));
        assert_eq!(shape_field(&document), "type");
        let document = signed_credential(|d| {
            d.as_object_mut().unwrap().remove("@context");
        });
        assert_eq!(shape_field(&document), "@context");
        let document = signed_credential(|d| {
            d["@context"] = json!(["https://www.w3.org/2018/credentials/v1", VC_CONTEXT_V2]);
        });
        assert_eq!(shape_field(&document), "@context");
        let document = signed_credential(|d| d["@context"] = json!(VC_CONTEXT_V2));
        assert_eq!(shape_field(&document), "@context");
        let document = signed_credential(|d| d["credentialSubject"] = json!([]));
        assert_eq!(shape_field(&document), "credentialSubject");
        let document = signed_credential(|d| {
            d["credentialSubject"]["right"]["niceClasses"] = json!([25, 46]);
        });
        assert_eq!(shape_field(&document), "credentialSubject");
        let document = signed_credential(|d| d["evidence"] = json!("entry"));
        assert_eq!(shape_field(&document), "evidence");
        // Appended contexts stay fine.
        let document = signed_credential(|d| {
            d["@context"] = json!([VC_CONTEXT_V2, "https://example.org/more/v1"]);
        });
        assert!(verify_credential(&document).is_ok());
    }

    #[test]
    fn issue_10_the_proof_dates_are_returned_for_the_caller_to_check() {
        let mut document = signed_credential(|_| {});
        let verified = verify_credential(&document).unwrap();
        assert_eq!(
            verified.proof_created.as_deref(),
            Some("2026-11-28T10:00:00Z")
        );
        assert_eq!(verified.proof_expires, None);
        // A malformed expires fails the proof check itself.
        document["proof"]["expires"] = json!("soon");
        assert!(matches!(
            verify_credential(&document),
            Err(ClaimError::Proof(ProofError::DateTime { .. }))
        ));
    }

    /// The worked example of `docs/protocol.md` §6.5.2, cross-checked there with Python's
    /// `cryptography` package.
    #[test]
    fn the_notice_signature_golden_vector() {
        use sha2::{Digest, Sha256};
        let holder = SecretKey::from_seed(&crate::body::examples::HOLDER_SEED);
        let mut unsigned = crate::body::examples::holder_notice();
        unsigned.as_object_mut().unwrap().remove("signature");
        let message = notice_signing_message(&unsigned).unwrap();
        assert_eq!(message.len(), 1047);
        assert!(message.starts_with(b"rightsnet/notice/v1\n{\"created\":\"2026-11-28T15:04:05Z\""));
        assert!(message.ends_with(b"\"right_id\":\"FR-TM-4123456\",\"v\":1}"));
        assert_eq!(
            hex::encode(Sha256::digest(&message)),
            "b2c033de0f871001939f8ee8c36e3524180a75cb2ce88cdc001e3e833e3c5e76"
        );
        let signed = sign_notice(&unsigned, &holder).unwrap();
        assert_eq!(
            signed["signature"],
            "z2Md1g2SqLqm41cbEAUMw83trGWjCp4mStj6wSXG3wQsQMcm4Tbg6vwhDJqUo6C8mqntrrZgQJT2odPZHMHuTe25P"
        );
        assert_eq!(
            hex::encode(
                Signature::from_multibase(signed["signature"].as_str().unwrap())
                    .unwrap()
                    .to_bytes()
            ),
            "43ccb73b33c4a95ced82cda3907d928a6a9764459eb93f2411919f4aa7b07eaaa49b4b50e8e00b32cec421b1a1acd18aa31074d61ad162c2be91e9c545f1ec0a"
        );
        assert!(verify_notice(&signed).is_ok());
    }

    #[test]
    fn notices_sign_and_verify_under_the_holder_key() {
        let holder = SecretKey::from_seed(&crate::body::examples::HOLDER_SEED);
        let mut unsigned = crate::body::examples::holder_notice();
        unsigned.as_object_mut().unwrap().remove("signature");
        let signed = sign_notice(&unsigned, &holder).unwrap();
        let notice = verify_notice(&signed).unwrap();
        assert_eq!(notice.holder, holder.public_key());
        // The signing input the decode keeps is the one computed from the JSON, also when the
        // JSON spells a number another way (`1.0` for `1`).
        let mut respelled = signed.clone();
        respelled["v"] = json!(1.0);
        for value in [&signed, &respelled] {
            let decoded = HolderNotice::decode(value).unwrap();
            let message = notice_signing_message(value).unwrap();
            assert_eq!(
                decoded.unsigned_canonical(),
                Some(&message[NOTICE_SIGNATURE_TAG.len()..])
            );
            assert!(check_notice_signature(value, &decoded).is_ok());
        }
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
