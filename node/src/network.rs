//! Federation: the only module that names libp2p. One task owns the `Swarm`; the rest of the
//! node holds a [`Network`] handle that sends it commands.
//!
//! - **Gossip** (gossipsub, topic [`ENTRIES_TOPIC`]): every entry stored from a local source is
//!   published as an anonymous message whose id is the SHA-256 of its bytes (the entry id, since
//!   entries travel in canonical form). Validation is manual: a received message goes through
//!   the node's ingest path and is reported *Accept* (stored: forward it), *Reject* (malformed,
//!   forged, unknown author: the sender's score drops) or *Ignore* (duplicate, early, forked,
//!   equivocating). Nothing is forwarded before the ingest path has stored it.
//! - **Catch-up sync** (request-response, protocol [`SYNC_PROTOCOL`], CBOR): a node asks a peer
//!   for its heads, then fetches every feed it is behind on in bounded ranges, verifies them off
//!   the executor and stores them through the same ingest path. It runs when a peer connects,
//!   every [`SYNC_INTERVAL`], and when gossip delivers an entry with a gap before it. Gossip is
//!   the fast path and may drop messages; sync is what guarantees convergence.
//! - **Peers**: bootstrap addresses (redialled when lost), identify, Kademlia for discovery
//!   beyond them, optional mDNS, connection limits, a block list the operator controls (and the
//!   node uses against peers that send invalid data), persisted in the data directory.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, allow_block_list, connection_limits,
    identify, identity, kad, mdns, noise, ping, tcp, yamux,
};
use proto_types::entry::{EntryId, FeedHead, MAX_ENTRY_BYTES, VerifiedEntry};
use proto_types::keys::PublicKey;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::ingest::{Ingest, IngestError, IngestOutcome, Source};
use crate::metrics::Metrics;
use crate::storage::Store;
use crate::{PeerSnapshot, Peers};

/// The gossip topic for entries; versioned with the envelope.
pub const ENTRIES_TOPIC: &str = "/rightsnet/entries/1";
/// The catch-up sync protocol.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/rightsnet/sync/1");
/// The Kademlia protocol (our own, so nodes never join another DHT).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/rightsnet/kad/1");
/// The identify protocol version; peers announcing another one are disconnected.
pub const PROTOCOL_VERSION: &str = "/rightsnet/1";
/// Largest gossip message: one entry plus framing.
pub const MAX_GOSSIP_BYTES: usize = MAX_ENTRY_BYTES + 1024;
/// Most entries in one sync range response.
pub const SYNC_BATCH_ENTRIES: u32 = 512;
/// Most bytes of entries in one sync range response.
pub const SYNC_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Largest sync response decoded (entries plus CBOR framing).
pub const SYNC_MAX_DECODED_RESPONSE: u64 = 12 * 1024 * 1024;
/// Largest sync request decoded.
pub const SYNC_MAX_DECODED_REQUEST: u64 = 4 * 1024;
/// Most feeds listed in a heads response.
pub const MAX_HEADS: usize = 10_000;
/// How often every connected peer is asked for its heads.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);
/// Sync sessions with different peers running at once.
pub const MAX_CONCURRENT_SYNCS: usize = 4;
/// Inbound sync requests served at once; more get `Busy`.
pub const MAX_CONCURRENT_SERVES: usize = 16;
/// Gossip messages being validated at once; more are ignored (sync recovers them).
pub const MAX_CONCURRENT_VALIDATIONS: usize = 1024;
/// Commands queued for the swarm task.
pub const COMMAND_QUEUE_CAPACITY: usize = 4096;
/// Established connections, in total and per peer.
pub const MAX_CONNECTIONS: u32 = 256;
/// Established connections per peer.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Invalid sync responses tolerated from a peer before it is blocked.
pub const MAX_STRIKES: u32 = 3;
/// Gossip score below which a peer is blocked (gossipsub's graylist threshold).
pub const BLOCK_SCORE: f64 = -80.0;
/// Most peers whose addresses are remembered for redialling.
pub const MAX_KNOWN_PEERS: usize = 1024;
/// File in the data directory holding the peer identity (32 random bytes, hex).
pub const IDENTITY_FILE: &str = "p2p-identity.key";
/// File in the data directory holding the operator's block list.
pub const BLOCKLIST_FILE: &str = "blocked-peers.json";

/// A sync request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Every feed head the peer holds.
    Heads,
    /// Entries of one feed from `from_seq`, at most `limit`.
    Range {
        /// The author's 32 key bytes.
        #[serde(with = "serde_bytes")]
        author: Vec<u8>,
        /// First seq wanted.
        from_seq: u64,
        /// Most entries wanted.
        limit: u32,
    },
}

/// One feed head on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireHead {
    /// The author's 32 key bytes.
    #[serde(with = "serde_bytes")]
    pub author: Vec<u8>,
    /// Latest seq.
    pub seq: u64,
    /// Id of that entry.
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
}

/// A sync response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder's heads.
    Heads(Vec<WireHead>),
    /// Canonical entry bytes, in seq order.
    Entries(Vec<ByteBuf>),
    /// Too many requests at once; try later.
    Busy,
    /// The request was malformed.
    Refused(String),
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// A peer as the operator API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// The peer id.
    pub peer_id: String,
    /// Whether a connection is open.
    pub connected: bool,
    /// Whether the operator or the node blocked it.
    pub blocked: bool,
    /// Its gossip score, when known.
    pub score: Option<f64>,
    /// Addresses known for it.
    pub addresses: Vec<String>,
}

enum Command {
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Validated {
        message_id: gossipsub::MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    Strike {
        peer: PeerId,
        reason: String,
    },
    Block {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    Unblock {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    SyncDone {
        peer: PeerId,
    },
    SyncWith {
        peer: PeerId,
    },
}

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

    /// Blocks a peer: closes its connections and refuses new ones until unblocked. Returns
    /// whether it was not blocked before.
    pub async fn block(&self, peer: &str) -> Result<bool, NetworkError> {
        let peer = parse_peer(peer)?;
        let (reply, response) = oneshot::channel();
        self.send(Command::Block { peer, reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    /// Unblocks a peer and redials it when its address is known. Returns whether it was
    /// blocked.
    pub async fn unblock(&self, peer: &str) -> Result<bool, NetworkError> {
        let peer = parse_peer(peer)?;
        let (reply, response) = oneshot::channel();
        self.send(Command::Unblock { peer, reply }).await?;
        response.await.map_err(|_| NetworkError::Closed)
    }

    async fn request(&self, peer: PeerId, request: SyncRequest) -> Result<SyncResponse, String> {
        let (reply, response) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await
        .map_err(|error| error.to_string())?;
        response
            .await
            .map_err(|_| NetworkError::Closed.to_string())?
    }
}

fn parse_peer(peer: &str) -> Result<PeerId, NetworkError> {
    peer.parse()
        .map_err(|_| NetworkError::BadPeerId(peer.chars().take(80).collect()))
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
fn load_identity(data_dir: &Path) -> anyhow::Result<identity::Keypair> {
    let secret = crate::load_or_create_secret(&data_dir.join(IDENTITY_FILE))?;
    Ok(identity::Keypair::ed25519_from_bytes(secret)?)
}

fn load_blocklist(data_dir: &Path) -> HashSet<PeerId> {
    let path = data_dir.join(BLOCKLIST_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return HashSet::new();
    };
    let list: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
    list.iter().filter_map(|peer| peer.parse().ok()).collect()
}

fn save_blocklist(data_dir: &Path, blocked: &HashSet<PeerId>) {
    let mut list: Vec<String> = blocked.iter().map(ToString::to_string).collect();
    list.sort();
    let path = data_dir.join(BLOCKLIST_FILE);
    let temporary = data_dir.join(format!("{BLOCKLIST_FILE}.tmp"));
    let written = serde_json::to_vec_pretty(&list)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&temporary, bytes))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        tracing::error!(%error, "saving the block list failed; it holds until restart");
    }
}

fn build_behaviour(keypair: &identity::Keypair, mdns_enabled: bool) -> anyhow::Result<Behaviour> {
    let peer_id = keypair.public().to_peer_id();
    let topic = gossipsub::IdentTopic::new(ENTRIES_TOPIC);
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        // Entries travel in canonical form, so this is the entry id: duplicates are free.
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(Sha256::digest(&message.data).to_vec())
        })
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .heartbeat_interval(Duration::from_millis(700))
        .heartbeat_initial_delay(Duration::from_millis(100))
        .history_length(10)
        .duplicate_cache_time(Duration::from_secs(120))
        .max_messages_per_rpc(Some(512))
        .build()?;
    let mut gossip = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
        .map_err(anyhow::Error::msg)?;
    // Score only what matters here: invalid messages. A peer that forwards three forgeries in
    // quick succession falls below the graylist threshold and is then blocked.
    let mut params = gossipsub::PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    params.topics.insert(
        topic.hash(),
        gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            time_in_mesh_weight: 0.0,
            first_message_deliveries_weight: 0.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: -20.0,
            invalid_message_deliveries_decay: gossipsub::score_parameter_decay(
                Duration::from_secs(600),
            ),
            ..Default::default()
        },
    );
    gossip
        .with_peer_score(params, gossipsub::PeerScoreThresholds::default())
        .map_err(anyhow::Error::msg)?;
    gossip.subscribe(&topic)?;

    let codec = request_response::cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
        .set_request_size_maximum(SYNC_MAX_DECODED_REQUEST)
        .set_response_size_maximum(SYNC_MAX_DECODED_RESPONSE);
    let sync = request_response::cbor::Behaviour::with_codec(
        codec,
        [(SYNC_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(60))
            .with_max_concurrent_streams(64),
    );
    let mut kad_config = kad::Config::new(KAD_PROTOCOL);
    kad_config.set_query_timeout(Duration::from_secs(30));
    // The swarm task runs the walks itself, after new connections and every 30 s when it has
    // peers; kad's own timer would also fire, and warn, on a node that has none yet.
    kad_config.set_periodic_bootstrap_interval(None);
    let mut kademlia =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    kademlia.set_mode(Some(kad::Mode::Server));
    let mdns = if mdns_enabled {
        Some(mdns::tokio::Behaviour::new(
            mdns::Config::default(),
            peer_id,
        )?)
    } else {
        None
    };
    Ok(Behaviour {
        blocked: allow_block_list::Behaviour::default(),
        limits: connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established(Some(MAX_CONNECTIONS))
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_pending_incoming(Some(64))
                .with_max_pending_outgoing(Some(64)),
        ),
        gossipsub: gossip,
        sync,
        identify: identify::Behaviour::new(
            identify::Config::new(PROTOCOL_VERSION.to_owned(), keypair.public())
                .with_agent_version(format!("rightsnet/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(15))),
        kad: kademlia,
        mdns: Toggle::from(mdns),
    })
}

/// Starts the swarm task. Returns once the swarm listens (or fails to).
pub async fn start(
    config: NetworkConfig,
    ingest: Ingest,
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
    let keypair = load_identity(&config.data_dir)?;
    let peer_id = keypair.public().to_peer_id();
    let behaviour = build_behaviour(&keypair, config.mdns)?;
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| behaviour)?
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    let blocked = load_blocklist(&config.data_dir);
    for peer in &blocked {
        swarm.behaviour_mut().blocked.block_peer(*peer);
    }
    swarm.listen_on(listen.clone())?;
    // Wait for the listen address so the caller can print and publish it.
    let mut listen_addrs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listen_addrs.is_empty() {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => listen_addrs.push(address),
            Ok(SwarmEvent::ListenerError { error, .. }) => return Err(error.into()),
            Ok(SwarmEvent::ListenerClosed { reason, .. }) => {
                return Err(anyhow::anyhow!("listener closed: {reason:?}"));
            }
            Ok(_) => {}
            Err(_) => anyhow::bail!("no listen address after 10 s on {listen}"),
        }
    }
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE_CAPACITY);
    let network = Network { commands, peer_id };
    let mut bootstrap = HashMap::new();
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
    let mut task = SwarmTask {
        swarm,
        network: network.clone(),
        commands: receiver,
        ingest,
        store,
        peers,
        metrics,
        data_dir: config.data_dir,
        blocked,
        bootstrap,
        known: HashMap::new(),
        pending_requests: HashMap::new(),
        syncing: HashSet::new(),
        resync: HashSet::new(),
        sync_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SYNCS)),
        serve_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SERVES)),
        validation_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_VALIDATIONS)),
        strikes: HashMap::new(),
        discovery_due: false,
        topic: gossipsub::IdentTopic::new(ENTRIES_TOPIC),
        listen_addrs: listen_addrs.clone(),
    };
    task.publish_snapshot();
    task.dial_bootstrap();
    let handle = tokio::spawn(async move {
        task.run(stored, &mut shutdown).await;
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

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    network: Network,
    commands: mpsc::Receiver<Command>,
    ingest: Ingest,
    store: Arc<Store>,
    peers: Arc<Peers>,
    metrics: Arc<Metrics>,
    data_dir: PathBuf,
    blocked: HashSet<PeerId>,
    bootstrap: HashMap<PeerId, Multiaddr>,
    known: HashMap<PeerId, Vec<Multiaddr>>,
    pending_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, String>>>,
    syncing: HashSet<PeerId>,
    resync: HashSet<PeerId>,
    sync_slots: Arc<Semaphore>,
    serve_slots: Arc<Semaphore>,
    validation_slots: Arc<Semaphore>,
    strikes: HashMap<PeerId, u32>,
    discovery_due: bool,
    topic: gossipsub::IdentTopic,
    listen_addrs: Vec<Multiaddr>,
}

impl SwarmTask {
    async fn run(
        &mut self,
        mut stored: tokio::sync::broadcast::Receiver<crate::ingest::StoredEntry>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let mut sync_tick = tokio::time::interval(SYNC_INTERVAL);
        let mut maintenance_tick = tokio::time::interval(Duration::from_secs(2));
        let mut kad_tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                notice = stored.recv() => match notice {
                    Ok(notice) if notice.source == Source::Local => self.publish(&notice.entry),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                        // Peers will fetch what was not gossiped through sync.
                        tracing::debug!(skipped, "stored-entry notices skipped");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = sync_tick.tick() => {
                    let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                    for peer in connected {
                        self.start_sync(peer);
                    }
                }
                _ = maintenance_tick.tick() => self.maintain(),
                _ = kad_tick.tick() => {
                    if self.swarm.connected_peers().next().is_some() {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        tracing::debug!("network task stopped");
    }

    fn publish_snapshot(&self) {
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
                // Not fatal: peers that miss it fetch it through sync.
                tracing::debug!(%error, id = %entry.id(), "gossip publish failed");
                self.metrics.event("gossip_publish_failed");
            }
        }
    }

    fn dial_bootstrap(&mut self) {
        let targets: Vec<Multiaddr> = self
            .bootstrap
            .iter()
            .filter(|(peer, _)| !self.blocked.contains(peer) && !self.swarm.is_connected(peer))
            .map(|(_, address)| address.clone())
            .collect();
        for address in targets {
            if let Err(error) = self.swarm.dial(address.clone()) {
                tracing::debug!(%address, %error, "dialling a bootstrap peer failed");
            }
        }
    }

    /// Periodic: look for more peers after new connections, redial lost bootstrap and known
    /// peers, block peers whose gossip score fell below the threshold.
    fn maintain(&mut self) {
        if self.discovery_due && self.swarm.connected_peers().next().is_some() {
            // A Kademlia walk finds the peers our peers know; RoutingUpdated then dials them.
            self.discovery_due = false;
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        self.dial_bootstrap();
        let connected = self.swarm.connected_peers().count();
        if connected < MAX_CONNECTIONS as usize / 2 {
            let targets: Vec<(PeerId, Multiaddr)> = self
                .known
                .iter()
                .filter(|(peer, _)| !self.blocked.contains(peer) && !self.swarm.is_connected(peer))
                .filter_map(|(peer, addresses)| addresses.first().map(|a| (*peer, a.clone())))
                .take(16)
                .collect();
            for (peer, address) in targets {
                let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                    .addresses(vec![address])
                    .build();
                let _ = self.swarm.dial(options);
            }
        }
        let bad: Vec<(PeerId, f64)> = self
            .swarm
            .connected_peers()
            .filter_map(|peer| {
                let score = self.swarm.behaviour().gossipsub.peer_score(peer)?;
                (score < BLOCK_SCORE).then_some((*peer, score))
            })
            .collect();
        for (peer, score) in bad {
            tracing::warn!(%peer, score, "blocking a peer whose gossip score fell below the threshold");
            self.metrics.event("peer_blocked_for_score");
            self.block(peer);
        }
    }

    fn block(&mut self, peer: PeerId) -> bool {
        let newly = self.blocked.insert(peer);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        if newly {
            save_blocklist(&self.data_dir, &self.blocked);
        }
        newly
    }

    fn start_sync(&mut self, peer: PeerId) {
        if self.blocked.contains(&peer) {
            return;
        }
        if self.syncing.contains(&peer) {
            // Run again when the current session ends: it may have read the heads too early.
            self.resync.insert(peer);
            return;
        }
        let Ok(permit) = self.sync_slots.clone().try_acquire_owned() else {
            return;
        };
        self.syncing.insert(peer);
        let network = self.network.clone();
        let ingest = self.ingest.clone();
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            if let Err(reason) = sync_with(&network, &ingest, &store, &metrics, peer).await {
                tracing::debug!(%peer, %reason, "sync ended early");
            }
            drop(permit);
            let _ = network.send(Command::SyncDone { peer }).await;
        });
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending_requests.insert(id, reply);
            }
            Command::Respond { channel, response } => {
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
            Command::Validated {
                message_id,
                source,
                acceptance,
            } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, acceptance);
            }
            Command::Strike { peer, reason } => {
                let strikes = self.strikes.entry(peer).or_insert(0);
                *strikes += 1;
                tracing::warn!(%peer, %reason, strikes = *strikes, "peer sent invalid sync data");
                self.metrics.event("sync_invalid_data");
                if *strikes >= MAX_STRIKES {
                    tracing::warn!(%peer, "blocking a peer that repeatedly sent invalid sync data");
                    self.block(peer);
                }
            }
            Command::Block { peer, reply } => {
                let newly = self.block(peer);
                let _ = reply.send(newly);
            }
            Command::Unblock { peer, reply } => {
                let was = self.blocked.remove(&peer);
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                self.strikes.remove(&peer);
                if was {
                    save_blocklist(&self.data_dir, &self.blocked);
                }
                let address = self
                    .bootstrap
                    .get(&peer)
                    .cloned()
                    .or_else(|| self.known.get(&peer).and_then(|a| a.first().cloned()));
                if let Some(address) = address {
                    let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(vec![address])
                        .build();
                    let _ = self.swarm.dial(options);
                }
                let _ = reply.send(was);
            }
            Command::Peers { reply } => {
                let mut ids: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
                ids.extend(self.blocked.iter().copied());
                ids.extend(self.known.keys().copied());
                ids.extend(self.bootstrap.keys().copied());
                let mut list: Vec<PeerInfo> = ids
                    .into_iter()
                    .map(|peer| PeerInfo {
                        peer_id: peer.to_string(),
                        connected: self.swarm.is_connected(&peer),
                        blocked: self.blocked.contains(&peer),
                        score: self.swarm.behaviour().gossipsub.peer_score(&peer),
                        addresses: self
                            .known
                            .get(&peer)
                            .map(|a| a.iter().map(ToString::to_string).collect())
                            .unwrap_or_default(),
                    })
                    .collect();
                list.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
                let _ = reply.send(list);
            }
            Command::SyncDone { peer } => {
                self.syncing.remove(&peer);
                if self.resync.remove(&peer) {
                    self.start_sync(peer);
                }
            }
            Command::SyncWith { peer } => self.start_sync(peer),
        }
    }

    fn remember(&mut self, peer: PeerId, address: Multiaddr) {
        if self.known.len() >= MAX_KNOWN_PEERS && !self.known.contains_key(&peer) {
            return;
        }
        let addresses = self.known.entry(peer).or_default();
        if !addresses.contains(&address) && addresses.len() < 8 {
            addresses.push(address);
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
            } if num_established.get() == 1 => {
                tracing::debug!(peer = %peer_id, "peer connected");
                self.discovery_due = true;
                self.publish_snapshot();
                self.start_sync(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "peer disconnected");
                self.publish_snapshot();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.validate_gossip(propagation_source, message_id, message.data),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.handle_sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != PROTOCOL_VERSION {
                    tracing::debug!(peer = %peer_id, version = %info.protocol_version, "peer speaks another protocol version");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                for address in info.listen_addrs.into_iter().take(8) {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address.clone());
                    self.remember(peer_id, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => {
                if let Some(address) = addresses.iter().next() {
                    self.remember(peer, address.clone());
                }
                let connected = self.swarm.connected_peers().count();
                if !self.swarm.is_connected(&peer)
                    && !self.blocked.contains(&peer)
                    && connected < MAX_CONNECTIONS as usize / 2
                {
                    let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(addresses.iter().cloned().collect())
                        .build();
                    let _ = self.swarm.dial(options);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    if self.blocked.contains(&peer) {
                        continue;
                    }
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, address.clone());
                    self.remember(peer, address.clone());
                    let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(vec![address])
                        .build();
                    let _ = self.swarm.dial(options);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::trace!(?peer_id, %error, "outgoing connection failed");
            }
            _ => {}
        }
    }

    fn validate_gossip(&mut self, source: PeerId, message_id: gossipsub::MessageId, data: Vec<u8>) {
        let Ok(permit) = self.validation_slots.clone().try_acquire_owned() else {
            // Overloaded: drop it unforwarded; sync brings it later.
            let _ = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&message_id, &source, MessageAcceptance::Ignore);
            self.metrics.event("gossip_dropped_overload");
            return;
        };
        let ingest = self.ingest.clone();
        let network = self.network.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let outcome = ingest.submit_bytes(data, Source::Gossip).await;
            let (acceptance, event) = match &outcome {
                Ok(IngestOutcome::Stored { .. }) => (MessageAcceptance::Accept, "gossip_accepted"),
                Ok(IngestOutcome::HeldBack { .. }) => (MessageAcceptance::Ignore, "gossip_early"),
                Ok(IngestOutcome::Equivocation { .. }) => {
                    (MessageAcceptance::Ignore, "gossip_equivocation")
                }
                Ok(_) => (MessageAcceptance::Ignore, "gossip_duplicate"),
                Err(IngestError::Invalid(_) | IngestError::UnknownAuthor(_)) => {
                    (MessageAcceptance::Reject, "gossip_rejected")
                }
                Err(_) => (MessageAcceptance::Ignore, "gossip_not_stored"),
            };
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

    fn handle_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
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
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let Ok(permit) = self.serve_slots.clone().try_acquire_owned() else {
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, SyncResponse::Busy);
            return;
        };
        let store = self.store.clone();
        let network = self.network.clone();
        tokio::spawn(async move {
            let response = tokio::task::spawn_blocking(move || answer(&store, request))
                .await
                .unwrap_or_else(|_| SyncResponse::Refused("internal error".to_owned()));
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
                        author: author.to_bytes().to_vec(),
                        seq: head.seq,
                        id: head.id.0.to_vec(),
                    })
                    .collect(),
            ),
            Err(error) => {
                tracing::error!(%error, "reading heads for a peer failed");
                SyncResponse::Refused("internal error".to_owned())
            }
        },
        SyncRequest::Range {
            author,
            from_seq,
            limit,
        } => {
            let Some(author) = <[u8; 32]>::try_from(author.as_slice())
                .ok()
                .and_then(|bytes| PublicKey::from_bytes(&bytes).ok())
            else {
                return SyncResponse::Refused("author is not a valid key".to_owned());
            };
            let limit = limit.clamp(1, SYNC_BATCH_ENTRIES) as usize;
            match store.feed(&author, from_seq, limit, SYNC_MAX_RESPONSE_BYTES) {
                Ok(entries) => {
                    SyncResponse::Entries(entries.into_iter().map(ByteBuf::from).collect())
                }
                Err(error) => {
                    tracing::error!(%error, "reading a feed for a peer failed");
                    SyncResponse::Refused("internal error".to_owned())
                }
            }
        }
    }
}

/// One sync session with `peer`: compare heads, fetch every feed this node is behind on.
async fn sync_with(
    network: &Network,
    ingest: &Ingest,
    store: &Arc<Store>,
    metrics: &Metrics,
    peer: PeerId,
) -> Result<(), String> {
    let SyncResponse::Heads(heads) = network.request(peer, SyncRequest::Heads).await? else {
        return Err("peer did not answer with heads".to_owned());
    };
    if heads.len() > MAX_HEADS {
        let _ = network
            .send(Command::Strike {
                peer,
                reason: "too many heads".to_owned(),
            })
            .await;
        return Err("too many heads".to_owned());
    }
    for head in heads {
        let Some(author) = <[u8; 32]>::try_from(head.author.as_slice())
            .ok()
            .and_then(|bytes| PublicKey::from_bytes(&bytes).ok())
        else {
            continue;
        };
        if ingest.trust().get(&author).is_none() {
            continue;
        }
        let Ok(remote_id) = <[u8; 32]>::try_from(head.id.as_slice()) else {
            continue;
        };
        let local = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.head(&author))
                .await
                .map_err(|error| error.to_string())?
                .map_err(|error| error.to_string())?
        };
        let local_seq = local.map_or(0, |head: FeedHead| head.seq);
        if head.seq > local_seq {
            fetch_feed(
                network,
                ingest,
                metrics,
                peer,
                author,
                local_seq + 1,
                head.seq,
            )
            .await?;
        } else if head.seq == local_seq && local.is_some_and(|l| l.id != EntryId(remote_id)) {
            // Same seq, different entry: fetch it so the equivocation is recorded.
            fetch_feed(network, ingest, metrics, peer, author, head.seq, head.seq).await?;
        }
    }
    Ok(())
}

/// Fetches `author`'s entries `from..=to` from `peer` in bounded ranges and stores them.
async fn fetch_feed(
    network: &Network,
    ingest: &Ingest,
    metrics: &Metrics,
    peer: PeerId,
    author: PublicKey,
    mut from: u64,
    to: u64,
) -> Result<(), String> {
    while from <= to {
        let wanted = u32::try_from((to - from + 1).min(u64::from(SYNC_BATCH_ENTRIES)))
            .unwrap_or(SYNC_BATCH_ENTRIES);
        let response = network
            .request(
                peer,
                SyncRequest::Range {
                    author: author.to_bytes().to_vec(),
                    from_seq: from,
                    limit: wanted,
                },
            )
            .await?;
        let entries = match response {
            SyncResponse::Entries(entries) => entries,
            SyncResponse::Busy => return Err("peer busy".to_owned()),
            other => return Err(format!("unexpected sync response {other:?}")),
        };
        if entries.is_empty() {
            return Ok(());
        }
        if entries.len() > wanted as usize {
            let _ = network
                .send(Command::Strike {
                    peer,
                    reason: "more entries than asked for".to_owned(),
                })
                .await;
            return Err("oversized range".to_owned());
        }
        // Verify on the blocking pool, all cores; keep the order.
        let verifier = ingest.clone();
        let verified = tokio::task::spawn_blocking(move || {
            use rayon::prelude::*;
            entries
                .par_iter()
                .map(|bytes| verifier.verify_bytes(bytes))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|error| error.to_string())?;
        let mut good = Vec::with_capacity(verified.len());
        let mut expected = from;
        for result in verified {
            match result {
                Ok(entry) if entry.author() == &author && entry.seq() == expected => {
                    expected += 1;
                    good.push(entry);
                }
                Ok(_) => {
                    let _ = network
                        .send(Command::Strike {
                            peer,
                            reason: "range entry of another author or out of order".to_owned(),
                        })
                        .await;
                    break;
                }
                Err(error) => {
                    let _ = network
                        .send(Command::Strike {
                            peer,
                            reason: format!("invalid entry in range: {error}"),
                        })
                        .await;
                    break;
                }
            }
        }
        if good.is_empty() {
            return Err("no usable entries in range".to_owned());
        }
        let count = good.len() as u64;
        let results = ingest.submit_many(good, Source::Sync).await;
        let mut progressed = false;
        for result in &results {
            match result {
                Ok(IngestOutcome::Stored { .. }) => {
                    progressed = true;
                    metrics.event("sync_entry_stored");
                }
                Ok(IngestOutcome::Duplicate { .. }) => progressed = true,
                Ok(IngestOutcome::Equivocation { .. }) => metrics.event("sync_equivocation"),
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "storing a synced entry failed"),
            }
        }
        if !progressed {
            return Ok(());
        }
        from += count;
    }
    Ok(())
}
