//! Properties of `proto_types::tlog`'s proofs on random trees: every inclusion and consistency
//! proof verifies; any flipped bit, truncation, extension or wrong claim fails; the old root a
//! consistency proof implies is the old tree's root, and a split view is caught by it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use proto_types::tlog::{
    HashReader, MAX_PROOF_HASHES, NodeId, ProofError, TreeError, TreeHash, append_leaf,
    append_siblings, consistency_evidence, consistency_proof, inclusion_proof, leaf_hash,
    old_root_from_consistency, read_exactly, tree_hash, verify_consistency, verify_inclusion,
};
use std::collections::BTreeMap;

#[derive(Default, Clone)]
struct MemoryTree {
    size: u64,
    nodes: BTreeMap<NodeId, TreeHash>,
    reads: usize,
}

impl MemoryTree {
    fn with_leaves(leaves: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut tree = Self::default();
        for data in leaves {
            let wanted = append_siblings(tree.size);
            let siblings = read_exactly(&mut tree, &wanted).unwrap();
            for (id, hash) in append_leaf(tree.size, leaf_hash(&data), &siblings).unwrap() {
                tree.nodes.insert(id, hash);
            }
            tree.size += 1;
        }
        tree.reads = 0;
        tree
    }

    /// Leaves that are all different: the index, then random bytes.
    fn random(size: u64, seed: u64) -> Self {
        Self::with_leaves((0..size).map(|index| {
            let mut data = index.to_be_bytes().to_vec();
            data.extend(seed.wrapping_mul(index + 1).to_le_bytes());
            data
        }))
    }
}

impl HashReader for MemoryTree {
    type Error = NodeId;
    fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, NodeId> {
        self.reads += 1;
        assert!(nodes.len() < 128, "{} nodes in one read", nodes.len());
        nodes
            .iter()
            .map(|id| {
                assert!(id.is_complete_in(self.size), "{id:?} is not stored");
                self.nodes.get(id).copied().ok_or(*id)
            })
            .collect()
    }
}

fn flip(proof: &[TreeHash], position: usize, bit: usize) -> Vec<TreeHash> {
    let mut changed = proof.to_vec();
    changed[position].0[bit / 8] ^= 1 << (bit % 8);
    changed
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_proofs_verify_and_any_change_fails(
        size in 1u64..400,
        seed: u64,
        index_seed: u64,
        bit in 0usize..256,
        position_seed: usize,
        junk: [u8; 32],
    ) {
        let mut tree = MemoryTree::random(size, seed);
        let index = index_seed % size;
        let root = tree_hash(size, &mut tree).unwrap();
        let leaf = tree.nodes[&NodeId::new(0, index)];
        tree.reads = 0;
        let proof = inclusion_proof(index, size, &mut tree).unwrap();
        prop_assert!(tree.reads <= 1, "one read");
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();

        if !proof.is_empty() {
            let position = position_seed % proof.len();
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &flip(&proof, position, bit), &root),
                Err(ProofError::RootMismatch)
            );
            let truncated = &proof[..proof.len() - 1];
            let refused = matches!(
                verify_inclusion(&leaf, index, size, truncated, &root),
                Err(ProofError::WrongLength { .. })
            );
            prop_assert!(refused);
        }
        let mut extended = proof.clone();
        extended.push(TreeHash(junk));
        let refused = matches!(
            verify_inclusion(&leaf, index, size, &extended, &root),
            Err(ProofError::WrongLength { .. })
        );
        prop_assert!(refused);
        let mut wrong_leaf = leaf;
        wrong_leaf.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&wrong_leaf, index, size, &proof, &root).is_err());
        let mut wrong_root = root;
        wrong_root.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &wrong_root).is_err());
        // Another position for the same leaf: a different leaf is there, or the path differs.
        if size > 1 {
            let other = (index + 1 + index_seed % (size - 1)) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        prop_assert_eq!(
            verify_inclusion(&leaf, size, size, &proof, &root),
            Err(ProofError::IndexOutOfRange { index: size, size })
        );
    }

    #[test]
    fn consistency_proofs_verify_and_any_change_fails(
        new in 1u64..400,
        seed: u64,
        old_seed: u64,
        bit in 0usize..256,
        position_seed: usize,
        junk: [u8; 32],
    ) {
        let mut tree = MemoryTree::random(new, seed);
        let old = 1 + old_seed % new;
        let old_root = tree_hash(old, &mut tree).unwrap();
        let new_root = tree_hash(new, &mut tree).unwrap();
        tree.reads = 0;
        let proof = consistency_proof(old, new, &mut tree).unwrap();
        prop_assert!(tree.reads <= 1, "one read");
        verify_consistency(old, &old_root, new, &new_root, &proof).unwrap();

        // The evidence form gives back the old root.
        let evidence = consistency_evidence(old, new, &mut tree).unwrap();
        prop_assert_eq!(
            evidence.len(),
            proof.len() + usize::from(old != new && old.is_power_of_two())
        );
        prop_assert_eq!(old_root_from_consistency(old, new, &new_root, &evidence), Ok(old_root));

        if !proof.is_empty() {
            let position = position_seed % proof.len();
            prop_assert!(verify_consistency(
                old, &old_root, new, &new_root, &flip(&proof, position, bit)
            ).is_err());
            prop_assert!(verify_consistency(
                old, &old_root, new, &new_root, &proof[..proof.len() - 1]
            ).is_err());
            let position = position_seed % evidence.len();
            prop_assert_eq!(
                old_root_from_consistency(old, new, &new_root, &flip(&evidence, position, bit))
                    .map(|computed| computed == old_root),
                Err(ProofError::RootMismatch)
            );
        }
        let mut extended = proof.clone();
        extended.push(TreeHash(junk));
        prop_assert!(verify_consistency(old, &old_root, new, &new_root, &extended).is_err());
        let mut wrong = old_root;
        wrong.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, &wrong, new, &new_root, &proof).is_err());
        let mut wrong = new_root;
        wrong.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, &old_root, new, &wrong, &proof).is_err());
        if old != new {
            prop_assert!(old_root_from_consistency(old, new, &wrong, &evidence).is_err());
        }
    }

    /// Two trees that agree on their first `old − 1` leaves and differ at leaf `old − 1`: the
    /// evidence from the larger tree gives an old root that is not the other tree's, and no
    /// consistency proof of the larger tree passes for the other tree's old root.
    #[test]
    fn a_split_view_is_caught_by_the_old_root_the_evidence_implies(
        new in 2u64..300,
        seed: u64,
        old_seed: u64,
    ) {
        let old = 1 + old_seed % (new - 1);
        let honest = MemoryTree::random(new, seed);
        let mut forked_leaves: Vec<Vec<u8>> = (0..new)
            .map(|index| {
                let mut data = index.to_be_bytes().to_vec();
                data.extend(seed.wrapping_mul(index + 1).to_le_bytes());
                data
            })
            .collect();
        forked_leaves[(old - 1) as usize].push(0xff);
        let mut forked = MemoryTree::with_leaves(forked_leaves);
        let mut honest = honest;
        let honest_old_root = tree_hash(old, &mut honest).unwrap();
        let forked_new_root = tree_hash(new, &mut forked).unwrap();
        let evidence = consistency_evidence(old, new, &mut forked).unwrap();
        let implied = old_root_from_consistency(old, new, &forked_new_root, &evidence).unwrap();
        prop_assert_ne!(implied, honest_old_root);
        prop_assert_eq!(implied, tree_hash(old, &mut forked).unwrap());
        let proof = consistency_proof(old, new, &mut forked).unwrap();
        prop_assert!(
            verify_consistency(old, &honest_old_root, new, &forked_new_root, &proof).is_err()
        );
    }
}

#[test]
fn sizes_out_of_range_are_refused() {
    let mut tree = MemoryTree::random(10, 1);
    let root = tree_hash(10, &mut tree).unwrap();
    assert!(matches!(
        inclusion_proof(10, 10, &mut tree),
        Err(TreeError::OutOfRange(_))
    ));
    assert!(matches!(
        inclusion_proof(0, 0, &mut tree),
        Err(TreeError::OutOfRange(_))
    ));
    for (old, new) in [(0, 5), (0, 0), (6, 5)] {
        assert!(matches!(
            consistency_proof(old, new, &mut tree),
            Err(TreeError::OutOfRange(_))
        ));
        assert_eq!(
            verify_consistency(old, &root, new, &root, &[]),
            Err(ProofError::BadSizes { old, new })
        );
        assert_eq!(
            old_root_from_consistency(old, new, &root, &[]),
            Err(ProofError::BadSizes { old, new })
        );
    }
    // Equal sizes: the empty proof, equal roots.
    assert_eq!(consistency_proof(7, 7, &mut tree).unwrap(), vec![]);
    verify_consistency(7, &root, 7, &root, &[]).unwrap();
    assert_eq!(
        verify_consistency(7, &root, 7, &TreeHash::empty(), &[]),
        Err(ProofError::RootMismatch)
    );
    assert!(matches!(
        verify_consistency(7, &root, 7, &root, &[root]),
        Err(ProofError::WrongLength { .. })
    ));
    assert_eq!(old_root_from_consistency(7, 7, &root, &[]), Ok(root));
}

#[test]
fn a_plain_proof_is_not_evidence_for_a_power_of_two_old_size() {
    let mut tree = MemoryTree::random(13, 2);
    let new_root = tree_hash(13, &mut tree).unwrap();
    let proof = consistency_proof(8, 13, &mut tree).unwrap();
    assert!(matches!(
        old_root_from_consistency(8, 13, &new_root, &proof),
        Err(ProofError::WrongLength { .. })
    ));
    let evidence = consistency_evidence(8, 13, &mut tree).unwrap();
    assert_eq!(evidence[0], tree.nodes[&NodeId::new(3, 0)]);
    assert_eq!(&evidence[1..], &proof[..]);
}

#[test]
fn oversized_proofs_are_refused_before_hashing() {
    let long = vec![TreeHash::empty(); MAX_PROOF_HASHES + 1];
    let root = TreeHash::empty();
    assert!(matches!(
        verify_inclusion(&root, 0, u64::MAX, &long, &root),
        Err(ProofError::TooLong { .. })
    ));
    assert!(matches!(
        verify_consistency(1, &root, u64::MAX, &root, &long),
        Err(ProofError::TooLong { .. })
    ));
    assert!(matches!(
        old_root_from_consistency(3, u64::MAX, &root, &long),
        Err(ProofError::TooLong { .. })
    ));
    // The largest trees: right lengths, wrong hashes, refused without overflow.
    let proof = vec![TreeHash::empty(); 64];
    assert_eq!(
        verify_inclusion(&root, 0, u64::MAX, &proof, &root),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&root, u64::MAX - 1, u64::MAX, &proof[..63], &root),
        Err(ProofError::RootMismatch)
    );
    let proof = vec![TreeHash::empty(); 65];
    let old = (1u64 << 63) + (1 << 62) + 1;
    assert_eq!(
        verify_consistency(old, &root, u64::MAX, &root, &proof),
        Err(ProofError::RootMismatch)
    );
}

/// A reader that answers too few hashes is refused, not trusted.
#[test]
fn a_short_reader_is_refused() {
    struct Short;
    impl HashReader for Short {
        type Error = ();
        fn read_hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<TreeHash>, ()> {
            Ok(vec![TreeHash::empty(); nodes.len() - 1])
        }
    }
    assert!(matches!(
        inclusion_proof(3, 7, &mut Short),
        Err(TreeError::ShortRead { .. })
    ));
    assert!(matches!(
        consistency_proof(3, 7, &mut Short),
        Err(TreeError::ShortRead { .. })
    ));
}
