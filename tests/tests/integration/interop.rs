//! W3C interop (issue 12): a verifier outside the federation, Digital Bazaar's JavaScript
//! libraries (`tests/interop/check-status.mjs`), checks a credential that carries Rightsnet's
//! `credentialStatus` against the Bitstring Status Lists a real node serves over HTTP on
//! 127.0.0.1: active, then revoked, then suspended; and refuses a tampered list, a list signed
//! by another key, a tampered credential and a list off the machine.
//!
//! The node runs in this process with its real router, but its lists read an in-memory
//! credential log ([`MemoryStatusSource`]), so the test sets each bit itself. The test needs
//! Node.js and `tests/interop/node_modules`: `tests/interop/run.sh` installs them with `npm ci`
//! and runs it (it is ignored by a plain `cargo test`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto_types::body::RightId;
use proto_types::claims::{RightClaims, credential_document, sign_credential};
use proto_types::entry::EntryId;
use proto_types::keys::{KeyFile, PublicKey, SecretKey};
use proto_types::status_list::{
    StatusBitstring, StatusListContent, StatusPurpose, credential_status_entries,
    sign_status_list_credential,
};
use proto_types::timestamp::Timestamp;
use rightsnet_node::status_lists::{MemoryStatusSource, StatusLists};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::federation::Federation;
use crate::harness::{Client, wait_until};

/// Longest a run of the checker may take.
const CHECK_DEADLINE: Duration = Duration::from_secs(60);

/// `tests/interop`, where the checker and its `node_modules` are.
fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// What the checker said: its exit code and its JSON report.
#[derive(Debug)]
struct Checked {
    code: i32,
    report: Value,
}

/// Runs `node check-status.mjs CREDENTIAL NODE_URL`, polling with a deadline.
fn check(credential: &Value, node_url: &str, dir: &Path, name: &str) -> Checked {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(credential).unwrap()).unwrap();
    let stdout_path = dir.join(format!("{name}.out"));
    let stderr_path = dir.join(format!("{name}.err"));
    let mut child = Command::new("node")
        .arg("check-status.mjs")
        .arg(&path)
        .arg(node_url)
        .current_dir(interop_dir())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("node runs (Node.js 18 or later must be installed)");
    let mut status = None;
    let finished = wait_until(CHECK_DEADLINE, || {
        status = child.try_wait().expect("waiting for node");
        status.is_some()
    });
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
        panic!("check-status.mjs did not finish within {CHECK_DEADLINE:?}");
    }
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    let code = status.and_then(|status| status.code()).unwrap_or(-1);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| Value::String(format!("stdout: {stdout}\nstderr: {stderr}")));
    eprintln!("{name}: exit {code}, {report}");
    Checked { code, report }
}

/// A credential of `issuer` for the example right, with the `credentialStatus` of
/// `status_index` under `base_url`, valid from a minute ago.
fn credential(issuer: &SecretKey, base_url: &str, status_index: u64) -> Value {
    let holder = SecretKey::from_seed(&[9; 32]).public_key();
    let claims = RightClaims {
        right_id: RightId::parse("FR-TM-4123456").unwrap(),
        right_type: "trademark".to_owned(),
        mark: Some("Lumière".to_owned()),
        nice_classes: vec![25, 30],
        holder_name: "Lumière SARL".to_owned(),
        expiry_date: Some("2034-11-04".to_owned()),
        registration_entry: EntryId::from_hex(&"ab".repeat(32)).unwrap(),
    };
    let now = rightsnet_node::clock::now();
    let valid_from = Timestamp::from_unix_millis(now.unix_millis() - 60_000).unwrap();
    let mut document = credential_document(
        &format!("urn:rightsnet:credential:{status_index:032x}"),
        &issuer.public_key(),
        &holder,
        &claims,
        &valid_from,
        None,
    );
    document["credentialStatus"] =
        credential_status_entries(base_url, &issuer.public_key(), status_index).unwrap();
    sign_credential(&document, issuer, &valid_from).unwrap()
}

/// The lists a relay serves: the revocation list, and the suspension list.
type Relayed = Arc<Mutex<[Vec<u8>; 2]>>;

/// A server on 127.0.0.1 that answers a request for a suspension list with `documents[1]` and
/// every other request with `documents[0]`: status lists that do not come from the node. Runs
/// until `stop`.
async fn serve_documents(
    listener: tokio::net::TcpListener,
    documents: Relayed,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let documents = documents.lock().unwrap().clone();
        tokio::spawn(async move {
            // Read the request head (bounded), then answer and close.
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => head.extend_from_slice(&buffer[..read]),
                }
            }
            let suspension = head.windows(12).any(|window| window == b"/suspension/");
            let [revocation_list, suspension_list] = documents;
            let body = if suspension {
                suspension_list
            } else {
                revocation_list
            };
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[test]
#[ignore = "needs Node.js and tests/interop/node_modules: run tests/interop/run.sh"]
fn digital_bazaar_libraries_check_rightsnet_status_lists() {
    assert!(
        interop_dir()
            .join("node_modules/@digitalbazaar/vc-bitstring-status-list")
            .is_dir(),
        "tests/interop/node_modules is missing: run tests/interop/run.sh (npm ci)"
    );
    let mut federation = Federation::new(1, 1);
    let key =
        KeyFile::parse(&std::fs::read(federation.node_dir(0).join("authority.json")).unwrap())
            .unwrap();
    let issuer: PublicKey = key.public_key();
    let work = tempfile::tempdir().unwrap();

    // The node's router, its lists read from an in-memory credential log, served on a port of
    // its own: the lists name that port's URL.
    let source = Arc::new(MemoryStatusSource::new());
    let (stop, stopped) = watch::channel(false);
    let listener = federation
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let node_url = format!("http://{}", listener.local_addr().unwrap());
    let mut state = federation.nodes[0]
        .as_ref()
        .unwrap()
        .state()
        .unwrap()
        .clone();
    state.status_lists = Arc::new(StatusLists::new(&node_url, source.clone()));
    let server =
        federation
            .runtime
            .spawn(rightsnet_node::api::serve(listener, state, stopped.clone()));
    let client = Client::new(&node_url);

    // An active credential: verified, no status set.
    let index = 131_072 + 77;
    source.log(&issuer, index, true);
    source.log(&issuer, index + 1, true);
    let first = credential(&key, &node_url, index);
    let active = check(&first, &node_url, work.path(), "active");
    assert_eq!(active.code, 0, "{}", active.report);
    assert_eq!(active.report["verified"], true);
    assert_eq!(
        active.report["statuses"],
        json!({"revocation": false, "suspension": false})
    );

    // Revoked: the same credential now reads as revoked in the revocation list only.
    source.set_status(&issuer, index, true, false);
    let revoked = check(&first, &node_url, work.path(), "revoked");
    assert_eq!(revoked.code, 1, "{}", revoked.report);
    assert_eq!(revoked.report["verified"], true);
    assert_eq!(
        revoked.report["statuses"],
        json!({"revocation": true, "suspension": false})
    );

    // Suspended, a neighbour in the same lists: the bit positions are the library's too.
    source.set_status(&issuer, index + 1, false, true);
    let second = credential(&key, &node_url, index + 1);
    let suspended = check(&second, &node_url, work.path(), "suspended");
    assert_eq!(suspended.code, 1, "{}", suspended.report);
    assert_eq!(
        suspended.report["statuses"],
        json!({"revocation": false, "suspension": true})
    );

    // Lists served by someone else on this machine: first the node's own list as it is (the
    // control: still verified and revoked), then with the revoked bit cleared (tampered), then
    // a valid list signed by another key.
    let list_path = format!("/v1/status-lists/{}/revocation/1", issuer.to_multibase());
    let genuine = client.get(&list_path);
    assert_eq!(genuine.status, 200, "{}", genuine.body);
    let genuine: Value = genuine.body;
    let suspension_list = client.get(&list_path.replace("/revocation/", "/suspension/"));
    assert_eq!(suspension_list.status, 200, "{}", suspension_list.body);
    let documents: Relayed = Arc::new(Mutex::new([
        serde_json::to_vec(&genuine).unwrap(),
        serde_json::to_vec(&suspension_list.body).unwrap(),
    ]));
    let other_listener = federation
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let other_url = format!("http://{}", other_listener.local_addr().unwrap());
    let other_server = federation.runtime.spawn(serve_documents(
        other_listener,
        documents.clone(),
        stopped.clone(),
    ));
    let relayed = credential(&key, &other_url, index);
    let control = check(&relayed, &other_url, work.path(), "relayed");
    assert_eq!(control.code, 1, "{}", control.report);
    assert_eq!(control.report["statuses"]["revocation"], true);

    let encoded = genuine["credentialSubject"]["encodedList"]
        .as_str()
        .unwrap();
    let mut bits = StatusBitstring::decode(encoded).unwrap();
    assert!(bits.get(77).unwrap());
    bits.set(77, false).unwrap();
    let mut tampered = genuine.clone();
    tampered["credentialSubject"]["encodedList"] = Value::from(bits.encode());
    documents.lock().unwrap()[0] = serde_json::to_vec(&tampered).unwrap();
    let refused = check(&relayed, &other_url, work.path(), "tampered");
    assert_eq!(refused.code, 3, "{}", refused.report);
    assert_eq!(refused.report["verified"], false);
    assert!(
        refused.report["error"]
            .as_str()
            .is_some_and(|error| error.contains("not verified")),
        "{}",
        refused.report
    );

    let impostor = SecretKey::generate();
    let impostor_issuer = impostor.public_key();
    let forged = sign_status_list_credential(
        &StatusListContent {
            base_url: &other_url,
            issuer: &impostor_issuer,
            purpose: StatusPurpose::Revocation,
            list: 1,
            bits: &bits,
        },
        &impostor,
        &rightsnet_node::clock::now(),
    )
    .unwrap();
    documents.lock().unwrap()[0] = serde_json::to_vec(&forged).unwrap();
    let refused = check(&relayed, &other_url, work.path(), "other-issuer");
    assert_eq!(refused.code, 3, "{}", refused.report);
    assert!(
        refused.report["error"]
            .as_str()
            .is_some_and(|error| error.contains("do not match")),
        "{}",
        refused.report
    );

    // A tampered credential fails its own proof.
    let mut altered = first.clone();
    altered["credentialSubject"]["right"]["holderName"] = Value::from("Someone Else");
    let refused = check(&altered, &node_url, work.path(), "altered");
    assert_eq!(refused.code, 3, "{}", refused.report);

    // The checker fetches nothing but the node it was given, and only on this machine.
    let elsewhere = credential(&key, "https://status.example", index);
    let refused = check(&elsewhere, &node_url, work.path(), "elsewhere");
    assert_eq!(refused.code, 3, "{}", refused.report);
    assert!(
        refused.report["error"]
            .as_str()
            .is_some_and(|error| error.contains("refusing to load")),
        "{}",
        refused.report
    );
    let usage = check(&first, "https://status.example", work.path(), "remote");
    assert_eq!(usage.code, 2, "{}", usage.report);

    stop.send(true).unwrap();
    federation.runtime.block_on(other_server).unwrap();
    federation.runtime.block_on(server).unwrap().unwrap();
    federation.stop(0);
}

/// The same third-party verifier against a real office's credential log: credentials issued
/// through `POST /v1/credentials` carry `credentialStatus`; a revocation and a suspension
/// through the operator routes set the bits of the lists the node serves; after a routine key
/// rotation the earlier credentials still check against lists signed by the retired key (their
/// issuer), and a credential of the new key against the new key's lists.
#[test]
#[ignore = "needs Node.js and tests/interop/node_modules: run tests/interop/run.sh"]
fn digital_bazaar_libraries_check_a_real_office_credential_log_across_a_rotation() {
    use crate::federation::Role;
    assert!(
        interop_dir()
            .join("node_modules/@digitalbazaar/vc-bitstring-status-list")
            .is_dir(),
        "tests/interop/node_modules is missing: run tests/interop/run.sh (npm ci)"
    );
    let federation = Federation::with_roles(&[Role::Office("FR")]);
    let office = federation.client(0);
    let node_url = federation.apis[0].clone();
    let work = tempfile::tempdir().unwrap();
    let holder = SecretKey::generate().public_key().to_did_key();
    let reply = office.post(
        "/v1/registrations",
        &json!({
            "right_type": "trademark", "jurisdiction": "FR", "number": "8001",
            "mark_text": "Interop", "nice_classes": [25],
            "holder": {"name": "Interop SARL", "country": "FR", "key": holder},
            "filing_date": "2020-01-15", "registration_date": "2020-06-01",
            "expiry_date": "2035-01-15", "status": "registered",
        }),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let issue = || {
        let reply = office.post(
            "/v1/credentials",
            &json!({"right_id": "FR-TM-8001", "holder": holder}),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert!(reply.body["credentialStatus"].is_array(), "{}", reply.body);
        reply.body
    };
    let change = |credential: &Value, action: &str| {
        let id = credential["id"].as_str().unwrap().replace(':', "%3A");
        let reply = office.post(&format!("/v1/credentials/{id}/{action}"), &json!({}));
        assert_eq!(reply.status, 201, "{action}: {}", reply.body);
    };
    let (kept, revoked, suspended) = (issue(), issue(), issue());
    let fresh = check(&kept, &node_url, work.path(), "log-active");
    assert_eq!(fresh.code, 0, "{}", fresh.report);
    change(&revoked, "revoke");
    change(&suspended, "suspend");
    let outcome = check(&revoked, &node_url, work.path(), "log-revoked");
    assert_eq!(outcome.code, 1, "{}", outcome.report);
    assert_eq!(
        outcome.report["statuses"],
        json!({"revocation": true, "suspension": false})
    );
    let outcome = check(&suspended, &node_url, work.path(), "log-suspended");
    assert_eq!(outcome.code, 1, "{}", outcome.report);
    assert_eq!(
        outcome.report["statuses"],
        json!({"revocation": false, "suspension": true})
    );
    // A routine rotation: the lists of the old key are still served, signed by the retired key.
    let reply = office.post("/v1/keys/rotate", &json!({"reason": "routine"}));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let old_key = reply.body["old_key"].as_str().unwrap().to_owned();
    assert_eq!(kept["issuer"], old_key.as_str());
    let outcome = check(&kept, &node_url, work.path(), "log-kept-after-rotation");
    assert_eq!(outcome.code, 0, "{}", outcome.report);
    let outcome = check(
        &revoked,
        &node_url,
        work.path(),
        "log-revoked-after-rotation",
    );
    assert_eq!(outcome.code, 1, "{}", outcome.report);
    // Reinstated after the rotation, by the new key: the old key's list says active again.
    change(&suspended, "reinstate");
    let outcome = check(&suspended, &node_url, work.path(), "log-reinstated");
    assert_eq!(outcome.code, 0, "{}", outcome.report);
    // A credential of the new key checks against the new key's lists.
    let newer = issue();
    assert_ne!(newer["issuer"], old_key.as_str());
    let outcome = check(&newer, &node_url, work.path(), "log-new-key");
    assert_eq!(outcome.code, 0, "{}", outcome.report);
    change(&newer, "revoke");
    let outcome = check(&newer, &node_url, work.path(), "log-new-key-revoked");
    assert_eq!(outcome.code, 1, "{}", outcome.report);
}
