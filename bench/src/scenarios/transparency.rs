//! `transparency`: the cost of every feed being a verifiable log (issue 13).
//!
//! 1. **Proofs at scale.** A tree of `--leaves` leaves (10 M by default) is built in a fresh
//!    store through the writer's own code (`StagedTree`, 4 096 leaves per commit; the leaves are
//!    synthetic 600-byte records, since only their hashes enter the tree), a checkpoint of it is
//!    signed and cosigned by three witnesses, and `--proofs` inclusion proofs at random indexes
//!    are computed from the store as the node's proof route does (one `multi_get` of stored
//!    nodes), each wrapped into its C2SP tlog-proof text: latency p50/p99 and the largest proof
//!    in bytes. Hash tiles are read from the store the same way (one range scan each).
//! 2. **Over HTTP** (unless `--skip-http`). A foreign office's feed of `--http-entries`
//!    registrations is loaded through the ingest path into a node's store, a checkpoint of it is
//!    signed with the office's key and submitted to the node's witness (`POST
//!    /v1/witness/add-checkpoint`, which stores it), and the node is started in its own process
//!    (in process for the smoke test). Then full hash tiles (`GET /v1/feeds/{did}/tile/0/{N}`)
//!    at random are fetched by `--workers` clients for `--seconds`: requests per second, p50 and
//!    p99; and inclusion proofs (`GET /v1/entries/{id}/proof`) at random entries by one client:
//!    p50, p99 and the answer's size. Every answer is checked: a tile against the leaf hashes of
//!    the entries as stored, a proof parsed (its index the entry's) and a sample verified end to
//!    end against the entry's leaf hash.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{cosignature, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::keys::SecretKey;
use proto_types::note::Note;
use proto_types::tlog::{self, TILE_WIDTH, TileId, TreeHash};
use rightsnet_node::ingest::Source;
use rightsnet_node::storage::{StagedTree, Store};
use serde_json::json;

use super::{Loader, bulk_load, runtime};
use crate::cluster::{ApiNode, NodeFiles, NodeMode, write_trust};
use crate::fixtures::{Feed, Office, mix, seed, trust_store};
use crate::load::{self, Check, LoadOutcome, Request};
use crate::report::{Reporter, round};
use crate::stats::{Latencies, per_second};

/// Parameters of the `transparency` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Leaves of the tree the proofs are computed in.
    #[arg(long, default_value_t = 10_000_000)]
    pub leaves: u64,
    /// Inclusion proofs computed (at random indexes).
    #[arg(long, default_value_t = 20_000)]
    pub proofs: usize,
    /// Hash tiles read from the store.
    #[arg(long, default_value_t = 20_000)]
    pub tiles: usize,
    /// Registrations in the foreign office's feed the node serves over HTTP.
    #[arg(long, default_value_t = 100_000)]
    pub http_entries: usize,
    /// Registrations generated and loaded per chunk (bounds memory).
    #[arg(long, default_value_t = 50_000)]
    pub chunk: usize,
    /// Concurrent clients fetching tiles (proofs are timed with one).
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Seconds per HTTP run.
    #[arg(long, default_value_t = 4.0)]
    pub seconds: f64,
    /// At most this many requests per HTTP run (for tiny smoke runs).
    #[arg(long, default_value_t = u64::MAX)]
    pub max_requests: u64,
    /// Measure in process only: no node, no HTTP.
    #[arg(long)]
    pub skip_http: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            leaves: 10_000_000,
            proofs: 20_000,
            tiles: 20_000,
            http_entries: 100_000,
            chunk: 50_000,
            workers: 8,
            seconds: 4.0,
            max_requests: u64::MAX,
            skip_http: false,
        }
    }
}

/// Leaves per commit while building the tree (as a store upgrade builds).
const BUILD_BATCH: u64 = 4096;
/// Witnesses cosigning the bench checkpoint.
const WITNESSES: u8 = 3;

/// A synthetic leaf of about an entry's size, different for every index.
fn leaf_data(index: u64) -> Vec<u8> {
    let mut data = vec![0u8; 600];
    for (chunk, word) in data.chunks_mut(8).zip(0u64..) {
        chunk.copy_from_slice(&mix(index ^ (word << 40)).to_be_bytes()[..chunk.len()]);
    }
    data
}

/// Proofs whose answers are verified end to end (the rest are parsed and their index checked).
const VERIFIED_PROOFS: u64 = 256;
/// Distinct entries the proof requests pick from.
const PROOF_TARGETS: u64 = 4096;

/// Runs the scenario: in process, then over HTTP against a node in `mode` (unless
/// `--skip-http`).
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    in_process(params, reporter)?;
    if !params.skip_http {
        over_http(params, mode, reporter)?;
    }
    Ok(())
}

/// Part 1: the tree, proofs and tiles in process.
fn in_process(params: &Params, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    anyhow::ensure!(params.leaves >= 1, "--leaves must be at least 1");
    let directory = tempfile::tempdir()?;
    let log_key = SecretKey::from_seed(&seed("transparency-log", 0));
    let author = log_key.public_key();
    let (store, writer) = Store::open(directory.path()).context("opening the store")?;

    // 1. The tree, through the writer's code.
    reporter.say(format!(
        "transparency: building a tree of {} leaves in a fresh store",
        params.leaves
    ));
    let started = Instant::now();
    let mut next = 0u64;
    while next < params.leaves {
        let end = (next + BUILD_BATCH).min(params.leaves);
        let mut staged = StagedTree::default();
        let mut batch = writer.batch();
        for index in next..end {
            staged.append(&store, &mut batch, &author, index + 1, &leaf_data(index))?;
        }
        writer.commit(batch, false)?;
        next = end;
    }
    let build = started.elapsed();
    // A node's tree grows over months and RocksDB keeps it compacted; a bulk build leaves many
    // overlapping files, so compact first and measure the steady state.
    let compacting = Instant::now();
    writer.compact_trees();
    let compacted = compacting.elapsed();
    let size = params.leaves;
    let root = store.tree_root(&author, size)?;

    // The checkpoint every proof is relative to, with three cosignatures.
    let mut note = Note::parse(&sign_feed_checkpoint(&log_key, size, &root))?;
    let checkpoint = verify_feed_checkpoint(&note.to_text())?;
    for witness in 0..WITNESSES {
        let key = SecretKey::from_seed(&seed("transparency-witness", u64::from(witness)));
        note.add_signature(cosignature::cosign(&checkpoint, &key, 1_764_547_200)?)?;
    }

    let note_text = note.to_text();

    // 2. Inclusion proofs from the store, wrapped as tlog-proofs.
    let mut latencies = Latencies::new();
    let mut largest_proof = 0usize;
    let mut hashes = 0usize;
    for probe in 0..params.proofs {
        let index = mix(probe as u64 ^ 0x7072_6f6f) % size;
        let started = Instant::now();
        let path = tlog::inclusion_proof(index, size, &mut store.tree_reader(&author))?;
        let text = TlogProof::new(None, index, path, &note_text)?.to_text();
        latencies.push(started.elapsed());
        largest_proof = largest_proof.max(text.len());
        if probe < 16 {
            // A few are verified end to end, so the figures are of real proofs.
            let proof = TlogProof::parse(&text)?;
            proof.verify(&tlog::leaf_hash(&leaf_data(index)))?;
            hashes = hashes.max(proof.inclusion().len());
        }
    }
    let proofs = latencies.summary();

    // 3. Hash tiles from the store.
    let full_tiles = (size / u64::from(TILE_WIDTH)).max(1);
    let started = Instant::now();
    let mut tile_bytes = 0usize;
    for probe in 0..params.tiles {
        let index = mix(probe as u64 ^ 0x7469_6c65) % full_tiles;
        let width = if size >= u64::from(TILE_WIDTH) {
            TILE_WIDTH
        } else {
            size as u16
        };
        let tile = TileId::new(0, index, width)?;
        let nodes = tlog::hash_tile_nodes(&tile);
        let read = store.tree_level(&author, 0, nodes[0].index, nodes.len())?;
        anyhow::ensure!(read.len() == nodes.len(), "tile {} is short", tile.path());
        tile_bytes += tlog::encode_hash_tile(&read).len();
    }
    let tiles = started.elapsed();
    let store_bytes = store.estimated_size_bytes();
    drop((store, writer));

    reporter.say(format!(
        "  tree: {} leaves in {:.1} s ({:.0} leaves/s; then compacted in {:.1} s), store {:.0} MB ({:.0} bytes per leaf)",
        size,
        build.as_secs_f64(),
        per_second(size, build),
        compacted.as_secs_f64(),
        store_bytes as f64 / 1e6,
        store_bytes as f64 / size as f64
    ));
    reporter.say(format!(
        "  inclusion proofs from the store: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {}; inclusion path {} hashes = {} bytes (aim ≤ 1 KB, p99 < 2 ms); the whole tlog-proof text, with its checkpoint and {} cosignatures, {} bytes at most",
        proofs.p50_ms, proofs.p99_ms, proofs.max_ms, proofs.count, hashes, hashes * 32, WITNESSES, largest_proof
    ));
    reporter.say(format!(
        "  hash tiles from the store: {:.0} per second ({} of {} bytes each)",
        per_second(params.tiles as u64, tiles),
        params.tiles,
        tile_bytes / params.tiles.max(1)
    ));
    reporter.result(
        "transparency",
        json!({"leaves": size, "proofs": params.proofs, "tiles": params.tiles, "part": "in_process"}),
        json!({
            "tree_build_leaves_per_s": round(per_second(size, build), 0),
            "tree_compaction_s": round(compacted.as_secs_f64(), 1),
            "store_bytes_per_leaf": round(store_bytes as f64 / size as f64, 1),
            "proof_from_store": proofs.to_json(),
            "largest_proof_bytes": largest_proof,
            "proof_hashes": hashes,
            "inclusion_path_bytes": hashes * 32,
            "tile_reads_per_s": round(per_second(params.tiles as u64, tiles), 0),
        }),
    )?;
    Ok(())
}

/// What the HTTP half needs to know of the loaded feed.
struct Served {
    /// The feed's did:key.
    did: String,
    /// Entries in the feed.
    size: u64,
    /// Every entry's leaf hash, from its canonical bytes as stored (index = seq − 1).
    leaves: Vec<TreeHash>,
    /// `(entry id, leaf index)` of the entries the proof requests pick from.
    targets: Vec<(String, u64)>,
    /// The checkpoint note the bench signed as the office.
    note: String,
}

/// Part 2: a node serving the office's feed; tiles and proofs over HTTP.
fn over_http(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    anyhow::ensure!(
        params.http_entries >= 1,
        "--http-entries must be at least 1"
    );
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;
    let node_office = Office::new("transparency-node", 7);
    let office = Office::new("transparency-office", 3);
    let trust = || trust_store(vec![node_office.authority()?, office.authority()?]);
    let trust_path = directory.path().join("trust.toml");
    write_trust(&trust_path, &trust()?)?;
    let files = NodeFiles::create(directory.path().join("node"), &node_office.key)?;

    // The office's feed, through the ingest path in bounded chunks.
    reporter.say(format!(
        "transparency over HTTP: loading {} registrations of one office into a node's store",
        params.http_entries
    ));
    let loader = Loader::open(&files.data_dir(), trust()?, false)?;
    let mut feeds = vec![Feed::new(office)];
    let load = bulk_load(
        &runtime,
        &loader.ingest,
        &mut feeds,
        params.http_entries,
        params.chunk,
        Source::Sync,
    )?;
    let office_key = &feeds[0].office.key;
    let author = office_key.public_key();
    let size = load.entries;
    let served = {
        let store = &loader.store;
        let mut leaves = Vec::with_capacity(size as usize);
        let mut ids = Vec::with_capacity(size as usize);
        for seq in 1..=size {
            let id = store
                .entry_id_at(&author, seq)?
                .with_context(|| format!("entry {seq} is not stored"))?;
            let bytes = store
                .entry_bytes(&id)?
                .with_context(|| format!("entry {id} has no bytes"))?;
            leaves.push(tlog::leaf_hash(&bytes));
            ids.push(id);
        }
        let root = store.tree_root(&author, size)?;
        let targets = (0..PROOF_TARGETS.min(size))
            .map(|probe| {
                let index = mix(probe ^ 0x6874_7470) % size;
                (ids[index as usize].to_string(), index)
            })
            .collect();
        Served {
            did: author.to_did_key(),
            size,
            leaves,
            targets,
            note: sign_feed_checkpoint(office_key, size, &root),
        }
    };
    loader.close()?;

    let node = ApiNode::start(
        mode,
        files.config(&trust_path, &[], false, None)?,
        super::cores(),
    )?;
    let base = node.base_url();
    let measured = measure(params, &runtime, &base, Arc::new(served));
    let stopped = node.stop();
    let (tiles, proofs, largest_proof, proof_hashes) = measured?;
    stopped?;

    let tile_summary = tiles.latencies.summary();
    let tiles_per_s = per_second(tiles.requests, tiles.elapsed);
    let proof_summary = proofs.latencies.summary();
    reporter.say(format!(
        "  hash tiles over HTTP (full, {} bytes; {} clients): {:.0} req/s (aim ≥ 20 000), {}; {} right, {} wrong",
        usize::from(TILE_WIDTH) * 32,
        params.workers.max(1),
        tiles_per_s,
        tile_summary,
        tiles.hits,
        tiles.wrong
    ));
    if let Some(wrong) = &tiles.first_wrong {
        reporter.say(format!("    first wrong tile: {wrong}"));
    }
    reporter.say(format!(
        "  inclusion proofs over HTTP (one client, {} entries): {}; inclusion path {} hashes = {} bytes (aim ≤ 1 KB, p99 < 2 ms), the whole tlog-proof answer with its checkpoint and the node's cosignature {} bytes at most; {} right ({} verified end to end), {} wrong",
        size,
        proof_summary,
        proof_hashes,
        proof_hashes * 32,
        largest_proof,
        proofs.hits,
        proofs.hits.min(VERIFIED_PROOFS),
        proofs.wrong
    ));
    if let Some(wrong) = &proofs.first_wrong {
        reporter.say(format!("    first wrong proof: {wrong}"));
    }
    reporter.result(
        "transparency",
        json!({
            "http_entries": size,
            "workers": params.workers.max(1),
            "seconds": params.seconds,
            "part": "http",
        }),
        json!({
            "tiles": {
                "clients": params.workers.max(1),
                "requests": tiles.requests,
                "requests_per_s": round(tiles_per_s, 1),
                "latency": tile_summary.to_json(),
                "right": tiles.hits,
                "wrong": tiles.wrong,
            },
            "proofs": {
                "clients": 1,
                "requests": proofs.requests,
                "requests_per_s": round(per_second(proofs.requests, proofs.elapsed), 1),
                "latency": proof_summary.to_json(),
                "largest_proof_bytes": largest_proof,
                "proof_hashes": proof_hashes,
                "inclusion_path_bytes": proof_hashes * 32,
                "right": proofs.hits,
                "wrong": proofs.wrong,
            },
        }),
    )?;
    anyhow::ensure!(
        tiles.wrong == 0 && proofs.wrong == 0,
        "wrong answers over HTTP (tiles {}, proofs {})",
        tiles.wrong,
        proofs.wrong
    );
    Ok(())
}

/// Submits the office's checkpoint to the node's witness, then runs the tile and proof loads;
/// returns their outcomes, the largest proof in bytes and the longest inclusion path in hashes.
fn measure(
    params: &Params,
    runtime: &tokio::runtime::Runtime,
    base: &str,
    served: Arc<Served>,
) -> anyhow::Result<(LoadOutcome, LoadOutcome, usize, usize)> {
    runtime.block_on(submit_checkpoint(base, &served.note))?;
    let duration = Duration::from_secs_f64(params.seconds);

    // (a) Full hash tiles at random, several clients.
    let full_tiles = served.size / u64::from(TILE_WIDTH);
    let tiles = if full_tiles == 0 {
        LoadOutcome::default()
    } else {
        let make_served = served.clone();
        let check_served = served.clone();
        let tile_at = move |number: u64| mix(number ^ 0x7469_6c65) % full_tiles;
        runtime.block_on(load::run(
            base,
            params.workers.max(1),
            duration,
            params.max_requests,
            Arc::new(move |number| {
                let tile = TileId::new(0, tile_at(number), TILE_WIDTH)
                    .expect("a full level-0 tile is valid");
                Request::get(format!("/v1/feeds/{}/{}", make_served.did, tile.path()))
            }),
            Arc::new(move |number, status, body| {
                let first = (tile_at(number) * u64::from(TILE_WIDTH)) as usize;
                let expected = &check_served.leaves[first..first + usize::from(TILE_WIDTH)];
                let right = status == 200
                    && body.len() == expected.len() * 32
                    && body
                        .chunks(32)
                        .zip(expected)
                        .all(|(got, leaf)| got == leaf.0.as_slice());
                if right { Check::Hit } else { Check::Wrong }
            }),
        ))?
    };

    // (b) Inclusion proofs at random entries, one client.
    let largest = Arc::new(AtomicUsize::new(0));
    let make_served = served.clone();
    let check_served = served;
    let check_largest = largest.clone();
    let hashes = Arc::new(AtomicUsize::new(0));
    let check_hashes = hashes.clone();
    let proofs = runtime.block_on(load::run(
        base,
        1,
        duration,
        params.max_requests,
        Arc::new(move |number| {
            let (id, _) =
                &make_served.targets[(number % make_served.targets.len() as u64) as usize];
            Request::get(format!("/v1/entries/{id}/proof"))
        }),
        Arc::new(move |number, status, body| {
            let (_, index) =
                check_served.targets[(number % check_served.targets.len() as u64) as usize];
            if status != 200 {
                return Check::Wrong;
            }
            let Ok(proof) = TlogProof::parse_bytes(body) else {
                return Check::Wrong;
            };
            check_largest.fetch_max(body.len(), Ordering::Relaxed);
            check_hashes.fetch_max(proof.inclusion().len(), Ordering::Relaxed);
            if proof.index() != index {
                return Check::Wrong;
            }
            if number < VERIFIED_PROOFS {
                match proof.verify(&check_served.leaves[index as usize]) {
                    Ok(verified)
                        if verified.checkpoint().checkpoint().size() == check_served.size => {}
                    _ => return Check::Wrong,
                }
            }
            Check::Hit
        }),
    ))?;
    Ok((
        tiles,
        proofs,
        largest.load(Ordering::Relaxed),
        hashes.load(Ordering::Relaxed),
    ))
}

/// `POST /v1/witness/add-checkpoint` with `old 0` and `note`; retries while the node answers
/// 503 (it does not hold the feed to that size yet), for at most 30 s.
async fn submit_checkpoint(base: &str, note: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .post(format!("{base}/v1/witness/add-checkpoint"))
            .header("content-type", "text/plain")
            .body(format!("old 0\n\n{note}"))
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        match status {
            200 => return Ok(()),
            503 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => anyhow::bail!("the node refused the office's checkpoint: {status}: {body}"),
        }
    }
}
