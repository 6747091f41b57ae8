//! Signed notes (`c2sp.org/signed-note`): a UTF-8 text signed by one or more keys, the envelope
//! of every checkpoint and cosignature (protocol.md §14.3–14.4).
//!
//! A note is its text (ending in a newline), a blank line, and one or more signature lines
//! `— <key name> <base64(key id ‖ signature)>`. Parsing is strict and bounded: the whole note
//! is at most [`MAX_NOTE_BYTES`] with at most [`MAX_NOTE_SIGNATURES`] signature lines, base64
//! must be canonical (padded, no stray bits), and no two signature lines may name the same key
//! (name and key id), so a parsed note formats back to exactly the bytes it was parsed from.
//!
//! Two signature types are implemented, both Ed25519 through [`crate::keys`]:
//! [`SignatureType::Ed25519`] (type byte `0x01`, the signature is over the note text) and
//! [`SignatureType::CosignatureV1`] (type byte `0x04`, `c2sp.org/tlog-cosignature`: a big-endian
//! timestamp and a signature over `cosignature/v1\ntime <t>\n` followed by the text). A verifier
//! key ([`VerifierKey`], a *vkey*) names one key of one type.
//!
//! Verification follows the specification: signature lines of unknown keys are kept and
//! ignored; a line whose key name and id match a known key must verify, or the whole note is
//! refused; at least one known key must have signed.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};

use crate::keys::{KeyError, PublicKey, SecretKey, Signature};

/// Longest signed note accepted, in bytes: 64 KiB. A feed checkpoint's text is under 200 bytes
/// and an Ed25519 cosignature line with a `rightsnet/witness/…` name about 185, so this holds a
/// checkpoint with [`MAX_NOTE_SIGNATURES`] of them (about 19 KB) with room to spare, and also the
/// 16 signatures the specification requires every verifier to accept even when they are ML-DSA-44
/// cosignatures of another ecosystem (about 3.3 KB a line).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most signature lines accepted in one note: 100, as Go's `sumdb/note` and the `signed_note`
/// crate (the specification requires at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 100;
/// Longest verifier key (vkey) accepted, in bytes. An Ed25519 vkey is the key name and 55
/// characters; this leaves 457 bytes for the name.
pub const MAX_VKEY_BYTES: usize = 512;
/// The start of every signature line: an em dash (U+2014) and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";
/// The header line of the message an Ed25519 cosignature signs (`c2sp.org/tlog-cosignature`).
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";
/// The largest cosignature timestamp (`c2sp.org/tlog-cosignature`: at most 2^63 − 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;

/// Length of an Ed25519 signature.
const ED25519_SIGNATURE_BYTES: usize = 64;
/// Length of a `timestamped_signature` of an Ed25519 cosignature: u64 timestamp, signature.
const COSIGNATURE_V1_BYTES: usize = 8 + ED25519_SIGNATURE_BYTES;

/// Standard base64 (RFC 4648 §4) with padding, decoding only the canonical form: padding
/// required, unused bits zero. Every value then has exactly one encoding.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes canonical standard base64 (see [`BASE64`]).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

/// Why a note, signature line or verifier key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_BYTES`].
    #[error("note longer than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    /// The note is not valid UTF-8.
    #[error("note is not valid utf-8")]
    NotUtf8,
    /// The note contains an ASCII control character other than newline (a carriage return, a
    /// tab, a NUL…).
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// The note has no blank line separating text and signatures, or its text does not end in
    /// a newline.
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    /// The note does not end in a newline.
    #[error("note does not end in a newline")]
    MissingFinalNewline,
    /// The note has no signature line.
    #[error("note has no signature")]
    NoSignatures,
    /// More than [`MAX_NOTE_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_NOTE_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line: {0}")]
    MalformedSignatureLine(String),
    /// A key name is empty or contains a space, a `+` or a control character.
    #[error("invalid key name {0:?}")]
    InvalidKeyName(String),
    /// Two signature lines name the same key (name and key id).
    #[error("two signatures by key {name}+{key_id}")]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: KeyId,
    },
    /// A verifier key is not `<name>+<8 hex digits>+<base64>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(String),
    /// A verifier key's signature type is not one this crate implements.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedSignatureType(u8),
    /// A verifier key's key id is not the one its name, type and key give.
    #[error("verifier key id {found} does not match its key ({computed})")]
    KeyIdMismatch {
        /// The key id in the vkey.
        found: KeyId,
        /// The key id computed from name, type and key.
        computed: KeyId,
    },
    /// A verifier key's public key is not a valid Ed25519 key.
    #[error("verifier key: {0}")]
    Key(#[from] KeyError),
    /// Two known keys have the same name and key id, so a signature line cannot say which one
    /// signed.
    #[error("ambiguous known key {name}+{key_id}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The key id.
        key_id: KeyId,
    },
    /// A signature line of a known key does not verify.
    #[error("invalid signature by key {name}+{key_id}")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: KeyId,
    },
    /// No known key signed the note.
    #[error("note has no signature by a known key")]
    NoKnownSignature,
    /// A cosignature timestamp above [`MAX_COSIGNATURE_TIMESTAMP`].
    #[error("cosignature timestamp above 2^63 - 1")]
    TimestampOutOfRange,
}

/// A key id: the first four bytes of SHA-256(key name ‖ `\n` ‖ signature type ‖ public key),
/// written as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// The key id of the key `public_key` (its encoding for the signature type) of type
    /// `signature_type` named `name`.
    pub fn compute(name: &str, signature_type: u8, public_key: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(name.as_bytes());
        hasher.update([b'\n', signature_type]);
        hasher.update(public_key);
        let digest = hasher.finalize();
        let mut id = [0u8; 4];
        for (byte, digest_byte) in id.iter_mut().zip(digest.iter()) {
            *byte = *digest_byte;
        }
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyId({self})")
    }
}

/// Whether `name` can be a signed-note key name: non-empty, without Unicode white space, `+`
/// or ASCII control characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|character| character.is_whitespace() || character == '+' || character < ' ')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(truncate(name)))
    }
}

fn truncate(value: &str) -> String {
    value.chars().take(80).collect()
}

/// One signature line of a note: the key name, the key id and the signature bytes that follow
/// the key id (for a cosignature, the timestamp and the signature).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_id: KeyId,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line. The name must be a valid key name and the signature non-empty.
    pub fn new(name: &str, key_id: KeyId, signature: Vec<u8>) -> Result<Self, NoteError> {
        check_key_name(name)?;
        if signature.is_empty() {
            return Err(NoteError::MalformedSignatureLine(
                "empty signature".to_string(),
            ));
        }
        if signature.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        Ok(Self {
            name: name.to_string(),
            key_id,
            signature,
        })
    }

    /// Parses one signature line, with or without its final newline.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        if line.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        let malformed = || NoteError::MalformedSignatureLine(truncate(line));
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or_else(malformed)?;
        let (name, encoded) = rest.split_once(' ').ok_or_else(malformed)?;
        check_key_name(name)?;
        let bytes = decode_base64(encoded).ok_or_else(malformed)?;
        let (id, signature) = bytes.split_first_chunk::<4>().ok_or_else(malformed)?;
        if signature.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            name: name.to_string(),
            key_id: KeyId(*id),
            signature: signature.to_vec(),
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key id.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line, `— <name> <base64(key id ‖ signature)>` and a newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(bytes)
        )
    }

    fn same_key(&self, other: &NoteSignature) -> bool {
        self.name == other.name && self.key_id == other.key_id
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NoteSignature({})", self.to_line().trim_end())
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge);
    }
    if text
        .chars()
        .any(|character| character < ' ' && character != '\n')
    {
        return Err(NoteError::ControlCharacter);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

/// A signed note: its text and its signature lines, in order.
///
/// A note built with [`Note::new`] has no signatures until one is added; formatted without
/// any, it is not a valid signed note ([`Note::parse`] refuses it).
#[derive(Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline and contain no control
    /// characters other than newlines.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self {
            text: text.to_string(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note from bytes (which must be UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        Self::parse(std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?)
    }

    /// Parses a signed note: text, blank line, signature lines (the text is separated from
    /// the signatures by the last blank line).
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        if note
            .chars()
            .any(|character| character < ' ' && character != '\n')
        {
            return Err(NoteError::ControlCharacter);
        }
        let split = note.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        // Both halves are cut at ASCII newlines, so at character boundaries.
        let (text, block) = note.split_at(split + 1);
        let block = block
            .strip_prefix('\n')
            .ok_or(NoteError::NoSignatureBlock)?;
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        let mut signatures: Vec<NoteSignature> = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == MAX_NOTE_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let signature = NoteSignature::parse_line(line)?;
            if signatures.iter().any(|seen| seen.same_key(&signature)) {
                return Err(NoteError::DuplicateSignature {
                    name: signature.name,
                    key_id: signature.key_id,
                });
            }
            signatures.push(signature);
        }
        Ok(Self {
            text: text.to_string(),
            signatures,
        })
    }

    /// The text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The same text without any signature.
    pub fn without_signatures(&self) -> Note {
        Note {
            text: self.text.clone(),
            signatures: Vec::new(),
        }
    }

    /// The length of [`Note::to_text`].
    pub fn encoded_len(&self) -> usize {
        self.text.len()
            + 1
            + self
                .signatures
                .iter()
                .map(signature_line_len)
                .sum::<usize>()
    }

    /// The note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut note = String::with_capacity(self.encoded_len());
        note.push_str(&self.text);
        note.push('\n');
        for signature in &self.signatures {
            note.push_str(&signature.to_line());
        }
        note
    }

    /// Adds a signature line at the end, replacing any line of the same key (name and key id),
    /// as Go's `note.Sign` does. Refused if the note would exceed [`MAX_NOTE_BYTES`] or
    /// [`MAX_NOTE_SIGNATURES`]. Nothing is verified.
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        let replaced = self
            .signatures
            .iter()
            .find(|existing| existing.same_key(&signature))
            .map(signature_line_len)
            .unwrap_or(0);
        let count = self.signatures.len() + usize::from(replaced == 0);
        if count > MAX_NOTE_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        if self.encoded_len() - replaced + signature_line_len(&signature) > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        self.signatures
            .retain(|existing| !existing.same_key(&signature));
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with `key` (signature type `0x01`) under `name` and adds the line (see
    /// [`Note::add_signature`]). Returns the line.
    pub fn sign(&mut self, name: &str, key: &SecretKey) -> Result<NoteSignature, NoteError> {
        let verifier = VerifierKey::ed25519(name, key.public_key())?;
        let signature = key.sign(self.text.as_bytes());
        let line = NoteSignature::new(name, verifier.key_id, signature.to_bytes().to_vec())?;
        self.add_signature(line.clone())?;
        Ok(line)
    }

    /// Cosigns the text with `key` (signature type `0x04`, `cosignature/v1`) at `timestamp`
    /// (POSIX seconds) under `name` and adds the line (see [`Note::add_signature`]). Returns the
    /// line. The text should be a checkpoint that the cosigner has checked.
    pub fn cosign(
        &mut self,
        name: &str,
        key: &SecretKey,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        let verifier = VerifierKey::cosignature_v1(name, key.public_key())?;
        let message = cosignature_v1_message(&self.text, timestamp)?;
        let signature = key.sign(&message);
        let mut bytes = Vec::with_capacity(COSIGNATURE_V1_BYTES);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        let line = NoteSignature::new(name, verifier.key_id, bytes)?;
        self.add_signature(line.clone())?;
        Ok(line)
    }

    /// Verifies the note against the `known` keys: every line whose key name and id match a
    /// known key must verify, other lines are kept unverified, and at least one known key must
    /// have signed.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        let mut verified = Vec::new();
        for line in &self.signatures {
            let mut matching = known
                .iter()
                .filter(|key| key.name == line.name && key.key_id == line.key_id);
            let Some(key) = matching.next() else {
                continue;
            };
            if matching.any(|other| other != key) {
                return Err(NoteError::AmbiguousKey {
                    name: line.name.clone(),
                    key_id: line.key_id,
                });
            }
            let timestamp = key.verify_line(&self.text, line)?;
            verified.push(VerifiedSignature {
                key: key.clone(),
                timestamp,
                line: line.clone(),
            });
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(VerifiedNote {
            note: self.clone(),
            verified,
        })
    }
}

fn signature_line_len(signature: &NoteSignature) -> usize {
    // Prefix, name, space, base64 of key id and signature, newline.
    SIGNATURE_LINE_PREFIX.len()
        + signature.name.len()
        + 1
        + (4 + signature.signature.len()).div_ceil(3) * 4
        + 1
}

impl fmt::Debug for Note {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Note")
            .field("text", &self.text)
            .field("signatures", &self.signatures)
            .finish()
    }
}

/// The message an Ed25519 cosignature (`cosignature/v1`) at `timestamp` signs: the header line,
/// the line `time <timestamp>`, then the whole note text.
pub fn cosignature_v1_message(text: &str, timestamp: u64) -> Result<Vec<u8>, NoteError> {
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(NoteError::TimestampOutOfRange);
    }
    Ok(format!("{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n{text}").into_bytes())
}

/// The signature types this crate signs and verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// Ed25519 over the note text (type byte `0x01`).
    Ed25519,
    /// Timestamped Ed25519 checkpoint cosignature, `cosignature/v1` (type byte `0x04`).
    CosignatureV1,
}

impl SignatureType {
    /// The signature type byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    /// The type of a type byte, if implemented here.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::CosignatureV1),
            _ => None,
        }
    }
}

/// A verifier key (*vkey*): a key name, a signature type and an Ed25519 public key, with the
/// key id they give. Written `<name>+<hex key id>+<base64(type ‖ key)>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    key_id: KeyId,
    signature_type: SignatureType,
    key: PublicKey,
}

impl VerifierKey {
    /// The key of type `signature_type` named `name`.
    pub fn new(
        name: &str,
        signature_type: SignatureType,
        key: PublicKey,
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_string(),
            key_id: KeyId::compute(name, signature_type.byte(), &key.to_bytes()),
            signature_type,
            key,
        })
    }

    /// A key whose name the caller guarantees to be valid ([`is_valid_key_name`]): the
    /// infallible constructor behind the feed and witness keys, whose names are built from a
    /// did:key.
    pub(crate) fn from_valid_name(
        name: String,
        signature_type: SignatureType,
        key: PublicKey,
    ) -> Self {
        debug_assert!(is_valid_key_name(&name));
        Self {
            key_id: KeyId::compute(&name, signature_type.byte(), &key.to_bytes()),
            name,
            signature_type,
            key,
        }
    }

    /// An Ed25519 note-signing key (type `0x01`) named `name`.
    pub fn ed25519(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        Self::new(name, SignatureType::Ed25519, key)
    }

    /// An Ed25519 cosigner key (type `0x04`) named `name`.
    pub fn cosignature_v1(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        Self::new(name, SignatureType::CosignatureV1, key)
    }

    /// Parses a vkey `<name>+<8 lowercase hex digits>+<base64(type ‖ key)>`. The key id must be
    /// the one the name, type and key give.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        if vkey.len() > MAX_VKEY_BYTES {
            return Err(NoteError::MalformedVerifierKey(
                "longer than the limit".to_string(),
            ));
        }
        let malformed = || NoteError::MalformedVerifierKey(truncate(vkey));
        let (name, rest) = vkey.split_once('+').ok_or_else(malformed)?;
        let (id_hex, encoded) = rest.split_once('+').ok_or_else(malformed)?;
        check_key_name(name)?;
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        {
            return Err(malformed());
        }
        let mut found = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut found).map_err(|_| malformed())?;
        let bytes = decode_base64(encoded).ok_or_else(malformed)?;
        let (type_byte, key_bytes) = bytes.split_first().ok_or_else(malformed)?;
        let signature_type = SignatureType::from_byte(*type_byte)
            .ok_or(NoteError::UnsupportedSignatureType(*type_byte))?;
        let key_bytes: &[u8; 32] = key_bytes
            .try_into()
            .map_err(|_| NoteError::Key(KeyError::WrongLength(key_bytes.len())))?;
        let key = PublicKey::from_bytes(key_bytes)?;
        let parsed = Self::new(name, signature_type, key)?;
        if parsed.key_id.0 != found {
            return Err(NoteError::KeyIdMismatch {
                found: KeyId(found),
                computed: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether `line` names this key (same key name and key id).
    pub fn names(&self, line: &NoteSignature) -> bool {
        self.name == line.name && self.key_id == line.key_id
    }

    /// Verifies one signature line of this key over the note `text`. Returns the timestamp of
    /// a cosignature (`None` for a plain Ed25519 signature). The caller has checked that the
    /// line names this key ([`VerifierKey::names`]); a line that does not is refused.
    pub fn verify_line(&self, text: &str, line: &NoteSignature) -> Result<Option<u64>, NoteError> {
        let invalid = || NoteError::InvalidSignature {
            name: line.name.clone(),
            key_id: line.key_id,
        };
        if !self.names(line) {
            return Err(invalid());
        }
        match self.signature_type {
            SignatureType::Ed25519 => {
                let signature = Signature::from_slice(&line.signature).map_err(|_| invalid())?;
                self.key
                    .verify(text.as_bytes(), &signature)
                    .map_err(|_| invalid())?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let (timestamp, signature) = line
                    .signature
                    .split_first_chunk::<8>()
                    .ok_or_else(invalid)?;
                let timestamp = u64::from_be_bytes(*timestamp);
                let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
                let message = cosignature_v1_message(text, timestamp).map_err(|_| invalid())?;
                self.key
                    .verify(&message, &signature)
                    .map_err(|_| invalid())?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(33);
        bytes.push(self.signature_type.byte());
        bytes.extend_from_slice(&self.key.to_bytes());
        write!(
            formatter,
            "{}+{}+{}",
            self.name,
            self.key_id,
            BASE64.encode(bytes)
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(vkey: &str) -> Result<Self, Self::Err> {
        Self::parse(vkey)
    }
}

/// A signature line that verified under a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    key: VerifierKey,
    timestamp: Option<u64>,
    line: NoteSignature,
}

impl VerifiedSignature {
    /// The key that signed.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }

    /// The timestamp of a cosignature; `None` for a plain Ed25519 signature.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The signature line.
    pub fn line(&self) -> &NoteSignature {
        &self.line
    }
}

/// A note at least one known key signed, with the keys that did. Only [`Note::verify`] makes
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
}

impl VerifiedNote {
    /// The note, with all its signature lines.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The text the known keys signed.
    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The signatures of known keys, in note order.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// The signature lines of keys that were not known, in note order.
    pub fn unverified(&self) -> impl Iterator<Item = &NoteSignature> {
        self.note.signatures.iter().filter(|line| {
            !self
                .verified
                .iter()
                .any(|verified| verified.line.same_key(line))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_c2sp_example_vkey_verifies_the_c2sp_example_note() {
        let vkey = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = Note::parse(
            "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
        )
        .unwrap();
        let verified = note.verify(&[vkey]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.text(), "This is an example message.\n");
    }

    #[test]
    fn signature_line_length_is_computed_exactly() {
        for length in 1..80 {
            let line = NoteSignature::new("a/b", KeyId([1, 2, 3, 4]), vec![7; length]).unwrap();
            assert_eq!(signature_line_len(&line), line.to_line().len());
        }
    }
}
