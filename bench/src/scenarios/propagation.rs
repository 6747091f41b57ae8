//! `propagation`: a federation of real nodes on loopback (in this process, real libp2p, real
//! RocksDB), every node an office; registrations are published at random nodes at a steady
//! rate through each node's own feed (`Ingest::append`, the path of `POST /v1/registrations`),
//! and every node's stored-entry broadcast is timestamped, so that publish-to-stored latency is
//! measured at every node, for every entry, on one clock. Timing starts once every feed exists
//! everywhere and the gossip mesh has formed at every node (polled, with a deadline).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto_types::entry::EntryId;
use rightsnet_node::RunningNode;
use rightsnet_node::ingest::{IngestOutcome, Source};
use serde_json::json;
use tokio::sync::watch;

use super::{runtime, stored_entries, wait_until};
use crate::cluster::{office_network, start_in_process};
use crate::cpu::CpuSample;
use crate::fixtures::{Office, Registration, mix, trust_store};
use crate::report::{Reporter, round};
use crate::stats::{Latencies, per_second};

/// Parameters of the `propagation` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Nodes in the federation.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Entries published per second, over all nodes.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Acknowledge writes before the write-ahead log is synced (nodes sync by default).
    #[arg(long)]
    pub no_sync: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            nodes: 10,
            rate: 100.0,
            seconds: 20.0,
            no_sync: false,
        }
    }
}

/// Node events reported with the result: how gossip fared, what sync and head announcements
/// did, and peers blocked (for gossip or for sync data).
const EVENTS: [&str; 17] = [
    "gossip_accepted",
    "gossip_duplicate",
    "gossip_early",
    "gossip_rejected",
    "gossip_not_stored",
    "gossip_dropped_overload",
    "gossip_publish_failed",
    "sync_entry_stored",
    "sync_session_started",
    "sync_busy_retry",
    "announcement_published",
    "sync_by_announcement",
    "sync_after_overload",
    "sync_after_gap",
    "sync_invalid_data",
    "peer_blocked_for_score",
    "peer_blocked_for_sync_data",
];

/// How long the gossip mesh may take to form after the warm-up.
const MESH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the collectors may take to receive the stored-entry notices of what the stores
/// already hold (a commit is visible in the store a moment before its notice is received).
const NOTICES_TIMEOUT: Duration = Duration::from_secs(5);

/// When each entry was stored at one node, and from where it came.
type Arrivals = HashMap<EntryId, (Instant, Source)>;

struct Published {
    id: EntryId,
    origin: usize,
    sent: Instant,
    local: Duration,
}

/// Runs the scenario.
pub fn run(params: &Params, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let count = params.nodes.max(2);
    let sync_writes = !params.no_sync;
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;
    let offices = Office::set("propagation-node", count);
    let trust = trust_store(
        offices
            .iter()
            .map(Office::authority)
            .collect::<anyhow::Result<_>>()?,
    )?;
    let (trust_path, files) = office_network(directory.path(), &trust, &offices)?;

    let started = Instant::now();
    let mut nodes: Vec<RunningNode> = Vec::with_capacity(count);
    let first = runtime.block_on(start_in_process(files[0].config(
        &trust_path,
        &[],
        sync_writes,
        None,
    )?))?;
    let bootstrap = first.p2p_addrs.clone();
    nodes.push(first);
    for node_files in &files[1..] {
        let config = node_files.config(&trust_path, &bootstrap, sync_writes, None)?;
        nodes.push(runtime.block_on(start_in_process(config))?);
    }
    let states: Vec<_> = nodes
        .iter()
        .map(|node| node.state().cloned().context("node state"))
        .collect::<anyhow::Result<_>>()?;
    // Discovery connects the nodes beyond their bootstrap peer; wait for a mesh-sized neighbourhood.
    let wanted_peers = (count - 1).min(6);
    let connected = wait_until(Duration::from_secs(60), || {
        states
            .iter()
            .all(|state| state.peers.snapshot().connected.len() >= wanted_peers)
    });
    if !connected {
        bail!("the {count} nodes did not connect to {wanted_peers} peers each within 60 s");
    }

    // Timestamp every stored entry at every node.
    let (stop, stopped) = watch::channel(false);
    let collectors: Vec<_> = states
        .iter()
        .map(|state| {
            let mut stored = state.ingest.subscribe_stored();
            let mut stopped = stopped.clone();
            let received = Arc::new(AtomicU64::new(0));
            let counter = received.clone();
            let task = runtime.spawn(async move {
                let mut arrivals = Arrivals::new();
                let mut lagged = 0u64;
                loop {
                    tokio::select! {
                        notice = stored.recv() => match notice {
                            Ok(notice) => {
                                arrivals.insert(notice.entry.id(), (Instant::now(), notice.source));
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => lagged += skipped,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        },
                        _ = stopped.changed() => {
                            // Take what was already announced before stopping.
                            loop {
                                match stored.try_recv() {
                                    Ok(notice) => {
                                        arrivals.insert(notice.entry.id(), (Instant::now(), notice.source));
                                    }
                                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(skipped)) => lagged += skipped,
                                    Err(_) => break,
                                }
                            }
                            break;
                        }
                    }
                }
                (arrivals, lagged)
            });
            (received, task)
        })
        .collect();

    // Warm up: one entry from every node, everywhere, so that every feed exists and the gossip
    // mesh has formed before anything is timed.
    let mut next_seq: Vec<u64> = vec![0; count];
    for (index, state) in states.iter().enumerate() {
        next_seq[index] += 1;
        let body = Registration::new(&offices[index], next_seq[index]).body()?;
        runtime.block_on(state.ingest.append(body))?;
    }
    let warm = wait_until(Duration::from_secs(60), || {
        states
            .iter()
            .all(|state| stored_entries(&state.store).is_ok_and(|stored| stored >= count as u64))
    });
    if !warm {
        bail!("the warm-up entries did not reach every node within 60 s");
    }
    // Nothing is timed before the gossip mesh has formed at every node: each holds as many
    // mesh peers as gossipsub aims for (or all its peers, in a smaller federation).
    let networks: Vec<_> = states.iter().map(|state| state.network.clone()).collect();
    let meshed = wait_until(MESH_TIMEOUT, || {
        runtime.block_on(async {
            for network in &networks {
                if !network
                    .gossip_mesh()
                    .await
                    .is_ok_and(|mesh| mesh.is_formed())
                {
                    return false;
                }
            }
            true
        })
    });
    if !meshed {
        bail!(
            "the gossip mesh did not form at every node within {} s",
            MESH_TIMEOUT.as_secs()
        );
    }
    let setup = started.elapsed();

    // Publish at a steady rate at random nodes.
    let total = (params.rate * params.seconds).round().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / params.rate.max(0.001));
    let mut bodies = Vec::with_capacity(total as usize);
    for number in 0..total {
        let origin = (mix(number ^ 0x9009) % count as u64) as usize;
        next_seq[origin] += 1;
        bodies.push((
            origin,
            Registration::new(&offices[origin], next_seq[origin]).body()?,
        ));
    }
    let ingests: Arc<Vec<_>> = Arc::new(states.iter().map(|state| state.ingest.clone()).collect());
    let cpu_sample = CpuSample::now(&[]);
    let publishing = Instant::now();
    let published: Vec<Published> = runtime.block_on(async {
        let mut ticker = tokio::time::interval(interval);
        let mut tasks = Vec::with_capacity(bodies.len());
        for (origin, body) in bodies {
            ticker.tick().await;
            let ingests = ingests.clone();
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let outcome = ingests[origin].append(body).await;
                (origin, sent, sent.elapsed(), outcome)
            }));
        }
        let mut published = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (origin, sent, local, outcome) = task.await?;
            match outcome? {
                IngestOutcome::Stored { id, .. } => published.push(Published {
                    id,
                    origin,
                    sent,
                    local,
                }),
                other => bail!("publishing at node {origin}: unexpected outcome {other:?}"),
            }
        }
        Ok(published)
    })?;
    let publish_elapsed = publishing.elapsed();

    // Wait until every node holds everything (gossip, or sync for what gossip dropped).
    let expected = count as u64 + total;
    let converged = wait_until(Duration::from_secs(60), || {
        states
            .iter()
            .all(|state| stored_entries(&state.store).is_ok_and(|stored| stored >= expected))
    });
    let converge_elapsed = publishing.elapsed();
    let cpu = cpu_sample.elapsed();
    // A commit is visible in the store a moment before its notice reaches the collectors: wait
    // (bounded) until every collector has received as many notices as its store holds entries.
    // Notices a collector skipped (lagged) never come; the entries they missed are reported
    // as not timed.
    if converged {
        wait_until(NOTICES_TIMEOUT, || {
            collectors
                .iter()
                .all(|(received, _)| received.load(Ordering::Relaxed) >= expected)
        });
    }
    let _ = stop.send(true);
    let mut arrivals = Vec::with_capacity(count);
    let mut lagged = 0;
    for (_, collector) in collectors {
        let (node_arrivals, node_lagged) = runtime.block_on(collector)?;
        lagged += node_lagged;
        arrivals.push(node_arrivals);
    }
    // The nodes' own counts of what gossip did (summed over the federation).
    let mut events = serde_json::Map::new();
    for name in EVENTS {
        let count: u64 = states
            .iter()
            .map(|state| state.metrics.event_count(name))
            .sum();
        events.insert(name.to_owned(), json!(count));
    }
    drop(states);
    drop(ingests);
    for node in nodes {
        runtime.block_on(node.shutdown())?;
    }

    let mut remote = Latencies::new();
    let mut local = Latencies::new();
    let mut per_node: Vec<Latencies> = vec![Latencies::new(); count];
    let (mut via_gossip, mut via_sync, mut missing) = (0u64, 0u64, 0u64);
    for entry in &published {
        local.push(entry.local);
        for (node, node_arrivals) in arrivals.iter().enumerate() {
            if node == entry.origin {
                continue;
            }
            match node_arrivals.get(&entry.id) {
                Some((at, source)) => {
                    let latency = at.saturating_duration_since(entry.sent);
                    remote.push(latency);
                    per_node[node].push(latency);
                    match source {
                        Source::Sync => via_sync += 1,
                        _ => via_gossip += 1,
                    }
                }
                None => missing += 1,
            }
        }
    }
    let summary = remote.summary();
    let local_summary = local.summary();
    let worst_node_p99 = per_node
        .iter()
        .map(|latencies| latencies.summary().p99_ms)
        .fold(0.0, f64::max);
    let published_per_s = per_second(published.len() as u64, publish_elapsed);
    let deliveries = (published.len() * (count - 1)) as u64;
    reporter.say(format!(
        "propagation: {count} nodes on loopback, {} entries published at {:.0}/s (asked {:.0}/s) at random nodes; set-up {:.1} s",
        published.len(),
        published_per_s,
        params.rate,
        setup.as_secs_f64()
    ));
    reporter.say(format!(
        "  publish-to-stored at the other nodes: {summary}; worst node p99 {worst_node_p99:.2} ms (aim: p99 well under 100 ms)"
    ));
    reporter.say(format!(
        "  {via_gossip} deliveries by gossip, {via_sync} by sync, {missing} not timed (of {deliveries}); local commit {local_summary}; {:.1} ms of CPU per entry over the federation on {:.2} busy cores (others {:.0} %); converged {}",
        cpu.ours_s * 1e3 / published.len().max(1) as f64,
        cpu.busy_cores(),
        100.0 * cpu.others_share(),
        if converged {
            format!("{:.1} s after the first publish", converge_elapsed.as_secs_f64())
        } else {
            "NOT within 60 s".to_owned()
        }
    ));
    let event = |name: &str| {
        events
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let blocked = event("peer_blocked_for_score") + event("peer_blocked_for_sync_data");
    reporter.say(format!(
        "  {blocked} peers blocked (every node here is honest); gossip rejected {}, dropped for overload {}; {} sync sessions, {} started by head announcements",
        event("gossip_rejected"),
        event("gossip_dropped_overload"),
        event("sync_session_started"),
        event("sync_by_announcement")
    ));
    reporter.result(
        "propagation",
        json!({
            "nodes": count,
            "rate_per_s": params.rate,
            "seconds": params.seconds,
            "sync_writes": sync_writes,
        }),
        json!({
            "published": published.len(),
            "published_per_s": round(published_per_s, 1),
            "deliveries": deliveries,
            "via_gossip": via_gossip,
            "via_sync": via_sync,
            "not_timed": missing,
            "lagged_notices": lagged,
            "converged": converged,
            "converged_after_s": round(converge_elapsed.as_secs_f64(), 3),
            "peers_blocked": blocked,
            "latency": summary.to_json(),
            "worst_node_p99_ms": round(worst_node_p99, 3),
            "local_commit": local_summary.to_json(),
            "busy_cores": round(cpu.busy_cores(), 2),
            "cpu_ms_per_entry": round(cpu.ours_s * 1e3 / published.len().max(1) as f64, 3),
            "others_cpu_share": round(cpu.others_share(), 3),
            "events": events,
        }),
    )?;
    if !converged {
        bail!("the federation did not converge within 60 s of the last publish");
    }
    Ok(())
}
