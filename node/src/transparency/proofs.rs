//! Proofs this node gives of its feeds' entries (protocol §14.6): the C2SP tlog-proof of an
//! entry against the latest stored checkpoint that covers it, with the cosignatures held. Served
//! by `GET /v1/entries/{id}/proof` and carried by the credentials the node issues (§6.5.3).

use proto_types::checkpoint::policy::WitnessPolicy;
use proto_types::checkpoint::tlog_proof::{TlogProof, TlogProofError};
use proto_types::checkpoint::{VerifiedCheckpoint, verify_feed_checkpoint_note};
use proto_types::entry::{Entry, EntryId};
use proto_types::tlog::leaf_hash;

use crate::storage::{StorageError, Store};
use crate::trust::Trust;

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
    let entry = Entry::decode(&bytes).map_err(|error| StorageError::Corrupt {
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

/// One check of an entry's proof and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofCheck {
    /// Stable code: `entry_signature`, `checkpoint_signature`, `inclusion`, `feed_author`,
    /// `trusted`, `index`, `witnesses`.
    pub code: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, for a person.
    pub message: String,
}

impl ProofCheck {
    fn new(code: &'static str, ok: bool, message: impl Into<String>) -> Self {
        Self {
            code,
            ok,
            message: message.into(),
        }
    }
}

/// What the witness policy's check of the proof's checkpoint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessSummary {
    /// The policy's quorum is met.
    pub satisfied: bool,
    /// The witnesses whose valid cosignatures counted.
    pub counted: Vec<String>,
    /// Cosignature lines naming a policy witness that do not verify.
    pub invalid: usize,
}

/// The outcome of [`check_entry_proof`]: every check, in a fixed order, and what the proof
/// claims.
#[derive(Debug, Clone)]
pub struct ProofReport {
    /// The checks, in the order of protocol §14.6.
    pub checks: Vec<ProofCheck>,
    /// The checkpoint's origin line.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash.
    pub root: [u8; 32],
    /// The proof's leaf index.
    pub index: u64,
    /// The witness policy's verdict, when a policy was given.
    pub witnesses: Option<WitnessSummary>,
}

impl ProofReport {
    /// Every check passed.
    pub fn valid(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }
}

/// Checks offline that `entry` is in its author's feed by `proof` (protocol §14.6): the
/// entry's signature, the checkpoint's signature by the feed's key, the inclusion path to the
/// checkpoint's root, that the checkpoint is of the entry author's feed, that `trust` trusts
/// the author, that the proof's index is the entry's seq − 1, and with `policy` the
/// cosignatures it asks for. The same checks as `rightsnet proof verify` (which calls this) and
/// the console's proof page.
pub fn check_entry_proof(
    entry: &Entry,
    proof: &TlogProof,
    trust: &Trust,
    policy: Option<&WitnessPolicy>,
) -> ProofReport {
    let mut checks = Vec::new();
    let author = *entry.author();
    let leaf = leaf_hash(entry.canonical_bytes());
    checks.push(match entry.clone().verify() {
        Ok(_) => ProofCheck::new("entry_signature", true, "the entry's signature verifies"),
        Err(error) => ProofCheck::new("entry_signature", false, error.to_string()),
    });
    let checkpoint = proof.checkpoint();
    let (size, root) = (checkpoint.size(), checkpoint.root().0);
    let origin = checkpoint.origin().to_owned();
    let signed_by_feed = || {
        ProofCheck::new(
            "checkpoint_signature",
            true,
            format!("the checkpoint of {origin} is signed by its feed's key"),
        )
    };
    let verified_checkpoint: Option<VerifiedCheckpoint> = match proof.verify(&leaf) {
        Ok(verified) => {
            checks.push(signed_by_feed());
            checks.push(ProofCheck::new(
                "inclusion",
                true,
                format!("the entry is leaf {} of the tree of {size}", proof.index()),
            ));
            Some(verified.checkpoint().clone())
        }
        Err(TlogProofError::Inclusion(reason)) => {
            // The checkpoint verified before the inclusion was checked.
            checks.push(signed_by_feed());
            checks.push(ProofCheck::new("inclusion", false, reason));
            verify_feed_checkpoint_note(proof.note().clone()).ok()
        }
        Err(error) => {
            checks.push(ProofCheck::new(
                "checkpoint_signature",
                false,
                error.to_string(),
            ));
            None
        }
    };
    checks.push(match verified_checkpoint.as_ref().map(|c| *c.author()) {
        Some(feed) if feed == author => ProofCheck::new(
            "feed_author",
            true,
            "the checkpoint is of the entry author's feed",
        ),
        Some(feed) => ProofCheck::new(
            "feed_author",
            false,
            format!(
                "the checkpoint is of the feed of {}, the entry's author is {}",
                feed.to_did_key(),
                author.to_did_key()
            ),
        ),
        None => ProofCheck::new("feed_author", false, "no verified checkpoint"),
    });
    checks.push(if trust.is_trusted(&author) {
        ProofCheck::new(
            "trusted",
            true,
            format!("{} is a trusted authority", author.to_did_key()),
        )
    } else {
        ProofCheck::new(
            "trusted",
            false,
            format!("{} is not a trusted authority", author.to_did_key()),
        )
    });
    // A decoded entry has seq ≥ 1.
    let expected_index = entry.seq().saturating_sub(1);
    checks.push(ProofCheck::new(
        "index",
        proof.index() == expected_index,
        format!(
            "the proof's index is {}, the entry's seq − 1 is {expected_index}",
            proof.index()
        ),
    ));
    let mut witnesses = None;
    if let Some(policy) = policy {
        checks.push(match &verified_checkpoint {
            Some(checkpoint) => {
                let verdict = policy.check(checkpoint);
                // protocol §14.6 step 5: the quorum is met, and no line naming a policy
                // witness fails to verify.
                let ok = verdict.satisfied() && verdict.invalid().is_empty();
                let mut message = format!(
                    "{} by the policy's quorum: valid cosignatures of [{}]",
                    if verdict.satisfied() {
                        "witnessed"
                    } else {
                        "not witnessed"
                    },
                    verdict.counted().join(", "),
                );
                if !verdict.invalid().is_empty() {
                    message.push_str(&format!(
                        "; {} line(s) naming a policy witness do not verify",
                        verdict.invalid().len()
                    ));
                }
                witnesses = Some(WitnessSummary {
                    satisfied: verdict.satisfied(),
                    counted: verdict.counted().to_vec(),
                    invalid: verdict.invalid().len(),
                });
                ProofCheck::new("witnesses", ok, message)
            }
            None => ProofCheck::new("witnesses", false, "no verified checkpoint"),
        });
    }
    ProofReport {
        checks,
        origin,
        size,
        root,
        index: proof.index(),
        witnesses,
    }
}
