//! The monitor's bookkeeping (`rightsnet monitor`), pure: what it remembers of every feed, how a
//! new checkpoint and the entries under it are checked against that, and which events they
//! make. The command (`cmd::monitor`) fetches; this module decides.
//!
//! For every feed the monitor keeps the last checkpoint it verified (size and root) and the
//! *frontier* of the tree at that size: the roots of its complete subtrees, one per one bit of
//! the size (at most 64 hashes). New entries are re-verified one by one (signature, author, seq,
//! `prev` link) and appended to the frontier; the root they give must equal the new
//! checkpoint's. That one comparison proves both that the entries served are the ones the
//! authority signed into its log and that the new checkpoint extends the old one, so the monitor
//! needs no consistency proof from the node it watches.

use std::collections::{BTreeMap, BTreeSet};

use proto_types::body::Body;
use proto_types::entry::{Entry, EntryId, VerifiedEntry};
use proto_types::keys::PublicKey;
use proto_types::tlog::{self, TreeHash};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most feeds the monitor's state holds.
pub const MAX_MONITORED_FEEDS: usize = 10_000;
/// Most right and credential ids remembered as touching what is watched.
pub const MAX_WATCHED_IDS: usize = 100_000;

/// What the monitor knows of one feed: the last verified checkpoint and its tree's frontier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// Leaves verified (the last verified checkpoint's size).
    pub size: u64,
    /// Roots of the complete subtrees of the first `size` leaves, largest first.
    #[serde(with = "hashes_base64")]
    pub frontier: Vec<TreeHash>,
    /// The id of the entry at `size` (the `prev` the next entry must name).
    pub last_id: Option<EntryId>,
}

impl FeedState {
    /// The root of the verified tree.
    pub fn root(&self) -> TreeHash {
        tlog::fold_from_right(&self.frontier).unwrap_or_else(TreeHash::empty)
    }

    /// Whether the frontier has the shape its size gives it (a state file read back is checked
    /// with this).
    pub fn is_well_formed(&self) -> bool {
        self.frontier.len() == self.size.count_ones() as usize
            && (self.size == 0) == self.last_id.is_none()
    }

    /// Appends one leaf's hash: merges equal-sized subtrees like a binary counter.
    fn append_leaf(&mut self, leaf: TreeHash) {
        let mut hash = leaf;
        // A subtree per one bit of the size; the new leaf carries through the trailing ones.
        let mut carries = self.size.trailing_ones();
        while carries > 0 {
            let left = self.frontier.pop().unwrap_or_else(TreeHash::empty);
            hash = tlog::node_hash(&left, &hash);
            carries -= 1;
        }
        self.frontier.push(hash);
        self.size += 1;
    }
}

/// What to watch for besides forks and key rotations.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Holders' keys.
    pub holders: Vec<PublicKey>,
    /// Marks, folded as the node's search folds them (case, accents, width).
    pub marks: Vec<String>,
}

impl Watch {
    /// Whether nothing particular is watched: every registration, credential and status change
    /// is then reported.
    pub fn is_everything(&self) -> bool {
        self.holders.is_empty() && self.marks.is_empty()
    }
}

/// Everything the monitor remembers between passes (the `--state` file).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MonitorState {
    /// Feeds by author did:key.
    pub feeds: BTreeMap<String, FeedState>,
    /// Rights whose registration touched what is watched: their status changes are reported.
    pub watched_rights: BTreeSet<String>,
    /// Credentials of watched holders or rights: their status changes are reported.
    pub watched_credentials: BTreeSet<String>,
}

/// A fork: what the node served cannot be one append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The feed.
    pub author: String,
    /// Why.
    pub reason: String,
}

impl Fork {
    /// The fork as a JSON line's value.
    pub fn to_event(&self) -> Value {
        json!({"event": "fork", "feed": self.author, "reason": self.reason})
    }
}

/// What a new checkpoint needs before it can be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointPlan {
    /// Nothing new: the checkpoint is the one already verified.
    Unchanged,
    /// Fetch and verify the leaves `from..to` (indexes), then compare roots.
    Extend {
        /// First leaf to fetch.
        from: u64,
        /// One past the last leaf.
        to: u64,
    },
}

impl MonitorState {
    /// The state of a feed, created empty on first sight (refused past
    /// [`MAX_MONITORED_FEEDS`]).
    fn feed_mut(&mut self, author: &str) -> Result<&mut FeedState, Fork> {
        if !self.feeds.contains_key(author) && self.feeds.len() >= MAX_MONITORED_FEEDS {
            return Err(Fork {
                author: author.to_owned(),
                reason: format!("more than {MAX_MONITORED_FEEDS} feeds: not monitored"),
            });
        }
        Ok(self.feeds.entry(author.to_owned()).or_default())
    }

    /// Compares a verified checkpoint of `author`'s feed (size and root) with what was verified
    /// before: smaller, or the same size with another root, is a fork.
    pub fn plan(&self, author: &str, size: u64, root: &TreeHash) -> Result<CheckpointPlan, Fork> {
        let known = self.feeds.get(author).cloned().unwrap_or_default();
        let fork = |reason: String| Fork {
            author: author.to_owned(),
            reason,
        };
        if size < known.size {
            return Err(fork(format!(
                "the checkpoint of size {size} is older than the size {} verified before: the log went back",
                known.size
            )));
        }
        if size == known.size {
            if known.root() != *root {
                return Err(fork(format!(
                    "two checkpoints of size {size} with different roots ({} verified before, {} now)",
                    base64_hash(&known.root()),
                    base64_hash(root)
                )));
            }
            return Ok(CheckpointPlan::Unchanged);
        }
        Ok(CheckpointPlan::Extend {
            from: known.size,
            to: size,
        })
    }

    /// Verifies the entries fetched for leaves `from..` of `author`'s feed (canonical bytes, in
    /// order) and folds them into a copy of the feed's state; returns the events they make and
    /// the new state, to keep with [`MonitorState::accept`] once the root matched.
    pub fn verify_entries(
        &mut self,
        author: &PublicKey,
        entries: &[Vec<u8>],
        watch: &Watch,
    ) -> Result<(FeedState, Vec<Value>), Fork> {
        let did = author.to_did_key();
        let mut state = self.feed_mut(&did)?.clone();
        let fork = |reason: String| Fork {
            author: did.clone(),
            reason,
        };
        let mut events = Vec::new();
        for bytes in entries {
            let seq = state.size + 1;
            let entry = Entry::decode(bytes)
                .and_then(Entry::verify)
                .map_err(|error| {
                    fork(format!("the entry at seq {seq} does not verify: {error}"))
                })?;
            if entry.author() != author || entry.seq() != seq || entry.prev() != state.last_id {
                return Err(fork(format!(
                    "leaf {} is not the feed's entry at seq {seq} (author, seq or prev differ)",
                    seq - 1
                )));
            }
            if entry.canonical_bytes() != bytes.as_slice() {
                return Err(fork(format!(
                    "the entry at seq {seq} is not in canonical form"
                )));
            }
            state.append_leaf(tlog::leaf_hash(bytes));
            state.last_id = Some(entry.id());
            if let Some(event) = self.event_of(&did, &entry, watch) {
                events.push(event);
            }
        }
        Ok((state, events))
    }

    /// Keeps the state of a feed whose new checkpoint's root matched.
    pub fn accept(&mut self, author: &str, state: FeedState) {
        self.feeds.insert(author.to_owned(), state);
    }

    /// The event an entry makes, if it is one the monitor reports.
    fn event_of(&mut self, feed: &str, entry: &VerifiedEntry, watch: &Watch) -> Option<Value> {
        let base = json!({"feed": feed, "seq": entry.seq(), "id": entry.id().to_string()});
        let with = |mut value: Value, fields: Value| {
            if let (Some(object), Value::Object(extra)) = (value.as_object_mut(), fields) {
                object.extend(extra);
            }
            Some(value)
        };
        match entry.body() {
            Body::KeyRotation(rotation) => with(
                base,
                json!({"event": "key_rotation", "new_key": rotation.new_key.to_did_key(),
                       "compromised_since": rotation.compromised_since}),
            ),
            Body::Registration(registration) => {
                let holder_watched = registration
                    .holder
                    .key
                    .as_ref()
                    .is_some_and(|key| watch.holders.contains(key));
                let mark_watched = registration.mark_text.as_deref().is_some_and(|mark| {
                    let folded = rightsnet_node::text::fold(mark);
                    watch
                        .marks
                        .iter()
                        .any(|watched| folded.contains(watched.as_str()))
                });
                if !(watch.is_everything() || holder_watched || mark_watched) {
                    return None;
                }
                remember(&mut self.watched_rights, registration.right_id.as_str());
                with(
                    base,
                    json!({"event": "registration", "right_id": registration.right_id.as_str(),
                           "mark": registration.mark_text, "holder": registration.holder.name}),
                )
            }
            Body::Status(status) => {
                let right = status.right_id.as_str();
                if !(watch.is_everything() || self.watched_rights.contains(right)) {
                    return None;
                }
                with(
                    base,
                    json!({"event": "status", "right_id": right, "change": entry.body_value().get("change")}),
                )
            }
            Body::Credential(credential) => {
                let watched = watch.holders.contains(&credential.subject)
                    || self.watched_rights.contains(credential.right_id.as_str());
                if !(watch.is_everything() || watched) {
                    return None;
                }
                remember(
                    &mut self.watched_credentials,
                    credential.credential_id.as_str(),
                );
                with(
                    base,
                    json!({"event": "credential", "credential_id": credential.credential_id.as_str(),
                           "right_id": credential.right_id.as_str(), "holder": credential.subject.to_did_key()}),
                )
            }
            Body::CredentialStatus(status) => {
                let id = status.credential_id.as_str();
                if !(watch.is_everything() || self.watched_credentials.contains(id)) {
                    return None;
                }
                with(
                    base,
                    json!({"event": "credential_status", "credential_id": id,
                           "status": entry.body_value().get("status")}),
                )
            }
            _ => None,
        }
    }
}

/// Adds an id to a bounded set (past the bound, new ids are not remembered).
fn remember(set: &mut BTreeSet<String>, id: &str) {
    if set.len() < MAX_WATCHED_IDS {
        set.insert(id.to_owned());
    }
}

/// A hash in standard base64, as checkpoints write roots.
pub fn base64_hash(hash: &TreeHash) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hash.0)
}

mod hashes_base64 {
    //! Frontier hashes as base64 strings in the state file.
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use proto_types::tlog::TreeHash;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(hashes: &[TreeHash], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(hashes.iter().map(|hash| STANDARD.encode(hash.0)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<TreeHash>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        if texts.len() > 64 {
            return Err(D::Error::custom("a frontier has at most 64 hashes"));
        }
        texts
            .iter()
            .map(|text| {
                let bytes = STANDARD.decode(text).map_err(D::Error::custom)?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map(TreeHash)
                    .map_err(|_| D::Error::custom("a hash is 32 bytes"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::body::{EntryKind, examples};
    use proto_types::entry::UnsignedEntry;
    use proto_types::keys::SecretKey;
    use proto_types::timestamp::Timestamp;

    fn office() -> SecretKey {
        SecretKey::from_seed(&examples::OFFICE_SEED)
    }

    fn chain(key: &SecretKey, bodies: Vec<(EntryKind, Value)>) -> Vec<VerifiedEntry> {
        let mut entries: Vec<VerifiedEntry> = Vec::new();
        for (offset, (kind, body)) in bodies.into_iter().enumerate() {
            let entry = UnsignedEntry {
                seq: offset as u64 + 1,
                prev: entries.last().map(|entry| entry.id()),
                timestamp: Timestamp::from_unix_millis(1_700_000_000_000 + offset as i64)
                    .expect("a timestamp"),
                body: Body::decode(kind, &body).expect("a body"),
            }
            .sign(key)
            .expect("signs");
            entries.push(entry);
        }
        entries
    }

    fn registration(number: u32, mark: &str) -> (EntryKind, Value) {
        let mut body = examples::registration();
        body["right_id"] = json!(format!("FR-TM-{number}"));
        body["number"] = json!(number.to_string());
        body["mark_text"] = json!(mark);
        (EntryKind::Registration, body)
    }

    fn bytes(entries: &[VerifiedEntry]) -> Vec<Vec<u8>> {
        entries
            .iter()
            .map(|entry| entry.canonical_bytes().to_vec())
            .collect()
    }

    /// The root of `leaves` by proto-types' in-memory tree.
    fn reference_root(leaves: &[Vec<u8>]) -> TreeHash {
        tlog::MemoryTree::with_leaves(leaves.iter().map(Vec::as_slice)).root()
    }

    #[test]
    fn the_frontier_gives_the_rfc_9162_root_at_every_size() {
        let mut state = FeedState::default();
        let mut leaves = Vec::new();
        for index in 0..300u32 {
            let data = index.to_be_bytes().to_vec();
            state.append_leaf(tlog::leaf_hash(&data));
            leaves.push(data);
            assert_eq!(state.root(), reference_root(&leaves), "size {}", index + 1);
            assert_eq!(state.frontier.len(), state.size.count_ones() as usize);
        }
    }

    #[test]
    fn checkpoints_that_go_back_or_change_a_root_are_forks() {
        let entries = chain(
            &office(),
            (1..=5).map(|n| registration(n, "Etoile")).collect(),
        );
        let author = office().public_key();
        let did = author.to_did_key();
        let mut state = MonitorState::default();
        let (feed, _) = state
            .verify_entries(&author, &bytes(&entries[..3]), &Watch::default())
            .expect("verifies");
        let root3 = feed.root();
        state.accept(&did, feed);
        assert_eq!(state.plan(&did, 3, &root3), Ok(CheckpointPlan::Unchanged));
        assert_eq!(
            state.plan(&did, 5, &TreeHash([1; 32])),
            Ok(CheckpointPlan::Extend { from: 3, to: 5 })
        );
        assert!(state.plan(&did, 2, &root3).is_err(), "a log never shrinks");
        let fork = state
            .plan(&did, 3, &TreeHash([9; 32]))
            .expect_err("another root");
        assert!(fork.reason.contains("different roots"), "{}", fork.reason);
        // The next entries extend the verified tree to the full feed's root.
        let (feed, _) = state
            .verify_entries(&author, &bytes(&entries[3..]), &Watch::default())
            .expect("verifies");
        assert_eq!(feed.root(), reference_root(&bytes(&entries)));
        assert!(feed.is_well_formed());
    }

    #[test]
    fn entries_that_are_not_the_feed_s_are_forks() {
        let author = office().public_key();
        let entries = chain(
            &office(),
            (1..=3).map(|n| registration(n, "Etoile")).collect(),
        );
        let other = chain(&SecretKey::from_seed(&[9; 32]), vec![registration(1, "X")]);
        let watch = Watch::default();
        let mut state = MonitorState::default();
        // Skipping an entry: the seq is wrong.
        assert!(
            state
                .verify_entries(&author, &bytes(&entries[1..]), &watch)
                .is_err()
        );
        // Another author's entry.
        assert!(
            state
                .verify_entries(&author, &bytes(&other), &watch)
                .is_err()
        );
        // A flipped byte: the signature fails (or the JSON does).
        let mut tampered = bytes(&entries);
        let last = tampered[0].len() - 3;
        tampered[0][last] ^= 1;
        assert!(state.verify_entries(&author, &tampered, &watch).is_err());
        // The same entry, not in canonical form (a space added).
        let mut spaced = bytes(&entries[..1]);
        spaced[0].insert(1, b' ');
        let fork = state
            .verify_entries(&author, &spaced, &watch)
            .expect_err("refused");
        assert!(fork.reason.contains("canonical"), "{}", fork.reason);
        // Nothing of the refused batches was kept.
        assert_eq!(
            state.feeds.get(&author.to_did_key()).map(|feed| feed.size),
            Some(0)
        );
    }

    #[test]
    fn watched_marks_and_rights_select_the_events() {
        let author = office().public_key();
        let mut status = examples::status();
        status["right_id"] = json!("FR-TM-2");
        let entries = chain(
            &office(),
            vec![
                registration(1, "Maison Noire"),
                registration(2, "ÉTOILE du Nord"),
                (EntryKind::Status, status),
            ],
        );
        let watch = Watch {
            holders: Vec::new(),
            marks: vec![rightsnet_node::text::fold("etoile")],
        };
        let mut state = MonitorState::default();
        let (_, events) = state
            .verify_entries(&author, &bytes(&entries), &watch)
            .expect("verifies");
        let kinds: Vec<_> = events
            .iter()
            .map(|event| {
                (
                    event["event"].as_str().unwrap().to_owned(),
                    event["seq"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![("registration".to_owned(), 2), ("status".to_owned(), 3)],
            "{events:?}"
        );
        // Watching nothing in particular reports every registration.
        let mut everything = MonitorState::default();
        let (_, events) = everything
            .verify_entries(&author, &bytes(&entries), &Watch::default())
            .expect("verifies");
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn a_state_file_round_trips_and_a_malformed_frontier_is_caught() {
        let author = office().public_key();
        let entries = chain(&office(), (1..=7).map(|n| registration(n, "A")).collect());
        let mut state = MonitorState::default();
        let (feed, _) = state
            .verify_entries(&author, &bytes(&entries), &Watch::default())
            .expect("verifies");
        state.accept(&author.to_did_key(), feed.clone());
        let text = serde_json::to_string(&state).unwrap();
        let back: MonitorState = serde_json::from_str(&text).unwrap();
        assert_eq!(back.feeds[&author.to_did_key()], feed);
        let mut broken = feed;
        broken.frontier.pop();
        assert!(!broken.is_well_formed());
    }
}
