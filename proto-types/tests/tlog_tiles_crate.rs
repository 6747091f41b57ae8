//! `proto_types::tlog` against an independent implementation: Cloudflare's `tlog_tiles` 0.2
//! (a port of Go's `sumdb/tlog`). Tree hashes, inclusion and consistency proofs, tile paths and
//! tile contents agree for many sizes, indices and coordinates.
//!
//! `tlog_tiles` writes Go sumdb's older tile paths, with the tile height in them and `data`
//! for entry bundles (`tile/8/0/x001/234.p/5`, `tile/8/data/000`); C2SP tlog-tiles dropped the
//! height and says `entries` (`tile/0/x001/234.p/5`, `tile/entries/000`). The comparison maps
//! one onto the other and is otherwise exact.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proto_types::tlog::{
    MemoryTree, NodeId, TILE_WIDTH, TileHashReader, TileId, TilePath, TreeHash, consistency_proof,
    encode_hash_tile, hash_tile_nodes, inclusion_proof, parse_tile_path, read_exactly, tree_hash,
    verify_consistency, verify_inclusion,
};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Their tree: hashes at Go's stored hash indices.
#[derive(Default)]
struct TheirTree {
    hashes: Vec<tlog_tiles::Hash>,
}

impl tlog_tiles::HashReader for TheirTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| {
                self.hashes
                    .get(usize::try_from(index).unwrap())
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn leaf_data(index: u64) -> Vec<u8> {
    format!("rightsnet test entry {index}").into_bytes()
}

/// 70 000 leaves, the size C2SP tlog-tiles uses as its example: tiles at three levels.
const LEAVES: u64 = 70_000;

fn trees() -> &'static (MemoryTree, TheirTree) {
    static TREES: OnceLock<(MemoryTree, TheirTree)> = OnceLock::new();
    TREES.get_or_init(|| {
        let mut ours = MemoryTree::default();
        let mut theirs = TheirTree::default();
        for index in 0..LEAVES {
            let data = leaf_data(index);
            ours.append(&data);
            let stored = tlog_tiles::stored_hashes(index, &data, &theirs).unwrap();
            assert_eq!(
                tlog_tiles::stored_hash_index(0, index),
                theirs.hashes.len() as u64
            );
            theirs.hashes.extend(stored);
        }
        (ours, theirs)
    })
}

fn theirs_to_ours(hash: tlog_tiles::Hash) -> TreeHash {
    TreeHash(hash.0)
}

/// The sizes compared: every size to 600, then a spread up to the whole tree.
fn sizes() -> Vec<u64> {
    let mut sizes: Vec<u64> = (1..=600).collect();
    sizes.extend([
        1023, 1024, 1025, 4095, 4096, 65_535, 65_536, 65_537, 69_999, 70_000,
    ]);
    sizes.extend((1..40).map(|step| step * 1777));
    sizes
}

#[test]
fn every_node_we_store_is_a_hash_they_store() {
    let (ours, theirs) = trees();
    assert_eq!(ours.nodes().len(), theirs.hashes.len());
    for (node, hash) in ours.nodes() {
        let index = tlog_tiles::stored_hash_index(node.level, node.index);
        assert_eq!(theirs.hashes[index as usize].0, hash.0, "{node:?}");
    }
}

#[test]
fn tree_hashes_agree() {
    let (ours, theirs) = trees();
    let mut ours = ours.clone();
    assert_eq!(
        tree_hash(0, &mut ours).unwrap().0,
        tlog_tiles::tree_hash(0, theirs).unwrap().0
    );
    for size in sizes() {
        assert_eq!(
            tree_hash(size, &mut ours).unwrap(),
            theirs_to_ours(tlog_tiles::tree_hash(size, theirs).unwrap()),
            "size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_agree_and_each_side_accepts_the_other() {
    let (ours, theirs) = trees();
    let mut ours = ours.clone();
    for size in sizes() {
        let root = tree_hash(size, &mut ours).unwrap();
        let their_root = tlog_tiles::Hash(root.0);
        let mut indices: Vec<u64> = if size <= 64 {
            (0..size).collect()
        } else {
            vec![0, 1, size / 3, size / 2, size - 2, size - 1]
        };
        indices.dedup();
        for index in indices {
            let proof = inclusion_proof(index, size, &mut ours).unwrap();
            let theirs_proof = tlog_tiles::prove_record(size, index, theirs).unwrap();
            let converted: Vec<TreeHash> =
                theirs_proof.iter().copied().map(theirs_to_ours).collect();
            assert_eq!(proof, converted, "leaf {index} of {size}");
            let leaf = ours.nodes()[&NodeId::new(0, index)];
            verify_inclusion(&leaf, index, size, &converted, &root).unwrap();
            let ours_for_them: Vec<tlog_tiles::Hash> =
                proof.iter().map(|hash| tlog_tiles::Hash(hash.0)).collect();
            tlog_tiles::check_record(
                &ours_for_them,
                size,
                their_root,
                index,
                tlog_tiles::Hash(leaf.0),
            )
            .unwrap();
        }
    }
}

#[test]
fn consistency_proofs_agree_and_each_side_accepts_the_other() {
    let (ours, theirs) = trees();
    let mut ours = ours.clone();
    for new in sizes() {
        let new_root = tree_hash(new, &mut ours).unwrap();
        let mut olds: Vec<u64> = if new <= 64 {
            (1..=new).collect()
        } else {
            vec![1, 2, 255, 256, 257, new / 2, new - 1, new]
        };
        olds.retain(|&old| old >= 1 && old <= new);
        for old in olds {
            let old_root = tree_hash(old, &mut ours).unwrap();
            let proof = consistency_proof(old, new, &mut ours).unwrap();
            let theirs_proof = tlog_tiles::prove_tree(new, old, theirs).unwrap();
            let converted: Vec<TreeHash> =
                theirs_proof.iter().copied().map(theirs_to_ours).collect();
            assert_eq!(proof, converted, "{old} to {new}");
            verify_consistency(old, &old_root, new, &new_root, &converted).unwrap();
            let ours_for_them: Vec<tlog_tiles::Hash> =
                proof.iter().map(|hash| tlog_tiles::Hash(hash.0)).collect();
            tlog_tiles::check_tree(
                &ours_for_them,
                new,
                tlog_tiles::Hash(new_root.0),
                old,
                tlog_tiles::Hash(old_root.0),
            )
            .unwrap();
        }
    }
}

/// Go sumdb's path of a C2SP path: the height after `tile/`, `data` for `entries`.
fn sumdb_path(c2sp: &str) -> String {
    let rest = c2sp.strip_prefix("tile/").unwrap();
    match rest.strip_prefix("entries/") {
        Some(number) => format!("tile/8/data/{number}"),
        None => format!("tile/8/{rest}"),
    }
}

#[test]
fn tile_paths_agree() {
    let mut indices: Vec<u64> = (0..2100).collect();
    indices.extend([
        999_999,
        1_000_000,
        1_234_067,
        (1 << 40) + 12345,
        (1u64 << 56) - 2,
    ]);
    let mut checked = 0;
    for level in 0..=7u8 {
        for &index in &indices {
            for width in [1u16, 2, 100, 255, 256] {
                let Ok(tile) = TileId::new(level, index, width) else {
                    continue;
                };
                let theirs = tlog_tiles::Tile::new(8, level, index, u32::from(width), false);
                assert_eq!(sumdb_path(&tile.path()), theirs.path());
                assert_eq!(parse_tile_path(&tile.path()), Ok(TilePath::Hashes(tile)));
                let parsed = tlog_tiles::Tile::from_path(&theirs.path()).unwrap();
                assert_eq!(
                    (parsed.level(), parsed.level_index(), parsed.width()),
                    (level, index, u32::from(width))
                );
                if level == 0 {
                    let mut data = theirs;
                    data.set_is_data();
                    assert_eq!(sumdb_path(&tile.entries_path()), data.path());
                    assert_eq!(
                        parse_tile_path(&tile.entries_path()),
                        Ok(TilePath::Entries(tile))
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 60_000, "{checked}");
}

#[test]
fn the_tiles_a_growing_tree_publishes_agree() {
    let mut sizes: Vec<u64> = vec![0, 1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 70_000];
    sizes.extend([1 << 40, (1 << 40) + 300, (1u64 << 56) - 1]);
    for (position, &old) in sizes.iter().enumerate() {
        for &new in &sizes[position..] {
            if new - old > 1 << 20 {
                // Their list is materialised; ours is an iterator. Compare what fits.
                continue;
            }
            let ours: Vec<(u8, u64, u32)> = TileId::new_tiles(old, new)
                .map(|tile| (tile.level, tile.index, u32::from(tile.width)))
                .collect();
            let theirs: Vec<(u8, u64, u32)> = tlog_tiles::Tile::new_tiles(8, old, new)
                .iter()
                .map(|tile| (tile.level(), tile.level_index(), tile.width()))
                .collect();
            assert_eq!(ours, theirs, "{old} to {new}");
        }
    }
}

/// Every tile of the 70 000-leaf tree: our contents (read from our stored nodes) are theirs.
#[test]
fn tile_contents_agree() {
    let (ours, theirs) = trees();
    let mut ours = ours.clone();
    let mut tiles: Vec<TileId> = TileId::new_tiles(0, LEAVES).collect();
    // Partial tiles of earlier sizes too.
    tiles.extend([
        TileId::new(0, 3, 17).unwrap(),
        TileId::new(1, 1, 3).unwrap(),
    ]);
    for tile in tiles {
        let hashes = read_exactly(&mut ours, &hash_tile_nodes(&tile)).unwrap();
        let theirs_tile =
            tlog_tiles::Tile::new(8, tile.level, tile.index, u32::from(tile.width), false);
        assert_eq!(
            encode_hash_tile(&hashes),
            theirs_tile.read_data(theirs).unwrap(),
            "{tile:?}"
        );
    }
}

/// A client with only tiles computes the same proofs as the node with its stored nodes.
#[test]
fn proofs_read_through_tiles_are_the_stored_node_proofs() {
    let (ours, _) = trees();
    let mut ours = ours.clone();
    for size in [
        1u64, 7, 255, 256, 257, 300, 4096, 65_536, 65_537, 69_999, 70_000,
    ] {
        let mut published = BTreeMap::new();
        for tile in TileId::new_tiles(0, size) {
            let hashes = read_exactly(&mut ours, &hash_tile_nodes(&tile)).unwrap();
            published.insert(tile, encode_hash_tile(&hashes));
        }
        let mut from_tiles = TileHashReader::new(size, published);
        assert_eq!(
            tree_hash(size, &mut from_tiles).unwrap(),
            tree_hash(size, &mut ours).unwrap()
        );
        for index in [0, size / 2, size - 1] {
            assert_eq!(
                inclusion_proof(index, size, &mut from_tiles).unwrap(),
                inclusion_proof(index, size, &mut ours).unwrap(),
                "leaf {index} of {size}"
            );
        }
        for old in [1, size / 3, size - 1] {
            if old == 0 {
                continue;
            }
            assert_eq!(
                consistency_proof(old, size, &mut from_tiles).unwrap(),
                consistency_proof(old, size, &mut ours).unwrap(),
                "{old} to {size}"
            );
        }
    }
}

#[test]
fn full_tile_has_256_hashes() {
    assert_eq!(TILE_WIDTH, 256);
    let tile = TileId::new(1, 0, TILE_WIDTH).unwrap();
    let nodes = hash_tile_nodes(&tile);
    assert_eq!(nodes.len(), 256);
    assert_eq!(nodes[0], NodeId::new(8, 0));
    assert_eq!(nodes[255], NodeId::new(8, 255));
}
