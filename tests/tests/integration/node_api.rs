//! A single node over its HTTP API: registering, changing, reading, searching, paging; auth;
//! bad input of every kind refused with the right status and nothing stored changed.

use proto_types::body::{Body, EntryKind, examples};
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};

use crate::harness::{Client, NodeFiles, TOKEN};

fn registration(number: u32, mark: &str, classes: &[u8], holder: &str) -> Value {
    json!({
        "right_type": "trademark",
        "jurisdiction": "CN",
        "number": number.to_string(),
        "mark_text": mark,
        "nice_classes": classes,
        "holder": {"name": holder, "country": "CN"},
        "filing_date": "2020-01-15",
        "registration_date": "2021-03-01",
        "expiry_date": "2031-03-01",
        "status": "registered",
    })
}

#[test]
fn register_change_read_search_and_page() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);

    let reply = client.post(
        "/v1/registrations",
        &registration(1001, "Café Lumière", &[30, 43], "Lumière SARL"),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["outcome"], "stored");
    assert_eq!(reply.body["seq"], 1);
    // The same registration again changes nothing and writes nothing.
    let again = client.post(
        "/v1/registrations",
        &registration(1001, "Café Lumière", &[30, 43], "Lumière SARL"),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["outcome"], "unchanged");

    for number in 0..120u32 {
        let mark = format!("Panda Brand {number}");
        let classes: &[u8] = if number % 2 == 0 { &[25] } else { &[9, 25] };
        let reply = client.post(
            "/v1/registrations",
            &registration(2000 + number, &mark, classes, "Bamboo Holdings"),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    let right = client.get("/v1/rights/CN-TM-1001");
    assert_eq!(right.status, 200);
    assert_eq!(right.body["mark_text"], "Café Lumière");
    assert_eq!(right.body["liveness"]["state"], "alive");
    assert_eq!(right.body["history"].as_array().unwrap().len(), 1);

    // Renew, assign, cancel: each a status entry; the state follows.
    let renewed = client.post("/v1/rights/CN-TM-1001/status", &json!({"change": "renewed", "effective_date": "2031-02-01", "new_expiry_date": "2041-03-01"}));
    assert_eq!(renewed.status, 201, "{}", renewed.body);
    let assigned = client.post("/v1/rights/CN-TM-1001/status", &json!({"change": "assigned", "effective_date": "2025-06-01", "new_holder": {"name": "Nouvelle Lumière SA", "country": "FR"}}));
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    let right = client.get("/v1/rights/CN-TM-1001");
    assert_eq!(right.body["expiry_date"], "2041-03-01");
    assert_eq!(right.body["holder"]["name"], "Nouvelle Lumière SA");
    let cancelled = client.post(
        "/v1/rights/CN-TM-1001/status",
        &json!({"change": "cancelled", "effective_date": "2026-01-10", "reason": "non-use"}),
    );
    assert_eq!(cancelled.status, 201);
    let right = client.get("/v1/rights/CN-TM-1001");
    assert_eq!(right.body["liveness"]["state"], "cancelled");
    assert_eq!(right.body["liveness"]["entry_id"], cancelled.body["id"]);
    assert_eq!(right.body["history"].as_array().unwrap().len(), 4);
    // Cancelling twice is refused: it could not change anything.
    let twice = client.post(
        "/v1/rights/CN-TM-1001/status",
        &json!({"change": "cancelled", "effective_date": "2026-01-11"}),
    );
    assert_eq!(twice.status, 409, "{}", twice.body);

    // Search: folded (case, diacritics), prefix, class, holder (the new one after assignment).
    let found = client.get("/v1/rights?mark=cafe%20LUMIERE");
    assert_eq!(found.status, 200);
    assert_eq!(found.body["rights"].as_array().unwrap().len(), 1);
    let found = client.get("/v1/rights?mark=lumi");
    assert_eq!(found.body["rights"][0]["right_id"], "CN-TM-1001");
    let found = client.get("/v1/rights?holder=nouvelle%20lumiere");
    assert_eq!(found.body["rights"].as_array().unwrap().len(), 1);
    let found = client.get("/v1/rights?holder=Lumi%C3%A8re%20SARL");
    assert_eq!(found.body["rights"].as_array().unwrap().len(), 0);
    let found = client.get("/v1/rights?mark=cafe&exact=true");
    assert_eq!(found.body["rights"].as_array().unwrap().len(), 0);
    let found = client.get("/v1/rights?class=9&jurisdiction=CN&limit=500");
    assert_eq!(found.body["rights"].as_array().unwrap().len(), 60);

    // Page through every panda mark, 25 at a time: each exactly once.
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/rights?mark=panda&limit=25&cursor={cursor}"),
            None => "/v1/rights?mark=panda&limit=25".to_owned(),
        };
        let page = client.get(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        for right in page.body["rights"].as_array().unwrap() {
            assert!(seen.insert(right["right_id"].as_str().unwrap().to_owned()));
        }
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20);
    }
    assert_eq!(seen.len(), 120);

    // The feed and status agree.
    let status = client.get("/v1/status");
    assert_eq!(status.body["authority"], files.authority);
    let feeds = status.body["feeds"].as_array().unwrap();
    assert_eq!(feeds.len(), 1);
    assert_eq!(feeds[0]["seq"], 124);
    let feed = client.get(&format!("/v1/feeds/{}?from=120&limit=10", files.authority));
    assert_eq!(feed.body["entries"].as_array().unwrap().len(), 5);
    let id = feeds[0]["id"].as_str().unwrap();
    let entry = client.get(&format!("/v1/entries/{id}"));
    assert_eq!(entry.status, 200);
    assert_eq!(entry.body["entry"]["seq"], 124);

    let openapi = client.get("/v1/openapi.json");
    assert_eq!(openapi.status, 200);
    assert!(openapi.body["paths"]["/v1/rights/{id}"]["get"].is_object());
    let metrics = client.get("/metrics");
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("rightsnet_entries_stored_total 124")
    );
}

#[test]
fn write_endpoints_need_the_operator_token() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let body = serde_json::to_vec(&registration(1, "Mark", &[1], "Holder")).unwrap();
    let missing = client.post_raw("/v1/registrations", body.clone(), None);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body["code"], "unauthorized");
    let wrong = client.post_raw(
        "/v1/registrations",
        body.clone(),
        Some("not-the-token-at-all"),
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.body["code"], "forbidden");
    let status_change = client.post_raw("/v1/rights/CN-TM-1/status", b"{}".to_vec(), None);
    assert_eq!(status_change.status, 401);
    let right = client.post_raw("/v1/registrations", body, Some(TOKEN));
    assert_eq!(right.status, 201);
}

fn foreign_entry(
    files: &NodeFiles,
    seq: u64,
    prev: Option<EntryId>,
    kind: EntryKind,
    body: Value,
) -> Value {
    let key = KeyFile::parse(&std::fs::read(&files.foreign_key).unwrap()).unwrap();
    sign_entry(&key, seq, prev, kind, body)
}

fn sign_entry(
    key: &SecretKey,
    seq: u64,
    prev: Option<EntryId>,
    kind: EntryKind,
    body: Value,
) -> Value {
    let body = Body::decode(kind, &body).unwrap();
    let entry = UnsignedEntry {
        seq,
        prev,
        timestamp: Timestamp::parse("2026-11-28T12:00:00Z").unwrap(),
        body,
    }
    .sign(key)
    .unwrap();
    entry.value().clone()
}

#[test]
fn bad_input_gets_the_right_4xx_and_changes_nothing() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);
    assert_eq!(
        client
            .post(
                "/v1/registrations",
                &registration(7, "Seven", &[3], "Holder")
            )
            .status,
        201
    );
    let before = client.get("/v1/status").body;

    let post = |path: &str, body: &[u8]| client.post_raw(path, body.to_vec(), Some(TOKEN));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/v1/registrations",
            b"{not json".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "/v1/registrations",
            b"[1,2,3]".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "/v1/registrations",
            b"{\"number\":\"1\",\"number\":\"2\"}".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["number"] = json!(8);
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["colour"] = json!("red");
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&registration(8, "X", &[46], "H")).unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["expiry_date"] = json!("2019-01-01");
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["filing_date"] = json!("2020-02-30");
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["holder"]["country"] = json!("XX");
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "  ", &[3], "H");
                r["mark_text"] = json!("  ");
                r
            })
            .unwrap(),
            422,
            "invalid_field",
        ),
        // An office of CN may not register a French right.
        (
            "/v1/registrations",
            serde_json::to_vec(&{
                let mut r = registration(8, "X", &[3], "H");
                r["jurisdiction"] = json!("FR");
                r
            })
            .unwrap(),
            409,
            "refused",
        ),
        (
            "/v1/registrations",
            vec![b' '; 2 * 1024 * 1024],
            413,
            "body_too_large",
        ),
        (
            "/v1/rights/CN-TM-7/status",
            b"{\"change\":\"exploded\",\"effective_date\":\"2026-01-01\"}".to_vec(),
            422,
            "invalid_field",
        ),
        (
            "/v1/rights/CN-TM-404/status",
            b"{\"change\":\"cancelled\",\"effective_date\":\"2026-01-01\"}".to_vec(),
            409,
            "refused",
        ),
        (
            "/v1/rights/not-an-id/status",
            b"{}".to_vec(),
            400,
            "bad_right_id",
        ),
    ];
    for (path, body, status, code) in cases {
        let reply = post(path, &body);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.body["code"], code, "{path}: {}", reply.body);
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    // Entries: forged signature, unknown author, garbage, oversized, wrong chain.
    let good = foreign_entry(
        &files,
        1,
        None,
        EntryKind::Registration,
        examples::registration(),
    );
    let mut forged = good.clone();
    forged["body"]["mark_text"] = json!("FORGED");
    let stranger = sign_entry(
        &SecretKey::generate(),
        1,
        None,
        EntryKind::Registration,
        examples::registration(),
    );
    let entry_cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (serde_json::to_vec(&forged).unwrap(), 422, "bad_signature"),
        (
            serde_json::to_vec(&stranger).unwrap(),
            403,
            "unknown_author",
        ),
        (b"\x00\x01garbage".to_vec(), 400, "malformed_json"),
        (b"{\"v\":1}".to_vec(), 422, "invalid_entry"),
        (vec![b'{'; 100_000], 413, "too_large"),
    ];
    for (body, status, code) in entry_cases {
        let reply = client.post_raw("/v1/entries", body, None);
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.body["code"], code, "{}", reply.body);
    }

    // Ids that do not exist, and malformed ones.
    assert_eq!(client.get("/v1/rights/CN-TM-999999").status, 404);
    assert_eq!(
        client
            .get(&format!("/v1/entries/{}", "ab".repeat(32)))
            .status,
        404
    );
    assert_eq!(client.get("/v1/entries/xyz").status, 400);
    assert_eq!(client.get("/v1/feeds/did:key:zzz").status, 400);
    assert_eq!(client.get("/v1/rights?class=99").status, 400);
    assert_eq!(client.get("/v1/rights?limit=100000").status, 400);
    assert_eq!(client.get("/v1/rights?bogus=1").status, 400);
    assert_eq!(client.get("/v1/nothing-here").status, 404);

    // Nothing stored changed, and the node is still up.
    let after = client.get("/v1/status").body;
    assert_eq!(before["feeds"], after["feeds"]);

    // A valid foreign entry is accepted; its successor with a gap is held back, then stored
    // once the gap is filled.
    let reply = client.post_raw("/v1/entries", serde_json::to_vec(&good).unwrap(), None);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let first_id = EntryId::from_hex(reply.body["id"].as_str().unwrap()).unwrap();
    let mut status_body = examples::status();
    status_body["right_id"] = good["body"]["right_id"].clone();
    let second = foreign_entry(
        &files,
        2,
        Some(first_id),
        EntryKind::Status,
        status_body.clone(),
    );
    let second_id = client.post_raw("/v1/entries", serde_json::to_vec(&second).unwrap(), None);
    assert_eq!(second_id.status, 201, "{}", second_id.body);
    let third = foreign_entry(
        &files,
        3,
        Some(EntryId::from_hex(second_id.body["id"].as_str().unwrap()).unwrap()),
        EntryKind::Authority,
        examples::authority(),
    );
    let fourth_prev = client.post_raw("/v1/entries", serde_json::to_vec(&third).unwrap(), None);
    assert_eq!(fourth_prev.status, 201);
    let duplicate = client.post_raw("/v1/entries", serde_json::to_vec(&good).unwrap(), None);
    assert_eq!(duplicate.status, 200);
    assert_eq!(duplicate.body["outcome"], "duplicate");
    // A different entry at seq 1: an equivocation, recorded, the first kept.
    let mut other_body = examples::registration();
    other_body["mark_text"] = json!("Another Mark");
    let fork = foreign_entry(&files, 1, None, EntryKind::Registration, other_body);
    let reply = client.post_raw("/v1/entries", serde_json::to_vec(&fork).unwrap(), None);
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.body["code"], "equivocation");
    let proofs = client.get("/v1/equivocations");
    assert_eq!(proofs.body["equivocations"].as_array().unwrap().len(), 1);
    let feeds = client.get("/v1/status").body;
    let foreign = feeds["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["author"] == files.foreign_authority.as_str())
        .unwrap()
        .clone();
    assert_eq!(foreign["seq"], 3);
}

#[test]
fn public_endpoints_are_rate_limited_per_client() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start_with_limits("rate_limit_per_second = 1\nrate_limit_burst = 5\n");
    let client = Client::new(&node.api);
    let statuses: Vec<u16> = (0..8).map(|_| client.get("/v1/status").status).collect();
    assert_eq!(&statuses[..5], &[200; 5]);
    assert_eq!(statuses[7], 429);
    let limited = client.get("/v1/status");
    assert_eq!(limited.body["code"], "rate_limited");
    // Operator writes are not rate-limited by the public limiter.
    let reply = client.post(
        "/v1/registrations",
        &registration(5, "Five", &[5], "Holder"),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
}

/// Issue 10, item 2: a node whose own key was rotated away (the rotation arrived as an entry,
/// signed by that very key) refuses to sign anything more with it (409 `key_rotated`), so the
/// authority's feed cannot fork; the feed ends at the rotation entry.
#[test]
fn issue10_a_node_refuses_to_sign_with_its_rotated_away_key() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let own =
        KeyFile::parse(&std::fs::read(files.dir.path().join("authority.json")).unwrap()).unwrap();
    let holder = SecretKey::generate();
    let mut first = registration(7001, "Rotating Mark", &[25], "Holder Ltd");
    first["holder"]["key"] = json!(holder.public_key().to_did_key());
    let reply = client.post("/v1/registrations", &first);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let first_id = EntryId::from_hex(reply.body["id"].as_str().unwrap()).unwrap();

    let new = SecretKey::generate();
    let message =
        proto_types::body::key_rotation_proof_message(&own.public_key(), &new.public_key());
    let rotation = json!({
        "v": 1,
        "new_key": new.public_key().to_did_key(),
        "new_key_proof": new.sign(&message).to_multibase(),
    });
    let rotation = sign_entry(&own, 2, Some(first_id), EntryKind::KeyRotation, rotation);
    let reply = client.post_raw("/v1/entries", serde_json::to_vec(&rotation).unwrap(), None);
    assert_eq!(reply.status, 201, "{}", reply.body);

    let refused = [
        client.post(
            "/v1/registrations",
            &registration(7002, "After", &[25], "Other"),
        ),
        client.post(
            "/v1/rights/CN-TM-7001/status",
            &json!({"change": "cancelled", "effective_date": "2026-01-10"}),
        ),
        client.post(
            "/v1/credentials",
            &json!({"right_id": "CN-TM-7001", "holder": holder.public_key().to_did_key()}),
        ),
    ];
    for reply in refused {
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert_eq!(reply.body["code"], "key_rotated", "{}", reply.body);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("rotated away at seq 2"),
            "{}",
            reply.body
        );
    }
    let status = client.get("/v1/status");
    let feed = status.body["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["author"] == files.authority)
        .cloned()
        .unwrap();
    assert_eq!(feed["seq"], 2, "the feed ends at the rotation: {feed}");
}

/// Issue 10, item 14: a route that takes no request body refuses one (400 `unexpected_body`),
/// as the OpenAPI document says, and still works without one.
#[test]
fn issue10_routes_without_a_body_refuse_one() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let http = reqwest::blocking::Client::new();
    let peer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    for path in [
        format!("/v1/peers/{peer}/block"),
        format!("/v1/peers/{peer}/unblock"),
    ] {
        let noise: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let reply = client.post_raw(&path, noise, Some(crate::harness::TOKEN));
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.body["code"], "unexpected_body", "{}", reply.body);
        // A chunked body (no Content-Length) is refused too.
        let chunks = chunked_body();
        let reply = http
            .post(format!("{}{path}", node.api))
            .bearer_auth(crate::harness::TOKEN)
            .body(chunks)
            .send()
            .unwrap();
        assert_eq!(reply.status().as_u16(), 400, "{path} chunked");
        // Without a body the route does its work.
        let reply = client.post_raw(&path, Vec::new(), Some(crate::harness::TOKEN));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let reply = http
        .get(format!("{}/v1/status", node.api))
        .body("{\"x\": 1}")
        .send()
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);
    // The document says so: no requestBody, and a 400 response.
    let document = client.get("/v1/openapi.json").body;
    let block = &document["paths"]["/v1/peers/{peer_id}/block"]["post"];
    assert!(block["requestBody"].is_null(), "{block}");
    assert!(block["responses"]["400"].is_object(), "{block}");
    assert!(document["paths"]["/v1/registrations"]["post"]["requestBody"].is_object());
}

/// A body that reqwest sends chunked: a reader of unknown length.
fn chunked_body() -> reqwest::blocking::Body {
    reqwest::blocking::Body::new(std::io::Cursor::new(b"random bytes".to_vec()))
}

/// Issue 10, item 18: a different registration body for a right already registered never
/// changes its holder, expiry or status silently: 409 naming the status change to use. Other
/// fields are corrected, and the correction shows in the right's history as such.
#[test]
fn issue10_re_registering_a_right_never_changes_its_holder_silently() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let original = registration(8001, "Original Mark", &[25], "First Holder");
    assert_eq!(client.post("/v1/registrations", &original).status, 201);

    let mut other_holder = original.clone();
    other_holder["holder"]["name"] = json!("Someone Else");
    let mut other_expiry = original.clone();
    other_expiry["expiry_date"] = json!("2041-03-01");
    let mut other_status = original.clone();
    other_status["status"] = json!("cancelled");
    for (body, names) in [
        (other_holder, "assigned"),
        (other_expiry, "renewed"),
        (other_status, "cancelled"),
    ] {
        let reply = client.post("/v1/registrations", &body);
        assert_eq!(reply.status, 409, "{}", reply.body);
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(names), "{message}");
    }
    let right = client.get("/v1/rights/CN-TM-8001").body;
    assert_eq!(right["holder"]["name"], "First Holder");
    assert_eq!(right["expiry_date"], "2031-03-01");
    assert_eq!(right["history"].as_array().unwrap().len(), 1);

    // A correction of what has no status change of its own is recorded, and says so.
    let mut corrected = original.clone();
    corrected["mark_text"] = json!("Original Mark II");
    corrected["nice_classes"] = json!([25, 35]);
    let reply = client.post("/v1/registrations", &corrected);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let right = client.get("/v1/rights/CN-TM-8001").body;
    assert_eq!(right["mark_text"], "Original Mark II");
    let changes: Vec<&str> = right["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["registration", "correction"]);

    // The importer's register-or-update keeps its explicit status entries for a new holder.
    let mut imported = corrected.clone();
    imported["holder"]["name"] = json!("Buyer Corp");
    let reply = client.post("/v1/registrations/batch", &json!({"items": [imported]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let right = client.get("/v1/rights/CN-TM-8001").body;
    assert_eq!(right["holder"]["name"], "Buyer Corp");
    let last = right["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["change"], "assigned", "{right}");
}

/// Issue 10, item 19: `/metrics` tells the truth about a fresh node with data: the store's size
/// is not 0, and refusals by the API (a registration the node will not sign, an entry too
/// large to read) are counted in `rightsnet_entries_rejected_total`.
#[test]
fn issue10_metrics_count_the_store_and_every_refusal() {
    let files = NodeFiles::office(&["CN"]);
    let node = files.start_with_limits(
        "rate_limit_per_second = 100000\nrate_limit_burst = 100000\nmax_body_bytes = 65536\n",
    );
    let client = Client::new(&node.api);
    let before = metric(&node.api, "rightsnet_storage_estimated_bytes ");
    for number in 0..50 {
        let reply = client.post(
            "/v1/registrations",
            &registration(9100 + number, "Metric", &[25], "H"),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // FR is not this office's jurisdiction: refused (409).
    let mut foreign = registration(9002, "Elsewhere", &[25], "H");
    foreign["jurisdiction"] = json!("FR");
    assert_eq!(client.post("/v1/registrations", &foreign).status, 409);
    let huge = vec![b' '; 70_000];
    assert_eq!(client.post_raw("/v1/entries", huge, None).status, 413);

    let after = metric(&node.api, "rightsnet_storage_estimated_bytes ");
    assert!(
        after > before,
        "store size {before} -> {after} after 50 writes"
    );
    let refused = "rightsnet_entries_rejected_total{reason=\"refused\"}";
    assert_eq!(metric(&node.api, refused), 1.0);
    let too_large = "rightsnet_entries_rejected_total{reason=\"too_large\"}";
    assert_eq!(metric(&node.api, too_large), 1.0);
}

/// The value of the first line of `/metrics` that starts with `prefix`.
fn metric(api: &str, prefix: &str) -> f64 {
    let metrics = reqwest::blocking::get(format!("{api}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    metrics
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in:\n{metrics}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
