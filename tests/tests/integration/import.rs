//! Bulk import into one node of a running network: 100 000 generated registrations from CSV
//! with updates, cancellations and bad records, and the real USPTO ST.96 records. Bad records
//! are reported with their position, every node ends with the same state, and importing again
//! changes nothing.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::federation::{Federation, Role, wait_converged};
use crate::harness::{Client, TOKEN, run};

const RIGHTS: usize = 100_000;

fn import(args: &[&str]) -> (i32, Value, String) {
    let out = run(args, b"");
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_register_of_100k_rights_imports_once_reports_bad_records_and_converges() {
    let federation = Federation::with_roles(&[
        Role::Office("FR"),
        Role::Office("US"),
        Role::Marketplace(&["FR", "US"]),
    ]);
    let clients: Vec<Client> = (0..3).map(|i| federation.client(i)).collect();
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("register.csv");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
        writeln!(file, "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,registration_date,expiry_date,status,status_date").unwrap();
        for number in 0..RIGHTS {
            writeln!(
                file,
                "FR,{},\"Marque {number}, Paris\",{};{},Titulaire {} SA,FR,2015-01-01,2015-06-01,2035-01-01,registered,2015-06-01",
                1_000_000 + number,
                1 + number % 45,
                1 + (number + 7) % 45,
                number % 97
            )
            .unwrap();
        }
        // Bad records, each with its own reason.
        writeln!(
            file,
            "FR,999001,Bad Class,46,Someone,FR,2015-01-01,2015-06-01,2035-01-01,registered,2015-06-01"
        )
        .unwrap();
        writeln!(
            file,
            "FR,999002,Bad Country,3,Someone,XX,2015-01-01,2015-06-01,2035-01-01,registered,2015-06-01"
        )
        .unwrap();
        writeln!(
            file,
            "FR,999003,Bad Dates,3,Someone,FR,2015-01-01,2015-06-01,2010-01-01,registered,2015-06-01"
        )
        .unwrap();
        // Updates of earlier lines: a renewal, an assignment, a cancellation.
        writeln!(file, "FR,1000000,\"Marque 0, Paris\",1;8,Titulaire 0 SA,FR,2015-01-01,2015-06-01,2045-01-01,registered,2026-01-10").unwrap();
        writeln!(file, "FR,1000001,\"Marque 1, Paris\",2;9,Nouveau Titulaire SARL,FR,2015-01-01,2015-06-01,2035-01-01,registered,2026-01-10").unwrap();
        writeln!(file, "FR,1000002,\"Marque 2, Paris\",3;10,Titulaire 2 SA,FR,2015-01-01,2015-06-01,2035-01-01,cancelled,2026-01-10").unwrap();
    }
    let csv = csv_path.to_str().unwrap();
    let office = federation.apis[0].clone();
    let (code, summary, stderr) = import(&[
        "import", "--format", "csv", csv, "--node", &office, "--token", TOKEN, "--json",
    ]);
    assert_eq!(code, 1, "bad records make the import exit 1: {stderr}");
    assert_eq!(summary["records_read"], RIGHTS as u64 + 6, "{summary}");
    assert_eq!(summary["invalid_records"], 3);
    assert_eq!(summary["refused_by_node"], 0, "{summary}");
    // 100 000 registrations, then a renewal, an assignment and a cancellation.
    assert_eq!(summary["entries_written"], RIGHTS as u64 + 3, "{summary}");
    let errors: Vec<String> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            format!(
                "{}: {}",
                error["position"].as_str().unwrap(),
                error["message"].as_str().unwrap()
            )
        })
        .collect();
    let first_bad = RIGHTS + 2;
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("line {first_bad}:")) && e.contains("nice_classes")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("line {}:", first_bad + 1))
                && e.contains("holder.country")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("line {}:", first_bad + 2)) && e.contains("expiry")),
        "{errors:?}"
    );

    // The real USPTO records, in both ST.96 generations, into the US office.
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/testdata/st96");
    for sample in [
        "uspto-rn2178784-ST-961_D3.xml",
        "uspto-rn2178784-ST-962.2.1.xml",
    ] {
        let path = samples.join(sample);
        let (code, summary, stderr) = import(&[
            "import",
            "--format",
            "st96",
            path.to_str().unwrap(),
            "--node",
            &federation.apis[1],
            "--token",
            TOKEN,
            "--json",
        ]);
        assert_eq!(code, 0, "{sample}: {stderr} {summary}");
        assert_eq!(summary["records_read"], 1);
    }

    // Every node ends with the same state.
    let total = RIGHTS as u64 + 3 + 1;
    assert!(
        wait_converged(&clients, total, Duration::from_secs(300)),
        "did not converge"
    );
    for client in &clients {
        let java = client.get("/v1/rights/US-TM-2178784");
        assert_eq!(java.status, 200);
        assert_eq!(java.body["mark_text"], "JAVA");
        assert!(
            java.body["nice_classes"]
                .as_array()
                .unwrap()
                .contains(&Value::from(9))
        );
        assert_eq!(
            client.get("/v1/rights/FR-TM-1000000").body["expiry_date"],
            "2045-01-01"
        );
        assert_eq!(
            client.get("/v1/rights/FR-TM-1000001").body["holder"]["name"],
            "Nouveau Titulaire SARL"
        );
        assert_eq!(
            client.get("/v1/rights/FR-TM-1000002").body["liveness"]["state"],
            "cancelled"
        );
        assert_eq!(client.get("/v1/rights/FR-TM-1099999").status, 200);
    }

    // Importing again changes nothing.
    let (code, summary, _) = import(&[
        "import", "--format", "csv", csv, "--node", &office, "--token", TOKEN, "--json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(summary["entries_written"], 0, "{summary}");
    assert_eq!(summary["unchanged"], RIGHTS as u64 + 3);
    let heads_before = clients[0].get("/v1/status").body["feeds"].clone();
    let (_, summary, _) = import(&[
        "import",
        "--format",
        "st96",
        samples
            .join("uspto-rn2178784-ST-962.2.1.xml")
            .to_str()
            .unwrap(),
        "--node",
        &federation.apis[1],
        "--token",
        TOKEN,
        "--json",
    ]);
    assert_eq!(summary["entries_written"], 0, "{summary}");
    assert!(wait_converged(&clients, total, Duration::from_secs(60)));
    assert_eq!(clients[0].get("/v1/status").body["feeds"], heads_before);
}

/// Writes a CSV register of `count` FR rights numbered from `first`.
fn write_register(path: &std::path::Path, first: usize, count: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,registration_date,expiry_date,status").unwrap();
    for number in first..first + count {
        writeln!(
            file,
            "FR,{number},Marque {number},{},Titulaire {} SA,FR,2015-01-01,2015-06-01,2035-01-01,registered",
            1 + number % 45,
            number % 89
        )
        .unwrap();
    }
}

fn own_seq(client: &Client, authority: &str) -> u64 {
    client.get("/v1/status").body["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["author"] == authority)
        .map_or(0, |feed| feed["seq"].as_u64().unwrap())
}

#[test]
fn an_import_killed_half_way_resumes_after_what_the_node_answered_and_writes_each_right_once() {
    const RECORDS: usize = 60_000;
    let files = crate::harness::NodeFiles::office(&["FR"]);
    let node = files.start();
    let client = Client::new(&node.api);
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("register.csv");
    write_register(&csv_path, 5_000_000, RECORDS);
    let csv = csv_path.to_str().unwrap();
    let state_path = dir.path().join("register.csv.import-state");
    let args = [
        "import", "--format", "csv", csv, "--node", &node.api, "--token", TOKEN, "--json",
        "--batch", "200",
    ];

    // Kill -9 the importer once it has saved some progress.
    let mut child = std::process::Command::new(crate::harness::binary())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let saved_progress = || -> u64 {
        std::fs::read(&state_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|state| state["records_done"].as_u64())
            .unwrap_or(0)
    };
    let mut done_before_kill = 0;
    assert!(
        crate::harness::wait_until(Duration::from_secs(300), || {
            done_before_kill = saved_progress();
            done_before_kill > 0 || matches!(child.try_wait(), Ok(Some(_)))
        }),
        "no progress saved"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        done_before_kill > 0 && (done_before_kill as usize) < RECORDS,
        "the import ended before its first save ({done_before_kill}); raise RECORDS"
    );
    let done = saved_progress();
    assert!(done >= done_before_kill);
    // Requests the importer sent before it died may still be committing: wait until the
    // node's feed stops growing.
    let mut stored_before = own_seq(&client, &files.authority);
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let now = own_seq(&client, &files.authority);
        if now == stored_before {
            break;
        }
        stored_before = now;
    }
    assert!(
        stored_before >= done,
        "every record of the saved prefix is stored ({stored_before} < {done})"
    );

    // The same command again: resumes after the saved prefix, writes the rest, exit 0.
    let (code, summary, stderr) = import(&args);
    assert_eq!(code, 0, "{stderr} {summary}");
    assert_eq!(summary["resumed_after"], done, "{summary}");
    assert_eq!(summary["records_read"], RECORDS as u64);
    let written = summary["entries_written"].as_u64().unwrap();
    let unchanged = summary["unchanged"].as_u64().unwrap();
    assert_eq!(
        written + unchanged,
        RECORDS as u64 - done,
        "every record after the prefix answered once: {summary}"
    );
    // Each right exactly once: one entry per record, whatever was sent twice.
    assert_eq!(own_seq(&client, &files.authority), RECORDS as u64);
    assert_eq!(stored_before + written, RECORDS as u64);
    assert!(
        !state_path.exists(),
        "the state is removed when the import ends"
    );
    assert_eq!(
        client
            .get(&format!("/v1/rights/FR-TM-{}", 5_000_000 + RECORDS - 1))
            .status,
        200
    );

    // A saved progress that belongs to another file is not used: the copy of the register
    // is imported from its first record (every record unchanged, nothing skipped).
    let copy = dir.path().join("copy.csv");
    std::fs::copy(&csv_path, &copy).unwrap();
    let foreign = serde_json::json!({
        "version": 1,
        "identity": {"file_size": 1, "file_head_sha256": "00", "format": "csv", "jurisdictions": []},
        "records_done": RECORDS / 2,
    });
    std::fs::write(
        dir.path().join("copy.csv.import-state"),
        foreign.to_string(),
    )
    .unwrap();
    let (code, summary, stderr) = import(&[
        "import",
        "--format",
        "csv",
        copy.to_str().unwrap(),
        "--node",
        &node.api,
        "--token",
        TOKEN,
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("another file"), "{stderr}");
    assert_eq!(summary["resumed_after"], 0, "{summary}");
    assert_eq!(summary["unchanged"], RECORDS as u64, "{summary}");
    assert_eq!(own_seq(&client, &files.authority), RECORDS as u64);
}
