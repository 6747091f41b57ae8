//! The writer's own entries: numbered after this node's head, chained to it, timestamped
//! (never before the last own entry, even when the clock goes back), signed with the
//! authority key, then stored through the same code as foreign entries.
//!
//! Own entries that could not change anything are refused ([`Refusal`]) or skipped
//! ([`IngestOutcome::Unchanged`]) before they are signed, so that an importer can replay a
//! register safely and two copies of one notice cannot both be recorded.

use proto_types::body::Body;
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::timestamp::Timestamp;

use super::writer::{Staged, Writer};
use super::{IngestError, IngestOutcome, Refusal, Source};
use crate::rights::{self, EntryMeta};
use crate::storage::{ClaimIndex, StoreBatch};

impl Writer {
    /// Appends `body` to this node's own feed within the current group.
    pub(super) fn append(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        body: Body,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let author = self.key.public_key();
        // A rotation of this very key may have arrived from elsewhere (the operator rotated
        // with another copy of the key, or restored an old key file): its feed is closed.
        // A rotation staged in this very group counts too: it may have arrived in the same group
        // as this append, and signing after it would fork the feed.
        if let Some(rotated_at) = self.rotated_at(staged, &author) {
            return Err(IngestError::OwnKeyRotated(rotated_at));
        }
        let head = self.head(&author)?;
        let seq = head.map_or(1, |head| head.seq + 1);
        let last_millis = match self.last_own_millis {
            Some(millis) => Some(millis),
            None => match head {
                Some(head) => self
                    .stored_at(staged, &author, head.seq)?
                    .map(|entry| entry.timestamp().unix_millis()),
                None => None,
            },
        };
        // Timestamps of one feed never go backwards, even when the clock does.
        let millis = crate::clock::now_millis().max(last_millis.unwrap_or(0));
        let timestamp = Timestamp::from_unix_millis(millis).map_err(Refusal::Clock)?;
        let probe = EntryMeta {
            author,
            authority: self.root_of(staged, &author),
            id: EntryId([0; 32]),
            seq,
            timestamp: timestamp.clone(),
        };
        match &body {
            Body::Registration(registration) => {
                if !self.office_for(staged, &author, &registration.jurisdiction) {
                    return Err(Refusal::NotOffice(registration.jurisdiction.clone()).into());
                }
                let current = self.right(staged, registration.right_id.as_str())?;
                let next = rights::apply_registration(current.as_ref(), &probe, registration)
                    .map_err(Refusal::WouldBeIneffective)?;
                if let Some(current) =
                    current.filter(|current| rights::same_content(current, &next))
                {
                    return Ok(IngestOutcome::Unchanged {
                        last_entry: current.last_entry,
                    });
                }
            }
            Body::Notice(notice) => {
                // Checked here, where writes are serialised, so that two copies of one notice
                // submitted at once cannot both be recorded.
                let nonce = &notice.notice.nonce;
                if staged.nonces.contains(nonce)
                    || !self
                        .store
                        .claim_ids(ClaimIndex::Nonce, nonce, 1)?
                        .is_empty()
                {
                    return Err(Refusal::ReplayedNonce.into());
                }
                staged.nonces.insert(nonce.clone());
            }
            Body::Status(status) => {
                let jurisdiction = status.right_id.jurisdiction();
                if !self.office_for(staged, &author, jurisdiction) {
                    return Err(Refusal::NotOffice(jurisdiction.clone()).into());
                }
                let current = self.right(staged, status.right_id.as_str())?;
                let next = rights::apply_status(current.as_ref(), &probe, status)
                    .map_err(Refusal::WouldBeIneffective)?;
                if let Some(current) =
                    current.filter(|current| rights::same_content(current, &next))
                {
                    return Ok(IngestOutcome::Unchanged {
                        last_entry: current.last_entry,
                    });
                }
            }
            Body::Credential(_) | Body::CredentialStatus(_) => {
                self.check_own_credential(staged, &author, seq, &body)?;
            }
            _ => {}
        }
        let entry = UnsignedEntry {
            seq,
            prev: head.map(|head| head.id),
            timestamp,
            body,
        }
        .sign(&self.key)?;
        self.last_own_millis = Some(millis);
        self.stage(batch, staged, entry, source)
    }
}
