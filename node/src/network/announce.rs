//! Head announcements (topic [`HEADS_TOPIC`](super::HEADS_TOPIC), `docs/protocol.md` §10, "Head announcements").
//!
//! Entries stored in bulk (imports, batches: [`Source::Bulk`]) or learnt by catch-up sync
//! ([`Source::Sync`]) are not gossiped one by one. Instead the node records the new head of
//! each such feed ([`PendingHeads`], bounded by [`MAX_PENDING_ANNOUNCED_AUTHORS`]) and every
//! [`ANNOUNCE_INTERVAL`] gossips what it recorded as [`HeadAnnouncement`]s: at most one per
//! author per interval, however many entries were stored. A node that learns entries by sync
//! announces too, so that announcements travel hop by hop with the entries behind them.
//!
//! A received announcement is a hint, never trusted data: it is decoded within its bounds, and
//! if it lists a head of a trusted author beyond this node's head, a sync session with the
//! peer it came from is scheduled, through the same first-in first-out queue as every other
//! session (so never more than one session per peer), and at most once per
//! [`ANNOUNCED_SYNC_INTERVAL`] per peer ([`AnnouncedSyncs`]; later ones wait for the interval,
//! they are not lost). The session fetches and verifies everything itself. Announcements are
//! never forwarded (each node announces what it holds itself); a malformed one is rejected and
//! counted against its sender like any invalid gossip message.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};
use proto_types::keys::PublicKey;
use proto_types::sync::{self as wire, HeadAnnouncement, MAX_ANNOUNCED_HEADS, WireHead};

use super::Command;
use super::swarm::SwarmTask;
use crate::ingest::{Source, StoredEntry};

/// How often the node gossips the heads it recorded: the coalescing window (one announcement
/// per author per interval at most).
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(100);
/// Shortest time between two syncs with one peer started by its announcements; announcements
/// within it start one sync when it is over.
pub const ANNOUNCED_SYNC_INTERVAL: Duration = Duration::from_millis(250);
/// Most authors whose new heads wait to be announced; heads of further authors are not
/// announced (peers fetch them at the next periodic sync).
pub const MAX_PENDING_ANNOUNCED_AUTHORS: usize = 4096;
/// Announcements gossiped per [`ANNOUNCE_INTERVAL`] at most; more heads wait for the next.
const MAX_ANNOUNCEMENTS_PER_INTERVAL: usize = 4;

/// New heads waiting to be announced, one per author (the latest), authors in the order they
/// were first recorded.
#[derive(Debug, Default)]
pub(super) struct PendingHeads {
    heads: HashMap<[u8; 32], WireHead>,
    order: VecDeque<[u8; 32]>,
}

impl PendingHeads {
    /// Records `head`, replacing an earlier head of its author. Returns false when the head of
    /// a new author did not fit ([`MAX_PENDING_ANNOUNCED_AUTHORS`]).
    pub(super) fn record(&mut self, head: WireHead) -> bool {
        if let Some(pending) = self.heads.get_mut(&head.author) {
            if head.seq >= pending.seq {
                *pending = head;
            }
            return true;
        }
        if self.heads.len() >= MAX_PENDING_ANNOUNCED_AUTHORS {
            return false;
        }
        self.order.push_back(head.author);
        self.heads.insert(head.author, head);
        true
    }

    /// Takes up to `most` heads, those recorded first first.
    pub(super) fn take(&mut self, most: usize) -> Vec<WireHead> {
        let mut taken = Vec::with_capacity(most.min(self.heads.len()));
        while taken.len() < most {
            let Some(author) = self.order.pop_front() else {
                break;
            };
            if let Some(head) = self.heads.remove(&author) {
                taken.push(head);
            }
        }
        taken
    }

    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }
}

/// When each peer's announcements last started a sync, and which peers announced again too
/// soon after. Holds only connected peers (the swarm task forgets a peer when it disconnects).
#[derive(Debug, Default)]
pub(super) struct AnnouncedSyncs {
    last: HashMap<PeerId, Instant>,
    /// Deferred peers, and the event to count when their sync starts.
    deferred: HashMap<PeerId, &'static str>,
}

impl AnnouncedSyncs {
    /// Whether an announcement from `peer` may start a sync at `now`; when it may not (one did
    /// within [`ANNOUNCED_SYNC_INTERVAL`]) the peer is deferred until [`AnnouncedSyncs::due`].
    pub(super) fn admit(&mut self, peer: PeerId, now: Instant, event: &'static str) -> bool {
        if self
            .last
            .get(&peer)
            .is_some_and(|last| now.saturating_duration_since(*last) < ANNOUNCED_SYNC_INTERVAL)
        {
            self.deferred.entry(peer).or_insert(event);
            return false;
        }
        self.last.insert(peer, now);
        self.deferred.remove(&peer);
        true
    }

    /// Deferred peers whose interval is over at `now` (no longer deferred), with the event
    /// of the first request that was deferred.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(PeerId, &'static str)> {
        let due: Vec<(PeerId, &'static str)> = self
            .deferred
            .iter()
            .filter(|(peer, _)| {
                self.last.get(peer).is_none_or(|last| {
                    now.saturating_duration_since(*last) >= ANNOUNCED_SYNC_INTERVAL
                })
            })
            .map(|(peer, event)| (*peer, *event))
            .collect();
        for (peer, _) in &due {
            self.deferred.remove(peer);
        }
        due
    }

    /// Forgets a disconnected peer.
    pub(super) fn forget(&mut self, peer: &PeerId) {
        self.last.remove(peer);
        self.deferred.remove(peer);
    }
}

impl SwarmTask {
    /// Records the new head of a feed extended in bulk or by sync, to be announced.
    pub(super) fn record_head(&mut self, notice: &StoredEntry) {
        if !matches!(notice.source, Source::Bulk | Source::Sync) {
            // Local entries are gossiped one by one, gossiped ones forwarded by gossipsub.
            return;
        }
        self.record_head_of(&notice.entry);
    }

    /// Records the head an entry makes of its feed, to be announced.
    pub(super) fn record_head_of(&mut self, entry: &proto_types::entry::VerifiedEntry) {
        let head = WireHead {
            author: entry.author().to_bytes(),
            seq: entry.seq(),
            id: entry.id().0,
        };
        if !self.pending_heads.record(head) {
            self.metrics.event("announcement_heads_dropped");
        }
    }

    /// Every [`ANNOUNCE_INTERVAL`]: gossips the recorded heads, and starts the syncs that
    /// announcements asked for too soon after the last.
    pub(super) fn announce(&mut self) {
        for _ in 0..MAX_ANNOUNCEMENTS_PER_INTERVAL {
            if self.pending_heads.is_empty() {
                break;
            }
            let announcement = HeadAnnouncement {
                nonce: rand::random(),
                heads: self.pending_heads.take(MAX_ANNOUNCED_HEADS),
            };
            let bytes = match wire::encode_announcement(&announcement) {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::error!(%error, "encoding a head announcement failed");
                    break;
                }
            };
            match self
                .swarm
                .behaviour_mut()
                .gossipsub
                .publish(self.heads_topic.clone(), bytes)
            {
                Ok(_) => self.metrics.event("announcement_published"),
                Err(error) => {
                    // No peer subscribed yet, or queues full: peers sync periodically anyway.
                    tracing::debug!(%error, "head announcement not published");
                    self.metrics.event("announcement_publish_failed");
                }
            }
        }
        for (peer, event) in self.announced_syncs.due(Instant::now()) {
            self.sync_soon(peer, event);
        }
    }

    /// Decodes a heads-topic message off the event loop and checks its heads against the
    /// store; a head of a trusted author beyond this node's comes back as
    /// [`Command::Announced`]. Never forwarded (*Ignore*); malformed is *Reject* (a strike).
    pub(super) fn validate_announcement(
        &mut self,
        source: PeerId,
        message_id: gossipsub::MessageId,
        data: Vec<u8>,
    ) {
        let Some(permit) = self.validation_slot(source, &message_id) else {
            return;
        };
        let ingest = self.ingest.clone();
        let reader = self.reader.clone();
        let network = self.network.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let (acceptance, ahead) = match wire::decode_announcement(&data) {
                Err(error) => {
                    tracing::debug!(peer = %source, %error, "malformed head announcement");
                    metrics.event("announcement_rejected");
                    (MessageAcceptance::Reject, false)
                }
                Ok(announcement) => {
                    metrics.event("announcement_received");
                    let trusted: Vec<(PublicKey, u64)> = announcement
                        .heads
                        .iter()
                        .filter_map(|head| {
                            let author = PublicKey::from_bytes(&head.author).ok()?;
                            ingest
                                .trust()
                                .is_trusted(&author)
                                .then_some((author, head.seq))
                        })
                        .collect();
                    let ahead = !trusted.is_empty()
                        && reader
                            .run(move |store| {
                                for (author, seq) in &trusted {
                                    let local = store.head(author)?.map_or(0, |head| head.seq);
                                    if *seq > local {
                                        return Ok(true);
                                    }
                                }
                                Ok::<_, crate::storage::StorageError>(false)
                            })
                            .await
                            .unwrap_or_else(|error| {
                                tracing::error!(%error, "reading heads for an announcement failed");
                                false
                            });
                    (MessageAcceptance::Ignore, ahead)
                }
            };
            let _ = network
                .send(Command::Validated {
                    message_id,
                    source,
                    acceptance,
                })
                .await;
            drop(permit);
            if ahead {
                let _ = network.send(Command::Announced { peer: source }).await;
            }
        });
    }

    /// A peer announced a head this node lacks (or sent gossip this node was too busy to
    /// validate): sync with it now, or once [`ANNOUNCED_SYNC_INTERVAL`] has passed since the
    /// last sync started this way.
    pub(super) fn on_announced(&mut self, peer: PeerId) {
        self.sync_soon(peer, "sync_by_announcement");
    }

    /// Syncs with `peer` now, or once [`ANNOUNCED_SYNC_INTERVAL`] has passed since the last
    /// sync started by [`SwarmTask::sync_soon`]; counts `event` when the sync is asked for.
    pub(super) fn sync_soon(&mut self, peer: PeerId, event: &'static str) {
        if !self.swarm.is_connected(&peer) || self.scoring.is_blocked(&peer) {
            return;
        }
        if !self.announced_syncs.admit(peer, Instant::now(), event) {
            return;
        }
        self.metrics.event(event);
        self.start_sync(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(author: u8, seq: u64) -> WireHead {
        WireHead {
            author: [author; 32],
            seq,
            id: [seq as u8; 32],
        }
    }

    #[test]
    fn pending_heads_keep_the_latest_head_per_author_in_first_recorded_order() {
        let mut pending = PendingHeads::default();
        assert!(pending.is_empty());
        for seq in 1..=1000 {
            assert!(pending.record(head(1, seq)));
        }
        assert!(pending.record(head(2, 5)));
        // An older head (notices of one author come in seq order, but be safe) changes nothing.
        assert!(pending.record(head(1, 3)));
        let taken = pending.take(MAX_ANNOUNCED_HEADS);
        assert_eq!(taken, vec![head(1, 1000), head(2, 5)]);
        assert!(pending.is_empty());
        assert!(pending.take(10).is_empty());
    }

    #[test]
    fn pending_heads_are_bounded_and_taken_in_announcements_of_bounded_size() {
        let mut pending = PendingHeads::default();
        let mut refused = 0;
        for author in 0..MAX_PENDING_ANNOUNCED_AUTHORS + 10 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(author as u64).to_be_bytes());
            if !pending.record(WireHead {
                author: key,
                seq: 1,
                id: [0; 32],
            }) {
                refused += 1;
            }
        }
        assert_eq!(refused, 10);
        let mut total = 0;
        loop {
            let taken = pending.take(MAX_ANNOUNCED_HEADS);
            if taken.is_empty() {
                break;
            }
            assert!(taken.len() <= MAX_ANNOUNCED_HEADS);
            total += taken.len();
        }
        assert_eq!(total, MAX_PENDING_ANNOUNCED_AUTHORS);
        // Room again once taken.
        assert!(pending.record(head(9, 1)));
    }

    #[test]
    fn announcements_start_at_most_one_sync_per_interval_per_peer_and_none_is_lost() {
        let mut syncs = AnnouncedSyncs::default();
        let peer = PeerId::random();
        let other = PeerId::random();
        let start = Instant::now();
        assert!(syncs.admit(peer, start, "first"));
        // Too soon: deferred, not lost; the first deferred request's event is kept.
        assert!(!syncs.admit(peer, start + Duration::from_millis(10), "second"));
        assert!(!syncs.admit(peer, start + Duration::from_millis(20), "third"));
        // Another peer is not held back by this one.
        assert!(syncs.admit(other, start + Duration::from_millis(20), "other"));
        assert!(syncs.due(start + Duration::from_millis(100)).is_empty());
        assert_eq!(
            syncs.due(start + ANNOUNCED_SYNC_INTERVAL),
            vec![(peer, "second")]
        );
        // Once due it is no longer deferred.
        assert!(syncs.due(start + 2 * ANNOUNCED_SYNC_INTERVAL).is_empty());
        assert!(syncs.admit(peer, start + ANNOUNCED_SYNC_INTERVAL, "again"));
        // A forgotten (disconnected) peer leaves nothing behind.
        assert!(!syncs.admit(peer, start + ANNOUNCED_SYNC_INTERVAL, "too soon"));
        syncs.forget(&peer);
        assert!(syncs.due(start + 10 * ANNOUNCED_SYNC_INTERVAL).is_empty());
        assert!(syncs.admit(peer, start + ANNOUNCED_SYNC_INTERVAL, "after"));
    }
}
