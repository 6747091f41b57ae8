//! Transparency logs: every feed is a Merkle tree (protocol.md §14), hashed as RFC 9162 §2.1
//! says, read and proved the way C2SP tlog-tiles and Go's `golang.org/x/mod/sumdb/tlog` do.
//!
//! The tree of a feed holds one leaf per entry: leaf index `seq − 1`, leaf data the entry's
//! canonical bytes (the bytes whose SHA-256 is the entry id). Its nodes are named by
//! [`NodeId`] (a level and an index within the level); a node is *stored* once the complete
//! subtree under it exists, and never changes after that. Appending leaf `n` stores the leaf
//! hash and one node for every trailing one bit of `n` ([`append_leaf`]), so a tree of `n`
//! leaves stores fewer than `2n` hashes, and every hash a proof or a tile needs is one of them.
//!
//! Everything here is pure: hashes are read through [`HashReader`], which the node implements
//! over its store and a test over a vector.
//!
//! - [`proof`]: inclusion and consistency proofs (RFC 9162 §2.1.3–2.1.4), built from stored
//!   nodes in one read and verified without any; the old root a consistency proof implies, as
//!   split-view evidence.
//! - [`tile`]: C2SP tlog-tiles: tile coordinates and paths, which tiles a tree has, a
//!   [`HashReader`] over fetched tiles, and entry bundles.

use sha2::{Digest, Sha256};

pub mod proof;
pub mod tile;

pub use proof::{
    MAX_CONSISTENCY_PROOF_HASHES, MAX_INCLUSION_PROOF_HASHES, MAX_PROOF_HASHES, ProofError,
    consistency_evidence, consistency_proof, inclusion_proof, old_root_from_consistency,
    verify_consistency, verify_inclusion,
};
pub use tile::{
    EntryBundleError, MAX_BUNDLE_ENTRY_BYTES, MAX_ENTRIES_PER_BUNDLE, MAX_TILE_LEVEL,
    MAX_TILE_PATH_BYTES, MAX_TILE_READ_NODES, TILE_HASH_BYTES, TILE_HEIGHT, TILE_WIDTH, TileError,
    TileHashReader, TileId, TilePath, TileReadError, TileReader, decode_entry_bundle,
    decode_hash_tile, encode_entry_bundle, encode_hash_tile, hash_tile_nodes, parse_tile_path,
};

/// A SHA-256 hash of a leaf or an interior node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeHash(pub [u8; 32]);

impl std::fmt::Debug for TreeHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "TreeHash({})", hex::encode(self.0))
    }
}

impl TreeHash {
    /// The root hash of the empty tree: SHA-256 of no bytes (RFC 9162 §2.1.1).
    pub fn empty() -> Self {
        Self(Sha256::digest([]).into())
    }
}

/// Domain separation of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation of interior node hashes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> TreeHash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    TreeHash(hasher.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    TreeHash(hasher.finalize().into())
}

/// The largest level a node can have: a tree of at most 2^63 leaves.
pub const MAX_LEVEL: u8 = 63;

/// A node of the tree: the root of the complete subtree of the `2^level` leaves that start at
/// leaf `index · 2^level`. Level 0 nodes are the leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position within the level, from 0 on the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level`, `index`.
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The first leaf under this node. Meaningful for the nodes of a tree (those some size
    /// [`is_complete_in`](Self::is_complete_in)); for a level above [`MAX_LEVEL`] it is 0.
    pub fn first_leaf(&self) -> u64 {
        self.index.checked_shl(u32::from(self.level)).unwrap_or(0)
    }

    /// Whether the node is stored in a tree of `size` leaves: its subtree is complete.
    pub fn is_complete_in(&self, size: u64) -> bool {
        // (index + 1) · 2^level ≤ size, without overflow.
        let Some(count) = self.index.checked_add(1) else {
            return false;
        };
        match count.checked_shl(u32::from(self.level)) {
            Some(end) => end >> self.level == count && end <= size,
            None => false,
        }
    }
}

/// Reads stored node hashes. Every id asked for is a node of a complete subtree
/// ([`NodeId::is_complete_in`] the tree's size); a reader answers all of them, in order, or
/// fails.
pub trait HashReader {
    /// Why a read failed.
    type Error;

    /// The hashes of `nodes`, in the same order.
    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, Self::Error>;
}

/// What a [`HashReader`] answered that the tree cannot be: a reader returned the wrong number
/// of hashes, or a size is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError<E> {
    /// The reader failed.
    #[error("reading tree hashes failed: {0}")]
    Read(E),
    /// The reader answered a different number of hashes than asked.
    #[error("the hash reader answered {answered} hashes for {asked} nodes")]
    ShortRead {
        /// Nodes asked for.
        asked: usize,
        /// Hashes answered.
        answered: usize,
    },
    /// A size or index outside the tree.
    #[error("{0}")]
    OutOfRange(String),
}

/// Reads `nodes` and checks that the reader answered one hash per node.
pub fn read_exactly<R: HashReader>(
    reader: &mut R,
    nodes: &[NodeId],
) -> Result<Vec<TreeHash>, TreeError<R::Error>> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(nodes).map_err(TreeError::Read)?;
    if hashes.len() != nodes.len() {
        return Err(TreeError::ShortRead {
            asked: nodes.len(),
            answered: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The stored nodes that appending leaf `index` (the tree then has `index + 1` leaves) joins
/// with: the left siblings on the path up from the new leaf, lowest first, one for every
/// trailing one bit of `index`.
pub fn append_siblings(index: u64) -> Vec<NodeId> {
    let mut siblings = Vec::new();
    let mut level: u8 = 0;
    while level < MAX_LEVEL && (index >> level) & 1 == 1 {
        siblings.push(NodeId::new(level, (index >> level) - 1));
        level += 1;
    }
    siblings
}

/// Appends the leaf `index` whose hash is `leaf` to a tree of `index` leaves: the nodes to
/// store, lowest first (the leaf itself, then one node per trailing one bit of `index`).
/// `siblings` are the hashes of [`append_siblings`]`(index)`, in that order.
pub fn append_leaf(
    index: u64,
    leaf: TreeHash,
    siblings: &[TreeHash],
) -> Result<Vec<(NodeId, TreeHash)>, TreeError<std::convert::Infallible>> {
    let wanted = append_siblings(index);
    if siblings.len() != wanted.len() {
        return Err(TreeError::ShortRead {
            asked: wanted.len(),
            answered: siblings.len(),
        });
    }
    let mut stored = Vec::with_capacity(wanted.len() + 1);
    stored.push((NodeId::new(0, index), leaf));
    let mut hash = leaf;
    for (level, sibling) in siblings.iter().enumerate() {
        hash = node_hash(sibling, &hash);
        // level < MAX_LEVEL: `append_siblings` stops there.
        let level = level as u8 + 1;
        stored.push((NodeId::new(level, index >> level), hash));
    }
    Ok(stored)
}

/// The complete subtrees that make up a tree of `size` leaves, left to right: one per one bit
/// of `size`, largest first. The root is their hashes folded from the right.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    subtree_nodes(0, size)
}

/// The maximal complete subtrees that cover the leaves `start..end`, left to right. `start`
/// must be a multiple of the largest power of two not above `end − start` wherever a subtree
/// of that size starts, which holds for every range RFC 9162's proofs use (`start` is 0 or a
/// multiple of the size of the range's first subtree).
pub fn subtree_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut position = start;
    while position < end {
        // The largest aligned power of two that starts at `position` and fits before `end`.
        let mut level: u32 = if position == 0 {
            63
        } else {
            position.trailing_zeros()
        };
        while level > 0 && (1u64 << level) > end - position {
            level -= 1;
        }
        nodes.push(NodeId::new(level as u8, position >> level));
        position += 1u64 << level;
    }
    nodes
}

/// Folds the hashes of consecutive complete subtrees (as [`subtree_nodes`] lists them) into the
/// hash of the range they cover: from the right, `node_hash(left, folded_right)`.
pub fn fold_from_right(hashes: &[TreeHash]) -> Option<TreeHash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The root hash of the tree of the first `size` leaves (RFC 9162 §2.1.1; the empty tree's is
/// [`TreeHash::empty`]), read from at most 64 stored nodes.
pub fn tree_hash<R: HashReader>(
    size: u64,
    reader: &mut R,
) -> Result<TreeHash, TreeError<R::Error>> {
    let nodes = root_nodes(size);
    let hashes = read_exactly(reader, &nodes)?;
    Ok(fold_from_right(&hashes).unwrap_or_else(TreeHash::empty))
}

/// A whole tree in memory, built only through [`append_leaf`]: for tests, and for tools that
/// hold a small log entirely. Its reader answers a node that is not stored with that node.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    size: u64,
    nodes: std::collections::BTreeMap<NodeId, TreeHash>,
}

impl MemoryTree {
    /// A tree of `leaves`, in order.
    pub fn with_leaves<'a>(leaves: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut tree = Self::default();
        for data in leaves {
            tree.append(data);
        }
        tree
    }

    /// Appends a leaf whose data is `data`.
    pub fn append(&mut self, data: &[u8]) {
        self.append_hash(leaf_hash(data));
    }

    /// Appends a leaf whose hash is `leaf`.
    pub fn append_hash(&mut self, leaf: TreeHash) {
        let siblings: Vec<TreeHash> = append_siblings(self.size)
            .iter()
            .filter_map(|node| self.nodes.get(node).copied())
            .collect();
        // Every sibling of a leaf appended here is stored: the tree is complete up to `size`.
        if let Ok(stored) = append_leaf(self.size, leaf, &siblings) {
            self.nodes.extend(stored);
            self.size += 1;
        }
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored nodes, by id.
    pub fn nodes(&self) -> &std::collections::BTreeMap<NodeId, TreeHash> {
        &self.nodes
    }

    /// The root of the whole tree.
    pub fn root(&self) -> TreeHash {
        let nodes = root_nodes(self.size);
        let hashes: Vec<TreeHash> = nodes
            .iter()
            .filter_map(|node| self.nodes.get(node).copied())
            .collect();
        fold_from_right(&hashes).unwrap_or_else(TreeHash::empty)
    }
}

impl HashReader for MemoryTree {
    type Error = NodeId;

    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, NodeId> {
        nodes
            .iter()
            .map(|id| self.nodes.get(id).copied().ok_or(*id))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 9162 §2.1.1's definition, recursively, for comparison.
    fn reference_root(leaves: &[Vec<u8>]) -> TreeHash {
        match leaves.len() {
            0 => TreeHash::empty(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_recursive_definition_for_every_size_up_to_300() {
        let mut tree = MemoryTree::default();
        let mut leaves = Vec::new();
        assert_eq!(tree_hash(0, &mut tree).unwrap(), TreeHash::empty());
        for index in 0..300u32 {
            let data = index.to_be_bytes().to_vec();
            tree.append(&data);
            leaves.push(data);
            assert_eq!(
                tree_hash(tree.size, &mut tree).unwrap(),
                reference_root(&leaves),
                "size {}",
                tree.size
            );
            // Every smaller size's root stays readable from the same stored nodes.
            let earlier = u64::from(index) / 2;
            assert_eq!(
                tree_hash(earlier, &mut tree).unwrap(),
                reference_root(&leaves[..earlier as usize])
            );
        }
        // Fewer than 2n hashes stored.
        assert!(tree.nodes.len() < 2 * 300);
    }

    #[test]
    fn subtree_nodes_cover_a_range_with_maximal_aligned_subtrees() {
        assert_eq!(
            root_nodes(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert_eq!(
            subtree_nodes(8, 13),
            vec![NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert!(root_nodes(0).is_empty());
        assert_eq!(root_nodes(u64::MAX).len(), 64);
    }

    #[test]
    fn completeness_of_nodes() {
        assert!(NodeId::new(2, 1).is_complete_in(8));
        assert!(!NodeId::new(2, 1).is_complete_in(7));
        assert!(!NodeId::new(63, 1).is_complete_in(u64::MAX));
    }
}
