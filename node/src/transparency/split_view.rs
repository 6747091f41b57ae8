//! Split views (protocol §14.4, "Split views"): two checkpoints of one feed, both signed by its
//! author, that cannot both describe one log. Pure: making a proof, checking one, its JSON.
//!
//! Two checkpoints contradict each other when
//! - they have the same size and different roots, or
//! - their sizes are m < n and a consistency proof that leads to the larger checkpoint's root
//!   implies, for the first m leaves, another root than the smaller checkpoint's
//!   ([`proto_types::tlog::old_root_from_consistency`]).
//!
//! A [`SplitViewProof`] holds the two checkpoints (the author's signature only, so anyone with
//! the author's key checks it) and, for different sizes, that consistency proof. Anyone checks
//! it with no store: [`SplitViewProof::from_json`] verifies both signatures and the
//! contradiction. Its JSON:
//!
//! ```json
//! {"kind":"checkpoint_equivocation","origin":"rightsnet/feed/did:key:z…",
//!  "first":"<signed note>","second":"<signed note>","consistency":["<base64 hash>",…]}
//! ```
//!
//! `first` is the smaller checkpoint (for equal sizes, the one with the smaller root bytes), so
//! the proof of one pair made on two nodes is the same JSON; `consistency` is absent for equal
//! sizes. The proof's id is the SHA-256 of that JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_types::checkpoint::{CheckpointError, VerifiedCheckpoint, verify_feed_checkpoint};
use proto_types::keys::PublicKey;
use proto_types::tlog::{MAX_PROOF_HASHES, ProofError, TreeHash, old_root_from_consistency};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `kind` of a checkpoint equivocation proof's JSON.
pub const SPLIT_VIEW_KIND: &str = "checkpoint_equivocation";
/// Longest proof JSON accepted: two checkpoints with the author's signature only (a few hundred
/// bytes each) and at most [`MAX_PROOF_HASHES`] base64 hashes fit well within it.
pub const MAX_SPLIT_VIEW_PROOF_BYTES: usize = 16 * 1024;

/// Why a split-view proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum SplitViewError {
    /// Longer than [`MAX_SPLIT_VIEW_PROOF_BYTES`].
    #[error("split-view proof longer than {MAX_SPLIT_VIEW_PROOF_BYTES} bytes")]
    TooLarge,
    /// Not the proof's JSON.
    #[error("not a split-view proof: {0}")]
    Malformed(String),
    /// A checkpoint does not verify as a feed checkpoint signed by its author.
    #[error("a checkpoint of the proof does not verify: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoints are of different origins, or not of the proof's origin.
    #[error("the checkpoints are not both of the proof's origin")]
    OriginMismatch,
    /// The checkpoints do not contradict each other.
    #[error("the checkpoints do not contradict each other: {0}")]
    NotContradictory(&'static str),
    /// The consistency proof is not valid for the larger checkpoint.
    #[error("the consistency proof does not lead to the larger checkpoint: {0}")]
    Consistency(#[from] ProofError),
}

/// The JSON form (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    kind: String,
    origin: String,
    first: String,
    second: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consistency: Option<Vec<String>>,
}

/// A checked proof that a feed's author signed two contradicting checkpoints. Made only by
/// [`SplitViewProof::same_size`], [`SplitViewProof::with_consistency`] (which check the
/// contradiction) or [`SplitViewProof::from_json`] (which checks everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitViewProof {
    first: VerifiedCheckpoint,
    second: VerifiedCheckpoint,
    consistency: Vec<TreeHash>,
}

fn size(checkpoint: &VerifiedCheckpoint) -> u64 {
    checkpoint.checkpoint().size()
}

fn root(checkpoint: &VerifiedCheckpoint) -> TreeHash {
    *checkpoint.checkpoint().root()
}

/// Whether `a` comes first in a proof: the smaller size, then the smaller root bytes.
fn comes_first(a: &VerifiedCheckpoint, b: &VerifiedCheckpoint) -> bool {
    (size(a), root(a).0) < (size(b), root(b).0)
}

impl SplitViewProof {
    /// The proof for two checkpoints of one feed with the same size and different roots; none
    /// if they do not contradict each other so.
    pub fn same_size(a: &VerifiedCheckpoint, b: &VerifiedCheckpoint) -> Option<Self> {
        if a.author() != b.author() || size(a) != size(b) || root(a) == root(b) {
            return None;
        }
        let (first, second) = if comes_first(a, b) { (a, b) } else { (b, a) };
        Some(Self {
            first: first.clone(),
            second: second.clone(),
            consistency: Vec::new(),
        })
    }

    /// The proof for `smaller` and `larger` (sizes m < n) of one feed, given `evidence`: a
    /// consistency proof in [`proto_types::tlog::consistency_evidence`]'s form that leads to
    /// `larger`'s root and implies another root than `smaller`'s for the first m leaves. None if
    /// it does not.
    pub fn with_consistency(
        smaller: &VerifiedCheckpoint,
        larger: &VerifiedCheckpoint,
        evidence: Vec<TreeHash>,
    ) -> Option<Self> {
        let proof = Self {
            first: smaller.clone(),
            second: larger.clone(),
            consistency: evidence,
        };
        proof.contradiction().ok()?;
        Some(proof)
    }

    /// Checks that the two checkpoints contradict each other (their signatures are checked
    /// already: they are verified checkpoints).
    fn contradiction(&self) -> Result<(), SplitViewError> {
        if self.first.author() != self.second.author() {
            return Err(SplitViewError::OriginMismatch);
        }
        let (first_size, second_size) = (size(&self.first), size(&self.second));
        if first_size == second_size {
            if !self.consistency.is_empty() {
                return Err(SplitViewError::Malformed(
                    "a consistency proof between checkpoints of one size".to_owned(),
                ));
            }
            if root(&self.first) == root(&self.second) {
                return Err(SplitViewError::NotContradictory("the same size and root"));
            }
            if !comes_first(&self.first, &self.second) {
                return Err(SplitViewError::Malformed(
                    "first must have the smaller root".to_owned(),
                ));
            }
            return Ok(());
        }
        if first_size > second_size {
            return Err(SplitViewError::Malformed(
                "first must be the smaller checkpoint".to_owned(),
            ));
        }
        if first_size == 0 {
            // The empty tree is a prefix of every tree; a size-0 checkpoint contradicts a
            // larger one only by a wrong empty root, which no consistency proof shows.
            return Err(SplitViewError::NotContradictory(
                "an empty tree is consistent with every tree",
            ));
        }
        let implied = old_root_from_consistency(
            first_size,
            second_size,
            &root(&self.second),
            &self.consistency,
        )?;
        if implied == root(&self.first) {
            return Err(SplitViewError::NotContradictory(
                "the consistency proof shows the smaller checkpoint is a prefix of the larger",
            ));
        }
        Ok(())
    }

    /// Reads and checks a proof's JSON: both checkpoints verify with the origin's key, and they
    /// contradict each other. Bounded: [`MAX_SPLIT_VIEW_PROOF_BYTES`], [`MAX_PROOF_HASHES`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, SplitViewError> {
        if bytes.len() > MAX_SPLIT_VIEW_PROOF_BYTES {
            return Err(SplitViewError::TooLarge);
        }
        let json: ProofJson = serde_json::from_slice(bytes)
            .map_err(|error| SplitViewError::Malformed(error.to_string()))?;
        if json.kind != SPLIT_VIEW_KIND {
            return Err(SplitViewError::Malformed(format!(
                "kind must be {SPLIT_VIEW_KIND:?}"
            )));
        }
        let first = verify_feed_checkpoint(&json.first)?;
        let second = verify_feed_checkpoint(&json.second)?;
        if first.checkpoint().origin() != json.origin || second.checkpoint().origin() != json.origin
        {
            return Err(SplitViewError::OriginMismatch);
        }
        let hashes = json.consistency.unwrap_or_default();
        if hashes.len() > MAX_PROOF_HASHES {
            return Err(SplitViewError::Malformed(format!(
                "more than {MAX_PROOF_HASHES} consistency hashes"
            )));
        }
        let consistency = hashes
            .iter()
            .map(|hash| decode_hash(hash))
            .collect::<Result<Vec<_>, _>>()?;
        let proof = Self {
            first,
            second,
            consistency,
        };
        proof.contradiction()?;
        Ok(proof)
    }

    /// The feed's author, who signed both checkpoints.
    pub fn author(&self) -> &PublicKey {
        self.first.author()
    }

    /// The feed's origin.
    pub fn origin(&self) -> &str {
        self.first.checkpoint().origin()
    }

    /// The smaller checkpoint (by size, then root).
    pub fn first(&self) -> &VerifiedCheckpoint {
        &self.first
    }

    /// The larger checkpoint.
    pub fn second(&self) -> &VerifiedCheckpoint {
        &self.second
    }

    /// The proof's JSON (see the module documentation): what is stored and gossiped.
    pub fn to_json(&self) -> Vec<u8> {
        let json = ProofJson {
            kind: SPLIT_VIEW_KIND.to_owned(),
            origin: self.origin().to_owned(),
            first: self.first.to_note_text_with(&[]),
            second: self.second.to_note_text_with(&[]),
            consistency: (!self.consistency.is_empty()).then(|| {
                self.consistency
                    .iter()
                    .map(|hash| STANDARD.encode(hash.0))
                    .collect()
            }),
        };
        // Serialising a struct of strings cannot fail.
        serde_json::to_vec(&json).unwrap_or_default()
    }

    /// The proof's id: the SHA-256 of its JSON.
    pub fn id(&self) -> [u8; 32] {
        Sha256::digest(self.to_json()).into()
    }

    /// The proof as `GET /v1/equivocations` lists it: its JSON fields plus the author's
    /// did:key and both sizes and roots, for reading.
    pub fn to_view(&self) -> serde_json::Value {
        let mut value: serde_json::Value =
            serde_json::from_slice(&self.to_json()).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("author".into(), self.author().to_did_key().into());
            for (name, checkpoint) in [("first", &self.first), ("second", &self.second)] {
                object.insert(format!("{name}_size"), size(checkpoint).into());
                object.insert(
                    format!("{name}_root"),
                    STANDARD.encode(root(checkpoint).0).into(),
                );
            }
        }
        value
    }
}

fn decode_hash(text: &str) -> Result<TreeHash, SplitViewError> {
    let bad = || SplitViewError::Malformed("a consistency hash is not base64 of 32 bytes".into());
    if text.len() != 44 {
        return Err(bad());
    }
    let bytes = STANDARD.decode(text).map_err(|_| bad())?;
    // Canonical only: one hash has one text.
    if STANDARD.encode(&bytes) != text {
        return Err(bad());
    }
    Ok(TreeHash(bytes.try_into().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests;
