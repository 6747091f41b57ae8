//! Rotating the node's own key through `POST /v1/keys/rotate`: the rotation entry is signed by
//! the old key, the node then signs with the new key from seq 1 of its feed, keeps its rights,
//! rewrites its key file (new key current, old retired), and shows both in `GET /v1/status`.

use proto_types::body::{Body, KeyRotationV1, key_rotation_proof_message};
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::keys::{KeyFile, SecretKey};
use serde_json::{Value, json};

use super::{Auth, Federation, Role, registration};
use crate::keyring::Keyring;

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[("post", "/v1/keys/rotate")];

fn key_file(key: &SecretKey) -> Value {
    serde_json::from_str(&KeyFile::from_secret(key).to_json()).expect("a key file is JSON")
}

#[tokio::test]
async fn rotation_moves_the_feed_to_the_new_key_and_keeps_the_authority() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let original = node.authority;
    let holder = SecretKey::generate().public_key();
    node.post(
        "/v1/registrations",
        Auth::Operator,
        &registration("4100001", &holder),
    )
    .await
    .expect(201, None);
    let routine = json!({"reason": "routine", "note": "scheduled yearly rotation"});
    node.expect_operator_only("POST", "/v1/keys/rotate", Some(&routine))
        .await;

    // Refused before anything is signed: the feed does not move.
    for (bad, code) in [
        (json!({"reason": "compromise"}), "invalid_rotation"),
        (
            json!({"reason": "compromise", "compromised_since": 3}),
            "invalid_rotation",
        ),
        (
            json!({"reason": "compromise", "compromised_since": 0}),
            "invalid_rotation",
        ),
        (
            json!({"reason": "routine", "compromised_since": 1}),
            "invalid_rotation",
        ),
        (json!({"reason": "sideways"}), "invalid_field"),
        (json!({"reason": "routine", "extra": 1}), "invalid_field"),
        (
            json!({"reason": "routine", "new_key": {"publicKeyMultibase": "z6Mk", "secretKeyMultibase": "z3u2"}}),
            "invalid_field",
        ),
        (
            json!({"reason": "routine", "new_key": key_file(&federation.foreign)}),
            "invalid_rotation",
        ),
        (json!({"reason": "routine", "note": ""}), "invalid_field"),
    ] {
        node.post("/v1/keys/rotate", Auth::Operator, &bad)
            .await
            .expect(422, Some(code));
    }
    let status = node.get("/v1/status").await;
    assert_eq!(status.body["signing_key"], original.to_did_key());
    assert_eq!(status.body["key_history"], json!([]));

    // A routine rotation to a key the operator brings.
    let second = SecretKey::generate();
    let rotated = node
        .post(
            "/v1/keys/rotate",
            Auth::Operator,
            &json!({"reason": "routine", "new_key": key_file(&second), "note": "yearly"}),
        )
        .await;
    let body = rotated.expect(201, None).clone();
    assert_eq!(body["old_key"], original.to_did_key());
    assert_eq!(body["new_key"], second.public_key().to_did_key());
    assert_eq!(body["seq"], 2);
    assert_eq!(body["compromised_since"], Value::Null);
    let entry = node
        .get(&format!(
            "/v1/entries/{}",
            body["rotation_entry"].as_str().expect("an id")
        ))
        .await;
    let entry = entry.expect(200, None);
    assert_eq!(entry["entry"]["kind"], "key_rotation");
    assert_eq!(entry["entry"]["author"], original.to_did_key());
    assert_eq!(entry["entry"]["body"]["reason"], "yearly");
    assert_eq!(entry["effective"], true);

    // The node signs with the new key now, from seq 1, for the same authority and rights.
    node.post(
        "/v1/registrations",
        Auth::Operator,
        &registration("4100002", &holder),
    )
    .await
    .expect(201, None);
    let feed = node
        .get(&format!("/v1/feeds/{}", second.public_key().to_did_key()))
        .await;
    let feed = feed.expect(200, None);
    assert_eq!(feed["entries"][0]["seq"], 1);
    assert_eq!(feed["entries"][0]["prev"], Value::Null);
    node.post(
        "/v1/rights/FR-TM-4100001/status",
        Auth::Operator,
        &json!({"change": "cancelled", "effective_date": "2026-01-01", "reference": "C-1"}),
    )
    .await
    .expect(201, None);
    let status = node.get("/v1/status").await;
    let status = status.expect(200, None);
    assert_eq!(status["authority"], original.to_did_key());
    assert_eq!(status["signing_key"], second.public_key().to_did_key());
    assert_eq!(status["key_history"][0]["old_key"], original.to_did_key());
    assert_eq!(status["key_history"][0]["seq"], 2);
    assert_eq!(status["key_history"][0]["entry_id"], body["rotation_entry"]);

    // The key file holds the new key current and the old one retired.
    // (Only the path is kept: a held state would keep the writer alive at shutdown.)
    let key_path = node.state().config.authority_key.clone();
    let ring = Keyring::load(&key_path).expect("the key file is a ring");
    assert_eq!(ring.current().public_key(), second.public_key());
    assert_eq!(ring.retired()[0].public_key(), original);
    assert!(ring.pending().is_none());
    assert!(ring.secret_for(&original).is_some());

    // A key of this authority's history cannot come back.
    node.post(
        "/v1/keys/rotate",
        Auth::Operator,
        &json!({"reason": "routine", "new_key": key_file(&second)}),
    )
    .await
    .expect(422, Some("invalid_rotation"));

    // Rotating again with a generated key chains: seq 2 of the second key's feed (one
    // registration, one status before it).
    let again = node
        .post(
            "/v1/keys/rotate",
            Auth::Operator,
            &json!({"reason": "routine"}),
        )
        .await;
    let again = again.expect(201, None).clone();
    assert_eq!(again["old_key"], second.public_key().to_did_key());
    assert_eq!(again["seq"], 3);
    let status = node.get("/v1/status").await;
    let status = status.expect(200, None);
    assert_eq!(status["authority"], original.to_did_key());
    assert_eq!(status["signing_key"], again["new_key"]);
    assert_eq!(status["key_history"].as_array().map(Vec::len), Some(2));

    // Another copy of the current key rotates it away behind the node's back: the node
    // refuses to sign with it (409 key_rotated), for rotations too.
    let ring = Keyring::load(&key_path).expect("the key file is a ring");
    let current = ring.current().clone();
    let elsewhere = SecretKey::generate();
    let proof = elsewhere.sign(&key_rotation_proof_message(
        &current.public_key(),
        &elsewhere.public_key(),
    ));
    let foreign_rotation = UnsignedEntry {
        seq: 1,
        prev: None::<EntryId>,
        timestamp: crate::clock::now(),
        body: Body::KeyRotation(KeyRotationV1 {
            v: 1,
            new_key: elsewhere.public_key(),
            reason: None,
            new_key_proof: proof.to_multibase(),
            compromised_since: None,
        }),
    }
    .sign(&current)
    .expect("signs");
    node.post_bytes(
        "/v1/entries",
        Auth::Anonymous,
        &serde_json::to_vec(foreign_rotation.value()).expect("JSON"),
    )
    .await
    .expect(201, None);
    node.post("/v1/keys/rotate", Auth::Operator, &routine)
        .await
        .expect(409, Some("key_rotated"));
    federation.assert_covers(ROUTES);
    federation.stop().await;
}
