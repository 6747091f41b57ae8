//! The cross-border story across four nodes (office FR, office CN, marketplace CN, marketplace
//! FR): registration, credential, notice abroad, verdict with reasons, decision and
//! counter-notice seen everywhere, cancellation by gossip and the rejected notice; every
//! negative case with its own reason; holder accuracy and seller strikes on a constructed
//! history.

use std::time::Duration;

use proto_types::claims;
use proto_types::keys::SecretKey;
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};

use crate::federation::{Federation, Role, wait_converged};
use crate::harness::{Client, wait_until};

const FR_OFFICE: usize = 0;
const CN_OFFICE: usize = 1;
const CN_MARKET: usize = 2;
const FR_MARKET: usize = 3;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn register(client: &Client, jurisdiction: &str, number: &str, holder: &SecretKey, classes: &[u8]) {
    let body = json!({
        "right_type": "trademark",
        "jurisdiction": jurisdiction,
        "number": number,
        "mark_text": format!("Lumière {number}"),
        "nice_classes": classes,
        "holder": {"name": "Lumière SARL", "country": "FR", "key": holder.public_key().to_did_key()},
        "filing_date": "2020-01-15",
        "registration_date": "2020-06-01",
        "expiry_date": "2035-01-15",
        "status": "registered",
    });
    let reply = client.post("/v1/registrations", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
}

fn credential(office: &Client, right_id: &str, holder: &SecretKey) -> Value {
    let reply = office.post(
        "/v1/credentials",
        &json!({"right_id": right_id, "holder": holder.public_key().to_did_key()}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

struct NoticeSpec<'a> {
    marketplace: &'a str,
    right_id: &'a str,
    credential: &'a Value,
    class: Option<u8>,
    created_millis: i64,
    nonce: String,
}

fn notice(signer: &SecretKey, holder_did: &str, spec: &NoticeSpec<'_>) -> Value {
    let mut listing = json!({"id": "listing-88123", "url": "https://shop.example/item/88123"});
    if let Some(class) = spec.class {
        listing["class"] = json!(class);
    }
    let unsigned = json!({
        "v": 1,
        "marketplace": spec.marketplace,
        "right_id": spec.right_id,
        "holder": holder_did,
        "listings": [listing],
        "reason": "counterfeit",
        "evidence": [{
            "kind": "test_purchase",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "result": "counterfeit: wrong hologram, no serial",
        }],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": spec.nonce,
        "created": Timestamp::from_unix_millis(spec.created_millis).unwrap().as_str(),
        "credential": spec.credential,
    });
    claims::sign_notice(&unsigned, signer).unwrap()
}

fn fresh_nonce() -> String {
    hex::encode(SecretKey::generate().public_key().to_bytes())
}

fn failed(verdict: &Value) -> Vec<String> {
    verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|reason| reason["ok"] == false)
        .map(|reason| reason["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_cross_border_story_and_every_negative_case() {
    let federation = Federation::with_roles(&[
        Role::Office("FR"),
        Role::Office("CN"),
        Role::Marketplace(&["CN", "WO", "FR"]),
        Role::Marketplace(&["FR", "EM", "WO"]),
    ]);
    let clients: Vec<Client> = (0..4).map(|i| federation.client(i)).collect();
    let authority = |i: usize| {
        clients[i].get("/v1/status").body["authority"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cn_market = authority(CN_MARKET);
    let fr_market = authority(FR_MARKET);
    let holder = SecretKey::generate();
    let holder_did = holder.public_key().to_did_key();

    // The FR office registers and issues a credential to the holder.
    register(&clients[FR_OFFICE], "FR", "4123456", &holder, &[25, 30]);
    register(&clients[FR_OFFICE], "FR", "4123457", &holder, &[25]);
    register(&clients[CN_OFFICE], "CN", "880001", &holder, &[25]);
    assert!(wait_converged(&clients, 3, Duration::from_secs(30)));
    let credential_fr = credential(&clients[FR_OFFICE], "FR-TM-4123456", &holder);
    assert_eq!(credential_fr["type"][1], "IPRightCredential");
    assert_eq!(
        credential_fr["credentialSubject"]["id"],
        holder_did.as_str()
    );
    assert_eq!(credential_fr["validUntil"], "2035-01-15T23:59:59Z");
    // The office refuses to attest another holder or another office's right.
    let stranger = SecretKey::generate();
    let refused = clients[FR_OFFICE].post(
        "/v1/credentials",
        &json!({"right_id": "FR-TM-4123456", "holder": stranger.public_key().to_did_key()}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    let refused = clients[FR_OFFICE].post(
        "/v1/credentials",
        &json!({"right_id": "CN-TM-880001", "holder": holder_did}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);

    // The holder, abroad, files a notice on the CN marketplace: accepted, with every reason.
    let spec = NoticeSpec {
        marketplace: &cn_market,
        right_id: "FR-TM-4123456",
        credential: &credential_fr,
        class: Some(25),
        created_millis: now_millis(),
        nonce: fresh_nonce(),
    };
    let accepted_notice = notice(&holder, &holder_did, &spec);
    let dry = clients[CN_MARKET].post_raw(
        "/v1/verify",
        serde_json::to_vec(&accepted_notice).unwrap(),
        None,
    );
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["verdict"]["accepted"], true, "{}", dry.body);
    let reply = clients[CN_MARKET].post_raw(
        "/v1/notices",
        serde_json::to_vec(&accepted_notice).unwrap(),
        None,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let verdict = &reply.body["verdict"];
    let codes: Vec<&str> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    for code in [
        "marketplace",
        "notice_signature",
        "credential_proof",
        "holder_key",
        "credential_right",
        "credential_validity",
        "issuer_trusted",
        "notice_age",
        "territory",
        "registry",
        "classes",
        "nonce",
    ] {
        assert!(codes.contains(&code), "missing reason {code}: {codes:?}");
    }
    let notice_id = reply.body["notice_id"].as_str().unwrap().to_owned();

    // Decision and counter-notice at the CN marketplace, seen on the other nodes.
    let decision = clients[CN_MARKET].post(
        "/v1/decisions",
        &json!({"notice_id": notice_id, "outcome": "removed", "reason": "counterfeit confirmed by test purchase", "seller_id": "seller-7781"}),
    );
    assert_eq!(decision.status, 201, "{}", decision.body);
    let decision_id = decision.body["id"].as_str().unwrap().to_owned();
    let counter = clients[CN_MARKET].post(
        "/v1/counter-notices",
        &json!({"decision_id": decision_id, "statement": "These goods are genuine parallel imports."}),
    );
    assert_eq!(counter.status, 201, "{}", counter.body);
    assert!(wait_converged(&clients, 6, Duration::from_secs(30)));
    for client in &clients {
        let follow_ups = client.get(&format!("/v1/claims?notice={notice_id}"));
        assert_eq!(
            follow_ups.body["claims"].as_array().unwrap().len(),
            2,
            "{}",
            follow_ups.body
        );
        let by_listing = client.get("/v1/claims?listing=listing-88123");
        assert_eq!(by_listing.body["claims"].as_array().unwrap().len(), 2);
    }
    // The raw seller id never left the marketplace.
    let decision_entry = clients[FR_OFFICE].get(&format!("/v1/entries/{decision_id}"));
    let seller_ref = decision_entry.body["entry"]["body"]["seller_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!decision_entry.body.to_string().contains("seller-7781"));
    assert_eq!(seller_ref.len(), 64);

    // Replayed nonce.
    let replay = clients[CN_MARKET].post_raw(
        "/v1/notices",
        serde_json::to_vec(&accepted_notice).unwrap(),
        None,
    );
    assert_eq!(replay.status, 422);
    assert_eq!(failed(&replay.body["verdict"]), vec!["nonce"]);

    // Tampered credential.
    let mut tampered_credential = credential_fr.clone();
    tampered_credential["credentialSubject"]["right"]["niceClasses"] = json!([9, 25, 30]);
    let tampered = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            credential: &tampered_credential,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&tampered).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["credential_proof"],
        "{}",
        reply.body
    );

    // A credential from an office not trusted for the jurisdiction: the CN office attests a
    // French right.
    let cn_key = proto_types::keys::KeyFile::parse(
        &std::fs::read(federation.node_dir(CN_OFFICE).join("authority.json")).unwrap(),
    )
    .unwrap();
    let mut foreign_document = credential_fr.clone();
    foreign_document.as_object_mut().unwrap().remove("proof");
    foreign_document["issuer"] = json!(cn_key.public_key().to_did_key());
    let foreign_credential = claims::sign_credential(
        &foreign_document,
        &cn_key,
        &Timestamp::from_unix_millis(now_millis()).unwrap(),
    )
    .unwrap();
    let foreign = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            credential: &foreign_credential,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&foreign).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["issuer_trusted"],
        "{}",
        reply.body
    );

    // Holder key mismatch: someone else signs a notice with the holder's credential.
    let impostor = SecretKey::generate();
    let mismatch = notice(
        &impostor,
        &impostor.public_key().to_did_key(),
        &NoticeSpec {
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&mismatch).unwrap(), None);
    let failures = failed(&reply.body["verdict"]);
    assert!(failures.contains(&"holder_key".to_owned()), "{failures:?}");

    // Stale notice.
    let stale = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            created_millis: now_millis() - 4 * 86_400_000,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&stale).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["notice_age"],
        "{}",
        reply.body
    );

    // Territory not accepted: the FR marketplace does not enforce Chinese rights.
    let credential_cn = credential(&clients[CN_OFFICE], "CN-TM-880001", &holder);
    let territory = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            marketplace: &fr_market,
            right_id: "CN-TM-880001",
            credential: &credential_cn,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[FR_MARKET].post_raw("/v1/verify", serde_json::to_vec(&territory).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["territory"],
        "{}",
        reply.body
    );

    // Classes: a listing in class 9 is not covered.
    let classes = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            class: Some(9),
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&classes).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["classes"],
        "{}",
        reply.body
    );

    // Assigned to another holder: the registry names the assignment entry.
    let credential_second = credential(&clients[FR_OFFICE], "FR-TM-4123457", &holder);
    let new_holder = SecretKey::generate();
    let assigned = clients[FR_OFFICE].post(
        "/v1/rights/FR-TM-4123457/status",
        &json!({"change": "assigned", "effective_date": "2026-01-01", "new_holder": {"name": "Other SA", "country": "FR", "key": new_holder.public_key().to_did_key()}}),
    );
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    let assignment_id = assigned.body["id"].as_str().unwrap().to_owned();
    // Expired right: renewed into the past is impossible, so expire it explicitly at CN office.
    let credential_cn_right = credential_cn.clone();
    let expired = clients[CN_OFFICE].post(
        "/v1/rights/CN-TM-880001/status",
        &json!({"change": "expired", "effective_date": "2026-01-01"}),
    );
    assert_eq!(expired.status, 201);
    // Then the FR office cancels the first right.
    let cancelled = clients[FR_OFFICE].post(
        "/v1/rights/FR-TM-4123456/status",
        &json!({"change": "cancelled", "effective_date": "2026-11-28", "reason": "invalidated by court"}),
    );
    assert_eq!(cancelled.status, 201);
    let cancel_id = cancelled.body["id"].as_str().unwrap().to_owned();
    assert!(wait_converged(&clients, 9, Duration::from_secs(30)));

    let reassigned = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            right_id: "FR-TM-4123457",
            credential: &credential_second,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply =
        clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&reassigned).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["registry"],
        "{}",
        reply.body
    );
    let registry = reply.body["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "registry")
        .unwrap()
        .clone();
    assert_eq!(registry["entry_id"], assignment_id.as_str());

    let expired_notice = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            right_id: "CN-TM-880001",
            credential: &credential_cn_right,
            nonce: fresh_nonce(),
            ..spec_clone(&spec)
        },
    );
    let reply = clients[CN_MARKET].post_raw(
        "/v1/verify",
        serde_json::to_vec(&expired_notice).unwrap(),
        None,
    );
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["registry"],
        "{}",
        reply.body
    );

    // The cancellation arrived by gossip: the same credential is now rejected, naming it.
    let after_cancel = notice(
        &holder,
        &holder_did,
        &NoticeSpec {
            nonce: fresh_nonce(),
            created_millis: now_millis(),
            ..spec_clone(&spec)
        },
    );
    let reply = clients[CN_MARKET].post_raw(
        "/v1/notices",
        serde_json::to_vec(&after_cancel).unwrap(),
        None,
    );
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["code"], "notice_rejected");
    assert_eq!(failed(&reply.body["verdict"]), vec!["registry"]);
    let registry = reply.body["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "registry")
        .unwrap()
        .clone();
    assert_eq!(registry["entry_id"], cancel_id.as_str());
    assert!(registry["message"].as_str().unwrap().contains("cancelled"));

    // Accountability on the history so far: one notice, removed, then a counter-notice and a
    // restoration -> a reversal; the seller's strike is lifted by the reversal.
    let strikes = clients[CN_MARKET].get(&format!("/v1/sellers/{seller_ref}/strikes"));
    assert_eq!(strikes.body["active_points"], 2, "{}", strikes.body);
    assert_eq!(strikes.body["sanction"], "warning");
    let restored = clients[CN_MARKET].post(
        "/v1/decisions",
        &json!({"notice_id": notice_id, "outcome": "restored", "reason": "holder did not sue before the deadline", "seller_id": "seller-7781"}),
    );
    assert_eq!(restored.status, 201, "{}", restored.body);
    let accuracy = clients[CN_MARKET].get(&format!("/v1/holders/{holder_did}/accuracy"));
    assert_eq!(accuracy.body["filed"], 1, "{}", accuracy.body);
    assert_eq!(accuracy.body["reversed_after_counter_notice"], 1);
    assert_eq!(accuracy.body["meets_good_faith_policy"], false);
    assert_eq!(accuracy.body["reasons"].as_array().unwrap().len(), 2);
    let strikes = clients[CN_MARKET].get(&format!("/v1/sellers/{seller_ref}/strikes"));
    assert_eq!(strikes.body["active_points"], 0, "{}", strikes.body);
    assert!(strikes.body["sanction"].is_null());
    assert!(wait_until(Duration::from_secs(10), || clients[FR_OFFICE]
        .get(&format!("/v1/claims?notice={notice_id}"))
        .body["claims"]
        .as_array()
        .unwrap()
        .len()
        == 3));
}

fn spec_clone<'a>(spec: &NoticeSpec<'a>) -> NoticeSpec<'a> {
    NoticeSpec {
        marketplace: spec.marketplace,
        right_id: spec.right_id,
        credential: spec.credential,
        class: spec.class,
        created_millis: spec.created_millis,
        nonce: spec.nonce.clone(),
    }
}

#[test]
fn a_holder_builds_a_notice_offline_and_anyone_checks_it_without_a_registry() {
    use crate::harness::run;
    let dir = tempfile::tempdir().unwrap();
    let office = SecretKey::generate();
    let holder = SecretKey::generate();
    let market = SecretKey::generate();
    std::fs::write(
        dir.path().join("holder.json"),
        proto_types::keys::KeyFile::from_secret(&holder).to_json(),
    )
    .unwrap();
    let now = Timestamp::from_unix_millis(now_millis()).unwrap();
    let document = claims::credential_document(
        "urn:uuid:test",
        &office.public_key(),
        &holder.public_key(),
        &claims::RightClaims {
            right_id: proto_types::body::RightId::parse("FR-TM-4123456").unwrap(),
            right_type: "trademark".to_owned(),
            mark: Some("Lumière".to_owned()),
            nice_classes: vec![25],
            holder_name: "Lumière SARL".to_owned(),
            expiry_date: Some("2035-01-15".to_owned()),
            registration_entry: proto_types::entry::EntryId([3; 32]),
        },
        &now,
        None,
    );
    let credential = claims::sign_credential(&document, &office, &now).unwrap();
    std::fs::write(
        dir.path().join("credential.json"),
        serde_json::to_vec_pretty(&credential).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("receipt.pdf"),
        b"receipt of a test purchase",
    )
    .unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let out = run(
        &[
            "notice",
            "create",
            "--key",
            &path("holder.json"),
            "--credential",
            &path("credential.json"),
            "--marketplace",
            &market.public_key().to_did_key(),
            "--listing",
            "listing-1:25",
            "--listing",
            "listing-2",
            "--reason",
            "counterfeit",
            "--evidence",
            &format!("test_purchase={}", path("receipt.pdf")),
            "--result",
            "counterfeit: no serial number",
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let notice: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(notice["right_id"], "FR-TM-4123456");
    assert_eq!(notice["listings"][0]["class"], 25);
    let expected_digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"receipt of a test purchase"
        ))
    );
    assert_eq!(notice["evidence"][0]["digest"], expected_digest.as_str());
    assert!(claims::verify_notice(&notice).is_ok());

    // Offline verification against a trust store that trusts the office for FR: passes, and
    // says what it could not check.
    std::fs::write(
        dir.path().join("trust.toml"),
        format!("[[authority]]\ndid = \"{}\"\nname = \"INPI\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n", office.public_key().to_did_key()),
    )
    .unwrap();
    let out = run(
        &["notice", "verify", "--trust", &path("trust.toml")],
        &out.stdout,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("not checked without a registry"));
    assert!(report.contains("issuer_trusted"));

    // Trusted for another jurisdiction only: exit 1, with the reason; --json for scripts.
    std::fs::write(
        dir.path().join("trust-cn.toml"),
        format!("[[authority]]\ndid = \"{}\"\nname = \"INPI\"\nrole = \"office\"\njurisdictions = [\"CN\"]\n", office.public_key().to_did_key()),
    )
    .unwrap();
    let out = run(
        &[
            "notice",
            "verify",
            "--trust",
            &path("trust-cn.toml"),
            "--json",
        ],
        &serde_json::to_vec(&notice).unwrap(),
    );
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["passed"], false);
    assert_eq!(
        failed(&json!({"reasons": result["reasons"]})),
        vec!["issuer_trusted"]
    );

    // A credential issued to someone else cannot be used to build a notice; garbage is exit 2.
    let other = SecretKey::generate();
    std::fs::write(
        dir.path().join("other.json"),
        proto_types::keys::KeyFile::from_secret(&other).to_json(),
    )
    .unwrap();
    let out = run(
        &[
            "notice",
            "create",
            "--key",
            &path("other.json"),
            "--credential",
            &path("credential.json"),
            "--marketplace",
            &market.public_key().to_did_key(),
            "--listing",
            "x",
            "--reason",
            "counterfeit",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("issued to"));
    let out = run(
        &["notice", "verify", "--trust", &path("trust.toml")],
        b"{nope",
    );
    assert_eq!(out.status.code(), Some(2));
}
