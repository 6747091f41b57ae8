//! Screening across borders: a mark registered at an office reaches a marketplace by gossip,
//! and `rightsnet screen` at the marketplace catches obfuscated listings of it from CSV and JSON
//! lines files, with the exit codes scripts rely on (0 nothing matched, 1 a listing matched,
//! 2 bad input, 3 node unreachable).

use std::time::Duration;

use serde_json::{Value, json};

use crate::federation::{Federation, Role};
use crate::harness::{Client, run, wait_until};

fn rightsnet(args: &[&str]) -> (i32, String, String) {
    let out = run(args, b"");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_french_mark_is_caught_in_obfuscated_listings_at_a_marketplace() {
    let federation =
        Federation::with_roles(&[Role::Office("FR"), Role::Marketplace(&["FR", "WO"])]);
    let office = Client::new(&federation.apis[0]);
    let market_api = federation.apis[1].clone();
    let market = Client::new(&market_api);
    let registration = json!({
        "right_type": "trademark", "jurisdiction": "FR", "number": "7100001",
        "mark_text": "Bellefontaine", "nice_classes": [18, 25],
        "holder": {"name": "Bellefontaine SAS", "country": "FR"},
        "filing_date": "2020-01-15", "registration_date": "2020-06-01",
        "expiry_date": "2035-01-15", "status": "registered",
    });
    assert_eq!(office.post("/v1/registrations", &registration).status, 201);
    assert!(
        wait_until(Duration::from_secs(30), || {
            market.get("/v1/rights/FR-TM-7100001").status == 200
        }),
        "the registration reached the marketplace"
    );

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("listings.csv");
    std::fs::write(
        &csv,
        "id,title,class,jurisdictions\n\
         a,\"B3llef0ntaine sac, cuir\",18,FR\n\
         b,B e l l e f o n t a i n e scarf,,\n\
         c,Bellеfontaine (Cyrillic e) 1:1 replica,25,\n\
         d,Belefontaine bag,18,\n\
         e,plain leather bag,18,\n",
    )
    .unwrap();
    let (code, stdout, stderr) = rightsnet(&[
        "screen",
        "--node",
        &market_api,
        "--file",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "a listing matched: {stderr}");
    let results: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON line per listing"))
        .collect();
    assert_eq!(results.len(), 5, "{stdout}");
    for result in &results[..4] {
        assert_eq!(
            result["matches"][0]["right_id"], "FR-TM-7100001",
            "{result}"
        );
    }
    assert_eq!(results[4]["matches"], json!([]));
    assert_eq!(results[2]["indicators"], json!(["1:1", "replica"]));
    assert!(
        stderr.contains("5 listings screened: 4 matched"),
        "{stderr}"
    );

    // The human table, from JSON lines; nothing matches: exit 0.
    let jsonl = dir.path().join("clean.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": \"x\", \"title\": \"cotton t-shirt\"}\n\n{\"id\": 7, \"title\": \"desk lamp\", \"class\": 11}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = rightsnet(&[
        "screen",
        "--node",
        &market_api,
        "--file",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.starts_with("x\t-"), "{stdout}");

    // Bad input: exit 2, naming the line.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"x\", \"title\": \"ok\"}\n{\"id\": \"y\"}\n",
    )
    .unwrap();
    let (code, _, stderr) = rightsnet(&[
        "screen",
        "--node",
        &market_api,
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("line 2: no title"), "{stderr}");
    let no_title = dir.path().join("no-title.csv");
    std::fs::write(&no_title, "id,name\n1,Bellefontaine\n").unwrap();
    let (code, _, stderr) = rightsnet(&[
        "screen",
        "--node",
        &market_api,
        "--file",
        no_title.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = rightsnet(&[
        "screen",
        "--node",
        &market_api,
        "--file",
        dir.path().join("missing.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = rightsnet(&[
        "screen",
        "--node",
        "http://127.0.0.1:9",
        "--file",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "node unreachable");
}
