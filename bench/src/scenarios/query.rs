//! `query`: a million registrations loaded through the bulk ingest path (generated in bounded
//! chunks), then the node serves them over HTTP: right by id, search by mark (exact, prefix,
//! folded), by holder (name, key), by class and jurisdiction; p50 / p99 latency with one client
//! and throughput with several; the store's size on disk and the node's resident memory.
//!
//! The binary runs the node in a child process, so that its memory is its own; the client and
//! the node still share the machine's cores.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rightsnet_node::ingest::Source;
use serde_json::{Value, json};

use super::{Loader, bulk_load, query_check, runtime};
use crate::cluster::{ApiNode, NodeFiles, NodeMode, dir_size, mib, write_trust};
use crate::cpu::CpuSample;
use crate::fixtures::{Feed, Office, Registration, holder_dids, mix, spread, trust_store};
use crate::load::{self, Check, Request};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `query` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Registrations loaded.
    #[arg(long, default_value_t = 1_000_000)]
    pub rights: usize,
    /// Offices they come from.
    #[arg(long, default_value_t = 8)]
    pub authors: usize,
    /// Registrations generated and loaded per chunk (bounds memory).
    #[arg(long, default_value_t = 50_000)]
    pub chunk: usize,
    /// Seconds per query kind and client count.
    #[arg(long, default_value_t = 4.0)]
    pub seconds: f64,
    /// Concurrent clients for the throughput runs (latency runs use one).
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// At most this many requests per run (for tiny smoke runs).
    #[arg(long, default_value_t = u64::MAX)]
    pub max_requests: u64,
    /// Page size asked for by searches.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Acknowledge writes before the write-ahead log is synced (nodes sync by default).
    #[arg(long)]
    pub no_sync: bool,
    /// Keep the node's files in this directory instead of a temporary one, and reuse a store
    /// loaded there before with the same `--rights` and `--authors` (a 10 M load takes tens
    /// of minutes; the queries can then be measured again without it).
    #[arg(long)]
    pub store: Option<std::path::PathBuf>,
    /// Searches of each kind paged through to their end and compared with a brute-force scan
    /// of the store once the node has stopped (0: none).
    #[arg(long, default_value_t = 3)]
    pub check_searches: usize,
    /// Also measure each kind with `wrk` (Debian's package), an independent load generator, at
    /// one connection and at `--workers`, with the same request paths.
    #[arg(long)]
    pub wrk: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            rights: 1_000_000,
            authors: 8,
            chunk: 50_000,
            seconds: 4.0,
            workers: 8,
            max_requests: u64::MAX,
            limit: 20,
            no_sync: false,
            store: None,
            check_searches: 3,
            wrk: false,
        }
    }
}

/// The query kinds, in report order.
pub const KINDS: [&str; 7] = [
    "right_by_id",
    "mark_exact",
    "mark_prefix",
    "mark_folded",
    "holder_name",
    "holder_key",
    "class_jurisdiction",
];

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The mark as a user might type it: no accents, upper case (the vocabulary's accented
/// letters only).
fn unfolded(mark: &str) -> String {
    mark.chars()
        .map(|character| match character {
            'è' | 'é' | 'È' | 'É' => 'e',
            'ö' | 'Ö' => 'o',
            'ñ' | 'Ñ' => 'n',
            other => other,
        })
        .collect::<String>()
        .to_uppercase()
}

/// Which loaded registrations exist: `(office, count)` per feed.
#[derive(Clone)]
struct Loaded {
    offices: Arc<Vec<(Office, u64)>>,
}

impl Loaded {
    fn pick(&self, number: u64) -> Registration {
        let hash = mix(number ^ 0x0e7);
        let (office, count) = &self.offices[(hash % self.offices.len() as u64) as usize];
        Registration::new(office, 1 + (hash >> 16) % (*count).max(1))
    }
}

fn request(kind: &str, registration: &Registration, limit: usize, number: u64) -> Request {
    let path = match kind {
        "right_by_id" => format!("/v1/rights/{}", registration.right_id),
        "mark_exact" => format!(
            "/v1/rights?mark={}&exact=true&limit={limit}",
            encode(&registration.mark_text)
        ),
        "mark_prefix" => {
            let word = registration
                .mark_text
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_lowercase();
            let keep = (word.chars().count() / 2 + 1).max(3);
            let prefix: String = word.chars().take(keep).collect();
            format!("/v1/rights?mark={}&limit={limit}", encode(&prefix))
        }
        "mark_folded" => format!(
            "/v1/rights?mark={}&limit={limit}",
            encode(&unfolded(&registration.mark_text))
        ),
        "holder_name" => format!(
            "/v1/rights?holder={}&limit={limit}",
            encode(&registration.holder_name())
        ),
        "holder_key" => format!(
            "/v1/rights?holder={}&limit={limit}",
            encode(&holder_dids()[registration.holder])
        ),
        _ => {
            let classes = &registration.nice_classes;
            let class = classes[(number % classes.len() as u64) as usize];
            format!(
                "/v1/rights?class={class}&jurisdiction={}&limit={limit}",
                registration.jurisdiction
            )
        }
    };
    Request::get(path)
}

fn check(kind: &str, status: u16, body: &[u8]) -> Check {
    if status != 200 {
        return Check::Wrong;
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Check::Wrong;
    };
    if kind == "right_by_id" {
        return if value["right_id"].is_string() {
            Check::Hit
        } else {
            Check::Wrong
        };
    }
    match value["rights"].as_array() {
        Some(rights) if !rights.is_empty() => Check::Hit,
        Some(_) => Check::Miss,
        None => Check::Wrong,
    }
}

/// Runs the scenario with the node in `mode`.
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    anyhow::ensure!(
        !params.wrk || crate::wrk::available(),
        "--wrk: wrk is not installed (apt-get install wrk)"
    );
    let sync_writes = !params.no_sync;
    let runtime = runtime()?;
    let temporary;
    let root: std::path::PathBuf = match &params.store {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let node_office = Office::new("query-node", 31);
    let authors = Office::set("query-author", params.authors.max(1));
    let trust = || -> anyhow::Result<_> {
        trust_store(
            std::iter::once(&node_office)
                .chain(authors.iter())
                .map(Office::authority)
                .collect::<anyhow::Result<_>>()?,
        )
    };
    let trust_path = root.join("trust.toml");
    write_trust(&trust_path, &trust()?)?;
    let files = NodeFiles::create(root.join("node"), &node_office.key)?;
    let marker = root.join(LOADED_MARKER);
    let wanted = json!({"rights": params.rights, "authors": params.authors.max(1)});
    let reusable = reusable_load(&marker, &files.data_dir(), &wanted)?;
    let reused = reusable.is_some();
    let mut load_figures = match reusable {
        Some(figures) => {
            reporter.say(format!(
                "query: reusing the store in {} ({} registrations loaded by an earlier run)",
                root.display(),
                params.rights
            ));
            figures
        }
        None => {
            let figures = load_store(params, &runtime, &files, trust()?, reporter)?;
            // Written last: a store whose load was cut short has no marker and is not reused.
            std::fs::write(
                &marker,
                serde_json::to_vec(&json!({"load": wanted, "figures": figures}))?,
            )?;
            figures
        }
    };
    let entries = load_figures["rights_loaded"].as_u64().unwrap_or_default();
    let loaded = Loaded {
        offices: Arc::new(
            authors
                .into_iter()
                .zip(spread(params.rights, params.authors.max(1)))
                .map(|(office, count)| (office, count as u64))
                .collect(),
        ),
    };
    // Warm the holder keys before timing (they are derived on first use).
    let _ = holder_dids();

    let node = ApiNode::start(
        mode,
        files.config(&trust_path, &[], sync_writes, None)?,
        super::cores(),
    )?;
    let base = node.base_url();
    let pids = node.pids();
    let mut run_kinds = || -> anyhow::Result<Vec<Value>> {
        let mut lines = Vec::new();
        for kind in KINDS {
            let mut figures = json!({});
            for (label, workers) in [("one_client", 1), ("loaded", params.workers.max(1))] {
                let make_loaded = loaded.clone();
                let limit = params.limit;
                let cpu_sample = CpuSample::now(&pids);
                let outcome = runtime.block_on(load::run(
                    &base,
                    workers,
                    Duration::from_secs_f64(params.seconds),
                    params.max_requests,
                    Arc::new(move |number| request(kind, &make_loaded.pick(number), limit, number)),
                    Arc::new(move |_, status, body| check(kind, status, body)),
                ))?;
                let cpu = cpu_sample.elapsed();
                let summary = outcome.latencies.summary();
                let per_s = per_second(outcome.requests, outcome.elapsed);
                reporter.say(format!(
                    "  {kind:<18} {label:<10} ({workers:>2} clients): {per_s:>8.0} req/s, {summary}; {} hits, {} empty, {} wrong; others {:.0} %",
                    outcome.hits,
                    outcome.misses,
                    outcome.wrong,
                    100.0 * cpu.others_share()
                ));
                if let Some(wrong) = &outcome.first_wrong {
                    reporter.say(format!("    first wrong answer: {wrong}"));
                }
                figures[label] = json!({
                    "clients": workers,
                    "requests": outcome.requests,
                    "requests_per_s": round(per_s, 1),
                    "latency": summary.to_json(),
                    "hits": outcome.hits,
                    "empty": outcome.misses,
                    "wrong": outcome.wrong,
                    "busy_cores": round(cpu.busy_cores(), 2),
                    "others_cpu_share": round(cpu.others_share(), 3),
                });
            }
            if params.wrk {
                let paths: Vec<String> = (0..crate::wrk::MAX_PATHS as u64)
                    .map(|number| request(kind, &loaded.pick(number), params.limit, number).path)
                    .collect();
                for (label, connections) in
                    [("wrk_one_client", 1), ("wrk_loaded", params.workers.max(1))]
                {
                    let cpu_sample = CpuSample::now(&pids);
                    let run = crate::wrk::run(
                        &base,
                        &paths,
                        connections,
                        Duration::from_secs_f64(params.seconds),
                        &root,
                    )?;
                    let cpu = cpu_sample.elapsed();
                    reporter.say(format!(
                        "  {kind:<18} {label:<14} ({connections:>2} conns): {}; others {:.0} %",
                        run.summary(),
                        100.0 * cpu.others_share()
                    ));
                    figures[label] = run.to_json();
                }
            }
            lines.push(json!({"kind": kind, "figures": figures}));
        }
        Ok(lines)
    };
    let lines = run_kinds();
    let sampled = match &lines {
        Ok(_) => runtime.block_on(sample_searches(params, &loaded, &base)),
        Err(_) => Ok(Vec::new()),
    };
    let (memory, memory_of) = node.memory();
    let stopped = node.stop();
    let lines = lines?;
    let sampled = sampled?;
    stopped?;
    let checked = if sampled.is_empty() {
        None
    } else {
        let started = Instant::now();
        let (verdicts, scanned, first_wrong) = query_check::compare(&files.data_dir(), &sampled)?;
        let mut kinds: Vec<_> = verdicts.into_iter().collect();
        kinds.sort_by_key(|(kind, _)| KINDS.iter().position(|known| known == kind));
        for (kind, verdict) in &kinds {
            reporter.say(format!(
                "  brute force, {kind:<18}: {} searches, {} exactly the scan's set, {} cut at the bound and consistent, {} wrong ({} rights answered, {} expected, {} pages)",
                verdict.searches,
                verdict.exact,
                verdict.truncated_consistent,
                verdict.wrong,
                verdict.rights_answered,
                verdict.rights_expected,
                verdict.pages
            ));
        }
        if let Some(wrong) = &first_wrong {
            reporter.say(format!("    first wrong search: {wrong}"));
        }
        let wrong: usize = kinds.iter().map(|(_, verdict)| verdict.wrong).sum();
        reporter.say(format!(
            "  brute force: {scanned} rights scanned in {:.1} s; {wrong} wrong searches",
            started.elapsed().as_secs_f64()
        ));
        Some(json!({
            "rights_scanned": scanned,
            "wrong_searches": wrong,
            "first_wrong": first_wrong,
            "kinds": kinds
                .into_iter()
                .map(|(kind, verdict)| (kind.to_owned(), verdict.to_json()))
                .collect::<serde_json::Map<_, _>>(),
        }))
    };
    let disk_after_queries = dir_size(&files.data_dir());
    let rss = memory.map_or(0, |memory| memory.rss_bytes);
    let peak = memory.map_or(0, |memory| memory.peak_rss_bytes);
    reporter.say(format!(
        "  store on disk {:.0} MiB ({:.0} bytes per right); RSS of the {memory_of}: {:.0} MiB now, {:.0} MiB peak",
        mib(disk_after_queries),
        disk_after_queries as f64 / entries.max(1) as f64,
        mib(rss),
        mib(peak)
    ));
    let parameters = json!({
        "rights": entries,
        "authors": loaded.offices.len(),
        "seconds": params.seconds,
        "workers": params.workers,
        "limit": params.limit,
        "sync_writes": sync_writes,
    });
    load_figures["disk_bytes"] = json!(disk_after_queries);
    load_figures["disk_bytes_per_right"] =
        json!(round(disk_after_queries as f64 / entries.max(1) as f64, 1));
    load_figures["rss_bytes"] = json!(rss);
    load_figures["peak_rss_bytes"] = json!(peak);
    load_figures["rss_of"] = json!(memory_of);
    load_figures["store_reused"] = json!(reused);
    if let Some(checked) = checked {
        load_figures["brute_force"] = checked;
    }
    reporter.result(
        "query",
        json!({"rights": entries, "authors": loaded.offices.len(), "sync_writes": sync_writes, "part": "load"}),
        load_figures,
    )?;
    for line in lines {
        let mut line_parameters = parameters.clone();
        line_parameters["kind"] = line["kind"].clone();
        reporter.result("query", line_parameters, line["figures"].clone())?;
    }
    Ok(())
}

/// Pages through `params.check_searches` searches of each search kind on the node at `base`.
async fn sample_searches(
    params: &Params,
    loaded: &Loaded,
    base: &str,
) -> anyhow::Result<Vec<query_check::Sampled>> {
    let client = reqwest::Client::new();
    let mut sampled = Vec::new();
    for kind in KINDS.into_iter().filter(|kind| *kind != "right_by_id") {
        for index in 0..params.check_searches as u64 {
            // Numbers the timed runs do not start from.
            let number = 0x5eed_0000_0000 + index * 7_919;
            let registration = loaded.pick(number);
            let path = request(kind, &registration, query_check::PAGE, number).path;
            sampled.push(query_check::collect(&client, base, kind, &registration, path).await?);
        }
    }
    Ok(sampled)
}

/// The marker a finished load leaves in the `--store` directory.
const LOADED_MARKER: &str = "loaded.json";

/// The load figures recorded by an earlier run that loaded `wanted` into `data_dir`, or `None`
/// when there is no such store yet. A directory holding a store without a marker (a load cut
/// short, or files of something else) is refused rather than loaded into again.
fn reusable_load(marker: &Path, data_dir: &Path, wanted: &Value) -> anyhow::Result<Option<Value>> {
    let Ok(bytes) = std::fs::read(marker) else {
        if data_dir.join("CURRENT").exists() {
            anyhow::bail!(
                "{} holds a store with no finished load (no {LOADED_MARKER}): give an empty directory",
                data_dir.display()
            );
        }
        return Ok(None);
    };
    let recorded: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", marker.display()))?;
    if &recorded["load"] != wanted {
        anyhow::bail!(
            "the store in {} was loaded with {}, not {wanted}: give another directory",
            data_dir.display(),
            recorded["load"]
        );
    }
    Ok(Some(recorded["figures"].clone()))
}

/// Loads `params.rights` registrations into the store of `files` through the bulk ingest path,
/// one bounded chunk at a time, compacts it fully and reports the load: its figures.
fn load_store(
    params: &Params,
    runtime: &tokio::runtime::Runtime,
    files: &NodeFiles,
    trust: rightsnet_node::trust::TrustStore,
    reporter: &mut Reporter<'_>,
) -> anyhow::Result<Value> {
    let sync_writes = !params.no_sync;
    let loader = Loader::open(&files.data_dir(), trust, sync_writes)?;
    let mut feeds: Vec<Feed> = Office::set("query-author", params.authors.max(1))
        .into_iter()
        .map(Feed::new)
        .collect();
    let load = bulk_load(
        runtime,
        &loader.ingest,
        &mut feeds,
        params.rights,
        params.chunk,
        Source::Sync,
    )?;
    // Disk per registration is measured after a full compaction (issue 14).
    let compacted = super::store_size::compact(&loader.store)?;
    // The peak of this process so far: the node library loading (writer, RocksDB, the block
    // cache) plus the generator's bounded chunks — what a node that loads this register holds.
    let load_peak = crate::cluster::Memory::of(None).map_or(0, |memory| memory.peak_rss_bytes);
    let closing = Instant::now();
    loader.close()?;
    let closed_in = closing.elapsed();
    let disk_after_load = dir_size(&files.data_dir());
    let ingest_per_s = per_second(load.entries, load.ingesting);
    reporter.say(format!(
        "query: {} registrations ({:.0} MiB signed) from {} offices loaded in bulk at {:.1} k/s ({:.1} s; generating {:.1} s; final flush {:.1} s); store {:.0} MiB on disk",
        load.entries,
        mib(load.bytes),
        feeds.len(),
        ingest_per_s / 1000.0,
        load.ingesting.as_secs_f64(),
        load.generating.as_secs_f64(),
        closed_in.as_secs_f64(),
        mib(disk_after_load)
    ));
    reporter.say(format!(
        "  after a full compaction ({:.1} s): {:.0} bytes per right on disk; table files per right: {}; peak RSS of the loading process (node library and generator) {:.0} MiB",
        compacted.seconds,
        disk_after_load as f64 / load.entries.max(1) as f64,
        compacted.per_entry_line(load.entries),
        mib(load_peak)
    ));
    Ok(json!({
        "rights_loaded": load.entries,
        "ingest_per_s": round(ingest_per_s, 0),
        "ingest_seconds": round(load.ingesting.as_secs_f64(), 3),
        "generate_seconds": round(load.generating.as_secs_f64(), 3),
        "signed_bytes": load.bytes,
        "disk_bytes_after_load": disk_after_load,
        "disk_bytes_per_right_after_load": round(disk_after_load as f64 / load.entries.max(1) as f64, 1),
        "compaction_s": round(compacted.seconds, 2),
        "load_peak_rss_bytes": load_peak,
        "family_bytes": compacted.families_json(),
    }))
}
