//! `transparency`: the cost of every feed being a verifiable log (issue 13).
//!
//! 1. **Proofs at scale.** A tree of `--leaves` leaves (10 M by default) is built in a fresh
//!    store through the writer's own code (`StagedTree`, 4 096 leaves per commit; the leaves are
//!    synthetic 600-byte records, since only their hashes enter the tree), a checkpoint of it is
//!    signed and cosigned by three witnesses, and `--proofs` inclusion proofs at random indexes
//!    are computed from the store as the node's proof route does (one `multi_get` of stored
//!    nodes), each wrapped into its C2SP tlog-proof text: latency p50/p99 and the largest proof
//!    in bytes. Hash tiles are read from the store the same way (one range scan each).
//! 2. The HTTP side (tile GETs per second, proof latency through the API) runs against a node
//!    process.

use std::time::Instant;

use anyhow::Context;
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::checkpoint::{cosignature, sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::keys::SecretKey;
use proto_types::note::Note;
use proto_types::tlog::{self, TILE_WIDTH, TileId};
use rightsnet_node::storage::{StagedTree, Store};
use serde_json::json;

use crate::fixtures::{mix, seed};
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
}

impl Default for Params {
    fn default() -> Self {
        Self {
            leaves: 10_000_000,
            proofs: 20_000,
            tiles: 20_000,
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

/// Runs the scenario.
pub fn run(params: &Params, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
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
        "  tree: {} leaves in {:.1} s ({:.0} leaves/s), store {:.0} MB ({:.0} bytes per leaf)",
        size,
        build.as_secs_f64(),
        per_second(size, build),
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
        json!({"leaves": size, "proofs": params.proofs, "tiles": params.tiles}),
        json!({
            "tree_build_leaves_per_s": round(per_second(size, build), 0),
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
