//! `rightsnet testnet up`: a local network of real `rightsnet node run` processes on
//! 127.0.0.1, with keys, a shared trust store and demo data, running until SIGINT or SIGTERM.
//!
//! Layers, in the order [`up`] uses them:
//!
//! - [`layout`]: the testnet directory: creates keys, tokens, configurations and the trust
//!   store on the first run, reuses them afterwards;
//! - [`process`]: the node processes: spawn, read their listening line, watch, stop;
//! - [`seed`] (with the words in [`catalog`]): demo registrations and status changes, sent to
//!   the office nodes once, on the first run;
//! - [`converge`]: waits until every node holds the same head of every feed;
//! - [`report`]: `testnet.json` and the table of nodes.
//!
//! Progress goes to standard error, the table to standard output. Errors are `anyhow` errors;
//! those caused by the caller's input carry a [`BadInput`] (the CLI exits 2 for them).

pub mod catalog;
pub mod converge;
pub mod demo;
pub mod layout;
pub mod process;
pub mod report;
pub mod seed;
mod stop;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto_types::body::Jurisdiction;

pub use stop::Stop;

use crate::layout::{Layout, Requested, Role};
use crate::process::{Ended, Network, Watch};

/// Most offices in a testnet.
pub const MAX_OFFICES: usize = 16;
/// Most marketplaces in a testnet.
pub const MAX_MARKETPLACES: usize = 16;
/// The offices of a new testnet unless told otherwise.
pub const DEFAULT_OFFICES: [&str; 4] = ["FR", "CN", "US", "EM"];
/// The marketplaces of a new testnet unless told otherwise.
pub const DEFAULT_MARKETPLACES: usize = 2;
/// The directory of a testnet unless told otherwise: relative to where the command runs, hidden,
/// and git-ignored in this repository, so that the quick start run from a fresh clone's root
/// cannot collide with the `testnet/` crate or any other checked-in folder.
pub const DEFAULT_DIR: &str = ".rightsnet-testnet";
/// Longest testnet directory path, in bytes.
pub const MAX_DIR_BYTES: usize = 4096;
/// How long a node may take to print its listening line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the network may take to converge.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the nodes may take to exit after SIGTERM before they are killed.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout of one HTTP request to a node.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Waits `duration` between two polls of a loop that has its own deadline (a node's exit, its
/// listening line, convergence, a retry's back-off). The only place this crate sleeps: clippy
/// refuses `std::thread::sleep` elsewhere (`clippy.toml`).
#[allow(
    clippy::disallowed_methods,
    reason = "the one pause of the testnet's deadline-poll loops"
)]
pub fn pause(duration: Duration) {
    std::thread::sleep(duration);
}

/// An error caused by the caller's input (bad flags, a directory that is not a testnet).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// A stop was requested before the network was up.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// What `testnet up` is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The testnet directory.
    pub dir: PathBuf,
    /// One office per jurisdiction code; `None`: the directory's offices, or
    /// [`DEFAULT_OFFICES`] for a new testnet.
    pub offices: Option<Vec<String>>,
    /// How many marketplaces; `None`: the directory's, or [`DEFAULT_MARKETPLACES`].
    pub marketplaces: Option<usize>,
    /// The `rightsnet` program that runs the nodes (`rightsnet node run`).
    pub program: PathBuf,
}

impl Options {
    /// Checks the options' bounds and codes; the error is a [`BadInput`].
    pub fn requested(&self) -> anyhow::Result<Requested> {
        if self.dir.as_os_str().is_empty() || self.dir.as_os_str().len() > MAX_DIR_BYTES {
            bail!(BadInput(format!(
                "--dir must be 1 to {MAX_DIR_BYTES} bytes long"
            )));
        }
        let offices = match &self.offices {
            None => None,
            Some(codes) => Some(parse_offices(codes)?),
        };
        if let Some(count) = self.marketplaces {
            if count > MAX_MARKETPLACES {
                bail!(BadInput(format!(
                    "--marketplaces must be at most {MAX_MARKETPLACES}, not {count}"
                )));
            }
        }
        Ok(Requested {
            offices,
            marketplaces: self.marketplaces,
        })
    }
}

/// Parses office jurisdiction codes (case-insensitive): 1 to [`MAX_OFFICES`] distinct valid
/// codes.
fn parse_offices(codes: &[String]) -> anyhow::Result<Vec<Jurisdiction>> {
    if codes.is_empty() || codes.len() > MAX_OFFICES {
        bail!(BadInput(format!(
            "--offices must list 1 to {MAX_OFFICES} jurisdictions, not {}",
            codes.len()
        )));
    }
    let mut offices: Vec<Jurisdiction> = Vec::with_capacity(codes.len());
    for code in codes {
        let shown: String = code.chars().take(16).collect();
        let trimmed = code.trim();
        if trimmed.len() > 8 {
            bail!(BadInput(format!(
                "invalid jurisdiction {shown:?}: expected an ISO 3166-1 alpha-2 code or a regional code (EM, WO, BX, OA, AP, EA, EP, GC)"
            )));
        }
        let jurisdiction = Jurisdiction::parse(&trimmed.to_ascii_uppercase()).map_err(|_| {
            BadInput(format!(
                "invalid jurisdiction {shown:?}: expected an ISO 3166-1 alpha-2 code or a regional code (EM, WO, BX, OA, AP, EA, EP, GC)"
            ))
        })?;
        if offices.contains(&jurisdiction) {
            bail!(BadInput(format!(
                "--offices lists {} twice",
                jurisdiction.as_str()
            )));
        }
        offices.push(jurisdiction);
    }
    Ok(offices)
}

/// The current time, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    proto_types::timestamp::Timestamp::from_unix_millis(millis)
        .map(|timestamp| timestamp.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn this_year() -> i32 {
    now_rfc3339()
        .get(..4)
        .and_then(|year| year.parse().ok())
        .unwrap_or(2026)
}

/// Runs `testnet up`: prepares the directory, starts every node, seeds the demo data on the
/// first run, waits for convergence, reports the network, and keeps it up until `stop`.
/// Returns `Ok` after a clean stop; an error when the network could not start, a node died
/// while it was up, or a node had to be killed at the stop.
pub fn up(options: &Options, stop: &Stop) -> anyhow::Result<()> {
    let requested = options.requested()?;
    let mut layout = Layout::prepare(&options.dir, &requested)?;
    eprintln!(
        "testnet: {} network of {} nodes in {}",
        if layout.reused {
            "reusing the"
        } else {
            "created a"
        },
        layout.nodes.len(),
        layout.dir.display()
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .no_proxy()
        .build()
        .context("cannot create an HTTP client")?;
    let mut network = Network::new();
    match bring_up(options, &mut layout, &http, &mut network, stop) {
        Ok(()) => {}
        Err(error) if error.is::<Interrupted>() => {
            eprintln!(
                "testnet: {} before the network was up; stopping",
                stop.reason().unwrap_or_else(|| "stopped".to_owned())
            );
            return stop_network(&mut network);
        }
        Err(error) => {
            if !network.nodes().is_empty() {
                eprintln!("testnet: stopping the nodes after an error");
                stop_network(&mut network).ok();
            }
            return Err(error);
        }
    }
    eprintln!(
        "testnet: up; stop it with Ctrl-C (SIGINT) or SIGTERM; the data stays in {}",
        layout.dir.display()
    );
    match network.watch(stop) {
        Watch::Stop(reason) => {
            eprintln!(
                "testnet: {reason}: stopping {} nodes",
                network.nodes().len()
            );
            stop_network(&mut network)
        }
        Watch::Died {
            name,
            status,
            log_tail,
        } => {
            eprintln!("testnet: node {name} exited ({status}); stopping the others");
            stop_network(&mut network).ok();
            bail!(
                "node {name} exited while the testnet was up ({status}); its log ends with:\n{log_tail}"
            )
        }
    }
}

fn bring_up(
    options: &Options,
    layout: &mut Layout,
    http: &reqwest::blocking::Client,
    network: &mut Network,
    stop: &Stop,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // Node 0 first: every other node bootstraps from its address.
    let first = layout.nodes.first().context("the testnet has no nodes")?;
    network.spawn(&options.program, first, None)?;
    let bootstrap = network
        .await_listening(0, Instant::now() + START_TIMEOUT, stop)?
        .bootstrap_address()
        .with_context(|| format!("node {} reports no p2p address", first.name))?
        .to_owned();
    for files in layout.nodes.iter().skip(1) {
        network.spawn(&options.program, files, Some(&bootstrap))?;
    }
    let deadline = Instant::now() + START_TIMEOUT;
    for index in 0..layout.nodes.len() {
        let listening = network.await_listening(index, deadline, stop)?;
        eprintln!(
            "testnet: {} listening on {}",
            layout.nodes[index].name, listening.api
        );
    }
    let apis: Vec<String> = network
        .nodes()
        .iter()
        .map(|node| {
            node.listening
                .as_ref()
                .map(|listening| listening.api.clone())
                .unwrap_or_default()
        })
        .collect();
    if !layout.seeded {
        seed(layout, http, network, &apis, stop)?;
    }
    let members: Vec<converge::Member<'_>> = layout
        .nodes
        .iter()
        .zip(&apis)
        .map(|(files, api)| converge::Member {
            name: &files.name,
            api,
            authority: &files.authority,
        })
        .collect();
    let converged = converge::wait_converged(http, &members, CONVERGE_TIMEOUT, stop, || {
        network.check_alive()
    })?;
    eprintln!(
        "testnet: converged: every node holds {} entries in {} feeds ({:.1} s since start)",
        converged.entries,
        converged.feeds,
        started.elapsed().as_secs_f64()
    );
    report::write_testnet_file(layout, network)?;
    report::print_stdout(&report::table(layout, network));
    report::print_stdout(&report::env_hint(layout, network));
    eprintln!(
        "testnet: wrote {}",
        layout.dir.join(report::TESTNET_FILE).display()
    );
    Ok(())
}

fn seed(
    layout: &mut Layout,
    http: &reqwest::blocking::Client,
    network: &mut Network,
    apis: &[String],
    stop: &Stop,
) -> anyhow::Result<()> {
    let seeding = Instant::now();
    let offices: Vec<(usize, &layout::NodeFiles)> = layout
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, files)| files.role == Role::Office)
        .collect();
    let jurisdictions: Vec<Vec<String>> = offices
        .iter()
        .map(|(_, files)| files.jurisdictions.clone())
        .collect();
    let all: Vec<String> = jurisdictions.iter().flatten().cloned().collect();
    let dids = seed::ensure_holder_keys(&layout.dir, &all)?;
    let plan = seed::plan(&jurisdictions, &dids, this_year())?;
    let targets: Vec<seed::Target<'_>> = offices
        .iter()
        .map(|(index, files)| seed::Target {
            name: &files.name,
            api: &apis[*index],
            token: files.token(),
        })
        .collect();
    // A layout that exists but was never marked seeded is a first run that stopped while
    // seeding: the plan is sent again, and what was already applied is skipped.
    let resuming = layout.reused;
    eprintln!(
        "testnet: {} demo data: {} registrations, {} renewals, {} assignments, {} cancellations",
        if resuming { "resuming the" } else { "seeding" },
        plan.registrations.len(),
        plan.renewed,
        plan.assigned,
        plan.cancelled
    );
    if let Err(error) = seed::submit(http, &targets, &plan, stop, resuming) {
        // A node that died explains a failed request better than the request does.
        network.check_alive()?;
        return Err(error.context("seeding the demo data failed"));
    }
    layout.mark_seeded()?;
    eprintln!(
        "testnet: seeded in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Stops every node; an error when one did not exit cleanly.
fn stop_network(network: &mut Network) -> anyhow::Result<()> {
    let mut unclean = Vec::new();
    for (name, ended) in network.shutdown(SHUTDOWN_TIMEOUT) {
        match ended {
            Ended::Exited(status) if status.success() => {
                eprintln!("testnet: {name} stopped");
            }
            Ended::Exited(status) => {
                eprintln!("testnet: {name} exited ({status})");
                unclean.push(format!("{name} ({status})"));
            }
            Ended::Killed => {
                eprintln!(
                    "testnet: {name} did not stop within {} s and was killed",
                    SHUTDOWN_TIMEOUT.as_secs()
                );
                unclean.push(format!("{name} (killed)"));
            }
        }
    }
    if unclean.is_empty() {
        Ok(())
    } else {
        bail!("not every node stopped cleanly: {}", unclean.join(", "))
    }
}
