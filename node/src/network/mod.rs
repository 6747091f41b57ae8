//! Federation: the only module that names libp2p. One task owns the `Swarm`; the rest of the
//! node holds a [`Network`] handle that sends it commands.
//!
//! - **Gossip** (gossipsub, topic [`ENTRIES_TOPIC`]): every entry stored from a local source is
//!   published as an anonymous message whose id is the SHA-256 of its bytes (the entry id, since
//!   entries travel in canonical form). Validation is manual: a received message goes through
//!   the node's ingest path and is reported *Accept* (stored: forward it), *Reject* (malformed
//!   or forged: the sender's score drops) or *Ignore* (duplicate, early, forked, equivocating,
//!   or of an author this node does not trust, which is no evidence against the sender).
//!   Nothing is forwarded before the ingest path has stored it.
//! - **Catch-up sync** (request-response, protocol [`SYNC_PROTOCOL`], the CBOR messages of
//!   [`proto_types::sync`]): a node asks a peer for its heads, then fetches every feed it is
//!   behind on in bounded ranges and hands their bytes to the ingest path's bulk door, which
//!   verifies and stores them. A session fetches up to [`MAX_FEEDS_AT_ONCE`] feeds at once and
//!   keeps up to [`MAX_RANGES_AHEAD_PER_FEED`] ranges of each in flight, so the next range
//!   travels while the current one is verified and stored. It runs when a peer connects, every
//!   sync interval ([`SYNC_INTERVAL`] by default), when gossip delivers an entry with a gap
//!   before it, and when a peer announces a head this node lacks. Sessions wait in a first-in
//!   first-out queue for one of [`MAX_CONCURRENT_SYNCS`] slots, so every connected peer is
//!   synced within a bounded time. Gossip is the fast path and may drop messages; sync is what
//!   guarantees convergence.
//! - **Head announcements** (gossipsub, topic [`HEADS_TOPIC`]): entries stored in bulk (imports,
//!   batches) or learnt by sync are not gossiped one by one; instead the node announces the new
//!   heads of their feeds, coalesced per author every [`ANNOUNCE_INTERVAL`]. A peer that lacks
//!   an announced head of a trusted author starts a sync with the announcer at once (at most
//!   one per [`ANNOUNCED_SYNC_INTERVAL`] per peer). Announcements are hints: never forwarded,
//!   never stored, never believed beyond scheduling a sync.
//! - **Peers**: bootstrap addresses (redialled when lost), identify, Kademlia for discovery
//!   beyond them, optional mDNS, connection limits, a block list. The operator's blocks are
//!   persisted in the data directory and last until the operator unblocks. The node blocks on
//!   its own, for [`AUTOMATIC_BLOCK_DURATION`] and without persisting it, a peer whose score
//!   falls below [`BLOCK_SCORE`]. That score is the node's own bookkeeping, not gossipsub's: it
//!   drops only for invalid *content* (a gossip message the ingest path rejects, invalid sync
//!   data) and decays; an operator's unblock resets it.
//!
//! Rooms: this file holds the handle, its commands and [`start`]; `swarm` the task's event
//! loop; `behaviour` the libp2p behaviour and its tuning; `sync` catch-up sync (serving,
//! scheduling, fetching); `announce` head announcements (sending and receiving); `peers`
//! scores, blocks and the block-list file.

mod announce;
mod behaviour;
mod checkpoints;
mod peers;
mod swarm;
mod sync;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{OutboundFailure, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, SwarmBuilder, identity, noise, tcp, yamux};
use proto_types::sync::{SyncRequest, SyncResponse};
use tokio::sync::{mpsc, oneshot, watch};

use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::storage::{Store, StoreReader};
use crate::transparency::Transparency;

pub use announce::{ANNOUNCE_INTERVAL, ANNOUNCED_SYNC_INTERVAL, MAX_PENDING_ANNOUNCED_AUTHORS};
pub use behaviour::{
    GOSSIP_MESH_N, GOSSIP_MESH_N_HIGH, GOSSIP_MESH_N_LOW, IDLE_CONNECTION_TIMEOUT, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_PEER, MAX_GOSSIP_BYTES,
};
pub use peers::{
    AUTOMATIC_BLOCK_DURATION, BLOCK_SCORE, BLOCKLIST_FILE, BlockListError, INVALID_DATA_PENALTY,
    MAX_KNOWN_PEERS, MAX_STRIKES, PENALTY_HALF_LIFE, PeerInfo, PeerSnapshot, Peers,
};
pub use swarm::{DISCOVERY_INTERVAL, MAINTENANCE_INTERVAL, MAX_CONCURRENT_VALIDATIONS};
pub use sync::{
    MAX_BUSY_RETRIES, MAX_CONCURRENT_SERVES, MAX_CONCURRENT_SYNCS, MAX_FEEDS_AT_ONCE,
    MAX_RANGES_AHEAD_PER_FEED, MAX_RANGES_IN_FLIGHT, SYNC_INTERVAL, SessionError,
};

pub use peers::Offence;

/// The gossip topic for entries; versioned with the envelope.
pub const ENTRIES_TOPIC: &str = "/rightsnet/entries/1";
/// The gossip topic for checkpoints (a signed note with the cosignatures the sender holds) and
/// checkpoint equivocation proofs (JSON), protocol §14.4.
pub const CHECKPOINTS_TOPIC: &str = "/rightsnet/checkpoints/1";
/// The gossip topic for head announcements ([`proto_types::sync::ANNOUNCE_TOPIC`]).
pub const HEADS_TOPIC: &str = proto_types::sync::ANNOUNCE_TOPIC;
/// The catch-up sync protocol ([`proto_types::sync::PROTOCOL`]).
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new(proto_types::sync::PROTOCOL);
/// The Kademlia protocol (our own, so nodes never join another DHT).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/rightsnet/kad/1");
/// The identify protocol version; peers announcing another one are disconnected.
pub const PROTOCOL_VERSION: &str = "/rightsnet/1";
/// Commands queued for the swarm task.
pub const COMMAND_QUEUE_CAPACITY: usize = 4096;
/// File in the data directory holding the peer identity (32 random bytes, hex).
pub const IDENTITY_FILE: &str = "p2p-identity.key";
/// Most characters of an invalid peer id quoted back in an error (it came from outside).
const MAX_QUOTED_PEER_ID_CHARS: usize = 80;
/// How long [`start`] waits for the swarm to report its listen address.
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the rest of the node (and the tasks the swarm task spawns) asks of the swarm task.
enum Command {
    /// Send a sync request; the reply gets the peer's response or why there is none.
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, OutboundFailure>>,
    },
    /// Send the answer to an inbound sync request.
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    /// Report the transparency service's verdict on a checkpoints-topic message (or the
    /// ingest path's, on an entry).
    Validated {
        message_id: gossipsub::MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    /// Hold invalid data against a peer.
    Strike { peer: PeerId, offence: Offence },
    /// Block a peer for the operator.
    Block {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    /// Lift a block, whoever imposed it.
    Unblock {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    /// List every known peer.
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    /// Tell how the gossip mesh stands.
    GossipMesh { reply: oneshot::Sender<GossipMesh> },
    /// A sync session with the peer ended.
    SyncDone { peer: PeerId },
    /// Sync with the peer soon (an entry it gossiped came with a gap before it).
    SyncWith { peer: PeerId },
    /// The peer announced a head of a trusted author that this node lacks.
    Announced { peer: PeerId },
}

/// A sync response on its way.
type PendingResponse = oneshot::Receiver<Result<SyncResponse, OutboundFailure>>;

/// Why a network command failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Closed,
    /// The peer id is not valid.
    #[error("invalid peer id: {0}")]
    BadPeerId(String),
}

/// How this node's gossip mesh for the entries topic stands: the peers it forwards entries to
/// (the mesh) and the connected peers subscribed to the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GossipMesh {
    /// Peers in the mesh.
    pub mesh_peers: usize,
    /// Connected peers subscribed to the topic (the mesh is drawn from them).
    pub subscribed_peers: usize,
}

impl GossipMesh {
    /// Whether the mesh holds as many peers as gossipsub aims for at least:
    /// [`GOSSIP_MESH_N_LOW`], or every subscribed peer when there are fewer.
    pub fn is_formed(&self) -> bool {
        self.mesh_peers >= self.subscribed_peers.min(GOSSIP_MESH_N_LOW)
    }
}

/// A cloneable handle to the swarm task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    /// This node's peer id.
    pub peer_id: PeerId,
}

impl Network {
    async fn send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Closed)
    }

    /// Every known peer: connected ones, blocked ones, and those remembered for redialling.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NetworkError> {
        let (reply, response) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    /// Blocks a peer for the operator: closes its connections and refuses new ones until
    /// unblocked, across restarts. Returns whether it was not blocked by the operator before
    /// (a block by the node becomes the operator's).
    pub async fn block(&self, peer: &str) -> Result<bool, NetworkError> {
        let peer = parse_peer(peer)?;
        let (reply, response) = oneshot::channel();
        self.send(Command::Block { peer, reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    /// Unblocks a peer (whoever blocked it), forgets the invalid data it sent (its score
    /// returns to 0) and redials it when its address is known. Returns whether it was blocked.
    pub async fn unblock(&self, peer: &str) -> Result<bool, NetworkError> {
        let peer = parse_peer(peer)?;
        let (reply, response) = oneshot::channel();
        self.send(Command::Unblock { peer, reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    /// How the gossip mesh stands now (for readiness checks: a benchmark waits for
    /// [`GossipMesh::is_formed`] at every node before it times anything).
    pub async fn gossip_mesh(&self) -> Result<GossipMesh, NetworkError> {
        let (reply, response) = oneshot::channel();
        self.send(Command::GossipMesh { reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    /// Sends a sync request; the receiver gets the peer's response (or why there is none).
    /// The request travels whether or not the receiver is awaited yet, so that a session can
    /// keep several in flight.
    async fn send_request(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<PendingResponse, NetworkError> {
        let (reply, response) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await?;
        Ok(response)
    }

    /// Holds invalid data against `peer` (the one way to strike a peer from outside the swarm
    /// task; inside it, `SwarmTask::strike`).
    async fn strike(&self, peer: PeerId, offence: Offence) {
        // Only fails when the node is stopping, when strikes no longer matter.
        let _ = self.send(Command::Strike { peer, offence }).await;
    }
}

fn parse_peer(peer: &str) -> Result<PeerId, NetworkError> {
    peer.parse()
        .map_err(|_| NetworkError::BadPeerId(peer.chars().take(MAX_QUOTED_PEER_ID_CHARS).collect()))
}

/// What [`start`] needs.
pub struct NetworkConfig {
    /// Where the node keeps its peer identity and block list.
    pub data_dir: PathBuf,
    /// Listen multiaddr.
    pub listen: String,
    /// Bootstrap multiaddrs, each ending in `/p2p/<peer id>`.
    pub bootstrap: Vec<String>,
    /// Whether mDNS discovery runs.
    pub mdns: bool,
    /// How often every connected peer is asked for its heads ([`SYNC_INTERVAL`] by default).
    pub sync_interval: Duration,
}

/// The running swarm task.
pub struct RunningNetwork {
    /// The handle.
    pub network: Network,
    /// Addresses the swarm listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// The swarm task.
    pub task: tokio::task::JoinHandle<()>,
}

/// Loads the peer identity from the data directory, creating it on first start.
fn load_identity(data_dir: &std::path::Path) -> anyhow::Result<identity::Keypair> {
    let secret = crate::files::load_or_create_secret(&data_dir.join(IDENTITY_FILE))?;
    Ok(identity::Keypair::ed25519_from_bytes(secret)?)
}

/// Starts the swarm task. Returns once the swarm listens (or fails to). A block-list file that
/// cannot be read is an error ([`BlockListError`]): the operator's blocks are not dropped
/// silently.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    config: NetworkConfig,
    ingest: Ingest,
    transparency: Arc<Transparency>,
    store: Arc<Store>,
    peers: Arc<Peers>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<RunningNetwork> {
    let listen: Multiaddr = config
        .listen
        .parse()
        .map_err(|error| anyhow::anyhow!("p2p_listen {:?}: {error}", config.listen))?;
    let mut bootstrap_addrs = Vec::with_capacity(config.bootstrap.len());
    for address in &config.bootstrap {
        let parsed: Multiaddr = address
            .parse()
            .map_err(|error| anyhow::anyhow!("bootstrap address {address:?}: {error}"))?;
        bootstrap_addrs.push(parsed);
    }
    let scoring = peers::Scoring::load(&config.data_dir)?;
    let keypair = load_identity(&config.data_dir)?;
    let peer_id = keypair.public().to_peer_id();
    let behaviour = behaviour::build(&keypair, config.mdns)?;
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| behaviour)?
        .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    for peer in scoring.blocked_peers() {
        swarm.behaviour_mut().blocked.block_peer(peer);
    }
    swarm.listen_on(listen.clone())?;
    // Wait for the listen address so the caller can print and publish it.
    let mut listen_addrs = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while listen_addrs.is_empty() {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => listen_addrs.push(address),
            Ok(SwarmEvent::ListenerError { error, .. }) => return Err(error.into()),
            Ok(SwarmEvent::ListenerClosed { reason, .. }) => {
                return Err(anyhow::anyhow!("listener closed: {reason:?}"));
            }
            Ok(_) => {}
            Err(_) => anyhow::bail!(
                "no listen address after {} s on {listen}",
                LISTEN_TIMEOUT.as_secs()
            ),
        }
    }
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE_CAPACITY);
    let network = Network { commands, peer_id };
    let mut bootstrap = std::collections::HashMap::new();
    for address in &bootstrap_addrs {
        match peer_of(address) {
            Some(peer) if peer != peer_id => {
                bootstrap.insert(peer, address.clone());
            }
            Some(_) => {}
            None => tracing::warn!(%address, "bootstrap address without /p2p/<peer id> ignored"),
        }
    }
    let stored = ingest.subscribe_stored();
    let outgoing = transparency.subscribe_outgoing();
    let mut task = swarm::SwarmTask::new(swarm::Parts {
        swarm,
        network: network.clone(),
        commands: receiver,
        ingest,
        transparency,
        reader: StoreReader::new(store),
        peers,
        metrics,
        scoring,
        bootstrap,
        listen_addrs: listen_addrs.clone(),
        sync_interval: config.sync_interval,
    });
    task.publish_snapshot();
    task.dial_bootstrap();
    let handle = tokio::spawn(async move {
        task.run(stored, outgoing, &mut shutdown).await;
    });
    Ok(RunningNetwork {
        network,
        listen_addrs,
        task: handle,
    })
}

/// The peer id at the end of a `/p2p/…` multiaddr.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|protocol| match protocol {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}
