//! The transparency service over a real store and writer thread: the checkpointer's cadence,
//! and a checkpoint ahead of the feed held, then cosigned once the entries arrive.

use std::sync::Arc;
use std::time::Duration;

use proto_types::body::{AuthorityRole, Body, EntryKind, Jurisdiction};
use proto_types::checkpoint::cosignature::witness_verifier_key;
use proto_types::checkpoint::{sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::entry::{UnsignedEntry, VerifiedEntry};
use proto_types::keys::{PublicKey, SecretKey};
use serde_json::json;
use tokio::sync::watch;

use super::*;
use crate::ingest::Source;
use crate::storage::Store;
use crate::trust::{Trust, TrustStore, TrustedAuthority};

const DEADLINE: Duration = Duration::from_secs(20);

fn registration(number: u32) -> Body {
    Body::decode(
        EntryKind::Registration,
        &json!({
            "v": 1, "right_id": format!("FR-TM-{number}"), "right_type": "trademark",
            "jurisdiction": "FR", "number": number.to_string(), "mark_text": "Témoin",
            "nice_classes": [9], "holder": {"name": "Témoin SA", "country": "FR"},
            "filing_date": "2021-01-15", "status": "filed"
        }),
    )
    .expect("a registration")
}

fn chain(key: &SecretKey, count: u32) -> Vec<VerifiedEntry> {
    let mut entries: Vec<VerifiedEntry> = Vec::new();
    for number in 1..=count {
        let entry = UnsignedEntry {
            seq: u64::from(number),
            prev: entries.last().map(|entry| entry.id()),
            timestamp: crate::clock::now(),
            body: registration(1000 + number),
        }
        .sign(key)
        .expect("signs");
        entries.push(entry);
    }
    entries
}

/// Fields drop in this order: the handles first, then the writer is waited for (it closes the
/// store when the last handle is gone), and the directory goes last — never under an open
/// store, and no writer thread left running when the test binary exits.
struct Node {
    store: Arc<Store>,
    ingest: Ingest,
    transparency: Arc<Transparency>,
    own: PublicKey,
    foreign: SecretKey,
    _writer: WriterJoin,
    _dir: tempfile::TempDir,
}

/// Waits (a bounded time) for the writer thread when dropped.
struct WriterJoin(Option<std::thread::JoinHandle<()>>);

impl Drop for WriterJoin {
    // A bounded poll, not a join: a task of the test's runtime may still hold a handle until
    // the runtime goes, and tests may sleep (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        let Some(thread) = self.0.take() else {
            return;
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

fn node() -> Node {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, store_writer) = Store::open(dir.path()).expect("opens");
    let own = SecretKey::from_seed(&[21; 32]);
    let foreign = SecretKey::from_seed(&[22; 32]);
    let office = |key: &SecretKey, name: &str| TrustedAuthority {
        did: key.public_key(),
        name: name.to_owned(),
        role: AuthorityRole::Office,
        jurisdictions: vec![Jurisdiction::parse("FR").expect("FR")],
    };
    let trust =
        TrustStore::from_authorities(vec![office(&own, "own"), office(&foreign, "foreign")])
            .expect("a trust store");
    let metrics = Arc::new(Metrics::default());
    let (ingest, writer) = Ingest::start(
        store_writer,
        Arc::new(Trust::new(trust, &[])),
        Arc::new(SecretKey::from_seed(&[21; 32])),
        false,
        metrics.clone(),
    )
    .expect("the writer starts");
    let transparency = Transparency::new(
        ingest.clone(),
        Arc::new(SecretKey::from_seed(&[23; 32])),
        None,
        metrics,
    );
    Node {
        store,
        ingest,
        transparency,
        own: own.public_key(),
        foreign,
        _writer: WriterJoin(Some(writer)),
        _dir: dir,
    }
}

async fn poll(mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test]
async fn the_checkpointer_covers_the_own_feed_after_each_write_and_gossips_it() {
    let node = node();
    let mut outgoing = node.transparency.subscribe_outgoing();
    let (stop, signal) = watch::channel(false);
    let task = tokio::spawn(node.transparency.clone().run(signal));
    node.ingest.append(registration(1)).await.expect("stored");
    let size = |node: &Node| {
        node.store
            .latest_checkpoint(&node.own)
            .expect("reads")
            .map_or(0, |checkpoint| checkpoint.size)
    };
    assert!(
        poll(|| size(&node) == 1).await,
        "no checkpoint of the first entry"
    );
    for number in 2..=3 {
        node.ingest
            .append(registration(number))
            .await
            .expect("stored");
    }
    assert!(
        poll(|| size(&node) == 3).await,
        "no checkpoint of the later entries"
    );
    // What it gossips is the stored checkpoint, signed by the own key.
    let mut gossiped = Vec::new();
    while let Ok(message) = outgoing.try_recv() {
        gossiped.push(message);
    }
    assert!(!gossiped.is_empty());
    let last = std::str::from_utf8(gossiped.last().expect("one")).expect("text");
    let checkpoint = verify_feed_checkpoint(last).expect("verifies");
    assert_eq!(checkpoint.author(), &node.own);
    assert!(checkpoint.checkpoint().size() >= 1);
    stop.send(true).expect("the task listens");
    task.await.expect("the task ends");
}

#[tokio::test]
async fn a_checkpoint_ahead_of_the_feed_is_cosigned_once_the_entries_arrive() {
    let node = node();
    let entries = chain(&node.foreign, 4);
    let author = node.foreign.public_key();
    for entry in &entries[..2] {
        node.ingest
            .submit_verified(entry.clone(), Source::Sync)
            .await
            .expect("stored");
    }
    // The office's checkpoint at 4, computed from the whole chain elsewhere: here a store of
    // the same four entries.
    let other = node_with(&entries);
    let root = other.store.tree_root(&author, 4).expect("root");
    let note = sign_feed_checkpoint(&node.foreign, 4, &root);
    let refused = node
        .transparency
        .add_checkpoint(format!("old 0\n\n{note}").as_bytes())
        .await
        .expect_err("ahead");
    assert!(
        matches!(refused, AddCheckpointError::NotYet { size: 4, head: 2 }),
        "{refused}"
    );
    assert_eq!(node.store.latest_checkpoint(&author).expect("reads"), None);
    // Sync brings the rest; the next tick cosigns the held checkpoint.
    for entry in &entries[2..] {
        node.ingest
            .submit_verified(entry.clone(), Source::Sync)
            .await
            .expect("stored");
    }
    node.transparency.tick_once().await;
    let stored = node
        .store
        .latest_checkpoint(&author)
        .expect("reads")
        .expect("stored once the feed caught up");
    assert_eq!(stored.size, 4);
    let checkpoint = verify_feed_checkpoint(&stored.note_with_cosignatures()).expect("verifies");
    let cosignatures = checkpoint.rightsnet_cosignatures();
    assert_eq!(cosignatures.valid().len(), 1);
    assert_eq!(
        cosignatures.valid()[0].witness(),
        &witness_verifier_key(&node.transparency.witness_key())
    );
    let state = node
        .store
        .witness_state(&author)
        .expect("reads")
        .expect("recorded");
    assert_eq!((state.size, state.root), (4, root));
}

/// A second node holding `entries` (to compute their tree's root as the office would).
fn node_with(entries: &[VerifiedEntry]) -> Node {
    let node = node();
    let runtime_entries = entries.to_vec();
    let ingest = node.ingest.clone();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    for entry in runtime_entries {
                        ingest
                            .submit_verified(entry, Source::Sync)
                            .await
                            .expect("stored");
                    }
                });
            })
            .join()
            .expect("joined");
    });
    node
}
