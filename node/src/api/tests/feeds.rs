//! Feeds and entries: entries signed by a foreign office, submitted, read back by id and by
//! feed; every outcome of a submission; equivocation proofs.

use proto_types::body::{Body, EntryKind};
use proto_types::entry::{EntryId, MAX_ENTRY_BYTES, UnsignedEntry, VerifiedEntry};
use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, MAX_BODY_BYTES, Role};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/feeds"),
    ("get", "/v1/feeds/{author}"),
    ("get", "/v1/entries/{id}"),
    ("post", "/v1/entries"),
    ("get", "/v1/equivocations"),
];

/// A registration of right `<jurisdiction>-TM-<number>` signed by `key` at `seq`.
fn signed_registration(
    key: &SecretKey,
    seq: u64,
    prev: Option<EntryId>,
    jurisdiction: &str,
    number: &str,
) -> VerifiedEntry {
    let body = json!({
        "v": 1,
        "right_id": format!("{jurisdiction}-TM-{number}"),
        "right_type": "trademark",
        "jurisdiction": jurisdiction,
        "number": number,
        "mark_text": "Edelweiß",
        "nice_classes": [25],
        "holder": {"name": "Edelweiß GmbH", "country": "DE"},
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

fn bytes(entry: &VerifiedEntry) -> Vec<u8> {
    serde_json::to_vec(entry.value()).expect("JSON serialises")
}

#[tokio::test]
async fn entries_submitted_read_by_id_and_by_feed_and_equivocations() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let foreign = &federation.foreign;
    let foreign_did = foreign.public_key().to_did_key();

    // Submissions: stored, duplicate, stored but ineffective, held back, equivocation.
    let first = signed_registration(foreign, 1, None, "DE", "3020001");
    let stored = node
        .post_bytes("/v1/entries", Auth::Anonymous, &bytes(&first))
        .await;
    let body = stored.expect(201, None);
    assert_eq!(body["outcome"], "stored");
    assert_eq!(body["id"], first.id().to_hex());
    assert_eq!(body["author"], foreign_did.as_str());
    let duplicate = node
        .post_bytes("/v1/entries", Auth::Anonymous, &bytes(&first))
        .await;
    assert_eq!(duplicate.expect(200, None)["outcome"], "duplicate");
    // The foreign office is trusted for DE only: its FR registration is stored, not applied.
    let second = signed_registration(foreign, 2, Some(first.id()), "FR", "777");
    let ineffective = node
        .post_bytes("/v1/entries", Auth::Anonymous, &bytes(&second))
        .await;
    let body = ineffective.expect(201, None);
    assert_eq!(
        body["ineffective"],
        "author is not an office trusted for jurisdiction FR"
    );
    let early = signed_registration(foreign, 4, Some(EntryId([9; 32])), "DE", "3020004");
    let held = node
        .post_bytes("/v1/entries", Auth::Anonymous, &bytes(&early))
        .await;
    let body = held.expect(202, None);
    assert_eq!(body["outcome"], "held_back");
    assert_eq!(body["missing_from"], 3);
    let fork = signed_registration(foreign, 1, None, "DE", "3020009");
    let equivocation = node
        .post_bytes("/v1/entries", Auth::Anonymous, &bytes(&fork))
        .await;
    let body = equivocation.expect(409, Some("equivocation"));
    assert_eq!(body["kept"], first.id().to_hex());
    assert_eq!(body["refused"], fork.id().to_hex());
    // Refusals: unknown author, bad signature, malformed, too large for an entry, too large
    // for a request.
    let stranger = signed_registration(&SecretKey::generate(), 1, None, "DE", "1");
    node.post_bytes("/v1/entries", Auth::Anonymous, &bytes(&stranger))
        .await
        .expect(403, Some("unknown_author"));
    let mut tampered = first.value().clone();
    tampered["body"]["mark_text"] = json!("Edelweiss");
    node.post("/v1/entries", Auth::Anonymous, &tampered)
        .await
        .expect(422, Some("bad_signature"));
    node.post_bytes("/v1/entries", Auth::Anonymous, b"{\"seq\": 1,")
        .await
        .expect(400, Some("malformed_json"));
    let large = json!({"padding": "x".repeat(MAX_ENTRY_BYTES + 1)});
    node.post("/v1/entries", Auth::Anonymous, &large)
        .await
        .expect(413, Some("too_large"));
    node.post_bytes(
        "/v1/entries",
        Auth::Anonymous,
        &vec![b' '; MAX_BODY_BYTES + 1],
    )
    .await
    .expect(413, Some("body_too_large"));

    // One entry by id.
    let entry = node.get(&format!("/v1/entries/{}", first.id())).await;
    let body = entry.expect(200, None);
    assert_eq!(body["id"], first.id().to_hex());
    assert_eq!(&body["entry"], first.value());
    assert_eq!(body["effective"], true);
    assert_eq!(body["ineffective_reason"], Value::Null);
    let entry = node.get(&format!("/v1/entries/{}", second.id())).await;
    let body = entry.expect(200, None);
    assert_eq!(body["effective"], false);
    assert_eq!(
        body["ineffective_reason"],
        "author is not an office trusted for jurisdiction FR"
    );
    let unknown = node.get(&format!("/v1/entries/{}", "ab".repeat(32))).await;
    unknown.expect(404, Some("not_found"));
    assert_eq!(unknown.message(), format!("no entry {}", "ab".repeat(32)));
    node.get("/v1/entries/xyz")
        .await
        .expect(400, Some("bad_entry_id"));
    node.expect_body_refused(
        "GET",
        &format!("/v1/entries/{}", first.id()),
        Auth::Anonymous,
    )
    .await;

    // Feeds.
    let feeds = node.get("/v1/feeds").await;
    let body = feeds.expect(200, None);
    let listed = body["feeds"].as_array().expect("feeds");
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["author"], foreign_did.as_str());
    assert_eq!(listed[0]["name"], "Foreign Office");
    assert_eq!(listed[0]["role"], "office");
    assert_eq!(listed[0]["seq"], 2);
    assert_eq!(listed[0]["id"], second.id().to_hex());
    node.expect_body_refused("GET", "/v1/feeds", Auth::Anonymous)
        .await;
    let feed = node.get(&format!("/v1/feeds/{foreign_did}")).await;
    let body = feed.expect(200, None);
    assert_eq!(body["entries"], json!([first.value(), second.value()]));
    assert_eq!(body["next_from"], 3);
    let page = node
        .get(&format!("/v1/feeds/{foreign_did}?from=2&limit=1"))
        .await;
    let body = page.expect(200, None);
    assert_eq!(body["entries"], json!([second.value()]));
    let past_the_end = node.get(&format!("/v1/feeds/{foreign_did}?from=3")).await;
    let body = past_the_end.expect(200, None);
    assert_eq!(body["entries"], json!([]));
    assert_eq!(body["next_from"], Value::Null);
    node.get("/v1/feeds/did:key:nothing")
        .await
        .expect(400, Some("bad_author"));
    for query in ["limit=0", "from=first", "sort=desc"] {
        node.get(&format!("/v1/feeds/{foreign_did}?{query}"))
            .await
            .expect(400, Some("bad_query"));
    }
    node.expect_body_refused("GET", &format!("/v1/feeds/{foreign_did}"), Auth::Anonymous)
        .await;

    // Equivocation proofs.
    let proofs = node.get("/v1/equivocations").await;
    let body = proofs.expect(200, None);
    let listed = body["equivocations"].as_array().expect("proofs");
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["author"], foreign_did.as_str());
    assert_eq!(listed[0]["seq"], 1);
    assert_eq!(&listed[0]["first"], first.value());
    assert_eq!(&listed[0]["second"], fork.value());
    let limited = node.get("/v1/equivocations?limit=0").await;
    assert_eq!(
        limited.expect(200, None)["equivocations"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "a limit below 1 is raised to 1"
    );
    node.get("/v1/equivocations?limit=many")
        .await
        .expect(400, Some("bad_query"));
    node.expect_body_refused("GET", "/v1/equivocations", Auth::Anonymous)
        .await;

    federation.assert_covers(ROUTES);
    federation.stop().await;
}
