//! Transparency (protocol §14.3–14.4): this node's checkpoints, its witness, split-view
//! detection and the witness policy.
//!
//! - The **checkpointer** (`checkpointer.rs`, [`Transparency::run`]) ticks every
//!   [`CHECKPOINT_INTERVAL`]: when the own feed's head is above the latest own checkpoint it
//!   asks the writer to sign one ([`crate::ingest::Ingest::checkpoint_own`]) and gossips it;
//!   it retries checkpoints that were ahead of a feed, and re-gossips the own latest checkpoint
//!   when it gained cosignatures or every [`REGOSSIP_INTERVAL`].
//! - The **witness** (`receive.rs`): every checkpoint received (gossip on the checkpoints
//!   topic, or the C2SP `add-checkpoint` call) whose author's signature verifies and whose
//!   author is trusted is checked against the store and the pure rule of `witness.rs`:
//!   cosigned (and gossiped with the cosignatures held), held until the feed catches up
//!   (bounded, newest per feed), or refused. The checkpoint and its valid cosignatures are
//!   stored when its root is this node's tree. One checkpoint is processed at a time, so the
//!   witness state is read and written atomically (C2SP tlog-witness).
//! - **Split views** (`split_view.rs`, pure): two checkpoints of one feed that contradict each
//!   other become a proof, stored, gossiped and listed by `GET /v1/equivocations`; the author
//!   is flagged ([`Transparency::is_flagged`]).
//! - **Proofs** (`proofs.rs`): an entry's tlog-proof against the latest stored checkpoint
//!   covering it, for `GET /v1/entries/{id}/proof` and the credentials the node issues.
//! - The **policy** (`policy.rs`): the witness policy file, and which checkpoint a verdict's
//!   registry state came from.
//!
//! Nothing here names libp2p: the network takes outgoing messages from
//! [`Transparency::subscribe_outgoing`] and hands incoming ones to
//! [`Transparency::receive_gossip`], which answers what gossipsub should do with them.

mod add_checkpoint;
mod checkpointer;
pub mod policy;
pub mod proofs;
mod receive;
pub mod split_view;
pub mod witness;

pub use policy::{CheckpointRelied, load_policy};
pub use receive::{Acceptance, AddCheckpointError};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use proto_types::checkpoint::VerifiedCheckpoint;
use proto_types::checkpoint::cosignature::{witness_name, witness_vkey};
use proto_types::checkpoint::policy::WitnessPolicy;
use proto_types::keys::{PublicKey, SecretKey};
use tokio::sync::{Mutex, broadcast};

use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::storage::Store;

/// How often the checkpointer looks at the own feed (protocol §14.3: at most one checkpoint a
/// second while the node writes).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// How often the own latest checkpoint is gossiped again even when nothing changed, so that a
/// node that missed it (or joined later) witnesses it.
pub const REGOSSIP_INTERVAL: Duration = Duration::from_secs(60);
/// Checkpoints ahead of this node's copy of their feed, held until the entries arrive: at most
/// one (the newest) per feed, and at most this many feeds.
pub const MAX_PENDING_CHECKPOINTS: usize = 1024;
/// Checkpoints that contradict this node's tree but that no checkpoint it holds proves wrong
/// yet: at most one (the latest) per feed, and at most this many feeds.
pub const MAX_HELD_CONFLICTS: usize = 256;
/// Outgoing gossip messages buffered for the network; a lagging network skips some (the next
/// checkpoint or the re-gossip makes up for them).
pub const OUTGOING_CAPACITY: usize = 1024;

/// A message for the checkpoints topic: a checkpoint note with cosignatures, or a split-view
/// proof's JSON.
pub type OutgoingMessage = Arc<[u8]>;

/// This node's witness identity, as `GET /v1/status` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessIdentity {
    /// The key name, `rightsnet/witness/<did:key>`.
    pub name: String,
    /// The signed-note verifier key (`name+keyid+base64(0x04 ‖ key)`), for a witness policy.
    pub vkey: String,
}

/// What the witness holds in memory between checkpoints (behind one lock, which also makes
/// each checkpoint's processing atomic).
#[derive(Default)]
struct Memory {
    /// Checkpoints ahead of this node's feed, newest per author.
    pending: HashMap<PublicKey, VerifiedCheckpoint>,
    /// Checkpoints contradicting this node's tree, not yet proved wrong, latest per author.
    conflicts: HashMap<PublicKey, VerifiedCheckpoint>,
}

/// The transparency service: shared by the API, the network and the checkpointer.
pub struct Transparency {
    ingest: Ingest,
    store: Arc<Store>,
    witness_key: Arc<SecretKey>,
    identity: WitnessIdentity,
    policy: Option<Arc<WitnessPolicy>>,
    outgoing: broadcast::Sender<OutgoingMessage>,
    memory: Mutex<Memory>,
    metrics: Arc<Metrics>,
}

impl Transparency {
    /// The service over the node's ingest path, with its witness key and witness policy.
    pub fn new(
        ingest: Ingest,
        witness_key: Arc<SecretKey>,
        policy: Option<Arc<WitnessPolicy>>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let (outgoing, _) = broadcast::channel(OUTGOING_CAPACITY);
        let public = witness_key.public_key();
        Arc::new(Self {
            store: ingest.store().clone(),
            ingest,
            identity: WitnessIdentity {
                name: witness_name(&public),
                vkey: witness_vkey(&public),
            },
            witness_key,
            policy,
            outgoing,
            memory: Mutex::new(Memory::default()),
            metrics,
        })
    }

    /// This node's witness key name and vkey.
    pub fn identity(&self) -> &WitnessIdentity {
        &self.identity
    }

    /// The witness public key.
    pub fn witness_key(&self) -> PublicKey {
        self.witness_key.public_key()
    }

    /// The witness policy the node's verdicts apply, if configured.
    pub fn policy(&self) -> Option<&Arc<WitnessPolicy>> {
        self.policy.as_ref()
    }

    /// Messages to gossip on the checkpoints topic.
    pub fn subscribe_outgoing(&self) -> broadcast::Receiver<OutgoingMessage> {
        self.outgoing.subscribe()
    }

    fn publish(&self, message: Vec<u8>) {
        // No subscriber: no network (a node without federation); nothing to do.
        let _ = self.outgoing.send(message.into());
    }

    /// Whether a split-view proof against `author` (or the authority its key belongs to) is
    /// stored: the authority is flagged everywhere (status, trust view, verdicts).
    pub fn is_flagged(&self, author: &PublicKey) -> bool {
        let trust = self.ingest.trust();
        let root = trust.root(author);
        let flagged =
            |key: &PublicKey| self.store.has_checkpoint_equivocation(key).unwrap_or(false);
        flagged(author) || (root != *author && flagged(&root))
    }

    /// Every author with a stored split-view proof (blocking: call off the executor).
    pub fn flagged_authors(&self) -> Vec<PublicKey> {
        self.store.split_view_authors().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
