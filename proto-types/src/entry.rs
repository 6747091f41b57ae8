//! Feed entries: the signed, hash-chained envelope every authority writes, its id, the message
//! its signature covers, chain positions and equivocation proofs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of an entry: SHA-256 over its canonical (RFC 8785) bytes, written as 64 lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 32]);

/// Why an entry id could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry id must be 64 lowercase hex characters")]
pub struct EntryIdError;

impl EntryId {
    /// Decodes 64 lowercase hex characters.
    pub fn from_hex(value: &str) -> Result<Self, EntryIdError> {
        if value.len() != 64
            || !value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(EntryIdError);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(value, &mut bytes).map_err(|_| EntryIdError)?;
        Ok(Self(bytes))
    }

    /// The 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "EntryId({})", self.to_hex())
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl Serialize for EntryId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::from_hex(&value).map_err(serde::de::Error::custom)
    }
}

/// Envelope version written in every entry's `v` field.
pub const ENVELOPE_VERSION: u64 = 1;
/// Largest entry accepted, in bytes of its JSON (as received and canonical): 65 535, so that
/// every entry fits the 16-bit length prefix of a C2SP tlog-tiles entry bundle (protocol §14.1).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024 - 1;
/// Largest `seq` accepted: beyond 2^53 − 1 a JSON number is no longer an exact integer.
pub const MAX_SEQ: u64 = (1 << 53) - 1;
/// Domain-separation tag prefixed to the canonical entry (without `signature`) before signing.
/// No other Rightsnet signature and no `eddsa-jcs-2022` proof signs a message with this prefix.
pub const ENTRY_SIGNATURE_TAG: &[u8] = b"rightsnet/entry/v1\n";
/// The fields of an entry, in the order documented in `docs/protocol.md`.
pub const ENTRY_FIELDS: [&str; 8] = [
    "v",
    "author",
    "seq",
    "prev",
    "timestamp",
    "kind",
    "body",
    "signature",
];

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::body::{Body, BodyError, EntryKind};
use crate::jcs::{self, JcsError};
use crate::keys::{KeyCache, KeyError, PublicKey, SecretKey, Signature};
use crate::timestamp::Timestamp;

/// Why bytes are not a valid entry, or an entry does not verify or fit a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Larger than [`MAX_ENTRY_BYTES`].
    #[error("entry of {0} bytes exceeds the limit of {MAX_ENTRY_BYTES} bytes")]
    TooLarge(usize),
    /// Not strict JSON.
    #[error("entry is not valid json: {0}")]
    Json(#[from] JcsError),
    /// The envelope is malformed: a field is missing, unknown, or of the wrong type.
    #[error("entry field {field}: {message}")]
    Field {
        /// Which envelope field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The body does not fit its kind.
    #[error("entry body invalid: {0}")]
    Body(#[from] BodyError),
    /// The author's key or the signature encoding is invalid.
    #[error("entry key or signature invalid: {0}")]
    Key(KeyError),
    /// The signature does not verify under the author's key.
    #[error("entry signature does not verify under its author's key")]
    BadSignature,
}

fn field_error(field: &'static str, message: impl Into<String>) -> EntryError {
    EntryError::Field {
        field,
        message: message.into(),
    }
}

/// A decoded feed entry whose structure and body are valid but whose signature has not been
/// checked. Call [`Entry::verify`] to get a [`VerifiedEntry`].
#[derive(Debug, Clone)]
pub struct Entry {
    author: PublicKey,
    seq: u64,
    prev: Option<EntryId>,
    timestamp: Timestamp,
    body: Body,
    signature: Signature,
    value: Value,
    canonical: Vec<u8>,
    /// Where the `signature` member (with one comma) sits in `canonical`: the signed message
    /// is the canonical bytes without it, cut out when needed rather than canonicalised again.
    signature_member: std::ops::Range<usize>,
    id: EntryId,
}

impl Entry {
    /// Decodes an entry from JSON bytes: strict JSON, exactly the envelope fields, a valid body
    /// for its kind. The id and the signed message are computed from the JSON as received.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        Self::decode_with(bytes, None)
    }

    /// [`Entry::decode`] with the author's key taken from (and added to) `keys`, a cache of
    /// decoded keys: what a node that decodes many entries of the same authors calls. The
    /// result is the same as without the cache.
    pub fn decode_with(bytes: &[u8], keys: Option<&KeyCache>) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        Self::from_value_with(jcs::parse(bytes)?, keys)
    }

    /// Decodes an entry from an already parsed JSON value (see [`Entry::decode`]).
    ///
    /// The fields are read from the canonical form, so two spellings of one number (`1` and
    /// `1.0`) mean the same here as they do to a JavaScript verifier after `JSON.parse`.
    pub fn from_value(value: Value) -> Result<Self, EntryError> {
        Self::from_value_with(value, None)
    }

    /// [`Entry::from_value`] with a cache of decoded keys (see [`Entry::decode_with`]).
    ///
    /// One canonicalisation: it writes the canonical bytes (what the id hashes), gives back the
    /// value as those bytes read (the fields are taken from it) and marks where the
    /// `signature` member sits, so that the signed message is those bytes without it.
    pub fn from_value_with(value: Value, keys: Option<&KeyCache>) -> Result<Self, EntryError> {
        let jcs::Canonicalized {
            value,
            bytes: canonical,
            member: signature_member,
        } = jcs::canonicalize_owned(value, "signature")?;
        if canonical.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(canonical.len()));
        }
        let object = value
            .as_object()
            .ok_or_else(|| field_error("entry", "must be a JSON object"))?;
        for name in object.keys() {
            if !ENTRY_FIELDS.contains(&name.as_str()) {
                return Err(EntryError::Field {
                    field: "entry",
                    message: format!(
                        "unknown field {:?}",
                        name.chars().take(64).collect::<String>()
                    ),
                });
            }
        }
        let get = |name: &'static str| object.get(name).ok_or_else(|| field_error(name, "missing"));
        let string = |name: &'static str| -> Result<&str, EntryError> {
            get(name)?
                .as_str()
                .ok_or_else(|| field_error(name, "must be a string"))
        };
        let version = get("v")?
            .as_u64()
            .ok_or_else(|| field_error("v", "must be an integer"))?;
        if version != ENVELOPE_VERSION {
            return Err(field_error(
                "v",
                format!("unsupported envelope version {version}"),
            ));
        }
        let author = match keys {
            Some(keys) => keys.decode_did_key(string("author")?),
            None => PublicKey::from_did_key(string("author")?),
        }
        .map_err(EntryError::Key)?;
        let seq = get("seq")?
            .as_u64()
            .filter(|seq| (1..=MAX_SEQ).contains(seq))
            .ok_or_else(|| field_error("seq", format!("must be an integer in 1..={MAX_SEQ}")))?;
        let prev = match get("prev")? {
            Value::Null => None,
            Value::String(text) => Some(
                EntryId::from_hex(text).map_err(|error| field_error("prev", error.to_string()))?,
            ),
            _ => return Err(field_error("prev", "must be null or an entry id")),
        };
        if (seq == 1) != prev.is_none() {
            return Err(field_error("prev", "must be null exactly when seq is 1"));
        }
        let timestamp = Timestamp::parse(string("timestamp")?)
            .map_err(|error| field_error("timestamp", error.to_string()))?;
        let kind = EntryKind::parse(string("kind")?)
            .map_err(|error| field_error("kind", error.to_string()))?;
        let body = Body::decode(kind, get("body")?)?;
        let signature = Signature::from_multibase(string("signature")?).map_err(EntryError::Key)?;
        // Present: `signature` was just read from the object.
        let signature_member =
            signature_member.ok_or_else(|| field_error("signature", "missing"))?;
        let id = EntryId(Sha256::digest(&canonical).into());
        Ok(Self {
            author,
            seq,
            prev,
            timestamp,
            body,
            signature,
            value,
            canonical,
            signature_member,
            id,
        })
    }

    /// Checks the signature strictly under the author's key.
    pub fn verify(self) -> Result<VerifiedEntry, EntryError> {
        let message = self.signing_message()?;
        self.author
            .verify(&message, &self.signature)
            .map_err(|_| EntryError::BadSignature)?;
        Ok(VerifiedEntry(self))
    }

    /// Marks the entry verified. Only for [`crate::verify_many`], after its strict check.
    pub(crate) fn into_verified(self) -> VerifiedEntry {
        VerifiedEntry(self)
    }

    /// The message the author signed: [`ENTRY_SIGNATURE_TAG`] ‖ canonical entry without
    /// `signature`.
    pub fn signing_message(&self) -> Result<Vec<u8>, EntryError> {
        let (before, after) = self.unsigned_parts();
        let mut message =
            Vec::with_capacity(ENTRY_SIGNATURE_TAG.len() + before.len() + after.len());
        message.extend_from_slice(ENTRY_SIGNATURE_TAG);
        message.extend_from_slice(before);
        message.extend_from_slice(after);
        Ok(message)
    }

    /// The canonical entry without `signature`, as the two slices of the canonical bytes
    /// around the signature member.
    pub(crate) fn unsigned_parts(&self) -> (&[u8], &[u8]) {
        let before = self
            .canonical
            .get(..self.signature_member.start)
            .unwrap_or_default();
        let after = self
            .canonical
            .get(self.signature_member.end..)
            .unwrap_or_default();
        (before, after)
    }

    /// The entry id: SHA-256 of the canonical bytes.
    pub fn id(&self) -> EntryId {
        self.id
    }
    /// The authority that wrote the entry.
    pub fn author(&self) -> &PublicKey {
        &self.author
    }
    /// Position in the author's feed, from 1.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The id of the author's previous entry; none for `seq` 1.
    pub fn prev(&self) -> Option<EntryId> {
        self.prev
    }
    /// When the author says it wrote the entry.
    pub fn timestamp(&self) -> &Timestamp {
        &self.timestamp
    }
    /// The entry kind.
    pub fn kind(&self) -> EntryKind {
        self.body.kind()
    }
    /// The typed, validated body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// The body's JSON exactly as received.
    pub fn body_value(&self) -> &Value {
        self.value.get("body").unwrap_or(&Value::Null)
    }
    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The whole entry as JSON, as received.
    pub fn value(&self) -> &Value {
        &self.value
    }
    /// The canonical (RFC 8785) bytes: the wire and storage form, and what the id hashes.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }
}

/// The largest canonical size an entry by `author` holding `body` can have, whatever its `seq`,
/// `prev`, timestamp and signature turn out to be. A writer that promises to record a body (a
/// marketplace answering a dry run of a notice) compares this with [`MAX_ENTRY_BYTES`] first,
/// so that the promise holds when the entry is written.
pub fn max_entry_len(author: &PublicKey, body: &Body) -> Result<usize, EntryError> {
    // The longest spelling of every envelope member: the largest seq, a prev, a timestamp with
    // milliseconds, and a signature of 88 base58 characters (the most 64 bytes can need).
    let mut object = Map::new();
    object.insert("v".to_owned(), Value::from(ENVELOPE_VERSION));
    object.insert("author".to_owned(), Value::from(author.to_did_key()));
    object.insert("seq".to_owned(), Value::from(MAX_SEQ));
    object.insert("prev".to_owned(), Value::from("f".repeat(64)));
    object.insert(
        "timestamp".to_owned(),
        Value::from("9999-12-31T23:59:59.999Z"),
    );
    object.insert("kind".to_owned(), Value::from(body.kind().as_str()));
    object.insert("body".to_owned(), body.to_value());
    object.insert(
        "signature".to_owned(),
        Value::from(format!("z{}", "2".repeat(88))),
    );
    Ok(jcs::canonicalize(&Value::Object(object))?.len())
}

fn signing_message(unsigned: &Value) -> Result<Vec<u8>, EntryError> {
    let canonical = jcs::canonicalize(unsigned)?;
    let mut message = Vec::with_capacity(ENTRY_SIGNATURE_TAG.len() + canonical.len());
    message.extend_from_slice(ENTRY_SIGNATURE_TAG);
    message.extend_from_slice(&canonical);
    Ok(message)
}

/// An entry whose signature verified under its author's key. Only [`Entry::verify`] and
/// [`crate::verify_many`] (the same strict check) construct it; storage and gossip accept
/// nothing else.
#[derive(Debug, Clone)]
pub struct VerifiedEntry(Entry);

impl VerifiedEntry {
    /// The verified entry.
    pub fn entry(&self) -> &Entry {
        &self.0
    }
    /// Gives back the entry.
    pub fn into_entry(self) -> Entry {
        self.0
    }
}

impl std::ops::Deref for VerifiedEntry {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        &self.0
    }
}

/// What an author is about to append: everything but the signature.
#[derive(Debug, Clone)]
pub struct UnsignedEntry {
    /// Position in the author's feed, from 1.
    pub seq: u64,
    /// The previous entry's id; none for `seq` 1.
    pub prev: Option<EntryId>,
    /// When the entry is written.
    pub timestamp: Timestamp,
    /// The body; its kind is the entry's kind.
    pub body: Body,
}

impl UnsignedEntry {
    /// Signs the entry as `key` and returns it, as verified.
    ///
    /// The new signature is not verified again: it was just made with the key pair whose public
    /// half the entry names, and Ed25519 signing is deterministic, so it verifies by
    /// construction (a test checks every signed entry with [`Entry::verify`]). Verifying it here
    /// cost a node's writer as much as signing and decoding together (perf, register imports);
    /// every receiver still verifies it strictly.
    pub fn sign(&self, key: &SecretKey) -> Result<VerifiedEntry, EntryError> {
        self.body.validate()?;
        let mut object = Map::new();
        object.insert("v".to_owned(), Value::from(ENVELOPE_VERSION));
        object.insert(
            "author".to_owned(),
            Value::from(key.public_key().to_did_key()),
        );
        object.insert("seq".to_owned(), Value::from(self.seq));
        object.insert(
            "prev".to_owned(),
            self.prev.map_or(Value::Null, |id| Value::from(id.to_hex())),
        );
        object.insert("timestamp".to_owned(), Value::from(self.timestamp.as_str()));
        object.insert("kind".to_owned(), Value::from(self.body.kind().as_str()));
        object.insert("body".to_owned(), self.body.to_value());
        let message = signing_message(&Value::Object(object.clone()))?;
        let signature = key.sign(&message);
        object.insert(
            "signature".to_owned(),
            Value::from(signature.to_multibase()),
        );
        // Built from its parts rather than decoded back from the JSON: the body is the typed
        // body the JSON was made from (`Body::decode` of `to_value` gives it back: tested for
        // every kind), and the author the key's public half.
        let jcs::Canonicalized {
            value,
            bytes: canonical,
            member,
        } = jcs::canonicalize_owned(Value::Object(object), "signature")?;
        if canonical.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(canonical.len()));
        }
        let signature_member = member.ok_or_else(|| field_error("signature", "missing"))?;
        let id = EntryId(Sha256::digest(&canonical).into());
        Ok(VerifiedEntry(Entry {
            author: key.public_key(),
            seq: self.seq,
            prev: self.prev,
            timestamp: self.timestamp.clone(),
            body: self.body.clone(),
            signature,
            value,
            canonical,
            signature_member,
            id,
        }))
    }
}

/// Where an entry stands relative to the head of its author's feed that a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPosition {
    /// The entry extends the head: `seq` = head + 1 and `prev` = head id.
    Next,
    /// The entry is ahead of the head; the entries from `missing_from` up to `seq - 1` are needed
    /// first. It must be held back, not stored out of order.
    Gap {
        /// The first missing `seq`.
        missing_from: u64,
    },
    /// The entry's `seq` is at or below the head: it is a duplicate or an equivocation, which the
    /// caller decides by comparing with the entry it holds at that `seq`.
    AtOrBelowHead,
    /// `seq` = head + 1 but `prev` names another entry than the head: the author forked its feed
    /// (an equivocation at an earlier `seq`, or a broken chain).
    BrokenLink,
}

/// The head of a feed: its latest `seq` and that entry's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedHead {
    /// Latest `seq` held.
    pub seq: u64,
    /// Id of that entry.
    pub id: EntryId,
}

/// Places `entry` relative to `head` (none when the node holds nothing of this author).
pub fn chain_position(head: Option<FeedHead>, entry: &Entry) -> ChainPosition {
    let held = head.map_or(0, |head| head.seq);
    if entry.seq() <= held {
        return ChainPosition::AtOrBelowHead;
    }
    if entry.seq() > held + 1 {
        return ChainPosition::Gap {
            missing_from: held + 1,
        };
    }
    match (head, entry.prev()) {
        (None, None) => ChainPosition::Next,
        (Some(head), Some(prev)) if head.id == prev => ChainPosition::Next,
        _ => ChainPosition::BrokenLink,
    }
}

/// Why two entries are not an equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// The entries have different authors or sequence numbers.
    #[error("entries do not share author and seq")]
    NotSamePosition,
    /// The entries sign the same content; they are the same entry.
    #[error("entries sign the same content")]
    SameContent,
    /// One of the entries is invalid.
    #[error("entry {which} invalid: {error}")]
    Invalid {
        /// `first` or `second`.
        which: &'static str,
        /// Why.
        error: EntryError,
    },
    /// The proof's JSON is malformed.
    #[error("malformed equivocation proof: {0}")]
    Malformed(String),
}

/// Proof that an author signed two different entries at the same `seq`: both entries, each
/// verifiable on its own. Anyone can check it with [`EquivocationProof::from_value`].
#[derive(Debug, Clone)]
pub struct EquivocationProof {
    first: VerifiedEntry,
    second: VerifiedEntry,
}

impl EquivocationProof {
    /// Builds a proof from two verified entries of the same author and `seq` that sign different
    /// content. The order is kept: `first` is the one the node saw first and keeps.
    pub fn new(first: VerifiedEntry, second: VerifiedEntry) -> Result<Self, EquivocationError> {
        if first.author() != second.author() || first.seq() != second.seq() {
            return Err(EquivocationError::NotSamePosition);
        }
        // Ed25519 signing is deterministic, but a signer could still produce two signatures
        // over the same message; that is the same entry, not a fork.
        let same = first.signing_message().ok() == second.signing_message().ok();
        if same {
            return Err(EquivocationError::SameContent);
        }
        Ok(Self { first, second })
    }

    /// The entry the node saw first.
    pub fn first(&self) -> &VerifiedEntry {
        &self.first
    }
    /// The conflicting entry.
    pub fn second(&self) -> &VerifiedEntry {
        &self.second
    }
    /// The author that equivocated.
    pub fn author(&self) -> &PublicKey {
        self.first.author()
    }
    /// The `seq` at which it did.
    pub fn seq(&self) -> u64 {
        self.first.seq()
    }

    /// The proof as JSON: `{"author", "seq", "first", "second"}` with both entries verbatim.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "author": self.author().to_did_key(),
            "seq": self.seq(),
            "first": self.first.value(),
            "second": self.second.value(),
        })
    }

    /// Checks a proof received as JSON: both entries valid and signed, same author and `seq`,
    /// different content.
    pub fn from_value(value: &Value) -> Result<Self, EquivocationError> {
        let object = value
            .as_object()
            .ok_or_else(|| EquivocationError::Malformed("must be a JSON object".to_owned()))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| !["author", "seq", "first", "second"].contains(&key.as_str()))
        {
            return Err(EquivocationError::Malformed(format!(
                "unknown field {:?}",
                unknown.chars().take(64).collect::<String>()
            )));
        }
        let entry = |which: &'static str| -> Result<VerifiedEntry, EquivocationError> {
            let entry_value = value
                .get(which)
                .ok_or_else(|| EquivocationError::Malformed(format!("missing {which}")))?;
            Entry::from_value(entry_value.clone())
                .and_then(Entry::verify)
                .map_err(|error| EquivocationError::Invalid { which, error })
        };
        let proof = Self::new(entry("first")?, entry("second")?)?;
        if object.get("author").and_then(Value::as_str) != Some(&proof.author().to_did_key())
            || object.get("seq").and_then(Value::as_u64) != Some(proof.seq())
        {
            return Err(EquivocationError::Malformed(
                "author and seq must name the entries' author and seq".to_owned(),
            ));
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::body::examples;
    use proptest::prelude::*;

    fn registration_body() -> Body {
        Body::decode(EntryKind::Registration, &examples::registration()).unwrap()
    }

    fn first_entry(key: &SecretKey) -> VerifiedEntry {
        UnsignedEntry {
            seq: 1,
            prev: None,
            timestamp: Timestamp::parse("2026-11-28T10:00:00Z").unwrap(),
            body: registration_body(),
        }
        .sign(key)
        .unwrap()
    }

    #[test]
    fn signed_entries_decode_verify_and_keep_their_id() {
        let key = SecretKey::generate();
        let entry = first_entry(&key);
        let decoded = Entry::decode(entry.canonical_bytes()).unwrap();
        assert_eq!(decoded.id(), entry.id());
        let verified = decoded.verify().unwrap();
        assert_eq!(verified.author(), &key.public_key());
        assert_eq!(verified.kind(), EntryKind::Registration);
        assert_eq!(
            entry.id().0,
            <[u8; 32]>::from(Sha256::digest(entry.canonical_bytes()))
        );
    }

    #[test]
    fn whitespace_and_key_order_do_not_change_the_id() {
        let key = SecretKey::generate();
        let entry = first_entry(&key);
        let pretty = serde_json::to_vec_pretty(entry.value()).unwrap();
        let decoded = Entry::decode(&pretty).unwrap();
        assert_eq!(decoded.id(), entry.id());
        assert!(decoded.verify().is_ok());
    }

    #[test]
    fn number_spellings_mean_what_they_mean_to_javascript() {
        let key = SecretKey::generate();
        let entry = first_entry(&key);
        let text = String::from_utf8(entry.canonical_bytes().to_vec())
            .unwrap()
            .replace("\"seq\":1", "\"seq\":1.0");
        let respelled = Entry::decode(text.as_bytes()).unwrap();
        assert_eq!(respelled.id(), entry.id());
        assert!(respelled.verify().is_ok());
    }

    #[test]
    fn envelope_errors_are_precise() {
        let key = SecretKey::generate();
        let entry = first_entry(&key);
        let mutate = |change: &dyn Fn(&mut Map<String, Value>)| {
            let mut value = entry.value().as_object().unwrap().clone();
            change(&mut value);
            Entry::from_value(Value::Object(value)).err().unwrap()
        };
        assert!(matches!(
            mutate(&|v| {
                v.insert("extra".into(), Value::Null);
            }),
            EntryError::Field { field: "entry", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.remove("seq");
            }),
            EntryError::Field { field: "seq", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("seq".into(), Value::from(0));
            }),
            EntryError::Field { field: "seq", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("seq".into(), Value::from(1.5));
            }),
            EntryError::Field { field: "seq", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("seq".into(), Value::from(2));
            }),
            EntryError::Field { field: "prev", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("v".into(), Value::from(2));
            }),
            EntryError::Field { field: "v", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("kind".into(), Value::from("nope"));
            }),
            EntryError::Field { field: "kind", .. }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("timestamp".into(), Value::from("yesterday"));
            }),
            EntryError::Field {
                field: "timestamp",
                ..
            }
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("author".into(), Value::from("did:web:x"));
            }),
            EntryError::Key(_)
        ));
        assert!(matches!(
            mutate(&|v| {
                v.insert("kind".into(), Value::from("status"));
            }),
            EntryError::Body(_)
        ));
        assert!(matches!(
            Entry::decode(&vec![b' '; MAX_ENTRY_BYTES + 1]),
            Err(EntryError::TooLarge(_))
        ));
        assert!(matches!(
            Entry::decode(b"{\"v\":1,\"v\":1}"),
            Err(EntryError::Json(_))
        ));
    }

    #[test]
    fn forged_signature_and_changed_fields_fail_verification() {
        let key = SecretKey::generate();
        let entry = first_entry(&key);
        let mut value = entry.value().clone();
        value["timestamp"] = Value::from("2026-11-28T10:00:01Z");
        assert_eq!(
            Entry::from_value(value).unwrap().verify().err(),
            Some(EntryError::BadSignature)
        );
        let mut value = entry.value().clone();
        value["author"] = Value::from(SecretKey::generate().public_key().to_did_key());
        assert_eq!(
            Entry::from_value(value).unwrap().verify().err(),
            Some(EntryError::BadSignature)
        );
    }

    #[test]
    fn chain_positions() {
        let key = SecretKey::generate();
        let first = first_entry(&key);
        let second = UnsignedEntry {
            seq: 2,
            prev: Some(first.id()),
            timestamp: Timestamp::parse("2026-11-28T10:00:01Z").unwrap(),
            body: registration_body(),
        }
        .sign(&key)
        .unwrap();
        assert_eq!(chain_position(None, &first), ChainPosition::Next);
        assert_eq!(
            chain_position(None, &second),
            ChainPosition::Gap { missing_from: 1 }
        );
        let head = FeedHead {
            seq: 1,
            id: first.id(),
        };
        assert_eq!(chain_position(Some(head), &second), ChainPosition::Next);
        assert_eq!(
            chain_position(Some(head), &first),
            ChainPosition::AtOrBelowHead
        );
        let other_head = FeedHead {
            seq: 1,
            id: second.id(),
        };
        assert_eq!(
            chain_position(Some(other_head), &second),
            ChainPosition::BrokenLink
        );
    }

    #[test]
    fn equivocation_proofs() {
        let key = SecretKey::generate();
        let first = first_entry(&key);
        let fork = UnsignedEntry {
            seq: 1,
            prev: None,
            timestamp: Timestamp::parse("2026-11-28T10:00:05Z").unwrap(),
            body: registration_body(),
        }
        .sign(&key)
        .unwrap();
        let proof = EquivocationProof::new(first.clone(), fork).unwrap();
        let checked = EquivocationProof::from_value(&proof.to_value()).unwrap();
        assert_eq!(checked.seq(), 1);
        assert_eq!(checked.first().id(), first.id());
        assert_eq!(
            EquivocationProof::new(first.clone(), first.clone()).err(),
            Some(EquivocationError::SameContent)
        );
        let stranger = first_entry(&SecretKey::generate());
        assert_eq!(
            EquivocationProof::new(first, stranger).err(),
            Some(EquivocationError::NotSamePosition)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_entries_round_trip_and_any_change_breaks_the_signature(
            seq in 1u64..1_000_000,
            millis in 0i64..4_000_000_000_000,
            prev in any::<[u8; 32]>(),
            seed in any::<[u8; 32]>(),
            field in 0usize..4,
        ) {
            let key = SecretKey::from_seed(&seed);
            let entry = UnsignedEntry {
                seq,
                prev: (seq > 1).then_some(EntryId(prev)),
                timestamp: Timestamp::from_unix_millis(millis).unwrap(),
                body: registration_body(),
            }
            .sign(&key)
            .unwrap();
            let decoded = Entry::decode(entry.canonical_bytes()).unwrap();
            // `sign` does not verify what it signed: every signed entry must verify.
            prop_assert!(decoded.clone().verify().is_ok());
            prop_assert_eq!(decoded.id(), entry.id());
            prop_assert_eq!(decoded.canonical_bytes(), entry.canonical_bytes());
            prop_assert_eq!(decoded.body().to_value(), entry.body().to_value());
            // What `sign` built from its parts is what any receiver decodes.
            prop_assert_eq!(decoded.body(), entry.body());
            prop_assert_eq!(decoded.value(), entry.value());
            prop_assert_eq!(decoded.author(), entry.author());
            prop_assert_eq!((decoded.seq(), decoded.prev()), (entry.seq(), entry.prev()));
            prop_assert_eq!(decoded.timestamp(), entry.timestamp());
            prop_assert_eq!(decoded.signature(), entry.signature());
            prop_assert_eq!(decoded.signing_message().ok(), entry.signing_message().ok());
            let mut value = entry.value().clone();
            match field {
                0 => value["seq"] = Value::from(seq + 1),
                1 => value["timestamp"] = Value::from(Timestamp::from_unix_millis(millis + 1).unwrap().as_str()),
                2 => value["body"]["holder"]["name"] = Value::from("Someone Else"),
                _ => value["body"]["mark_text"] = Value::from("ANOTHER MARK"),
            }
            // The change either makes the entry unusable or breaks its signature.
            if let Ok(changed) = Entry::from_value(value) {
                prop_assert!(changed.verify().is_err());
            }
        }
    }
}
