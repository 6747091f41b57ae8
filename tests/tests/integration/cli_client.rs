//! The client commands against real nodes: every flow, human and `--json` output, and the
//! exit codes scripts rely on (0 ok, 1 check failed, 2 refused or unusable, 3 unreachable).

use std::time::Duration;

use proto_types::keys::{KeyFile, SecretKey};
use serde_json::Value;

use crate::federation::{Federation, Role, wait_converged};
use crate::harness::{Client, TOKEN, run};

fn rightsnet(args: &[&str]) -> (i32, String, String) {
    let out = run(args, b"");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = rightsnet(&all);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("{args:?} did not print JSON: {stdout}"))
}

#[test]
fn every_client_command_with_json_output_and_exit_codes() {
    let federation =
        Federation::with_roles(&[Role::Office("FR"), Role::Marketplace(&["FR", "WO"])]);
    let office = federation.apis[0].clone();
    let market = federation.apis[1].clone();
    let dir = tempfile::tempdir().unwrap();
    let holder = SecretKey::generate();
    let holder_did = holder.public_key().to_did_key();
    std::fs::write(
        dir.path().join("holder.json"),
        KeyFile::from_secret(&holder).to_json(),
    )
    .unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    // status
    let status = json(&["status", "--node", &office]);
    assert!(
        status["authority"]
            .as_str()
            .unwrap()
            .starts_with("did:key:")
    );
    let (code, human, _) = rightsnet(&["status", "--node", &office]);
    assert_eq!(code, 0);
    assert!(human.contains("authority"));

    // right register / get / search / status
    let stored = json(&[
        "right",
        "register",
        "--node",
        &office,
        "--token",
        TOKEN,
        "--jurisdiction",
        "FR",
        "--number",
        "4123456",
        "--mark",
        "Café Lumière",
        "--class",
        "25",
        "--class",
        "30",
        "--holder-name",
        "Lumière SARL",
        "--holder-country",
        "FR",
        "--holder-key",
        &holder_did,
        "--filing-date",
        "2020-01-15",
        "--registration-date",
        "2020-06-01",
        "--expiry-date",
        "2035-01-15",
    ]);
    assert_eq!(stored["outcome"], "stored");
    // Without the token: refused, exit 2, the node's code shown.
    let (code, _, stderr) = rightsnet(&[
        "right",
        "register",
        "--node",
        &office,
        "--jurisdiction",
        "FR",
        "--number",
        "1",
        "--mark",
        "X",
        "--class",
        "1",
        "--holder-name",
        "H",
        "--holder-country",
        "FR",
        "--filing-date",
        "2020-01-01",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("operator token"), "{stderr}");
    let (code, _, stderr) = rightsnet(&[
        "right",
        "register",
        "--node",
        &office,
        "--token",
        "wrong-token-0123456789",
        "--jurisdiction",
        "FR",
        "--number",
        "1",
        "--mark",
        "X",
        "--class",
        "1",
        "--holder-name",
        "H",
        "--holder-country",
        "FR",
        "--filing-date",
        "2020-01-01",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("403 forbidden"), "{stderr}");
    let right = json(&["right", "get", "FR-TM-4123456", "--node", &office]);
    assert_eq!(right["mark_text"], "Café Lumière");
    let (code, _, stderr) = rightsnet(&["right", "get", "FR-TM-999", "--node", &office]);
    assert_eq!(code, 2);
    assert!(stderr.contains("404 not_found"), "{stderr}");
    let found = json(&["right", "search", "--mark", "cafe lumi", "--node", &office]);
    assert_eq!(found["rights"].as_array().unwrap().len(), 1);
    let (code, table, _) = rightsnet(&["right", "search", "--class", "25", "--node", &office]);
    assert_eq!(code, 0);
    assert!(table.contains("FR-TM-4123456"));
    let renewed = json(&[
        "right",
        "status",
        "FR-TM-4123456",
        "--change",
        "renewed",
        "--effective-date",
        "2035-01-15",
        "--new-expiry-date",
        "2045-01-15",
        "--node",
        &office,
        "--token",
        TOKEN,
    ]);
    assert_eq!(renewed["outcome"], "stored");

    // credential issue
    let (code, _, stderr) = rightsnet(&[
        "credential",
        "issue",
        "--right",
        "FR-TM-4123456",
        "--holder",
        &holder_did,
        "--out",
        &path("credential.json"),
        "--node",
        &office,
        "--token",
        TOKEN,
    ]);
    assert_eq!(code, 0, "{stderr}");

    // notice create (offline) / submit --dry-run / submit
    let clients = [Client::new(&office), Client::new(&market)];
    assert!(wait_converged(&clients, 2, Duration::from_secs(30)));
    let market_did = json(&["status", "--node", &market])["authority"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _, stderr) = rightsnet(&[
        "notice",
        "create",
        "--key",
        &path("holder.json"),
        "--credential",
        &path("credential.json"),
        "--marketplace",
        &market_did,
        "--listing",
        "item-1:25",
        "--reason",
        "counterfeit",
        "--out",
        &path("notice.json"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let dry = json(&[
        "notice",
        "submit",
        &path("notice.json"),
        "--dry-run",
        "--node",
        &market,
    ]);
    assert_eq!(dry["verdict"]["accepted"], true, "{dry}");
    let accepted = json(&["notice", "submit", &path("notice.json"), "--node", &market]);
    let notice_id = accepted["notice_id"].as_str().unwrap().to_owned();
    // The same notice again: rejected (replay), exit 1, with the reasons in human output.
    let (code, human, _) =
        rightsnet(&["notice", "submit", &path("notice.json"), "--node", &market]);
    assert_eq!(code, 1);
    assert!(human.contains("FAIL nonce"), "{human}");

    // decision / counter-notice / claims / holder accuracy / seller strikes
    let decision = json(&[
        "decision",
        "record",
        "--notice",
        &notice_id,
        "--outcome",
        "removed",
        "--reason",
        "counterfeit",
        "--seller-id",
        "seller-42",
        "--node",
        &market,
        "--token",
        TOKEN,
    ]);
    let decision_id = decision["id"].as_str().unwrap().to_owned();
    let counter = json(&[
        "counter-notice",
        "record",
        "--decision",
        &decision_id,
        "--statement",
        "genuine goods",
        "--node",
        &market,
        "--token",
        TOKEN,
    ]);
    assert_eq!(counter["outcome"], "stored");
    let claims = json(&["claims", "--notice", &notice_id, "--node", &market]);
    assert_eq!(claims["claims"].as_array().unwrap().len(), 2);
    let (code, _, stderr) = rightsnet(&["claims", "--node", &market]);
    assert_eq!(code, 2, "no filter: refused");
    assert!(stderr.contains("bad_query"), "{stderr}");
    let accuracy = json(&["holder", "accuracy", &holder_did, "--node", &market]);
    assert_eq!(accuracy["filed"], 1);
    let seller_ref = Client::new(&market)
        .get(&format!("/v1/entries/{decision_id}"))
        .body["entry"]["body"]["seller_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    let strikes = json(&["seller", "strikes", &seller_ref, "--node", &market]);
    assert_eq!(strikes["active_points"], 2);
    let (code, human, _) = rightsnet(&["seller", "strikes", &seller_ref, "--node", &market]);
    assert_eq!(code, 0);
    assert!(human.contains("strike points"), "{human}");
    // On an office node the marketplace views are refused.
    let (code, _, stderr) = rightsnet(&["holder", "accuracy", &holder_did, "--node", &office]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not_a_marketplace"), "{stderr}");

    // peers list / block / unblock
    let peers = json(&["peers", "list", "--node", &office, "--token", TOKEN]);
    let peer = federation.peer_ids[1].clone();
    assert!(
        peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["peer_id"] == peer.as_str())
    );
    assert_eq!(
        json(&["peers", "block", &peer, "--node", &office, "--token", TOKEN])["blocked"],
        true
    );
    assert_eq!(
        json(&[
            "peers", "unblock", &peer, "--node", &office, "--token", TOKEN
        ])["blocked"],
        false
    );
    let (code, _, _) = rightsnet(&[
        "peers",
        "block",
        "not-a-peer",
        "--node",
        &office,
        "--token",
        TOKEN,
    ]);
    assert_eq!(code, 2);

    // A node that is not there: exit 3.
    let (code, _, stderr) = rightsnet(&["status", "--node", "http://127.0.0.1:9"]);
    assert_eq!(code, 3, "{stderr}");
    let (code, _, _) = rightsnet(&["status", "--node", "ftp://nowhere"]);
    assert_eq!(code, 2);
}
