//! Trust changes without restarts and admission by endorsement (protocol.md §13), on a running
//! federation of in-process nodes over real libp2p on 127.0.0.1, driven over HTTP and through
//! the real `rightsnet trust` commands:
//!
//! - an office adds a newcomer at runtime (`rightsnet trust add`): the newcomer's feed is
//!   synced and its registrations take effect, and the change survives a restart;
//! - two of three offices endorse the newcomer: a marketplace with `endorsement_threshold = 2`
//!   admits it for the endorsed jurisdiction without a restart, shows why in `GET /v1/trust`,
//!   fetches its feed, and a notice backed by its credential passes `issuer_trusted`;
//! - one withdrawal takes it below 2: the marketplace no longer trusts it.

use std::path::Path;
use std::time::Duration;

use proto_types::claims;
use proto_types::keys::SecretKey;
use proto_types::timestamp::Timestamp;
use serde_json::{Value, json};

use crate::federation::{Federation, Role};
use crate::harness::{Client, run, wait_until};

const FR: usize = 0;
const CN: usize = 1;
const US: usize = 2;
const MARKET: usize = 3;
const NEWCOMER: usize = 4;
/// How long a change may take to travel the federation (gossip, then a 5 s sync tick).
const DEADLINE: Duration = Duration::from_secs(90);

/// Starts node `index` with `[trust] endorsement_threshold` and extra bootstrap addresses.
fn start_with(federation: &mut Federation, index: usize, threshold: usize, extra: &[String]) {
    let mut config = federation.config(index);
    config.trust.endorsement_threshold = threshold;
    config.bootstrap.extend_from_slice(extra);
    let node = federation
        .runtime
        .block_on(rightsnet_node::start(config))
        .expect("the node starts");
    federation.apis[index] = format!("http://{}", node.api_addr);
    federation.peer_ids[index] = node.peer_id.clone();
    federation.nodes[index] = Some(node);
}

fn did_of(federation: &Federation, index: usize) -> String {
    federation.nodes[index]
        .as_ref()
        .expect("running")
        .authority
        .to_did_key()
}

/// `rightsnet trust …` against node `index`; its standard output as JSON when it succeeds.
fn cli(federation: &Federation, index: usize, args: &[&str]) -> (i32, Value, String) {
    let token_file = federation.node_dir(index).join("token");
    let mut full = vec!["trust"];
    full.extend_from_slice(args);
    let api = federation.apis[index].clone();
    full.extend_from_slice(&[
        "--node",
        &api,
        "--token-file",
        token_file.to_str().unwrap(),
        "--json",
    ]);
    let output = run(&full, b"");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

/// The authority `did` in node `client`'s `GET /v1/trust`, if trusted.
fn trusted(client: &Client, did: &str) -> Option<Value> {
    let reply = client.get("/v1/trust");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|authority| authority["did"] == did)
        .cloned()
}

fn register(client: &Client, number: &str, holder: &SecretKey) {
    let reply = client.post(
        "/v1/registrations",
        &json!({
            "right_type": "trademark",
            "jurisdiction": "DE",
            "number": number,
            "mark_text": format!("Edelweiss {number}"),
            "nice_classes": [25],
            "holder": {"name": "Alpen GmbH", "country": "DE", "key": holder.public_key().to_did_key()},
            "filing_date": "2020-01-15",
            "registration_date": "2020-06-01",
            "expiry_date": "2035-01-15",
            "status": "registered",
        }),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
}

fn notice(holder: &SecretKey, marketplace: &str, right_id: &str, credential: &Value) -> Value {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let unsigned = json!({
        "v": 1,
        "marketplace": marketplace,
        "right_id": right_id,
        "holder": holder.public_key().to_did_key(),
        "listings": [{"id": "listing-7", "url": "https://shop.example/item/7", "class": 25}],
        "reason": "counterfeit",
        "evidence": [{
            "kind": "test_purchase",
            "digest": format!("sha256:{}", "ab".repeat(32)),
            "result": "counterfeit: wrong stitching",
        }],
        "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
        "nonce": hex::encode(SecretKey::generate().public_key().to_bytes()),
        "created": Timestamp::from_unix_millis(created).unwrap().as_str(),
        "credential": credential,
    });
    claims::sign_notice(&unsigned, holder).unwrap()
}

/// The named reason of `client`'s dry-run verdict on `notice`.
fn verdict_reason(client: &Client, notice: &Value, code: &str) -> Value {
    let reply = client.post_raw("/v1/verify", serde_json::to_vec(notice).unwrap(), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|reason| reason["code"] == code)
        .cloned()
        .unwrap_or_else(|| panic!("no {code} in {}", reply.body))
}

/// The shared trust store without the newcomer's entry.
fn without_newcomer(shared: &Path, out: &Path) {
    let text = std::fs::read_to_string(shared).unwrap();
    let kept: Vec<&str> = text
        .split("\n\n")
        .filter(|block| !block.contains("name = \"Office DE\""))
        .collect();
    assert_eq!(
        kept.len() + 1,
        text.split("\n\n").count(),
        "one entry removed"
    );
    std::fs::write(out, kept.join("\n\n")).unwrap();
}

#[test]
fn trust_changes_and_endorsements_take_effect_in_a_running_federation() {
    let mut federation = Federation::with_roles_stopped(&[
        Role::Office("FR"),
        Role::Office("CN"),
        Role::Office("US"),
        Role::Marketplace(&["DE"]),
        Role::Office("DE"),
    ]);
    let restricted = federation.dir.path().join("without-newcomer.toml");
    without_newcomer(&federation.trust_path(), &restricted);
    for index in [FR, CN, US, MARKET] {
        federation.trust_overrides[index] = Some(restricted.clone());
    }
    for index in [FR, CN, US] {
        federation.start(index);
    }
    start_with(&mut federation, MARKET, 2, &[]);
    let market_addrs = federation.nodes[MARKET].as_ref().unwrap().p2p_addrs.clone();
    // The newcomer trusts itself (the shared store lists it) and dials the marketplace too.
    start_with(&mut federation, NEWCOMER, 0, &market_addrs);
    let newcomer = did_of(&federation, NEWCOMER);
    let market_did = did_of(&federation, MARKET);
    let clients: Vec<Client> = (0..5).map(|index| federation.client(index)).collect();

    // The newcomer registers a right; nobody else trusts it yet.
    let holder = SecretKey::generate();
    register(&clients[NEWCOMER], "4711", &holder);
    assert_eq!(clients[US].get("/v1/rights/DE-TM-4711").status, 404);
    assert!(trusted(&clients[MARKET], &newcomer).is_none());

    // 1. An office adds the newcomer at runtime, with the CLI: its feed is fetched and its
    //    registration takes effect there, no restart.
    let (code, _, stderr) = cli(
        &federation,
        US,
        &[
            "add",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE,AT,DE",
        ],
    );
    assert_eq!(code, 2, "duplicate jurisdictions are refused: {stderr}");
    let (code, added, stderr) = cli(
        &federation,
        US,
        &[
            "add",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(added["change"], "added");
    let (code, _, stderr) = cli(
        &federation,
        US,
        &[
            "add",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE",
        ],
    );
    assert_eq!(code, 2, "a duplicate is refused: {stderr}");
    assert!(
        wait_until(DEADLINE, || {
            let right = clients[US].get("/v1/rights/DE-TM-4711");
            right.status == 200 && right.body["registered_by_trusted"] == true
        }),
        "the US office never synced the newcomer's registration"
    );
    assert_eq!(
        trusted(&clients[US], &newcomer).unwrap()["source"],
        "trust_store"
    );

    // 2. Two of three offices endorse the newcomer for DE (one through the CLI).
    let (code, endorsed, stderr) = cli(
        &federation,
        FR,
        &[
            "endorse",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE",
            "--contact",
            "registry@dpma.example",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let fr_endorsement = endorsed["entry_id"].as_str().unwrap().to_owned();
    // One endorsement is below k = 2: the marketplace holds it, and does not admit.
    assert!(
        wait_until(DEADLINE, || clients[MARKET]
            .get(&format!("/v1/entries/{fr_endorsement}"))
            .status
            == 200),
        "the endorsement never reached the marketplace"
    );
    let entry = clients[MARKET].get(&format!("/v1/entries/{fr_endorsement}"));
    assert_eq!(entry.body["effective"], true, "{}", entry.body);
    assert!(trusted(&clients[MARKET], &newcomer).is_none(), "1 of k = 2");
    let reply = clients[CN].post(
        "/v1/trust/endorsements",
        &json!({"subject": newcomer, "name": "DPMA", "role": "office", "jurisdictions": ["DE", "AT"]}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let cn_endorsement = reply.body["entry_id"].as_str().unwrap().to_owned();
    assert!(
        wait_until(DEADLINE, || trusted(&clients[MARKET], &newcomer).is_some()),
        "the marketplace never admitted the newcomer"
    );
    // Why, publicly and through the CLI (no token needed to list).
    let listed = run(
        &[
            "trust",
            "list",
            "--node",
            &federation.apis[MARKET],
            "--json",
        ],
        b"",
    );
    assert_eq!(
        listed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["endorsement_threshold"], 2);
    let admitted = listed["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|authority| authority["did"] == newcomer.as_str())
        .expect("listed")
        .clone();
    assert_eq!(admitted["source"], "endorsement");
    assert_eq!(admitted["role"], "office");
    assert_eq!(
        admitted["jurisdictions"],
        json!(["DE"]),
        "AT has one endorsement"
    );
    let justification = admitted["justification"].as_array().unwrap();
    assert_eq!(justification.len(), 1);
    assert_eq!(justification[0]["jurisdiction"], "DE");
    let mut ids: Vec<&str> = justification[0]["endorsements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|endorsement| endorsement["entry_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![fr_endorsement.as_str(), cn_endorsement.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // Its feed is fetched, its registration is visible, and its credential passes.
    assert!(
        wait_until(DEADLINE, || {
            let right = clients[MARKET].get("/v1/rights/DE-TM-4711");
            right.status == 200 && right.body["registered_by_trusted"] == true
        }),
        "the marketplace never synced the admitted office's registration"
    );
    let reply = clients[NEWCOMER].post(
        "/v1/credentials",
        &json!({"right_id": "DE-TM-4711", "holder": holder.public_key().to_did_key()}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let credential = reply.body;
    let signed = notice(&holder, &market_did, "DE-TM-4711", &credential);
    let issuer = verdict_reason(&clients[MARKET], &signed, "issuer_trusted");
    assert_eq!(issuer["ok"], true, "{issuer}");
    let registry = verdict_reason(&clients[MARKET], &signed, "registry");
    assert_eq!(registry["ok"], true, "{registry}");

    // 3. One withdrawal takes it below k: no longer trusted, at once.
    let (code, _, stderr) = cli(
        &federation,
        CN,
        &[
            "endorse",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE",
            "--withdraw",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        wait_until(DEADLINE, || trusted(&clients[MARKET], &newcomer).is_none()),
        "the withdrawal never took the newcomer out"
    );
    let issuer = verdict_reason(&clients[MARKET], &signed, "issuer_trusted");
    assert_eq!(issuer["ok"], false, "{issuer}");
    let registry = verdict_reason(&clients[MARKET], &signed, "registry");
    assert_eq!(registry["ok"], false, "{registry}");
    assert!(
        registry["message"]
            .as_str()
            .unwrap()
            .contains("no longer trusted"),
        "{registry}"
    );
    assert_eq!(
        clients[MARKET].get("/v1/rights/DE-TM-4711").body["registered_by_trusted"],
        false
    );
    // A third office's endorsement makes two again (FR and US): admitted once more.
    let reply = clients[US].post(
        "/v1/trust/endorsements",
        &json!({"subject": newcomer, "name": "DPMA", "role": "office", "jurisdictions": ["DE"]}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(
        wait_until(DEADLINE, || trusted(&clients[MARKET], &newcomer).is_some()),
        "FR and US make two again"
    );

    // 4. The US office's change survives a restart: it starts from its data directory's copy.
    federation.stop(US);
    federation.start(US);
    let us = federation.client(US);
    let listed = us.get("/v1/trust");
    assert_eq!(listed.body["store_source"], "data_directory");
    assert!(
        trusted(&us, &newcomer).is_some(),
        "the added office is still trusted"
    );
    assert_eq!(
        us.get("/v1/rights/DE-TM-4711").body["registered_by_trusted"],
        true
    );

    // 5. The other store commands, and their refusals.
    let (code, updated, stderr) = cli(
        &federation,
        US,
        &["set-jurisdictions", &newcomer, "--jurisdictions", "DE,AT"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(updated["authority"]["jurisdictions"], json!(["DE", "AT"]));
    let (code, _, stderr) = cli(
        &federation,
        US,
        &["set-jurisdictions", &newcomer, "--jurisdictions", "de"],
    );
    assert_eq!(code, 2, "a lowercase code is refused: {stderr}");
    let (code, removed, stderr) = cli(&federation, US, &["remove", &newcomer]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(removed["change"], "removed");
    let (code, _, stderr) = cli(&federation, US, &["remove", &newcomer]);
    assert_eq!(code, 2, "no longer listed: {stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    let (code, _, _) = cli(&federation, US, &["remove", "did:key:z6Mk/../x"]);
    assert_eq!(code, 2, "not a did:key");
    assert_eq!(
        us.get("/v1/rights/DE-TM-4711").body["registered_by_trusted"],
        false
    );
    let unauthenticated = run(
        &[
            "trust",
            "add",
            &newcomer,
            "--name",
            "DPMA",
            "--role",
            "office",
            "--jurisdictions",
            "DE",
            "--node",
            &federation.apis[US],
        ],
        b"",
    );
    assert_eq!(
        unauthenticated.status.code(),
        Some(2),
        "a change needs the token"
    );
    assert!(trusted(&us, &newcomer).is_none());
}
