//! Transparency (protocol §11.5, §14): a real node's tiles and entry bundles fetched over HTTP
//! and checked against an independent computation (RFC 9162 §2.1 by recursion over the feed's
//! pages); `rightsnet feed export --tiles` and `rightsnet proof verify` run as the real binary,
//! on honest data (exit 0) and on tampered, forged, untrusted or garbage input (exit 1 or 2).
//!
//! The checkpoint an export starts from comes from a small HTTP front written here: it serves
//! a checkpoint the test signs with the node's own key and forwards every other path to the
//! node, or changes one answer on the way to play a lying node. The same front serves an
//! exported directory as static files, as a plain web server would.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;

use proto_types::checkpoint::cosignature::{cosign, witness_verifier_key, witness_vkey};
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{feed_verifier_key, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::keys::{KeyFile, SecretKey};
use proto_types::tlog::{TreeHash, decode_entry_bundle, leaf_hash, node_hash};
use serde_json::{Value, json};

use crate::harness::{Client, NodeFiles, run, wait_until};

/// Entries the node writes: a full level-0 tile and a partial one of 44.
const ENTRIES: usize = 300;

/// RFC 9162 §2.1.1, MTH by its recursive definition over leaf hashes.
fn reference_root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => TreeHash::empty(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.3.1, PATH(m, D[n]) by its recursive definition.
fn reference_path(index: usize, leaves: &[TreeHash]) -> Vec<TreeHash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    if index < k {
        let mut path = reference_path(index, &leaves[..k]);
        path.push(reference_root(&leaves[k..]));
        path
    } else {
        let mut path = reference_path(index - k, &leaves[k..]);
        path.push(reference_root(&leaves[..k]));
        path
    }
}

/// A raw GET: status, `Cache-Control`, body.
fn get_raw(url: &str) -> (u16, String, Vec<u8>) {
    let response = reqwest::blocking::get(url).expect("GET");
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, cache, response.bytes().expect("body").to_vec())
}

/// What the front answers for a path: status and body.
type Handler = dyn Fn(&str) -> (u16, Vec<u8>) + Send + Sync;

/// How a lying front changes the node's answer to a path: the status and body it serves.
type Lie = dyn Fn(&str, Vec<u8>) -> (u16, Vec<u8>) + Send + Sync;

/// A minimal HTTP/1.1 server on 127.0.0.1, one connection at a time, `Connection: close`.
struct Front {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Front {
    fn start(handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|window| window == b"\r\n\r\n")
                    && request.len() < 16 * 1024
                {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, body) = handler(&path);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Self {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Forwards `path` to the node.
fn forward(node: &str, path: &str) -> (u16, Vec<u8>) {
    let response = reqwest::blocking::get(format!("{node}{path}")).expect("forward");
    let status = response.status().as_u16();
    (status, response.bytes().expect("body").to_vec())
}

/// Serves `dir` at `/v1/` as static files.
fn static_files(dir: PathBuf) -> Arc<Handler> {
    Arc::new(move |path: &str| {
        let Some(relative) = path.strip_prefix("/v1/") else {
            return (404, Vec::new());
        };
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return (404, Vec::new());
        }
        match std::fs::read(dir.join(relative)) {
            Ok(bytes) => (200, bytes),
            Err(_) => (404, Vec::new()),
        }
    })
}

fn export(node: &str, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "feed",
        "export",
        "--tiles",
        dir.to_str().expect("utf-8"),
        "--node",
        node,
        "--json",
    ];
    args.extend_from_slice(extra);
    run(&args, b"")
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file below `dir`, by path relative to it.
fn tree_files(dir: &Path) -> HashMap<PathBuf, Vec<u8>> {
    let mut files = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for item in std::fs::read_dir(&current).expect("read dir") {
            let path = item.expect("an item").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("below").to_path_buf();
                files.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[test]
fn tiles_export_and_offline_proofs_against_a_real_node() {
    let files = NodeFiles::office(&["FR"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let items: Vec<Value> = (0..ENTRIES)
        .map(|number| {
            json!({
                "right_type": "trademark", "jurisdiction": "FR",
                "number": format!("{}", 7_100_000 + number), "mark_text": format!("Transparence {number}"),
                "nice_classes": [9], "holder": {"name": "Verre SA", "country": "FR"},
                "filing_date": "2020-01-15", "registration_date": "2021-03-01",
                "expiry_date": "2031-03-01", "status": "registered",
            })
        })
        .collect();
    let reply = client.post("/v1/registrations/batch", &json!({"items": items}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let did = files.authority.clone();
    let feed = format!("{}/v1/feeds/{did}", node.api);

    // The feed through its JSON pages: the entries, canonical, in seq order.
    let mut entries: Vec<Value> = Vec::new();
    while entries.len() < ENTRIES {
        let page = client.get(&format!(
            "/v1/feeds/{did}?from={}&limit=100",
            entries.len() + 1
        ));
        let page = page.body["entries"].as_array().expect("entries").clone();
        assert!(!page.is_empty());
        entries.extend(page);
    }
    let canonical: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| proto_types::jcs::canonicalize(entry).expect("canonical"))
        .collect();
    let leaves: Vec<TreeHash> = canonical.iter().map(|bytes| leaf_hash(bytes)).collect();

    // Tiles and bundles over HTTP against the independent computation.
    let (status, cache, tile) = get_raw(&format!("{feed}/tile/0/000"));
    assert_eq!(
        (status, cache.as_str()),
        (200, "public, max-age=31536000, immutable")
    );
    assert_eq!(
        tile,
        leaves[..256].iter().flat_map(|h| h.0).collect::<Vec<_>>()
    );
    let (status, cache, tile) = get_raw(&format!("{feed}/tile/0/001.p/44"));
    assert_eq!(
        (status, cache.as_str()),
        (200, "public, max-age=31536000, immutable")
    );
    assert_eq!(
        tile,
        leaves[256..].iter().flat_map(|h| h.0).collect::<Vec<_>>()
    );
    let (_, _, level_one) = get_raw(&format!("{feed}/tile/1/000.p/1"));
    assert_eq!(level_one, reference_root(&leaves[..256]).0.to_vec());
    let (status, _, bundle) = get_raw(&format!("{feed}/tile/entries/001.p/44"));
    assert_eq!(status, 200);
    let decoded = decode_entry_bundle(&bundle, 44).expect("a bundle");
    assert_eq!(
        decoded,
        canonical[256..]
            .iter()
            .map(Vec::as_slice)
            .collect::<Vec<_>>()
    );
    for (path, expected) in [
        ("tile/0/001", 404),
        ("tile/0/001.p/45", 404),
        ("tile/0/x018/x446/x744/x073/x709/x551/615", 404),
        ("tile/0/000.p/0", 400),
        ("tile/0/000.p/256", 400),
        ("tile/0/000.p/257", 400),
        ("tile/0/000.p/1x", 400),
        ("tile/0/000.p/01", 400),
        ("tile/0/1", 400),
    ] {
        let (status, cache, _) = get_raw(&format!("{feed}/{path}"));
        assert_eq!(status, expected, "{path}");
        assert_eq!(cache, "no-cache", "{path}");
    }
    let consistency = client.get(&format!("/v1/feeds/{did}/consistency?from=256&to=300"));
    assert_eq!(consistency.status, 200, "{}", consistency.body);
    assert_eq!(
        client
            .get(&format!("/v1/feeds/{did}/consistency?from=3&to=301"))
            .status,
        404
    );

    // The node's own checkpoint, signed here with its key, in front of the node.
    let key_file = files.dir.path().join("authority.json");
    let key = KeyFile::parse(&std::fs::read(&key_file).expect("key")).expect("a key");
    let witness = SecretKey::generate();
    let root = reference_root(&leaves);
    let mut checkpoint =
        verify_feed_checkpoint(&sign_feed_checkpoint(&key, 300, &root)).expect("a checkpoint");
    let line = cosign(&checkpoint, &witness, 1_750_000_000).expect("cosigns");
    checkpoint
        .add_cosignature(&witness_verifier_key(&witness.public_key()), line)
        .expect("adds");
    let note = checkpoint.to_note_text();
    let honest = {
        let (api, note) = (node.api.clone(), note.clone());
        Front::start(Arc::new(move |path: &str| {
            if path.ends_with("/checkpoint") {
                (200, note.clone().into_bytes())
            } else {
                forward(&api, path)
            }
        }))
    };

    // Export: exit 0, the tree mirrors the API paths, nothing else is left in DIR.
    let out = tempfile::tempdir().expect("tempdir");
    let exported = export(&honest.url, out.path(), &[]);
    assert_eq!(code(&exported), 0, "{}", stderr(&exported));
    let summary: Value = serde_json::from_slice(&exported.stdout).expect("json");
    assert_eq!(summary["feeds"][0]["author"], did.as_str());
    assert_eq!(summary["feeds"][0]["size"], 300);
    assert_eq!(summary["feeds"][0]["tiles"], 3);
    assert_eq!(summary["feeds"][0]["bundles"], 2);
    let written = tree_files(out.path());
    let base = PathBuf::from("feeds").join(&did);
    let mut names: Vec<String> = written
        .keys()
        .map(|path| {
            path.strip_prefix(&base)
                .expect("below feeds/<did>")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint",
            "tile/0/000",
            "tile/0/001.p/44",
            "tile/1/000.p/1",
            "tile/entries/000",
            "tile/entries/001.p/44"
        ]
    );
    assert_eq!(written[&base.join("checkpoint")], note.as_bytes());
    assert_eq!(
        written[&base.join("tile/0/000")],
        leaves[..256].iter().flat_map(|h| h.0).collect::<Vec<_>>()
    );
    // A plain web server serving DIR at /v1 answers the same paths: export again from it.
    let mirror = Front::start(static_files(out.path().to_path_buf()));
    let again = tempfile::tempdir().expect("tempdir");
    let from_mirror = export(&mirror.url, again.path(), &["--author", &did]);
    assert_eq!(code(&from_mirror), 0, "{}", stderr(&from_mirror));
    assert_eq!(tree_files(again.path()), written);

    // A lying node: every change to what it serves is caught (exit 1), nothing is written.
    let lies: Vec<(&str, Box<Lie>)> = vec![
        (
            "a flipped leaf hash",
            Box::new(|path: &str, mut body: Vec<u8>| {
                if path.ends_with("/tile/0/000") {
                    body[100] ^= 1;
                }
                (200, body)
            }),
        ),
        (
            "an entry of the bundle replaced",
            Box::new(|path: &str, body: Vec<u8>| {
                if path.ends_with("/tile/entries/001.p/44") {
                    let text = String::from_utf8_lossy(&body)
                        .replace("Transparence 299", "Transparence 999");
                    return (200, text.into_bytes());
                }
                (200, body)
            }),
        ),
        (
            "a level-1 hash changed",
            Box::new(|path: &str, mut body: Vec<u8>| {
                if path.ends_with("/tile/1/000.p/1") {
                    body[0] ^= 0x80;
                }
                (200, body)
            }),
        ),
        (
            "a tile withheld",
            Box::new(|path: &str, body: Vec<u8>| {
                if path.ends_with("/tile/0/001.p/44") {
                    return (404, br#"{"code":"not_found","message":"no"}"#.to_vec());
                }
                (200, body)
            }),
        ),
        (
            "a short tile",
            Box::new(|path: &str, mut body: Vec<u8>| {
                if path.ends_with("/tile/0/001.p/44") {
                    body.truncate(body.len() - 32);
                }
                (200, body)
            }),
        ),
    ];
    for (lie, change) in lies {
        let (api, note) = (node.api.clone(), note.clone());
        let front = Front::start(Arc::new(move |path: &str| {
            if path.ends_with("/checkpoint") {
                return (200, note.clone().into_bytes());
            }
            let (status, body) = forward(&api, path);
            if status != 200 {
                return (status, body);
            }
            change(path, body)
        }));
        let target = tempfile::tempdir().expect("tempdir");
        let refused = export(&front.url, target.path(), &["--author", &did]);
        assert_eq!(code(&refused), 1, "{lie}: {}", stderr(&refused));
        assert!(
            stderr(&refused).contains("not verified"),
            "{lie}: {}",
            stderr(&refused)
        );
        assert!(
            tree_files(target.path()).is_empty(),
            "{lie}: nothing written"
        );
    }
    // A checkpoint signed by another key, or naming a root the tiles do not make.
    let stranger = SecretKey::generate();
    for (what, forged) in [
        (
            "another key's checkpoint",
            sign_feed_checkpoint(&stranger, 300, &root),
        ),
        (
            "a wrong root",
            sign_feed_checkpoint(&key, 300, &TreeHash([1; 32])),
        ),
        (
            "a bad signature",
            note.replacen("\n\u{2014} ", "\n\u{2014} x", 1),
        ),
        ("garbage", "not a checkpoint\n".to_owned()),
    ] {
        let api = node.api.clone();
        let front = Front::start(Arc::new(move |path: &str| {
            if path.ends_with("/checkpoint") {
                (200, forged.clone().into_bytes())
            } else {
                forward(&api, path)
            }
        }));
        let target = tempfile::tempdir().expect("tempdir");
        let refused = export(&front.url, target.path(), &["--author", &did]);
        assert_eq!(code(&refused), 1, "{what}: {}", stderr(&refused));
        assert!(tree_files(target.path()).is_empty(), "{what}");
    }
    // A node listing a feed author that is a path: refused before anything is written.
    let traversal = Front::start(Arc::new(|path: &str| {
        if path == "/v1/feeds" {
            (
                200,
                br#"{"feeds":[{"author":"../../../tmp/evil"}]}"#.to_vec(),
            )
        } else {
            (404, Vec::new())
        }
    }));
    let target = tempfile::tempdir().expect("tempdir");
    let refused = export(&traversal.url, &target.path().join("out"), &["--all"]);
    assert_eq!(code(&refused), 1, "{}", stderr(&refused));
    assert!(
        !target.path().join("out").exists() || tree_files(&target.path().join("out")).is_empty()
    );
    // Usage errors: exit 2.
    assert_eq!(
        code(&export(&honest.url, out.path(), &["--author", "../etc"])),
        2
    );
    assert_eq!(code(&export("not-a-url", out.path(), &[])), 2);
    // The node's own checkpoint (its checkpointer signs one within a second of a write):
    // exporting from the node itself gives the same tiles, and its checkpoint.
    assert!(
        wait_until(Duration::from_secs(30), || {
            let (status, _, body) = get_raw(&format!("{feed}/checkpoint"));
            status == 200
                && verify_feed_checkpoint(&String::from_utf8_lossy(&body))
                    .is_ok_and(|checkpoint| checkpoint.checkpoint().size() == ENTRIES as u64)
        }),
        "the node checkpoints its feed"
    );
    let direct_dir = target.path().join("direct");
    let direct = export(&node.api, &direct_dir, &[]);
    assert_eq!(code(&direct), 0, "{}", stderr(&direct));
    let mut from_node = tree_files(&direct_dir);
    let node_checkpoint = from_node
        .remove(&base.join("checkpoint"))
        .expect("a checkpoint");
    let mut tiles_only = written.clone();
    tiles_only.remove(&base.join("checkpoint"));
    assert_eq!(from_node, tiles_only);
    let node_checkpoint =
        verify_feed_checkpoint(&String::from_utf8(node_checkpoint).unwrap()).expect("verifies");
    assert_eq!(node_checkpoint.checkpoint().root(), &root);
    // --all: every feed the node holds with a checkpoint (here its own).
    let all_dir = target.path().join("all");
    let all = export(&node.api, &all_dir, &["--all"]);
    assert_eq!(code(&all), 0, "{}", stderr(&all));
    let summary: Value = serde_json::from_slice(&all.stdout).expect("json");
    assert_eq!(summary["feeds"][0]["author"], did.as_str());
    assert_eq!(tree_files(&all_dir).len(), 6);
    // An unknown feed: exit 2.
    let unknown = SecretKey::generate().public_key().to_did_key();
    assert_eq!(
        code(&export(&node.api, &direct_dir, &["--author", &unknown])),
        2
    );

    // proof verify, offline: an entry, its tlog-proof, the trust store, a witness policy.
    let work = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_str().expect("utf-8").to_owned()
    };
    let index = 41usize;
    let proof = TlogProof::new(None, index as u64, reference_path(index, &leaves), &note)
        .expect("a proof")
        .to_text();
    let entry = write(
        "entry.json",
        &serde_json::to_vec_pretty(&entries[index]).unwrap(),
    );
    let proof_file = write("proof.tlog-proof", proof.as_bytes());
    let trust = files
        .dir
        .path()
        .join("trust.toml")
        .to_str()
        .unwrap()
        .to_owned();
    let policy = write(
        "policy.txt",
        format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            feed_verifier_key(&key.public_key()),
            witness_vkey(&witness.public_key())
        )
        .as_bytes(),
    );
    let other_witness = SecretKey::generate();
    let unmet_policy = write(
        "unmet.txt",
        format!(
            "witness w2 {}\nquorum w2\n",
            witness_vkey(&other_witness.public_key())
        )
        .as_bytes(),
    );
    let verify = |entry: &str, proof: &str, trust: &str, policy: Option<&str>| {
        let mut args = vec![
            "proof", "verify", "--entry", entry, "--proof", proof, "--trust", trust, "--json",
        ];
        if let Some(policy) = policy {
            args.extend_from_slice(&["--witnesses", policy]);
        }
        run(&args, b"")
    };
    let valid = verify(&entry, &proof_file, &trust, Some(&policy));
    assert_eq!(
        code(&valid),
        0,
        "{}{}",
        String::from_utf8_lossy(&valid.stdout),
        stderr(&valid)
    );
    let report: Value = serde_json::from_slice(&valid.stdout).expect("json");
    assert_eq!(report["valid"], true);
    assert_eq!(report["entry"]["seq"], 42);
    assert_eq!(report["witnesses"]["counted"], json!(["w1"]));
    // The `GET /v1/entries/{id}` answer is an entry file too.
    let id = proto_types::entry::Entry::from_value(entries[index].clone())
        .unwrap()
        .id();
    let answer = client.get(&format!("/v1/entries/{id}"));
    let wrapped = write("wrapped.json", answer.body.to_string().as_bytes());
    assert_eq!(code(&verify(&wrapped, &proof_file, &trust, None)), 0);
    // The node's own proof (`GET /v1/entries/{id}/proof`) verifies, and reads as written: an
    // independent parse of its lines.
    let (status, _, served) = get_raw(&format!("{}/v1/entries/{id}/proof", node.api));
    assert_eq!(status, 200);
    let served_file = write("served.tlog-proof", &served);
    let output = verify(&entry, &served_file, &trust, None);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let served = String::from_utf8(served).expect("utf-8");
    let mut lines = served.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some(format!("index {index}").as_str()));
    let path: Vec<String> = reference_path(index, &leaves)
        .iter()
        .map(|hash| base64::engine::general_purpose::STANDARD.encode(hash.0))
        .collect();
    let served_path: Vec<&str> = lines.by_ref().take_while(|line| !line.is_empty()).collect();
    assert_eq!(served_path, path);
    assert_eq!(lines.next(), Some(format!("rightsnet/feed/{did}").as_str()));
    assert_eq!(lines.next(), Some("300"));
    let failed_check = |output: &Output, failing: &str| {
        assert_eq!(code(output), 1, "{failing}: {}", stderr(output));
        let report: Value = serde_json::from_slice(&output.stdout).expect("json");
        assert_eq!(report["valid"], false);
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|check| check["ok"] == false)
            .filter_map(|check| check["code"].as_str())
            .collect();
        assert!(failed.contains(&failing), "{failing} not in {failed:?}");
    };
    // A tampered entry: its signature fails and its leaf is not the proved one.
    let mut tampered = entries[index].clone();
    tampered["body"]["mark_text"] = json!("Tampered");
    let tampered = write("tampered.json", tampered.to_string().as_bytes());
    let output = verify(&tampered, &proof_file, &trust, None);
    failed_check(&output, "entry_signature");
    failed_check(&output, "inclusion");
    // Another entry with this proof: the index and the inclusion fail.
    let other = write("other.json", entries[index + 1].to_string().as_bytes());
    let output = verify(&other, &proof_file, &trust, None);
    failed_check(&output, "index");
    failed_check(&output, "inclusion");
    // A tampered proof: one inclusion hash changed.
    let lines: Vec<&str> = proof.split('\n').collect();
    let flipped = lines[2].replacen(
        &lines[2][..1],
        if &lines[2][..1] == "A" { "B" } else { "A" },
        1,
    );
    let tampered_proof = write(
        "tampered.tlog-proof",
        proof.replacen(lines[2], &flipped, 1).as_bytes(),
    );
    failed_check(&verify(&entry, &tampered_proof, &trust, None), "inclusion");
    // A checkpoint whose size was changed: its signature fails.
    let resized = proof.replacen("\n300\n", "\n301\n", 1);
    let resized = write("resized.tlog-proof", resized.as_bytes());
    failed_check(
        &verify(&entry, &resized, &trust, None),
        "checkpoint_signature",
    );
    // An unmet witness policy.
    failed_check(
        &verify(&entry, &proof_file, &trust, Some(&unmet_policy)),
        "witnesses",
    );
    // A cosignature line of a policy witness that does not verify fails the policy (protocol
    // §14.6 step 5), even with no quorum change.
    let witness_line = note
        .lines()
        .find(|line| line.starts_with("\u{2014} rightsnet/witness/"))
        .expect("a cosignature line")
        .to_owned();
    let (head, signature) = witness_line.rsplit_once(' ').expect("name and signature");
    let middle = signature.len() / 2;
    let flipped_char = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let broken_line = format!(
        "{head} {}{flipped_char}{}",
        &signature[..middle],
        &signature[middle + 1..]
    );
    let broken = write(
        "broken-cosignature.tlog-proof",
        proof.replacen(&witness_line, &broken_line, 1).as_bytes(),
    );
    failed_check(&verify(&entry, &broken, &trust, Some(&policy)), "witnesses");
    assert_eq!(
        code(&verify(&entry, &broken, &trust, None)),
        0,
        "no policy, no witness check"
    );
    // A feed signed by a key the trust store does not list (entry and checkpoint both its).
    let untrusted_trust = write(
        "other-trust.toml",
        format!(
            "[[authority]]\ndid = \"{}\"\nname = \"Someone\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n",
            stranger.public_key().to_did_key()
        )
        .as_bytes(),
    );
    failed_check(
        &verify(&entry, &proof_file, &untrusted_trust, None),
        "trusted",
    );
    // Garbage: exit 2.
    let garbage = write("garbage", b"\x00\xffnot json");
    for (entry_path, proof_path, trust_path, policy) in [
        (&garbage, &proof_file, &trust, None),
        (&entry, &garbage, &trust, None),
        (&entry, &proof_file, &garbage, None),
        (&entry, &proof_file, &trust, Some(garbage.as_str())),
        (
            &entry,
            &work.path().join("missing").display().to_string(),
            &trust,
            None,
        ),
    ] {
        let output = verify(entry_path, proof_path, trust_path, policy);
        assert_eq!(
            code(&output),
            2,
            "{entry_path} {proof_path} {trust_path}: {}",
            stderr(&output)
        );
    }
    let huge = write("huge", &vec![b'a'; 2 * 1024 * 1024]);
    assert_eq!(code(&verify(&huge, &proof_file, &trust, None)), 2);
    assert_eq!(code(&verify(&entry, &huge, &trust, None)), 2);
}

/// `rightsnet monitor --once` against a real node: the first pass reports the node's checkpoint
/// and every registration; with its state file, a later pass reports only what is new and what
/// it watches; a node whose checkpoint changes a verified root, or goes back, is a fork (exit 1).
#[test]
fn the_monitor_tails_a_node_and_catches_a_forked_or_rolled_back_log() {
    let files = NodeFiles::office(&["FR"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let did = files.authority.clone();
    let register = |number: u32, mark: &str| {
        let body = json!({
            "right_type": "trademark", "jurisdiction": "FR", "number": number.to_string(),
            "mark_text": mark, "nice_classes": [9], "holder": {"name": "Verre SA", "country": "FR"},
            "filing_date": "2020-01-15", "registration_date": "2021-03-01",
            "expiry_date": "2031-03-01", "status": "registered",
        });
        let reply = client.post("/v1/registrations", &body);
        assert_eq!(reply.status, 201, "{}", reply.body);
    };
    // Waits until the node's own checkpoint covers `size` entries.
    let checkpointed = |size: u64| {
        assert!(
            wait_until(Duration::from_secs(20), || {
                let (status, _, note) = get_raw(&format!("{}/v1/feeds/{did}/checkpoint", node.api));
                status == 200
                    && verify_feed_checkpoint(&String::from_utf8_lossy(&note))
                        .is_ok_and(|checkpoint| checkpoint.checkpoint().size() == size)
            }),
            "no checkpoint of size {size}"
        );
    };
    for number in 0..5 {
        register(7_200_000 + number, &format!("Miroir {number}"));
    }
    checkpointed(5);
    let state = tempfile::tempdir().expect("tempdir");
    let state_file = state.path().join("monitor.json");
    let state_arg = state_file.to_str().expect("utf-8");
    let monitor = |node_url: &str, extra: &[&str]| {
        let mut args = vec![
            "monitor", "--node", node_url, "--once", "--state", state_arg,
        ];
        args.extend_from_slice(extra);
        let output = run(&args, b"");
        let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        (code(&output), events, stderr(&output))
    };
    let kinds =
        |events: &[Value], kind: &str| events.iter().filter(|event| event["event"] == kind).count();

    let (exit, events, errors) = monitor(&node.api, &[]);
    assert_eq!(exit, 0, "{errors}");
    assert_eq!(kinds(&events, "registration"), 5, "{events:?}");
    assert!(
        events.iter().any(|event| event["event"] == "checkpoint"
            && event["size"] == 5
            && event["feed"] == did.as_str()),
        "{events:?}"
    );

    // A new registration; the state file keeps what was verified: only it is new, and only the
    // watched mark is reported.
    register(7_200_100, "Zèbre de Verre");
    register(7_200_101, "Miroir 6");
    checkpointed(7);
    let (exit, events, errors) = monitor(&node.api, &["--watch-mark", "zebre"]);
    assert_eq!(exit, 0, "{errors}");
    let registrations: Vec<&Value> = events
        .iter()
        .filter(|event| event["event"] == "registration")
        .collect();
    assert_eq!(registrations.len(), 1, "{events:?}");
    assert_eq!(registrations[0]["mark"], "Zèbre de Verre");
    assert_eq!(registrations[0]["seq"], 6);

    // A front that serves another root for the verified size (signed with the node's own key,
    // as a compromised or two-faced office would): a fork.
    let key = KeyFile::parse(&std::fs::read(files.dir.path().join("authority.json")).expect("key"))
        .expect("a key");
    let serve_checkpoint = |note: String| {
        let api = node.api.clone();
        Front::start(Arc::new(move |path: &str| {
            if path.ends_with("/checkpoint") {
                (200, note.clone().into_bytes())
            } else {
                forward(&api, path)
            }
        }))
    };
    let forked = serve_checkpoint(sign_feed_checkpoint(&key, 7, &TreeHash([9; 32])));
    let (exit, events, _) = monitor(&forked.url, &[]);
    assert_eq!(exit, 1, "{events:?}");
    let fork = events.last().expect("a fork event");
    assert_eq!(fork["event"], "fork");
    assert!(
        fork["reason"].as_str().unwrap().contains("different roots"),
        "{fork}"
    );
    // A checkpoint older than the one verified: the log went back.
    let older = serve_checkpoint(sign_feed_checkpoint(&key, 5, &TreeHash([9; 32])));
    let (exit, events, _) = monitor(&older.url, &[]);
    assert_eq!(exit, 1, "{events:?}");
    assert!(
        events.last().unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("went back"),
        "{events:?}"
    );
    // A checkpoint the node's key did not sign is a fork too, never a silent skip.
    let stranger = SecretKey::generate();
    let foreign = serve_checkpoint(sign_feed_checkpoint(&stranger, 7, &TreeHash([9; 32])));
    let (exit, events, _) = monitor(&foreign.url, &[]);
    assert_eq!(exit, 1, "{events:?}");
    // The honest node still passes with the same state.
    let (exit, _, errors) = monitor(&node.api, &[]);
    assert_eq!(exit, 0, "{errors}");
}
