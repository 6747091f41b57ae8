//! The credential log on an office, a second office and a marketplace (protocol §6.10–6.11,
//! §11.4): issued credentials are logged and listed by right and by holder, paged; status
//! changes are operator-only, follow the transitions, and are refused for a credential this
//! office did not log; a marketplace given the office's feed rejects a revoked credential,
//! naming the revoking entry.

use proto_types::claims::sign_notice;
use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, Role, TestNode, registration};
use crate::credentials::credential_digest;

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/credentials"),
    ("get", "/v1/credentials/{credential_id}"),
    ("post", "/v1/credentials/{credential_id}/revoke"),
    ("post", "/v1/credentials/{credential_id}/suspend"),
    ("post", "/v1/credentials/{credential_id}/reinstate"),
];

const RIGHT_ID: &str = "FR-TM-4123456";

/// The path segment of a credential id (its `:` percent-encoded, as a client would).
fn segment(id: &str) -> String {
    id.replace(':', "%3A")
}

/// Copies every entry of `from`'s own feed into `to`.
async fn copy_feed(from: &TestNode, to: &TestNode) {
    let feed = from
        .get(&format!("/v1/feeds/{}", from.authority.to_did_key()))
        .await;
    for entry in feed.expect(200, None)["entries"]
        .as_array()
        .expect("entries")
    {
        let reply = to.post("/v1/entries", Auth::Anonymous, entry).await;
        assert!(
            reply.status.as_u16() == 201 || reply.status.as_u16() == 200,
            "{}",
            reply.body
        );
    }
}

fn notice(holder: &SecretKey, marketplace: &TestNode, credential: &Value, nonce: &str) -> Value {
    let unsigned = json!({
        "v": 1,
        "marketplace": marketplace.authority.to_did_key(),
        "right_id": RIGHT_ID,
        "holder": holder.public_key().to_did_key(),
        "listings": [{"id": "listing-1", "url": "https://shop.example/item/1", "class": 25}],
        "reason": "counterfeit",
        "evidence": [{"kind": "test_purchase", "digest": format!("sha256:{}", "ab".repeat(32)), "result": "counterfeit"}],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": nonce,
        "created": crate::clock::now().as_str(),
        "credential": credential,
    });
    sign_notice(&unsigned, holder).expect("the holder signs")
}

fn reason<'a>(verdict: &'a Value, code: &str) -> &'a Value {
    verdict["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .find(|reason| reason["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {verdict}"))
}

#[tokio::test]
async fn credentials_are_logged_listed_and_change_status() {
    let federation =
        Federation::start(&[Role::Office, Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let other_office = &federation.nodes[1];
    let market = &federation.nodes[2];
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
    let request = json!({"right_id": RIGHT_ID, "holder": holder_did});
    let mut issued = Vec::new();
    for _ in 0..3 {
        let reply = office
            .post("/v1/credentials", Auth::Operator, &request)
            .await;
        let credential = reply.expect(201, None).clone();
        let id = credential["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            reply
                .headers
                .get("location")
                .map(|v| v.to_str().unwrap_or_default()),
            Some(format!("/v1/credentials/{}", segment(&id)).as_str())
        );
        let entry = reply
            .headers
            .get("rightsnet-log-entry")
            .and_then(|v| v.to_str().ok())
            .expect("the log entry is named")
            .to_owned();
        issued.push((credential, id, entry));
    }

    // The log, by right and by holder, oldest first, paged.
    let listed = office
        .get(&format!("/v1/credentials?right={RIGHT_ID}"))
        .await;
    let credentials = listed.expect(200, None)["credentials"]
        .as_array()
        .expect("credentials")
        .clone();
    assert_eq!(credentials.len(), 3);
    assert!(listed.body.get("next_cursor").is_none());
    for (index, ((credential, id, entry), logged)) in issued.iter().zip(&credentials).enumerate() {
        assert_eq!(logged["credential_id"], id.as_str());
        assert_eq!(logged["entry_id"], entry.as_str());
        assert_eq!(logged["status_index"], index);
        assert_eq!(logged["issuer"], office.authority.to_did_key());
        assert_eq!(logged["authority"], office.authority.to_did_key());
        assert_eq!(logged["subject"], holder_did.as_str());
        assert_eq!(logged["status"], "active");
        assert_eq!(logged["effective"], true);
        assert_eq!(logged["anchored"], true);
        assert_eq!(logged["valid_until"], "2035-01-15T23:59:59Z");
        assert_eq!(
            logged["digest"],
            credential_digest(credential).expect("a digest").as_str()
        );
    }
    let by_holder = office
        .get(&format!("/v1/credentials?holder={holder_did}"))
        .await;
    assert_eq!(
        by_holder.expect(200, None)["credentials"],
        json!(credentials)
    );
    let first_page = office
        .get(&format!("/v1/credentials?holder={holder_did}&limit=2"))
        .await;
    let body = first_page.expect(200, None);
    assert_eq!(body["credentials"].as_array().map(Vec::len), Some(2));
    let cursor = body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second_page = office
        .get(&format!(
            "/v1/credentials?holder={holder_did}&limit=2&cursor={cursor}"
        ))
        .await;
    let body = second_page.expect(200, None);
    assert_eq!(body["credentials"], json!([credentials[2].clone()]));
    assert!(body.get("next_cursor").is_none());
    let stranger = SecretKey::generate().public_key().to_did_key();
    let none = office
        .get(&format!("/v1/credentials?holder={stranger}"))
        .await;
    assert_eq!(none.expect(200, None)["credentials"], json!([]));
    for query in [
        String::new(),
        format!("?right={RIGHT_ID}&holder={holder_did}"),
        "?right=FR-XX-1".to_owned(),
        "?holder=did:key:zNothing".to_owned(),
        format!("?right={RIGHT_ID}&cursor=zz"),
        format!("?right={RIGHT_ID}&limit=0"),
        format!("?right={RIGHT_ID}&colour=blue"),
    ] {
        office
            .get(&format!("/v1/credentials{query}"))
            .await
            .expect(400, Some("bad_query"));
    }
    office
        .expect_body_refused(
            "GET",
            &format!("/v1/credentials?right={RIGHT_ID}"),
            Auth::Anonymous,
        )
        .await;

    // One credential.
    let path = |id: &str, action: &str| format!("/v1/credentials/{}/{action}", segment(id));
    let (first, first_id, _) = &issued[0];
    let one = office
        .get(&format!("/v1/credentials/{}", segment(first_id)))
        .await;
    assert_eq!(one.expect(200, None), &credentials[0]);
    office
        .get("/v1/credentials/urn%3Arightsnet%3Acredential%3Anone")
        .await
        .expect(404, Some("not_found"));
    office
        .get("/v1/credentials/no-colon")
        .await
        .expect(400, Some("bad_credential_id"));
    office
        .post(&path("no-colon", "revoke"), Auth::Operator, &json!({}))
        .await
        .expect(400, Some("bad_credential_id"));
    office
        .expect_body_refused(
            "GET",
            &format!("/v1/credentials/{}", segment(first_id)),
            Auth::Anonymous,
        )
        .await;

    // Status changes: operator only, transitions only.
    for action in ["revoke", "suspend", "reinstate"] {
        office
            .expect_operator_only("POST", &path(first_id, action), Some(&json!({})))
            .await;
    }
    let suspended = office
        .post(
            &path(first_id, "suspend"),
            Auth::Operator,
            &json!({"reason_code": "holder_request"}),
        )
        .await;
    let body = suspended.expect(201, None).clone();
    assert_eq!(body["status"], "suspended");
    let again = office
        .post(&path(first_id, "suspend"), Auth::Operator, &json!({}))
        .await;
    again.expect(409, Some("invalid_transition"));
    assert_eq!(
        again.message(),
        format!("credential {first_id} is already suspended")
    );
    // An empty body takes the defaults (suspension_lifted for a reinstatement).
    let reinstated = office
        .post_bytes(&path(first_id, "reinstate"), Auth::Operator, b"")
        .await;
    assert_eq!(reinstated.expect(201, None)["status"], "active");
    let logged = office
        .get(&format!("/v1/credentials/{}", segment(first_id)))
        .await;
    assert_eq!(
        logged.expect(200, None)["status_reason_code"],
        "suspension_lifted"
    );
    office
        .post(&path(first_id, "reinstate"), Auth::Operator, &json!({}))
        .await
        .expect(409, Some("invalid_transition"));
    for bad in [
        json!({"reason_code": "because"}),
        json!({"reason_code": "suspension_lifted"}),
        json!({"reason": ""}),
        json!({"colour": "blue"}),
    ] {
        office
            .post(&path(first_id, "revoke"), Auth::Operator, &bad)
            .await
            .expect(422, Some("invalid_field"));
    }
    for action in ["revoke", "suspend", "reinstate"] {
        office
            .post_bytes(&path(first_id, action), Auth::Operator, b"{\"reason")
            .await
            .expect(400, Some("malformed_json"));
    }
    let revoked = office
        .post(
            &path(first_id, "revoke"),
            Auth::Operator,
            &json!({"reason_code": "key_compromise", "reason": "the holder's key leaked"}),
        )
        .await;
    let revoke_entry = revoked.expect(201, None)["entry_id"]
        .as_str()
        .expect("an entry id")
        .to_owned();
    let final_answer = office
        .post(&path(first_id, "reinstate"), Auth::Operator, &json!({}))
        .await;
    final_answer.expect(409, Some("invalid_transition"));
    assert!(
        final_answer
            .message()
            .ends_with("is revoked, which is final")
    );
    let logged = office
        .get(&format!("/v1/credentials/{}", segment(first_id)))
        .await;
    let body = logged.expect(200, None);
    assert_eq!(body["status"], "revoked");
    assert_eq!(body["status_entry"], revoke_entry.as_str());
    assert_eq!(body["status_reason_code"], "key_compromise");
    let unknown = path("urn:rightsnet:credential:none", "revoke");
    for action in ["revoke", "suspend", "reinstate"] {
        office
            .post(
                &unknown.replace("revoke", action),
                Auth::Operator,
                &json!({}),
            )
            .await
            .expect(404, Some("not_found"));
    }

    // Another office holds the log but cannot change it.
    copy_feed(office, other_office).await;
    let (_, second_id, _) = &issued[1];
    let foreign = other_office
        .post(&path(second_id, "revoke"), Auth::Operator, &json!({}))
        .await;
    foreign.expect(409, Some("not_this_office"));
    for action in ["suspend", "reinstate"] {
        other_office
            .post(&path(second_id, action), Auth::Operator, &json!({}))
            .await
            .expect(409, Some("not_this_office"));
    }
    let seen_there = other_office
        .get(&format!("/v1/credentials/{}", segment(first_id)))
        .await;
    assert_eq!(seen_there.expect(200, None)["status"], "revoked");

    // A marketplace with the feed: the revoked credential fails `credential_status`, naming the
    // revoking entry; a logged, active one is accepted and names its log entry.
    copy_feed(office, market).await;
    let dry = market
        .post(
            "/v1/verify",
            Auth::Anonymous,
            &notice(&holder, market, first, &"1a".repeat(16)),
        )
        .await;
    let verdict = &dry.expect(200, None)["verdict"];
    assert_eq!(verdict["accepted"], false, "{verdict}");
    let status = reason(verdict, "credential_status");
    assert_eq!(status["ok"], false);
    assert_eq!(status["entry_id"], revoke_entry.as_str());
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("revoked (key_compromise)")),
        "{status}"
    );
    assert_eq!(reason(verdict, "credential_logged")["ok"], true);
    let (second, _, second_entry) = &issued[1];
    let dry = market
        .post(
            "/v1/verify",
            Auth::Anonymous,
            &notice(&holder, market, second, &"2b".repeat(16)),
        )
        .await;
    let verdict = &dry.expect(200, None)["verdict"];
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert_eq!(
        reason(verdict, "credential_logged")["entry_id"],
        second_entry.as_str()
    );
    assert_eq!(reason(verdict, "credential_status")["ok"], true);

    federation.assert_covers(ROUTES);
    federation.stop().await;
}
