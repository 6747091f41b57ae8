//! Credentials and claims, on an office and a marketplace: the office registers a right and
//! issues its holder a credential; the marketplace, given the office's feed, judges and records
//! the holder's notices, then decisions, a counter-notice, and the views over them. The office
//! (no `[marketplace]` policy) refuses every marketplace route.

use proto_types::claims::{sign_notice, verify_credential};
use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, Role, TestNode, registration};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/credentials"),
    ("post", "/v1/verify"),
    ("post", "/v1/notices"),
    ("post", "/v1/decisions"),
    ("post", "/v1/counter-notices"),
    ("get", "/v1/claims"),
    ("get", "/v1/holders/{did}/accuracy"),
    ("get", "/v1/sellers/{seller_ref}/strikes"),
];

const RIGHT_ID: &str = "FR-TM-4123456";

/// A notice by `holder` to `marketplace` about [`RIGHT_ID`], listing class 25, created now.
fn notice(holder: &SecretKey, marketplace: &TestNode, credential: &Value, nonce: &str) -> Value {
    let unsigned = json!({
        "v": 1,
        "marketplace": marketplace.authority.to_did_key(),
        "right_id": RIGHT_ID,
        "holder": holder.public_key().to_did_key(),
        "listings": [{"id": "listing-88123", "url": "https://shop.example/item/88123", "class": 25}],
        "reason": "counterfeit",
        "evidence": [{
            "kind": "test_purchase",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "result": "counterfeit: wrong hologram, no serial",
        }],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": nonce,
        "created": crate::clock::now().as_str(),
        "credential": credential,
    });
    sign_notice(&unsigned, holder).expect("the holder signs")
}

/// The codes of a verdict's failed reasons.
fn failed(verdict: &Value) -> Vec<&str> {
    verdict["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|reason| reason["ok"] == false)
        .filter_map(|reason| reason["code"].as_str())
        .collect()
}

/// Every marketplace route answers 409 `not_a_marketplace` on an office.
async fn expect_not_a_marketplace(office: &TestNode, holder: &str) {
    for (path, auth) in [
        ("/v1/verify", Auth::Anonymous),
        ("/v1/notices", Auth::Anonymous),
        ("/v1/decisions", Auth::Operator),
        ("/v1/counter-notices", Auth::Operator),
    ] {
        office
            .post(path, auth, &json!({}))
            .await
            .expect(409, Some("not_a_marketplace"));
    }
    for path in [
        format!("/v1/holders/{holder}/accuracy"),
        format!("/v1/sellers/{}/strikes", "0".repeat(64)),
    ] {
        office
            .get(&path)
            .await
            .expect(409, Some("not_a_marketplace"));
    }
}

#[tokio::test]
async fn credentials_notices_decisions_counter_notices_and_views() {
    let federation = Federation::start(&[Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let market = &federation.nodes[1];
    let holder = SecretKey::generate();
    let holder_did = holder.public_key().to_did_key();
    office
        .post(
            "/v1/registrations",
            Auth::Operator,
            &registration("4123456", &holder.public_key()),
        )
        .await
        .expect(201, None);

    // The office issues the holder a credential.
    let request = json!({"right_id": RIGHT_ID, "holder": holder_did});
    office
        .expect_operator_only("POST", "/v1/credentials", Some(&request))
        .await;
    let issued = office
        .post("/v1/credentials", Auth::Operator, &request)
        .await;
    let credential = issued.expect(201, None).clone();
    let verified = verify_credential(&credential).expect("the credential verifies");
    assert_eq!(verified.issuer, office.authority);
    assert_eq!(verified.subject, holder.public_key());
    assert_eq!(credential["type"][1], "IPRightCredential");
    assert_eq!(credential["validUntil"], "2035-01-15T23:59:59Z");
    let mut shorter = request.clone();
    shorter["valid_until"] = json!("2030-01-01T00:00:00Z");
    let short = office
        .post("/v1/credentials", Auth::Operator, &shorter)
        .await;
    assert_eq!(
        short.expect(201, None)["validUntil"],
        "2030-01-01T00:00:00Z"
    );
    for (field, value, prefix) in [
        ("holder", json!("did:key:zNothing"), "holder: "),
        ("right_id", json!("FR-XX-1"), "right_id: "),
        ("valid_until", json!("tomorrow"), "valid_until: "),
        ("colour", json!("blue"), "unknown field `colour`"),
    ] {
        let mut bad = request.clone();
        bad[field] = value;
        let reply = office.post("/v1/credentials", Auth::Operator, &bad).await;
        reply.expect(422, Some("invalid_field"));
        assert!(reply.message().starts_with(prefix), "{}", reply.body);
    }
    let unknown = office
        .post(
            "/v1/credentials",
            Auth::Operator,
            &json!({"right_id": "FR-TM-999", "holder": holder_did}),
        )
        .await;
    unknown.expect(404, Some("not_found"));
    let stranger = SecretKey::generate().public_key().to_did_key();
    let refused = office
        .post(
            "/v1/credentials",
            Auth::Operator,
            &json!({"right_id": RIGHT_ID, "holder": stranger}),
        )
        .await;
    refused.expect(409, Some("refused"));
    assert_eq!(
        refused.message(),
        format!("the registry does not name {stranger} as the holder key of {RIGHT_ID}")
    );
    office
        .post_bytes("/v1/credentials", Auth::Operator, b"{\"right_id\"")
        .await
        .expect(400, Some("malformed_json"));

    // The marketplace learns the office's register through its feed.
    let feed = office
        .get(&format!("/v1/feeds/{}", office.authority.to_did_key()))
        .await;
    for entry in feed.expect(200, None)["entries"]
        .as_array()
        .expect("entries")
    {
        market
            .post("/v1/entries", Auth::Anonymous, entry)
            .await
            .expect(201, None);
    }
    assert_eq!(feed.body["entries"][0]["body"]["right_id"], RIGHT_ID);

    // The dry run, then the notice.
    let first = notice(&holder, market, &credential, &"1a".repeat(16));
    let first_bytes = serde_json::to_vec(&first).expect("JSON serialises");
    let dry = market
        .post_bytes("/v1/verify", Auth::Anonymous, &first_bytes)
        .await;
    let verdict = &dry.expect(200, None)["verdict"];
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert_eq!(failed(verdict), Vec::<&str>::new());
    market
        .post_bytes("/v1/verify", Auth::Anonymous, b"{")
        .await
        .expect(400, Some("malformed_json"));
    market
        .post("/v1/verify", Auth::Anonymous, &json!({"v": 1}))
        .await
        .expect(422, Some("invalid_notice"));
    // A batch: each notice's verdict in order, the same as its dry run; a batch holding an
    // item that is not a notice is refused whole, naming the item.
    let mut forged = first.clone();
    forged["listings"][0]["id"] = json!("item-forged");
    let not_a_notice = market
        .post(
            "/v1/verify",
            Auth::Anonymous,
            &json!({"notices": [first, forged, {"v": 1}]}),
        )
        .await;
    not_a_notice.expect(422, Some("invalid_notice"));
    assert!(
        not_a_notice.message().starts_with("notices[2]: "),
        "{}",
        not_a_notice.body
    );
    let batch = market
        .post(
            "/v1/verify",
            Auth::Anonymous,
            &json!({"notices": [first, forged, first]}),
        )
        .await;
    let verdicts = batch.expect(200, None)["verdicts"]
        .as_array()
        .expect("verdicts")
        .clone();
    assert_eq!(verdicts.len(), 3, "{}", batch.body);
    assert_eq!(
        verdicts[0]["verdict"]["reasons"], verdict["reasons"],
        "a batch item is its dry run"
    );
    assert_eq!(verdicts[2]["verdict"]["accepted"], true);
    assert_eq!(verdicts[1]["verdict"]["accepted"], false);
    assert!(
        failed(&verdicts[1]["verdict"]).contains(&"notice_signature"),
        "{}",
        verdicts[1]
    );
    assert!(verdicts.iter().all(|item| item.get("error").is_none()));
    let too_many: Vec<Value> = (0..=crate::api::claims::MAX_VERIFY_BATCH)
        .map(|_| json!({"v": 1}))
        .collect();
    for bad in [
        json!({"notices": []}),
        json!({"notices": "x"}),
        json!({"notices": too_many}),
        json!({"notices": [first], "extra": 1}),
    ] {
        market
            .post("/v1/verify", Auth::Anonymous, &bad)
            .await
            .expect(422, Some("invalid_batch"));
    }
    market
        .post("/v1/notices", Auth::Anonymous, &json!({"notices": [first]}))
        .await
        .expect(422, Some("invalid_notice"));
    let recorded = market
        .post_bytes("/v1/notices", Auth::Anonymous, &first_bytes)
        .await;
    let body = recorded.expect(201, None);
    assert_eq!(body["verdict"]["accepted"], true);
    let notice_id = body["notice_id"].as_str().expect("a notice id").to_owned();
    let replayed = market
        .post_bytes("/v1/notices", Auth::Anonymous, &first_bytes)
        .await;
    let body = replayed.expect(422, Some("notice_rejected"));
    assert_eq!(failed(&body["verdict"]), ["nonce"]);
    assert!(replayed.message().starts_with("nonce: replayed"), "{body}");
    market
        .post_bytes("/v1/notices", Auth::Anonymous, b"[]")
        .await
        .expect(400, Some("malformed_json"));
    let second = notice(&holder, market, &credential, &"2b".repeat(16));
    let second_id = market
        .post("/v1/notices", Auth::Anonymous, &second)
        .await
        .expect(201, None)["notice_id"]
        .as_str()
        .expect("a notice id")
        .to_owned();

    // Decisions: a removal of the first notice, a rejection of the second.
    let removal = json!({
        "notice_id": notice_id,
        "outcome": "removed",
        "reason": "counterfeit confirmed by test purchase",
        "seller_id": "seller-7781",
    });
    market
        .expect_operator_only("POST", "/v1/decisions", Some(&removal))
        .await;
    let removed = market.post("/v1/decisions", Auth::Operator, &removal).await;
    let removal_id = removed.expect(201, None)["id"]
        .as_str()
        .expect("a decision id")
        .to_owned();
    let mut rejection = removal.clone();
    rejection["notice_id"] = json!(second_id);
    rejection["outcome"] = json!("rejected");
    let rejected = market
        .post("/v1/decisions", Auth::Operator, &rejection)
        .await;
    let rejection_id = rejected.expect(201, None)["id"]
        .as_str()
        .expect("a decision id")
        .to_owned();
    let unknown = "ab".repeat(32);
    let mut bad = removal.clone();
    bad["notice_id"] = json!(unknown);
    let reply = market.post("/v1/decisions", Auth::Operator, &bad).await;
    reply.expect(404, Some("not_found"));
    assert_eq!(
        reply.message(),
        format!("no notice {unknown} is known to this node")
    );
    bad["notice_id"] = json!(removal_id);
    let reply = market.post("/v1/decisions", Auth::Operator, &bad).await;
    reply.expect(409, Some("refused"));
    assert_eq!(
        reply.message(),
        format!("entry {removal_id} is not a notice recorded by this marketplace")
    );
    for (field, value, message) in [
        ("seller_id", json!(" "), "seller_id: 1 to 256 bytes"),
        ("notice_id", json!("xyz"), "notice: "),
        ("listing_ids", json!(["a", "a"]), "listing_ids[1]: "),
        ("outcome", json!("burned"), "unknown variant `burned`"),
    ] {
        let mut bad = removal.clone();
        bad[field] = value;
        let reply = market.post("/v1/decisions", Auth::Operator, &bad).await;
        reply.expect(422, Some("invalid_field"));
        assert!(reply.message().starts_with(message), "{}", reply.body);
    }

    // A counter-notice answers the removal, and only a removal.
    let counter = json!({
        "decision_id": removal_id,
        "statement": "The goods were bought from an authorised distributor.",
        "evidence": [{"kind": "other", "digest": format!("sha256:{}", "cd".repeat(32)), "description": "invoice"}],
    });
    market
        .expect_operator_only("POST", "/v1/counter-notices", Some(&counter))
        .await;
    let answered = market
        .post("/v1/counter-notices", Auth::Operator, &counter)
        .await;
    assert_eq!(answered.expect(201, None)["outcome"], "stored");
    let mut bad = counter.clone();
    bad["decision_id"] = json!(unknown);
    market
        .post("/v1/counter-notices", Auth::Operator, &bad)
        .await
        .expect(404, Some("not_found"));
    bad["decision_id"] = json!(rejection_id);
    let reply = market
        .post("/v1/counter-notices", Auth::Operator, &bad)
        .await;
    reply.expect(409, Some("refused"));
    assert_eq!(
        reply.message(),
        "a counter-notice answers a removal; this decision did not remove anything"
    );
    bad["decision_id"] = json!(notice_id);
    let reply = market
        .post("/v1/counter-notices", Auth::Operator, &bad)
        .await;
    reply.expect(409, Some("refused"));
    assert_eq!(
        reply.message(),
        format!("entry {notice_id} is not a decision recorded by this marketplace")
    );
    for (field, value, message) in [
        (
            "evidence",
            json!([{"kind": "receipt?", "digest": format!("sha256:{}", "cd".repeat(32))}]),
            "evidence[0].kind: unknown variant `receipt?`",
        ),
        (
            "evidence",
            json!([{"kind": "test_purchase", "digest": format!("sha256:{}", "cd".repeat(32))}]),
            "evidence[0].result: ",
        ),
        (
            "evidence",
            json!("none"),
            "invalid type: string \"none\", expected a sequence",
        ),
        ("statement", json!(""), "statement: "),
    ] {
        let mut bad = counter.clone();
        bad[field] = value;
        let reply = market
            .post("/v1/counter-notices", Auth::Operator, &bad)
            .await;
        reply.expect(422, Some("invalid_field"));
        assert!(reply.message().starts_with(message), "{}", reply.body);
    }

    // Claims by index.
    let listed = market.get(&format!("/v1/claims?notice={notice_id}")).await;
    let claims = listed.expect(200, None)["claims"]
        .as_array()
        .expect("claims")
        .clone();
    let mut kinds: Vec<&str> = claims
        .iter()
        .filter_map(|claim| claim["kind"].as_str())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["counter_notice", "decision"]);
    let decision = claims
        .iter()
        .find(|claim| claim["kind"] == "decision")
        .expect("the removal");
    assert_eq!(decision["id"], removal_id.as_str());
    let seller_ref = decision["entry"]["body"]["seller_ref"]
        .as_str()
        .expect("a seller reference")
        .to_owned();
    assert_ne!(seller_ref, "seller-7781");
    let by_holder = market.get(&format!("/v1/claims?holder={holder_did}")).await;
    assert_eq!(
        by_holder.expect(200, None)["claims"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let limited = market
        .get(&format!("/v1/claims?holder={holder_did}&limit=1"))
        .await;
    assert_eq!(
        limited.expect(200, None)["claims"].as_array().map(Vec::len),
        Some(1)
    );
    for query in [
        String::new(),
        format!("?holder={holder_did}&listing=listing-88123"),
        format!("?listing={}", "x".repeat(257)),
        "?limit=some".to_owned(),
        // A filter value that is not of its kind: the document states each one's form.
        "?seller_ref=null".to_owned(),
        format!("?seller_ref={}", "A".repeat(64)),
        "?notice=xyz".to_owned(),
        "?holder=did:key:zNothing".to_owned(),
        "?right=nope".to_owned(),
        "?listing=a%0Ab".to_owned(),
        "?listing=%20%20".to_owned(),
    ] {
        market
            .get(&format!("/v1/claims{query}"))
            .await
            .expect(400, Some("bad_query"));
    }
    // Well formed but unknown: no claims.
    for query in [
        format!("seller_ref={}", "a".repeat(64)),
        format!("notice={}", "b".repeat(64)),
        "listing=listing-never-named".to_owned(),
    ] {
        let reply = market.get(&format!("/v1/claims?{query}")).await;
        assert_eq!(reply.expect(200, None)["claims"], serde_json::json!([]));
    }
    market
        .expect_body_refused("GET", "/v1/claims?right=FR-TM-4123456", Auth::Anonymous)
        .await;

    // The accountability views.
    let accuracy = market
        .get(&format!("/v1/holders/{holder_did}/accuracy"))
        .await;
    let body = accuracy.expect(200, None);
    assert_eq!(body["holder"], holder_did.as_str());
    assert_eq!(body["filed"], 2);
    assert_eq!(body["removed"], 1);
    assert_eq!(body["rejected"], 1);
    assert_eq!(body["pending"], 0);
    assert_eq!(body["success_ratio"], 0.5);
    assert_eq!(body["meets_good_faith_policy"], false);
    market
        .get("/v1/holders/did:key:zNothing/accuracy")
        .await
        .expect(400, Some("bad_holder"));
    let strikes = market
        .get(&format!("/v1/sellers/{seller_ref}/strikes"))
        .await;
    let body = strikes.expect(200, None);
    assert_eq!(body["active_points"], 2, "a counterfeit weighs 2: {body}");
    assert_eq!(body["sanction"], "warning");
    assert_eq!(body["strikes"][0]["decision_id"], removal_id.as_str());
    market
        .get(&format!(
            "/v1/sellers/{}/strikes",
            seller_ref.to_uppercase()
        ))
        .await
        .expect(400, Some("bad_seller_ref"));

    expect_not_a_marketplace(office, &holder_did).await;
    federation.assert_covers(ROUTES);
    federation.stop().await;
}
