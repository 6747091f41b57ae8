//! What every request handler shares: the node's configuration, its store (read through
//! [`StoreReader`]), the ingest path, its keys, metrics and the federation handle.

use std::sync::Arc;

use proto_types::keys::{PublicKey, SecretKey};

use crate::config::NodeConfig;
use crate::ingest::Ingest;
use crate::keyring::SigningKeys;
use crate::metrics::Metrics;
use crate::network::{Network, Peers};
use crate::screening::Screener;
use crate::status_lists::StatusLists;
use crate::storage::{Store, StoreReader};
use crate::transparency::Transparency;

/// Everything request handlers share.
#[derive(Clone)]
pub struct NodeState {
    /// The node's configuration.
    pub config: Arc<NodeConfig>,
    /// The store, for reads.
    pub store: Arc<Store>,
    /// The ingest path, for writes.
    pub ingest: Ingest,
    /// The authority this node signs for: its identifier, the original key of its chain of
    /// rotations (protocol §7.6).
    pub authority: PublicKey,
    /// The authority's key ring: the current key signs entries and credentials, retired keys
    /// sign what their key signed before (status lists). See [`NodeState::signing_key`].
    pub keys: Arc<SigningKeys>,
    /// The key of seller references (marketplaces only).
    pub seller_key: Option<Arc<[u8; 32]>>,
    /// The operator's bearer token.
    pub operator_token: Arc<str>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Peers.
    pub peers: Arc<Peers>,
    /// The federation.
    pub network: Network,
    /// The Bitstring Status Lists this node publishes: its public URL, where their bits come
    /// from, and the signed copies.
    pub status_lists: Arc<StatusLists>,
    /// Checkpoints, the witness, split views and the witness policy.
    pub transparency: Arc<Transparency>,
    /// Screening of listings: the lexicon and the territory policy.
    pub screener: Arc<Screener>,
    /// Progress of recent register imports (batch registrations).
    pub imports: Arc<crate::imports::ImportLog>,
}

impl NodeState {
    /// A read handle on the store: how handlers read, off the async executor.
    pub fn reader(&self) -> StoreReader {
        StoreReader::new(self.store.clone())
    }

    /// The key this node signs with now (it changes when the node rotates its key).
    pub fn signing_key(&self) -> Arc<SecretKey> {
        self.keys.current()
    }
}
