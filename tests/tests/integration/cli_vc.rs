//! `rightsnet key` and `rightsnet vc`: the W3C vectors byte for byte, tampering, exit codes.

use crate::harness::{run, vector};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(vector(name)).unwrap()
}

#[test]
fn sign_reproduces_the_w3c_proof_and_verify_accepts_it() {
    let key = vector("keyPair.json");
    let out = run(
        &[
            "vc",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--created",
            "2023-02-24T23:36:38Z",
        ],
        &read("unsigned.json"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: serde_json::Value = serde_json::from_slice(&read("signedJCS.json")).unwrap();
    assert_eq!(signed["proof"], expected["proof"]);
    assert_eq!(
        signed["proof"]["proofValue"],
        String::from_utf8(read("sigBTC58JCS.txt")).unwrap().trim()
    );

    let out = run(&["vc", "verify"], &read("signedJCS.json"));
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.starts_with("verified:"), "{report}");
    assert!(report.contains("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"));
}

#[test]
fn any_changed_character_fails_verification_with_a_reason() {
    let signed = String::from_utf8(read("signedJCS.json")).unwrap();
    // A sample of positions across the document and the proof (every position is covered by
    // the proto-types unit test; the binary is checked on a spread of them).
    let positions: Vec<usize> = signed
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .step_by(23)
        .collect();
    assert!(positions.len() > 20);
    for index in positions {
        let mut changed = signed.clone().into_bytes();
        changed[index] = if changed[index] == b'a' { b'b' } else { b'a' };
        let out = run(&["vc", "verify"], &changed);
        let code = out.status.code();
        assert!(
            code == Some(1) || code == Some(2),
            "change at {index} gave {code:?}"
        );
        assert!(
            !out.stderr.is_empty(),
            "no reason given for change at {index}"
        );
    }
    // A change inside a string value keeps the JSON usable: exit 1 with the reason.
    let changed = signed.replace("The School of Examples", "The School of Exampled");
    let out = run(&["vc", "verify"], changed.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not verify"));
}

#[test]
fn verify_exit_codes_for_unusable_input() {
    for input in [&b"not json"[..], b"[1,2]", b"{\"a\":1,\"a\":2}", b""] {
        let out = run(&["vc", "verify"], input);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(!out.stderr.is_empty());
    }
    // A document without a proof is not a secured document: unusable input (issue 10, item 19).
    let out = run(&["vc", "verify"], b"{\"a\":1}");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no proof"));
}

#[test]
fn verify_jsonl_reports_every_line_in_order() {
    let signed: serde_json::Value = serde_json::from_slice(&read("signedJCS.json")).unwrap();
    let good = serde_json::to_string(&signed).unwrap();
    let mut tampered = signed.clone();
    tampered["name"] = serde_json::Value::from("Forged");
    let bad = serde_json::to_string(&tampered).unwrap();
    let mut input = String::new();
    for index in 0..300 {
        match index % 3 {
            0 => input.push_str(&good),
            1 => input.push_str(&bad),
            _ => input.push_str("{garbage"),
        }
        input.push('\n');
    }
    let out = run(&["vc", "verify", "--jsonl"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], index + 1);
        assert_eq!(line["verified"], index % 3 == 0, "{line}");
        if index % 3 != 0 {
            assert!(line["reason"].is_string());
        }
    }
    let only_good = format!("{good}\n{good}\n");
    let out = run(&["vc", "verify", "--jsonl"], only_good.as_bytes());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn canonicalize_matches_rfc8785_and_refuses_bad_input() {
    let out = run(&["vc", "canonicalize"], &read("unsigned.json"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, read("canonDocJCS.txt"));

    let rfc_input = br#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
    let out = run(&["vc", "canonicalize"], rfc_input);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
    );

    let deep = "[".repeat(100_000);
    for input in [
        deep.as_bytes(),
        b"{\"a\":1,\"a\":2}",
        b"{",
        b"1e400",
        b"\"\\ud800\"",
    ] {
        let out = run(&["vc", "canonicalize"], input);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn key_gen_writes_a_usable_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let out = run(&["key", "gen", "--out", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0));
    let did = String::from_utf8(out.stdout).unwrap();
    assert!(did.trim().starts_with("did:key:z6Mk"));
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        file["publicKeyMultibase"]
            .as_str()
            .unwrap()
            .starts_with("z6Mk")
    );
    assert!(
        file["secretKeyMultibase"]
            .as_str()
            .unwrap()
            .starts_with("z3u2")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = run(&["key", "gen", "--out", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));

    // A document signed with the new key verifies, and names it.
    let out = run(&["vc", "sign", "--key", path.to_str().unwrap()], b"{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],\"type\":[\"VerifiableCredential\"]}");
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["vc", "verify"], &out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains(did.trim()));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["vc", "sign"], b"{}").status.code(), Some(2));
    assert_eq!(run(&["bogus"], b"").status.code(), Some(2));
    let out = run(&["vc", "sign", "--key", "/nonexistent/key.json"], b"{}");
    assert_eq!(out.status.code(), Some(2));
    let key = vector("keyPair.json");
    let out = run(
        &[
            "vc",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--created",
            "yesterday",
        ],
        b"{}",
    );
    assert_eq!(out.status.code(), Some(2));
}
