//! One valid body of every entry kind, as JSON, for tests and documentation in any crate.
//!
//! The examples tell one story: the French office (key from [`OFFICE_SEED`]) registers the
//! trademark `FR-TM-4123456` for Maison Étoile (key from [`HOLDER_SEED`]) and renews it; the
//! holder sends a notice to a marketplace (key from [`MARKETPLACE_SEED`]), which accepts it,
//! removes the listing and records the seller's counter-notice; the office announces itself and
//! later rotates to the key from [`NEW_OFFICE_SEED`].
//!
//! Signatures are well-formed. The key-rotation proof is genuine (the new key signs
//! [`key_rotation_proof_message`] from the office key); the holder's notice signature and the
//! credential's contents are placeholders that do not verify.

use serde_json::{Value, json};

use super::key_rotation_proof_message;
use crate::keys::{PublicKey, SecretKey};

/// Seed of the office key that authors the registration, status, authority and key-rotation
/// examples.
pub const OFFICE_SEED: [u8; 32] = [1; 32];
/// Seed of the holder's key in the registration and notice examples.
pub const HOLDER_SEED: [u8; 32] = [2; 32];
/// Seed of the marketplace key that authors the notice, decision and counter-notice examples.
pub const MARKETPLACE_SEED: [u8; 32] = [3; 32];
/// Seed of the office's new key in the key-rotation example.
pub const NEW_OFFICE_SEED: [u8; 32] = [4; 32];
/// Seed of the key of the office that the endorsement example endorses.
pub const ENDORSED_OFFICE_SEED: [u8; 32] = [7; 32];
/// The credential id of the credential-log and credential-status examples.
pub const CREDENTIAL_ID: &str = "urn:rightsnet:credential:00112233445566778899aabbccddeeff";

/// The right all examples are about.
pub const RIGHT_ID: &str = "FR-TM-4123456";
/// The id the decision and counter-notice examples give the notice entry.
pub const NOTICE_ID: &str = "3b1f7c0e9d2a4b6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
/// The id the counter-notice example gives the decision entry.
pub const DECISION_ID: &str = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";
/// The id the notice example's verdict cites for the registration entry.
pub const REGISTRATION_ID: &str =
    "5e2d7f4a9c1b3e8d6f0a2c4e6b8d0f1a3c5e7b9d1f2a4c6e8b0d2f4a6c8e0b1d";
/// The pseudonymous seller reference in the decision and counter-notice examples.
pub const SELLER_REF: &str = "8f14e45fceea167a5a36dedd4bea2543a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn key(seed: &[u8; 32]) -> PublicKey {
    SecretKey::from_seed(seed).public_key()
}

/// The `did:key` of the key made from `seed`.
pub fn did_key(seed: &[u8; 32]) -> String {
    key(seed).to_did_key()
}

/// A `registration` body: a registered French word mark in classes 18 and 25.
pub fn registration() -> Value {
    json!({
        "v": 1,
        "right_id": RIGHT_ID,
        "right_type": "trademark",
        "jurisdiction": "FR",
        "number": "4123456",
        "application_number": "4123456",
        "mark_text": "ÉTOILE DU NORD",
        "nice_classes": [18, 25],
        "holder": {
            "name": "Maison Étoile SAS",
            "country": "FR",
            "key": did_key(&HOLDER_SEED),
        },
        "filing_date": "2024-11-04",
        "registration_date": "2025-03-21",
        "expiry_date": "2034-11-04",
        "status": "registered",
    })
}

/// A `status` body: the right is renewed for ten years.
pub fn status() -> Value {
    json!({
        "v": 1,
        "right_id": RIGHT_ID,
        "change": "renewed",
        "effective_date": "2034-10-15",
        "new_expiry_date": "2044-11-04",
        "reference": "REN-2034-004217",
    })
}

/// The holder-signed notice inside the [`notice`] example, on its own.
pub fn holder_notice() -> Value {
    let holder = did_key(&HOLDER_SEED);
    json!({
        "v": 1,
        "marketplace": did_key(&MARKETPLACE_SEED),
        "right_id": RIGHT_ID,
        "holder": holder,
        "listings": [
            {
                "id": "listing-889201",
                "class": 25,
                "url": "https://marketplace.example/item/889201",
            },
        ],
        "reason": "counterfeit",
        "evidence": [
            {
                "kind": "test_purchase",
                "digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "description": "scarf bought on 2026-11-20, order 55012",
                "result": "stitching, label and hologram differ from genuine goods",
            },
        ],
        "good_faith_statement": "I believe in good faith that the use described is not authorised by the rights holder, its agent or the law.",
        "nonce": "a3f1c9e07b52d48e6f0a1b2c3d4e5f60",
        "created": "2026-11-28T15:04:05Z",
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": did_key(&OFFICE_SEED),
            "credentialSubject": { "id": holder, "rightId": RIGHT_ID },
        },
        // A well-formed signature (64 bytes) that does not verify over this notice.
        "signature": crate::keys::multibase_btc(&[0x5a; 64]),
    })
}

/// A `notice` body: the holder's notice, accepted.
pub fn notice() -> Value {
    json!({
        "v": 1,
        "notice": holder_notice(),
        "verdict": {
            "accepted": true,
            "checked_at": "2026-11-28T15:04:07.250Z",
            "reasons": [
                { "code": "credential_proof", "ok": true, "message": "credential proof verifies" },
                { "code": "issuer_trusted", "ok": true, "message": "issuer is trusted for FR" },
                {
                    "code": "right_in_force",
                    "ok": true,
                    "message": "FR-TM-4123456 is registered",
                    "entry_id": REGISTRATION_ID,
                },
                { "code": "notice_signature", "ok": true, "message": "holder signature verifies" },
            ],
        },
    })
}

/// A `decision` body: the listing was removed, with a two-week counter-notice deadline.
pub fn decision() -> Value {
    json!({
        "v": 1,
        "notice_id": NOTICE_ID,
        "listing_ids": ["listing-889201"],
        "outcome": "removed",
        "reason": "counterfeit goods confirmed by the holder's test purchase",
        "seller_ref": SELLER_REF,
        "counter_notice_deadline": "2026-12-12",
    })
}

/// A `counter_notice` body: the seller disputes the removal.
pub fn counter_notice() -> Value {
    json!({
        "v": 1,
        "decision_id": DECISION_ID,
        "notice_id": NOTICE_ID,
        "seller_ref": SELLER_REF,
        "statement": "The scarves were bought from an authorised distributor; the invoice is attached.",
        "evidence": [
            {
                "kind": "other",
                "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "description": "invoice from the distributor",
            },
        ],
    })
}

/// An `authority` body: the French office, attesting FR.
pub fn authority() -> Value {
    json!({
        "v": 1,
        "name": "Institut national de la propriété industrielle",
        "role": "office",
        "jurisdictions": ["FR"],
        "contact": "registry@office.example",
    })
}

/// A `key_rotation` body: the office moves to the key from [`NEW_OFFICE_SEED`], with a genuine
/// proof by the new key.
pub fn key_rotation() -> Value {
    let old = key(&OFFICE_SEED);
    let new_secret = SecretKey::from_seed(&NEW_OFFICE_SEED);
    let new = new_secret.public_key();
    let proof = new_secret.sign(&key_rotation_proof_message(&old, &new));
    json!({
        "v": 1,
        "new_key": new.to_did_key(),
        "reason": "scheduled yearly rotation",
        "new_key_proof": proof.to_multibase(),
    })
}

/// An `authority` body of version 2: the office endorses the German office (key from
/// [`ENDORSED_OFFICE_SEED`]) for DE (protocol §6.8.1).
pub fn endorsement() -> Value {
    json!({
        "v": 2,
        "subject": did_key(&ENDORSED_OFFICE_SEED),
        "name": "Deutsches Patent- und Markenamt",
        "role": "office",
        "jurisdictions": ["DE"],
        "contact": "registry@dpma.example",
    })
}

/// A `key_rotation` body of version 2: the office's key leaked, and its entries from `seq` 12 on
/// are not to be trusted (protocol §6.9.1). The proof is the genuine one of [`key_rotation`]:
/// the message is the same.
pub fn key_rotation_compromise() -> Value {
    let old = key(&OFFICE_SEED);
    let new_secret = SecretKey::from_seed(&NEW_OFFICE_SEED);
    let new = new_secret.public_key();
    let proof = new_secret.sign(&key_rotation_proof_message(&old, &new));
    json!({
        "v": 2,
        "new_key": new.to_did_key(),
        "reason": "compromise",
        "new_key_proof": proof.to_multibase(),
        "compromised_since": 12,
    })
}

/// A `credential` body: the office logs a credential for the holder (protocol §6.10). The
/// digest is a placeholder.
pub fn credential_log() -> Value {
    json!({
        "v": 1,
        "credential_id": CREDENTIAL_ID,
        "digest": "sha256:4a3b2c1d0e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819203",
        "right_id": RIGHT_ID,
        "subject": did_key(&HOLDER_SEED),
        "valid_from": "2026-12-01T09:30:00Z",
        "valid_until": "2034-11-04T23:59:59Z",
        "status_index": 0,
    })
}

/// A `credential_status` body: the office revokes the logged credential at the holder's request
/// (protocol §6.11).
pub fn credential_status() -> Value {
    json!({
        "v": 1,
        "credential_id": CREDENTIAL_ID,
        "status": "revoked",
        "reason_code": "holder_request",
        "reason": "the holder reported the credential file lost",
    })
}

/// The example body of `kind`.
pub fn for_kind(kind: super::EntryKind) -> Value {
    match kind {
        super::EntryKind::Registration => registration(),
        super::EntryKind::Status => status(),
        super::EntryKind::Notice => notice(),
        super::EntryKind::Decision => decision(),
        super::EntryKind::CounterNotice => counter_notice(),
        super::EntryKind::Authority => authority(),
        super::EntryKind::KeyRotation => key_rotation(),
        super::EntryKind::Credential => credential_log(),
        super::EntryKind::CredentialStatus => credential_status(),
    }
}
