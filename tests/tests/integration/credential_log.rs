//! The public credential log and credential status (protocol §6.10–6.11, §13.4) across an
//! office and two marketplaces over real libp2p: an issued credential is in the office's feed
//! and reaches the marketplaces by gossip; a notice with it is accepted, naming its log entry;
//! a revocation reaches the marketplaces and the next verdict names the revoking entry; suspend
//! and reinstate round trip (through the real `rightsnet credential` commands); a credential
//! re-signed out of band with the office's key but not logged fails `credential_logged`; the
//! unlogged policy both ways; and the holder sees every credential logged for its key, also one
//! it never received.

use std::time::Duration;

use proto_types::claims;
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::timestamp::Timestamp;
use rightsnet_node::config::UnloggedCredentials;
use serde_json::{Value, json};

use crate::federation::{Federation, Role};
use crate::harness::{Client, run, wait_until};

const OFFICE: usize = 0;
/// A marketplace with the default policy: unlogged credentials are refused.
const STRICT: usize = 1;
/// A marketplace that accepts unlogged credentials created before its cutoff.
const LENIENT: usize = 2;
/// How long gossip may take.
const GOSSIP: Duration = Duration::from_secs(30);
const HOUR_MILLIS: i64 = 3_600_000;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis).expect("a timestamp")
}

fn segment(id: &str) -> String {
    id.replace(':', "%3A")
}

struct Setup {
    federation: Federation,
    clients: Vec<Client>,
    markets: Vec<String>,
    holder: SecretKey,
    office_key: SecretKey,
    right_id: String,
}

/// The office, the strict marketplace, and the lenient one (cutoff an hour ago), all started;
/// a right of the holder registered and known everywhere.
fn setup() -> Setup {
    let mut federation = Federation::with_roles(&[
        Role::Office("FR"),
        Role::Marketplace(&["FR"]),
        Role::Marketplace(&["FR"]),
    ]);
    // The lenient marketplace restarts with its own policy.
    federation.stop(LENIENT);
    let mut config = federation.config(LENIENT);
    let policy = config.marketplace.as_mut().expect("a marketplace");
    policy.unlogged_credentials = UnloggedCredentials::AcceptBefore;
    policy.unlogged_cutoff = Some(timestamp(now_millis() - HOUR_MILLIS));
    let node = federation
        .runtime
        .block_on(rightsnet_node::start(config))
        .expect("the lenient marketplace starts");
    federation.apis[LENIENT] = format!("http://{}", node.api_addr);
    federation.peer_ids[LENIENT] = node.peer_id.clone();
    federation.nodes[LENIENT] = Some(node);
    let clients: Vec<Client> = (0..3).map(|index| federation.client(index)).collect();
    let markets = [STRICT, LENIENT]
        .iter()
        .map(|index| {
            clients[*index].get("/v1/status").body["authority"]
                .as_str()
                .expect("an authority")
                .to_owned()
        })
        .collect();
    let key_file = std::fs::read(federation.node_dir(OFFICE).join("authority.json"))
        .expect("the office's key file");
    let office_key = KeyFile::parse(&key_file).expect("a key file");
    let holder = SecretKey::generate();
    let right_id = "FR-TM-7001".to_owned();
    let reply = clients[OFFICE].post(
        "/v1/registrations",
        &json!({
            "right_type": "trademark", "jurisdiction": "FR", "number": "7001",
            "mark_text": "Lumière", "nice_classes": [25],
            "holder": {"name": "Lumière SARL", "country": "FR", "key": holder.public_key().to_did_key()},
            "filing_date": "2020-01-15", "registration_date": "2020-06-01",
            "expiry_date": "2035-01-15", "status": "registered",
        }),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    for (index, client) in clients.iter().enumerate() {
        assert!(
            wait_until(GOSSIP, || client
                .get(&format!("/v1/rights/{right_id}"))
                .status
                == 200),
            "node {index} never saw {right_id}"
        );
    }
    Setup {
        federation,
        clients,
        markets,
        holder,
        office_key,
        right_id,
    }
}

impl Setup {
    /// Issues a credential to the holder and waits until every node has it logged; returns it
    /// and its log entry.
    fn issue(&self) -> (Value, String) {
        let reply = self.clients[OFFICE].post(
            "/v1/credentials",
            &json!({"right_id": self.right_id, "holder": self.holder.public_key().to_did_key()}),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let credential = reply.body;
        let id = credential["id"].as_str().expect("an id").to_owned();
        let mut entry = String::new();
        for (index, client) in self.clients.iter().enumerate() {
            assert!(
                wait_until(GOSSIP, || {
                    let logged = client.get(&format!("/v1/credentials/{}", segment(&id)));
                    if logged.status == 200 {
                        entry = logged.body["entry_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                    }
                    logged.status == 200
                }),
                "node {index} never logged {id}"
            );
        }
        (credential, entry)
    }

    /// Waits until every node reads the credential's status as `status`.
    fn wait_status(&self, id: &str, status: &str) {
        for (index, client) in self.clients.iter().enumerate() {
            assert!(
                wait_until(GOSSIP, || client
                    .get(&format!("/v1/credentials/{}", segment(id)))
                    .body["status"]
                    == status),
                "node {index} never read {id} as {status}"
            );
        }
    }

    /// The verdict marketplace `market` (STRICT or LENIENT) gives the holder's notice with
    /// `credential`, in a dry run.
    fn verdict(&self, market: usize, credential: &Value) -> Value {
        let unsigned = json!({
            "v": 1,
            "marketplace": self.markets[market - 1],
            "right_id": self.right_id,
            "holder": self.holder.public_key().to_did_key(),
            "listings": [{"id": "listing-1", "url": "https://shop.example/item/1", "class": 25}],
            "reason": "counterfeit",
            "evidence": [{"kind": "test_purchase", "digest": format!("sha256:{}", "ab".repeat(32)), "result": "counterfeit"}],
            "good_faith_statement": "I believe in good faith that the listed goods infringe the right.",
            "nonce": hex::encode(SecretKey::generate().public_key().to_bytes()),
            "created": timestamp(now_millis()).as_str(),
            "credential": credential,
        });
        let notice = claims::sign_notice(&unsigned, &self.holder).expect("the holder signs");
        let reply = self.clients[market].post_raw(
            "/v1/verify",
            serde_json::to_vec(&notice).expect("JSON"),
            None,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["verdict"].clone()
    }

    /// `credential` with `id` and `validFrom` replaced, re-signed by the office's key at
    /// `created`, out of band: no entry logs it.
    fn resigned(&self, credential: &Value, id: &str, created_millis: i64) -> Value {
        let mut document = credential.clone();
        let object = document.as_object_mut().expect("an object");
        object.remove("proof");
        object.insert("id".to_owned(), json!(id));
        object.insert(
            "validFrom".to_owned(),
            json!(timestamp(created_millis).as_str()),
        );
        claims::sign_credential(&document, &self.office_key, &timestamp(created_millis))
            .expect("the office key signs")
    }
}

fn reason<'a>(verdict: &'a Value, code: &str) -> &'a Value {
    verdict["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .find(|reason| reason["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {verdict}"))
}

fn failed(verdict: &Value) -> Vec<String> {
    verdict["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|reason| reason["ok"] == false)
        .filter_map(|reason| reason["code"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_credential_log_and_status_across_a_federation() {
    let setup = setup();
    let office = &setup.clients[OFFICE];
    let office_did = setup.clients[OFFICE].get("/v1/status").body["authority"]
        .as_str()
        .expect("an authority")
        .to_owned();

    // Issued, logged in the office's own feed, and there by gossip at both marketplaces.
    let (first, first_entry) = setup.issue();
    let first_id = first["id"].as_str().expect("an id").to_owned();
    let feed = office.get(&format!("/v1/feeds/{office_did}"));
    let logged_in_feed = feed.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|entry| entry["kind"] == "credential")
        .expect("a credential entry in the office's feed")
        .clone();
    let by_id = office.get(&format!("/v1/entries/{first_entry}"));
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert_eq!(
        by_id.body["entry"]["body"], logged_in_feed["body"],
        "{}",
        by_id.body
    );
    assert_eq!(logged_in_feed["body"]["credential_id"], first_id.as_str());
    assert_eq!(logged_in_feed["body"]["status_index"], 0);
    assert_eq!(
        logged_in_feed["body"]["subject"],
        setup.holder.public_key().to_did_key()
    );
    for market in [STRICT, LENIENT] {
        let verdict = setup.verdict(market, &first);
        assert_eq!(verdict["accepted"], true, "{verdict}");
        let logged = reason(&verdict, "credential_logged");
        assert_eq!(logged["entry_id"], first_entry.as_str(), "{verdict}");
        assert_eq!(reason(&verdict, "credential_status")["ok"], true);
        assert_eq!(reason(&verdict, "issuer_key_rotated")["ok"], true);
    }

    // Revoked at the office: the revocation reaches the marketplaces, and the next verdict
    // fails credential_status, naming the revoking entry.
    let revoked = office.post(
        &format!("/v1/credentials/{}/revoke", segment(&first_id)),
        &json!({"reason_code": "misissued", "reason": "issued to the wrong key"}),
    );
    assert_eq!(revoked.status, 201, "{}", revoked.body);
    let revoke_entry = revoked.body["entry_id"]
        .as_str()
        .expect("an entry")
        .to_owned();
    setup.wait_status(&first_id, "revoked");
    for market in [STRICT, LENIENT] {
        let verdict = setup.verdict(market, &first);
        assert_eq!(failed(&verdict), ["credential_status"], "{verdict}");
        let status = reason(&verdict, "credential_status");
        assert_eq!(status["entry_id"], revoke_entry.as_str());
        assert!(
            status["message"]
                .as_str()
                .is_some_and(|message| message.contains("revoked (misissued)")),
            "{status}"
        );
    }

    // Suspend and reinstate, with the real CLI.
    let (second, second_entry) = setup.issue();
    let second_id = second["id"].as_str().expect("an id").to_owned();
    let token_file = setup.federation.node_dir(OFFICE).join("token");
    let token_file = token_file.to_str().expect("a UTF-8 path");
    let node = setup.federation.apis[OFFICE].clone();
    let cli = |args: &[&str]| {
        let output = run(args, b"");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = cli(&[
        "credential",
        "suspend",
        &second_id,
        "--node",
        &node,
        "--token-file",
        token_file,
        "--reason",
        "holder_request",
        "--note",
        "lost phone",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(answer["status"], "suspended");
    let suspend_entry = answer["entry_id"].as_str().expect("an entry").to_owned();
    setup.wait_status(&second_id, "suspended");
    let verdict = setup.verdict(STRICT, &second);
    assert_eq!(failed(&verdict), ["credential_status"], "{verdict}");
    assert_eq!(
        reason(&verdict, "credential_status")["entry_id"],
        suspend_entry.as_str()
    );
    // Suspending again is refused by the node: exit 2, nothing written.
    let (code, stdout, stderr) = cli(&[
        "credential",
        "suspend",
        &second_id,
        "--node",
        &node,
        "--token-file",
        token_file,
    ]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("already suspended"), "{stderr}");
    let (code, stdout, stderr) = cli(&[
        "credential",
        "reinstate",
        &second_id,
        "--node",
        &node,
        "--token-file",
        token_file,
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("is active"), "{stdout}");
    setup.wait_status(&second_id, "active");
    let verdict = setup.verdict(STRICT, &second);
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert_eq!(
        reason(&verdict, "credential_logged")["entry_id"],
        second_entry.as_str()
    );
    // Without the token: refused, exit 2.
    let (code, _, stderr) = cli(&["credential", "revoke", &second_id, "--node", &node]);
    assert_eq!(code, Some(2), "{stderr}");

    // A member changed and re-signed with the office's own key, out of band: the id is logged
    // with another digest, which no policy accepts.
    let mut tampered = second.clone();
    tampered["credentialSubject"]["right"]["niceClasses"] = json!([25, 35]);
    let tampered = setup.resigned(&tampered, &second_id, now_millis() - 2 * HOUR_MILLIS);
    assert!(
        claims::verify_credential(&tampered).is_ok(),
        "a valid proof"
    );
    for market in [STRICT, LENIENT] {
        let verdict = setup.verdict(market, &tampered);
        assert!(
            failed(&verdict).contains(&"credential_logged".to_owned()),
            "{verdict}"
        );
        let logged = reason(&verdict, "credential_logged");
        assert_eq!(logged["entry_id"], second_entry.as_str());
        assert!(
            logged["message"]
                .as_str()
                .is_some_and(|message| message.contains("digest differs")),
            "{logged}"
        );
        assert_eq!(reason(&verdict, "credential_proof")["ok"], true);
    }

    // Unlogged credentials (a fresh id, never logged): the strict marketplace refuses them, the
    // lenient one accepts one created before its cutoff and refuses one created after.
    let old = setup.resigned(
        &second,
        "urn:rightsnet:credential:0123456789abcdef0123456789abcdef",
        now_millis() - 2 * HOUR_MILLIS,
    );
    let recent = setup.resigned(
        &second,
        "urn:rightsnet:credential:fedcba9876543210fedcba9876543210",
        now_millis() - 60_000,
    );
    for credential in [&old, &recent] {
        let verdict = setup.verdict(STRICT, credential);
        assert_eq!(
            failed(&verdict),
            ["credential_logged", "credential_status"],
            "{verdict}"
        );
        assert!(
            reason(&verdict, "credential_logged")["message"]
                .as_str()
                .is_some_and(|message| message.contains("refuses unlogged credentials")),
            "{verdict}"
        );
    }
    let verdict = setup.verdict(LENIENT, &old);
    assert_eq!(verdict["accepted"], true, "{verdict}");
    assert!(
        reason(&verdict, "credential_logged")["message"]
            .as_str()
            .is_some_and(|message| message.contains("accepted by policy")),
        "{verdict}"
    );
    let verdict = setup.verdict(LENIENT, &recent);
    assert_eq!(
        failed(&verdict),
        ["credential_logged", "credential_status"],
        "{verdict}"
    );

    // Misissuance is visible: a credential the holder never received is listed for its key,
    // at every node, with the others; unlogged ones are not.
    let (unseen, unseen_entry) = setup.issue();
    let holder = setup.holder.public_key().to_did_key();
    for (index, client) in setup.clients.iter().enumerate() {
        let listed = client.get(&format!("/v1/credentials?holder={holder}"));
        assert_eq!(listed.status, 200, "{}", listed.body);
        let rows: Vec<(String, String, String)> = listed.body["credentials"]
            .as_array()
            .expect("credentials")
            .iter()
            .map(|logged| {
                (
                    logged["credential_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    logged["entry_id"].as_str().unwrap_or_default().to_owned(),
                    logged["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (first_id.clone(), first_entry.clone(), "revoked".to_owned()),
                (second_id.clone(), second_entry.clone(), "active".to_owned()),
                (
                    unseen["id"].as_str().unwrap_or_default().to_owned(),
                    unseen_entry.clone(),
                    "active".to_owned()
                ),
            ],
            "node {index}"
        );
    }
    let (code, stdout, stderr) = cli(&[
        "credential",
        "list",
        "--node",
        &setup.federation.apis[STRICT],
        "--holder",
        &holder,
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&first_id) && stdout.contains("revoked"),
        "{stdout}"
    );
    assert!(
        stdout.contains(unseen["id"].as_str().unwrap_or("?")),
        "{stdout}"
    );
    let (code, _, stderr) = cli(&["credential", "list", "--node", &node]);
    assert_eq!(code, Some(2), "one filter is required: {stderr}");
}

/// A compromise rotation (protocol §6.9.1) across the federation: the office's key leaks after
/// it logged one credential; a second credential logged from the compromise point on stands for
/// what an attacker issued with the stolen key. After the office rotates with `compromise`, the
/// second one's log entry is ineffective on every node and every marketplace rejects it
/// (`credential_logged`, and `issuer_key_rotated` naming the rotation entry), while the one
/// anchored before the leak is still accepted.
#[test]
fn credentials_of_a_compromised_key_are_judged_by_their_anchoring() {
    let setup = setup();
    let (anchored, _) = setup.issue();
    let (forged, forged_entry) = setup.issue();
    let forged_id = forged["id"].as_str().expect("an id").to_owned();
    let logged = setup.clients[OFFICE].get(&format!("/v1/credentials/{}", segment(&forged_id)));
    let since = logged.body["seq"].as_u64().expect("a seq");
    let reply = setup.clients[OFFICE].post(
        "/v1/keys/rotate",
        &json!({"reason": "compromise", "compromised_since": since}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let rotation = reply.body["rotation_entry"]
        .as_str()
        .expect("the rotation entry")
        .to_owned();
    for (index, client) in setup.clients.iter().enumerate() {
        assert!(
            wait_until(GOSSIP, || {
                let entry = client.get(&format!("/v1/entries/{forged_entry}"));
                entry.body["effective"] == false
                    && entry.body["ineffective_reason"]
                        .as_str()
                        .is_some_and(|reason| reason.contains(&rotation))
            }),
            "node {index} never made the compromised credential entry ineffective"
        );
        let listed = client.get(&format!("/v1/credentials/{}", segment(&forged_id)));
        assert_eq!(
            listed.body["effective"], false,
            "node {index}: {}",
            listed.body
        );
        assert_eq!(
            listed.body["anchored"], false,
            "node {index}: {}",
            listed.body
        );
    }
    // The office's revocation list of the old key (signed by the retired key it keeps) says the
    // same to outsiders (§7.5): the credential of the compromised range reads as revoked, the
    // anchored one does not.
    for (credential, revoked) in [(&forged, true), (&anchored, false)] {
        let entry = &credential["credentialStatus"][0];
        assert_eq!(entry["statusPurpose"], "revocation", "{credential}");
        let url = entry["statusListCredential"].as_str().expect("a list URL");
        let path = url
            .strip_prefix(setup.federation.apis[OFFICE].as_str())
            .expect("the list is served by the office");
        let list = setup.clients[OFFICE].get(path);
        assert_eq!(list.status, 200, "{}", list.body);
        let verified = proto_types::status_list::verify_status_list_credential(&list.body)
            .expect("the list verifies");
        assert_eq!(
            verified.issuer().to_did_key(),
            credential["issuer"].as_str().unwrap()
        );
        let position: u32 = entry["statusListIndex"]
            .as_str()
            .and_then(|index| index.parse().ok())
            .expect("a position");
        assert_eq!(
            verified.bits().get(position).unwrap(),
            revoked,
            "{credential}"
        );
    }
    for market in [STRICT, LENIENT] {
        let good = setup.verdict(market, &anchored);
        assert_eq!(good["accepted"], true, "{}", failed(&good).join("; "));
        assert_eq!(reason(&good, "issuer_key_rotated")["ok"], true);
        let bad = setup.verdict(market, &forged);
        assert_eq!(bad["accepted"], false);
        let rotated = reason(&bad, "issuer_key_rotated");
        assert_eq!(rotated["ok"], false, "{bad}");
        assert_eq!(rotated["entry_id"], rotation.as_str(), "{bad}");
        assert_eq!(reason(&bad, "credential_logged")["ok"], false, "{bad}");
    }
}
