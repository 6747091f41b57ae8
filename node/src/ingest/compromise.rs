//! Undoing a compromised range (protocol §6.9.1): when a compromise rotation of a key takes
//! effect, the entries of that key from `compromised_since` up to the rotation lose their
//! effects. Each is recorded ineffective with the reason
//! `key compromised from seq N: key_rotation entry <id>`, the rights they changed are folded
//! again from the authority's remaining entries ([`crate::rights::refold`]; a right whose
//! registration is compromised is deleted with its indexes), and the claims they indexed are
//! un-indexed.
//!
//! The range can be large, so the work is done in steps of at most [`UNDO_STEP_ENTRIES`]
//! entries, each one batch of its own that also moves the durable undo marker
//! ([`UndoMarker`]) forward. The rotation entry and the first marker are committed together;
//! the writer runs a step whenever its command queue is empty, and at start it resumes every
//! marker left by a kill. Until the last step, reads may still show effects of the range's
//! later entries.

use std::collections::BTreeSet;

use proto_types::body::{Body, KeyRotationV1};
use proto_types::entry::{Entry, EntryId};
use proto_types::keys::PublicKey;

use super::IngestError;
use super::writer::{Staged, Writer};
use crate::rights::{self, EntryMeta, FoldEntry};
use crate::storage::UndoMarker;
use crate::trust::Rotation;

/// Most entries of a compromised range undone in one batch.
pub const UNDO_STEP_ENTRIES: u64 = 256;

/// The ineffective reason of an entry in a compromised range (§6.9.1).
pub fn compromise_reason(compromised_since: u64, rotation_entry: &EntryId) -> String {
    format!("key compromised from seq {compromised_since}: key_rotation entry {rotation_entry}")
}

/// The `compromised_since` of a `key_rotation` body: `Some` for a compromise rotation (v2).
pub(super) fn compromised_since(body: &KeyRotationV1) -> Option<u64> {
    body.is_compromise()
        .then_some(body.compromised_since)
        .flatten()
}

impl Writer {
    /// The rotation (stored, or staged by this group) that distrusts `author`'s entry at `seq`.
    pub(super) fn compromise_of(
        &self,
        staged: &Staged,
        author: &PublicKey,
        seq: u64,
    ) -> Option<Rotation> {
        staged
            .rotations
            .iter()
            .find(|(old, _)| old == author)
            .map(|(_, rotation)| *rotation)
            .or_else(|| self.trust.rotation_of(author))
            .filter(|rotation| rotation.distrusts(seq))
    }

    /// Whether compromised ranges are still being undone.
    pub(super) fn undo_pending(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Undoes the next step of the first compromised range in progress, in one batch.
    pub(super) fn undo_step(&mut self) {
        let Some(marker) = self.undo.front().copied() else {
            return;
        };
        match self.try_undo_step(&marker) {
            Ok(next) => {
                self.undo.pop_front();
                if let Some(next) = next {
                    self.undo.push_front(next);
                }
            }
            Err(error) => {
                // Tried again after the next command group (or at the next start).
                tracing::error!(%error, old = %marker.old_key, next_seq = marker.next_seq, "undoing a compromised range failed");
                self.undo_failures += 1;
                if self.undo_failures >= MAX_UNDO_FAILURES_IN_A_ROW {
                    tracing::error!(old = %marker.old_key, "giving up undoing this range until the next start");
                    self.undo.pop_front();
                    self.undo_failures = 0;
                }
                return;
            }
        }
        self.undo_failures = 0;
    }

    /// One step: returns the marker of what is left, `None` when the range is done.
    fn try_undo_step(&mut self, marker: &UndoMarker) -> Result<Option<UndoMarker>, IngestError> {
        let old = marker.old_key;
        let Some(rotation) = self.trust.rotation_of(&old) else {
            return Ok(None);
        };
        let since = rotation.compromised_since.unwrap_or(rotation.seq);
        let reason = compromise_reason(since, &rotation.entry_id);
        let end = marker
            .end_seq
            .min(marker.next_seq.saturating_add(UNDO_STEP_ENTRIES));
        let mut batch = self.store.batch();
        let mut touched_rights = BTreeSet::new();
        let claims_count = self.trust.is_marketplace(&old);
        for seq in marker.next_seq..end {
            let Some(id) = self.store.entry_id_at(&old, seq)? else {
                continue;
            };
            let Some(entry) = self.store.entry(&id)? else {
                continue;
            };
            batch.put_ineffective(&id, &reason);
            match entry.body() {
                Body::Registration(body) => {
                    touched_rights.insert(body.right_id.as_str().to_owned());
                }
                Body::Status(body) => {
                    touched_rights.insert(body.right_id.as_str().to_owned());
                }
                Body::Notice(_) | Body::Decision(_) | Body::CounterNotice(_) if claims_count => {
                    batch.delete_claim_indexes(&entry);
                }
                _ => {}
            }
        }
        for right_id in touched_rights {
            self.refold_right(&mut batch, &right_id)?;
        }
        let next = (end < marker.end_seq).then_some(UndoMarker {
            next_seq: end,
            ..*marker
        });
        match &next {
            Some(next) => batch.put_undo_marker(next),
            None => batch.delete_undo_marker(&old),
        }
        self.store.commit(batch, self.sync_writes)?;
        if next.is_none() {
            tracing::info!(old = %old, compromised_since = since, rotation = %rotation.entry_id, "compromised range undone");
        }
        Ok(next)
    }

    /// Folds `right_id` again from its history without the distrusted entries.
    fn refold_right(
        &self,
        batch: &mut crate::storage::StoreBatch,
        right_id: &str,
    ) -> Result<(), IngestError> {
        let Some(previous) = self.store.right(right_id)? else {
            return Ok(());
        };
        if previous
            .history
            .first()
            .is_none_or(|item| item.change != rights::HistoryChange::Registration)
        {
            // The history was cut at MAX_HISTORY items: the fold cannot start from the
            // registration. Documented limitation (ARCHITECTURE.md).
            tracing::warn!(
                right_id,
                "a right's history is cut; it is not folded again after a compromise"
            );
            return Ok(());
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(previous.history.len());
        for item in &previous.history {
            if let Some(entry) = self.store.entry(&item.entry_id)? {
                if self
                    .trust
                    .compromised(entry.author(), entry.seq())
                    .is_none()
                {
                    entries.push(entry);
                }
            }
        }
        let inputs = entries.iter().filter_map(|entry| {
            let meta = EntryMeta::of(entry, self.trust.root(entry.author()));
            match entry.body() {
                Body::Registration(body) => Some(FoldEntry::Registration(meta, body)),
                Body::Status(body) => Some(FoldEntry::Status(meta, body)),
                _ => None,
            }
        });
        let refolded = rights::refold(inputs);
        for (id, why) in &refolded.ineffective {
            batch.put_ineffective(id, &why.to_string());
        }
        match refolded.state {
            Some(state) => batch.put_right(Some(&previous), &state)?,
            None => batch.delete_right(&previous),
        }
        Ok(())
    }
}

/// Failed steps in a row after which a range waits for the next start.
const MAX_UNDO_FAILURES_IN_A_ROW: u32 = 16;
