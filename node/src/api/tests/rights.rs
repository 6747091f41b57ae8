//! Rights: registration (one and a batch), status changes, reading and searching.

use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, MAX_BODY_BYTES, Role, registration};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/registrations"),
    ("post", "/v1/registrations/batch"),
    ("post", "/v1/rights/{id}/status"),
    ("get", "/v1/rights/{id}"),
    ("get", "/v1/rights"),
];

#[tokio::test]
async fn registrations_status_changes_reads_and_searches() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let holder = SecretKey::generate().public_key();

    // Register: stored, then the same again changes nothing.
    let request = registration("4123456", &holder);
    node.expect_operator_only("POST", "/v1/registrations", Some(&request))
        .await;
    let stored = node
        .post("/v1/registrations", Auth::Operator, &request)
        .await;
    let body = stored.expect(201, None);
    assert_eq!(body["outcome"], "stored");
    assert_eq!(body["seq"], 1);
    assert_eq!(body["author"], node.authority.to_did_key());
    let registration_id = body["id"].as_str().expect("an entry id").to_owned();
    let again = node
        .post("/v1/registrations", Auth::Operator, &request)
        .await;
    let body = again.expect(200, None);
    assert_eq!(body["outcome"], "unchanged");
    assert_eq!(body["last_entry"], registration_id.as_str());
    // Bad input: not JSON, not an object, a field out of bounds; and a right of a jurisdiction
    // this office is not trusted for is refused.
    node.post_bytes("/v1/registrations", Auth::Operator, b"{\"right_type\": ")
        .await
        .expect(400, Some("malformed_json"));
    node.post_bytes("/v1/registrations", Auth::Operator, b"[1]")
        .await
        .expect(400, Some("malformed_json"));
    let mut bad_class = registration("4123457", &holder);
    bad_class["nice_classes"] = json!([46]);
    let invalid = node
        .post("/v1/registrations", Auth::Operator, &bad_class)
        .await;
    invalid.expect(422, Some("invalid_field"));
    assert!(
        invalid.message().starts_with("nice_classes[0]: "),
        "{}",
        invalid.body
    );
    let mut german = registration("4123458", &holder);
    german["jurisdiction"] = json!("DE");
    let refused = node
        .post("/v1/registrations", Auth::Operator, &german)
        .await;
    refused.expect(409, Some("refused"));
    assert_eq!(
        refused.message(),
        "author is not an office trusted for jurisdiction DE"
    );

    // A batch: a new right, an identical one, and an item that is not one; each its result.
    let batch = json!({"items": [
        registration("5000001", &holder),
        request,
        {"right_type": "trademark"},
        "not an object",
    ]});
    node.expect_operator_only("POST", "/v1/registrations/batch", Some(&batch))
        .await;
    let results = node
        .post("/v1/registrations/batch", Auth::Operator, &batch)
        .await;
    let body = results.expect(200, None);
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["index"], 0);
    assert_eq!(results[0]["right_id"], "FR-TM-5000001");
    assert_eq!(results[0]["outcomes"][0]["outcome"], "stored");
    assert_eq!(results[1]["right_id"], "FR-TM-4123456");
    assert_eq!(
        results[1]["outcomes"][0]["outcome"], "unchanged",
        "{}",
        results[1]
    );
    assert_eq!(results[2]["error"]["code"], "invalid_field");
    assert_eq!(results[3]["error"]["code"], "invalid_field");
    assert_eq!(results[3]["error"]["message"], "item must be an object");
    node.post(
        "/v1/registrations/batch",
        Auth::Operator,
        &json!({"items": 1}),
    )
    .await
    .expect(422, Some("invalid_field"));
    let unknown = node
        .post(
            "/v1/registrations/batch",
            Auth::Operator,
            &json!({"items": [], "extra": true}),
        )
        .await;
    unknown.expect(422, Some("invalid_field"));
    assert_eq!(unknown.message(), "unknown field \"extra\"");
    let too_many = json!({"items": vec![Value::Null; crate::upsert::MAX_BATCH_ITEMS + 1]});
    node.post("/v1/registrations/batch", Auth::Operator, &too_many)
        .await
        .expect(422, Some("invalid_field"));
    let oversized = vec![b' '; MAX_BODY_BYTES + 1];
    node.post_bytes("/v1/registrations/batch", Auth::Operator, &oversized)
        .await
        .expect(413, Some("body_too_large"));

    // Status changes.
    let renewal = json!({"change": "renewed", "effective_date": "2025-01-15", "new_expiry_date": "2045-01-15"});
    node.expect_operator_only("POST", "/v1/rights/FR-TM-4123456/status", Some(&renewal))
        .await;
    let renewed = node
        .post("/v1/rights/FR-TM-4123456/status", Auth::Operator, &renewal)
        .await;
    assert_eq!(renewed.expect(201, None)["seq"], 3);
    let same = node
        .post("/v1/rights/FR-TM-4123456/status", Auth::Operator, &renewal)
        .await;
    assert_eq!(same.expect(200, None)["outcome"], "unchanged");
    node.post("/v1/rights/not-a-right/status", Auth::Operator, &renewal)
        .await
        .expect(400, Some("bad_right_id"));
    let mut elsewhere = renewal.clone();
    elsewhere["right_id"] = json!("FR-TM-1");
    let differs = node
        .post(
            "/v1/rights/FR-TM-4123456/status",
            Auth::Operator,
            &elsewhere,
        )
        .await;
    differs.expect(422, Some("invalid_field"));
    assert_eq!(
        differs.message(),
        "right_id: differs from the right in the path"
    );
    let unknown_right = node
        .post("/v1/rights/FR-TM-999/status", Auth::Operator, &renewal)
        .await;
    unknown_right.expect(409, Some("refused"));

    // Read one.
    let right = node.get("/v1/rights/FR-TM-4123456").await;
    let body = right.expect(200, None);
    assert_eq!(body["right_id"], "FR-TM-4123456");
    assert_eq!(body["expiry_date"], "2045-01-15");
    assert_eq!(body["liveness"]["state"], "alive");
    assert_eq!(body["registered_by"], node.authority.to_did_key());
    assert_eq!(body["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["history"][0]["entry_id"], registration_id.as_str());
    let missing = node.get("/v1/rights/FR-TM-999").await;
    missing.expect(404, Some("not_found"));
    assert_eq!(
        missing.message(),
        "no right FR-TM-999 is known to this node"
    );
    node.get("/v1/rights/FR-XX-1")
        .await
        .expect(400, Some("bad_right_id"));
    node.expect_body_refused("GET", "/v1/rights/FR-TM-4123456", Auth::Anonymous)
        .await;

    // Search.
    let found = node.get("/v1/rights?mark=lumi&class=25").await;
    let body = found.expect(200, None);
    let ids: Vec<&str> = body["rights"]
        .as_array()
        .expect("rights")
        .iter()
        .filter_map(|right| right["right_id"].as_str())
        .collect();
    assert_eq!(ids, ["FR-TM-4123456", "FR-TM-5000001"]);
    assert_eq!(body["next_cursor"], Value::Null);
    assert_eq!(body["rights"][0]["liveness"]["state"], "alive");
    let paged = node.get("/v1/rights?jurisdiction=FR&limit=1").await;
    let body = paged.expect(200, None);
    assert_eq!(body["rights"].as_array().map(Vec::len), Some(1));
    let cursor = body["next_cursor"].as_str().expect("a next page");
    let next = node
        .get(&format!(
            "/v1/rights?jurisdiction=FR&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        next.expect(200, None)["rights"][0]["right_id"],
        "FR-TM-5000001"
    );
    let holder_did = holder.to_did_key();
    let by_holder = node.get(&format!("/v1/rights?holder={holder_did}")).await;
    assert_eq!(
        by_holder.expect(200, None)["rights"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    for bad in [
        "/v1/rights?limit=0",
        "/v1/rights?class=46",
        "/v1/rights?mark=%21%21",
        "/v1/rights?unknown=1",
        "/v1/rights?cursor=zz",
    ] {
        node.get(bad).await.expect(400, Some("bad_query"));
    }
    node.expect_body_refused("GET", "/v1/rights", Auth::Anonymous)
        .await;

    federation.assert_covers(ROUTES);
    federation.stop().await;
}

/// A mark search over HTTP: ranked (exact, words, prefix) with each result's `match`, paged
/// through tiers at one right a page with nothing lost or repeated, a bounded total on the first
/// page only, and cursors that name no tier (or another search's tier) refused.
#[tokio::test]
async fn mark_searches_are_ranked_paged_across_tiers_and_counted() {
    let federation = Federation::start(&[Role::Office], false).await;
    let node = &federation.nodes[0];
    let holder = SecretKey::generate().public_key();
    // Registered in an order that is not the ranking's.
    for (number, mark) in [
        ("1000001", "Soleil Noir Boutique"),
        ("1000002", "Noir Soleillant"),
        ("1000003", "SOLEIL-NOIR"),
        ("1000004", "Soleil d'Or"),
        ("1000005", "Noir Soleil"),
        ("1000006", "Lune Noire"),
    ] {
        let mut request = registration(number, &holder);
        request["mark_text"] = json!(mark);
        node.post("/v1/registrations", Auth::Operator, &request)
            .await
            .expect(201, None);
    }
    let ranked = |body: &Value| -> Vec<(String, String)> {
        body["rights"]
            .as_array()
            .expect("rights")
            .iter()
            .map(|right| {
                (
                    right["right_id"].as_str().expect("an id").to_owned(),
                    right["match"].as_str().expect("a tier").to_owned(),
                )
            })
            .collect()
    };
    let pair = |id: &str, tier: &str| (format!("FR-TM-{id}"), tier.to_owned());
    let body = node
        .get("/v1/rights?mark=noir%20soleil")
        .await
        .expect(200, None)
        .clone();
    // "Noir Soleil" is the query folded: the exact tier. Word order does not matter below it.
    assert_eq!(
        ranked(&body),
        vec![
            pair("1000005", "exact"),
            pair("1000001", "words"),
            pair("1000003", "words"),
            pair("1000002", "prefix"),
        ]
    );
    assert_eq!(body["total"], json!({"value": 4, "relation": "eq"}));
    // One right a page, across the tiers: the same answer, a total on the first page only.
    // ("Noir Soleillant" is not under "soleil noir": `soleil` is not a whole word of it.)
    let expected = vec![
        pair("1000003", "exact"),
        pair("1000001", "words"),
        pair("1000005", "words"),
    ];
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 20, "the pages never end");
        let path = match &cursor {
            Some(cursor) => format!("/v1/rights?mark=Soleil%20NOIR&limit=1&cursor={cursor}"),
            None => "/v1/rights?mark=Soleil%20NOIR&limit=1".to_owned(),
        };
        let body = node.get(&path).await.expect(200, None).clone();
        assert_eq!(body.get("total").is_some(), page == 0, "{body}");
        if page == 0 {
            assert_eq!(body["total"], json!({"value": 3, "relation": "eq"}));
        }
        paged.extend(ranked(&body));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, expected);
    // One word: the exact tier is empty, whole words before the longer word.
    let body = node
        .get("/v1/rights?mark=SOLEIL")
        .await
        .expect(200, None)
        .clone();
    let tiers: Vec<String> = ranked(&body).into_iter().map(|(_, tier)| tier).collect();
    assert_eq!(tiers, ["words", "words", "words", "words", "prefix"]);
    assert_eq!(ranked(&body)[4], pair("1000002", "prefix"));
    // Exact only: the first tier alone.
    let body = node
        .get("/v1/rights?mark=soleil%20noir&exact=true")
        .await
        .expect(200, None)
        .clone();
    assert_eq!(ranked(&body), vec![pair("1000003", "exact")]);
    // A search without a mark has no tiers.
    let body = node
        .get("/v1/rights?class=25")
        .await
        .expect(200, None)
        .clone();
    assert!(body["rights"][0].get("match").is_none(), "{body}");
    assert_eq!(body["total"], json!({"value": 6, "relation": "eq"}));
    // Cursors: no tier, an unknown tier, a words tier for an exact search: refused. A tier's
    // cursor with a made-up position answers, without failing.
    for bad in [
        "/v1/rights?mark=soleil&cursor=00",
        "/v1/rights?mark=soleil&cursor=5a",
        "/v1/rights?mark=soleil&exact=true&cursor=57",
    ] {
        node.get(bad).await.expect(400, Some("bad_query"));
    }
    for odd in [
        "/v1/rights?mark=soleil&cursor=57",
        "/v1/rights?mark=soleil&cursor=50ffff",
        "/v1/rights?mark=soleil%20noir&cursor=5746522d544d2d31303030303032",
        "/v1/rights?mark=soleil&cursor=",
    ] {
        node.get(odd).await.expect(200, None);
    }
    federation.stop().await;
}
