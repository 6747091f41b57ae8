//! Transparency routes: tiles and entry bundles checked against an independent computation
//! (RFC 9162 §2.1 by recursion over the feed's entries), their cache headers, strict paths and
//! the edges of the tree; the checkpoint; proofs that verify with proto-types and fail for an
//! altered entry; consistency proofs and their bounds.
//!
//! The own feed's checkpoints are the node's own (its checkpointer signs one within a second of
//! a write); a foreign feed's is signed by the test with the foreign office's key and submitted
//! to the node's witness (`POST /v1/witness/add-checkpoint`), which stores it with its
//! cosignature.

use std::time::Duration;

use axum::http::header;
use base64::Engine;
use proto_types::body::{Body, EntryKind};
use proto_types::checkpoint::cosignature::witness_verifier_key;
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{VerifiedCheckpoint, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::entry::{Entry, EntryId, UnsignedEntry};
use proto_types::keys::SecretKey;
use proto_types::tlog::{TreeHash, decode_entry_bundle, leaf_hash, node_hash, verify_consistency};
use serde_json::{Value, json};

use super::{Auth, Federation, Reply, Role, registration};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/feeds/{author}/checkpoint"),
    ("get", "/v1/feeds/{author}/tile/{*path}"),
    ("get", "/v1/entries/{id}/proof"),
    ("get", "/v1/feeds/{author}/consistency"),
];

/// Entries written to the node's own feed: one full tile and a partial one of 44.
const ENTRIES: usize = 300;

/// RFC 9162 §2.1.1 by its recursive definition, over leaf hashes.
fn reference_root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => TreeHash::empty(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

/// Longest the node's checkpointer may take to cover a write (it ticks every second).
const CHECKPOINT_DEADLINE: Duration = Duration::from_secs(30);

/// A registration of right `DE-TM-<number>` signed by `key` at `seq`.
fn foreign_registration(key: &SecretKey, seq: u64, prev: Option<EntryId>, number: u64) -> Entry {
    let body = json!({
        "v": 1, "right_id": format!("DE-TM-{number}"), "right_type": "trademark",
        "jurisdiction": "DE", "number": number.to_string(), "mark_text": "Edelweiß",
        "nice_classes": [25], "holder": {"name": "Edelweiß GmbH", "country": "DE"},
        "filing_date": "2021-01-15", "registration_date": "2021-06-01",
        "expiry_date": "2031-01-15", "status": "registered",
    });
    UnsignedEntry {
        seq,
        prev,
        timestamp: crate::clock::now(),
        body: Body::decode(EntryKind::Registration, &body).expect("a registration body"),
    }
    .sign(key)
    .expect("signs")
    .into_entry()
}

fn header_of(reply: &Reply, name: header::HeaderName) -> &str {
    reply
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The feed's entries as the store holds them, canonical bytes in seq order.
fn stored_feed(state: &crate::NodeState, author: &proto_types::keys::PublicKey) -> Vec<Vec<u8>> {
    state
        .store
        .feed(author, 1, usize::MAX, usize::MAX)
        .expect("the feed reads")
}

#[tokio::test]
async fn tiles_bundles_checkpoints_and_proofs() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let author = node.authority;
    let did = author.to_did_key();
    let holder = SecretKey::generate().public_key();
    let items: Vec<Value> = (0..ENTRIES)
        .map(|number| registration(&format!("{}", 6_000_000 + number), &holder))
        .collect();
    node.post(
        "/v1/registrations/batch",
        Auth::Operator,
        &json!({"items": items}),
    )
    .await
    .expect(200, None);
    let state = node.state();
    let entries = stored_feed(&state, &author);
    assert_eq!(entries.len(), ENTRIES);
    let leaves: Vec<TreeHash> = entries.iter().map(|bytes| leaf_hash(bytes)).collect();
    let feed = format!("/v1/feeds/{did}");

    // A full level-0 tile: the first 256 leaf hashes, cached for a year.
    let full = node.get(&format!("{feed}/tile/0/000")).await;
    assert_eq!(full.status, 200, "{}", full.body);
    let expected: Vec<u8> = leaves[..256].iter().flat_map(|hash| hash.0).collect();
    assert_eq!(full.bytes, expected);
    assert_eq!(
        header_of(&full, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        header_of(&full, header::CONTENT_TYPE),
        "application/octet-stream"
    );
    // The partial tile of the right edge, and a narrower one (an earlier size's edge).
    let partial = node.get(&format!("{feed}/tile/0/001.p/44")).await;
    assert_eq!(partial.status, 200);
    let expected: Vec<u8> = leaves[256..].iter().flat_map(|hash| hash.0).collect();
    assert_eq!(partial.bytes, expected);
    assert_eq!(
        header_of(&partial, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable",
        "a partial tile never changes either"
    );
    let narrower = node.get(&format!("{feed}/tile/0/001.p/1")).await;
    assert_eq!(narrower.bytes, leaves[256].0.to_vec());
    // Level 1: one hash so far, the root of the first full tile.
    let level_one = node.get(&format!("{feed}/tile/1/000.p/1")).await;
    assert_eq!(level_one.status, 200);
    assert_eq!(level_one.bytes, reference_root(&leaves[..256]).0.to_vec());
    // Entry bundles: the entries behind 16-bit lengths.
    let bundle = node.get(&format!("{feed}/tile/entries/000")).await;
    assert_eq!(bundle.status, 200);
    assert_eq!(
        header_of(&bundle, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let decoded = decode_entry_bundle(&bundle.bytes, 256).expect("a bundle of 256");
    assert_eq!(
        decoded,
        entries[..256].iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    let bundle = node.get(&format!("{feed}/tile/entries/001.p/44")).await;
    let decoded = decode_entry_bundle(&bundle.bytes, 44).expect("a bundle of 44");
    assert_eq!(
        decoded,
        entries[256..].iter().map(Vec::as_slice).collect::<Vec<_>>()
    );

    // Beyond the head, or in no tree at all: 404, not cached.
    for path in [
        "tile/0/001",
        "tile/0/001.p/45",
        "tile/0/002.p/1",
        "tile/1/000",
        "tile/1/000.p/2",
        "tile/2/000.p/1",
        "tile/entries/001",
        "tile/entries/002.p/1",
        "tile/8/000.p/1",
        "tile/0/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255",
    ] {
        let reply = node.get(&format!("{feed}/{path}")).await;
        reply.expect(404, Some("not_found"));
        assert_eq!(
            header_of(&reply, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
    }
    // Malformed: 400, whatever the feed holds.
    for path in [
        "tile/0/0",
        "tile/0/0000",
        "tile/00/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/x000/001",
        "tile/0/001/",
        "tile/0/x1/001",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/000.p/",
        "tile/entries/000.p/1/2",
        "tile/entries",
        "tile/x/000",
        "tile/../000",
        "tile/0/../../../etc/passwd",
        "tile/0/%2E%2E/000",
        "tile/0/x001/x002/x003/x004/x005/x006/x007/000",
    ] {
        let reply = node.get(&format!("{feed}/{path}")).await;
        reply.expect(400, Some("bad_tile_path"));
    }
    node.get("/v1/feeds/not-a-did/tile/0/000")
        .await
        .expect(400, Some("bad_author"));
    let stranger = SecretKey::generate().public_key().to_did_key();
    node.get(&format!("/v1/feeds/{stranger}/tile/0/000.p/1"))
        .await
        .expect(404, Some("not_found"));
    node.get(&format!("/v1/feeds/{stranger}/checkpoint"))
        .await
        .expect(404, Some("not_found"));
    node.expect_body_refused("GET", &format!("{feed}/tile/0/000"), Auth::Anonymous)
        .await;

    // The node checkpoints its own feed: its latest checkpoint covers all 300 entries.
    let deadline = tokio::time::Instant::now() + CHECKPOINT_DEADLINE;
    let checkpoint: VerifiedCheckpoint = loop {
        let reply = node.get(&format!("{feed}/checkpoint")).await;
        if reply.status == 200 {
            let text = String::from_utf8(reply.bytes.clone()).expect("utf-8");
            let checkpoint = verify_feed_checkpoint(&text).expect("signed by the feed's key");
            if checkpoint.checkpoint().size() == ENTRIES as u64 {
                assert_eq!(
                    header_of(&reply, header::CONTENT_TYPE),
                    "text/plain; charset=utf-8"
                );
                assert_eq!(header_of(&reply, header::CACHE_CONTROL), "no-cache");
                break checkpoint;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint of 300 within {CHECKPOINT_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(checkpoint.author(), &author);
    assert_eq!(checkpoint.checkpoint().root(), &reference_root(&leaves));
    node.get("/v1/feeds/did:key:z6Mk/checkpoint")
        .await
        .expect(400, Some("bad_author"));

    // A proof relative to the latest checkpoint; it verifies with proto-types, and fails for an
    // altered entry or another entry's leaf.
    let entry_ten = Entry::decode(&entries[9]).expect("an entry");
    let reply = node
        .get(&format!("/v1/entries/{}/proof", entry_ten.id()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(header_of(&reply, header::CACHE_CONTROL), "no-cache");
    let proof = TlogProof::parse_bytes(&reply.bytes).expect("a tlog-proof");
    assert_eq!(proof.index(), 9);
    assert_eq!(proof.checkpoint().size(), 300);
    let verified = proof.verify(&leaves[9]).expect("the proof verifies");
    assert_eq!(verified.checkpoint().author(), &author);
    let mut altered: Value = serde_json::from_slice(&entries[9]).unwrap();
    altered["body"]["mark_text"] = json!("Altered");
    let altered = serde_json::to_vec(&altered).unwrap();
    assert!(proof.verify(&leaf_hash(&altered)).is_err());
    assert!(proof.verify(&leaves[10]).is_err(), "another entry's leaf");
    let last = Entry::decode(&entries[299]).expect("an entry");
    let reply = node.get(&format!("/v1/entries/{}/proof", last.id())).await;
    let proof = TlogProof::parse_bytes(&reply.bytes).expect("a tlog-proof");
    assert_eq!((proof.index(), proof.checkpoint().size()), (299, 300));
    proof.verify(&leaves[299]).expect("verifies");
    node.get(&format!("/v1/entries/{}/proof", "ab".repeat(32)))
        .await
        .expect(404, Some("not_found"));
    node.get("/v1/entries/not-an-id/proof")
        .await
        .expect(400, Some("bad_entry_id"));

    // A foreign feed: entries, but no checkpoint of it yet (409 with Retry-After, 404).
    let foreign = &federation.foreign;
    let foreign_did = foreign.public_key().to_did_key();
    let mut prev = None;
    let mut foreign_entries = Vec::new();
    for seq in 1..=3u64 {
        let entry = foreign_registration(foreign, seq, prev, 3_020_000 + seq);
        node.post_bytes("/v1/entries", Auth::Anonymous, entry.canonical_bytes())
            .await
            .expect(201, None);
        prev = Some(entry.id());
        foreign_entries.push(entry);
    }
    let foreign_proof = format!("/v1/entries/{}/proof", foreign_entries[1].id());
    let early = node.get(&foreign_proof).await;
    early.expect(409, Some("not_checkpointed"));
    assert_eq!(header_of(&early, header::RETRY_AFTER), "1");
    node.get(&format!("/v1/feeds/{foreign_did}/checkpoint"))
        .await
        .expect(404, Some("not_found"));
    // The foreign office's checkpoint of 2 entries, submitted to this node's witness: stored
    // with the witness's cosignature. Entry 3 is not covered; entry 2 is, with the cosignature.
    let foreign_leaves: Vec<TreeHash> = foreign_entries
        .iter()
        .map(|entry| leaf_hash(entry.canonical_bytes()))
        .collect();
    let note = sign_feed_checkpoint(foreign, 2, &reference_root(&foreign_leaves[..2]));
    let cosigned = node
        .send(
            "POST",
            "/v1/witness/add-checkpoint",
            Auth::Anonymous,
            Some(format!("old 0\n\n{note}").into_bytes()),
        )
        .await;
    assert_eq!(cosigned.status, 200, "{}", cosigned.body);
    let held = node
        .get(&format!("/v1/feeds/{foreign_did}/checkpoint"))
        .await;
    assert_eq!(held.status, 200);
    let held = verify_feed_checkpoint(&String::from_utf8(held.bytes).unwrap()).expect("verifies");
    let witness = witness_verifier_key(&state.transparency.witness_key());
    let valid = held.cosignatures(std::slice::from_ref(&witness));
    assert_eq!(
        valid.valid().len(),
        1,
        "the witness's cosignature is served"
    );
    let reply = node.get(&foreign_proof).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let proof = TlogProof::parse_bytes(&reply.bytes).expect("a tlog-proof");
    let verified = proof.verify(&foreign_leaves[1]).expect("verifies");
    assert_eq!(
        verified
            .checkpoint()
            .cosignatures(std::slice::from_ref(&witness))
            .valid()
            .len(),
        1,
        "the proof carries the cosignature"
    );
    node.get(&format!("/v1/entries/{}/proof", foreign_entries[2].id()))
        .await
        .expect(409, Some("not_checkpointed"));

    // Consistency proofs, checked against the independent roots.
    let reply = node
        .get(&format!("{feed}/consistency?from=100&to=300"))
        .await;
    let body = reply.expect(200, None);
    assert_eq!(
        (body["from"].as_u64(), body["to"].as_u64()),
        (Some(100), Some(300))
    );
    let engine = base64::engine::general_purpose::STANDARD;
    let hashes: Vec<TreeHash> = body["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|hash| {
            TreeHash(
                engine
                    .decode(hash.as_str().expect("text"))
                    .expect("base64")
                    .try_into()
                    .expect("32 bytes"),
            )
        })
        .collect();
    verify_consistency(
        100,
        &reference_root(&leaves[..100]),
        300,
        &reference_root(&leaves),
        &hashes,
    )
    .expect("consistent");
    assert!(
        verify_consistency(
            100,
            &reference_root(&leaves[..99]),
            300,
            &reference_root(&leaves),
            &hashes,
        )
        .is_err()
    );
    let same = node
        .get(&format!("{feed}/consistency?from=300&to=300"))
        .await;
    assert_eq!(same.expect(200, None)["hashes"], json!([]));
    for (query, code) in [
        ("from=0&to=5", "bad_range"),
        ("from=6&to=5", "bad_range"),
        ("from=5", "bad_query"),
        ("to=5", "bad_query"),
        ("", "bad_query"),
        ("from=x&to=5", "bad_query"),
        ("from=-1&to=5", "bad_query"),
        ("from=1&to=18446744073709551616", "bad_query"),
        ("from=1&to=5&extra=1", "bad_query"),
    ] {
        node.get(&format!("{feed}/consistency?{query}"))
            .await
            .expect(400, Some(code));
    }
    node.get(&format!("{feed}/consistency?from=1&to=301"))
        .await
        .expect(404, Some("not_found"));
    node.get(&format!(
        "{feed}/consistency?from=1&to=18446744073709551615"
    ))
    .await
    .expect(404, Some("not_found"));
    node.get(&format!("/v1/feeds/{stranger}/consistency?from=1&to=1"))
        .await
        .expect(404, Some("not_found"));
    node.get("/v1/feeds/did:key:nope/consistency?from=1&to=1")
        .await
        .expect(400, Some("bad_author"));

    federation.assert_covers(ROUTES);
    // The state's ingest handle keeps the writer running; a node stops once none is held.
    drop(state);
    federation.stop().await;
}
