//! The witness over HTTP: `POST /v1/witness/add-checkpoint` answers every C2SP tlog-witness
//! status (200 with a cosignature that verifies, 400, 403, 404, 409 with the cosigned size,
//! 422, and 503 for a checkpoint ahead of the feed), and a forged checkpoint of the same size
//! becomes a split-view proof listed by `GET /v1/equivocations` and flagged in `GET /v1/status`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_types::body::{Body, EntryKind};
use proto_types::checkpoint::cosignature::witness_verifier_key;
use proto_types::checkpoint::{sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::entry::{EntryId, UnsignedEntry, VerifiedEntry};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::note::NoteSignature;
use proto_types::tlog::{
    HashReader, NodeId, TreeHash, append_leaf, append_siblings, consistency_proof, leaf_hash,
    tree_hash,
};
use serde_json::{Value, json};

use super::{Auth, Federation, Role};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[("post", "/v1/witness/add-checkpoint")];

const PATH: &str = "/v1/witness/add-checkpoint";

fn registration(key: &SecretKey, seq: u64, prev: Option<EntryId>) -> VerifiedEntry {
    let number = format!("40{seq}");
    let body = json!({
        "v": 1,
        "right_id": format!("DE-TM-{number}"),
        "right_type": "trademark",
        "jurisdiction": "DE",
        "number": number,
        "mark_text": "Zeuge",
        "nice_classes": [9],
        "holder": {"name": "Zeuge GmbH", "country": "DE"},
        "filing_date": "2021-01-15",
        "registration_date": "2021-06-01",
        "expiry_date": "2031-01-15",
        "status": "registered",
    });
    UnsignedEntry {
        seq,
        prev,
        timestamp: crate::clock::now(),
        body: Body::decode(EntryKind::Registration, &body).expect("a registration body"),
    }
    .sign(key)
    .expect("signs")
}

/// A feed's tree in memory, to build a checkpoint ahead of the node and its proof.
#[derive(Default)]
struct Tree {
    nodes: HashMap<NodeId, TreeHash>,
    size: u64,
}

impl HashReader for Tree {
    type Error = std::convert::Infallible;
    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, Self::Error> {
        Ok(nodes.iter().map(|node| self.nodes[node]).collect())
    }
}

impl Tree {
    fn append(&mut self, data: &[u8]) {
        let siblings = self.read_hashes(&append_siblings(self.size)).unwrap();
        for (id, hash) in append_leaf(self.size, leaf_hash(data), &siblings).unwrap() {
            self.nodes.insert(id, hash);
        }
        self.size += 1;
    }

    fn root(&mut self, size: u64) -> TreeHash {
        tree_hash(size, self).unwrap()
    }
}

fn request(old: u64, proof: &[TreeHash], note: &str) -> Vec<u8> {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&STANDARD.encode(hash.0));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body.into_bytes()
}

fn witness_key(status: &Value) -> PublicKey {
    let name = status["witness"]["name"].as_str().expect("a witness name");
    proto_types::checkpoint::cosignature::witness_key_from_name(name).expect("a witness key")
}

#[tokio::test]
async fn add_checkpoint_answers_every_witness_status_and_records_a_split_view() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let foreign = &federation.foreign;
    let mut tree = Tree::default();
    let first = registration(foreign, 1, None);
    let second = registration(foreign, 2, Some(first.id()));
    for entry in [&first, &second] {
        node.post_bytes(
            "/v1/entries",
            Auth::Anonymous,
            &serde_json::to_vec(entry.value()).unwrap(),
        )
        .await
        .expect(201, None);
        tree.append(entry.canonical_bytes());
    }
    let status = node.get("/v1/status").await.expect(200, None).clone();
    let witness = witness_key(&status);
    assert!(
        status["witness"]["vkey"]
            .as_str()
            .unwrap()
            .starts_with(status["witness"]["name"].as_str().unwrap())
    );
    let root = tree.root(2);
    let honest = sign_feed_checkpoint(foreign, 2, &root);

    // Cosigned: the answer is one cosignature line that verifies with the witness key.
    let reply = node
        .post_bytes(PATH, Auth::Anonymous, &request(0, &[], &honest))
        .await;
    let line = reply.expect(200, None).as_str().expect("text").to_owned();
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "text/plain; charset=utf-8"
    );
    let checkpoint = verify_feed_checkpoint(&honest).unwrap();
    checkpoint
        .verify_cosignature(
            &witness_verifier_key(&witness),
            &NoteSignature::parse_line(&line).unwrap(),
        )
        .expect("the cosignature verifies");
    // Asked again from 0: 409 with the size cosigned last.
    let conflict = node
        .post_bytes(PATH, Auth::Anonymous, &request(0, &[], &honest))
        .await;
    assert_eq!(conflict.status.as_u16(), 409);
    assert_eq!(conflict.headers["content-type"], "text/x.tlog.size");
    assert_eq!(
        conflict.body,
        json!(2),
        "the body is the size and a newline"
    );
    // The same checkpoint from its own size: the same cosignature, not a new one.
    let again = node
        .post_bytes(PATH, Auth::Anonymous, &request(2, &[], &honest))
        .await;
    assert_eq!(again.expect(200, None).as_str(), Some(line.as_str()));
    // The status shows the stored checkpoint with this cosignature.
    let status = node.get("/v1/status").await.expect(200, None).clone();
    let feed = status["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["author"] == foreign.public_key().to_did_key())
        .unwrap()
        .clone();
    assert_eq!(feed["checkpoint"]["size"], 2);
    assert_eq!(feed["checkpoint"]["cosignatures"], 1);
    assert_eq!(feed["split_view"], false);

    // Ahead of the feed, with a valid proof from the cosigned size: 503, retry later.
    for data in [b"three".as_slice(), b"four", b"five"] {
        tree.append(data);
    }
    let proof = consistency_proof(2, 5, &mut tree).unwrap();
    let ahead = sign_feed_checkpoint(foreign, 5, &tree.root(5));
    let reply = node
        .post_bytes(PATH, Auth::Anonymous, &request(2, &proof, &ahead))
        .await;
    reply.expect(503, Some("not_yet"));
    assert_eq!(reply.headers["retry-after"], "1");
    // A proof that does not verify: 422.
    let mut bad_proof = proof.clone();
    bad_proof[0] = TreeHash([0; 32]);
    node.post_bytes(PATH, Auth::Anonymous, &request(2, &bad_proof, &ahead))
        .await
        .expect(422, Some("inconsistent"));
    // Old size above the checkpoint's, malformed bodies: 400.
    node.post_bytes(PATH, Auth::Anonymous, &request(3, &[], &honest))
        .await
        .expect(400, Some("bad_body"));
    for junk in [
        &b"old 2\n"[..],
        b"garbage",
        b"old 02\n\nx\n",
        b"old 2\n\nnot a note\n",
    ] {
        node.post_bytes(PATH, Auth::Anonymous, junk)
            .await
            .expect(400, Some("bad_body"));
    }
    // Another key's signature under the feed's origin: 403.
    let impostor = SecretKey::generate();
    let forged_signature = sign_feed_checkpoint(&impostor, 2, &root).replace(
        &proto_types::checkpoint::feed_origin(&impostor.public_key()),
        &proto_types::checkpoint::feed_origin(&foreign.public_key()),
    );
    node.post_bytes(PATH, Auth::Anonymous, &request(2, &[], &forged_signature))
        .await
        .expect(403, Some("bad_signature"));
    // A feed of an author this node does not trust: 404.
    let stranger = sign_feed_checkpoint(&impostor, 2, &root);
    node.post_bytes(PATH, Auth::Anonymous, &request(0, &[], &stranger))
        .await
        .expect(404, Some("unknown_origin"));
    // The node's own feed: a witness does not cosign it.
    let own = node.state();
    let own_key = own.signing_key();
    own.ingest
        .append(
            Body::decode(
                EntryKind::Registration,
                &json!({
                    "v": 1, "right_id": "FR-TM-1", "right_type": "trademark", "jurisdiction": "FR",
                    "number": "1", "mark_text": "Soi", "nice_classes": [9],
                    "holder": {"name": "Soi SA", "country": "FR"}, "filing_date": "2021-01-15",
                    "registration_date": "2021-06-01", "status": "registered"
                }),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let own_root = own.store.tree_root(&own_key.public_key(), 1).unwrap();
    node.post_bytes(
        PATH,
        Auth::Anonymous,
        &request(0, &[], &sign_feed_checkpoint(&own_key, 1, &own_root)),
    )
    .await
    .expect(422, Some("inconsistent"));

    // The office signs another root at size 2: refused (422), and a split view is recorded.
    let forged = sign_feed_checkpoint(foreign, 2, &TreeHash([7; 32]));
    node.post_bytes(PATH, Auth::Anonymous, &request(2, &[], &forged))
        .await
        .expect(422, Some("inconsistent"));
    let listed = node
        .get("/v1/equivocations")
        .await
        .expect(200, None)
        .clone();
    let proofs = listed["checkpoint_equivocations"].as_array().unwrap();
    assert_eq!(proofs.len(), 1, "{listed}");
    assert_eq!(proofs[0]["author"], foreign.public_key().to_did_key());
    assert_eq!(proofs[0]["first_size"], 2);
    assert_eq!(proofs[0]["second_size"], 2);
    assert!(listed["equivocations"].as_array().unwrap().is_empty());
    let status = node.get("/v1/status").await.expect(200, None).clone();
    let flagged = status["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["author"] == foreign.public_key().to_did_key())
        .unwrap()
        .clone();
    assert_eq!(flagged["split_view"], true);
    let trust = node.get("/v1/trust").await.expect(200, None).clone();
    for authority in trust["authorities"].as_array().unwrap() {
        let is_foreign = authority["did"] == foreign.public_key().to_did_key();
        assert_eq!(
            authority.get("split_view") == Some(&json!(true)),
            is_foreign,
            "{authority}"
        );
    }
    // The checkpoint cosigned before the split view still answers its cosignature.
    node.post_bytes(PATH, Auth::Anonymous, &request(2, &[], &honest))
        .await
        .expect(200, None);
    federation.assert_covers(ROUTES);
}
