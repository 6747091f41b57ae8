//! Checkpoints as stored (family `checkpoints`, protocol §14.3–14.4): the signed checkpoints of
//! every feed, the witness cosignatures the node holds for them, this node's witness state per
//! feed, and checkpoint equivocation (split-view) proofs.
//!
//! Layouts (built in `keys.rs`; all integers big-endian):
//!
//! | key | value |
//! |---|---|
//! | `c` ‖ author (32) ‖ size (8) | root (32) ‖ the checkpoint's signed note with the author's signature only |
//! | `s` ‖ author (32) ‖ size (8) ‖ witness key (32) | that witness's cosignature line (`— name base64`, newline included) |
//! | `w` ‖ author (32) | this node's witness state: last cosigned size (8) ‖ root (32) |
//! | `x` ‖ author (32) ‖ proof id (32) | a checkpoint equivocation proof, JSON (`transparency::split_view`) |
//!
//! Only checkpoints whose root equals the node's own tree of the feed at their size are
//! stored (the writer checks it: `ingest/checkpoint.rs`), so a stored checkpoint always
//! matches the tiles and proofs the node serves. The last [`MAX_CHECKPOINTS_PER_FEED`] are kept
//! per feed, with their cosignatures; older ones are deleted in the batch that stores a newer
//! one. Reads here are what the rest of the node needs: the latest checkpoint with its
//! cosignatures ([`Store::latest_checkpoint`]), the latest covering an entry
//! ([`Store::checkpoint_covering`]), the witness state ([`Store::witness_state`]), the proofs.

use proto_types::keys::PublicKey;
use proto_types::tlog::TreeHash;
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::{Result, Store, StoreBatch, cf, corrupt, keys};

/// Checkpoints kept per feed; older ones are pruned in the batch that stores a newer one.
pub const MAX_CHECKPOINTS_PER_FEED: usize = 64;
/// Cosignatures kept per checkpoint (a witness policy lists at most 64 witnesses).
pub const MAX_COSIGNATURES_PER_CHECKPOINT: usize = 64;
/// Checkpoint equivocation proofs kept per feed: one proves the split view; more add nothing.
pub const MAX_SPLIT_VIEWS_PER_FEED: usize = 8;

/// A checkpoint of a feed as stored, with the cosignatures the node holds for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The feed's author (the checkpoint's origin is `rightsnet/feed/<did:key>` of it).
    pub author: PublicKey,
    /// The tree size: the checkpoint covers seqs 1 to `size`.
    pub size: u64,
    /// The tree's root at that size.
    pub root: TreeHash,
    /// The signed note: checkpoint text, blank line, the author's signature line only.
    pub note: String,
    /// The witnesses' cosignature lines (each `— name base64` and a newline), in witness key
    /// order, at most [`MAX_COSIGNATURES_PER_CHECKPOINT`].
    pub cosignatures: Vec<String>,
}

impl StoredCheckpoint {
    /// The signed note with every cosignature line appended after the author's signature: what
    /// `GET /v1/feeds/{author}/checkpoint` serves and the checkpoints topic gossips.
    pub fn note_with_cosignatures(&self) -> String {
        let mut note = String::with_capacity(
            self.note.len() + self.cosignatures.iter().map(String::len).sum::<usize>(),
        );
        note.push_str(&self.note);
        for line in &self.cosignatures {
            note.push_str(line);
        }
        note
    }

    /// Whether the checkpoint covers the entry at `seq` (leaf `seq − 1`).
    pub fn covers(&self, seq: u64) -> bool {
        seq >= 1 && seq <= self.size
    }
}

/// This node's witness state for one feed: the last checkpoint it cosigned (protocol §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessState {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: TreeHash,
}

fn family_error(reason: impl std::fmt::Display) -> super::StorageError {
    corrupt(cf::CHECKPOINTS, reason)
}

fn decode_hash(bytes: &[u8]) -> Result<TreeHash> {
    <[u8; 32]>::try_from(bytes)
        .map(TreeHash)
        .map_err(|_| family_error("a root of the wrong length"))
}

impl Store {
    /// The latest (largest) stored checkpoint of `author`'s feed, with its cosignatures.
    pub fn latest_checkpoint(&self, author: &PublicKey) -> Result<Option<StoredCheckpoint>> {
        Ok(self.checkpoints(author, 1)?.into_iter().next())
    }

    /// The latest stored checkpoint of `author`'s feed that covers the entry at `seq` (size ≥
    /// seq), with its cosignatures: the latest checkpoint when it does, else none (checkpoints
    /// only grow, so no older one covers it either).
    pub fn checkpoint_covering(
        &self,
        author: &PublicKey,
        seq: u64,
    ) -> Result<Option<StoredCheckpoint>> {
        Ok(self
            .latest_checkpoint(author)?
            .filter(|checkpoint| checkpoint.covers(seq)))
    }

    /// Up to `limit` stored checkpoints of `author`'s feed that cover the entry at `seq`,
    /// latest first, with their cosignatures (for a caller that wants the latest one a witness
    /// policy accepts).
    pub fn checkpoints_covering(
        &self,
        author: &PublicKey,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>> {
        let mut found = self.checkpoints(author, limit)?;
        found.retain(|checkpoint| checkpoint.covers(seq));
        Ok(found)
    }

    /// Up to `limit` stored checkpoints of `author`'s feed, latest first, with cosignatures.
    pub fn checkpoints(&self, author: &PublicKey, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        let prefix = keys::checkpoint_prefix(author);
        let mut read_options = ReadOptions::default();
        read_options.set_iterate_lower_bound(prefix.to_vec());
        let end = keys::checkpoint(author, u64::MAX);
        let mut found = Vec::new();
        // Seek to the last key of the prefix (size u64::MAX itself, then backwards).
        for item in self.db.iterator_cf_opt(
            self.cf(cf::CHECKPOINTS),
            read_options,
            IteratorMode::From(&end, Direction::Reverse),
        ) {
            if found.len() >= limit {
                break;
            }
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let size = keys::checkpoint_size(&key).ok_or_else(|| family_error("key length"))?;
            found.push(self.decode_checkpoint(author, size, &value)?);
        }
        Ok(found)
    }

    /// The stored checkpoint of `author`'s feed at `size`, with its cosignatures.
    pub fn checkpoint_at(&self, author: &PublicKey, size: u64) -> Result<Option<StoredCheckpoint>> {
        self.db
            .get_cf(self.cf(cf::CHECKPOINTS), keys::checkpoint(author, size))?
            .map(|value| self.decode_checkpoint(author, size, &value))
            .transpose()
    }

    fn decode_checkpoint(
        &self,
        author: &PublicKey,
        size: u64,
        value: &[u8],
    ) -> Result<StoredCheckpoint> {
        let (root, note) = value
            .split_at_checked(32)
            .ok_or_else(|| family_error("a checkpoint value shorter than its root"))?;
        let note = std::str::from_utf8(note)
            .map_err(|_| family_error("a checkpoint note that is not UTF-8"))?
            .to_owned();
        Ok(StoredCheckpoint {
            author: *author,
            size,
            root: decode_hash(root)?,
            note,
            cosignatures: self.cosignatures(author, size)?,
        })
    }

    /// The sizes of the stored checkpoints of `author`'s feed, ascending.
    pub fn checkpoint_sizes(&self, author: &PublicKey) -> Result<Vec<u64>> {
        let prefix = keys::checkpoint_prefix(author);
        let mut sizes = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(cf::CHECKPOINTS),
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            sizes.push(keys::checkpoint_size(&key).ok_or_else(|| family_error("key length"))?);
        }
        Ok(sizes)
    }

    /// The cosignature lines held for the checkpoint of `author`'s feed at `size`, in witness
    /// key order, by witness key.
    pub fn cosignature_lines(
        &self,
        author: &PublicKey,
        size: u64,
    ) -> Result<Vec<(PublicKey, String)>> {
        let prefix = keys::cosignature_prefix(author, size);
        let mut lines = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(cf::CHECKPOINTS),
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || lines.len() >= MAX_COSIGNATURES_PER_CHECKPOINT {
                break;
            }
            let witness: [u8; 32] = key
                .get(41..)
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| family_error("cosignature key length"))?;
            let witness = PublicKey::from_bytes(&witness).map_err(family_error)?;
            let line = String::from_utf8(value.to_vec())
                .map_err(|_| family_error("a cosignature line that is not UTF-8"))?;
            lines.push((witness, line));
        }
        Ok(lines)
    }

    fn cosignatures(&self, author: &PublicKey, size: u64) -> Result<Vec<String>> {
        Ok(self
            .cosignature_lines(author, size)?
            .into_iter()
            .map(|(_, line)| line)
            .collect())
    }

    /// This node's witness state for `author`'s feed: the last checkpoint it cosigned.
    pub fn witness_state(&self, author: &PublicKey) -> Result<Option<WitnessState>> {
        let Some(value) = self
            .db
            .get_cf(self.cf(cf::CHECKPOINTS), keys::witness_state(author))?
        else {
            return Ok(None);
        };
        if value.len() != 40 {
            return Err(family_error("witness state length"));
        }
        let (size, root) = value.split_at(8);
        let size = u64::from_be_bytes(size.try_into().map_err(|_| family_error("size"))?);
        Ok(Some(WitnessState {
            size,
            root: decode_hash(root)?,
        }))
    }

    /// Up to `limit` stored checkpoint equivocation proofs, as JSON, by author.
    pub fn checkpoint_equivocations(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
        self.split_view_values(keys::SPLIT_VIEW_ALL_PREFIX, limit)
    }

    /// Up to `limit` stored checkpoint equivocation proofs against `author`, as JSON.
    pub fn checkpoint_equivocations_of(
        &self,
        author: &PublicKey,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>> {
        self.split_view_values(&keys::split_view_prefix(author), limit)
    }

    /// Whether a checkpoint equivocation proof against `author` is stored.
    pub fn has_checkpoint_equivocation(&self, author: &PublicKey) -> Result<bool> {
        Ok(self.split_view_count(author, 1)? > 0)
    }

    /// How many checkpoint equivocation proofs against `author` are stored, counting up to
    /// `limit`.
    pub fn split_view_count(&self, author: &PublicKey, limit: usize) -> Result<usize> {
        let prefix = keys::split_view_prefix(author);
        let mut count = 0;
        for item in self.db.iterator_cf(
            self.cf(cf::CHECKPOINTS),
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, _) = item?;
            if !key.starts_with(&prefix) || count >= limit {
                break;
            }
            count += 1;
        }
        Ok(count)
    }

    /// Whether the proof with `proof_id` against `author` is stored.
    pub fn has_split_view(&self, author: &PublicKey, proof_id: &[u8; 32]) -> Result<bool> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(cf::CHECKPOINTS), keys::split_view(author, proof_id))?
            .is_some())
    }

    /// Every author with a stored checkpoint equivocation proof (flagged authorities), in key
    /// order: one seek per author.
    pub fn split_view_authors(&self) -> Result<Vec<PublicKey>> {
        let mut authors = Vec::new();
        let mut from = keys::SPLIT_VIEW_ALL_PREFIX.to_vec();
        loop {
            let next = self
                .db
                .iterator_cf(
                    self.cf(cf::CHECKPOINTS),
                    IteratorMode::From(&from, Direction::Forward),
                )
                .next()
                .transpose()?;
            let Some((key, _)) = next else { break };
            if !key.starts_with(keys::SPLIT_VIEW_ALL_PREFIX) {
                break;
            }
            let author =
                keys::checkpoint_author(&key).ok_or_else(|| family_error("proof key length"))?;
            let author = PublicKey::from_bytes(&author).map_err(family_error)?;
            // Past every proof of this author: its largest possible key, then one byte more.
            let mut past = keys::split_view(&author, &[0xff; 32]).to_vec();
            authors.push(author);
            past.push(0);
            from = past;
        }
        Ok(authors)
    }

    fn split_view_values(&self, prefix: &[u8], limit: usize) -> Result<Vec<serde_json::Value>> {
        let mut proofs = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(cf::CHECKPOINTS),
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (key, value) = item?;
            if !key.starts_with(prefix) || proofs.len() >= limit {
                break;
            }
            proofs.push(serde_json::from_slice(&value).map_err(family_error)?);
        }
        Ok(proofs)
    }
}

impl StoreBatch {
    /// Stores a checkpoint of `author`'s feed: its size, root and the signed note with the
    /// author's signature only. The writer checked the signature and that `root` is the
    /// feed's tree at `size`.
    pub fn put_checkpoint(&mut self, author: &PublicKey, size: u64, root: &TreeHash, note: &str) {
        let mut value = Vec::with_capacity(32 + note.len());
        value.extend_from_slice(&root.0);
        value.extend_from_slice(note.as_bytes());
        self.put_in(cf::CHECKPOINTS, keys::checkpoint(author, size), value);
    }

    /// Deletes the checkpoint of `author`'s feed at `size` and every cosignature of it
    /// (pruning, [`MAX_CHECKPOINTS_PER_FEED`]).
    pub fn delete_checkpoint(&mut self, author: &PublicKey, size: u64) {
        self.delete_in(cf::CHECKPOINTS, keys::checkpoint(author, size));
        self.delete_range_in(
            cf::CHECKPOINTS,
            &keys::cosignature_prefix(author, size),
            &keys::cosignature_end(author, size),
        );
    }

    /// Stores `witness`'s cosignature line (verified by the caller) of the checkpoint of
    /// `author`'s feed at `size`, replacing an earlier one of the same witness.
    pub fn put_cosignature(
        &mut self,
        author: &PublicKey,
        size: u64,
        witness: &PublicKey,
        line: &str,
    ) {
        self.put_in(
            cf::CHECKPOINTS,
            keys::cosignature(author, size, witness),
            line.as_bytes(),
        );
    }

    /// Records this node's witness state for `author`'s feed (the checkpoint it cosigned).
    pub fn put_witness_state(&mut self, author: &PublicKey, state: &WitnessState) {
        self.put_in(
            cf::CHECKPOINTS,
            keys::witness_state(author),
            keys::witness_state_value(state.size, &state.root.0),
        );
    }

    /// Stores a checkpoint equivocation proof against `author` under its id (its JSON's
    /// SHA-256), once.
    pub fn put_checkpoint_equivocation(
        &mut self,
        author: &PublicKey,
        proof_id: &[u8; 32],
        json: &[u8],
    ) {
        self.put_in(cf::CHECKPOINTS, keys::split_view(author, proof_id), json);
    }
}

#[cfg(test)]
mod tests {
    use proto_types::keys::SecretKey;

    use super::*;

    fn key(seed: u8) -> PublicKey {
        SecretKey::from_seed(&[seed; 32]).public_key()
    }

    fn note(size: u64) -> String {
        format!("rightsnet/feed/x\n{size}\nroot\n\n\u{2014} rightsnet/feed/x sig{size}\n")
    }

    #[test]
    fn checkpoints_round_trip_latest_first_with_their_cosignatures() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = Store::open(dir.path()).unwrap();
        let (author, other) = (key(1), key(2));
        assert_eq!(store.latest_checkpoint(&author).unwrap(), None);
        let mut batch = writer.batch();
        for size in [1u64, 2, 300] {
            batch.put_checkpoint(&author, size, &TreeHash([size as u8; 32]), &note(size));
        }
        batch.put_checkpoint(&other, 7, &TreeHash([7; 32]), &note(7));
        batch.put_cosignature(&author, 300, &key(9), "\u{2014} w9 sig\n");
        batch.put_cosignature(&author, 300, &key(8), "\u{2014} w8 sig\n");
        batch.put_cosignature(&author, 2, &key(8), "\u{2014} w8 old\n");
        writer.commit(batch, false).unwrap();
        let latest = store.latest_checkpoint(&author).unwrap().unwrap();
        assert_eq!(latest.size, 300);
        assert_eq!(latest.root, TreeHash([44; 32]));
        assert_eq!(latest.note, note(300));
        assert_eq!(latest.cosignatures.len(), 2);
        let mut witnesses = [key(8).to_bytes(), key(9).to_bytes()];
        witnesses.sort();
        let held: Vec<_> = store
            .cosignature_lines(&author, 300)
            .unwrap()
            .into_iter()
            .map(|(witness, _)| witness.to_bytes())
            .collect();
        assert_eq!(held, witnesses, "in witness key order");
        assert_eq!(
            latest.note_with_cosignatures(),
            format!("{}{}", note(300), latest.cosignatures.concat())
        );
        assert_eq!(store.checkpoint_sizes(&author).unwrap(), vec![1, 2, 300]);
        assert_eq!(
            store
                .checkpoints(&author, 10)
                .unwrap()
                .iter()
                .map(|c| c.size)
                .collect::<Vec<_>>(),
            vec![300, 2, 1]
        );
        assert_eq!(
            store
                .checkpoint_at(&author, 2)
                .unwrap()
                .unwrap()
                .cosignatures,
            vec!["\u{2014} w8 old\n"]
        );
        assert_eq!(
            store
                .checkpoint_covering(&author, 300)
                .unwrap()
                .unwrap()
                .size,
            300
        );
        assert_eq!(store.checkpoint_covering(&author, 301).unwrap(), None);
        assert_eq!(store.checkpoint_covering(&author, 0).unwrap(), None);
        assert_eq!(
            store.checkpoints_covering(&author, 2, 10).unwrap().len(),
            2,
            "sizes 300 and 2 cover seq 2, size 1 does not"
        );
        // The other feed is apart.
        assert_eq!(store.latest_checkpoint(&other).unwrap().unwrap().size, 7);
        assert_eq!(store.latest_checkpoint(&key(3)).unwrap(), None);
    }

    #[test]
    fn deleting_a_checkpoint_deletes_its_cosignatures_only() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = Store::open(dir.path()).unwrap();
        let author = key(1);
        let mut batch = writer.batch();
        for size in [4u64, 5] {
            batch.put_checkpoint(&author, size, &TreeHash([0; 32]), &note(size));
            batch.put_cosignature(&author, size, &key(8), "\u{2014} w8 sig\n");
        }
        writer.commit(batch, false).unwrap();
        let mut batch = writer.batch();
        batch.delete_checkpoint(&author, 4);
        writer.commit(batch, false).unwrap();
        assert_eq!(store.checkpoint_at(&author, 4).unwrap(), None);
        assert!(store.cosignature_lines(&author, 4).unwrap().is_empty());
        assert_eq!(store.cosignature_lines(&author, 5).unwrap().len(), 1);
    }

    #[test]
    fn witness_state_and_split_views_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (store, writer) = Store::open(dir.path()).unwrap();
        let (first, second) = (key(1), key(2));
        assert_eq!(store.witness_state(&first).unwrap(), None);
        assert!(store.split_view_authors().unwrap().is_empty());
        let state = WitnessState {
            size: 12,
            root: TreeHash([3; 32]),
        };
        let mut batch = writer.batch();
        batch.put_witness_state(&first, &state);
        batch.put_checkpoint_equivocation(&first, &[1; 32], br#"{"origin":"a"}"#);
        batch.put_checkpoint_equivocation(&first, &[2; 32], br#"{"origin":"b"}"#);
        batch.put_checkpoint_equivocation(&second, &[1; 32], br#"{"origin":"c"}"#);
        writer.commit(batch, false).unwrap();
        assert_eq!(store.witness_state(&first).unwrap(), Some(state));
        assert_eq!(store.witness_state(&second).unwrap(), None);
        assert_eq!(store.checkpoint_equivocations(10).unwrap().len(), 3);
        assert_eq!(store.checkpoint_equivocations(2).unwrap().len(), 2);
        assert_eq!(
            store.checkpoint_equivocations_of(&first, 10).unwrap().len(),
            2
        );
        assert!(store.has_split_view(&first, &[2; 32]).unwrap());
        assert!(!store.has_split_view(&second, &[2; 32]).unwrap());
        assert_eq!(store.split_view_count(&first, 10).unwrap(), 2);
        assert!(store.has_checkpoint_equivocation(&second).unwrap());
        assert!(!store.has_checkpoint_equivocation(&key(3)).unwrap());
        let mut expected = vec![first, second];
        expected.sort_by_key(|key| key.to_bytes());
        assert_eq!(store.split_view_authors().unwrap(), expected);
        // A checkpoint stored beside them does not confuse the scans.
        let mut batch = writer.batch();
        batch.put_checkpoint(&first, 1, &TreeHash([0; 32]), &note(1));
        writer.commit(batch, false).unwrap();
        assert_eq!(store.checkpoint_equivocations(10).unwrap().len(), 3);
    }
}
