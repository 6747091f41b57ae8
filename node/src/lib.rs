//! The Rightsnet node: stores signed feeds in an embedded RocksDB, keeps the current state of
//! every right, and serves the HTTP API.
//!
//! Layers, each with one job and one foreign library:
//! - [`config`]: the TOML configuration.
//! - [`clock`]: the one clock (now, today).
//! - [`files`]: the node's own files: atomic writes, secrets and keys read or created once,
//!   the data directory lock.
//! - [`trust`]: the trust store (which authorities this node accepts, for what).
//! - [`storage`]: RocksDB — column families, key layouts, atomic batches. Only it names RocksDB.
//! - [`ingest`]: the single path into storage, with the writer thread that owns all writes.
//! - [`rights`]: the fold of registration and status entries into a right's state (pure).
//! - [`upsert`]: register-or-update, how a replayed register becomes entries.
//! - [`claims`]: verdicts on notices, what a marketplace records (decisions, deadlines, seller
//!   references), restorations by policy and their sweep, holder accuracy and seller strikes.
//! - [`credentials`]: what an office attests in a credential, and its signing.
//! - [`status_lists`]: the W3C Bitstring Status Lists the node publishes: their bits, read
//!   through the [`status_lists::StatusSource`] seam, and a cache of signed copies.
//! - [`credential_log`]: the public credential log and credential status (what a `credential`
//!   or `credential_status` entry does, anchoring, the rotation facts the verdict reads).
//! - [`text`], [`query`]: search folding, index-driven search, JSON views.
//! - [`transparency`]: own checkpoints, the witness, split views, the witness policy.
//! - [`network`]: libp2p — gossip, catch-up sync, peers. Only it names libp2p.
//! - [`api`]: axum — routes, errors, limits, auth, OpenAPI. Only it and [`console`] name axum.
//! - [`console`]: the web console, the HTML face of the same server (askama templates, the
//!   operator's session, CSRF, security headers); its forms call the API's handlers' code.
//! - [`metrics`]: Prometheus counters.
//!
//! [`start`] wires them together and returns a [`RunningNode`] handle.

pub mod admission;
pub mod api;
pub mod claims;
pub mod clock;
pub mod config;
pub mod console;
pub mod credential_log;
pub mod credentials;
pub mod files;
pub mod imports;
pub mod ingest;
pub mod keyring;
pub mod metrics;
pub mod network;
pub mod query;
pub mod rights;
pub mod screening;
pub mod status_lists;
pub mod storage;
pub mod text;
pub mod transparency;
pub mod trust;
pub mod upsert;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use proto_types::keys::PublicKey;
use tokio::sync::watch;

use crate::claims::{RESTORE_SWEEP_INTERVAL, restore_uncontested};
use crate::config::NodeConfig;
use crate::files::{SELLER_KEY_FILE, load_or_create_secret};
use crate::ingest::{Ingest, Reconciled, WriterOptions, reconcile_keyring};
use crate::keyring::{Keyring, SigningKeys};
use crate::metrics::Metrics;
use crate::network::Peers;
use crate::status_lists::{LogStatusSource, StatusLists};
use crate::storage::Store;
use crate::transparency::Transparency;
use crate::trust::{Trust, TrustSource, TrustStore};

pub use crate::api::NodeState;

/// A node running in this process.
pub struct RunningNode {
    /// The HTTP API's bound address.
    pub api_addr: SocketAddr,
    /// The authority the node signs as.
    pub authority: PublicKey,
    /// The libp2p peer id.
    pub peer_id: String,
    /// Federation addresses, each ending in `/p2p/<peer id>`: what other nodes bootstrap to.
    pub p2p_addrs: Vec<String>,
    shutdown: watch::Sender<bool>,
    network_task: Option<tokio::task::JoinHandle<()>>,
    restorer: Option<tokio::task::JoinHandle<()>>,
    checkpointer: Option<tokio::task::JoinHandle<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
    state: Option<NodeState>,
}

impl RunningNode {
    /// Stops accepting requests, lets in-flight ones finish, commits and flushes the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let served = (&mut self.server).await;
        if let Some(task) = self.network_task.take() {
            let _ = task.await;
        }
        if let Some(task) = self.restorer.take() {
            let _ = task.await;
        }
        if let Some(task) = self.checkpointer.take() {
            let _ = task.await;
        }
        // Dropping the last ingest handle ends the writer thread after its last commit.
        self.state = None;
        if let Some(writer) = self.writer.take() {
            tokio::task::spawn_blocking(move || writer.join())
                .await
                .context("joining the writer thread")?
                .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
        }
        served.context("the API server task failed")??;
        Ok(())
    }

    /// The shared state (for in-process tests and the federation layer).
    pub fn state(&self) -> Option<&NodeState> {
        self.state.as_ref()
    }
}

/// Opens the store, starts the writer and the HTTP API.
pub async fn start(config: NodeConfig) -> anyhow::Result<RunningNode> {
    let inputs = Inputs::load(&config)?;
    start_with(config, inputs).await
}

/// The files a node's configuration names, read and checked before anything starts: the
/// operator token, the authority key and the trust store. A failure here is unusable input
/// (the CLI exits 2 for it); [`start_with`] takes them so they are read once.
pub struct Inputs {
    operator_token: Arc<str>,
    keyring: Keyring,
    trust: TrustStore,
    witness_policy: Option<Arc<proto_types::checkpoint::policy::WitnessPolicy>>,
}

impl Inputs {
    /// Validates `config` and reads the files it names.
    pub fn load(config: &NodeConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let operator_token: Arc<str> = config.load_operator_token()?.into();
        let keyring = Keyring::load(&config.authority_key)?;
        let trust_text = config::read_bounded(&config.trust_store, trust::MAX_TRUST_FILE_BYTES)?;
        let trust = TrustStore::from_toml(&trust_text)
            .with_context(|| format!("loading trust store {}", config.trust_store.display()))?;
        let witness_policy = match &config.transparency.witness_policy {
            Some(path) => Some(Arc::new(transparency::load_policy(path)?)),
            None => None,
        };
        Ok(Self {
            operator_token,
            keyring,
            trust,
            witness_policy,
        })
    }
}

/// The trust store to start from: the node's own copy in the data directory when a change
/// made while it ran wrote one (protocol.md §13.1), else the configured file's, already read.
/// Read after the data directory is locked.
fn own_trust_copy(
    config: &NodeConfig,
    configured: TrustStore,
) -> anyhow::Result<(TrustStore, TrustSource)> {
    let path = config.data_dir.join(trust::TRUST_FILE);
    if !path.exists() {
        tracing::info!(trust_store = %config.trust_store.display(), "trust store read from the configured file");
        return Ok((configured, TrustSource::ConfiguredFile));
    }
    let text = config::read_bounded(&path, trust::MAX_TRUST_FILE_BYTES)?;
    let store = TrustStore::from_toml(&text)
        .with_context(|| format!("loading the node's trust store copy {}", path.display()))?;
    tracing::info!(
        trust_store = %path.display(),
        configured = %config.trust_store.display(),
        "trust store read from the data directory (changed while the node ran); the configured file is not used"
    );
    Ok((store, TrustSource::DataDirectory))
}

/// [`start`] with its inputs already loaded ([`Inputs::load`]).
pub async fn start_with(config: NodeConfig, inputs: Inputs) -> anyhow::Result<RunningNode> {
    let Inputs {
        operator_token,
        keyring,
        trust,
        witness_policy,
    } = inputs;
    let keys = Arc::new(SigningKeys::new(
        keyring,
        Some(config.authority_key.clone()),
    ));
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let data_dir = config.data_dir.clone();
    let storage_options = config.storage.options();
    // The first thing in the data directory: the store takes its lock before anything else is
    // read or written there (the identity and seller keys come later).
    let (store, store_writer) =
        tokio::task::spawn_blocking(move || Store::open_with(&data_dir, &storage_options))
            .await
            .context("opening the store")??;
    let rotations = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.rotation_records())
            .await
            .context("reading key rotations")??
    };
    let (trust, source) = own_trust_copy(&config, trust)?;
    let endorsements = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.endorsements())
            .await
            .context("reading endorsements")??
    };
    let trust = Arc::new(Trust::with_rotations(trust, &rotations).with_admission(
        config.trust.endorsement_threshold,
        endorsements,
        source,
    ));
    // A rotation killed half-way (protocol §6.9.2): the store decides.
    match reconcile_keyring(&keys, &trust).context("reconciling the key file with the store")? {
        Reconciled::Nothing => {}
        Reconciled::Promoted => tracing::warn!(
            key = %keys.current().public_key(),
            "a rotation of this node's key was committed but the key file not yet rewritten; the new key is current now"
        ),
        Reconciled::Dropped => tracing::warn!(
            key = %keys.current().public_key(),
            "a rotation of this node's key was not committed; its pending key is dropped and the current key signs on"
        ),
    }
    let key = keys.current();
    if !trust.is_trusted(&key.public_key()) {
        tracing::warn!(
            authority = %key.public_key(),
            "this node's own authority is not in its trust store; its own entries will not take effect"
        );
    }
    if let Some(seq) = trust.rotated_at(&key.public_key()) {
        tracing::warn!(
            authority = %key.public_key(),
            rotated_at = seq,
            "this node's key was rotated away; it refuses every write (409 key_rotated) until authority_key names the new key"
        );
    }
    let lexicon = screening::lexicon::Lexicon::load(config.screening.indicators_file.as_deref())
        .context("loading the screening lexicon ([screening] indicators_file)")?;
    let territory = config.marketplace.as_ref().map(|policy| {
        policy
            .accepted_jurisdictions
            .iter()
            .filter_map(|code| proto_types::body::Jurisdiction::parse(code).ok())
            .collect()
    });
    let screener = Arc::new(screening::Screener::new(lexicon, territory));
    let metrics = Arc::new(Metrics::default());
    let (ingest, writer) = Ingest::start_with_options(
        store_writer,
        trust,
        keys.clone(),
        WriterOptions {
            sync_writes: config.sync_writes,
            checkpoint_before_ack: config.transparency.checkpoint_before_ack,
            build_trees: true,
        },
        metrics.clone(),
    )?;
    let witness_key = Arc::new(files::load_or_create_witness_key(&config.data_dir)?);
    let transparency =
        Transparency::new(ingest.clone(), witness_key, witness_policy, metrics.clone());
    let (shutdown, signal) = watch::channel(false);
    let peers = Arc::new(Peers::default());
    let running_network = network::start(
        network::NetworkConfig {
            data_dir: config.data_dir.clone(),
            listen: config.p2p_listen.clone(),
            bootstrap: config.bootstrap.clone(),
            mdns: config.mdns,
            sync_interval: std::time::Duration::from_secs(config.sync_interval_secs),
        },
        ingest.clone(),
        transparency.clone(),
        store.clone(),
        peers.clone(),
        metrics.clone(),
        signal.clone(),
    )
    .await
    .context("starting the federation (libp2p)")?;
    let peer_id = running_network.network.peer_id.to_string();
    let p2p_addrs: Vec<String> = running_network
        .listen_addrs
        .iter()
        .map(|address| format!("{address}/p2p/{peer_id}"))
        .collect();
    let listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .with_context(|| format!("binding the API to {}", config.api_listen))?;
    let api_addr = listener.local_addr()?;
    let seller_key = match &config.marketplace {
        Some(_) => Some(Arc::new(load_or_create_secret(
            &config.data_dir.join(SELLER_KEY_FILE),
        )?)),
        None => None,
    };
    let status_lists = Arc::new(StatusLists::new(
        &config.public_base_url(api_addr),
        Arc::new(LogStatusSource::new(store.clone(), ingest.trust_handle())),
    ));
    let state = NodeState {
        config: Arc::new(config),
        store,
        authority: *ingest.authority(),
        ingest,
        keys,
        seller_key,
        operator_token,
        metrics,
        peers,
        network: running_network.network,
        status_lists,
        transparency: transparency.clone(),
        screener,
        imports: Arc::new(imports::ImportLog::new()),
    };
    let checkpointer = Some(tokio::spawn(transparency.run(shutdown.subscribe())));
    let server = tokio::spawn(api::serve(listener, state.clone(), signal));
    let restorer = state.config.marketplace.is_some().then(|| {
        let state = state.clone();
        let mut stop = shutdown.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RESTORE_SWEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(error) = restore_uncontested(&state.ingest).await {
                            tracing::error!(error = %format!("{error:#}"), "restoration sweep failed");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        })
    });
    tracing::info!(api = %api_addr, authority = %state.authority, signing_key = %key.public_key(), peer_id = %peer_id, "node started");
    Ok(RunningNode {
        api_addr,
        authority: state.authority,
        peer_id,
        p2p_addrs,
        shutdown,
        network_task: Some(running_network.task),
        restorer,
        checkpointer,
        server,
        writer: Some(writer),
        state: Some(state),
    })
}
