//! The swarm task: the one owner of the libp2p `Swarm`. Its loop selects over swarm events,
//! commands from [`Network`] handles and the tasks it spawned, the writer's stored-entry
//! notices and its timers, and hands each to one small handler. Slow work (validating gossip
//! through the ingest path, answering and running sync sessions) runs in spawned tasks that
//! report back with commands, so the loop never blocks.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::OutboundRequestId;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm, identify, kad, mdns};
use proto_types::entry::VerifiedEntry;
use proto_types::sync::SyncResponse;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot, watch};

use super::announce::{ANNOUNCE_INTERVAL, AnnouncedSyncs, PendingHeads};
use super::behaviour::{Behaviour, BehaviourEvent, MAX_CONNECTIONS};
use super::peers::{MAX_KNOWN_PEERS, Offence, PeerInfo, PeerSnapshot, Peers, Scoring};
use super::sync::{MAX_CONCURRENT_SERVES, MAX_CONCURRENT_SYNCS};
use super::{Command, ENTRIES_TOPIC, GossipMesh, HEADS_TOPIC, Network, PROTOCOL_VERSION};
use crate::ingest::{Ingest, IngestError, IngestOutcome, Source, StoredEntry};
use crate::metrics::Metrics;
use crate::storage::StoreReader;
use crate::transparency::{OutgoingMessage, Transparency};

/// How often the task redials lost bootstrap and known peers, lifts expired blocks and starts
/// a discovery walk that new connections asked for.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(2);
/// How often a discovery walk (Kademlia bootstrap) runs while the node has peers.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);
/// Known peers redialled per maintenance round, at most.
const REDIALS_PER_ROUND: usize = 16;
/// The node dials peers it learns of (and redials known ones) only while it has fewer
/// connections than this: half its limit, leaving room for peers that dial it.
const DIAL_BELOW_CONNECTIONS: usize = MAX_CONNECTIONS as usize / 2;
/// Addresses remembered per peer.
const MAX_ADDRESSES_PER_PEER: usize = 8;
/// Gossip messages being validated at once; more are ignored (sync recovers them).
pub const MAX_CONCURRENT_VALIDATIONS: usize = 1024;

/// What [`SwarmTask::new`] takes.
pub(super) struct Parts {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) network: Network,
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) ingest: Ingest,
    pub(super) transparency: Arc<Transparency>,
    pub(super) reader: StoreReader,
    pub(super) peers: Arc<Peers>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) scoring: Scoring,
    pub(super) bootstrap: HashMap<PeerId, Multiaddr>,
    pub(super) listen_addrs: Vec<Multiaddr>,
    pub(super) sync_interval: Duration,
}

/// The swarm task's state. Catch-up sync's half of it (the queue, the sessions, serving) is
/// handled in `sync.rs`.
pub(super) struct SwarmTask {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) network: Network,
    commands: mpsc::Receiver<Command>,
    pub(super) ingest: Ingest,
    pub(super) transparency: Arc<Transparency>,
    pub(super) reader: StoreReader,
    peers: Arc<Peers>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) scoring: Scoring,
    bootstrap: HashMap<PeerId, Multiaddr>,
    known: HashMap<PeerId, Vec<Multiaddr>>,
    /// Our sync requests in flight, and who waits for each response.
    pub(super) pending_requests: HashMap<
        OutboundRequestId,
        oneshot::Sender<Result<SyncResponse, libp2p::request_response::OutboundFailure>>,
    >,
    /// Peers with a sync session running.
    pub(super) syncing: HashSet<PeerId>,
    /// Peers to sync again when their running session ends.
    pub(super) resync: HashSet<PeerId>,
    /// Peers waiting for a sync slot, oldest first, each at most once; only connected peers
    /// are queued, so it holds at most [`MAX_CONNECTIONS`] peers.
    pub(super) sync_queue: VecDeque<PeerId>,
    pub(super) sync_slots: Arc<Semaphore>,
    pub(super) serve_slots: Arc<Semaphore>,
    pub(super) validation_slots: Arc<Semaphore>,
    discovery_due: bool,
    topic: gossipsub::IdentTopic,
    pub(super) checkpoints_topic: gossipsub::IdentTopic,
    pub(super) heads_topic: gossipsub::IdentTopic,
    /// New heads of feeds extended in bulk or by sync, waiting for the next announcement.
    pub(super) pending_heads: PendingHeads,
    /// Syncs started by peers' announcements, rate-limited per peer.
    pub(super) announced_syncs: AnnouncedSyncs,
    listen_addrs: Vec<Multiaddr>,
    sync_interval: Duration,
}

impl SwarmTask {
    pub(super) fn new(parts: Parts) -> Self {
        Self {
            swarm: parts.swarm,
            network: parts.network,
            commands: parts.commands,
            ingest: parts.ingest,
            transparency: parts.transparency,
            reader: parts.reader,
            peers: parts.peers,
            metrics: parts.metrics,
            scoring: parts.scoring,
            bootstrap: parts.bootstrap,
            known: HashMap::new(),
            pending_requests: HashMap::new(),
            syncing: HashSet::new(),
            resync: HashSet::new(),
            sync_queue: VecDeque::new(),
            sync_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SYNCS)),
            serve_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SERVES)),
            validation_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_VALIDATIONS)),
            discovery_due: false,
            topic: gossipsub::IdentTopic::new(ENTRIES_TOPIC),
            checkpoints_topic: gossipsub::IdentTopic::new(super::CHECKPOINTS_TOPIC),
            heads_topic: gossipsub::IdentTopic::new(HEADS_TOPIC),
            pending_heads: PendingHeads::default(),
            announced_syncs: AnnouncedSyncs::default(),
            listen_addrs: parts.listen_addrs,
            sync_interval: parts.sync_interval,
        }
    }

    /// The loop: runs until shutdown, or until every handle and the writer are gone.
    pub(super) async fn run(
        &mut self,
        mut stored: broadcast::Receiver<StoredEntry>,
        mut outgoing: broadcast::Receiver<OutgoingMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let mut sync_tick = tokio::time::interval(self.sync_interval);
        let mut announce_tick = tokio::time::interval(ANNOUNCE_INTERVAL);
        announce_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut maintenance_tick = tokio::time::interval(MAINTENANCE_INTERVAL);
        let mut discovery_tick = tokio::time::interval(DISCOVERY_INTERVAL);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                notice = stored.recv() => match notice {
                    Ok(notice) if notice.source == Source::Local => self.publish(&notice.entry),
                    Ok(notice) => self.record_head(&notice),
                    Err(RecvError::Lagged(skipped)) => {
                        // Peers will fetch what was not gossiped through sync.
                        tracing::debug!(skipped, "stored-entry notices skipped");
                    }
                    Err(RecvError::Closed) => break,
                },
                message = outgoing.recv() => match message {
                    Ok(message) => self.publish_checkpoint_message(&message),
                    Err(RecvError::Lagged(skipped)) => {
                        // The next checkpoint or the re-gossip makes up for them.
                        tracing::debug!(skipped, "outgoing checkpoint messages skipped");
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = sync_tick.tick() => self.sync_with_everyone(),
                _ = announce_tick.tick() => self.announce(),
                _ = maintenance_tick.tick() => self.maintain(),
                _ = discovery_tick.tick() => {
                    if self.swarm.connected_peers().next().is_some() {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        tracing::debug!("network task stopped");
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Request {
                peer,
                request,
                reply,
            } => self.send_request(peer, request, reply),
            Command::Respond { channel, response } => self.send_response(channel, response),
            Command::Validated {
                message_id,
                source,
                acceptance,
            } => self.report_validation(message_id, source, acceptance),
            Command::Strike { peer, offence } => self.strike(peer, offence),
            Command::Block { peer, reply } => {
                let _ = reply.send(self.block_by_operator(peer));
            }
            Command::Unblock { peer, reply } => {
                let _ = reply.send(self.unblock(peer));
            }
            Command::Peers { reply } => {
                let _ = reply.send(self.list_peers());
            }
            Command::GossipMesh { reply } => {
                let _ = reply.send(self.gossip_mesh());
            }
            Command::SyncDone { peer } => self.sync_done(peer),
            // An early entry's gap is usually filled by gossip a moment later: the sync it
            // asks for is rate-limited per peer (under load, a sync per early entry was a
            // storm of sessions that deepened the overload).
            Command::SyncWith { peer } => self.sync_soon(peer, "sync_after_gap"),
            Command::Announced { peer } => self.on_announced(peer),
        }
    }

    fn handle_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                if !self.listen_addrs.contains(&address) {
                    self.listen_addrs.push(address);
                }
                self.publish_snapshot();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } if num_established.get() == 1 => self.on_connected(peer_id),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "peer disconnected");
                self.announced_syncs.forget(&peer_id);
                self.publish_snapshot();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                if message.topic == self.checkpoints_topic.hash() {
                    self.validate_checkpoint(propagation_source, message_id, message.data);
                } else if message.topic == self.heads_topic.hash() {
                    self.validate_announcement(propagation_source, message_id, message.data);
                } else {
                    self.validate_gossip(propagation_source, message_id, message.data);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => self.on_identified(peer_id, info),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => self.on_routing_updated(peer, addresses.into_vec()),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    self.on_discovered(peer, address);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::trace!(?peer_id, %error, "outgoing connection failed");
            }
            _ => {}
        }
    }

    /// Publishes the connected peers and listen addresses for the API.
    pub(super) fn publish_snapshot(&self) {
        let mut connected: Vec<String> = self
            .swarm
            .connected_peers()
            .map(ToString::to_string)
            .collect();
        connected.sort();
        self.peers.set(PeerSnapshot {
            peer_id: Some(self.network.peer_id.to_string()),
            connected,
            listen_addrs: self
                .listen_addrs
                .iter()
                .map(|address| format!("{address}/p2p/{}", self.network.peer_id))
                .collect(),
        });
    }

    /// Gossips an entry stored from a local source.
    fn publish(&mut self, entry: &VerifiedEntry) {
        let bytes = entry.canonical_bytes().to_vec();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.topic.clone(), bytes)
        {
            Ok(_) => self.metrics.event("gossip_published"),
            Err(error) => {
                // Not fatal: peers that miss it fetch it through sync, which the head
                // announcement starts at once (gossip degrades to sync, e.g. when every
                // peer's queue is full).
                tracing::debug!(%error, id = %entry.id(), "gossip publish failed");
                self.metrics.event("gossip_publish_failed");
                self.record_head_of(entry);
            }
        }
    }

    fn on_connected(&mut self, peer: PeerId) {
        tracing::debug!(%peer, "peer connected");
        self.discovery_due = true;
        self.publish_snapshot();
        self.start_sync(peer);
    }

    fn on_identified(&mut self, peer: PeerId, info: identify::Info) {
        if info.protocol_version != PROTOCOL_VERSION {
            tracing::debug!(%peer, version = %info.protocol_version, "peer speaks another protocol version");
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        for address in info.listen_addrs.into_iter().take(MAX_ADDRESSES_PER_PEER) {
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer, address.clone());
            self.remember(peer, address);
        }
    }

    fn on_routing_updated(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if let Some(address) = addresses.first() {
            self.remember(peer, address.clone());
        }
        if self.wants_more_connections() {
            self.dial(peer, addresses);
        }
    }

    fn on_discovered(&mut self, peer: PeerId, address: Multiaddr) {
        if self.scoring.is_blocked(&peer) {
            return;
        }
        self.swarm
            .behaviour_mut()
            .kad
            .add_address(&peer, address.clone());
        self.remember(peer, address.clone());
        self.dial(peer, vec![address]);
    }

    fn wants_more_connections(&self) -> bool {
        self.swarm.connected_peers().count() < DIAL_BELOW_CONNECTIONS
    }

    /// Dials `peer` at `addresses` unless it is connected or blocked.
    fn dial(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if self.swarm.is_connected(&peer) || self.scoring.is_blocked(&peer) {
            return;
        }
        let options = DialOpts::peer_id(peer).addresses(addresses).build();
        if let Err(error) = self.swarm.dial(options) {
            tracing::trace!(%peer, %error, "dialling a peer failed");
        }
    }

    /// Remembers an address of `peer` for redialling (bounded in peers and addresses).
    fn remember(&mut self, peer: PeerId, address: Multiaddr) {
        if self.known.len() >= MAX_KNOWN_PEERS && !self.known.contains_key(&peer) {
            return;
        }
        let addresses = self.known.entry(peer).or_default();
        if !addresses.contains(&address) && addresses.len() < MAX_ADDRESSES_PER_PEER {
            addresses.push(address);
        }
    }

    pub(super) fn dial_bootstrap(&mut self) {
        let targets: Vec<(PeerId, Multiaddr)> = self
            .bootstrap
            .iter()
            .map(|(peer, address)| (*peer, address.clone()))
            .collect();
        for (peer, address) in targets {
            self.dial(peer, vec![address]);
        }
    }

    /// Periodic: look for more peers after new connections, redial lost bootstrap and known
    /// peers, lift expired blocks.
    fn maintain(&mut self) {
        if self.discovery_due && self.swarm.connected_peers().next().is_some() {
            // A Kademlia walk finds the peers our peers know; RoutingUpdated then dials them.
            self.discovery_due = false;
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        self.dial_bootstrap();
        if self.wants_more_connections() {
            let targets: Vec<(PeerId, Multiaddr)> = self
                .known
                .iter()
                .filter(|(peer, _)| {
                    !self.scoring.is_blocked(peer) && !self.swarm.is_connected(peer)
                })
                .filter_map(|(peer, addresses)| addresses.first().map(|a| (*peer, a.clone())))
                .take(REDIALS_PER_ROUND)
                .collect();
            for (peer, address) in targets {
                self.dial(peer, vec![address]);
            }
        }
        for peer in self.scoring.expire(Instant::now()) {
            tracing::info!(%peer, "a block by the node expired");
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            self.metrics.event("peer_block_expired");
        }
    }

    /// Holds a piece of invalid data against `peer`, and blocks it when that takes its score
    /// below the threshold. Every strike, gossip or sync, goes through here.
    pub(super) fn strike(&mut self, peer: PeerId, offence: Offence) {
        if offence.is_sync() {
            self.metrics.event("sync_invalid_data");
        }
        let strike = self.scoring.strike(peer, Instant::now());
        let reason = offence.reason();
        tracing::debug!(%peer, reason, score = strike.score, "peer sent invalid data");
        if strike.blocked {
            tracing::warn!(%peer, reason, score = strike.score, "blocking a peer that sent invalid data");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.metrics.event(offence.block_event());
        }
    }

    fn block_by_operator(&mut self, peer: PeerId) -> bool {
        let newly = self.scoring.block_by_operator(peer);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        newly
    }

    /// Lifts a block (whoever imposed it) and redials the peer when its address is known.
    fn unblock(&mut self, peer: PeerId) -> bool {
        let was = self.scoring.unblock(&peer);
        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        let address = self
            .bootstrap
            .get(&peer)
            .cloned()
            .or_else(|| self.known.get(&peer).and_then(|a| a.first().cloned()));
        if let Some(address) = address {
            self.dial(peer, vec![address]);
        }
        was
    }

    fn list_peers(&self) -> Vec<PeerInfo> {
        let now = Instant::now();
        let mut ids: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        ids.extend(self.scoring.blocked_peers());
        ids.extend(self.known.keys().copied());
        ids.extend(self.bootstrap.keys().copied());
        let mut list: Vec<PeerInfo> = ids
            .into_iter()
            .map(|peer| {
                let standing = self.scoring.standing(&peer, now);
                PeerInfo {
                    peer_id: peer.to_string(),
                    connected: self.swarm.is_connected(&peer),
                    blocked: standing.blocked_by.is_some(),
                    blocked_by: standing.blocked_by,
                    block_expires_in_secs: standing.block_expires_in_secs,
                    score: Some(standing.score),
                    addresses: self
                        .known
                        .get(&peer)
                        .map(|a| a.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        list.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        list
    }

    fn gossip_mesh(&self) -> GossipMesh {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let topic = self.topic.hash();
        GossipMesh {
            mesh_peers: gossipsub.mesh_peers(&topic).count(),
            subscribed_peers: gossipsub
                .all_peers()
                .filter(|(_, topics)| topics.contains(&&topic))
                .count(),
        }
    }

    /// A slot to validate one gossip message off the event loop; when every slot is busy the
    /// message is reported `Ignore` (dropped unforwarded, counted) and there is none.
    pub(super) fn validation_slot(
        &mut self,
        source: PeerId,
        message_id: &gossipsub::MessageId,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self.validation_slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(
                        message_id,
                        &source,
                        MessageAcceptance::Ignore,
                    );
                self.metrics.event("gossip_dropped_overload");
                // What was dropped is fetched from the sender by sync, soon (rate-limited per
                // peer like a head announcement) rather than at the next periodic round.
                self.sync_soon(source, "sync_after_overload");
                None
            }
        }
    }

    /// Hands a gossip message to the ingest path; the verdict comes back as
    /// [`Command::Validated`].
    fn validate_gossip(&mut self, source: PeerId, message_id: gossipsub::MessageId, data: Vec<u8>) {
        // Overloaded: dropped unforwarded; sync brings it later.
        let Some(permit) = self.validation_slot(source, &message_id) else {
            return;
        };
        let ingest = self.ingest.clone();
        let network = self.network.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let outcome = ingest.submit_bytes(data, Source::Gossip).await;
            let (acceptance, event) = gossip_verdict(&outcome);
            metrics.event(event);
            let _ = network
                .send(Command::Validated {
                    message_id,
                    source,
                    acceptance,
                })
                .await;
            drop(permit);
            if let Ok(IngestOutcome::HeldBack { .. }) = outcome {
                // A gap: fetch what is missing from the peer that has the later entry.
                let _ = network.send(Command::SyncWith { peer: source }).await;
            }
        });
    }

    /// Reports the ingest path's verdict to gossipsub; a rejected message is a strike.
    fn report_validation(
        &mut self,
        message_id: gossipsub::MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    ) {
        let rejected = matches!(acceptance, MessageAcceptance::Reject);
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &source, acceptance);
        if rejected {
            self.strike(source, Offence::InvalidGossip);
        }
    }
}

/// What gossipsub is told of a message, from what the ingest path did with it, and the event
/// counted.
fn gossip_verdict(
    outcome: &Result<IngestOutcome, IngestError>,
) -> (MessageAcceptance, &'static str) {
    match outcome {
        Ok(IngestOutcome::Stored { .. }) => (MessageAcceptance::Accept, "gossip_accepted"),
        Ok(IngestOutcome::HeldBack { .. }) => (MessageAcceptance::Ignore, "gossip_early"),
        Ok(IngestOutcome::Equivocation { .. }) => {
            (MessageAcceptance::Ignore, "gossip_equivocation")
        }
        Ok(_) => (MessageAcceptance::Ignore, "gossip_duplicate"),
        Err(IngestError::Invalid(_)) => (MessageAcceptance::Reject, "gossip_rejected"),
        // Not evidence of a bad peer: another node's trust store may list the author already,
        // or it is a freshly rotated key whose rotation entry has not arrived. Not forwarded;
        // sync fetches it once the author is trusted.
        Err(IngestError::UnknownAuthor(_)) => (MessageAcceptance::Ignore, "gossip_unknown_author"),
        Err(_) => (MessageAcceptance::Ignore, "gossip_not_stored"),
    }
}
