//! Smoke runs of every benchmark scenario (issue #7) at tiny sizes, in this process: each must
//! print its JSON result lines with sane figures. No timing thresholds: the figures of a debug
//! build on a shared machine mean nothing, only their presence and consistency are checked.

use rightsnet_bench::Reporter;
use rightsnet_bench::cluster::NodeMode;
use rightsnet_bench::scenarios::{
    catchup, import, ingest, propagation, query, screen, transparency, vc_verify, verify_notice,
};
use serde_json::Value;

/// Runs a scenario and returns the JSON lines it printed, checking their common shape.
fn results(
    scenario: &str,
    run: impl FnOnce(&mut Reporter<'_>) -> anyhow::Result<()>,
) -> Vec<Value> {
    let mut json = Vec::new();
    let mut human = Vec::new();
    {
        let mut reporter = Reporter::new(&mut json, &mut human);
        if let Err(error) = run(&mut reporter) {
            panic!(
                "{scenario} failed: {error:#}\n{}",
                String::from_utf8_lossy(&human)
            );
        }
    }
    assert!(!human.is_empty(), "{scenario} printed no summary");
    let lines: Vec<Value> = String::from_utf8(json)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!lines.is_empty(), "{scenario} printed no result");
    for line in &lines {
        assert_eq!(line["scenario"], scenario, "{line}");
        assert!(line["date"].as_str().unwrap().starts_with("20"), "{line}");
        assert!(line["machine"]["cores"].as_u64().unwrap() >= 1, "{line}");
        assert!(line["parameters"].is_object(), "{line}");
        assert!(line["figures"].is_object(), "{line}");
    }
    lines
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn sane_latency(latency: &Value) {
    let (p50, p99, max) = (
        number(&latency["p50_ms"]),
        number(&latency["p99_ms"]),
        number(&latency["max_ms"]),
    );
    assert!(number(&latency["count"]) > 0.0, "{latency}");
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{latency}");
}

#[test]
fn ingest_reports_both_paths_and_the_ratio_to_raw_verification() {
    let params = ingest::Params {
        entries: 400,
        authors: 3,
        batch: 150,
        verify_sample: 256,
        in_flight: 32,
        ..ingest::Params::default()
    };
    let lines = results("ingest", |reporter| ingest::run(&params, reporter));
    assert_eq!(lines.len(), 2);
    let bulk = &lines[0]["figures"];
    assert_eq!(lines[0]["parameters"]["path"], "bulk");
    assert_eq!(lines[0]["parameters"]["entries"], 400);
    assert!(number(&bulk["entries_per_s"]) > 0.0);
    assert!(number(&bulk["cpu_us_per_entry"]) > 0.0);
    assert!(number(&bulk["verify"]["single_per_s"]) > 0.0);
    assert!(number(&bulk["verify"]["batch_per_s"]) > 0.0);
    // A burst before the first submission and one after each of the three.
    assert_eq!(bulk["verify_bursts"], 4);
    assert!(number(&bulk["ratio_to_single"]) > 0.0);
    assert!(number(&bulk["ratio_to_batch"]) > 0.0);
    assert!(number(&bulk["disk_bytes"]) > 0.0);
    assert!(number(&bulk["disk_bytes_per_entry"]) > 0.0);
    // Measured after a full compaction: the entries are in table files.
    assert!(number(&bulk["family_bytes"]["entries"]) > 0.0, "{bulk}");
    assert!((600.0..1000.0).contains(&number(&bulk["mean_entry_bytes"])));
    assert_eq!(lines[1]["parameters"]["path"], "one_at_a_time");
    assert!(number(&lines[1]["figures"]["entries_per_s"]) > 0.0);
}

#[test]
fn ingest_recompresses_its_store_with_every_codec() {
    let params = ingest::Params {
        entries: 300,
        authors: 2,
        batch: 300,
        verify_sample: 64,
        bulk_only: true,
        compare_codecs: true,
        ..ingest::Params::default()
    };
    let lines = results("ingest", |reporter| ingest::run(&params, reporter));
    assert_eq!(lines.len(), 2);
    // The comparison is written as soon as the bulk store is compacted, before the bulk line.
    let paths: Vec<&Value> = lines
        .iter()
        .map(|line| &line["parameters"]["path"])
        .collect();
    assert_eq!(paths, ["codecs", "bulk"], "{lines:?}");
    let codecs = &lines[0]["figures"];
    let size = |codec: &str| number(&codecs[codec]["family_bytes"]["entries"]);
    for codec in [
        "none",
        "lz4",
        "zstd",
        "lz4+zstd-bottom",
        "lz4+zstd-dict-bottom",
        "per_family",
    ] {
        assert!(size(codec) > 0.0, "{codec}: {codecs}");
    }
    // The same entries, smaller compressed than not.
    assert!(size("zstd") < size("none"), "{codecs}");
    assert!(size("lz4") < size("none"), "{codecs}");
}

#[test]
fn propagation_times_every_entry_at_every_other_node() {
    let params = propagation::Params {
        nodes: 3,
        rate: 40.0,
        seconds: 0.5,
        no_sync: true,
    };
    let lines = results("propagation", |reporter| {
        propagation::run(&params, reporter)
    });
    assert_eq!(lines.len(), 1);
    let figures = &lines[0]["figures"];
    assert_eq!(figures["published"], 20);
    assert_eq!(figures["deliveries"], 40);
    assert_eq!(figures["converged"], true);
    assert!(
        number(&figures["via_gossip"])
            + number(&figures["via_sync"])
            + number(&figures["not_timed"])
            == 40.0
    );
    sane_latency(&figures["latency"]);
    sane_latency(&figures["local_commit"]);
}

#[test]
fn catchup_converges_and_reports_both_rates() {
    let params = catchup::Params {
        entries: 300,
        authors: 2,
        chunk: 200,
        timeout: 60,
        no_sync: true,
    };
    let lines = results("catchup", |reporter| catchup::run(&params, reporter));
    let figures = &lines[0]["figures"];
    assert_eq!(figures["converged"], true);
    assert_eq!(figures["caught_up"], 300);
    assert!(number(&figures["entries_per_s"]) > 0.0);
    assert!(number(&figures["ingest_per_s"]) > 0.0);
    assert!(number(&figures["ratio_to_ingest"]) > 0.0);
}

#[test]
fn query_answers_every_kind_and_reports_disk_and_memory() {
    let params = query::Params {
        rights: 1500,
        authors: 3,
        chunk: 600,
        seconds: 5.0,
        workers: 2,
        max_requests: 12,
        limit: 5,
        no_sync: true,
        store: None,
        check_searches: 2,
        wrk: false,
    };
    let lines = results("query", |reporter| {
        query::run(&params, &NodeMode::InProcess, reporter)
    });
    assert_eq!(lines.len(), 1 + query::KINDS.len());
    assert_eq!(lines[0]["figures"]["store_reused"], false);
    let load = &lines[0]["figures"];
    assert_eq!(lines[0]["parameters"]["rights"], 1500);
    assert!(number(&load["ingest_per_s"]) > 0.0);
    assert!(number(&load["disk_bytes"]) > 0.0);
    assert!(number(&load["rss_bytes"]) > 0.0);
    for (line, kind) in lines[1..].iter().zip(query::KINDS) {
        assert_eq!(line["parameters"]["kind"], kind);
        for label in ["one_client", "loaded"] {
            let figures = &line["figures"][label];
            assert_eq!(figures["requests"], 12, "{kind} {label}: {figures}");
            assert_eq!(figures["wrong"], 0, "{kind} {label}: {figures}");
            assert!(number(&figures["hits"]) > 0.0, "{kind} {label}: {figures}");
            sane_latency(&figures["latency"]);
        }
    }
    // A right looked up by id is always found.
    assert_eq!(lines[1]["figures"]["one_client"]["hits"], 12);
    // Two searches of each kind paged to their end, each exactly what a scan finds.
    let brute_force = &load["brute_force"];
    assert_eq!(brute_force["rights_scanned"], 1500, "{brute_force}");
    assert_eq!(brute_force["wrong_searches"], 0, "{brute_force}");
    for kind in &query::KINDS[1..] {
        let verdict = &brute_force["kinds"][kind];
        assert_eq!(verdict["searches"], 2, "{kind}: {verdict}");
        assert_eq!(verdict["exact"], 2, "{kind}: {verdict}");
        assert!(
            number(&verdict["rights_expected"]) >= 2.0,
            "{kind}: {verdict}"
        );
    }
}

#[test]
fn query_reuses_a_store_it_loaded_and_refuses_a_foreign_one() {
    let directory = tempfile::tempdir().unwrap();
    let params = query::Params {
        rights: 400,
        authors: 2,
        chunk: 200,
        seconds: 5.0,
        workers: 2,
        max_requests: 4,
        limit: 5,
        no_sync: true,
        store: Some(directory.path().join("store")),
        check_searches: 0,
        wrk: false,
    };
    for reused in [false, true] {
        let lines = results("query", |reporter| {
            query::run(&params, &NodeMode::InProcess, reporter)
        });
        let load = &lines[0]["figures"];
        assert_eq!(load["store_reused"], reused, "{load}");
        assert_eq!(load["rights_loaded"], 400, "{load}");
        for line in &lines[1..] {
            assert_eq!(line["figures"]["loaded"]["wrong"], 0, "{line}");
        }
    }
    // Another load in the same directory is refused, not mixed in.
    let other = query::Params {
        rights: 500,
        ..params.clone()
    };
    let mut json = Vec::new();
    let mut human = Vec::new();
    let error = query::run(
        &other,
        &NodeMode::InProcess,
        &mut Reporter::new(&mut json, &mut human),
    )
    .unwrap_err();
    assert!(error.to_string().contains("was loaded with"), "{error}");
}

#[test]
fn vc_verify_checks_every_answer_of_the_cli() {
    let params = vc_verify::Params {
        credentials: 200,
        issuers: 3,
        rounds: 1,
        cli_from: None,
    };
    let lines = results("vc-verify", |reporter| {
        vc_verify::run(&params, &NodeMode::InProcess, reporter)
    });
    let figures = &lines[0]["figures"];
    assert_eq!(figures["wrong"], 0, "{figures}");
    assert!(number(&figures["median_ratio"]) > 0.0, "{figures}");
    assert!(
        number(&figures["rounds"][0]["raw_per_s"]) > 0.0,
        "{figures}"
    );
}

#[test]
fn screen_evaluates_real_brands_and_answers_every_batch() {
    let params = screen::Params {
        rights: 1000,
        eval_brands: 300,
        negatives: 600,
        chunk: 500,
        seconds: 5.0,
        workers: 2,
        batch: 20,
        max_requests: 10,
        no_sync: true,
    };
    let lines = results("screen", |reporter| {
        screen::run(&params, &NodeMode::InProcess, reporter)
    });
    let figures = &lines[0]["figures"];
    // The quality goals of issue 16, on a sample of the evaluation set (the bench reports the
    // whole set): recall at least 0.95 on obfuscated titles, at most 1 % of generic titles
    // with any match.
    assert!(number(&figures["recall"]) >= 0.95, "{figures}");
    assert!(
        number(&figures["generic_matched_share"]) <= 0.01,
        "{figures}"
    );
    for technique in rightsnet_bench::screen_eval::TECHNIQUES {
        assert!(
            number(&figures["per_technique"][technique]["asked"]) > 0.0,
            "{technique}: {figures}"
        );
    }
    assert_eq!(figures["throughput"]["wrong"], 0, "{figures}");
    assert_eq!(figures["single_title"]["wrong"], 0, "{figures}");
    sane_latency(&figures["single_title"]["latency"]);
    assert!(
        number(&figures["index_disk_bytes_per_right"]) > 0.0,
        "{figures}"
    );
}

#[test]
fn verify_notice_gets_every_verdict_as_built() {
    let params = verify_notice::Params {
        rights: 200,
        notices: 40,
        seconds: 5.0,
        workers: 2,
        max_requests: 40,
        batch: 20,
    };
    let lines = results("verify-notice", |reporter| {
        verify_notice::run(&params, &NodeMode::InProcess, reporter)
    });
    let figures = &lines[0]["figures"];
    for label in ["one_client", "loaded"] {
        let run = &figures[label];
        assert_eq!(run["verdicts"], 40, "{label}: {run}");
        assert_eq!(run["wrong"], 0, "{label}: {run}");
        // 12 of every 20 notices are built valid.
        assert_eq!(run["accepted"], 24, "{label}: {run}");
        assert_eq!(run["rejected"], 16, "{label}: {run}");
        assert!(number(&run["verdicts_per_s"]) > 0.0);
        sane_latency(&run["latency"]);
    }
    // Batches of 20: 40 requests carry 800 verdicts, every one as built (a batch of 20 holds
    // rejected notices: 12 of every 20 are valid).
    let batched = &figures["batched"];
    assert_eq!(batched["requests"], 40, "{batched}");
    assert_eq!(batched["verdicts"], 800, "{batched}");
    assert_eq!(batched["wrong"], 0, "{batched}");
    assert_eq!(batched["rejected"], 40, "{batched}");
    assert!(number(&batched["verdicts_per_s"]) > 0.0);
}

#[test]
fn transparency_measures_in_process_and_over_http_with_every_answer_right() {
    let params = transparency::Params {
        leaves: 3000,
        proofs: 50,
        tiles: 20,
        http_entries: 700,
        chunk: 300,
        workers: 2,
        seconds: 5.0,
        max_requests: 30,
        skip_http: false,
    };
    let lines = results("transparency", |reporter| {
        transparency::run(&params, &NodeMode::InProcess, reporter)
    });
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["parameters"]["part"], "in_process");
    let in_process = &lines[0]["figures"];
    sane_latency(&in_process["proof_from_store"]);
    // 3000 leaves: a path of 12 hashes.
    assert_eq!(in_process["proof_hashes"], 12);
    assert!(number(&in_process["tile_reads_per_s"]) > 0.0);
    assert_eq!(lines[1]["parameters"]["part"], "http");
    assert_eq!(lines[1]["parameters"]["http_entries"], 700);
    let tiles = &lines[1]["figures"]["tiles"];
    assert_eq!(tiles["requests"], 30, "{tiles}");
    assert_eq!(tiles["right"], 30, "{tiles}");
    assert_eq!(tiles["wrong"], 0, "{tiles}");
    sane_latency(&tiles["latency"]);
    let proofs = &lines[1]["figures"]["proofs"];
    assert_eq!(proofs["requests"], 30, "{proofs}");
    assert_eq!(proofs["right"], 30, "{proofs}");
    assert_eq!(proofs["wrong"], 0, "{proofs}");
    sane_latency(&proofs["latency"]);
    // A proof in a tree of 700 carries at most 10 hashes and the checkpoint with its
    // cosignature.
    assert!(
        (9..=10).contains(&proofs["proof_hashes"].as_u64().unwrap()),
        "{proofs}"
    );
    let largest = number(&proofs["largest_proof_bytes"]);
    assert!((400.0..2048.0).contains(&largest), "{proofs}");
}

#[test]
fn transparency_skip_http_measures_in_process_only() {
    let params = transparency::Params {
        leaves: 300,
        proofs: 10,
        tiles: 5,
        skip_http: true,
        ..transparency::Params::default()
    };
    let lines = results("transparency", |reporter| {
        transparency::run(&params, &NodeMode::InProcess, reporter)
    });
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["parameters"]["part"], "in_process");
    assert_eq!(lines[0]["figures"]["proof_hashes"], 9);
}

#[test]
fn import_runs_the_cli_end_to_end_and_reports_rate_disk_and_the_second_pass() {
    let params = import::Params {
        records: 700,
        batch: 100,
        concurrency: 2,
        no_sync: true,
        skip_reimport: false,
    };
    let lines = results("import", |reporter| {
        import::run(&params, &NodeMode::InProcess, reporter)
    });
    assert_eq!(lines.len(), 1);
    let figures = &lines[0]["figures"];
    assert_eq!(figures["records"], 700);
    assert!(number(&figures["records_per_s"]) > 0.0);
    assert!(number(&figures["disk_bytes_per_registration"]) > 0.0);
    assert!(number(&figures["reimport"]["records_per_s"]) > 0.0);
}
