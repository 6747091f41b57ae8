//! The Merkle tree of every feed (protocol §14.1), stored as its complete nodes.
//!
//! Family `tlog`: author key (32) ‖ level (1) ‖ index (u64 BE) → the node's hash (32). A node
//! is written once, when the complete subtree under it exists, in the same batch as the entry
//! that completes it; it never changes afterwards. A feed of n entries has fewer than 2n nodes.
//! Any root, inclusion or consistency proof reads at most 128 of them in one `multi_get`, and a
//! hash tile is one range scan of at most 256 consecutive keys.
//!
//! The reads the transparency routes serve (protocol §14.5–14.6) are here too: a hash tile
//! ([`Store::hash_tile`], one range scan), the entries of an entry bundle
//! ([`Store::bundle_entries`], one range scan of the `feeds` family and one `multi_get` of
//! `entries`), and inclusion and consistency proofs ([`Store::inclusion_proof`],
//! [`Store::consistency_proof`], one `multi_get` each). Each is asked for a tree size the
//! caller has checked against the feed's head; since a stored node never changes and the head
//! is written in the same batch as the nodes under it, any size up to a head read earlier is
//! answered whole and the same every time.
//!
//! [`StagedTree`] is the writer's half: the nodes a group of entries has written but not yet
//! committed, so that the next entry of the same feed in the group finds its left siblings.
//! The same code builds the trees of a store written before trees existed (`StoreWriter::build_trees`).

use std::collections::HashMap;

use proto_types::keys::PublicKey;
use proto_types::tlog::{
    self, HashReader, MAX_ENTRIES_PER_BUNDLE, NodeId, TILE_HEIGHT, TILE_WIDTH, TileId, TreeError,
    TreeHash,
};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::{Result, StorageError, Store, StoreBatch, StoreWriter, cf, corrupt, keys};

impl Store {
    /// The stored hashes of `nodes` in `author`'s tree, in order; `None` for a node not stored
    /// (its subtree is not complete). One `multi_get`.
    pub fn tree_nodes(
        &self,
        author: &PublicKey,
        nodes: &[NodeId],
    ) -> Result<Vec<Option<TreeHash>>> {
        let family = self.cf(cf::TLOG);
        let keys: Vec<_> = nodes
            .iter()
            .map(|node| (family, keys::tree_node(author, node)))
            .collect();
        self.db
            .multi_get_cf(keys)
            .into_iter()
            .map(|value| value?.map(|bytes| decode_hash(&bytes)).transpose())
            .collect()
    }

    /// Up to `count` consecutive stored hashes of `author`'s tree at `level`, from `index` on
    /// (a hash tile's contents: protocol §14.5). Stops at the first node not stored.
    pub fn tree_level(
        &self,
        author: &PublicKey,
        level: u8,
        index: u64,
        count: usize,
    ) -> Result<Vec<TreeHash>> {
        let start = keys::tree_node(author, &NodeId::new(level, index));
        let mut read_options = ReadOptions::default();
        read_options.set_iterate_upper_bound(keys::tree_level_end(author, level).to_vec());
        let mut hashes = Vec::with_capacity(count.min(MAX_TREE_LEVEL_READ));
        let nodes = self.db.iterator_cf_opt(
            self.cf(cf::TLOG),
            read_options,
            IteratorMode::From(&start, Direction::Forward),
        );
        for (item, expected) in nodes.zip(index..).take(count.min(MAX_TREE_LEVEL_READ)) {
            let (key, value) = item?;
            if keys::tree_node_index(&key) != Some(expected) {
                break;
            }
            hashes.push(decode_hash(&value)?);
        }
        Ok(hashes)
    }

    /// A reader of `author`'s stored tree for the proof functions of [`proto_types::tlog`].
    pub fn tree_reader<'a>(&'a self, author: &'a PublicKey) -> TreeReader<'a> {
        TreeReader {
            store: self,
            author,
        }
    }

    /// The root of the first `size` leaves of `author`'s tree (which must hold at least `size`
    /// entries).
    pub fn tree_root(&self, author: &PublicKey, size: u64) -> Result<TreeHash> {
        tlog::tree_hash(size, &mut self.tree_reader(author)).map_err(tree_error)
    }

    /// The hashes of the hash tile `tile` of `author`'s tree, which must be served in the
    /// tree of the feed's head ([`TileId::is_served_in`]): exactly `tile.width` hashes, or a
    /// corrupt store.
    pub fn hash_tile(&self, author: &PublicKey, tile: &TileId) -> Result<Vec<TreeHash>> {
        let first = tile
            .index
            .checked_mul(u64::from(TILE_WIDTH))
            .ok_or_else(|| corrupt(cf::TLOG, format!("tile {tile:?} past any tree")))?;
        let width = usize::from(tile.width);
        let hashes = self.tree_level(author, tile.level * TILE_HEIGHT, first, width)?;
        if hashes.len() != width {
            return Err(corrupt(
                cf::TLOG,
                format!(
                    "tile {} of {author} has {} of its {width} nodes",
                    tile.path(),
                    hashes.len()
                ),
            ));
        }
        Ok(hashes)
    }

    /// The canonical bytes of the `count` entries of `author`'s feed from `first_seq` on (an
    /// entry bundle's entries: at most [`MAX_ENTRIES_PER_BUNDLE`], so at most 256 · 65 535
    /// bytes), which the feed must hold: fewer is a corrupt store.
    pub fn bundle_entries(
        &self,
        author: &PublicKey,
        first_seq: u64,
        count: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let count = count.min(MAX_ENTRIES_PER_BUNDLE);
        let entries = self.feed(author, first_seq, count, usize::MAX)?;
        if entries.len() != count {
            return Err(corrupt(
                cf::FEEDS,
                format!(
                    "feed of {author} has {} of the {count} entries from seq {first_seq}",
                    entries.len()
                ),
            ));
        }
        Ok(entries)
    }

    /// The inclusion proof of leaf `index` in the first `size` leaves of `author`'s tree (RFC
    /// 9162 §2.1.3.1), which must hold at least `size` entries; `index < size`.
    pub fn inclusion_proof(
        &self,
        author: &PublicKey,
        index: u64,
        size: u64,
    ) -> Result<Vec<TreeHash>> {
        tlog::inclusion_proof(index, size, &mut self.tree_reader(author)).map_err(tree_error)
    }

    /// The consistency proof between the first `old_size` and `new_size` leaves of `author`'s
    /// tree (RFC 9162 §2.1.4.1), which must hold at least `new_size` entries;
    /// `0 < old_size ≤ new_size`.
    pub fn consistency_proof(
        &self,
        author: &PublicKey,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<TreeHash>> {
        tlog::consistency_proof(old_size, new_size, &mut self.tree_reader(author))
            .map_err(tree_error)
    }
}

impl StoreWriter {
    /// Builds the trees of every feed from the stored entries, for a store written before
    /// trees existed (schema version 1). Idempotent: a node is written with the value it must
    /// have, so a build killed half-way is simply run again. Commits every
    /// [`BUILD_BATCH_ENTRIES`] entries; returns how many entries it hashed.
    pub(super) fn build_trees(&self) -> Result<u64> {
        let mut built = 0u64;
        for (author, head) in self.heads()? {
            let mut seq = 1u64;
            while seq <= head.seq {
                let mut staged = StagedTree::default();
                let mut batch = self.batch();
                let entries = self.feed(&author, seq, BUILD_BATCH_ENTRIES, usize::MAX)?;
                if entries.is_empty() {
                    return Err(corrupt(
                        cf::FEEDS,
                        format!("feed of {author} ends before its head, at seq {seq}"),
                    ));
                }
                for bytes in &entries {
                    staged.append(self, &mut batch, &author, seq, bytes)?;
                    seq += 1;
                }
                built += entries.len() as u64;
                self.commit(batch, false)?;
            }
        }
        Ok(built)
    }

    /// Compacts the `tlog` family: after a bulk build (an upgrade, a benchmark), so that proofs
    /// and tiles read from few, sorted files instead of the build's many overlapping ones.
    /// Blocking, and as long as RocksDB needs to rewrite the family.
    pub fn compact_trees(&self) {
        self.db
            .compact_range_cf(self.cf(cf::TLOG), None::<&[u8]>, None::<&[u8]>);
    }

    /// Upgrades a store of schema `from` (1 or 2): builds what later versions added (every
    /// feed's tree from version 1, the screening index from 1 and 2), then records the current
    /// schema version (synced). Every step is idempotent: a kill before the version is written
    /// leaves the old version, and the next open builds again.
    pub(super) fn upgrade_to_current(&self, path: &std::path::Path, from: u32) -> Result<()> {
        tracing::warn!(path = %path.display(), from, "upgrading the store to schema version {}", super::SCHEMA_VERSION);
        let mut built = 0;
        if from < 2 {
            built = self.build_trees()?;
            self.compact_trees();
        }
        let screened = self.build_screen_index()?;
        self.write_schema_version()?;
        tracing::info!(
            entries = built,
            rights = screened,
            "store upgraded to schema version {}",
            super::SCHEMA_VERSION
        );
        Ok(())
    }
}

/// The most hashes [`Store::tree_level`] reads at once: a full tile (protocol §14.5).
pub const MAX_TREE_LEVEL_READ: usize = 256;

/// Entries per commit while building the trees of an old store.
pub const BUILD_BATCH_ENTRIES: usize = 4096;

fn decode_hash(bytes: &[u8]) -> Result<TreeHash> {
    <[u8; 32]>::try_from(bytes)
        .map(TreeHash)
        .map_err(|_| corrupt(cf::TLOG, format!("a node hash of {} bytes", bytes.len())))
}

/// A tree read failed: the store's error, or a node that should be stored and is not.
pub(super) fn tree_error(error: TreeError<StorageError>) -> StorageError {
    match error {
        TreeError::Read(error) => error,
        other => corrupt(cf::TLOG, other),
    }
}

/// Reads one feed's stored tree; a node that is not stored is a corrupt store (the proof
/// functions only ask for complete nodes of a size the feed has).
pub struct TreeReader<'a> {
    store: &'a Store,
    author: &'a PublicKey,
}

impl HashReader for TreeReader<'_> {
    type Error = StorageError;

    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>> {
        let found = self.store.tree_nodes(self.author, nodes)?;
        nodes
            .iter()
            .zip(found)
            .map(|(node, hash)| {
                hash.ok_or_else(|| {
                    corrupt(
                        cf::TLOG,
                        format!(
                            "node {}/{} of {} missing",
                            node.level, node.index, self.author
                        ),
                    )
                })
            })
            .collect()
    }
}

/// The tree nodes a group of entries has staged but not committed, by author.
#[derive(Default)]
pub struct StagedTree {
    nodes: HashMap<(PublicKey, NodeId), TreeHash>,
}

impl StagedTree {
    /// The nodes that the entry at `seq` of `author` (whose tree holds `seq − 1` leaves,
    /// committed or staged here) adds to its tree: its leaf and the nodes it completes.
    /// Only reads; [`StagedTree::put`] writes them. `canonical_bytes` are the entry as stored.
    pub fn prepare(
        &self,
        store: &Store,
        author: &PublicKey,
        seq: u64,
        canonical_bytes: &[u8],
    ) -> Result<PreparedLeaf> {
        let index = seq
            .checked_sub(1)
            .ok_or_else(|| corrupt(cf::TLOG, "an entry at seq 0"))?;
        let wanted = tlog::append_siblings(index);
        let mut siblings: Vec<Option<TreeHash>> = wanted
            .iter()
            .map(|node| self.nodes.get(&(*author, *node)).copied())
            .collect();
        let unstaged: Vec<NodeId> = wanted
            .iter()
            .zip(&siblings)
            .filter(|(_, hash)| hash.is_none())
            .map(|(node, _)| *node)
            .collect();
        if !unstaged.is_empty() {
            let mut read = store.tree_nodes(author, &unstaged)?.into_iter();
            for slot in siblings.iter_mut().filter(|hash| hash.is_none()) {
                *slot = read.next().flatten();
            }
        }
        let siblings: Vec<TreeHash> = wanted
            .iter()
            .zip(siblings)
            .map(|(node, hash)| {
                hash.ok_or_else(|| {
                    corrupt(
                        cf::TLOG,
                        format!(
                            "node {}/{} of {author} missing before seq {seq}",
                            node.level, node.index
                        ),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let nodes = tlog::append_leaf(index, tlog::leaf_hash(canonical_bytes), &siblings)
            .map_err(|error| corrupt(cf::TLOG, error))?;
        Ok(PreparedLeaf {
            author: *author,
            nodes,
        })
    }

    /// A node of `author`'s tree staged by this group (not yet committed), if any.
    pub fn staged_node(&self, author: &PublicKey, node: &NodeId) -> Option<TreeHash> {
        self.nodes.get(&(*author, *node)).copied()
    }

    /// Writes a prepared leaf's nodes into `batch` and keeps them for the group's next entries.
    pub fn put(&mut self, batch: &mut StoreBatch, leaf: PreparedLeaf) {
        for (node, hash) in leaf.nodes {
            batch.put_tree_node(&leaf.author, &node, &hash);
            self.nodes.insert((leaf.author, node), hash);
        }
    }

    /// [`StagedTree::prepare`] then [`StagedTree::put`].
    pub fn append(
        &mut self,
        store: &Store,
        batch: &mut StoreBatch,
        author: &PublicKey,
        seq: u64,
        canonical_bytes: &[u8],
    ) -> Result<()> {
        let leaf = self.prepare(store, author, seq, canonical_bytes)?;
        self.put(batch, leaf);
        Ok(())
    }
}

/// The nodes one entry adds to its feed's tree, computed but not yet written.
#[must_use = "a prepared leaf is written by StagedTree::put"]
pub struct PreparedLeaf {
    author: PublicKey,
    nodes: Vec<(NodeId, TreeHash)>,
}
