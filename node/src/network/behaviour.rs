//! The libp2p behaviour: which protocols the swarm speaks, how each is tuned, and the codec of
//! the sync protocol (the CBOR of [`proto_types::sync`], decoded within its bounds).

use std::io;
use std::pin::Pin;
use std::time::Duration;

use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Future};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, gossipsub, identify, identity, kad, mdns,
    ping,
};
use proto_types::entry::MAX_ENTRY_BYTES;
use proto_types::sync::{self, SyncRequest, SyncResponse};
use sha2::{Digest, Sha256};

use super::{
    CHECKPOINTS_TOPIC, ENTRIES_TOPIC, HEADS_TOPIC, KAD_PROTOCOL, PROTOCOL_VERSION, SYNC_PROTOCOL,
};

/// Largest gossip message: one entry plus framing (a checkpoint note, at most 64 KiB, and a
/// split-view proof, at most 16 KiB, fit too).
pub const MAX_GOSSIP_BYTES: usize = MAX_ENTRY_BYTES + 1024;
/// Established connections in total.
pub const MAX_CONNECTIONS: u32 = 256;
/// Established connections per peer.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Connections being set up at once, in each direction.
const MAX_PENDING_CONNECTIONS: u32 = 64;
/// A connection with no stream open for this long is closed.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
/// Gossipsub's heartbeat: how often it repairs its mesh and gossips message ids. Shorter than
/// the default (1 s) so that a small federation's mesh forms quickly after start.
const GOSSIP_HEARTBEAT: Duration = Duration::from_millis(700);
/// The first heartbeat after start.
const GOSSIP_HEARTBEAT_INITIAL_DELAY: Duration = Duration::from_millis(100);
/// Peers gossipsub keeps in its mesh for the entries topic: it grafts more below
/// [`GOSSIP_MESH_N_LOW`], prunes down to this many above [`GOSSIP_MESH_N_HIGH`]. Lower than the
/// library's default (6): a node publishes its own entries to every subscribed peer (flood
/// publishing), so the mesh only repairs what a direct send missed, and every mesh peer costs
/// each entry one more copy sent, encrypted, received and dropped as a duplicate at every
/// node. With 20 nodes on one machine those copies were most of the federation's CPU (issue
/// 14, `docs/perf-notes/net.md`). Sync remains the guarantee.
pub const GOSSIP_MESH_N: usize = 4;
/// Mesh size below which gossipsub grafts more peers at its next heartbeat.
pub const GOSSIP_MESH_N_LOW: usize = 3;
/// Mesh size above which gossipsub prunes peers at its next heartbeat.
pub const GOSSIP_MESH_N_HIGH: usize = 8;
/// Messages gossipsub queues per connection before it refuses more (publishing fails, and the
/// node announces the entry's head instead; forwarding is skipped): 2 048 entries are about
/// 2 MiB, a few seconds of the fastest traffic this machine carries. The library's default
/// (5 000) let a federation of 20 nodes in one process queue gigabytes under overload.
const GOSSIP_QUEUE_LEN: usize = 2048;
/// Heartbeats for which gossipsub keeps messages to answer IWANT requests.
const GOSSIP_HISTORY_LENGTH: usize = 10;
/// How long a seen message id is remembered, so that an echo is dropped as a duplicate.
const GOSSIP_DUPLICATE_CACHE_TIME: Duration = Duration::from_secs(120);
/// Most messages in one gossipsub RPC.
const GOSSIP_MAX_MESSAGES_PER_RPC: usize = 512;
/// How long a sync request may take, response included, before it fails.
const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Sync streams open at once on one connection (each carries one request and its response).
const SYNC_MAX_CONCURRENT_STREAMS: usize = 64;
/// How long a Kademlia query (a discovery walk) may run.
const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a connection is pinged (keeps it alive through idle middleboxes).
const PING_INTERVAL: Duration = Duration::from_secs(15);

/// The protocols the swarm speaks.
#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) sync: request_response::Behaviour<SyncCodec>,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(super) mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Builds the behaviour for the node with `keypair`.
pub(super) fn build(keypair: &identity::Keypair, mdns_enabled: bool) -> anyhow::Result<Behaviour> {
    let peer_id = keypair.public().to_peer_id();
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(SYNC_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(SYNC_REQUEST_TIMEOUT)
            .with_max_concurrent_streams(SYNC_MAX_CONCURRENT_STREAMS),
    );
    let mut kad_config = kad::Config::new(KAD_PROTOCOL);
    kad_config.set_query_timeout(KAD_QUERY_TIMEOUT);
    // The swarm task runs the walks itself, after new connections and every
    // `DISCOVERY_INTERVAL` when it has peers; kad's own timer would also fire, and warn, on a
    // node that has none yet.
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
                .with_max_pending_incoming(Some(MAX_PENDING_CONNECTIONS))
                .with_max_pending_outgoing(Some(MAX_PENDING_CONNECTIONS)),
        ),
        gossipsub: gossip()?,
        sync,
        identify: identify::Behaviour::new(
            identify::Config::new(PROTOCOL_VERSION.to_owned(), keypair.public())
                .with_agent_version(format!("rightsnet/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
        kad: kademlia,
        mdns: Toggle::from(mdns),
    })
}

/// Gossipsub on the entries topic: anonymous messages, validated by the ingest path before
/// they are forwarded, ids that are the entries' ids, and none of gossipsub's own scoring.
fn gossip() -> anyhow::Result<gossipsub::Behaviour> {
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
        .mesh_n(GOSSIP_MESH_N)
        .mesh_n_low(GOSSIP_MESH_N_LOW)
        .mesh_n_high(GOSSIP_MESH_N_HIGH)
        .heartbeat_interval(GOSSIP_HEARTBEAT)
        .heartbeat_initial_delay(GOSSIP_HEARTBEAT_INITIAL_DELAY)
        .history_length(GOSSIP_HISTORY_LENGTH)
        .duplicate_cache_time(GOSSIP_DUPLICATE_CACHE_TIME)
        .max_messages_per_rpc(Some(GOSSIP_MAX_MESSAGES_PER_RPC))
        .connection_handler_queue_len(GOSSIP_QUEUE_LEN)
        .build()?;
    // No gossipsub peer scoring. Its score counted things that are not invalid content: with
    // the default parameters a behaviour penalty (−10 per broken IWANT promise, squared), slow
    // peers (full queues under load), IP colocation, mesh delivery deficits; and gossipsub's own
    // "invalid" verdicts, such as the self-origin echoes above. It keeps a disconnected peer's
    // counters undecayed for an hour and offers no way to reset them, so an unblocked peer
    // would be graylisted (or blocked again) with the same score. The node keeps its own
    // score instead (`peers::Scoring`): only the ingest path's *Reject* verdicts and invalid
    // sync data lower it.
    let mut gossip = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
        .map_err(anyhow::Error::msg)?;
    gossip.subscribe(&gossipsub::IdentTopic::new(ENTRIES_TOPIC))?;
    gossip.subscribe(&gossipsub::IdentTopic::new(CHECKPOINTS_TOPIC))?;
    gossip.subscribe(&gossipsub::IdentTopic::new(HEADS_TOPIC))?;
    Ok(gossip)
}

/// The sync protocol's codec: one CBOR message per stream direction, read to the end of the
/// stream but never past the protocol's bound for its direction, and decoded by
/// [`proto_types::sync`] (the decoder the fuzz target exercises). A message over the bound is
/// refused unread rather than cut and parsed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SyncCodec;

/// What the codec's methods return. The `Codec` trait is declared with `async_trait`; these are
/// its methods written out, so that the node needs no macro crate for four functions.
type CodecFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    fn read_request<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        _: &'life1 StreamProtocol,
        io: &'life2 mut T,
    ) -> CodecFuture<'async_trait, SyncRequest>
    where
        T: AsyncRead + Unpin + Send + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bytes = read_bounded(io, sync::MAX_REQUEST_BYTES).await?;
            sync::decode_request(&bytes).map_err(invalid_data)
        })
    }

    fn read_response<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        _: &'life1 StreamProtocol,
        io: &'life2 mut T,
    ) -> CodecFuture<'async_trait, SyncResponse>
    where
        T: AsyncRead + Unpin + Send + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bytes = read_bounded(io, sync::MAX_RESPONSE_BYTES).await?;
            sync::decode_response(&bytes).map_err(invalid_data)
        })
    }

    fn write_request<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        _: &'life1 StreamProtocol,
        io: &'life2 mut T,
        request: SyncRequest,
    ) -> CodecFuture<'async_trait, ()>
    where
        T: AsyncWrite + Unpin + Send + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bytes = sync::encode_request(&request).map_err(io::Error::other)?;
            io.write_all(&bytes).await
        })
    }

    fn write_response<'life0, 'life1, 'life2, 'async_trait, T>(
        &'life0 mut self,
        _: &'life1 StreamProtocol,
        io: &'life2 mut T,
        response: SyncResponse,
    ) -> CodecFuture<'async_trait, ()>
    where
        T: AsyncWrite + Unpin + Send + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let bytes = sync::encode_response(&response).map_err(io::Error::other)?;
            io.write_all(&bytes).await
        })
    }
}

/// Reads the stream to its end, refusing it once it is longer than `max` bytes (reading one
/// byte past the bound tells a message of exactly `max` bytes from a longer one).
async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    io.take(limit).read_to_end(&mut bytes).await?;
    if bytes.len() > max {
        return Err(invalid_data(sync::SyncError::TooLarge {
            size: bytes.len(),
            max,
        }));
    }
    Ok(bytes)
}

fn invalid_data(error: sync::SyncError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
mod tests {
    use libp2p::futures::io::Cursor;
    use request_response::Codec as _;

    use super::*;

    #[tokio::test]
    async fn the_codec_writes_the_protocol_bytes_and_reads_them_back() {
        let mut codec = SyncCodec;
        let request = SyncRequest::Range {
            author: [7; 32],
            from_seq: 3,
            limit: 10,
        };
        let mut written = Cursor::new(Vec::new());
        codec
            .write_request(&SYNC_PROTOCOL, &mut written, request.clone())
            .await
            .expect("writes");
        let bytes = written.into_inner();
        assert_eq!(bytes, sync::encode_request(&request).expect("encodes"));
        let read = codec
            .read_request(&SYNC_PROTOCOL, &mut Cursor::new(bytes))
            .await
            .expect("reads");
        assert_eq!(read, request);
    }

    #[tokio::test]
    async fn a_message_over_its_bound_is_refused_not_cut() {
        let mut codec = SyncCodec;
        // A valid request followed by padding up to one byte over the bound: a reader that cut
        // at the bound would decode the request and ignore the rest.
        let mut bytes = sync::encode_request(&SyncRequest::Heads).expect("encodes");
        bytes.resize(sync::MAX_REQUEST_BYTES + 1, 0);
        let error = codec
            .read_request(&SYNC_PROTOCOL, &mut Cursor::new(bytes.clone()))
            .await
            .expect_err("over the bound");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("over the"), "{error}");
        // At the bound it is read.
        bytes.truncate(sync::MAX_REQUEST_BYTES);
        let read = codec
            .read_request(&SYNC_PROTOCOL, &mut Cursor::new(bytes))
            .await
            .expect("at the bound");
        assert_eq!(read, SyncRequest::Heads);
        // Malformed CBOR is an error too.
        let error = codec
            .read_response(&SYNC_PROTOCOL, &mut Cursor::new(vec![0xff, 0x00]))
            .await
            .expect_err("malformed");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
