//! The read seam between the transparency routes (`GET /v1/feeds/{author}/checkpoint`,
//! `GET /v1/entries/{id}/proof`, protocol §11.5) and wherever the node keeps the checkpoints it
//! holds: [`CheckpointSource`] answers, for one feed, the signed checkpoints held for it with
//! the witness cosignatures held for each, newest first. The routes choose among them
//! ([`servable`], [`covering`]) and never write.
//!
//! [`StoredCheckpoints`] is the node's source: the store's `checkpoints` family, which the
//! witness side of the node fills (its key layout and writes belong to
//! `storage/checkpoints.rs`). [`MemoryCheckpoints`] holds checkpoints in memory, for tests and
//! tools that sign their own.

use std::collections::HashMap;
use std::sync::RwLock;

use proto_types::checkpoint::{CheckpointError, verify_feed_checkpoint};
use proto_types::keys::PublicKey;
use proto_types::tlog::TreeHash;

use crate::storage::{StorageError, Store};

/// A checkpoint of one feed as the node serves it: the signed note (the author's signature
/// line first, then the cosignature lines held for it), and the tree size and root it states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldCheckpoint {
    /// The note, with every signature line held, ending in a newline.
    pub note: String,
    /// The tree size the checkpoint states.
    pub size: u64,
    /// The root hash the checkpoint states.
    pub root: TreeHash,
}

impl HeldCheckpoint {
    /// A held checkpoint from its note, which must verify as a feed checkpoint signed by its
    /// author ([`verify_feed_checkpoint`]); returns the author with it. Its other signature
    /// lines are kept as they are.
    pub fn from_note(note: &str) -> Result<(PublicKey, Self), CheckpointError> {
        let verified = verify_feed_checkpoint(note)?;
        let checkpoint = verified.checkpoint();
        Ok((
            *verified.author(),
            Self {
                note: verified.to_note_text(),
                size: checkpoint.size(),
                root: *checkpoint.root(),
            },
        ))
    }
}

/// Where the transparency routes read the checkpoints a node holds.
pub trait CheckpointSource: Send + Sync {
    /// The checkpoints held for `author`'s feed, each with its cosignatures, newest (largest
    /// size) first; empty when none is held. Called on the blocking pool with the store.
    fn held_checkpoints(
        &self,
        store: &Store,
        author: &PublicKey,
    ) -> Result<Vec<HeldCheckpoint>, StorageError>;
}

/// The checkpoints of `held` (newest first) whose tree the node can serve: their size is at
/// most `head`, the feed's head seq, so every tile and proof of their size can be fetched from
/// the same node. The `checkpoint` route answers the first whose root is the stored tree's.
pub fn servable(held: &[HeldCheckpoint], head: u64) -> impl Iterator<Item = &HeldCheckpoint> {
    held.iter()
        .filter(move |checkpoint| checkpoint.size <= head)
}

/// The servable checkpoints of `held` (newest first) that cover the entry at `seq`: their size
/// is at least `seq`. The proof route answers relative to the first whose root is the stored
/// tree's.
pub fn covering(
    held: &[HeldCheckpoint],
    seq: u64,
    head: u64,
) -> impl Iterator<Item = &HeldCheckpoint> {
    servable(held, head).filter(move |checkpoint| checkpoint.size >= seq)
}

/// The checkpoints the store holds (family `checkpoints`).
///
/// The witness side of the node writes that family (`storage/checkpoints.rs`); until its read
/// is wired here, the store is read as holding none, and the routes answer accordingly (no
/// checkpoint: 404; no proof: 409 `not_checkpointed`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StoredCheckpoints;

impl CheckpointSource for StoredCheckpoints {
    fn held_checkpoints(
        &self,
        _store: &Store,
        _author: &PublicKey,
    ) -> Result<Vec<HeldCheckpoint>, StorageError> {
        Ok(Vec::new())
    }
}

/// The most checkpoints [`MemoryCheckpoints`] keeps per feed (the newest).
pub const MAX_MEMORY_CHECKPOINTS_PER_FEED: usize = 64;

/// Checkpoints held in memory, by feed: for tests, and for tools that sign their own.
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    feeds: RwLock<HashMap<PublicKey, Vec<HeldCheckpoint>>>,
}

impl MemoryCheckpoints {
    /// Holds the checkpoint `note` (verified as a feed checkpoint) for its feed, replacing one
    /// of the same size, keeping the newest [`MAX_MEMORY_CHECKPOINTS_PER_FEED`].
    pub fn hold(&self, note: &str) -> Result<PublicKey, CheckpointError> {
        let (author, checkpoint) = HeldCheckpoint::from_note(note)?;
        let mut feeds = self
            .feeds
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = feeds.entry(author).or_default();
        held.retain(|other| other.size != checkpoint.size);
        held.push(checkpoint);
        held.sort_by(|a, b| b.size.cmp(&a.size));
        held.truncate(MAX_MEMORY_CHECKPOINTS_PER_FEED);
        Ok(author)
    }
}

impl CheckpointSource for MemoryCheckpoints {
    fn held_checkpoints(
        &self,
        _store: &Store,
        author: &PublicKey,
    ) -> Result<Vec<HeldCheckpoint>, StorageError> {
        Ok(self
            .feeds
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(author)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::checkpoint::sign_feed_checkpoint;
    use proto_types::keys::SecretKey;

    fn held(size: u64) -> HeldCheckpoint {
        HeldCheckpoint {
            note: String::new(),
            size,
            root: TreeHash([size as u8; 32]),
        }
    }

    fn sizes<'a>(checkpoints: impl Iterator<Item = &'a HeldCheckpoint>) -> Vec<u64> {
        checkpoints.map(|checkpoint| checkpoint.size).collect()
    }

    #[test]
    fn servable_and_covering_checkpoints_are_listed_newest_first() {
        let list = [held(30), held(20), held(10)];
        assert_eq!(sizes(servable(&list, 40)), [30, 20, 10]);
        assert_eq!(sizes(servable(&list, 25)), [20, 10]);
        assert!(sizes(servable(&list, 9)).is_empty());
        assert_eq!(sizes(covering(&list, 5, 40)), [30, 20, 10]);
        assert_eq!(sizes(covering(&list, 15, 40)), [30, 20]);
        assert!(
            sizes(covering(&list, 21, 25)).is_empty(),
            "20 does not cover 21"
        );
        assert_eq!(sizes(covering(&list, 20, 25)), [20]);
        assert!(sizes(covering(&list, 31, 40)).is_empty());
        assert!(sizes(covering(&[], 1, 1)).is_empty());
    }

    #[test]
    fn memory_checkpoints_are_verified_and_ordered() {
        let key = SecretKey::generate();
        let memory = MemoryCheckpoints::default();
        for size in [3u64, 9, 5, 9] {
            let note = sign_feed_checkpoint(&key, size, &TreeHash([size as u8; 32]));
            assert_eq!(memory.hold(&note).unwrap(), key.public_key());
        }
        let dir = tempfile::tempdir().unwrap();
        let (store, _writer) = Store::open(dir.path()).unwrap();
        let sizes: Vec<u64> = memory
            .held_checkpoints(&store, &key.public_key())
            .unwrap()
            .iter()
            .map(|checkpoint| checkpoint.size)
            .collect();
        assert_eq!(sizes, [9, 5, 3]);
        let forged = sign_feed_checkpoint(&key, 4, &TreeHash([0; 32])).replace("\n4\n", "\n5\n");
        assert!(
            memory.hold(&forged).is_err(),
            "a changed size breaks the signature"
        );
        assert!(memory.hold("not a note").is_err());
    }
}
