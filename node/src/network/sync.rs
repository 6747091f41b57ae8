//! Catch-up sync (`/rightsnet/sync/1`, messages in [`proto_types::sync`]): serving peers'
//! requests from the store, scheduling sessions (a first-in first-out queue of peers waiting
//! for one of [`MAX_CONCURRENT_SYNCS`] slots), and running a session: compare heads, fetch the
//! ranges this node is behind on, and hand their raw bytes to the ingest path's bulk door
//! ([`Ingest::submit_many_bytes`]), which decodes, verifies and stores them. Nothing here
//! verifies an entry; a peer's invalid data is recognised from the ingest path's per-entry
//! outcomes ([`judge_range`]) and struck.

use std::collections::{HashMap, VecDeque};

use libp2p::PeerId;
use libp2p::futures::{StreamExt, stream};
use libp2p::request_response::{self, OutboundFailure, ResponseChannel};
use proto_types::entry::FeedHead;
use proto_types::keys::PublicKey;
use proto_types::sync::{
    self as wire, MAX_HEADS, MAX_RANGE_BYTES, MAX_RANGE_ENTRIES, SyncRequest, SyncResponse,
    WireHead,
};
use serde_bytes::ByteBuf;
use std::time::Duration;
use tokio::sync::oneshot;

use super::peers::Offence;
use super::swarm::SwarmTask;
use super::{Command, Network, NetworkError, PendingResponse};
use crate::ingest::{Ingest, IngestError, IngestOutcome, Source};
use crate::metrics::Metrics;
use crate::storage::{StorageError, Store, StoreReader};

/// How often every connected peer is asked for its heads.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);
/// Sync sessions with different peers running at once; the other peers wait their turn in a
/// queue (each at most once), so a peer waits at most about `peers / MAX_CONCURRENT_SYNCS`
/// sessions.
pub const MAX_CONCURRENT_SYNCS: usize = 4;
/// Inbound sync requests served at once; more get `Busy`.
pub const MAX_CONCURRENT_SERVES: usize = 16;
/// Feeds one session fetches at once.
pub const MAX_FEEDS_AT_ONCE: usize = 4;
/// Range requests of one feed in flight at once: the next ranges travel while the current one
/// is verified and stored.
pub const MAX_RANGES_AHEAD_PER_FEED: usize = 2;
/// Range requests one session has in flight at most. A session holds at most twice as many
/// responses (those in flight, and those arrived and being stored), each at most
/// [`wire::MAX_RESPONSE_BYTES`].
pub const MAX_RANGES_IN_FLIGHT: usize = MAX_FEEDS_AT_ONCE * MAX_RANGES_AHEAD_PER_FEED;
/// Times in a row a range answered `Busy` is asked again before the session ends.
pub const MAX_BUSY_RETRIES: u32 = 5;
/// Pause before asking again after `Busy`, times the retries so far.
const BUSY_BACKOFF: Duration = Duration::from_millis(50);
/// What a peer is told when reading the store for its request failed (details stay in our log).
const INTERNAL_ERROR: &str = "internal error";

/// Why a sync session with a peer ended early.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The request got no response (timeout, connection closed, a response that did not
    /// decode).
    #[error("sync request failed: {0}")]
    Request(#[from] OutboundFailure),
    /// The response broke the protocol (struck when it is invalid data: too many heads or
    /// entries).
    #[error("the peer broke the sync protocol: {0}")]
    Protocol(#[from] wire::SyncError),
    /// The peer is serving too many requests.
    #[error("the peer is busy")]
    Busy,
    /// The peer refused the request.
    #[error("the peer refused the request: {0}")]
    Refused(String),
    /// A range held invalid data (struck).
    #[error("the peer sent invalid data: {}", .0.reason())]
    InvalidData(Offence),
    /// Reading this node's store failed.
    #[error("reading the store failed: {0}")]
    Storage(#[from] StorageError),
    /// The network task stopped.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl SwarmTask {
    /// Every connected peer joins the sync queue (once); those that could not start last round
    /// are at its front.
    pub(super) fn sync_with_everyone(&mut self) {
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            self.start_sync(peer);
        }
    }

    /// Queues a sync session with `peer`, and starts queued sessions while slots are free. A
    /// peer already queued keeps its place; one being synced runs again when its session ends.
    pub(super) fn start_sync(&mut self, peer: PeerId) {
        if self.scoring.is_blocked(&peer) {
            return;
        }
        if self.syncing.contains(&peer) {
            // Run again when the current session ends: it may have read the heads too early.
            self.resync.insert(peer);
            return;
        }
        if !self.sync_queue.contains(&peer)
            && self.sync_queue.len() < super::behaviour::MAX_CONNECTIONS as usize
        {
            self.sync_queue.push_back(peer);
        }
        self.start_queued_syncs();
    }

    fn start_queued_syncs(&mut self) {
        while let Some(&peer) = self.sync_queue.front() {
            if self.scoring.is_blocked(&peer) || !self.swarm.is_connected(&peer) {
                self.sync_queue.pop_front();
                continue;
            }
            if self.syncing.contains(&peer) {
                self.sync_queue.pop_front();
                self.resync.insert(peer);
                continue;
            }
            let Ok(permit) = self.sync_slots.clone().try_acquire_owned() else {
                // Every slot is busy: the queue waits for the next `SyncDone`.
                return;
            };
            self.sync_queue.pop_front();
            self.syncing.insert(peer);
            self.metrics.event("sync_session_started");
            let session = Session {
                network: self.network.clone(),
                ingest: self.ingest.clone(),
                reader: self.reader.clone(),
                metrics: self.metrics.clone(),
                peer,
            };
            tokio::spawn(async move {
                if let Err(error) = session.run().await {
                    tracing::debug!(%peer, %error, "sync ended early");
                }
                drop(permit);
                let _ = session.network.send(Command::SyncDone { peer }).await;
            });
        }
    }

    pub(super) fn sync_done(&mut self, peer: PeerId) {
        self.syncing.remove(&peer);
        self.metrics.event("sync_session_done");
        if self.resync.remove(&peer) {
            // To the back of the queue: a peer that keeps asking must not hold a slot while
            // others wait.
            self.start_sync(peer);
        } else {
            self.start_queued_syncs();
        }
    }

    pub(super) fn send_request(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, OutboundFailure>>,
    ) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.pending_requests.insert(id, reply);
    }

    pub(super) fn send_response(
        &mut self,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response)
            .is_err()
        {
            tracing::debug!("sync response channel closed before the response");
        }
    }

    pub(super) fn on_sync_event(
        &mut self,
        event: request_response::Event<SyncRequest, SyncResponse>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(error));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Answers a peer's request from the store, off the event loop; `Busy` when
    /// [`MAX_CONCURRENT_SERVES`] requests are being served already.
    fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let Ok(permit) = self.serve_slots.clone().try_acquire_owned() else {
            self.send_response(channel, SyncResponse::Busy);
            return;
        };
        let reader = self.reader.clone();
        let network = self.network.clone();
        tokio::spawn(async move {
            let response = reader
                .run(move |store| Ok::<_, StorageError>(answer(store, request)))
                .await
                .unwrap_or_else(|error| {
                    tracing::error!(%error, "answering a sync request failed");
                    SyncResponse::Refused(INTERNAL_ERROR.to_owned())
                });
            drop(permit);
            tracing::trace!(%peer, "sync request served");
            let _ = network.send(Command::Respond { channel, response }).await;
        });
    }
}

/// Answers a sync request from the store (blocking).
fn answer(store: &Store, request: SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Heads => match store.heads() {
            Ok(heads) => SyncResponse::Heads(
                heads
                    .into_iter()
                    .take(MAX_HEADS)
                    .map(|(author, head)| WireHead {
                        author: author.to_bytes(),
                        seq: head.seq,
                        id: head.id.0,
                    })
                    .collect(),
            ),
            Err(error) => {
                tracing::error!(%error, "reading heads for a peer failed");
                SyncResponse::Refused(INTERNAL_ERROR.to_owned())
            }
        },
        SyncRequest::Range {
            author,
            from_seq,
            limit,
        } => {
            let Ok(author) = PublicKey::from_bytes(&author) else {
                return SyncResponse::Refused("author is not a valid key".to_owned());
            };
            let limit = wire::range_entries(limit) as usize;
            match store.feed(&author, from_seq, limit, MAX_RANGE_BYTES) {
                Ok(entries) => {
                    SyncResponse::Entries(entries.into_iter().map(ByteBuf::from).collect())
                }
                Err(error) => {
                    tracing::error!(%error, "reading a feed for a peer failed");
                    SyncResponse::Refused(INTERNAL_ERROR.to_owned())
                }
            }
        }
    }
}

/// One sync session with one peer.
struct Session {
    network: Network,
    ingest: Ingest,
    reader: StoreReader,
    metrics: std::sync::Arc<Metrics>,
    peer: PeerId,
}

/// A range request on its way.
struct InFlight {
    /// Its first seq.
    from: u64,
    request: SyncRequest,
    pending: PendingResponse,
}

/// What a feed's pipeline holds: a range request and where it starts.
fn range_request(author: &PublicKey, from: u64, to: u64) -> (SyncRequest, u64) {
    let limit = u32::try_from(
        to.saturating_sub(from)
            .saturating_add(1)
            .min(u64::from(MAX_RANGE_ENTRIES)),
    )
    .unwrap_or(MAX_RANGE_ENTRIES);
    (
        SyncRequest::Range {
            author: author.to_bytes(),
            from_seq: from,
            limit,
        },
        u64::from(limit),
    )
}

impl Session {
    /// Compares heads and fetches every trusted feed this node is behind on, or holds another
    /// entry at the same seq of (so that the equivocation is recorded), up to
    /// [`MAX_FEEDS_AT_ONCE`] feeds at once.
    async fn run(&self) -> Result<(), SessionError> {
        let SyncResponse::Heads(heads) = self.request(SyncRequest::Heads).await? else {
            return Err(SessionError::Protocol(wire::SyncError::Unexpected {
                request: "Heads",
                response: "other",
            }));
        };
        // One read of every local head rather than one per feed the peer lists.
        let local: HashMap<PublicKey, FeedHead> = self
            .reader
            .run(|store| store.heads())
            .await?
            .into_iter()
            .collect();
        let mut wanted = Vec::new();
        for head in heads {
            let Ok(author) = PublicKey::from_bytes(&head.author) else {
                continue;
            };
            if !self.ingest.trust().is_trusted(&author) {
                continue;
            }
            let local = local.get(&author);
            let local_seq = local.map_or(0, |head| head.seq);
            if head.seq > local_seq {
                wanted.push((author, local_seq + 1, head.seq));
            } else if head.seq == local_seq
                && local.is_some_and(|local| local.id != head.entry_id())
            {
                wanted.push((author, head.seq, head.seq));
            }
        }
        let mut feeds = stream::iter(wanted)
            .map(|(author, from, to)| self.fetch_feed(author, from, to))
            .buffer_unordered(MAX_FEEDS_AT_ONCE);
        while let Some(result) = feeds.next().await {
            // The first feed that fails ends the session (the others are dropped: what they
            // queued for the writer is stored, what they had in flight is fetched next time).
            result?;
        }
        Ok(())
    }

    /// Sends `request` and checks the response ([`Session::judge_response`]).
    async fn request(&self, request: SyncRequest) -> Result<SyncResponse, SessionError> {
        let pending = self
            .network
            .send_request(self.peer, request.clone())
            .await?;
        let received = pending.await;
        self.judge_response(&request, received).await
    }

    /// Checks that a response answers its request: Busy and Refused are errors, and a response
    /// that breaks the protocol with invalid data (more heads or entries than allowed) is a
    /// strike.
    async fn judge_response(
        &self,
        request: &SyncRequest,
        received: Result<Result<SyncResponse, OutboundFailure>, oneshot::error::RecvError>,
    ) -> Result<SyncResponse, SessionError> {
        let response = received.map_err(|_| NetworkError::Closed)??;
        if let Err(error) = response.check_answers(request) {
            if matches!(
                error,
                wire::SyncError::TooManyHeads(_) | wire::SyncError::TooManyEntries { .. }
            ) {
                self.network.strike(self.peer, Offence::SyncProtocol).await;
            }
            return Err(error.into());
        }
        match response {
            SyncResponse::Busy => Err(SessionError::Busy),
            SyncResponse::Refused(reason) => Err(SessionError::Refused(reason)),
            answer => Ok(answer),
        }
    }

    async fn local_head(&self, author: PublicKey) -> Result<Option<FeedHead>, SessionError> {
        Ok(self.reader.run(move |store| store.head(&author)).await?)
    }

    /// Fetches `author`'s entries `from..=to` in bounded ranges and hands them to the ingest
    /// path's bulk door, keeping up to [`MAX_RANGES_AHEAD_PER_FEED`] range requests in flight:
    /// the next ranges travel while this one is verified and stored, and ranges that have
    /// arrived meanwhile are stored together with it (the bulk door verifies one chunk while
    /// the writer stores the one before). Starts from this node's head and asks only for what
    /// it lacks, so a session cut short (a restart, a lost connection) resumes where the store
    /// stands. Stops at an empty range, at a range that moved this node's head no further,
    /// and at invalid data (struck). A range answered `Busy` is asked again, after a pause,
    /// up to [`MAX_BUSY_RETRIES`] times in a row.
    async fn fetch_feed(&self, author: PublicKey, from: u64, to: u64) -> Result<(), SessionError> {
        let did = author.to_did_key();
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(MAX_RANGES_AHEAD_PER_FEED);
        // The first seq not requested yet, and the first seq this node still lacks.
        let mut next_request = from;
        let mut expected = from;
        let mut busy_in_a_row = 0u32;
        loop {
            self.fill(&author, &mut in_flight, &mut next_request, to)
                .await?;
            let Some(front) = in_flight.pop_front() else {
                return Ok(());
            };
            let answer = self
                .judge_response(&front.request, front.pending.await)
                .await;
            let entries = match answer {
                Ok(SyncResponse::Entries(entries)) => entries,
                Ok(_) => {
                    return Err(SessionError::Protocol(wire::SyncError::Unexpected {
                        request: "Range",
                        response: "other",
                    }));
                }
                Err(SessionError::Busy) if busy_in_a_row < MAX_BUSY_RETRIES => {
                    busy_in_a_row += 1;
                    self.metrics.event("sync_busy_retry");
                    tokio::time::sleep(BUSY_BACKOFF * busy_in_a_row).await;
                    // Everything behind it is asked again, in order, after the pause.
                    in_flight.clear();
                    next_request = expected;
                    continue;
                }
                Err(error) => return Err(error),
            };
            busy_in_a_row = 0;
            self.count_range(entries.len());
            if entries.is_empty() {
                return Ok(());
            }
            let mut batch_end = front.from + entries.len() as u64;
            if batch_end <= expected {
                // All stored meanwhile (gossip can be faster than a range).
                continue;
            }
            // Skip what this node stored meanwhile.
            let skip = usize::try_from(expected.saturating_sub(front.from)).unwrap_or(usize::MAX);
            let batch_from = front.from.max(expected);
            let mut batch: Vec<Vec<u8>> = entries
                .into_iter()
                .skip(skip)
                .map(ByteBuf::into_vec)
                .collect();
            // Ranges right behind it that have arrived already go to the bulk door with it.
            while let Some(next) = in_flight.front_mut() {
                if next.from != batch_end {
                    break;
                }
                let received = match next.pending.try_recv() {
                    Ok(received) => received,
                    Err(oneshot::error::TryRecvError::Empty) => break,
                    Err(oneshot::error::TryRecvError::Closed) => {
                        Err(OutboundFailure::ConnectionClosed)
                    }
                };
                let usable = match &received {
                    Ok(response @ SyncResponse::Entries(entries)) => {
                        !entries.is_empty() && response.check_answers(&next.request).is_ok()
                    }
                    _ => false,
                };
                if !usable {
                    // Put it back, as received: it is judged when it reaches the front.
                    let (reply, pending) = oneshot::channel();
                    let _ = reply.send(received);
                    next.pending = pending;
                    break;
                }
                let Ok(SyncResponse::Entries(entries)) = received else {
                    break;
                };
                in_flight.pop_front();
                self.count_range(entries.len());
                batch_end += entries.len() as u64;
                batch.extend(entries.into_iter().map(ByteBuf::into_vec));
            }
            // The next ranges travel while this batch is verified and stored.
            self.fill(&author, &mut in_flight, &mut next_request, to)
                .await?;
            let results = self.ingest.submit_many_bytes(batch, Source::Sync).await;
            let verdict = judge_range(&did, batch_from, &results);
            for _ in 0..verdict.stored {
                self.metrics.event("sync_entry_stored");
            }
            for _ in 0..verdict.equivocations {
                self.metrics.event("sync_equivocation");
            }
            if let Some(offence) = verdict.offence {
                self.network.strike(self.peer, offence).await;
                return Err(SessionError::InvalidData(offence));
            }
            // Where this feed now stands here, whatever the batch held (entries stored now,
            // or already by gossip meanwhile).
            let head = self.local_head(author).await?.map_or(0, |head| head.seq);
            if head < batch_from {
                return Ok(());
            }
            expected = head + 1;
            if expected > to {
                return Ok(());
            }
            if in_flight.front().is_some_and(|next| next.from > expected) {
                // A short range (the responder's byte bound) left a gap before what is in
                // flight: ask again from here, in order.
                in_flight.clear();
                next_request = expected;
            }
            next_request = next_request.max(expected);
        }
    }

    /// Sends range requests of `author` from `next_request` on until
    /// [`MAX_RANGES_AHEAD_PER_FEED`] are in flight or `to` is asked for.
    async fn fill(
        &self,
        author: &PublicKey,
        in_flight: &mut VecDeque<InFlight>,
        next_request: &mut u64,
        to: u64,
    ) -> Result<(), SessionError> {
        while in_flight.len() < MAX_RANGES_AHEAD_PER_FEED && *next_request <= to {
            let (request, count) = range_request(author, *next_request, to);
            let pending = self
                .network
                .send_request(self.peer, request.clone())
                .await?;
            in_flight.push_back(InFlight {
                from: *next_request,
                request,
                pending,
            });
            *next_request += count;
        }
        Ok(())
    }

    /// Counts a range received and its entries.
    fn count_range(&self, entries: usize) {
        self.metrics.event("sync_range_fetched");
        for _ in 0..entries {
            self.metrics.event("sync_entry_fetched");
        }
    }
}

/// What the ingest path's outcomes for one range say about the peer that sent it.
#[derive(Debug, Default, PartialEq, Eq)]
struct RangeVerdict {
    /// Entries stored.
    stored: u64,
    /// Equivocations recorded.
    equivocations: u64,
    /// The first piece of invalid data, if any: one strike per range at most.
    offence: Option<Offence>,
}

/// Maps the ingest path's per-entry outcomes for a range of `author` (its did:key) asked from
/// `from` back to the peer: an entry the ingest path found invalid (malformed, forged) is an
/// [`Offence::InvalidSyncEntry`]; one stored or found equivocating under another author or at
/// another seq than its place in the range, or held back for a gap the range itself left, is
/// an [`Offence::MisplacedSyncEntry`]. Not held against the peer: duplicates (gossip was
/// faster), entries of a branch of a forked feed (and those held back after one: they continue
/// that branch), entries of an author this node does not
/// trust (its trust may have changed), and whatever failed here (a full queue, storage, a
/// closed feed) — nor entries held back after such a failure left the gap.
fn judge_range(
    author: &str,
    from: u64,
    results: &[Result<IngestOutcome, IngestError>],
) -> RangeVerdict {
    let mut verdict = RangeVerdict::default();
    let mut gap_is_ours = false;
    for (offset, result) in (0u64..).zip(results) {
        let place = from.saturating_add(offset);
        let offence = match result {
            Ok(IngestOutcome::Stored {
                author: stored_author,
                seq,
                ..
            }) => {
                verdict.stored += 1;
                (stored_author != author || *seq != place).then_some(Offence::MisplacedSyncEntry)
            }
            Ok(IngestOutcome::Equivocation {
                author: stored_author,
                seq,
                ..
            }) => {
                verdict.equivocations += 1;
                // The rest of the range continues the peer's branch of a forked feed: it cannot
                // extend this node's head, so it is held back through no fault of the peer.
                gap_is_ours = true;
                (stored_author != author || *seq != place).then_some(Offence::MisplacedSyncEntry)
            }
            Ok(IngestOutcome::HeldBack { .. }) => {
                (!gap_is_ours).then_some(Offence::MisplacedSyncEntry)
            }
            Ok(IngestOutcome::ForkedBranch { .. }) => {
                // As after an equivocation: the peer holds the author's other branch.
                gap_is_ours = true;
                None
            }
            Ok(IngestOutcome::Duplicate { .. } | IngestOutcome::Unchanged { .. }) => None,
            Err(IngestError::Invalid(_)) => Some(Offence::InvalidSyncEntry),
            Err(IngestError::UnknownAuthor(_)) => None,
            Err(_) => {
                gap_is_ours = true;
                None
            }
        };
        if verdict.offence.is_none() {
            verdict.offence = offence;
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use proto_types::entry::{EntryError, EntryId};

    use super::*;

    const AUTHOR: &str = "did:key:z6MkAuthor";

    fn stored(author: &str, seq: u64) -> Result<IngestOutcome, IngestError> {
        Ok(IngestOutcome::Stored {
            id: EntryId([seq as u8; 32]),
            author: author.to_owned(),
            seq,
            ineffective: None,
        })
    }

    fn held_back() -> Result<IngestOutcome, IngestError> {
        Ok(IngestOutcome::HeldBack {
            id: EntryId([0; 32]),
            missing_from: 1,
        })
    }

    #[test]
    fn a_clean_range_is_no_offence() {
        let results = [
            stored(AUTHOR, 5),
            Ok(IngestOutcome::Duplicate {
                id: EntryId([6; 32]),
            }),
            stored(AUTHOR, 7),
        ];
        let verdict = judge_range(AUTHOR, 5, &results);
        assert_eq!(
            verdict,
            RangeVerdict {
                stored: 2,
                equivocations: 0,
                offence: None
            }
        );
    }

    #[test]
    fn invalid_and_misplaced_entries_are_offences_once_per_range() {
        let forged = Err(IngestError::Invalid(EntryError::BadSignature));
        let verdict = judge_range(AUTHOR, 1, &[stored(AUTHOR, 1), forged, held_back()]);
        assert_eq!(verdict.offence, Some(Offence::InvalidSyncEntry));
        assert_eq!(verdict.stored, 1);
        // Another author's entry, an entry out of its place, a gap the range left.
        for results in [
            vec![stored("did:key:z6MkOther", 1)],
            vec![stored(AUTHOR, 2)],
            vec![held_back()],
            vec![stored(AUTHOR, 1), held_back()],
        ] {
            assert_eq!(
                judge_range(AUTHOR, 1, &results).offence,
                Some(Offence::MisplacedSyncEntry),
                "{results:?}"
            );
        }
        let equivocation = Ok(IngestOutcome::Equivocation {
            author: AUTHOR.to_owned(),
            seq: 4,
            kept: EntryId([1; 32]),
            refused: EntryId([2; 32]),
        });
        let verdict = judge_range(AUTHOR, 4, std::slice::from_ref(&equivocation));
        assert_eq!(
            verdict.offence, None,
            "an equivocation is the author's doing"
        );
        assert_eq!(verdict.equivocations, 1);
        assert_eq!(
            judge_range(AUTHOR, 3, &[equivocation]).offence,
            Some(Offence::MisplacedSyncEntry)
        );
    }

    #[test]
    fn what_failed_here_is_not_held_against_the_peer() {
        for failure in [
            Err(IngestError::PendingFull),
            Err(IngestError::Closed),
            Err(IngestError::UnknownAuthor(AUTHOR.to_owned())),
        ] {
            let gap_follows = !matches!(failure, Err(IngestError::UnknownAuthor(_)));
            let results = [failure, held_back()];
            let verdict = judge_range(AUTHOR, 1, &results);
            if gap_follows {
                assert_eq!(verdict.offence, None, "{results:?}");
            } else {
                // An untrusted entry leaves no gap of ours: what follows it must not be early.
                assert_eq!(
                    verdict.offence,
                    Some(Offence::MisplacedSyncEntry),
                    "{results:?}"
                );
            }
        }
        let forked = Ok(IngestOutcome::ForkedBranch {
            id: EntryId([3; 32]),
        });
        assert_eq!(judge_range(AUTHOR, 1, &[forked]).offence, None);
    }

    /// A peer that holds the other branch of a forked feed sends entries that extend that
    /// branch: after the first (a forked branch, or an equivocation at this node's head) the rest
    /// are held back, and none of that is the peer's doing.
    #[test]
    fn the_other_branch_of_a_forked_feed_is_not_held_against_the_peer() {
        let forked = Ok(IngestOutcome::ForkedBranch {
            id: EntryId([3; 32]),
        });
        let results = [forked, held_back(), held_back()];
        assert_eq!(judge_range(AUTHOR, 5, &results).offence, None);
        let equivocation = Ok(IngestOutcome::Equivocation {
            author: AUTHOR.to_owned(),
            seq: 5,
            kept: EntryId([1; 32]),
            refused: EntryId([2; 32]),
        });
        let results = [equivocation, held_back()];
        let verdict = judge_range(AUTHOR, 5, &results);
        assert_eq!(verdict.offence, None);
        assert_eq!(verdict.equivocations, 1);
        // Without a fork, a range whose first entry is already early is still an offence.
        assert_eq!(
            judge_range(AUTHOR, 5, &[held_back(), held_back()]).offence,
            Some(Offence::MisplacedSyncEntry)
        );
    }
}
