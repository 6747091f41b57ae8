//! Proofs this node gives of its feeds' entries (protocol §14.6): the C2SP tlog-proof of an
//! entry against the latest stored checkpoint that covers it, with the cosignatures held. Served
//! by `GET /v1/entries/{id}/proof` and carried by the credentials the node issues (§6.5.3).

use proto_types::checkpoint::tlog_proof::{TlogProof, TlogProofError};
use proto_types::entry::EntryId;

use crate::storage::{StorageError, Store};

/// Why an entry has no proof here.
#[derive(Debug, thiserror::Error)]
pub enum EntryProofError {
    /// The node does not hold the entry.
    #[error("no entry {0}")]
    Unknown(EntryId),
    /// The entry is held as evidence only (the losing side of an equivocation): it is in no
    /// tree of this node.
    #[error("entry {0} is not in its author's feed on this node")]
    NotInFeed(EntryId),
    /// No stored checkpoint covers the entry yet.
    #[error(
        "no checkpoint of {author} covering seq {seq} is held yet; retry after the next checkpoint"
    )]
    NotCheckpointed {
        /// The entry's author, a did:key.
        author: String,
        /// The entry's seq.
        seq: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The proof could not be written (a stored checkpoint that does not parse).
    #[error("building the proof: {0}")]
    Build(#[from] TlogProofError),
}

/// The tlog-proof of entry `id` against the latest stored checkpoint covering it, with that
/// checkpoint's cosignatures; with `carry_entry`, the entry's canonical bytes ride as the
/// proof's `extra` data (what a credential carries, so that it verifies with nothing online).
/// Blocking: call off the executor.
pub fn entry_proof(
    store: &Store,
    id: &EntryId,
    carry_entry: bool,
) -> Result<TlogProof, EntryProofError> {
    let bytes = store
        .entry_bytes(id)?
        .ok_or(EntryProofError::Unknown(*id))?;
    let entry =
        proto_types::entry::Entry::decode(&bytes).map_err(|error| StorageError::Corrupt {
            cf: "entries",
            reason: format!("entry {id}: {error}"),
        })?;
    let (author, seq) = (*entry.author(), entry.seq());
    if store.entry_id_at(&author, seq)? != Some(*id) {
        return Err(EntryProofError::NotInFeed(*id));
    }
    // A checkpoint is stored only when its root is this node's tree at its size, so every node
    // the proof needs is stored.
    let checkpoint = store.checkpoint_covering(&author, seq)?.ok_or_else(|| {
        EntryProofError::NotCheckpointed {
            author: author.to_did_key(),
            seq,
        }
    })?;
    let inclusion = store.inclusion_proof(&author, seq - 1, checkpoint.size)?;
    Ok(TlogProof::new(
        carry_entry.then_some(bytes),
        seq - 1,
        inclusion,
        &checkpoint.note_with_cosignatures(),
    )?)
}
