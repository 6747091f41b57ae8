//! Offline proofs of inclusion in the `c2sp.org/tlog-proof` text format (protocol.md §14.6).
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <leaf index>
//! <base64 inclusion hash>        (zero or more, from the leaf's sibling up)
//!
//! <the checkpoint, a signed note with its cosignatures, verbatim>
//! ```
//!
//! [`TlogProof::verify`] checks the checkpoint as a feed checkpoint
//! ([`super::verify_feed_checkpoint`]) and the inclusion of a leaf hash in its tree; the
//! witness policy is checked on the result ([`super::policy::WitnessPolicy::check`]).

use base64::Engine;

use super::{
    Checkpoint, CheckpointError, VerifiedCheckpoint, encode_hash, parse_decimal, parse_hash,
};
use crate::entry::MAX_ENTRY_BYTES;
use crate::note::{BASE64, MAX_NOTE_BYTES, Note};
use crate::tlog::TreeHash;

/// The first line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most inclusion hashes: the path of a tree of at most 2^63 leaves.
pub const MAX_INCLUSION_HASHES: usize = 63;
/// Longest extra data, decoded: room for one entry's canonical bytes.
pub const MAX_PROOF_EXTRA_BYTES: usize = MAX_ENTRY_BYTES;
/// Longest proof text accepted: the header, the extra line, the index line, the inclusion
/// hashes, the blank line and the longest note.
pub const MAX_TLOG_PROOF_BYTES: usize = TLOG_PROOF_HEADER.len()
    + 1
    + "extra ".len()
    + MAX_PROOF_EXTRA_BYTES.div_ceil(3) * 4
    + 1
    + "index ".len()
    + 20
    + 1
    + MAX_INCLUSION_HASHES * 45
    + 1
    + MAX_NOTE_BYTES;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The text is longer than [`MAX_TLOG_PROOF_BYTES`].
    #[error("tlog-proof longer than {MAX_TLOG_PROOF_BYTES} bytes")]
    TooLarge,
    /// The text is not UTF-8.
    #[error("tlog-proof is not valid utf-8")]
    NotUtf8,
    /// The first line is not [`TLOG_PROOF_HEADER`].
    #[error("not a c2sp.org/tlog-proof@v1 proof")]
    Header,
    /// The extra line is not `extra` and non-empty canonical base64 of at most
    /// [`MAX_PROOF_EXTRA_BYTES`].
    #[error("malformed extra line")]
    Extra,
    /// The index line is not `index` and a canonical decimal.
    #[error("malformed index line")]
    Index,
    /// An inclusion line is not the canonical base64 of 32 bytes, or there are more than
    /// [`MAX_INCLUSION_HASHES`].
    #[error("malformed inclusion proof line {0}")]
    InclusionLine(usize),
    /// No blank line before the checkpoint.
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
    /// The checkpoint is malformed, or its feed author's signature does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not prove the leaf in the checkpoint's tree.
    #[error("inclusion proof does not verify: {0}")]
    Inclusion(String),
}

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    extra: Option<Vec<u8>>,
    index: u64,
    inclusion: Vec<TreeHash>,
    note: Note,
    checkpoint: Checkpoint,
}

impl TlogProof {
    /// A proof that leaf `index` is in the tree of the checkpoint note `checkpoint_note`,
    /// with the inclusion path `inclusion` and optional `extra` data.
    pub fn new(
        extra: Option<Vec<u8>>,
        index: u64,
        inclusion: Vec<TreeHash>,
        checkpoint_note: &str,
    ) -> Result<Self, TlogProofError> {
        if extra
            .as_ref()
            .is_some_and(|extra| extra.is_empty() || extra.len() > MAX_PROOF_EXTRA_BYTES)
        {
            return Err(TlogProofError::Extra);
        }
        if inclusion.len() > MAX_INCLUSION_HASHES {
            return Err(TlogProofError::InclusionLine(MAX_INCLUSION_HASHES + 1));
        }
        let note = Note::parse(checkpoint_note).map_err(CheckpointError::from)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(Self {
            extra,
            index,
            inclusion,
            note,
            checkpoint,
        })
    }

    /// Parses a proof from bytes (which must be UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, TlogProofError> {
        if bytes.len() > MAX_TLOG_PROOF_BYTES {
            return Err(TlogProofError::TooLarge);
        }
        Self::parse(std::str::from_utf8(bytes).map_err(|_| TlogProofError::NotUtf8)?)
    }

    /// Parses a proof.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        if text.len() > MAX_TLOG_PROOF_BYTES {
            return Err(TlogProofError::TooLarge);
        }
        let (header, mut rest) = text.split_once('\n').ok_or(TlogProofError::Header)?;
        if header != TLOG_PROOF_HEADER {
            return Err(TlogProofError::Header);
        }
        let mut line = next_line(&mut rest).ok_or(TlogProofError::Index)?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            if encoded.len() > MAX_PROOF_EXTRA_BYTES.div_ceil(3) * 4 {
                return Err(TlogProofError::Extra);
            }
            let bytes = crate::note::decode_base64(encoded).ok_or(TlogProofError::Extra)?;
            if bytes.is_empty() {
                return Err(TlogProofError::Extra);
            }
            extra = Some(bytes);
            line = next_line(&mut rest).ok_or(TlogProofError::Index)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(TlogProofError::Index)?;
        let mut inclusion = Vec::new();
        loop {
            let number = inclusion.len() + 1;
            let line = next_line(&mut rest).ok_or(TlogProofError::NoCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if inclusion.len() == MAX_INCLUSION_HASHES {
                return Err(TlogProofError::InclusionLine(number));
            }
            inclusion.push(parse_hash(line).ok_or(TlogProofError::InclusionLine(number))?);
        }
        Self::new(extra, index, inclusion, rest)
    }

    /// The extra data, if any. It is not authenticated.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// The leaf index (for a feed, the entry's `seq` − 1).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The inclusion path, from the leaf's sibling up.
    pub fn inclusion(&self) -> &[TreeHash] {
        &self.inclusion
    }

    /// The checkpoint, not yet verified.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The checkpoint note, with all its signatures, not yet verified.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The proof text.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(256 + self.note.encoded_len());
        text.push_str(TLOG_PROOF_HEADER);
        text.push('\n');
        if let Some(extra) = &self.extra {
            text.push_str("extra ");
            text.push_str(&BASE64.encode(extra));
            text.push('\n');
        }
        text.push_str("index ");
        text.push_str(&self.index.to_string());
        text.push('\n');
        for hash in &self.inclusion {
            text.push_str(&encode_hash(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.note.to_text());
        text
    }

    /// Verifies the proof for the leaf whose hash is `leaf` (for a feed entry,
    /// `tlog::leaf_hash` of its canonical bytes): the checkpoint is a feed checkpoint signed by
    /// its author, and the inclusion path leads from `leaf` at [`TlogProof::index`] to its root.
    /// The caller then checks that it trusts the author and that the entry's author and `seq`
    /// match, and applies its witness policy to [`VerifiedTlogProof::checkpoint`].
    pub fn verify(&self, leaf: &TreeHash) -> Result<VerifiedTlogProof, TlogProofError> {
        let checkpoint = super::verify_feed_checkpoint_note(self.note.clone())?;
        crate::tlog::verify_inclusion(
            leaf,
            self.index,
            checkpoint.checkpoint().size(),
            &self.inclusion,
            checkpoint.checkpoint().root(),
        )
        .map_err(|error| TlogProofError::Inclusion(error.to_string()))?;
        Ok(VerifiedTlogProof {
            checkpoint,
            index: self.index,
            leaf: *leaf,
        })
    }
}

/// The next newline-terminated line of `rest`, without its newline; `rest` moves past it.
fn next_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (line, after) = rest.split_once('\n')?;
    *rest = after;
    Some(line)
}

/// A proof whose checkpoint and inclusion path verified. Only [`TlogProof::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTlogProof {
    checkpoint: VerifiedCheckpoint,
    index: u64,
    leaf: TreeHash,
}

impl VerifiedTlogProof {
    /// The verified checkpoint, with its (unverified) cosignature lines.
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// The leaf index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The leaf hash proved.
    pub fn leaf(&self) -> &TreeHash {
        &self.leaf
    }
}
