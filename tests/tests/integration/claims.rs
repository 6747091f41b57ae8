//! The cross-border story across four nodes (office FR, office CN, marketplace CN, marketplace
//! FR), case by case on one federation: registration, credential, notice abroad, verdict with
//! reasons, decision and counter-notice seen everywhere, cancellation by gossip and the rejected
//! notice; every negative case with its own reason; holder accuracy and seller strikes. Then a
//! holder's offline notice, checked without a registry.

use std::time::Duration;

use proto_types::claims;
use proto_types::keys::SecretKey;
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};

use crate::federation::{Federation, Role};
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
    listing: &'a str,
    right_id: &'a str,
    credential: &'a Value,
    class: Option<u8>,
    created_millis: i64,
    nonce: String,
}

fn notice(signer: &SecretKey, holder_did: &str, spec: &NoticeSpec<'_>) -> Value {
    let mut listing =
        json!({"id": spec.listing, "url": format!("https://shop.example/item/{}", spec.listing)});
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

/// How long gossip may take to bring an entry to another node.
const GOSSIP: Duration = Duration::from_secs(30);

/// The four nodes and the holder every case shares. Each case registers the rights it needs
/// (numbers of its own), so the cases do not depend on each other's entries or order.
struct Story {
    // Kept for the nodes' lifetime and for the CN office's key file.
    federation: Federation,
    clients: Vec<Client>,
    cn_market: String,
    fr_market: String,
    holder: SecretKey,
    holder_did: String,
}

impl Story {
    fn start() -> Self {
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
        Self {
            federation,
            clients,
            cn_market,
            fr_market,
            holder,
            holder_did,
        }
    }

    /// Registers a trademark at `office` for `holder` and waits until every node holds it.
    fn register_for(
        &self,
        office: usize,
        jurisdiction: &str,
        number: &str,
        holder: &SecretKey,
        classes: &[u8],
    ) -> String {
        register(&self.clients[office], jurisdiction, number, holder, classes);
        let right_id = format!("{jurisdiction}-TM-{number}");
        self.wait_everywhere(&right_id, None);
        right_id
    }

    /// Registers a trademark of the story's holder.
    fn register(&self, office: usize, jurisdiction: &str, number: &str, classes: &[u8]) -> String {
        self.register_for(office, jurisdiction, number, &self.holder, classes)
    }

    /// Waits until every node knows `right_id`, and, with `last_entry`, until that entry is the
    /// one that last changed it everywhere.
    fn wait_everywhere(&self, right_id: &str, last_entry: Option<&str>) {
        for (index, client) in self.clients.iter().enumerate() {
            assert!(
                wait_until(GOSSIP, || {
                    let reply = client.get(&format!("/v1/rights/{right_id}"));
                    reply.status == 200
                        && last_entry.is_none_or(|id| reply.body["last_entry"] == id)
                }),
                "node {index} never saw {right_id} (last entry {last_entry:?})"
            );
        }
    }

    /// Records a status change at `office` and waits until every node applied it; returns the
    /// status entry's id.
    fn change_status(&self, office: usize, right_id: &str, change: &Value) -> String {
        let reply = self.clients[office].post(&format!("/v1/rights/{right_id}/status"), change);
        assert_eq!(reply.status, 201, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        self.wait_everywhere(right_id, Some(&id));
        id
    }

    /// A credential issued by `office` for `right_id` to `holder`, once every node holds its
    /// log entry (the marketplaces check that its issuer logged it, protocol §6.10).
    fn credential(&self, office: usize, right_id: &str, holder: &SecretKey) -> Value {
        let issued = credential(&self.clients[office], right_id, holder);
        let id = issued["id"].as_str().unwrap().replace(':', "%3A");
        for (index, client) in self.clients.iter().enumerate() {
            assert!(
                wait_until(GOSSIP, || client
                    .get(&format!("/v1/credentials/{id}"))
                    .status
                    == 200),
                "node {index} never logged credential {id}"
            );
        }
        issued
    }

    /// A notice to the CN marketplace for `right_id`, listing in class 25, created now.
    fn spec<'a>(&'a self, right_id: &'a str, credential: &'a Value) -> NoticeSpec<'a> {
        NoticeSpec {
            marketplace: &self.cn_market,
            listing: "listing-88123",
            right_id,
            credential,
            class: Some(25),
            created_millis: now_millis(),
            nonce: fresh_nonce(),
        }
    }

    /// The holder's notice for `spec`.
    fn notice(&self, spec: &NoticeSpec<'_>) -> Value {
        notice(&self.holder, &self.holder_did, spec)
    }

    /// The verdict `node` gives `notice` in a dry run; the checks that failed.
    fn dry_run_failures(&self, node: usize, notice: &Value) -> Vec<String> {
        let reply =
            self.clients[node].post_raw("/v1/verify", serde_json::to_vec(notice).unwrap(), None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        failed(&reply.body["verdict"])
    }

    /// Files `notice` at `node` for real.
    fn file(&self, node: usize, notice: &Value) -> crate::harness::Reply {
        self.clients[node].post_raw("/v1/notices", serde_json::to_vec(notice).unwrap(), None)
    }
}

/// The reason named `code` in a verdict.
fn reason<'a>(verdict: &'a Value, code: &str) -> &'a Value {
    verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|reason| reason["code"] == code)
        .unwrap_or_else(|| panic!("no reason {code} in {verdict}"))
}

type Case = fn(&Story);

/// The cases of the story, each with its own name and rights, run against one federation.
const CASES: &[(&str, Case)] = &[
    (
        "an_office_attests_its_own_right_to_its_holder_and_nothing_else",
        an_office_attests_its_own_right_to_its_holder_and_nothing_else,
    ),
    (
        "a_notice_abroad_is_accepted_with_every_reason_and_its_follow_ups_reach_every_node",
        a_notice_abroad_is_accepted_with_every_reason_and_its_follow_ups_reach_every_node,
    ),
    ("a_replayed_nonce_is_refused", a_replayed_nonce_is_refused),
    (
        "a_tampered_credential_fails_its_proof",
        a_tampered_credential_fails_its_proof,
    ),
    (
        "an_office_untrusted_for_the_jurisdiction_fails_issuer_trusted",
        an_office_untrusted_for_the_jurisdiction_fails_issuer_trusted,
    ),
    (
        "someone_else_signing_with_the_credential_fails_holder_key",
        someone_else_signing_with_the_credential_fails_holder_key,
    ),
    (
        "a_stale_notice_fails_notice_age",
        a_stale_notice_fails_notice_age,
    ),
    (
        "a_territory_the_marketplace_does_not_enforce_fails",
        a_territory_the_marketplace_does_not_enforce_fails,
    ),
    (
        "a_listing_outside_the_classes_fails",
        a_listing_outside_the_classes_fails,
    ),
    (
        "an_assigned_right_fails_registry_naming_the_assignment",
        an_assigned_right_fails_registry_naming_the_assignment,
    ),
    (
        "an_expired_right_fails_registry",
        an_expired_right_fails_registry,
    ),
    (
        "a_cancellation_by_gossip_rejects_the_same_credential_naming_it",
        a_cancellation_by_gossip_rejects_the_same_credential_naming_it,
    ),
    (
        "a_restoration_after_a_counter_notice_counts_against_the_holder_and_lifts_the_strike",
        a_restoration_after_a_counter_notice_counts_against_the_holder_and_lifts_the_strike,
    ),
];

/// Runs every case against one federation (starting four nodes per case would dominate the
/// suite's time); a failing case does not hide the others: the test fails naming each.
#[test]
fn the_cross_border_story_case_by_case() {
    let story = Story::start();
    let mut failures = Vec::new();
    for (name, case) in CASES {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&story)))
        {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{name}: {message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

fn an_office_attests_its_own_right_to_its_holder_and_nothing_else(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100001", &[25, 30]);
    let cn_right = story.register(CN_OFFICE, "CN", "810001", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    assert_eq!(issued["type"][1], "IPRightCredential");
    assert_eq!(issued["credentialSubject"]["id"], story.holder_did.as_str());
    assert_eq!(issued["validUntil"], "2035-01-15T23:59:59Z");
    // Another holder, or another office's right: refused.
    let stranger = SecretKey::generate();
    let refused = story.clients[FR_OFFICE].post(
        "/v1/credentials",
        &json!({"right_id": right_id, "holder": stranger.public_key().to_did_key()}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    let refused = story.clients[FR_OFFICE].post(
        "/v1/credentials",
        &json!({"right_id": cn_right, "holder": story.holder_did}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
}

fn a_notice_abroad_is_accepted_with_every_reason_and_its_follow_ups_reach_every_node(
    story: &Story,
) {
    let right_id = story.register(FR_OFFICE, "FR", "4100002", &[25, 30]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let listing = "listing-4100002";
    let accepted = story.notice(&NoticeSpec {
        listing,
        ..story.spec(&right_id, &issued)
    });
    assert!(story.dry_run_failures(CN_MARKET, &accepted).is_empty());
    let reply = story.file(CN_MARKET, &accepted);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let codes: Vec<&str> = reply.body["verdict"]["reasons"]
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
    // Decision and counter-notice at the CN marketplace, seen on every node.
    let decision = story.clients[CN_MARKET].post(
        "/v1/decisions",
        &json!({"notice_id": notice_id, "outcome": "removed", "reason": "counterfeit confirmed by test purchase", "seller_id": "seller-4100002"}),
    );
    assert_eq!(decision.status, 201, "{}", decision.body);
    let decision_id = decision.body["id"].as_str().unwrap().to_owned();
    let counter = story.clients[CN_MARKET].post(
        "/v1/counter-notices",
        &json!({"decision_id": decision_id, "statement": "These goods are genuine parallel imports."}),
    );
    assert_eq!(counter.status, 201, "{}", counter.body);
    for (index, client) in story.clients.iter().enumerate() {
        let count = |query: &str| {
            client.get(&format!("/v1/claims?{query}")).body["claims"]
                .as_array()
                .map_or(0, Vec::len)
        };
        assert!(
            wait_until(GOSSIP, || count(&format!("notice={notice_id}")) == 2),
            "node {index} lacks the decision or counter-notice"
        );
        assert_eq!(count(&format!("listing={listing}")), 2, "node {index}");
    }
    // The raw seller id never left the marketplace.
    let decision_entry = story.clients[FR_OFFICE].get(&format!("/v1/entries/{decision_id}"));
    assert_eq!(decision_entry.status, 200, "{}", decision_entry.body);
    let seller_ref = decision_entry.body["entry"]["body"]["seller_ref"]
        .as_str()
        .unwrap();
    assert!(!decision_entry.body.to_string().contains("seller-4100002"));
    assert_eq!(seller_ref.len(), 64);
}

fn a_replayed_nonce_is_refused(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100003", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let notice = story.notice(&story.spec(&right_id, &issued));
    let first = story.file(CN_MARKET, &notice);
    assert_eq!(first.status, 201, "{}", first.body);
    let replay = story.file(CN_MARKET, &notice);
    assert_eq!(replay.status, 422, "{}", replay.body);
    assert_eq!(failed(&replay.body["verdict"]), vec!["nonce"]);
}

fn a_tampered_credential_fails_its_proof(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100004", &[25, 30]);
    let mut tampered = story.credential(FR_OFFICE, &right_id, &story.holder);
    tampered["credentialSubject"]["right"]["niceClasses"] = json!([9, 25, 30]);
    let notice = story.notice(&story.spec(&right_id, &tampered));
    assert_eq!(
        story.dry_run_failures(CN_MARKET, &notice),
        vec!["credential_proof"]
    );
}

fn an_office_untrusted_for_the_jurisdiction_fails_issuer_trusted(story: &Story) {
    // The CN office signs an attestation of a French right.
    let right_id = story.register(FR_OFFICE, "FR", "4100005", &[25]);
    let genuine = story.credential(FR_OFFICE, &right_id, &story.holder);
    let cn_key = proto_types::keys::KeyFile::parse(
        &std::fs::read(story.federation.node_dir(CN_OFFICE).join("authority.json")).unwrap(),
    )
    .unwrap();
    let mut document = genuine.clone();
    document.as_object_mut().unwrap().remove("proof");
    document["issuer"] = json!(cn_key.public_key().to_did_key());
    let foreign = claims::sign_credential(
        &document,
        &cn_key,
        &Timestamp::from_unix_millis(now_millis()).unwrap(),
    )
    .unwrap();
    let notice = story.notice(&story.spec(&right_id, &foreign));
    // Its id is logged, but by the FR office's key: the CN signature is not what was logged.
    assert_eq!(
        story.dry_run_failures(CN_MARKET, &notice),
        vec!["issuer_trusted", "credential_logged", "credential_status"]
    );
}

fn someone_else_signing_with_the_credential_fails_holder_key(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100006", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let impostor = SecretKey::generate();
    let notice = notice(
        &impostor,
        &impostor.public_key().to_did_key(),
        &story.spec(&right_id, &issued),
    );
    let failures = story.dry_run_failures(CN_MARKET, &notice);
    assert!(failures.contains(&"holder_key".to_owned()), "{failures:?}");
}

fn a_stale_notice_fails_notice_age(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100007", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let notice = story.notice(&NoticeSpec {
        created_millis: now_millis() - 4 * 86_400_000,
        ..story.spec(&right_id, &issued)
    });
    assert_eq!(
        story.dry_run_failures(CN_MARKET, &notice),
        vec!["notice_age"]
    );
}

fn a_territory_the_marketplace_does_not_enforce_fails(story: &Story) {
    // The FR marketplace does not enforce Chinese rights.
    let right_id = story.register(CN_OFFICE, "CN", "810002", &[25]);
    let issued = story.credential(CN_OFFICE, &right_id, &story.holder);
    let notice = story.notice(&NoticeSpec {
        marketplace: &story.fr_market,
        ..story.spec(&right_id, &issued)
    });
    assert_eq!(
        story.dry_run_failures(FR_MARKET, &notice),
        vec!["territory"]
    );
}

fn a_listing_outside_the_classes_fails(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100008", &[25, 30]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let notice = story.notice(&NoticeSpec {
        class: Some(9),
        ..story.spec(&right_id, &issued)
    });
    assert_eq!(story.dry_run_failures(CN_MARKET, &notice), vec!["classes"]);
}

fn an_assigned_right_fails_registry_naming_the_assignment(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100009", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    let new_holder = SecretKey::generate();
    let assignment_id = story.change_status(
        FR_OFFICE,
        &right_id,
        &json!({"change": "assigned", "effective_date": "2026-01-01", "new_holder": {"name": "Other SA", "country": "FR", "key": new_holder.public_key().to_did_key()}}),
    );
    let notice = story.notice(&story.spec(&right_id, &issued));
    let reply =
        story.clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&notice).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["registry"],
        "{}",
        reply.body
    );
    assert_eq!(
        reason(&reply.body["verdict"], "registry")["entry_id"],
        assignment_id.as_str()
    );
}

fn an_expired_right_fails_registry(story: &Story) {
    let right_id = story.register(CN_OFFICE, "CN", "810003", &[25]);
    let issued = story.credential(CN_OFFICE, &right_id, &story.holder);
    let expiry_id = story.change_status(
        CN_OFFICE,
        &right_id,
        &json!({"change": "expired", "effective_date": "2026-01-01"}),
    );
    let notice = story.notice(&story.spec(&right_id, &issued));
    let reply =
        story.clients[CN_MARKET].post_raw("/v1/verify", serde_json::to_vec(&notice).unwrap(), None);
    assert_eq!(
        failed(&reply.body["verdict"]),
        vec!["registry"],
        "{}",
        reply.body
    );
    assert_eq!(
        reason(&reply.body["verdict"], "registry")["entry_id"],
        expiry_id.as_str()
    );
}

fn a_cancellation_by_gossip_rejects_the_same_credential_naming_it(story: &Story) {
    let right_id = story.register(FR_OFFICE, "FR", "4100010", &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &story.holder);
    // Accepted before the cancellation ...
    let before = story.notice(&story.spec(&right_id, &issued));
    assert!(story.dry_run_failures(CN_MARKET, &before).is_empty());
    let cancel_id = story.change_status(
        FR_OFFICE,
        &right_id,
        &json!({"change": "cancelled", "effective_date": "2026-11-28", "reason": "invalidated by court"}),
    );
    // ... rejected after it reached the marketplace by gossip, naming the cancellation.
    let after = story.notice(&story.spec(&right_id, &issued));
    let reply = story.file(CN_MARKET, &after);
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["code"], "notice_rejected");
    assert_eq!(failed(&reply.body["verdict"]), vec!["registry"]);
    let registry = reason(&reply.body["verdict"], "registry");
    assert_eq!(registry["entry_id"], cancel_id.as_str());
    assert!(registry["message"].as_str().unwrap().contains("cancelled"));
}

fn a_restoration_after_a_counter_notice_counts_against_the_holder_and_lifts_the_strike(
    story: &Story,
) {
    // A holder of its own, so that the accuracy figures count this case's notice alone.
    let holder = SecretKey::generate();
    let holder_did = holder.public_key().to_did_key();
    let right_id = story.register_for(FR_OFFICE, "FR", "4100011", &holder, &[25]);
    let issued = story.credential(FR_OFFICE, &right_id, &holder);
    let filed = story.file(
        CN_MARKET,
        &notice(&holder, &holder_did, &story.spec(&right_id, &issued)),
    );
    assert_eq!(filed.status, 201, "{}", filed.body);
    let notice_id = filed.body["notice_id"].as_str().unwrap().to_owned();
    let seller = "seller-4100011";
    let removed = story.clients[CN_MARKET].post(
        "/v1/decisions",
        &json!({"notice_id": notice_id, "outcome": "removed", "reason": "counterfeit confirmed", "seller_id": seller}),
    );
    assert_eq!(removed.status, 201, "{}", removed.body);
    let seller_ref = story.clients[CN_MARKET]
        .get(&format!(
            "/v1/entries/{}",
            removed.body["id"].as_str().unwrap()
        ))
        .body["entry"]["body"]["seller_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let counter = story.clients[CN_MARKET].post(
        "/v1/counter-notices",
        &json!({"decision_id": removed.body["id"], "statement": "These goods are genuine."}),
    );
    assert_eq!(counter.status, 201, "{}", counter.body);
    let strikes = story.clients[CN_MARKET].get(&format!("/v1/sellers/{seller_ref}/strikes"));
    assert_eq!(strikes.body["active_points"], 2, "{}", strikes.body);
    assert_eq!(strikes.body["sanction"], "warning");
    let restored = story.clients[CN_MARKET].post(
        "/v1/decisions",
        &json!({"notice_id": notice_id, "outcome": "restored", "reason": "holder did not sue before the deadline", "seller_id": seller}),
    );
    assert_eq!(restored.status, 201, "{}", restored.body);
    let accuracy = story.clients[CN_MARKET].get(&format!("/v1/holders/{holder_did}/accuracy"));
    assert_eq!(accuracy.body["filed"], 1, "{}", accuracy.body);
    assert_eq!(accuracy.body["reversed_after_counter_notice"], 1);
    assert_eq!(accuracy.body["meets_good_faith_policy"], false);
    assert_eq!(accuracy.body["reasons"].as_array().unwrap().len(), 2);
    let strikes = story.clients[CN_MARKET].get(&format!("/v1/sellers/{seller_ref}/strikes"));
    assert_eq!(strikes.body["active_points"], 0, "{}", strikes.body);
    assert!(strikes.body["sanction"].is_null());
    // The whole history reaches the office too.
    assert!(wait_until(GOSSIP, || story.clients[FR_OFFICE]
        .get(&format!("/v1/claims?notice={notice_id}"))
        .body["claims"]
        .as_array()
        .map_or(0, Vec::len)
        == 3));
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
