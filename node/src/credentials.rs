//! Credential issuance by an office: what this node may attest, when, and how the
//! `IPRightCredential` is built and signed.
//!
//! An office attests only rights it registered itself (across its key rotations), only while
//! they are alive, and only to the holder key its register names. The credential is valid from
//! now until the end of the right's expiry day at the latest (earlier when the request asks).
//! The API parses the request and loads the right; [`attest`] decides, [`issue`] signs.
//!
//! Every credential is logged before it is given out (protocol §6.10): [`issue_logged`] is what
//! the writer runs once it has allocated the credential's status index; it signs the
//! credential and makes the `credential` body ([`log_body`]) with its [`credential_digest`].

use proto_types::body::{CredentialId, CredentialV1, Digest, RightId};
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::claims::evidence::add_registration_proof;
use proto_types::claims::{ClaimError, RightClaims, credential_document, sign_credential};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::status_list::credential_status_entries;
use proto_types::timestamp::Timestamp;
use serde_json::Value;
use sha2::Digest as _;

use crate::ingest::{IssueFn, Issued};

use crate::rights::{HistoryChange, Liveness, RightState};

/// Why this office does not attest a right to a key.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Another office registered the right: only the register that holds it attests it.
    #[error("right {right_id} was registered by {registered_by}, not by this office")]
    NotThisOffice {
        /// The right.
        right_id: String,
        /// The office that registered it (its did:key).
        registered_by: String,
    },
    /// The right is not alive today (cancelled, expired, not registered yet).
    #[error("right {right_id} is not alive: {}", liveness_json(.liveness))]
    NotAlive {
        /// The right.
        right_id: String,
        /// Its state today.
        liveness: Liveness,
    },
    /// The register names another holder key, or none.
    #[error("the registry does not name {holder} as the holder key of {right_id}")]
    NotTheHolder {
        /// The key asked for (its did:key).
        holder: String,
        /// The right.
        right_id: String,
    },
    /// The right's state has no registration in its history, or an id that does not parse: the
    /// store is inconsistent, which is a bug, not a refusal the caller can act on.
    #[error("{0}")]
    Inconsistent(String),
}

fn liveness_json(liveness: &Liveness) -> String {
    serde_json::to_string(liveness).unwrap_or_default()
}

/// What this office attests, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    /// The claims the credential states.
    pub claims: RightClaims,
    /// The credential's `validUntil`, if any.
    pub valid_until: Option<Timestamp>,
}

/// Decides whether this office (`office`: its original key, across rotations) attests `right`
/// to `holder` at `now`, and what it attests: the register's view of the right, resting on its
/// latest registration or correction entry. `requested_until` can only shorten the validity.
pub fn attest(
    right: &RightState,
    office: &PublicKey,
    holder: &PublicKey,
    requested_until: Option<Timestamp>,
    now: &Timestamp,
) -> Result<Attestation, Refusal> {
    let right_id = right.right_id.as_str();
    if right.registered_by != *office {
        return Err(Refusal::NotThisOffice {
            right_id: right_id.to_owned(),
            registered_by: right.registered_by.to_did_key(),
        });
    }
    match right.liveness(&now.date()) {
        Liveness::Alive => {}
        liveness => {
            return Err(Refusal::NotAlive {
                right_id: right_id.to_owned(),
                liveness,
            });
        }
    }
    if right.holder.key.as_ref() != Some(holder) {
        return Err(Refusal::NotTheHolder {
            holder: holder.to_did_key(),
            right_id: right_id.to_owned(),
        });
    }
    // Valid until the end of the right's expiry day at the latest.
    let expiry_end = right
        .expiry_date
        .as_ref()
        .and_then(|date| Timestamp::parse(&format!("{date}T23:59:59Z")).ok());
    let valid_until = match (requested_until, expiry_end) {
        (Some(requested), Some(end)) => Some(requested.min(end)),
        (Some(requested), None) => Some(requested),
        (None, end) => end,
    };
    let Some(registration_entry) =
        right.last_of(&[HistoryChange::Registration, HistoryChange::Correction])
    else {
        return Err(Refusal::Inconsistent(
            "right without a registration in its history".to_owned(),
        ));
    };
    let claims = RightClaims {
        right_id: RightId::parse(right_id).map_err(|error| {
            Refusal::Inconsistent(format!("stored right id {right_id:?}: {error}"))
        })?,
        right_type: right.right_type.as_str().to_owned(),
        mark: right.mark_text.clone().or_else(|| right.title.clone()),
        nice_classes: right.nice_classes.clone(),
        holder_name: right.holder.name.clone(),
        expiry_date: right
            .expiry_date
            .as_ref()
            .map(|date| date.as_str().to_owned()),
        registration_entry,
    };
    Ok(Attestation {
        claims,
        valid_until,
    })
}

/// A fresh credential id: `urn:rightsnet:credential:` and 16 random bytes in hex.
pub fn new_credential_id() -> String {
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    format!("urn:rightsnet:credential:{}", hex::encode(nonce))
}

/// Builds and signs the credential `id` of `attestation` to `holder`, issued by `key` at `now`
/// (its `validFrom` and the proof's `created`).
pub fn issue(
    id: &str,
    attestation: &Attestation,
    key: &SecretKey,
    holder: &PublicKey,
    now: &Timestamp,
) -> Result<Value, ClaimError> {
    let document = credential_document(
        id,
        &key.public_key(),
        holder,
        &attestation.claims,
        now,
        attestation.valid_until.as_ref(),
    );
    sign_credential(&document, key, now)
}

/// The digest a credential is logged under: `sha256:` and the SHA-256 of its JCS (RFC 8785),
/// proof included (protocol §6.10).
pub fn credential_digest(credential: &Value) -> Result<Digest, proto_types::jcs::JcsError> {
    let canonical = proto_types::jcs::canonicalize(credential)?;
    Ok(Digest::from_sha256(
        &sha2::Sha256::digest(&canonical).into(),
    ))
}

/// The `credential` body that logs `signed`, issued to `holder` for `right_id` from
/// `valid_from`, at `status_index`.
pub fn log_body(
    signed: &Value,
    right_id: &RightId,
    holder: &PublicKey,
    valid_from: &Timestamp,
    valid_until: Option<&Timestamp>,
    status_index: u32,
) -> Result<CredentialV1, String> {
    let id = signed
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the credential has no id")?;
    let body = CredentialV1 {
        v: 1,
        credential_id: CredentialId::parse(id).map_err(|error| error.to_string())?,
        digest: credential_digest(signed).map_err(|error| error.to_string())?,
        right_id: right_id.clone(),
        subject: *holder,
        valid_from: valid_from.clone(),
        valid_until: valid_until.cloned(),
        status_index,
    };
    body.validate().map_err(|error| error.to_string())?;
    Ok(body)
}

/// What the writer runs to issue the credential `id` of `attestation` to `holder` at `now`
/// once it has allocated the status index, with its current key: the signed credential, which
/// carries its `credentialStatus` entries under `status_base_url` (protocol §7.5) and, when
/// given, the tlog-proof of its registration entry in its evidence (§6.5.3), and the body
/// that logs it.
pub fn issue_logged(
    id: String,
    attestation: Attestation,
    holder: PublicKey,
    now: Timestamp,
    status_base_url: String,
    registration_proof: Option<TlogProof>,
) -> IssueFn {
    Box::new(move |status_index, key: &SecretKey| {
        let mut document = credential_document(
            &id,
            &key.public_key(),
            &holder,
            &attestation.claims,
            &now,
            attestation.valid_until.as_ref(),
        );
        let status =
            credential_status_entries(&status_base_url, &key.public_key(), u64::from(status_index))
                .map_err(|error| error.to_string())?;
        if let Some(object) = document.as_object_mut() {
            object.insert("credentialStatus".to_owned(), status);
        }
        if let Some(proof) = &registration_proof {
            add_registration_proof(&mut document, proof);
        }
        let signed = sign_credential(&document, key, &now).map_err(|e| e.to_string())?;
        let body = log_body(
            &signed,
            &attestation.claims.right_id,
            &holder,
            &now,
            attestation.valid_until.as_ref(),
            status_index,
        )?;
        Ok(Issued {
            credential: signed,
            body,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{Body, EntryKind, RightStatus, examples};
    use proto_types::claims::verify_credential;
    use proto_types::entry::{EntryId, UnsignedEntry};
    use proto_types::timestamp::Date;

    use crate::rights::{EntryMeta, apply_registration};

    const NOW: &str = "2026-03-01T12:00:00Z";

    fn timestamp(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("a timestamp")
    }

    /// The example registration (expiring 2034-11-04), registered by the example office, as
    /// the right's state.
    fn registered() -> (RightState, SecretKey, EntryId) {
        let office = SecretKey::from_seed(&examples::OFFICE_SEED);
        let entry = UnsignedEntry {
            seq: 1,
            prev: None,
            timestamp: timestamp("2026-01-01T00:00:00Z"),
            body: Body::decode(EntryKind::Registration, &examples::registration())
                .expect("the example registration"),
        }
        .sign(&office)
        .expect("signs");
        let Body::Registration(record) = entry.body() else {
            unreachable!("a registration body")
        };
        let state = apply_registration(None, &EntryMeta::of(&entry, office.public_key()), record)
            .expect("applies");
        (state, office, entry.id())
    }

    #[test]
    fn attests_a_live_right_of_this_office_to_its_holder_until_its_expiry_day_ends() {
        let (right, office, registration) = registered();
        let holder = right.holder.key.expect("the example names a holder key");
        let now = timestamp(NOW);
        let attestation =
            attest(&right, &office.public_key(), &holder, None, &now).expect("attested");
        assert_eq!(
            attestation.claims.right_id.as_str(),
            right.right_id.as_str()
        );
        assert_eq!(attestation.claims.registration_entry, registration);
        assert_eq!(attestation.claims.holder_name, right.holder.name);
        let expiry = right.expiry_date.clone().expect("the example expires");
        assert_eq!(
            attestation.valid_until,
            Some(timestamp(&format!("{expiry}T23:59:59Z")))
        );
        // A request may shorten the validity, never extend it.
        let sooner = timestamp("2027-01-01T00:00:00Z");
        let shorter = attest(
            &right,
            &office.public_key(),
            &holder,
            Some(sooner.clone()),
            &now,
        )
        .expect("attested");
        assert_eq!(shorter.valid_until, Some(sooner));
        let later = timestamp("2099-01-01T00:00:00Z");
        let capped =
            attest(&right, &office.public_key(), &holder, Some(later), &now).expect("attested");
        assert_eq!(capped.valid_until, attestation.valid_until);
        // The signed credential verifies and names the office and the holder.
        let id = new_credential_id();
        assert!(id.starts_with("urn:rightsnet:credential:"));
        assert_eq!(id.len(), "urn:rightsnet:credential:".len() + 32);
        let signed = issue(&id, &attestation, &office, &holder, &now).expect("signs");
        let verified = verify_credential(&signed).expect("verifies");
        assert_eq!(verified.issuer, office.public_key());
        assert_eq!(verified.subject, holder);
        assert_eq!(signed["id"], id.as_str());
        assert_eq!(signed["validFrom"], NOW);
    }

    #[test]
    fn refuses_another_offices_right_a_dead_right_and_another_holder() {
        let (right, office, _) = registered();
        let holder = right.holder.key.expect("a holder key");
        let now = timestamp(NOW);
        let stranger = SecretKey::generate().public_key();
        let error = attest(&right, &stranger, &holder, None, &now).expect_err("not ours");
        assert!(matches!(error, Refusal::NotThisOffice { .. }));
        assert_eq!(
            error.to_string(),
            format!(
                "right {} was registered by {}, not by this office",
                right.right_id.as_str(),
                office.public_key()
            )
        );
        let error = attest(&right, &office.public_key(), &stranger, None, &now)
            .expect_err("another holder");
        assert_eq!(
            error.to_string(),
            format!(
                "the registry does not name {stranger} as the holder key of {}",
                right.right_id.as_str()
            )
        );
        let after_expiry = timestamp("2040-01-01T00:00:00Z");
        let error = attest(&right, &office.public_key(), &holder, None, &after_expiry)
            .expect_err("expired");
        assert!(matches!(error, Refusal::NotAlive { .. }), "{error}");
        assert!(
            error.to_string().starts_with(&format!(
                "right {} is not alive: {{\"state\":\"expired\"",
                right.right_id.as_str()
            )),
            "{error}"
        );
        let mut filed = right.clone();
        filed.status = RightStatus::Filed;
        filed.expiry_date = Some(Date::parse("2035-01-01").expect("a date"));
        let error =
            attest(&filed, &office.public_key(), &holder, None, &now).expect_err("not registered");
        assert!(
            error
                .to_string()
                .ends_with("is not alive: {\"state\":\"not_registered\"}"),
            "{error}"
        );
        let mut no_history = right.clone();
        no_history.history.clear();
        assert!(matches!(
            attest(&no_history, &office.public_key(), &holder, None, &now),
            Err(Refusal::Inconsistent(_))
        ));
    }
}
