//! Why an entry did not go in: [`IngestError`], and [`Refusal`], the cases where the writer
//! (or the importer in front of it) refuses an entry the protocol would accept in general but
//! not here and now. Their texts and [`IngestError::code`] values are in API responses: they
//! do not change.

use proto_types::body::{BodyError, Jurisdiction, RightId};
use proto_types::entry::{EntryError, EquivocationError};
use proto_types::timestamp::TimeError;

use crate::credential_log::CredentialRefusal;
use crate::rights::Ineffective;
use crate::storage::StorageError;

/// Why an entry was refused before or by the writer.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a valid entry, or its signature does not verify.
    #[error("{0}")]
    Invalid(#[from] EntryError),
    /// The author is not in this node's trust store.
    #[error("author {0} is not in this node's trust store")]
    UnknownAuthor(String),
    /// An entry that cannot apply here (a closed feed, an own change of an unknown right, a
    /// replayed notice…): the [`Refusal`] says which.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// This node's own signing key was rotated away (its feed closed at the `key_rotation` entry
    /// with this seq): writing with it would fork the authority's feed everywhere.
    #[error(
        "this node's signing key was rotated away at seq {0} of its feed; it refuses to sign with it until the operator configures the new key"
    )]
    OwnKeyRotated(u64),
    /// A rotation of this node's own key that cannot be made (a compromise without
    /// `compromised_since`, a `compromised_since` above the rotation's seq, a new key that
    /// belongs to an authority, a key ring that is full).
    #[error("invalid rotation: {0}")]
    InvalidRotation(String),
    /// The key file could not be written: nothing was signed with the new key.
    #[error("key file: {0}")]
    KeyFile(String),
    /// Too many early entries are held back already.
    #[error("too many out-of-order entries held back; retry after the gap is filled")]
    PendingFull,
    /// The store failed.
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    /// The writer has stopped (the node is shutting down).
    #[error("the node is shutting down")]
    Closed,
}

impl IngestError {
    /// A stable machine code for metrics and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Invalid(EntryError::BadSignature) => "bad_signature",
            IngestError::Invalid(EntryError::TooLarge(_)) => "too_large",
            IngestError::Invalid(EntryError::Json(_)) => "malformed_json",
            IngestError::Invalid(EntryError::Body(_)) => "invalid_body",
            IngestError::Invalid(_) => "invalid_entry",
            IngestError::UnknownAuthor(_) => "unknown_author",
            IngestError::Refused(_) => "refused",
            IngestError::OwnKeyRotated(_) => "key_rotated",
            IngestError::InvalidRotation(_) => "invalid_rotation",
            IngestError::KeyFile(_) => "key_file",
            IngestError::PendingFull => "pending_full",
            IngestError::Storage(_) => "storage",
            IngestError::Closed => "shutting_down",
        }
    }
}

/// The refusals behind [`IngestError::Refused`] (API code `refused`, HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The author moved to a new key with its `key_rotation` entry at `rotated_at`: the old
    /// key's feed is closed, nothing extends it.
    #[error("author rotated to a new key at seq {rotated_at}; its feed is closed")]
    FeedClosed {
        /// The seq of the `key_rotation` entry.
        rotated_at: u64,
    },
    /// The entry differs from the one held at its seq, but the two do not make an equivocation
    /// proof (they are not both valid entries of one author and seq).
    #[error("{0}")]
    NotProvable(EquivocationError),
    /// An own entry in a jurisdiction this node's authority is not an office for.
    #[error("author is not an office trusted for jurisdiction {}", .0.as_str())]
    NotOffice(Jurisdiction),
    /// An own registration or status change that the fold of the right would not apply.
    #[error("{0}")]
    WouldBeIneffective(#[from] Ineffective),
    /// An own notice whose nonce was recorded before (or earlier in the same write).
    #[error("replayed: a notice with this nonce was already recorded")]
    ReplayedNonce,
    /// The node's clock gives a time the protocol cannot write as a timestamp.
    #[error("{0}")]
    Clock(TimeError),
    /// A register record for a right another authority registered.
    #[error("right {right_id} was registered by {registered_by}, not by this office")]
    RegisteredByOther {
        /// The right.
        right_id: RightId,
        /// The authority that registered it (`did:key`).
        registered_by: String,
    },
    /// An own `credential` or `credential_status` entry that would be ineffective (§6.10–6.11).
    #[error("{0}")]
    Credential(CredentialRefusal),
    /// This node's key has logged a credential at the highest status index there is.
    #[error("every status index of this key is taken; rotate the key to issue more credentials")]
    StatusIndexesExhausted,
    /// A register record that becomes an invalid entry body (e.g. a renewal whose new expiry
    /// date is not after the record's status date).
    #[error("{0}")]
    InvalidRecord(BodyError),
}

#[cfg(test)]
mod tests {
    use proto_types::keys::SecretKey;
    use std::mem::size_of;

    use super::*;

    /// The texts are API response messages: pinned.
    #[test]
    fn refusal_texts_and_codes_are_unchanged() {
        let key = SecretKey::from_seed(&[5; 32]).public_key();
        let right_id = RightId::parse("FR-TM-1").expect("a right id");
        let cases: Vec<(Refusal, String)> = vec![
            (
                Refusal::FeedClosed { rotated_at: 7 },
                "author rotated to a new key at seq 7; its feed is closed".to_owned(),
            ),
            (
                Refusal::NotProvable(EquivocationError::NotSamePosition),
                "entries do not share author and seq".to_owned(),
            ),
            (
                Refusal::NotOffice(Jurisdiction::parse("FR").expect("FR")),
                "author is not an office trusted for jurisdiction FR".to_owned(),
            ),
            (
                Refusal::WouldBeIneffective(Ineffective::UnknownRight(right_id.clone())),
                "no registration of right FR-TM-1 is known".to_owned(),
            ),
            (
                Refusal::ReplayedNonce,
                "replayed: a notice with this nonce was already recorded".to_owned(),
            ),
            (
                Refusal::RegisteredByOther {
                    right_id,
                    registered_by: key.to_did_key(),
                },
                format!("right FR-TM-1 was registered by {key}, not by this office"),
            ),
            (
                Refusal::InvalidRecord(BodyError::new("new_expiry_date", "too early")),
                "new_expiry_date: too early".to_owned(),
            ),
        ];
        // Results of the writer carry it: kept small.
        assert!(
            size_of::<IngestError>() <= 128,
            "{}",
            size_of::<IngestError>()
        );
        for (refusal, text) in cases {
            assert_eq!(refusal.to_string(), text);
            let error = IngestError::from(refusal);
            assert_eq!(error.to_string(), text);
            assert_eq!(error.code(), "refused");
        }
    }
}
