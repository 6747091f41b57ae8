//! C2SP tlog-tiles (protocol.md §14.5): tile coordinates and paths, which tiles a tree of a
//! given size has, a [`HashReader`] over fetched tiles, and entry bundles.
//!
//! A tile is a run of at most [`TILE_WIDTH`] consecutive hashes of one tree level: the tile
//! `N` at tile level `L` holds the stored nodes `(8·L, N·256 + i)` for `i` below its width
//! ([`hash_tile_nodes`]). Level-0 tiles hold leaf hashes; every hash of a level-`L` tile is the
//! root of a full tile of level `L − 1`. A tile is *full* when it holds 256 hashes and then
//! never changes; the right edge of every level is a *partial* tile of 1 to 255 hashes. The
//! entry bundle `N` holds the entries whose leaf hashes the level-0 tile `N` holds, each
//! behind a 16-bit big-endian length.
//!
//! Paths are `tile/{L}/{N}[.p/{W}]` and `tile/entries/{N}[.p/{W}]`, with `N` written in
//! 3-digit groups, all but the last prefixed by `x` (`1234067` is `x001/x234/067`). Parsing is
//! strict: a path is accepted only in the one form [`TilePath`]'s `Display` writes.

use std::collections::BTreeMap;
use std::fmt;

use super::{HashReader, MAX_LEVEL, NodeId, TreeHash, node_hash};

/// Tree levels per tile level: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile, and entries in a full entry bundle (2^[`TILE_HEIGHT`]).
pub const TILE_WIDTH: u16 = 256;

/// Bytes of one hash in a tile; a full tile is `256 · 32 = 8192` bytes.
pub const TILE_HASH_BYTES: usize = 32;

/// The highest tile level a tree of fewer than 2^64 leaves has: level 7 holds the hashes of
/// tree level 56, of which such a tree has at most 255. C2SP allows levels up to 63 in a path;
/// the levels above 7 name tiles no Rightsnet tree can have.
pub const MAX_TILE_LEVEL: u8 = MAX_LEVEL / TILE_HEIGHT;

/// The longest canonical tile path: `tile/entries/` and the 20 digits of the largest `u64`
/// (`x018/x446/x744/x073/x709/x551/615`) with `.p/255`. Longer input is refused unread.
pub const MAX_TILE_PATH_BYTES: usize = 52;

/// The most nodes one [`TileHashReader::read_hashes`] call answers (a proof reads fewer than
/// 128, a whole tile 256).
pub const MAX_TILE_READ_NODES: usize = 256;

/// The most entries an entry bundle holds: [`TILE_WIDTH`].
pub const MAX_ENTRIES_PER_BUNDLE: usize = TILE_WIDTH as usize;

/// The largest entry an entry bundle can hold: its length is a 16-bit number. Equal to
/// [`crate::entry::MAX_ENTRY_BYTES`], so every entry fits.
pub const MAX_BUNDLE_ENTRY_BYTES: usize = u16::MAX as usize;

const _: () = assert!(crate::entry::MAX_ENTRY_BYTES == MAX_BUNDLE_ENTRY_BYTES);

/// The coordinates of a hash tile (or, at level 0, of the entry bundle over the same leaves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// The tile level: the tile holds hashes of tree level `8 · level`.
    pub level: u8,
    /// The tile's position within its level, from 0 on the left.
    pub index: u64,
    /// Hashes in the tile, 1 to [`TILE_WIDTH`]; [`TILE_WIDTH`] is a full tile.
    pub width: u16,
}

/// Why a tile path or tile is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The path is longer than [`MAX_TILE_PATH_BYTES`].
    #[error("tile path of {0} bytes is longer than any tile path")]
    PathTooLong(usize),
    /// The path is not a canonical C2SP tlog-tiles path.
    #[error("malformed tile path: {0}")]
    Malformed(&'static str),
    /// The coordinates are well formed but name a tile that no tree of fewer than 2^64 leaves
    /// has (a server answers such a path as it answers a tile beyond its tree: not found).
    #[error("no tree of fewer than 2^64 leaves has this tile")]
    NotInAnyTree,
    /// Tile data of the wrong length.
    #[error("tile data of {length} bytes where the tile holds {expected}")]
    WrongLength {
        /// Bytes given.
        length: usize,
        /// `width · 32`.
        expected: usize,
    },
}

/// The last level-`8·level` node index that exists in a tree of `size` leaves, plus one: the
/// number of hashes at that tree level. Zero for levels no tree has.
fn hashes_at_tile_level(level: u8, size: u64) -> u64 {
    if level > MAX_TILE_LEVEL {
        return 0;
    }
    size >> (u32::from(level) * u32::from(TILE_HEIGHT))
}

impl TileId {
    /// The tile at `level`, `index` with `width` hashes, if some tree of fewer than 2^64 leaves
    /// has it.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        let tile = Self {
            level,
            index,
            width,
        };
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::Malformed("a tile width is 1 to 256"));
        }
        if !tile.is_served_in(u64::MAX) {
            return Err(TileError::NotInAnyTree);
        }
        Ok(tile)
    }

    /// Whether the tile holds [`TILE_WIDTH`] hashes (and so never changes).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Whether every hash of the tile is a stored node of the tree of `size` leaves: the tile
    /// can be served for that tree. A full tile, the partial tile on the right edge of its
    /// level, and any narrower partial tile of that position (the right edge of an earlier
    /// size, which never changes either) are served; wider ones, and tiles past the edge, are
    /// not.
    pub fn is_served_in(&self, size: u64) -> bool {
        if self.width == 0 || self.width > TILE_WIDTH || self.level > MAX_TILE_LEVEL {
            return false;
        }
        let end = self
            .index
            .checked_mul(u64::from(TILE_WIDTH))
            .and_then(|start| start.checked_add(u64::from(self.width)));
        match end {
            Some(end) => end <= hashes_at_tile_level(self.level, size),
            None => false,
        }
    }

    /// The tile at `level`, `index` as the tree of `size` leaves has it: full, or the partial
    /// tile of the level's right edge; `None` when the tree has no hash of it.
    pub fn in_tree(level: u8, index: u64, size: u64) -> Option<Self> {
        let count = hashes_at_tile_level(level, size);
        let start = index.checked_mul(u64::from(TILE_WIDTH))?;
        let available = count.checked_sub(start).filter(|&left| left > 0)?;
        let width = u16::try_from(available.min(u64::from(TILE_WIDTH))).ok()?;
        Some(Self {
            level,
            index,
            width,
        })
    }

    /// How many full tiles the tree of `size` leaves has at `level`.
    pub fn full_count(level: u8, size: u64) -> u64 {
        hashes_at_tile_level(level, size) / u64::from(TILE_WIDTH)
    }

    /// The partial tiles of the tree of `size` leaves, one per level that has one, lowest
    /// first (at most [`MAX_TILE_LEVEL`]` + 1`). With the full tiles below
    /// [`full_count`](Self::full_count) they are every tile the tree has.
    pub fn right_edge(size: u64) -> Vec<Self> {
        (0..=MAX_TILE_LEVEL)
            .filter_map(|level| {
                let index = Self::full_count(level, size);
                Self::in_tree(level, index, size).filter(|tile| !tile.is_full())
            })
            .collect()
    }

    /// The tiles that the tree of `new_size` leaves has and the tree of `old_size` leaves has
    /// not (new full tiles and the new right edge), as a writer or an exporter publishes them
    /// when the tree grows: level by level, left to right. Empty unless `old_size < new_size`.
    pub fn new_tiles(old_size: u64, new_size: u64) -> impl Iterator<Item = Self> {
        (0..=MAX_TILE_LEVEL).flat_map(move |level| {
            let old_count = hashes_at_tile_level(level, old_size);
            let new_count = hashes_at_tile_level(level, new_size);
            let changed = old_size < new_size && old_count != new_count;
            let width = u64::from(TILE_WIDTH);
            let (first, end) = if changed {
                (old_count / width, new_count / width)
            } else {
                (0, 0)
            };
            let full = (first..end).map(move |index| Self {
                level,
                index,
                width: TILE_WIDTH,
            });
            let partial = if changed {
                Self::in_tree(level, end, new_size).filter(|tile| !tile.is_full())
            } else {
                None
            };
            full.chain(partial)
        })
    }

    /// The tile (as wide as the tree of `size` leaves has it) that holds the hashes `node` is
    /// computed from: `node` itself when its level is a multiple of 8, otherwise the
    /// `2^(level mod 8)` hashes under it at the tile's level. `None` unless the node is stored
    /// in that tree.
    pub fn for_node(node: NodeId, size: u64) -> Option<Self> {
        if !node.is_complete_in(size) {
            return None;
        }
        let (level, first, _) = tile_span(node)?;
        Self::in_tree(level, first / u64::from(TILE_WIDTH), size)
    }

    /// The tile's path under a log's prefix: `tile/{L}/{N}[.p/{W}]`.
    pub fn path(&self) -> String {
        TilePath::Hashes(*self).to_string()
    }

    /// The path of the entry bundle over the same leaves as this level-0 tile:
    /// `tile/entries/{N}[.p/{W}]` (the level is not part of it).
    pub fn entries_path(&self) -> String {
        TilePath::Entries(*self).to_string()
    }
}

/// The tile level, the index of the first hash at that level and the number of hashes a node
/// is computed from.
fn tile_span(node: NodeId) -> Option<(u8, u64, u64)> {
    if node.level > MAX_LEVEL {
        return None;
    }
    let tile_level = node.level / TILE_HEIGHT;
    let height_in_tile = u32::from(node.level % TILE_HEIGHT);
    let first = node.index.checked_shl(height_in_tile)?;
    if first >> height_in_tile != node.index {
        return None;
    }
    Some((tile_level, first, 1u64 << height_in_tile))
}

/// The stored nodes whose hashes `tile` holds, in order: `(8·L, N·256 + i)` for `i` below the
/// width. Empty for coordinates no tree has (see [`TileId::new`]).
pub fn hash_tile_nodes(tile: &TileId) -> Vec<NodeId> {
    if tile.level > MAX_TILE_LEVEL || tile.width == 0 || tile.width > TILE_WIDTH {
        return Vec::new();
    }
    let Some(start) = tile.index.checked_mul(u64::from(TILE_WIDTH)) else {
        return Vec::new();
    };
    let level = tile.level * TILE_HEIGHT;
    (0..u64::from(tile.width))
        .map_while(|offset| start.checked_add(offset))
        .map(|index| NodeId::new(level, index))
        .collect()
}

/// A parsed tile path: a hash tile or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// `tile/{L}/{N}[.p/{W}]`.
    Hashes(TileId),
    /// `tile/entries/{N}[.p/{W}]`: the bundle of the entries of the level-0 tile with the same
    /// index and width (the id's level is 0).
    Entries(TileId),
}

impl fmt::Display for TilePath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tile = match self {
            TilePath::Hashes(tile) => {
                write!(formatter, "tile/{}/", tile.level)?;
                tile
            }
            TilePath::Entries(tile) => {
                formatter.write_str("tile/entries/")?;
                tile
            }
        };
        // The 3-digit groups of the index, most significant first.
        let mut groups = Vec::with_capacity(7);
        let mut rest = tile.index;
        loop {
            groups.push(rest % 1000);
            rest /= 1000;
            if rest == 0 {
                break;
            }
        }
        for (position, group) in groups.iter().rev().enumerate() {
            if position + 1 < groups.len() {
                write!(formatter, "x{group:03}/")?;
            } else {
                write!(formatter, "{group:03}")?;
            }
        }
        if tile.width != TILE_WIDTH {
            write!(formatter, ".p/{}", tile.width)?;
        }
        Ok(())
    }
}

/// A decimal number of ASCII digits with no leading zero (except `0` itself), at most
/// `max`.
fn parse_decimal(text: &str, max: u64) -> Result<u64, TileError> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(TileError::Malformed("a number is ascii digits"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(TileError::Malformed("a number has no leading zero"));
    }
    match text.parse::<u64>() {
        Ok(value) if value <= max => Ok(value),
        _ => Err(TileError::Malformed("a number is out of range")),
    }
}

/// Exactly three ASCII digits.
fn parse_group(text: &str) -> Result<u64, TileError> {
    if text.len() != 3 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(TileError::Malformed("an index group is three digits"));
    }
    text.parse::<u64>()
        .map_err(|_| TileError::Malformed("an index group is three digits"))
}

/// Parses a tile path relative to a log's prefix (`tile/0/x001/234.p/7`,
/// `tile/entries/000`), accepting only the canonical form: no leading zeros in the level or
/// the width, no leading `x000` group, a partial width of 1 to 255 (a full tile has no
/// `.p/256`), a level of at most 63, and coordinates some tree has ([`TileError::NotInAnyTree`]
/// otherwise, for levels 8 to 63 and indices past 2^64 leaves).
pub fn parse_tile_path(path: &str) -> Result<TilePath, TileError> {
    if path.len() > MAX_TILE_PATH_BYTES {
        return Err(TileError::PathTooLong(path.len()));
    }
    let rest = path
        .strip_prefix("tile/")
        .ok_or(TileError::Malformed("a tile path starts with tile/"))?;
    let (level, is_entries, rest) = if let Some(rest) = rest.strip_prefix("entries/") {
        (0, true, rest)
    } else {
        let (level, rest) = rest
            .split_once('/')
            .ok_or(TileError::Malformed("a tile path has a level"))?;
        let level = parse_decimal(level, 63)?;
        // At most 63: fits.
        (u8::try_from(level).unwrap_or(u8::MAX), false, rest)
    };
    let (number, width) = match rest.split_once(".p/") {
        Some((number, width)) => {
            let width = parse_decimal(width, u64::from(TILE_WIDTH) - 1)?;
            if width == 0 {
                return Err(TileError::Malformed("a partial tile has 1 to 255 hashes"));
            }
            (number, u16::try_from(width).unwrap_or(0))
        }
        None => (rest, TILE_WIDTH),
    };
    let groups: Vec<&str> = number.split('/').collect();
    let Some((last, leading)) = groups.split_last() else {
        return Err(TileError::Malformed("a tile path has an index"));
    };
    if leading.len() > 6 {
        return Err(TileError::Malformed("an index has at most 20 digits"));
    }
    let mut index: u64 = 0;
    for (position, group) in leading.iter().enumerate() {
        let digits = group.strip_prefix('x').ok_or(TileError::Malformed(
            "all but the last index group start with x",
        ))?;
        let value = parse_group(digits)?;
        if position == 0 && value == 0 {
            return Err(TileError::Malformed("an index has no leading zero group"));
        }
        index = index
            .checked_mul(1000)
            .and_then(|index| index.checked_add(value))
            .ok_or(TileError::NotInAnyTree)?;
    }
    let last = parse_group(last)?;
    index = index
        .checked_mul(1000)
        .and_then(|index| index.checked_add(last))
        .ok_or(TileError::NotInAnyTree)?;
    let tile = TileId::new(level, index, width)?;
    let parsed = if is_entries {
        TilePath::Entries(tile)
    } else {
        TilePath::Hashes(tile)
    };
    // Canonical by construction; checked anyway, as the one form is the contract.
    if parsed.to_string() != path {
        return Err(TileError::Malformed("not the canonical form"));
    }
    Ok(parsed)
}

/// A tile's bytes: its hashes, concatenated.
pub fn encode_hash_tile(hashes: &[TreeHash]) -> Vec<u8> {
    hashes.iter().flat_map(|hash| hash.0).collect()
}

/// The hashes of `tile` from its bytes, which must be exactly `width · 32` bytes.
pub fn decode_hash_tile(tile: &TileId, bytes: &[u8]) -> Result<Vec<TreeHash>, TileError> {
    let expected = usize::from(tile.width) * TILE_HASH_BYTES;
    if bytes.len() != expected || tile.width == 0 || tile.width > TILE_WIDTH {
        return Err(TileError::WrongLength {
            length: bytes.len(),
            expected,
        });
    }
    Ok(bytes
        .chunks_exact(TILE_HASH_BYTES)
        .map(|chunk| {
            let mut hash = [0u8; TILE_HASH_BYTES];
            hash.copy_from_slice(chunk);
            TreeHash(hash)
        })
        .collect())
}

/// Reads tiles, as a client fetches them from a log (or from its cache).
pub trait TileReader {
    /// Why a read failed.
    type Error;

    /// The bytes of `tiles`, in the same order, each exactly `width · 32` bytes. Tiles fetched
    /// from a server are not trusted by this: the hashes read through them must end in a proof
    /// checked against a signed checkpoint's root.
    fn read_tiles(&mut self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, Self::Error>;
}

/// Tiles already fetched, by id. A tile that is missing is answered from the full tile of the
/// same position when that is present (a partial tile is a prefix of its full tile); the error
/// names the first tile found in neither form.
impl TileReader for BTreeMap<TileId, Vec<u8>> {
    type Error = TileId;

    fn read_tiles(&mut self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, TileId> {
        tiles
            .iter()
            .map(|tile| {
                if let Some(bytes) = self.get(tile) {
                    return Ok(bytes.clone());
                }
                let full = TileId {
                    width: TILE_WIDTH,
                    ..*tile
                };
                let wanted = usize::from(tile.width) * TILE_HASH_BYTES;
                self.get(&full)
                    .and_then(|bytes| bytes.get(..wanted))
                    .map(<[u8]>::to_vec)
                    .ok_or(*tile)
            })
            .collect()
    }
}

/// Why [`TileHashReader`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileReadError<E> {
    /// The tile reader failed.
    #[error("reading tiles failed: {0}")]
    Read(E),
    /// More nodes asked for than [`MAX_TILE_READ_NODES`].
    #[error("{asked} nodes asked for, more than {MAX_TILE_READ_NODES}")]
    TooManyNodes {
        /// Nodes asked for.
        asked: usize,
    },
    /// A node that is not stored in the tree of the reader's size.
    #[error("node {node:?} is not stored in a tree of {size} leaves")]
    NodeNotInTree {
        /// The node asked for.
        node: NodeId,
        /// The reader's tree size.
        size: u64,
    },
    /// The tile reader answered a different number of tiles than asked.
    #[error("the tile reader answered {answered} tiles for {asked}")]
    ShortRead {
        /// Tiles asked for.
        asked: usize,
        /// Tiles answered.
        answered: usize,
    },
    /// A tile of the wrong length.
    #[error("tile {tile:?}: {error}")]
    BadTile {
        /// The tile.
        tile: TileId,
        /// What is wrong with it.
        error: TileError,
    },
}

/// A [`HashReader`] over the tiles of the tree of a given size, for a client that has only
/// tiles: each node is read from the tile at its level divided by 8, and a node whose level is
/// not a multiple of 8 is computed from the `2^(level mod 8)` hashes of that tile under it. One
/// [`TileReader::read_tiles`] call per read, for the distinct tiles needed, each as wide as
/// the tree has it.
///
/// The hashes are as good as the tiles: a proof assembled from them must be verified against
/// the root of a signed checkpoint of the same size, which is what makes them trustworthy.
#[derive(Debug, Clone)]
pub struct TileHashReader<T> {
    size: u64,
    tiles: T,
}

impl<T> TileHashReader<T> {
    /// A reader of the nodes of the tree of `size` leaves from `tiles`.
    pub fn new(size: u64, tiles: T) -> Self {
        Self { size, tiles }
    }

    /// The tree size the reader answers for.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tile reader back.
    pub fn into_inner(self) -> T {
        self.tiles
    }
}

/// The hash of the complete subtree over `hashes`, a power of two of them.
fn complete_subtree_hash(hashes: &[TreeHash]) -> Option<TreeHash> {
    if !hashes.len().is_power_of_two() {
        return None;
    }
    let mut level: Vec<TreeHash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [left, right] => Some(node_hash(left, right)),
                _ => None,
            })
            .collect();
    }
    level.first().copied()
}

impl<T: TileReader> HashReader for TileHashReader<T> {
    type Error = TileReadError<T::Error>;

    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, Self::Error> {
        if nodes.len() > MAX_TILE_READ_NODES {
            return Err(TileReadError::TooManyNodes { asked: nodes.len() });
        }
        // For each node: its tile, and where its hashes are in the tile. Each distinct tile is
        // asked for once, in the order first needed.
        let mut spans = Vec::with_capacity(nodes.len());
        let mut tiles: Vec<TileId> = Vec::new();
        for &node in nodes {
            let not_in_tree = TileReadError::NodeNotInTree {
                node,
                size: self.size,
            };
            let (Some(tile), Some((_, first, count))) =
                (TileId::for_node(node, self.size), tile_span(node))
            else {
                return Err(not_in_tree);
            };
            if !tiles.contains(&tile) {
                tiles.push(tile);
            }
            // The tile holds the hashes: the offset is below 256 and the count at most 128.
            let offset = (first % u64::from(TILE_WIDTH)) as usize;
            spans.push((tile, offset, count as usize));
        }
        let answered = if tiles.is_empty() {
            Vec::new()
        } else {
            self.tiles.read_tiles(&tiles).map_err(TileReadError::Read)?
        };
        if answered.len() != tiles.len() {
            return Err(TileReadError::ShortRead {
                asked: tiles.len(),
                answered: answered.len(),
            });
        }
        let mut decoded = BTreeMap::new();
        for (tile, bytes) in tiles.iter().zip(&answered) {
            let hashes = decode_hash_tile(tile, bytes)
                .map_err(|error| TileReadError::BadTile { tile: *tile, error })?;
            decoded.insert(*tile, hashes);
        }
        spans
            .iter()
            .zip(nodes)
            .map(|(&(tile, offset, count), &node)| {
                decoded
                    .get(&tile)
                    .and_then(|hashes| hashes.get(offset..offset + count))
                    .and_then(complete_subtree_hash)
                    .ok_or(TileReadError::NodeNotInTree {
                        node,
                        size: self.size,
                    })
            })
            .collect()
    }
}

/// Why an entry bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryBundleError {
    /// A bundle holds 1 to [`MAX_ENTRIES_PER_BUNDLE`] entries.
    #[error("an entry bundle holds 1 to {MAX_ENTRIES_PER_BUNDLE} entries, not {0}")]
    BadCount(usize),
    /// An entry longer than a 16-bit length can say.
    #[error("entry {position} has {length} bytes, more than {MAX_BUNDLE_ENTRY_BYTES}")]
    EntryTooLong {
        /// The entry's position in the bundle.
        position: usize,
        /// Its length.
        length: usize,
    },
    /// The bytes end inside an entry or its length.
    #[error("the bundle ends inside entry {0}")]
    Truncated(usize),
    /// Bytes after the expected number of entries.
    #[error("{0} bytes follow the last entry")]
    TrailingBytes(usize),
}

/// An entry bundle: each entry behind its length as a big-endian `u16`.
pub fn encode_entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, EntryBundleError> {
    if entries.is_empty() || entries.len() > MAX_ENTRIES_PER_BUNDLE {
        return Err(EntryBundleError::BadCount(entries.len()));
    }
    let total: usize = entries.iter().map(|entry| entry.len() + 2).sum();
    let mut bytes = Vec::with_capacity(total);
    for (position, entry) in entries.iter().enumerate() {
        let length = u16::try_from(entry.len()).map_err(|_| EntryBundleError::EntryTooLong {
            position,
            length: entry.len(),
        })?;
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(entry);
    }
    Ok(bytes)
}

/// The entries of an entry bundle that holds exactly `expected_count` of them (the bundle's
/// width, 1 to [`MAX_ENTRIES_PER_BUNDLE`]), borrowed from `bytes`; bytes after them are refused.
pub fn decode_entry_bundle(
    bytes: &[u8],
    expected_count: usize,
) -> Result<Vec<&[u8]>, EntryBundleError> {
    if expected_count == 0 || expected_count > MAX_ENTRIES_PER_BUNDLE {
        return Err(EntryBundleError::BadCount(expected_count));
    }
    let mut entries = Vec::with_capacity(expected_count);
    let mut rest = bytes;
    for position in 0..expected_count {
        let (length, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(EntryBundleError::Truncated(position))?;
        let length = usize::from(u16::from_be_bytes(*length));
        let (entry, tail) = tail
            .split_at_checked(length)
            .ok_or(EntryBundleError::Truncated(position))?;
        entries.push(entry);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(EntryBundleError::TrailingBytes(rest.len()));
    }
    Ok(entries)
}
