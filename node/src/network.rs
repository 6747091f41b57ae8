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
//! - **Catch-up sync** (request-response, protocol [`SYNC_PROTOCOL`], CBOR): a node asks a peer
//!   for its heads, then fetches every feed it is behind on in bounded ranges, verifies them off
//!   the executor and stores them through the same ingest path. It runs when a peer connects,
//!   every [`SYNC_INTERVAL`], and when gossip delivers an entry with a gap before it. Sessions
//!   wait in a first-in first-out queue for one of [`MAX_CONCURRENT_SYNCS`] slots, so every
//!   connected peer is synced within a bounded time. Gossip is the fast path and may drop
//!   messages; sync is what guarantees convergence.
//! - **Peers**: bootstrap addresses (redialled when lost), identify, Kademlia for discovery
//!   beyond them, optional mDNS, connection limits, a block list. The operator's blocks are
//!   persisted in the data directory and last until the operator unblocks. The node blocks on
//!   its own, for [`AUTOMATIC_BLOCK_DURATION`] and without persisting it, a peer whose score
//!   falls below [`BLOCK_SCORE`]. That score is the node's own bookkeeping, not gossipsub's: it
//!   drops only for invalid *content* (a gossip message the ingest path rejects, invalid sync
//!   data) and decays; an operator's unblock resets it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
/// Sync sessions with different peers running at once; the other peers wait their turn in a
/// queue (each at most once), so a peer waits at most about `peers / MAX_CONCURRENT_SYNCS`
/// sessions.
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
/// Invalid data (gossip messages the ingest path rejects, invalid sync responses) a peer may
/// send in quick succession before it is blocked: each costs [`INVALID_DATA_PENALTY`].
pub const MAX_STRIKES: u32 = 3;
/// Score below which the node blocks a peer on its own. A peer starts at 0.
pub const BLOCK_SCORE: f64 = -80.0;
/// Score a peer loses for each gossip message the ingest path rejects (malformed, forged) and
/// for each invalid sync response: [`MAX_STRIKES`] of them take it below [`BLOCK_SCORE`].
/// Nothing else lowers a score.
pub const INVALID_DATA_PENALTY: f64 = 30.0;
/// Time in which a peer's lost score recovers by half.
pub const PENALTY_HALF_LIFE: Duration = Duration::from_secs(300);
/// How long a block the node imposes on its own lasts. Such blocks are never persisted.
pub const AUTOMATIC_BLOCK_DURATION: Duration = Duration::from_secs(600);
/// Most peers whose addresses are remembered for redialling.
pub const MAX_KNOWN_PEERS: usize = 1024;
/// File in the data directory holding the peer identity (32 random bytes, hex).
pub const IDENTITY_FILE: &str = "p2p-identity.key";
/// File in the data directory holding the operator's block list (only the operator's: the
/// node's own blocks expire and are not written).
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
    /// Who blocked it: `"operator"` (persisted, until unblocked) or `"node"` (for invalid
    /// data, expires); absent when not blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<&'static str>,
    /// Seconds until a block by the node expires; absent for other peers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_expires_in_secs: Option<u64>,
    /// Its score: 0, or lower by [`INVALID_DATA_PENALTY`] for each invalid message or sync
    /// response it sent, recovering with [`PENALTY_HALF_LIFE`]; the node blocks it below
    /// [`BLOCK_SCORE`]. Always present (the field is optional for compatibility).
    pub score: Option<f64>,
    /// Addresses known for it.
    pub addresses: Vec<String>,
}

/// Why a peer is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// By the operator through the API: persisted, lasts until the operator unblocks.
    Operator,
    /// By the node, for invalid data: not persisted, lifted at `until`.
    Automatic { until: Instant },
}

/// A peer's lost score at one moment; it recovers exponentially from there.
#[derive(Debug, Clone, Copy)]
struct Penalty {
    points: f64,
    at: Instant,
}

impl Penalty {
    fn points_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.points * 0.5_f64.powf(elapsed / PENALTY_HALF_LIFE.as_secs_f64())
    }
}

/// The node's own score of each peer. It counts only what the node itself judged invalid, so
/// unlike gossipsub's score (which keeps a disconnected peer's counters, and has no way to
/// reset them) it can be forgotten when the operator unblocks a peer. Bounded by
/// [`MAX_KNOWN_PEERS`]: penalties that have nearly recovered are dropped first.
#[derive(Debug, Default)]
struct PenaltyLedger {
    peers: HashMap<PeerId, Penalty>,
}

impl PenaltyLedger {
    /// Records one piece of invalid data from `peer`; returns its score after it.
    fn record(&mut self, peer: PeerId, now: Instant) -> f64 {
        if self.peers.len() >= MAX_KNOWN_PEERS && !self.peers.contains_key(&peer) {
            self.peers
                .retain(|_, penalty| penalty.points_at(now) >= INVALID_DATA_PENALTY / 4.0);
            if self.peers.len() >= MAX_KNOWN_PEERS {
                let mildest = self
                    .peers
                    .iter()
                    .min_by(|a, b| a.1.points_at(now).total_cmp(&b.1.points_at(now)))
                    .map(|(peer, _)| *peer);
                if let Some(mildest) = mildest {
                    self.peers.remove(&mildest);
                }
            }
        }
        let points = self
            .peers
            .get(&peer)
            .map_or(0.0, |penalty| penalty.points_at(now))
            + INVALID_DATA_PENALTY;
        self.peers.insert(peer, Penalty { points, at: now });
        -points
    }

    /// The peer's score: 0 for a peer that never sent invalid data.
    fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.peers
            .get(peer)
            .map_or(0.0, |penalty| -penalty.points_at(now))
    }

    fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }
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
    let secret = crate::files::load_or_create_secret(&data_dir.join(IDENTITY_FILE))?;
    Ok(identity::Keypair::ed25519_from_bytes(secret)?)
}

/// The operator's blocks, as saved by [`save_blocklist`]. (Files written before automatic
/// blocks stopped being persisted may also list peers the node blocked on its own; they load
/// as operator blocks, since the file cannot tell them apart.)
fn load_blocklist(data_dir: &Path) -> HashSet<PeerId> {
    let path = data_dir.join(BLOCKLIST_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return HashSet::new();
    };
    let list: Vec<String> = serde_json::from_str(&text).unwrap_or_else(|error| {
        tracing::warn!(%error, path = %path.display(), "the block list is unreadable; ignored");
        Vec::new()
    });
    list.iter().filter_map(|peer| peer.parse().ok()).collect()
}

/// Saves the operator's blocks (never the node's own).
fn save_blocklist(data_dir: &Path, blocked: &HashMap<PeerId, Block>) {
    let mut list: Vec<String> = blocked
        .iter()
        .filter(|(_, block)| **block == Block::Operator)
        .map(|(peer, _)| peer.to_string())
        .collect();
    list.sort();
    let written = serde_json::to_vec_pretty(&list)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| {
            crate::files::write_file_atomically(&data_dir.join(BLOCKLIST_FILE), &bytes, 0o644)
        });
    if let Err(error) = written {
        tracing::error!(error = %format!("{error:#}"), "saving the block list failed; it holds until restart");
    }
}

fn build_behaviour(keypair: &identity::Keypair, mdns_enabled: bool) -> anyhow::Result<Behaviour> {
    let peer_id = keypair.public().to_peer_id();
    let topic = gossipsub::IdentTopic::new(ENTRIES_TOPIC);
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        // Without this, gossipsub treats every message whose id is in its cache of ids this
        // node published (10 s) as "claiming to be from self": with anonymous messages it has
        // no source peer id to compare, so it falls back to that cache. Ids are content hashes,
        // so a peer forwarding our own entry back (normal mesh behaviour) matched, and the
        // message was dropped as invalid, *before* the duplicate check, against the honest
        // forwarder. With it, the echo reaches the duplicate cache (publishing inserts the
        // id there) and is dropped as a plain duplicate. Anonymous messages carry no source
        // that could claim to be us, so nothing is lost.
        .allow_self_origin(true)
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
    // No gossipsub peer scoring. Its score counted things that are not invalid content: with
    // the default parameters a behaviour penalty (−10 per broken IWANT promise, squared), slow
    // peers (full queues under load), IP colocation, mesh delivery deficits; and gossipsub's own
    // "invalid" verdicts, such as the self-origin echoes above. It keeps a disconnected peer's
    // counters undecayed for an hour and offers no way to reset them, so an unblocked peer
    // would be graylisted (or blocked again) with the same score. The node keeps its own
    // score instead (`PenaltyLedger`): only the ingest path's *Reject* verdicts and invalid
    // sync data lower it.
    let mut gossip = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
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
    let blocked: HashMap<PeerId, Block> = load_blocklist(&config.data_dir)
        .into_iter()
        .map(|peer| (peer, Block::Operator))
        .collect();
    for peer in blocked.keys() {
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
        penalties: PenaltyLedger::default(),
        bootstrap,
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
    blocked: HashMap<PeerId, Block>,
    penalties: PenaltyLedger,
    bootstrap: HashMap<PeerId, Multiaddr>,
    known: HashMap<PeerId, Vec<Multiaddr>>,
    pending_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, String>>>,
    syncing: HashSet<PeerId>,
    resync: HashSet<PeerId>,
    /// Peers waiting for a sync slot, oldest first, each at most once; only connected peers
    /// are queued, so it holds at most [`MAX_CONNECTIONS`] peers.
    sync_queue: VecDeque<PeerId>,
    sync_slots: Arc<Semaphore>,
    serve_slots: Arc<Semaphore>,
    validation_slots: Arc<Semaphore>,
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
                    // Every connected peer joins the queue (once); those that could not start
                    // last round are at its front.
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
            .filter(|(peer, _)| !self.blocked.contains_key(peer) && !self.swarm.is_connected(peer))
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
                .filter(|(peer, _)| {
                    !self.blocked.contains_key(peer) && !self.swarm.is_connected(peer)
                })
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
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .blocked
            .iter()
            .filter(|(_, block)| matches!(block, Block::Automatic { until } if *until <= now))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            tracing::info!(%peer, "a block by the node expired");
            self.blocked.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            self.metrics.event("peer_block_expired");
        }
    }

    /// Blocks a peer for the operator (persisted). Returns whether the operator had not
    /// blocked it before.
    fn block(&mut self, peer: PeerId) -> bool {
        let previous = self.blocked.insert(peer, Block::Operator);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        let newly = previous != Some(Block::Operator);
        if newly {
            save_blocklist(&self.data_dir, &self.blocked);
        }
        newly
    }

    /// Records invalid data from `peer` (a gossip message the ingest path rejected, an invalid
    /// sync response); blocks it for [`AUTOMATIC_BLOCK_DURATION`] when its score falls below
    /// [`BLOCK_SCORE`]. The only way the node blocks a peer on its own.
    fn penalise(&mut self, peer: PeerId, reason: &str, event: &'static str) {
        let score = self.penalties.record(peer, Instant::now());
        tracing::debug!(%peer, %reason, score, "peer sent invalid data");
        if score >= BLOCK_SCORE || self.blocked.contains_key(&peer) {
            return;
        }
        tracing::warn!(%peer, %reason, score, "blocking a peer that sent invalid data");
        let until = Instant::now() + AUTOMATIC_BLOCK_DURATION;
        self.blocked.insert(peer, Block::Automatic { until });
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        self.metrics.event(event);
    }

    /// Queues a sync session with `peer`, and starts queued sessions while slots are free. A
    /// peer already queued keeps its place; one being synced runs again when its session ends.
    fn start_sync(&mut self, peer: PeerId) {
        if self.blocked.contains_key(&peer) {
            return;
        }
        if self.syncing.contains(&peer) {
            // Run again when the current session ends: it may have read the heads too early.
            self.resync.insert(peer);
            return;
        }
        if !self.sync_queue.contains(&peer) && self.sync_queue.len() < MAX_CONNECTIONS as usize {
            self.sync_queue.push_back(peer);
        }
        self.start_queued_syncs();
    }

    fn start_queued_syncs(&mut self) {
        while let Some(&peer) = self.sync_queue.front() {
            if self.blocked.contains_key(&peer) || !self.swarm.is_connected(&peer) {
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
                let rejected = matches!(acceptance, MessageAcceptance::Reject);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, acceptance);
                if rejected {
                    self.penalise(source, "invalid gossip message", "peer_blocked_for_score");
                }
            }
            Command::Strike { peer, reason } => {
                self.metrics.event("sync_invalid_data");
                self.penalise(peer, &reason, "peer_blocked_for_sync_data");
            }
            Command::Block { peer, reply } => {
                let newly = self.block(peer);
                let _ = reply.send(newly);
            }
            Command::Unblock { peer, reply } => {
                let previous = self.blocked.remove(&peer);
                let was = previous.is_some();
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                // The operator vouches for the peer: forget the invalid data it sent, or the
                // next invalid message would block it again at once.
                self.penalties.forget(&peer);
                if previous == Some(Block::Operator) {
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
                let now = Instant::now();
                let mut ids: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
                ids.extend(self.blocked.keys().copied());
                ids.extend(self.known.keys().copied());
                ids.extend(self.bootstrap.keys().copied());
                let mut list: Vec<PeerInfo> = ids
                    .into_iter()
                    .map(|peer| {
                        let block = self.blocked.get(&peer);
                        PeerInfo {
                            peer_id: peer.to_string(),
                            connected: self.swarm.is_connected(&peer),
                            blocked: block.is_some(),
                            blocked_by: block.map(|block| match block {
                                Block::Operator => "operator",
                                Block::Automatic { .. } => "node",
                            }),
                            block_expires_in_secs: match block {
                                Some(Block::Automatic { until }) => {
                                    Some(until.saturating_duration_since(now).as_secs().max(1))
                                }
                                _ => None,
                            },
                            score: Some(self.penalties.score(&peer, now)),
                            addresses: self
                                .known
                                .get(&peer)
                                .map(|a| a.iter().map(ToString::to_string).collect())
                                .unwrap_or_default(),
                        }
                    })
                    .collect();
                list.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
                let _ = reply.send(list);
            }
            Command::SyncDone { peer } => {
                self.syncing.remove(&peer);
                if self.resync.remove(&peer) {
                    // To the back of the queue: a peer that keeps asking must not hold a slot
                    // while others wait.
                    self.start_sync(peer);
                } else {
                    self.start_queued_syncs();
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
                    && !self.blocked.contains_key(&peer)
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
                    if self.blocked.contains_key(&peer) {
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
                Err(IngestError::Invalid(_)) => (MessageAcceptance::Reject, "gossip_rejected"),
                // Not evidence of a bad peer: another node's trust store may list the author
                // already, or it is a freshly rotated key whose rotation entry has not arrived.
                // Not forwarded; sync fetches it once the author is trusted.
                Err(IngestError::UnknownAuthor(_)) => {
                    (MessageAcceptance::Ignore, "gossip_unknown_author")
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
                // Trust changed during the session (the feed's head was trusted): no fault.
                Err(IngestError::UnknownAuthor(_)) => break,
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

/// What the node knows of its peers; the federation layer keeps it current.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerSnapshot {
    /// This node's libp2p peer id, once the swarm runs.
    pub peer_id: Option<String>,
    /// Connected peers.
    pub connected: Vec<String>,
    /// This node's federation addresses, each ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<String>,
}

/// Shared, cheap-to-read peer information.
#[derive(Debug, Default)]
pub struct Peers(std::sync::RwLock<PeerSnapshot>);

impl Peers {
    /// A copy of the current peer information.
    pub fn snapshot(&self) -> PeerSnapshot {
        self.0.read().map(|peers| peers.clone()).unwrap_or_default()
    }
    /// Replaces the peer information.
    pub fn set(&self, snapshot: PeerSnapshot) {
        if let Ok(mut peers) = self.0.write() {
            *peers = snapshot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_strikes_pieces_of_invalid_data_in_a_row_block_a_peer_and_fewer_do_not() {
        let mut ledger = PenaltyLedger::default();
        let peer = PeerId::random();
        let now = Instant::now();
        let mut score = 0.0;
        for strike in 1..=MAX_STRIKES {
            score = ledger.record(peer, now);
            if strike < MAX_STRIKES {
                assert!(score >= BLOCK_SCORE, "blocked after {strike}: {score}");
            }
        }
        assert!(score < BLOCK_SCORE, "{score}");
        assert_eq!(ledger.score(&PeerId::random(), now), 0.0);
    }

    #[test]
    fn penalties_recover_by_half_each_half_life_and_unblock_forgets_them() {
        let mut ledger = PenaltyLedger::default();
        let peer = PeerId::random();
        let start = Instant::now();
        ledger.record(peer, start);
        ledger.record(peer, start);
        let later = start + PENALTY_HALF_LIFE;
        let score = ledger.score(&peer, later);
        assert!((score + INVALID_DATA_PENALTY).abs() < 1e-6, "{score}");
        // Two old offences and one new do not block; they would have without the decay.
        assert!(ledger.record(peer, later) >= BLOCK_SCORE);
        ledger.forget(&peer);
        assert_eq!(ledger.score(&peer, later), 0.0);
    }

    #[test]
    fn the_ledger_is_bounded() {
        let mut ledger = PenaltyLedger::default();
        let now = Instant::now();
        for _ in 0..MAX_KNOWN_PEERS + 10 {
            ledger.record(PeerId::random(), now);
        }
        assert!(ledger.peers.len() <= MAX_KNOWN_PEERS);
    }

    #[test]
    fn only_the_operators_blocks_are_saved_and_the_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let operator = PeerId::random();
        let automatic = PeerId::random();
        let mut blocked = HashMap::new();
        blocked.insert(operator, Block::Operator);
        blocked.insert(
            automatic,
            Block::Automatic {
                until: Instant::now() + AUTOMATIC_BLOCK_DURATION,
            },
        );
        std::fs::write(dir.path().join(BLOCKLIST_FILE), b"[\"stale\"]").unwrap();
        save_blocklist(dir.path(), &blocked);
        let loaded = load_blocklist(dir.path());
        assert_eq!(loaded, HashSet::from([operator]));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(BLOCKLIST_FILE)]);
    }
}
