//! The writer's half of checkpoints (protocol §14.3–14.4): it signs the checkpoints of this
//! node's own feed and stores every checkpoint, cosignature, witness state and split-view proof,
//! in the batch of the group they arrive in.
//!
//! - [`Ingest::checkpoint_own`] (the checkpointer's tick): when the own feed's head is above the
//!   latest own checkpoint, sign one at the head with the current key and store it.
//! - With `checkpoint_before_ack`, a group that staged own entries also stages the checkpoint
//!   at the new head, so it is committed with them, before any reply: a failed commit stores
//!   neither. A group that rotates the own key always stages the old feed's final checkpoint,
//!   signed by the old key.
//! - [`Ingest::write_checkpoints`]: what the transparency layer decided for one feed (a
//!   verified checkpoint and its verified cosignatures, the new witness state, split-view
//!   proofs). The writer stores the checkpoint and its cosignatures only when its root is the
//!   feed's tree at its size here (so a stored checkpoint always matches the tiles and proofs
//!   the node serves), keeps [`MAX_CHECKPOINTS_PER_FEED`] per feed (pruning the oldest in the
//!   same batch), at most [`MAX_COSIGNATURES_PER_CHECKPOINT`] cosignatures each, and at most
//!   [`MAX_SPLIT_VIEWS_PER_FEED`] proofs per feed.
//!
//! Roots are computed over the committed tree and the nodes the group staged, so a checkpoint
//! can cover entries of its own group.

use std::collections::HashMap;

use proto_types::checkpoint::cosignature::VerifiedCosignature;
use proto_types::checkpoint::{VerifiedCheckpoint, sign_feed_checkpoint};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::tlog::{self, HashReader, NodeId, TreeHash};
use tokio::sync::oneshot;

use super::writer::{Command, Staged, Writer};
use super::{Ingest, IngestError};
use crate::storage::{
    MAX_CHECKPOINTS_PER_FEED, MAX_COSIGNATURES_PER_CHECKPOINT, MAX_SPLIT_VIEWS_PER_FEED,
    StagedTree, StorageError, Store, StoreBatch, WitnessState,
};

/// Where the writer sends an own checkpoint it signed (none when the head was covered).
pub(super) type CheckpointReply = oneshot::Sender<Result<Option<OwnCheckpoint>, IngestError>>;
/// Where the writer sends what it stored of a [`CheckpointWrite`].
pub(super) type CheckpointsReply = oneshot::Sender<Result<CheckpointWritten, IngestError>>;

/// A checkpoint of this node's own feed, signed and stored by the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnCheckpoint {
    /// The feed's key (the current signing key, or the old key of a rotation).
    pub author: PublicKey,
    /// The tree size (the head's seq).
    pub size: u64,
    /// The signed note (the author's signature only).
    pub note: String,
}

/// A split-view proof to store: made and checked by `transparency::split_view`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitViewRecord {
    /// The author who signed both checkpoints.
    pub author: PublicKey,
    /// The proof's id (SHA-256 of its JSON).
    pub id: [u8; 32],
    /// The proof's JSON.
    pub json: Vec<u8>,
}

/// What the transparency layer asks the writer to store for one feed, in one batch.
#[derive(Debug, Clone)]
pub struct CheckpointWrite {
    /// The checkpoint, its author's signature verified.
    pub checkpoint: VerifiedCheckpoint,
    /// Its cosignatures that verified (this node's own among them when it cosigned), the ones
    /// a witness policy names first: the writer keeps the first ones up to the bound.
    pub cosignatures: Vec<VerifiedCosignature>,
    /// This node's new witness state for the feed, when it cosigned the checkpoint.
    pub witness_state: Option<WitnessState>,
    /// Split-view proofs against the checkpoint's author.
    pub split_views: Vec<SplitViewRecord>,
}

/// What the writer stored of a [`CheckpointWrite`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointWritten {
    /// Whether the checkpoint is stored (now or before): its root is this node's tree.
    pub checkpoint_held: bool,
    /// Whether the checkpoint was stored by this write.
    pub checkpoint_new: bool,
    /// Cosignatures this write added or replaced.
    pub cosignatures_new: usize,
    /// Split-view proofs this write stored.
    pub split_views_new: usize,
}

impl CheckpointWritten {
    /// Whether the write stored anything new (then the message that brought it is worth
    /// forwarding).
    pub fn anything_new(&self) -> bool {
        self.checkpoint_new || self.cosignatures_new > 0 || self.split_views_new > 0
    }
}

/// Checkpoints the current group staged, by feed: their sizes.
#[derive(Default)]
pub(super) struct StagedCheckpoints {
    sizes: HashMap<PublicKey, Vec<u64>>,
    split_views: HashMap<PublicKey, usize>,
}

/// Reads a feed's tree as the group left it: staged nodes first, then the store.
struct GroupTreeReader<'a> {
    store: &'a Store,
    staged: &'a StagedTree,
    author: &'a PublicKey,
}

impl HashReader for GroupTreeReader<'_> {
    type Error = StorageError;

    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, StorageError> {
        let mut found: Vec<Option<TreeHash>> = nodes
            .iter()
            .map(|node| self.staged.staged_node(self.author, node))
            .collect();
        let missing: Vec<NodeId> = nodes
            .iter()
            .zip(&found)
            .filter(|(_, hash)| hash.is_none())
            .map(|(node, _)| *node)
            .collect();
        if !missing.is_empty() {
            let mut read = self.store.tree_nodes(self.author, &missing)?.into_iter();
            for slot in found.iter_mut().filter(|hash| hash.is_none()) {
                *slot = read.next().flatten();
            }
        }
        nodes
            .iter()
            .zip(found)
            .map(|(node, hash)| {
                hash.ok_or_else(|| StorageError::Corrupt {
                    cf: "tlog",
                    reason: format!(
                        "node {}/{} of {} missing",
                        node.level, node.index, self.author
                    ),
                })
            })
            .collect()
    }
}

impl Writer {
    /// The root of `author`'s tree at `size` as the group left it (the head must reach `size`).
    fn group_root(
        &self,
        staged: &Staged,
        author: &PublicKey,
        size: u64,
    ) -> Result<TreeHash, IngestError> {
        let mut reader = GroupTreeReader {
            store: &self.store,
            staged: staged.tree(),
            author,
        };
        tlog::tree_hash(size, &mut reader).map_err(|error| {
            IngestError::Storage(match error {
                tlog::TreeError::Read(error) => error,
                other => StorageError::Corrupt {
                    cf: "tlog",
                    reason: other.to_string(),
                },
            })
        })
    }

    /// The sizes of `author`'s checkpoints, stored or staged by this group, ascending.
    fn checkpoint_sizes(
        &self,
        staged: &Staged,
        author: &PublicKey,
    ) -> Result<Vec<u64>, IngestError> {
        let mut sizes = self.store.checkpoint_sizes(author)?;
        if let Some(more) = staged.checkpoints.sizes.get(author) {
            sizes.extend(more);
        }
        sizes.sort_unstable();
        sizes.dedup();
        Ok(sizes)
    }

    /// Stages a checkpoint of `author`'s feed at `size` (root checked by the caller), pruning
    /// the oldest beyond [`MAX_CHECKPOINTS_PER_FEED`]. Returns false, staging nothing, when it is
    /// held already or older than every checkpoint kept.
    fn stage_checkpoint(
        &self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        author: &PublicKey,
        size: u64,
        root: &TreeHash,
        note: &str,
    ) -> Result<bool, IngestError> {
        let sizes = self.checkpoint_sizes(staged, author)?;
        if sizes.contains(&size) {
            return Ok(false);
        }
        let full = sizes.len() >= MAX_CHECKPOINTS_PER_FEED;
        if full && sizes.first().is_some_and(|oldest| size < *oldest) {
            return Ok(false);
        }
        batch.put_checkpoint(author, size, root, note);
        let mut all = sizes;
        all.push(size);
        all.sort_unstable();
        let excess = all.len().saturating_sub(MAX_CHECKPOINTS_PER_FEED);
        for old in all.iter().take(excess) {
            batch.delete_checkpoint(author, *old);
        }
        let kept: Vec<u64> = all.into_iter().skip(excess).collect();
        staged.checkpoints.sizes.insert(*author, kept);
        Ok(true)
    }

    /// Signs and stages the checkpoint of `key`'s feed at its head, unless a checkpoint of that
    /// size is held.
    fn sign_own_checkpoint(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        key: &SecretKey,
    ) -> Result<Option<OwnCheckpoint>, IngestError> {
        let author = key.public_key();
        let Some(head) = self.head(&author)? else {
            return Ok(None);
        };
        let sizes = self.checkpoint_sizes(staged, &author)?;
        if sizes.last().is_some_and(|latest| *latest >= head.seq) {
            return Ok(None);
        }
        let root = self.group_root(staged, &author, head.seq)?;
        let note = sign_feed_checkpoint(key, head.seq, &root);
        if !self.stage_checkpoint(batch, staged, &author, head.seq, &root, &note)? {
            return Ok(None);
        }
        Ok(Some(OwnCheckpoint {
            author,
            size: head.seq,
            note,
        }))
    }

    /// `Command::Checkpoint`: the own feed's checkpoint at its head, when it is above the latest.
    /// A key rotated away signs nothing more (its final checkpoint came with the rotation).
    pub(super) fn checkpoint_own(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
    ) -> Result<Option<OwnCheckpoint>, IngestError> {
        let key = self.key.clone();
        if self.rotated_at(staged, &key.public_key()).is_some() {
            return Ok(None);
        }
        self.sign_own_checkpoint(batch, staged, &key)
    }

    /// Before a group's commit: the final checkpoint of a feed the group rotated away from, and
    /// with `checkpoint_before_ack` the checkpoint of the own feed when the group extended it.
    pub(super) fn checkpoint_group(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
    ) -> Result<(), IngestError> {
        if let Some(old) = staged
            .own_rotation
            .as_ref()
            .map(|rotation| rotation.old_key().clone())
        {
            self.sign_own_checkpoint(batch, staged, &old)?;
        }
        if self.checkpoint_before_ack {
            let key = self.key.clone();
            if staged.extended(&key.public_key())
                && self.rotated_at(staged, &key.public_key()).is_none()
            {
                self.sign_own_checkpoint(batch, staged, &key)?;
            }
        }
        Ok(())
    }

    /// `Command::Checkpoints`: stores what the transparency layer decided for one feed.
    pub(super) fn write_checkpoints(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        write: CheckpointWrite,
    ) -> Result<CheckpointWritten, IngestError> {
        let author = *write.checkpoint.author();
        let size = write.checkpoint.checkpoint().size();
        let root = *write.checkpoint.checkpoint().root();
        let mut written = CheckpointWritten::default();
        let head = self.head(&author)?.map_or(0, |head| head.seq);
        let matches_tree =
            size > 0 && head >= size && self.group_root(staged, &author, size)? == root;
        if matches_tree {
            let note = write.checkpoint.to_note_text_with(&[]);
            written.checkpoint_new =
                self.stage_checkpoint(batch, staged, &author, size, &root, &note)?;
            written.checkpoint_held =
                written.checkpoint_new || self.checkpoint_sizes(staged, &author)?.contains(&size);
        }
        if written.checkpoint_held {
            let held = self.store.cosignature_lines(&author, size)?;
            let mut count = held.len();
            for cosignature in &write.cosignatures {
                if cosignature.size() != size || cosignature.root() != &root {
                    continue;
                }
                let witness = *cosignature.witness().public_key();
                let line = cosignature.line().to_line();
                let known = held.iter().find(|(key, _)| *key == witness);
                if known.is_some_and(|(_, existing)| *existing == line) {
                    continue;
                }
                if known.is_none() {
                    if count >= MAX_COSIGNATURES_PER_CHECKPOINT {
                        continue;
                    }
                    count += 1;
                }
                batch.put_cosignature(&author, size, &witness, &line);
                written.cosignatures_new += 1;
            }
            if let Some(state) = &write.witness_state {
                if state.size == size && state.root == root {
                    batch.put_witness_state(&author, state);
                }
            }
        }
        for proof in &write.split_views {
            if proof.author != author || self.store.has_split_view(&author, &proof.id)? {
                continue;
            }
            let staged_count = staged
                .checkpoints
                .split_views
                .get(&author)
                .copied()
                .unwrap_or(0);
            let stored = self
                .store
                .split_view_count(&author, MAX_SPLIT_VIEWS_PER_FEED)?;
            if stored + staged_count >= MAX_SPLIT_VIEWS_PER_FEED {
                break;
            }
            tracing::warn!(author = %author, "split view: the author signed two checkpoints that contradict each other");
            batch.put_checkpoint_equivocation(&author, &proof.id, &proof.json);
            *staged.checkpoints.split_views.entry(author).or_insert(0) += 1;
            written.split_views_new += 1;
        }
        Ok(written)
    }
}

impl Ingest {
    /// Signs and stores a checkpoint of this node's own feed at its head, when the head is
    /// above the latest own checkpoint; the answer comes once it is committed. None: the head
    /// was covered already (or the feed is empty, or its key rotated away).
    pub async fn checkpoint_own(&self) -> Result<Option<OwnCheckpoint>, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Checkpoint { reply })
            .await
            .map_err(|_| IngestError::Closed)?;
        response.await.map_err(|_| IngestError::Closed)?
    }

    /// Stores what the transparency layer decided for one feed (see [`CheckpointWrite`]); the
    /// answer says what was new, once committed.
    pub async fn write_checkpoints(
        &self,
        write: CheckpointWrite,
    ) -> Result<CheckpointWritten, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Checkpoints {
                write: Box::new(write),
                reply,
            })
            .await
            .map_err(|_| IngestError::Closed)?;
        response.await.map_err(|_| IngestError::Closed)?
    }
}
