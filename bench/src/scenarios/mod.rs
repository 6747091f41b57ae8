//! The scenarios of issue #7, one module each, and what they share: runtimes, a store with its
//! ingest writer outside any node ([`Loader`]), bulk loading of generated registrations in
//! bounded chunks, and the tally of ingest outcomes.

pub mod catchup;
pub mod import;
pub mod ingest;
pub mod propagation;
pub mod query;
pub mod query_check;
pub mod screen;
pub mod store_size;
pub mod transparency;
pub mod vc_verify;
pub mod verify_notice;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto_types::keys::SecretKey;
use rightsnet_node::ingest::{Ingest, IngestError, IngestOutcome, Source, WriterOptions};
use rightsnet_node::keyring::{Keyring, SigningKeys};
use rightsnet_node::metrics::Metrics;
use rightsnet_node::storage::Store;
use rightsnet_node::trust::{Trust, TrustStore};

use crate::fixtures::{Feed, registrations_chunk, spread};

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A multi-threaded runtime with one worker per core.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .enable_all()
        .build()?)
}

/// How the entries of a submission ended.
#[derive(Debug, Default, Clone)]
pub struct Outcomes {
    /// Stored.
    pub stored: u64,
    /// Held back behind a gap (stored once the gap fills).
    pub held_back: u64,
    /// Already stored.
    pub duplicate: u64,
    /// Anything else, errors included.
    pub other: u64,
    /// The first of those, for the report.
    pub first_other: Option<String>,
}

impl Outcomes {
    /// Counts `results`.
    pub fn add(&mut self, results: &[Result<IngestOutcome, IngestError>]) {
        for result in results {
            match result {
                Ok(IngestOutcome::Stored { .. }) => self.stored += 1,
                Ok(IngestOutcome::HeldBack { .. }) => self.held_back += 1,
                Ok(IngestOutcome::Duplicate { .. }) => self.duplicate += 1,
                other => {
                    self.other += 1;
                    if self.first_other.is_none() {
                        self.first_other = Some(format!("{other:?}"));
                    }
                }
            }
        }
    }

    /// Fails unless exactly `expected` entries were accepted (stored or held back) and nothing
    /// else happened.
    pub fn ensure_accepted(&self, expected: u64) -> anyhow::Result<()> {
        if self.stored + self.held_back != expected || self.other > 0 {
            bail!(
                "expected {expected} entries stored, got {} stored, {} held back, {} duplicates, {} other (first: {})",
                self.stored,
                self.held_back,
                self.duplicate,
                self.other,
                self.first_other.as_deref().unwrap_or("-")
            );
        }
        Ok(())
    }
}

/// A store and its ingest writer, without network or API: the ingest path alone.
pub struct Loader {
    /// The ingest handle.
    pub ingest: Ingest,
    /// The store, for reads.
    pub store: Arc<Store>,
    writer: std::thread::JoinHandle<()>,
}

impl Loader {
    /// Opens (or creates) the store in `data_dir` and starts its writer.
    pub fn open(data_dir: &Path, trust: TrustStore, sync_writes: bool) -> anyhow::Result<Self> {
        Self::open_with(data_dir, trust, sync_writes, true)
    }

    /// [`Loader::open`], choosing whether the writer builds the feeds' trees (off only for the
    /// ingest scenario's baseline).
    pub fn open_with(
        data_dir: &Path,
        trust: TrustStore,
        sync_writes: bool,
        build_trees: bool,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let (store, store_writer) = Store::open(data_dir).context("opening the store")?;
        let rotations = store.rotations()?;
        let trust = Arc::new(Trust::new(trust, &rotations));
        // The loader never signs: its own key is throwaway.
        let key = Arc::new(SecretKey::generate());
        let keys = Arc::new(SigningKeys::new(Keyring::from_current(key), None));
        let (ingest, writer) = Ingest::start_with_options(
            store_writer,
            trust,
            keys,
            WriterOptions {
                sync_writes,
                checkpoint_before_ack: false,
                build_trees,
            },
            Arc::new(Metrics::default()),
        )?;
        Ok(Self {
            ingest,
            store,
            writer,
        })
    }

    /// Stops the writer after its last commit and flushes the store.
    pub fn close(self) -> anyhow::Result<()> {
        drop(self.ingest);
        self.writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
        drop(self.store);
        Ok(())
    }
}

/// Sum of the feed heads' seqs: how many entries a store holds (no gaps are ever stored).
pub fn stored_entries(store: &Store) -> anyhow::Result<u64> {
    Ok(store.heads()?.iter().map(|(_, head)| head.seq).sum())
}

/// What a bulk load measured.
#[derive(Debug, Default, Clone)]
pub struct BulkLoad {
    /// Entries loaded.
    pub entries: u64,
    /// Their canonical bytes.
    pub bytes: u64,
    /// Time spent generating and signing them (not ingest).
    pub generating: Duration,
    /// Time spent in the ingest path.
    pub ingesting: Duration,
    /// How they ended.
    pub outcomes: Outcomes,
}

/// Generates `total` registrations over `feeds` in chunks of `chunk` entries (memory stays
/// bounded by one chunk) and pushes each chunk through [`Ingest::submit_many_bytes`] on
/// `runtime`. Only the submissions are timed as ingest.
pub fn bulk_load(
    runtime: &tokio::runtime::Runtime,
    ingest: &Ingest,
    feeds: &mut [Feed],
    total: usize,
    chunk: usize,
    source: Source,
) -> anyhow::Result<BulkLoad> {
    let mut load = BulkLoad::default();
    let mut remaining = total;
    while remaining > 0 {
        let size = remaining.min(chunk.max(1));
        remaining -= size;
        let generating = Instant::now();
        let entries = registrations_chunk(feeds, &spread(size, feeds.len()))?;
        load.generating += generating.elapsed();
        load.entries += entries.len() as u64;
        load.bytes += entries.iter().map(|bytes| bytes.len() as u64).sum::<u64>();
        let ingesting = Instant::now();
        let results = runtime.block_on(ingest.submit_many_bytes(entries, source));
        load.ingesting += ingesting.elapsed();
        load.outcomes.add(&results);
    }
    load.outcomes.ensure_accepted(load.entries)?;
    Ok(load)
}

/// Polls `check` every 20 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        crate::pause(Duration::from_millis(20));
    }
}
