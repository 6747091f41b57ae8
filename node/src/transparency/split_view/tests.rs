//! Split-view proofs: made from contradicting checkpoints, checked by anyone from their JSON,
//! and forged ones refused (a wrong key, the same root, a consistent pair, a bad proof).

use std::collections::HashMap;

use proto_types::checkpoint::{sign_feed_checkpoint, verify_feed_checkpoint};
use proto_types::keys::SecretKey;
use proto_types::tlog::{
    HashReader, NodeId, append_leaf, append_siblings, consistency_evidence, leaf_hash, tree_hash,
};

use super::*;

/// A tree in memory.
#[derive(Default)]
struct Tree {
    nodes: HashMap<NodeId, TreeHash>,
    size: u64,
}

impl HashReader for Tree {
    type Error = std::convert::Infallible;
    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, Self::Error> {
        Ok(nodes.iter().map(|node| self.nodes[node]).collect())
    }
}

impl Tree {
    fn with(leaves: &[&str]) -> Self {
        let mut tree = Tree::default();
        for leaf in leaves {
            let siblings = tree.read_hashes(&append_siblings(tree.size)).unwrap();
            for (id, hash) in append_leaf(tree.size, leaf_hash(leaf.as_bytes()), &siblings).unwrap()
            {
                tree.nodes.insert(id, hash);
            }
            tree.size += 1;
        }
        tree
    }

    fn root(&mut self, size: u64) -> TreeHash {
        tree_hash(size, self).unwrap()
    }
}

fn checkpoint(key: &SecretKey, size: u64, root: &TreeHash) -> VerifiedCheckpoint {
    verify_feed_checkpoint(&sign_feed_checkpoint(key, size, root)).unwrap()
}

const HONEST: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const FORK: [&str; 6] = ["a", "b", "X", "d", "e", "f"];

#[test]
fn same_size_different_roots_is_a_proof_anyone_checks() {
    let key = SecretKey::from_seed(&[1; 32]);
    let a = checkpoint(&key, 4, &Tree::with(&HONEST).root(4));
    let b = checkpoint(&key, 4, &Tree::with(&FORK).root(4));
    let proof = SplitViewProof::same_size(&a, &b).expect("a contradiction");
    // One pair, one proof, in whichever order it was found.
    assert_eq!(SplitViewProof::same_size(&b, &a), Some(proof.clone()));
    let json = proof.to_json();
    let read = SplitViewProof::from_json(&json).expect("the proof checks");
    assert_eq!(read, proof);
    assert_eq!(read.id(), proof.id());
    assert_eq!(read.author(), &key.public_key());
    let view = proof.to_view();
    assert_eq!(view["kind"], SPLIT_VIEW_KIND);
    assert_eq!(view["author"], key.public_key().to_did_key());
    assert_eq!(view["first_size"], 4);
    assert!(view.get("consistency").is_none());
    // The same checkpoint twice is no contradiction.
    assert_eq!(SplitViewProof::same_size(&a, &a.clone()), None);
}

#[test]
fn a_larger_checkpoint_with_consistency_evidence_is_a_proof() {
    let key = SecretKey::from_seed(&[2; 32]);
    let mut honest = Tree::with(&HONEST);
    let forged_small = checkpoint(&key, 3, &Tree::with(&FORK).root(3));
    let large = checkpoint(&key, 6, &honest.root(6));
    for old in [1u64, 2, 3, 4, 5] {
        let mut fork = Tree::with(&FORK);
        let smaller = checkpoint(&key, old, &fork.root(old));
        let evidence = consistency_evidence(old, 6, &mut honest).unwrap();
        let proof = SplitViewProof::with_consistency(&smaller, &large, evidence.clone());
        if old < 3 {
            // The first two leaves agree: no contradiction there.
            assert_eq!(proof, None, "size {old}");
            continue;
        }
        let proof = proof.unwrap_or_else(|| panic!("size {old} contradicts"));
        let read = SplitViewProof::from_json(&proof.to_json()).expect("checks");
        assert_eq!(read, proof);
        assert!(proof.to_view().get("consistency").is_some());
    }
    let evidence = consistency_evidence(3, 6, &mut honest).unwrap();
    assert!(SplitViewProof::with_consistency(&forged_small, &large, evidence).is_some());
}

#[test]
fn forged_proofs_are_refused() {
    let key = SecretKey::from_seed(&[3; 32]);
    let mut honest = Tree::with(&HONEST);
    let a = checkpoint(&key, 4, &honest.root(4));
    let b = checkpoint(&key, 4, &Tree::with(&FORK).root(4));
    let good: serde_json::Value =
        serde_json::from_slice(&SplitViewProof::same_size(&a, &b).unwrap().to_json()).unwrap();
    let refused = |value: &serde_json::Value| {
        SplitViewProof::from_json(&serde_json::to_vec(value).unwrap()).unwrap_err()
    };

    // A checkpoint signed by another key under the origin's name.
    let other = SecretKey::from_seed(&[4; 32]);
    let mut wrong_key = good.clone();
    let foreign = sign_feed_checkpoint(&other, 4, &Tree::with(&FORK).root(4)).replace(
        &proto_types::checkpoint::feed_origin(&other.public_key()),
        &proto_types::checkpoint::feed_origin(&key.public_key()),
    );
    wrong_key["second"] = foreign.into();
    assert!(matches!(refused(&wrong_key), SplitViewError::Checkpoint(_)));

    // Two checkpoints of different feeds.
    let mut two_feeds = good.clone();
    two_feeds["second"] = sign_feed_checkpoint(&other, 4, &TreeHash([9; 32])).into();
    assert!(matches!(
        refused(&two_feeds),
        SplitViewError::OriginMismatch
    ));

    // The same root twice.
    let mut same = good.clone();
    same["second"] = same["first"].clone();
    assert!(matches!(
        refused(&same),
        SplitViewError::NotContradictory(_)
    ));

    // A consistent pair with a valid consistency proof.
    let small = checkpoint(&key, 3, &honest.root(3));
    let large = checkpoint(&key, 6, &honest.root(6));
    let evidence = consistency_evidence(3, 6, &mut honest).unwrap();
    assert_eq!(
        SplitViewProof::with_consistency(&small, &large, evidence.clone()),
        None
    );
    let consistent = serde_json::json!({
        "kind": SPLIT_VIEW_KIND,
        "origin": small.checkpoint().origin(),
        "first": small.to_note_text_with(&[]),
        "second": large.to_note_text_with(&[]),
        "consistency": evidence.iter().map(|hash| STANDARD.encode(hash.0)).collect::<Vec<_>>(),
    });
    assert!(matches!(
        refused(&consistent),
        SplitViewError::NotContradictory(_)
    ));

    // A consistency proof that does not lead to the larger root.
    let mut bad_proof = consistent.clone();
    bad_proof["consistency"][0] = STANDARD.encode([0u8; 32]).into();
    bad_proof["first"] = checkpoint(&key, 3, &TreeHash([5; 32]))
        .to_note_text_with(&[])
        .into();
    assert!(matches!(
        refused(&bad_proof),
        SplitViewError::Consistency(_)
    ));

    // Shape: unknown fields, another kind, the larger first, junk, oversize, non-canonical hashes.
    let mut extra = good.clone();
    extra["note"] = "x".into();
    assert!(matches!(refused(&extra), SplitViewError::Malformed(_)));
    let mut kind = good.clone();
    kind["kind"] = "equivocation".into();
    assert!(matches!(refused(&kind), SplitViewError::Malformed(_)));
    let mut swapped = consistent.clone();
    swapped["first"] = consistent["second"].clone();
    swapped["second"] = consistent["first"].clone();
    assert!(refused(&swapped).to_string().contains("smaller"));
    let mut unordered = good.clone();
    unordered["first"] = good["second"].clone();
    unordered["second"] = good["first"].clone();
    assert!(matches!(refused(&unordered), SplitViewError::Malformed(_)));
    assert!(matches!(
        SplitViewProof::from_json(b"{\"kind\":"),
        Err(SplitViewError::Malformed(_))
    ));
    assert!(matches!(
        SplitViewProof::from_json(&vec![b' '; MAX_SPLIT_VIEW_PROOF_BYTES + 1]),
        Err(SplitViewError::TooLarge)
    ));
    let mut padded = consistent.clone();
    padded["consistency"][0] = format!("{}\n", STANDARD.encode([1u8; 32])).into();
    assert!(matches!(refused(&padded), SplitViewError::Malformed(_)));
    let mut too_many = consistent.clone();
    too_many["consistency"] = vec![STANDARD.encode([1u8; 32]); MAX_PROOF_HASHES + 1].into();
    assert!(matches!(refused(&too_many), SplitViewError::Malformed(_)));
    // An empty tree contradicts nothing larger.
    let empty = checkpoint(&key, 0, &TreeHash::empty());
    assert_eq!(
        SplitViewProof::with_consistency(&empty, &large, Vec::new()),
        None
    );
}

/// The proof of protocol.md's example (`checkpoint-equivocation`): the office's feed (seed
/// `01` × 32) signed at size 5 the tree of `entry 1` … `entry 5` (§14.3's example) and another
/// tree whose third leaf is `entry X`.
fn protocol_example() -> SplitViewProof {
    let key = SecretKey::from_seed(&[1; 32]);
    let honest = Tree::with(&["entry 1", "entry 2", "entry 3", "entry 4", "entry 5"]).root(5);
    let forged = Tree::with(&["entry 1", "entry 2", "entry X", "entry 4", "entry 5"]).root(5);
    SplitViewProof::same_size(&checkpoint(&key, 5, &honest), &checkpoint(&key, 5, &forged))
        .expect("a contradiction")
}

#[test]
fn the_protocol_example_is_this_proof() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/protocol.md");
    let marker = "Example (`checkpoint-equivocation`)";
    let rest = &text[text.find(marker).expect("the example is in protocol.md")..];
    let open = rest.find("```json\n").expect("a json block follows") + "```json\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    let printed = &rest.as_bytes()[open..open + close];
    let read = SplitViewProof::from_json(printed).expect("the printed proof checks");
    let proof = protocol_example();
    assert_eq!(read, proof);
    let value: serde_json::Value = serde_json::from_slice(printed).unwrap();
    assert_eq!(serde_json::to_vec(&value).unwrap(), proof.to_json());
    assert_eq!(
        hex::encode(proof.id()),
        rest.split("id `")
            .nth(1)
            .and_then(|tail| tail.split('`').next())
            .unwrap_or_default(),
        "the printed id"
    );
}

#[test]
#[ignore = "prints protocol.md's example"]
fn print_the_protocol_example() {
    let proof = protocol_example();
    let value: serde_json::Value = serde_json::from_slice(&proof.to_json()).unwrap();
    println!("{}", serde_json::to_string_pretty(&value).unwrap());
    println!("id {}", hex::encode(proof.id()));
}
