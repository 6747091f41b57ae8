//! Durability: the real node binary is `kill -9`ed at random moments while clients write; after
//! each restart every acknowledged write is there, indexes agree with the entries, and the feed
//! chain is intact. Also: a data directory of another schema version is refused, a node killed
//! during its first start starts next time, and a second node on a directory in use is refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use crate::harness::{Client, NodeFiles, NodeProcess, binary};

/// Walks the whole feed of `author` and checks seq continuity and prev links.
fn check_chain(client: &Client, author: &str) -> u64 {
    let mut from = 1u64;
    let mut previous_id: Option<String> = None;
    loop {
        let page = client.get(&format!("/v1/feeds/{author}?from={from}&limit=500"));
        assert_eq!(page.status, 200, "{}", page.body);
        let entries = page.body["entries"].as_array().unwrap().clone();
        if entries.is_empty() {
            return from - 1;
        }
        for entry in entries {
            assert_eq!(entry["seq"], from, "seq gap");
            assert_eq!(
                entry["prev"].as_str().map(str::to_owned),
                previous_id,
                "broken prev link at {from}"
            );
            let canonical = proto_types::jcs::canonicalize(&entry).unwrap();
            let id = proto_types::entry::Entry::decode(&canonical)
                .unwrap()
                .id()
                .to_hex();
            previous_id = Some(id);
            from += 1;
        }
    }
}

#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_write() {
    let files = NodeFiles::office(&["US"]);
    let acknowledged: Arc<Mutex<Vec<(u32, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut rng = rand::thread_rng();
    let mut next_number = 1u32;
    for round in 0..6 {
        let node = files.start();
        let api = node.api.clone();
        // Before writing more, everything acknowledged so far must be there.
        verify_all(
            &Client::new(&api),
            &files.authority,
            &acknowledged.lock().unwrap(),
        );

        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for writer in 0..2u32 {
            let api = api.clone();
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            let start = next_number + writer * 100_000;
            writers.push(std::thread::spawn(move || {
                let client = Client::new(&api);
                let mut number = start;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = json!({
                        "right_type": "trademark",
                        "jurisdiction": "US",
                        "number": number.to_string(),
                        "mark_text": format!("Durable Mark {number}"),
                        "nice_classes": [9],
                        "holder": {"name": "Durability Inc", "country": "US"},
                        "filing_date": "2020-01-01",
                        "status": "filed",
                    });
                    let request = reqwest::blocking::Client::new()
                        .post(format!("{}/v1/registrations", client.base))
                        .bearer_auth(crate::harness::TOKEN)
                        .json(&body)
                        .timeout(Duration::from_secs(5))
                        .send();
                    match request {
                        Ok(response) if response.status().as_u16() == 201 => {
                            let reply: Value = response.json().unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push((number, reply["id"].as_str().unwrap().to_owned()));
                        }
                        // The connection died with the node: not acknowledged, not counted.
                        _ => break,
                    }
                    number += 1;
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(100..600)));
        node.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        next_number += 1_000 * (round + 1);
    }
    let total = acknowledged.lock().unwrap().len();
    assert!(
        total > 20,
        "too few writes acknowledged ({total}) to test anything"
    );
    let node = files.start();
    let client = Client::new(&node.api);
    verify_all(&client, &files.authority, &acknowledged.lock().unwrap());
    // A clean SIGTERM shutdown exits 0.
    let status = node.terminate();
    assert!(status.success(), "{status:?}");
}

fn verify_all(client: &Client, authority: &str, acknowledged: &[(u32, String)]) {
    for (number, id) in acknowledged {
        let entry = client.get(&format!("/v1/entries/{id}"));
        assert_eq!(entry.status, 200, "acknowledged entry {id} lost");
        let right = client.get(&format!("/v1/rights/US-TM-{number}"));
        assert_eq!(right.status, 200, "right {number} lost");
        assert_eq!(right.body["last_entry"], id.as_str());
    }
    let length = if acknowledged.is_empty() {
        0
    } else {
        check_chain(client, authority)
    };
    assert!(length as usize >= acknowledged.len());
    // Indexes agree with the entries: every right of the feed is found by its mark and class.
    let mut indexed = 0usize;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/rights?class=9&jurisdiction=US&limit=500&cursor={c}"),
            None => "/v1/rights?class=9&jurisdiction=US&limit=500".to_owned(),
        };
        let page = client.get(&path);
        indexed += page.body["rights"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        indexed as u64, length,
        "class index disagrees with the feed"
    );
    if let Some((number, _)) = acknowledged.last() {
        let found = client.get(&format!(
            "/v1/rights?mark=durable%20mark%20{number}&exact=true"
        ));
        assert_eq!(found.body["rights"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn a_data_directory_of_another_schema_version_is_refused() {
    let files = NodeFiles::office(&["US"]);
    let node = files.start();
    node.terminate();
    // Rewrite the schema version as a future build would.
    {
        let families =
            rocksdb::DB::list_cf(&rocksdb::Options::default(), files.data_dir()).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), files.data_dir(), &families)
            .unwrap();
        let meta = db.cf_handle("meta").unwrap();
        db.put_cf(meta, b"schema_version", 99u32.to_be_bytes())
            .unwrap();
    }
    let output = std::process::Command::new(binary())
        .args([
            "node",
            "run",
            "--data-dir",
            files.data_dir().to_str().unwrap(),
            "--api-listen",
            "127.0.0.1:0",
            "--key",
            files.dir.path().join("authority.json").to_str().unwrap(),
            "--trust",
            files.dir.path().join("trust.toml").to_str().unwrap(),
            "--operator-token-file",
            files.dir.path().join("token").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("schema version 99"), "{message}");
}

/// Starts `node run` with `config` and waits for its listening line; panics with its standard
/// error when it exits instead.
fn start_or_explain(files: &NodeFiles, config: &std::path::Path, label: &str) -> NodeProcess {
    let stderr_path = files.dir.path().join(format!("{label}.stderr"));
    let mut child = std::process::Command::new(binary())
        .args(["node", "run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("spawn node");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).expect("read listening line");
    let Ok(event) = serde_json::from_str::<Value>(&line) else {
        let _ = child.wait();
        panic!(
            "{label}: the node did not start: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
    };
    NodeProcess {
        child,
        api: event["api"].as_str().expect("api").to_owned(),
        peer_id: event["peer_id"].as_str().expect("peer_id").to_owned(),
    }
}

/// The secret files a node creates for itself, as bytes.
fn own_secret_files(data_dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(data_dir.join("p2p-identity.key")).unwrap(),
        std::fs::read(data_dir.join("seller-ref.key")).unwrap(),
    )
}

/// Issue 10, item 12: a new node killed while it creates its store and its keys starts on the
/// next try, and its peer identity and seller-reference key do not change from then on.
#[test]
fn issue_10_a_node_killed_during_its_first_start_starts_next_time_with_stable_keys() {
    const ITERATIONS: usize = 30;
    let files = NodeFiles::office(&["US"]);
    // A marketplace creates one more secret file (the seller-reference key) than an office.
    let write_config = |data_dir: &str| {
        let path = files.dir.path().join(format!("{data_dir}.toml"));
        std::fs::write(
            &path,
            format!(
                "data_dir = \"{data_dir}\"\napi_listen = \"127.0.0.1:0\"\np2p_listen = \"/ip4/127.0.0.1/tcp/0\"\nauthority_key = \"authority.json\"\ntrust_store = \"trust.toml\"\noperator_token_file = \"token\"\n\n[marketplace]\naccepted_jurisdictions = [\"US\"]\n"
            ),
        )
        .unwrap();
        path
    };
    // How long a first start takes here: kills are spread over that span, so that most land
    // inside it (creating the store, the identity key, the seller key).
    let calibration = write_config("calibration");
    let began = std::time::Instant::now();
    start_or_explain(&files, &calibration, "calibration").kill();
    let first_start_ms = (began.elapsed().as_millis() as u64).clamp(20, 300);

    let mut rng = rand::thread_rng();
    let mut killed_before_listening = 0;
    let mut killed_before_identity = 0;
    for iteration in 0..ITERATIONS {
        let name = format!("data-{iteration}");
        let config = write_config(&name);
        let data_dir = files.dir.path().join(&name);
        let mut child = std::process::Command::new(binary())
            .args(["node", "run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "off")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn node");
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..=first_start_ms)));
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        if output.stdout.is_empty() {
            killed_before_listening += 1;
        }
        if !data_dir.join("p2p-identity.key").exists() {
            killed_before_identity += 1;
        }

        let node = start_or_explain(&files, &config, &format!("{name}-first"));
        assert_eq!(Client::new(&node.api).get("/v1/status").status, 200);
        let peer_id = node.peer_id.clone();
        let secrets = own_secret_files(&data_dir);
        // Killed again at a random moment of a later start, then started: nothing changes.
        node.kill();
        let mut child = std::process::Command::new(binary())
            .args(["node", "run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "off")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn node");
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..=first_start_ms)));
        child.kill().unwrap();
        child.wait().unwrap();
        let node = start_or_explain(&files, &config, &format!("{name}-again"));
        assert_eq!(Client::new(&node.api).get("/v1/status").status, 200);
        assert_eq!(
            node.peer_id, peer_id,
            "iteration {iteration}: peer identity changed"
        );
        assert_eq!(
            own_secret_files(&data_dir),
            secrets,
            "iteration {iteration}: a key file changed"
        );
        let status = node.terminate();
        assert!(status.success(), "{status:?}");
    }
    eprintln!(
        "{ITERATIONS} first starts killed after 0-{first_start_ms} ms: {killed_before_listening} before the node listened, {killed_before_identity} before its identity key existed"
    );
    assert!(
        killed_before_listening > 0,
        "no kill landed inside a first start; the test tested nothing"
    );
}

/// Issue 10, item 13: a second node on a data directory in use fails at once with a clear
/// message naming the running node's pid, and leaves the running node and its files alone
/// (RocksDB's own lock attempt renamed the running node's `LOG` to `LOG.old.*`).
#[test]
fn issue_10_a_second_node_on_a_data_directory_in_use_fails_clearly() {
    let files = NodeFiles::office(&["US"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let output = std::process::Command::new(binary())
        .args([
            "node",
            "run",
            "--config",
            files.dir.path().join("node.toml").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{message}");
    assert!(
        message.contains(&format!(
            "is in use by another rightsnet process (pid {})",
            node.child.id()
        )),
        "{message}"
    );
    assert!(
        output.stdout.is_empty(),
        "the second node printed a listening line"
    );
    // The first node still serves reads and writes.
    assert_eq!(client.get("/v1/status").status, 200);
    let written = client.post(
        "/v1/registrations",
        &json!({
            "right_type": "trademark",
            "jurisdiction": "US",
            "number": "1",
            "mark_text": "Still Running",
            "nice_classes": [9],
            "holder": {"name": "Durability Inc", "country": "US"},
            "filing_date": "2020-01-01",
            "status": "filed",
        }),
    );
    assert_eq!(written.status, 201, "{}", written.body);
    let renamed_logs: Vec<String> = std::fs::read_dir(files.data_dir())
        .unwrap()
        .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("LOG.old"))
        .collect();
    assert!(
        renamed_logs.is_empty(),
        "the running node's LOG was renamed: {renamed_logs:?}"
    );
    let status = node.terminate();
    assert!(status.success(), "{status:?}");
}
