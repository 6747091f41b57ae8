//! The writer's half of the store: [`StoreWriter`], the only value that can start a write batch
//! and commit it, and [`StoreBatch`], the writes of one group of entries.
//!
//! [`Store::open`] returns exactly one `StoreWriter` next to the shared, read-only store, and
//! the ingest writer thread consumes it ([`crate::ingest::Ingest::start`]). Nothing else in the
//! node can reach a commit, so every write goes through the writer's chain checks.
//!
//! **Architecture Invariant:** a [`StoreBatch`] can only be made by [`StoreWriter::batch`] and
//! only be written by [`StoreWriter::commit`]; there is no other write path to the database.

use std::ops::Deref;
use std::sync::Arc;

use proto_types::entry::{Entry, EntryId, EquivocationProof, FeedHead, VerifiedEntry};
use proto_types::keys::PublicKey;
use proto_types::tlog::{NodeId, TreeHash};
use rocksdb::{WriteBatch, WriteOptions};

use super::keys::CredentialKey;
use super::{Result, StorageError, Store, cf, credential_log, keys, right_state};
use crate::credential_log::CredentialRecord;
use crate::rights::RightState;

/// The writer's handle on the store: reads (through [`Deref`]) plus the only way to write.
/// There is one per opened store; it is not `Clone`.
pub struct StoreWriter {
    store: Arc<Store>,
    #[cfg(test)]
    probe: test_probe::CommitProbe,
}

impl StoreWriter {
    pub(super) fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            #[cfg(test)]
            probe: test_probe::CommitProbe::default(),
        }
    }

    /// The shared store, for handing out read access.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Starts a write batch. Nothing is written until [`StoreWriter::commit`].
    pub fn batch(&self) -> StoreBatch {
        StoreBatch {
            store: self.store.clone(),
            batch: WriteBatch::default(),
            entries: 0,
            heads: 0,
            scratch: Scratch::default(),
            screen_added: Vec::new(),
        }
    }

    /// Writes a batch atomically: all of it or, on [`StorageError::CommitFailed`], none of it.
    /// With `sync`, the write-ahead log is on disk before this returns.
    pub fn commit(&self, batch: StoreBatch, sync: bool) -> Result<()> {
        #[cfg(test)]
        self.probe.before_commit(batch.heads)?;
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        self.store
            .db
            .write_opt(batch.batch, &options)
            .map_err(|error| StorageError::CommitFailed(error.to_string()))?;
        if !batch.screen_added.is_empty() {
            // After the write: a reader that sees the key in memory finds its rights stored.
            self.store.marks.add(batch.screen_added);
        }
        Ok(())
    }

    /// Records this build's schema version, synced (the last step of an upgrade).
    pub(super) fn write_schema_version(&self) -> Result<()> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.store.db.put_cf_opt(
            self.store.cf(cf::META),
            super::SCHEMA_KEY,
            super::SCHEMA_VERSION.to_be_bytes(),
            &options,
        )?;
        Ok(())
    }

    /// Flushes memtables and syncs the write-ahead log (for clean shutdown).
    pub fn flush(&self) -> Result<()> {
        self.store.db.flush_wal(true)?;
        for name in cf::ALL {
            self.store.db.flush_cf(self.store.cf(name))?;
        }
        Ok(())
    }

    /// Makes the next `count` commits fail with [`StorageError::CommitFailed`], writing nothing.
    #[cfg(test)]
    pub(crate) fn fail_next_commits(&self, count: usize) {
        self.probe.fail_next(count);
    }

    /// How many commits were attempted (failed ones included).
    #[cfg(test)]
    pub(crate) fn commits_attempted(&self) -> usize {
        self.probe.attempted()
    }

    /// How many head values the last attempted commit wrote.
    #[cfg(test)]
    pub(crate) fn heads_in_last_commit(&self) -> usize {
        self.probe.last_heads()
    }
}

impl Deref for StoreWriter {
    type Target = Store;

    /// Reads go straight to the store.
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// The writes of one or more entries, committed atomically by [`StoreWriter::commit`].
pub struct StoreBatch {
    store: Arc<Store>,
    batch: WriteBatch,
    entries: usize,
    heads: usize,
    scratch: Scratch,
    /// Screening keys of marks this batch adds, for the in-memory set once committed.
    screen_added: Vec<String>,
}

/// Buffers a batch reuses for every right it writes (the writer makes one batch per group).
#[derive(Default)]
struct Scratch {
    old_keys: keys::IndexKeys,
    new_keys: keys::IndexKeys,
    value: Vec<u8>,
}

impl StoreBatch {
    /// How many entries the batch holds.
    pub fn entry_count(&self) -> usize {
        self.entries
    }

    /// How many head values the batch writes.
    pub fn head_count(&self) -> usize {
        self.heads
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Writes `value` under `key` in `family`: for the typed writers of the storage modules
    /// beside this one (`checkpoints.rs`), which build their keys in `keys.rs`.
    pub(super) fn put_in(
        &mut self,
        family: &'static str,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) {
        self.batch.put_cf(self.store.cf(family), key, value);
    }

    /// Deletes `key` from `family` (see [`StoreBatch::put_in`]).
    pub(super) fn delete_in(&mut self, family: &'static str, key: impl AsRef<[u8]>) {
        self.batch.delete_cf(self.store.cf(family), key);
    }

    /// Deletes the keys `from..to` of `family` (see [`StoreBatch::put_in`]).
    pub(super) fn delete_range_in(&mut self, family: &'static str, from: &[u8], to: &[u8]) {
        self.batch.delete_range_cf(self.store.cf(family), from, to);
    }

    /// Stores a verified entry: by id, in its feed, as the new head of its author.
    pub fn put_entry(&mut self, entry: &VerifiedEntry) {
        self.put_entry_in_feed(entry);
        self.put_head(
            entry.author(),
            &FeedHead {
                seq: entry.seq(),
                id: entry.id(),
            },
        );
    }

    /// Stores a verified entry by id and in its feed, but not its author's head: the caller
    /// writes the head once for all of an author's entries in the batch ([`StoreBatch::put_head`],
    /// the writer at the end of each group). The batch is committed whole, so a crash still
    /// leaves either the entries with their head or neither.
    pub fn put_entry_in_feed(&mut self, entry: &VerifiedEntry) {
        let store = &self.store;
        let id = entry.id();
        self.batch
            .put_cf(store.cf(cf::ENTRIES), id.0, entry.canonical_bytes());
        self.batch.put_cf(
            store.cf(cf::FEEDS),
            keys::feed(entry.author(), entry.seq()),
            id.0,
        );
        self.entries += 1;
    }

    /// Writes `author`'s head.
    pub fn put_head(&mut self, author: &PublicKey, head: &FeedHead) {
        self.batch.put_cf(
            self.store.cf(cf::HEADS),
            author.to_bytes(),
            keys::head_value(head.seq, &head.id),
        );
        self.heads += 1;
    }

    /// Stores a node of `author`'s tree (see [`super::tree`]).
    pub fn put_tree_node(&mut self, author: &PublicKey, node: &NodeId, hash: &TreeHash) {
        self.batch.put_cf(
            self.store.cf(cf::TLOG),
            keys::tree_node(author, node),
            hash.0,
        );
    }

    /// Records an effective endorsement (an `authority` v2 entry) under its ordinal.
    pub fn put_endorsement(&mut self, record: &crate::admission::EndorsementRecord) -> Result<()> {
        let value = serde_json::to_vec(record).map_err(|error| StorageError::Corrupt {
            cf: cf::META,
            reason: format!("encoding an endorsement: {error}"),
        })?;
        self.batch.put_cf(
            self.store.cf(cf::META),
            keys::endorsement(record.ordinal),
            value,
        );
        Ok(())
    }

    /// Indexes a notice, decision or counter-notice by listing, holder, seller reference and
    /// notice.
    pub fn put_claim_indexes(&mut self, entry: &VerifiedEntry) {
        let family = self.store.cf(cf::INDEX_CLAIMS);
        for key in keys::claim_keys(entry) {
            self.batch.put_cf(family, key, []);
        }
    }

    /// Removes the claim indexes of `entry` (a compromised marketplace entry, §6.9.1).
    pub fn delete_claim_indexes(&mut self, entry: &Entry) {
        let family = self.store.cf(cf::INDEX_CLAIMS);
        for key in keys::claim_keys(entry) {
            self.batch.delete_cf(family, key);
        }
    }

    /// Writes one index key (empty value): building an index of an older store.
    pub(super) fn put_index_key(&mut self, family: super::IndexFamily, key: &[u8]) {
        self.batch.put_cf(self.store.cf(family.name()), key, []);
    }

    /// Deletes a right (its registration no longer counts, §6.9.1) and its index keys.
    pub fn delete_right(&mut self, state: &RightState) {
        let store = &self.store;
        for (family, key) in keys::right_index(state) {
            self.batch.delete_cf(store.cf(family.name()), key);
        }
        self.batch
            .delete_cf(store.cf(cf::RIGHTS), keys::right(state.right_id.as_str()));
    }

    /// Writes the undo marker of a compromise rotation of `old` (see [`super::UndoMarker`]).
    pub fn put_undo_marker(&mut self, marker: &super::UndoMarker) {
        self.batch.put_cf(
            self.store.cf(cf::META),
            keys::undo_marker(&marker.old_key),
            keys::undo_marker_value(marker.next_seq, marker.end_seq),
        );
    }

    /// Deletes the undo marker of `old`: its undo is finished.
    pub fn delete_undo_marker(&mut self, old: &PublicKey) {
        self.batch
            .delete_cf(self.store.cf(cf::META), keys::undo_marker(old));
    }

    /// Writes a right's new state and moves its index keys from `previous` to `state`: keys
    /// only the previous state had are deleted, the new state's keys are written.
    pub fn put_right(&mut self, previous: Option<&RightState>, state: &RightState) -> Result<()> {
        let store = &self.store;
        let scratch = &mut self.scratch;
        match previous {
            Some(previous) => scratch.old_keys.fill(previous),
            None => scratch.old_keys.clear(),
        }
        scratch.new_keys.fill(state);
        for (family, key) in scratch.old_keys.iter() {
            if !scratch.new_keys.contains(family, key) {
                self.batch.delete_cf(store.cf(family.name()), key);
            }
        }
        for (family, key) in scratch.new_keys.iter() {
            self.batch.put_cf(store.cf(family.name()), key, []);
            if family == super::IndexFamily::Screen && !scratch.old_keys.contains(family, key) {
                if let Some(mark) = keys::screen_exact_key(key) {
                    self.screen_added.push(mark.to_owned());
                }
            }
        }
        scratch.value.clear();
        right_state::encode_into(state, &mut scratch.value);
        self.batch.put_cf(
            store.cf(cf::RIGHTS),
            keys::right(state.right_id.as_str()),
            &scratch.value,
        );
        Ok(())
    }

    /// Writes a logged credential's record (`previous` is `None` when the entry logs it, the
    /// record before a status change otherwise): the record, its listings by right and holder
    /// (once), its status index with the status, and `version`, the issuer key's new log
    /// version.
    pub fn put_credential(
        &mut self,
        previous: Option<&CredentialRecord>,
        record: &CredentialRecord,
        version: u64,
    ) -> Result<()> {
        let family = self.store.cf(cf::INDEX_CLAIMS);
        let credential_id = record.credential_id.as_str();
        self.batch.put_cf(
            family,
            CredentialKey::Record(credential_id).prefix(),
            credential_log::encode(record)?,
        );
        if previous.is_none() {
            let tail =
                keys::listing_tail(record.logged_at.unix_millis(), record.seq, credential_id);
            self.batch.put_cf(
                family,
                CredentialKey::ByRight(record.right_id.as_str()).with_tail(&tail),
                [],
            );
            let holder = record.subject.to_did_key();
            self.batch.put_cf(
                family,
                CredentialKey::ByHolder(&holder).with_tail(&tail),
                [],
            );
        }
        let issuer = record.issuer.to_did_key();
        self.batch.put_cf(
            family,
            CredentialKey::ByIndex(&issuer).with_tail(&record.status_index.to_be_bytes()),
            credential_log::index_value(record),
        );
        self.batch.put_cf(
            family,
            CredentialKey::Version(&issuer).prefix(),
            version.to_be_bytes(),
        );
        Ok(())
    }

    /// Records that a stored entry changed nothing, and why.
    pub fn put_ineffective(&mut self, id: &EntryId, reason: &str) {
        self.batch
            .put_cf(self.store.cf(cf::INEFFECTIVE), id.0, reason.as_bytes());
    }

    /// Records the rotation of `old`.
    pub fn put_rotation(&mut self, old: &PublicKey, rotation: &crate::trust::Rotation) {
        self.batch.put_cf(
            self.store.cf(cf::ROTATIONS),
            old.to_bytes(),
            keys::rotation_value(rotation),
        );
    }

    /// Stores an equivocation proof (once per author and seq).
    pub fn put_equivocation(&mut self, proof: &EquivocationProof) {
        let json = proof.to_value().to_string();
        self.batch.put_cf(
            self.store.cf(cf::EQUIVOCATIONS),
            keys::feed(proof.author(), proof.seq()),
            json.as_bytes(),
        );
    }
}

#[cfg(test)]
mod test_probe {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::StorageError;

    /// A fault hook for tests: counts commits and fails the next ones on request.
    #[derive(Default)]
    pub(super) struct CommitProbe {
        attempted: AtomicUsize,
        to_fail: AtomicUsize,
        last_heads: AtomicUsize,
    }

    impl CommitProbe {
        pub(super) fn fail_next(&self, count: usize) {
            self.to_fail.store(count, Ordering::SeqCst);
        }

        pub(super) fn attempted(&self) -> usize {
            self.attempted.load(Ordering::SeqCst)
        }

        pub(super) fn last_heads(&self) -> usize {
            self.last_heads.load(Ordering::SeqCst)
        }

        pub(super) fn before_commit(&self, heads: usize) -> Result<(), StorageError> {
            self.attempted.fetch_add(1, Ordering::SeqCst);
            self.last_heads.store(heads, Ordering::SeqCst);
            let failing = self
                .to_fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            if failing {
                return Err(StorageError::CommitFailed("injected by a test".to_owned()));
            }
            Ok(())
        }
    }
}
