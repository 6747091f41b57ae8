//! Ingest: the one path by which entries enter the store, own and foreign alike.
//!
//! Front door ([`Ingest::submit_bytes`]): size check, strict decode (once, with the author's
//! key from a bounded cache of decoded keys), trust check (unknown authors are refused before
//! any signature work), strict signature verification on the blocking pool. Then the entry goes to the **writer**, a dedicated thread that owns every
//! write to the store: chain check against the author's head (a gap is held back in a bounded
//! buffer, never stored out of order), equivocation detection, the fold of the right's state, all
//! index updates, in one `WriteBatch` per group of commands (group commit: one fsync for all
//! entries that arrived together).
//!
//! Bulk door ([`Ingest::submit_many_bytes`]: catch-up sync, loading a store): the same checks
//! on every core, a chunk of entries at a time, verifying the next chunk while the writer stores
//! the current one, entries queued in the order given. No caller verifies before it does.
//!
//! **Architecture Invariant:** only the writer thread writes to the store (it owns the store's
//! one [`StoreWriter`]), so chain checks and index updates never race; everything else reads.
//!
//! Own entries ([`Ingest::append`]) are numbered, chained, timestamped and signed by the writer
//! with the node's authority key, then stored through the same code as foreign entries. Own
//! entries in bulk (register imports, [`crate::upsert`]) are queued with
//! [`Ingest::queue_appends`] without waiting for each other, so the writer commits them in groups
//! too.
//!
//! Rooms: this file is the handle; `error` the refusals; `verify` decoding and signature
//! checks; `writer` the writer thread (chain, held-back entries, equivocation, group commit),
//! `effects` what a stored entry does (a right's fold, a claim's indexes, a rotation) and `own`
//! the writer's half that writes this node's own entries.

mod checkpoint;
pub(crate) mod compromise;
mod credential_log;
mod effects;
mod error;
mod own;
pub(crate) mod rotate;
#[cfg(test)]
mod tests;
mod verify;
mod writer;

pub use checkpoint::{CheckpointWrite, CheckpointWritten, OwnCheckpoint, SplitViewRecord};
pub use compromise::{UNDO_STEP_ENTRIES, compromise_reason};
pub use credential_log::{IssueError, IssueFn, Issued};
pub use error::{IngestError, Refusal};
pub use rotate::{Reconciled, RotateRequest, RotationDone, reconcile_keyring};

use std::sync::Arc;

use proto_types::body::Body;
use proto_types::entry::{Entry, EntryId, VerifiedEntry};
use proto_types::keys::{KeyCache, PublicKey, SecretKey};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::keyring::{Keyring, SigningKeys};
use crate::metrics::Metrics;
use crate::storage::{Store, StoreReader, StoreWriter};
use crate::trust::Trust;
use verify::{check_trusted, verify_trusted};
use writer::{Command, Writer};

/// Commands queued for the writer before senders wait.
pub const WRITE_QUEUE_CAPACITY: usize = 4096;
/// Most commands the writer commits in one batch.
pub const MAX_GROUP_COMMANDS: usize = 1024;
/// Most early entries (with a gap before them) held back in memory, over all authors.
pub const MAX_PENDING_ENTRIES: usize = 16_384;
/// Most early entries held back per author.
pub const MAX_PENDING_PER_AUTHOR: usize = 4096;
/// Entries [`Ingest::submit_many_bytes`] verifies together on every core: enough to keep all
/// cores busy, few enough that the writer starts on the first ones early and that verification
/// of the next chunk overlaps with the writer storing this one.
pub const VERIFY_CHUNK_ENTRIES: usize = 512;
/// Stored-entry notices buffered for slow subscribers; a subscriber that falls further behind
/// skips notices (the federation then relies on catch-up sync).
pub const STORED_BROADCAST_CAPACITY: usize = 4096;

/// How the writer commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Sync the write-ahead log before a group's replies (config `sync_writes`).
    pub sync_writes: bool,
    /// Stage a checkpoint of the own feed in every group that extends it (config
    /// `[transparency] checkpoint_before_ack`).
    pub checkpoint_before_ack: bool,
    /// Build every feed's Merkle tree with its entries. Always on in a node; off only in the
    /// benchmark's baseline, which measures what the trees cost: a store written without them
    /// serves no tiles, proofs or checkpoints and cannot take them up later.
    pub build_trees: bool,
}

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This node's own authority, or a client of its API.
    Local,
    /// Gossip from a peer (gossipsub forwards it itself once accepted).
    Gossip,
    /// Catch-up sync from a peer.
    Sync,
    /// A bulk write of this node's own (a register import): stored like a local entry but not
    /// gossiped message by message; peers fetch it by catch-up sync, in ranges.
    Bulk,
}

/// Notice of an entry the writer committed.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The entry.
    pub entry: VerifiedEntry,
    /// Where it came from.
    pub source: Source,
}

/// What happened to a submitted entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Stored (durably once the reply arrives).
    Stored {
        /// The entry id.
        id: EntryId,
        /// Its author.
        author: String,
        /// Its seq.
        seq: u64,
        /// When the entry changed nothing (e.g. a status for an unknown right), why.
        #[serde(skip_serializing_if = "Option::is_none")]
        ineffective: Option<String>,
    },
    /// Already stored.
    Duplicate {
        /// The entry id.
        id: EntryId,
    },
    /// Entries before it are missing; it is held in memory until they arrive.
    HeldBack {
        /// The entry id.
        id: EntryId,
        /// The first missing seq.
        missing_from: u64,
    },
    /// The author signed a different entry at the same seq; a proof is stored and the entry the
    /// node saw first is kept.
    Equivocation {
        /// The author.
        author: String,
        /// The seq.
        seq: u64,
        /// The entry kept.
        kept: EntryId,
        /// The conflicting entry, refused.
        refused: EntryId,
    },
    /// The entry's `prev` does not name the entry this node holds before it: it belongs to a
    /// branch of a forked feed, refused.
    ForkedBranch {
        /// The entry id.
        id: EntryId,
    },
    /// An own append that would change nothing (the same registration again); nothing written.
    Unchanged {
        /// The entry that last set this state.
        last_entry: EntryId,
    },
}

/// A cloneable handle to the ingest path.
#[derive(Clone)]
pub struct Ingest {
    commands: mpsc::Sender<Command>,
    stored: broadcast::Sender<StoredEntry>,
    trust: Arc<Trust>,
    /// Decoded author keys (bounded, [`proto_types::keys::KEY_CACHE_CAPACITY`]), shared by
    /// every verification of this node's ingest path.
    key_cache: Arc<KeyCache>,
    metrics: Arc<Metrics>,
    store: Arc<Store>,
    authority: PublicKey,
    keys: Arc<SigningKeys>,
}

impl Ingest {
    /// Starts the writer thread, which takes the store's one [`StoreWriter`]: from now on it
    /// alone writes. It stops when every handle is dropped, after committing what it has.
    /// The key lives only in memory: a rotation ([`Ingest::rotate`]) writes no key file.
    pub fn start(
        store_writer: StoreWriter,
        trust: Arc<Trust>,
        key: Arc<SecretKey>,
        sync_writes: bool,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let keys = Arc::new(SigningKeys::new(Keyring::from_current(key), None));
        Self::start_with_keys(store_writer, trust, keys, sync_writes, metrics)
    }

    /// [`Ingest::start`] with the node's key ring, which the writer signs with and rotates.
    pub fn start_with_keys(
        store_writer: StoreWriter,
        trust: Arc<Trust>,
        keys: Arc<SigningKeys>,
        sync_writes: bool,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        Self::start_with_options(
            store_writer,
            trust,
            keys,
            WriterOptions {
                sync_writes,
                checkpoint_before_ack: false,
                build_trees: true,
            },
            metrics,
        )
    }

    /// [`Ingest::start_with_keys`] with every writer option.
    pub fn start_with_options(
        store_writer: StoreWriter,
        trust: Arc<Trust>,
        keys: Arc<SigningKeys>,
        options: WriterOptions,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let WriterOptions {
            sync_writes,
            checkpoint_before_ack,
            build_trees,
        } = options;
        let (commands, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
        let (stored, _) = broadcast::channel(STORED_BROADCAST_CAPACITY);
        let current = keys.current().public_key();
        let authority = trust.root(&current);
        let store = store_writer.store().clone();
        let mut writer = Writer::new(
            store_writer,
            trust.clone(),
            keys.clone(),
            sync_writes,
            metrics.clone(),
            stored.clone(),
        );
        writer.checkpoint_before_ack = checkpoint_before_ack;
        writer.build_trees = build_trees;
        let thread = std::thread::Builder::new()
            .name("rightsnet-writer".to_owned())
            .spawn(move || writer.run(receiver))?;
        Ok((
            Self {
                commands,
                stored,
                trust,
                key_cache: Arc::new(KeyCache::default()),
                metrics,
                store,
                authority,
                keys,
            },
            thread,
        ))
    }

    /// The node's key ring (current, pending, retired keys).
    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// The key this node signs with now (changes when it rotates).
    pub fn signing_key(&self) -> PublicKey {
        self.keys.current().public_key()
    }

    /// Rotates this node's own key (protocol §6.9.2); the answer comes once the rotation entry
    /// is committed and the node signs with the new key.
    pub async fn rotate(&self, request: RotateRequest) -> Result<RotationDone, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Rotate { request, reply })
            .await
            .map_err(|_| IngestError::Closed)?;
        let result = response.await.map_err(|_| IngestError::Closed)?;
        if let Err(error) = &result {
            if !matches!(error, IngestError::Closed) {
                self.metrics.entry_rejected(error.code());
            }
        }
        result
    }

    /// The trust this node enforces: its trust store and the key rotations it has stored.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The shared trust, for work that outlives a borrow (reads on the blocking pool).
    pub fn trust_handle(&self) -> Arc<Trust> {
        self.trust.clone()
    }

    /// The store the writer writes, for reads.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// An async read handle on the store the writer writes.
    pub fn reader(&self) -> StoreReader {
        StoreReader::new(self.store.clone())
    }

    /// The authority the writer signs this node's own entries for: its identifier, the
    /// original key of its chain of rotations (as of the start). The key that signs now is
    /// [`Ingest::signing_key`].
    pub fn authority(&self) -> &PublicKey {
        &self.authority
    }

    /// Notices of every entry committed from now on.
    pub fn subscribe_stored(&self) -> broadcast::Receiver<StoredEntry> {
        self.stored.subscribe()
    }

    /// Decodes and checks the trust of an entry, then verifies its signature. CPU-bound: call
    /// it off the async executor.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<VerifiedEntry, IngestError> {
        verify_trusted(&self.trust, &self.key_cache, bytes)
    }

    /// Decodes, checks trust, verifies (off the async executor) and stores an entry received
    /// from outside.
    pub async fn submit_bytes(
        &self,
        bytes: Vec<u8>,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let trust = self.trust.clone();
        let key_cache = self.key_cache.clone();
        let verified =
            tokio::task::spawn_blocking(move || verify_trusted(&trust, &key_cache, &bytes))
                .await
                .map_err(|_| IngestError::Closed)?;
        match verified {
            Ok(entry) => self.submit_verified(entry, source).await,
            Err(error) => {
                self.metrics.entry_rejected(error.code());
                Err(error)
            }
        }
    }

    /// Stores an entry whose signature was already verified.
    pub async fn submit_verified(
        &self,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        self.counted_trust_check(&entry)?;
        let response = self.queue_store(entry, source).await?;
        let result = response.await.map_err(|_| IngestError::Closed)?;
        self.count_refusal(&result);
        result
    }

    /// Counts a refusal by the writer (a closed feed, a rotated-away own key, an own append
    /// that cannot apply) in `rightsnet_entries_rejected_total`, whichever door it came in by.
    fn count_refusal(&self, result: &Result<IngestOutcome, IngestError>) {
        if let Err(error) = result {
            if !matches!(error, IngestError::Closed) {
                self.metrics.entry_rejected(error.code());
            }
        }
    }

    /// The trust check of an already verified entry, counting a refusal in the metrics.
    fn counted_trust_check(&self, entry: &Entry) -> Result<(), IngestError> {
        check_trusted(&self.trust, entry).inspect_err(|error| {
            self.metrics.entry_rejected(error.code());
        })
    }

    /// Decodes, checks trust and verifies many entries received from outside, on every core and
    /// off the async executor, then stores them in the given order, letting the writer commit
    /// them in as few batches as it can; returns one result per entry, in order.
    ///
    /// The entries are verified in chunks of [`VERIFY_CHUNK_ENTRIES`]; a chunk is verified while
    /// the writer stores the one before it. This is the bulk path (imports, catch-up, loading a
    /// store): a feed's entries must come in seq order, as they would one by one.
    pub async fn submit_many_bytes(
        &self,
        entries: Vec<Vec<u8>>,
        source: Source,
    ) -> Vec<Result<IngestOutcome, IngestError>> {
        let total = entries.len();
        let mut chunks = std::collections::VecDeque::new();
        let mut rest = entries.into_iter();
        loop {
            let chunk: Vec<Vec<u8>> = rest.by_ref().take(VERIFY_CHUNK_ENTRIES).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push_back(chunk);
        }
        let mut replies = Vec::with_capacity(total);
        let mut next = chunks
            .pop_front()
            .map(|chunk| self.verify_in_background(chunk));
        while let Some((count, task)) = next.take() {
            let verified = task.await;
            // Start on the next chunk before queueing this one, which may wait for the writer.
            next = chunks
                .pop_front()
                .map(|chunk| self.verify_in_background(chunk));
            let Ok(verified) = verified else {
                replies.extend((0..count).map(|_| Err(IngestError::Closed)));
                continue;
            };
            for result in verified {
                match result {
                    Ok(entry) => replies.push(self.queue_store(entry, source).await),
                    Err(error) => {
                        self.metrics.entry_rejected(error.code());
                        replies.push(Err(error));
                    }
                }
            }
        }
        let mut results = Vec::with_capacity(total);
        for reply in replies {
            results.push(match reply {
                Ok(response) => response.await.unwrap_or(Err(IngestError::Closed)),
                Err(error) => Err(error),
            });
        }
        results
    }

    /// Verifies `chunk` on every core on the blocking pool; returns its length and the task.
    fn verify_in_background(
        &self,
        chunk: Vec<Vec<u8>>,
    ) -> (
        usize,
        tokio::task::JoinHandle<Vec<Result<VerifiedEntry, IngestError>>>,
    ) {
        let trust = self.trust.clone();
        let key_cache = self.key_cache.clone();
        let count = chunk.len();
        let task =
            tokio::task::spawn_blocking(move || verify::verify_chunk(&trust, &key_cache, &chunk));
        (count, task)
    }

    /// Queues a verified (and trusted) entry for the writer; the receiver gets the outcome.
    async fn queue_store(
        &self,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<oneshot::Receiver<Result<IngestOutcome, IngestError>>, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Store {
                entry,
                source,
                reply,
            })
            .await
            .map_err(|_| IngestError::Closed)?;
        Ok(response)
    }

    /// Appends `body` to this node's own feed, signed with its authority key.
    pub async fn append(&self, body: Body) -> Result<IngestOutcome, IngestError> {
        self.append_from(body, Source::Local).await
    }

    /// Appends `body` to this node's own feed, announcing it as coming from `source`
    /// ([`Source::Bulk`] for imports, which peers fetch by sync rather than by gossip).
    pub async fn append_from(
        &self,
        body: Body,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Append {
                body,
                source,
                reply,
            })
            .await
            .map_err(|_| IngestError::Closed)?;
        let result = response.await.map_err(|_| IngestError::Closed)?;
        self.count_refusal(&result);
        result
    }

    /// Issues a credential through the writer (protocol §6.10): the writer allocates the next
    /// status index of this node's key, `build` signs the credential with it, and the
    /// `credential` entry that logs it is appended. Answers the signed credential and the entry's
    /// outcome only once the entry is committed; on any failure no credential exists.
    pub async fn issue_credential(
        &self,
        build: IssueFn,
    ) -> Result<(serde_json::Value, IngestOutcome), IssueError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Issue { build, reply })
            .await
            .map_err(|_| IngestError::Closed)?;
        let result = response.await.map_err(|_| IngestError::Closed)?;
        if let Err(IssueError::Ingest(error)) = &result
            && !matches!(error, IngestError::Closed)
        {
            self.metrics.entry_rejected(error.code());
        }
        result
    }

    /// The bulk door for own entries: queues `bodies` to be appended to this node's own feed,
    /// in order, as one command, and returns without waiting for the writer. The bodies are
    /// appended one after the other and stop at the first one refused (as awaiting
    /// [`Ingest::append_from`] for each in turn would); the result is every outcome, or that
    /// refusal.
    ///
    /// Queue many before awaiting any ([`PendingAppends::outcomes`]) and the writer commits them
    /// in as few batches as it can. A caller that decides what to append from the state of a
    /// right must await what it queued for that right before reading the state again.
    pub async fn queue_appends(
        &self,
        bodies: Vec<Body>,
        source: Source,
    ) -> Result<PendingAppends, IngestError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::AppendAll {
                bodies,
                source,
                reply,
            })
            .await
            .map_err(|_| IngestError::Closed)?;
        Ok(PendingAppends {
            response,
            metrics: self.metrics.clone(),
        })
    }
}

/// Own appends queued by [`Ingest::queue_appends`], not yet answered.
#[must_use = "the appends' outcomes (or refusal) arrive here"]
pub struct PendingAppends {
    response: oneshot::Receiver<Result<Vec<IngestOutcome>, IngestError>>,
    metrics: Arc<Metrics>,
}

impl PendingAppends {
    /// Waits for the writer: every append's outcome, in order, once committed, or the first
    /// refusal (the appends before it are stored).
    pub async fn outcomes(self) -> Result<Vec<IngestOutcome>, IngestError> {
        let result = self.response.await.unwrap_or(Err(IngestError::Closed));
        if let Err(error) = &result {
            if !matches!(error, IngestError::Closed) {
                self.metrics.entry_rejected(error.code());
            }
        }
        result
    }
}
