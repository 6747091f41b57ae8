//! `screen` (issue 16): the brands of the evaluation set (`data/screening/brands.tsv`) and
//! `--rights` generated registrations loaded through the bulk ingest path, the screening
//! index's size measured after a full compaction, then a node in its own process answers
//! `POST /v1/screen`:
//!
//! * **evaluation:** obfuscated titles of real brands (every technique of
//!   [`crate::screen_eval::TECHNIQUES`]) must find the brand's right — recall per technique,
//!   with and without the listing's class; generic titles must find nothing — the share with
//!   any match;
//! * **throughput:** titles per second with several clients, each request a batch of titles
//!   (obfuscated and generic mixed); every answer checked (one result per listing);
//! * **latency:** one title per request, one client, p50 / p99;
//! * the node's resident memory, and the index's filter and index blocks (what stays in memory
//!   for misses to cost no data block) per right.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proto_types::body::{Body, EntryKind};
use rightsnet_node::ingest::Source;
use serde_json::{Value, json};

use super::{Loader, Outcomes, bulk_load, runtime};
use crate::cluster::{ApiNode, NodeFiles, NodeMode, mib, write_trust};
use crate::cpu::CpuSample;
use crate::fixtures::{Feed, JURISDICTIONS, Office, trust_store};
use crate::load::{self, Check, Request};
use crate::report::{Reporter, round};
use crate::screen_eval::{self, EvalListing, TECHNIQUES};
use crate::stats::per_second;

/// Waits until the node's in-memory mark set is built (its `/metrics` gauge), so the run
/// measures the screening a node does once started: seconds waited and the set's bytes.
fn wait_for_marks(base: &str) -> anyhow::Result<(f64, u64)> {
    let started = std::time::Instant::now();
    let gauge = |text: &str, name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    loop {
        let text = reqwest::blocking::get(format!("{base}/metrics"))?.text()?;
        if gauge(&text, "rightsnet_screen_marks_ready ") == Some(1.0) {
            let bytes = gauge(&text, "rightsnet_screen_marks_bytes ").unwrap_or(0.0);
            return Ok((started.elapsed().as_secs_f64(), bytes as u64));
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the node's screening marks were not ready after 10 minutes");
        }
        crate::pause(Duration::from_millis(100));
    }
}

/// Parameters of the `screen` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Generated registrations loaded besides the brands (marks made of generated words).
    #[arg(long, default_value_t = 1_000_000)]
    pub rights: usize,
    /// Brands whose names are obfuscated for the evaluation (spread over the set).
    #[arg(long, default_value_t = 2_000)]
    pub eval_brands: usize,
    /// Generic titles (negatives) in the evaluation.
    #[arg(long, default_value_t = 3_000)]
    pub negatives: usize,
    /// Registrations generated and loaded per chunk (bounds memory).
    #[arg(long, default_value_t = 50_000)]
    pub chunk: usize,
    /// Seconds of each timed run.
    #[arg(long, default_value_t = 6.0)]
    pub seconds: f64,
    /// Concurrent clients of the throughput run.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Titles per request in the throughput run.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// At most this many requests per timed run (for tiny smoke runs).
    #[arg(long, default_value_t = u64::MAX)]
    pub max_requests: u64,
    /// Acknowledge writes before the write-ahead log is synced.
    #[arg(long)]
    pub no_sync: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            rights: 1_000_000,
            eval_brands: 2_000,
            negatives: 3_000,
            chunk: 50_000,
            seconds: 6.0,
            workers: 8,
            batch: 100,
            max_requests: u64::MAX,
            no_sync: false,
        }
    }
}

/// The request body screening `listings`.
/// Titles timed one by one for the tail report.
const TAIL_SAMPLE: usize = 4_000;
/// The slowest of them reported.
const TAIL_REPORTED: usize = 8;
/// Times each slow title is asked again.
const RETIMES: usize = 5;

/// Times up to [`TAIL_SAMPLE`] titles of `pool` one request each, one after another, then asks
/// the [`TAIL_REPORTED`] slowest [`RETIMES`] times again: a title slow both times costs that
/// much; one fast the second time was slow for another reason (a merge, the scheduler). Returns
/// (title, first ms, median ms of the second asking), slowest first.
async fn slowest_titles(
    base: &str,
    pool: &[EvalListing],
) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let url = format!("{base}/v1/screen");
    let time = |listing: &EvalListing| {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body(std::slice::from_ref(listing)));
        async move {
            let started = std::time::Instant::now();
            let response = request.send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "screen: {}",
                response.status()
            );
            response.bytes().await?;
            Ok::<f64, anyhow::Error>(started.elapsed().as_secs_f64() * 1000.0)
        }
    };
    let step = (pool.len() / TAIL_SAMPLE).max(1);
    let mut timed: Vec<(usize, f64)> = Vec::new();
    for index in (0..pool.len()).step_by(step).take(TAIL_SAMPLE) {
        timed.push((index, time(&pool[index]).await?));
    }
    timed.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut slowest = Vec::new();
    for &(index, first) in timed.iter().take(TAIL_REPORTED) {
        let mut again = Vec::with_capacity(RETIMES);
        for _ in 0..RETIMES {
            again.push(time(&pool[index]).await?);
        }
        again.sort_by(f64::total_cmp);
        slowest.push((pool[index].title.clone(), first, again[RETIMES / 2]));
    }
    Ok(slowest)
}

fn body(listings: &[EvalListing]) -> Vec<u8> {
    let listings: Vec<Value> = listings
        .iter()
        .map(|listing| {
            let mut value = json!({"id": listing.id, "title": listing.title});
            if let Some(class) = listing.class {
                value["class"] = json!(class);
            }
            value
        })
        .collect();
    serde_json::to_vec(&json!({"listings": listings})).unwrap_or_default()
}

/// Recall of one technique: found, asked.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    found: u64,
    asked: u64,
}

impl Tally {
    fn share(self) -> f64 {
        if self.asked == 0 {
            0.0
        } else {
            self.found as f64 / self.asked as f64
        }
    }
}

/// What [`evaluate`] finds: recall per technique, generic titles matched, up to 5 misses and
/// 5 false matches.
type Evaluation = (
    BTreeMap<&'static str, Tally>,
    Tally,
    Vec<String>,
    Vec<String>,
);

/// Screens `listings` in batches of 100 and tallies recall per technique and the share of
/// generic titles with a match; also returns up to 5 misses and 5 false matches for the report.
fn evaluate(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    listings: &[EvalListing],
) -> anyhow::Result<Evaluation> {
    let client = reqwest::Client::new();
    let mut recall: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut false_matches = Tally::default();
    let mut missed = Vec::new();
    let mut wrongly = Vec::new();
    for chunk in listings.chunks(100) {
        let answer: Value = runtime.block_on(async {
            let response = client
                .post(format!("{base}/v1/screen"))
                .header("content-type", "application/json")
                .body(body(chunk))
                .send()
                .await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            anyhow::ensure!(
                status.is_success(),
                "POST /v1/screen answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            Ok::<Value, anyhow::Error>(serde_json::from_slice(&bytes)?)
        })?;
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        anyhow::ensure!(
            results.len() == chunk.len(),
            "{} results for {} listings",
            results.len(),
            chunk.len()
        );
        for (listing, result) in chunk.iter().zip(&results) {
            let matches = result["matches"].as_array().cloned().unwrap_or_default();
            match (&listing.technique, &listing.right_id) {
                (Some(technique), Some(right_id)) => {
                    let tally = recall.entry(technique).or_default();
                    tally.asked += 1;
                    if matches.iter().any(|m| m["right_id"] == right_id.as_str()) {
                        tally.found += 1;
                    } else if missed.len() < 5 {
                        missed.push(format!(
                            "{technique}: {:?} (class {:?})",
                            listing.title, listing.class
                        ));
                    }
                }
                _ => {
                    false_matches.asked += 1;
                    if !matches.is_empty() {
                        false_matches.found += 1;
                        if wrongly.len() < 5 {
                            wrongly.push(format!(
                                "{:?} → {} {:?}",
                                listing.title, matches[0]["mark"], matches[0]["how"]
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok((recall, false_matches, missed, wrongly))
}

/// Runs the scenario with the node in `mode`.
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let sync_writes = !params.no_sync;
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;
    let node_office = Office::new("screen-node", 31);
    let brand_offices = Office::set("screen-brands", JURISDICTIONS.len());
    let authors = Office::set("screen-author", 8);
    let trust = || -> anyhow::Result<_> {
        trust_store(
            std::iter::once(&node_office)
                .chain(brand_offices.iter())
                .chain(authors.iter())
                .map(Office::authority)
                .collect::<anyhow::Result<_>>()?,
        )
    };
    let trust_path = directory.path().join("trust.toml");
    write_trust(&trust_path, &trust()?)?;
    let files = NodeFiles::create(directory.path().join("node"), &node_office.key)?;
    let loader = Loader::open(&files.data_dir(), trust()?, sync_writes)?;

    // The brands, each registered by the office of its jurisdiction.
    let brands = screen_eval::brands();
    let mut brand_feeds: Vec<Feed> = Office::set("screen-brands", JURISDICTIONS.len())
        .into_iter()
        .map(Feed::new)
        .collect();
    let mut entries = Vec::with_capacity(brands.len());
    for (number, brand) in brands.iter().enumerate() {
        let office = JURISDICTIONS
            .iter()
            .position(|code| *code == brand.jurisdiction)
            .unwrap_or(0);
        let body = Body::decode(EntryKind::Registration, &brand.body_json(number))
            .map_err(|error| anyhow::anyhow!("brand {}: {error}", brand.name))?;
        entries.push(brand_feeds[office].sign(body)?.0);
    }
    let mut outcomes = Outcomes::default();
    for chunk in entries.chunks(10_000) {
        let results = runtime.block_on(
            loader
                .ingest
                .submit_many_bytes(chunk.to_vec(), Source::Sync),
        );
        outcomes.add(&results);
    }
    outcomes.ensure_accepted(entries.len() as u64)?;
    let mut feeds: Vec<Feed> = authors.into_iter().map(Feed::new).collect();
    let load = bulk_load(
        &runtime,
        &loader.ingest,
        &mut feeds,
        params.rights,
        params.chunk,
        Source::Sync,
    )?;
    let total_rights = load.entries + brands.len() as u64;
    let compacted = super::store_size::compact(&loader.store)?;
    let screen_disk = compacted
        .families
        .iter()
        .find(|(name, _)| *name == "index_screen")
        .map_or(0, |(_, bytes)| *bytes);
    let blocks = loader.store.screen_index_blocks();
    loader.close()?;
    reporter.say(format!(
        "screen: {} brands and {} generated registrations loaded ({:.1} s); screening index {:.0} MiB on disk ({:.1} bytes per right), filter and index blocks {:.1} MiB ({:.1} bytes per right, {:.0} MiB projected for 10 M rights)",
        brands.len(),
        load.entries,
        load.ingesting.as_secs_f64(),
        mib(screen_disk),
        screen_disk as f64 / total_rights.max(1) as f64,
        mib(blocks),
        blocks as f64 / total_rights.max(1) as f64,
        mib((blocks as f64 / total_rights.max(1) as f64 * 10_000_000.0) as u64),
    ));

    let node = ApiNode::start(
        mode,
        files.config(&trust_path, &[], sync_writes, None)?,
        super::cores(),
    )?;
    let base = node.base_url();
    let pids = node.pids();
    let marks = wait_for_marks(&base);
    let mut run = || -> anyhow::Result<Value> {
        let &(marks_seconds, marks_bytes) =
            marks.as_ref().map_err(|error| anyhow::anyhow!("{error}"))?;
        reporter.say(format!(
            "  in-memory mark set ready {marks_seconds:.1} s after the node answered: {:.1} MiB ({:.1} bytes per right, {:.0} MiB projected for 10 M rights)",
            mib(marks_bytes),
            marks_bytes as f64 / total_rights.max(1) as f64,
            mib((marks_bytes as f64 / total_rights.max(1) as f64 * 10_000_000.0) as u64),
        ));
        // Evaluation.
        let with_class = screen_eval::obfuscated_listings(&brands, params.eval_brands, true);
        let without_class = screen_eval::obfuscated_listings(&brands, params.eval_brands, false);
        let negatives = screen_eval::generic_listings(params.negatives);
        let (recall, _, missed, _) = evaluate(&runtime, &base, &with_class)?;
        let (recall_no_class, _, _, _) = evaluate(&runtime, &base, &without_class)?;
        let (_, false_matches, _, wrongly) = evaluate(&runtime, &base, &negatives)?;
        let overall = recall.values().fold(Tally::default(), |sum, tally| Tally {
            found: sum.found + tally.found,
            asked: sum.asked + tally.asked,
        });
        let overall_no_class = recall_no_class
            .values()
            .fold(Tally::default(), |sum, tally| Tally {
                found: sum.found + tally.found,
                asked: sum.asked + tally.asked,
            });
        reporter.say(format!(
            "  evaluation: recall {:.3} on {} obfuscated titles with their class ({:.3} without); {:.2} % of {} generic titles matched",
            overall.share(),
            overall.asked,
            overall_no_class.share(),
            100.0 * false_matches.share(),
            false_matches.asked
        ));
        let mut per_technique = json!({});
        for technique in TECHNIQUES {
            let tally = recall.get(technique).copied().unwrap_or_default();
            let no_class = recall_no_class.get(technique).copied().unwrap_or_default();
            reporter.say(format!(
                "    {technique:<11} {:.3} of {:>5} ({:.3} without the class)",
                tally.share(),
                tally.asked,
                no_class.share()
            ));
            per_technique[technique] = json!({
                "asked": tally.asked,
                "recall": round(tally.share(), 4),
                "recall_without_class": round(no_class.share(), 4),
            });
        }
        for miss in &missed {
            reporter.say(format!("    missed: {miss}"));
        }
        for wrong in &wrongly {
            reporter.say(format!("    generic title matched: {wrong}"));
        }

        // Throughput: batches of titles, several clients.
        let mut pool: Vec<EvalListing> = with_class;
        pool.extend(negatives);
        let pool = Arc::new(pool);
        let batch = params.batch.clamp(1, 1000);
        let make_pool = pool.clone();
        let cpu = CpuSample::now(&pids);
        let outcome = runtime.block_on(load::run(
            &base,
            params.workers.max(1),
            Duration::from_secs_f64(params.seconds),
            params.max_requests,
            Arc::new(move |number| {
                let start = (number as usize * batch) % make_pool.len().max(1);
                let listings: Vec<EvalListing> = make_pool
                    .iter()
                    .cycle()
                    .skip(start)
                    .take(batch)
                    .cloned()
                    .collect();
                Request::post("/v1/screen", body(&listings))
            }),
            Arc::new(move |_, status, body| screen_check(status, body, batch)),
        ))?;
        let cpu = cpu.elapsed();
        let titles_per_s = per_second(outcome.requests * batch as u64, outcome.elapsed);
        let batch_summary = outcome.latencies.summary();
        reporter.say(format!(
            "  throughput: {titles_per_s:.0} titles/s ({} clients, {batch} titles per request; {batch_summary}); {} wrong; others {:.0} %",
            params.workers,
            outcome.wrong,
            100.0 * cpu.others_share()
        ));

        // Latency: one title per request, one client.
        let make_pool = pool.clone();
        let single = runtime.block_on(load::run(
            &base,
            1,
            Duration::from_secs_f64(params.seconds),
            params.max_requests,
            Arc::new(move |number| {
                let listing = &make_pool[number as usize % make_pool.len().max(1)];
                Request::post("/v1/screen", body(std::slice::from_ref(listing)))
            }),
            Arc::new(move |_, status, body| screen_check(status, body, 1)),
        ))?;
        let single_summary = single.latencies.summary();
        reporter.say(format!(
            "  one title per request, one client: {:.0} req/s, {single_summary}; {} wrong",
            per_second(single.requests, single.elapsed),
            single.wrong
        ));
        // The tail: which titles are slow, and whether they stay slow when asked again.
        let slowest = runtime.block_on(slowest_titles(&base, &pool))?;
        for (title, first, again) in &slowest {
            reporter.say(format!(
                "    slow title: {first:.2} ms, again {again:.2} ms (median of {RETIMES}): {title}"
            ));
        }
        Ok(json!({
            "recall": round(overall.share(), 4),
            "recall_without_class": round(overall_no_class.share(), 4),
            "obfuscated_titles": overall.asked,
            "generic_titles": false_matches.asked,
            "generic_matched_share": round(false_matches.share(), 4),
            "per_technique": per_technique,
            "throughput": {
                "clients": params.workers,
                "titles_per_request": batch,
                "titles_per_s": round(titles_per_s, 1),
                "latency": batch_summary.to_json(),
                "wrong": outcome.wrong,
                "others_cpu_share": round(cpu.others_share(), 3),
            },
            "single_title": {
                "requests_per_s": round(per_second(single.requests, single.elapsed), 1),
                "latency": single_summary.to_json(),
                "wrong": single.wrong,
                "slowest": slowest
                    .iter()
                    .map(|(title, first, again)| json!({
                        "title": title,
                        "ms": round(*first, 3),
                        "again_median_ms": round(*again, 3),
                    }))
                    .collect::<Vec<Value>>(),
            },
        }))
    };
    let figures = run();
    let (memory, memory_of) = node.memory();
    let stopped = node.stop();
    let mut figures = figures?;
    stopped?;
    let rss = memory.map_or(0, |memory| memory.rss_bytes);
    let peak = memory.map_or(0, |memory| memory.peak_rss_bytes);
    reporter.say(format!(
        "  RSS of the {memory_of}: {:.0} MiB now, {:.0} MiB peak",
        mib(rss),
        mib(peak)
    ));
    figures["rights"] = json!(total_rights);
    figures["brands"] = json!(brands.len());
    figures["index_disk_bytes_per_right"] =
        json!(round(screen_disk as f64 / total_rights.max(1) as f64, 1));
    figures["index_blocks_bytes_per_right"] =
        json!(round(blocks as f64 / total_rights.max(1) as f64, 1));
    figures["index_blocks_projected_10m_mib"] = json!(round(
        blocks as f64 / total_rights.max(1) as f64 * 10_000_000.0 / 1_048_576.0,
        1
    ));
    if let Ok((seconds, bytes)) = marks {
        figures["marks_ready_s"] = json!(round(seconds, 1));
        figures["marks_bytes_per_right"] =
            json!(round(bytes as f64 / total_rights.max(1) as f64, 1));
        figures["marks_projected_10m_mib"] = json!(round(
            bytes as f64 / total_rights.max(1) as f64 * 10_000_000.0 / 1_048_576.0,
            1
        ));
    }
    figures["node_rss_mib"] = json!(round(mib(rss), 1));
    figures["node_peak_rss_mib"] = json!(round(mib(peak), 1));
    reporter.result(
        "screen",
        json!({"rights": total_rights, "sync_writes": sync_writes}),
        figures,
    )?;
    Ok(())
}

/// An answer is right when it has one result per listing sent.
fn screen_check(status: u16, body: &[u8], listings: usize) -> Check {
    if status != 200 {
        return Check::Wrong;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => match value["results"].as_array() {
            Some(results) if results.len() == listings => {
                if results
                    .iter()
                    .any(|r| r["matches"].as_array().is_some_and(|m| !m.is_empty()))
                {
                    Check::Hit
                } else {
                    Check::Miss
                }
            }
            _ => Check::Wrong,
        },
        Err(_) => Check::Wrong,
    }
}
