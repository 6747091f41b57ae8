//! Convergence: every node holds the same head of every feed, as `GET /v1/status` reports.
//!
//! The reference head of an author that runs a node here is the one its own node reports (no
//! other node can be ahead of it); of any other author, the highest one any node reports.
//! The network has converged when every node reports exactly the reference heads and, with
//! more than one node, is connected to at least one peer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::{Interrupted, Stop};

/// How often the nodes are asked for their status.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Most feeds read from one status reply.
pub const MAX_FEEDS: usize = 10_000;

#[derive(Debug, Deserialize)]
struct StatusReply {
    feeds: Vec<FeedHead>,
    #[serde(default)]
    peer_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct FeedHead {
    author: String,
    seq: u64,
    id: String,
}

/// A node to compare: its name, API base URL and authority.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The node's name.
    pub name: &'a str,
    /// Base URL of its API.
    pub api: &'a str,
    /// Its authority's `did:key`.
    pub authority: &'a str,
}

/// The converged state.
#[derive(Debug, Clone, Copy)]
pub struct Converged {
    /// Feeds every node holds.
    pub feeds: usize,
    /// Entries in them.
    pub entries: u64,
}

type Heads = BTreeMap<String, (u64, String)>;

struct Observed {
    heads: Heads,
    peer_count: u64,
}

fn fetch(http: &reqwest::blocking::Client, member: &Member<'_>) -> anyhow::Result<Observed> {
    let reply: StatusReply = http
        .get(format!("{}/v1/status", member.api))
        .send()
        .and_then(reqwest::blocking::Response::error_for_status)
        .and_then(reqwest::blocking::Response::json)
        .with_context(|| format!("GET /v1/status of {}", member.name))?;
    if reply.feeds.len() > MAX_FEEDS {
        bail!("{} reports more than {MAX_FEEDS} feeds", member.name);
    }
    Ok(Observed {
        heads: reply
            .feeds
            .into_iter()
            .map(|feed| (feed.author, (feed.seq, feed.id)))
            .collect(),
        peer_count: reply.peer_count,
    })
}

fn reference(members: &[Member<'_>], observed: &[Observed]) -> Heads {
    let mut heads = Heads::new();
    for node in observed {
        for (author, head) in &node.heads {
            let current = heads.entry(author.clone()).or_insert_with(|| head.clone());
            if head.0 > current.0 {
                *current = head.clone();
            }
        }
    }
    for (member, node) in members.iter().zip(observed) {
        match node.heads.get(member.authority) {
            Some(own) => {
                heads.insert(member.authority.to_owned(), own.clone());
            }
            None => {
                heads.remove(member.authority);
            }
        }
    }
    heads
}

/// Polls every member until the network has converged, until `timeout`, or until a stop is
/// requested ([`Interrupted`]). `check` runs on every round and ends the wait with its error
/// (the caller checks that its processes are still alive).
pub fn wait_converged(
    http: &reqwest::blocking::Client,
    members: &[Member<'_>],
    timeout: Duration,
    stop: &Stop,
    mut check: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Converged> {
    let deadline = Instant::now() + timeout;
    loop {
        if stop.is_requested() {
            bail!(Interrupted);
        }
        check()?;
        let observed: Vec<anyhow::Result<Observed>> =
            members.iter().map(|member| fetch(http, member)).collect();
        let mut problems = Vec::new();
        if observed.iter().all(Result::is_ok) {
            let observed: Vec<Observed> = observed.into_iter().filter_map(Result::ok).collect();
            let reference = reference(members, &observed);
            for (member, node) in members.iter().zip(&observed) {
                let missing = reference
                    .iter()
                    .filter(|(author, head)| node.heads.get(*author) != Some(head))
                    .count();
                if missing > 0 || node.heads.len() != reference.len() {
                    problems.push(format!(
                        "{} is behind on {missing} of {} feeds ({} entries)",
                        member.name,
                        reference.len(),
                        node.heads.values().map(|head| head.0).sum::<u64>()
                    ));
                }
                if members.len() > 1 && node.peer_count == 0 {
                    problems.push(format!("{} has no peers", member.name));
                }
            }
            if problems.is_empty() {
                return Ok(Converged {
                    feeds: reference.len(),
                    entries: reference.values().map(|head| head.0).sum(),
                });
            }
        } else {
            for (member, result) in members.iter().zip(&observed) {
                if let Err(error) = result {
                    problems.push(format!("{}: {error:#}", member.name));
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "the network did not converge within {} s: {}",
                timeout.as_secs(),
                problems.join("; ")
            );
        }
        crate::pause(POLL_INTERVAL);
    }
}
