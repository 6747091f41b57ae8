//! `ingest`: N pre-generated signed registrations from several authors pushed through the real
//! ingest path (decode, trust, strict verification, chain check, the fold of the right, every
//! index, one RocksDB `WriteBatch` per group), next to the raw Ed25519 verification rate of the
//! same cores measured in the same run, single and batch.
//!
//! The machine is shared and its load changes within a run, so raw verification is measured in
//! short bursts between the ingest submissions and the ratio compares rates measured side by
//! side; CPU time per entry and per signature (which other processes barely change) is
//! reported too, with the share of the machine other processes used.
//!
//! Two paths are measured on fresh stores: the bulk path ([`Ingest::submit_many_bytes`]:
//! imports, catch-up) and the one-entry-at-a-time path ([`Ingest::submit_bytes`], as gossip
//! and the API use it) with 256 entries in flight.
//!
//! [`Ingest::submit_many_bytes`]: rightsnet_node::ingest::Ingest::submit_many_bytes
//! [`Ingest::submit_bytes`]: rightsnet_node::ingest::Ingest::submit_bytes

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::Context;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use proto_types::entry::Entry;
use rayon::prelude::*;
use rightsnet_node::ingest::Source;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use super::{Loader, Outcomes, runtime, stored_entries};
use crate::cluster::{dir_size, mib};
use crate::cpu::{CpuSample, CpuUse};
use crate::fixtures::{Feed, Office, registrations_chunk, spread, trust_store};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `ingest` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Signed entries pushed through the ingest path.
    #[arg(long, default_value_t = 200_000)]
    pub entries: usize,
    /// Authors (offices) the entries come from.
    #[arg(long, default_value_t = 8)]
    pub authors: usize,
    /// Entries per bulk submission; a verification burst runs between submissions.
    #[arg(long, default_value_t = 16_384)]
    pub batch: usize,
    /// Signatures per raw-verification burst.
    #[arg(long, default_value_t = 8_192)]
    pub verify_sample: usize,
    /// Entries in flight on the one-at-a-time path.
    #[arg(long, default_value_t = 256)]
    pub in_flight: usize,
    /// Skip the one-at-a-time path.
    #[arg(long)]
    pub bulk_only: bool,
    /// Acknowledge writes before the write-ahead log is synced (nodes sync by default).
    #[arg(long)]
    pub no_sync: bool,
    /// After the bulk path, recompress its store with every codec and report each column
    /// family's size (issue 14's measurement of compression).
    #[arg(long)]
    pub compare_codecs: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            entries: 200_000,
            authors: 8,
            batch: 16_384,
            verify_sample: 8_192,
            in_flight: 256,
            bulk_only: false,
            no_sync: false,
            compare_codecs: false,
        }
    }
}

/// One burst of raw Ed25519 verification.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRates {
    /// `verify_strict` one by one on every core, signatures per second.
    pub single: f64,
    /// `proto_types::verify_many` (what the ingest path runs: `verify_strict`'s verdicts
    /// without decompressing `R`) one by one on every core, signatures per second.
    pub exact: f64,
    /// CPU microseconds per signature of `verify_many`.
    pub exact_cpu_us: f64,
    /// One thread, CPU microseconds per signature: `verify_strict`.
    pub single_thread_cpu_us: f64,
    /// One thread, CPU microseconds per signature: an *exact* batch equation (fresh OS
    /// randomness, every `R` shown torsion-free by `[ℓ]R = 0`, keys aggregated per author,
    /// 512 per batch); measured, not used (docs/perf-notes/verify.md).
    pub exact_batch_thread_cpu_us: f64,
    /// One thread, CPU microseconds per point: the vartime `[ℓ]R = 0` check alone.
    pub torsion_check_thread_cpu_us: f64,
    /// `verify_batch` of 64 on every core, signatures per second.
    pub batch: f64,
    /// `verify_strict` on one thread, signatures per second.
    pub single_one_thread: f64,
    /// `verify_batch` on one thread, signatures per second.
    pub batch_one_thread: f64,
    /// CPU microseconds per `verify_strict`.
    pub single_cpu_us: f64,
    /// CPU microseconds per signature in `verify_batch`.
    pub batch_cpu_us: f64,
    /// Share of the machine other processes used during the burst.
    pub others_share: f64,
}

impl RawRates {
    fn mean(bursts: &[RawRates]) -> Self {
        let count = bursts.len().max(1) as f64;
        let sum = |field: fn(&RawRates) -> f64| bursts.iter().map(field).sum::<f64>() / count;
        Self {
            single: sum(|rates| rates.single),
            exact: sum(|rates| rates.exact),
            exact_cpu_us: sum(|rates| rates.exact_cpu_us),
            single_thread_cpu_us: sum(|rates| rates.single_thread_cpu_us),
            exact_batch_thread_cpu_us: sum(|rates| rates.exact_batch_thread_cpu_us),
            torsion_check_thread_cpu_us: sum(|rates| rates.torsion_check_thread_cpu_us),
            batch: sum(|rates| rates.batch),
            single_one_thread: sum(|rates| rates.single_one_thread),
            batch_one_thread: sum(|rates| rates.batch_one_thread),
            single_cpu_us: sum(|rates| rates.single_cpu_us),
            batch_cpu_us: sum(|rates| rates.batch_cpu_us),
            others_share: sum(|rates| rates.others_share),
        }
    }

    fn to_json(self) -> Value {
        json!({
            "single_per_s": round(self.single, 0),
            "batch_per_s": round(self.batch, 0),
            "single_one_thread_per_s": round(self.single_one_thread, 0),
            "batch_one_thread_per_s": round(self.batch_one_thread, 0),
            "single_cpu_us": round(self.single_cpu_us, 2),
            "batch_cpu_us": round(self.batch_cpu_us, 2),
            "verify_many_per_s": round(self.exact, 0),
            "verify_many_cpu_us": round(self.exact_cpu_us, 2),
            "one_thread_cpu_us": {
                "verify_strict": round(self.single_thread_cpu_us, 2),
                "exact_batch_512": round(self.exact_batch_thread_cpu_us, 2),
                "torsion_check": round(self.torsion_check_thread_cpu_us, 2),
            },
        })
    }
}

/// A decoded entry with its signed message, signature and key, for raw verification.
pub struct Sample {
    message: Vec<u8>,
    signature: Signature,
    key: VerifyingKey,
    entry: Entry,
}

fn sample_of(entries: &[Vec<u8>], size: usize) -> anyhow::Result<Vec<Sample>> {
    entries
        .iter()
        .take(size.max(256))
        .map(|bytes| {
            let entry = Entry::decode(bytes)?;
            Ok(Sample {
                message: entry.signing_message()?,
                signature: *entry.signature().as_dalek(),
                key: *entry.author().as_dalek(),
                entry,
            })
        })
        .collect()
}

fn verify_batch(chunk: &[Sample]) -> bool {
    let messages: Vec<&[u8]> = chunk
        .iter()
        .map(|sample| sample.message.as_slice())
        .collect();
    let signatures: Vec<Signature> = chunk.iter().map(|sample| sample.signature).collect();
    let keys: Vec<VerifyingKey> = chunk.iter().map(|sample| sample.key).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// Whether `[ℓ]R` is the identity (R torsion-free), by a variable-time multiplication: `[ℓ − 1]R
/// + R`, since ℓ itself is no reduced scalar.
fn torsion_free(point: &EdwardsPoint) -> bool {
    let minus_one = -Scalar::ONE;
    (EdwardsPoint::vartime_double_scalar_mul_basepoint(&minus_one, point, &Scalar::ZERO) + point)
        .is_identity()
}

/// The exact batch equation this bench measures against `verify_strict` (the node does not
/// use it: it is no cheaper, see docs/perf-notes/verify.md). Every `R` canonically encoded,
/// not the identity and torsion-free (`[ℓ]R = 0`), `S` canonical, then one check of
/// `Σ zᵢ(Rᵢ − [Sᵢ]B + [kᵢ]Aᵢ) = 0` with 128-bit `zᵢ` from the operating system's random
/// source, the `A` terms summed per author. With every term in the prime-order subgroup (keys
/// of honest authors are; a node would classify each key once), a wrong signature passes with
/// probability below 2⁻¹²⁸, whatever the signer ground.
fn exact_batch(chunk: &[Sample]) -> bool {
    let mut scalars = Vec::with_capacity(chunk.len() + 9);
    let mut points = Vec::with_capacity(chunk.len() + 9);
    let mut basepoint = Scalar::ZERO;
    let mut per_author: std::collections::HashMap<[u8; 32], (Scalar, EdwardsPoint)> =
        std::collections::HashMap::new();
    for sample in chunk {
        let signature = sample.signature.to_bytes();
        let (r_bytes, s_bytes) = signature.split_at(32);
        let (Ok(r_bytes), Ok(s_bytes)) =
            (<[u8; 32]>::try_from(r_bytes), <[u8; 32]>::try_from(s_bytes))
        else {
            return false;
        };
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        if !proto_types::keys::is_canonical_encoding(&r_bytes) {
            return false;
        }
        let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
            return false;
        };
        if r.is_identity() || !torsion_free(&r) {
            return false;
        }
        let mut hasher = Sha512::new();
        hasher.update(r_bytes);
        hasher.update(sample.key.as_bytes());
        hasher.update(&sample.message);
        let Ok(digest) = <[u8; 64]>::try_from(hasher.finalize().as_slice()) else {
            return false;
        };
        let k = Scalar::from_bytes_mod_order_wide(&digest);
        let z = Scalar::from(rand::random::<u128>());
        basepoint -= z * s;
        let author = per_author
            .entry(sample.key.to_bytes())
            .or_insert((Scalar::ZERO, sample.key.to_edwards()));
        author.0 += z * k;
        scalars.push(z);
        points.push(r);
    }
    scalars.push(basepoint);
    points.push(ED25519_BASEPOINT_POINT);
    for (coefficient, point) in per_author.into_values() {
        scalars.push(coefficient);
        points.push(point);
    }
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

/// Times `work` over `count` signatures: (per second, CPU microseconds each, CPU use).
fn burst(count: usize, work: impl FnOnce() -> bool) -> anyhow::Result<(f64, f64, CpuUse)> {
    let sample = CpuSample::now(&[]);
    let started = Instant::now();
    anyhow::ensure!(work(), "a generated signature did not verify");
    let elapsed = started.elapsed();
    let cpu = sample.elapsed();
    Ok((
        per_second(count as u64, elapsed),
        cpu.ours_s * 1e6 / count.max(1) as f64,
        cpu,
    ))
}

/// One burst of raw verification over `sample` (every signature valid).
pub fn raw_rates(sample: &[Sample]) -> anyhow::Result<RawRates> {
    let one_thread = &sample[..sample.len() / 4];
    let strict = |sample: &Sample| {
        sample
            .key
            .verify_strict(&sample.message, &sample.signature)
            .is_ok()
    };
    let exact = |sample: &Sample| proto_types::verify_many::check(&sample.entry).is_ok();
    let (single, single_cpu_us, single_cpu) =
        burst(sample.len(), || sample.par_iter().all(strict))?;
    let (exact_rate, exact_cpu_us, exact_cpu) =
        burst(sample.len(), || sample.par_iter().all(exact))?;
    let (_, single_thread_cpu_us, _) = burst(one_thread.len(), || one_thread.iter().all(strict))?;
    let (_, exact_batch_thread_cpu_us, _) =
        burst(one_thread.len(), || one_thread.chunks(512).all(exact_batch))?;
    let r_points: Vec<EdwardsPoint> = one_thread
        .iter()
        .filter_map(|sample| CompressedEdwardsY(*sample.signature.r_bytes()).decompress())
        .collect();
    let (_, torsion_check_thread_cpu_us, _) =
        burst(r_points.len(), || r_points.iter().all(torsion_free))?;
    let (batch, batch_cpu_us, batch_cpu) =
        burst(sample.len(), || sample.par_chunks(64).all(verify_batch))?;
    let (single_one_thread, _, _) = burst(one_thread.len(), || one_thread.iter().all(strict))?;
    let (batch_one_thread, _, _) =
        burst(one_thread.len(), || one_thread.chunks(64).all(verify_batch))?;
    let mut cpu = single_cpu;
    cpu += batch_cpu;
    cpu += exact_cpu;
    Ok(RawRates {
        single,
        exact: exact_rate,
        exact_cpu_us,
        single_thread_cpu_us,
        exact_batch_thread_cpu_us,
        torsion_check_thread_cpu_us,
        batch,
        single_one_thread,
        batch_one_thread,
        single_cpu_us,
        batch_cpu_us,
        others_share: cpu.others_share(),
    })
}

/// What one ingest path measured.
#[derive(Debug, Clone)]
pub struct PathFigures {
    /// Entries per second, from the first submission to the last reply.
    pub entries_per_s: f64,
    /// Seconds in the ingest path.
    pub seconds: f64,
    /// CPU used meanwhile.
    pub cpu: CpuUse,
    /// Ratios of each submission's rate to the verification bursts around it.
    pub chunk_ratios: Vec<f64>,
    /// Store size on disk afterwards (after a full compaction on the bulk path).
    pub disk_bytes: u64,
}

impl PathFigures {
    fn cpu_us_per_entry(&self, entries: u64) -> f64 {
        self.cpu.ours_s * 1e6 / entries.max(1) as f64
    }
}

fn thousand(rate: f64) -> String {
    format!("{:.1} k/s", rate / 1000.0)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the scenario.
pub fn run(params: &Params, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let cores = super::cores();
    let sync_writes = !params.no_sync;
    let authors = params.authors.max(1);
    let trust = || -> anyhow::Result<_> {
        trust_store(
            Office::set("ingest-author", authors)
                .iter()
                .map(Office::authority)
                .collect::<anyhow::Result<_>>()?,
        )
    };
    let mut feeds: Vec<Feed> = Office::set("ingest-author", authors)
        .into_iter()
        .map(Feed::new)
        .collect();
    let generating = Instant::now();
    let counts = spread(params.entries, feeds.len());
    let entries = registrations_chunk(&mut feeds, &counts)?;
    let generated_in = generating.elapsed();
    let total = entries.len() as u64;
    let bytes: u64 = entries.iter().map(|entry| entry.len() as u64).sum();
    let mean_bytes = bytes as f64 / total.max(1) as f64;
    reporter.say(format!(
        "ingest: {total} signed registrations from {authors} authors, mean {mean_bytes:.0} bytes, generated in {:.1} s; {cores} cores; sync writes {}",
        generated_in.as_secs_f64(),
        if sync_writes { "on" } else { "off" }
    ));
    let sample = sample_of(&entries, params.verify_sample)?;
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;

    // The bulk path, on a fresh store, with a verification burst before every submission.
    let mut bursts = vec![raw_rates(&sample)?];
    let chunks: Vec<Vec<Vec<u8>>> = entries
        .chunks(params.batch.max(1))
        .map(<[_]>::to_vec)
        .collect();
    let bulk_dir = directory.path().join("bulk");
    let loader = Loader::open(&bulk_dir, trust()?, sync_writes)?;
    // The same entries into a store without trees (the baseline of what transparency costs),
    // chunk by chunk beside the real path, alternating which goes first.
    let baseline_dir = directory.path().join("bulk-without-trees");
    let baseline = Loader::open_with(&baseline_dir, trust()?, sync_writes, false)?;
    let mut baseline_elapsed = Duration::ZERO;
    let mut baseline_outcomes = Outcomes::default();
    let mut outcomes = Outcomes::default();
    let mut elapsed = Duration::ZERO;
    let mut cpu = CpuUse::default();
    let mut chunk_ratios = Vec::new();
    for (index, chunk) in chunks.into_iter().enumerate() {
        let count = chunk.len() as u64;
        let mut baseline_chunk = |chunk: Vec<Vec<u8>>| {
            let started = Instant::now();
            let results = runtime.block_on(baseline.ingest.submit_many_bytes(chunk, Source::Sync));
            baseline_elapsed += started.elapsed();
            baseline_outcomes.add(&results);
        };
        // Alternate which store takes the chunk first (the second finds warmer caches).
        let mut copy = Some(chunk.clone());
        if index % 2 == 0
            && let Some(copy) = copy.take()
        {
            baseline_chunk(copy);
        }
        let sample_before = CpuSample::now(&[]);
        let started = Instant::now();
        let results = runtime.block_on(loader.ingest.submit_many_bytes(chunk, Source::Sync));
        let chunk_elapsed = started.elapsed();
        cpu += sample_before.elapsed();
        elapsed += chunk_elapsed;
        outcomes.add(&results);
        let before = bursts.last().map_or(0.0, |rates| rates.single);
        let after = raw_rates(&sample)?;
        chunk_ratios.push(per_second(count, chunk_elapsed) / ((before + after.single) / 2.0));
        bursts.push(after);
        if let Some(copy) = copy.take() {
            baseline_chunk(copy);
        }
    }
    outcomes.ensure_accepted(total)?;
    baseline_outcomes.ensure_accepted(total)?;
    anyhow::ensure!(
        stored_entries(&loader.store)? == total,
        "the bulk path did not store every entry"
    );
    // Disk per registration is measured after a full compaction (issue 14): the steady
    // state, not the bulk load's overlapping files.
    let compacted = super::store_size::compact(&loader.store)?;
    loader.close()?;
    baseline.close()?;
    std::fs::remove_dir_all(&baseline_dir).context("removing the baseline store")?;
    let without_trees = per_second(total, baseline_elapsed);
    let bulk = PathFigures {
        entries_per_s: per_second(total, elapsed),
        seconds: elapsed.as_secs_f64(),
        cpu,
        chunk_ratios,
        disk_bytes: dir_size(&bulk_dir),
    };
    reporter.say(format!(
        "  bulk store after a full compaction ({:.1} s): {:.0} bytes per entry on disk; table files per entry: {}",
        compacted.seconds,
        bulk.disk_bytes as f64 / total.max(1) as f64,
        compacted.per_entry_line(total)
    ));
    if params.compare_codecs {
        let parameters = json!({"entries": total, "authors": authors});
        super::store_size::compare_codecs(&bulk_dir, total, &parameters, reporter)?;
    }
    std::fs::remove_dir_all(&bulk_dir).context("removing the bulk store")?;
    let raw = RawRates::mean(&bursts);

    // The one-at-a-time path, on a fresh store, between two bursts.
    let per_entry = if params.bulk_only {
        None
    } else {
        let before = raw_rates(&sample)?;
        let dir = directory.path().join("per-entry");
        let loader = Loader::open(&dir, trust()?, sync_writes)?;
        let window = params.in_flight.max(1);
        let ingest = loader.ingest.clone();
        let sample_before = CpuSample::now(&[]);
        let started = Instant::now();
        let outcomes = runtime.block_on(async move {
            let mut outcomes = Outcomes::default();
            let mut in_flight = VecDeque::with_capacity(window);
            for bytes in entries {
                let ingest = ingest.clone();
                in_flight.push_back(tokio::spawn(async move {
                    ingest.submit_bytes(bytes, Source::Gossip).await
                }));
                if in_flight.len() >= window {
                    if let Some(task) = in_flight.pop_front() {
                        outcomes.add(&[task.await?]);
                    }
                }
            }
            for task in in_flight {
                outcomes.add(&[task.await?]);
            }
            Ok::<_, anyhow::Error>(outcomes)
        })?;
        // Held-back entries are stored once their gap fills; wait for the last ones.
        let complete = super::wait_until(Duration::from_secs(60), || {
            stored_entries(&loader.store).is_ok_and(|stored| stored == total)
        });
        let elapsed = started.elapsed();
        let cpu = sample_before.elapsed();
        outcomes.ensure_accepted(total)?;
        anyhow::ensure!(complete, "the one-at-a-time path did not store every entry");
        loader.close()?;
        let after = raw_rates(&sample)?;
        let rate = per_second(total, elapsed);
        Some(PathFigures {
            entries_per_s: rate,
            seconds: elapsed.as_secs_f64(),
            cpu,
            chunk_ratios: vec![rate / ((before.single + after.single) / 2.0)],
            disk_bytes: dir_size(&dir),
        })
    };

    let bulk_cpu_us = bulk.cpu_us_per_entry(total);
    reporter.say(format!(
        "  raw Ed25519 verification, {cores} threads, mean of {} bursts: single {}, batch {} (one thread: {}, {}); {:.1} / {:.1} µs of CPU per signature",
        bursts.len(),
        thousand(raw.single),
        thousand(raw.batch),
        thousand(raw.single_one_thread),
        thousand(raw.batch_one_thread),
        raw.single_cpu_us,
        raw.batch_cpu_us
    ));
    reporter.say(format!(
        "  strict verification as ingest runs it (verify_many): {} on {cores} threads, {:.1} µs of CPU per signature; one thread, µs of CPU: verify_strict {:.1}, exact batch of 512 {:.1} (not used), [ℓ]R check {:.1}",
        thousand(raw.exact),
        raw.exact_cpu_us,
        raw.single_thread_cpu_us,
        raw.exact_batch_thread_cpu_us,
        raw.torsion_check_thread_cpu_us
    ));
    reporter.say(format!(
        "  bulk ingest (submit_many_bytes): {} in {:.1} s, {:.0} µs of CPU per entry on {:.2} busy cores — ratio {:.2} of single verification (median per submission {:.2}), {:.2} of batch (aim > 0.5); other processes used {:.0} % of the machine",
        thousand(bulk.entries_per_s),
        bulk.seconds,
        bulk_cpu_us,
        bulk.cpu.busy_cores(),
        bulk.entries_per_s / raw.single,
        median(&bulk.chunk_ratios),
        bulk.entries_per_s / raw.batch,
        100.0 * bulk.cpu.others_share()
    ));
    reporter.say(format!(
        "  the same entries into a store without trees (chunk by chunk, same run): {} — with trees {:.2} of that (aim ≥ 0.9)",
        thousand(without_trees),
        bulk.entries_per_s / without_trees
    ));
    if let Some(per_entry) = &per_entry {
        reporter.say(format!(
            "  one at a time (submit_bytes, {} in flight): {} in {:.1} s, {:.0} µs of CPU per entry — ratio {:.2} of single verification",
            params.in_flight,
            thousand(per_entry.entries_per_s),
            per_entry.seconds,
            per_entry.cpu_us_per_entry(total),
            median(&per_entry.chunk_ratios)
        ));
    }
    reporter.say(format!("  store on disk {:.0} MiB", mib(bulk.disk_bytes)));

    let parameters = json!({
        "entries": total,
        "authors": authors,
        "batch": params.batch,
        "sync_writes": sync_writes,
        "verify_sample": sample.len(),
    });
    let mut bulk_parameters = parameters.clone();
    bulk_parameters["path"] = json!("bulk");
    reporter.result(
        "ingest",
        bulk_parameters,
        json!({
            "entries_per_s": round(bulk.entries_per_s, 0),
            "seconds": round(bulk.seconds, 3),
            "cpu_us_per_entry": round(bulk_cpu_us, 1),
            "busy_cores": round(bulk.cpu.busy_cores(), 2),
            "others_cpu_share": round(bulk.cpu.others_share(), 3),
            "mean_entry_bytes": round(mean_bytes, 0),
            "disk_bytes": bulk.disk_bytes,
            "disk_bytes_per_entry": round(bulk.disk_bytes as f64 / total.max(1) as f64, 1),
            "compaction_s": round(compacted.seconds, 2),
            "family_bytes": compacted.families_json(),
            "threads": cores,
            "verify": raw.to_json(),
            "verify_bursts": bursts.len(),
            "ratio_to_single": round(bulk.entries_per_s / raw.single, 3),
            "ratio_to_single_median": round(median(&bulk.chunk_ratios), 3),
            "ratio_to_batch": round(bulk.entries_per_s / raw.batch, 3),
            "without_trees_entries_per_s": round(without_trees, 0),
            "ratio_to_without_trees": round(bulk.entries_per_s / without_trees, 3),
            "cpu_ratio_to_single": round(raw.single_cpu_us / bulk_cpu_us.max(f64::MIN_POSITIVE), 3),
            "cpu_ratio_to_batch": round(raw.batch_cpu_us / bulk_cpu_us.max(f64::MIN_POSITIVE), 3),
        }),
    )?;
    if let Some(per_entry) = per_entry {
        let mut parameters = parameters;
        parameters["path"] = json!("one_at_a_time");
        parameters["in_flight"] = json!(params.in_flight);
        let cpu_us = per_entry.cpu_us_per_entry(total);
        reporter.result(
            "ingest",
            parameters,
            json!({
                "entries_per_s": round(per_entry.entries_per_s, 0),
                "seconds": round(per_entry.seconds, 3),
                "cpu_us_per_entry": round(cpu_us, 1),
                "busy_cores": round(per_entry.cpu.busy_cores(), 2),
                "others_cpu_share": round(per_entry.cpu.others_share(), 3),
                "disk_bytes": per_entry.disk_bytes,
                "ratio_to_single": round(median(&per_entry.chunk_ratios), 3),
                "cpu_ratio_to_single": round(raw.single_cpu_us / cpu_us.max(f64::MIN_POSITIVE), 3),
            }),
        )?;
    }
    Ok(())
}
