//! The worked example of protocol.md §14.7 (a tree of 7 entries: roots, an inclusion proof, a
//! consistency proof, split-view evidence, its level-0 tile and entry bundle) is what
//! `proto_types::tlog` computes: the ```text block after "Worked example (§14.7)" is compared
//! line by line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proto_types::tlog::{
    MemoryTree, TileId, TreeHash, consistency_evidence, consistency_proof, encode_entry_bundle,
    encode_hash_tile, hash_tile_nodes, inclusion_proof, leaf_hash, old_root_from_consistency,
    read_exactly, tree_hash, verify_consistency, verify_inclusion,
};

fn hex(hash: &TreeHash) -> String {
    hex::encode(hash.0)
}

/// The example's lines, as protocol.md prints them.
fn expected_lines() -> Vec<String> {
    let leaves: Vec<Vec<u8>> = (1..=7)
        .map(|seq| format!("entry {seq}").into_bytes())
        .collect();
    let mut tree = MemoryTree::default();
    for data in &leaves {
        tree.append(data);
    }
    let mut lines = Vec::new();
    for (index, data) in leaves.iter().enumerate() {
        lines.push(format!("leaf {index}   {}", hex(&leaf_hash(data))));
    }
    let root3 = tree_hash(3, &mut tree).unwrap();
    let root4 = tree_hash(4, &mut tree).unwrap();
    let root7 = tree_hash(7, &mut tree).unwrap();
    lines.push(format!("root 3   {}", hex(&root3)));
    lines.push(format!("root 4   {}", hex(&root4)));
    lines.push(format!("root 7   {}", hex(&root7)));

    let inclusion = inclusion_proof(4, 7, &mut tree).unwrap();
    verify_inclusion(&leaf_hash(&leaves[4]), 4, 7, &inclusion, &root7).unwrap();
    for (position, hash) in inclusion.iter().enumerate() {
        lines.push(format!("inclusion 4 in 7 [{position}]   {}", hex(hash)));
    }
    let consistency = consistency_proof(3, 7, &mut tree).unwrap();
    verify_consistency(3, &root3, 7, &root7, &consistency).unwrap();
    for (position, hash) in consistency.iter().enumerate() {
        lines.push(format!("consistency 3 to 7 [{position}]   {}", hex(hash)));
    }
    let proof4 = consistency_proof(4, 7, &mut tree).unwrap();
    verify_consistency(4, &root4, 7, &root7, &proof4).unwrap();
    for (position, hash) in proof4.iter().enumerate() {
        lines.push(format!("consistency 4 to 7 [{position}]   {}", hex(hash)));
    }
    let evidence = consistency_evidence(4, 7, &mut tree).unwrap();
    assert_eq!(evidence[0], root4);
    assert_eq!(
        old_root_from_consistency(4, 7, &root7, &evidence),
        Ok(root4)
    );
    assert_eq!(
        old_root_from_consistency(3, 7, &root7, &consistency),
        Ok(root3)
    );

    let tile = TileId::new(0, 0, 7).unwrap();
    let tile_hashes = read_exactly(&mut tree, &hash_tile_nodes(&tile)).unwrap();
    let tile_bytes = encode_hash_tile(&tile_hashes);
    assert_eq!(tile_bytes.len(), 7 * 32);
    assert_eq!(TileId::right_edge(7), vec![tile]);
    lines.push(format!(
        "{}   {} bytes: leaf 0 … leaf 6",
        tile.path(),
        tile_bytes.len()
    ));
    let borrowed: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    let bundle = encode_entry_bundle(&borrowed).unwrap();
    lines.push(format!(
        "{}   {}…",
        tile.entries_path(),
        hex::encode(&bundle[..18])
    ));
    lines
}

#[test]
fn the_worked_example_in_protocol_md_is_what_the_code_computes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    let expected = expected_lines();
    let marker = "Worked example (§14.7)";
    let Some(start) = text.find(marker) else {
        panic!(
            "protocol.md has no {marker:?}; the block is:\n{}",
            expected.join("\n")
        );
    };
    let rest = &text[start..];
    let open = rest.find("```text\n").expect("a text block follows") + "```text\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    let printed: Vec<String> = rest[open..open + close]
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    let normalised: Vec<String> = expected
        .iter()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        printed,
        normalised,
        "protocol.md §14.7's example; the computed block is:\n{}",
        expected.join("\n")
    );
}
