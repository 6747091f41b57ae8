//! Checkpoints (`c2sp.org/tlog-checkpoint`): the signed statement "the tree of this log has
//! this size and this root", and what Rightsnet builds on them (protocol.md §14.3–14.6).
//!
//! - [`Checkpoint`]: the note text, `origin`, size, base64 root, optional extension lines,
//!   parsed strictly and bounded.
//! - Feed checkpoints: the origin of a feed names its author ([`feed_origin`],
//!   [`feed_author`]); [`sign_feed_checkpoint`] and [`verify_feed_checkpoint`] sign and check
//!   one with the author's key under the key name = origin; the result, a
//!   [`VerifiedCheckpoint`], keeps the other signature lines (cosignatures) for the caller.
//! - [`cosignature`]: witness names and keys, `cosignature/v1` cosignatures.
//! - [`policy`]: witness policies in the `c2sp.org/tlog-policy` text format.
//! - [`tlog_proof`]: the `c2sp.org/tlog-proof` offline proof of inclusion.

pub mod cosignature;
pub mod policy;
pub mod tlog_proof;

use base64::Engine;

use crate::keys::{PublicKey, SecretKey};
use crate::note::{
    BASE64, MAX_NOTE_BYTES, Note, NoteError, NoteSignature, SignatureType, VerifierKey,
};
use crate::tlog::TreeHash;

/// Longest checkpoint text accepted: the longest note.
pub const MAX_CHECKPOINT_BYTES: usize = MAX_NOTE_BYTES;
/// The origin of every feed's log is this prefix followed by the author's did:key.
pub const FEED_ORIGIN_PREFIX: &str = "rightsnet/feed/";

/// Why a checkpoint or a feed checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is longer than [`MAX_CHECKPOINT_BYTES`].
    #[error("checkpoint longer than {MAX_CHECKPOINT_BYTES} bytes")]
    TooLarge,
    /// The text contains an ASCII control character other than newline.
    #[error("checkpoint contains a control character other than newline")]
    ControlCharacter,
    /// The text does not end in a newline.
    #[error("checkpoint does not end in a newline")]
    MissingFinalNewline,
    /// Fewer than three lines.
    #[error("checkpoint has fewer than three lines")]
    TooFewLines,
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not a decimal without leading zeros that fits 64 bits.
    #[error("checkpoint size is not a canonical decimal: {0:?}")]
    BadSize(String),
    /// The root line is not the canonical base64 of 32 bytes.
    #[error("checkpoint root hash is not base64 of 32 bytes: {0:?}")]
    BadRoot(String),
    /// An extension line is empty.
    #[error("checkpoint has an empty extension line")]
    EmptyExtensionLine,
    /// The note around the checkpoint is malformed or its signatures do not verify.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The origin is not `rightsnet/feed/` followed by a did:key.
    #[error("not a rightsnet feed origin: {0:?}")]
    NotAFeedOrigin(String),
    /// A checkpoint of size 0 whose root is not the empty tree's (SHA-256 of no bytes).
    #[error("a checkpoint of size 0 must have the empty tree's root")]
    EmptyTreeRoot,
    /// A feed checkpoint has extension lines; Rightsnet feed checkpoints have none.
    #[error("feed checkpoints have no extension lines")]
    FeedCheckpointExtensions,
}

/// A checkpoint: the origin of a log, the size of its tree and the tree's root hash, and
/// optional opaque extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: TreeHash,
    extensions: Vec<String>,
}

fn has_control_character(text: &str) -> bool {
    text.chars().any(|character| character < ' ')
}

impl Checkpoint {
    /// A checkpoint without extension lines. The origin must be non-empty and free of control
    /// characters (newlines included).
    pub fn new(origin: &str, size: u64, root: TreeHash) -> Result<Self, CheckpointError> {
        Self::with_extensions(origin, size, root, Vec::new())
    }

    /// A checkpoint with extension lines, each non-empty and free of control characters.
    pub fn with_extensions(
        origin: &str,
        size: u64,
        root: TreeHash,
        extensions: Vec<String>,
    ) -> Result<Self, CheckpointError> {
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if has_control_character(origin)
            || extensions.iter().any(|line| has_control_character(line))
        {
            return Err(CheckpointError::ControlCharacter);
        }
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::EmptyExtensionLine);
        }
        let checkpoint = Self {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        };
        if checkpoint.to_text().len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge);
        }
        Ok(checkpoint)
    }

    /// Parses a checkpoint note text (without the blank line and signatures).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge);
        }
        if text
            .chars()
            .any(|character| character < ' ' && character != '\n')
        {
            return Err(CheckpointError::ControlCharacter);
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size_line = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let root_line = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let size = parse_decimal(size_line)
            .ok_or_else(|| CheckpointError::BadSize(size_line.chars().take(40).collect()))?;
        let root = parse_hash(root_line)
            .ok_or_else(|| CheckpointError::BadRoot(root_line.chars().take(60).collect()))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine);
            }
            extensions.push(line.to_string());
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree of that size.
    pub fn root(&self) -> &TreeHash {
        &self.root
    }

    /// The extension lines, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size, base64 root and extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_hash(&self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// Parses an ASCII decimal without sign or leading zeros (`0` alone is zero) that fits 64 bits.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|byte| byte.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

/// Parses the canonical base64 of a 32-byte hash.
pub(crate) fn parse_hash(text: &str) -> Option<TreeHash> {
    // 44 characters: checked first so that no long line is decoded.
    if text.len() != 44 {
        return None;
    }
    let bytes = crate::note::decode_base64(text)?;
    Some(TreeHash(bytes.try_into().ok()?))
}

/// The base64 of a hash, as checkpoints and proofs write it.
pub(crate) fn encode_hash(hash: &TreeHash) -> String {
    BASE64.encode(hash.0)
}

/// The origin of the log of `author`'s feed: `rightsnet/feed/` and the author's did:key.
pub fn feed_origin(author: &PublicKey) -> String {
    format!("{FEED_ORIGIN_PREFIX}{}", author.to_did_key())
}

/// The author whose feed `origin` names, if it is exactly `rightsnet/feed/` followed by the
/// canonical did:key of a valid Ed25519 key.
pub fn feed_author(origin: &str) -> Option<PublicKey> {
    let did = origin.strip_prefix(FEED_ORIGIN_PREFIX)?;
    let author = PublicKey::from_did_key(did).ok()?;
    (author.to_did_key() == did).then_some(author)
}

/// The verifier key of the log of `author`'s feed: Ed25519, key name = the feed origin.
pub fn feed_verifier_key(author: &PublicKey) -> VerifierKey {
    // A feed origin is a valid key name: `rightsnet/feed/did:key:z…` has no space, `+` or
    // control character (base58 has none).
    VerifierKey::from_valid_name(feed_origin(author), SignatureType::Ed25519, *author)
}

/// Signs the checkpoint of `author`'s feed at `size` with root `root`: the signed note whose
/// text is the checkpoint with origin [`feed_origin`] and whose one signature line is the
/// author's Ed25519 signature under that name.
pub fn sign_feed_checkpoint(author: &SecretKey, size: u64, root: &TreeHash) -> String {
    let public = author.public_key();
    let origin = feed_origin(&public);
    let text = format!("{origin}\n{size}\n{}\n", encode_hash(root));
    let signature = author.sign(text.as_bytes());
    let key = feed_verifier_key(&public);
    let mut bytes = Vec::with_capacity(68);
    bytes.extend_from_slice(&key.key_id().0);
    bytes.extend_from_slice(&signature.to_bytes());
    format!(
        "{text}\n{}{origin} {}\n",
        crate::note::SIGNATURE_LINE_PREFIX,
        BASE64.encode(bytes)
    )
}

/// Verifies a feed checkpoint: the note parses, its text is a checkpoint without extension
/// lines whose origin is a feed origin ([`feed_author`]) and whose root, at size 0, is the
/// empty tree's ([`TreeHash::empty`]), and the feed's author signed it
/// (Ed25519, key name = origin). Every other signature line is kept, unverified, for the
/// caller (see [`VerifiedCheckpoint::cosignatures`]).
pub fn verify_feed_checkpoint(note: &str) -> Result<VerifiedCheckpoint, CheckpointError> {
    verify_feed_checkpoint_note(Note::parse(note)?)
}

/// [`verify_feed_checkpoint`] of a parsed note.
pub fn verify_feed_checkpoint_note(note: Note) -> Result<VerifiedCheckpoint, CheckpointError> {
    let checkpoint = Checkpoint::parse(note.text())?;
    let author = feed_author(checkpoint.origin()).ok_or_else(|| {
        CheckpointError::NotAFeedOrigin(checkpoint.origin.chars().take(120).collect())
    })?;
    if !checkpoint.extensions.is_empty() {
        return Err(CheckpointError::FeedCheckpointExtensions);
    }
    if checkpoint.size == 0 && checkpoint.root != TreeHash::empty() {
        return Err(CheckpointError::EmptyTreeRoot);
    }
    let log_key = feed_verifier_key(&author);
    let verified = note.verify(std::slice::from_ref(&log_key))?;
    let log_signature = verified
        .verified()
        .first()
        .map(|signature| signature.line().clone())
        .ok_or(NoteError::NoKnownSignature)?;
    Ok(VerifiedCheckpoint {
        checkpoint,
        author,
        log_key,
        log_signature,
        note,
    })
}

/// A feed checkpoint whose author's signature verified. Only this crate makes one
/// ([`verify_feed_checkpoint`]); its other signature lines are not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    author: PublicKey,
    log_key: VerifierKey,
    log_signature: NoteSignature,
    note: Note,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The feed's author, whose key signed.
    pub fn author(&self) -> &PublicKey {
        &self.author
    }

    /// The verifier key of the feed's log (the author's key, named by the origin).
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// The author's signature line.
    pub fn log_signature(&self) -> &NoteSignature {
        &self.log_signature
    }

    /// The whole note, with every signature line.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signature lines other than the author's, in note order (cosignatures and
    /// signatures of keys this crate does not know), unverified.
    pub fn other_signatures(&self) -> impl Iterator<Item = &NoteSignature> {
        self.note
            .signatures()
            .iter()
            .filter(|line| !self.log_key.names(line))
    }

    /// The signed note, with every signature line.
    pub fn to_note_text(&self) -> String {
        self.note.to_text()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1e3",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn feed_origins_are_valid_key_names() {
        let author = SecretKey::from_seed(&[1; 32]).public_key();
        let origin = feed_origin(&author);
        assert!(crate::note::is_valid_key_name(&origin));
        assert_eq!(
            feed_verifier_key(&author),
            VerifierKey::ed25519(&origin, author).unwrap()
        );
    }
}
