//! Durability: the real node binary is `kill -9`ed at random moments while clients write; after
//! each restart every acknowledged write is there, indexes agree with the entries, and the feed
//! chain is intact. Also: a data directory of another schema version is refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use crate::harness::{Client, NodeFiles, binary};

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
