//! Witnesses over real libp2p on 127.0.0.1 (protocol §14.4): a new entry ends up in a
//! checkpoint of its feed cosigned by the other nodes' witnesses, and a split view (the test
//! signs two inconsistent checkpoints with an office key it holds and submits them to two
//! different nodes) is proved and flagged by every node. Polls with deadlines.

use std::time::Duration;

use base64::Engine;
use proto_types::body::{Body, EntryKind};
use proto_types::checkpoint::{feed_origin, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::entry::UnsignedEntry;
use proto_types::keys::SecretKey;
use proto_types::note::NoteSignature;
use proto_types::tlog::{TreeHash, leaf_hash};
use serde_json::{Value, json};

use crate::federation::Federation;
use crate::harness::{Client, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

/// The status of `client`'s node for the feed of `did`.
fn feed_status(client: &Client, did: &str) -> Option<Value> {
    let status = client.get("/v1/status");
    assert_eq!(status.status, 200, "{}", status.body);
    status.body["feeds"]
        .as_array()?
        .iter()
        .find(|feed| feed["author"] == did)
        .cloned()
}

fn witness_name(client: &Client) -> String {
    client.get("/v1/status").body["witness"]["name"]
        .as_str()
        .expect("a witness name")
        .to_owned()
}

#[test]
fn a_new_entry_is_covered_by_a_checkpoint_cosigned_by_two_witnesses() {
    let federation = Federation::new(3, 3);
    let clients: Vec<Client> = (0..3).map(|index| federation.client(index)).collect();
    let office = federation.nodes[0].as_ref().unwrap().authority;
    let did = office.to_did_key();
    federation.write(0, 1, "witnessed");
    let seq = feed_status(&clients[0], &did).unwrap()["seq"]
        .as_u64()
        .unwrap();
    let covered = wait_until(DEADLINE, || {
        feed_status(&clients[0], &did).is_some_and(|feed| {
            feed["checkpoint"]["size"].as_u64().unwrap_or(0) >= seq
                && feed["checkpoint"]["cosignatures"].as_u64().unwrap_or(0) >= 2
        })
    });
    assert!(
        covered,
        "no checkpoint cosigned twice: {:?}",
        feed_status(&clients[0], &did)
    );
    // The cosignatures verify, and they are the other two nodes' witnesses.
    let state = federation.nodes[0]
        .as_ref()
        .unwrap()
        .state()
        .unwrap()
        .clone();
    let stored = state.store.latest_checkpoint(&office).unwrap().unwrap();
    assert!(stored.size >= seq);
    let checkpoint = verify_feed_checkpoint(&stored.note_with_cosignatures()).unwrap();
    assert_eq!(checkpoint.checkpoint().origin(), feed_origin(&office));
    let check = checkpoint.rightsnet_cosignatures();
    assert!(check.invalid().is_empty());
    let mut cosigners: Vec<String> = check
        .valid()
        .iter()
        .map(|cosignature| cosignature.witness().name().to_owned())
        .collect();
    cosigners.sort();
    let mut others = vec![witness_name(&clients[1]), witness_name(&clients[2])];
    others.sort();
    assert_eq!(cosigners, others);
    // The root is the node's own tree at that size.
    assert_eq!(
        checkpoint.checkpoint().root(),
        &state.store.tree_root(&office, stored.size).unwrap()
    );
    // Every other node holds that checkpoint too, cosigned.
    for client in &clients[1..] {
        assert!(
            wait_until(DEADLINE, || feed_status(client, &did).is_some_and(|feed| {
                feed["checkpoint"]["size"].as_u64().unwrap_or(0) >= seq
                    && feed["checkpoint"]["cosignatures"].as_u64().unwrap_or(0) >= 1
            })),
            "{:?}",
            feed_status(client, &did)
        );
    }
}

fn add_checkpoint(client: &Client, old: u64, note: &str) -> (u16, Value) {
    let reply = client.post_raw(
        "/v1/witness/add-checkpoint",
        format!("old {old}\n\n{note}").into_bytes(),
        None,
    );
    (reply.status, reply.body)
}

/// The office (a key the test holds, trusted by every node) writes the first entry of its feed,
/// a registration of IT-TM-`number` for `mark`, at node 0; returns it once every node holds it.
fn write_first_entry(
    office: &SecretKey,
    clients: &[Client],
    number: u32,
    mark: &str,
) -> proto_types::entry::VerifiedEntry {
    let entry = UnsignedEntry {
        seq: 1,
        prev: None,
        timestamp: proto_types::timestamp::Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
        body: Body::decode(
            EntryKind::Registration,
            &json!({
                "v": 1, "right_id": format!("IT-TM-{number}"), "right_type": "trademark",
                "jurisdiction": "IT", "number": number.to_string(), "mark_text": mark,
                "nice_classes": [25], "holder": {"name": format!("{mark} Srl"), "country": "IT"},
                "filing_date": "2024-01-01", "status": "filed"
            }),
        )
        .unwrap(),
    }
    .sign(office)
    .unwrap();
    let posted = clients[0].post_raw(
        "/v1/entries",
        serde_json::to_vec(entry.value()).unwrap(),
        None,
    );
    assert_eq!(posted.status, 201, "{}", posted.body);
    let did = office.public_key().to_did_key();
    for client in clients {
        assert!(wait_until(DEADLINE, || feed_status(client, &did)
            .is_some_and(|feed| feed["seq"] == 1)));
    }
    entry
}

#[test]
fn a_forged_split_view_is_flagged_by_every_node() {
    let office = SecretKey::generate();
    let did = office.public_key().to_did_key();
    let federation = Federation::new_with_extra_trust(3, 3, &did, "IT");
    let clients: Vec<Client> = (0..3).map(|index| federation.client(index)).collect();
    // The office (a key the test holds, trusted by every node) writes one entry.
    let entry = write_first_entry(&office, &clients, 1, "Bivio");
    // Two checkpoints of size 1: the honest root (the entry's leaf hash) and a forged one,
    // each to another node.
    let honest = sign_feed_checkpoint(&office, 1, &leaf_hash(entry.canonical_bytes()));
    let forged = sign_feed_checkpoint(&office, 1, &TreeHash([7; 32]));
    let (status, body) = add_checkpoint(&clients[1], 0, &honest);
    assert_eq!(status, 200, "{body}");
    let line = body.as_str().expect("a cosignature line");
    NoteSignature::parse_line(line).expect("a signature line");
    // Refused either way: 422, the forged root is not node 2's tree, or 409 when node 2 has
    // already cosigned the honest checkpoint it received by gossip (its old size is 1 now).
    let (status, body) = add_checkpoint(&clients[2], 0, &forged);
    assert!(status == 422 || status == 409, "{status} {body}");
    // Every node ends up with the proof and flags the office.
    for (index, client) in clients.iter().enumerate() {
        let flagged = wait_until(DEADLINE, || {
            let listed = client.get("/v1/equivocations").body;
            let proved = listed["checkpoint_equivocations"]
                .as_array()
                .is_some_and(|proofs| proofs.iter().any(|proof| proof["author"] == did));
            proved && feed_status(client, &did).is_some_and(|feed| feed["split_view"] == true)
        });
        assert!(
            flagged,
            "node {index} did not flag the split view: {}",
            client.get("/v1/equivocations").body
        );
    }
    // The proof names both roots and verifies from its JSON alone.
    let listed = clients[0].get("/v1/equivocations").body;
    let proof = listed["checkpoint_equivocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|proof| proof["author"] == did)
        .unwrap()
        .clone();
    let roots = [
        proof["first_root"].as_str().unwrap().to_owned(),
        proof["second_root"].as_str().unwrap().to_owned(),
    ];
    let engine = base64::engine::general_purpose::STANDARD;
    assert!(roots.contains(&engine.encode(leaf_hash(entry.canonical_bytes()).0)));
    assert!(roots.contains(&engine.encode([7u8; 32])));
    let mut stored = proof.clone();
    for field in [
        "author",
        "first_size",
        "second_size",
        "first_root",
        "second_root",
    ] {
        stored.as_object_mut().unwrap().remove(field);
    }
    rightsnet_node::transparency::split_view::SplitViewProof::from_json(
        &serde_json::to_vec(&stored).unwrap(),
    )
    .expect("the listed proof checks");
    // A later notice's verdict would name the split view: the office's feed is flagged.
    let status = clients[1].get("/v1/status").body;
    assert!(
        status["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|feed| feed["author"] == did && feed["split_view"] == true)
    );
}

/// The measured goals on ten nodes, printed (run with `--nocapture`): how long until a
/// new entry is covered by a checkpoint two witnesses cosigned, and until a forged split view is
/// flagged by every node. No timing threshold: the deadlines only bound the test.
#[test]
fn ten_nodes_cosign_a_new_entry_and_all_flag_a_split_view() {
    const NODES: usize = 10;
    let office = SecretKey::generate();
    let did = office.public_key().to_did_key();
    let federation = Federation::new_with_extra_trust(NODES, NODES, &did, "IT");
    let clients: Vec<Client> = (0..NODES).map(|index| federation.client(index)).collect();
    let author = federation.nodes[0].as_ref().unwrap().authority.to_did_key();
    // Let the mesh form: an entry of node 0 reaches every node.
    federation.write(0, 1, "warmup");
    for client in &clients {
        assert!(wait_until(DEADLINE, || feed_status(client, &author)
            .is_some_and(|feed| feed["seq"] == 1)));
    }
    let started = std::time::Instant::now();
    federation.write(0, 1, "measured");
    let covered = wait_until(DEADLINE, || {
        feed_status(&clients[0], &author).is_some_and(|feed| {
            feed["checkpoint"]["size"].as_u64().unwrap_or(0) >= 2
                && feed["checkpoint"]["cosignatures"].as_u64().unwrap_or(0) >= 2
        })
    });
    let cosigned_after = started.elapsed();
    assert!(covered, "{:?}", feed_status(&clients[0], &author));
    // The office writes one entry; a forged checkpoint of it goes to node 9, the honest one to
    // node 1.
    let entry = write_first_entry(&office, &clients, 2, "Dieci");
    let started = std::time::Instant::now();
    let honest = sign_feed_checkpoint(&office, 1, &leaf_hash(entry.canonical_bytes()));
    let forged = sign_feed_checkpoint(&office, 1, &TreeHash([9; 32]));
    assert_eq!(add_checkpoint(&clients[1], 0, &honest).0, 200);
    let refused = add_checkpoint(&clients[NODES - 1], 0, &forged).0;
    assert!(refused == 422 || refused == 409, "{refused}");
    for (index, client) in clients.iter().enumerate() {
        assert!(
            wait_until(DEADLINE, || feed_status(client, &did)
                .is_some_and(|feed| feed["split_view"] == true)),
            "node {index}"
        );
    }
    let flagged_after = started.elapsed();
    eprintln!(
        "witness on {NODES} nodes: a new entry covered by a checkpoint with 2 cosignatures after {:.0} ms; a split view flagged by every node after {:.0} ms",
        cosigned_after.as_secs_f64() * 1000.0,
        flagged_after.as_secs_f64() * 1000.0
    );
}
