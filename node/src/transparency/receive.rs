//! The witness at work: a checkpoint or a split-view proof received by gossip, or a checkpoint
//! submitted with the C2SP tlog-witness `add-checkpoint` call, checked, stored through the
//! writer, cosigned, and compared with every other checkpoint of its feed the node knows.
//!
//! Each checkpoint is processed under the memory lock, from the reads to the writer's commit,
//! so the witness state is read and updated atomically (C2SP tlog-witness) and the pending and
//! conflict maps stay in step with the store. Signature checks and store reads run on the
//! blocking pool.

use std::sync::Arc;

use proto_types::checkpoint::cosignature::{VerifiedCosignature, cosign, witness_verifier_key};
use proto_types::checkpoint::{MAX_CHECKPOINT_BYTES, VerifiedCheckpoint, verify_feed_checkpoint};
use proto_types::keys::PublicKey;
use proto_types::note::NoteError;
use proto_types::tlog::{self, TreeHash};

use super::add_checkpoint::{Submitted, check_submitted, parse_add_checkpoint};
use super::split_view::SplitViewProof;
use super::witness::{FeedView, WitnessDecision, decide};
use super::{MAX_HELD_CONFLICTS, MAX_PENDING_CHECKPOINTS, Transparency};
use crate::ingest::{CheckpointWrite, IngestError, SplitViewRecord};
use crate::storage::{StorageError, Store, WitnessState};

/// What gossipsub should do with a message of the checkpoints topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// New and valid: stored or held, forward it.
    Accept,
    /// Malformed or forged (a signature that does not verify): the sender's score drops.
    Reject,
    /// Valid but nothing new, of an author this node does not trust, or the node is busy.
    Ignore,
}

/// Why an `add-checkpoint` call is refused; each maps to the C2SP tlog-witness status code.
#[derive(Debug, thiserror::Error)]
pub enum AddCheckpointError {
    /// 400: the body is not `old N`, proof lines, a blank line and a checkpoint, or old > size.
    #[error("bad add-checkpoint request: {0}")]
    BadRequest(String),
    /// 404: not a feed origin, or an author this node does not trust.
    #[error("unknown log origin")]
    UnknownOrigin,
    /// 403: no valid signature of the feed's author.
    #[error("the checkpoint is not signed by its log: {0}")]
    Forbidden(String),
    /// 409: `old` is not the size this witness cosigned last (the body is that size).
    #[error("old size does not match the latest cosigned size {0}")]
    Conflict(u64),
    /// 422: the proof or the checkpoint is inconsistent (with the witness state, or with this
    /// node's copy of the feed).
    #[error("the checkpoint is not consistent: {0}")]
    Unprocessable(String),
    /// 503: this node does not hold the feed to the checkpoint's size yet; it is held and
    /// cosigned once the entries arrive.
    #[error(
        "this witness does not hold the feed to size {size} yet (it holds {head}); retry later"
    )]
    NotYet {
        /// The checkpoint's size.
        size: u64,
        /// This node's head of the feed.
        head: u64,
    },
    /// 500: the store or the writer failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// What processing one checkpoint did.
#[derive(Default)]
struct Processed {
    /// Something new was stored or held.
    new: bool,
    /// This node's cosignature line, when it cosigned (now or before).
    cosignature: Option<String>,
    /// The witness's decision.
    decision: Option<WitnessDecision>,
}

/// What the store says of a checkpoint's feed, read on the blocking pool.
struct Reads {
    view: FeedView,
    /// The latest stored checkpoint, when it is larger than the received one, with the
    /// consistency evidence from the received size to it (split-view evidence).
    larger: Option<(VerifiedCheckpoint, Vec<TreeHash>)>,
    /// The stored checkpoint of the same size.
    same_size: Option<VerifiedCheckpoint>,
    /// Whether the feed's authority is flagged for a split view.
    flagged: bool,
}

fn storage(error: StorageError) -> IngestError {
    IngestError::Storage(error)
}

fn tree_error(error: tlog::TreeError<StorageError>) -> IngestError {
    match error {
        tlog::TreeError::Read(error) => storage(error),
        other => storage(StorageError::Corrupt {
            cf: "tlog",
            reason: other.to_string(),
        }),
    }
}

fn read_feed(
    transparency: &Transparency,
    store: &Store,
    author: &PublicKey,
    size: u64,
) -> Result<Reads, IngestError> {
    let head = store.head(author)?.map_or(0, |head| head.seq);
    let state = store.witness_state(author)?;
    let root_at_size = (size > 0 && head >= size)
        .then(|| store.tree_root(author, size))
        .transpose()?;
    let consistency = match state {
        Some(state) if state.size > 0 && state.size < size && size <= head => Some(
            tlog::consistency_proof(state.size, size, &mut store.tree_reader(author))
                .map_err(tree_error)?,
        ),
        _ => None,
    };
    let verify_stored = |note: &str| verify_feed_checkpoint(note).ok();
    let same_size = store
        .checkpoint_at(author, size)?
        .and_then(|stored| verify_stored(&stored.note));
    let larger = match store.latest_checkpoint(author)? {
        Some(latest) if latest.size > size && size > 0 => {
            let evidence =
                tlog::consistency_evidence(size, latest.size, &mut store.tree_reader(author))
                    .map_err(tree_error)?;
            verify_stored(&latest.note).map(|checkpoint| (checkpoint, evidence))
        }
        _ => None,
    };
    Ok(Reads {
        view: FeedView {
            head,
            root_at_size,
            state,
            consistency,
        },
        larger,
        same_size,
        flagged: transparency.is_flagged(author),
    })
}

/// Evidence from this node's tree that the checkpoint `conflict` (size ≤ `size`) is not a
/// prefix of the tree whose root `held` is at `size`.
fn evidence_against(
    store: &Store,
    conflict: &VerifiedCheckpoint,
    size: u64,
) -> Result<Vec<TreeHash>, IngestError> {
    tlog::consistency_evidence(
        conflict.checkpoint().size(),
        size,
        &mut store.tree_reader(conflict.author()),
    )
    .map_err(tree_error)
}

impl Transparency {
    /// A message of the checkpoints topic: a checkpoint note (with cosignatures) or a
    /// split-view proof (JSON). Never fails: the answer is what gossipsub should do with it.
    pub async fn receive_gossip(self: &Arc<Self>, bytes: Vec<u8>) -> Acceptance {
        if bytes.first() == Some(&b'{') {
            return self.receive_split_view(bytes).await;
        }
        if bytes.len() > MAX_CHECKPOINT_BYTES {
            return Acceptance::Reject;
        }
        let verified = tokio::task::spawn_blocking(move || {
            let text = std::str::from_utf8(&bytes).ok()?;
            let checkpoint = verify_feed_checkpoint(text).ok()?;
            let check = checkpoint.rightsnet_cosignatures();
            // A line that names a witness key but does not verify: a forged note.
            check.invalid().is_empty().then(|| {
                let cosignatures = check.into_valid();
                (checkpoint, cosignatures)
            })
        })
        .await;
        let Ok(Some((checkpoint, cosignatures))) = verified else {
            self.metrics.event("checkpoint_gossip_rejected");
            return Acceptance::Reject;
        };
        if !self.ingest.trust().is_trusted(checkpoint.author()) {
            return Acceptance::Ignore;
        }
        match self.process(checkpoint, cosignatures, None).await {
            Ok(processed) if processed.new => Acceptance::Accept,
            Ok(_) => Acceptance::Ignore,
            Err(error) => {
                tracing::warn!(%error, "processing a gossiped checkpoint failed");
                Acceptance::Ignore
            }
        }
    }

    async fn receive_split_view(self: &Arc<Self>, bytes: Vec<u8>) -> Acceptance {
        let proof = tokio::task::spawn_blocking(move || SplitViewProof::from_json(&bytes)).await;
        let proof = match proof {
            Ok(Ok(proof)) => proof,
            // Malformed, a checkpoint that does not verify, no contradiction: a forged proof.
            Ok(Err(_)) => {
                self.metrics.event("split_view_rejected");
                return Acceptance::Reject;
            }
            Err(_) => return Acceptance::Ignore,
        };
        if !self.ingest.trust().is_trusted(proof.author()) {
            return Acceptance::Ignore;
        }
        let write = CheckpointWrite {
            checkpoint: proof.first().clone(),
            cosignatures: Vec::new(),
            witness_state: None,
            split_views: vec![record(&proof)],
        };
        match self.ingest.write_checkpoints(write).await {
            Ok(written) if written.split_views_new > 0 => {
                self.metrics.event("split_view_stored");
                Acceptance::Accept
            }
            Ok(_) => Acceptance::Ignore,
            Err(error) => {
                tracing::warn!(%error, "storing a split-view proof failed");
                Acceptance::Ignore
            }
        }
    }

    /// The C2SP tlog-witness `add-checkpoint` call: `old N`, the consistency proof lines, a
    /// blank line, the checkpoint note. Answers this witness's cosignature line.
    pub async fn add_checkpoint(
        self: &Arc<Self>,
        body: &[u8],
    ) -> Result<String, AddCheckpointError> {
        let (submitted, note) = parse_add_checkpoint(body)?;
        let checkpoint = verify_feed_checkpoint(&note).map_err(|error| {
            use proto_types::checkpoint::CheckpointError;
            match error {
                CheckpointError::NotAFeedOrigin(_) => AddCheckpointError::UnknownOrigin,
                CheckpointError::Note(
                    NoteError::InvalidSignature { .. } | NoteError::NoKnownSignature,
                ) => AddCheckpointError::Forbidden(error.to_string()),
                other => AddCheckpointError::BadRequest(other.to_string()),
            }
        })?;
        if !self.ingest.trust().is_trusted(checkpoint.author()) {
            return Err(AddCheckpointError::UnknownOrigin);
        }
        let size = checkpoint.checkpoint().size();
        if submitted.old > size {
            return Err(AddCheckpointError::BadRequest(format!(
                "old size {} is larger than the checkpoint's {size}",
                submitted.old
            )));
        }
        if size == 0 && *checkpoint.checkpoint().root() != TreeHash::empty() {
            return Err(AddCheckpointError::Unprocessable(
                "a checkpoint of size 0 must have the empty tree's root".to_owned(),
            ));
        }
        let cosignatures = checkpoint.rightsnet_cosignatures().into_valid();
        let processed = self
            .process(checkpoint, cosignatures, Some(submitted))
            .await?;
        match (processed.cosignature, processed.decision) {
            (Some(line), _) => Ok(line),
            (None, Some(WitnessDecision::Wait { head })) => {
                Err(AddCheckpointError::NotYet { size, head })
            }
            (None, Some(WitnessDecision::Refuse(refusal))) => {
                Err(AddCheckpointError::Unprocessable(refusal.to_string()))
            }
            (None, _) => Err(AddCheckpointError::Unprocessable(
                "this witness did not cosign the checkpoint".to_owned(),
            )),
        }
    }

    /// Processes one checkpoint of a trusted author (see the module documentation).
    async fn process(
        self: &Arc<Self>,
        checkpoint: VerifiedCheckpoint,
        cosignatures: Vec<VerifiedCosignature>,
        submitted: Option<Submitted>,
    ) -> Result<Processed, AddCheckpointError> {
        let mut memory = self.memory.lock().await;
        let author = *checkpoint.author();
        let size = checkpoint.checkpoint().size();
        let root = *checkpoint.checkpoint().root();
        let reads = {
            let this = self.clone();
            tokio::task::spawn_blocking(move || read_feed(&this, &this.store, &author, size))
                .await
                .map_err(|_| IngestError::Closed)??
        };
        // A submission that fails the C2SP checks is not cosigned, but what it shows (a split
        // view) is still recorded: the specification lets a witness log such a request.
        let refused_submission = submitted
            .as_ref()
            .and_then(|submitted| check_submitted(submitted, &reads.view, size, &root).err());
        // A witness vouches for other authorities' feeds, not its own.
        let own_feed = self.ingest.trust().root(&author) == *self.ingest.authority();
        let mut processed = Processed::default();
        let mut split_views = Vec::new();
        let matches_tree = reads.view.root_at_size == Some(root);
        // Split views against what the store and the memory hold of this feed.
        if let Some(same) = &reads.same_size {
            split_views.extend(SplitViewProof::same_size(same, &checkpoint));
        }
        if !matches_tree && reads.view.head >= size {
            if let Some((larger, evidence)) = &reads.larger {
                split_views.extend(SplitViewProof::with_consistency(
                    &checkpoint,
                    larger,
                    evidence.clone(),
                ));
            }
        }
        for held in [memory.pending.get(&author), memory.conflicts.get(&author)]
            .into_iter()
            .flatten()
        {
            split_views.extend(SplitViewProof::same_size(held, &checkpoint));
        }
        if matches_tree {
            if let Some(conflict) = memory.conflicts.get(&author).cloned() {
                if conflict.checkpoint().size() < size && conflict.checkpoint().size() > 0 {
                    let store = self.store.clone();
                    let against = conflict.clone();
                    let evidence = tokio::task::spawn_blocking(move || {
                        evidence_against(&store, &against, size)
                    })
                    .await
                    .map_err(|_| IngestError::Closed)??;
                    split_views.extend(SplitViewProof::with_consistency(
                        &conflict,
                        &checkpoint,
                        evidence,
                    ));
                }
            }
        }
        split_views.dedup_by_key(|proof| proof.id());
        // The witness rule.
        let decision = decide(size, &root, &reads.view);
        let mut all_cosignatures = cosignatures;
        let mut witness_state = None;
        let mut own_line = None;
        match &decision {
            WitnessDecision::Cosign
                if refused_submission.is_none() && !own_feed && !reads.flagged =>
            {
                let timestamp = u64::try_from(crate::clock::now_millis() / 1000).unwrap_or(0);
                let line = cosign(&checkpoint, &self.witness_key, timestamp)
                    .map_err(|error| AddCheckpointError::Unprocessable(error.to_string()))?;
                let verified = checkpoint
                    .verify_cosignature(
                        &witness_verifier_key(&self.witness_key.public_key()),
                        &line,
                    )
                    .map_err(|error| AddCheckpointError::Unprocessable(error.to_string()))?;
                own_line = Some(line.to_line());
                all_cosignatures.retain(|other| other.witness() != verified.witness());
                all_cosignatures.insert(0, verified);
                witness_state = Some(WitnessState { size, root });
            }
            WitnessDecision::AlreadyCosigned => {
                let key = self.witness_key.public_key();
                let store = self.store.clone();
                let lines =
                    tokio::task::spawn_blocking(move || store.cosignature_lines(&author, size))
                        .await
                        .map_err(|_| IngestError::Closed)?
                        .map_err(storage)?;
                own_line = lines
                    .into_iter()
                    .find(|(witness, _)| *witness == key)
                    .map(|(_, line)| line);
            }
            _ => {}
        }
        self.order_by_policy(&mut all_cosignatures);
        let write = CheckpointWrite {
            checkpoint: checkpoint.clone(),
            cosignatures: all_cosignatures,
            witness_state,
            split_views: split_views.iter().map(record).collect(),
        };
        let written = self.ingest.write_checkpoints(write).await?;
        processed.new = written.anything_new();
        if written.split_views_new > 0 {
            self.metrics.event("split_view_stored");
            for proof in &split_views {
                self.publish(proof.to_json());
            }
        }
        // The memory: held ahead, held as a conflict, or settled.
        match &decision {
            WitnessDecision::Wait { .. } => {
                let newer = memory
                    .pending
                    .get(&author)
                    .is_none_or(|held| held.checkpoint().size() < size);
                if newer
                    && (memory.pending.len() < MAX_PENDING_CHECKPOINTS
                        || memory.pending.contains_key(&author))
                {
                    memory.pending.insert(author, checkpoint.clone());
                    processed.new = true;
                }
            }
            WitnessDecision::Refuse(super::witness::WitnessRefusal::RootMismatch { .. }) => {
                if split_views.is_empty()
                    && (memory.conflicts.len() < MAX_HELD_CONFLICTS
                        || memory.conflicts.contains_key(&author))
                {
                    let replaced = memory.conflicts.insert(author, checkpoint.clone());
                    processed.new |= replaced.as_ref() != Some(&checkpoint);
                }
                tracing::warn!(author = %author, size, "a checkpoint whose root is not this node's tree of the feed");
            }
            _ => {}
        }
        if !split_views.is_empty() {
            memory.conflicts.remove(&author);
        }
        drop(memory);
        if let Some(error) = refused_submission {
            return Err(error);
        }
        if matches!(decision, WitnessDecision::Cosign) && own_line.is_some() {
            self.metrics.event("checkpoint_cosigned");
            self.gossip_held(author, size).await;
        }
        if own_feed && submitted.is_some() {
            return Err(AddCheckpointError::Unprocessable(
                "a witness does not cosign its own authority's feed".to_owned(),
            ));
        }
        processed.cosignature = own_line;
        processed.decision = Some(decision);
        Ok(processed)
    }

    /// Gossips the stored checkpoint of `author` at `size` with every cosignature held.
    pub(super) async fn gossip_held(&self, author: PublicKey, size: u64) {
        let store = self.store.clone();
        let stored = tokio::task::spawn_blocking(move || store.checkpoint_at(&author, size)).await;
        if let Ok(Ok(Some(stored))) = stored {
            self.publish(stored.note_with_cosignatures().into_bytes());
        }
    }

    /// Puts the cosignatures of the policy's witnesses first (the writer keeps the first ones
    /// when a checkpoint has more than it stores).
    fn order_by_policy(&self, cosignatures: &mut [VerifiedCosignature]) {
        if let Some(policy) = &self.policy {
            let keys = policy.witness_keys();
            cosignatures.sort_by_key(|cosignature| {
                !keys
                    .iter()
                    .any(|key| key.public_key() == cosignature.witness().public_key())
            });
        }
    }

    /// Checkpoints held ahead of their feed whose feed has caught up: processed again (the
    /// checkpointer's tick).
    pub(super) async fn retry_pending(self: &Arc<Self>) {
        let waiting: Vec<(PublicKey, u64)> = {
            let memory = self.memory.lock().await;
            memory
                .pending
                .iter()
                .map(|(author, held)| (*author, held.checkpoint().size()))
                .collect()
        };
        if waiting.is_empty() {
            return;
        }
        // The heads are read on the blocking pool, outside the lock.
        let store = self.store.clone();
        let caught_up = tokio::task::spawn_blocking(move || {
            waiting
                .into_iter()
                .filter(|(author, size)| {
                    store
                        .head(author)
                        .ok()
                        .flatten()
                        .is_some_and(|head| head.seq >= *size)
                })
                .map(|(author, _)| author)
                .collect::<Vec<PublicKey>>()
        })
        .await
        .unwrap_or_default();
        let ready: Vec<VerifiedCheckpoint> = {
            let mut memory = self.memory.lock().await;
            caught_up
                .iter()
                .filter_map(|author| memory.pending.remove(author))
                .collect()
        };
        for checkpoint in ready {
            let cosignatures = checkpoint.rightsnet_cosignatures().into_valid();
            if let Err(error) = self.process(checkpoint, cosignatures, None).await {
                tracing::warn!(%error, "witnessing a held checkpoint failed");
            }
        }
    }
}

fn record(proof: &SplitViewProof) -> SplitViewRecord {
    SplitViewRecord {
        author: *proof.author(),
        id: proof.id(),
        json: proof.to_json(),
    }
}
