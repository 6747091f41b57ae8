//! Federation tests on real nodes in this process: RocksDB in temporary directories, libp2p on
//! 127.0.0.1, HTTP on port 0. What triggered a delivery is read from the nodes' own event
//! counters, never from timings.

use std::path::PathBuf;
use std::time::Duration;

use proto_types::body::{Body, EntryKind};
use proto_types::keys::SecretKey;
use serde_json::json;
use tempfile::TempDir;

use crate::config::{Limits, NodeConfig};
use crate::ingest::Source;
use crate::keyring::Keyring;
use crate::storage::Store;
use crate::trust::TrustStore;
use crate::{Inputs, NodeState, RunningNode};

/// How long a test waits for anything before it fails.
const DEADLINE: Duration = Duration::from_secs(120);
const TOKEN: &str = "network-test-operator-token-0123";
/// A sync interval no test outlives: only what a test triggers can explain a sync.
const NO_PERIODIC_SYNC_SECS: u64 = 3600;

/// Nodes that are offices trusting each other, each in its own directory.
struct Cluster {
    dir: TempDir,
    count: usize,
    trust: String,
}

fn seed(index: usize) -> [u8; 32] {
    [u8::try_from(index).expect("few nodes") + 40; 32]
}

impl Cluster {
    fn new(count: usize) -> Self {
        let mut trust = String::new();
        for index in 0..count {
            let did = SecretKey::from_seed(&seed(index)).public_key().to_did_key();
            trust.push_str(&format!(
                "[[authority]]\ndid = \"{did}\"\nname = \"Office {index}\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n\n"
            ));
        }
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            count,
            trust,
        }
    }

    fn data_dir(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("node-{index}"))
    }

    async fn start(
        &self,
        index: usize,
        bootstrap: Vec<String>,
        sync_interval_secs: u64,
    ) -> RunningNode {
        assert!(index < self.count);
        let config = NodeConfig {
            data_dir: self.data_dir(index),
            api_listen: "127.0.0.1:0".parse().expect("an address"),
            public_url: None,
            p2p_listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
            bootstrap,
            mdns: false,
            authority_key: self.dir.path().join(format!("authority-{index}.json")),
            trust_store: self.dir.path().join("trust.toml"),
            operator_token: Some(TOKEN.to_owned()),
            operator_token_file: None,
            sync_writes: false,
            sync_interval_secs,
            limits: Limits::default(),
            marketplace: None,
            trust: Default::default(),
            transparency: Default::default(),
            storage: Default::default(),
            screening: Default::default(),
            console: Default::default(),
        };
        let inputs = Inputs {
            operator_token: TOKEN.into(),
            keyring: Keyring::single(SecretKey::from_seed(&seed(index))),
            trust: TrustStore::from_toml(&self.trust).expect("the trust store parses"),
            witness_policy: None,
        };
        tokio::time::timeout(DEADLINE, crate::start_with(config, inputs))
            .await
            .expect("the node starts in time")
            .expect("the node starts")
    }
}

fn state(node: &RunningNode) -> &NodeState {
    node.state().expect("a running node has its state")
}

/// Entries a store holds: the sum of its feeds' heads.
fn stored(store: &Store) -> u64 {
    store
        .heads()
        .expect("heads read")
        .iter()
        .map(|(_, head)| head.seq)
        .sum()
}

fn registration(number: usize) -> Body {
    Body::decode(
        EntryKind::Registration,
        &json!({
            "v": 1, "right_id": format!("FR-TM-{number}"), "right_type": "trademark",
            "jurisdiction": "FR", "number": number.to_string(), "mark_text": "Relais",
            "nice_classes": [9], "holder": {"name": "Relais SA", "country": "FR"},
            "filing_date": "2021-01-15", "status": "filed"
        }),
    )
    .expect("a registration")
}

/// Appends registrations `first..first + count` to the node's own feed through the bulk path
/// (as an import does: not gossiped one by one).
async fn write_bulk(node: &RunningNode, first: usize, count: usize) {
    const CHUNK: usize = 1000;
    let ingest = &state(node).ingest;
    let mut pending = Vec::new();
    let mut number = first;
    while number < first + count {
        let end = (number + CHUNK).min(first + count);
        let bodies = (number..end).map(registration).collect();
        pending.push(
            ingest
                .queue_appends(bodies, Source::Bulk)
                .await
                .expect("queued"),
        );
        number = end;
    }
    for appends in pending {
        let outcomes = appends.outcomes().await.expect("appended");
        assert!(
            outcomes
                .iter()
                .all(|outcome| matches!(outcome, crate::ingest::IngestOutcome::Stored { .. })),
            "{outcomes:?}"
        );
    }
}

/// Polls `check` every 20 ms until it holds; fails the test after [`DEADLINE`].
async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {DEADLINE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(node: &RunningNode, name: &str) -> u64 {
    state(node).metrics.event_count(name)
}

fn connected(node: &RunningNode) -> Vec<String> {
    state(node).peers.snapshot().connected
}

/// A node stopped in the middle of a pipelined catch-up restarts from its stored heads: after
/// the restart it fetches exactly the entries (and ranges) it had not stored, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_catch_up_resumes_after_a_restart_without_refetching_what_is_stored() {
    const TOTAL: u64 = 20_000;
    let cluster = Cluster::new(2);
    let serving = cluster.start(0, Vec::new(), 5).await;
    write_bulk(&serving, 0, TOTAL as usize).await;
    assert_eq!(stored(&state(&serving).store), TOTAL);

    let bootstrap = serving.p2p_addrs.clone();
    let rejoining = cluster.start(1, bootstrap.clone(), 5).await;
    let store = state(&rejoining).store.clone();
    wait_for("the first entries arrive", || stored(&store) > 0).await;
    drop(store);
    let fetched_before = event(&rejoining, "sync_entry_fetched");
    rejoining.shutdown().await.expect("a clean stop");
    assert!(fetched_before > 0);

    let stored_before = {
        let (store, _writer) = Store::open(&cluster.data_dir(1)).expect("the store reopens");
        stored(&store)
    };
    assert!(
        stored_before > 0 && stored_before < TOTAL,
        "stopped mid-catch-up: {stored_before} of {TOTAL} stored"
    );

    let rejoining = cluster.start(1, bootstrap, 5).await;
    let store = state(&rejoining).store.clone();
    wait_for("the catch-up completes", || stored(&store) == TOTAL).await;
    assert_eq!(
        store.heads().expect("heads"),
        state(&serving).store.heads().expect("heads")
    );
    let missing = TOTAL - stored_before;
    // The store holds an entry before the sync task counts it (the writer answers, then the
    // task records the event): wait for the counters to reach the figure, then check that
    // they did not pass it.
    wait_for("the fetched and stored entries are counted", || {
        event(&rejoining, "sync_entry_fetched") >= missing
            && event(&rejoining, "sync_entry_stored") >= missing
    })
    .await;
    assert_eq!(event(&rejoining, "sync_entry_fetched"), missing);
    assert_eq!(event(&rejoining, "sync_entry_stored"), missing);
    let range = u64::from(proto_types::sync::MAX_RANGE_ENTRIES);
    assert_eq!(
        event(&rejoining, "sync_range_fetched"),
        missing.div_ceil(range)
    );
    drop(store);
    rejoining.shutdown().await.expect("a clean stop");
    serving.shutdown().await.expect("a clean stop");
}

/// Bulk writes at one end of a line A–B–C reach the other end through head announcements,
/// hop by hop, with periodic sync out of the picture: every sync session started after the
/// write was asked for by an announcement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_bulk_writes_reach_a_line_of_three_nodes_by_head_announcements() {
    let cluster = Cluster::new(3);
    let middle = cluster.start(1, Vec::new(), NO_PERIODIC_SYNC_SECS).await;
    let writer = cluster
        .start(0, middle.p2p_addrs.clone(), NO_PERIODIC_SYNC_SECS)
        .await;
    let far = cluster
        .start(2, middle.p2p_addrs.clone(), NO_PERIODIC_SYNC_SECS)
        .await;
    // A line: discovery would connect the two ends; they block each other.
    state(&writer)
        .network
        .block(&far.peer_id)
        .await
        .expect("blocks");
    state(&far)
        .network
        .block(&writer.peer_id)
        .await
        .expect("blocks");
    let nodes = [&writer, &middle, &far];
    wait_for("a line A–B–C", || {
        connected(&writer) == vec![middle.peer_id.clone()]
            && connected(&far) == vec![middle.peer_id.clone()]
            && connected(&middle).len() == 2
    })
    .await;
    // Each end knows the middle's subscriptions (all topics are subscribed at once).
    for node in nodes {
        let network = state(node).network.clone();
        let wanted = if node.peer_id == middle.peer_id { 2 } else { 1 };
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let mesh = network.gossip_mesh().await.expect("the network runs");
            if mesh.subscribed_peers >= wanted {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no subscriptions");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The sessions started by the connections are over before anything is written.
    wait_for("the first sessions end", || {
        nodes
            .iter()
            .all(|node| event(node, "sync_session_started") == event(node, "sync_session_done"))
    })
    .await;

    let mut written = 0u64;
    for batch in [12u64, 2_000] {
        let sessions = nodes.map(|node| event(node, "sync_session_started"));
        let announced = nodes.map(|node| event(node, "sync_by_announcement"));
        write_bulk(&writer, written as usize, batch as usize).await;
        written += batch;
        for node in [&middle, &far] {
            let store = state(node).store.clone();
            wait_for("the batch arrives", || stored(&store) == written).await;
        }
        for (index, node) in nodes.iter().enumerate().skip(1) {
            let new_sessions = event(node, "sync_session_started") - sessions[index];
            let new_announced = event(node, "sync_by_announcement") - announced[index];
            assert!(new_sessions >= 1, "node {index}: no session");
            assert!(
                new_sessions <= new_announced,
                "node {index}: {new_sessions} sessions, {new_announced} asked for by announcements"
            );
        }
        assert!(event(&writer, "announcement_published") >= 1);
        assert!(event(&middle, "announcement_published") >= 1);
    }
    assert_eq!(
        event(&far, "gossip_accepted"),
        0,
        "bulk entries are not gossiped"
    );
    assert!(!connected(&far).contains(&writer.peer_id));
    let heads = state(&writer).store.heads().expect("heads");
    assert_eq!(state(&far).store.heads().expect("heads"), heads);
    for node in [far, writer, middle] {
        node.shutdown().await.expect("a clean stop");
    }
}
