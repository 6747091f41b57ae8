//! `rightsnet monitor`: tails every feed a node serves through its checkpoints and tiles,
//! re-verifies each new entry, checks that every new checkpoint extends the last one it verified,
//! and prints JSON lines: checkpoints, key rotations, registrations, credentials and status
//! changes touching what it watches, and forks. Exits 1 on a fork. The bookkeeping is
//! [`crate::monitor`]; this module fetches and prints.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use proto_types::checkpoint::verify_feed_checkpoint;
use proto_types::keys::PublicKey;
use proto_types::tlog::{TILE_WIDTH, TileId, decode_entry_bundle};
use serde_json::{Value, json};

use crate::client::{NodeArgs, NodeClient};
use crate::monitor::{CheckpointPlan, Fork, MAX_MONITORED_FEEDS, MonitorState, Watch, base64_hash};
use crate::{CommandError, CommandResult, Exit};

/// Largest state file read.
pub const MAX_STATE_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Most equivocation proofs remembered as already reported.
pub const MAX_REPORTED_EQUIVOCATIONS: usize = 10_000;

/// `rightsnet monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Report registrations and credentials of this holder (a did:key), and their status
    /// changes. Repeatable. Without any --watch-*, every registration, credential and status
    /// change is reported.
    #[arg(long = "watch-holder", value_name = "DID")]
    watch_holders: Vec<String>,
    /// Report registrations whose mark contains this text (compared folded: case, accents and
    /// width ignored), and their status changes. Repeatable.
    #[arg(long = "watch-mark", value_name = "TEXT")]
    watch_marks: Vec<String>,
    /// Seconds between passes (1 to 3600).
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// One pass, then exit (0, or 1 on a fork, 3 when the node cannot be read).
    #[arg(long)]
    once: bool,
    /// A file that keeps what was verified between runs (written atomically after each pass),
    /// so that a restarted monitor still catches a log that went back.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

impl MonitorArgs {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        if !(1..=3600).contains(&self.interval) {
            return Err(CommandError::bad_input(
                "--interval must be 1 to 3600 seconds",
            ));
        }
        let watch = self.watch()?;
        let client = NodeClient::new(&self.node)?;
        let mut monitor = Monitor {
            client,
            watch,
            state: match &self.state {
                Some(path) => load_state(path)?,
                None => MonitorState::default(),
            },
            reported: BTreeSet::new(),
        };
        loop {
            match monitor.pass() {
                Ok(Some(fork)) => {
                    emit(&fork.to_event());
                    return Ok(Exit::CheckFailed);
                }
                Ok(None) => {}
                Err(error) if self.once => return Err(error),
                Err(error) => {
                    emit(&json!({"event": "error", "message": error.message}));
                }
            }
            if let Some(path) = &self.state {
                save_state(path, &monitor.state)?;
            }
            if self.once {
                return Ok(Exit::Ok);
            }
            pause(Duration::from_secs(self.interval));
        }
    }

    fn watch(&self) -> Result<Watch, CommandError> {
        let holders = self
            .watch_holders
            .iter()
            .map(|did| {
                PublicKey::from_did_key(did).map_err(|error| {
                    CommandError::bad_input(format!("--watch-holder {did:?}: {error}"))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut marks = Vec::new();
        for mark in &self.watch_marks {
            let folded = rightsnet_node::text::fold(mark);
            if folded.is_empty() || mark.len() > 500 {
                return Err(CommandError::bad_input(format!(
                    "--watch-mark {mark:?} must hold 1 to 500 bytes of letters or digits"
                )));
            }
            marks.push(folded);
        }
        Ok(Watch { holders, marks })
    }
}

/// One monitor's client, watch list and memory.
struct Monitor {
    client: NodeClient,
    watch: Watch,
    state: MonitorState,
    /// Equivocation proofs already reported in this run.
    reported: BTreeSet<String>,
}

impl Monitor {
    /// One pass over the node: its equivocations, then every feed's checkpoint. A fork ends it.
    fn pass(&mut self) -> Result<Option<Fork>, CommandError> {
        if let Some(fork) = self.equivocations()? {
            return Ok(Some(fork));
        }
        let feeds = self.client.get("/v1/feeds")?.ok()?;
        let authors: Vec<String> = feeds["feeds"]
            .as_array()
            .map(|feeds| {
                feeds
                    .iter()
                    .filter_map(|feed| feed["author"].as_str().map(str::to_owned))
                    .take(MAX_MONITORED_FEEDS)
                    .collect()
            })
            .unwrap_or_default();
        for author in authors {
            if let Some(fork) = self.feed(&author)? {
                return Ok(Some(fork));
            }
        }
        Ok(None)
    }

    /// Equivocations the node holds (of entries or of checkpoints) are forks.
    fn equivocations(&mut self) -> Result<Option<Fork>, CommandError> {
        let answer = self.client.get("/v1/equivocations")?.ok()?;
        let proofs = answer["equivocations"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                answer["checkpoint_equivocations"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            );
        for proof in proofs {
            let key = proof.to_string();
            if self.reported.contains(&key) {
                continue;
            }
            if self.reported.len() < MAX_REPORTED_EQUIVOCATIONS {
                self.reported.insert(key);
            }
            let author = proof["author"]
                .as_str()
                .or_else(|| proof["origin"].as_str())
                .unwrap_or("unknown")
                .to_owned();
            emit(&json!({"event": "equivocation", "feed": author, "proof": proof}));
            return Ok(Some(Fork {
                author,
                reason: "the node holds an equivocation proof of this authority".to_owned(),
            }));
        }
        Ok(None)
    }

    /// Verifies `author`'s latest checkpoint and the entries it adds.
    fn feed(&mut self, author: &str) -> Result<Option<Fork>, CommandError> {
        let key = PublicKey::from_did_key(author).map_err(|error| {
            CommandError::failure(format!("the node lists a feed {author:?}: {error}"))
        })?;
        let (status, body) = self
            .client
            .get_bytes(&format!("/v1/feeds/{author}/checkpoint"))?;
        if status == 404 {
            // No checkpoint yet (a feed that has not written since checkpoints began).
            return Ok(None);
        }
        if status != 200 {
            return Err(CommandError::failure(format!(
                "GET /v1/feeds/{author}/checkpoint answered HTTP {status}"
            )));
        }
        let fork = |reason: String| {
            Ok(Some(Fork {
                author: author.to_owned(),
                reason,
            }))
        };
        let text = match std::str::from_utf8(&body) {
            Ok(text) => text,
            Err(_) => return fork("the checkpoint is not UTF-8".to_owned()),
        };
        let checkpoint = match verify_feed_checkpoint(text) {
            Ok(checkpoint) if *checkpoint.author() == key => checkpoint,
            Ok(_) => return fork("the checkpoint is of another feed".to_owned()),
            Err(error) => return fork(format!("the checkpoint does not verify: {error}")),
        };
        let size = checkpoint.checkpoint().size();
        let root = *checkpoint.checkpoint().root();
        let (from, to) = match self.state.plan(author, size, &root) {
            Err(fork) => return Ok(Some(fork)),
            Ok(CheckpointPlan::Unchanged) => return Ok(None),
            Ok(CheckpointPlan::Extend { from, to }) => (from, to),
        };
        let entries = self.entries(author, from, to)?;
        let (feed, events) = match self.state.verify_entries(&key, &entries, &self.watch) {
            Ok(verified) => verified,
            Err(fork) => return Ok(Some(fork)),
        };
        if feed.root() != root {
            return fork(format!(
                "the entries served for leaves {from}..{to} give the root {}, the checkpoint of size {size} says {}",
                base64_hash(&feed.root()),
                base64_hash(&root)
            ));
        }
        for event in &events {
            emit(event);
        }
        let cosigners: Vec<String> = checkpoint
            .rightsnet_cosignatures()
            .valid()
            .iter()
            .map(|cosignature| cosignature.witness().name().to_owned())
            .collect();
        emit(&json!({"event": "checkpoint", "feed": author, "size": size,
                     "root": base64_hash(&root), "cosigners": cosigners}));
        self.state.accept(author, feed);
        Ok(None)
    }

    /// The canonical bytes of leaves `from..to` of `author`'s feed, read from entry bundles.
    fn entries(&self, author: &str, from: u64, to: u64) -> Result<Vec<Vec<u8>>, CommandError> {
        let width = u64::from(TILE_WIDTH);
        let mut entries = Vec::new();
        for index in from / width..to.div_ceil(width) {
            let count = (to - index * width).min(width);
            // `count` is 1..=256 here, so the tile exists.
            let tile = TileId::new(0, index, count as u16)
                .map_err(|error| CommandError::failure(format!("tile {index}: {error}")))?;
            let path = format!("/v1/feeds/{author}/{}", tile.entries_path());
            let (status, bytes) = self.client.get_bytes(&path)?;
            if status != 200 {
                return Err(CommandError::failure(format!(
                    "GET {path} answered HTTP {status}"
                )));
            }
            let bundle = decode_entry_bundle(&bytes, count as usize).map_err(|error| {
                CommandError::failure(format!("GET {path}: not an entry bundle: {error}"))
            })?;
            let skip = from.saturating_sub(index * width) as usize;
            entries.extend(bundle.into_iter().skip(skip).map(<[u8]>::to_vec));
        }
        Ok(entries)
    }
}

/// Prints one JSON line on standard output.
fn emit(event: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{event}");
    let _ = stdout.flush();
}

fn load_state(path: &Path) -> Result<MonitorState, CommandError> {
    if !path.exists() {
        return Ok(MonitorState::default());
    }
    let bytes = super::read_file(path, MAX_STATE_FILE_BYTES)?;
    let state: MonitorState = serde_json::from_slice(&bytes).map_err(|error| {
        CommandError::bad_input(format!(
            "{} is not a monitor state file: {error}",
            path.display()
        ))
    })?;
    if let Some((author, _)) = state.feeds.iter().find(|(_, feed)| !feed.is_well_formed()) {
        return Err(CommandError::bad_input(format!(
            "{}: the state of feed {author} is malformed",
            path.display()
        )));
    }
    Ok(state)
}

fn save_state(path: &Path, state: &MonitorState) -> Result<(), CommandError> {
    let bytes = serde_json::to_vec(state)
        .map_err(|error| CommandError::failure(format!("encoding the state: {error}")))?;
    rightsnet_node::files::write_file_atomically(path, &bytes, 0o600)
        .map_err(|error| CommandError::failure(format!("writing {}: {error}", path.display())))
}

/// The monitor's one pause between passes.
#[allow(
    clippy::disallowed_methods,
    reason = "the monitor polls its node on an interval; nothing else waits"
)]
fn pause(duration: Duration) {
    std::thread::sleep(duration);
}
