//! `catchup`: two nodes on loopback; the second stops, the first takes in N entries of several
//! authors through the bulk ingest path (timed: the ingest rate of this run), then the second
//! restarts and catches up through the sync protocol; entries per second until its heads equal
//! the first node's.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rightsnet_node::ingest::Source;
use serde_json::json;

use super::{bulk_load, runtime, stored_entries, wait_until};
use crate::cluster::{office_network, start_in_process};
use crate::cpu::CpuSample;
use crate::fixtures::{Feed, Office, Registration, trust_store};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `catchup` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Entries the rejoining node missed.
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Authors (offices) of those entries.
    #[arg(long, default_value_t = 8)]
    pub authors: usize,
    /// Entries generated and loaded per chunk (bounds memory).
    #[arg(long, default_value_t = 50_000)]
    pub chunk: usize,
    /// Give up waiting for convergence after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Acknowledge writes before the write-ahead log is synced (nodes sync by default).
    #[arg(long)]
    pub no_sync: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            entries: 100_000,
            authors: 8,
            chunk: 50_000,
            timeout: 600,
            no_sync: false,
        }
    }
}

/// Runs the scenario.
pub fn run(params: &Params, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let sync_writes = !params.no_sync;
    let runtime = runtime()?;
    let directory = tempfile::tempdir()?;
    let node_offices = Office::set("catchup-node", 2);
    // Authors come after the nodes' own offices, so that their jurisdictions and numbers differ.
    let authors: Vec<Office> = (0..params.authors.max(1))
        .map(|index| Office::new("catchup-author", 2 + index))
        .collect();
    let trust = trust_store(
        node_offices
            .iter()
            .chain(authors.iter())
            .map(Office::authority)
            .collect::<anyhow::Result<_>>()?,
    )?;
    let (trust_path, files) = office_network(directory.path(), &trust, &node_offices)?;

    // Both nodes up, one entry each way, then the second goes away.
    let first = runtime.block_on(start_in_process(files[0].config(
        &trust_path,
        &[],
        sync_writes,
        None,
    )?))?;
    let bootstrap = first.p2p_addrs.clone();
    let second_config = files[1].config(&trust_path, &bootstrap, sync_writes, None)?;
    let second = runtime.block_on(start_in_process(second_config.clone()))?;
    let first_state = first.state().cloned().context("node state")?;
    let second_state = second.state().cloned().context("node state")?;
    runtime.block_on(
        first_state
            .ingest
            .append(Registration::new(&node_offices[0], 1).body()?),
    )?;
    runtime.block_on(
        second_state
            .ingest
            .append(Registration::new(&node_offices[1], 1).body()?),
    )?;
    let together = wait_until(Duration::from_secs(60), || {
        [&first_state, &second_state]
            .iter()
            .all(|state| stored_entries(&state.store).is_ok_and(|stored| stored == 2))
    });
    if !together {
        bail!("the two nodes did not exchange their first entries within 60 s");
    }
    drop(second_state);
    runtime.block_on(second.shutdown())?;

    // The first node takes in what the second will miss.
    let mut feeds: Vec<Feed> = authors.into_iter().map(Feed::new).collect();
    let load = bulk_load(
        &runtime,
        &first_state.ingest,
        &mut feeds,
        params.entries,
        params.chunk,
        Source::Sync,
    )?;
    let ingest_per_s = per_second(load.entries, load.ingesting);
    let target = first_state.store.heads()?;
    let target_total: u64 = target.iter().map(|(_, head)| head.seq).sum();

    // The second node rejoins.
    let cpu_sample = CpuSample::now(&[]);
    let rejoining = Instant::now();
    let second = runtime.block_on(start_in_process(second_config))?;
    let second_state = second.state().cloned().context("node state")?;
    let before = stored_entries(&second_state.store)?;
    let mut first_progress = None;
    let converged = wait_until(Duration::from_secs(params.timeout), || {
        let stored = stored_entries(&second_state.store).unwrap_or(0);
        if stored > before && first_progress.is_none() {
            first_progress = Some(rejoining.elapsed());
        }
        stored >= target_total
            && second_state
                .store
                .heads()
                .is_ok_and(|heads| heads == target)
    });
    let elapsed = rejoining.elapsed();
    let cpu = cpu_sample.elapsed();
    let caught_up = stored_entries(&second_state.store)? - before;
    let sync_event = |name: &str| second_state.metrics.event_count(name);
    let ranges = sync_event("sync_range_fetched");
    let fetched = sync_event("sync_entry_fetched");
    let busy_retries = sync_event("sync_busy_retry");
    let sessions = sync_event("sync_session_started");
    let by_announcement = sync_event("sync_by_announcement");
    drop(second_state);
    drop(first_state);
    runtime.block_on(second.shutdown())?;
    runtime.block_on(first.shutdown())?;

    let catchup_per_s = per_second(caught_up, elapsed);
    let first_progress = first_progress.unwrap_or(elapsed);
    let ratio = catchup_per_s / ingest_per_s;
    reporter.say(format!(
        "catchup: a node rejoins after missing {} entries of {} authors",
        load.entries,
        feeds.len()
    ));
    reporter.say(format!(
        "  bulk ingest at the other node, same entries: {:.1} k/s ({:.1} s; generating them took {:.1} s)",
        ingest_per_s / 1000.0,
        load.ingesting.as_secs_f64(),
        load.generating.as_secs_f64()
    ));
    reporter.say(format!(
        "  catch-up over sync: {} entries in {:.1} s = {:.1} k/s, {:.2} of the ingest rate; first entry after {:.2} s; {:.0} µs of CPU per entry (both nodes) on {:.2} busy cores (others {:.0} %){}",
        caught_up,
        elapsed.as_secs_f64(),
        catchup_per_s / 1000.0,
        ratio,
        first_progress.as_secs_f64(),
        cpu.ours_s * 1e6 / caught_up.max(1) as f64,
        cpu.busy_cores(),
        100.0 * cpu.others_share(),
        if converged { "" } else { " — NOT CONVERGED" }
    ));
    reporter.say(format!(
        "  {ranges} ranges ({fetched} entries) fetched in {sessions} sessions ({by_announcement} started by head announcements), {busy_retries} ranges asked again after Busy"
    ));
    reporter.result(
        "catchup",
        json!({
            "entries": load.entries,
            "authors": feeds.len(),
            "sync_writes": sync_writes,
        }),
        json!({
            "converged": converged,
            "caught_up": caught_up,
            "seconds": round(elapsed.as_secs_f64(), 3),
            "entries_per_s": round(catchup_per_s, 0),
            "first_entry_after_s": round(first_progress.as_secs_f64(), 3),
            "ingest_per_s": round(ingest_per_s, 0),
            "ratio_to_ingest": round(ratio, 3),
            "ranges_fetched": ranges,
            "entries_fetched": fetched,
            "busy_retries": busy_retries,
            "sync_sessions": sessions,
            "syncs_by_announcement": by_announcement,
            "busy_cores": round(cpu.busy_cores(), 2),
            "cpu_us_per_entry": round(cpu.ours_s * 1e6 / caught_up.max(1) as f64, 1),
            "others_cpu_share": round(cpu.others_share(), 3),
        }),
    )?;
    if !converged {
        bail!(
            "the rejoining node did not converge within {} s",
            params.timeout
        );
    }
    Ok(())
}
