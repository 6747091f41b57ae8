//! What the node knows of its peers and how it judges them: the snapshot the API reads, each
//! peer's score (a ledger of penalties for invalid data, decaying with [`PENALTY_HALF_LIFE`]),
//! the blocks (the operator's, persisted in [`BLOCKLIST_FILE`], and the node's own, which
//! expire) and the block-list file. Nothing here touches the swarm: the swarm task applies what
//! [`Scoring`] decides.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use serde::Serialize;

/// Invalid data (gossip messages the ingest path rejects, invalid sync responses) a peer may
/// send in quick succession before it is blocked: each costs [`INVALID_DATA_PENALTY`].
pub const MAX_STRIKES: u32 = 3;
/// Score below which the node blocks a peer on its own. A peer starts at 0.
pub const BLOCK_SCORE: f64 = -80.0;
/// Score a peer loses for each gossip message the ingest path rejects (malformed, forged) and
/// for each invalid sync response: [`MAX_STRIKES`] of them take it below [`BLOCK_SCORE`].
/// Nothing else lowers a score.
pub const INVALID_DATA_PENALTY: f64 = 30.0;
/// Time in which a peer's lost score recovers by half.
pub const PENALTY_HALF_LIFE: Duration = Duration::from_secs(300);
/// How long a block the node imposes on its own lasts. Such blocks are never persisted.
pub const AUTOMATIC_BLOCK_DURATION: Duration = Duration::from_secs(600);
/// Most peers whose addresses (or penalties) are remembered.
pub const MAX_KNOWN_PEERS: usize = 1024;
/// File in the data directory holding the operator's block list (only the operator's: the
/// node's own blocks expire and are not written).
pub const BLOCKLIST_FILE: &str = "blocked-peers.json";
/// When the penalty ledger is full, penalties that have recovered below this many points are
/// forgotten first (a quarter of one piece of invalid data).
const FORGETTABLE_PENALTY: f64 = INVALID_DATA_PENALTY / 4.0;

/// What the node knows of its peers; the federation layer keeps it current.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerSnapshot {
    /// This node's libp2p peer id, once the swarm runs.
    pub peer_id: Option<String>,
    /// Connected peers.
    pub connected: Vec<String>,
    /// This node's federation addresses, each ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<String>,
}

/// Shared, cheap-to-read peer information.
#[derive(Debug, Default)]
pub struct Peers(std::sync::RwLock<PeerSnapshot>);

impl Peers {
    /// A copy of the current peer information.
    pub fn snapshot(&self) -> PeerSnapshot {
        self.0.read().map(|peers| peers.clone()).unwrap_or_default()
    }
    /// Replaces the peer information.
    pub fn set(&self, snapshot: PeerSnapshot) {
        if let Ok(mut peers) = self.0.write() {
            *peers = snapshot;
        }
    }
}

/// A peer as the operator API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// The peer id.
    pub peer_id: String,
    /// Whether a connection is open.
    pub connected: bool,
    /// Whether the operator or the node blocked it.
    pub blocked: bool,
    /// Who blocked it: `"operator"` (persisted, until unblocked) or `"node"` (for invalid
    /// data, expires); absent when not blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<&'static str>,
    /// Seconds until a block by the node expires; absent for other peers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_expires_in_secs: Option<u64>,
    /// Its score: 0, or lower by [`INVALID_DATA_PENALTY`] for each invalid message or sync
    /// response it sent, recovering with [`PENALTY_HALF_LIFE`]; the node blocks it below
    /// [`BLOCK_SCORE`]. Always present (the field is optional for compatibility).
    pub score: Option<f64>,
    /// Addresses known for it.
    pub addresses: Vec<String>,
}

/// A piece of invalid data a peer sent: each costs [`INVALID_DATA_PENALTY`]. Nothing else is
/// held against a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offence {
    /// A gossip message the ingest path rejected (malformed, forged).
    InvalidGossip,
    /// A sync response that breaks the protocol (more heads or entries than allowed).
    SyncProtocol,
    /// A range entry the ingest path rejected (malformed, forged).
    InvalidSyncEntry,
    /// A range entry of another author, or not at the seq the range asked for.
    MisplacedSyncEntry,
}

impl Offence {
    /// Why, for the log.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Offence::InvalidGossip => "invalid gossip message",
            Offence::SyncProtocol => "sync response breaking the protocol",
            Offence::InvalidSyncEntry => "invalid entry in a sync range",
            Offence::MisplacedSyncEntry => "sync range entry of another author or out of order",
        }
    }

    /// Whether it came by catch-up sync (counted as `sync_invalid_data`).
    pub(super) fn is_sync(self) -> bool {
        !matches!(self, Offence::InvalidGossip)
    }

    /// The network event counted when it gets the peer blocked.
    pub(super) fn block_event(self) -> &'static str {
        if self.is_sync() {
            "peer_blocked_for_sync_data"
        } else {
            "peer_blocked_for_score"
        }
    }
}

/// Why a peer is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// By the operator through the API: persisted, lasts until the operator unblocks.
    Operator,
    /// By the node, for invalid data: not persisted, lifted at `until`.
    Automatic { until: Instant },
}

/// A peer's lost score at one moment; it recovers exponentially from there.
#[derive(Debug, Clone, Copy)]
struct Penalty {
    points: f64,
    at: Instant,
}

impl Penalty {
    fn points_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.points * 0.5_f64.powf(elapsed / PENALTY_HALF_LIFE.as_secs_f64())
    }
}

/// The node's own score of each peer. It counts only what the node itself judged invalid, so
/// unlike gossipsub's score (which keeps a disconnected peer's counters, and has no way to
/// reset them) it can be forgotten when the operator unblocks a peer. Bounded by
/// [`MAX_KNOWN_PEERS`]: penalties that have nearly recovered are dropped first.
#[derive(Debug, Default)]
struct PenaltyLedger {
    peers: HashMap<PeerId, Penalty>,
}

impl PenaltyLedger {
    /// Records one piece of invalid data from `peer`; returns its score after it.
    fn record(&mut self, peer: PeerId, now: Instant) -> f64 {
        if self.peers.len() >= MAX_KNOWN_PEERS && !self.peers.contains_key(&peer) {
            self.peers
                .retain(|_, penalty| penalty.points_at(now) >= FORGETTABLE_PENALTY);
            if self.peers.len() >= MAX_KNOWN_PEERS {
                let mildest = self
                    .peers
                    .iter()
                    .min_by(|a, b| a.1.points_at(now).total_cmp(&b.1.points_at(now)))
                    .map(|(peer, _)| *peer);
                if let Some(mildest) = mildest {
                    self.peers.remove(&mildest);
                }
            }
        }
        let points = self
            .peers
            .get(&peer)
            .map_or(0.0, |penalty| penalty.points_at(now))
            + INVALID_DATA_PENALTY;
        self.peers.insert(peer, Penalty { points, at: now });
        -points
    }

    /// The peer's score: 0 for a peer that never sent invalid data.
    fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.peers
            .get(peer)
            .map_or(0.0, |penalty| -penalty.points_at(now))
    }

    fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }
}

/// What one strike did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Strike {
    /// The peer's score after it.
    pub(super) score: f64,
    /// Whether this strike got the peer blocked (it was not blocked before).
    pub(super) blocked: bool,
}

/// How a peer stands, for [`PeerInfo`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Standing {
    /// Who blocked it, when blocked: `"operator"` or `"node"`.
    pub(super) blocked_by: Option<&'static str>,
    /// Seconds until a block by the node expires (at least 1 while it holds).
    pub(super) block_expires_in_secs: Option<u64>,
    /// Its score.
    pub(super) score: f64,
}

/// Why the block-list file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BlockListError {
    /// The file exists but cannot be read.
    #[error("reading the block list {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a JSON list of strings.
    #[error("the block list {path} is not a JSON list of peer ids: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },
    /// An item of the list is not a peer id.
    #[error("the block list {path} lists {peer:?}, which is not a peer id")]
    BadPeerId {
        /// The file.
        path: PathBuf,
        /// The item (its first characters).
        peer: String,
    },
}

/// The node's judgement of its peers: their scores and blocks. The operator's blocks are saved
/// to [`BLOCKLIST_FILE`] in the data directory on every change; the node's own are not.
#[derive(Debug)]
pub(super) struct Scoring {
    data_dir: PathBuf,
    blocked: HashMap<PeerId, Block>,
    penalties: PenaltyLedger,
}

impl Scoring {
    /// Loads the operator's blocks from the data directory (none when the file is absent).
    pub(super) fn load(data_dir: &Path) -> Result<Self, BlockListError> {
        let blocked = load_blocklist(data_dir)?
            .into_iter()
            .map(|peer| (peer, Block::Operator))
            .collect();
        Ok(Self {
            data_dir: data_dir.to_owned(),
            blocked,
            penalties: PenaltyLedger::default(),
        })
    }

    /// Whether the operator or the node blocked `peer`.
    pub(super) fn is_blocked(&self, peer: &PeerId) -> bool {
        self.blocked.contains_key(peer)
    }

    /// Every blocked peer.
    pub(super) fn blocked_peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.blocked.keys().copied()
    }

    /// Records one piece of invalid data from `peer`, and blocks it for
    /// [`AUTOMATIC_BLOCK_DURATION`] when its score falls below [`BLOCK_SCORE`]. The only way
    /// the node blocks a peer on its own.
    pub(super) fn strike(&mut self, peer: PeerId, now: Instant) -> Strike {
        let score = self.penalties.record(peer, now);
        let blocked = score < BLOCK_SCORE && !self.blocked.contains_key(&peer);
        if blocked {
            let until = now + AUTOMATIC_BLOCK_DURATION;
            self.blocked.insert(peer, Block::Automatic { until });
        }
        Strike { score, blocked }
    }

    /// Blocks `peer` for the operator, and saves the list. Returns whether the operator had
    /// not blocked it before (a block by the node becomes the operator's).
    pub(super) fn block_by_operator(&mut self, peer: PeerId) -> bool {
        let previous = self.blocked.insert(peer, Block::Operator);
        let newly = previous != Some(Block::Operator);
        if newly {
            self.save();
        }
        newly
    }

    /// Lifts any block of `peer` and forgets its penalties: the operator vouches for it, or
    /// the next piece of invalid data would block it again at once. Returns whether it was
    /// blocked.
    pub(super) fn unblock(&mut self, peer: &PeerId) -> bool {
        let previous = self.blocked.remove(peer);
        self.penalties.forget(peer);
        if previous == Some(Block::Operator) {
            self.save();
        }
        previous.is_some()
    }

    /// Lifts the node's blocks that expired by `now`; returns the peers unblocked.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> = self
            .blocked
            .iter()
            .filter(|(_, block)| matches!(block, Block::Automatic { until } if *until <= now))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &expired {
            self.blocked.remove(peer);
        }
        expired
    }

    /// How `peer` stands at `now`.
    pub(super) fn standing(&self, peer: &PeerId, now: Instant) -> Standing {
        let block = self.blocked.get(peer);
        Standing {
            blocked_by: block.map(|block| match block {
                Block::Operator => "operator",
                Block::Automatic { .. } => "node",
            }),
            block_expires_in_secs: match block {
                Some(Block::Automatic { until }) => {
                    Some(until.saturating_duration_since(now).as_secs().max(1))
                }
                _ => None,
            },
            score: self.penalties.score(peer, now),
        }
    }

    /// Saves the operator's blocks (never the node's own). A failure is logged: the blocks
    /// hold in memory until the node restarts.
    fn save(&self) {
        if let Err(error) = save_blocklist(&self.data_dir, &self.blocked) {
            tracing::error!(error = %format!("{error:#}"), "saving the block list failed; it holds until restart");
        }
    }
}

/// The operator's blocks, as saved by [`save_blocklist`]; none when the file does not exist.
/// (Files written before automatic blocks stopped being persisted may also list peers the node
/// blocked on its own; they load as operator blocks, since the file cannot tell them apart.)
fn load_blocklist(data_dir: &Path) -> Result<HashSet<PeerId>, BlockListError> {
    let path = data_dir.join(BLOCKLIST_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(source) => return Err(BlockListError::Read { path, source }),
    };
    let list: Vec<String> =
        serde_json::from_str(&text).map_err(|source| BlockListError::Malformed {
            path: path.clone(),
            source,
        })?;
    list.iter()
        .map(|peer| {
            peer.parse().map_err(|_| BlockListError::BadPeerId {
                path: path.clone(),
                peer: peer.chars().take(super::MAX_QUOTED_PEER_ID_CHARS).collect(),
            })
        })
        .collect()
}

/// Writes the operator's blocks (never the node's own), sorted, replacing the file atomically.
fn save_blocklist(data_dir: &Path, blocked: &HashMap<PeerId, Block>) -> anyhow::Result<()> {
    let mut list: Vec<String> = blocked
        .iter()
        .filter(|(_, block)| **block == Block::Operator)
        .map(|(peer, _)| peer.to_string())
        .collect();
    list.sort();
    let bytes = serde_json::to_vec_pretty(&list)?;
    crate::files::write_file_atomically(&data_dir.join(BLOCKLIST_FILE), &bytes, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring() -> (tempfile::TempDir, Scoring) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let scoring = Scoring::load(dir.path()).expect("no file is an empty list");
        (dir, scoring)
    }

    #[test]
    fn max_strikes_pieces_of_invalid_data_in_a_row_block_a_peer_and_fewer_do_not() {
        let (_dir, mut scoring) = scoring();
        let peer = PeerId::random();
        let now = Instant::now();
        for strike in 1..MAX_STRIKES {
            let outcome = scoring.strike(peer, now);
            assert!(!outcome.blocked, "blocked after {strike}: {outcome:?}");
            assert!(outcome.score >= BLOCK_SCORE, "{outcome:?}");
            assert!(!scoring.is_blocked(&peer));
        }
        let outcome = scoring.strike(peer, now);
        assert!(outcome.blocked, "{outcome:?}");
        assert!(outcome.score < BLOCK_SCORE, "{outcome:?}");
        assert!(scoring.is_blocked(&peer));
        let standing = scoring.standing(&peer, now);
        assert_eq!(standing.blocked_by, Some("node"));
        assert_eq!(
            standing.block_expires_in_secs,
            Some(AUTOMATIC_BLOCK_DURATION.as_secs())
        );
        // A further strike does not block it again (nor extend the block).
        assert!(!scoring.strike(peer, now).blocked);
        // Nobody else is touched.
        let other = PeerId::random();
        assert_eq!(scoring.standing(&other, now).score, 0.0);
        assert!(!scoring.is_blocked(&other));
    }

    #[test]
    fn penalties_decay_by_half_each_half_life() {
        let (_dir, mut scoring) = scoring();
        let peer = PeerId::random();
        let start = Instant::now();
        scoring.strike(peer, start);
        scoring.strike(peer, start);
        let score_at = |elapsed: Duration| scoring.standing(&peer, start + elapsed).score;
        assert!((score_at(Duration::ZERO) + 2.0 * INVALID_DATA_PENALTY).abs() < 1e-9);
        assert!((score_at(PENALTY_HALF_LIFE) + INVALID_DATA_PENALTY).abs() < 1e-6);
        assert!((score_at(2 * PENALTY_HALF_LIFE) + INVALID_DATA_PENALTY / 2.0).abs() < 1e-6);
        // Two old offences and one new do not block; they would have without the decay.
        let later = start + PENALTY_HALF_LIFE;
        let outcome = scoring.strike(peer, later);
        assert!(!outcome.blocked, "{outcome:?}");
        assert!((outcome.score + 2.0 * INVALID_DATA_PENALTY).abs() < 1e-6);
    }

    #[test]
    fn a_block_by_the_node_expires_and_is_never_saved() {
        let (dir, mut scoring) = scoring();
        let peer = PeerId::random();
        let start = Instant::now();
        for _ in 0..MAX_STRIKES {
            scoring.strike(peer, start);
        }
        assert!(scoring.is_blocked(&peer));
        assert!(!dir.path().join(BLOCKLIST_FILE).exists());
        let almost = start + AUTOMATIC_BLOCK_DURATION - Duration::from_millis(1);
        assert_eq!(scoring.expire(almost), Vec::<PeerId>::new());
        assert!(scoring.is_blocked(&peer));
        assert_eq!(
            scoring.standing(&peer, almost).block_expires_in_secs,
            Some(1)
        );
        assert_eq!(scoring.expire(start + AUTOMATIC_BLOCK_DURATION), vec![peer]);
        assert!(!scoring.is_blocked(&peer));
        assert_eq!(scoring.standing(&peer, start).blocked_by, None);
        // The penalties remain, decaying: the block expired, the offences are not forgotten.
        assert!(scoring.standing(&peer, start).score < 0.0);
    }

    #[test]
    fn the_operators_blocks_are_saved_read_back_and_lifted() {
        let (dir, mut scoring) = scoring();
        let operator = PeerId::random();
        let automatic = PeerId::random();
        let now = Instant::now();
        for _ in 0..MAX_STRIKES {
            scoring.strike(automatic, now);
        }
        assert!(scoring.block_by_operator(operator));
        assert!(
            !scoring.block_by_operator(operator),
            "already the operator's"
        );
        let reloaded = Scoring::load(dir.path()).expect("reads back");
        assert!(reloaded.is_blocked(&operator));
        assert!(
            !reloaded.is_blocked(&automatic),
            "the node's blocks are not saved"
        );
        assert_eq!(
            reloaded.standing(&operator, now).blocked_by,
            Some("operator")
        );
        assert_eq!(
            reloaded.standing(&operator, now).block_expires_in_secs,
            None
        );
        // The file is a sorted JSON list of peer ids, and no temporary file is left behind.
        let text = std::fs::read_to_string(dir.path().join(BLOCKLIST_FILE)).expect("saved");
        let listed: Vec<String> = serde_json::from_str(&text).expect("a JSON list");
        assert_eq!(listed, vec![operator.to_string()]);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(BLOCKLIST_FILE)]);
        // The operator's block of a peer the node blocked makes it the operator's, saved.
        assert!(scoring.block_by_operator(automatic));
        assert!(
            Scoring::load(dir.path())
                .expect("reads")
                .is_blocked(&automatic)
        );
        // Unblocking lifts it from the file and forgets the peer's penalties.
        assert!(scoring.unblock(&automatic));
        assert_eq!(scoring.standing(&automatic, now).score, 0.0);
        assert!(scoring.unblock(&operator));
        assert!(!scoring.unblock(&operator), "no longer blocked");
        let reloaded = Scoring::load(dir.path()).expect("reads back");
        assert_eq!(reloaded.blocked_peers().count(), 0);
    }

    #[test]
    fn a_corrupt_block_list_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join(BLOCKLIST_FILE);
        std::fs::write(&path, b"[\"12D3KooW").expect("writes");
        let error = Scoring::load(dir.path()).expect_err("truncated JSON");
        assert!(
            matches!(error, BlockListError::Malformed { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(BLOCKLIST_FILE), "{message}");
        assert!(message.contains("not a JSON list of peer ids"), "{message}");
        std::fs::write(&path, b"[\"not a peer\"]").expect("writes");
        let error = Scoring::load(dir.path()).expect_err("a bad peer id");
        assert!(
            matches!(&error, BlockListError::BadPeerId { peer, .. } if peer == "not a peer"),
            "{error:?}"
        );
        std::fs::write(&path, b"{\"peers\": []}").expect("writes");
        assert!(matches!(
            Scoring::load(dir.path()),
            Err(BlockListError::Malformed { .. })
        ));
        // A directory where the file should be cannot be read.
        std::fs::remove_file(&path).expect("removes");
        std::fs::create_dir(&path).expect("a directory in its place");
        assert!(matches!(
            Scoring::load(dir.path()),
            Err(BlockListError::Read { .. })
        ));
    }

    #[test]
    fn the_ledger_is_bounded() {
        let mut ledger = PenaltyLedger::default();
        let now = Instant::now();
        for _ in 0..MAX_KNOWN_PEERS + 10 {
            ledger.record(PeerId::random(), now);
        }
        assert!(ledger.peers.len() <= MAX_KNOWN_PEERS);
    }

    #[test]
    fn offences_are_counted_under_the_events_of_their_channel() {
        assert_eq!(
            Offence::InvalidGossip.block_event(),
            "peer_blocked_for_score"
        );
        assert!(!Offence::InvalidGossip.is_sync());
        for offence in [
            Offence::SyncProtocol,
            Offence::InvalidSyncEntry,
            Offence::MisplacedSyncEntry,
        ] {
            assert!(offence.is_sync());
            assert_eq!(offence.block_event(), "peer_blocked_for_sync_data");
        }
    }
}
