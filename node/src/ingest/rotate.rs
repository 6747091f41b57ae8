//! Rotating this node's own key (protocol §6.9.2), on the writer thread so that it is
//! serialised with every own append:
//!
//! 1. the new key goes into the key file as the *pending* key, durably, before anything is
//!    signed ([`crate::keyring::SigningKeys::replace`]);
//! 2. the `key_rotation` entry, signed by the old key, is staged in the current group and
//!    committed with it (synced when `sync_writes` is on); from that entry on the writer signs
//!    with the new key, so a later own entry of the same group is seq 1 of the new key's feed;
//! 3. after the commit the key file is rewritten with the new key current and the old one
//!    retired.
//!
//! A failed commit puts the old key back and drops the pending key from the file. A kill between
//! the steps is reconciled at start ([`reconcile_keyring`]).

use std::sync::Arc;

use proto_types::body::{Body, KeyRotationV1};
use proto_types::entry::EntryId;
use proto_types::keys::{PublicKey, SecretKey};

use super::writer::{Staged, Writer};
use super::{IngestError, IngestOutcome, Source};
use crate::keyring::{Keyring, SigningKeys};
use crate::storage::StoreBatch;
use crate::trust::Trust;

/// What an operator asks for when rotating this node's key.
pub struct RotateRequest {
    /// The new key; `None`: the writer generates one.
    pub new_key: Option<SecretKey>,
    /// For a compromise rotation: the first seq of the old key that is not trusted.
    pub compromised_since: Option<u64>,
    /// Whether this is a compromise rotation (`key_rotation` v2).
    pub compromise: bool,
    /// The entry's `reason` text.
    pub note: Option<String>,
}

/// A committed rotation of this node's own key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationDone {
    /// The `key_rotation` entry.
    pub entry_id: EntryId,
    /// Its seq in the old key's feed.
    pub seq: u64,
    /// The key rotated away from.
    pub old_key: PublicKey,
    /// The key the node signs with now.
    pub new_key: PublicKey,
    /// For a compromise rotation, the first distrusted seq of the old key.
    pub compromised_since: Option<u64>,
}

/// An own rotation staged in the current group, until it is committed or rolled back.
pub(super) struct StagedOwnRotation {
    old_key: Arc<SecretKey>,
    new_key: Arc<SecretKey>,
}

impl StagedOwnRotation {
    /// The key rotated away from: it signs the old feed's final checkpoint.
    pub(super) fn old_key(&self) -> &Arc<SecretKey> {
        &self.old_key
    }
}

impl Writer {
    /// Stages a rotation of this node's key (steps 1 and 2 above).
    pub(super) fn rotate(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        request: RotateRequest,
    ) -> Result<RotationDone, IngestError> {
        let old = self.key.clone();
        let author = old.public_key();
        if let Some(rotated_at) = self.rotated_at(staged, &author) {
            return Err(IngestError::OwnKeyRotated(rotated_at));
        }
        if staged.own_rotation.is_some() {
            // Unreachable through the handle (the key above is the new one then), kept as a guard.
            return Err(IngestError::InvalidRotation(
                "a rotation is already in progress".to_owned(),
            ));
        }
        let seq = self.head(&author)?.map_or(1, |head| head.seq + 1);
        let compromised_since = match (request.compromise, request.compromised_since) {
            (true, None) => {
                return Err(IngestError::InvalidRotation(
                    "a compromise rotation needs compromised_since".to_owned(),
                ));
            }
            (true, Some(since)) if since == 0 || since > seq => {
                return Err(IngestError::InvalidRotation(format!(
                    "compromised_since must be between 1 and the rotation entry's seq {seq}, not {since}"
                )));
            }
            (true, Some(since)) => Some(since),
            (false, Some(_)) => {
                return Err(IngestError::InvalidRotation(
                    "compromised_since is only for a compromise rotation".to_owned(),
                ));
            }
            (false, None) => None,
        };
        let new = Arc::new(request.new_key.unwrap_or_else(SecretKey::generate));
        let new_public = new.public_key();
        if new_public == author || self.key_taken(staged, &new_public) {
            return Err(IngestError::InvalidRotation(
                "the new key already belongs to an authority".to_owned(),
            ));
        }
        let pending = self
            .keys
            .keyring()
            .with_pending(new.clone())
            .map_err(|error| IngestError::InvalidRotation(error.to_string()))?;
        // Step 1: the pending key is on disk before anything names it.
        self.keys
            .replace(pending)
            .map_err(|error| IngestError::KeyFile(format!("{error:#}")))?;
        let proof = new.sign(&proto_types::body::key_rotation_proof_message(
            &author,
            &new_public,
        ));
        let body = rotation_body(
            new_public,
            proof.to_multibase(),
            request.note,
            compromised_since,
        );
        // Step 2: signed by the old key, staged in this group.
        let outcome = match self.append(batch, staged, body, Source::Local) {
            Ok(outcome) => outcome,
            Err(error) => {
                self.drop_pending_key();
                return Err(error);
            }
        };
        let IngestOutcome::Stored {
            id,
            seq,
            ineffective: None,
            ..
        } = outcome
        else {
            // Checked above; a rotation that would not take effect is not worth its entry, but it
            // is staged now: it stays in the feed, ineffective, and the old key signs on.
            self.drop_pending_key();
            return Err(IngestError::InvalidRotation(format!(
                "the rotation entry would not take effect: {outcome:?}"
            )));
        };
        staged.own_rotation = Some(StagedOwnRotation {
            old_key: old,
            new_key: new.clone(),
        });
        self.key = new;
        Ok(RotationDone {
            entry_id: id,
            seq,
            old_key: author,
            new_key: new_public,
            compromised_since,
        })
    }

    /// Whether `key` belongs to an authority already: trusted, rotated to or away from.
    fn key_taken(&self, staged: &Staged, key: &PublicKey) -> bool {
        self.trust.is_trusted(key)
            || self.trust.root(key) != *key
            || self.trust.rotated_at(key).is_some()
            || staged
                .rotations
                .iter()
                .any(|(old, rotation)| old == key || rotation.new_key == *key)
    }

    /// After the group's commit: step 3, the new key current in the key file.
    pub(super) fn own_rotation_committed(&mut self, staged: &mut Staged) {
        let Some(rotation) = staged.own_rotation.take() else {
            return;
        };
        let ring = self.keys.keyring();
        let promoted = ring
            .promoted()
            .filter(|promoted| promoted.current().public_key() == rotation.new_key.public_key());
        match promoted {
            Some(promoted) => {
                if let Err(error) = self.keys.replace_committed(promoted) {
                    // The rotation is committed: the new key is current in memory, and the next
                    // start promotes the pending key from the store's record.
                    tracing::error!(error = %format!("{error:#}"), "rewriting the key file after a rotation failed; the next start finishes it");
                }
            }
            None => tracing::error!("the key ring lost its pending key during a rotation"),
        }
        tracing::info!(
            old = %rotation.old_key.public_key(),
            new = %rotation.new_key.public_key(),
            "this node's key rotated"
        );
    }

    /// After a failed commit: the old key signs on, and the pending key leaves the key file.
    pub(super) fn own_rotation_rolled_back(&mut self, staged: &mut Staged) {
        if let Some(rotation) = staged.own_rotation.take() {
            self.key = rotation.old_key;
            self.drop_pending_key();
        }
    }

    fn drop_pending_key(&self) {
        let ring = self.keys.keyring().without_pending();
        if let Err(error) = self.keys.replace(ring) {
            tracing::error!(error = %format!("{error:#}"), "dropping the pending key from the key file failed; the next start drops it");
        }
    }
}

/// The `key_rotation` body: version 1, or version 2 with `compromised_since`.
fn rotation_body(
    new_key: PublicKey,
    new_key_proof: String,
    reason: Option<String>,
    compromised_since: Option<u64>,
) -> Body {
    Body::KeyRotation(KeyRotationV1 {
        v: if compromised_since.is_some() { 2 } else { 1 },
        new_key,
        reason,
        new_key_proof,
        compromised_since,
    })
}

/// What [`reconcile_keyring`] did at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciled {
    /// No pending key: nothing to do.
    Nothing,
    /// The store holds the rotation to the pending key: it is current now.
    Promoted,
    /// The store does not hold it: the pending key is dropped, the old key signs on.
    Dropped,
}

/// Reconciles the key ring with the rotations the store holds (protocol §6.9.2): a pending key
/// whose rotation from the current key is stored becomes current; any other pending key is
/// dropped. Writes the key file when it changes anything.
pub fn reconcile_keyring(keys: &SigningKeys, trust: &Trust) -> anyhow::Result<Reconciled> {
    let ring = keys.keyring();
    let Some(pending) = ring.pending() else {
        return Ok(Reconciled::Nothing);
    };
    let current = ring.current().public_key();
    let rotated_to_pending = trust.rotated_at(&current).is_some()
        && trust.root(&pending.public_key()) != pending.public_key()
        && trust.successor(&current) == Some(pending.public_key());
    if rotated_to_pending {
        let promoted: Keyring = ring
            .promoted()
            .ok_or_else(|| anyhow::anyhow!("the key ring lost its pending key"))?;
        keys.replace(promoted)?;
        Ok(Reconciled::Promoted)
    } else {
        keys.replace(ring.without_pending())?;
        Ok(Reconciled::Dropped)
    }
}
