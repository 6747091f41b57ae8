//! The witness rule (protocol §14.4, "Witness behaviour"), pure: given a feed checkpoint whose
//! author's signature verified and what the node's store says of that feed, cosign, wait or
//! refuse.
//!
//! A node cosigns a checkpoint of size n and root r of a trusted author's feed only if
//! 1. it holds the feed to at least n entries and its own tree's root at n is r (so it vouches
//!    for what it can check itself, and serves tiles and proofs that match), and
//! 2. the checkpoint is consistent with the last one it cosigned for that feed (its witness
//!    state, size m and root s): m ≤ n, and a consistency proof from m to n, computed from the
//!    store, verifies between s and r. Sizes never go back.
//!
//! A checkpoint ahead of the node's feed waits until the entries arrive (catch-up sync).

use proto_types::tlog::{ProofError, TreeHash, verify_consistency};

use crate::storage::WitnessState;

/// What the store says of the checkpoint's feed, read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedView {
    /// The feed's head seq here (0: no entry).
    pub head: u64,
    /// The node's tree root at the checkpoint's size, when the head reaches it.
    pub root_at_size: Option<TreeHash>,
    /// The witness state: the last checkpoint this node cosigned for the feed.
    pub state: Option<WitnessState>,
    /// The consistency proof from the state's size to the checkpoint's size, from the store,
    /// when the state is smaller and the head reaches the checkpoint.
    pub consistency: Option<Vec<TreeHash>>,
}

/// Why a witness does not cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    /// The node's tree at that size has another root: the author signed a tree other than the
    /// entries it gossiped.
    #[error("the checkpoint's root is not this node's tree at size {size}")]
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// Smaller than the checkpoint this witness cosigned last: sizes never go back.
    #[error("older than the checkpoint this witness cosigned last (size {cosigned})")]
    OlderThanCosigned {
        /// The size cosigned last.
        cosigned: u64,
    },
    /// Not consistent with the checkpoint this witness cosigned last.
    #[error(
        "inconsistent with the checkpoint this witness cosigned last (size {cosigned}): {reason}"
    )]
    Inconsistent {
        /// The size cosigned last.
        cosigned: u64,
        /// Why the consistency check failed.
        reason: String,
    },
}

/// The witness's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessDecision {
    /// Cosign, and record the checkpoint as the witness state.
    Cosign,
    /// This very checkpoint (size and root) is the one cosigned last: nothing new to sign.
    AlreadyCosigned,
    /// The node does not hold the feed to the checkpoint's size yet.
    Wait {
        /// The node's head.
        head: u64,
    },
    /// Never cosign it.
    Refuse(WitnessRefusal),
}

/// Decides whether to cosign the checkpoint (`size`, `root`) of a trusted author's feed whose
/// signature verified, from what the store says of the feed ([`FeedView`]).
pub fn decide(size: u64, root: &TreeHash, view: &FeedView) -> WitnessDecision {
    if view.head < size {
        return WitnessDecision::Wait { head: view.head };
    }
    match &view.root_at_size {
        Some(held) if held == root => {}
        _ => return WitnessDecision::Refuse(WitnessRefusal::RootMismatch { size }),
    }
    let Some(state) = view.state else {
        return WitnessDecision::Cosign;
    };
    if state.size > size {
        return WitnessDecision::Refuse(WitnessRefusal::OlderThanCosigned {
            cosigned: state.size,
        });
    }
    if state.size == size {
        return if state.root == *root {
            WitnessDecision::AlreadyCosigned
        } else {
            WitnessDecision::Refuse(WitnessRefusal::Inconsistent {
                cosigned: state.size,
                reason: "the same size with another root".to_owned(),
            })
        };
    }
    if state.size == 0 {
        // The empty tree is a prefix of every tree.
        return WitnessDecision::Cosign;
    }
    let inconsistent = |reason: String| {
        WitnessDecision::Refuse(WitnessRefusal::Inconsistent {
            cosigned: state.size,
            reason,
        })
    };
    let Some(proof) = &view.consistency else {
        return inconsistent("no consistency proof".to_owned());
    };
    match verify_consistency(state.size, &state.root, size, root, proof) {
        Ok(()) => WitnessDecision::Cosign,
        Err(error @ (ProofError::RootMismatch | ProofError::OldRootMismatch)) => {
            inconsistent(error.to_string())
        }
        Err(error) => inconsistent(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use proto_types::tlog::{HashReader, NodeId, TreeError, append_leaf, append_siblings};
    use proto_types::tlog::{consistency_proof, leaf_hash, tree_hash};
    use std::collections::HashMap;

    use super::*;

    /// A tree in memory, for the proofs the store would compute.
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
        fn with(leaves: &[&[u8]]) -> Self {
            let mut tree = Tree::default();
            for leaf in leaves {
                let siblings = tree.read_hashes(&append_siblings(tree.size)).unwrap();
                for (id, hash) in append_leaf(tree.size, leaf_hash(leaf), &siblings).unwrap() {
                    tree.nodes.insert(id, hash);
                }
                tree.size += 1;
            }
            tree
        }

        fn root(&mut self, size: u64) -> TreeHash {
            tree_hash(size, self).map_err(|_: TreeError<_>| ()).unwrap()
        }

        fn view(&mut self, size: u64, state: Option<WitnessState>) -> FeedView {
            let consistency = state
                .filter(|state| state.size > 0 && state.size < size && size <= self.size)
                .map(|state| consistency_proof(state.size, size, self).unwrap());
            FeedView {
                head: self.size,
                root_at_size: (size <= self.size).then(|| self.root(size)),
                state,
                consistency,
            }
        }
    }

    const LEAVES: [&[u8]; 7] = [b"a", b"b", b"c", b"d", b"e", b"f", b"g"];

    #[test]
    fn a_first_checkpoint_that_matches_the_tree_is_cosigned() {
        let mut tree = Tree::with(&LEAVES);
        let root = tree.root(5);
        assert_eq!(
            decide(5, &root, &tree.view(5, None)),
            WitnessDecision::Cosign
        );
    }

    #[test]
    fn a_later_consistent_checkpoint_is_cosigned_and_the_same_one_is_not_signed_twice() {
        let mut tree = Tree::with(&LEAVES);
        let state = WitnessState {
            size: 3,
            root: tree.root(3),
        };
        let root = tree.root(7);
        assert_eq!(
            decide(7, &root, &tree.view(7, Some(state))),
            WitnessDecision::Cosign
        );
        let state = WitnessState { size: 7, root };
        assert_eq!(
            decide(7, &root, &tree.view(7, Some(state))),
            WitnessDecision::AlreadyCosigned
        );
    }

    #[test]
    fn a_checkpoint_ahead_of_the_feed_waits() {
        let mut tree = Tree::with(&LEAVES[..4]);
        assert_eq!(
            decide(6, &TreeHash([1; 32]), &tree.view(6, None)),
            WitnessDecision::Wait { head: 4 }
        );
    }

    #[test]
    fn a_root_other_than_the_tree_is_refused() {
        let mut tree = Tree::with(&LEAVES);
        let forged = Tree::with(&[b"a", b"b", b"X"]).root(3);
        assert_eq!(
            decide(3, &forged, &tree.view(3, None)),
            WitnessDecision::Refuse(WitnessRefusal::RootMismatch { size: 3 })
        );
    }

    #[test]
    fn sizes_never_go_back_and_a_same_size_other_root_is_refused() {
        let mut tree = Tree::with(&LEAVES);
        let state = WitnessState {
            size: 6,
            root: tree.root(6),
        };
        let root = tree.root(4);
        assert_eq!(
            decide(4, &root, &tree.view(4, Some(state))),
            WitnessDecision::Refuse(WitnessRefusal::OlderThanCosigned { cosigned: 6 })
        );
        // A state whose root is not the tree's (the witness cosigned a fork it was shown
        // before its store held the entries is impossible, but a corrupt state is refused).
        let state = WitnessState {
            size: 6,
            root: TreeHash([9; 32]),
        };
        let root = tree.root(6);
        assert!(matches!(
            decide(6, &root, &tree.view(6, Some(state))),
            WitnessDecision::Refuse(WitnessRefusal::Inconsistent { cosigned: 6, .. })
        ));
    }

    #[test]
    fn a_checkpoint_inconsistent_with_the_state_is_refused() {
        let mut tree = Tree::with(&LEAVES);
        // The state records a root of size 3 that is not a prefix of this tree.
        let state = WitnessState {
            size: 3,
            root: Tree::with(&[b"x", b"y", b"z"]).root(3),
        };
        let root = tree.root(7);
        assert!(matches!(
            decide(7, &root, &tree.view(7, Some(state))),
            WitnessDecision::Refuse(WitnessRefusal::Inconsistent { cosigned: 3, .. })
        ));
        // No proof at all is refused, never cosigned.
        let mut view = tree.view(7, Some(state));
        view.consistency = None;
        assert!(matches!(
            decide(7, &root, &view),
            WitnessDecision::Refuse(WitnessRefusal::Inconsistent { .. })
        ));
    }
}
