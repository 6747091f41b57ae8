//! Ingest: the one path by which entries enter the store, own and foreign alike.
//!
//! Front door ([`Ingest::submit_bytes`]): size check, strict decode, trust check (unknown
//! authors are refused before any signature work), strict signature verification on the
//! blocking pool. Then the entry goes to the **writer**, a dedicated thread that owns every
//! write to the store: chain check against the author's head (a gap is held back in a bounded
//! buffer, never stored out of order), equivocation detection, the fold of the right's state, all
//! index updates, in one `WriteBatch` per group of commands (group commit: one fsync for all
//! entries that arrived together).
//!
//! Bulk door ([`Ingest::submit_many_bytes`]: imports, catch-up, loading a store): the same
//! checks on every core, a chunk of entries at a time, verifying the next chunk while the writer
//! stores the current one, entries queued in the order given.
//!
//! **Architecture Invariant:** only the writer thread writes to the store, so chain checks and
//! index updates never race; everything else reads.
//!
//! Own entries ([`Ingest::append`]) are numbered, chained, timestamped and signed by the writer
//! with the node's authority key, then stored through the same code as foreign entries.

use std::collections::HashMap;
use std::sync::Arc;

use proto_types::body::{Body, Jurisdiction};
use proto_types::entry::{
    ChainPosition, Entry, EntryError, EntryId, EquivocationError, EquivocationProof, FeedHead,
    UnsignedEntry, VerifiedEntry, chain_position,
};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::timestamp::Timestamp;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::metrics::Metrics;
use crate::rights::{self, EntryMeta, RightState};
use crate::storage::{ClaimIndex, StorageError, Store, StoreBatch};
use crate::trust::Trust;

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

/// Why an entry was refused before or by the writer.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a valid entry, or its signature does not verify.
    #[error("{0}")]
    Invalid(#[from] EntryError),
    /// The author is not in this node's trust store.
    #[error("author {0} is not in this node's trust store")]
    UnknownAuthor(String),
    /// An own append that cannot apply (e.g. a status change of an unknown right).
    #[error("{0}")]
    Refused(String),
    /// This node's own signing key was rotated away (its feed closed at the `key_rotation` entry
    /// with this seq): writing with it would fork the authority's feed everywhere.
    #[error(
        "this node's signing key was rotated away at seq {0} of its feed; it refuses to sign with it until the operator configures the new key"
    )]
    OwnKeyRotated(u64),
    /// Too many early entries are held back already.
    #[error("too many out-of-order entries held back; retry after the gap is filled")]
    PendingFull,
    /// The store failed.
    #[error("storage failure: {0}")]
    Storage(#[from] StorageError),
    /// The writer has stopped (the node is shutting down).
    #[error("the node is shutting down")]
    Closed,
}

impl IngestError {
    /// A stable machine code for metrics and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Invalid(EntryError::BadSignature) => "bad_signature",
            IngestError::Invalid(EntryError::TooLarge(_)) => "too_large",
            IngestError::Invalid(EntryError::Json(_)) => "malformed_json",
            IngestError::Invalid(EntryError::Body(_)) => "invalid_body",
            IngestError::Invalid(_) => "invalid_entry",
            IngestError::UnknownAuthor(_) => "unknown_author",
            IngestError::Refused(_) => "refused",
            IngestError::OwnKeyRotated(_) => "key_rotated",
            IngestError::PendingFull => "pending_full",
            IngestError::Storage(_) => "storage",
            IngestError::Closed => "shutting_down",
        }
    }
}

type Reply = oneshot::Sender<Result<IngestOutcome, IngestError>>;

// Commands live briefly in a bounded queue; boxing the larger variant would only add an
// allocation per entry.
#[allow(clippy::large_enum_variant)]
enum Command {
    Store {
        entry: VerifiedEntry,
        source: Source,
        reply: Reply,
    },
    Append {
        body: Body,
        source: Source,
        reply: Reply,
    },
}

/// A cloneable handle to the ingest path.
#[derive(Clone)]
pub struct Ingest {
    commands: mpsc::Sender<Command>,
    stored: broadcast::Sender<StoredEntry>,
    trust: Arc<Trust>,
    metrics: Arc<Metrics>,
    store: Arc<Store>,
    authority: PublicKey,
}

impl Ingest {
    /// Starts the writer thread. It stops when every handle is dropped, after committing what
    /// it has.
    pub fn start(
        store: Arc<Store>,
        trust: Arc<Trust>,
        key: Arc<SecretKey>,
        sync_writes: bool,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let (commands, receiver) = mpsc::channel(WRITE_QUEUE_CAPACITY);
        let (stored, _) = broadcast::channel(STORED_BROADCAST_CAPACITY);
        let authority = key.public_key();
        let writer = Writer {
            stored: stored.clone(),
            store: store.clone(),
            trust: trust.clone(),
            key,
            sync_writes,
            metrics: metrics.clone(),
            heads: HashMap::new(),
            pending: HashMap::new(),
            pending_per_author: HashMap::new(),
            last_own_millis: None,
            dids: HashMap::new(),
            replies: Vec::with_capacity(MAX_GROUP_COMMANDS),
        };
        let thread = std::thread::Builder::new()
            .name("rightsnet-writer".to_owned())
            .spawn(move || writer.run(receiver))?;
        Ok((
            Self {
                commands,
                stored,
                trust,
                metrics,
                store,
                authority,
            },
            thread,
        ))
    }

    /// The trust this node enforces: its trust store and the key rotations it has stored.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The store the writer writes, for reads.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The authority the writer signs this node's own entries as.
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
        verify_trusted(&self.trust, bytes)
    }

    /// Decodes, checks trust, verifies (off the async executor) and stores an entry received
    /// from outside.
    pub async fn submit_bytes(
        &self,
        bytes: Vec<u8>,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let trust = self.trust.clone();
        let verified = tokio::task::spawn_blocking(move || verify_trusted(&trust, &bytes))
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

    /// Stores many verified entries in the given order, letting the writer commit them in as
    /// few batches as it can; returns one result per entry, in order.
    pub async fn submit_many(
        &self,
        entries: Vec<VerifiedEntry>,
        source: Source,
    ) -> Vec<Result<IngestOutcome, IngestError>> {
        let mut responses = Vec::with_capacity(entries.len());
        for entry in entries {
            let queued = match self.counted_trust_check(&entry) {
                Ok(()) => self.queue_store(entry, source).await,
                Err(error) => Err(error),
            };
            responses.push(queued);
        }
        let mut results = Vec::with_capacity(responses.len());
        for response in responses {
            results.push(match response {
                Ok(response) => response.await.unwrap_or(Err(IngestError::Closed)),
                Err(error) => Err(error),
            });
        }
        results
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
        let count = chunk.len();
        let task = tokio::task::spawn_blocking(move || {
            use rayon::prelude::*;
            chunk
                .par_iter()
                .map(|bytes| verify_trusted(&trust, bytes))
                .collect()
        });
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
}

/// Decodes an entry, refuses unknown authors before any signature work, verifies strictly.
fn verify_trusted(trust: &Trust, bytes: &[u8]) -> Result<VerifiedEntry, IngestError> {
    let entry = Entry::decode(bytes)?;
    check_trusted(trust, &entry)?;
    Ok(entry.verify()?)
}

fn check_trusted(trust: &Trust, entry: &Entry) -> Result<(), IngestError> {
    if trust.get(entry.author()).is_none() {
        return Err(IngestError::UnknownAuthor(entry.author().to_did_key()));
    }
    Ok(())
}

struct Writer {
    stored: broadcast::Sender<StoredEntry>,
    store: Arc<Store>,
    trust: Arc<Trust>,
    key: Arc<SecretKey>,
    sync_writes: bool,
    metrics: Arc<Metrics>,
    /// Heads as of the last commit plus what the current group staged.
    heads: HashMap<PublicKey, Option<FeedHead>>,
    pending: HashMap<(PublicKey, u64), (VerifiedEntry, Source)>,
    pending_per_author: HashMap<PublicKey, usize>,
    last_own_millis: Option<i64>,
    /// `did:key` text of authors, for outcomes: encoding it costs more than storing the entry's
    /// feed keys. Bounded by the trust store (only trusted authors' entries are staged).
    dids: HashMap<PublicKey, String>,
    /// The reply buffer, kept between groups: a group of commands is large, and allocating it
    /// afresh for every group costs page faults.
    replies: Vec<(Reply, Result<IngestOutcome, IngestError>)>,
}

/// What the current group has staged but not yet committed.
#[derive(Default)]
struct Staged {
    /// Entries staged by this group, by author and seq: their index in `notices`.
    entries: HashMap<(PublicKey, u64), usize>,
    /// Heads as they were before this group changed them, to restore if the commit fails.
    heads_before: HashMap<PublicKey, Option<Option<FeedHead>>>,
    rights: HashMap<String, RightState>,
    equivocations: Vec<(PublicKey, u64)>,
    stored: u64,
    /// Entries stored by this group, in order, with their source, for the stored broadcast.
    notices: Vec<StoredEntry>,
    /// Key rotations stored by this group: (old, new, seq).
    rotations: Vec<(PublicKey, PublicKey, u64)>,
    /// Nonces of own notices recorded by this group.
    nonces: std::collections::HashSet<String>,
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        // Kept between groups, like `replies`.
        let mut group = Vec::with_capacity(MAX_GROUP_COMMANDS);
        while let Some(first) = receiver.blocking_recv() {
            group.push(first);
            while group.len() < MAX_GROUP_COMMANDS {
                match receiver.try_recv() {
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            self.process_group(&mut group);
        }
        if let Err(error) = self.store.flush() {
            tracing::error!(%error, "flushing the store at shutdown failed");
        }
    }

    /// Stages every command of `group` (which it empties) and commits them in one batch.
    fn process_group(&mut self, group: &mut Vec<Command>) {
        let store = self.store.clone();
        let mut batch = store.batch();
        let mut staged = Staged::default();
        let mut replies = std::mem::take(&mut self.replies);
        for command in group.drain(..) {
            match command {
                Command::Store {
                    entry,
                    source,
                    reply,
                } => {
                    let outcome = self.store_entry(&mut batch, &mut staged, entry, source);
                    replies.push((reply, outcome));
                }
                Command::Append {
                    body,
                    source,
                    reply,
                } => {
                    let outcome = self.append(&mut batch, &mut staged, body, source);
                    replies.push((reply, outcome));
                }
            }
        }
        let result = if batch.entry_count() > 0 || !staged.equivocations.is_empty() {
            store.commit(batch, self.sync_writes)
        } else {
            Ok(())
        };
        match result {
            Ok(()) => {
                self.metrics.entries_stored(staged.stored);
                for (old, new, seq) in staged.rotations.drain(..) {
                    self.trust.record_rotation(old, new, seq);
                }
                for notice in staged.notices.drain(..) {
                    // No subscriber is fine: nothing listens on a node without federation.
                    let _ = self.stored.send(notice);
                }
                for (reply, outcome) in replies.drain(..) {
                    if let Ok(IngestOutcome::Equivocation { .. }) = &outcome {
                        self.metrics.equivocation();
                    }
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                // Nothing of the group is stored: forget what was staged and tell every sender.
                tracing::error!(%error, "committing a write batch failed");
                for (author, head) in staged.heads_before.drain() {
                    match head {
                        Some(head) => self.heads.insert(author, head),
                        None => self.heads.remove(&author),
                    };
                }
                for (reply, outcome) in replies.drain(..) {
                    let failed = match outcome {
                        Ok(IngestOutcome::Duplicate { id }) => Ok(IngestOutcome::Duplicate { id }),
                        Ok(_) => Err(IngestError::Storage(StorageError::Corrupt {
                            cf: "batch",
                            reason: format!("commit failed: {error}"),
                        })),
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(failed);
                }
            }
        }
        self.replies = replies;
    }

    fn head(&mut self, author: &PublicKey) -> Result<Option<FeedHead>, StorageError> {
        if let Some(head) = self.heads.get(author) {
            return Ok(*head);
        }
        let head = self.store.head(author)?;
        self.heads.insert(*author, head);
        Ok(head)
    }

    fn stored_at(
        &self,
        staged: &Staged,
        author: &PublicKey,
        seq: u64,
    ) -> Result<Option<VerifiedEntry>, IngestError> {
        if let Some(notice) = staged
            .entries
            .get(&(*author, seq))
            .and_then(|&index| staged.notices.get(index))
        {
            return Ok(Some(notice.entry.clone()));
        }
        let Some(id) = self.store.entry_id_at(author, seq)? else {
            return Ok(None);
        };
        let Some(entry) = self.store.entry(&id)? else {
            return Ok(None);
        };
        // It was verified before it was stored; verify again to regain the type, which costs
        // one signature check on a path (equivocation) that is rare.
        Ok(Some(entry.verify()?))
    }

    fn right(&self, staged: &Staged, right_id: &str) -> Result<Option<RightState>, StorageError> {
        if let Some(state) = staged.rights.get(right_id) {
            return Ok(Some(state.clone()));
        }
        self.store.right(right_id)
    }

    fn store_entry(
        &mut self,
        batch: &mut StoreBatch<'_>,
        staged: &mut Staged,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let author = *entry.author();
        let head = self.head(&author)?;
        match chain_position(head, &entry) {
            ChainPosition::Next => {
                if let Some(last) = self.rotated_at(staged, &author) {
                    // The author moved to a new key at `last`; this key's feed is closed.
                    return Err(IngestError::Refused(format!(
                        "author rotated to a new key at seq {last}; its feed is closed"
                    )));
                }
                let outcome = self.stage(batch, staged, entry, source)?;
                self.drain_pending(batch, staged, author)?;
                Ok(outcome)
            }
            ChainPosition::Gap { missing_from } => {
                let id = entry.id();
                let key = (author, entry.seq());
                if !self.pending.contains_key(&key) {
                    let count = self.pending_per_author.entry(author).or_insert(0);
                    if self.pending.len() >= MAX_PENDING_ENTRIES || *count >= MAX_PENDING_PER_AUTHOR
                    {
                        return Err(IngestError::PendingFull);
                    }
                    *count += 1;
                    self.pending.insert(key, (entry, source));
                }
                Ok(IngestOutcome::HeldBack { id, missing_from })
            }
            ChainPosition::AtOrBelowHead => {
                let Some(held) = self.stored_at(staged, &author, entry.seq())? else {
                    return Err(IngestError::Storage(StorageError::Corrupt {
                        cf: "feeds",
                        reason: format!("no entry at seq {} below head", entry.seq()),
                    }));
                };
                if held.id() == entry.id() {
                    return Ok(IngestOutcome::Duplicate { id: entry.id() });
                }
                let kept = held.id();
                let refused = entry.id();
                let seq = entry.seq();
                match EquivocationProof::new(held, entry) {
                    Ok(proof) => {
                        if !staged.equivocations.contains(&(author, seq))
                            && !self.store.has_equivocation(&author, seq)?
                        {
                            tracing::warn!(
                                author = %author,
                                seq,
                                kept = %kept,
                                refused = %refused,
                                "equivocation: author signed two different entries at one seq"
                            );
                            batch.put_equivocation(&proof);
                            staged.equivocations.push((author, seq));
                        }
                        Ok(IngestOutcome::Equivocation {
                            author: author.to_did_key(),
                            seq,
                            kept,
                            refused,
                        })
                    }
                    Err(EquivocationError::SameContent) => {
                        Ok(IngestOutcome::Duplicate { id: kept })
                    }
                    Err(other) => Err(IngestError::Refused(other.to_string())),
                }
            }
            ChainPosition::BrokenLink => Ok(IngestOutcome::ForkedBranch { id: entry.id() }),
        }
    }

    /// Stores held-back entries of `author` that now extend its head.
    fn drain_pending(
        &mut self,
        batch: &mut StoreBatch<'_>,
        staged: &mut Staged,
        author: PublicKey,
    ) -> Result<(), IngestError> {
        loop {
            let Some(head) = self.head(&author)? else {
                return Ok(());
            };
            let Some((next, source)) = self.pending.remove(&(author, head.seq + 1)) else {
                return Ok(());
            };
            if let Some(count) = self.pending_per_author.get_mut(&author) {
                *count = count.saturating_sub(1);
            }
            if chain_position(Some(head), &next) != ChainPosition::Next {
                // Held back, but belongs to another branch: drop it.
                continue;
            }
            self.stage(batch, staged, next, source)?;
        }
    }

    /// Stages an entry that extends its author's head, with its effects.
    fn stage(
        &mut self,
        batch: &mut StoreBatch<'_>,
        staged: &mut Staged,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let ineffective = match self.effects(staged, &entry)? {
            Effect::Right { previous, state } => {
                batch.put_right(previous.as_ref(), &state)?;
                staged.rights.insert(state.right_id.clone(), state);
                None
            }
            Effect::Claim => {
                batch.put_claim_indexes(&entry);
                None
            }
            Effect::Rotation { old, new, seq } => {
                tracing::info!(old = %old, new = %new, seq, "authority key rotated");
                batch.put_rotation(&old, &new, seq);
                staged.rotations.push((old, new, seq));
                None
            }
            Effect::None => None,
            Effect::Ineffective(reason) => {
                batch.put_ineffective(&entry.id(), &reason);
                self.metrics.entry_ineffective();
                Some(reason)
            }
        };
        batch.put_entry(&entry);
        staged.stored += 1;
        let author = *entry.author();
        let head = FeedHead {
            seq: entry.seq(),
            id: entry.id(),
        };
        let before = self.heads.insert(author, Some(head));
        staged.heads_before.entry(author).or_insert(before);
        let outcome = IngestOutcome::Stored {
            id: entry.id(),
            author: self
                .dids
                .entry(author)
                .or_insert_with(|| author.to_did_key())
                .clone(),
            seq: entry.seq(),
            ineffective,
        };
        // The entry moves into the broadcast notice; the group finds it there by index.
        staged
            .entries
            .insert((author, entry.seq()), staged.notices.len());
        staged.notices.push(StoredEntry { entry, source });
        Ok(outcome)
    }

    /// The seq at which `author` rotated away, counting rotations staged in this group.
    fn rotated_at(&self, staged: &Staged, author: &PublicKey) -> Option<u64> {
        staged
            .rotations
            .iter()
            .find(|(old, _, _)| old == author)
            .map(|(_, _, seq)| *seq)
            .or_else(|| self.trust.rotated_at(author))
    }

    /// Checks a key rotation: the new key proves possession and belongs to nobody yet.
    fn check_rotation(
        &self,
        staged: &Staged,
        entry: &Entry,
        body: &proto_types::body::KeyRotationV1,
    ) -> Result<(), String> {
        let proof = proto_types::keys::Signature::from_multibase(&body.new_key_proof)
            .map_err(|error| format!("new_key_proof: {error}"))?;
        let message = proto_types::body::key_rotation_proof_message(entry.author(), &body.new_key);
        body.new_key
            .verify(&message, &proof)
            .map_err(|_| "new_key_proof does not verify under the new key".to_owned())?;
        let taken = self.trust.get(&body.new_key).is_some()
            || staged
                .rotations
                .iter()
                .any(|(_, new, _)| new == &body.new_key)
            || self.trust.rotated_at(&body.new_key).is_some();
        if taken {
            return Err("the new key already belongs to an authority".to_owned());
        }
        Ok(())
    }

    fn effects(&self, staged: &Staged, entry: &Entry) -> Result<Effect, IngestError> {
        let meta = EntryMeta::of(entry, self.trust.root(entry.author()));
        Ok(match entry.body() {
            Body::Registration(body) => {
                if !self.trust.office_for(entry.author(), &body.jurisdiction) {
                    return Ok(Effect::Ineffective(not_office(&body.jurisdiction)));
                }
                let previous = self.right(staged, body.right_id.as_str())?;
                match rights::apply_registration(previous.as_ref(), &meta, body) {
                    Ok(state) => Effect::Right { previous, state },
                    Err(reason) => Effect::Ineffective(reason.to_string()),
                }
            }
            Body::Status(body) => {
                let jurisdiction = body.right_id.jurisdiction();
                if !self.trust.office_for(entry.author(), jurisdiction) {
                    return Ok(Effect::Ineffective(not_office(jurisdiction)));
                }
                let previous = self.right(staged, body.right_id.as_str())?;
                match rights::apply_status(previous.as_ref(), &meta, body) {
                    Ok(state) => Effect::Right { previous, state },
                    Err(reason) => Effect::Ineffective(reason.to_string()),
                }
            }
            Body::Notice(_) | Body::Decision(_) | Body::CounterNotice(_) => {
                if self.trust.is_marketplace(entry.author()) {
                    Effect::Claim
                } else {
                    Effect::Ineffective(
                        "only marketplaces record notices, decisions and counter-notices"
                            .to_owned(),
                    )
                }
            }
            Body::KeyRotation(body) => match self.check_rotation(staged, entry, body) {
                Ok(()) => Effect::Rotation {
                    old: *entry.author(),
                    new: body.new_key,
                    seq: entry.seq(),
                },
                Err(reason) => Effect::Ineffective(reason),
            },
            Body::Authority(_) => Effect::None,
        })
    }

    fn append(
        &mut self,
        batch: &mut StoreBatch<'_>,
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
        let timestamp = Timestamp::from_unix_millis(millis)
            .map_err(|error| IngestError::Refused(error.to_string()))?;
        // Refuse own entries that could not change anything, and skip exact repeats, so that
        // an importer can replay a register safely.
        let probe = EntryMeta {
            author,
            authority: self.trust.root(&author),
            id: EntryId([0; 32]),
            seq,
            timestamp: timestamp.clone(),
        };
        match &body {
            Body::Registration(registration) => {
                if !self.trust.office_for(&author, &registration.jurisdiction) {
                    return Err(IngestError::Refused(not_office(&registration.jurisdiction)));
                }
                let current = self.right(staged, registration.right_id.as_str())?;
                let next = rights::apply_registration(current.as_ref(), &probe, registration)
                    .map_err(|reason| IngestError::Refused(reason.to_string()))?;
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
                    return Err(IngestError::Refused(
                        "replayed: a notice with this nonce was already recorded".to_owned(),
                    ));
                }
                staged.nonces.insert(nonce.clone());
            }
            Body::Status(status) => {
                let jurisdiction = status.right_id.jurisdiction();
                if !self.trust.office_for(&author, jurisdiction) {
                    return Err(IngestError::Refused(not_office(jurisdiction)));
                }
                let current = self.right(staged, status.right_id.as_str())?;
                let next = rights::apply_status(current.as_ref(), &probe, status)
                    .map_err(|reason| IngestError::Refused(reason.to_string()))?;
                if let Some(current) =
                    current.filter(|current| rights::same_content(current, &next))
                {
                    return Ok(IngestOutcome::Unchanged {
                        last_entry: current.last_entry,
                    });
                }
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

fn not_office(jurisdiction: &Jurisdiction) -> String {
    format!(
        "author is not an office trusted for jurisdiction {}",
        jurisdiction.as_str()
    )
}

// A transient value on the writer thread; see `Command`.
#[allow(clippy::large_enum_variant)]
enum Effect {
    Right {
        previous: Option<RightState>,
        state: RightState,
    },
    Claim,
    Rotation {
        old: PublicKey,
        new: PublicKey,
        seq: u64,
    },
    None,
    Ineffective(String),
}
