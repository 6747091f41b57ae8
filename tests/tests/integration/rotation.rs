//! Rotating a node's own key with the real binary (protocol §6.9.2): `kill -9` at varied
//! moments of a rotation, while a client writes, never forks a feed. After each restart the
//! node either has not rotated and signs with the old key, or has rotated (the rotation entry
//! stored and effective) and signs with the new key; every feed verifies as one chain, the key
//! file holds no pending key, and a further write lands in the expected feed. The rotations
//! chain over the rounds, and a peer that syncs the feeds sees the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Client, NodeFiles, NodeProcess, TOKEN, run, wait_until};

/// Walks the whole feed of `author`: seq continuity and prev links; returns every entry.
fn chain(client: &Client, author: &str) -> Vec<Value> {
    let mut from = 1u64;
    let mut previous_id: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let page = client.get(&format!("/v1/feeds/{author}?from={from}&limit=500"));
        assert_eq!(page.status, 200, "{}", page.body);
        let entries = page.body["entries"].as_array().unwrap().clone();
        if entries.is_empty() {
            return all;
        }
        for entry in entries {
            assert_eq!(entry["seq"], from, "seq gap in {author}");
            assert_eq!(
                entry["prev"].as_str().map(str::to_owned),
                previous_id,
                "broken prev link at {from} in {author}"
            );
            let canonical = proto_types::jcs::canonicalize(&entry).unwrap();
            let id = proto_types::entry::Entry::decode(&canonical)
                .unwrap()
                .id()
                .to_hex();
            previous_id = Some(id);
            all.push(entry);
            from += 1;
        }
    }
}

fn registration(number: u64, tag: &str) -> Value {
    json!({
        "right_type": "trademark",
        "jurisdiction": "US",
        "number": number.to_string(),
        "mark_text": format!("Rotating {tag} {number}"),
        "nice_classes": [9],
        "holder": {"name": "Rotation Inc", "country": "US"},
        "filing_date": "2020-01-01",
        "status": "filed",
    })
}

/// Generates a key file with `rightsnet key gen`; returns its path and did:key.
fn new_key(files: &NodeFiles, name: &str) -> (std::path::PathBuf, String) {
    let path = files.dir.path().join(name);
    let out = run(&["key", "gen", "--out", path.to_str().unwrap()], b"");
    assert!(out.status.success());
    (
        path,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

/// What the node says about its keys, and the key file's state.
fn check_node(client: &Client, files: &NodeFiles, keys: &[String], entry_counts: &mut Vec<usize>) {
    let status = client.get("/v1/status");
    assert_eq!(status.status, 200);
    assert_eq!(status.body["authority"], keys[0].as_str());
    assert_eq!(
        status.body["signing_key"],
        keys.last().unwrap().as_str(),
        "{}",
        status.body
    );
    let history = status.body["key_history"].as_array().unwrap();
    assert_eq!(history.len(), keys.len() - 1, "{}", status.body);
    for (index, key) in keys.iter().enumerate() {
        let entries = chain(client, key);
        if index + 1 < keys.len() {
            // A rotated-away feed ends with its rotation to the next key, effective.
            let last = entries
                .last()
                .expect("a rotated feed has its rotation entry");
            assert_eq!(last["kind"], "key_rotation");
            assert_eq!(last["body"]["new_key"], keys[index + 1].as_str());
            assert_eq!(history[index]["old_key"], key.as_str());
            assert_eq!(history[index]["seq"], last["seq"]);
            let canonical = proto_types::jcs::canonicalize(last).unwrap();
            let id = proto_types::entry::Entry::decode(&canonical)
                .unwrap()
                .id()
                .to_hex();
            let stored = client.get(&format!("/v1/entries/{id}"));
            assert_eq!(stored.body["effective"], true, "{}", stored.body);
            assert_eq!(history[index]["entry_id"], id.as_str());
        } else {
            assert!(
                entries.iter().all(|entry| entry["kind"] != "key_rotation"),
                "the current key's feed has no rotation"
            );
        }
        // Nothing acknowledged is lost: a feed only grows.
        if let Some(before) = entry_counts.get(index) {
            assert!(entries.len() >= *before, "{key}'s feed shrank");
            entry_counts[index] = entries.len();
        } else {
            entry_counts.push(entries.len());
        }
    }
    let ring = rightsnet_node::keyring::Keyring::load(&files.dir.path().join("authority.json"))
        .expect("the key file reads");
    assert!(ring.pending().is_none(), "start reconciled the pending key");
    assert_eq!(
        ring.current().public_key().to_did_key(),
        *keys.last().unwrap()
    );
    assert_eq!(ring.retired().len(), keys.len() - 1);
}

#[test]
fn kill_9_during_rotation_never_forks_a_feed() {
    let files = NodeFiles::office(&["US"]);
    let mut keys = vec![files.authority.clone()];
    let mut entry_counts = Vec::new();
    let mut number = 1u64;
    let mut rotated_rounds = 0;
    let mut unrotated_rounds = 0;
    let rounds = 14u64;
    let mut node: Option<NodeProcess> = None;
    let mut candidate: Option<String> = None;
    for round in 0..=rounds {
        let process = files.start();
        let client = Client::new(&process.api);
        // Which of the two states the kill left.
        if let Some(new) = candidate.take() {
            let status = client.get("/v1/status");
            if status.body["signing_key"] == new.as_str() {
                keys.push(new);
                rotated_rounds += 1;
            } else {
                assert_eq!(status.body["signing_key"], keys.last().unwrap().as_str());
                unrotated_rounds += 1;
            }
        }
        check_node(&client, &files, &keys, &mut entry_counts);
        // A further write lands in the current key's feed.
        let reply = client.post("/v1/registrations", &registration(number, "before"));
        number += 1;
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.body["author"], keys.last().unwrap().as_str());
        if round == rounds {
            node = Some(process);
            break;
        }
        // A writer keeps appending while the rotation runs.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let api = process.api.clone();
            let stop = stop.clone();
            let start = 1_000_000 * (round + 1);
            std::thread::spawn(move || {
                let client = Client::new(&api);
                let mut number = start;
                while !stop.load(Ordering::Relaxed) {
                    let request = reqwest::blocking::Client::new()
                        .post(format!("{api}/v1/registrations"))
                        .bearer_auth(TOKEN)
                        .json(&registration(number, "during"))
                        .timeout(Duration::from_secs(5))
                        .send();
                    if request.is_err() {
                        break;
                    }
                    number += 1;
                }
                drop(client);
            })
        };
        let (path, did) = new_key(&files, &format!("next-{round}.json"));
        candidate = Some(did);
        let rotate = {
            let api = process.api.clone();
            let key: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .post(format!("{api}/v1/keys/rotate"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"reason": "routine", "new_key": key}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .ok()
                    .map(|reply| reply.status().as_u16())
            })
        };
        // Varied moments: before the request arrives, during its fsyncs, after its answer.
        let delay_micros = (round * 2_311) % 25_000;
        std::thread::sleep(Duration::from_micros(delay_micros));
        process.kill();
        stop.store(true, Ordering::Relaxed);
        let _ = writer.join();
        if let Ok(Some(201)) = rotate.join() {
            // Acknowledged: the rotation must have survived.
            let after = files.start();
            let status = Client::new(&after.api).get("/v1/status");
            assert_eq!(
                status.body["signing_key"],
                candidate.as_deref().unwrap(),
                "an acknowledged rotation was lost"
            );
            after.kill();
        }
    }
    // The kills landed on both sides of the commit over the rounds.
    eprintln!("rotated {rotated_rounds}, not rotated {unrotated_rounds} of {rounds} kills");
    assert!(rotated_rounds > 0, "no kill left a rotated node");
    let node = node.expect("the last round keeps its node");

    // A peer that syncs the feeds sees the same chain of keys and the same rights.
    let peer_files = NodeFiles::office(&["DE"]);
    let trust = std::fs::read_to_string(peer_files.dir.path().join("trust.toml")).unwrap();
    std::fs::write(
        peer_files.dir.path().join("trust.toml"),
        format!(
            "{trust}\n[[authority]]\ndid = \"{}\"\nname = \"Rotating Office\"\nrole = \"office\"\njurisdictions = [\"US\"]\n",
            keys[0]
        ),
    )
    .unwrap();
    let status = Client::new(&node.api).get("/v1/status");
    let bootstrap: Vec<String> = status.body["p2p_addrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|address| {
            format!(
                "{}/p2p/{}",
                address.as_str().unwrap(),
                status.body["peer_id"].as_str().unwrap()
            )
        })
        .collect();
    let peer = peer_files.start_with(
        &bootstrap,
        "rate_limit_per_second = 100000\nrate_limit_burst = 100000\n",
    );
    let origin = Client::new(&node.api);
    let mirror = Client::new(&peer.api);
    let heads = |client: &Client| -> Vec<(String, u64)> {
        keys.iter()
            .map(|key| {
                let head = client.get("/v1/feeds");
                let seq = head.body["feeds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|view| view["author"] == key.as_str())
                    .and_then(|view| view["seq"].as_u64())
                    .unwrap_or(0);
                (key.clone(), seq)
            })
            .collect()
    };
    let expected = heads(&origin);
    assert!(
        wait_until(Duration::from_secs(60), || heads(&mirror) == expected),
        "the peer did not sync: {:?} vs {expected:?}",
        heads(&mirror)
    );
    for (index, key) in keys.iter().enumerate() {
        assert_eq!(chain(&mirror, key), chain(&origin, key));
        if index + 1 < keys.len() {
            let last = chain(&mirror, key).last().cloned().unwrap();
            let canonical = proto_types::jcs::canonicalize(&last).unwrap();
            let id = proto_types::entry::Entry::decode(&canonical)
                .unwrap()
                .id()
                .to_hex();
            assert_eq!(
                mirror.get(&format!("/v1/entries/{id}")).body["effective"],
                true
            );
        }
    }
    // The rights of every key of the chain are the authority's, on both nodes.
    for check in [1u64, number - 1] {
        let here = origin.get(&format!("/v1/rights/US-TM-{check}"));
        let there = mirror.get(&format!("/v1/rights/US-TM-{check}"));
        assert_eq!(here.status, 200);
        assert_eq!(here.body, there.body);
        assert_eq!(here.body["registered_by"], keys[0].as_str());
    }
    // The CLI rotates once more; the peer follows.
    let out = run(
        &[
            "key",
            "rotate",
            "--node",
            &node.api,
            "--token-file",
            files.dir.path().join("token").to_str().unwrap(),
            "--json",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["old_key"], keys.last().unwrap().as_str());
    let newest = answer["new_key"].as_str().unwrap().to_owned();
    let reply = origin.post("/v1/registrations", &registration(number, "cli"));
    assert_eq!(reply.body["author"], newest.as_str());
    assert!(wait_until(Duration::from_secs(60), || {
        mirror.get(&format!("/v1/rights/US-TM-{number}")).status == 200
    }));
    peer.kill();
    node.kill();
}

#[test]
fn key_rotate_cli_checks_its_arguments() {
    let files = NodeFiles::office(&["US"]);
    let node = files.start();
    let token = files.dir.path().join("token");
    let token = token.to_str().unwrap();
    // A compromise needs --compromised-since: exit 2 before the node is asked.
    for args in [
        vec!["--reason", "compromise"],
        vec!["--reason", "routine", "--compromised-since", "3"],
        vec!["--reason", "compromise", "--compromised-since", "0"],
        vec!["--new-key", "/nonexistent/key.json"],
        vec!["--reason", "sideways"],
    ] {
        let mut full = vec!["key", "rotate", "--node", &node.api, "--token-file", token];
        full.extend(args.iter().copied());
        let out = run(&full, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    // The node's own refusal (a compromised_since above the next seq) is bad input too.
    let out = run(
        &[
            "key",
            "rotate",
            "--node",
            &node.api,
            "--token-file",
            token,
            "--reason",
            "compromise",
            "--compromised-since",
            "5",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_rotation"));
    // A routine rotation prints the entry and both keys.
    let out = run(
        &["key", "rotate", "--node", &node.api, "--token-file", token],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("key_rotation entry"), "{text}");
    assert!(
        text.contains(&format!("old key: {}", files.authority)),
        "{text}"
    );
    node.kill();
    // A corrupt key file: `node run` exits 2 with a clear error.
    std::fs::write(
        files.dir.path().join("authority.json"),
        b"{\"rightsnet_keyring\": 7}",
    )
    .unwrap();
    let out = run(
        &[
            "node",
            "run",
            "--config",
            files.dir.path().join("node.toml").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("key ring version 7"));
}

/// A registration request for `FR-TM-<number>` (the federation's first office is FR).
fn fr_registration(number: &str) -> Value {
    json!({
        "right_type": "trademark",
        "jurisdiction": "FR",
        "number": number,
        "mark_text": format!("Rotated {number}"),
        "nice_classes": [25],
        "holder": {"name": "Federation Holder", "country": "FR"},
        "filing_date": "2024-01-01",
        "status": "filed",
    })
}

fn post_id(client: &Client, path: &str, body: &Value) -> (String, u64) {
    let reply = client.post(path, body);
    assert_eq!(reply.status, 201, "{path}: {}", reply.body);
    (
        reply.body["id"].as_str().unwrap().to_owned(),
        reply.body["seq"].as_u64().unwrap(),
    )
}

#[test]
fn routine_and_compromise_rotations_across_a_federation() {
    use crate::federation::{Federation, wait_converged};
    let federation = Federation::new(3, 3);
    let clients: Vec<Client> = (0..3).map(|index| federation.client(index)).collect();
    let office = clients[0].get("/v1/status").body["authority"]
        .as_str()
        .unwrap()
        .to_owned();
    // Seq 1–3 honest; from seq 4 the key is in other hands: a forged cancellation and a
    // forged registration.
    federation.write(0, 3, "A");
    let (cancel, cancel_seq) = post_id(
        &clients[0],
        "/v1/rights/FR-TM-A0/status",
        &json!({"change": "cancelled", "effective_date": "2026-01-01"}),
    );
    assert_eq!(cancel_seq, 4);
    let (forged, _) = post_id(&clients[0], "/v1/registrations", &fr_registration("B1"));
    // Node 1 rotates routinely.
    federation.write(1, 2, "R");
    let routine = clients[1].post("/v1/keys/rotate", &json!({"reason": "routine"}));
    assert_eq!(routine.status, 201, "{}", routine.body);
    federation.write(1, 1, "S");
    assert!(
        wait_converged(&clients, 5 + 3 + 1, Duration::from_secs(60)),
        "not converged before the compromise"
    );
    for client in &clients {
        assert_eq!(
            client.get("/v1/rights/FR-TM-A0").body["status"],
            "cancelled"
        );
        assert_eq!(client.get("/v1/rights/FR-TM-B1").status, 200);
    }

    // The office learns of the leak and rotates, distrusting from seq 4.
    let rotated = clients[0].post(
        "/v1/keys/rotate",
        &json!({"reason": "compromise", "compromised_since": 4, "note": "key leaked"}),
    );
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    assert_eq!(rotated.body["compromised_since"], 4);
    let rotation = rotated.body["rotation_entry"].as_str().unwrap().to_owned();
    let new_key = rotated.body["new_key"].as_str().unwrap().to_owned();
    let (_, first) = post_id(&clients[0], "/v1/registrations", &fr_registration("C1"));
    assert_eq!(first, 1);
    assert!(
        wait_converged(&clients, 5 + 1 + 1 + 3 + 1, Duration::from_secs(60)),
        "not converged after the compromise"
    );
    let reason = format!("key compromised from seq 4: key_rotation entry {rotation}");
    let undone = |client: &Client| {
        client.get("/v1/rights/FR-TM-B1").status == 404
            && client.get("/v1/rights/FR-TM-A0").body["status"] != "cancelled"
    };
    for client in &clients {
        assert!(
            wait_until(Duration::from_secs(30), || undone(client)),
            "{}: the compromised range still has effects",
            client.base
        );
        for id in [&cancel, &forged] {
            let entry = client.get(&format!("/v1/entries/{id}"));
            assert_eq!(entry.status, 200, "the entry stays stored");
            assert_eq!(entry.body["effective"], false);
            assert_eq!(entry.body["ineffective_reason"], reason.as_str());
        }
        let rotation_entry = client.get(&format!("/v1/entries/{rotation}"));
        assert_eq!(rotation_entry.body["effective"], true);
        assert_eq!(rotation_entry.body["entry"]["body"]["v"], 2);
        let right = client.get("/v1/rights/FR-TM-C1");
        assert_eq!(right.status, 200);
        assert_eq!(right.body["registered_by"], office.as_str());
    }
    // The rights state is identical on every node.
    for right in [
        "FR-TM-A0", "FR-TM-A1", "FR-TM-A2", "FR-TM-C1", "CN-TM-R0", "CN-TM-S0",
    ] {
        let here = clients[0].get(&format!("/v1/rights/{right}"));
        assert_eq!(here.status, 200, "{right}");
        for client in &clients[1..] {
            assert_eq!(client.get(&format!("/v1/rights/{right}")).body, here.body);
        }
    }
    let status = clients[0].get("/v1/status");
    assert_eq!(status.body["authority"], office.as_str());
    assert_eq!(status.body["signing_key"], new_key.as_str());
    assert_eq!(status.body["key_history"][0]["compromised_since"], 4);
}
