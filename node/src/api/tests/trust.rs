//! Trust routes on an office and a marketplace: the store listed, changed without a restart
//! (each change in effect at once for entries and rights, and written to the data directory),
//! and endorsements written.

use proto_types::body::{Body, EntryKind};
use proto_types::entry::{EntryId, UnsignedEntry, VerifiedEntry};
use proto_types::keys::SecretKey;
use serde_json::{Value, json};

use super::{Auth, Federation, Role, TestNode};
use crate::trust::{TRUST_FILE, TrustStore};

/// The routes this area tests.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/trust"),
    ("post", "/v1/trust"),
    ("delete", "/v1/trust/{did}"),
    ("put", "/v1/trust/{did}/jurisdictions"),
    ("post", "/v1/trust/endorsements"),
];

fn registration(key: &SecretKey, seq: u64, prev: Option<EntryId>, number: &str) -> VerifiedEntry {
    let body = json!({
        "v": 1,
        "right_id": format!("DE-TM-{number}"),
        "right_type": "trademark",
        "jurisdiction": "DE",
        "number": number,
        "mark_text": "Edelweiss",
        "nice_classes": [25],
        "holder": {"name": "Alpen GmbH", "country": "DE"},
        "filing_date": "2020-01-15",
        "registration_date": "2020-06-01",
        "expiry_date": "2035-01-15",
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

async fn submit(node: &TestNode, entry: &VerifiedEntry) -> super::Reply {
    let bytes = serde_json::to_vec(entry.value()).expect("JSON serialises");
    node.post_bytes("/v1/entries", Auth::Anonymous, &bytes)
        .await
}

fn listed<'a>(trust: &'a Value, did: &str) -> Option<&'a Value> {
    trust["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .find(|authority| authority["did"] == did)
}

fn persisted(node: &TestNode) -> TrustStore {
    let state = node.state();
    let text = std::fs::read_to_string(state.config.data_dir.join(TRUST_FILE))
        .expect("the node's copy of its trust store");
    TrustStore::from_toml(&text).expect("the copy parses")
}

#[tokio::test]
async fn the_trust_store_changes_without_a_restart() {
    let federation = Federation::start(&[Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let market = &federation.nodes[1];
    let foreign = federation.foreign.public_key().to_did_key();

    // Listed, publicly, with where each entry comes from.
    let trust = office.get("/v1/trust").await;
    let trust = trust.expect(200, None);
    assert_eq!(trust["store_source"], "configured_file");
    assert_eq!(trust["endorsement_threshold"], 0);
    assert_eq!(trust["authorities"].as_array().unwrap().len(), 3);
    let entry = listed(trust, &foreign).expect("the foreign office is listed");
    assert_eq!(entry["source"], "trust_store");
    assert_eq!(entry["jurisdictions"], json!(["DE"]));
    assert!(entry.get("justification").is_none());
    office
        .expect_body_refused("GET", "/v1/trust", Auth::Anonymous)
        .await;
    assert!(
        !office.state().config.data_dir.join(TRUST_FILE).exists(),
        "nothing is written before a change"
    );

    // A newcomer's entries are refused until it is added, and accepted at once after.
    let newcomer = SecretKey::generate();
    let newcomer_did = newcomer.public_key().to_did_key();
    let first = registration(&newcomer, 1, None, "100");
    submit(office, &first)
        .await
        .expect(403, Some("unknown_author"));
    let add =
        json!({"did": newcomer_did, "name": "DPMA", "role": "office", "jurisdictions": ["DE"]});
    office
        .expect_operator_only("POST", "/v1/trust", Some(&add))
        .await;
    office
        .post_bytes("/v1/trust", Auth::Operator, b"{\"did\": ")
        .await
        .expect(400, Some("malformed_json"));
    for invalid in [
        json!({"did": newcomer_did, "name": "DPMA", "role": "office"}),
        json!({"did": newcomer_did, "name": "DPMA", "role": "office", "jurisdictions": ["DE", "DE"]}),
        json!({"did": newcomer_did, "name": "DPMA", "role": "office", "jurisdictions": ["XX"]}),
        json!({"did": newcomer_did, "name": "", "role": "office", "jurisdictions": ["DE"]}),
        json!({"did": newcomer_did, "name": "two\nlines", "role": "office", "jurisdictions": ["DE"]}),
        json!({"did": "did:key:zNotAKey", "name": "DPMA", "role": "office", "jurisdictions": ["DE"]}),
        json!({"did": newcomer_did, "name": "DPMA", "role": "registry", "jurisdictions": ["DE"]}),
        json!({"did": newcomer_did, "name": "DPMA", "role": "office", "jurisdictions": ["DE"], "extra": 1}),
    ] {
        office
            .post("/v1/trust", Auth::Operator, &invalid)
            .await
            .expect(422, Some("invalid_field"));
    }
    assert!(
        listed(
            office.get("/v1/trust").await.expect(200, None),
            &newcomer_did
        )
        .is_none(),
        "refused changes change nothing"
    );
    let added = office.post("/v1/trust", Auth::Operator, &add).await;
    let added = added.expect(201, None);
    assert_eq!(added["change"], "added");
    assert_eq!(added["authority"]["did"], newcomer_did.as_str());
    assert_eq!(added["store_size"], 4);
    office
        .post("/v1/trust", Auth::Operator, &add)
        .await
        .expect(409, Some("duplicate"));
    assert!(
        persisted(office).get(&newcomer.public_key()).is_some(),
        "written to the data directory"
    );
    let trust = office.get("/v1/trust").await;
    assert_eq!(trust.expect(200, None)["store_source"], "data_directory");
    let metrics = office.get("/metrics").await;
    assert!(
        metrics
            .body
            .as_str()
            .unwrap_or_default()
            .contains("\nrightsnet_trust_store_authorities 4\n"),
        "{}",
        metrics.body
    );
    submit(office, &first).await.expect(201, None);
    let right = office.get("/v1/rights/DE-TM-100").await;
    let right = right.expect(200, None);
    assert_eq!(right["registered_by_trusted"], true);
    let search = office.get("/v1/rights?jurisdiction=DE").await;
    assert_eq!(
        search.expect(200, None)["rights"][0]["registered_by_trusted"],
        true
    );
    // The marketplace's store is its own: the newcomer is still unknown there.
    submit(market, &first)
        .await
        .expect(403, Some("unknown_author"));

    // Jurisdictions replaced: later registrations follow the new store.
    let path = format!("/v1/trust/{newcomer_did}/jurisdictions");
    let to_austria = json!({"jurisdictions": ["AT"]});
    office
        .expect_operator_only("PUT", &path, Some(&to_austria))
        .await;
    office
        .send(
            "PUT",
            "/v1/trust/did:key:zBad/jurisdictions",
            Auth::Operator,
            Some(serde_json::to_vec(&to_austria).unwrap()),
        )
        .await
        .expect(400, Some("bad_did"));
    let unknown = SecretKey::generate().public_key().to_did_key();
    office
        .send(
            "PUT",
            &format!("/v1/trust/{unknown}/jurisdictions"),
            Auth::Operator,
            Some(serde_json::to_vec(&to_austria).unwrap()),
        )
        .await
        .expect(404, Some("not_found"));
    for invalid in [
        json!({"jurisdictions": []}),
        json!({"jurisdictions": ["de"]}),
        json!({}),
    ] {
        office
            .send(
                "PUT",
                &path,
                Auth::Operator,
                Some(serde_json::to_vec(&invalid).unwrap()),
            )
            .await
            .expect(422, Some("invalid_field"));
    }
    let updated = office
        .send(
            "PUT",
            &path,
            Auth::Operator,
            Some(serde_json::to_vec(&to_austria).unwrap()),
        )
        .await;
    assert_eq!(
        updated.expect(200, None)["authority"]["jurisdictions"],
        json!(["AT"])
    );
    let second = registration(&newcomer, 2, Some(first.id()), "101");
    let stored = submit(office, &second).await;
    assert!(
        stored.expect(201, None)["ineffective"]
            .as_str()
            .is_some_and(|reason| reason.contains("DE")),
        "no longer an office for DE: {}",
        stored.body
    );
    let right = office.get("/v1/rights/DE-TM-100").await;
    assert_eq!(
        right.expect(200, None)["registered_by_trusted"],
        false,
        "registered by an office no longer trusted for DE"
    );

    // Removed: its rights stay, its new entries are refused.
    let remove = format!("/v1/trust/{newcomer_did}");
    office.expect_operator_only("DELETE", &remove, None).await;
    office
        .expect_body_refused("DELETE", &remove, Auth::Operator)
        .await;
    office
        .send("DELETE", "/v1/trust/not-a-did", Auth::Operator, None)
        .await
        .expect(400, Some("bad_did"));
    office
        .send(
            "DELETE",
            &format!("/v1/trust/{unknown}"),
            Auth::Operator,
            None,
        )
        .await
        .expect(404, Some("not_found"));
    let removed = office.send("DELETE", &remove, Auth::Operator, None).await;
    let removed = removed.expect(200, None);
    assert_eq!(removed["change"], "removed");
    assert_eq!(removed["store_size"], 3);
    office
        .send("DELETE", &remove, Auth::Operator, None)
        .await
        .expect(404, Some("not_found"));
    let third = registration(&newcomer, 3, Some(second.id()), "102");
    submit(office, &third)
        .await
        .expect(403, Some("unknown_author"));
    let right = office.get("/v1/rights/DE-TM-100").await;
    assert_eq!(right.expect(200, None)["registered_by_trusted"], false);
    assert!(persisted(office).get(&newcomer.public_key()).is_none());
    assert_eq!(persisted(office).len(), 3);
    federation.assert_covers(&ROUTES[..4]);
    federation.stop().await;
}

#[tokio::test]
async fn an_office_endorses_and_withdraws() {
    let federation = Federation::start(&[Role::Office, Role::Marketplace], false).await;
    let office = &federation.nodes[0];
    let market = &federation.nodes[1];
    let subject = SecretKey::generate().public_key().to_did_key();
    let endorsement = json!({"subject": subject, "name": "DPMA", "role": "office", "jurisdictions": ["DE"], "contact": "registry@dpma.example"});
    let path = "/v1/trust/endorsements";
    office
        .expect_operator_only("POST", path, Some(&endorsement))
        .await;
    office
        .post_bytes(path, Auth::Operator, b"[]")
        .await
        .expect(400, Some("malformed_json"));
    let own = office.authority.to_did_key();
    for invalid in [
        json!({"subject": own, "name": "Me", "role": "office", "jurisdictions": ["FR"]}),
        json!({"subject": subject, "name": "DPMA", "role": "office"}),
        json!({"subject": subject, "name": "DPMA", "role": "office", "jurisdictions": ["DE"], "withdrawn": false}),
        json!({"subject": "did:key:z6Mk", "name": "DPMA", "role": "office", "jurisdictions": ["DE"]}),
        json!({"subject": subject, "name": "DPMA", "role": "office", "jurisdictions": ["DE"], "v": 2}),
    ] {
        office
            .post(path, Auth::Operator, &invalid)
            .await
            .expect(422, Some("invalid_field"));
    }
    // A marketplace is no office of its own store: its endorsement would count nowhere.
    market
        .post(path, Auth::Operator, &endorsement)
        .await
        .expect(409, Some("not_an_office"));
    let written = office.post(path, Auth::Operator, &endorsement).await;
    let written = written.expect(201, None);
    assert!(written.get("ineffective").is_none(), "{written}");
    let id = written["entry_id"]
        .as_str()
        .expect("an entry id")
        .to_owned();
    let entry = office.get(&format!("/v1/entries/{id}")).await;
    let entry = entry.expect(200, None);
    assert_eq!(entry["effective"], true, "{entry}");
    assert_eq!(entry["entry"]["body"]["v"], 2);
    assert_eq!(entry["entry"]["body"]["subject"], subject.as_str());
    let withdrawal = json!({"subject": subject, "name": "DPMA", "role": "office", "jurisdictions": ["DE"], "withdrawn": true});
    office
        .post(path, Auth::Operator, &withdrawal)
        .await
        .expect(201, None);
    // Admission is off here: nobody is admitted, whatever is endorsed.
    let trust = office.get("/v1/trust").await;
    assert!(listed(trust.expect(200, None), &subject).is_none());
    federation.assert_covers(&ROUTES[4..]);
    federation.stop().await;
}
