//! The verdict's checks that need the issuer's feed (protocol §6.5.4, §13.4):
//! `issuer_key_rotated` judged by anchoring, `credential_logged` and `credential_status`, each
//! naming the entry it rests on.

use proto_types::body::{CredentialStatusKind, VerdictReason};
use proto_types::claims::VerifiedCredential;
use proto_types::timestamp::Timestamp;
use serde_json::Value;

use super::reason;
use super::verdict::VerdictContext;
use crate::config::UnloggedCredentials;
use crate::credential_log::{self, CredentialRecord};
use crate::credentials::credential_digest;
use crate::storage::StorageError;
use crate::trust::Rotation;

/// What the log says about a presented credential.
enum Logged {
    /// Its id is logged by its issuer key, effectively, with its digest.
    Yes(CredentialRecord),
    /// Its id is logged, but not as this credential: the reason (never accepted by policy), and
    /// the entry when the issuer logged it.
    Mismatch(String, Option<CredentialRecord>),
    /// Not logged (or no id): the policy decides.
    No(String),
}

/// The three checks, in the verdict's reading order: `issuer_key_rotated`,
/// `credential_logged`, `credential_status`.
pub(super) fn log_reasons(
    context: &VerdictContext<'_>,
    presented: &Value,
    credential: &VerifiedCredential,
) -> Result<[VerdictReason; 3], StorageError> {
    let store = context.store;
    let trust = context.trust;
    let issuer = &credential.issuer;
    let rotation = trust.rotation_of(issuer);
    // The rotation entry the check names; rotations recorded before their ids were kept are
    // looked up in the feed.
    let rotation_entry = match &rotation {
        Some(rotation) => match rotation.entry() {
            Some(id) => Some(id),
            None => store.entry_id_at(issuer, rotation.seq)?,
        },
        None => None,
    };
    let logged = match presented.get("id").and_then(Value::as_str) {
        None => Logged::No("the credential has no id, so no log can hold it".to_owned()),
        Some(id) => match store.credential(id)? {
            None => Logged::No(format!("credential {id} is not in its issuer's log")),
            Some(record) if record.issuer != *issuer => Logged::Mismatch(
                format!(
                    "credential {id} was logged by another key ({}), not by its issuer",
                    record.issuer
                ),
                None,
            ),
            Some(record) => {
                if let Some(refusal) =
                    credential_log::compromised(trust, &record.issuer, record.seq)
                {
                    Logged::Mismatch(
                        format!("the log entry of credential {id} is ineffective: {refusal}"),
                        Some(record),
                    )
                } else if credential_digest(presented).ok().as_ref() != Some(&record.digest) {
                    Logged::Mismatch(
                        format!(
                            "credential {id} is not the one its issuer logged (the digest differs)"
                        ),
                        Some(record),
                    )
                } else {
                    Logged::Yes(record)
                }
            }
        },
    };
    let by_policy = match &logged {
        Logged::No(_) => unlogged_accepted(context, credential, rotation.as_ref()),
        _ => None,
    };
    Ok([
        rotation_reason(issuer, rotation.as_ref(), rotation_entry, &logged),
        logged_reason(&logged, by_policy.as_deref()),
        status_reason(context, &logged, by_policy.is_some()),
    ])
}

/// Why the policy accepts an unlogged credential, if it does (§13.4): `accept_before`, a proof
/// created before the cutoff, and an issuer key that has not rotated away.
fn unlogged_accepted(
    context: &VerdictContext<'_>,
    credential: &VerifiedCredential,
    rotation: Option<&Rotation>,
) -> Option<String> {
    let policy = context.policy;
    if policy.unlogged_credentials != UnloggedCredentials::AcceptBefore || rotation.is_some() {
        return None;
    }
    let cutoff = policy.unlogged_cutoff.as_ref()?;
    let created = credential
        .proof_created
        .as_deref()
        .and_then(|text| Timestamp::parse(text).ok())
        .or_else(|| {
            // A `created` with another precision or zone than the protocol's timestamps.
            time::OffsetDateTime::parse(
                credential.proof_created.as_deref()?,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .and_then(|instant| {
                Timestamp::from_unix_millis((instant.unix_timestamp_nanos() / 1_000_000) as i64)
                    .ok()
            })
        })?;
    (created.unix_millis() < cutoff.unix_millis()).then(|| {
        format!(
            "unlogged credential accepted by policy: its proof was created {} before the cutoff {cutoff}",
            created.as_str()
        )
    })
}

fn rotation_reason(
    issuer: &proto_types::keys::PublicKey,
    rotation: Option<&Rotation>,
    rotation_entry: Option<proto_types::entry::EntryId>,
    logged: &Logged,
) -> VerdictReason {
    let Some(rotation) = rotation else {
        return reason(
            "issuer_key_rotated",
            true,
            "the issuer key has not been rotated away",
        );
    };
    let kind = if rotation.compromised_since.is_some() {
        "compromise rotation"
    } else {
        "rotation"
    };
    let mut judged = match logged {
        Logged::Yes(record) if rotation.anchors(record.seq) => reason(
            "issuer_key_rotated",
            true,
            format!(
                "the issuer key {issuer} rotated away at seq {}, and the credential is anchored before it (logged at seq {})",
                rotation.seq, record.seq
            ),
        ),
        Logged::Yes(record) => reason(
            "issuer_key_rotated",
            false,
            format!(
                "the issuer key {issuer} was retired by a {kind} at seq {}{}; the credential was logged at seq {}, which is not anchored before it",
                rotation.seq,
                rotation
                    .compromised_since
                    .map(|since| format!(" (compromised from seq {since})"))
                    .unwrap_or_default(),
                record.seq
            ),
        ),
        Logged::No(_) | Logged::Mismatch(..) => reason(
            "issuer_key_rotated",
            false,
            format!(
                "the issuer key {issuer} was retired by a {kind} at seq {}, and the credential is not anchored before it (not in its log)",
                rotation.seq
            ),
        ),
    };
    judged.entry_id = rotation_entry;
    judged
}

fn logged_reason(logged: &Logged, by_policy: Option<&str>) -> VerdictReason {
    match logged {
        Logged::Yes(record) => {
            let mut ok = reason(
                "credential_logged",
                true,
                format!(
                    "credential {} is logged by its issuer at seq {}",
                    record.credential_id, record.seq
                ),
            );
            ok.entry_id = Some(record.entry_id);
            ok
        }
        Logged::Mismatch(why, record) => {
            let mut failed = reason("credential_logged", false, why.clone());
            failed.entry_id = record.as_ref().map(|record| record.entry_id);
            failed
        }
        Logged::No(why) => match by_policy {
            Some(accepted) => reason("credential_logged", true, accepted),
            None => reason(
                "credential_logged",
                false,
                format!("{why}; this marketplace refuses unlogged credentials"),
            ),
        },
    }
}

fn status_reason(context: &VerdictContext<'_>, logged: &Logged, by_policy: bool) -> VerdictReason {
    let record = match logged {
        Logged::Yes(record) | Logged::Mismatch(_, Some(record)) => record,
        Logged::No(_) if by_policy => {
            return reason(
                "credential_status",
                true,
                "an unlogged credential accepted by policy has no status to check",
            );
        }
        _ => {
            return reason(
                "credential_status",
                false,
                "the credential is not logged by its issuer, so it has no status",
            );
        }
    };
    let (status, change) = credential_log::current(record, |author, seq| {
        credential_log::compromised(context.trust, author, seq).is_some()
    });
    let mut judged = match (status, change) {
        (CredentialStatusKind::Active, _) => reason(
            "credential_status",
            true,
            format!("credential {} is active", record.credential_id),
        ),
        (status, Some(change)) => reason(
            "credential_status",
            false,
            format!(
                "credential {} is {status} ({}) by entry {}",
                record.credential_id, change.reason_code, change.entry_id
            ),
        ),
        (status, None) => reason(
            "credential_status",
            false,
            format!("credential {} is {status}", record.credential_id),
        ),
    };
    judged.entry_id = change.map(|change| change.entry_id);
    judged
}
