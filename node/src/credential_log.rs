//! The public credential log (protocol §6.10–6.11): what a `credential` entry records, how a
//! `credential_status` entry changes it, and the questions the verdict, the API and the status
//! lists ask of it.
//!
//! The writer decides ([`crate::ingest`]: an entry logs a credential or changes its status, or
//! is ineffective with a [`CredentialRefusal`] as its reason) and stores one
//! [`CredentialRecord`] per logged credential, in the same batch as the entry. Everything here
//! is pure: the rules take the record as the writer's group left it.
//!
//! A record keeps its last [`MAX_STATUS_HISTORY`] status changes (newest last), each with the
//! status it replaced, and a count of all of them. The verdict needs only the latest change
//! that is not in a compromised range (§6.9.1), so a compromise rotation arriving after the
//! changes it distrusts is answered by walking back over the kept changes instead of rewriting
//! records; a record whose every kept change is distrusted falls back to the status the oldest
//! kept change replaced.

use proto_types::body::{
    CredentialId, CredentialReasonCode, CredentialStatusKind, CredentialStatusV1, CredentialV1,
    Digest, Jurisdiction, RightId,
};
use proto_types::entry::EntryId;
use proto_types::keys::PublicKey;
use proto_types::timestamp::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::trust::Trust;

/// Most status changes a record keeps (the feed keeps them all).
pub const MAX_STATUS_HISTORY: usize = 8;

/// A logged credential, as this node holds it. Its JSON is the stored format (after a version
/// byte, see `storage::keys`): the field names do not change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// The credential's `id`.
    pub credential_id: CredentialId,
    /// The `credential` entry that logged it.
    pub entry_id: EntryId,
    /// The entry's author: the key that signed the credential.
    pub issuer: PublicKey,
    /// The authority (original key, §7.6) the issuer spoke for when the entry was applied.
    pub authority: PublicKey,
    /// The entry's seq in the issuer's feed.
    pub seq: u64,
    /// The entry's timestamp (listings are ordered by it).
    pub logged_at: Timestamp,
    /// The right attested.
    pub right_id: RightId,
    /// The holder key.
    pub subject: PublicKey,
    /// The credential's `validFrom`.
    pub valid_from: Timestamp,
    /// The credential's `validUntil`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Its position in the issuer key's status lists.
    pub status_index: u32,
    /// SHA-256 of the JCS of the signed credential.
    pub digest: Digest,
    /// The status after every effective change applied (compromised ranges aside, see
    /// [`current`]).
    pub status: CredentialStatusKind,
    /// The last [`MAX_STATUS_HISTORY`] effective status changes, oldest first.
    #[serde(default)]
    pub changes: Vec<StatusChangeRecord>,
    /// How many effective status changes were applied, ever (also past the kept ones).
    #[serde(default)]
    pub change_count: u64,
}

/// One effective `credential_status` entry, as a record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChangeRecord {
    /// The `credential_status` entry.
    pub entry_id: EntryId,
    /// Its author (the issuer, or a key the authority rotated to).
    pub author: PublicKey,
    /// Its seq in the author's feed.
    pub seq: u64,
    /// The status it set.
    pub status: CredentialStatusKind,
    /// Its reason code.
    pub reason_code: CredentialReasonCode,
    /// The status it replaced.
    pub previous: CredentialStatusKind,
}

/// Where an entry sits: its id, author, the authority the author speaks for, seq and time.
#[derive(Debug, Clone)]
pub struct LogPosition {
    /// The entry id.
    pub entry_id: EntryId,
    /// The author.
    pub author: PublicKey,
    /// The authority it speaks for (its original key).
    pub authority: PublicKey,
    /// The seq.
    pub seq: u64,
    /// The entry's timestamp.
    pub timestamp: Timestamp,
}

/// Why a `credential` or `credential_status` entry changed nothing (stored as its ineffective
/// reason), or why this node refuses to write one of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialRefusal {
    /// The author speaks for no office trusted for the right's jurisdiction.
    #[error("author is not an office trusted for jurisdiction {}", .0.as_str())]
    NotOffice(Jurisdiction),
    /// Another effective `credential` entry logged the same id.
    #[error("credential {credential_id} is already logged by entry {entry_id}")]
    DuplicateId {
        /// The id.
        credential_id: CredentialId,
        /// The entry that logged it first.
        entry_id: EntryId,
    },
    /// The author key already logged a credential at this status index.
    #[error("status index {status_index} of this key is already taken by credential {taken_by}")]
    DuplicateIndex {
        /// The index.
        status_index: u32,
        /// The credential logged there.
        taken_by: CredentialId,
    },
    /// The entry lies in a compromised range of its author's feed (§6.9.1).
    #[error("key compromised from seq {since}: key_rotation entry {rotation}")]
    Compromised {
        /// `compromised_since` of the rotation.
        since: u64,
        /// The `key_rotation` entry.
        rotation: EntryId,
    },
    /// No effective `credential` entry logged this id (here, yet).
    #[error("credential {0} is not logged")]
    NotLogged(CredentialId),
    /// The credential was logged by another authority.
    #[error("credential {credential_id} was logged by another authority ({authority})")]
    NotThisOffice {
        /// The credential.
        credential_id: CredentialId,
        /// The authority that logged it.
        authority: String,
    },
    /// The change is not a transition of §6.11.
    #[error("{}", transition_text(.credential_id, *.from, *.to))]
    InvalidTransition {
        /// The credential.
        credential_id: CredentialId,
        /// Its status now.
        from: CredentialStatusKind,
        /// The status asked for.
        to: CredentialStatusKind,
    },
}

fn transition_text(
    id: &CredentialId,
    from: CredentialStatusKind,
    to: CredentialStatusKind,
) -> String {
    if from == to {
        format!("credential {id} is already {from}")
    } else if from == CredentialStatusKind::Revoked {
        format!("credential {id} is revoked, which is final")
    } else {
        format!("credential {id} cannot become {to} from {from}")
    }
}

impl CredentialRefusal {
    /// The stable API code of a refusal of an own status change (§11.4).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotLogged(_) => "not_found",
            Self::NotThisOffice { .. } => "not_this_office",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::DuplicateId { .. } | Self::DuplicateIndex { .. } => "duplicate",
            Self::NotOffice(_) | Self::Compromised { .. } => "refused",
        }
    }
}

/// The record a `credential` entry at `position` creates, once the writer has checked that the
/// id and the index are free (§6.10).
pub fn logged(position: &LogPosition, body: &CredentialV1) -> CredentialRecord {
    CredentialRecord {
        credential_id: body.credential_id.clone(),
        entry_id: position.entry_id,
        issuer: position.author,
        authority: position.authority,
        seq: position.seq,
        logged_at: position.timestamp.clone(),
        right_id: body.right_id.clone(),
        subject: body.subject,
        valid_from: body.valid_from.clone(),
        valid_until: body.valid_until.clone(),
        status_index: body.status_index,
        digest: body.digest.clone(),
        status: CredentialStatusKind::Active,
        changes: Vec::new(),
        change_count: 0,
    }
}

/// Applies a `credential_status` entry at `position` to `record` (§6.11): the author speaks for
/// the authority that logged it, and the change is a transition.
pub fn change_status(
    record: &CredentialRecord,
    position: &LogPosition,
    body: &CredentialStatusV1,
) -> Result<CredentialRecord, CredentialRefusal> {
    check_change(record, &position.authority, body.status)?;
    let mut next = record.clone();
    next.changes.push(StatusChangeRecord {
        entry_id: position.entry_id,
        author: position.author,
        seq: position.seq,
        status: body.status,
        reason_code: body.reason_code,
        previous: record.status,
    });
    if next.changes.len() > MAX_STATUS_HISTORY {
        next.changes.remove(0);
    }
    next.status = body.status;
    next.change_count = record.change_count.saturating_add(1);
    Ok(next)
}

/// Whether the authority `authority` may move `record` to `to` (§6.11).
pub fn check_change(
    record: &CredentialRecord,
    authority: &PublicKey,
    to: CredentialStatusKind,
) -> Result<(), CredentialRefusal> {
    if *authority != record.authority {
        return Err(CredentialRefusal::NotThisOffice {
            credential_id: record.credential_id.clone(),
            authority: record.authority.to_did_key(),
        });
    }
    if !record.status.can_become(to) {
        return Err(CredentialRefusal::InvalidTransition {
            credential_id: record.credential_id.clone(),
            from: record.status,
            to,
        });
    }
    Ok(())
}

/// A credential's status as a verifier reads it now: the latest kept change that `distrusted`
/// does not reject (a change in a compromised range, §6.9.1), or `active` when there is none.
/// Returns the status and the change that set it.
pub fn current(
    record: &CredentialRecord,
    distrusted: impl Fn(&PublicKey, u64) -> bool,
) -> (CredentialStatusKind, Option<&StatusChangeRecord>) {
    let mut fallback = record.status;
    for change in record.changes.iter().rev() {
        if !distrusted(&change.author, change.seq) {
            return (change.status, Some(change));
        }
        fallback = change.previous;
    }
    if record.changes.is_empty() {
        (CredentialStatusKind::Active, None)
    } else {
        (fallback, None)
    }
}

/// The compromise rotation whose range holds `author`'s entry at `seq`, if any (§6.9.1): the
/// entry must have no effect ([`Trust::compromised`]).
pub fn compromised(trust: &Trust, author: &PublicKey, seq: u64) -> Option<CredentialRefusal> {
    let rotation = trust.compromised(author, seq)?;
    let since = trust
        .rotation_of(author)
        .and_then(|rotation| rotation.compromised_since)
        .unwrap_or(seq);
    Some(CredentialRefusal::Compromised { since, rotation })
}

/// A logged credential as `GET /v1/credentials` shows it (protocol §11.4, LOGGED): the record,
/// whether it still counts (a compromise, §6.9.1, can make it ineffective after the fact),
/// whether it is anchored before a rotation of its issuer key, and its status now.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LoggedCredential {
    /// The credential's `id`.
    pub credential_id: CredentialId,
    /// The `credential` entry that logged it.
    pub entry_id: EntryId,
    /// The key that signed it (the entry's author).
    pub issuer: PublicKey,
    /// The authority the issuer speaks for (its original key, §7.6).
    pub authority: PublicKey,
    /// The entry's seq in the issuer's feed.
    pub seq: u64,
    /// The right attested.
    pub right_id: RightId,
    /// The holder key.
    pub subject: PublicKey,
    /// The credential's `validFrom`.
    pub valid_from: Timestamp,
    /// The credential's `validUntil`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Its position in the issuer key's status lists.
    pub status_index: u32,
    /// SHA-256 of the JCS of the signed credential.
    pub digest: Digest,
    /// When the issuer logged it (the entry's timestamp).
    pub logged_at: Timestamp,
    /// Whether the log entry counts (false when it lies in a compromised range).
    pub effective: bool,
    /// Why it does not count, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineffective_reason: Option<String>,
    /// Whether it is anchored before a rotation of its issuer key (true while the key has not
    /// rotated away).
    pub anchored: bool,
    /// Its status now.
    pub status: CredentialStatusKind,
    /// The `credential_status` entry that set the status, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_entry: Option<EntryId>,
    /// That entry's reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<CredentialReasonCode>,
}

/// How a record reads now, given the trust and rotations this node knows.
pub fn view(record: &CredentialRecord, trust: &Trust) -> LoggedCredential {
    let compromise = compromised(trust, &record.issuer, record.seq);
    let anchored = trust
        .rotation_of(&record.issuer)
        .is_none_or(|rotation| rotation.anchors(record.seq));
    let (status, change) = current(record, |author, seq| {
        compromised(trust, author, seq).is_some()
    });
    LoggedCredential {
        credential_id: record.credential_id.clone(),
        entry_id: record.entry_id,
        issuer: record.issuer,
        authority: record.authority,
        seq: record.seq,
        right_id: record.right_id.clone(),
        subject: record.subject,
        valid_from: record.valid_from.clone(),
        valid_until: record.valid_until.clone(),
        status_index: record.status_index,
        digest: record.digest.clone(),
        logged_at: record.logged_at.clone(),
        effective: compromise.is_none(),
        ineffective_reason: compromise.map(|refusal| refusal.to_string()),
        anchored,
        status,
        status_entry: change.map(|change| change.entry_id),
        status_reason_code: change.map(|change| change.reason_code),
    }
}

#[cfg(test)]
mod tests;
