//! Inclusion and consistency proofs (RFC 9162 §2.1.3–2.1.4, protocol.md §14.7).
//!
//! A proof is a list of Merkle Tree Hashes of ranges of leaves. Building one is two steps, as
//! in Go's `sumdb/tlog`: first the *plan* (pure arithmetic on the sizes) says which leaf ranges
//! the proof hashes and which stored nodes cover each range; then one
//! [`HashReader::read_hashes`] call fetches all those nodes, and each range's hash is folded
//! from its nodes ([`fold_from_right`]). Every range is either a complete subtree (one stored
//! node) or, at most once per proof, the right edge of the tree (at most 63 stored nodes), so a
//! proof reads fewer than `2 · 64` nodes.
//!
//! Verification is RFC 9162 §2.1.3.2 and §2.1.4.2 as written, after two checks that cost no
//! hashing: the sizes are in range and the proof has exactly the length the sizes imply (which
//! is at most [`MAX_PROOF_HASHES`]).
//!
//! # Split-view evidence
//!
//! RFC 9162's consistency verification computes two roots from one proof: the root of the old
//! tree and the root of the new one. [`old_root_from_consistency`] returns the first after
//! checking the second against a signed new root. If the old root it returns differs from the
//! root a checkpoint of the old size signs, the two checkpoints cannot both describe one log:
//! the procedure hashes the complete subtrees that make up the old tree into the new root along
//! a path fixed by the two sizes alone, so two proofs that both reach the same new root but give
//! different old roots would, at the first node where their inputs differ and their outputs
//! agree, exhibit a SHA-256 collision (leaf and node hashes are domain-separated, so a leaf can
//! never pass for a node either). Evidence built this way is therefore as strong as SHA-256's
//! collision resistance, and needs nothing but the two checkpoints and the proof.

use super::{
    HashReader, NodeId, TreeError, TreeHash, fold_from_right, node_hash, read_exactly,
    subtree_nodes,
};

/// The most hashes an inclusion proof can have: one per level of a tree of fewer than 2^64
/// leaves.
pub const MAX_INCLUSION_PROOF_HASHES: usize = 64;

/// The most hashes a consistency proof can have: one per level, and the old tree's last
/// subtree (RFC 9162 §2.1.4.1). Also the most a [`consistency_evidence`] path can have.
pub const MAX_CONSISTENCY_PROOF_HASHES: usize = 65;

/// The most hashes any proof can have; a longer proof is refused before any hashing.
pub const MAX_PROOF_HASHES: usize = MAX_CONSISTENCY_PROOF_HASHES;

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not in the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The leaf index given.
        index: u64,
        /// The tree size given.
        size: u64,
    },
    /// The sizes of a consistency proof are not `0 < old ≤ new`.
    #[error("consistency needs 0 < old size ≤ new size, got {old} and {new}")]
    BadSizes {
        /// The old tree size given.
        old: u64,
        /// The new tree size given.
        new: u64,
    },
    /// The proof is longer than any valid proof.
    #[error("the proof has {length} hashes, more than any proof can have ({max})")]
    TooLong {
        /// Hashes in the proof.
        length: usize,
        /// [`MAX_PROOF_HASHES`] or the bound of the proof's kind.
        max: usize,
    },
    /// The proof does not have the length its sizes imply.
    #[error("the proof has {length} hashes where the sizes imply {expected}")]
    WrongLength {
        /// Hashes in the proof.
        length: usize,
        /// Hashes a valid proof has.
        expected: usize,
    },
    /// The proof leads to a different root than the one given (the new root, for consistency).
    #[error("the proof does not lead to the given root")]
    RootMismatch,
    /// A consistency proof leads to the new root but to a different old root.
    #[error("the proof leads to the new root but not to the given old root")]
    OldRootMismatch,
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges `[start, end)` whose hashes make up the inclusion proof of leaf `index` in a
/// tree of `size` leaves, in proof order (from the leaf up). Requires `index < size`.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    // RFC 9162 §2.1.3.1, top down: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k,
    // PATH(m − k, D[k:n]) : MTH(D[0:k]) otherwise; the element of the outer call comes last.
    let mut ranges = Vec::new();
    let (mut start, mut end) = (0, size);
    while end - start > 1 {
        let split = start + split_point(end - start);
        if index < split {
            ranges.push((split, end));
            end = split;
        } else {
            ranges.push((start, split));
            start = split;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose hashes make up the consistency proof from `old` to `new` leaves, in
/// proof order. Requires `0 < old < new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    // RFC 9162 §2.1.4.1, top down: SUBPROOF(m, D[n], b) is SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
    // when m ≤ k, SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k]) otherwise, and [MTH(D[n])]
    // when m = n and b is false (the old tree's hash is not known to the verifier).
    let mut ranges = Vec::new();
    let (mut start, mut end, mut remaining) = (0, new, old);
    let mut is_old_tree_known = true;
    loop {
        let length = end - start;
        if remaining == length {
            if !is_old_tree_known {
                ranges.push((start, end));
            }
            break;
        }
        let split = split_point(length);
        if remaining <= split {
            ranges.push((start + split, end));
            end = start + split;
        } else {
            ranges.push((start, start + split));
            start += split;
            remaining -= split;
            is_old_tree_known = false;
        }
    }
    ranges.reverse();
    ranges
}

/// The stored nodes a proof made of `ranges` reads, and for each range where its nodes are.
struct Plan {
    nodes: Vec<NodeId>,
    /// `nodes[ends[i − 1]..ends[i]]` cover range `i`.
    ends: Vec<usize>,
}

impl Plan {
    fn new(ranges: &[(u64, u64)]) -> Self {
        let mut nodes = Vec::new();
        let mut ends = Vec::with_capacity(ranges.len());
        for &(start, end) in ranges {
            nodes.extend(subtree_nodes(start, end));
            ends.push(nodes.len());
        }
        Self { nodes, ends }
    }

    /// Reads the plan's nodes in one call and folds each range's hash.
    fn read<R: HashReader>(
        &self,
        size: u64,
        reader: &mut R,
    ) -> Result<Vec<TreeHash>, TreeError<R::Error>> {
        if let Some(node) = self.nodes.iter().find(|node| !node.is_complete_in(size)) {
            // Cannot happen for the ranges above; refuse rather than ask a reader for a node it
            // does not store.
            return Err(TreeError::OutOfRange(format!(
                "node {node:?} is not stored in a tree of {size} leaves"
            )));
        }
        let hashes = read_exactly(reader, &self.nodes)?;
        let mut proof = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            let folded = hashes
                .get(start..end)
                .and_then(fold_from_right)
                .ok_or_else(|| {
                    TreeError::OutOfRange("a proof range covers no stored node".to_owned())
                })?;
            proof.push(folded);
            start = end;
        }
        Ok(proof)
    }
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162
/// §2.1.3.1): the hashes from the leaf's sibling up to the root's child, read from the stored
/// nodes in one call. Requires `index < size`.
pub fn inclusion_proof<R: HashReader>(
    index: u64,
    size: u64,
    reader: &mut R,
) -> Result<Vec<TreeHash>, TreeError<R::Error>> {
    if index >= size {
        return Err(TreeError::OutOfRange(format!(
            "leaf index {index} is not below the tree size {size}"
        )));
    }
    Plan::new(&inclusion_ranges(index, size)).read(size, reader)
}

/// The consistency proof between the trees of the first `old_size` and `new_size` leaves (RFC
/// 9162 §2.1.4.1), read from the stored nodes of the tree of `new_size` leaves in one call.
/// Requires `0 < old_size ≤ new_size`; equal sizes have the empty proof.
pub fn consistency_proof<R: HashReader>(
    old_size: u64,
    new_size: u64,
    reader: &mut R,
) -> Result<Vec<TreeHash>, TreeError<R::Error>> {
    if consistency_sizes(old_size, new_size)? {
        return Ok(Vec::new());
    }
    Plan::new(&consistency_ranges(old_size, new_size)).read(new_size, reader)
}

/// Checks `0 < old_size ≤ new_size`; whether the sizes are equal (the empty proof).
fn consistency_sizes<E>(old_size: u64, new_size: u64) -> Result<bool, TreeError<E>> {
    if old_size == 0 || old_size > new_size {
        return Err(TreeError::OutOfRange(format!(
            "consistency needs 0 < old size ≤ new size, got {old_size} and {new_size}"
        )));
    }
    Ok(old_size == new_size)
}

/// The consistency proof from `old_size` to `new_size` in the form
/// [`old_root_from_consistency`] takes: when `old_size` is a power of two, RFC 9162's proof
/// leaves out the old tree's root (a verifier is expected to know it), so it is put first;
/// otherwise the proof is [`consistency_proof`]'s. One read, like the proof.
pub fn consistency_evidence<R: HashReader>(
    old_size: u64,
    new_size: u64,
    reader: &mut R,
) -> Result<Vec<TreeHash>, TreeError<R::Error>> {
    if consistency_sizes(old_size, new_size)? {
        return Ok(Vec::new());
    }
    let mut ranges = consistency_ranges(old_size, new_size);
    if old_size.is_power_of_two() {
        ranges.insert(0, (0, old_size));
    }
    Plan::new(&ranges).read(new_size, reader)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): `proof` shows that the leaf whose hash is
/// `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &TreeHash,
    index: u64,
    size: u64,
    proof: &[TreeHash],
    root: &TreeHash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_INCLUSION_PROOF_HASHES {
        return Err(ProofError::TooLong {
            length: proof.len(),
            max: MAX_INCLUSION_PROOF_HASHES,
        });
    }
    let expected = inclusion_ranges(index, size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            length: proof.len(),
            expected,
        });
    }
    let mut position = index;
    let mut last = size - 1;
    let mut hash = *leaf;
    for sibling in proof {
        if last == 0 {
            // Unreachable after the length check; kept as RFC 9162 writes it.
            return Err(ProofError::WrongLength {
                length: proof.len(),
                expected,
            });
        }
        if position & 1 == 1 || position == last {
            hash = node_hash(sibling, &hash);
            if position & 1 == 0 {
                // The right edge: skip the levels where this subtree has no right sibling.
                while position & 1 == 0 && position != 0 {
                    position >>= 1;
                    last >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        position >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(ProofError::WrongLength {
            length: proof.len(),
            expected,
        });
    }
    if hash != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): `proof` shows that the tree of `old_size`
/// leaves with root `old_root` is a prefix of the tree of `new_size` leaves with root
/// `new_root`. Requires `0 < old_size ≤ new_size`; for equal sizes the proof is empty and the
/// roots are equal.
pub fn verify_consistency(
    old_size: u64,
    old_root: &TreeHash,
    new_size: u64,
    new_root: &TreeHash,
    proof: &[TreeHash],
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size, proof.len())?;
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                length: proof.len(),
                expected: 0,
            });
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_ranges(old_size, new_size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            length: proof.len(),
            expected,
        });
    }
    let computed_old = if old_size.is_power_of_two() {
        // RFC 9162 §2.1.4.2 step 2: the old root is the path's first element.
        let mut path = Vec::with_capacity(proof.len() + 1);
        path.push(*old_root);
        path.extend_from_slice(proof);
        run_consistency(old_size, new_size, new_root, &path)?
    } else {
        run_consistency(old_size, new_size, new_root, proof)?
    };
    if computed_old != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    Ok(())
}

/// The root of the tree of the first `old_size` leaves that a consistency proof implies, once
/// the proof is checked to lead to `new_root` (the tree of `new_size` leaves): split-view
/// evidence (see the [module documentation](self) for why it is sound).
///
/// `evidence` is [`consistency_evidence`]'s form: the RFC 9162 consistency proof, preceded by
/// the old root when `old_size` is a power of two (RFC 9162's proof leaves it out, as the
/// verifier is expected to know it; RFC 9162 §2.1.4.2 step 2 puts it first too). A plain proof
/// for a power-of-two old size is one hash short and refused. For equal sizes the evidence is
/// empty and the old root is `new_root`.
pub fn old_root_from_consistency(
    old_size: u64,
    new_size: u64,
    new_root: &TreeHash,
    evidence: &[TreeHash],
) -> Result<TreeHash, ProofError> {
    check_consistency_sizes(old_size, new_size, evidence.len())?;
    if old_size == new_size {
        if !evidence.is_empty() {
            return Err(ProofError::WrongLength {
                length: evidence.len(),
                expected: 0,
            });
        }
        return Ok(*new_root);
    }
    let expected =
        consistency_ranges(old_size, new_size).len() + usize::from(old_size.is_power_of_two());
    if evidence.len() != expected {
        return Err(ProofError::WrongLength {
            length: evidence.len(),
            expected,
        });
    }
    run_consistency(old_size, new_size, new_root, evidence)
}

/// The checks of a consistency proof that need no hashing.
fn check_consistency_sizes(old_size: u64, new_size: u64, length: usize) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::BadSizes {
            old: old_size,
            new: new_size,
        });
    }
    if length > MAX_CONSISTENCY_PROOF_HASHES {
        return Err(ProofError::TooLong {
            length,
            max: MAX_CONSISTENCY_PROOF_HASHES,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 steps 3–8 on `path` (the proof, with the old root first when `old_size`
/// is a power of two): checks that the path leads to `new_root` and returns the old root it
/// leads to. Requires `0 < old_size < new_size`.
fn run_consistency(
    old_size: u64,
    new_size: u64,
    new_root: &TreeHash,
    path: &[TreeHash],
) -> Result<TreeHash, ProofError> {
    let wrong_length = || ProofError::WrongLength {
        length: path.len(),
        expected: consistency_ranges(old_size, new_size).len()
            + usize::from(old_size.is_power_of_two()),
    };
    let (first, rest) = path.split_first().ok_or_else(wrong_length)?;
    let mut position = old_size - 1;
    let mut last = new_size - 1;
    while position & 1 == 1 {
        position >>= 1;
        last >>= 1;
    }
    let mut old_hash = *first;
    let mut new_hash = *first;
    for element in rest {
        if last == 0 {
            return Err(wrong_length());
        }
        if position & 1 == 1 || position == last {
            old_hash = node_hash(element, &old_hash);
            new_hash = node_hash(element, &new_hash);
            if position & 1 == 0 {
                while position & 1 == 0 && position != 0 {
                    position >>= 1;
                    last >>= 1;
                }
            }
        } else {
            new_hash = node_hash(&new_hash, element);
        }
        position >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length());
    }
    if new_hash != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(old_hash)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_never_exceed_the_bounds() {
        for size in [1u64, 2, 3, 7, 8, 1 << 40, u64::MAX - 1, u64::MAX] {
            for index in [0, size / 3, size / 2, size - 1] {
                assert!(inclusion_ranges(index, size).len() <= MAX_INCLUSION_PROOF_HASHES);
                let plan = Plan::new(&inclusion_ranges(index, size));
                assert!(plan.nodes.len() < 2 * 64, "{index} of {size}");
            }
            for old in [1, 2, size / 2 + 1, size - 1, (size >> 1).max(1)] {
                if old == 0 || old >= size {
                    continue;
                }
                let mut ranges = consistency_ranges(old, size);
                if old.is_power_of_two() {
                    ranges.insert(0, (0, old));
                }
                assert!(ranges.len() <= MAX_CONSISTENCY_PROOF_HASHES);
                assert!(Plan::new(&ranges).nodes.len() < 2 * 64, "{old} to {size}");
            }
        }
        // The longest consistency proof: one more hash than levels.
        let old = (1u64 << 63) + (1 << 62) + 1;
        assert_eq!(consistency_ranges(old, u64::MAX).len(), 65);
        assert_eq!(inclusion_ranges(0, u64::MAX).len(), 64);
    }
}
