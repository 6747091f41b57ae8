//! The writer thread: the only code that writes to the store (it owns the [`StoreWriter`]).
//!
//! It takes commands from a bounded queue in groups of up to [`MAX_GROUP_COMMANDS`], stages
//! every command of a group in one [`StoreBatch`] (chain checks against the author's head,
//! held-back entries, equivocation proofs, the fold of a right's state and its index moves) and
//! commits the group at once: one write, one fsync, for all entries that arrived together.
//!
//! A failed commit stores nothing of the group, so the writer puts its memory back as it was
//! before the group (feed heads, held-back entries) and tells every sender; later groups go in
//! as usual.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use proto_types::body::Body;
use proto_types::entry::{
    ChainPosition, EquivocationError, EquivocationProof, FeedHead, VerifiedEntry, chain_position,
};
use proto_types::keys::{PublicKey, SecretKey};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::checkpoint::{
    CheckpointReply, CheckpointWrite, CheckpointWritten, CheckpointsReply, OwnCheckpoint,
    StagedCheckpoints,
};
use super::credential_log::{IssueError, IssueFn, StagedCredentials};
use super::effects::Effect;
use super::rotate::{RotateRequest, RotationDone, StagedOwnRotation};
use super::{
    IngestError, IngestOutcome, MAX_GROUP_COMMANDS, MAX_PENDING_ENTRIES, MAX_PENDING_PER_AUTHOR,
    Refusal, Source, StoredEntry,
};
use crate::admission::EndorsementRecord;
use crate::keyring::SigningKeys;
use crate::metrics::Metrics;
use crate::rights::RightState;
use crate::storage::{StagedTree, StorageError, StoreBatch, StoreWriter, UndoMarker};
use crate::trust::{Rotation, Trust};

/// Where the writer sends one command's result.
pub(super) type Reply = oneshot::Sender<Result<IngestOutcome, IngestError>>;
/// Where the writer sends the result of a rotation of the node's own key.
pub(super) type RotateReply = oneshot::Sender<Result<RotationDone, IngestError>>;
/// Where the writer sends an issued credential and its log entry's outcome.
pub(super) type IssueReply =
    oneshot::Sender<Result<(serde_json::Value, IngestOutcome), IssueError>>;
/// Where the writer sends the results of a run of own appends.
pub(super) type RepliesAll = oneshot::Sender<Result<Vec<IngestOutcome>, IngestError>>;

// Commands live briefly in a bounded queue; boxing the larger variant would only add an
// allocation per entry.
#[allow(clippy::large_enum_variant)]
pub(super) enum Command {
    /// Store a verified, trusted entry.
    Store {
        entry: VerifiedEntry,
        source: Source,
        reply: Reply,
    },
    /// Append one body to this node's own feed.
    Append {
        body: Body,
        source: Source,
        reply: Reply,
    },
    /// Append bodies to this node's own feed in order, stopping at the first refusal.
    AppendAll {
        bodies: Vec<Body>,
        source: Source,
        reply: RepliesAll,
    },
    /// Rotate this node's own key (protocol §6.9.2).
    Rotate {
        request: RotateRequest,
        reply: RotateReply,
    },
    /// Issue a credential: allocate its status index, sign it, log it (protocol §6.10).
    Issue { build: IssueFn, reply: IssueReply },
    /// Sign and store a checkpoint of the own feed at its head, when it is above the latest
    /// (`checkpoint.rs`).
    Checkpoint { reply: CheckpointReply },
    /// Store a feed's checkpoint, cosignatures, witness state and split-view proofs.
    Checkpoints {
        write: Box<CheckpointWrite>,
        reply: CheckpointsReply,
    },
}

/// A command's result, waiting for the group's commit before it is sent.
enum Answer {
    One(Reply, Result<IngestOutcome, IngestError>),
    All(RepliesAll, Result<Vec<IngestOutcome>, IngestError>),
    // Boxed: rare, and two keys make it much larger than the others.
    Rotate(RotateReply, Box<Result<RotationDone, IngestError>>),
    Issued(
        IssueReply,
        Result<(serde_json::Value, IngestOutcome), IssueError>,
    ),
    Checkpoint(CheckpointReply, Result<Option<OwnCheckpoint>, IngestError>),
    Checkpoints(CheckpointsReply, Result<CheckpointWritten, IngestError>),
}

/// The writer's state; lives on its own thread.
pub(super) struct Writer {
    pub(super) stored: broadcast::Sender<StoredEntry>,
    pub(super) store: StoreWriter,
    pub(super) trust: Arc<Trust>,
    /// The key own entries are signed with now (the key ring's current key, or the new key of a
    /// rotation staged in this group).
    pub(super) key: Arc<SecretKey>,
    /// The key ring and its file, replaced only here.
    pub(super) keys: Arc<SigningKeys>,
    /// Compromised ranges still to undo, first in progress first.
    pub(super) undo: VecDeque<UndoMarker>,
    /// Failed undo steps in a row.
    pub(super) undo_failures: u32,
    pub(super) sync_writes: bool,
    /// Sign the own feed's checkpoint in every group that extends it (`checkpoint.rs`).
    pub(super) checkpoint_before_ack: bool,
    /// Whether entries' tree nodes are written ([`super::WriterOptions::build_trees`]).
    pub(super) build_trees: bool,
    pub(super) metrics: Arc<Metrics>,
    /// Heads as of the last commit plus what the current group staged.
    pub(super) heads: HashMap<PublicKey, Option<FeedHead>>,
    /// Early entries (a gap before them), by author and seq, until the gap fills.
    pub(super) pending: HashMap<FeedPosition, Held>,
    pub(super) pending_per_author: HashMap<PublicKey, usize>,
    /// The timestamp of the last own entry staged: own timestamps never go backwards.
    pub(super) last_own_millis: Option<i64>,
    /// `did:key` text of authors, for outcomes: encoding it costs more than storing the entry's
    /// feed keys. Bounded by the trust store (only trusted authors' entries are staged).
    dids: HashMap<PublicKey, String>,
    /// The answer buffer, kept between groups: a group of commands is large, and allocating it
    /// afresh for every group costs page faults.
    answers: Vec<Answer>,
}

/// An author and a seq.
type FeedPosition = (PublicKey, u64);
/// A held-back entry and where it came from.
type Held = (VerifiedEntry, Source);

/// What the current group has staged but not yet committed.
#[derive(Default)]
pub(super) struct Staged {
    /// Entries staged by this group, by author and seq: their index in `notices`.
    entries: HashMap<FeedPosition, usize>,
    /// Heads as they were before this group changed them, to restore if the commit fails.
    heads_before: HashMap<PublicKey, Option<Option<FeedHead>>>,
    /// Rights' states as this group left them, by right id.
    pub(super) rights: HashMap<String, RightState>,
    equivocations: Vec<(PublicKey, u64)>,
    stored: u64,
    ineffective: u64,
    /// Entries stored by this group, in order, with their source, for the stored broadcast.
    notices: Vec<StoredEntry>,
    /// Key rotations stored by this group, by old key.
    pub(super) rotations: Vec<(PublicKey, Rotation)>,
    /// Undo markers of compromise rotations stored by this group.
    pub(super) undo_markers: Vec<UndoMarker>,
    /// A rotation of this node's own key staged by this group.
    pub(super) own_rotation: Option<StagedOwnRotation>,
    /// Endorsements recorded by this group, in order.
    pub(super) endorsements: Vec<EndorsementRecord>,
    /// Nonces of own notices recorded by this group.
    pub(super) nonces: HashSet<String>,
    /// The credential log as this group left it.
    pub(super) credentials: StagedCredentials,
    /// The feeds' tree nodes this group wrote.
    tree: StagedTree,
    /// The checkpoints and split-view proofs this group staged.
    pub(super) checkpoints: StagedCheckpoints,
    /// Entries this group held back, to forget if the commit fails.
    held_back: Vec<FeedPosition>,
    /// Held-back entries this group took out of `pending`, to put back if the commit fails:
    /// staged ones are found in `notices`, dropped ones (of another branch) are kept here.
    released: Vec<(FeedPosition, Option<Held>)>,
}

impl Staged {
    /// The feeds' tree nodes this group wrote.
    pub(super) fn tree(&self) -> &StagedTree {
        &self.tree
    }

    /// Whether this group stored entries of `author`'s feed.
    pub(super) fn extended(&self, author: &PublicKey) -> bool {
        self.heads_before.contains_key(author)
    }
}

impl Writer {
    pub(super) fn new(
        store: StoreWriter,
        trust: Arc<Trust>,
        keys: Arc<SigningKeys>,
        sync_writes: bool,
        metrics: Arc<Metrics>,
        stored: broadcast::Sender<StoredEntry>,
    ) -> Self {
        let undo = match store.undo_markers() {
            Ok(markers) => markers.into_iter().collect(),
            Err(error) => {
                tracing::error!(%error, "reading compromise undo markers failed; undo resumes at the next start");
                VecDeque::new()
            }
        };
        Self {
            stored,
            store,
            trust,
            key: keys.current(),
            keys,
            undo,
            undo_failures: 0,
            sync_writes,
            checkpoint_before_ack: false,
            build_trees: true,
            metrics,
            heads: HashMap::new(),
            pending: HashMap::new(),
            pending_per_author: HashMap::new(),
            last_own_millis: None,
            dids: HashMap::new(),
            answers: Vec::with_capacity(MAX_GROUP_COMMANDS),
        }
    }

    /// Takes commands in groups until every sender is gone, then flushes the store.
    pub(super) fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        // Kept between groups, like `answers`.
        let mut group = Vec::with_capacity(MAX_GROUP_COMMANDS);
        loop {
            // Compromised ranges are undone step by step while no command waits.
            let first = if self.undo_pending() {
                match receiver.try_recv() {
                    Ok(command) => command,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.undo_step();
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                match receiver.blocking_recv() {
                    Some(command) => command,
                    None => break,
                }
            };
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
    pub(super) fn process_group(&mut self, group: &mut Vec<Command>) {
        let mut batch = self.store.batch();
        let mut staged = Staged::default();
        let mut answers = std::mem::take(&mut self.answers);
        for command in group.drain(..) {
            answers.push(match command {
                Command::Store {
                    entry,
                    source,
                    reply,
                } => Answer::One(
                    reply,
                    self.store_entry(&mut batch, &mut staged, entry, source),
                ),
                Command::Append {
                    body,
                    source,
                    reply,
                } => Answer::One(reply, self.append(&mut batch, &mut staged, body, source)),
                Command::AppendAll {
                    bodies,
                    source,
                    reply,
                } => {
                    let mut outcomes = Vec::with_capacity(bodies.len());
                    let mut result = Ok(());
                    for body in bodies {
                        match self.append(&mut batch, &mut staged, body, source) {
                            Ok(outcome) => outcomes.push(outcome),
                            Err(error) => {
                                result = Err(error);
                                break;
                            }
                        }
                    }
                    Answer::All(reply, result.map(|()| outcomes))
                }
                Command::Rotate { request, reply } => Answer::Rotate(
                    reply,
                    Box::new(self.rotate(&mut batch, &mut staged, request)),
                ),
                Command::Issue { build, reply } => {
                    Answer::Issued(reply, self.issue(&mut batch, &mut staged, build))
                }
                Command::Checkpoint { reply } => {
                    Answer::Checkpoint(reply, self.checkpoint_own(&mut batch, &mut staged))
                }
                Command::Checkpoints { write, reply } => Answer::Checkpoints(
                    reply,
                    self.write_checkpoints(&mut batch, &mut staged, *write),
                ),
            });
        }
        // One head write per author the group extended, in the same batch as its entries.
        self.put_heads(&mut batch, &staged);
        // The checkpoints the group's own entries need, in the same batch: a group whose
        // checkpoint cannot be staged is not committed at all.
        let result = match self.checkpoint_group(&mut batch, &mut staged) {
            Err(error) => Err(StorageError::CommitFailed(format!(
                "staging the group's checkpoint failed: {error}"
            ))),
            Ok(()) if batch.is_empty() => Ok(()),
            Ok(()) => self.store.commit(batch, self.sync_writes),
        };
        match result {
            Ok(()) => self.committed(&mut staged, &mut answers),
            Err(error) => self.roll_back(&mut staged, &mut answers, &error),
        }
        self.answers = answers;
    }

    /// Writes the head of every feed the group extended, once each: the group's entries were
    /// staged without their heads ([`StoreBatch::put_entry_in_feed`]), so a group of 1 024
    /// entries of 8 authors writes 8 heads, not 1 024. The same batch holds the entries, so a
    /// commit stores both or neither.
    fn put_heads(&self, batch: &mut StoreBatch, staged: &Staged) {
        for author in staged.heads_before.keys() {
            if let Some(Some(head)) = self.heads.get(author) {
                batch.put_head(author, head);
            }
        }
    }

    /// After a commit: applies what the group stored and answers every sender.
    fn committed(&mut self, staged: &mut Staged, answers: &mut Vec<Answer>) {
        self.metrics.entries_stored(staged.stored);
        for _ in 0..staged.ineffective {
            self.metrics.entry_ineffective();
        }
        let rotated = !staged.rotations.is_empty();
        for (old, rotation) in staged.rotations.drain(..) {
            self.trust.record(old, rotation);
        }
        self.undo.extend(staged.undo_markers.drain(..));
        self.own_rotation_committed(staged);
        if !staged.endorsements.is_empty() {
            self.trust
                .record_endorsements(std::mem::take(&mut staged.endorsements));
        } else if rotated {
            // A rotation can make endorsements compromised, or an endorser's new key known.
            self.trust.refresh_admission();
        }
        for notice in staged.notices.drain(..) {
            // No subscriber is fine: nothing listens on a node without federation.
            let _ = self.stored.send(notice);
        }
        for answer in answers.drain(..) {
            match answer {
                Answer::One(reply, outcome) => {
                    if let Ok(IngestOutcome::Equivocation { .. }) = &outcome {
                        self.metrics.equivocation();
                    }
                    let _ = reply.send(outcome);
                }
                Answer::All(reply, outcomes) => {
                    let _ = reply.send(outcomes);
                }
                Answer::Rotate(reply, done) => {
                    let _ = reply.send(*done);
                }
                Answer::Issued(reply, issued) => {
                    let _ = reply.send(issued);
                }
                Answer::Checkpoint(reply, signed) => {
                    let _ = reply.send(signed);
                }
                Answer::Checkpoints(reply, written) => {
                    let _ = reply.send(written);
                }
            }
        }
    }

    /// After a failed commit nothing of the group is stored: puts the writer's memory back as
    /// it was before the group and tells every sender. What did not depend on the group keeps
    /// its answer: refusals, and duplicates of entries stored before it.
    fn roll_back(&mut self, staged: &mut Staged, answers: &mut Vec<Answer>, error: &StorageError) {
        tracing::error!(%error, "committing a write batch failed");
        self.own_rotation_rolled_back(staged);
        for (author, head) in staged.heads_before.drain() {
            match head {
                Some(head) => self.heads.insert(author, head),
                None => self.heads.remove(&author),
            };
        }
        let mut notices: Vec<Option<StoredEntry>> = staged.notices.drain(..).map(Some).collect();
        for (key, dropped) in staged.released.drain(..) {
            let held = dropped.or_else(|| {
                let notice = staged
                    .entries
                    .get(&key)
                    .and_then(|&index| notices.get_mut(index))
                    .and_then(Option::take)?;
                Some((notice.entry, notice.source))
            });
            if let Some(held) = held {
                *self.pending_per_author.entry(key.0).or_insert(0) += 1;
                self.pending.insert(key, held);
            }
        }
        for key in staged.held_back.drain(..) {
            if self.pending.remove(&key).is_some() {
                self.forget_pending(&key.0);
            }
        }
        let failed = || IngestError::Storage(StorageError::CommitFailed(error.to_string()));
        for answer in answers.drain(..) {
            match answer {
                Answer::One(reply, outcome) => {
                    let outcome = match outcome {
                        Ok(IngestOutcome::Duplicate { id })
                            if matches!(self.store.entry_bytes(&id), Ok(Some(_))) =>
                        {
                            Ok(IngestOutcome::Duplicate { id })
                        }
                        Ok(_) => Err(failed()),
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(outcome);
                }
                Answer::All(reply, outcomes) => {
                    let _ = reply.send(outcomes.and(Err(failed())));
                }
                Answer::Rotate(reply, done) => {
                    let _ = reply.send(done.and(Err(failed())));
                }
                Answer::Issued(reply, issued) => {
                    // The credential was not logged: it must not be given out.
                    let _ = reply.send(issued.and(Err(failed().into())));
                }
                Answer::Checkpoint(reply, signed) => {
                    let _ = reply.send(signed.and(Err(failed())));
                }
                Answer::Checkpoints(reply, written) => {
                    let _ = reply.send(written.and(Err(failed())));
                }
            }
        }
    }

    /// Counts one held-back entry of `author` less.
    fn forget_pending(&mut self, author: &PublicKey) {
        if let Some(count) = self.pending_per_author.get_mut(author) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.pending_per_author.remove(author);
            }
        }
    }

    pub(super) fn head(&mut self, author: &PublicKey) -> Result<Option<FeedHead>, StorageError> {
        if let Some(head) = self.heads.get(author) {
            return Ok(*head);
        }
        let head = self.store.head(author)?;
        self.heads.insert(*author, head);
        Ok(head)
    }

    /// The entry of `author` at `seq`, staged by this group or stored.
    pub(super) fn stored_at(
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
        // one signature check on a path (equivocation, own timestamps after a restart) that is
        // rare.
        Ok(Some(entry.verify()?))
    }

    /// A right's state as this group left it, or as stored.
    pub(super) fn right(
        &self,
        staged: &Staged,
        right_id: &str,
    ) -> Result<Option<RightState>, StorageError> {
        if let Some(state) = staged.rights.get(right_id) {
            return Ok(Some(state.clone()));
        }
        self.store.right(right_id)
    }

    fn store_entry(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        let author = *entry.author();
        let head = self.head(&author)?;
        match chain_position(head, &entry) {
            ChainPosition::Next => {
                if let Some(rotated_at) = self.rotated_at(staged, &author) {
                    // The author moved to a new key at `rotated_at`; this key's feed is closed.
                    return Err(Refusal::FeedClosed { rotated_at }.into());
                }
                let outcome = self.stage(batch, staged, entry, source)?;
                self.release_pending(batch, staged, author)?;
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
                    staged.held_back.push(key);
                }
                Ok(IngestOutcome::HeldBack { id, missing_from })
            }
            ChainPosition::AtOrBelowHead => self.store_at_or_below_head(batch, staged, entry),
            ChainPosition::BrokenLink => Ok(IngestOutcome::ForkedBranch { id: entry.id() }),
        }
    }

    /// An entry at a seq this node holds already: a duplicate, or an equivocation whose proof
    /// is stored (once per author and seq).
    fn store_at_or_below_head(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        entry: VerifiedEntry,
    ) -> Result<IngestOutcome, IngestError> {
        let author = *entry.author();
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
            Err(EquivocationError::SameContent) => Ok(IngestOutcome::Duplicate { id: kept }),
            Err(other) => Err(Refusal::NotProvable(other).into()),
        }
    }

    /// Stores held-back entries of `author` that now extend its head.
    fn release_pending(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        author: PublicKey,
    ) -> Result<(), IngestError> {
        loop {
            let Some(head) = self.head(&author)? else {
                return Ok(());
            };
            let key = (author, head.seq + 1);
            let Some((next, source)) = self.pending.remove(&key) else {
                return Ok(());
            };
            self.forget_pending(&author);
            if chain_position(Some(head), &next) != ChainPosition::Next {
                // Held back, but belongs to another branch: drop it.
                staged.released.push((key, Some((next, source))));
                continue;
            }
            staged.released.push((key, None));
            self.stage(batch, staged, next, source)?;
        }
    }

    /// Stages an entry that extends its author's head, with its effects.
    pub(super) fn stage(
        &mut self,
        batch: &mut StoreBatch,
        staged: &mut Staged,
        entry: VerifiedEntry,
        source: Source,
    ) -> Result<IngestOutcome, IngestError> {
        // Reads first: a failure here leaves the batch as it was.
        let leaf = if self.build_trees {
            Some(staged.tree.prepare(
                &self.store,
                entry.author(),
                entry.seq(),
                entry.canonical_bytes(),
            )?)
        } else {
            None
        };
        let ineffective = match self.effects(staged, &entry)? {
            Effect::Right { previous, state } => {
                batch.put_right(previous.as_ref(), &state)?;
                staged
                    .rights
                    .insert(state.right_id.as_str().to_owned(), state);
                None
            }
            Effect::Claim => {
                batch.put_claim_indexes(&entry);
                None
            }
            Effect::Rotation { old, rotation } => {
                tracing::info!(old = %old, new = %rotation.new_key, seq = rotation.seq, compromised_since = ?rotation.compromised_since, "authority key rotated");
                batch.put_rotation(&old, &rotation);
                if let Some(since) = rotation
                    .compromised_since
                    .filter(|since| *since < rotation.seq)
                {
                    let marker = UndoMarker {
                        old_key: old,
                        next_seq: since,
                        end_seq: rotation.seq,
                    };
                    batch.put_undo_marker(&marker);
                    staged.undo_markers.push(marker);
                }
                staged.rotations.push((old, rotation));
                None
            }
            Effect::Endorsement(record) => {
                tracing::info!(endorser = %record.endorser, subject = %record.subject, withdrawn = record.withdrawn, "endorsement recorded");
                batch.put_endorsement(&record)?;
                staged.endorsements.push(record);
                None
            }
            Effect::Credential { previous, record } => {
                self.stage_credential(batch, staged, previous, record)?;
                None
            }
            Effect::None => None,
            Effect::Ineffective(reason) => {
                batch.put_ineffective(&entry.id(), &reason);
                staged.ineffective += 1;
                Some(reason)
            }
        };
        batch.put_entry_in_feed(&entry);
        if let Some(leaf) = leaf {
            staged.tree.put(batch, leaf);
        }
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
    pub(super) fn rotated_at(&self, staged: &Staged, author: &PublicKey) -> Option<u64> {
        staged
            .rotations
            .iter()
            .find(|(old, _)| old == author)
            .map(|(_, rotation)| rotation.seq)
            .or_else(|| self.trust.rotated_at(author))
    }
}
