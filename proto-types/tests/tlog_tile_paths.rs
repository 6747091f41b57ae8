//! C2SP tlog-tiles in `proto_types::tlog::tile`: the spec's own examples, strict path
//! parsing (junk and non-canonical forms refused), round trips, which tiles a tree has, the
//! tile hash reader's checks, and entry bundles.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use proto_types::tlog::{
    EntryBundleError, HashReader, MAX_TILE_PATH_BYTES, MAX_TILE_READ_NODES, NodeId, TILE_WIDTH,
    TileError, TileHashReader, TileId, TilePath, TileReadError, TileReader, TreeHash,
    decode_entry_bundle, decode_hash_tile, encode_entry_bundle, encode_hash_tile, hash_tile_nodes,
    parse_tile_path,
};
use std::collections::BTreeMap;

fn hashes(tile: TileId) -> TilePath {
    TilePath::Hashes(tile)
}

fn tile(level: u8, index: u64, width: u16) -> TileId {
    TileId::new(level, index, width).unwrap()
}

/// The examples C2SP tlog-tiles gives in its text.
#[test]
fn the_spec_examples() {
    // "index 1234067 will be encoded as x001/x234/067"
    assert_eq!(tile(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
    assert_eq!(
        parse_tile_path("tile/0/x001/x234/067"),
        Ok(hashes(tile(0, 1_234_067, 256)))
    );
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    // 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    // partial level 2 tile of width 1."
    assert_eq!(TileId::full_count(0, 70_000), 273);
    assert_eq!(TileId::full_count(1, 70_000), 1);
    assert_eq!(TileId::full_count(2, 70_000), 0);
    assert_eq!(
        TileId::right_edge(70_000),
        vec![tile(0, 273, 112), tile(1, 1, 17), tile(2, 0, 1)]
    );
    let all: Vec<TileId> = TileId::new_tiles(0, 70_000).collect();
    assert_eq!(all.len(), 273 + 1 + 1 + 1 + 1);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    // tile of width 1."
    assert_eq!(
        TileId::new_tiles(0, 256).collect::<Vec<_>>(),
        vec![tile(0, 0, 256), tile(1, 0, 1)]
    );
    // "Full tiles MUST be exactly 256 hashes wide, or 8,192 bytes."
    let full = vec![TreeHash::empty(); 256];
    assert_eq!(encode_hash_tile(&full).len(), 8192);
    // Level-L tiles hold tree level 8·L: the n-th tile's i-th hash is
    // MTH(D[(n·256 + i)·256^L : (n·256 + i + 1)·256^L]).
    assert_eq!(
        hash_tile_nodes(&tile(2, 3, 5))[4],
        NodeId::new(16, 3 * 256 + 4)
    );
}

#[test]
fn paths_are_written_in_the_one_canonical_form() {
    let cases: [(TilePath, &str); 10] = [
        (hashes(tile(0, 0, 256)), "tile/0/000"),
        (hashes(tile(0, 0, 1)), "tile/0/000.p/1"),
        (hashes(tile(0, 999, 255)), "tile/0/999.p/255"),
        (hashes(tile(0, 1000, 256)), "tile/0/x001/000"),
        (hashes(tile(3, 1_000_000, 7)), "tile/3/x001/x000/000.p/7"),
        (hashes(tile(7, 0, 255)), "tile/7/000.p/255"),
        (TilePath::Entries(tile(0, 0, 256)), "tile/entries/000"),
        (TilePath::Entries(tile(0, 12, 3)), "tile/entries/012.p/3"),
        (
            TilePath::Entries(tile(0, 1_234_067, 256)),
            "tile/entries/x001/x234/067",
        ),
        (
            hashes(tile(0, (1 << 56) - 2, 256)),
            "tile/0/x072/x057/x594/x037/x927/934",
        ),
    ];
    for (path, text) in cases {
        assert_eq!(path.to_string(), text);
        assert_eq!(parse_tile_path(text), Ok(path), "{text}");
    }
}

#[test]
fn junk_and_non_canonical_paths_are_refused() {
    let malformed = [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tile//000",
        "TILE/0/000",
        "tiles/0/000",
        " tile/0/000",
        "tile/0/000 ",
        "tile/0/000/",
        "tile/0/000\n",
        "tile/00/000",
        "tile/01/000",
        "tile/+1/000",
        "tile/-1/000",
        "tile/64/000",
        "tile/255/000",
        "tile/x/000",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/00a",
        "tile/0/+00",
        "tile/0/x001",
        "tile/0/001/000",
        "tile/0/x1/000",
        "tile/0/x0001/000",
        "tile/0/x000/001",
        "tile/0/x000/x001/000",
        "tile/0/X001/000",
        "tile/0/x001/x002",
        "tile/0/\u{0660}\u{0660}\u{0660}",
        "tile/0/000.p/0",
        "tile/0/000.p/00",
        "tile/0/000.p/01",
        "tile/0/000.p/256",
        "tile/0/000.p/1000",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/5/",
        "tile/0/000.p/5.p/3",
        "tile/0/000.P/5",
        "tile/0/000.p/-1",
        "tile/0/000.p/+5",
        "tile/entries/000.p/256",
        "tile/entries/x000/000",
        "tile/entries/0/000",
        "tile/entries/",
        "tile/entry/000",
        "tile/data/000",
        "tile/8/0/000",
    ];
    for path in malformed {
        assert!(
            matches!(parse_tile_path(path), Err(TileError::Malformed(_))),
            "{path:?}: {:?}",
            parse_tile_path(path)
        );
    }
    // Well formed, but no tree of fewer than 2^64 leaves has them.
    let beyond = [
        "tile/8/000.p/1",
        "tile/63/000",
        "tile/7/000",
        "tile/0/x072/x057/x594/x037/x927/935",
        "tile/0/x999/x999/x999/x999/x999/x999/999",
        "tile/entries/x072/x057/x594/x037/x927/935",
        "tile/1/x281/x474/x976/x710/656",
    ];
    for path in beyond {
        assert_eq!(
            parse_tile_path(path),
            Err(TileError::NotInAnyTree),
            "{path}"
        );
    }
    let too_long = format!("tile/0/{}000", "x000/".repeat(20));
    assert_eq!(
        parse_tile_path(&too_long),
        Err(TileError::PathTooLong(too_long.len()))
    );
    assert!(matches!(
        parse_tile_path("tile/0/x001/x001/x001/x001/x001/x001/x001/000"),
        Err(TileError::Malformed(_))
    ));
}

#[test]
fn tile_ids_are_checked() {
    assert!(TileId::new(0, 0, 0).is_err());
    assert!(TileId::new(0, 0, 257).is_err());
    assert_eq!(TileId::new(8, 0, 1), Err(TileError::NotInAnyTree));
    assert_eq!(TileId::new(0, u64::MAX, 1), Err(TileError::NotInAnyTree));
    // Coordinates no tree has are held by no node, and do not panic.
    for bad in [
        TileId {
            level: 0,
            index: 0,
            width: 0,
        },
        TileId {
            level: 9,
            index: 0,
            width: 1,
        },
        TileId {
            level: 255,
            index: u64::MAX,
            width: 256,
        },
        TileId {
            level: 0,
            index: u64::MAX,
            width: 300,
        },
    ] {
        assert!(hash_tile_nodes(&bad).is_empty(), "{bad:?}");
        assert!(!bad.is_served_in(u64::MAX));
        let _ = bad.path();
    }
}

#[test]
fn which_tiles_a_tree_serves() {
    let size = 70_000;
    assert!(tile(0, 272, 256).is_served_in(size));
    assert!(!tile(0, 273, 256).is_served_in(size));
    assert!(tile(0, 273, 112).is_served_in(size));
    // Narrower partials of the edge are earlier sizes' tiles and never change.
    assert!(tile(0, 273, 5).is_served_in(size));
    assert!(tile(0, 12, 5).is_served_in(size));
    assert!(!tile(0, 273, 113).is_served_in(size));
    assert!(!tile(0, 274, 1).is_served_in(size));
    assert!(tile(1, 1, 17).is_served_in(size));
    assert!(!tile(1, 1, 18).is_served_in(size));
    assert!(tile(2, 0, 1).is_served_in(size));
    assert!(!tile(2, 0, 2).is_served_in(size));
    assert!(!tile(3, 0, 1).is_served_in(size));
    assert!(TileId::right_edge(0).is_empty());
    assert_eq!(TileId::new_tiles(0, 0).count(), 0);
    assert_eq!(TileId::new_tiles(5, 5).count(), 0);
    assert_eq!(TileId::new_tiles(9, 5).count(), 0);
    assert_eq!(TileId::right_edge(u64::MAX).len(), 8);
    assert_eq!(TileId::in_tree(0, 273, size), Some(tile(0, 273, 112)));
    assert_eq!(TileId::in_tree(0, 274, size), None);
    assert_eq!(TileId::in_tree(0, u64::MAX, u64::MAX), None);
    assert_eq!(
        TileId::for_node(NodeId::new(11, 8), size),
        Some(tile(1, 0, 256))
    );
    assert_eq!(
        TileId::for_node(NodeId::new(9, 135), size),
        Some(tile(1, 1, 17))
    );
    assert_eq!(TileId::for_node(NodeId::new(9, 136), size), None);
}

/// A tile reader that lies.
struct Lying {
    answer: fn(&[TileId]) -> Vec<Vec<u8>>,
}

impl TileReader for Lying {
    type Error = ();
    fn read_tiles(&mut self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, ()> {
        Ok((self.answer)(tiles))
    }
}

#[test]
fn the_tile_hash_reader_checks_what_it_is_given() {
    let size = 1000;
    let mut short = TileHashReader::new(
        size,
        Lying {
            answer: |_| Vec::new(),
        },
    );
    assert!(matches!(
        short.read_hashes(&[NodeId::new(0, 0)]),
        Err(TileReadError::ShortRead { .. })
    ));
    let mut wrong_length = TileHashReader::new(
        size,
        Lying {
            answer: |tiles| tiles.iter().map(|_| vec![0; 31]).collect(),
        },
    );
    assert!(matches!(
        wrong_length.read_hashes(&[NodeId::new(0, 0)]),
        Err(TileReadError::BadTile { .. })
    ));
    let mut honest = TileHashReader::new(
        size,
        Lying {
            answer: |tiles| {
                tiles
                    .iter()
                    .map(|tile| vec![7; usize::from(tile.width) * 32])
                    .collect()
            },
        },
    );
    for node in [
        NodeId::new(0, 1000),
        NodeId::new(3, 125),
        NodeId::new(10, 0),
    ] {
        assert!(matches!(
            honest.read_hashes(&[node]),
            Err(TileReadError::NodeNotInTree { .. })
        ));
    }
    let many = vec![NodeId::new(0, 0); MAX_TILE_READ_NODES + 1];
    assert!(matches!(
        honest.read_hashes(&many),
        Err(TileReadError::TooManyNodes { .. })
    ));
    assert_eq!(honest.read_hashes(&[]).unwrap(), vec![]);
    assert_eq!(honest.read_hashes(&[NodeId::new(9, 0)]).unwrap().len(), 1);

    // A missing tile is the reader's error.
    let mut empty = TileHashReader::new(size, BTreeMap::<TileId, Vec<u8>>::new());
    assert_eq!(
        empty.read_hashes(&[NodeId::new(0, 999)]),
        Err(TileReadError::Read(tile(0, 3, 232)))
    );
}

#[test]
fn hash_tiles_decode_exactly() {
    let hashes: Vec<TreeHash> = (0..5u8).map(|byte| TreeHash([byte; 32])).collect();
    let bytes = encode_hash_tile(&hashes);
    assert_eq!(decode_hash_tile(&tile(0, 0, 5), &bytes).unwrap(), hashes);
    assert!(decode_hash_tile(&tile(0, 0, 4), &bytes).is_err());
    assert!(decode_hash_tile(&tile(0, 0, 5), &bytes[..159]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_hash_tile(&tile(0, 0, 5), &longer).is_err());
}

#[test]
fn entry_bundles_follow_the_16_bit_length_format() {
    let bytes = encode_entry_bundle(&[b"ab", b"", b"c"]).unwrap();
    assert_eq!(bytes, b"\x00\x02ab\x00\x00\x00\x01c");
    assert_eq!(
        decode_entry_bundle(&bytes, 3).unwrap(),
        vec![&b"ab"[..], b"", b"c"]
    );
    // Exact count, no trailing bytes, no truncation.
    assert_eq!(
        decode_entry_bundle(&bytes, 2),
        Err(EntryBundleError::TrailingBytes(3))
    );
    assert_eq!(
        decode_entry_bundle(&bytes, 4),
        Err(EntryBundleError::Truncated(3))
    );
    for cut in 0..bytes.len() {
        assert!(decode_entry_bundle(&bytes[..cut], 3).is_err(), "{cut}");
    }
    assert_eq!(
        decode_entry_bundle(&bytes, 0),
        Err(EntryBundleError::BadCount(0))
    );
    assert_eq!(
        decode_entry_bundle(&bytes, 257),
        Err(EntryBundleError::BadCount(257))
    );
    // The largest entry fits, one more byte does not.
    let largest = vec![0xab; 65_535];
    let bundle = encode_entry_bundle(&[&largest]).unwrap();
    assert_eq!(&bundle[..2], b"\xff\xff");
    assert_eq!(decode_entry_bundle(&bundle, 1).unwrap(), vec![&largest[..]]);
    let too_large = vec![0; 65_536];
    assert_eq!(
        encode_entry_bundle(&[b"x", &too_large]),
        Err(EntryBundleError::EntryTooLong {
            position: 1,
            length: 65_536
        })
    );
    assert_eq!(encode_entry_bundle(&[]), Err(EntryBundleError::BadCount(0)));
    let many: Vec<&[u8]> = vec![b"e"; usize::from(TILE_WIDTH) + 1];
    assert_eq!(
        encode_entry_bundle(&many),
        Err(EntryBundleError::BadCount(257))
    );
    assert!(encode_entry_bundle(&many[..256]).is_ok());
}

fn any_tile() -> impl Strategy<Value = TileId> {
    (0u8..=7, any::<u64>(), 1u16..=256).prop_map(|(level, index, width)| {
        // Bring the index into the range some tree has at this level.
        let limit = (u64::MAX >> (8 * u32::from(level))) / 256;
        TileId {
            level,
            index: index % limit.max(1),
            width: if level == 7 { width.min(255) } else { width },
        }
    })
}

proptest! {
    #[test]
    fn valid_paths_round_trip(tile in any_tile(), entries: bool) {
        let path = if entries && tile.level == 0 {
            TilePath::Entries(tile)
        } else {
            TilePath::Hashes(tile)
        };
        let text = path.to_string();
        prop_assert!(text.len() <= MAX_TILE_PATH_BYTES);
        prop_assert_eq!(parse_tile_path(&text), Ok(path));
        prop_assert_eq!(hash_tile_nodes(&tile).len(), usize::from(tile.width));
    }

    #[test]
    fn any_string_parses_only_to_its_canonical_form(text in "tile/[0-9a-z/.x]{0,40}") {
        if let Ok(path) = parse_tile_path(&text) {
            prop_assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_tile_path(&text);
        for count in [1, 2, 255, 256] {
            let _ = decode_entry_bundle(&bytes, count);
        }
    }

    #[test]
    fn bundles_round_trip(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..40)
    ) {
        let borrowed: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bytes = encode_entry_bundle(&borrowed).unwrap();
        prop_assert_eq!(decode_entry_bundle(&bytes, entries.len()).unwrap(), borrowed);
    }
}
